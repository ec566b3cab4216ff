//! Global heap collections (`GCOL`), where variable-length strings keep their bytes.
//!
//! Layout: `GCOL`, version 1, 3 reserved bytes, the collection's size (a length, header
//! included), padded to 8; then objects, each an index (2 bytes), a reference count (2), 4
//! reserved bytes and a size (a length), padded to 8, and the data padded to a multiple of 8. Index 0 is the free space that ends
//! the list; a tail too short for an object header is free space too (as libhdf5 reads it).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::bytes::{Cur, Sizes};

/// Bytes of the collection header (signature, version, reserved, size), padded to 8.
pub(super) fn header_len(sizes: Sizes) -> u64 {
    align8(8 + sizes.l()) as u64
}

/// Bytes of an object's header (index, references, reserved, size), padded to 8.
fn object_header_len(sizes: Sizes) -> usize {
    align8(8 + sizes.l())
}

/// `n` rounded up to a multiple of 8, as libhdf5 aligns everything in a collection.
fn align8(n: usize) -> usize {
    n.div_ceil(8).saturating_mul(8)
}

/// The collection's total size from its header.
pub(super) fn size(header: &[u8], sizes: Sizes) -> Result<u64, String> {
    if !header.starts_with(b"GCOL") {
        return Err(String::from(
            "no GCOL signature at the global heap collection",
        ));
    }
    let mut cur = Cur::at(header, 4);
    match cur.u8() {
        Some(1) => {}
        Some(v) => return Err(format!("global heap collection of version {v}, not 1")),
        None => return Err(String::from("global heap collection header is truncated")),
    }
    cur.skip(3)
        .and_then(|()| cur.len(sizes))
        .filter(|&n| n >= header_len(sizes))
        .ok_or_else(|| {
            String::from("global heap collection declares a size smaller than its header")
        })
}

/// A collection read whole, with where each object's data lies.
#[derive(Debug)]
pub(super) struct Collection {
    /// The collection's bytes.
    pub(super) bytes: Vec<u8>,
    /// Each object's data range by index, or why the list of objects is broken.
    objects: Result<BTreeMap<u16, Range<usize>>, String>,
}

impl Collection {
    /// Indexes a collection's objects in one pass (a collection of 32 MiB may hold two
    /// million objects, and many strings may point into it). A later object with the same
    /// index replaces an earlier one, as in libhdf5's table.
    pub(super) fn new(bytes: Vec<u8>, sizes: Sizes) -> Collection {
        let objects = index(&bytes, sizes);
        Collection { bytes, objects }
    }

    /// Where object `index`'s data lies, or `None` when the collection has no such object.
    pub(super) fn object(&self, index: u32) -> Result<Option<Range<usize>>, String> {
        let objects = self.objects.as_ref().map_err(String::clone)?;
        Ok(u16::try_from(index)
            .ok()
            .and_then(|i| objects.get(&i))
            .cloned())
    }
}

/// The data range of every object in `collection`.
fn index(collection: &[u8], sizes: Sizes) -> Result<BTreeMap<u16, Range<usize>>, String> {
    let mut objects = BTreeMap::new();
    let object_header = object_header_len(sizes);
    let mut at = header_len(sizes) as usize;
    while collection.len().saturating_sub(at) >= object_header {
        let mut cur = Cur::at(collection, at);
        let (Some(id), Some(_refs), Some(()), Some(size)) =
            (cur.u16(), cur.u16(), cur.skip(4), cur.len(sizes))
        else {
            break;
        };
        if id == 0 {
            break;
        }
        let start = at + object_header;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let end = start
            .checked_add(size)
            .filter(|&e| e <= collection.len())
            .ok_or_else(|| {
                format!(
                    "global heap object {id} declares {size} bytes, past the end of its collection"
                )
            })?;
        objects.insert(id, start..end);
        at = start.saturating_add(align8(size));
    }
    Ok(objects)
}
