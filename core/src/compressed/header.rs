//! A gzip member header (RFC 1952 §2.3), parsed incrementally: it may arrive in pieces of any
//! size, and its name and comment may be of any length without being buffered.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest FNAME used as the member path.
const MAX_NAME: usize = 255;

/// gzip header flag: a CRC-16 of the header follows the other fields.
const FHCRC: u8 = 0x02;
/// gzip header flag: an extra field (2-byte length, then data) follows the fixed part.
const FEXTRA: u8 = 0x04;
/// gzip header flag: a NUL-terminated original file name follows.
const FNAME: u8 = 0x08;
/// gzip header flag: a NUL-terminated comment follows.
const FCOMMENT: u8 = 0x10;

/// A field of a gzip member header, in the order RFC 1952 puts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// ID1 ID2 CM FLG MTIME(4) XFL OS.
    Fixed,
    /// The 2-byte length of the extra field.
    ExtraLen,
    /// The extra field's data.
    Extra,
    /// The original file name, up to its NUL.
    Name,
    /// The comment, up to its NUL.
    Comment,
    /// The header's CRC-16.
    HeaderCrc,
    /// The header is complete.
    Done,
}

/// Why a gzip member header was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeaderError {
    /// The magic bytes are not `1f 8b`.
    NotGzip,
    /// CM is not 8 (deflate), the only method Python's gzip reads.
    Method(u8),
}

/// A gzip member header parsed incrementally: it may arrive in pieces of any size, and its
/// name and comment may be of any length without being buffered.
#[derive(Debug)]
pub(super) struct Header {
    field: Field,
    /// Bytes of the current fixed-size field (`Fixed`, `ExtraLen`, `HeaderCrc`).
    buf: [u8; 10],
    have: usize,
    flags: u8,
    extra_left: usize,
    /// The FNAME, while it is short enough to serve as the member path.
    name: Option<Vec<u8>>,
    /// CRC-32 of the header bytes before the CRC-16 field.
    crc: u32,
    /// Whether a CRC-16 was present and did not match.
    pub(super) crc_mismatch: bool,
}

impl Header {
    /// A header about to start.
    pub(super) fn new() -> Header {
        Header {
            field: Field::Fixed,
            buf: [0; 10],
            have: 0,
            flags: 0,
            extra_left: 0,
            name: None,
            crc: 0,
            crc_mismatch: false,
        }
    }

    /// Whether every field has been read.
    pub(super) fn is_done(&self) -> bool {
        self.field == Field::Done
    }

    /// The field after `field`, skipping those the flags say are absent.
    fn after(&self, field: Field) -> Field {
        // The extra data takes the place of its length in the order.
        let field = if field == Field::Extra {
            Field::ExtraLen
        } else {
            field
        };
        let order = [
            (Field::ExtraLen, FEXTRA),
            (Field::Name, FNAME),
            (Field::Comment, FCOMMENT),
            (Field::HeaderCrc, FHCRC),
        ];
        let from = order
            .iter()
            .position(|&(f, _)| f == field)
            .map_or(0, |i| i + 1);
        order
            .iter()
            .skip(from)
            .find(|&&(_, flag)| self.flags & flag != 0)
            .map_or(Field::Done, |&(f, _)| f)
    }

    /// Adds header bytes to the running CRC-32 that FHCRC checks.
    fn hash(&mut self, bytes: &[u8]) {
        let mut hasher = crc32fast::Hasher::new_with_initial(self.crc);
        hasher.update(bytes);
        self.crc = hasher.finalize();
    }

