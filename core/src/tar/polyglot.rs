//! The archive read as a pickle too.
//!
//! A file can be a valid tar and a valid pickle at once: the first header's name field can hold
//! a pickle, and `pickle.load` stops at STOP without looking at the rest. `pickle.load` on such
//! a file runs the pickle, and so does `torch.load`, which falls back to its pickle reader when
//! `tarfile` rejects the archive (a bad checksum at offset 0 is enough). When the first byte is
//! a pickle opcode the archive is therefore also fed to a pickle stream whose findings are kept
//! apart, and reported only if the bytes prove to be a pickle.

use alloc::boxed::Box;
use alloc::string::String;

use crate::findings::Findings;
use crate::limits::Limits;
use crate::pickle::PickleStream;
use crate::reader::{Gap, Reader};
use crate::report::Format;
use crate::rules::Rule;

/// The pickle side-read of an archive.
#[derive(Debug)]
pub(super) struct Polyglot {
    stream: Box<PickleStream>,
    findings: Findings,
}

impl Polyglot {
    /// Starts a side-read when `data`, the archive's first bytes, begin with a pickle opcode.
    pub(super) fn start(
        data: &[u8],
        limits: Limits,
        depth: u32,
        findings: &Findings,
    ) -> Option<Polyglot> {
        let first = *data.first()?;
        crate::pickle::opcodes::name(first)?;
        let policy = findings.policy().clone();
        Some(Polyglot {
            stream: Box::new(PickleStream::new(&policy, limits, depth, None)),
            findings: Findings::new(policy, limits.max_findings),
        })
    }

    /// The next offset the pickle stream needs, or `None` when it is done.
    pub(super) fn wanted(&self) -> Option<u64> {
        self.stream.wanted()
    }

    /// Feeds the archive's bytes at `offset`.
    pub(super) fn feed(&mut self, offset: u64, data: &[u8]) -> Result<(), Gap> {
        self.stream.feed(offset, data, &mut self.findings)
    }

    /// Ends the side-read at `eof`; if the archive is a pickle, says so and reports what the
    /// pickle does with the file.
    pub(super) fn finish(self, eof: u64, findings: &mut Findings) {
        let Polyglot {
            stream,
            findings: mut side,
        } = self;
        if Reader::finish(stream, eof, &mut side).format != Format::Pickle {
            return;
        }
        findings.rule(
            Rule::ArchiveMalformed,
            None,
            Some(0),
            String::from("this tar archive is also a pickle: pickle.load on the file runs it, and so does torch.load when tarfile rejects the archive; what the pickle does is reported with the file"),
            Some(String::from("tar-pickle-polyglot")),
        );
        for f in side.into_vec() {
            findings.push(
                f.rule,
                f.severity,
                f.member.as_deref(),
                f.offset,
                f.message,
                f.evidence,
            );
        }
    }
}
