//! The sans-IO scanner: fed bytes at offsets, it says which bytes it wants next.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::findings::Findings;
use crate::hdf5::UserBlock;
use crate::limits::Limits;
use crate::pickle::PickleStream;
use crate::policy::Policy;
use crate::reader::{Finished, Reader};
use crate::report::{Finding, Format, Report, Verdict};
use crate::rules::Rule;
use crate::sniff::{SNIFF_LEN, Sniffed, sniff};
use crate::torchscript::CodeScan;
use crate::zip::Tail;
use crate::{compressed, gguf, numpy, safetensors, tar, zip};

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
    /// A format reader is running.
    Reading(Box<dyn Reader>),
    /// Recognised a format that cannot be opened (already reported).
    Opaque,
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
    /// A container member: unrecognised content is not worth a finding of its own (a README in
    /// a zip), since the container reports what matters about it.
    is_member: bool,
    inflated: u64,
    /// The file's last bytes, kept while its start is not recognised, for an archive
    /// appended to other data ([`crate::zip::Tail`]).
    tail: Option<Box<Tail>>,
    /// The search for an HDF5 superblock after a user block, in a file that does not start
    /// with one ([`crate::hdf5::UserBlock`]).
    user_block: Option<Box<UserBlock>>,
    /// The search of a TorchScript source member for what it does on load
    /// ([`crate::torchscript`]), beside whatever its bytes sniff as.
    code: Option<Box<CodeScan>>,
}

