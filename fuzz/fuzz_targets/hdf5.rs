//! Fuzzes the HDF5 reader: inputs start with the HDF5 signature (added when missing), and every
//! reading order must give one report (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let (header, file) = with_magic(data, b"\x89HDF\r\n\x1a\n");
    check_split_independence(&header, &file);
});
