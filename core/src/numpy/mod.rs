//! NumPy `.npy` files, read as `numpy.load` reads them (`numpy/lib/format.py`).
//!
//! Layout: the magic `\x93NUMPY`, major and minor version bytes, the header length (u16 LE in
//! format 1.0, u32 LE in 2.0 and 3.0), the header (a Python dict literal, latin-1 or, in 3.0,
//! UTF-8), then the data.
//!
//! The header is parsed ([`literal`]) and checked ([`header`]) as numpy checks it, and its
//! `descr` tells ([`dtype`]) what follows:
//! - a numeric array: `itemsize × product(shape)` raw bytes, which are never read; only their
//!   length is compared with the input's;
//! - an object array (any `O` in the dtype, or a `StringDType`): numpy saved the whole array
//!   with `pickle.dump`, and `numpy.load(allow_pickle=True)` calls `pickle.load` on the rest of
//!   the file. Those bytes go to a child scan reported under the member `#pickle@<offset>`,
//!   `<offset>` being where the data starts in this input (the convention of pickles found
//!   inside constants), with finding offsets relative to the data's first byte. Headers
//!   modelsieve cannot fully read are treated the same way, since they might describe objects.

/// The `descr` value: item size and objects.
mod dtype;
/// The header dict and what numpy does after it.
mod header;
/// The Python literal syntax of the header.
mod literal;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use self::header::{NUMPY_MAX_HEADER, Then, Version};
use crate::findings::Findings;
use crate::reader::{Finished, Gap, Member, Reader};
use crate::report::{Format, Severity};
use crate::rules::Rule;
use crate::scanner::Input;

/// The first six bytes of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Magic and version.
const VERSION_END: usize = 8;

/// Longest header parsed. numpy itself stops at 10 000 characters by default (a finding), but
/// `allow_pickle=True` lifts its limit, so longer headers are read up to this bound; beyond it
/// the header is skipped unread and the data scanned as a possible pickle.
const MAX_HEADER: u64 = 1 << 20;

/// Where the reader is in the file.
#[derive(Debug)]
enum Stage {
    /// Gathering magic, version and header length; holds the bytes from offset 0.
    Preamble(Vec<u8>),
    /// Gathering the header text.
    Header {
        /// The format version.
        version: Version,
        /// Offset of the header's first byte.
        start: u64,
        /// Header length in bytes.
        len: u64,
        /// The header bytes gathered so far.
        buf: Vec<u8>,
    },
    /// An object array, or one that may be: the data is scanned as a pickle.
    Pickle {
        /// Offset of the data.
        data: u64,
        /// The child scan (`None` when nesting was too deep, already reported).
        member: Option<Member>,
        /// Whether numpy certainly unpickles the data (a valid header with objects).
        certain: bool,
    },
    /// A numeric array, skipped unread.
    Raw {
        /// Offset of the data.
        data: u64,
        /// Bytes of data the header announces.
        bytes: u64,
    },
    /// Nothing more to read: numpy fails at the header (reported).
    Done,
}

/// A `.npy` file.
#[derive(Debug)]
pub(crate) struct NpyReader {
    input: Input,
    stage: Stage,
    /// Whether the input started with the magic (the sniffer only hands such inputs here).
    magic_ok: bool,
    /// End of the furthest byte fed, to tell trailing data apart when the size is unknown.
    fed_end: u64,
    /// Bytes the child scan decompressed.
    inflated: u64,
}

impl NpyReader {
    /// A reader for an input that starts with `\x93NUMPY`.
    pub(crate) fn new(input: Input) -> NpyReader {
        NpyReader {
            input,
            stage: Stage::Preamble(Vec::new()),
            magic_ok: true,
            fed_end: 0,
            inflated: 0,
        }
    }

