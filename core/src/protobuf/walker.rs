//! A streaming, schema-driven walk over a protobuf message.
//!
//! The walker reads tags and values as bytes arrive and asks a [`Schema`] what each field is:
//! a sub-message to descend into, a string to capture (bounded), a number, or something to skip.
//! Skipped fields (tensor bytes, constants) are passed over by offset, so a seeking driver never
//! reads them. Messages are framed by their lengths: a field that overruns the message holding
//! it, a tag that is not a tag, or nesting past [`MAX_DEPTH`] ends the walk with the schema's
//! malformed-file finding, as protobuf's own parsers refuse such bytes.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

use super::wire::{self, MAX_VARINT_LEN, Tag, WireError, WireType};
use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::rules::Rule;

/// Deepest nesting of messages and groups walked: protobuf's default recursion limit.
pub(crate) const MAX_DEPTH: usize = 100;

/// What the schema does with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action<K> {
    /// A length-delimited sub-message of this kind: descend into it.
    Message(K),
    /// A string or bytes: hand its first `max` bytes to [`Schema::value`].
    Text {
        /// Most bytes captured; the rest are skipped and the full length reported.
        max: usize,
    },
    /// A scalar (varint or fixed width): hand its value to [`Schema::value`].
    Number,
    /// Pass over the value unread.
    Skip,
}

/// A field value handed to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// A varint, or the little-endian value of a fixed-width field.
    Number(u64),
    /// A length-delimited field's first bytes (at most the action's `max`) and its full length.
    Text {
        /// The captured bytes.
        bytes: &'a [u8],
        /// The field's declared length.
        len: u64,
    },
    /// A length-delimited field that was skipped, with its declared length.
    Skipped {
        /// The field's declared length.
        len: u64,
    },
}

/// The message types of one protobuf schema (ONNX, SavedModel, ...) and what is checked in them.
pub(crate) trait Schema: Debug {
    /// A message type.
    type Kind: Copy + Debug + PartialEq;
    /// The top-level message type.
    fn root(&self) -> Self::Kind;
    /// The format a recognised input is.
    fn format(&self) -> Format;
    /// The rule for bytes that break the wire format.
    const MALFORMED: Rule;

    /// What to do with field `field` of a `kind` message, encoded as `wire`. Return
    /// [`Action::Skip`] for fields the schema does not know or whose wire type is not the
    /// declared one (protobuf keeps those as unknown fields).
    fn field(&self, kind: Self::Kind, field: u32, wire: WireType) -> Action<Self::Kind>;

    /// A sub-message of type `kind` starts at `at` (the offset of its first byte).
    fn enter(&mut self, kind: Self::Kind, at: u64) {
        let _ = (kind, at);
    }

    /// The sub-message last entered has ended.
    fn leave(&mut self, kind: Self::Kind, findings: &mut Findings) {
        let _ = (kind, findings);
    }

    /// A field of a `kind` message whose value starts at `at`.
    fn value(
        &mut self,
        kind: Self::Kind,
        field: u32,
        value: Value<'_>,
        at: u64,
        findings: &mut Findings,
    );

    /// The input has ended: report what could only be judged once everything was seen.
    fn finish(&mut self, findings: &mut Findings) {
        let _ = findings;
    }

    /// Whether the fields seen so far make the input this schema's format.
    fn recognized(&self) -> bool;

    /// Whether the input started like this schema's format without being [`recognized`]: a
    /// file cut short, or broken inside its first message. Used only when no schema
    /// recognises the input, so that a damaged model is reported as damaged.
    ///
    /// [`recognized`]: Schema::recognized
    fn partly_recognized(&self) -> bool {
        false
    }
}

/// One open message (or group) and where it ends.
#[derive(Debug, Clone, Copy)]
struct Frame<K> {
    /// The message type; `None` inside a group, whose content is skipped.
    kind: Option<K>,
    /// The offset just past the message (for a group, the enclosing message's end).
    end: u64,
    /// The group's field number, for matching its end tag.
    group: Option<u32>,
}

/// Where the walker is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<K> {
    /// Expecting a tag (or the end of the current message).
    Tag,
    /// Expecting a varint value of `field`.
    Varint { field: u32, action: Action<K> },
    /// Expecting `width` bytes of a fixed-width value of `field`.
    Fixed {
        field: u32,
        action: Action<K>,
        width: usize,
    },
    /// Expecting the length of a length-delimited `field`.
    Length { field: u32, action: Action<K> },
    /// Capturing a string value of `len` bytes that started at `start`.
    Capture {
        field: u32,
        start: u64,
        len: u64,
        max: usize,
    },
    /// Passing over bytes up to `until`.
    Skip { until: u64 },
    /// The walk ended early at a wire error; nothing more is read.
    Stopped,
}

