//! A zip archive at the end of a file that starts with something else: a self-extractor stub,
//! a pickle, any data. Python's zipfile (and so Keras, and anything built on it) finds the end
//! record in the last 64 KiB and opens the archive wherever it starts; `torch.load` and
//! `numpy.load` look at the first bytes only.
//!
//! Both drivers end up holding the same bytes, the file's last 64 KiB: a seeking driver is
//! asked for them, a streaming one passes through them last. The archive is judged from those
//! bytes alone, so both give the same report.

use alloc::format;
use alloc::vec::Vec;

use super::records::{self, END_SIG, Parse};
use crate::findings::Findings;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::report::{Format, Severity};
use crate::rules::Rule;

/// The end record plus the longest comment: how far from the end zipfile looks.
pub(crate) const WINDOW: u64 = 22 + 65535;

/// The last [`WINDOW`] bytes of a file, kept as they pass.
#[derive(Debug)]
pub(crate) struct Tail {
    bytes: Vec<u8>,
    /// Offset just past `bytes`.
    end: u64,
    /// The file's size, when the driver announced it.
    size: Option<u64>,
}

impl Tail {
    /// An empty tail of a file of `size` bytes (`None`: unknown, a stream).
    pub(crate) fn new(size: Option<u64>) -> Tail {
        Tail {
            bytes: Vec::new(),
            end: 0,
            size,
        }
    }

    /// Keeps bytes found at `offset` if they extend the run kept so far (or start a new one).
    /// Only the last [`WINDOW`] bytes of a feed are copied, and the buffer is trimmed only once
    /// it holds two windows, so keeping the tail costs little next to reading the file.
    pub(crate) fn feed(&mut self, offset: u64, data: &[u8]) {
        let end = offset.saturating_add(data.len() as u64);
        // A run that starts inside the window can never become the whole window (runs only
        // grow forward): that happens when the file's reader skipped bytes. Bytes from before
        // it are then the start of the run that `wanted` asked a seeking driver for, and
        // ignoring them would leave the driver asking for them forever.
        let have = self.end.saturating_sub(self.bytes.len() as u64);
        let behind_a_partial_run = offset < have
            && self
                .size
                .is_some_and(|size| have > size.saturating_sub(WINDOW));
        if end <= self.end && !behind_a_partial_run {
            return;
        }
        let fresh = if offset > self.end || behind_a_partial_run {
            self.bytes.clear();
            data
        } else {
            let from = usize::try_from(self.end - offset).unwrap_or(usize::MAX);
            data.get(from..).unwrap_or_default()
        };
        let window = WINDOW as usize;
        if fresh.len() >= window {
            self.bytes.clear();
            self.bytes
                .extend_from_slice(fresh.get(fresh.len() - window..).unwrap_or_default());
        } else {
            self.bytes.extend_from_slice(fresh);
            if self.bytes.len() > 2 * window {
                let excess = self.bytes.len() - window;
                self.bytes.drain(..excess);
            }
        }
        self.end = end;
    }

    /// The offset a seeking driver should read next for a file of `size` bytes, if the
    /// window is not complete yet.
    pub(crate) fn wanted(&self, size: u64) -> Option<u64> {
        let start = size.saturating_sub(WINDOW);
        let have = self.end.saturating_sub(self.bytes.len() as u64);
        if self.end >= size && have <= start {
            return None;
        }
        Some(if self.end > start && have <= start {
            self.end
        } else {
            start
        })
    }

    /// Looks for an archive at the end of a file of `eof` bytes whose start was not
    /// recognised, and scans it. Returns its format when one was found.
    pub(crate) fn judge(
        &self,
        eof: u64,
        policy: &Policy,
        limits: Limits,
        depth: u32,
        findings: &mut Findings,
    ) -> Option<Format> {
        let start = eof.saturating_sub(WINDOW);
        let have = self.end.saturating_sub(self.bytes.len() as u64);
        if self.end != eof || have > start {
            return None;
        }
        let tail = self.bytes.get(usize::try_from(start - have).ok()?..)?;
        let (archive, cd_start) = locate(tail, start)?;
        if archive == 0 {
            return None;
        }
        findings.push(
            Rule::ZipLayout,
            Severity::Low,
            None,
            Some(archive),
            format!("a zip archive starts after {archive} bytes of other data; Python's zipfile opens it from its end record"),
            Some(format!("archive at {archive}")),
        );
        let Some(inside) = archive
            .checked_sub(start)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| tail.get(o..))
        else {
            findings.rule(
                Rule::ZipLayout,
                None,
                Some(archive),
                format!("the zip archive at offset {archive} begins more than 64 KiB before the end of the file (its directory is at {cd_start}); its members were not scanned"),
                Some(format!("archive at {archive}")),
            );
            return Some(Format::Zip);
        };
        if depth >= limits.max_depth {
            return None;
        }
        let report = crate::scanner::scan_nested(inside, policy, limits, depth + 1);
        findings.absorb_under(&format!("#zip@{archive}"), report.findings);
        Some(report.format)
    }
}

/// Finds the last end record in `tail` (which starts at `tail_start`) and returns where its
/// archive and central directory start, as zipfile computes them.
fn locate(tail: &[u8], tail_start: u64) -> Option<(u64, u64)> {
    let mut search = tail;
    while let Some(at) = search.windows(4).rposition(|w| w == END_SIG.as_slice()) {
        let rest = tail.get(at..)?;
        if let Parse::Done(end, len) = records::end_record(rest)
            && len + end.comment_len <= rest.len()
        {
            let record = tail_start + at as u64;
            let cd_start = record.checked_sub(end.directory_size)?;
            let archive = cd_start.checked_sub(end.directory_offset)?;
            return Some((archive, cd_start));
        }
        search = tail.get(..at)?;
    }
    None
}
