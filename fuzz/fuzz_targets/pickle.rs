//! Fuzzes the pickle engine through `scan_bytes`.
//!
//! Each input is scanned twice: prefixed with `\x80\x04` (PROTO 4, so the sniffer always hands
//! the bytes to the pickle engine and the engine treats them as a committed pickle) and raw (so
//! the sniffer and the "is this a pickle at all" logic are exercised too). Nothing may panic,
//! and the verdict must be the one the findings imply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_core::{Policy, Report, Verdict, scan_bytes};

fn check(report: &Report, input: &[u8]) {
    assert_eq!(
        report.verdict,
        Verdict::from_findings(&report.findings),
        "verdict disagrees with findings for {} input bytes: {:#?}",
        input.len(),
        report.findings
    );
    assert_eq!(report.size, Some(input.len() as u64));
}

fuzz_target!(|data: &[u8]| {
    let policy = Policy::default();

    let mut prefixed = Vec::with_capacity(data.len() + 2);
    prefixed.extend_from_slice(b"\x80\x04");
    prefixed.extend_from_slice(data);
    let report = scan_bytes(&prefixed, &policy);
    check(&report, &prefixed);

    let report = scan_bytes(data, &policy);
    check(&report, data);
});
