//! One tar header block, the pax records that patch the next member, and member-name checks.
//!
//! Fields are read the way Python's `tarfile` reads them (`TarInfo.frombuf`, `nti`, `nts`,
//! `_proc_pax`), since that is how loaders see an archive; where `tarfile` is looser than this
//! parser (signs or underscores in octal fields), the header is reported as invalid instead.

use alloc::vec::Vec;

/// Size of a tar block.
pub(super) const BLOCK: usize = 512;

/// What a header block introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `0`, `\0`, `7`: a file whose data follows.
    Regular,
    /// A typeflag `tarfile` does not know: its data is skipped over, and `extractfile` and
    /// `extract` treat it as a regular file, so it is scanned like one.
    Unknown(u8),
    /// `5`, or a v7 `\0` entry whose name ends in `/`.
    Directory,
    /// `1`.
    HardLink,
    /// `2`.
    SymLink,
    /// `3`, `4`, `6`: character and block devices, FIFOs.
    Device,
    /// `L`: the next member's name is this header's data.
    LongName,
    /// `K`: the next member's link target is this header's data.
    LongLink,
    /// `x` (and Solaris `X`): pax records for the next member.
    Pax,
    /// `g`: pax records for every later member.
    GlobalPax,
    /// `S`: a GNU sparse file (old format).
    Sparse,
}

impl Kind {
    /// Whether `tarfile` skips `size` bytes of data after this header. It does not for links,
    /// directories and devices, whatever their size field says.
    pub(super) fn has_data(self) -> bool {
        matches!(self, Kind::Regular | Kind::Unknown(_) | Kind::Sparse)
    }
}

/// A parsed header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// The name, with the ustar prefix joined on as `tarfile` does it.
    pub(super) name: Vec<u8>,
    /// The link target field.
    pub(super) link: Vec<u8>,
    pub(super) size: u64,
    pub(super) kind: Kind,
    /// A sparse header continued in extension blocks.
    pub(super) extended: bool,
}

/// The bytes of a field up to its first NUL (`tarfile.nts`).
pub(super) fn nts(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..end).unwrap_or(field)
}

