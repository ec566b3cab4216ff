//! `numpy.dtype(s)` for a string `s`, as `_convert_from_str` and `_commastring` read it:
//! typecodes (`'d'`), kind and size (`'<f8'`), names (`'float64'`), datetimes
//! (`'M8[ns]'`) and comma strings (`'i4, (2,)f8'`).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{DescrError, Dtype, MAX_DEPTH, MAX_ITEMSIZE, Result, invalid, unknown, with_shape};
use crate::numpy::{literal, shown};

/// `numpy.dtype(s)` for a string.
pub(super) fn from_str(s: &str, depth: usize) -> Result<Dtype> {
    if depth > MAX_DEPTH {
        return unknown("the descr nests too deeply to follow");
    }
    if s.is_empty() {
        return invalid("an empty type string");
    }
    if is_commastring(s) {
        return commastring(s, depth);
    }
    let (endian, rest) = match s.as_bytes().first() {
        Some(b'<' | b'>' | b'=' | b'|') => (true, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    };
    if rest.is_empty() {
        return invalid("a byte order without a type");
    }
    if let Some(result) = datetime(rest) {
        return result;
    }
    let bytes = rest.as_bytes();
    if let [code] = bytes {
        return match typecode(*code) {
            // `a` is not a typecode, only a name, so it works only without a byte order.
            Some(dtype) if *code != b'a' || !endian => Ok(dtype),
            _ => by_name(s),
        };
    }
    let (Some(&kind), Some(digits)) = (bytes.first(), rest.get(1..)) else {
        return by_name(s);
    };
    match strtol(digits) {
        Some(n) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            invalid(format!("the size in '{}' does not fit a C int", shown(s)))
        }
        Some(n) => {
            let n = n.unsigned_abs();
            match kind {
                b'S' | b'a' | b'U' | b'V' if n == 0 => {
                    Ok(Dtype::sizeless(if kind == b'a' { b'S' } else { kind }))
                }
                b'S' | b'a' => Ok(Dtype::plain(n)),
                b'U' if n > MAX_ITEMSIZE / 4 => invalid(format!("'{}' is too large", shown(s))),
                b'U' => Ok(Dtype::plain(n * 4)),
                b'V' => Ok(Dtype::void(n)),
                _ => match sized(kind, n) {
                    Some(dtype) => Ok(dtype),
                    None if n > 0 && b"biufcOMm".contains(&kind) => invalid(format!(
                        "'{}' is not a size numpy has for this kind",
                        shown(s)
                    )),
                    None => by_name(s),
                },
            }
        }
        None => by_name(s),
    }
}

/// C `strtol` over the whole rest of the string, as numpy parses the size after the kind:
/// leading whitespace and a sign are allowed (`'i 4'` is int32).
fn strtol(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Past i64 the exact value does not matter: it is too large either way.
    let value = digits.bytes().try_fold(0i64, |acc, b| {
        acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
    });
    let value = value.unwrap_or(i64::MAX);
    Some(if negative { -value } else { value })
}

/// One-character typecodes, as `PyArray_DescrFromType` knows them.
fn typecode(code: u8) -> Option<Dtype> {
    Some(match code {
        b'?' | b'b' | b'B' | b'c' => Dtype::plain(1),
        b'h' | b'H' | b'e' => Dtype::plain(2),
        b'i' | b'I' | b'f' => Dtype::plain(4),
        b'l' | b'L' | b'q' | b'Q' | b'n' | b'N' | b'p' | b'P' | b'd' | b'F' | b'M' | b'm' => {
            Dtype::plain(8)
        }
        b'g' | b'D' => Dtype::plain(16),
        b'G' => Dtype::plain(32),
        b'S' | b'a' => Dtype::sizeless(b'S'),
        b'U' => Dtype::sizeless(b'U'),
        b'V' => Dtype::sizeless(b'V'),
        b'O' => Dtype::OBJECT,
        b'T' => Dtype::STRING_DTYPE,
        _ => return None,
    })
}

