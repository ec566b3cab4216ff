//! The oldest `torch.save` layout: a tar of `sys_info`, `pickle`, `tensors` and `storages`,
//! which `torch.load` still reads (`_legacy_load`) when a file opens as a tar.
//!
//! `sys_info` and `pickle` are pickles and are scanned like any member. `storages` and
//! `tensors` interleave small pickles with raw numbers, read by `legacy_load` like this:
//! - `storages`: a pickle (the count), then per storage a pickle `(key, location,
//!   storage_type)`, an 8-byte little-endian element count and count × element-size raw bytes;
//!   then one more pickle, the list of storage views.
//! - `tensors`: a pickle (the count), then per tensor a pickle `(key, storage_id, tensor_type)`,
//!   a 4-byte ndim and 4 bytes that `legacy_load` skips, ndim × 8 sizes, ndim × 8 strides and
//!   an 8-byte storage offset.
//!
//! A generic scan would stop at the first raw bytes, leaving every later pickle unjudged, so
//! [`Walker`] follows the structure: each pickle gets its own child scan (findings under the
//! member's name, or `name@offset` for the pickles after the first) and the raw bytes are
//! skipped without being read. The values the walk needs (the count, the storage type, ndim)
//! come from a small opcode framer, [`Framer`]; the child scan judges the pickle. Where the
//! bytes stop following the layout, the rest of the member is scanned as ordinary content and
//! a low finding says where. Bytes after the structure are ignored, as `legacy_load` ignores
//! them.

mod framer;

use alloc::format;
use alloc::string::String;

use self::framer::{Frame, Framer};
use crate::findings::Findings;
use crate::limits::Limits;
use crate::reader::Member;
use crate::report::Severity;
use crate::rules::Rule;

/// The members of the layout, in the order `torch.save` wrote them.
const NAMES: [&[u8]; 4] = [b"sys_info", b"pickle", b"tensors", b"storages"];

/// Whether an archive's members so far match the layout.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    seen: u8,
    broken: bool,
}

/// The members that interleave pickles with raw data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// `tensors`.
    Tensors,
    /// `storages`.
    Storages,
}

impl Layout {
    /// Records a member; anything but the four regular files, each once, breaks the layout.
    pub(crate) fn note(&mut self, name: &[u8], regular: bool) {
        match NAMES.iter().position(|&n| n == name) {
            Some(i) if regular && self.seen & (1 << i) == 0 => self.seen |= 1 << i,
            _ => self.broken = true,
        }
    }

    /// Whether the member just noted is to be walked, and as which part.
    pub(crate) fn part(&self, name: &[u8]) -> Option<Part> {
        match name {
            _ if self.broken => None,
            b"tensors" => Some(Part::Tensors),
            b"storages" => Some(Part::Storages),
            _ => None,
        }
    }

    /// Whether the archive is exactly the layout.
    pub(crate) fn complete(&self) -> bool {
        !self.broken && self.seen == 0b1111
    }
}

/// What a pickle in the walk stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Count,
    Storage,
    Tensor,
    Views,
}

/// Where the walk stands.
#[derive(Debug)]
enum Step {
    /// A pickle starting at `start`.
    Pickle {
        role: Role,
        start: u64,
        child: Option<Member>,
        framer: Framer,
    },
    /// The 8 bytes after an item's pickle: a storage's element count, or a tensor's ndim.
    Numbers {
        role: Role,
        buf: [u8; 8],
        have: usize,
        element: u64,
    },
    /// Raw bytes up to `end`.
    Skip { end: u64 },
    /// The rest of the member, scanned as ordinary content from `base`.
    Generic { base: u64, child: Member },
    /// The structure is complete.
    End,
}

/// A walk over `tensors` or `storages`, fed at member-relative offsets.
#[derive(Debug)]
pub(crate) struct Walker {
    part: Part,
    name: String,
    size: u64,
    depth: u32,
    limits: Limits,
    budget: u64,
    inflated: u64,
    /// The next member offset to consume.
    pos: u64,
    step: Step,
    /// Items still to come after the current one.
    left: u64,
}

impl Walker {
    /// Starts a walk over a member of `size` bytes named `name`, at container `depth`.
    pub(crate) fn new(
        part: Part,
        name: String,
        size: u64,
        depth: u32,
        limits: Limits,
        budget: u64,
        findings: &mut Findings,
    ) -> Walker {
        let mut walker = Walker {
            part,
            name,
            size,
            depth,
            limits,
            budget,
            inflated: 0,
            pos: 0,
            step: Step::End,
            left: 0,
        };
        walker.start_pickle(Role::Count, findings);
        walker
    }

    /// The next member offset the walk needs, or `None` when it needs nothing more.
    pub(crate) fn wanted(&self) -> Option<u64> {
        match &self.step {
            Step::Pickle {
                start,
                child,
                framer,
                ..
            } => {
                let own = framer.wanted(self.pos);
                let child = child.as_ref().and_then(Member::wanted);
                Some(child.map_or(own, |w| own.min(start.saturating_add(w).max(self.pos))))
            }
            Step::Numbers { .. } => Some(self.pos),
            Step::Skip { end } => Some(*end),
            Step::Generic { base, child } => child.wanted().map(|w| base.saturating_add(w)),
            Step::End => None,
        }
    }

