//! Fuzzes the safetensors reader: an input that is not already a safetensors file (a length,
//! then `{` at offset 8, as the seeds are) becomes one, its text up to the last `}` being the
//! header and the rest the tensor data; every reading order must give one report (see
//! `src/lib.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{check_split_independence, with_magic};

fuzz_target!(|data: &[u8]| {
    let (header, body) = with_magic(data, b"");
    if body.get(8) == Some(&b'{') {
        check_split_independence(&header, &body);
        return;
    }
    // The header is `{` plus the body up to its last `}`, so the JSON parser sees whole objects.
    let json_len = body.iter().rposition(|&b| b == b'}').map_or(0, |i| i + 1);
    let mut file = Vec::with_capacity(body.len() + 9);
    file.extend_from_slice(&(json_len as u64 + 1).to_le_bytes());
    file.push(b'{');
    file.extend_from_slice(&body);
    check_split_independence(&header, &file);
});
