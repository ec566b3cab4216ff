//! Decodes one opcode and its operand from a byte slice, without copying binary operands.
//!
//! The decoder is resumable by construction: it never consumes a partial opcode. On
//! [`DecodeError::Incomplete`] the caller keeps the bytes and calls again with more.

use alloc::borrow::Cow;

use super::opcodes::*;
use super::text;

/// One decoded opcode with its operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op<'a> {
    /// An opcode without operand (MARK, STOP, REDUCE, TUPLE2, …).
    Bare(u8),
    Proto(u8),
    Frame(u64),
    Int(i64),
    /// An integer that does not fit in 64 bits; `torch_magic` when it is the number a legacy
    /// `torch.save` file starts with.
    BigInt {
        torch_magic: bool,
    },
    Bool(bool),
    Float,
    /// A `str` operand, as UTF-8.
    Str(Cow<'a, [u8]>),
    /// A `bytes` or `bytearray` operand (and Python 2 `str` from BINSTRING/STRING).
    Bytes(Cow<'a, [u8]>),
    /// GLOBAL's or INST's two lines.
    Global {
        opcode: u8,
        module: Cow<'a, str>,
        name: Cow<'a, str>,
    },
    Persid,
    Get(u64),
    Put(u64),
    Ext(u32),
    /// A length-prefixed operand longer than the inline limit: only the header has been
    /// consumed; the caller must stream `len` payload bytes past the analysis.
    Large {
        kind: LargeKind,
        len: u64,
    },
}

/// What a streamed-past operand would have become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LargeKind {
    Str,
    Bytes,
}

/// Why no opcode could be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// More bytes are needed; nothing was consumed.
    Incomplete,
    /// A protocol-0 line is longer than the inline limit.
    LineTooLong,
    /// CPython would raise here.
    Malformed(&'static str),
}

/// Whether `opcode` has no operand. The stream executes these without building an [`Op`],
/// which keeps the hot path of opcode-heavy pickles free of copies.
#[inline(always)]
pub(crate) fn is_bare(opcode: u8) -> bool {
    BARE.get(usize::from(opcode)).copied().unwrap_or(false)
}

/// [`is_bare_opcode`] as a table: one load instead of a chain of comparisons on the hot path.
// Evaluated at compile time with `i < 256`: an out-of-bounds index would fail the build.
#[allow(clippy::indexing_slicing)]
static BARE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = is_bare_opcode(i as u8);
        i += 1;
    }
    table
};

const fn is_bare_opcode(opcode: u8) -> bool {
    matches!(
        opcode,
        MARK | STOP
            | POP
            | POP_MARK
            | DUP
            | NONE
            | BINPERSID
            | REDUCE
            | APPEND
            | BUILD
            | DICT
            | EMPTY_DICT
            | APPENDS
            | LIST
            | EMPTY_LIST
            | OBJ
            | SETITEM
            | TUPLE
            | EMPTY_TUPLE
            | SETITEMS
            | NEWOBJ
            | TUPLE1
            | TUPLE2
            | TUPLE3
            | EMPTY_SET
            | ADDITEMS
            | FROZENSET
            | NEWOBJ_EX
            | STACK_GLOBAL
            | MEMOIZE
            | NEXT_BUFFER
            | READONLY_BUFFER
    )
}

