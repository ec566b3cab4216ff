//! Keras model configs (JSON): the `config.json` of a `.keras` archive, a model saved with
//! `model.to_json()`, the `model_config` attribute of a Keras `.h5` file.
//!
//! Loading a Keras model runs no pickle, but its config tells the loader which classes and
//! functions to resolve and call, and a `Lambda` layer may carry Python bytecode. Every object
//! of the config is judged ([`walk`]):
//! - serialized lambda code (`__lambda__`, a Keras 2 Lambda's `[code, defaults, closure]`) is
//!   [`Rule::KerasLambdaCode`], with what its bytecode names ([`marshal`]);
//! - a `module` + `class_name` (or function name) that a loader resolves outside Keras'
//!   modeling objects is [`Rule::KerasUnsafeObject`] ([`names`]), and so is a vocabulary,
//!   merges or proto file that a layer reads from a path when it loads ([`files`]);
//! - a config that Python's `json` cannot read, or whose `class_name`/`module` are not
//!   strings, is [`Rule::KerasInvalidConfig`].
//!
//! The text is parsed as Python parses it ([`json`], [`text`]), so what Keras loads is what is
//! judged.

mod files;
mod json;
mod marshal;
mod names;
#[cfg(test)]
mod tests;
mod text;
mod walk;

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

use json::JsonError;

pub(crate) use text::looks_like_json;

/// Longest JSON text read. Keras configs are kilobytes to a few megabytes (vocabularies and
/// constants included); tokenizer files reach tens of megabytes. Past this, only the first
/// bytes are judged, and the cut is reported.
pub(crate) const MAX_JSON_BYTES: usize = 64 << 20;

/// What a JSON text turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "the HDF5 reader's model_config attribute comes here"
)]
pub(crate) enum ConfigKind {
    /// A Keras config (some object in it has a `class_name`); findings were reported.
    Keras,
    /// Valid JSON that is not a Keras config.
    NotKeras,
    /// Not valid JSON; a [`Rule::KerasInvalidConfig`](crate::rules::Rule) finding was reported.
    Invalid,
}

/// Judges a Keras config given as JSON text. `offset` is where the text starts in the input,
/// when that is known (findings carry it).
#[allow(
    dead_code,
    reason = "the HDF5 reader's model_config attribute comes here"
)]
pub(crate) fn check_config(
    text: &[u8],
    offset: Option<u64>,
    findings: &mut Findings,
) -> ConfigKind {
    let cut = text.len() > MAX_JSON_BYTES;
    let text = text.get(..MAX_JSON_BYTES).unwrap_or(text);
    let examined = examine(text, offset, cut, findings);
    if let Some(problem) = examined.problem {
        report_invalid(&problem, offset, findings);
        return ConfigKind::Invalid;
    }
    if examined.keras {
        ConfigKind::Keras
    } else {
        ConfigKind::NotKeras
    }
}

/// Why a text could not be read as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    message: String,
    evidence: String,
    /// Offset in the text, when it is one in the input.
    offset: Option<u64>,
}

/// What [`examine`] found.
#[derive(Debug)]
struct Examined {
    /// Some object has a `class_name` (or, in text that is not JSON, the words do appear).
    keras: bool,
    /// The text is not JSON that Python reads; not yet reported.
    problem: Option<Problem>,
}