    /// Finishes the preamble in `buf` once [`preamble_len`] bytes are there; always leaves the
    /// preamble stage.
    fn preamble_done(&mut self, buf: &[u8], findings: &mut Findings) {
        if buf.get(..MAGIC.len()) != Some(MAGIC) {
            self.magic_ok = false;
            self.stage = Stage::Done;
            return;
        }
        let Some(&[major, minor]) = buf.get(MAGIC.len()..VERSION_END) else {
            self.stage = Stage::Done;
            return;
        };
        let length = match buf.get(VERSION_END..) {
            Some(&[a, b]) if major == 1 => u64::from(u16::from_le_bytes([a, b])),
            Some(&[a, b, c, d]) => u64::from(u32::from_le_bytes([a, b, c, d])),
            _ => {
                findings.rule(
                    Rule::NumpyMalformedHeader,
                    None,
                    Some(MAGIC.len() as u64),
                    format!("the .npy format version is {major}.{minor}; numpy reads only versions 1.0, 2.0 and 3.0, so numpy.load fails"),
                    Some(format!("version {major}.{minor}")),
                );
                self.stage = Stage::Done;
                return;
            }
        };
        let start = buf.len() as u64;
        if length > MAX_HEADER {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                Some(VERSION_END as u64),
                format!("the header is {length} bytes, more than the {MAX_HEADER} modelsieve parses (numpy.load refuses headers over {NUMPY_MAX_HEADER} characters unless max_header_size is raised or allow_pickle=True is passed); the data after it was scanned as a possible pickle"),
                Some(format!("header length {length}")),
            );
            self.start_pickle(start + length, false, findings);
            return;
        }
        self.stage = Stage::Header {
            version: Version { major },
            start,
            len: length,
            buf: Vec::new(),
        };
    }

    /// Judges the complete header and decides what to do with the data.
    fn header_done(&mut self, version: Version, start: u64, text: &[u8], findings: &mut Findings) {
        let reading = header::read(text, version);
        for p in reading.problems {
            findings.push(
                p.rule,
                p.severity,
                None,
                Some(start + p.at as u64),
                p.message,
                Some(p.evidence),
            );
        }
        let data = start + text.len() as u64;
        self.stage = match reading.then {
            Then::Raw { bytes } => Stage::Raw { data, bytes },
            Then::Pickle { certain } => {
                self.start_pickle(data, certain, findings);
                return;
            }
            Then::Nothing => Stage::Done,
        };
    }

    /// Starts the child scan of the data at `data`.
    fn start_pickle(&mut self, data: u64, certain: bool, findings: &mut Findings) {
        let limits = self.input.limits;
        let member = Member::start(
            format!("#pickle@{data}"),
            self.input.size.map(|s| s.saturating_sub(data)),
            self.input.depth,
            limits,
            limits.max_inflated_bytes,
            findings,
        );
        self.stage = Stage::Pickle {
            data,
            member,
            certain,
        };
    }

    /// Reports a header that the input ends inside of.
    fn truncated_header(header_end: u64, eof: u64, findings: &mut Findings) {
        findings.rule(
            Rule::NumpyMalformedHeader,
            None,
            Some(eof),
            format!("the input ends at offset {eof}, inside the .npy header, which runs to offset {header_end}; numpy.load fails reading it"),
            Some(format!("header ends at {header_end}")),
        );
    }
}

/// How many preamble bytes are needed, given those in `buf`: magic and version first, then
/// the header length, whose width the version decides (an unknown version needs no more).
fn preamble_len(buf: &[u8]) -> usize {
    match buf.get(MAGIC.len()..VERSION_END) {
        Some([1, 0]) => VERSION_END + 2,
        Some([2 | 3, 0]) => VERSION_END + 4,
        Some(_) => VERSION_END,
        None => VERSION_END,
    }
}

/// Appends to `buf`, which holds the input from offset `base`, the bytes of `data` (found at
/// `offset`) until `buf` holds `target` bytes. A piece that starts past the end of `buf` is a
/// [`Gap`]: the header must be read whole.
pub(crate) fn fill(
    buf: &mut Vec<u8>,
    base: u64,
    target: usize,
    offset: u64,
    data: &[u8],
) -> Result<(), Gap> {
    let have = base + buf.len() as u64;
    let end = offset.saturating_add(data.len() as u64);
    if data.is_empty() || end <= have {
        return Ok(());
    }
    if offset > have {
        return Err(Gap { expected: have });
    }
    let skip = usize::try_from(have - offset).unwrap_or(usize::MAX);
    let fresh = data.get(skip..).unwrap_or_default();
    let take = fresh.len().min(target.saturating_sub(buf.len()));
    buf.extend_from_slice(fresh.get(..take).unwrap_or_default());
    Ok(())
}

impl Reader for NpyReader {
    fn skipped(&self) -> bool {
        matches!(&self.stage, Stage::Pickle { member: Some(m), .. } if m.skipped())
    }

    fn user_block_from(&self) -> Option<u64> {
        // Past the numeric data, which is never read; an object array's pickle is read to
        // the end, so from its start.
        match &self.stage {
            Stage::Raw { data, bytes } => Some(data.saturating_add(*bytes)),
            Stage::Pickle { data, .. } => Some(*data),
            Stage::Preamble(_) | Stage::Header { .. } | Stage::Done => None,
        }
    }