/// Decodes the opcode at the start of `input`. Returns the op and the bytes it spans.
#[inline(always)]
pub(crate) fn decode(input: &[u8], max_inline: usize) -> Result<(Op<'_>, usize), DecodeError> {
    let (&opcode, rest) = input.split_first().ok_or(DecodeError::Incomplete)?;
    let (op, used) = match opcode {
        op if is_bare(op) => (Op::Bare(op), 0),
        NEWTRUE => (Op::Bool(true), 0),
        NEWFALSE => (Op::Bool(false), 0),
        PROTO => {
            let version = *rest.first().ok_or(DecodeError::Incomplete)?;
            if version > HIGHEST_PROTOCOL {
                return Err(DecodeError::Malformed("unsupported pickle protocol"));
            }
            (Op::Proto(version), 1)
        }
        FRAME => (Op::Frame(le_u64(rest)?), 8),
        BININT => (Op::Int(i64::from(i32::from_le_bytes(fixed(rest)?))), 4),
        BININT1 => (
            Op::Int(i64::from(*rest.first().ok_or(DecodeError::Incomplete)?)),
            1,
        ),
        BININT2 => (Op::Int(i64::from(u16::from_le_bytes(fixed(rest)?))), 2),
        BINFLOAT => {
            fixed::<8>(rest)?;
            (Op::Float, 8)
        }
        LONG1 => {
            let n = usize::from(*rest.first().ok_or(DecodeError::Incomplete)?);
            let digits = slice(rest, 1, n)?;
            (long_value(digits), 1 + n)
        }
        LONG4 => {
            let n = i32::from_le_bytes(fixed(rest)?);
            let n = usize::try_from(n)
                .map_err(|_| DecodeError::Malformed("LONG4 has a negative byte count"))?;
            if n > max_inline {
                return Err(DecodeError::Malformed("LONG4 longer than the inline limit"));
            }
            let digits = slice(rest, 4, n)?;
            (long_value(digits), 4 + n)
        }
        INT => {
            let (line, used) = line(rest, max_inline)?;
            let op = match line {
                b"01" => Op::Bool(true),
                b"00" => Op::Bool(false),
                _ => match text::decimal(line) {
                    Some(Some(v)) => Op::Int(v),
                    Some(None) => Op::BigInt {
                        torch_magic: super::torch_legacy::is_magic_text(line),
                    },
                    None => return Err(DecodeError::Malformed("INT operand is not a number")),
                },
            };
            (op, used)
        }
        LONG => {
            let (line, used) = line(rest, max_inline)?;
            let op = match text::decimal(line) {
                Some(Some(v)) => Op::Int(v),
                Some(None) => Op::BigInt {
                    torch_magic: super::torch_legacy::is_magic_text(line),
                },
                None => return Err(DecodeError::Malformed("LONG operand is not a number")),
            };
            (op, used)
        }
        FLOAT => {
            let (line, used) = line(rest, max_inline)?;
            if !text::is_float(line) {
                return Err(DecodeError::Malformed("FLOAT operand is not a number"));
            }
            (Op::Float, used)
        }
        STRING => {
            let (line, used) = line(rest, max_inline)?;
            let value = text::quoted_string(line).ok_or(DecodeError::Malformed(
                "STRING operand is not a quoted string",
            ))?;
            (Op::Str(value), used)
        }
        UNICODE => {
            let (line, used) = line(rest, max_inline)?;
            let value = text::raw_unicode_escape(line)
                .ok_or(DecodeError::Malformed("UNICODE operand has a bad escape"))?;
            (Op::Str(value), used)
        }
        BINSTRING => {
            let n = i32::from_le_bytes(fixed(rest)?);
            let n = u64::try_from(n)
                .map_err(|_| DecodeError::Malformed("BINSTRING has a negative byte count"))?;
            counted(rest, 4, n, max_inline, LargeKind::Bytes, python2_str)?
        }
        SHORT_BINSTRING => {
            let n = u64::from(*rest.first().ok_or(DecodeError::Incomplete)?);
            counted(rest, 1, n, max_inline, LargeKind::Bytes, python2_str)?
        }
        BINUNICODE => {
            let n = u64::from(u32::from_le_bytes(fixed(rest)?));
            counted(rest, 4, n, max_inline, LargeKind::Str, utf8)?
        }
        SHORT_BINUNICODE => {
            let n = u64::from(*rest.first().ok_or(DecodeError::Incomplete)?);
            counted(rest, 1, n, max_inline, LargeKind::Str, utf8)?
        }
        BINUNICODE8 => counted(rest, 8, le_u64(rest)?, max_inline, LargeKind::Str, utf8)?,
        BINBYTES => {
            let n = u64::from(u32::from_le_bytes(fixed(rest)?));
            counted(rest, 4, n, max_inline, LargeKind::Bytes, |b| {
                Ok(Op::Bytes(Cow::Borrowed(b)))
            })?
        }
        SHORT_BINBYTES => {
            let n = u64::from(*rest.first().ok_or(DecodeError::Incomplete)?);
            counted(rest, 1, n, max_inline, LargeKind::Bytes, |b| {
                Ok(Op::Bytes(Cow::Borrowed(b)))
            })?
        }
        BINBYTES8 | BYTEARRAY8 => {
            counted(rest, 8, le_u64(rest)?, max_inline, LargeKind::Bytes, |b| {
                Ok(Op::Bytes(Cow::Borrowed(b)))
            })?
        }
        GLOBAL | INST => {
            let (module, used_module) = line(rest, max_inline)?;
            let after = rest.get(used_module..).unwrap_or_default();
            let (name, used_name) = line(after, max_inline)?;
            let module = core::str::from_utf8(module)
                .map_err(|_| DecodeError::Malformed("GLOBAL module is not UTF-8"))?;
            let name = core::str::from_utf8(name)
                .map_err(|_| DecodeError::Malformed("GLOBAL name is not UTF-8"))?;
            (
                Op::Global {
                    opcode,
                    module: Cow::Borrowed(module),
                    name: Cow::Borrowed(name),
                },
                used_module + used_name,
            )
        }
        PERSID => {
            let (line, used) = line(rest, max_inline)?;
            if !line.is_ascii() {
                return Err(DecodeError::Malformed("PERSID operand is not ASCII"));
            }
            (Op::Persid, used)
        }
        GET | PUT => {
            let (line, used) = line(rest, max_inline)?;
            let index = match text::decimal(line) {
                Some(Some(v)) => {
                    u64::try_from(v).map_err(|_| DecodeError::Malformed("negative memo index"))?
                }
                _ => return Err(DecodeError::Malformed("memo index is not a number")),
            };
            (
                if opcode == GET {
                    Op::Get(index)
                } else {
                    Op::Put(index)
                },
                used,
            )
        }
        BINGET => (
            Op::Get(u64::from(*rest.first().ok_or(DecodeError::Incomplete)?)),
            1,
        ),
        BINPUT => (
            Op::Put(u64::from(*rest.first().ok_or(DecodeError::Incomplete)?)),
            1,
        ),
        LONG_BINGET => (Op::Get(u64::from(u32::from_le_bytes(fixed(rest)?))), 4),
        LONG_BINPUT => (Op::Put(u64::from(u32::from_le_bytes(fixed(rest)?))), 4),
        EXT1 => (
            ext(u32::from(*rest.first().ok_or(DecodeError::Incomplete)?))?,
            1,
        ),
        EXT2 => (ext(u32::from(u16::from_le_bytes(fixed(rest)?)))?, 2),
        EXT4 => (ext(u32::from_le_bytes(fixed(rest)?))?, 4),
        _ => return Err(DecodeError::Malformed("unknown opcode")),
    };
    Ok((op, 1 + used))
}

