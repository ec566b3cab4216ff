//! Object headers: the version 1 prefix (h5py's default) and the version 2 `OHDR` prefix
//! (`libver='v108'` and later), their message lists, and the continuation chunks (raw for
//! version 1, `OCHK` with a checksum for version 2) that a header grows into.

use alloc::format;
use alloc::string::String;
use core::ops::Range;

use super::bytes::{Cur, Sizes, checksum_ok};

/// Message type of an object header continuation.
pub(super) const CONTINUATION: u16 = 0x0010;
/// Message type of an attribute.
pub(super) const ATTRIBUTE: u16 = 0x000C;
/// Message type of attribute info (where dense attribute storage lives).
pub(super) const ATTRIBUTE_INFO: u16 = 0x0015;

/// Message flag: the message is shared (stored elsewhere, e.g. in the shared message table).
pub(super) const MSG_SHARED: u8 = 0x02;

/// Version 2 header flag: messages carry a creation order.
const OH_CORDER: u8 = 0x04;
/// Version 2 header flag: attribute storage phase change values are stored.
const OH_PHASE: u8 = 0x10;
/// Version 2 header flag: times are stored.
const OH_TIMES: u8 = 0x20;

/// Bytes enough to tell the header's version and flags.
pub(super) const PROBE_LEN: u64 = 6;

/// Bytes of a version 1 header's prefix.
const V1_PREFIX: usize = 16;

/// A header's version and flags, which decide how its chunks' messages are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    /// 1 or 2.
    pub(super) version: u8,
    /// Version 2 flags (0 for version 1).
    pub(super) flags: u8,
}

/// The first chunk of an object header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct First {
    /// How messages are laid out.
    pub(super) layout: Layout,
    /// The bytes of the whole first chunk, prefix and checksum included.
    pub(super) len: u64,
    /// Where its messages lie within those bytes.
    pub(super) messages: Range<usize>,
}

/// What [`first_chunk`] needs or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Extent {
    /// Read this many bytes from the header's start first.
    Need(u64),
    /// The first chunk's layout.
    Done(First),
    /// Not an object header modelsieve reads.
    Bad(String),
}

/// Finds the extent of an object header's first chunk from its first bytes.
pub(super) fn first_chunk(bytes: &[u8]) -> Extent {
    if bytes.starts_with(b"OHDR") {
        let (Some(&version), Some(&flags)) = (bytes.get(4), bytes.get(5)) else {
            return Extent::Need(PROBE_LEN);
        };
        if version != 2 {
            return Extent::Bad(format!("OHDR object header of version {version}, not 2"));
        }
        if flags & 0xC0 != 0 {
            return Extent::Bad(format!(
                "OHDR object header with unknown flags {flags:#04x}; libhdf5 refuses it"
            ));
        }
        let width = 1usize << (flags & 0x03);
        let mut at = 6;
        if flags & OH_TIMES != 0 {
            at += 16;
        }
        if flags & OH_PHASE != 0 {
            at += 4;
        }
        let Some(size) = Cur::at(bytes, at).uint(width) else {
            return Extent::Need((at + width) as u64);
        };
        let start = at + width;
        let len = (start as u64).saturating_add(size).saturating_add(4);
        return match usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_add(start))
        {
            Some(end) => Extent::Done(First {
                layout: Layout { version, flags },
                len,
                messages: start..end,
            }),
            None => Extent::Bad(format!(
                "object header declares a first chunk of {size} bytes"
            )),
        };
    }
    match bytes.first() {
        None => Extent::Need(PROBE_LEN),
        Some(1) => {
            if bytes.len() < V1_PREFIX {
                return Extent::Need(V1_PREFIX as u64);
            }
            let Some(size) = Cur::at(bytes, 8).u32() else {
                return Extent::Need(V1_PREFIX as u64);
            };
            // Version, reserved, message count (2), reference count (4), chunk size (4), and 4
            // bytes of padding that align the messages to 8.
            let start = V1_PREFIX;
            Extent::Done(First {
                layout: Layout {
                    version: 1,
                    flags: 0,
                },
                len: V1_PREFIX as u64 + u64::from(size),
                messages: start..start.saturating_add(size as usize),
            })
        }
        Some(&v) => Extent::Bad(format!(
            "no object header here: neither an OHDR signature nor version 1 (first byte {v:#04x})"
        )),
    }
}

