//! Fuzzes the whole sans-IO scanner for split independence (see `src/lib.rs`): any input, any
//! reading order, one report. Default limits throughout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_fuzz::{HEADER, check_split_independence};

fuzz_target!(|data: &[u8]| {
    let (header, file) = data.split_at(data.len().min(HEADER));
    check_split_independence(header, file);
});