    /// Consumes header bytes from `data`; returns how many were used (all of them unless the
    /// header completed).
    pub(super) fn push(&mut self, data: &[u8]) -> Result<usize, HeaderError> {
        let mut used = 0;
        while !self.is_done() {
            let rest = data.get(used..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let taken = match self.field {
                Field::Fixed => self.push_fixed(rest)?,
                Field::ExtraLen | Field::HeaderCrc => self.push_short(rest),
                Field::Extra => {
                    let take = rest.len().min(self.extra_left);
                    self.hash(rest.get(..take).unwrap_or_default());
                    self.extra_left -= take;
                    if self.extra_left == 0 {
                        self.field = self.after(Field::Extra);
                    }
                    take
                }
                Field::Name | Field::Comment => self.push_text(rest),
                Field::Done => 0,
            };
            used += taken;
        }
        Ok(used)
    }

    /// The fixed ten bytes; the magic and method are checked as soon as they arrive, so that
    /// garbage after a member is recognised from its first byte.
    fn push_fixed(&mut self, rest: &[u8]) -> Result<usize, HeaderError> {
        let take = rest.len().min(10 - self.have);
        for (i, &b) in rest.iter().take(take).enumerate() {
            let at = self.have + i;
            if let Some(slot) = self.buf.get_mut(at) {
                *slot = b;
            }
            match (at, b) {
                (0, 0x1f) | (1, 0x8b) | (2, 8) => {}
                (0 | 1, _) => return Err(HeaderError::NotGzip),
                (2, method) => return Err(HeaderError::Method(method)),
                _ => {}
            }
        }
        self.hash(rest.get(..take).unwrap_or_default());
        self.have += take;
        if self.have == 10 {
            self.flags = self.buf.get(3).copied().unwrap_or(0);
            self.have = 0;
            self.field = self.after(Field::Fixed);
        }
        Ok(take)
    }

    /// A 2-byte field: the extra length or the header CRC.
    fn push_short(&mut self, rest: &[u8]) -> usize {
        let take = rest.len().min(2 - self.have);
        for (i, &b) in rest.iter().take(take).enumerate() {
            if let Some(slot) = self.buf.get_mut(self.have + i) {
                *slot = b;
            }
        }
        self.have += take;
        if self.have < 2 {
            return take;
        }
        self.have = 0;
        let value = u16::from_le_bytes([
            self.buf.first().copied().unwrap_or(0),
            self.buf.get(1).copied().unwrap_or(0),
        ]);
        if self.field == Field::ExtraLen {
            self.hash(&value.to_le_bytes());
            self.extra_left = usize::from(value);
            self.field = if self.extra_left == 0 {
                self.after(Field::Extra)
            } else {
                Field::Extra
            };
        } else {
            // Python's gzip reads and discards the CRC-16; gzip(1) checks it.
            self.crc_mismatch = value != (self.crc & 0xffff) as u16;
            self.field = Field::Done;
        }
        take
    }

    /// FNAME or FCOMMENT: bytes up to and including a NUL.
    fn push_text(&mut self, rest: &[u8]) -> usize {
        let (take, ended) = match rest.iter().position(|&b| b == 0) {
            Some(nul) => (nul + 1, true),
            None => (rest.len(), false),
        };
        let piece = rest.get(..take).unwrap_or_default();
        self.hash(piece);
        if self.field == Field::Name {
            let name = self.name.get_or_insert_with(Vec::new);
            let text = piece.strip_suffix(&[0]).unwrap_or(piece);
            if name.len() + text.len() <= MAX_NAME {
                name.extend_from_slice(text);
            } else {
                // Too long to be a label: remembered as such, never buffered.
                name.clear();
                name.push(b'/');
            }
        }
        if ended {
            self.field = self.after(self.field);
        }
        take
    }

    /// The member path this header gives the inflated data.
    pub(super) fn member_path(&self) -> String {
        match &self.name {
            Some(name) if is_plain_name(name) => name.iter().map(|&b| char::from(b)).collect(),
            _ => String::from("<gzip>"),
        }
    }
}

/// Whether an FNAME is a plain file name fit to be shown as the member path.
fn is_plain_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != b"."
        && name != b".."
        && name
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'/' && b != b'\\')
}
