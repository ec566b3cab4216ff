//! The walk from the superblock to the root group's attributes: what each range read is for,
//! and what reading it leads to next.
//!
//! superblock → root object header (first chunk) → continuation chunks → attribute messages →
//! (variable-length strings) global heap collections; and, for dense attribute storage, attribute
//! info → fractal heap and name-index B-tree ([`super::dense`]). Only the root group's header
//! is read: datasets (the weights) and other groups never are.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::attribute::{self, HeapRef, Interest, Value};
use super::bytes::Sizes;
use super::dense::Dense;
use super::global_heap::{self, Collection};
use super::object_header::{self as oh, Extent, Layout};
use super::problems::{checksum, malformed, refused};
use super::regions::{Feed, Region, Regions};
use super::superblock::{self, Parse, Superblock};
use crate::findings::Findings;
use crate::keras::{ConfigKind, check_config};
use crate::numpy::shown;
use crate::rules::Rule;

/// Most continuation chunks followed from the root group's header.
const MAX_CHUNKS: u32 = 1024;

/// Most variable-length strings looked up in global heaps, and most texts judged.
const MAX_STRINGS: u32 = 4096;

/// Most bytes of attribute text judged.
const MAX_JUDGED_BYTES: u64 = 256 << 20;

/// Longest `keras_version` or `backend` value kept for messages.
const MAX_SHOWN: usize = 64;

/// What a range is read for.
#[derive(Debug)]
pub(super) enum Task {
    /// The superblock at offset 0.
    Superblock,
    /// The root group's object header, up to the end of its first chunk.
    Header,
    /// A continuation chunk of the root group's header.
    Chunk(Layout),
    /// A global heap collection and the strings wanted from it.
    Collection {
        /// Whether the range already spans the whole collection (not just its header).
        sized: bool,
        /// The strings to take from it.
        requests: Vec<Request>,
    },
    /// A part of dense attribute storage.
    Dense(super::dense::Part),
}

impl Task {
    /// What the range is, for messages.
    pub(super) fn what(&self) -> &'static str {
        match self {
            Task::Superblock => "the superblock",
            Task::Header => "the root group's object header",
            Task::Chunk(_) => "an object header continuation chunk",
            Task::Collection { .. } => "a global heap collection holding attribute strings",
            Task::Dense(part) => part.what(),
        }
    }
}

/// A string wanted from a global heap collection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request {
    interest: Interest,
    string: HeapRef,
}

/// Everything a step may use besides the walk's own state.
pub(super) struct Ctx<'a, 'f> {
    /// The ranges being read.
    pub(super) regions: &'a mut Regions<Task>,
    /// The bytes of the current feed.
    pub(super) feed: Feed<'f>,
    /// Where findings go.
    pub(super) findings: &'a mut Findings,
}

/// The root attributes Keras reads that were found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Whether a `model_config` attribute exists (however it turned out).
    pub(super) model_config: bool,
    /// The `keras_version` string, shortened.
    pub(super) keras_version: Option<String>,
    /// The `backend` string, shortened.
    pub(super) backend: Option<String>,
    /// Every string judged, for tests: the attribute, its offset and its text.
    #[cfg(test)]
    pub(super) texts: Vec<(Interest, Option<u64>, Vec<u8>)>,
}

/// The walk's state.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// The superblock, once read.
    pub(super) superblock: Option<Superblock>,
    /// Continuation chunks followed.
    chunks: u32,
    /// Object header chunks read or asked for (absolute offsets), to catch cycles.
    visited: BTreeSet<u64>,
    /// Global heap collections read, by absolute offset, kept for later strings.
    collections: BTreeMap<u64, Collection>,
    /// Texts judged so far, by attribute and offset, so that one text named many times is
    /// judged once.
    judged: BTreeSet<(Interest, Option<u64>, usize)>,
    /// Bytes of text judged so far.
    judged_bytes: u64,
    /// Whether a judging limit was reported.
    judging_capped: bool,
    /// Strings looked up so far.
    strings: u32,
    /// Dense attribute storage, once attribute info names it.
    pub(super) dense: Option<Dense>,
    /// What Keras would read.
    pub(super) found: Found,
}

