//! The byte ranges an HDF5 walk is waiting for, filled from bytes that arrive in file order.
//!
//! HDF5 structures point anywhere in the file, but a streaming driver only goes forward. So the
//! reader behaves as if it read the file once, front to back, and decides what it can still
//! read by content alone, never by how the bytes were split:
//! - the first [`WINDOW`] bytes are always read whole and kept, so pointers among the
//!   structures near the file's start (where h5py puts a group's header, its attributes and
//!   their heaps) may point backwards freely;
//! - past the window, a range is read only if it starts at or after the *position*: the end of
//!   the last range completed in file order. A range that needs bytes between the window's end
//!   and the position was passed over and is refused ([`Refused::Behind`]).
//!
//! Completed ranges are handed out in the order a byte-by-byte stream would complete them (by
//! end offset, then by when they were asked for), so whole-file, chunked and seeking drivers
//! all see the same sequence of events.

use alloc::vec::Vec;

/// Bytes at the start of every file that are always read and kept for backward pointers.
pub(super) const WINDOW: u64 = 1 << 20;

/// Most bytes one range may span.
pub(super) const MAX_REGION: u64 = 32 << 20;

/// Most bytes all ranges together may read into memory over a whole scan (the window aside).
pub(super) const MAX_TOTAL: u64 = 96 << 20;

/// A byte range being read for one task.
#[derive(Debug)]
pub(super) struct Region<T> {
    /// Offset of the first byte.
    pub(super) start: u64,
    /// Bytes needed from `start`.
    len: u64,
    /// The bytes read so far, from `start`.
    pub(super) buf: Vec<u8>,
    /// What to do with the bytes.
    pub(super) task: T,
    /// Order in which ranges were asked for, to break ties between ranges ending together.
    seq: u64,
}

impl<T> Region<T> {
    /// Offset of the next byte needed.
    fn next(&self) -> u64 {
        self.start.saturating_add(self.buf.len() as u64)
    }

    /// Offset one past the last byte needed.
    pub(super) fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    /// Whether every needed byte is in.
    fn complete(&self) -> bool {
        self.buf.len() as u64 >= self.len
    }

    /// Takes the part of `data` (found at `offset`) that continues the range.
    fn fill(&mut self, offset: u64, data: &[u8]) {
        let (next, end) = (self.next(), self.end());
        if next >= end || offset > next {
            return;
        }
        let data_end = offset.saturating_add(data.len() as u64);
        if data_end <= next {
            return;
        }
        let from = usize::try_from(next - offset).unwrap_or(usize::MAX);
        let to = usize::try_from(end.min(data_end) - offset).unwrap_or(usize::MAX);
        if let Some(piece) = data.get(from..to) {
            self.buf.extend_from_slice(piece);
        }
    }
}

/// Why a range cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// It needs bytes past the window that the one pass has already gone by (the position).
    Behind(u64),
    /// It is longer than [`MAX_REGION`].
    TooLong,
    /// Reading it would take the scan past [`MAX_TOTAL`] buffered bytes.
    Budget,
}

/// The bytes of the current `feed` call, which new ranges may still take from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Feed<'a> {
    /// Offset of `data`.
    pub(super) offset: u64,
    /// The bytes.
    pub(super) data: &'a [u8],
}

/// All ranges being read, the window, and the one-pass position.
#[derive(Debug)]
pub(super) struct Regions<T> {
    pending: Vec<Region<T>>,
    /// The first bytes of the file (up to `window_len`).
    window: Vec<u8>,
    window_len: u64,
    /// End of the last range completed in file order.
    position: u64,
    /// Bytes of all ranges opened so far.
    total: u64,
    seq: u64,
}

impl<T> Regions<T> {
    /// Ranges for an input of `size` bytes (when known) that keep its first `window` bytes.
    pub(super) fn new(size: Option<u64>, window: u64) -> Regions<T> {
        Regions {
            pending: Vec::new(),
            window: Vec::new(),
            window_len: size.map_or(window, |s| s.min(window)),
            position: 0,
            total: 0,
            seq: 0,
        }
    }