/// What a format reader needs to know about the input it reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Input {
    /// Bytes in the input, when known (a seeking driver, a member with a known size).
    pub(crate) size: Option<u64>,
    /// How deeply this input is nested in the file (0 for the file itself).
    pub(crate) depth: u32,
    /// The scan's limits; `max_inflated_bytes` is what this input may still decompress.
    pub(crate) limits: Limits,
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
            is_member: false,
            inflated: 0,
            tail: None,
            user_block: None,
            code: None,
        }
    }

    /// A scanner for a member of a container.
    pub(crate) fn member(
        policy: &Policy,
        limits: Limits,
        depth: u32,
        size: Option<u64>,
    ) -> Scanner {
        Scanner {
            is_member: true,
            ..Scanner::nested(policy, limits, depth, size)
        }
    }

    /// Also searches the member's bytes as TorchScript source ([`crate::torchscript`]): for a
    /// container member that `torch.jit.load` compiles.
    pub(crate) fn scan_code(&mut self) {
        self.code = Some(Box::default());
    }

    /// The bytes the scanner wants next. Call it after every [`feed`](Scanner::feed); a seeking
    /// driver reads what it names, a streaming driver may ignore it.
    pub fn want(&self) -> Want {
        match self.next_read() {
            Some((offset, len)) => Want::Range { offset, len },
            None => Want::Done,
        }
    }

    /// The offset [`want`](Scanner::want) names, or `None` when it says done.
    pub(crate) fn wanted_offset(&self) -> Option<u64> {
        self.next_read().map(|(offset, _)| offset)
    }

    /// The next read a seeking driver should make, offset and length: the first of what the
    /// format's reader wants and what the search for an HDF5 superblock after a user block
    /// (or the HDF5 file it found) wants, the search reading eight bytes at a time, not a
    /// reader's worth (a few bytes at each power of two of a huge file); once both want
    /// nothing, the end of an unrecognised file, for an appended archive. Bytes read for one
    /// are fed to all, and bytes a reader no longer wants are ignored by it, as with any
    /// streamed byte.
    fn next_read(&self) -> Option<(u64, u64)> {
        let probe = || {
            let probe = self.user_block.as_ref()?;
            let offset = probe.wanted(self.user_block_floor())?;
            Some((offset, probe.wanted_len().unwrap_or(READ_HINT)))
        };
        let tail = || Some((self.tail_wanted()?, READ_HINT));
        let code = || Some((self.code.as_ref()?.wanted(), READ_HINT));
        let (offset, len) = match &self.stage {
            Stage::Sniffing(buf) => (buf.len() as u64, READ_HINT),
            Stage::Reading(reader) => match reader.wanted() {
                // A TorchScript source search reads every byte in order: a reader that skips
                // ahead must not make the container skip what the search still needs.
                Some(offset) if self.size.is_none_or(|size| offset < size) => {
                    let code = self.code.as_ref().map_or(offset, |c| c.wanted());
                    let read = (offset.min(code), READ_HINT);
                    // The search and its HDF5 file are fed beside the reader from bytes read
                    // for either, so a reader that jumps ahead (over the padding after a tar
                    // member, over a zip member it cannot open) must not make the driver skip
                    // what they still need: a streaming driver passes those bytes, and the
                    // HDF5 file found at 512 would be cut short (`scan.incomplete`), or a
                    // signature inside the bytes jumped over missed, only when seeking.
                    probe().filter(|first| first.0 < read.0).unwrap_or(read)
                }
                _ if reader.unrecognized() => probe().or_else(code).or_else(tail)?,
                _ => probe().or_else(code)?,
            },
            Stage::Unrecognized(_) => probe().or_else(code).or_else(tail)?,
            Stage::Opaque | Stage::Gap => code()?,
        };
        match self.size {
            Some(size) if offset >= size => None,
            _ => Some((offset, len)),
        }
    }

    /// From where an HDF5 superblock after a user block is looked for (see
    /// [`Reader::user_block_from`]): anywhere in an unrecognised file; where the reader says
    /// in a recognised one; nowhere once the driver skipped bytes.
    fn user_block_floor(&self) -> Option<u64> {
        match &self.stage {
            Stage::Unrecognized(_) => Some(0),
            Stage::Reading(reader) => reader.user_block_from(),
            Stage::Sniffing(_) | Stage::Opaque | Stage::Gap => None,
        }
    }

    /// The next offset of the file's tail that a seeking driver should read, if an unrecognised
    /// file's tail is still needed.
    fn tail_wanted(&self) -> Option<u64> {
        self.tail.as_ref()?.wanted(self.size?)
    }

    /// Whether the scan has taken in all of an input `len` bytes long and would read on if there
    /// were more, as opposed to having stopped early (numeric data it skips, unrecognised bytes).
    /// Depends only on the bytes, never on how they were split, so containers can base
    /// checks of the whole content (a zip member's CRC) on it in every driver alike.
    pub(crate) fn took_everything(&self, len: u64) -> bool {
        match &self.stage {
            Stage::Sniffing(buf) => buf.len() as u64 >= len,
            Stage::Reading(reader) => {
                !reader.skipped() && reader.wanted().is_some_and(|w| w >= len)
            }
            Stage::Opaque | Stage::Unrecognized(_) | Stage::Gap => false,
        }
    }

    /// Whether the scan passed over bytes without judging them (see [`Reader::skipped`]).
    pub(crate) fn skipped(&self) -> bool {
        matches!(&self.stage, Stage::Reading(reader) if reader.skipped())
    }

    /// Gives the scanner `bytes` found at absolute `offset` in the file. Bytes may arrive in
    /// pieces of any size, overlap what was fed before, or (in a seeking driver) skip ahead to
    /// where [`want`](Scanner::want) pointed.
    pub fn feed(&mut self, offset: u64, bytes: &[u8]) {
        // Bytes past the announced size are not part of the input (a member whose content
        // outruns its declared size): without this, where they were cut off would depend on
        // how they arrived.
        let bytes = match self.size {
            Some(size) if offset >= size => return,
            Some(size) => bytes
                .get(
                    ..usize::try_from(size - offset)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len()),
                )
                .unwrap_or_default(),
            None => bytes,
        };
        let end = offset.saturating_add(bytes.len() as u64);
        self.bytes_read += end.saturating_sub(offset.max(self.fed_end));
        self.fed_end = self.fed_end.max(end);
        // Before the sniffer, which keeps bytes back until it has enough to decide.
        if let Some(code) = &mut self.code {
            code.feed(offset, bytes);
        }
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
        if let Stage::Reading(reader) = &mut self.stage
            && reader.feed(offset, bytes, &mut self.findings).is_err()
        {
            self.stage = Stage::Gap;
        }
        // A recognised pickle is judged as one: its end need not be kept for an archive.
        if matches!(&self.stage, Stage::Reading(reader) if reader.recognized()) {
            self.tail = None;
        }
        if let Some(tail) = &mut self.tail {
            tail.feed(offset, bytes);
        }
        let floor = self.user_block_floor();
        if let Some(probe) = &mut self.user_block {
            probe.feed(offset, bytes, floor, &mut self.findings);
        }
    }

    /// Chooses the format from the sniffed prefix and replays the prefix into its reader.
    fn decide(&mut self) {
        let Stage::Sniffing(prefix) = core::mem::replace(&mut self.stage, Stage::Gap) else {
            return;
        };
        let input = Input {
            size: self.size,
            depth: self.depth,
            limits: self.limits,
        };
        let policy = self.findings.policy().clone();
        let sniffed = sniff(&prefix);
        // A file whose start is unknown, or only may be a pickle or JSON, may still end in a
        // zip (zipfile, and so Keras' load_model, opens an archive from its end record).
        if self.depth == 0 && matches!(sniffed, Sniffed::Unknown | Sniffed::Pickle | Sniffed::Json)
        {
            let mut tail = Box::new(Tail::new(self.size));
            tail.feed(0, &prefix);
            self.tail = Some(tail);
        }
        // libhdf5 finds a superblock after a user block whatever the block holds, so a file
        // named `.h5` is an HDF5 file to h5py even when its start is another format (where
        // the search looks is the reader's say, `Reader::user_block_from`).
        if self.depth == 0 && sniffed != Sniffed::Hdf5 {
            self.user_block = Some(Box::new(UserBlock::new(self.size, self.limits, self.depth)));
        }
        let mut reader: Box<dyn Reader> = match sniffed {
            Sniffed::Pickle => {
                let stream = PickleStream::new(&policy, self.limits, self.depth, None);
                // A file or a container member is what joblib.load and torch.load open; bytes
                // nested in a pickle reach only pickle.loads.
                if self.depth > 0 && !self.is_member {
                    Box::new(stream.plain())
                } else {
                    Box::new(stream)
                }
            }
            Sniffed::Zip => Box::new(zip::ZipReader::new(input)),
            Sniffed::Tar => Box::new(tar::TarReader::new(input)),
            Sniffed::Gzip => Box::new(compressed::Inflated::gzip(input)),
            Sniffed::Zlib => Box::new(compressed::Inflated::zlib(input)),
            Sniffed::JoblibZfile(start) => {
                Box::new(compressed::Inflated::joblib_zfile(input, start))
            }
            Sniffed::Npy => Box::new(numpy::NpyReader::new(input)),
            Sniffed::Safetensors => {
                let tensors = safetensors::SafetensorsReader::new(input);
                match prefix.first() {
                    // A length whose first byte is an opcode may be a crafted pickle.
                    Some(&b) if crate::pickle::opcodes::name(b).is_some() => {
                        let pickle = PickleStream::new(&policy, self.limits, self.depth, None);
                        Box::new(safetensors::OrPickle::new(tensors, pickle, &self.findings))
                    }
                    _ => Box::new(tensors),
                }
            }
            Sniffed::Gguf => Box::new(gguf::new(input)),
            Sniffed::Hdf5 => Box::new(crate::hdf5::Hdf5Reader::new(input)),
            Sniffed::Json => Box::new(crate::keras::JsonReader::new(input)),
            Sniffed::Protobuf => crate::protobuf::reader(input, None, &self.findings),
            Sniffed::Unscannable(format) => {
                self.format = format;
                self.findings.rule(
                    Rule::ArchiveUnscannable,
                    None,
                    Some(0),
                    format!(
                        "{format} data cannot be opened by modelsieve; its content was not judged"
                    ),
                    Some(String::from(format.as_str())),
                );
                self.stage = Stage::Opaque;
                return;
            }
            Sniffed::Unknown => {
                self.stage = Stage::Unrecognized(prefix);
                return;
            }
        };
        // Protobuf has no magic, and its parsers keep unknown fields of any number, so bytes
        // that another format's sniff claimed (a pickle opcode, a JSON object, a safetensors
        // length) may also be a model that `onnx.load` or TensorFlow reads: read both ways.
        if sniffed != Sniffed::Protobuf && crate::protobuf::looks_like_message(&prefix) {
            reader = crate::protobuf::reader(input, Some(reader), &self.findings);
        }
        self.stage = if reader.feed(0, &prefix, &mut self.findings).is_err() {
            Stage::Gap
        } else {
            Stage::Reading(reader)
        };
    }

    /// Ends the scan and returns the report. Call it when `want` says [`Want::Done`] or the
    /// input ended; whatever the scanner still needed is reported as missing.
    pub fn finish(self) -> Report {
        let (size, bytes_read) = (self.size, self.bytes_read);
        let (findings, finished) = self.finish_member();
        Report {
            path: String::new(),
            format: finished.format,
            verdict: Verdict::from_findings(&findings),
            bytes_read,
            size,
            findings,
        }
    }

    /// Ends the scan and returns its findings and what the input was, for a parent container.
    pub(crate) fn finish_member(mut self) -> (Vec<Finding>, Finished) {
        if matches!(self.stage, Stage::Sniffing(_)) {
            self.decide();
        }
        let eof = self.size.unwrap_or(self.fed_end).max(self.fed_end);
        if let Stage::Reading(reader) = &mut self.stage {
            reader.settle(&mut self.findings);
        }
        let stage = core::mem::replace(&mut self.stage, Stage::Gap);
        if let Some(needed) = self.missing_from(&stage, eof) {
            // A member's container stops feeding it wherever its driver stopped reading, so
            // only a file's own scan can say from where bytes were missing.
            let (offset, message) = if self.is_member {
                (
                    None,
                    String::from(
                        "the member ended before the scanner had all it needed: its data is shorter than its header declares",
                    ),
                )
            } else {
                (
                    Some(needed),
                    format!(
                        "the scanner needed bytes from offset {needed}, which the input did not supply"
                    ),
                )
            };
            self.findings
                .rule(Rule::ScanIncomplete, None, offset, message, None);
        }
        let hdf5 = self
            .user_block
            .take()
            .and_then(|probe| probe.finish(&mut self.findings));
        if let Some(code) = self.code.take() {
            code.finish(&mut self.findings);
        }
        match stage {
            Stage::Reading(reader) => {
                let finished = reader.finish(eof, &mut self.findings);
                self.format = finished.format;
                self.inflated = self.inflated.saturating_add(finished.inflated);
                if finished.format == Format::Unknown && !self.other_formats(hdf5, eof) {
                    self.unrecognized(&[]);
                }
            }
            Stage::Unrecognized(prefix) => {
                if !self.other_formats(hdf5, eof) {
                    self.unrecognized(&prefix);
                }
            }
            Stage::Sniffing(_) | Stage::Opaque => {}
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
        let finished = Finished {
            format: self.format,
            inflated: self.inflated,
        };
        (self.findings.into_vec(), finished)
    }

    /// Judges what an unrecognised file may still be (an HDF5 file after a user block, already
    /// scanned as `hdf5`, and a zip archive at its end) and takes the format of the first;
    /// returns whether it was either.
    fn other_formats(&mut self, hdf5: Option<Finished>, eof: u64) -> bool {
        let archive = self.appended_archive(eof);
        if let Some(hdf5) = hdf5 {
            self.format = hdf5.format;
            return true;
        }
        archive
    }

    /// Judges a zip archive appended to an unrecognised file; returns whether there was one.
    fn appended_archive(&mut self, eof: u64) -> bool {
        let Some(tail) = self.tail.take() else {
            return false;
        };
        let policy = self.findings.policy().clone();
        match tail.judge(eof, &policy, self.limits, self.depth, &mut self.findings) {
            Some(format) => {
                self.format = format;
                true
            }
            None => false,
        }
    }

    /// Where the file was announced to continue but the driver stopped feeding.
    fn missing_from(&self, stage: &Stage, eof: u64) -> Option<u64> {
        let wanted = match stage {
            Stage::Reading(reader) => reader.wanted()?,
            _ => return None,
        };
        (self.size.is_some() && wanted < eof && self.fed_end < eof)
            .then_some(wanted.max(self.fed_end))
    }

    fn unrecognized(&mut self, prefix: &[u8]) {
        if self.is_member {
            return;
        }
        let message = if self.fed_end == 0 {
            String::from("the file is empty")
        } else {
            String::from("not a model format modelsieve recognises; nothing in it was interpreted")
        };
        let mut hex = String::new();
        for b in prefix.iter().take(8) {
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

/// Scans bytes held in memory: nested inside another file (a pickle passed to
/// `pickle.loads`, a base64 constant, an archive appended to other data) at `depth`, or a
/// whole file at depth 0.
pub(crate) fn scan_nested(bytes: &[u8], policy: &Policy, limits: Limits, depth: u32) -> Report {
    let mut scanner = Scanner::nested(policy, limits, depth, Some(bytes.len() as u64));
    scanner.feed(0, bytes);
    // Everything is at hand, so whatever the scanner asks for after reading in order (a zip
    // member the central directory lists behind the read position, a file's tail) is served.
    let mut last = None;
    while let Want::Range { offset, .. } = scanner.want() {
        let Some(rest) = usize::try_from(offset).ok().and_then(|o| bytes.get(o..)) else {
            break;
        };
        if rest.is_empty() || last == Some(offset) {
            break;
        }
        last = Some(offset);
        scanner.feed(offset, rest);
    }
    scanner.finish()
}
