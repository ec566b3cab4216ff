//! joblib's array format. `joblib.dump` replaces every numpy array by a `NumpyArrayWrapper` and
//! writes the array into the file right after the wrapper's BUILD; `joblib.load`'s
//! `NumpyUnpickler.load_build` reads it straight from the file (joblib 1.6.0, `numpy_pickle.py`,
//! `NumpyArrayWrapper.read_array`) and puts the array where the wrapper was:
//!
//! - when the wrapper has a `numpy_array_alignment_bytes` attribute that is not None (joblib 1.2
//!   and later write 16), one byte giving a padding length, then that many padding bytes;
//! - for a dtype with `hasobject`, a whole nested pickle, loaded by a fresh plain unpickler;
//! - otherwise `prod(shape) * dtype.itemsize` raw bytes.
//!
//! Unpickling then resumes with the next opcode. The machine side of this module recognises the
//! wrapper and works out that read from the symbolic values; the stream side runs it: raw bytes
//! are skipped like a long operand, and a nested pickle is scanned by a child stream whose
//! findings land in the same report, the outer pickle resuming after it. A wrapper whose read
//! cannot be worked out is reported, and the stream goes on reading plain opcodes.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::decode::LargeKind;
use super::long::{LongOperand, Role};
use super::machine::{Break, Machine};
use super::stream::{Outcome, PickleStream, State};
use super::value::Value;
use crate::findings::Findings;
use crate::report::Severity;
use crate::rules::Rule;

mod plain;
mod wrapper;

pub(crate) use plain::PlainView;
pub(crate) use wrapper::{JoblibName, Tracker};

/// An outer pickle waiting for the nested pickle of an object array to end.
#[derive(Debug)]
pub(crate) struct Suspended {
    machine: Machine,
    pickle_start: u64,
}

/// What joblib reads from the file right after a wrapper's BUILD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrayRead {
    /// Raw array bytes, after a padding-length byte and its padding when `padded`.
    Raw { padded: bool, len: u64 },
    /// A nested pickle (an array of Python objects).
    Pickled,
}

/// What joblib's loader does after a BUILD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterBuild {
    /// The object is not an array wrapper.
    Plain,
    /// It reads this array.
    Read(ArrayRead),
    /// It reads an array the scanner cannot delimit.
    Unreadable(Unreadable),
}

/// Why a wrapper's array cannot be delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable {
    /// A few words, the finding's evidence.
    tag: &'static str,
    /// The whole reason, for the message.
    reason: String,
    severity: Severity,
}

fn unreadable(tag: &'static str, reason: impl Into<String>) -> Unreadable {
    Unreadable {
        tag,
        reason: reason.into(),
        severity: Severity::Medium,
    }
}

impl PickleStream {
    /// After a BUILD at `offset`: when joblib's loader reads an array now, starts reading it.
    /// After a BUILD at `offset`, followed by `rest` in the bytes at hand: when joblib's loader
    /// reads an array now, starts reading it.
    pub(super) fn after_build(&mut self, offset: u64, rest: &[u8], findings: &mut Findings) {
        let read = match self.machine.joblib_after_build() {
            AfterBuild::Plain => return,
            AfterBuild::Unreadable(why) => {
                self.unreadable_array(offset, why, findings);
                return;
            }
            AfterBuild::Read(read) => read,
        };
        if self.frame_end > self.pos {
            // The pure-Python unpickler joblib uses reads a frame whole: the array would come
            // from after the frame while the frame's remaining opcodes still run.
            let reason = format!(
                "its BUILD is not the last opcode of its frame, so joblib reads the array from offset {} while {} bytes of the frame remain to run",
                self.frame_end,
                self.frame_end - self.pos
            );
            self.unreadable_array(offset, unreadable("BUILD inside a frame", reason), findings);
            return;
        }
        // Other loaders part from joblib's at the first array: they read on from its BUILD as
        // opcodes. At an array of objects they run the same nested pickle (in the outer one's
        // context) and stop at its STOP, so nothing joblib skips runs for them.
        if self.arrays == 0 && read != ArrayRead::Pickled {
            self.fork_plain_view(rest);
        }
        // The array takes the wrapper's place once read.
        self.machine.stack.pop();
        self.arrays = self.arrays.saturating_add(1);
        self.outcome = Some(Outcome::Pickle);
        match read {
            ArrayRead::Raw { padded: true, len } => {
                self.state = State::Padding {
                    at: self.pos,
                    len,
                    wrapper: offset,
                }
            }
            ArrayRead::Raw { padded: false, len } => {
                self.begin_array(self.pos, len, offset, findings)
            }
            ArrayRead::Pickled => self.begin_nested(),
        }
    }

