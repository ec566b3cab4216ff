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
use crate::reader::{Finished, Gap, Reader};
use crate::scanner::Input;

/// A reader whose input may turn out to be another format's.
pub(crate) trait Reading: Reader {
    /// Whether the input started like this reader's format, though it is not recognised (yet).
    fn partly_recognized(&self) -> bool;

    /// Whether the sniff chose this reader by the input's magic: when no reading recognises
    /// the input, its complaints describe the file (a broken Keras config stays a broken
    /// config, though its first bytes are also protobuf fields).
    fn sniffed(&self) -> bool {
        false
    }
}

/// The reader of a format whose sniff claimed bytes that are also protobuf fields, run first
/// among the readings. It recognised its format or not: there is no partial recognition.
#[derive(Debug)]
struct Claimed(Box<dyn Reader>);

impl Reader for Claimed {
    fn wanted(&self) -> Option<u64> {
        self.0.wanted()
    }

    fn feed(&mut self, offset: u64, data: &[u8], findings: &mut Findings) -> Result<(), Gap> {
        self.0.feed(offset, data, findings)
    }

    fn skipped(&self) -> bool {
        self.0.skipped()
    }

    fn recognized(&self) -> bool {
        self.0.recognized()
    }

    fn unrecognized(&self) -> bool {
        self.0.unrecognized()
    }

    fn user_block_from(&self) -> Option<u64> {
        self.0.user_block_from()
    }

    fn settle(&mut self, findings: &mut Findings) {
        self.0.settle(findings);
    }

    fn finish(self: Box<Self>, eof: u64, findings: &mut Findings) -> Finished {
        self.0.finish(eof, findings)
    }
}

impl Reading for Claimed {
    fn partly_recognized(&self) -> bool {
        false
    }

    fn sniffed(&self) -> bool {
        true
    }
}

/// The readings of an input whose first bytes are protobuf fields: ONNX, SavedModel, bare
/// GraphDef, Keras metadata and fingerprint, after `claimed`, the reader of the format the
/// sniff saw (if any). Protobuf has no magic, and its parsers keep unknown fields, so a pickle
/// opcode, a JSON object or a safetensors length can also be the start of a model that
/// `onnx.load` or TensorFlow reads: such bytes are read both ways.
pub(crate) fn reader(
    input: Input,
    claimed: Option<Box<dyn Reader>>,
    findings: &Findings,
) -> Box<dyn Reader> {
    let mut readers: Vec<Box<dyn Reading>> = Vec::new();
    if let Some(claimed) = claimed {
        readers.push(Box::new(Claimed(claimed)));
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
