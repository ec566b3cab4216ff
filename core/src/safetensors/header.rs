//! The safetensors header, checked as the reference library (`SafeTensors::read_metadata` and
//! `Metadata::validate` in huggingface's `safetensors` crate) checks it.
//!
//! The header is parsed into plain key/value lists rather than maps so that a name given twice
//! is seen, not silently overwritten, and every problem is collected rather than only the first.
//! Each top-level entry is checked as soon as it is parsed and only its name and offsets are
//! kept: a header may be 100 MB of small entries, and keeping each parsed entry whole (its
//! JSON values) cost about 1.5 KB of heap per tensor, gigabytes for such a header.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::numpy::shown;

/// The key holding free-form string metadata instead of a tensor.
const METADATA_KEY: &str = "__metadata__";

/// Problems reported one by one before the rest are summed up in one more: a hostile header of
/// millions of broken entries must not make a report of millions of findings.
const MAX_PROBLEMS: usize = 20;

/// One thing wrong with the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// Where in the file the problem is, when one place says it.
    pub(super) offset: Option<u64>,
    /// What is wrong, with the names and values involved.
    pub(super) message: String,
    /// A few words quoting the faulty value.
    pub(super) evidence: String,
}

/// What the header says, once checked.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// Everything wrong with it, at most [`MAX_PROBLEMS`] + 1 entries.
    pub(super) problems: Vec<Problem>,
    /// Bytes of tensor data the header lays out, when every tensor's offsets could be read:
    /// the file must end exactly there.
    pub(super) data_len: Option<u64>,
    /// Whether the header is a JSON object at all (whatever is wrong inside it).
    pub(super) json_object: bool,
}

impl Checked {
    /// Records a problem, or counts it once [`MAX_PROBLEMS`] are recorded.
    fn problem(&mut self, offset: Option<u64>, message: String, evidence: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                offset,
                message,
                evidence,
            });
        } else if self.problems.len() == MAX_PROBLEMS {
            self.problems.push(Problem {
                offset: None,
                message: format!("the header has more problems than the {MAX_PROBLEMS} reported; the rest are not listed"),
                evidence: String::from("more problems"),
            });
        }
    }
}

/// A JSON value as the header check needs it: objects keep every key in order (duplicates
/// included); anything else is known only by its kind.
#[derive(Debug)]
enum Entry {
    /// An object's members, in order.
    Object(Vec<(String, Value)>),
    /// Any other value, by the words that name its kind.
    Other(&'static str),
}

/// The top-level object, checked entry by entry as it is parsed.
#[derive(Default)]
struct TopLevel<'de> {
    /// What was found wrong so far.
    out: Checked,
    /// File offset of the header's first byte.
    start: u64,
    /// Names seen so far, so that one given twice is caught without comparing every pair.
    /// Names borrow from the header's text unless they hold escapes.
    names: BTreeSet<Cow<'de, str>>,
    /// Each tensor's offsets, for the layout check.
    spans: Vec<Span<'de>>,
    /// Whether every tensor's offsets could be read.
    offsets_ok: bool,
}

impl<'de> TopLevel<'de> {
    /// Checks one top-level entry, in the order the header gives them.
    fn entry(&mut self, name: Cow<'de, str>, entry: &Entry) {
        let (start, out) = (self.start, &mut self.out);
        if self.names.contains(&name) {
            out.problem(
                Some(start),
                format!("the header names {} twice; JSON readers disagree on which entry counts (safetensors keeps the last)", quoted(&name)),
                format!("duplicate {}", quoted(&name)),
            );
        }
        if name == METADATA_KEY {
            check_metadata(entry, start, out);
        } else {
            match check_tensor(&name, entry, start, out) {
                Some((begin, end)) => self.spans.push(Span {
                    name: name.clone(),
                    begin,
                    end,
                }),
                None => self.offsets_ok = false,
            }
        }
        self.names.insert(name);
    }
}

/// Reads an object key, borrowing it from the input when it has no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(String::from(v)))
    }
}

/// Visits an object into its ordered members, with values of type `V`.
struct Members<V>(core::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for Members<V> {
    type Value = Vec<(String, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, V>()? {
            out.push((key, value));
        }
        Ok(out)
    }
}

impl<'de> DeserializeSeed<'de> for &mut TopLevel<'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut TopLevel<'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key_seed(Name)? {
            let entry = map.next_value::<Entry>()?;
            self.entry(name, &entry);
        }
        Ok(())
    }
}

