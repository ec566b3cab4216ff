//! The central directory read ahead by a seeking driver, for member sizes that local headers
//! leave to a data descriptor after the data.
//!
//! PyTorch (miniz) and every streaming writer set flag bit 3 and write zero sizes in the local
//! header, so an in-order read finds the end of a stored tensor only by reading through it to
//! its descriptor. A seeking driver instead reads the end of the file once, takes each
//! member's compressed size from the directory — as loaders do — and jumps. A streaming driver
//! never serves these reads and keeps reading in order.

use alloc::collections::BTreeMap;

use super::records::{self, CENTRAL_SIG, END_SIG, LOCATOR64_SIG, Parse};

/// Bytes read from the end of the file to find the end record: the record and the longest
/// possible comment, as Python's zipfile reads.
const TAIL: u64 = 22 + 65535;

/// Where the read-ahead stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Lookahead {
    /// Not needed yet.
    Idle,
    /// Waiting for the bytes at `offset`, `len` long (the tail, then maybe the directory).
    Asked { offset: u64, len: u64, tail: bool },
    /// Compressed sizes by local header offset.
    Known(BTreeMap<u64, u64>),
    /// No usable directory; read in order.
    Unavailable,
}

impl Lookahead {
    /// The read of the file's tail, for a file of `size` bytes.
    pub(super) fn ask_tail(size: u64) -> Lookahead {
        let offset = size.saturating_sub(TAIL);
        Lookahead::Asked {
            offset,
            len: size - offset,
            tail: true,
        }
    }

    /// Handles the bytes asked for; `bytes` start at the asked offset and must be complete.
    pub(super) fn answer(&mut self, bytes: &[u8], max_bytes: usize, max_entries: usize) {
        let Lookahead::Asked { offset, len, tail } = *self else {
            return;
        };
        let Some(bytes) = usize::try_from(len).ok().and_then(|l| bytes.get(..l)) else {
            *self = Lookahead::Unavailable;
            return;
        };
        *self = if tail {
            from_tail(offset, bytes, max_bytes, max_entries)
        } else {
            directory(bytes, 0, max_entries)
        };
    }
}

/// Finds the end record in the tail and reads the directory from it if the tail holds it.
fn from_tail(tail_start: u64, tail: &[u8], max_bytes: usize, max_entries: usize) -> Lookahead {
    let Some(at) = tail.windows(4).rposition(|w| w == END_SIG.as_slice()) else {
        return Lookahead::Unavailable;
    };
    let Some(Parse::Done(end, _)) = tail.get(at..).map(records::end_record) else {
        return Lookahead::Unavailable;
    };
    let mut end = end;
    let mut record_at = tail_start + at as u64;
    // A zip64 locator just before the end record points at the zip64 record, which holds the
    // real directory size and offset.
    if let Some(locator) = at.checked_sub(20).and_then(|l| tail.get(l..at))
        && locator.starts_with(&LOCATOR64_SIG)
        && let Some(record_offset) = locator.get(8..16).and_then(|b| b.try_into().ok())
    {
        let record_offset = u64::from_le_bytes(record_offset);
        match record_offset
            .checked_sub(tail_start)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| tail.get(o..))
            .map(records::end64_record)
        {
            Some(Parse::Done(end64, _)) => {
                end = end64;
                record_at = record_offset;
            }
            _ => return Lookahead::Unavailable,
        }
    }
    // Loaders place the directory just before the end record, whatever its offset field says,
    // and shift every member offset by the difference (data prepended to the archive).
    let Some(start) = record_at.checked_sub(end.directory_size) else {
        return Lookahead::Unavailable;
    };
    let Some(shift) = start.checked_sub(end.directory_offset) else {
        return Lookahead::Unavailable;
    };
    if usize::try_from(end.directory_size).map_or(true, |s| s > max_bytes) {
        return Lookahead::Unavailable;
    }
    match start
        .checked_sub(tail_start)
        .and_then(|o| usize::try_from(o).ok())
    {
        Some(o) => match tail.get(o..o + end.directory_size as usize) {
            Some(bytes) => directory(bytes, shift, max_entries),
            None => Lookahead::Unavailable,
        },
        // The directory starts before the tail: ask for it.
        None if shift == 0 => Lookahead::Asked {
            offset: start,
            len: end.directory_size,
            tail: false,
        },
        None => Lookahead::Unavailable,
    }
}

/// Reads compressed sizes from directory entries.
fn directory(mut bytes: &[u8], shift: u64, max_entries: usize) -> Lookahead {
    let mut sizes = BTreeMap::new();
    while bytes.starts_with(&CENTRAL_SIG) && sizes.len() < max_entries {
        let Parse::Done(central, len) = records::central_header(bytes) else {
            break;
        };
        if let Some(offset) = central.local_offset.checked_add(shift) {
            sizes.entry(offset).or_insert(central.entry.compressed_size);
        }
        bytes = bytes.get(len..).unwrap_or_default();
    }
    if sizes.is_empty() {
        Lookahead::Unavailable
    } else {
        Lookahead::Known(sizes)
    }
}
