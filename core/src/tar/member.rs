//! A member's data and what reads it: a child scan, or a walk over the legacy torch layout.

use alloc::boxed::Box;
use alloc::string::String;

use crate::findings::Findings;
use crate::reader::Member;
use crate::torch_tar::Walker;

/// What reads a member's data.
#[derive(Debug)]
pub(super) enum Body {
    /// A child scan of the whole member.
    Plain(Member),
    /// A walk over the legacy torch layout's `tensors` or `storages`.
    Torch(Box<Walker>),
}

impl Body {
    /// The next member offset the body needs, or `None` when it is done.
    pub(super) fn wanted(&self) -> Option<u64> {
        match self {
            Body::Plain(member) => member.wanted(),
            Body::Torch(walker) => walker.wanted(),
        }
    }

    /// Feeds bytes at a member offset.
    pub(super) fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) {
        match self {
            Body::Plain(member) => member.feed(offset, data),
            Body::Torch(walker) => walker.feed(offset, data, findings),
        }
    }

    /// Whether every byte of the member was judged.
    pub(super) fn took_everything(&self, len: u64) -> bool {
        match self {
            Body::Plain(member) => member.took_everything(len),
            Body::Torch(_) => false,
        }
    }

    /// Ends the body; returns what it decompressed.
    pub(super) fn finish(self, findings: &mut Findings) -> u64 {
        match self {
            Body::Plain(member) => member.finish(findings).inflated,
            Body::Torch(walker) => walker.finish(findings),
        }
    }
}

/// A member's data at `start..start + size`, followed by padding up to the next header.
#[derive(Debug)]
pub(super) struct Data {
    pub(super) name: String,
    pub(super) start: u64,
    pub(super) size: u64,
    /// Where the next header starts, after the padding.
    pub(super) next: u64,
    pub(super) body: Option<Body>,
}

impl Data {
    /// Where the data ends (the padding starts).
    pub(super) fn end(&self) -> u64 {
        self.start + self.size
    }

    /// The archive offset the body still needs inside the data, if any.
    pub(super) fn body_wants(&self) -> Option<u64> {
        let wanted = self.body.as_ref()?.wanted()?;
        (wanted < self.size).then(|| self.start + wanted)
    }

    /// Hands the body the part of `data` (at archive offset `cur`) inside the member, unless it
    /// starts past what the body wants (a streaming driver cannot go back for a member that
    /// wants to revisit bytes; the body reports them as unread).
    pub(super) fn serve(&mut self, cur: u64, data: &[u8], findings: &mut Findings) {
        let Some(want) = self.body_wants() else {
            return;
        };
        let lo = cur.max(self.start);
        let hi = cur.saturating_add(data.len() as u64).min(self.end());
        if lo >= hi || lo > want {
            return;
        }
        let from = usize::try_from(lo - cur).unwrap_or(usize::MAX);
        let to = usize::try_from(hi - cur).unwrap_or(usize::MAX);
        if let (Some(body), Some(piece)) = (&mut self.body, data.get(from..to)) {
            body.feed(lo - self.start, piece, findings);
        }
    }
}