    /// The next offset needed: the window's end while it is incomplete (so every driver reads
    /// it contiguously), otherwise the lowest byte some range still needs. `None` when nothing
    /// is pending.
    pub(super) fn wanted(&self) -> Option<u64> {
        let lowest = self
            .pending
            .iter()
            .filter(|r| !r.complete())
            .map(Region::next)
            .min();
        if self.pending.is_empty() {
            return None;
        }
        let window = self.window.len() as u64;
        match lowest {
            Some(low) if window < self.window_len => Some(low.min(window)),
            Some(low) => Some(low),
            None if window < self.window_len => Some(window),
            None => None,
        }
    }

    /// Takes bytes found at `offset` into the window and every range they continue.
    pub(super) fn fill(&mut self, offset: u64, data: &[u8]) {
        let have = self.window.len() as u64;
        if offset <= have && have < self.window_len {
            let from = usize::try_from(have - offset).unwrap_or(usize::MAX);
            let room = usize::try_from(self.window_len - have).unwrap_or(usize::MAX);
            if let Some(fresh) = data.get(from..) {
                let take = fresh.len().min(room);
                self.window
                    .extend_from_slice(fresh.get(..take).unwrap_or_default());
            }
        }
        for region in &mut self.pending {
            region.fill(offset, data);
        }
    }

    /// Removes and returns the next completed range in stream order, and moves the position to
    /// its end.
    pub(super) fn take_complete(&mut self) -> Option<Region<T>> {
        let index = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, r)| r.complete())
            .min_by_key(|(_, r)| (r.end(), r.seq))
            .map(|(i, _)| i)?;
        let region = self.pending.remove(index);
        self.position = self.position.max(region.end());
        Some(region)
    }

    /// Starts reading `len` bytes at `start` for `task`, taking what the window and the current
    /// feed already hold.
    pub(super) fn open(
        &mut self,
        start: u64,
        len: u64,
        task: T,
        feed: Feed<'_>,
    ) -> Result<(), (Refused, T)> {
        let region = Region {
            start,
            len: 0,
            buf: Vec::new(),
            task,
            seq: self.seq,
        };
        self.seq += 1;
        self.extend(region, len, feed)
            .map_err(|(why, r)| (why, r.task))
    }

    /// Continues a completed range to `len` bytes from its start (a structure whose header
    /// said how long it is).
    pub(super) fn extend(
        &mut self,
        mut region: Region<T>,
        len: u64,
        feed: Feed<'_>,
    ) -> Result<(), (Refused, Region<T>)> {
        if len > MAX_REGION {
            return Err((Refused::TooLong, region));
        }
        let added = len.saturating_sub(region.len);
        if self.total.saturating_add(added) > MAX_TOTAL {
            return Err((Refused::Budget, region));
        }
        let from = region.next();
        let to = region.start.saturating_add(len);
        // Bytes between the window and the position have streamed past (the window's end is
        // where it stops, whether or not the file is shorter).
        if from.max(self.window_len) < to.min(self.position) {
            return Err((Refused::Behind(self.position), region));
        }
        self.total += added;
        region.len = region.len.max(len);
        let window = self.window.as_slice();
        region.fill(0, window);
        region.fill(feed.offset, feed.data);
        self.pending.push(region);
        Ok(())
    }

    /// The pending range whose task matches, if any (to add work to a range already asked for).
    pub(super) fn pending_mut(
        &mut self,
        mut matches: impl FnMut(u64, &T) -> bool,
    ) -> Option<&mut T> {
        self.pending
            .iter_mut()
            .find(|r| matches(r.start, &r.task))
            .map(|r| &mut r.task)
    }

    /// Ends the reading and hands back the ranges never completed, in the order they start.
    pub(super) fn into_unfinished(self) -> Vec<Region<T>> {
        let mut rest = self.pending;
        rest.sort_by_key(|r| (r.start, r.seq));
        rest
    }
}
