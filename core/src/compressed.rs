//! gzip and zlib streams, inflated as they arrive and scanned by one child scan.
//!
//! Compressed bytes are consumed strictly in order (a deflate stream cannot be entered in the
//! middle), so [`Reader::wanted`] is always the next unconsumed offset and a feed past it is a
//! [`Gap`]. The inflated bytes of every gzip member (or zlib stream) go, concatenated, to one
//! child [`Member`]: Python's `gzip` returns concatenated members as one stream, joblib's zlib
//! reader does the same with concatenated zlib streams, and a pickle may span them.
//!
//! The child's member path is the first gzip member's FNAME when it is a plain file name (1 to
//! 255 printable ASCII bytes, no `/` or `\`, not `.` or `..`), else `<gzip>`; a zlib stream is
//! always `<zlib>`. The name is only a label: nothing is extracted under it, and a path-like
//! FNAME is not shown so that it cannot pose as an archive member.
//!
//! Stopping early: when the child needs nothing more (an npy whose header said numbers only),
//! inflation stops and the reader wants nothing more, so a seeking driver stops reading. The
//! child is asked only at fixed points of the inflated stream (every [`GRID`] bytes, and where
//! the budget runs out), never at the end of whatever piece the inflater happened to produce,
//! so where inflation stops, and every finding, are the same however the compressed bytes
//! arrive.
//!
//! Budget: inflation is capped at what the input may still decompress. The child scan gets
//! half of it for what it decompresses itself (a tar.gz of zips), because it runs while this
//! stream is still being inflated ([`inflated_child_budget`]); the parent is charged the sum,
//! so however deep inflated content nests, the file costs less than twice the budget.

mod header;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;

use self::header::{Header, HeaderError};
use crate::findings::Findings;
use crate::inflate::{Inflater, Inflation};
use crate::limits::Limits;
use crate::reader::{Finished, Gap, Member, Reader, inflated_child_budget};
use crate::report::{Format, Severity};
use crate::rules::Rule;
use crate::scanner::Input;

/// Inflated bytes between two points where the child is asked whether it wants more.
const GRID: u64 = 4096;

/// Compressed bytes handed to the inflater at once, so that a stream whose child is done stops
/// after little wasted work even when the whole file arrives in one feed.
const IN_SLICE: usize = 4096;

/// Where the stream stands.
#[derive(Debug)]
enum Stage {
    /// A gzip member header.
    Header(Header),
    /// The deflate (or zlib) data.
    Body(Inflater),
    /// The 8-byte gzip trailer: CRC-32 and size of the member's inflated data.
    Trailer {
        /// Where the trailer starts.
        at: u64,
        buf: [u8; 8],
        have: usize,
        crc: u32,
        size: u64,
    },
    /// After a member or stream: the input may end, or another member may start (after zero
    /// padding, for gzip).
    Between,
    /// Nothing more is read: the child is done, the budget ran out, or the stream is broken.
    Stopped,
}

/// Why delivery to the child stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Halt {
    /// The child needs nothing more.
    ChildDone,
    /// The inflated data goes on past the budget while the child still wants it.
    Bomb,
}

/// A gzip or zlib stream.
#[derive(Debug)]
pub(crate) struct Inflated {
    format: Format,
    depth: u32,
    limits: Limits,
    /// What this stream and its child may inflate.
    budget: u64,
    /// The next compressed offset to consume.
    pos: u64,
    /// Where the current member (or zlib stream) started, for findings.
    member_start: u64,
    stage: Stage,
    child: Option<Member>,
    /// Whether the child was started (or refused by the depth limit).
    started: bool,
    /// Inflated bytes handed to the child: the offset of the next one.
    delivered: u64,
    halt: Option<Halt>,
}

impl Inflated {
    /// A gzip file: one or more members, each a header, deflate data and a trailer.
    pub(crate) fn gzip(input: Input) -> Inflated {
        Inflated::new(Format::Gzip, input, Stage::Header(Header::new()))
    }

