//! Fuzzes the Keras config reader: inputs start with `{"` (added when missing), so the sniffer
//! hands them to the JSON reader, which walks every object as a Keras config; every reading
//! order must give one report (see `src/lib.rs`). Inputs already starting with `[` (a top-level
//! array, which Keras deserializes element by element) or a UTF-16 byte-order mark are kept as
//! they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{HEADER, check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let body = data.get(HEADER..).unwrap_or_default();
    let magic: &[u8] = if body.starts_with(b"[") || body.starts_with(b"\xff\xfe") {
        b""
    } else {
        b"{\""
    };
    let (header, file) = with_magic(data, magic);
    check_split_independence(&header, &file);
});
