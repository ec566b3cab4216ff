//! Fuzzes the zip reader: inputs start with a local header signature (added when missing),
//! and every reading order must give one report (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let (header, file) = with_magic(data, b"PK\x03\x04");
    check_split_independence(&header, &file);
});