    /// A zlib stream (or several concatenated, as joblib reads them).
    pub(crate) fn zlib(input: Input) -> Inflated {
        let stage = Stage::Body(Inflater::zlib(cap(input.limits.max_inflated_bytes)));
        Inflated::new(Format::Zlib, input, stage)
    }

    /// joblib's pre-0.10 compressed pickle (`numpy_pickle_compat.read_zfile`): `ZF`, the
    /// inflated length in hex padded to 19 characters, then a zlib stream at `start`.
    pub(crate) fn joblib_zfile(input: Input, start: u64) -> Inflated {
        let stage = Stage::Body(Inflater::zlib(cap(input.limits.max_inflated_bytes)));
        let mut stream = Inflated::new(Format::Joblib, input, stage);
        stream.pos = start;
        stream.member_start = start;
        stream
    }

    /// A stream of `format` whose first stage is `stage`.
    fn new(format: Format, input: Input, stage: Stage) -> Inflated {
        Inflated {
            format,
            depth: input.depth,
            limits: input.limits,
            budget: input.limits.max_inflated_bytes,
            pos: 0,
            member_start: 0,
            stage,
            child: None,
            started: false,
            delivered: 0,
            halt: None,
        }
    }

    /// The format's name for messages and evidence.
    fn name(&self) -> &'static str {
        if self.format == Format::Gzip {
            "gzip"
        } else {
            "zlib"
        }
    }

    /// Starts the child scan under `path`; stops the stream when the depth limit refuses it.
    fn start_child(&mut self, path: String, findings: &mut Findings) {
        if self.started {
            return;
        }
        self.started = true;
        let budget = inflated_child_budget(self.budget);
        self.child = Member::start(path, None, self.depth, self.limits, budget, findings);
        if self.child.is_none() {
            self.stage = Stage::Stopped;
        }
    }

    /// Consumes bytes that start at `self.pos`; returns how many were used. Every call either
    /// uses bytes or changes the stage, so the caller's loop ends.
    fn step(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        match &mut self.stage {
            Stage::Header(header) => match header.push(data) {
                Ok(used) => {
                    if header.is_done() {
                        let path = header.member_path();
                        if header.crc_mismatch {
                            self.header_crc_mismatch(findings);
                        }
                        self.start_child(path, findings);
                        if !matches!(self.stage, Stage::Stopped) {
                            let room = self.budget.saturating_sub(self.delivered);
                            self.stage = Stage::Body(Inflater::raw(cap(room)));
                        }
                    }
                    used
                }
                Err(error) => {
                    self.bad_header(error, findings);
                    0
                }
            },
            Stage::Body(_) => self.inflate(data, findings),
            Stage::Trailer {
                at,
                buf,
                have,
                crc,
                size,
            } => {
                let take = data.len().min(8 - *have);
                for (i, &b) in data.iter().take(take).enumerate() {
                    if let Some(slot) = buf.get_mut(*have + i) {
                        *slot = b;
                    }
                }
                *have += take;
                if *have == 8 {
                    let (at, crc, size, buf) = (*at, *crc, *size, *buf);
                    self.check_trailer(at, &buf, crc, size, findings);
                    self.stage = Stage::Between;
                }
                take
            }
            Stage::Between => {
                if self.format == Format::Zlib {
                    self.member_start = self.pos;
                    let room = self.budget.saturating_sub(self.delivered);
                    self.stage = Stage::Body(Inflater::zlib(cap(room)));
                    return 0;
                }
                // Python's gzip skips zero padding after a member; anything else must be
                // another member.
                let zeros = data.iter().take_while(|&&b| b == 0).count();
                if zeros == 0 {
                    self.member_start = self.pos;
                    self.stage = Stage::Header(Header::new());
                }
                zeros
            }
            Stage::Stopped => data.len(),
        }
    }

    /// Inflates from `data` (at most [`IN_SLICE`] bytes of it) into the child.
    fn inflate(&mut self, data: &[u8], findings: &mut Findings) -> usize {
        let Inflated {
            stage,
            child,
            delivered,
            halt,
            budget,
            ..
        } = self;
        let (Stage::Body(inflater), Some(child)) = (stage, child.as_mut()) else {
            self.stage = Stage::Stopped;
            return 0;
        };
        let slice = data.get(..data.len().min(IN_SLICE)).unwrap_or_default();
        let budget = *budget;
        let used = inflater.feed(slice, &mut |_, bytes| {
            deliver(child, delivered, budget, halt, bytes);
            halt.is_none()
        });
        let status = inflater.status();
        let (crc, size) = (inflater.crc32(), inflater.produced());
        if let Some(halt) = self.halt {
            if halt == Halt::Bomb {
                self.bomb(findings);
            }
            self.stage = Stage::Stopped;
            return used;
        }
        match status {
            Inflation::NeedsInput if used == 0 => {
                // The inflater took nothing from a non-empty slice: it cannot go on.
                self.corrupt(findings);
            }
            Inflation::NeedsInput => {}
            Inflation::Ended if self.format == Format::Gzip => {
                self.stage = Stage::Trailer {
                    at: self.pos + used as u64,
                    buf: [0; 8],
                    have: 0,
                    crc,
                    size,
                };
            }
            Inflation::Ended => self.stage = Stage::Between,
            Inflation::Corrupt => self.corrupt(findings),
            // The inflater's cap is one byte over the budget, so reaching it has already
            // halted delivery; this arm is only a guard.
            Inflation::Capped => {
                self.bomb(findings);
                self.stage = Stage::Stopped;
            }
        }
        used
    }

    /// Compares the gzip trailer at `at` with what the member inflated to.
    fn check_trailer(
        &mut self,
        at: u64,
        trailer: &[u8; 8],
        crc: u32,
        size: u64,
        findings: &mut Findings,
    ) {
        let [c0, c1, c2, c3, s0, s1, s2, s3] = *trailer;
        let stored_crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let stored_size = u32::from_le_bytes([s0, s1, s2, s3]);
        let at = Some(at);
        if stored_crc != crc {
            findings.rule(
                Rule::ArchiveMalformed,
                None,
                at,
                format!("the gzip member starting at offset {} inflates to data whose CRC-32 is {crc:08x}, but its trailer says {stored_crc:08x}; Python's gzip raises when it reaches the trailer", self.member_start),
                Some(String::from("gzip-crc32")),
            );
        }
        // ISIZE is the size modulo 2^32.
        if u64::from(stored_size) != size & 0xffff_ffff {
            findings.rule(
                Rule::ArchiveMalformed,
                None,
                at,
                format!("the gzip member starting at offset {} inflates to {size} bytes, but its trailer says {stored_size} (mod 2^32); Python's gzip raises when it reaches the trailer", self.member_start),
                Some(String::from("gzip-isize")),
            );
        }
    }

    /// Reports a rejected member header and stops.
    fn bad_header(&mut self, error: HeaderError, findings: &mut Findings) {
        let (message, evidence) = match error {
            HeaderError::NotGzip if self.started => (
                format!(
                    "bytes from offset {} follow the last gzip member and are neither zero padding nor another member; Python's gzip raises BadGzipFile on them",
                    self.member_start
                ),
                "gzip-trailing-garbage",
            ),
            HeaderError::NotGzip => (String::from("the gzip header is broken"), "gzip-header"),
            HeaderError::Method(method) => (
                format!(
                    "the gzip member at offset {} uses compression method {method}; only 8 (deflate) exists, and Python's gzip refuses the file",
                    self.member_start
                ),
                "gzip-method",
            ),
        };
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(self.member_start),
            message,
            Some(String::from(evidence)),
        );
        self.stage = Stage::Stopped;
    }

    /// Reports a header CRC-16 that does not match (low: Python ignores it).
    fn header_crc_mismatch(&self, findings: &mut Findings) {
        findings.push(
            Rule::ArchiveMalformed,
            Severity::Low,
            None,
            Some(self.member_start),
            format!("the header CRC-16 of the gzip member at offset {} does not match; Python's gzip ignores it, gzip(1) rejects the file", self.member_start),
            Some(String::from("gzip-header-crc")),
        );
    }

    /// Reports corrupt compressed data and stops.
    fn corrupt(&mut self, findings: &mut Findings) {
        let name = self.name();
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(self.member_start),
            format!(
                "the {name} data starting at offset {} is corrupt; everything inflated before the break was scanned",
                self.member_start
            ),
            Some(format!("{name}-corrupt")),
        );
        self.stage = Stage::Stopped;
    }

    /// Reports inflation stopped at the budget.
    fn bomb(&self, findings: &mut Findings) {
        findings.rule(
            Rule::ArchiveDecompressionBomb,
            None,
            Some(self.member_start),
            format!(
                "the {} data inflates to more than the {} bytes this file may still decompress (max_inflated_bytes); inflation stopped there and the rest was not scanned",
                self.name(),
                self.budget
            ),
            Some(String::from("max_inflated_bytes")),
        );
    }
}