/// A streaming walk over one protobuf input under schema `S`.
#[derive(Debug)]
pub(crate) struct Walker<S: Schema> {
    schema: S,
    /// Size of the input, when known.
    size: Option<u64>,
    /// The next offset to consume.
    pos: u64,
    step: Step<S::Kind>,
    /// Open messages; the first is the top-level message.
    stack: Vec<Frame<S::Kind>>,
    /// Bytes of a tag or varint that a piece of input ended inside.
    token: Vec<u8>,
    /// Bytes of the string being captured.
    capture: Vec<u8>,
    /// Whether any field was passed over unread.
    skipped_any: bool,
}

impl<S: Schema> Walker<S> {
    /// Starts a walk of an input of `size` bytes (when known).
    pub(crate) fn new(schema: S, size: Option<u64>) -> Walker<S> {
        let root = schema.root();
        Walker {
            schema,
            size,
            pos: 0,
            step: Step::Tag,
            // The top-level message ends with the input, which a streaming driver learns only
            // at the end: fields that overrun it are reported then, the same in every driver.
            stack: alloc::vec![Frame {
                kind: Some(root),
                end: u64::MAX,
                group: None,
            }],
            token: Vec::new(),
            capture: Vec::new(),
            skipped_any: false,
        }
    }

    fn stop(&mut self, at: u64, what: String, findings: &mut Findings) {
        findings.rule(S::MALFORMED, None, Some(at), what, None);
        self.step = Step::Stopped;
    }

    /// The innermost open message's type (`None` inside a group).
    fn current(&self) -> Option<S::Kind> {
        self.stack.last().and_then(|f| f.kind)
    }

    /// Closes every message that ends at the current offset; a value that ran past the end of
    /// its message stops the walk.
    fn close_ended(&mut self, findings: &mut Findings) {
        while self.stack.len() > 1 {
            let Some(top) = self.stack.last().copied() else {
                return;
            };
            if top.end < self.pos {
                let at = self.pos;
                return self.stop(
                    at,
                    format!(
                        "a value runs past the end of its message at offset {}",
                        top.end
                    ),
                    findings,
                );
            }
            if top.end != self.pos || top.group.is_some() {
                return;
            }
            self.stack.pop();
            if let Some(kind) = top.kind {
                self.schema.leave(kind, findings);
            }
        }
    }

    /// Takes a varint from `data` (and any bytes kept from earlier pieces). `Ok(None)` when
    /// `data` ended inside it; the bytes are then kept.
    fn take_varint(
        &mut self,
        data: &[u8],
        used: &mut usize,
    ) -> Result<Option<(u64, u64)>, WireError> {
        let rest = data.get(*used..).unwrap_or_default();
        if self.token.is_empty() {
            if let Some((value, len)) = wire::varint(rest)? {
                *used += len;
                return Ok(Some((value, len as u64)));
            }
            self.token.extend_from_slice(rest);
            *used = data.len();
            return Ok(None);
        }
        let kept = self.token.len();
        let take = rest.len().min(MAX_VARINT_LEN - kept);
        self.token
            .extend_from_slice(rest.get(..take).unwrap_or_default());
        match wire::varint(&self.token)? {
            Some((value, len)) => {
                *used += len - kept;
                self.token.clear();
                Ok(Some((value, len as u64)))
            }
            None => {
                *used += take;
                Ok(None)
            }
        }
    }