/// Walks `text` (cut at [`MAX_JSON_BYTES`] when `cut`) and reports what it names and the
/// limits it hit; a syntax problem is handed back for the caller to report or not.
fn examine(text: &[u8], base: Option<u64>, cut: bool, findings: &mut Findings) -> Examined {
    let Some((utf8, exact)) = text::decoded(text) else {
        return Examined {
            keras: contains(text, b"c\0l\0a\0s\0s\0_\0n\0a\0m\0e") || contains(text, b"class_name"),
            problem: Some(Problem {
                message: String::from(
                    "the text is neither UTF-8 nor complete UTF-16 or UTF-32, so Python's json module cannot decode it",
                ),
                evidence: String::from("undecodable text"),
                offset: base,
            }),
        };
    };
    let outcome = walk::walk(&utf8, base, exact, findings);
    let keras = outcome.keras;
    let at = |offset: usize| {
        base.map(|b| {
            if exact {
                b.saturating_add(offset as u64)
            } else {
                b
            }
        })
    };
    let problem = match outcome.error {
        None => None,
        // The text was cut, so it ends early; that is the limit's finding, not a broken text.
        Some(JsonError::Truncated { .. }) if cut => None,
        Some(JsonError::TooDeep { offset }) => {
            findings.rule(
                Rule::ScanLimitReached,
                None,
                at(offset),
                format!("the JSON nests deeper than {} levels, more than Python's decoder reads; nothing deeper or later was judged", json::MAX_DEPTH),
                Some(String::from("JSON nesting depth")),
            );
            None
        }
        Some(JsonError::Truncated { offset }) => Some(Problem {
            message: String::from(
                "the JSON text ends inside a value, so Python's json module refuses it",
            ),
            evidence: format!("JSON ends early at byte {offset}"),
            offset: at(offset),
        }),
        Some(JsonError::Syntax { offset, expected }) => Some(Problem {
            message: format!(
                "the JSON text is malformed: Python's json module expects {expected} at byte {offset} and refuses it"
            ),
            evidence: format!("JSON syntax error at byte {offset}"),
            offset: at(offset),
        }),
    };
    if cut {
        findings.rule(
            Rule::ScanLimitReached,
            None,
            base.map(|b| b.saturating_add(MAX_JSON_BYTES as u64)),
            format!("the JSON text is longer than {MAX_JSON_BYTES} bytes; only objects that close before that point were judged"),
            Some(String::from("JSON size")),
        );
    }
    Examined {
        keras: keras || problem.is_some() && contains(&utf8, b"class_name"),
        problem,
    }
}

/// Reports a config that Keras cannot read.
fn report_invalid(problem: &Problem, base: Option<u64>, findings: &mut Findings) {
    findings.rule(
        Rule::KerasInvalidConfig,
        None,
        problem.offset.or(base),
        format!(
            "{}; Keras cannot load this config, and modelsieve could not judge what it names",
            problem.message
        ),
        Some(problem.evidence.clone()),
    );
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A JSON document read whole (bounded) and judged as a Keras config.
#[derive(Debug)]
pub(crate) struct JsonReader {
    input: Input,
    /// The document's first bytes, up to [`MAX_JSON_BYTES`].
    buf: Vec<u8>,
    /// End of the furthest byte fed.
    fed_end: u64,
}

impl JsonReader {
    /// Starts a reader for an input that the sniffer found to start with a JSON object.
    pub(crate) fn new(input: Input) -> JsonReader {
        JsonReader {
            input,
            buf: Vec::new(),
            fed_end: 0,
        }
    }

    /// Whether the document is longer than what is read of it.
    fn cut(&self, eof: u64) -> bool {
        eof.max(self.fed_end) > MAX_JSON_BYTES as u64
    }
}

impl Reader for JsonReader {
    fn wanted(&self) -> Option<u64> {
        (self.buf.len() < MAX_JSON_BYTES).then_some(self.buf.len() as u64)
    }

    fn skipped(&self) -> bool {
        self.cut(self.input.size.unwrap_or(0))
    }

    fn recognized(&self) -> bool {
        // Only the whole text tells whether it is JSON; until then an archive may follow it.
        false
    }

    fn feed(&mut self, offset: u64, data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        self.fed_end = self.fed_end.max(offset.saturating_add(data.len() as u64));
        fill(&mut self.buf, 0, MAX_JSON_BYTES, offset, data)
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        let cut = self.cut(eof);
        let examined = examine(&self.buf, Some(0), cut, findings);
        // A driver that stopped early is the scanner's finding (scan.incomplete); the text is
        // then judged for what it names but not called malformed.
        let complete = cut || self.buf.len() as u64 >= eof;
        let format = match examined.problem {
            None if examined.keras => Format::KerasConfig,
            None => Format::Json,
            Some(problem) => {
                if examined.keras && complete {
                    report_invalid(&problem, Some(0), findings);
                }
                // Not JSON: the file is something else, perhaps with a zip at its end that
                // zipfile (and load_model) would open; the scanner looks for one when the
                // format is unknown. A text cut at the bound ends the same in every driver
                // only up to the bound, so it stays JSON.
                match (cut, examined.keras) {
                    (true, true) => Format::KerasConfig,
                    (true, false) => Format::Json,
                    (false, _) => Format::Unknown,
                }
            }
        };
        Finished::plain(format)
    }
}
