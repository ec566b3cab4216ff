//! `fingerprint.pb`: a SavedModel's hashes, as a [`Schema`] for the protobuf walker. Nothing
//! in it is acted on; it is recognised so that a SavedModel folder scans without an
//! unrecognised file.

use crate::findings::Findings;
use crate::protobuf::{Action, Schema, Value, WireType};
use crate::report::Format;
use crate::rules::Rule;

/// `FingerprintDef` is one flat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind;

/// Which of the five hash fields were seen, and whether anything else was.
#[derive(Debug, Default)]
pub(crate) struct Fingerprint {
    hashes: u8,
    foreign: bool,
}

impl Schema for Fingerprint {
    type Kind = Kind;
    const MALFORMED: Rule = Rule::TfMalformed;

    fn root(&self) -> Kind {
        Kind
    }

    fn format(&self) -> Format {
        Format::TfFingerprint
    }

    fn field(&self, _: Kind, field: u32, wire: WireType) -> Action<Kind> {
        match (field, wire) {
            (1..=5, WireType::Varint) => Action::Number,
            _ => Action::Skip,
        }
    }

    fn value(&mut self, _: Kind, field: u32, value: Value<'_>, _: u64, _: &mut Findings) {
        match (field, value) {
            (_, Value::Number(_)) => self.hashes |= 1 << field,
            // `version` (a VersionDef) and `uuid` (a string).
            (6 | 7, _) => {}
            _ => self.foreign = true,
        }
    }

    fn recognized(&self) -> bool {
        self.hashes == 0b11_1110 && !self.foreign
    }
}