/// Kind and size (`f8`, `i4`, `c16`), as `PyArray_TypestrConvert` knows them.
fn sized(kind: u8, size: u64) -> Option<Dtype> {
    let ok = match kind {
        b'b' => size == 1,
        b'i' | b'u' => matches!(size, 1 | 2 | 4 | 8),
        b'f' => matches!(size, 2 | 4 | 8 | 16),
        b'c' => matches!(size, 8 | 16 | 32),
        // `O4` and `O8` are deprecated spellings of `O`.
        b'O' => return matches!(size, 4 | 8).then_some(Dtype::OBJECT),
        b'M' | b'm' => size == 8,
        _ => false,
    };
    ok.then_some(Dtype::plain(size))
}

/// Type names from numpy's `sctypeDict` (matched against the whole string, so `'<float64'` is
/// not one).
const NAMES: &[(&str, Dtype)] = &[
    ("bool", Dtype::plain(1)),
    ("bool_", Dtype::plain(1)),
    ("int8", Dtype::plain(1)),
    ("uint8", Dtype::plain(1)),
    ("byte", Dtype::plain(1)),
    ("ubyte", Dtype::plain(1)),
    ("int16", Dtype::plain(2)),
    ("uint16", Dtype::plain(2)),
    ("short", Dtype::plain(2)),
    ("ushort", Dtype::plain(2)),
    ("float16", Dtype::plain(2)),
    ("half", Dtype::plain(2)),
    ("int32", Dtype::plain(4)),
    ("uint32", Dtype::plain(4)),
    ("intc", Dtype::plain(4)),
    ("uintc", Dtype::plain(4)),
    ("float32", Dtype::plain(4)),
    ("single", Dtype::plain(4)),
    ("int64", Dtype::plain(8)),
    ("uint64", Dtype::plain(8)),
    ("intp", Dtype::plain(8)),
    ("uintp", Dtype::plain(8)),
    ("long", Dtype::plain(8)),
    ("ulong", Dtype::plain(8)),
    ("longlong", Dtype::plain(8)),
    ("ulonglong", Dtype::plain(8)),
    ("int", Dtype::plain(8)),
    ("int_", Dtype::plain(8)),
    ("uint", Dtype::plain(8)),
    ("float64", Dtype::plain(8)),
    ("double", Dtype::plain(8)),
    ("float", Dtype::plain(8)),
    ("complex64", Dtype::plain(8)),
    ("csingle", Dtype::plain(8)),
    ("float128", Dtype::plain(16)),
    ("longdouble", Dtype::plain(16)),
    ("complex128", Dtype::plain(16)),
    ("cdouble", Dtype::plain(16)),
    ("complex", Dtype::plain(16)),
    ("complex256", Dtype::plain(32)),
    ("clongdouble", Dtype::plain(32)),
    ("bytes", Dtype::sizeless(b'S')),
    ("bytes_", Dtype::sizeless(b'S')),
    ("str", Dtype::sizeless(b'U')),
    ("str_", Dtype::sizeless(b'U')),
    ("unicode", Dtype::sizeless(b'U')),
    ("void", Dtype::sizeless(b'V')),
    ("object", Dtype::OBJECT),
    ("object_", Dtype::OBJECT),
];

/// Aliases numpy 2.0 removed, with what numpy 1.x made of them.
const REMOVED: &[(&str, &str)] = &[
    ("object0", "Python object"),
    ("bool8", "bool"),
    ("int0", "intp"),
    ("uint0", "uintp"),
    ("float_", "float64"),
    ("complex_", "complex128"),
    ("cfloat", "complex128"),
    ("singlecomplex", "complex64"),
    ("longfloat", "longdouble"),
    ("longcomplex", "clongdouble"),
    ("clongfloat", "clongdouble"),
    ("string_", "bytes"),
    ("unicode_", "str"),
    ("str0", "str"),
    ("bytes0", "bytes"),
    ("void0", "void"),
];

