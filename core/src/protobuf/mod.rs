//! Protobuf model files, walked on the wire without generated code: ONNX models, TensorFlow
//! SavedModels and Keras SavedModel metadata.
//!
//! Protobuf has no magic number and these schemas overlap on the wire (field 2 is a string in
//! ONNX and a `MetaGraphDef` in a SavedModel), so every schema reads the same bytes side by side
//! ([`Readings`]) and the fields each one saw decide what the file is. A reading that does not
//! recognise the file still contributes its high and critical findings: a graph op that runs
//! Python is reported even in a file that is odd in other ways.

mod readings;
#[cfg(test)]
pub(crate) mod tests;
mod walker;
mod wire;

pub(crate) use readings::Readings;
pub(crate) use walker::{Action, Schema, Value, Walker};
pub(crate) use wire::{WireType, looks_like_message};

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::pickle::PickleStream;
use crate::reader::Reader;
use crate::scanner::Input;

/// A reader whose input may turn out to be another format's.
pub(crate) trait Reading: Reader {
    /// Whether the input started like this reader's format, though it is not recognised (yet).
    fn partly_recognized(&self) -> bool;
}

impl Reading for PickleStream {
    fn partly_recognized(&self) -> bool {
        false
    }
}

/// The readings of an input whose first bytes are protobuf fields: ONNX, SavedModel, bare
/// GraphDef, Keras metadata and fingerprint, plus `pickle` when the first byte is also a pickle
/// opcode (a protocol-0 pickle can start like a protobuf field, and a model can be crafted to).
pub(crate) fn reader(
    input: Input,
    pickle: Option<PickleStream>,
    findings: &Findings,
) -> Box<dyn Reader> {
    let mut readers: Vec<Box<dyn Reading>> = Vec::new();
    if let Some(stream) = pickle {
        readers.push(Box::new(stream));
    }
    readers.push(Box::new(Walker::new(
        crate::onnx::Model::default(),
        input.size,
    )));
    readers.push(Box::new(Walker::new(
        crate::tf::Graphs::saved_model(),
        input.size,
    )));
    readers.push(Box::new(Walker::new(
        crate::tf::Graphs::graph_def(),
        input.size,
    )));
    readers.push(Box::new(Walker::new(
        crate::tf::KerasMetadata::default(),
        input.size,
    )));
    readers.push(Box::new(Walker::new(
        crate::tf::Fingerprint::default(),
        input.size,
    )));
    Box::new(Readings::new(readers, findings))
}
