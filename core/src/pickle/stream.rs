//! Drives the decoder and the machine over bytes that arrive in order, in pieces of any size.
//!
//! Only a partial opcode is ever buffered. Operands longer than the inline limit stream past:
//! their first bytes are sniffed, and if they look like a pickle a child scanner reads them as
//! they go by (a later `pickle.loads` may receive them); otherwise they are skipped, which lets
//! a seeking driver jump over tensor data it never reads. joblib's arrays ([`super::joblib`]) and
//! legacy torch storages ([`super::torch_legacy`]) are read past the same way.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::decode::{DecodeError, Op, decode, is_bare, reads_lines};
use super::long::{LongOperand, Role};
use super::machine::{Break, Ctx, Machine, Step};
use super::payloads::Payloads;
use crate::findings::Findings;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::report::Severity;
use crate::rules::Rule;

/// What the stream is reading.
#[derive(Debug)]
pub(super) enum State {
    Ops,
    Long(LongOperand),
    /// The padding-length byte at `at` before `len` bytes of a joblib array whose wrapper's
    /// BUILD is at `wrapper`.
    Padding {
        at: u64,
        len: u64,
        wrapper: u64,
    },
    Done,
}

/// How a pickle stream ended, for the scanner's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// At least one pickle was recognised.
    Pickle,
    /// The bytes never did anything only a pickle does before failing.
    NotAPickle,
}

/// A stream of one or more concatenated pickles.
#[derive(Debug)]
pub(crate) struct PickleStream {
    pub(super) machine: Machine,
    pub(super) payloads: Payloads,
    pub(super) member: Option<String>,
    pub(super) limits: Limits,
    pub(super) policy: Policy,
    pub(super) depth: u32,
    pub(super) state: State,
    /// Absolute offset of the first byte of `pending` (or of the next opcode).
    pub(super) pos: u64,
    pending: Vec<u8>,
    /// For a pending text opcode: the length at which `pending` holds more than the inline
    /// limit of its unfinished line, so decoding must be retried even without a newline.
    line_limit_at: usize,
    pub(super) pickles: u32,
    /// Offset where the current pickle started.
    pub(super) pickle_start: u64,
    /// End of the last FRAME, which CPython reads in full before going on.
    pub(super) frame_end: u64,
    pub(super) outcome: Option<Outcome>,
    /// A long operand was (or is being) skipped unread, so not every byte was judged.
    pub(super) skipped_operand: bool,
    /// The pickle suspended while the nested pickle of a joblib object array runs.
    pub(super) suspended: Option<Box<super::joblib::Suspended>>,
    /// A machine retired before the end (a nested pickle's) stopped retaining values.
    pub(super) degraded: bool,
    /// joblib arrays read past.
    pub(super) arrays: u32,
    /// The file as a plain `pickle.load` reads it, from the first joblib array on.
    pub(super) plain_view: Option<Box<super::joblib::PlainView>>,
    /// What has been seen of a legacy `torch.save` file.
    pub(super) legacy: super::torch_legacy::Legacy,
}

impl PickleStream {
    pub(crate) fn new(
        policy: &Policy,
        limits: Limits,
        depth: u32,
        member: Option<String>,
    ) -> PickleStream {
        PickleStream {
            machine: Machine::new(&limits),
            payloads: Payloads::new(policy.clone(), limits, depth, member.clone()),
            member,
            limits,
            policy: policy.clone(),
            depth,
            state: State::Ops,
            pos: 0,
            pending: Vec::new(),
            line_limit_at: 0,
            pickles: 0,
            pickle_start: 0,
            frame_end: 0,
            outcome: None,
            skipped_operand: false,
            suspended: None,
            degraded: false,
            arrays: 0,
            plain_view: None,
            legacy: super::torch_legacy::Legacy::new(),
        }
    }

    /// A stream read the way `pickle.loads` reads bytes, not the way `joblib.load` or
    /// `torch.load` read a file: for pickles nested in constants.
    pub(crate) fn plain(mut self) -> PickleStream {
        self.machine.joblib.enabled = false;
        self.legacy.enabled = false;
        self
    }

    /// The next absolute offset the stream consumes; while skipping, this is behind what
    /// `wanted` tells a seeking driver, and streamed bytes in between are counted off.
    pub(super) fn cursor(&self) -> Option<u64> {
        match &self.state {
            State::Ops => Some(self.pos + self.pending.len() as u64),
            State::Long(op) => Some(op.start + op.seen),
            State::Padding { at, .. } => Some(*at),
            State::Done => None,
        }
    }

