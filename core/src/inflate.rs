//! Streaming inflation (raw deflate for zip members, zlib, and the deflate inside gzip) with a
//! cap on output, so a decompression bomb costs at most the budget, never memory.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Output scratch size: inflated bytes are handed on in pieces of at most this much.
const SCRATCH: usize = 32 * 1024;

/// Where one call to [`Inflater::feed`] left the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inflation {
    /// All input was used; the stream goes on.
    NeedsInput,
    /// The compressed stream ended (input after it was not used).
    Ended,
    /// The compressed data is corrupt; nothing more can be inflated.
    Corrupt,
    /// The output reached the cap; nothing more will be inflated.
    Capped,
}

/// A deflate or zlib stream being inflated.
pub(crate) struct Inflater {
    state: Box<InflateState>,
    scratch: Vec<u8>,
    produced: u64,
    cap: u64,
    crc: crc32fast::Hasher,
    status: Inflation,
}

impl core::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inflater")
            .field("produced", &self.produced)
            .field("cap", &self.cap)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// Raw deflate (zip members, the body of a gzip member), producing at most `cap` bytes.
    pub(crate) fn raw(cap: u64) -> Inflater {
        Inflater::with_format(DataFormat::Raw, cap)
    }

    /// A zlib stream (header, deflate, Adler-32), producing at most `cap` bytes.
    pub(crate) fn zlib(cap: u64) -> Inflater {
        Inflater::with_format(DataFormat::Zlib, cap)
    }

    fn with_format(format: DataFormat, cap: u64) -> Inflater {
        Inflater {
            state: InflateState::new_boxed(format),
            scratch: vec![0; SCRATCH],
            produced: 0,
            cap,
            crc: crc32fast::Hasher::new(),
            status: Inflation::NeedsInput,
        }
    }

    /// Bytes produced so far.
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    /// The CRC-32 of everything produced so far.
    pub(crate) fn crc32(&self) -> u32 {
        self.crc.clone().finalize()
    }

    /// Where the stream stands.
    pub(crate) fn status(&self) -> Inflation {
        self.status
    }

    /// Inflates from `input`, handing each piece of output to `sink` with its offset in the
    /// inflated data. `sink` returns whether it wants more: once it says no, inflation pauses
    /// (the status stays [`Inflation::NeedsInput`]), so output nobody reads costs no work.
    /// Returns how many input bytes were used (fewer than given only when the stream ended,
    /// stopped or paused).
    pub(crate) fn feed(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> usize {
        let mut used = 0;
        while self.status == Inflation::NeedsInput {
            let room = self.cap.saturating_sub(self.produced);
            if room == 0 {
                self.status = Inflation::Capped;
                break;
            }
            let room = usize::try_from(room).unwrap_or(usize::MAX).min(SCRATCH);
            let Some(out) = self.scratch.get_mut(..room) else {
                break;
            };
            let result = inflate(&mut self.state, input, out, MZFlush::None);
            used += result.bytes_consumed;
            input = input.get(result.bytes_consumed..).unwrap_or_default();
            let written = out.get(..result.bytes_written).unwrap_or_default();
            let mut wanted = true;
            if !written.is_empty() {
                self.crc.update(written);
                wanted = sink(self.produced, written);
                self.produced += written.len() as u64;
            }
            match result.status {
                Ok(MZStatus::StreamEnd) => self.status = Inflation::Ended,
                Ok(_) | Err(MZError::Buf) => {
                    // Every input byte is used and the call produced nothing: the stream
                    // waits for more input. Output short of the room is no such sign: miniz
                    // inflates into its 32 KiB window, and a call that finds window output
                    // still owed only hands that out and returns, though the bits it already
                    // took may decode to more. Stopping there lost that output where the input
                    // then ended, so how much content a stream gave depended on where the
                    // driver's pieces ended.
                    if result.bytes_written == 0 && input.is_empty() {
                        break;
                    }
                    if result.bytes_consumed == 0 && result.bytes_written == 0 {
                        break;
                    }
                }
                Err(_) => self.status = Inflation::Corrupt,
            }
            if !wanted {
                break;
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::compress_to_vec;

    fn inflate_all(inflater: &mut Inflater, data: &[u8], piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(piece.max(1)) {
            let mut rest = chunk;
            while !rest.is_empty() && inflater.status() == Inflation::NeedsInput {
                let used = inflater.feed(rest, &mut |offset, bytes| {
                    assert_eq!(offset, out.len() as u64);
                    out.extend_from_slice(bytes);
                    true
                });
                rest = &rest[used..];
                if used == 0 {
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn inflates_in_any_piece_size_and_stops_at_the_end() {
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut packed = compress_to_vec(&plain, 6);
        packed.extend_from_slice(b"trailing");
        for piece in [1, 7, 4096, packed.len()] {
            let mut inflater = Inflater::raw(u64::MAX);
            assert_eq!(inflate_all(&mut inflater, &packed, piece), plain);
            assert_eq!(inflater.status(), Inflation::Ended);
            assert_eq!(inflater.crc32(), crc32fast::hash(&plain));
        }
    }

    #[test]
    fn output_owed_when_the_input_runs_out_is_not_lost() {
        // A run of zeros decodes to far more than one input byte's worth, and miniz hands it
        // out 32 KiB (its window) at a time: when a piece of input ran out just as the window
        // filled, the next call only emptied the window and returned, and the loop took that
        // short output for "waiting for input". Where the input then ended (a truncated or
        // sized stream), the rest of what the bytes decode to was never produced, so how much
        // content a member had depended on how the driver split it.
        let packed = compress_to_vec(&vec![0u8; 4 << 20], 6);
        // Cut at 46 bytes, pieces of 1 or 42 lost the last 258 bytes (a whole buffer did not).
        for cut in (40..=60).chain([packed.len()]) {
            let mut whole = Inflater::raw(u64::MAX);
            let expected = inflate_all(&mut whole, &packed[..cut], cut).len();
            for piece in [1, 7, 42, 4096] {
                let mut inflater = Inflater::raw(u64::MAX);
                let got = inflate_all(&mut inflater, &packed[..cut], piece).len();
                assert_eq!(got, expected, "cut at {cut}, pieces of {piece}");
                assert_eq!(
                    inflater.status(),
                    whole.status(),
                    "cut at {cut}, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn the_cap_bounds_a_bomb() {
        let packed = compress_to_vec(&vec![0u8; 10 << 20], 9);
        let mut inflater = Inflater::raw(1 << 20);
        let out = inflate_all(&mut inflater, &packed, 4096);
        assert_eq!(out.len(), 1 << 20);
        assert_eq!(inflater.status(), Inflation::Capped);
    }

    #[test]
    fn a_sink_that_wants_no_more_pauses_inflation() {
        let packed = compress_to_vec(&vec![0u8; 10 << 20], 9);
        let mut inflater = Inflater::raw(u64::MAX);
        let mut pieces = 0;
        let used = inflater.feed(&packed, &mut |_, _| {
            pieces += 1;
            false
        });
        assert_eq!(pieces, 1);
        assert!(inflater.produced() <= SCRATCH as u64);
        assert!(used < packed.len());
        assert_eq!(inflater.status(), Inflation::NeedsInput);
        // It resumes where it paused.
        let mut out = inflater.produced();
        let rest = &packed[used..];
        inflater.feed(rest, &mut |offset, bytes| {
            assert_eq!(offset, out);
            out += bytes.len() as u64;
            true
        });
        assert_eq!(out, 10 << 20);
        assert_eq!(inflater.status(), Inflation::Ended);
    }

    #[test]
    fn corrupt_data_is_reported() {
        let mut inflater = Inflater::raw(u64::MAX);
        inflate_all(&mut inflater, &[0xff; 64], 64);
        assert_eq!(inflater.status(), Inflation::Corrupt);
    }
}
