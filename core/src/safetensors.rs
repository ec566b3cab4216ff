//! safetensors files, checked as huggingface's `safetensors` library checks them.
//!
//! Layout: a little-endian u64 header length `N`, `N` bytes of JSON (an object mapping tensor
//! names to `{"dtype", "shape", "data_offsets"}`, plus optional string `__metadata__`), then the
//! raw tensor bytes, which the offsets must cover exactly up to the end of the file.
//!
//! Loading a safetensors file runs no code: the format holds no objects, only numbers. So the
//! only findings are about validity ([`Rule::SafetensorsInvalid`]), and a valid file is clean.
//! Only the header is read; the tensor bytes are skipped, their length compared with the file's.

/// The JSON header and its rules.
mod header;
mod or_pickle;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::numpy::fill;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::rules::Rule;
use crate::scanner::Input;

/// Longest header the reference library reads (its `MAX_HEADER_SIZE`): it refuses longer ones
/// outright, so a longer header is reported and nothing more is read. It also bounds what this
/// reader buffers.
pub(crate) const MAX_HEADER: u64 = 100_000_000;

/// Bytes of the header length that starts the file.
const LENGTH_BYTES: usize = 8;

/// Offset of the header's first byte.
const HEADER_START: u64 = LENGTH_BYTES as u64;

/// Where the reader is in the file.
#[derive(Debug)]
enum Stage {
    /// Gathering the header length.
    Length(Vec<u8>),
    /// Gathering the header text.
    Header {
        /// Header length in bytes.
        len: u64,
        /// The header bytes gathered so far.
        buf: Vec<u8>,
    },
    /// The header is judged; the tensor bytes are skipped.
    Data {
        /// Offset of the first tensor byte.
        start: u64,
        /// Where the file must end, when the header's offsets say.
        end: Option<u64>,
    },
    /// Nothing more to read (the header is longer than the reference reads; reported).
    Done,
}

/// A safetensors file.
#[derive(Debug)]
pub(crate) struct SafetensorsReader {
    input: Input,
    stage: Stage,
    /// End of the furthest byte fed, to tell trailing data apart when the size is unknown.
    fed_end: u64,
    /// Whether the complete header parsed as a JSON object (what makes the file safetensors
    /// rather than something else that starts with a length and `{`).
    json: bool,
}

impl SafetensorsReader {
    /// A reader for an input that the sniffer found to start with a header length and `{`.
    pub(crate) fn new(input: Input) -> SafetensorsReader {
        SafetensorsReader {
            input,
            stage: Stage::Length(Vec::new()),
            fed_end: 0,
            json: false,
        }
    }

    /// Decides what to read after the header length `len`.
    fn length_done(&mut self, len: u64, findings: &mut Findings) {
        if len > MAX_HEADER {
            findings.rule(
                Rule::SafetensorsInvalid,
                None,
                Some(0),
                format!("the header length is {len} bytes, more than the {MAX_HEADER} safetensors reads; it refuses the file, and modelsieve read nothing more"),
                Some(format!("header length {len}")),
            );
            self.stage = Stage::Done;
            return;
        }
        // When the file is known to hold the whole header, its buffer is sized once: growing
        // it by doubling would hold up to 1.5 times a 100 MB header at the last step. A
        // declared length alone is never trusted with an allocation.
        let mut buf = Vec::new();
        let present = self
            .input
            .size
            .is_some_and(|size| HEADER_START.saturating_add(len) <= size);
        if present {
            let _ = buf.try_reserve_exact(usize::try_from(len).unwrap_or(0));
        }
        self.stage = Stage::Header { len, buf };
    }

    /// Judges the complete header.
    fn header_done(&mut self, text: &[u8], findings: &mut Findings) {
        let checked = header::check(text, HEADER_START);
        self.json = checked.json_object;
        for p in checked.problems {
            findings.rule(
                Rule::SafetensorsInvalid,
                None,
                p.offset,
                p.message,
                Some(p.evidence),
            );
        }
        let start = HEADER_START + text.len() as u64;
        self.stage = Stage::Data {
            start,
            end: checked.data_len.and_then(|len| start.checked_add(len)),
        };
    }
}

pub(crate) use or_pickle::OrPickle;