/// Hands inflated bytes to the child, asking it at every [`GRID`] point whether it is done,
/// and stopping where the budget runs out.
fn deliver(
    child: &mut Member,
    delivered: &mut u64,
    budget: u64,
    halt: &mut Option<Halt>,
    mut bytes: &[u8],
) {
    while !bytes.is_empty() && halt.is_none() {
        if *delivered >= budget {
            // The child has every byte the budget allows: if it is done, the rest does not
            // matter; otherwise the stream is a bomb as far as this scan is concerned.
            *halt = Some(match child.wanted() {
                None => Halt::ChildDone,
                Some(_) => Halt::Bomb,
            });
            return;
        }
        let to_grid = GRID - *delivered % GRID;
        let room = budget - *delivered;
        let n = usize::try_from(to_grid.min(room))
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let (piece, rest) = bytes.split_at(n);
        child.feed(*delivered, piece);
        *delivered += n as u64;
        bytes = rest;
        if *delivered % GRID == 0 && child.wanted().is_none() {
            *halt = Some(Halt::ChildDone);
        }
    }
}

/// The inflater's cap for `room` bytes of budget: one byte more, so that a stream of exactly
/// `room` bytes ends normally and only one that goes on past it counts as over budget.
fn cap(room: u64) -> u64 {
    room.saturating_add(1)
}

