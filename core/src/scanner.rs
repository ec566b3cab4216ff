//! The sans-IO scanner: fed bytes at offsets, it says which bytes it wants next.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::findings::Findings;
use crate::limits::Limits;
use crate::pickle::{Outcome, PickleStream};
use crate::policy::Policy;
use crate::report::{Format, Report, Verdict};
use crate::rules::Rule;
use crate::sniff::{SNIFF_LEN, Sniffed, sniff};

/// How many bytes a [`Want::Range`] suggests reading at once.
const READ_HINT: u64 = 64 * 1024;

/// What the scanner asks its driver for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Read about `len` bytes at `offset` and [`Scanner::feed`] them (fewer at end of file is
    /// fine; more is fine too).
    Range {
        /// Absolute offset in the file.
        offset: u64,
        /// How many bytes the scanner can use now; a hint, not a contract.
        len: u64,
    },
    /// Nothing more is needed: call [`Scanner::finish`].
    Done,
}

#[derive(Debug)]
enum Stage {
    /// Gathering the first bytes to recognise the format.
    Sniffing(Vec<u8>),
    Pickle(Box<PickleStream>),
    /// Recognised nothing; the report says so.
    Unrecognized(Vec<u8>),
    /// The driver skipped bytes the scanner needed.
    Gap,
}

/// A scan of one file in progress.
///
/// Create one per file with [`Scanner::new`], then either
/// - **seek**: loop on [`want`](Scanner::want), read the range it names and [`feed`](Scanner::feed)
///   it, until it says [`Want::Done`] (or the file ends); or
/// - **stream**: feed every chunk in order with its offset, ignoring `want`;
///
/// and call [`finish`](Scanner::finish) for the [`Report`]. Both ways give the same findings;
/// only `bytes_read` differs.
#[derive(Debug)]
pub struct Scanner {
    limits: Limits,
    size: Option<u64>,
    findings: Findings,
    stage: Stage,
    depth: u32,
    /// End of the furthest byte fed, for an honest `bytes_read`.
    fed_end: u64,
    bytes_read: u64,
    format: Format,
}

impl Scanner {
    /// Starts a scan of a file of `size` bytes (`None` when unknown, e.g. a stream).
    pub fn new(policy: &Policy, limits: Limits, size: Option<u64>) -> Scanner {
        Scanner::nested(policy, limits, 0, size)
    }

    /// A scanner for data nested `depth` levels inside the file being scanned.
    pub(crate) fn nested(
        policy: &Policy,
        limits: Limits,
        depth: u32,
        size: Option<u64>,
    ) -> Scanner {
        Scanner {
            limits,
            size,
            findings: Findings::new(policy.clone(), limits.max_findings),
            stage: Stage::Sniffing(Vec::new()),
            depth,
            fed_end: 0,
            bytes_read: 0,
            format: Format::Unknown,
        }
    }

    /// The bytes the scanner wants next. Call it after every [`feed`](Scanner::feed); a seeking
    /// driver reads what it names, a streaming driver may ignore it.
    pub fn want(&self) -> Want {
        let offset = match &self.stage {
            Stage::Sniffing(buf) => Some(buf.len() as u64),
            Stage::Pickle(stream) => stream.wanted(),
            Stage::Unrecognized(_) | Stage::Gap => None,
        };
        match (offset, self.size) {
            (Some(offset), Some(size)) if offset >= size => Want::Done,
            (Some(offset), _) => Want::Range {
                offset,
                len: READ_HINT,
            },
            (None, _) => Want::Done,
        }
    }