    /// The next absolute offset the stream needs, or `None` when it needs nothing more.
    pub(crate) fn wanted(&self) -> Option<u64> {
        let own = match &self.state {
            State::Long(op) if op.skippable() => Some(op.end()),
            _ => self.cursor(),
        };
        match (own, self.plain_view_wanted()) {
            (Some(own), Some(plain)) => Some(own.min(plain)),
            (own, plain) => own.or(plain),
        }
    }

    /// Feeds bytes that start at absolute `offset`. Bytes before [`wanted`](Self::wanted) are
    /// ignored; bytes after it are accepted only where the stream is skipping.
    pub(crate) fn feed(
        &mut self,
        offset: u64,
        data: &[u8],
        findings: &mut Findings,
    ) -> Result<(), Gap> {
        let fed = self.feed_own(offset, data, findings);
        self.feed_plain_view(offset, data);
        fed
    }

    /// [`feed`](Self::feed) for this stream's own reading.
    fn feed_own(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        let Some(expected) = self.cursor() else {
            return Ok(());
        };
        let end = offset.saturating_add(data.len() as u64);
        if end <= expected && !data.is_empty() {
            return Ok(());
        }
        let mut data = data;
        if offset > expected {
            match &mut self.state {
                State::Long(op) if op.skippable() && offset <= op.end() => {
                    op.seen = offset - op.start;
                }
                _ => return Err(Gap { expected }),
            }
        } else {
            data = data.get((expected - offset) as usize..).unwrap_or_default();
        }
        self.dispatch(data, findings);
        Ok(())
    }

    /// Hands `data`, which starts at the next byte to consume, to whichever state is current.
    fn dispatch(&mut self, mut data: &[u8], findings: &mut Findings) {
        while !data.is_empty() {
            data = match self.state {
                State::Ops => self.feed_ops(data, findings),
                State::Long(_) => self.feed_long(data, findings),
                State::Padding { .. } => self.feed_padding(data, findings),
                State::Done => return,
            };
        }
    }