impl Reader for Inflated {
    fn wanted(&self) -> Option<u64> {
        match self.stage {
            Stage::Stopped => None,
            _ => Some(self.pos),
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        if matches!(self.stage, Stage::Stopped) {
            return Ok(());
        }
        let end = offset.saturating_add(data.len() as u64);
        if end <= self.pos {
            return Ok(());
        }
        if offset > self.pos {
            return Err(Gap { expected: self.pos });
        }
        if self.format != Format::Gzip {
            self.start_child(String::from("<zlib>"), findings);
        }
        let skip = usize::try_from(self.pos - offset).unwrap_or(usize::MAX);
        let mut data = data.get(skip..).unwrap_or_default();
        while !data.is_empty() && !matches!(self.stage, Stage::Stopped) {
            let used = self.step(data, findings);
            self.pos += used as u64;
            data = data.get(used..).unwrap_or_default();
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let inside = match &self.stage {
            Stage::Header(_) => Some("inside a gzip member header"),
            Stage::Body(_) => Some("before the end of the compressed stream"),
            Stage::Trailer { .. } => Some("inside a gzip member trailer"),
            Stage::Between | Stage::Stopped => None,
        };
        if let Some(inside) = inside {
            findings.rule(
                Rule::ArchiveMalformed,
                None,
                Some(self.member_start),
                format!(
                    "the {} data is truncated: the input ends at offset {eof}, {inside}; what was inflated before the end was scanned",
                    self.name()
                ),
                Some(format!("{}-truncated", self.name())),
            );
        }
        let nested = self
            .child
            .take()
            .map_or(0, |child| child.finish(findings).inflated);
        Finished {
            format: self.format,
            inflated: self.delivered.saturating_add(nested),
        }
    }
}

#[cfg(test)]
mod tests;