/// Looks `s` up as a type name. numpy's names are all identifiers, so anything else (a byte
/// order before a name, spaces, brackets) is certainly not one; an identifier modelsieve does
/// not know might be an alias of some numpy version.
fn by_name(s: &str) -> Result<Dtype> {
    if let Some((_, dtype)) = NAMES.iter().find(|(name, _)| *name == s) {
        return Ok(*dtype);
    }
    if let Some((_, meaning)) = REMOVED.iter().find(|(name, _)| *name == s) {
        // numpy 2 refuses these, numpy 1.x reads them: the header is broken for one and
        // valid for the other, so it is reported and its data treated as possibly objects.
        return unknown(format!(
            "'{}' is a {meaning} alias that numpy 2.0 removed; numpy 1.x still reads it",
            shown(s)
        ));
    }
    if s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        unknown(format!(
            "'{}' is not a type name modelsieve knows",
            shown(s)
        ))
    } else {
        invalid(format!("'{}' is not a type numpy knows", shown(s)))
    }
}

/// Datetime and timedelta types (`M8`, `m8[ns]`, `datetime64[25s]`); `None` when `s` is not
/// one. Always 8 bytes.
fn datetime(s: &str) -> Option<Result<Dtype>> {
    let b = s.as_bytes();
    let base = if matches!(b, [b'M' | b'm', b'8', ..]) {
        2
    } else if s.starts_with("datetime64") {
        10
    } else if s.starts_with("timedelta64") {
        11
    } else {
        return None;
    };
    let meta = s.get(base..).unwrap_or_default();
    if meta.is_empty() {
        return Some(Ok(Dtype::plain(8)));
    }
    let Some(inner) = meta.strip_prefix('[').and_then(|m| m.strip_suffix(']')) else {
        return Some(invalid(format!(
            "'{}' has text after the datetime type",
            shown(s)
        )));
    };
    let (unit, divisor) = match inner.split_once('/') {
        Some((unit, divisor)) => (unit, Some(divisor)),
        None => (inner, None),
    };
    let unit = unit.trim_start_matches(|c: char| c.is_ascii_digit());
    /// numpy's datetime units (`μs` is an alias of `us`).
    const UNITS: &[&str] = &[
        "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "\u{3bc}s", "ns", "ps", "fs", "as",
        "generic",
    ];
    if !UNITS.contains(&unit) {
        return Some(invalid(format!(
            "'{}' has an unknown datetime unit",
            shown(s)
        )));
    }
    match divisor {
        None => {}
        Some(d) if d.is_empty() || !d.bytes().all(|c| c.is_ascii_digit()) => {
            return Some(invalid(format!(
                "'{}' has a malformed unit divisor",
                shown(s)
            )));
        }
        // numpy divides by it unchecked: `M8[s/0]` kills the process with SIGFPE.
        Some(d) if d.bytes().all(|c| c == b'0') => {
            return Some(invalid(format!(
                "'{}' divides its unit by zero, which crashes numpy (SIGFPE)",
                shown(s)
            )));
        }
        Some(_) => {}
    }
    Some(Ok(Dtype::plain(8)))
}

/// numpy's `_check_for_commastring`: a leading digit (after an optional byte order), a
/// leading `()`, or a comma outside square brackets.
fn is_commastring(s: &str) -> bool {
    let b = s.as_bytes();
    let endian = |c: &u8| matches!(c, b'<' | b'>' | b'=' | b'|');
    if b.first().is_some_and(u8::is_ascii_digit)
        || (b.len() > 1
            && b.first().is_some_and(endian)
            && b.get(1).is_some_and(u8::is_ascii_digit))
    {
        return true;
    }
    if b.starts_with(b"()")
        || (b.len() > 3 && b.first().is_some_and(endian) && b.get(1..3) == Some(b"()"))
    {
        return true;
    }
    let mut brackets = 0i32;
    for &c in b {
        match c {
            b',' if brackets == 0 => return true,
            b'[' => brackets += 1,
            b']' => brackets -= 1,
            _ => {}
        }
    }
    false
}