impl Walk {
    /// The address and length widths (the superblock's, or the common 8 before it is read).
    pub(super) fn sizes(&self) -> Sizes {
        self.superblock.map_or(
            Sizes {
                offsets: 8,
                lengths: 8,
            },
            |sb| sb.sizes,
        )
    }

    /// The offset in the input of a file address. Addresses count from the base address, and
    /// libhdf5 takes the base to be where it found the superblock, whatever the superblock
    /// records (`H5F__super_read`): the input starts at the superblock, so an address is an
    /// offset of the input. (Trusting a recorded base would let a file show the scanner a decoy
    /// root group while h5py reads another.)
    pub(super) fn abs(&self, addr: u64) -> Option<u64> {
        Some(addr)
    }

    /// Handles a range that has all its bytes.
    pub(super) fn step(&mut self, region: Region<Task>, ctx: &mut Ctx<'_, '_>) {
        match region.task {
            Task::Superblock => self.superblock(region, ctx),
            Task::Header => self.header(region, ctx),
            Task::Chunk(layout) => {
                let chunk = region.buf.as_slice();
                match oh::continuation_messages(layout, chunk) {
                    Ok(range) => {
                        if !oh::continuation_checksum_ok(layout, chunk) {
                            checksum(ctx, "an object header continuation chunk", region.start);
                        }
                        self.messages(layout, chunk, range, region.start, ctx);
                    }
                    Err(why) => {
                        malformed(ctx.findings, region.start, why, "bad continuation chunk")
                    }
                }
            }
            Task::Collection { .. } => self.collection(region, ctx),
            Task::Dense(_) => super::dense::step(self, region, ctx),
        }
    }

    /// Reads the superblock and asks for the root group's header.
    fn superblock(&mut self, region: Region<Task>, ctx: &mut Ctx<'_, '_>) {
        match superblock::parse(&region.buf) {
            Parse::Need(n) if n > region.buf.len() as u64 => {
                extend(ctx, region, n);
            }
            Parse::Need(_) => {
                malformed(
                    ctx.findings,
                    0,
                    String::from("the superblock could not be decoded"),
                    "bad superblock",
                );
            }
            Parse::Bad(why) => malformed(ctx.findings, 0, why, "bad superblock"),
            Parse::Done(sb) => {
                self.superblock = Some(sb);
                if !sb.checksum_ok {
                    checksum(ctx, "the superblock", 0);
                }
                let root = sb.root.and_then(|r| self.abs(r));
                match root {
                    Some(root) => {
                        self.visited.insert(root);
                        open(ctx, root, oh::PROBE_LEN, Task::Header);
                    }
                    None => malformed(
                        ctx.findings,
                        0,
                        String::from("the superblock gives no address for the root group"),
                        "no root group",
                    ),
                }
            }
        }
    }

    /// Reads the root group's header up to the end of its first chunk.
    fn header(&mut self, region: Region<Task>, ctx: &mut Ctx<'_, '_>) {
        let have = region.buf.len() as u64;
        match oh::first_chunk(&region.buf) {
            Extent::Need(n) if n > have => {
                extend(ctx, region, n);
            }
            Extent::Done(first) if first.len > have => {
                extend(ctx, region, first.len);
            }
            Extent::Need(_) => malformed(
                ctx.findings,
                region.start,
                String::from("the root group's object header could not be decoded"),
                "bad object header",
            ),
            Extent::Done(first) => {
                if !oh::first_checksum_ok(first.layout, &region.buf) {
                    checksum(ctx, "the root group's object header", region.start);
                }
                self.messages(first.layout, &region.buf, first.messages, region.start, ctx);
            }
            Extent::Bad(why) => malformed(ctx.findings, region.start, why, "bad object header"),
        }
    }

