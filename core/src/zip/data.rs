//! One member's data streaming past: stored bytes or a deflate stream, handed to the member's
//! child scan, with the CRC-32 checked wherever every byte was seen.

use alloc::vec::Vec;

use crate::inflate::{Inflater, Inflation};
use crate::reader::Member;

/// How the member's bytes are decoded.
#[derive(Debug)]
pub(super) enum Coding {
    /// Method 0: the data is the content.
    Stored,
    /// Method 8.
    Deflate(Inflater),
    /// A method that cannot be decoded, or content that is not scanned (tensor storages):
    /// the bytes are only skipped.
    Skip,
}

/// Where the member's data stands after a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// More data bytes are expected.
    Going,
    /// The data ended; `len` compressed bytes were used.
    Ended { len: u64 },
    /// Stored data of unknown length ended at `len`, found by the data descriptor that
    /// follows it (already read: `descriptor_len` bytes).
    Described {
        len: u64,
        descriptor: super::records::Descriptor,
        descriptor_len: u64,
    },
    /// The end of the data cannot be found (unknown size, undecodable method).
    Lost,
}

/// The data of one member.
#[derive(Debug)]
pub(super) struct Data {
    /// Offset of the first data byte in the archive.
    pub(super) start: u64,
    /// Compressed length, when the local header gives it (no data descriptor).
    pub(super) len: Option<u64>,
    pub(super) coding: Coding,
    pub(super) member: Option<Member>,
    /// Compressed bytes consumed so far.
    pub(super) consumed: u64,
    /// CRC-32 of stored bytes, while every byte so far has been seen.
    stored_crc: Option<crc32fast::Hasher>,
    /// Stored data of unknown length: the last bytes, held back because they may be the
    /// data descriptor that ends the data.
    held: Vec<u8>,
    zip64: bool,
    /// Bytes inflated so far (kept when the inflater is dropped for skipping).
    inflated: u64,
    /// Whether the data was deflated with a known length when it started: its inflation is
    /// then charged as what the child took ([`Grid::delivered`]), not what the inflater
    /// produced, which runs ahead by however much output one feed made.
    charge_delivered: bool,
    corrupt: bool,
    capped: bool,
    /// CRC-32 and length of the content, once the deflate stream ended.
    ended: Option<(u32, u64)>,
    /// Content of unknown length (inflated, or stored until its descriptor) is handed on in
    /// whole cells of [`GRID`] bytes, and the child asked whether it wants more only between
    /// them: where it stops being fed then depends on the content, never on how the driver
    /// split the input, so a child that judges where its input ends judges alike.
    grid: Grid,
}

/// Content handed to the child in [`GRID`]-byte cells (see [`Data::grid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grid {
    delivered: u64,
    feeding: bool,
}

/// Cell size for content of unknown length.
const GRID: u64 = 4096;

impl Grid {
    /// Hands `content` (which starts at offset `self.delivered`) to the member, a cell at a
    /// time, until the member wants nothing more at a cell boundary.
    fn deliver(&mut self, member: &mut Option<Member>, mut content: &[u8]) {
        while self.feeding && !content.is_empty() {
            let Some(member) = member.as_mut() else {
                self.feeding = false;
                return;
            };
            let room = GRID - self.delivered % GRID;
            let take = usize::try_from(room)
                .unwrap_or(usize::MAX)
                .min(content.len());
            let (piece, rest) = content.split_at(take);
            member.feed(self.delivered, piece);
            self.delivered += take as u64;
            content = rest;
            if self.delivered % GRID == 0 && member.wanted().is_none() {
                self.feeding = false;
            }
        }
    }
}

/// What the data turned out to be, for the cross-checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    /// CRC-32 of the content, when every byte of it was decoded.
    pub(super) crc32: Option<u32>,
    /// Content length, when every byte of it was decoded.
    pub(super) size: Option<u64>,
    /// The deflate stream was corrupt.
    pub(super) corrupt: bool,
    /// Inflation stopped at the budget.
    pub(super) capped: bool,
    /// Bytes charged to the inflation budget.
    pub(super) inflated: u64,
}

