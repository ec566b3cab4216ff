//! The encodings `json.loads` accepts for bytes, and the sniffer's test for JSON.
//!
//! Keras reads `config.json` from a `.keras` archive as bytes and passes them to `json.loads`,
//! which guesses UTF-8, UTF-16 or UTF-32 from the first bytes (`json.detect_encoding`) and
//! decodes with `surrogatepass`. A config written in UTF-16 loads just the same, so it must be
//! recognised and read just the same, or its content would pass unjudged.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// An encoding `json.detect_encoding` can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// UTF-8, after a byte-order mark if there is one.
    Utf8 {
        /// Bytes of byte-order mark to skip.
        skip: usize,
    },
    /// UTF-16 in the given byte order, after a byte-order mark if there is one.
    Utf16 {
        /// Big-endian.
        big: bool,
        /// Bytes of byte-order mark to skip.
        skip: usize,
    },
    /// UTF-32 in the given byte order, after a byte-order mark if there is one.
    Utf32 {
        /// Big-endian.
        big: bool,
        /// Bytes of byte-order mark to skip.
        skip: usize,
    },
}

/// `json.detect_encoding`: byte-order marks first, then the pattern of zero bytes around the
/// first character (which must be ASCII in any JSON text).
fn detect(b: &[u8]) -> Encoding {
    let has = |p: &[u8]| b.starts_with(p);
    if has(b"\x00\x00\xfe\xff") {
        return Encoding::Utf32 { big: true, skip: 4 };
    }
    if has(b"\xff\xfe\x00\x00") {
        return Encoding::Utf32 {
            big: false,
            skip: 4,
        };
    }
    if has(b"\xfe\xff") {
        return Encoding::Utf16 { big: true, skip: 2 };
    }
    if has(b"\xff\xfe") {
        return Encoding::Utf16 {
            big: false,
            skip: 2,
        };
    }
    if has(b"\xef\xbb\xbf") {
        return Encoding::Utf8 { skip: 3 };
    }
    let zero = |i: usize| b.get(i) == Some(&0);
    if b.len() >= 4 {
        if zero(0) {
            return if zero(1) {
                Encoding::Utf32 { big: true, skip: 0 }
            } else {
                Encoding::Utf16 { big: true, skip: 0 }
            };
        }
        if zero(1) {
            return if zero(2) && zero(3) {
                Encoding::Utf32 {
                    big: false,
                    skip: 0,
                }
            } else {
                Encoding::Utf16 {
                    big: false,
                    skip: 0,
                }
            };
        }
    } else if b.len() == 2 {
        if zero(0) {
            return Encoding::Utf16 { big: true, skip: 0 };
        }
        if zero(1) {
            return Encoding::Utf16 {
                big: false,
                skip: 0,
            };
        }
    }
    Encoding::Utf8 { skip: 0 }
}

/// Appends `cp` as UTF-8, surrogates included (as `surrogatepass` would encode them).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    // Each arm keeps only the bits its byte holds, so the casts cannot lose anything.
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => out.extend_from_slice(&[0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]),
        0x800..=0xffff => out.extend_from_slice(&[
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]),
        _ => out.extend_from_slice(&[
            0xf0 | ((cp >> 18) & 0x07) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]),
    }
}

/// UTF-16 code units to UTF-8, pairs joined and lone surrogates kept (`surrogatepass`).
/// `lenient` drops an incomplete last unit (a sniffed prefix); otherwise it is an error, as
/// in Python.
fn from_utf16(b: &[u8], big: bool, lenient: bool) -> Option<Vec<u8>> {
    if b.len() % 2 != 0 && !lenient {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| match *c {
            [x, y] if big => u16::from_be_bytes([x, y]),
            [x, y] => u16::from_le_bytes([x, y]),
            _ => 0,
        })
        .collect();
    let mut out = Vec::with_capacity(units.len() + units.len() / 2);
    let mut i = 0;
    while let Some(&u) = units.get(i) {
        let next = units.get(i + 1).copied();
        match (u, next) {
            (0xd800..=0xdbff, Some(low @ 0xdc00..=0xdfff)) => {
                let cp = 0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                push_code_point(&mut out, cp);
                i += 2;
            }
            _ => {
                push_code_point(&mut out, u32::from(u));
                i += 1;
            }
        }
    }
    Some(out)
}