    /// Acts on the messages of one chunk that starts at `start`.
    fn messages(
        &mut self,
        layout: Layout,
        chunk: &[u8],
        range: core::ops::Range<usize>,
        start: u64,
        ctx: &mut Ctx<'_, '_>,
    ) {
        let sizes = self.sizes();
        for message in oh::messages(layout, chunk, range) {
            let message = match message {
                Ok(message) => message,
                Err(why) => {
                    malformed(
                        ctx.findings,
                        start,
                        format!("the root group's object header: {why}"),
                        "message overruns chunk",
                    );
                    break;
                }
            };
            let data = chunk.get(message.data.clone()).unwrap_or_default();
            let at = start.saturating_add(message.data.start as u64);
            match message.kind {
                oh::CONTINUATION => match oh::continuation(data, sizes) {
                    Some((Some(addr), len)) => self.follow(layout, addr, len, at, ctx),
                    _ => malformed(
                        ctx.findings,
                        at,
                        String::from("a continuation message gives no chunk address"),
                        "bad continuation",
                    ),
                },
                oh::ATTRIBUTE if message.flags & oh::MSG_SHARED != 0 => malformed(
                    ctx.findings,
                    at,
                    String::from(
                        "an attribute of the root group is a shared message (kept in the shared message table), which modelsieve does not read",
                    ),
                    "shared attribute",
                ),
                oh::ATTRIBUTE => self.attribute(data, Some(at), ctx),
                oh::ATTRIBUTE_INFO if layout.version > 1 && self.dense.is_none() => {
                    // libhdf5 consults attribute info only in version 2 headers, and the first.
                    self.dense = Dense::start(self, data, at, ctx);
                }
                _ => {}
            }
        }
    }

    /// Follows a continuation message to its chunk.
    fn follow(&mut self, layout: Layout, addr: u64, len: u64, at: u64, ctx: &mut Ctx<'_, '_>) {
        self.chunks += 1;
        if self.chunks > MAX_CHUNKS {
            if self.chunks == MAX_CHUNKS + 1 {
                malformed(
                    ctx.findings,
                    at,
                    format!(
                        "the root group's object header has more than {MAX_CHUNKS} continuation chunks; modelsieve followed no more"
                    ),
                    "too many continuation chunks",
                );
            }
            return;
        }
        let Some(chunk) = self.abs(addr) else {
            malformed(
                ctx.findings,
                at,
                format!("a continuation points to address {addr}, beyond any file"),
                "bad continuation",
            );
            return;
        };
        if !self.visited.insert(chunk) {
            malformed(
                ctx.findings,
                at,
                format!(
                    "continuation cycle: the message at offset {at} points back to the chunk at offset {chunk}, which was already read"
                ),
                "continuation cycle",
            );
            return;
        }
        if len == 0 {
            malformed(
                ctx.findings,
                at,
                String::from("a continuation chunk of 0 bytes"),
                "bad continuation",
            );
            return;
        }
        open(ctx, chunk, len, Task::Chunk(layout));
    }