fn ext(code: u32) -> Result<Op<'static>, DecodeError> {
    if code == 0 || code > i32::MAX as u32 {
        return Err(DecodeError::Malformed("EXT code is out of range"));
    }
    Ok(Op::Ext(code))
}

fn long_value(digits: &[u8]) -> Op<'static> {
    match digits.len() {
        0 => Op::Int(0),
        1..=8 => {
            let mut buf = [0u8; 8];
            let fill = if digits.last().is_some_and(|b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            for (i, slot) in buf.iter_mut().enumerate() {
                *slot = digits.get(i).copied().unwrap_or(fill);
            }
            Op::Int(i64::from_le_bytes(buf))
        }
        _ => Op::BigInt {
            torch_magic: super::torch_legacy::is_magic_le(digits),
        },
    }
}

/// A Python 2 `str`: Python 3 decodes it as ASCII into a `str` by default; other bytes only
/// load with `encoding="bytes"`/`"latin1"`, so they stay bytes here.
fn python2_str(bytes: &[u8]) -> Result<Op<'_>, DecodeError> {
    Ok(if bytes.is_ascii() {
        Op::Str(Cow::Borrowed(bytes))
    } else {
        Op::Bytes(Cow::Borrowed(bytes))
    })
}

fn utf8(bytes: &[u8]) -> Result<Op<'_>, DecodeError> {
    // Most names and keys are ASCII, which is checked far faster than full UTF-8.
    if !bytes.is_ascii() {
        core::str::from_utf8(bytes)
            .map_err(|_| DecodeError::Malformed("string operand is not UTF-8"))?;
    }
    Ok(Op::Str(Cow::Borrowed(bytes)))
}

/// A length-prefixed operand: inline when short, [`Op::Large`] when longer than `max_inline`.
fn counted<'a>(
    rest: &'a [u8],
    header: usize,
    len: u64,
    max_inline: usize,
    kind: LargeKind,
    make: impl FnOnce(&'a [u8]) -> Result<Op<'a>, DecodeError>,
) -> Result<(Op<'a>, usize), DecodeError> {
    match usize::try_from(len) {
        Ok(n) if n <= max_inline => Ok((make(slice(rest, header, n)?)?, header + n)),
        _ => Ok((Op::Large { kind, len }, header)),
    }
}

