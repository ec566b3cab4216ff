//! The zip records (APPNOTE.TXT 4.3), parsed from complete byte slices.
//!
//! Each parser takes the bytes starting at the record's signature and returns the record and
//! its total length, [`Parse::Incomplete`] with the length it needs, or [`Parse::Invalid`].

use alloc::string::String;
use alloc::vec::Vec;

/// `PK\3\4`: a local file header.
pub(super) const LOCAL_SIG: [u8; 4] = *b"PK\x03\x04";
/// `PK\1\2`: a central directory file header.
pub(super) const CENTRAL_SIG: [u8; 4] = *b"PK\x01\x02";
/// `PK\5\6`: end of central directory.
pub(super) const END_SIG: [u8; 4] = *b"PK\x05\x06";
/// `PK\6\6`: zip64 end of central directory record.
pub(super) const END64_SIG: [u8; 4] = *b"PK\x06\x06";
/// `PK\6\7`: zip64 end of central directory locator.
pub(super) const LOCATOR64_SIG: [u8; 4] = *b"PK\x06\x07";
/// `PK\7\x08`: the optional signature of a data descriptor.
pub(super) const DESCRIPTOR_SIG: [u8; 4] = *b"PK\x07\x08";
/// `PK\5\5`: a central directory digital signature.
pub(super) const SIGNATURE_SIG: [u8; 4] = *b"PK\x05\x05";

/// General-purpose flag: the sizes and CRC follow the data in a data descriptor.
pub(super) const FLAG_DESCRIPTOR: u16 = 0x0008;

/// Outcome of parsing a record from the bytes available so far.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parse<T> {
    /// The record and its length in bytes.
    Done(T, usize),
    /// At least this many bytes are needed.
    Incomplete(usize),
    /// The bytes are not this record; the reason says why.
    Invalid(&'static str),
}

/// Little-endian reads that fail (as `None`) instead of panicking past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.bytes.get(at..at + 2)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b))
    }

    fn u64(&self, at: usize) -> Option<u64> {
        let b: [u8; 8] = self.bytes.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    }

    fn slice(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.bytes.get(at..at.checked_add(len)?)
    }
}

/// The fields local and central headers share, in the form they are compared in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The member name as stored (bytes, since the encoding flag may lie).
    pub(super) name: Vec<u8>,
    pub(super) flags: u16,
    pub(super) method: u16,
    pub(super) crc32: u32,
    pub(super) compressed_size: u64,
    pub(super) size: u64,
    /// Whether a zip64 extra field supplied sizes (data descriptors then hold 8-byte sizes).
    pub(super) zip64: bool,
}

impl Entry {
    /// The name as text for reports (lossy: invalid UTF-8 shows as U+FFFD).
    pub(super) fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A local file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LocalHeader {
    pub(super) entry: Entry,
}

/// A central directory file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CentralHeader {
    pub(super) entry: Entry,
    /// Offset of the member's local header from the start of the archive.
    pub(super) local_offset: u64,
}

/// The end of central directory record (with zip64 values when a zip64 record preceded it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct End {
    pub(super) entries: u64,
    pub(super) directory_size: u64,
    pub(super) directory_offset: u64,
    pub(super) comment_len: usize,
}

/// A data descriptor's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Descriptor {
    pub(super) crc32: u32,
    pub(super) compressed_size: u64,
    pub(super) size: u64,
}

/// Values a zip64 extended-information extra field (id 0x0001) may override. Only fields
/// whose 32-bit value is `0xFFFFFFFF` are present, in this order.
struct Zip64Fields {
    size: Option<u64>,
    compressed_size: Option<u64>,
    local_offset: Option<u64>,
}