    /// Runs opcodes from `data`; returns what is left for another state.
    fn feed_ops<'d>(&mut self, mut data: &'d [u8], findings: &mut Findings) -> &'d [u8] {
        // Finish an opcode split across feeds first. Decoding is retried as soon as the bytes
        // could decide it, never later: where the stream stops must depend on the content, not
        // on how the bytes arrived (a container checks what its member still wants at fixed
        // offsets). A text opcode can only change its answer when a line ends or outgrows the
        // inline limit, so a long protocol-0 line arriving byte by byte costs linear time; a
        // binary opcode's incomplete decode costs O(1), so it is retried on every few bytes.
        while let Some(&opcode) = self.pending.first() {
            let text = reads_lines(opcode);
            let take = if text {
                let room = self.line_limit_at.saturating_sub(self.pending.len());
                let window = data.get(..data.len().min(room)).unwrap_or(data);
                window
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(window.len(), |at| at + 1)
            } else {
                data.len().min(self.pending.len().max(16))
            };
            let (taken, rest) = data.split_at(take.min(data.len()));
            self.pending.extend_from_slice(taken);
            data = rest;
            let decidable =
                !text || taken.last() == Some(&b'\n') || self.pending.len() >= self.line_limit_at;
            if !decidable {
                return data;
            }
            let pending = core::mem::take(&mut self.pending);
            match self.step(&pending, findings) {
                Ok(used) => {
                    // Bytes gathered past the opcode belong to whatever comes next.
                    self.dispatch(pending.get(used..).unwrap_or_default(), findings);
                }
                Err(DecodeError::Incomplete) => {
                    self.pending = pending;
                    self.line_limit_at = self.next_line_limit();
                    if data.is_empty() {
                        return data;
                    }
                }
                Err(_) => return &[],
            }
            if !matches!(self.state, State::Ops) {
                return data;
            }
        }
        loop {
            if data.is_empty() {
                return data;
            }
            if let Some(used) = self.fast_step(data) {
                self.pos += used as u64;
                data = data.get(used..).unwrap_or_default();
                continue;
            }
            match self.step(data, findings) {
                Ok(used) => {
                    data = data.get(used..).unwrap_or_default();
                    if !matches!(self.state, State::Ops) {
                        return data;
                    }
                }
                Err(DecodeError::Incomplete) => {
                    self.pending.extend_from_slice(data);
                    self.line_limit_at = self.next_line_limit();
                    return &[];
                }
                Err(_) => return &[],
            }
        }
    }

    /// For a pending text opcode that did not decode: the `pending` length at which its
    /// unfinished line (after the opcode, or after the line that already ended) exceeds the
    /// inline limit, the point where decoding answers `LineTooLong` without a newline. Binary
    /// opcodes need no such point (0), and are not scanned, so their retries stay O(1).
    fn next_line_limit(&self) -> usize {
        if self.pending.first().is_none_or(|&op| !reads_lines(op)) {
            return 0;
        }
        let line_start = self
            .pending
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(1, |at| at + 1);
        line_start
            .saturating_add(self.limits.max_inline_operand)
            .saturating_add(1)
    }

    /// The opcodes that dominate data-heavy pickles (MEMOIZE and fixed-size numbers), executed
    /// without building an `Op` or a `Ctx`. Returns the bytes used, or `None` to take the
    /// general path, which also reports any failure; nothing changes when `None` is returned.
    #[inline(always)]
    fn fast_step(&mut self, data: &[u8]) -> Option<usize> {
        use super::opcodes::{
            BINFLOAT, BININT, BININT1, BININT2, MEMOIZE, SHORT_BINUNICODE, TUPLE1, TUPLE3,
        };
        use super::value::Value;
        let (value, used) = match *data.first()? {
            MEMOIZE => return self.machine.memoize().ok().map(|()| 1),
            op @ TUPLE1..=TUPLE3 => {
                return self
                    .machine
                    .small_tuple(usize::from(op - TUPLE1) + 1)
                    .ok()
                    .map(|()| 1);
            }
            SHORT_BINUNICODE => {
                let len = usize::from(*data.get(1)?);
                let content = data.get(2..2 + len)?;
                if !content.is_ascii() || super::payloads::may_hold_pickle(content) {
                    return None;
                }
                return self.machine.push_plain_str(content).ok().map(|()| 2 + len);
            }
            BININT1 => (Value::Int(i64::from(*data.get(1)?)), 2),
            BININT2 => (
                Value::Int(i64::from(u16::from_le_bytes([
                    *data.get(1)?,
                    *data.get(2)?,
                ]))),
                3,
            ),
            BININT => {
                let bytes: [u8; 4] = data.get(1..5)?.try_into().ok()?;
                (Value::Int(i64::from(i32::from_le_bytes(bytes))), 5)
            }
            BINFLOAT if data.len() >= 9 => (Value::Float, 9),
            _ => return None,
        };
        self.machine.push_value(value).ok().map(|()| used)
    }

    /// Decodes and executes one opcode at `self.pos` from `input`. On success `pos` has moved
    /// past it and the bytes used are returned. Other errors have already been reported.
    fn step(&mut self, input: &[u8], findings: &mut Findings) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let Some(&opcode) = input.first() else {
            return Err(DecodeError::Incomplete);
        };
        if is_bare(opcode) {
            self.pos = offset + 1;
            let mut ctx = Ctx {
                findings,
                member: self.member.as_deref(),
                payloads: &mut self.payloads,
            };
            let result = self.machine.bare(opcode, offset, &mut ctx);
            let rest = input.get(1..).unwrap_or_default();
            return self.after(result, offset, 1, rest, findings);
        }
        if offset == self.pickle_start && opcode == super::opcodes::PROTO {
            // PROTO is never the first byte of text: even a broken or truncated stream that
            // starts with it is a pickle, and its break is reported as such.
            self.machine.committed = true;
        }
        let (op, used) = match decode(input, self.limits.max_inline_operand) {
            Ok(decoded) => decoded,
            Err(DecodeError::Incomplete) => return Err(DecodeError::Incomplete),
            Err(DecodeError::LineTooLong) => {
                let reason = String::from("a protocol-0 line is longer than max_inline_operand");
                self.broken(
                    offset,
                    Break {
                        reason,
                        limit: true,
                    },
                    findings,
                );
                return Err(DecodeError::LineTooLong);
            }
            Err(DecodeError::Malformed(reason)) => {
                let reason = if reason == "unknown opcode" {
                    format!("unknown opcode 0x{opcode:02x}")
                } else {
                    String::from(reason)
                };
                self.broken(offset, Break::malformed(reason), findings);
                return Err(DecodeError::Malformed("reported"));
            }
        };
        self.pos = offset + used as u64;
        match op {
            Op::Frame(len) => {
                self.frame_end = self.pos.saturating_add(len);
                Ok(used)
            }
            Op::Large { kind, len } => {
                let start = self.pos;
                if start.checked_add(len).is_none() {
                    self.broken(
                        offset,
                        Break::malformed("operand length runs past any possible file size"),
                        findings,
                    );
                    return Err(DecodeError::Malformed("reported"));
                }
                self.state = State::Long(LongOperand {
                    kind,
                    role: Role::Operand,
                    op_offset: offset,
                    start,
                    len,
                    seen: 0,
                    prefix: Vec::new(),
                    child: None,
                    decided: false,
                });
                Ok(used)
            }
            op => {
                let mut ctx = Ctx {
                    findings,
                    member: self.member.as_deref(),
                    payloads: &mut self.payloads,
                };
                let result = self.machine.execute(op, offset, &mut ctx);
                self.after(result, offset, used, &[], findings)
            }
        }
    }

    /// Applies the outcome of one executed opcode of `used` bytes at `offset`; `rest` is what
    /// follows it in the bytes at hand (for a BUILD that joblib reads an array after).
    #[inline(always)]
    fn after(
        &mut self,
        result: Result<Step, Break>,
        offset: u64,
        used: usize,
        rest: &[u8],
        findings: &mut Findings,
    ) -> Result<usize, DecodeError> {
        match result {
            Ok(Step::Continue) => Ok(used),
            other => self.after_rare(other, offset, used, rest, findings),
        }
    }

    /// [`after`](Self::after) for what most opcodes do not do: end a pickle, BUILD an object
    /// joblib may read an array for, break. Out of line, so the opcode loop stays small.
    #[inline(never)]
    fn after_rare(
        &mut self,
        result: Result<Step, Break>,
        offset: u64,
        used: usize,
        rest: &[u8],
        findings: &mut Findings,
    ) -> Result<usize, DecodeError> {
        match result {
            Ok(Step::Continue) => Ok(used),
            Ok(Step::Built) => {
                self.after_build(offset, rest, findings);
                Ok(used)
            }
            // The end of a joblib array's nested pickle: the outer one resumes.
            Ok(Step::Stop) if self.suspended.is_some() => {
                self.end_nested(findings);
                Ok(used)
            }
            Ok(Step::Stop) => {
                self.pickles += 1;
                self.outcome = Some(Outcome::Pickle);
                self.machine.reset_for_next();
                self.pickle_start = self.pos;
                self.after_stop();
                Ok(used)
            }
            Err(b) => {
                self.broken(offset, b, findings);
                Err(DecodeError::Malformed("reported"))
            }
        }
    }

    /// Records a break at `offset` and stops reading.
    #[cold]
    #[inline(never)]
    pub(super) fn broken(&mut self, offset: u64, b: Break, findings: &mut Findings) {
        self.state = State::Done;
        self.pending.clear();
        if !self.machine.committed {
            self.not_a_pickle(findings);
            return;
        }
        self.outcome = Some(Outcome::Pickle);
        let rule = if b.limit {
            Rule::ScanLimitReached
        } else {
            Rule::PickleMalformed
        };
        findings.rule(
            rule,
            self.member.as_deref(),
            Some(offset),
            format!("the pickle stream breaks at offset {offset}: {}; a loader stops here, after running everything before it", b.reason),
            Some(b.reason),
        );
    }

    /// The bytes from `self.pickle_start` did nothing a pickle does before failing.
    fn not_a_pickle(&mut self, findings: &mut Findings) {
        self.state = State::Done;
        if self.pickles == 0 {
            self.outcome = Some(Outcome::NotAPickle);
            return;
        }
        findings.rule(
            Rule::PickleTrailingBytes,
            self.member.as_deref(),
            Some(self.pickle_start),
            format!(
                "bytes from offset {} on follow the last pickle and are not a pickle",
                self.pickle_start
            ),
            None,
        );
    }

    /// Decodes what is pending now that no more bytes come: decoding may have been deferred
    /// until the buffer grew, and how far it got must not depend on how the bytes arrived.
    pub(crate) fn settle(&mut self, findings: &mut Findings) {
        if matches!(self.state, State::Ops) && !self.pending.is_empty() {
            let pending = core::mem::take(&mut self.pending);
            self.dispatch(&pending, findings);
        }
    }

    /// Ends the stream at absolute offset `eof`; reports truncation and unfinished pickles.
    pub(crate) fn finish(mut self, eof: u64, findings: &mut Findings) -> Outcome {
        self.settle(findings);
        // A seeking driver stops once `want` points past the end: a long operand it was told
        // to skip is complete if the file holds all of it.
        if let State::Long(op) = &self.state
            && op.skippable()
            && op.end() <= eof
        {
            self.end_long(findings);
        }
        match &self.state {
            State::Done => {}
            State::Long(op) => {
                let (offset, end) = (op.op_offset, op.end());
                let reason = match op.role {
                    Role::Operand => format!(
                        "a {}-byte operand runs past the end of the data (ends at {end}, data ends at {eof})",
                        op.len
                    ),
                    Role::Array => format!(
                        "joblib reads array data up to offset {end} but the data ends at {eof}"
                    ),
                    Role::FrameTail => format!(
                        "a joblib array's nested pickle has a FRAME up to offset {end} but the data ends at {eof}"
                    ),
                };
                self.broken(offset, Break::malformed(reason), findings);
            }
            State::Padding { at, wrapper, .. } => {
                let (at, wrapper) = (*at, *wrapper);
                let reason = format!(
                    "the data ends at offset {at}, where joblib reads the array this wrapper describes"
                );
                self.broken(wrapper, Break::malformed(reason), findings);
            }
            State::Ops => {
                // A nested pickle joblib reads must be there, even empty.
                let at_boundary = self.pending.is_empty()
                    && self.pos == self.pickle_start
                    && self.suspended.is_none();
                if !at_boundary {
                    let offset = self.pos;
                    let reason = if self.pending.is_empty() {
                        String::from("the data ends before STOP")
                    } else {
                        format!(
                            "the data ends inside an opcode ({} bytes of it present)",
                            self.pending.len()
                        )
                    };
                    self.broken(offset, Break::malformed(reason), findings);
                }
            }
        }
        if self.frame_end > eof && self.outcome == Some(Outcome::Pickle) {
            findings.rule(
                Rule::PickleMalformed,
                self.member.as_deref(),
                None,
                format!("a FRAME declares bytes up to offset {} but the data ends at {eof}; CPython's unpickler fails when it reads the frame", self.frame_end),
                Some(String::from("FRAME")),
            );
        }
        // The data ended inside a joblib array's nested pickle: the outer pickle is judged too.
        self.resume_suspended(findings);
        let retained_all =
            !(self.degraded || self.machine.heap_exhausted() || self.machine.memo_overflowed());
        if !retained_all {
            findings.push(
                Rule::ScanLimitReached,
                Severity::Info,
                self.member.as_deref(),
                None,
                String::from("the analysis stopped retaining values (memo or value budget reached); every import was still judged"),
                None,
            );
        }
        self.finish_plain_view(eof, findings);
        let outcome = self.outcome.unwrap_or(Outcome::NotAPickle);
        if outcome == Outcome::Pickle {
            self.machine.settle_lookups(findings);
            if retained_all {
                self.machine.settle_uses(findings);
            }
            self.payloads.finish(findings);
        }
        outcome
    }
}

impl Reader for PickleStream {
    fn wanted(&self) -> Option<u64> {
        PickleStream::wanted(self)
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        PickleStream::feed(self, offset, data, findings)
    }

    fn skipped(&self) -> bool {
        self.skipped_operand
    }

    fn settle(&mut self, findings: &mut Findings) {
        PickleStream::settle(self, findings);
    }

    fn recognized(&self) -> bool {
        self.pickles > 0 || self.machine.committed
    }

    fn unrecognized(&self) -> bool {
        self.pickles == 0 && self.outcome != Some(Outcome::Pickle)
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let (storages, arrays) = (self.legacy.storages, self.arrays);
        let format = match PickleStream::finish(*self, eof, findings) {
            Outcome::Pickle if storages => Format::PytorchLegacy,
            Outcome::Pickle if arrays > 0 => Format::Joblib,
            Outcome::Pickle => Format::Pickle,
            Outcome::NotAPickle => Format::Unknown,
        };
        Finished::plain(format)
    }
}
