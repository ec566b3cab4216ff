//! Protobuf messages walked on the wire (ONNX, TensorFlow SavedModel, Keras metadata).
//!
//! STUB: replaced by the protobuf walker.

use alloc::boxed::Box;

use crate::findings::Findings;
use crate::reader::Reader;
use crate::scanner::Input;

/// Whether the leading bytes are well-formed protobuf fields.
pub(crate) fn looks_like_message(prefix: &[u8]) -> bool {
    let _ = prefix;
    false
}

/// The readings of a protobuf file.
pub(crate) fn reader(input: Input, findings: &Findings) -> Box<dyn Reader> {
    let _ = findings;
    Box::new(crate::hdf5::Hdf5Reader::new(input))
}