fn zip64_fields(extra: &[u8], size: u32, compressed: u32, offset: Option<u32>) -> Zip64Fields {
    let mut fields = Zip64Fields {
        size: None,
        compressed_size: None,
        local_offset: None,
    };
    let extra = Cursor { bytes: extra };
    let mut at = 0;
    while let (Some(id), Some(len)) = (extra.u16(at), extra.u16(at + 2)) {
        let body = at + 4;
        if id == 0x0001 {
            let mut next = body;
            let end = body + usize::from(len);
            let mut take = |wanted: bool| -> Option<u64> {
                if !wanted || next + 8 > end {
                    return None;
                }
                let value = extra.u64(next);
                next += 8;
                value
            };
            fields.size = take(size == u32::MAX);
            fields.compressed_size = take(compressed == u32::MAX);
            fields.local_offset = take(offset == Some(u32::MAX));
            break;
        }
        at = body + usize::from(len);
    }
    fields
}

/// Parses a local file header.
pub(super) fn local_header(bytes: &[u8]) -> Parse<LocalHeader> {
    const FIXED: usize = 30;
    let c = Cursor { bytes };
    if bytes.len() >= 4 && bytes.get(..4) != Some(&LOCAL_SIG[..]) {
        return Parse::Invalid("not a local file header signature");
    }
    let (Some(name_len), Some(extra_len)) = (c.u16(26), c.u16(28)) else {
        return Parse::Incomplete(FIXED);
    };
    let total = FIXED + usize::from(name_len) + usize::from(extra_len);
    let (Some(flags), Some(method), Some(crc32), Some(compressed), Some(size)) =
        (c.u16(6), c.u16(8), c.u32(14), c.u32(18), c.u32(22))
    else {
        return Parse::Incomplete(FIXED);
    };
    let (Some(name), Some(extra)) = (
        c.slice(FIXED, usize::from(name_len)),
        c.slice(FIXED + usize::from(name_len), usize::from(extra_len)),
    ) else {
        return Parse::Incomplete(total);
    };
    let z = zip64_fields(extra, size, compressed, None);
    let zip64 = z.size.is_some() || z.compressed_size.is_some();
    let entry = Entry {
        name: name.to_vec(),
        flags,
        method,
        crc32,
        compressed_size: z.compressed_size.unwrap_or(u64::from(compressed)),
        size: z.size.unwrap_or(u64::from(size)),
        zip64,
    };
    Parse::Done(LocalHeader { entry }, total)
}

/// Parses a central directory file header.
pub(super) fn central_header(bytes: &[u8]) -> Parse<CentralHeader> {
    const FIXED: usize = 46;
    let c = Cursor { bytes };
    if bytes.len() >= 4 && bytes.get(..4) != Some(&CENTRAL_SIG[..]) {
        return Parse::Invalid("not a central directory header signature");
    }
    let (Some(name_len), Some(extra_len), Some(comment_len)) = (c.u16(28), c.u16(30), c.u16(32))
    else {
        return Parse::Incomplete(FIXED);
    };
    let total = FIXED + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
    let (Some(flags), Some(method), Some(crc32), Some(compressed), Some(size), Some(offset)) = (
        c.u16(8),
        c.u16(10),
        c.u32(16),
        c.u32(20),
        c.u32(24),
        c.u32(42),
    ) else {
        return Parse::Incomplete(FIXED);
    };
    let (Some(name), Some(extra), Some(_comment)) = (
        c.slice(FIXED, usize::from(name_len)),
        c.slice(FIXED + usize::from(name_len), usize::from(extra_len)),
        c.slice(
            FIXED + usize::from(name_len) + usize::from(extra_len),
            usize::from(comment_len),
        ),
    ) else {
        return Parse::Incomplete(total);
    };
    let z = zip64_fields(extra, size, compressed, Some(offset));
    let zip64 = z.size.is_some() || z.compressed_size.is_some();
    let entry = Entry {
        name: name.to_vec(),
        flags,
        method,
        crc32,
        compressed_size: z.compressed_size.unwrap_or(u64::from(compressed)),
        size: z.size.unwrap_or(u64::from(size)),
        zip64,
    };
    let local_offset = z.local_offset.unwrap_or(u64::from(offset));
    Parse::Done(
        CentralHeader {
            entry,
            local_offset,
        },
        total,
    )
}