    fn unreadable_array(&mut self, offset: u64, why: Unreadable, findings: &mut Findings) {
        findings.push(
            Rule::JoblibUnreadableArray,
            why.severity,
            self.member.as_deref(),
            Some(offset),
            format!(
                "joblib's loader reads a NumpyArrayWrapper's array from the file after this BUILD, but {}; the bytes that follow were read as pickle opcodes",
                why.reason
            ),
            Some(String::from(why.tag)),
        );
    }

    /// Starts skipping `len` bytes of array data at `start`, the wrapper's BUILD being at
    /// `wrapper`. Nothing reads them: the plain view reads such bytes as loaders other than
    /// joblib's do.
    fn begin_array(&mut self, start: u64, len: u64, wrapper: u64, findings: &mut Findings) {
        if start.checked_add(len).is_none() {
            self.broken(
                wrapper,
                Break::malformed("joblib array data runs past any possible file size"),
                findings,
            );
            return;
        }
        self.skipped_operand |= len > 0;
        self.state = State::Long(LongOperand {
            kind: LargeKind::Bytes,
            role: Role::Array,
            op_offset: wrapper,
            start,
            len,
            seen: 0,
            prefix: Vec::new(),
            child: None,
            decided: true,
        });
        if len == 0 {
            self.end_long(findings);
        }
    }

    /// The padding-length byte that precedes an aligned array; returns what is left of `data`.
    pub(super) fn feed_padding<'d>(&mut self, data: &'d [u8], findings: &mut Findings) -> &'d [u8] {
        let State::Padding { at, len, wrapper } = self.state else {
            return data;
        };
        let Some((&byte, rest)) = data.split_first() else {
            return data;
        };
        let padding = u64::from(byte);
        let Some(total) = len.checked_add(padding) else {
            self.broken(
                wrapper,
                Break::malformed("joblib array data runs past any possible file size"),
                findings,
            );
            return &[];
        };
        self.begin_array(at + 1, total, wrapper, findings);
        rest
    }

    /// Starts the nested pickle of an array of objects at the current offset: a fresh plain
    /// unpickler's (new stack, memo and values), with the outer pickle suspended until its STOP.
    fn begin_nested(&mut self) {
        let mut machine = Machine::new(&self.limits);
        machine.joblib.enabled = false;
        // Any break makes `joblib.load` raise: it is reported, never taken for "not a pickle".
        machine.committed = true;
        let outer = core::mem::replace(&mut self.machine, machine);
        self.suspended = Some(Box::new(Suspended {
            machine: outer,
            pickle_start: self.pickle_start,
        }));
        self.pickle_start = self.pos;
    }

    /// The nested pickle reached its STOP: the outer pickle resumes where the pure-Python
    /// unpickler leaves the file, after the nested pickle's last frame, with the array in the
    /// wrapper's place.
    pub(super) fn end_nested(&mut self, findings: &mut Findings) {
        if !self.resume_suspended(findings) {
            return;
        }
        let stop = self.pos;
        if let Err(b) = self.machine.push_value(Value::Unknown) {
            self.broken(stop, b, findings);
            return;
        }
        if self.frame_end > stop {
            self.skipped_operand = true;
            self.state = State::Long(LongOperand {
                kind: LargeKind::Bytes,
                role: Role::FrameTail,
                op_offset: stop,
                start: stop,
                len: self.frame_end - stop,
                seen: 0,
                prefix: Vec::new(),
                child: None,
                decided: true,
            });
        }
    }

    /// Retires the nested pickle's machine, judging what it still holds, and puts the
    /// suspended outer one back. False when no pickle was suspended.
    pub(super) fn resume_suspended(&mut self, findings: &mut Findings) -> bool {
        let Some(outer) = self.suspended.take() else {
            return false;
        };
        let nested = core::mem::replace(&mut self.machine, outer.machine);
        nested.settle_lookups(findings);
        self.degraded |= nested.heap_exhausted() || nested.memo_overflowed();
        self.pickle_start = outer.pickle_start;
        true
    }
}