    /// Bytes at member offset `offset`. Bytes before the walk's position are ignored; the
    /// container never feeds past [`wanted`](Walker::wanted).
    pub(crate) fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) {
        let (mut cur, mut data) = (offset, data);
        loop {
            let end = cur.saturating_add(data.len() as u64);
            let Some(wanted) = self.wanted() else {
                return;
            };
            if end <= self.pos || cur > wanted.max(self.pos) {
                return;
            }
            if cur > self.pos {
                self.jump(cur);
            }
            let skip = usize::try_from(self.pos - cur).unwrap_or(usize::MAX);
            data = data.get(skip..).unwrap_or_default();
            cur = self.pos;
            let used = self.step_once(data, findings);
            cur += used as u64;
            data = data.get(used..).unwrap_or_default();
            if data.is_empty() {
                return;
            }
        }
    }

    /// Moves the position forward to `to`, over bytes nobody needs.
    fn jump(&mut self, to: u64) {
        if let Step::Pickle { framer, .. } = &mut self.step {
            framer.skip(to - self.pos);
        }
        self.pos = to;
    }

    /// Consumes bytes at `self.pos` and moves the position past them; returns how many. Every
    /// call uses bytes or changes the step.
    fn step_once(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        let pos = self.pos;
        let used = match &mut self.step {
            Step::Pickle {
                start,
                child,
                framer,
                ..
            } => {
                let used = framer.push(data);
                let start = *start;
                if framer.frame == Frame::Broken {
                    // Not a pickle the framer can follow: the child judges the rest of the
                    // member as whatever it is.
                    let step = core::mem::replace(&mut self.step, Step::End);
                    if let Step::Pickle {
                        child: Some(mut child),
                        ..
                    } = step
                    {
                        child.feed(pos - start, data);
                        self.step = Step::Generic { base: start, child };
                    }
                    self.pos += data.len() as u64;
                    return data.len();
                }
                if let Some(child) = child {
                    child.feed(pos - start, data.get(..used).unwrap_or_default());
                }
                let stopped = framer.frame == Frame::Stopped;
                self.pos += used as u64;
                if stopped {
                    self.after_pickle(findings);
                }
                return used;
            }
            Step::Numbers { buf, have, .. } => {
                let take = data.len().min(8 - *have);
                for (i, &b) in data.iter().take(take).enumerate() {
                    if let Some(slot) = buf.get_mut(*have + i) {
                        *slot = b;
                    }
                }
                *have += take;
                let complete = *have == 8;
                self.pos += take as u64;
                if complete {
                    self.after_numbers(findings);
                }
                return take;
            }
            Step::Skip { end } => {
                let take = usize::try_from(*end - pos)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let reached = pos + take as u64 == *end;
                self.pos += take as u64;
                if reached {
                    self.next_item(findings);
                }
                return take;
            }
            Step::Generic { base, child } => {
                child.feed(pos - *base, data);
                data.len()
            }
            Step::End => data.len(),
        };
        self.pos += used as u64;
        used
    }

    /// Starts a pickle at the current position.
    fn start_pickle(&mut self, role: Role, findings: &mut Findings) {
        let path = self.path_here();
        let child = Member::start(
            path,
            None,
            self.depth,
            self.limits,
            self.budget.saturating_sub(self.inflated),
            findings,
        );
        self.step = Step::Pickle {
            role,
            start: self.pos,
            child,
            framer: Framer::default(),
        };
    }

    /// The member path for a child starting at the current position.
    fn path_here(&self) -> String {
        if self.pos == 0 {
            self.name.clone()
        } else {
            format!("{}@{}", self.name, self.pos)
        }
    }

    /// A pickle reached STOP: judge it, then go on as its role says.
    fn after_pickle(&mut self, findings: &mut Findings) {
        let Step::Pickle {
            role,
            child,
            framer,
            ..
        } = core::mem::replace(&mut self.step, Step::End)
        else {
            return;
        };
        if let Some(child) = child {
            self.inflated = self
                .inflated
                .saturating_add(child.finish(findings).inflated);
        }
        match role {
            Role::Count => match framer.last_int.and_then(|n| u64::try_from(n).ok()) {
                Some(count) => {
                    self.left = count;
                    self.next_item(findings);
                }
                None => self.fallback("the first pickle does not hold a count", findings),
            },
            Role::Storage => match framer.global.as_deref().and_then(element_size) {
                Some(element) => {
                    self.step = Step::Numbers {
                        role,
                        buf: [0; 8],
                        have: 0,
                        element,
                    }
                }
                None => {
                    let name = framer
                        .global
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    let reason = format!("the storage type `{name}` is not one torch defines");
                    self.fallback(&reason, findings);
                }
            },
            Role::Tensor => {
                self.step = Step::Numbers {
                    role,
                    buf: [0; 8],
                    have: 0,
                    element: 0,
                }
            }
            Role::Views => self.step = Step::End,
        }
    }

    /// An item's 8 bytes of numbers are in: skip its raw data.
    fn after_numbers(&mut self, findings: &mut Findings) {
        let Step::Numbers {
            role, buf, element, ..
        } = self.step
        else {
            return;
        };
        let raw = if role == Role::Storage {
            u64::try_from(i64::from_le_bytes(buf))
                .ok()
                .and_then(|n| n.checked_mul(element))
        } else {
            let [a, b, c, d, ..] = buf;
            u64::try_from(i32::from_le_bytes([a, b, c, d]))
                .ok()
                .and_then(|ndim| ndim.checked_mul(16))
                .and_then(|n| n.checked_add(8))
        };
        let what = if role == Role::Storage {
            "storage element count"
        } else {
            "tensor dimension count"
        };
        let Some(raw) = raw else {
            self.fallback(&format!("a {what} is negative or too large"), findings);
            return;
        };
        match self.pos.checked_add(raw) {
            Some(end) if end <= self.size => {
                self.step = Step::Skip { end };
                if raw == 0 {
                    self.next_item(findings);
                }
            }
            _ => {
                findings.rule(
                    Rule::ArchiveMalformed,
                    Some(&self.name),
                    Some(self.pos),
                    format!("a {what} at offset {} declares {raw} bytes of raw data, more than the member holds; torch.load fails here", self.pos),
                    Some(String::from("legacy-layout-overrun")),
                );
                self.step = Step::End;
            }
        }
    }

    /// The current item is done: start the next, the views pickle, or end.
    fn next_item(&mut self, findings: &mut Findings) {
        if self.left > 0 {
            self.left -= 1;
            let role = match self.part {
                Part::Storages => Role::Storage,
                Part::Tensors => Role::Tensor,
            };
            self.start_pickle(role, findings);
        } else if self.part == Part::Storages {
            self.start_pickle(Role::Views, findings);
        } else {
            self.step = Step::End;
        }
    }

    /// The bytes stopped following the layout: scan the rest as ordinary content.
    fn fallback(&mut self, reason: &str, findings: &mut Findings) {
        findings.push(
            Rule::ArchiveMalformed,
            Severity::Low,
            Some(&self.name),
            Some(self.pos),
            format!(
                "{} does not follow the legacy torch layout at offset {}: {reason}; the rest of it was scanned as ordinary content",
                self.name, self.pos
            ),
            Some(String::from("legacy-layout")),
        );
        let path = self.path_here();
        let rest = self.size.saturating_sub(self.pos);
        let budget = self.budget.saturating_sub(self.inflated);
        self.step = match Member::start(path, Some(rest), self.depth, self.limits, budget, findings)
        {
            Some(child) => Step::Generic {
                base: self.pos,
                child,
            },
            None => Step::End,
        };
    }

    /// Ends the walk at the end of the member; returns what its children decompressed.
    pub(crate) fn finish(mut self, findings: &mut Findings) -> u64 {
        // A skip that reaches the member's end is complete even if the driver never read it.
        if let Step::Skip { end } = self.step
            && end <= self.size
        {
            self.pos = end;
            self.next_item(findings);
        }
        let complete = matches!(self.step, Step::End | Step::Generic { .. });
        let empty_pickle = matches!(&self.step, Step::Pickle { start, .. } if *start == self.pos);
        // Where the unfinished item began: the same whichever bytes a driver skipped.
        let item = match &self.step {
            Step::Pickle { start, .. } => *start,
            Step::Numbers { have, .. } => self.pos - *have as u64,
            _ => self.pos,
        };
        match core::mem::replace(&mut self.step, Step::End) {
            Step::Pickle {
                child: Some(child), ..
            }
            | Step::Generic { child, .. } => {
                self.inflated = self
                    .inflated
                    .saturating_add(child.finish(findings).inflated);
            }
            _ => {}
        }
        if !complete {
            let what = if empty_pickle {
                "is missing"
            } else {
                "is cut short"
            };
            findings.rule(
                Rule::ArchiveMalformed,
                Some(&self.name),
                Some(item),
                format!(
                    "{} ends before its legacy torch layout is complete: the item at offset {item} {what}; torch.load fails there",
                    self.name
                ),
                Some(String::from("legacy-layout-truncated")),
            );
        }
        self.inflated
    }
}

/// The element size of a storage class, by name, as `torch._utils._element_size` gives it.
fn element_size(name: &[u8]) -> Option<u64> {
    Some(match name {
        b"ComplexDoubleStorage" => 16,
        b"DoubleStorage" | b"LongStorage" | b"ComplexFloatStorage" => 8,
        b"FloatStorage" | b"IntStorage" | b"QInt32Storage" => 4,
        b"HalfStorage" | b"ShortStorage" | b"BFloat16Storage" => 2,
        b"CharStorage" | b"ByteStorage" | b"BoolStorage" | b"QInt8Storage" | b"QUInt8Storage"
        | b"QUInt4x2Storage" | b"QUInt2x4Storage" | b"UntypedStorage" => 1,
        _ => return None,
    })
}
