//! Protocol-0 text operands: the line-based encodings that `pickle.py` reads with `readline()`.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// Splits `input` at the first `\n`: `(line without newline, bytes consumed)`.
pub(crate) fn line(input: &[u8]) -> Option<(&[u8], usize)> {
    let end = input.iter().position(|&b| b == b'\n')?;
    Some((input.get(..end)?, end + 1))
}

/// Parses a decimal integer line as `INT`, `LONG`, `GET` and `PUT` write it (optional sign,
/// optional trailing `L`). `None` when it is not a number; `Some(None)` when it does not fit.
pub(crate) fn decimal(line: &[u8]) -> Option<Option<i64>> {
    let line = trim_ascii(line);
    let line = line.strip_suffix(b"L").unwrap_or(line);
    let (negative, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, line),
    };
    if digits.is_empty() || !digits.iter().all(|b| b.is_ascii_digit() || *b == b'_') {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits.iter().filter(|b| **b != b'_') {
        let next = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')));
        match next {
            Some(v) => value = v,
            None => return Some(None),
        }
    }
    Some(Some(if negative { -value } else { value }))
}

/// Whether a `FLOAT` line is something Python's `float()` accepts (digits, sign, exponent,
/// `inf`, `nan`). The value itself never matters to the analysis.
pub(crate) fn is_float(line: &[u8]) -> bool {
    let line = trim_ascii(line);
    !line.is_empty()
        && line
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'))
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Decodes a `STRING` operand: a quoted Python 2 `repr` with backslash escapes
/// (`codecs.escape_decode`). `None` when the quoting or an escape is invalid, which makes
/// CPython raise.
pub(crate) fn quoted_string(line: &[u8]) -> Option<Cow<'_, [u8]>> {
    let (&first, rest) = line.split_first()?;
    let (&last, body) = rest.split_last()?;
    if first != last || !matches!(first, b'\'' | b'"') {
        return None;
    }
    if !body.contains(&b'\\') {
        return Some(Cow::Borrowed(body));
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let &esc = body.get(i)?;
        i += 1;
        match esc {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(esc),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => {
                let hi = hex_digit(*body.get(i)?)?;
                let lo = hex_digit(*body.get(i + 1)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut value = u32::from(esc - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(Cow::Owned(out))
}

/// Decodes a `UNICODE` operand (`raw-unicode-escape`): bytes are Latin-1 characters, and only
/// `\uXXXX` / `\UXXXXXXXX` are escapes. Returns UTF-8; `None` on a truncated or invalid escape.
pub(crate) fn raw_unicode_escape(line: &[u8]) -> Option<Cow<'_, [u8]>> {
    if line.is_ascii() && !line.contains(&b'\\') {
        return Some(Cow::Borrowed(line));
    }
    let mut out = alloc::string::String::with_capacity(line.len());
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        let digits = match (b, line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                out.push(char::from(b));
                i += 1;
                continue;
            }
        };
        let hex = line.get(i + 2..i + 2 + digits)?;
        let mut code: u32 = 0;
        for &h in hex {
            code = code << 4 | u32::from(hex_digit(h)?);
        }
        // Lone surrogates are legal in Python strings but not in Rust ones; they cannot form
        // an importable name, so U+FFFD stands in for them.
        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
        i += 2 + digits;
    }
    Some(Cow::Owned(out.into_bytes()))
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"123"), Some(Some(123)));
        assert_eq!(decimal(b"-7L"), Some(Some(-7)));
        assert_eq!(decimal(b" 01 "), Some(Some(1)));
        assert_eq!(decimal(b"99999999999999999999999"), Some(None));
        assert_eq!(decimal(b"x"), None);
        assert_eq!(decimal(b""), None);
    }

    #[test]
    fn quoted_strings_follow_escape_decode() {
        assert_eq!(quoted_string(b"'os'").as_deref(), Some(&b"os"[..]));
        assert_eq!(quoted_string(b"\"o\\x73\"").as_deref(), Some(&b"os"[..]));
        assert_eq!(quoted_string(b"'\\157\\163'").as_deref(), Some(&b"os"[..]));
        assert_eq!(quoted_string(b"'it\\'s'").as_deref(), Some(&b"it's"[..]));
        assert_eq!(quoted_string(b"'\\q'").as_deref(), Some(&b"\\q"[..]));
        assert_eq!(quoted_string(b"os"), None);
        assert_eq!(quoted_string(b"'os\""), None);
        assert_eq!(quoted_string(b"'\\x7'"), None);
        assert_eq!(quoted_string(b"'"), None);
    }

    #[test]
    fn raw_unicode_escapes() {
        assert_eq!(raw_unicode_escape(b"os").as_deref(), Some(&b"os"[..]));
        assert_eq!(raw_unicode_escape(b"\\u006fs").as_deref(), Some(&b"os"[..]));
        assert_eq!(
            raw_unicode_escape(b"\\U0000006fs").as_deref(),
            Some(&b"os"[..])
        );
        assert_eq!(raw_unicode_escape(b"\xe9").as_deref(), Some("é".as_bytes()));
        assert_eq!(raw_unicode_escape(b"\\u12"), None);
        assert_eq!(raw_unicode_escape(b"a\\b").as_deref(), Some(&b"a\\b"[..]));
    }
}
