//! Keras model configs (JSON): the `config.json` of a `.keras` archive, the `model_config`
//! attribute of a Keras `.h5` file, the layer metadata of `keras_metadata.pb`.
//!
//! STUB: filled in by the Keras work (issue 4, item 5).

use alloc::boxed::Box;

use crate::findings::Findings;
use crate::reader::{Finished, Gap, Reader};
use crate::report::Format;
use crate::scanner::Input;

/// What a JSON text turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
pub(crate) fn check_config(
    text: &[u8],
    offset: Option<u64>,
    findings: &mut Findings,
) -> ConfigKind {
    let _ = (text, offset, findings);
    ConfigKind::NotKeras
}

/// A JSON document read whole (bounded) and judged as a Keras config.
#[derive(Debug)]
pub(crate) struct JsonReader {
    input: Input,
}

impl JsonReader {
    /// Starts a reader for an input that the sniffer found to start with a JSON object.
    pub(crate) fn new(input: Input) -> JsonReader {
        JsonReader { input }
    }
}

impl Reader for JsonReader {
    fn wanted(&self) -> Option<u64> {
        None
    }

    fn feed(&mut self, _offset: u64, _data: &[u8], _findings: &mut Findings) -> Result<(), Gap> {
        let _ = self.input;
        Ok(())
    }

    fn finish(self: Box<Self>, _eof: u64, _findings: &mut Findings) -> Finished {
        Finished::plain(Format::Unknown)
    }
}