impl Reader for SafetensorsReader {
    fn skipped(&self) -> bool {
        // The tensor bytes are never read; only an empty data section leaves nothing unjudged.
        matches!(self.stage, Stage::Data { start, end } if end != Some(start))
    }

    fn user_block_from(&self) -> Option<u64> {
        // Past the tensor data the header lays out, which is never read.
        match self.stage {
            Stage::Data { end, .. } => end,
            _ => None,
        }
    }

    fn wanted(&self) -> Option<u64> {
        match &self.stage {
            Stage::Length(buf) => Some(buf.len() as u64),
            Stage::Header { len, buf } => {
                // A header that overruns a file of known size is never complete: reading it
                // would gain nothing, and the finish reports it.
                let overruns = self
                    .input
                    .size
                    .is_some_and(|size| HEADER_START.saturating_add(*len) > size);
                (!overruns).then_some(HEADER_START + buf.len() as u64)
            }
            Stage::Data { end, .. } => {
                // With the size known, the data length is checked without reading anything.
                // Without it, one byte at the expected end tells whether the file goes on.
                let end = (*end)?;
                (self.input.size.is_none() && self.fed_end <= end).then_some(end)
            }
            Stage::Done => None,
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        self.fed_end = self.fed_end.max(offset.saturating_add(data.len() as u64));
        // Each turn either waits for more bytes or completes a stage, and the next stage may
        // use the rest of the same piece.
        loop {
            match &mut self.stage {
                Stage::Length(buf) => {
                    fill(buf, 0, LENGTH_BYTES, offset, data)?;
                    let Ok(bytes) = <[u8; LENGTH_BYTES]>::try_from(buf.as_slice()) else {
                        return Ok(());
                    };
                    self.length_done(u64::from_le_bytes(bytes), findings);
                }
                Stage::Header { len, buf } => {
                    // `len` is at most MAX_HEADER, which fits any usize this crate builds for
                    // but a 16-bit one; there the header cannot be held and stays incomplete.
                    let target = usize::try_from(*len).unwrap_or(usize::MAX);
                    fill(buf, HEADER_START, target, offset, data)?;
                    if buf.len() < target {
                        return Ok(());
                    }
                    let text = core::mem::take(buf);
                    self.header_done(&text, findings);
                }
                Stage::Data { .. } | Stage::Done => return Ok(()),
            }
        }
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        match self.stage {
            Stage::Length(buf) => {
                if eof <= buf.len() as u64 {
                    findings.rule(
                        Rule::SafetensorsInvalid,
                        None,
                        Some(eof),
                        format!("the file ends at offset {eof}, inside the 8-byte header length; safetensors refuses it"),
                        Some(String::from("truncated length")),
                    );
                }
            }
            Stage::Header { len, buf } => {
                let header_end = HEADER_START.saturating_add(len);
                // Only when the input really ends inside the header; a driver that stopped
                // early is reported by the scanner.
                let overran = self.input.size.is_some_and(|size| size < header_end);
                if eof < header_end && (overran || eof <= HEADER_START + buf.len() as u64) {
                    findings.rule(
                        Rule::SafetensorsInvalid,
                        None,
                        Some(0),
                        format!("the header length is {len} bytes, so the header runs to offset {header_end}, but the file ends at offset {eof}; safetensors refuses it"),
                        Some(format!("header length {len}, file {eof} bytes")),
                    );
                }
            }
            Stage::Data {
                start,
                end: Some(end),
            } => {
                if eof != end {
                    let (what, evidence) = if eof < end {
                        (
                            "the file ends before them",
                            format!("{} data bytes missing", end - eof),
                        )
                    } else {
                        ("bytes follow them", format!("{} trailing bytes", eof - end))
                    };
                    findings.rule(
                        Rule::SafetensorsInvalid,
                        None,
                        Some(eof.min(end)),
                        format!("the header lays out {} bytes of tensor data, ending at offset {end}, but the file is {eof} bytes long ({what}); safetensors requires the data to end exactly at the end of the file and refuses it", end - start),
                        Some(evidence),
                    );
                }
            }
            Stage::Data { end: None, .. } | Stage::Done => {}
        }
        Finished::plain(Format::Safetensors)
    }
}
