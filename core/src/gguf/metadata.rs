//! The GGUF header, parsed one field group at a time.
//!
//! Each [`Parser::step`] reads one group (the preamble, the counts, a key with its type and a
//! scalar or string value or an array's head, one array element, a tensor info) from the start
//! of the bytes given, or says how many bytes the group needs. A group is read whole or not at
//! all, so any split of the input gives the same findings.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::template;
use crate::findings::Findings;
use crate::numpy::shown;
use crate::rules::Rule;

/// Longest string (key, value, tensor name) read.
pub(super) const MAX_STRING: u64 = 64 << 20;

/// Most items an array may hold.
const MAX_ARRAY: u64 = 1 << 24;

/// Deepest nesting of arrays.
const MAX_NESTING: usize = 8;

/// Most dimensions a tensor may have (llama.cpp's `GGML_MAX_DIMS` is 4; 8 is lenient).
const MAX_DIMS: u32 = 8;

/// Value type of a string.
const TYPE_STRING: u32 = 8;

/// Value type of an array.
const TYPE_ARRAY: u32 = 9;

/// Alignment of the data section when `general.alignment` does not say.
const DEFAULT_ALIGNMENT: u64 = 32;

/// What one step did.
#[derive(Debug)]
pub(super) enum Step {
    /// Read a group of this many bytes.
    Consumed(usize),
    /// The group needs this many bytes (more than were given).
    Need(usize),
    /// The header is broken (reported); nothing more can be read.
    Stop,
    /// The tensor infos are complete; the data section is as described.
    Finished(DataExtent),
}

/// Where the tensor data lies, as the tensor infos say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DataExtent {
    /// Offset of the data section (the end of the tensor infos, aligned).
    pub(super) start: u64,
    /// Number of tensors.
    pub(super) tensors: u64,
    /// The furthest end of any tensor's data, relative to `start`, and that tensor's name.
    pub(super) furthest: Option<(u64, String)>,
}

/// What the parser reads next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Magic and version.
    Preamble,
    /// Tensor and metadata counts.
    Counts,
    /// A key, its type and its value (or array head).
    Pair,
    /// One element of the innermost array being read.
    Element,
    /// One tensor info.
    Tensor,
}

/// An array being read.
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Type of each element.
    ty: u32,
    /// Elements still to read.
    left: u64,
}

/// The header parser.
#[derive(Debug)]
pub(super) struct Parser {
    /// What comes next.
    phase: Phase,
    /// Whether numbers are big-endian.
    big: bool,
    /// Format version (1 to 3).
    version: u32,
    /// Key/value pairs still to read.
    pairs_left: u64,
    /// Tensor count.
    tensors: u64,
    /// Tensor infos still to read.
    tensors_left: u64,
    /// The key whose value (an array) is being read.
    key: String,
    /// Arrays being read, innermost last.
    stack: Vec<Frame>,
    /// Alignment of the data section.
    alignment: u64,
    /// The furthest tensor end so far.
    furthest: Option<(u64, String)>,
}

/// A cursor over the bytes of one group; every read is bounds-checked.
struct Cursor<'a> {
    /// The bytes.
    bytes: &'a [u8],
    /// Bytes read so far.
    pos: usize,
    /// Whether numbers are big-endian.
    big: bool,
}

/// Why a read stopped.
enum Short {
    /// The group needs this many bytes in all.
    Need(usize),
    /// A length is beyond its bound: (message, evidence).
    Bad(String, String),
}