/// Whether a version 2 first chunk's checksum matches (always true for version 1).
pub(super) fn first_checksum_ok(layout: Layout, chunk: &[u8]) -> bool {
    layout.version == 1 || checksum_ok(chunk)
}

/// Where the messages of a continuation chunk of `len` bytes lie, or why it is not one.
pub(super) fn continuation_messages(layout: Layout, chunk: &[u8]) -> Result<Range<usize>, String> {
    if layout.version == 1 {
        return Ok(0..chunk.len());
    }
    if !chunk.starts_with(b"OCHK") {
        return Err(String::from(
            "the continuation chunk does not start with OCHK",
        ));
    }
    let end = chunk
        .len()
        .checked_sub(4)
        .filter(|&e| e >= 4)
        .ok_or_else(|| {
            String::from("the continuation chunk is too short for OCHK and its checksum")
        })?;
    Ok(4..end)
}

/// Whether a continuation chunk's checksum matches (always true for version 1).
pub(super) fn continuation_checksum_ok(layout: Layout, chunk: &[u8]) -> bool {
    layout.version == 1 || checksum_ok(chunk)
}

/// One message of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message {
    /// Message type.
    pub(super) kind: u16,
    /// Message flags.
    pub(super) flags: u8,
    /// Where the message's data lies in the chunk.
    pub(super) data: Range<usize>,
}

/// The messages in `chunk[range]`, one at a time (a chunk of 32 MiB may hold millions of empty
/// messages, which are never collected). A message that runs past the chunk ends the list with
/// an error that names it (libhdf5 refuses such a header).
pub(super) fn messages(layout: Layout, chunk: &[u8], range: Range<usize>) -> Messages<'_> {
    let header = match (layout.version, layout.flags & OH_CORDER != 0) {
        (1, _) => 8,
        (_, true) => 6,
        (_, false) => 4,
    };
    Messages {
        version: layout.version,
        chunk,
        start: range.start,
        at: range.start,
        end: range.end.min(chunk.len()),
        header,
    }
}

/// Iterator over a chunk's messages (see [`messages`]).
#[derive(Debug)]
pub(super) struct Messages<'a> {
    version: u8,
    chunk: &'a [u8],
    start: usize,
    at: usize,
    end: usize,
    /// Bytes of a message header.
    header: usize,
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, String>;

    fn next(&mut self) -> Option<Self::Item> {
        // Fewer bytes than a message header at the end are a gap (version 2) or padding.
        if self.end.saturating_sub(self.at) < self.header {
            return None;
        }
        let at = self.at;
        let mut cur = Cur::at(self.chunk, at);
        let (kind, size, flags) = if self.version == 1 {
            (cur.u16()?, cur.u16()?, cur.u8()?)
        } else {
            (u16::from(cur.u8()?), cur.u16()?, cur.u8()?)
        };
        let data_start = at + self.header;
        let data_end = data_start.saturating_add(usize::from(size));
        if data_end > self.end {
            self.at = self.end;
            return Some(Err(format!(
                "message of type {kind:#06x} at chunk offset {} declares {size} bytes, past the end of its chunk ({} bytes)",
                at - self.start,
                self.end - self.start
            )));
        }
        self.at = data_end;
        Some(Ok(Message {
            kind,
            flags,
            data: data_start..data_end,
        }))
    }
}

/// The address and length a continuation message points to.
pub(super) fn continuation(data: &[u8], sizes: Sizes) -> Option<(Option<u64>, u64)> {
    let mut cur = Cur::new(data);
    Some((cur.addr(sizes)?, cur.len(sizes)?))
}
