//! Fuzzes the protobuf readings (ONNX, SavedModel, GraphDef, Keras metadata, fingerprint): inputs
//! start with `08 08` (ONNX's `ir_version = 8`, also a SavedModel's schema version field; added
//! when missing) so that the sniffer takes them as protobuf, and every reading order must give
//! one report (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let (header, file) = with_magic(data, b"\x08\x08");
    check_split_independence(&header, &file);
});