/// Visits any value into an [`Entry`].
struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
        Ok(Entry::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Entry, E> {
        Ok(Entry::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Entry, E> {
        Ok(Entry::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Entry, E> {
        Ok(Entry::Other("a number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Entry, E> {
        Ok(Entry::Other("a string"))
    }
    fn visit_unit<E>(self) -> Result<Entry, E> {
        Ok(Entry::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entry::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        Members::<Value>(core::marker::PhantomData)
            .visit_map(map)
            .map(Entry::Object)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entry, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// The words naming a JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Bits per element of each dtype the reference library knows (its `Dtype::bitsize`).
const DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("C64", 64),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
];

/// A tensor's offsets into the data, for the layout check.
struct Span<'a> {
    /// Name of the tensor.
    name: Cow<'a, str>,
    /// First data byte (relative to the data's start).
    begin: u64,
    /// One past the last data byte.
    end: u64,
}

/// Checks the header `text` (the bytes after the length, `start` being the file offset of its
/// first byte).
pub(super) fn check(text: &[u8], start: u64) -> Checked {
    let json = match core::str::from_utf8(text) {
        Ok(json) => json,
        Err(e) => {
            let at = e.valid_up_to();
            let mut out = Checked::default();
            out.problem(
                Some(start + at as u64),
                format!("the header is not valid UTF-8 (byte {at} of the header); safetensors refuses the file"),
                String::from("header not UTF-8"),
            );
            return out;
        }
    };
    let mut top = TopLevel {
        start,
        offsets_ok: true,
        ..TopLevel::default()
    };
    let mut de = serde_json::Deserializer::from_str(json);
    if let Err(e) = (&mut top).deserialize(&mut de).and_then(|()| de.end()) {
        // Only the syntax error is reported: what the entries before it held is not what
        // safetensors would read, since it reads nothing.
        let mut out = Checked::default();
        out.problem(
            Some(start + json_error_offset(json, e.line(), e.column())),
            format!(
                "the header is not a JSON object ({}); safetensors refuses the file",
                shown(&format!("{e}"))
            ),
            String::from("header not JSON"),
        );
        return out;
    }
    let mut out = top.out;
    let end = check_layout(&mut top.spans, start, text.len() as u64, &mut out);
    out.data_len = top.offsets_ok.then_some(end);
    out.json_object = true;
    out
}

/// Checks `__metadata__`: absent, `null` or an object of strings to strings.
fn check_metadata(entry: &Entry, start: u64, out: &mut Checked) {
    match entry {
        Entry::Other("null") => {}
        Entry::Other(what) => out.problem(
            Some(start),
            format!(
                "__metadata__ is {what}, not an object of strings; safetensors refuses the header"
            ),
            format!("__metadata__ is {what}"),
        ),
        Entry::Object(members) => {
            for (key, value) in members {
                if !value.is_string() {
                    out.problem(
                        Some(start),
                        format!("__metadata__ key {} holds {}, not a string; safetensors refuses the header", quoted(key), kind(value)),
                        format!("__metadata__ {} is {}", quoted(key), kind(value)),
                    );
                }
            }
        }
    }
}

/// Checks one tensor entry; returns its offsets when they could be read.
fn check_tensor(name: &str, entry: &Entry, start: u64, out: &mut Checked) -> Option<(u64, u64)> {
    let tensor = quoted(name);
    let members = match entry {
        Entry::Object(members) => members,
        Entry::Other(what) => {
            out.problem(
                Some(start),
                format!("tensor {tensor} is {what}, not an object with dtype, shape and data_offsets; safetensors refuses the header"),
                format!("{tensor} is {what}"),
            );
            return None;
        }
    };
    let mut seen: [Option<&Value>; 3] = [None; 3];
    for (key, value) in members {
        let slot = match key.as_str() {
            "dtype" => 0,
            "shape" => 1,
            "data_offsets" => 2,
            _ => {
                out.problem(
                    Some(start),
                    format!("tensor {tensor} has a key {} that safetensors does not define (its parser ignores it)", quoted(key)),
                    format!("unknown key {}", quoted(key)),
                );
                continue;
            }
        };
        if let Some(place) = seen.get_mut(slot) {
            if place.is_some() {
                out.problem(
                    Some(start),
                    format!("tensor {tensor} gives {key} twice; safetensors refuses the header"),
                    format!("duplicate {key}"),
                );
            }
            *place = Some(value);
        }
    }
    let [dtype, shape, offsets] = seen;
    let mut missing = |what: &str| {
        out.problem(
            Some(start),
            format!("tensor {tensor} has no {what}; safetensors refuses the header"),
            format!("no {what}"),
        );
    };
    let (Some(dtype), Some(shape), Some(offsets)) = (dtype, shape, offsets) else {
        if dtype.is_none() {
            missing("dtype");
        }
        if shape.is_none() {
            missing("shape");
        }
        if offsets.is_none() {
            missing("data_offsets");
        }
        return offsets.and_then(|o| read_offsets(name, o, start, out));
    };
    let bits = match dtype.as_str() {
        Some(d) => match DTYPES.iter().find(|(known, _)| *known == d) {
            Some(&(_, bits)) => Some((d, bits)),
            None => {
                out.problem(
                    Some(start),
                    format!("tensor {tensor} has dtype {}, which safetensors does not know; it refuses the header", quoted(d)),
                    format!("dtype {}", quoted(d)),
                );
                None
            }
        },
        None => {
            out.problem(
                Some(start),
                format!("tensor {tensor} has a dtype that is {}, not a string; safetensors refuses the header", kind(dtype)),
                format!("dtype is {}", kind(dtype)),
            );
            None
        }
    };
    let dims = match shape
        .as_array()
        .map(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
    {
        Some(Some(dims)) => Some(dims),
        _ => {
            out.problem(
                Some(start),
                format!("tensor {tensor} has a shape that is not an array of non-negative integers ({}); safetensors refuses the header", shown(&format!("{shape}"))),
                String::from("bad shape"),
            );
            None
        }
    };
    let span = read_offsets(name, offsets, start, out)?;
    if let (Some((dtype, bits)), Some(dims)) = (bits, dims) {
        check_size(&tensor, dtype, bits, &dims, span, start, out);
    }
    Some(span)
}

/// Reads `data_offsets`: two integers, the first not past the second.
fn read_offsets(name: &str, value: &Value, start: u64, out: &mut Checked) -> Option<(u64, u64)> {
    let pair = match value.as_array().map(Vec::as_slice) {
        Some([b, e]) => b.as_u64().zip(e.as_u64()),
        _ => None,
    };
    let Some((begin, end)) = pair else {
        out.problem(
            Some(start),
            format!("tensor {} has data_offsets that are not two non-negative integers ({}); safetensors refuses the header", quoted(name), shown(&format!("{value}"))),
            String::from("bad data_offsets"),
        );
        return None;
    };
    if begin > end {
        out.problem(
            Some(start),
            format!("tensor {} has data_offsets [{begin}, {end}], which begin after they end; safetensors refuses the header", quoted(name)),
            format!("data_offsets [{begin}, {end}]"),
        );
        return None;
    }
    Some((begin, end))
}

/// Compares the bytes a tensor's shape and dtype need with the bytes its offsets give.
fn check_size(
    tensor: &str,
    dtype: &str,
    bits: u64,
    dims: &[u64],
    span: (u64, u64),
    start: u64,
    out: &mut Checked,
) {
    let shape = format!("{dims:?}");
    let Some(count) = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d)) else {
        out.problem(
            Some(start),
            format!("tensor {tensor} has shape {shape}, whose element count overflows; safetensors refuses the header"),
            String::from("shape overflows"),
        );
        return;
    };
    let Some(total_bits) = count.checked_mul(bits) else {
        out.problem(
            Some(start),
            format!("tensor {tensor}: {count} elements of {dtype} overflow a byte count; safetensors refuses the header"),
            String::from("size overflows"),
        );
        return;
    };
    if total_bits % 8 != 0 {
        out.problem(
            Some(start),
            format!("tensor {tensor}: shape {shape} of {dtype} ({bits} bits each) is {total_bits} bits, not a whole number of bytes; safetensors refuses the header"),
            format!("{total_bits} bits"),
        );
        return;
    }
    let needed = total_bits / 8;
    let (begin, end) = span;
    let given = end - begin;
    if needed != given {
        out.problem(
            Some(start),
            format!("tensor {tensor}: shape {shape} of {dtype} needs {needed} bytes, but data_offsets [{begin}, {end}] give {given}; safetensors refuses the header"),
            format!("{needed} bytes needed, {given} given"),
        );
    }
}

/// Checks that the tensors, sorted by offsets as the reference sorts them, cover the data from 0
/// with no gap or overlap; returns where the data ends.
fn check_layout(spans: &mut [Span<'_>], start: u64, header_len: u64, out: &mut Checked) -> u64 {
    spans.sort_by_key(|s| (s.begin, s.end));
    let data = start + header_len;
    let mut covered = 0u64;
    let mut previous: Option<&str> = None;
    for span in spans.iter() {
        let at = data.checked_add(span.begin);
        if span.begin > covered {
            out.problem(
                at,
                format!("no tensor holds data bytes {covered} to {} (before tensor {}); safetensors requires the tensors to cover the data without gaps", span.begin, quoted(&span.name)),
                format!("gap {covered}..{}", span.begin),
            );
        } else if span.begin < covered {
            let other = previous.map(quoted).unwrap_or_default();
            out.problem(
                at,
                format!("tensor {} at data_offsets [{}, {}] overlaps tensor {other}, which ends at {covered}; safetensors requires tensors not to overlap", quoted(&span.name), span.begin, span.end),
                format!("overlap at {}", span.begin),
            );
        }
        if span.end >= covered {
            covered = span.end;
            previous = Some(&span.name);
        }
    }
    covered
}

/// `name` quoted for a message, shortened and with control characters escaped.
fn quoted(name: &str) -> String {
    format!("\"{}\"", shown(name))
}

/// The byte offset in `json` of serde_json's 1-based `line` and `column` (0 when unknown).
fn json_error_offset(json: &str, line: usize, column: usize) -> u64 {
    let line_start: usize = json
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(json.len()) as u64
}
