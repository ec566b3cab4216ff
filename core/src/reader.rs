//! The interface every format reader implements, and the child scans that containers run.
//!
//! A reader sees the bytes of one input (a file, or a member of a container) at offsets relative
//! to that input's first byte. It never asks for bytes by calling out: it says which offset it
//! wants next and is fed whatever the driver read. Containers hand each member to a child
//! [`Scanner`], which recognises the member's format by content and runs the matching reader, so
//! a zip in a tar in a gzip is the same code three times.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

use crate::findings::Findings;
use crate::limits::Limits;
use crate::report::{Finding, Format};
use crate::rules::Rule;
use crate::scanner::Scanner;

/// The driver skipped bytes the reader needed (it fed an offset past what was wanted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    /// The first offset the reader still needed.
    pub(crate) expected: u64,
}

/// A reader of one format.
pub(crate) trait Reader: Debug {
    /// The next offset the reader needs, or `None` when it needs nothing more.
    fn wanted(&self) -> Option<u64>;

    /// Bytes found at `offset`. Bytes before [`wanted`](Reader::wanted) may be ignored; bytes
    /// after it are accepted only where the reader can skip, and otherwise are a [`Gap`].
    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap>;

    /// Whether the reader has passed over bytes without judging them (a long operand it
    /// skipped), decided by content alone. Containers check a member's CRC only when its reader
    /// judged every byte, since only then has every driver read them all.
    fn skipped(&self) -> bool {
        false
    }

    /// Whether the reader has already concluded that the bytes are its format (a pickle that
    /// did something only a pickle does), so nothing else can be at the file's end to look for.
    fn recognized(&self) -> bool {
        true
    }

    /// Whether the reader has already concluded that the bytes are not its format (a
    /// tentative pickle that did something no pickle does), so the file's tail may be read
    /// for an appended archive.
    fn unrecognized(&self) -> bool {
        false
    }

    /// From which offset an HDF5 superblock after a user block may follow this input's content
    /// ([`crate::hdf5::UserBlock`]), or `None` to look nowhere (yet). libhdf5 looks at powers of
    /// two whatever precedes them, so by default the whole input is searched (`0`); a format
    /// whose header lays out data that is never read (numeric arrays, tensors) looks only past
    /// that data, so that a seeking driver is not sent into it. A value other than the default
    /// is `None` until known, never changes once known, and is at least the end of the bytes it
    /// was worked out from, so every driver looks at the same offsets.
    fn user_block_from(&self) -> Option<u64> {
        Some(0)
    }

    /// No more bytes will come: finish any work deferred while bytes were still arriving, so
    /// that what the reader still wants (asked before [`finish`](Reader::finish)) does not
    /// depend on how the bytes were split.
    fn settle(&mut self, findings: &mut Findings) {
        let _ = findings;
    }

    /// The input ended at `eof`. Reports what is still unfinished and says what the input
    /// turned out to be ([`Format::Unknown`] when the bytes never matched the format).
    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished;
}

/// What a finished reader or child scan hands back to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finished {
    /// What the input turned out to be.
    pub(crate) format: Format,
    /// Bytes this input and everything nested in it decompressed, charged to the file's
    /// [`Limits::max_inflated_bytes`].
    pub(crate) inflated: u64,
}

impl Finished {
    /// A finished input that decompressed nothing.
    pub(crate) fn plain(format: Format) -> Finished {
        Finished {
            format,
            inflated: 0,
        }
    }
}

/// The inflation budget for the child scan of content that is itself being inflated, when
/// the stream feeding it may still use `remaining`: half of it.
///
/// Both run at once (the child inflates its own members while the parent inflates the
/// child's input), and the parent learns what the child spent only when the child ends, so
/// giving the child all that remains would let every level of nesting spend a whole budget
/// again: a zip of deflated zips, each holding a deflated pickle of repeated opcodes, made
/// the scanner read one `max_inflated_bytes` of opcodes per level (about a minute per level
/// in a release build). Halving at each inflated level keeps the whole file under twice the
/// budget however deep it nests. Legitimate files rarely inflate inside inflated content,
/// and then seldom more than the half.
pub(crate) fn inflated_child_budget(remaining: u64) -> u64 {
    remaining / 2
}

/// A member of a container being scanned by its own child [`Scanner`].
///
/// Offsets given to a `Member` are relative to the member's first byte; the container maps them
/// to its own input (a stored zip member) or feeds decompressed output straight in.
#[derive(Debug)]
pub(crate) struct Member {
    path: String,
    scanner: Box<Scanner>,
}

impl Member {
    /// Starts scanning a member named `path`, `size` bytes long when known, nested one level below
    /// a container at `depth`. `inflate_budget` is what the file may still decompress. Returns
    /// `None` (after reporting it) when the member would nest deeper than the limit allows.
    pub(crate) fn start(
        path: String,
        size: Option<u64>,
        depth: u32,
        limits: Limits,
        inflate_budget: u64,
        findings: &mut Findings,
    ) -> Option<Member> {
        if depth >= limits.max_depth {
            findings.rule(
                Rule::ScanLimitReached,
                Some(&path),
                None,
                alloc::format!(
                    "member not scanned: containers nest deeper than {} levels",
                    limits.max_depth
                ),
                Some(String::from("max_depth")),
            );
            return None;
        }
        let mut limits = limits;
        limits.max_inflated_bytes = inflate_budget;
        let mut scanner = Scanner::member(findings.policy(), limits, depth + 1, size);
        if crate::torchscript::is_code_member(&path) {
            scanner.scan_code();
        }
        Some(Member {
            path,
            scanner: Box::new(scanner),
        })
    }

    /// The next member-relative offset the child scan needs, or `None` when it is done.
    pub(crate) fn wanted(&self) -> Option<u64> {
        self.scanner.wanted_offset()
    }

    /// Whether the child scan took in all `len` bytes of the member (see
    /// [`Scanner::took_everything`]).
    pub(crate) fn took_everything(&self, len: u64) -> bool {
        self.scanner.took_everything(len)
    }

    /// Whether the child scan passed over bytes without judging them; a reader that hands its
    /// content to a member reports this as its own [`Reader::skipped`].
    pub(crate) fn skipped(&self) -> bool {
        self.scanner.skipped()
    }

    /// Feeds bytes at a member-relative offset.
    pub(crate) fn feed(&mut self, offset: u64, data: &[u8]) {
        self.scanner.feed(offset, data);
    }

    /// Ends the child scan and moves its findings under the member's path.
    pub(crate) fn finish(self, findings: &mut Findings) -> Finished {
        let (path, nested, finished) = self.finish_detached();
        findings.absorb_under(&path, nested);
        finished
    }

    /// Ends the child scan and hands its findings back unfiled, for a container that learns the
    /// member's real name only later (a zip read in order, named by its central directory).
    pub(crate) fn finish_detached(self) -> (String, Vec<Finding>, Finished) {
        let (nested, finished) = self.scanner.finish_member();
        (self.path, nested, finished)
    }
}