impl Data {
    pub(super) fn new(
        start: u64,
        len: Option<u64>,
        coding: Coding,
        member: Option<Member>,
        zip64: bool,
    ) -> Data {
        let member_present = member.is_some();
        let charge_delivered = matches!(coding, Coding::Deflate(_)) && len.is_some();
        Data {
            start,
            len,
            stored_crc: matches!(coding, Coding::Stored).then(crc32fast::Hasher::new),
            coding,
            member,
            consumed: 0,
            held: Vec::new(),
            zip64,
            inflated: 0,
            charge_delivered,
            corrupt: false,
            capped: false,
            ended: None,
            grid: Grid {
                delivered: 0,
                feeding: member_present,
            },
        }
    }

    /// Whether the child scan still wants content.
    fn child_wants(&self) -> Option<u64> {
        self.member.as_ref().and_then(Member::wanted)
    }

    /// Whether content of unknown length is still being handed to the child.
    fn feeding(&self) -> bool {
        self.grid.feeding
    }

    /// The next archive offset this data needs, or `None` when it can be skipped to its end.
    pub(super) fn wanted(&self) -> Option<u64> {
        match (&self.coding, self.len) {
            (Coding::Stored, Some(_)) => {
                let want = self.child_wants()?;
                Some(self.start + want.max(self.consumed))
            }
            (Coding::Deflate(_), Some(_)) => self.feeding().then_some(self.start + self.consumed),
            (Coding::Skip, Some(_)) => None,
            // Without a length the end can only be found by reading on.
            (_, None) => Some(self.next_offset()),
        }
    }

    /// Whether the data's length is unknown and no child needs its content, so only its end
    /// matters: a seeking driver can take the length from the central directory instead of
    /// reading through to the data descriptor.
    pub(super) fn only_end_matters(&self) -> bool {
        self.len.is_none() && !self.feeding()
    }

    /// Takes the data's length from the central directory (see
    /// [`only_end_matters`](Self::only_end_matters)). Returns whether it could.
    pub(super) fn set_len(&mut self, len: u64) -> bool {
        if !self.only_end_matters() || len < self.next_offset() - self.start {
            return false;
        }
        self.consumed += self.held.len() as u64;
        self.held.clear();
        self.stored_crc = None;
        self.coding = Coding::Skip;
        self.len = Some(len);
        true
    }

    /// The archive offset of the next data byte to consume (held-back bytes count as consumed).
    pub(super) fn next_offset(&self) -> u64 {
        self.start + self.consumed + self.held.len() as u64
    }

    /// The archive offset where the data ends, when known.
    pub(super) fn end(&self) -> Option<u64> {
        self.len.map(|len| self.start.saturating_add(len))
    }

    /// Where a driver must go once the data is wanted only for where it ends (no child wants
    /// more of it), for an input of `input_size` bytes: its end, where the next record starts.
    ///
    /// Data that runs to the end of the input has no byte at its end, so a driver that skips
    /// there (a seeking driver, or a container that feeds a member only while its scan wants
    /// bytes before the member's end) has nothing to feed, and the data would be left
    /// unfinished and reported as cut short, while a driver that happened to feed every byte
    /// saw it end. Its last byte is asked for instead: it is in the input exactly when the
    /// data is complete, whatever the driver, and feeding it ends the data the way an in-order
    /// read does.
    pub(super) fn end_wanted(&self, input_size: Option<u64>) -> Option<u64> {
        let end = self.end()?;
        Some(if input_size == Some(end) {
            end.saturating_sub(1).max(self.next_offset())
        } else {
            end
        })
    }