/// A line of at most `max` bytes. Only the first `max + 1` bytes are searched, so the answer
/// does not depend on how much input happens to be buffered.
/// Whether `opcode` takes newline-ended text lines as its operand (protocol 0; `GLOBAL` and
/// `INST` take two). A pending text opcode can only decode differently once one of its lines
/// ends or grows past the inline limit, which is when [`PickleStream`](super::PickleStream)
/// retries it.
pub(crate) fn reads_lines(opcode: u8) -> bool {
    matches!(
        opcode,
        GLOBAL | INST | INT | LONG | FLOAT | STRING | UNICODE | PERSID | GET | PUT
    )
}

fn line(input: &[u8], max: usize) -> Result<(&[u8], usize), DecodeError> {
    let window = input.get(..max.saturating_add(1)).unwrap_or(input);
    match text::line(window) {
        Some(found) => Ok(found),
        None if input.len() > max => Err(DecodeError::LineTooLong),
        None => Err(DecodeError::Incomplete),
    }
}

fn slice(input: &[u8], start: usize, len: usize) -> Result<&[u8], DecodeError> {
    let end = start
        .checked_add(len)
        .ok_or(DecodeError::Malformed("length overflows"))?;
    input.get(start..end).ok_or(DecodeError::Incomplete)
}

fn fixed<const N: usize>(input: &[u8]) -> Result<[u8; N], DecodeError> {
    input
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::Incomplete)
}

fn le_u64(input: &[u8]) -> Result<u64, DecodeError> {
    Ok(u64::from_le_bytes(fixed(input)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_operands() {
        assert_eq!(decode(b"K\x05", 100), Ok((Op::Int(5), 2)));
        assert_eq!(decode(b"J\xff\xff\xff\xff", 100), Ok((Op::Int(-1), 5)));
        assert_eq!(decode(b"\x8a\x02\xff\x7f", 100), Ok((Op::Int(0x7fff), 4)));
        assert_eq!(decode(b"\x8a\x01\xff", 100), Ok((Op::Int(-1), 3)));
        assert_eq!(
            decode(b"\x8c\x02os", 100),
            Ok((Op::Str(Cow::Borrowed(b"os")), 4))
        );
        assert_eq!(decode(b"\x8c\x02o", 100), Err(DecodeError::Incomplete));
        assert_eq!(
            decode(b"\x80\x06", 100),
            Err(DecodeError::Malformed("unsupported pickle protocol"))
        );
        assert_eq!(
            decode(b"\xff", 100),
            Err(DecodeError::Malformed("unknown opcode"))
        );
    }

    #[test]
    fn long_operands_stream_past() {
        let op = decode(b"\x8e\x00\x10\x00\x00\x00\x00\x00\x00", 100);
        assert_eq!(
            op,
            Ok((
                Op::Large {
                    kind: LargeKind::Bytes,
                    len: 4096
                },
                9
            ))
        );
        let huge = decode(b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff", 100);
        assert_eq!(
            huge,
            Ok((
                Op::Large {
                    kind: LargeKind::Str,
                    len: u64::MAX
                },
                9
            ))
        );
    }

    #[test]
    fn text_operands() {
        let (op, used) = decode(b"cos\nsystem\n(", 100).unwrap();
        assert_eq!(used, 11);
        assert!(
            matches!(op, Op::Global { module, name, .. } if module == "os" && name == "system")
        );
        assert_eq!(decode(b"I01\n", 100), Ok((Op::Bool(true), 4)));
        assert_eq!(decode(b"L12L\n", 100), Ok((Op::Int(12), 5)));
        assert_eq!(
            decode(b"S'os'\n", 100),
            Ok((Op::Str(Cow::Borrowed(b"os")), 6))
        );
        assert_eq!(decode(b"Vos", 100), Err(DecodeError::Incomplete));
        assert_eq!(decode(b"Vososos", 3), Err(DecodeError::LineTooLong));
        assert_eq!(
            decode(b"cmod\n\xf8\n", 100),
            Err(DecodeError::Malformed("GLOBAL name is not UTF-8"))
        );
    }
}