/// Parses the end of central directory record (22 bytes plus the comment, which may be cut
/// short by the end of the file: zipfile accepts that).
pub(super) fn end_record(bytes: &[u8]) -> Parse<End> {
    const FIXED: usize = 22;
    let c = Cursor { bytes };
    if bytes.len() >= 4 && bytes.get(..4) != Some(&END_SIG[..]) {
        return Parse::Invalid("not an end of central directory signature");
    }
    let (Some(entries), Some(dir_size), Some(dir_offset), Some(comment_len)) =
        (c.u16(10), c.u32(12), c.u32(16), c.u16(20))
    else {
        return Parse::Incomplete(FIXED);
    };
    Parse::Done(
        End {
            entries: u64::from(entries),
            directory_size: u64::from(dir_size),
            directory_offset: u64::from(dir_offset),
            comment_len: usize::from(comment_len),
        },
        FIXED,
    )
}

/// Parses a zip64 end of central directory record; returns the values it carries.
pub(super) fn end64_record(bytes: &[u8]) -> Parse<End> {
    const FIXED: usize = 56;
    let c = Cursor { bytes };
    if bytes.len() >= 4 && bytes.get(..4) != Some(&END64_SIG[..]) {
        return Parse::Invalid("not a zip64 end of central directory signature");
    }
    let Some(record_size) = c.u64(4) else {
        return Parse::Incomplete(FIXED);
    };
    // The size counts the bytes after its own field; anything beyond 56 is an extensible data
    // sector, bounded so a lying size cannot make the reader buffer gigabytes.
    let Some(total) = usize::try_from(record_size)
        .ok()
        .and_then(|s| s.checked_add(12))
        .filter(|&t| (FIXED..=FIXED + 65536).contains(&t))
    else {
        return Parse::Invalid("zip64 end of central directory record has an impossible size");
    };
    let (Some(entries), Some(dir_size), Some(dir_offset)) = (c.u64(32), c.u64(40), c.u64(48))
    else {
        return Parse::Incomplete(FIXED);
    };
    if bytes.len() < total {
        return Parse::Incomplete(total);
    }
    Parse::Done(
        End {
            entries,
            directory_size: dir_size,
            directory_offset: dir_offset,
            comment_len: 0,
        },
        total,
    )
}

/// Parses a data descriptor (with or without its optional signature). `zip64` selects 8-byte
/// sizes, as the writer used when the local header carried a zip64 field.
pub(super) fn descriptor(bytes: &[u8], zip64: bool) -> Parse<Descriptor> {
    let c = Cursor { bytes };
    let Some(first) = c.u32(0) else {
        return Parse::Incomplete(4);
    };
    let start = if first == u32::from_le_bytes(DESCRIPTOR_SIG) {
        4
    } else {
        0
    };
    let total = start + if zip64 { 20 } else { 12 };
    let Some(crc32) = c.u32(start) else {
        return Parse::Incomplete(total);
    };
    let sizes = if zip64 {
        c.u64(start + 4).zip(c.u64(start + 12))
    } else {
        c.u32(start + 4)
            .zip(c.u32(start + 8))
            .map(|(a, b)| (u64::from(a), u64::from(b)))
    };
    match sizes {
        Some((compressed_size, size)) => Parse::Done(
            Descriptor {
                crc32,
                compressed_size,
                size,
            },
            total,
        ),
        None => Parse::Incomplete(total),
    }
}

/// Parses the fixed part of a zip64 end of central directory locator (20 bytes).
pub(super) fn locator64(bytes: &[u8]) -> Parse<()> {
    if bytes.len() >= 4 && bytes.get(..4) != Some(&LOCATOR64_SIG[..]) {
        return Parse::Invalid("not a zip64 locator signature");
    }
    if bytes.len() < 20 {
        return Parse::Incomplete(20);
    }
    Parse::Done((), 20)
}

/// Parses a central directory digital signature record.
pub(super) fn digital_signature(bytes: &[u8]) -> Parse<()> {
    let c = Cursor { bytes };
    let Some(len) = c.u16(4) else {
        return Parse::Incomplete(6);
    };
    let total = 6 + usize::from(len);
    if bytes.len() < total {
        return Parse::Incomplete(total);
    }
    Parse::Done((), total)
}