    /// Decodes an attribute message (at `at`, when known) and judges it if Keras reads it.
    pub(super) fn attribute(&mut self, msg: &[u8], at: Option<u64>, ctx: &mut Ctx<'_, '_>) {
        let sizes = self.sizes();
        let shown_at = at.unwrap_or(0);
        let attr = match attribute::parse(msg, sizes) {
            Ok(attr) => attr,
            Err(why) => {
                malformed(
                    ctx.findings,
                    shown_at,
                    format!(
                        "an attribute message of the root group could not be decoded ({why}); libhdf5 stops reading attributes there"
                    ),
                    "bad attribute",
                );
                return;
            }
        };
        let (Some(interest), Some(value)) = (Interest::of(attr.name), attr.value) else {
            return;
        };
        if interest == Interest::ModelConfig {
            self.found.model_config = true;
        }
        let config = matches!(interest, Interest::ModelConfig | Interest::TrainingConfig);
        match value {
            Err(why) if config => malformed(
                ctx.findings,
                shown_at,
                format!("the {} attribute could not be read: {why}", interest.name()),
                "unread config",
            ),
            Ok(Value::NotString(what)) if config => {
                ctx.findings.rule(
                    Rule::KerasInvalidConfig,
                    None,
                    at,
                    format!(
                        "the {} attribute is {what}, not a string: Keras cannot decode it as JSON",
                        interest.name()
                    ),
                    Some(format!("{} not a string", interest.name())),
                );
            }
            Err(_) | Ok(Value::NotString(_)) => {}
            Ok(Value::Fixed(ranges)) => {
                for range in ranges {
                    let text = msg.get(range.clone()).unwrap_or_default();
                    let offset = at.map(|a| a.saturating_add(range.start as u64));
                    self.deliver(interest, offset, text, ctx);
                }
            }
            Ok(Value::Vlen(refs)) => {
                for string in refs {
                    self.request(Request { interest, string }, ctx);
                }
            }
        }
    }

    /// Asks for a variable-length string's bytes.
    fn request(&mut self, request: Request, ctx: &mut Ctx<'_, '_>) {
        self.strings += 1;
        if self.strings > MAX_STRINGS {
            if self.strings == MAX_STRINGS + 1 {
                ctx.findings.rule(
                    Rule::ScanLimitReached,
                    None,
                    None,
                    format!("the root attributes hold more than {MAX_STRINGS} strings; modelsieve judged no more"),
                    Some(String::from("hdf5 strings")),
                );
            }
            return;
        }
        let (Some(addr), true) = (request.string.collection, request.string.len > 0) else {
            // libhdf5 reads an empty sequence without touching any heap.
            self.deliver(request.interest, None, b"", ctx);
            return;
        };
        let Some(start) = self.abs(addr) else {
            malformed(
                ctx.findings,
                0,
                format!("a string's global heap address {addr} lies beyond any file"),
                "bad heap address",
            );
            return;
        };
        if let Some(collection) = self.collections.remove(&start) {
            self.serve(&collection, start, request, ctx);
            self.collections.insert(start, collection);
            return;
        }
        let pending = ctx
            .regions
            .pending_mut(|at, task| at == start && matches!(task, Task::Collection { .. }));
        if let Some(Task::Collection { requests, .. }) = pending {
            requests.push(request);
            return;
        }
        let task = Task::Collection {
            sized: false,
            requests: Vec::from([request]),
        };
        open(ctx, start, global_heap::header_len(self.sizes()), task);
    }

    /// Reads a global heap collection: its header, then all of it, then the strings wanted.
    fn collection(&mut self, mut region: Region<Task>, ctx: &mut Ctx<'_, '_>) {
        let sizes = self.sizes();
        if let Task::Collection {
            sized: sized @ false,
            ..
        } = &mut region.task
        {
            match global_heap::size(&region.buf, sizes) {
                Ok(size) => {
                    *sized = true;
                    extend(ctx, region, size);
                }
                Err(why) => malformed(ctx.findings, region.start, why, "bad global heap"),
            }
            return;
        }
        let start = region.start;
        let Task::Collection { requests, .. } = region.task else {
            return;
        };
        let collection = Collection::new(region.buf, sizes);
        for request in requests {
            self.serve(&collection, start, request, ctx);
        }
        self.collections.insert(start, collection);
    }

