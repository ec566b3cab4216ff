//! Fuzzes the gzip and zlib readers: inputs whose first file byte is `x` become zlib streams
//! (a zlib header is put in front), all others gzip members (magic and method put in front),
//! so the fuzzer spends its time in header parsing, inflation, trailers, concatenated members
//! and trailing garbage; every reading order must give one report (see `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{HEADER, check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let zlib = data.get(HEADER) == Some(&b'x');
    let magic: &[u8] = if zlib { b"\x78\x9c" } else { b"\x1f\x8b\x08" };
    let (header, file) = with_magic(data, magic);
    check_split_independence(&header, &file);
});
