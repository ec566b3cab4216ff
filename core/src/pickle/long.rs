//! Long operands and other bytes streamed past the machine: string and bytes operands longer
//! than the inline limit, joblib array data, the tail of a nested pickle's frame. Their first
//! bytes are sniffed; when they look like a pickle a child scanner reads them as they go by (a
//! later `pickle.loads` may receive them), otherwise they are skipped, which lets a seeking
//! driver jump over tensor data it never reads.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::decode::LargeKind;
use super::payloads::looks_like_pickle;
use super::stream::{PickleStream, State};
use super::value::Value;
use crate::findings::Findings;
use crate::scanner::Scanner;

/// Bytes of a long operand sniffed before deciding whether to scan or skip it.
const SNIFF_LEN: usize = 16;

/// What a run of bytes streaming past the machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A long string or bytes operand: its value is pushed at its end.
    Operand,
    /// Array data joblib reads from the file: the array is pushed at its end.
    Array,
    /// The rest of a nested pickle's last frame, which the unpickler read and dropped.
    FrameTail,
}

/// A long operand streaming past the machine.
#[derive(Debug)]
pub(super) struct LongOperand {
    pub(super) kind: LargeKind,
    pub(super) role: Role,
    /// Absolute offset of the operand's opcode, for findings.
    pub(super) op_offset: u64,
    /// Absolute offset of its first payload byte.
    pub(super) start: u64,
    pub(super) len: u64,
    /// Payload bytes seen so far.
    pub(super) seen: u64,
    pub(super) prefix: Vec<u8>,
    pub(super) child: Option<Box<Scanner>>,
    pub(super) decided: bool,
}

impl LongOperand {
    pub(super) fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    /// Whether the bytes left are skipped: sniffed, and no child scan reads them.
    pub(super) fn skippable(&self) -> bool {
        self.decided && self.child.is_none()
    }
}

impl PickleStream {
    /// Streams `data` past as the current long operand; returns what is left after it.
    pub(super) fn feed_long<'d>(&mut self, data: &'d [u8], findings: &mut Findings) -> &'d [u8] {
        let State::Long(op) = &mut self.state else {
            return data;
        };
        let remaining = op.len - op.seen;
        let take = data
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let (piece, rest) = data.split_at(take);
        if !op.decided {
            let want =
                SNIFF_LEN.min(usize::try_from(op.len).unwrap_or(SNIFF_LEN)) - op.prefix.len();
            op.prefix
                .extend_from_slice(piece.get(..want.min(piece.len())).unwrap_or_default());
            if op.prefix.len() as u64 == op.len.min(SNIFF_LEN as u64) {
                op.decided = true;
                if looks_like_pickle_start(&op.prefix)
                    && let Some(depth) = self.payloads.child_depth()
                {
                    let mut child = Scanner::nested(&self.policy, self.limits, depth, Some(op.len));
                    // The prefix may have been gathered over earlier feeds: hand the child
                    // what it has not seen yet, then this piece.
                    let earlier = usize::try_from(op.seen).unwrap_or(0).min(op.prefix.len());
                    child.feed(0, op.prefix.get(..earlier).unwrap_or_default());
                    op.child = Some(Box::new(child));
                }
                self.skipped_operand |= op.child.is_none();
            }
        }
        if let Some(child) = op.child.as_mut() {
            child.feed(op.seen, piece);
        }
        op.seen += take as u64;
        if op.seen == op.len {
            self.end_long(findings);
        }
        rest
    }

    /// The streamed-past bytes are complete: their value joins the stack.
    pub(super) fn end_long(&mut self, findings: &mut Findings) {
        let State::Long(op) = core::mem::replace(&mut self.state, State::Ops) else {
            return;
        };
        self.pos = op.end();
        let embedded = op.child.and_then(|child| {
            let report = child.finish();
            (report.format == crate::report::Format::Pickle)
                .then(|| {
                    self.payloads.record(
                        op.op_offset,
                        usize::try_from(op.len).unwrap_or(usize::MAX),
                        report.findings,
                    )
                })
                .flatten()
        });
        if op.role == Role::FrameTail {
            return;
        }
        let id = self.machine.heap.text(&[], op.len, embedded);
        let value = match op.kind {
            LargeKind::Str => Value::Str(id),
            LargeKind::Bytes => Value::Bytes(id),
        };
        if let Err(b) = self.machine.push_value(value) {
            self.broken(op.op_offset, b, findings);
        }
    }
}

/// Whether a long operand's first bytes may start a pickle (its end is not known yet).
fn looks_like_pickle_start(prefix: &[u8]) -> bool {
    match prefix.first() {
        Some(0x80) => prefix
            .get(1)
            .is_some_and(|&v| v <= super::opcodes::HIGHEST_PROTOCOL),
        Some(b'c' | b'(' | b'i') => true,
        _ => looks_like_pickle(prefix),
    }
}
