//! Finds where a pickle ends in the legacy layout's `storages` and `tensors`, and picks out the
//! few values the walk needs, without judging the pickle (a child scan does that).

use alloc::vec::Vec;

use crate::pickle::opcodes::*;

/// Longest protocol-0 line the framer gathers; metadata pickles have short lines, and a longer
/// one sends the member to the generic scan, which judges it properly.
const MAX_LINE: usize = 4096;

/// Longest string operand kept for the storage type name.
const MAX_KEPT: u64 = 256;

/// What the framer expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Frame {
    /// An opcode byte.
    #[default]
    Opcode,
    /// `need` operand bytes of a fixed-size operand.
    Fixed { op: u8, need: usize },
    /// The `need`-byte length prefix of a counted operand.
    Length { op: u8, need: usize },
    /// `left` bytes of a counted operand (kept when short enough to be a name or number).
    Operand { op: u8, left: u64, keep: bool },
    /// Protocol-0 lines, `lines` of them still to end.
    Line { op: u8, lines: u8 },
    /// STOP was read.
    Stopped,
    /// Not a pickle the framer can follow.
    Broken,
}

/// The operand an opcode takes.
enum Shape {
    Bare,
    Fixed(usize),
    Length(usize),
    Lines(u8),
}

/// The operand of `op`, or `None` for a byte that is no opcode.
fn shape(op: u8) -> Option<Shape> {
    Some(match op {
        PROTO | BININT1 | BINGET | BINPUT | EXT1 => Shape::Fixed(1),
        BININT2 | EXT2 => Shape::Fixed(2),
        BININT | LONG_BINGET | LONG_BINPUT | EXT4 => Shape::Fixed(4),
        FRAME | BINFLOAT => Shape::Fixed(8),
        LONG1 | SHORT_BINSTRING | SHORT_BINUNICODE | SHORT_BINBYTES => Shape::Length(1),
        LONG4 | BINSTRING | BINUNICODE | BINBYTES => Shape::Length(4),
        BINUNICODE8 | BINBYTES8 | BYTEARRAY8 => Shape::Length(8),
        INT | LONG | FLOAT | STRING | UNICODE | GET | PUT | PERSID => Shape::Lines(1),
        GLOBAL | INST => Shape::Lines(2),
        op if name(op).is_some() => Shape::Bare,
        _ => return None,
    })
}

/// Finds where a pickle ends and picks out the few values the walk needs: the last integer,
/// and the name of the last import (GLOBAL's second line, or STACK_GLOBAL's last string).
#[derive(Debug, Default)]
pub(super) struct Framer {
    pub(super) frame: Frame,
    buf: Vec<u8>,
    pub(super) last_int: Option<i64>,
    /// The last short string pushed, for STACK_GLOBAL.
    last_str: Option<Vec<u8>>,
    pub(super) global: Option<Vec<u8>>,
}

impl Framer {
    /// The next member offset the framer needs, given that it is at `pos`.
    pub(super) fn wanted(&self, pos: u64) -> u64 {
        match self.frame {
            Frame::Operand {
                left, keep: false, ..
            } => pos.saturating_add(left),
            _ => pos,
        }
    }

    /// Skips `n` bytes of an operand that is not kept.
    pub(super) fn skip(&mut self, n: u64) {
        if let Frame::Operand { left, .. } = &mut self.frame {
            *left = left.saturating_sub(n);
            if *left == 0 {
                self.frame = Frame::Opcode;
            }
        }
    }