    /// Consumes a piece of input that starts at `self.pos`.
    fn walk(&mut self, data: &[u8], findings: &mut Findings) {
        let mut used = 0usize;
        while used < data.len() {
            let at = self.pos;
            match self.step {
                Step::Stopped => return,
                Step::Skip { until } => {
                    let n = (until - self.pos).min((data.len() - used) as u64);
                    used += n as usize;
                    self.pos += n;
                    if self.pos == until {
                        self.step = Step::Tag;
                        self.close_ended(findings);
                    }
                }
                Step::Capture {
                    field,
                    start,
                    len,
                    max,
                } => {
                    let end = start + len;
                    let room = max.saturating_sub(self.capture.len()) as u64;
                    let n = (end - self.pos).min(room).min((data.len() - used) as u64) as usize;
                    self.capture
                        .extend_from_slice(data.get(used..used + n).unwrap_or_default());
                    used += n;
                    self.pos += n as u64;
                    if self.pos == end {
                        self.deliver_text(field, start, len, findings);
                    } else if self.capture.len() >= max {
                        // Enough of it kept: judge it now and pass over the rest unread.
                        self.deliver_text(field, start, len, findings);
                        self.step = Step::Skip { until: end };
                        self.skipped_any = true;
                    }
                }
                Step::Fixed {
                    field,
                    action,
                    width,
                } => {
                    let take = (width - self.token.len()).min(data.len() - used);
                    self.token
                        .extend_from_slice(data.get(used..used + take).unwrap_or_default());
                    used += take;
                    self.pos += take as u64;
                    if self.token.len() == width {
                        let mut le = [0u8; 8];
                        for (slot, byte) in le.iter_mut().zip(&self.token) {
                            *slot = *byte;
                        }
                        self.token.clear();
                        let value_at = self.pos - width as u64;
                        self.deliver_number(
                            field,
                            action,
                            u64::from_le_bytes(le),
                            value_at,
                            findings,
                        );
                    }
                }
                Step::Tag | Step::Varint { .. } | Step::Length { .. } => {
                    // Bytes kept from earlier pieces are the varint's first bytes.
                    let varint_start = at - self.token.len() as u64;
                    let before = used;
                    let taken = self.take_varint(data, &mut used);
                    self.pos += (used - before) as u64;
                    match taken {
                        Err(error) => {
                            return self.stop(varint_start, format!("{error}"), findings);
                        }
                        Ok(None) => return,
                        Ok(Some((value, len))) => {
                            let start = self.pos - len;
                            self.token_done(value, start, findings);
                        }
                    }
                }
            }
        }
    }

    /// A whole varint (a tag, a value or a length) starting at `start` has been read.
    fn token_done(&mut self, value: u64, start: u64, findings: &mut Findings) {
        match self.step {
            Step::Tag => match wire::tag_from_key(value) {
                Ok(tag) => self.on_tag(tag, start, findings),
                Err(error) => self.stop(start, format!("{error}"), findings),
            },
            Step::Varint { field, action } => {
                self.step = Step::Tag;
                self.deliver_number(field, action, value, start, findings);
            }
            Step::Length { field, action } => self.on_length(field, action, value, findings),
            _ => {}
        }
    }