/// numpy's `_commastring`: items `[order] [repeats] [order] type`, separated by commas. One
/// item without a comma is that type (a subarray when repeated); otherwise the items become
/// fields `f0`, `f1`, ….
fn commastring(s: &str, depth: usize) -> Result<Dtype> {
    let b = s.as_bytes();
    let mut pos = 0usize;
    let mut items: Vec<Dtype> = Vec::new();
    let mut is_list = false;
    let mut not_modelled = None;
    while pos < b.len() {
        let order1 = take_order(b, &mut pos);
        let repeats_start = pos;
        skip_while(b, &mut pos, |c| c == b' ');
        if b.get(pos) == Some(&b'(') {
            pos += 1;
        }
        skip_while(b, &mut pos, |c| {
            c == b' ' || c == b',' || c.is_ascii_digit()
        });
        if b.get(pos) == Some(&b')') {
            pos += 1;
        }
        skip_while(b, &mut pos, |c| c == b' ');
        let repeats = s.get(repeats_start..pos).unwrap_or_default();
        let order2 = take_order(b, &mut pos);
        let type_start = pos;
        skip_while(b, &mut pos, |c| {
            c.is_ascii_alphanumeric() || c == b'.' || c == b'?'
        });
        if b.get(pos) == Some(&b'[') {
            let mut end = pos + 1;
            skip_while(b, &mut end, |c| {
                c.is_ascii_alphanumeric() || c == b',' || c == b'.'
            });
            if end > pos + 1 && b.get(end) == Some(&b']') {
                pos = end + 1;
            }
        }
        let type_str = s.get(type_start..pos).unwrap_or_default();
        if pos < b.len() {
            let mut sep = pos;
            skip_while(b, &mut sep, |c| c.is_ascii_whitespace());
            if sep == b.len() {
                pos = sep;
            } else if b.get(sep) == Some(&b',') {
                sep += 1;
                skip_while(b, &mut sep, |c| c.is_ascii_whitespace());
                pos = sep;
                is_list = true;
            } else {
                return invalid(format!(
                    "item {} of the type string '{}' is not recognized",
                    items.len() + 1,
                    shown(s)
                ));
            }
        }
        // '=' is native order, little-endian here; '|', '=' and '<' all mean native.
        let native = |o: Option<u8>| match o {
            Some(b'=') => Some(b'<'),
            other => other,
        };
        let order = match (native(order1), native(order2)) {
            (Some(a), Some(c)) if a != c => {
                return invalid(format!("inconsistent byte orders in '{}'", shown(s)));
            }
            (Some(a), _) | (None, Some(a)) => Some(a),
            (None, None) => None,
        };
        let item_str = match order {
            Some(b'>') => format!(">{type_str}"),
            _ => String::from(type_str),
        };
        let item = from_str(&item_str, depth + 1).and_then(|base| {
            if repeats.is_empty() {
                return Ok(base);
            }
            let shape = literal::parse(
                repeats.as_bytes(),
                literal::Options {
                    encoding: literal::Encoding::Latin1,
                    python2_longs: false,
                },
            )
            .map_err(|_| {
                DescrError::Invalid(format!(
                    "the repeat count '{}' is not valid Python",
                    shown(repeats.trim())
                ))
            })?;
            with_shape(base, &shape, depth + 1)
        });
        match item {
            Ok(dtype) => items.push(dtype),
            Err(DescrError::Unknown(why)) => {
                not_modelled.get_or_insert(why);
                items.push(Dtype::plain(0));
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(why) = not_modelled {
        return unknown(why);
    }
    match items.as_slice() {
        [single] if !is_list => Ok(*single),
        [] => invalid(format!("the type string '{}' has no items", shown(s))),
        _ => {
            let itemsize = items.iter().fold(0u64, |a, d| a.saturating_add(d.itemsize));
            if itemsize > MAX_ITEMSIZE {
                return invalid("a structured item of more than 2147483647 bytes");
            }
            let single_object = matches!(items.as_slice(), [one] if one.is_object());
            Ok(Dtype::structured(
                itemsize,
                items.iter().any(|d| d.objects),
                single_object,
            ))
        }
    }
}

/// A byte-order character at `pos`, consumed.
fn take_order(b: &[u8], pos: &mut usize) -> Option<u8> {
    let c = b.get(*pos).copied().filter(|c| b"<>|=".contains(c))?;
    *pos += 1;
    Some(c)
}

/// Moves `pos` past the bytes `keep` accepts.
fn skip_while(b: &[u8], pos: &mut usize, keep: impl Fn(u8) -> bool) {
    while b.get(*pos).is_some_and(|&c| keep(c)) {
        *pos += 1;
    }
}