    /// Gives the scanner `bytes` found at absolute `offset` in the file. Bytes may arrive in
    /// pieces of any size, overlap what was fed before, or (in a seeking driver) skip ahead to
    /// where [`want`](Scanner::want) pointed.
    pub fn feed(&mut self, offset: u64, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len() as u64);
        self.bytes_read += end.saturating_sub(offset.max(self.fed_end));
        self.fed_end = self.fed_end.max(end);
        if let Stage::Sniffing(buf) = &mut self.stage {
            let have = buf.len() as u64;
            if offset > have {
                self.stage = Stage::Gap;
                return;
            }
            let fresh = bytes.get((have - offset) as usize..).unwrap_or_default();
            let take = fresh.len().min(SNIFF_LEN - buf.len().min(SNIFF_LEN));
            buf.extend_from_slice(fresh.get(..take).unwrap_or_default());
            let complete =
                buf.len() >= SNIFF_LEN || self.size.is_some_and(|s| buf.len() as u64 >= s);
            if !complete {
                return;
            }
            self.decide();
        }
        if let Stage::Pickle(stream) = &mut self.stage
            && stream.feed(offset, bytes, &mut self.findings).is_err()
        {
            self.stage = Stage::Gap;
        }
    }

    /// Chooses the format from the sniffed prefix and replays the prefix into its parser.
    fn decide(&mut self) {
        let Stage::Sniffing(prefix) = core::mem::replace(&mut self.stage, Stage::Gap) else {
            return;
        };
        self.stage = match sniff(&prefix) {
            Sniffed::Pickle => {
                let mut stream =
                    PickleStream::new(self.findings.policy(), self.limits, self.depth, None);
                if stream.feed(0, &prefix, &mut self.findings).is_err() {
                    Stage::Gap
                } else {
                    self.format = Format::Pickle;
                    Stage::Pickle(Box::new(stream))
                }
            }
            Sniffed::Unknown => Stage::Unrecognized(prefix),
        };
    }

    /// Ends the scan and returns the report. Call it when `want` says [`Want::Done`] or the
    /// input ended; whatever the scanner still needed is reported as missing.
    pub fn finish(mut self) -> Report {
        if matches!(self.stage, Stage::Sniffing(_)) {
            self.decide();
        }
        let eof = self.size.unwrap_or(self.fed_end).max(self.fed_end);
        let stage = core::mem::replace(&mut self.stage, Stage::Gap);
        if let Some(needed) = self.missing_from(&stage, eof) {
            self.findings.rule(
                Rule::ScanIncomplete,
                None,
                Some(needed),
                format!(
                    "the scanner needed bytes from offset {needed} but the input ended at {}",
                    self.fed_end
                ),
                None,
            );
        }
        match stage {
            Stage::Pickle(stream) => {
                if stream.finish(eof, &mut self.findings) == Outcome::NotAPickle {
                    self.format = Format::Unknown;
                    self.unrecognized(&[]);
                }
            }
            Stage::Unrecognized(prefix) => self.unrecognized(&prefix),
            Stage::Sniffing(_) => {}
            Stage::Gap => {
                self.findings.rule(
                    Rule::ScanIncomplete,
                    None,
                    None,
                    String::from("the driver skipped bytes the scanner needed; the file was not fully judged"),
                    None,
                );
            }
        }
        let findings = self.findings.into_vec();
        Report {
            path: String::new(),
            format: self.format,
            verdict: Verdict::from_findings(&findings),
            bytes_read: self.bytes_read,
            size: self.size,
            findings,
        }
    }

    /// Where the file was announced to continue but the driver stopped feeding.
    fn missing_from(&self, stage: &Stage, eof: u64) -> Option<u64> {
        let wanted = match stage {
            Stage::Pickle(stream) => stream.wanted()?,
            _ => return None,
        };
        (self.size.is_some() && wanted < eof && self.fed_end < eof)
            .then_some(wanted.max(self.fed_end))
    }

    fn unrecognized(&mut self, prefix: &[u8]) {
        let message = if self.fed_end == 0 {
            String::from("the file is empty")
        } else {
            String::from("not a model format modelsieve recognises; nothing in it was interpreted")
        };
        let mut hex = String::new();
        for b in prefix.iter().take(SNIFF_LEN) {
            let _ = write!(hex, "{b:02x}");
        }
        self.findings.rule(
            Rule::FormatUnrecognized,
            None,
            Some(0),
            message,
            (!hex.is_empty()).then_some(hex),
        );
    }
}

/// Scans bytes nested inside another file (a pickle passed to `pickle.loads`, a base64 constant).
pub(crate) fn scan_nested(bytes: &[u8], policy: &Policy, limits: Limits, depth: u32) -> Report {
    let mut scanner = Scanner::nested(policy, limits, depth, Some(bytes.len() as u64));
    scanner.feed(0, bytes);
    scanner.finish()
}