    fn wanted(&self) -> Option<u64> {
        match &self.stage {
            Stage::Preamble(buf) => Some(buf.len() as u64),
            Stage::Header { start, buf, .. } => Some(start + buf.len() as u64),
            Stage::Pickle { data, member, .. } => member
                .as_ref()
                .and_then(Member::wanted)
                .map(|w| data.saturating_add(w)),
            Stage::Raw { data, bytes } => {
                // With the size known the data length is checked without reading anything.
                // Without it, one byte past the data tells whether anything trails it.
                let end = data.saturating_add(*bytes);
                (self.input.size.is_none() && self.fed_end <= end).then_some(end)
            }
            Stage::Done => None,
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        self.fed_end = self.fed_end.max(offset.saturating_add(data.len() as u64));
        // Each turn either waits for more bytes, or completes a stage and moves to the next,
        // which may use the rest of the same piece.
        loop {
            match &mut self.stage {
                Stage::Preamble(buf) => {
                    // Magic and version first: the version decides how wide the length is.
                    while buf.len() < preamble_len(buf) {
                        let before = buf.len();
                        fill(buf, 0, preamble_len(buf), offset, data)?;
                        if buf.len() == before {
                            return Ok(());
                        }
                    }
                    let buf = core::mem::take(buf);
                    self.preamble_done(&buf, findings);
                }
                Stage::Header {
                    version,
                    start,
                    len,
                    buf,
                } => {
                    let target = usize::try_from(*len).unwrap_or(usize::MAX);
                    fill(buf, *start, target, offset, data)?;
                    if buf.len() < target {
                        return Ok(());
                    }
                    let (version, start, text) = (*version, *start, core::mem::take(buf));
                    self.header_done(version, start, &text, findings);
                }
                Stage::Pickle {
                    data: at,
                    member: Some(member),
                    ..
                } => {
                    let end = offset.saturating_add(data.len() as u64);
                    if end > *at {
                        let from = offset.max(*at);
                        let skip = usize::try_from(from - offset).unwrap_or(usize::MAX);
                        member.feed(from - *at, data.get(skip..).unwrap_or_default());
                    }
                    return Ok(());
                }
                Stage::Pickle { member: None, .. } | Stage::Raw { .. } | Stage::Done => {
                    return Ok(());
                }
            }
        }
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let mut this = *self;
        let stage = core::mem::replace(&mut this.stage, Stage::Done);
        match stage {
            Stage::Preamble(buf) => {
                // Only when the input really ends here; a driver that stopped early is reported
                // by the scanner.
                if eof <= buf.len() as u64 {
                    findings.rule(
                        Rule::NumpyMalformedHeader,
                        None,
                        Some(eof),
                        format!("the input ends at offset {eof}, inside the .npy magic, version and header length; numpy.load fails reading them"),
                        Some(String::from("truncated preamble")),
                    );
                }
            }
            Stage::Header {
                start, len, buf, ..
            } => {
                if eof <= start + buf.len() as u64 {
                    NpyReader::truncated_header(start + len, eof, findings);
                }
            }
            Stage::Pickle {
                data,
                member,
                certain,
            } => {
                if eof < data {
                    NpyReader::truncated_header(data, eof, findings);
                } else if let Some(member) = member {
                    let finished = member.finish(findings);
                    this.inflated = this.inflated.saturating_add(finished.inflated);
                    // Formats built on a pickle stream start with one, which is what
                    // pickle.load reads.
                    let pickled = matches!(
                        finished.format,
                        Format::Pickle | Format::Joblib | Format::PytorchLegacy
                    );
                    if certain && !pickled {
                        findings.rule(
                            Rule::PickleMalformed,
                            None,
                            Some(data),
                            format!("the array holds Python objects, so numpy.load unpickles the bytes after the header, but they are not a pickle ({}); numpy.load fails", if eof == data { String::from("there are none") } else { format!("they read as {}", finished.format) }),
                            Some(String::from("object array data is not a pickle")),
                        );
                    }
                }
            }
            Stage::Raw { data, bytes } => {
                let end = data.saturating_add(bytes);
                if eof < end {
                    findings.rule(
                        Rule::NumpyMalformedHeader,
                        None,
                        Some(data),
                        format!("the header's shape and dtype need {bytes} bytes of data from offset {data}, but the input ends at offset {eof}; numpy.load fails"),
                        Some(format!("{} of {bytes} data bytes", eof.saturating_sub(data))),
                    );
                } else if eof > end {
                    findings.push(
                        Rule::NumpyMalformedHeader,
                        Severity::Low,
                        None,
                        Some(end),
                        format!("bytes follow the array data from offset {end}; numpy.load ignores them, and modelsieve did not read them"),
                        Some(String::from("trailing bytes")),
                    );
                }
            }
            Stage::Done => {}
        }
        let format = if this.magic_ok {
            Format::Npy
        } else {
            Format::Unknown
        };
        Finished {
            format,
            inflated: this.inflated,
        }
    }
}

/// Characters of header text a finding quotes.
const SHOWN_CHARS: usize = 40;

/// `text` made safe to quote in a finding: at most [`SHOWN_CHARS`] characters (then `…`),
/// with control, line-separator and bidirectional-override characters escaped, so a hostile
/// header can neither break the report's lines nor disguise what it quotes.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN_CHARS {
            out.push('\u{2026}');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}'
            | '\u{2029}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}