    /// Feeds data bytes that start at the next unconsumed compressed offset (the caller trims
    /// and skips). Returns how many bytes were used and where the data stands.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> (usize, Progress) {
        let room = match self.len {
            Some(len) => usize::try_from(len - self.consumed.min(len)).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let bytes = bytes.get(..room.min(bytes.len())).unwrap_or_default();
        let used = match &mut self.coding {
            Coding::Stored if self.len.is_some() => {
                // Bytes the child does not want now are skipped by a seeking driver, so no
                // driver may check the CRC from here on.
                if self.child_wants() != Some(self.consumed) {
                    self.stored_crc = None;
                }
                if let Some(member) = self.member.as_mut().filter(|m| m.wanted().is_some()) {
                    member.feed(self.consumed, bytes);
                }
                if let Some(crc) = &mut self.stored_crc {
                    crc.update(bytes);
                }
                bytes.len()
            }
            Coding::Stored => return self.feed_stored_unsized(bytes),
            // Sized data whose child wants no more content is passed over, not inflated:
            // inflating it would cost up to ~1000 times its size in work nobody reads, and
            // only in drivers that happen to feed it (a seeking driver skips it).
            Coding::Deflate(_) if self.len.is_some() && !self.grid.feeding => {
                self.coding = Coding::Skip;
                bytes.len()
            }
            Coding::Deflate(inflater) => {
                let (member, grid) = (&mut self.member, &mut self.grid);
                // Without a length, the stream must be inflated to its end to find it.
                let sized = self.len.is_some();
                let used = inflater.feed(bytes, &mut |_, out| {
                    grid.deliver(member, out);
                    grid.feeding || !sized
                });
                self.inflated = inflater.produced();
                self.corrupt = inflater.status() == Inflation::Corrupt;
                self.capped = inflater.status() == Inflation::Capped;
                match inflater.status() {
                    // The child stopped wanting content: the rest is passed over. All of
                    // `bytes` is used, as the pause may have come before any input was.
                    Inflation::NeedsInput if sized && !self.grid.feeding => {
                        self.coding = Coding::Skip;
                        bytes.len()
                    }
                    Inflation::NeedsInput => used,
                    Inflation::Ended => {
                        self.consumed += used as u64;
                        self.ended = Some((inflater.crc32(), inflater.produced()));
                        if self.len.is_none() {
                            return (used, Progress::Ended { len: self.consumed });
                        }
                        // A declared length says where the next record starts, whatever the
                        // deflate stream says; bytes after its end are skipped.
                        self.coding = Coding::Skip;
                        return (used, self.progress());
                    }
                    Inflation::Corrupt | Inflation::Capped => {
                        // Nothing more can be decoded; a known length still says where the
                        // next record is.
                        if self.len.is_none() {
                            self.consumed += used as u64;
                            return (used, Progress::Lost);
                        }
                        // The rest of these bytes are skipped now: a member started with no
                        // budget left stops before using any byte, and a feed that used
                        // none would look to the reader like no progress, dropping the
                        // bytes and then failing on the next ones as a gap.
                        self.coding = Coding::Skip;
                        bytes.len()
                    }
                }
            }
            Coding::Skip if self.len.is_none() => return (0, Progress::Lost),
            Coding::Skip => bytes.len(),
        };
        self.consumed += used as u64;
        (used, self.progress())
    }

    fn progress(&self) -> Progress {
        match self.len {
            Some(len) if self.consumed >= len => Progress::Ended { len },
            _ => Progress::Going,
        }
    }

    /// Skips to archive offset `to` (a seeking driver jumped ahead, or a streaming driver fed
    /// bytes nobody needs). Only stored data with a known length, or data whose child is done,
    /// may be skipped; the CRC can then no longer be checked.
    pub(super) fn skip_to(&mut self, to: u64) -> bool {
        let Some(end) = self.end() else {
            return false;
        };
        let skippable = match &self.coding {
            Coding::Stored | Coding::Skip => true,
            Coding::Deflate(_) => !self.feeding(),
        };
        if !skippable || to > end || to < self.start + self.consumed {
            return false;
        }
        if to > self.start + self.consumed {
            self.stored_crc = None;
            if matches!(self.coding, Coding::Deflate(_)) {
                self.coding = Coding::Skip;
            }
            self.consumed = to - self.start;
        }
        true
    }

    /// Stored data whose length is in a trailing data descriptor: the data ends where a
    /// descriptor appears whose compressed size equals the bytes before it. The last 24 bytes
    /// are held back, since they may be that descriptor.
    fn feed_stored_unsized(&mut self, bytes: &[u8]) -> (usize, Progress) {
        let desc_len = if self.zip64 { 24 } else { 16 };
        if bytes.len() < desc_len {
            return self.feed_stored_unsized_small(bytes, desc_len);
        }
        // Descriptors starting in the held bytes: complete now that `bytes` is long enough.
        let held_len = self.held.len();
        let mut window = core::mem::take(&mut self.held);
        window.extend_from_slice(bytes.get(..desc_len).unwrap_or_default());
        for at in 0..held_len {
            if let Some((descriptor, len)) =
                self.descriptor_at(window.get(at..).unwrap_or_default(), at)
            {
                self.pass_stored(window.get(..at).unwrap_or_default());
                return (at + len - held_len, self.described(descriptor, len));
            }
        }
        self.pass_stored(window.get(..held_len).unwrap_or_default());
        // Then in `bytes`, found by their first byte; the last bytes are held back.
        let limit = bytes.len() - (desc_len - 1);
        let mut from = 0;
        while let Some(i) = bytes
            .get(from..limit)
            .and_then(|b| b.iter().position(|&c| c == b'P'))
        {
            let at = from + i;
            if let Some((descriptor, len)) =
                self.descriptor_at(bytes.get(at..).unwrap_or_default(), at)
            {
                self.pass_stored(bytes.get(..at).unwrap_or_default());
                return (at + len, self.described(descriptor, len));
            }
            from = at + 1;
        }
        self.pass_stored(bytes.get(..limit).unwrap_or_default());
        self.held = bytes.get(limit..).unwrap_or_default().to_vec();
        (bytes.len(), Progress::Going)
    }