    /// Takes one string from a collection read whole.
    fn serve(
        &mut self,
        collection: &Collection,
        start: u64,
        request: Request,
        ctx: &mut Ctx<'_, '_>,
    ) {
        let index = request.string.index;
        match collection.object(index) {
            Ok(Some(range)) => {
                let data = collection.bytes.get(range.clone()).unwrap_or_default();
                let offset = start.saturating_add(range.start as u64);
                if data.len() as u64 != u64::from(request.string.len) {
                    malformed(
                        ctx.findings,
                        offset,
                        format!(
                            "the {} string says it is {} bytes long but its global heap object holds {}; libhdf5 refuses to read it",
                            request.interest.name(),
                            request.string.len,
                            data.len()
                        ),
                        "string length mismatch",
                    );
                }
                // h5py hands variable-length strings over as C strings: a NUL ends them.
                let text = data.split(|&b| b == 0).next().unwrap_or_default();
                self.deliver(request.interest, Some(offset), text, ctx);
            }
            Ok(None) => malformed(
                ctx.findings,
                start,
                format!(
                    "the global heap collection at offset {start} has no object {index}, which the {} attribute names",
                    request.interest.name()
                ),
                "missing heap object",
            ),
            Err(why) => malformed(ctx.findings, start, why, "bad global heap"),
        }
    }

    /// Judges one string of an attribute Keras reads.
    fn deliver(
        &mut self,
        interest: Interest,
        offset: Option<u64>,
        text: &[u8],
        ctx: &mut Ctx<'_, '_>,
    ) {
        // Many attributes (or many elements of one) may name the same bytes: judge them once,
        // and judge at most so many texts and bytes.
        if self.judged.contains(&(interest, offset, text.len())) {
            return;
        }
        let bytes = self.judged_bytes.saturating_add(text.len() as u64);
        if self.judged.len() >= MAX_STRINGS as usize || bytes > MAX_JUDGED_BYTES {
            if !self.judging_capped {
                self.judging_capped = true;
                ctx.findings.rule(
                    Rule::ScanLimitReached,
                    None,
                    offset,
                    format!("the root attributes hold more than {MAX_STRINGS} strings or {} MiB of text to judge; modelsieve judged no more", MAX_JUDGED_BYTES >> 20),
                    Some(String::from("hdf5 strings")),
                );
            }
            return;
        }
        self.judged.insert((interest, offset, text.len()));
        self.judged_bytes = bytes;
        #[cfg(test)]
        self.found.texts.push((interest, offset, Vec::from(text)));
        match interest {
            Interest::ModelConfig => {
                if check_config(text, offset, ctx.findings) == ConfigKind::NotKeras {
                    ctx.findings.rule(
                        Rule::KerasInvalidConfig,
                        None,
                        offset,
                        String::from("the model_config attribute is JSON but no Keras config (no object in it names a class_name): Keras cannot build a model from it"),
                        Some(String::from("model_config not a Keras config")),
                    );
                }
            }
            Interest::TrainingConfig => {
                // Compile arguments may name no class at all (`{"loss": "mse"}`).
                check_config(text, offset, ctx.findings);
            }
            Interest::KerasVersion | Interest::Backend => {
                let value = String::from_utf8_lossy(text);
                let kept: String = value.chars().take(MAX_SHOWN).collect();
                let slot = if interest == Interest::KerasVersion {
                    &mut self.found.keras_version
                } else {
                    &mut self.found.backend
                };
                slot.get_or_insert(shown(&kept));
            }
        }
    }
}

/// Reads `len` bytes at `start` for `task`, reporting why when that is not possible.
pub(super) fn open(ctx: &mut Ctx<'_, '_>, start: u64, len: u64, task: Task) -> bool {
    match ctx.regions.open(start, len, task, ctx.feed) {
        Ok(()) => true,
        Err((why, task)) => {
            refused(ctx.findings, task.what(), start, len, why);
            false
        }
    }
}

/// Continues a range to `len` bytes, reporting why when that is not possible.
pub(super) fn extend(ctx: &mut Ctx<'_, '_>, region: Region<Task>, len: u64) -> bool {
    let start = region.start;
    match ctx.regions.extend(region, len, ctx.feed) {
        Ok(()) => true,
        Err((why, region)) => {
            refused(ctx.findings, region.task.what(), start, len, why);
            false
        }
    }
}