    fn on_tag(&mut self, tag: Tag, start: u64, findings: &mut Findings) {
        let action = match self.current() {
            Some(kind) => self.schema.field(kind, tag.field, tag.wire),
            None => Action::Skip,
        };
        let field = tag.field;
        self.step = match tag.wire {
            WireType::Varint => Step::Varint { field, action },
            WireType::I64 => Step::Fixed {
                field,
                action,
                width: 8,
            },
            WireType::I32 => Step::Fixed {
                field,
                action,
                width: 4,
            },
            WireType::Len => Step::Length { field, action },
            WireType::StartGroup => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.too_deep(start, findings);
                }
                let end = self.stack.last().map_or(u64::MAX, |f| f.end);
                self.stack.push(Frame {
                    kind: None,
                    end,
                    group: Some(field),
                });
                Step::Tag
            }
            WireType::EndGroup => {
                if self.stack.last().and_then(|f| f.group) != Some(field) {
                    return self.stop(
                        start,
                        format!("an end-group tag for field {field} closes no group"),
                        findings,
                    );
                }
                self.stack.pop();
                self.close_ended(findings);
                Step::Tag
            }
        };
    }

    fn on_length(
        &mut self,
        field: u32,
        action: Action<S::Kind>,
        len: u64,
        findings: &mut Findings,
    ) {
        let start = self.pos;
        let end = self.stack.last().map_or(u64::MAX, |f| f.end);
        let Some(value_end) = start.checked_add(len).filter(|&e| e <= end) else {
            return self.stop(
                start,
                format!(
                    "field {field} declares {len} bytes, which overruns its message (ends at offset {end})"
                ),
                findings,
            );
        };
        self.step = Step::Tag;
        match action {
            Action::Message(kind) if self.current().is_some() => {
                if self.stack.len() >= MAX_DEPTH {
                    return self.too_deep(start, findings);
                }
                self.stack.push(Frame {
                    kind: Some(kind),
                    end: value_end,
                    group: None,
                });
                self.schema.enter(kind, start);
                self.close_ended(findings);
            }
            Action::Text { max } => {
                self.capture.clear();
                self.step = Step::Capture {
                    field,
                    start,
                    len,
                    max,
                };
                if len == 0 {
                    self.deliver_text(field, start, 0, findings);
                }
            }
            _ => {
                if let Some(kind) = self.current() {
                    self.schema
                        .value(kind, field, Value::Skipped { len }, start, findings);
                }
                self.step = Step::Skip { until: value_end };
                self.skipped_any |= len > 0;
                if len == 0 {
                    self.step = Step::Tag;
                    self.close_ended(findings);
                }
            }
        }
    }

    fn deliver_text(&mut self, field: u32, start: u64, len: u64, findings: &mut Findings) {
        self.step = Step::Tag;
        if let Some(kind) = self.current() {
            let bytes = core::mem::take(&mut self.capture);
            self.schema.value(
                kind,
                field,
                Value::Text { bytes: &bytes, len },
                start,
                findings,
            );
            self.capture = bytes;
        }
        self.capture.clear();
        self.close_ended(findings);
    }

    fn deliver_number(
        &mut self,
        field: u32,
        action: Action<S::Kind>,
        value: u64,
        at: u64,
        findings: &mut Findings,
    ) {
        self.step = Step::Tag;
        if let (Action::Number, Some(kind)) = (action, self.current()) {
            self.schema
                .value(kind, field, Value::Number(value), at, findings);
        }
        self.close_ended(findings);
    }

    fn too_deep(&mut self, at: u64, findings: &mut Findings) {
        self.stop(
            at,
            format!("messages nest deeper than {MAX_DEPTH} levels (protobuf's recursion limit)"),
            findings,
        );
    }

    /// Why the input cannot have ended at `eof`, if it cannot. Bytes the driver did not supply
    /// before `eof` are the scanner's to report; this judges only what the file holds.
    fn unfinished(&self, eof: u64) -> Option<String> {
        let past_end = |end: u64| {
            format!("a field runs to offset {end}, past the end of the file at offset {eof}")
        };
        match self.step {
            Step::Stopped => None,
            Step::Skip { until } => (until > eof).then(|| past_end(until)),
            Step::Capture { start, len, .. } => {
                let end = start.saturating_add(len);
                (end > eof).then(|| past_end(end))
            }
            _ if self.pos < eof => None,
            Step::Tag if self.token.is_empty() => {
                let open = self
                    .stack
                    .iter()
                    .skip(1)
                    .find(|f| f.end > eof || f.group.is_some())?;
                Some(match open.group {
                    Some(field) => format!("the file ends inside group {field}"),
                    None => format!(
                        "the file ends at offset {eof}, inside a message that should end at offset {}",
                        open.end
                    ),
                })
            }
            _ => Some(format!("the file ends at offset {eof}, inside a field")),
        }
    }
}

impl<S: Schema> super::Reading for Walker<S> {
    fn partly_recognized(&self) -> bool {
        self.schema.partly_recognized()
    }
}

impl<S: Schema> Reader for Walker<S> {
    fn wanted(&self) -> Option<u64> {
        match self.step {
            Step::Stopped => None,
            Step::Skip { until } => Some(until),
            _ if self.size == Some(self.pos) => None,
            _ => Some(self.pos),
        }
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        if self.step == Step::Stopped {
            return Ok(());
        }
        let data = if offset > self.pos {
            match self.step {
                Step::Skip { until } if offset <= until => {
                    self.pos = offset;
                    data
                }
                _ => {
                    return Err(Gap { expected: self.pos });
                }
            }
        } else {
            let already = usize::try_from(self.pos - offset).unwrap_or(usize::MAX);
            match data.get(already..) {
                Some(rest) => rest,
                None => return Ok(()),
            }
        };
        if let Step::Skip { until } = self.step {
            if self.pos == until {
                self.step = Step::Tag;
                self.close_ended(findings);
            }
        }
        self.walk(data, findings);
        Ok(())
    }

    fn skipped(&self) -> bool {
        self.skipped_any
    }

    fn recognized(&self) -> bool {
        self.schema.recognized()
    }

    /// Asked only once the walk wants nothing more: then a schema that has not recognised the
    /// input never will.
    fn unrecognized(&self) -> bool {
        !self.schema.recognized()
    }

    fn finish(mut self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        // A seeking driver stops when the reader wants the end of the input: a value skipped up
        // to the very end was passed over, and the messages it ends are complete.
        if self.step == (Step::Skip { until: eof }) {
            self.pos = eof;
            self.step = Step::Tag;
            self.close_ended(findings);
        }
        if let Some(why) = self.unfinished(eof) {
            findings.rule(S::MALFORMED, None, Some(eof), why, None);
        }
        self.schema.finish(findings);
        let format = if self.schema.recognized() {
            self.schema.format()
        } else {
            Format::Unknown
        };
        Finished::plain(format)
    }
}