    /// A data descriptor at `candidate` whose sizes say the data is the `at` bytes before it
    /// (counted from what was already passed on), with its length.
    fn descriptor_at(
        &self,
        candidate: &[u8],
        at: usize,
    ) -> Option<(super::records::Descriptor, usize)> {
        if !candidate.starts_with(&super::records::DESCRIPTOR_SIG) {
            return None;
        }
        let data_len = self.consumed + at as u64;
        match super::records::descriptor(candidate, self.zip64) {
            super::records::Parse::Done(d, len)
                if d.compressed_size == data_len && d.size == data_len =>
            {
                Some((d, len))
            }
            _ => None,
        }
    }

    /// The data ended (everything before the descriptor was passed on).
    fn described(&mut self, descriptor: super::records::Descriptor, len: usize) -> Progress {
        self.held.clear();
        Progress::Described {
            len: self.consumed,
            descriptor,
            descriptor_len: len as u64,
        }
    }

    /// The same search one small piece at a time (a driver feeding a few bytes per call).
    fn feed_stored_unsized_small(&mut self, bytes: &[u8], desc_len: usize) -> (usize, Progress) {
        let before = self.held.len();
        self.held.extend_from_slice(bytes);
        let mut at = 0;
        while at + desc_len <= self.held.len() {
            if let Some((descriptor, len)) =
                self.descriptor_at(self.held.get(at..).unwrap_or_default(), at)
            {
                let content = self.held.get(..at).unwrap_or_default().to_vec();
                self.pass_stored(&content);
                // The descriptor is complete only now, so its last byte is in `bytes`.
                let used = (at + len).saturating_sub(before);
                return (used, self.described(descriptor, len));
            }
            at += 1;
        }
        let keep = desc_len - 1;
        if self.held.len() > keep {
            let split = self.held.len() - keep;
            let content: Vec<u8> = self.held.drain(..split).collect();
            self.pass_stored(&content);
        }
        (bytes.len(), Progress::Going)
    }

    fn pass_stored(&mut self, content: &[u8]) {
        if !self.feeding() {
            self.stored_crc = None;
        }
        self.grid.deliver(&mut self.member, content);
        if let Some(crc) = &mut self.stored_crc {
            crc.update(content);
        }
        self.consumed += content.len() as u64;
    }

    /// Ends the data: what was seen, and the member's child scan for filing. The content's CRC
    /// and length are given only when the child took in all of it: then every driver has seen
    /// every byte, so the check does not depend on how the archive was read.
    pub(super) fn finish(self, complete: bool) -> (Option<Member>, Seen) {
        let content_len = match (&self.coding, self.ended) {
            (_, Some((_, len))) => len,
            (Coding::Deflate(_), None) => self.inflated,
            _ => self.consumed,
        };
        let complete = complete
            && self
                .member
                .as_ref()
                .is_some_and(|m| m.took_everything(content_len));
        // What the budget is charged: the same in every driver. A seeking driver skips the
        // data once the child is done, a whole buffer may inflate one output piece past it,
        // but the child took the same content in both.
        let inflated = if self.charge_delivered {
            self.grid.delivered
        } else {
            self.inflated
        };
        let mut seen = Seen {
            crc32: None,
            size: None,
            corrupt: self.corrupt,
            capped: self.capped,
            inflated,
        };
        match &self.coding {
            Coding::Stored => {
                if complete && let Some(crc) = self.stored_crc {
                    seen.crc32 = Some(crc.finalize());
                    seen.size = Some(self.consumed);
                }
            }
            Coding::Deflate(_) | Coding::Skip => {
                if complete && let Some((crc, len)) = self.ended {
                    seen.crc32 = Some(crc);
                    seen.size = Some(len);
                }
            }
        }
        (self.member, seen)
    }
}
