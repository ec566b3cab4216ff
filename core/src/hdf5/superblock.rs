//! The superblock at the start of the reader's input (offset 0 of the file, or the end of a
//! user block, [`super::user_block`]): versions 0 and 1 (h5py's default, `libver='earliest'`) locate
//! the root group through a symbol table entry; versions 2 and 3 (`libver='v108'` and later)
//! name the root group's object header directly and carry a checksum.

use alloc::format;
use alloc::string::String;

use super::bytes::{Cur, Sizes, checksum_ok};

/// The HDF5 signature.
pub(super) const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Bytes needed to read the version and the field widths (v0/v1 keep them at 13 and 14).
pub(super) const PREFIX_LEN: u64 = 16;

/// What the reader needs from the superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Superblock {
    /// Superblock version, 0 to 3.
    pub(super) version: u8,
    /// Address and length widths.
    pub(super) sizes: Sizes,
    /// The base address the writer recorded: the user block's size for a file written with one.
    /// libhdf5 counts addresses from where it found the superblock instead, and uses this only
    /// to move the recorded end of file by the difference.
    pub(super) base: u64,
    /// End-of-file address the writer recorded (absolute: the user block included), when
    /// defined; libhdf5 refuses a file shorter than this.
    pub(super) eof: Option<u64>,
    /// The root group's object header (relative to the superblock).
    pub(super) root: Option<u64>,
    /// Whether the checksum (versions 2 and 3) matched.
    pub(super) checksum_ok: bool,
}

/// What [`parse`] needs or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Parse {
    /// The superblock is this many bytes long; read them first.
    Need(u64),
    /// The parsed superblock.
    Done(Superblock),
    /// Not a superblock modelsieve reads (the message says why).
    Bad(String),
}

/// Parses the superblock from the start of `bytes` (at least [`PREFIX_LEN`] long, or the whole
/// file when shorter).
pub(super) fn parse(bytes: &[u8]) -> Parse {
    if !bytes.starts_with(SIGNATURE) {
        return Parse::Bad(String::from("the HDF5 signature is not at offset 0"));
    }
    let Some(&version) = bytes.get(8) else {
        return Parse::Need(PREFIX_LEN);
    };
    let (offsets, lengths) = match version {
        0 | 1 => (bytes.get(13), bytes.get(14)),
        2 | 3 => (bytes.get(9), bytes.get(10)),
        v => {
            return Parse::Bad(format!(
                "superblock version {v} is not one modelsieve reads (0 to 3)"
            ));
        }
    };
    let (Some(&offsets), Some(&lengths)) = (offsets, lengths) else {
        return Parse::Need(PREFIX_LEN);
    };
    for (what, width) in [("offsets", offsets), ("lengths", lengths)] {
        if !matches!(width, 2 | 4 | 8) {
            return Parse::Bad(format!(
                "the superblock declares a size of {what} of {width} bytes; modelsieve reads 2, 4 or 8"
            ));
        }
    }
    let sizes = Sizes { offsets, lengths };
    let o = sizes.o();
    let len = match version {
        // signature, versions and widths (16), B-tree Ks and flags (8), v1's extra K (4),
        // four addresses, then the root symbol table entry (two addresses, 24 bytes).
        0 => 24 + 4 * o + 2 * o + 24,
        1 => 28 + 4 * o + 2 * o + 24,
        // signature, version, widths, flags (12), four addresses, checksum.
        _ => 12 + 4 * o + 4,
    };
    if (bytes.len() as u64) < len as u64 {
        return Parse::Need(len as u64);
    }
    match decode(bytes, version, sizes, len) {
        Some(sb) => Parse::Done(sb),
        None => Parse::Need(len as u64),
    }
}

/// Decodes a superblock of `len` bytes whose version and widths are known.
fn decode(bytes: &[u8], version: u8, sizes: Sizes, len: usize) -> Option<Superblock> {
    let body = bytes.get(..len)?;
    let mut cur = Cur::at(body, if version < 2 { 24 } else { 12 });
    if version == 1 {
        cur.skip(4)?;
    }
    let base = cur.addr(sizes)?.unwrap_or(0);
    let (eof, root, checksum_ok) = if version < 2 {
        let _free_space = cur.addr(sizes)?;
        let eof = cur.addr(sizes)?;
        let _driver = cur.addr(sizes)?;
        // Root group symbol table entry: link name offset, then the object header address.
        let _name = cur.addr(sizes)?;
        let root = cur.addr(sizes)?;
        (eof, root, true)
    } else {
        let _extension = cur.addr(sizes)?;
        let eof = cur.addr(sizes)?;
        let root = cur.addr(sizes)?;
        (eof, root, checksum_ok(body))
    };
    Some(Superblock {
        version,
        sizes,
        base,
        eof,
        root,
        checksum_ok,
    })
}