/// A numeric field (`tarfile.nti`): GNU base-256 when the first byte is 0x80 (positive) or
/// 0xff (negative), else octal digits up to a NUL, with surrounding whitespace allowed.
pub(super) fn number(field: &[u8]) -> Option<i128> {
    let (&first, rest) = field.split_first()?;
    if first == 0x80 || first == 0xff {
        // Fields are at most 12 bytes, so 11 payload bytes fit an i128.
        let mut n: i128 = 0;
        for &b in rest {
            n = n.checked_mul(256)?.checked_add(i128::from(b))?;
        }
        if first == 0xff {
            let span = 1i128.checked_shl(8 * u32::try_from(rest.len()).ok()?)?;
            n -= span;
        }
        return Some(n);
    }
    // Python's str.strip() on ASCII: space, \t \n \v \f \r, and \x1c-\x1f.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f);
    let text = nts(field);
    let start = text.iter().position(|b| !is_space(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    let digits = text.get(start..end.max(start)).unwrap_or_default();
    let mut n: i128 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        n = n.checked_mul(8)?.checked_add(i128::from(d - b'0'))?;
    }
    Some(n)
}

/// Whether a 512-byte block is a tar header whose checksum adds up. Like `tarfile`, both the
/// unsigned sum and the signed one (written by some old tars) are accepted, with the checksum
/// field itself counted as spaces.
pub(crate) fn header_checksum_ok(block: &[u8]) -> bool {
    let Some(block) = block.get(..BLOCK) else {
        return false;
    };
    let Some(stored) = block.get(148..156).and_then(number) else {
        return false;
    };
    let (mut unsigned, mut signed) = (256i128, 256i128);
    for (i, &b) in block.iter().enumerate() {
        if !(148..156).contains(&i) {
            unsigned += i128::from(b);
            signed += i128::from(b as i8);
        }
    }
    stored == unsigned || stored == signed
}

/// Whether every byte of a block is zero (an end-of-archive block).
pub(super) fn is_zero(block: &[u8]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Parses a header block, rejecting it where `tarfile` would (`InvalidHeaderError`).
pub(super) fn parse(block: &[u8]) -> Result<Header, &'static str> {
    let field = |from: usize, to: usize| block.get(from..to).unwrap_or_default();
    if block.len() < BLOCK {
        return Err("the block is short");
    }
    if !header_checksum_ok(block) {
        return Err("the header checksum does not match");
    }
    // tarfile converts every numeric field and rejects the header if one is not a number.
    for (from, to) in [(100, 108), (108, 116), (116, 124), (136, 148)] {
        number(field(from, to)).ok_or("a numeric field is not a number")?;
    }
    let size = number(field(124, 136)).ok_or("the size field is not a number")?;
    let size = u64::try_from(size).map_err(|_| "the size is negative")?;
    let typeflag = block.get(156).copied().unwrap_or(0);
    let is_ustar = field(257, 262) == b"ustar";
    if is_ustar {
        for (from, to) in [(329, 337), (337, 345)] {
            number(field(from, to)).ok_or("a device number is not a number")?;
        }
    }
    let mut name = nts(field(0, 100)).to_vec();
    let kind = match typeflag {
        b'0' | b'7' => Kind::Regular,
        0 if name.ends_with(b"/") => Kind::Directory,
        0 => Kind::Regular,
        b'1' => Kind::HardLink,
        b'2' => Kind::SymLink,
        b'3' | b'4' | b'6' => Kind::Device,
        b'5' => Kind::Directory,
        b'L' => Kind::LongName,
        b'K' => Kind::LongLink,
        b'x' | b'X' => Kind::Pax,
        b'g' => Kind::GlobalPax,
        b'S' => Kind::Sparse,
        other => Kind::Unknown(other),
    };
    let extended = kind == Kind::Sparse && block.get(482).is_some_and(|&b| b != 0);
    if kind == Kind::Directory {
        while name.last() == Some(&b'/') {
            name.pop();
        }
    }
    // tarfile joins a non-empty prefix whatever the magic says, except for GNU types.
    let prefix = nts(field(345, 500));
    let gnu_type = matches!(kind, Kind::LongName | Kind::LongLink | Kind::Sparse);
    if !prefix.is_empty() && !gnu_type {
        let mut joined = prefix.to_vec();
        joined.push(b'/');
        joined.extend_from_slice(&name);
        name = joined;
    }
    Ok(Header {
        name,
        link: nts(field(157, 257)).to_vec(),
        size,
        kind,
        extended,
    })
}

/// Walks the records of a pax header (`"%d %s=%s\n"`) as `tarfile._proc_pax` does, handing
/// each keyword and value to `each`. Fails where `tarfile` raises `InvalidHeaderError`.
pub(super) fn pax_records(
    buf: &[u8],
    mut each: impl FnMut(&[u8], &[u8]),
) -> Result<(), &'static str> {
    /// The one error every framing problem gives.
    const INVALID: &str = "a pax record is malformed";
    let mut pos = 0usize;
    while let Some(&first) = buf.get(pos) {
        if first == 0 {
            break;
        }
        let rest = buf.get(pos..).unwrap_or_default();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || rest.get(digits) != Some(&b' ') {
            return Err(INVALID);
        }
        let mut length = 0usize;
        for &d in rest.get(..digits).unwrap_or_default() {
            length = length
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or(INVALID)?;
        }
        // The shortest record is "5 x=\n"; the record must lie within the header data.
        if length < 5 || length > rest.len() || digits + 1 >= length {
            return Err(INVALID);
        }
        let record = rest.get(digits + 1..length).ok_or(INVALID)?;
        let (&last, body) = record.split_last().ok_or(INVALID)?;
        let eq = body.iter().position(|&b| b == b'=').ok_or(INVALID)?;
        let (keyword, value) = (
            body.get(..eq).unwrap_or_default(),
            body.get(eq + 1..).unwrap_or_default(),
        );
        if keyword.is_empty() || last != b'\n' {
            return Err(INVALID);
        }
        each(keyword, value);
        pos += length;
    }
    Ok(())
}

/// A decimal pax number (`size`), as `int()` reads it after trimming whitespace; `None` when it
/// is not one (`tarfile` then uses 0).
pub(super) fn pax_number(value: &[u8]) -> Option<u64> {
    let text = value.trim_ascii();
    if text.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &d in text {
        if !d.is_ascii_digit() {
            return None;
        }
        // Beyond u64 no archive can hold the data: saturate and let the end of input say so.
        n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some(n)
}

/// The name as extraction resolves it, for duplicate detection: `./a`, `a//b/` and `a/./b`
/// name the same file as `a` and `a/b`.
pub(super) fn normalized(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for part in name.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    out
}

/// `size` rounded up to whole blocks, or `None` on overflow.
pub(super) fn blocks(size: u64) -> Option<u64> {
    size.checked_add(BLOCK as u64 - 1)
        .map(|n| n / BLOCK as u64 * BLOCK as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_tarfile() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b" 17 \0xx"), Some(0o17));
        assert_eq!(number(b"\0\0\0"), Some(0));
        assert_eq!(number(b"12a\0"), None);
        assert_eq!(number(b"\x80\0\0\0\0\0\0\0\0\0\x01\0"), Some(256));
        assert_eq!(
            number(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            Some(-1)
        );
    }

    #[test]
    fn pax_records_are_framed_strictly() {
        let mut seen = Vec::new();
        pax_records(b"12 path=abc\n9 size=7\n\0\0", |k, v| {
            seen.push((k.to_vec(), v.to_vec()))
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (b"path".to_vec(), b"abc".to_vec()),
                (b"size".to_vec(), b"7".to_vec())
            ]
        );
        for bad in [
            &b"13 path=abc\n"[..],
            b"4 x=\n",
            b"x path=a\n",
            b"9 pathabc\n",
            b"99 a=b\n",
        ] {
            assert!(pax_records(bad, |_, _| {}).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_normalise_as_extraction_resolves_them() {
        assert_eq!(normalized(b"./a//b/./c/"), b"a/b/c");
        assert_eq!(normalized(b"a/..b"), b"a/..b");
    }
}
