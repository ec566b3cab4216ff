//! `keras_metadata.pb`: one JSON config per Keras object of a Keras SavedModel, as a [`Schema`]
//! for the protobuf walker.

use alloc::format;
use alloc::string::String;

use super::graph::MAX_METADATA;
use crate::findings::Findings;
use crate::keras::{ConfigKind, check_config};
use crate::protobuf::{Action, Schema, Value, WireType};
use crate::report::Format;
use crate::rules::Rule;

/// The message types of `SavedMetadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `SavedMetadata`.
    Metadata,
    /// `SavedObject` (Keras' own, not the SavedModel one).
    Object,
}

/// What the walk has seen of a `SavedMetadata` message.
#[derive(Debug, Default)]
pub(crate) struct KerasMetadata {
    keras_objects: u64,
}

/// Judges one object's metadata JSON (`bytes`, the first of `len` bytes at offset `at`).
/// Returns whether it is a Keras config (a text that is not JSON at all says nothing about the
/// file being Keras metadata: the bytes may be another schema's field).
pub(super) fn check_json(bytes: &[u8], len: u64, at: u64, findings: &mut Findings) -> bool {
    if (bytes.len() as u64) < len {
        findings.rule(
            Rule::ScanLimitReached,
            None,
            Some(at),
            format!("a Keras object's metadata is {len} bytes, more than the {MAX_METADATA} read"),
            Some(String::from("keras metadata")),
        );
        return true;
    }
    check_config(bytes, Some(at), findings) == ConfigKind::Keras
}

impl Schema for KerasMetadata {
    type Kind = Kind;
    const MALFORMED: Rule = Rule::TfMalformed;

    fn root(&self) -> Kind {
        Kind::Metadata
    }

    fn format(&self) -> Format {
        Format::KerasMetadata
    }

    fn field(&self, kind: Kind, field: u32, wire: WireType) -> Action<Kind> {
        match (kind, field, wire) {
            (Kind::Metadata, 1, WireType::Len) => Action::Message(Kind::Object),
            (Kind::Object, 4, WireType::Len) => Action::Text { max: 256 },
            (Kind::Object, 5, WireType::Len) => Action::Text { max: MAX_METADATA },
            _ => Action::Skip,
        }
    }

    fn value(&mut self, kind: Kind, field: u32, value: Value<'_>, at: u64, f: &mut Findings) {
        let (Kind::Object, Value::Text { bytes, len }) = (kind, value) else {
            return;
        };
        let keras = match field {
            4 => bytes.starts_with(b"_tf_keras"),
            _ => check_json(bytes, len, at, f),
        };
        if keras {
            self.keras_objects += 1;
        }
    }

    fn recognized(&self) -> bool {
        self.keras_objects > 0
    }
}