impl Cursor<'_> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&[u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short::Need(usize::MAX))?;
        let got = self.bytes.get(self.pos..end).ok_or(Short::Need(end))?;
        self.pos = end;
        Ok(got)
    }

    /// The next `N` bytes as an array, in little-endian order.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        if self.big {
            out.reverse();
        }
        Ok(out)
    }

    /// A u32.
    fn u32(&mut self) -> Result<u32, Short> {
        self.array::<4>().map(u32::from_le_bytes)
    }

    /// A u64.
    fn u64(&mut self) -> Result<u64, Short> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    /// A length or count: u32 in version 1, u64 after.
    fn count(&mut self, version: u32) -> Result<u64, Short> {
        if version == 1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }

    /// A string of at most [`MAX_STRING`] bytes; `what` names it in messages.
    fn string(&mut self, version: u32, what: &str) -> Result<&[u8], Short> {
        let len = self.count(version)?;
        if len > MAX_STRING {
            return Err(Short::Bad(
                format!(
                    "{what} is {len} bytes long, more than the {MAX_STRING} modelsieve accepts"
                ),
                format!("string length {len}"),
            ));
        }
        self.take(usize::try_from(len).unwrap_or(usize::MAX))
    }
}

/// Bytes of one scalar of value type `ty`, or `None` for strings, arrays and unknown types.
fn scalar_size(ty: u32) -> Option<usize> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

/// Elements per block and bytes per block of the ggml tensor types whose size is known.
fn block(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (1, 4),
        1 | 30 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 | 28 => (1, 8),
        _ => return None,
    })
}

/// Whether `key` holds a chat template: the default one, a named one
/// (`tokenizer.chat_template.tool_use`, as llama.cpp's converter writes a repository's extra
/// templates), or the list of names (`tokenizer.chat_templates`). Strings in an array under
/// such a key are read as templates too: no writer puts templates there, so a renderer that
/// takes one from there is the attacker's choice.
fn is_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template"
        || key == "tokenizer.chat_templates"
        || key.starts_with("tokenizer.chat_template.")
}

impl Parser {
    /// A parser at the start of the file.
    pub(super) fn new() -> Parser {
        Parser {
            phase: Phase::Preamble,
            big: false,
            version: 0,
            pairs_left: 0,
            tensors: 0,
            tensors_left: 0,
            key: String::new(),
            stack: Vec::new(),
            alignment: DEFAULT_ALIGNMENT,
            furthest: None,
        }
    }