/// UTF-32 code units to UTF-8; values past U+10FFFF are an error, as in Python.
fn from_utf32(b: &[u8], big: bool, lenient: bool) -> Option<Vec<u8>> {
    if b.len() % 4 != 0 && !lenient {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4);
    for c in b.chunks_exact(4) {
        let unit = match *c {
            [w, x, y, z] if big => u32::from_be_bytes([w, x, y, z]),
            [w, x, y, z] => u32::from_le_bytes([w, x, y, z]),
            _ => 0,
        };
        if unit > 0x10ffff {
            return None;
        }
        push_code_point(&mut out, unit);
    }
    Some(out)
}

/// The text `json.loads` would parse from `bytes`, as UTF-8 (surrogates encoded as such), and
/// whether its offsets are the input's own. `None` when Python could not decode it.
pub(super) fn decoded(bytes: &[u8]) -> Option<(Cow<'_, [u8]>, bool)> {
    transcode(bytes, false)
}

fn transcode(bytes: &[u8], lenient: bool) -> Option<(Cow<'_, [u8]>, bool)> {
    match detect(bytes) {
        Encoding::Utf8 { skip: 0 } => Some((Cow::Borrowed(bytes), true)),
        Encoding::Utf8 { skip } => Some((Cow::Borrowed(bytes.get(skip..)?), false)),
        Encoding::Utf16 { big, skip } => {
            from_utf16(bytes.get(skip..)?, big, lenient).map(|v| (Cow::Owned(v), false))
        }
        Encoding::Utf32 { big, skip } => {
            from_utf32(bytes.get(skip..)?, big, lenient).map(|v| (Cow::Owned(v), false))
        }
    }
}

/// Whether `prefix` starts a JSON text whose value is an object, or an array whose first
/// element is (after any further `[`): `{` followed by `"` or `}`, in any encoding `json.loads`
/// accepts. A top-level array matters because Keras deserializes every element of one.
pub(crate) fn looks_like_json(prefix: &[u8]) -> bool {
    let Some((text, _)) = transcode(prefix, true) else {
        return false;
    };
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut rest = text
        .iter()
        .filter(|b| !is_space(b))
        .skip_while(|&&b| b == b'[');
    rest.next() == Some(&b'{') && matches!(rest.next(), Some(b'"' | b'}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn encodings_python_detects() {
        let json = "{\"a\": \"\u{e9}\u{1f600}\"}";
        let le = utf16le(json);
        assert_eq!(decoded(&le).unwrap().0.as_ref(), json.as_bytes());
        let be: Vec<u8> = json.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decoded(&be).unwrap().0.as_ref(), json.as_bytes());
        let mut bom = vec![0xff, 0xfe];
        bom.extend_from_slice(&le);
        assert_eq!(decoded(&bom).unwrap().0.as_ref(), json.as_bytes());
        let u32le: Vec<u8> = json
            .chars()
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        assert_eq!(decoded(&u32le).unwrap().0.as_ref(), json.as_bytes());
        let mut sig = b"\xef\xbb\xbf".to_vec();
        sig.extend_from_slice(json.as_bytes());
        let (text, exact) = decoded(&sig).unwrap();
        assert_eq!((text.as_ref(), exact), (json.as_bytes(), false));
        assert_eq!(
            decoded(json.as_bytes()).unwrap(),
            (Cow::Borrowed(json.as_bytes()), true)
        );
        // An odd byte count in UTF-16 is an error in Python.
        assert!(decoded(&le[..le.len() - 1]).is_none());
        // A lone surrogate passes, encoded as UTF-8 would encode it.
        assert_eq!(
            decoded(&[b'"', 0, 0x00, 0xd8, b'"', 0]).unwrap().0.as_ref(),
            b"\"\xed\xa0\x80\""
        );
    }

    #[test]
    fn json_starts() {
        assert!(looks_like_json(b" {\"class_name\""));
        assert!(looks_like_json(b"{}"));
        assert!(looks_like_json(b"[ [{\"a\":1}]]"));
        assert!(looks_like_json(&utf16le("{\"module\": 1}")[..7]));
        assert!(looks_like_json(b"\xef\xbb\xbf{\"a\""));
        assert!(!looks_like_json(b"[section]"));
        assert!(!looks_like_json(b"[1, 2]"));
        assert!(!looks_like_json(b"{a"));
        assert!(!looks_like_json(b""));
    }
}