    /// Consumes bytes up to and including STOP; returns how many were used.
    pub(super) fn push(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            used += match self.frame {
                Frame::Stopped | Frame::Broken => break,
                Frame::Opcode => {
                    let op = rest.first().copied().unwrap_or(0);
                    self.opcode(op);
                    1
                }
                Frame::Fixed { op, need } | Frame::Length { op, need } => {
                    let take = rest.len().min(need - self.buf.len());
                    self.buf
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    if self.buf.len() == need {
                        self.operand_header(op);
                    }
                    take
                }
                Frame::Operand { op, left, keep } => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    if keep {
                        self.buf
                            .extend_from_slice(rest.get(..take).unwrap_or_default());
                    }
                    let left = left - take as u64;
                    self.frame = Frame::Operand { op, left, keep };
                    if left == 0 {
                        self.operand_done(op, keep);
                    }
                    take
                }
                Frame::Line { op, lines } => {
                    let (take, ended) = match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    self.buf
                        .extend_from_slice(rest.get(..take).unwrap_or_default());
                    if self.buf.len() > MAX_LINE * 2 {
                        self.frame = Frame::Broken;
                    } else if ended && lines > 1 {
                        self.frame = Frame::Line {
                            op,
                            lines: lines - 1,
                        };
                    } else if ended {
                        self.lines_done(op);
                    }
                    take
                }
            };
        }
        used
    }

    /// An opcode byte: what its operand is, or STOP.
    fn opcode(&mut self, op: u8) {
        self.buf.clear();
        self.frame = match shape(op) {
            None => Frame::Broken,
            Some(Shape::Bare) => {
                if op == STACK_GLOBAL {
                    self.global = self.last_str.clone();
                }
                if op == STOP {
                    Frame::Stopped
                } else {
                    Frame::Opcode
                }
            }
            Some(Shape::Fixed(need)) => Frame::Fixed { op, need },
            Some(Shape::Length(need)) => Frame::Length { op, need },
            Some(Shape::Lines(lines)) => Frame::Line { op, lines },
        };
    }

    /// A fixed operand or a length prefix is complete.
    fn operand_header(&mut self, op: u8) {
        let mut le = [0u8; 8];
        for (slot, &b) in le.iter_mut().zip(self.buf.iter()) {
            *slot = b;
        }
        let value = u64::from_le_bytes(le);
        let int = match op {
            BININT1 | BININT2 => i64::try_from(value).ok(),
            BININT => {
                let [a, b, c, d, ..] = le;
                Some(i64::from(i32::from_le_bytes([a, b, c, d])))
            }
            _ => None,
        };
        if int.is_some() {
            self.last_int = int;
        }
        self.buf.clear();
        self.frame = match shape(op) {
            Some(Shape::Length(n)) => {
                // Four-byte lengths of BINSTRING and LONG4 are signed; CPython rejects < 0.
                let negative = n == 4 && matches!(op, BINSTRING | LONG4) && value >= 1 << 31;
                if negative {
                    Frame::Broken
                } else if value == 0 {
                    self.operand_done(op, true);
                    self.frame
                } else {
                    Frame::Operand {
                        op,
                        left: value,
                        keep: value <= MAX_KEPT,
                    }
                }
            }
            _ => Frame::Opcode,
        };
    }

    /// A counted operand is complete; `buf` holds it when it was kept.
    fn operand_done(&mut self, op: u8, kept: bool) {
        self.frame = Frame::Opcode;
        if !kept {
            return;
        }
        let operand = core::mem::take(&mut self.buf);
        match op {
            LONG1 if operand.len() <= 8 => {
                let fill = if operand.last().is_some_and(|&b| b & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut le = [fill; 8];
                for (slot, &b) in le.iter_mut().zip(operand.iter()) {
                    *slot = b;
                }
                self.last_int = Some(i64::from_le_bytes(le));
            }
            SHORT_BINUNICODE | BINUNICODE | BINUNICODE8 | SHORT_BINSTRING | BINSTRING => {
                self.last_str = Some(operand);
            }
            _ => {}
        }
    }

    /// The lines of a protocol-0 opcode are complete in `buf`.
    fn lines_done(&mut self, op: u8) {
        self.frame = Frame::Opcode;
        let text = core::mem::take(&mut self.buf);
        let mut lines = text.split(|&b| b == b'\n');
        let first = lines.next().unwrap_or_default();
        match op {
            INT | LONG => {
                let digits = first.strip_suffix(b"L").unwrap_or(first);
                self.last_int = core::str::from_utf8(digits)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
            }
            STRING => {
                let quoted = first.trim_ascii();
                let inner = quoted
                    .get(1..quoted.len().saturating_sub(1))
                    .unwrap_or_default();
                self.last_str = Some(inner.to_vec());
            }
            UNICODE => self.last_str = Some(first.to_vec()),
            GLOBAL | INST => self.global = lines.next().map(<[u8]>::to_vec),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> (Framer, usize) {
        let mut framer = Framer::default();
        let used = framer.push(bytes);
        (framer, used)
    }

    #[test]
    fn the_framer_finds_stop_and_values_in_any_protocol() {
        let (f, used) = frame(b"\x80\x02K\x05.rest");
        assert_eq!((used, f.last_int, f.frame), (5, Some(5), Frame::Stopped));
        let (f, _) = frame(b"\x80\x02M\x00\x01.");
        assert_eq!(f.last_int, Some(256));
        let (f, _) = frame(b"I12\n.");
        assert_eq!(f.last_int, Some(12));
        let (f, _) = frame(b"\x80\x02\x8a\x02\x00\x80.");
        assert_eq!(f.last_int, Some(-32768));
        let tuple = b"\x80\x02X\x01\x00\x00\x001q\x00X\x03\x00\x00\x00cpuq\x01ctorch\nFloatStorage\nq\x02\x87q\x03.";
        let (f, used) = frame(tuple);
        assert_eq!(used, tuple.len());
        assert_eq!(f.global.as_deref(), Some(&b"FloatStorage"[..]));
        let p4 = b"\x80\x04\x95\x10\0\0\0\0\0\0\0\x8c\x05torch\x94\x8c\x0bLongStorage\x94\x93\x94.";
        let (f, _) = frame(p4);
        assert_eq!(f.global.as_deref(), Some(&b"LongStorage"[..]));
        assert_eq!(frame(b"\x80\x02\xff").0.frame, Frame::Broken);
        // A long operand is skipped, not kept, and the end is still found.
        let mut long = b"\x80\x03B\x00\x10\x00\x00".to_vec();
        long.extend_from_slice(&[b'.'; 4096]);
        long.push(b'.');
        let (f, used) = frame(&long);
        assert_eq!((used, f.frame), (long.len(), Frame::Stopped));
    }

    #[test]
    fn the_framer_resumes_at_any_split() {
        let tuple = b"\x80\x02X\x01\x00\x00\x001q\x00X\x03\x00\x00\x00cpuq\x01ctorch\nHalfStorage\nq\x02\x87q\x03.tail";
        let mut f = Framer::default();
        let mut used = 0;
        for b in tuple.chunks(1) {
            used += f.push(b);
        }
        assert_eq!(used, tuple.len() - 4);
        assert_eq!(f.global.as_deref(), Some(&b"HalfStorage"[..]));
    }
}