    /// Words naming the group being read, for a truncation message.
    pub(super) fn reading(&self) -> &'static str {
        match self.phase {
            Phase::Preamble => "the magic and version",
            Phase::Counts => "the tensor and metadata counts",
            Phase::Pair | Phase::Element => "the metadata",
            Phase::Tensor => "the tensor infos",
        }
    }

    /// Reads one group from the start of `bytes`, which lie at file offset `base`.
    pub(super) fn step(&mut self, bytes: &[u8], base: u64, findings: &mut Findings) -> Step {
        let mut cur = Cursor {
            bytes,
            pos: 0,
            big: self.big,
        };
        let result = match self.phase {
            Phase::Preamble => self.preamble(&mut cur, findings),
            Phase::Counts => self.counts(&mut cur),
            Phase::Pair => self.pair(&mut cur, base, findings),
            Phase::Element => self.element(&mut cur, base, findings),
            Phase::Tensor => self.tensor(&mut cur, base, findings),
        };
        match result {
            Ok(Some(step)) => step,
            Ok(None) => {
                let done = self.settle(base.saturating_add(cur.pos as u64));
                done.map_or(Step::Consumed(cur.pos), Step::Finished)
            }
            Err(Short::Need(n)) => Step::Need(n),
            Err(Short::Bad(message, evidence)) => {
                findings.rule(
                    Rule::GgufMalformed,
                    None,
                    Some(base),
                    message,
                    Some(evidence),
                );
                Step::Stop
            }
        }
    }

    /// Moves to the next phase once a group is read; returns the data extent when the header
    /// ends at `end`.
    fn settle(&mut self, end: u64) -> Option<DataExtent> {
        if matches!(self.phase, Phase::Preamble) {
            self.phase = Phase::Counts;
            return None;
        }
        // Pop the arrays that are complete.
        while self.stack.last().is_some_and(|f| f.left == 0) {
            self.stack.pop();
        }
        self.phase = if !self.stack.is_empty() {
            Phase::Element
        } else if self.pairs_left > 0 {
            Phase::Pair
        } else if self.tensors_left > 0 {
            Phase::Tensor
        } else {
            let align = self.alignment.max(1);
            let start = end.div_ceil(align).saturating_mul(align);
            return Some(DataExtent {
                start,
                tensors: self.tensors,
                furthest: self.furthest.take(),
            });
        };
        None
    }

    /// Reads the magic and version and decides the byte order.
    fn preamble(
        &mut self,
        cur: &mut Cursor<'_>,
        findings: &mut Findings,
    ) -> Result<Option<Step>, Short> {
        let magic = cur.take(4)?;
        let ok = magic == b"GGUF";
        let raw: [u8; 4] = cur.array()?;
        let le = u32::from_le_bytes(raw);
        let be = u32::from_be_bytes(raw);
        let (version, big) = if (1..=3).contains(&le) {
            (le, false)
        } else if (1..=3).contains(&be) {
            (be, true)
        } else {
            findings.rule(
                Rule::GgufMalformed,
                None,
                Some(4),
                format!("GGUF version {le} is not one modelsieve knows (1 to 3, in either byte order); nothing more was read"),
                Some(format!("version {le}")),
            );
            return Ok(Some(Step::Stop));
        };
        if !ok {
            return Ok(Some(Step::Stop));
        }
        self.version = version;
        self.big = big;
        Ok(None)
    }

    /// Reads the tensor and key/value counts.
    fn counts(&mut self, cur: &mut Cursor<'_>) -> Result<Option<Step>, Short> {
        self.tensors = cur.count(self.version)?;
        self.pairs_left = cur.count(self.version)?;
        self.tensors_left = self.tensors;
        Ok(None)
    }

    /// Reads a key, its type and a scalar or string value, or an array's head.
    fn pair(
        &mut self,
        cur: &mut Cursor<'_>,
        base: u64,
        findings: &mut Findings,
    ) -> Result<Option<Step>, Short> {
        let key = String::from_utf8_lossy(cur.string(self.version, "a metadata key")?).into_owned();
        let ty = cur.u32()?;
        let value_at = base.saturating_add(cur.pos as u64);
        self.value(cur, ty, &key, value_at, findings)?;
        self.pairs_left = self.pairs_left.saturating_sub(1);
        self.key = key;
        Ok(None)
    }

    /// Reads one element of the innermost array.
    fn element(
        &mut self,
        cur: &mut Cursor<'_>,
        base: u64,
        findings: &mut Findings,
    ) -> Result<Option<Step>, Short> {
        let Some(frame) = self.stack.last().copied() else {
            return Ok(None);
        };
        let key = core::mem::take(&mut self.key);
        let read = self.value(cur, frame.ty, &key, base, findings);
        self.key = key;
        read?;
        // The new element may have pushed a nested array; count it against its parent.
        let depth = self.stack.len();
        let parent = if frame.ty == TYPE_ARRAY {
            depth.checked_sub(2)
        } else {
            depth.checked_sub(1)
        };
        if let Some(f) = parent.and_then(|i| self.stack.get_mut(i)) {
            f.left = f.left.saturating_sub(1);
        }
        Ok(None)
    }

    /// Reads a value of type `ty` for `key` (an array's head only), at offset `at`.
    fn value(
        &mut self,
        cur: &mut Cursor<'_>,
        ty: u32,
        key: &str,
        at: u64,
        findings: &mut Findings,
    ) -> Result<(), Short> {
        if let Some(size) = scalar_size(ty) {
            let bytes = cur.take(size)?;
            if key == "general.alignment" && self.stack.is_empty() {
                let mut raw = [0u8; 4];
                if let (4, Some(b)) = (ty, bytes.get(..4)) {
                    raw.copy_from_slice(b);
                    if self.big {
                        raw.reverse();
                    }
                }
                let align = u32::from_le_bytes(raw);
                if ty != 4 || align == 0 || !align.is_power_of_two() {
                    return Err(Short::Bad(
                        String::from(
                            "general.alignment must be a power-of-two uint32; llama.cpp refuses the file",
                        ),
                        format!("type {ty}, value {align}"),
                    ));
                }
                self.alignment = u64::from(align);
            }
            return Ok(());
        }
        match ty {
            TYPE_STRING => {
                let text = cur.string(self.version, "a metadata string")?;
                if is_template_key(key) {
                    let text = String::from_utf8_lossy(text);
                    for hit in template::check(&text) {
                        let (rule, consequence) = if hit.limit {
                            (
                                Rule::ScanLimitReached,
                                "so the template could not be fully judged",
                            )
                        } else {
                            (
                                Rule::GgufTemplateInjection,
                                "rendering it (as chat front ends do when a chat starts) can escape the Jinja sandbox and run code",
                            )
                        };
                        findings.rule(
                            rule,
                            None,
                            Some(at),
                            format!(
                                "the chat template '{}' {}; {consequence}",
                                shown(key),
                                hit.why
                            ),
                            Some(shown(&hit.snippet)),
                        );
                    }
                }
                Ok(())
            }
            TYPE_ARRAY => {
                let elem = cur.u32()?;
                let count = cur.count(self.version)?;
                if scalar_size(elem).is_none() && elem != TYPE_STRING && elem != TYPE_ARRAY {
                    return Err(Short::Bad(
                        format!(
                            "the array in metadata key '{}' has element type {elem}, which GGUF does not define",
                            shown(key)
                        ),
                        format!("array element type {elem}"),
                    ));
                }
                if count > MAX_ARRAY {
                    return Err(Short::Bad(
                        format!(
                            "the array in metadata key '{}' holds {count} items, more than the {MAX_ARRAY} modelsieve reads",
                            shown(key)
                        ),
                        format!("array count {count}"),
                    ));
                }
                if self.stack.len() >= MAX_NESTING {
                    return Err(Short::Bad(
                        format!(
                            "arrays in metadata key '{}' nest deeper than {MAX_NESTING} levels",
                            shown(key)
                        ),
                        String::from("nested arrays"),
                    ));
                }
                self.stack.push(Frame {
                    ty: elem,
                    left: count,
                });
                Ok(())
            }
            _ => Err(Short::Bad(
                format!(
                    "metadata key '{}' has value type {ty}, which GGUF does not define; llama.cpp refuses the file",
                    shown(key)
                ),
                format!("value type {ty}"),
            )),
        }
    }

    /// Reads one tensor info.
    fn tensor(
        &mut self,
        cur: &mut Cursor<'_>,
        base: u64,
        findings: &mut Findings,
    ) -> Result<Option<Step>, Short> {
        let name = String::from_utf8_lossy(cur.string(self.version, "a tensor name")?).into_owned();
        let n_dims = cur.u32()?;
        if n_dims > MAX_DIMS {
            return Err(Short::Bad(
                format!(
                    "tensor '{}' has {n_dims} dimensions, more than the {MAX_DIMS} modelsieve accepts",
                    shown(&name)
                ),
                format!("n_dims {n_dims}"),
            ));
        }
        let mut elements: Option<u64> = Some(1);
        for _ in 0..n_dims {
            let dim = cur.count(self.version)?;
            elements = elements.and_then(|e| e.checked_mul(dim));
        }
        let ty = cur.u32()?;
        let offset = cur.u64()?;
        self.tensors_left = self.tensors_left.saturating_sub(1);
        if offset % self.alignment.max(1) != 0 {
            findings.rule(
                Rule::GgufMalformed,
                None,
                Some(base),
                format!("tensor '{}' starts at data offset {offset}, which is not a multiple of the alignment {}; llama.cpp refuses the file", shown(&name), self.alignment),
                Some(format!("offset {offset}")),
            );
        }
        let size = match (block(ty), elements) {
            (Some((per, bytes)), Some(e)) => e.checked_div(per).and_then(|b| b.checked_mul(bytes)),
            (None, _) => Some(0),
            (Some(_), None) => None,
        };
        let end = size.and_then(|s| offset.checked_add(s)).unwrap_or(u64::MAX);
        if self.furthest.as_ref().is_none_or(|(f, _)| end > *f) {
            self.furthest = Some((end, name));
        }
        Ok(None)
    }
}
