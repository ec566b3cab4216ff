//! Fuzzes the `.npy` reader: every input becomes a file that starts with `\x93NUMPY`, so the
//! sniffer always hands it to the reader, and the header parser, the dtype rules and the
//! hand-off of object-array data to the pickle engine all see fuzzed bytes.
//!
//! Input layout (the first four bytes are not part of the scanned file):
//! - byte 0: bits 0-1 choose the format version (1.0, 2.0, 3.0, or the raw pair in bytes 1-2,
//!   to reach the version check); bit 2 keeps the header length as given instead of fitting it
//!   to the input (to reach headers longer than the file); bits 3-7 choose a chunk size;
//! - bytes 1-2: the header length, u16 LE;
//! - byte 3: a read size for the seeking driver;
//! - the rest: the header text, then the data.
//!
//! As in the `scanner` target, the file must give the same findings, verdict and format
//! whether scanned whole, streamed in chunks, streamed byte by byte, or read by a seeking
//! driver (which skips numeric array data); the verdict must be the one the findings imply,
//! and the format always `npy`. Default limits throughout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_core::{Format, Policy, Verdict, scan_bytes};
use modelsieve_fuzz::check_split_independence;

/// Header bytes that shape the file; the rest of the input is its header text and data.
const HEADER: usize = 4;

fn build(header: &[u8], rest: &[u8]) -> Vec<u8> {
    let mode = header.first().copied().unwrap_or(0);
    let given = u16::from_le_bytes([
        header.get(1).copied().unwrap_or(0),
        header.get(2).copied().unwrap_or(0),
    ]);
    let (major, minor) = match mode & 3 {
        0 => (1, 0),
        1 => (2, 0),
        2 => (3, 0),
        _ => (
            header.get(1).copied().unwrap_or(0),
            header.get(2).copied().unwrap_or(0),
        ),
    };
    let length = if mode & 4 != 0 {
        u32::from(given)
    } else {
        // Mostly a header that fits, so the parser and the data paths get the inputs.
        u32::from(given) % (rest.len() as u32 + 1)
    };
    let mut file = Vec::with_capacity(rest.len() + 12);
    file.extend_from_slice(b"\x93NUMPY");
    file.extend_from_slice(&[major, minor]);
    if major == 1 {
        file.extend_from_slice(&(length as u16).to_le_bytes());
    } else {
        file.extend_from_slice(&length.to_le_bytes());
    }
    file.extend_from_slice(rest);
    file
}

fuzz_target!(|data: &[u8]| {
    let (header, rest) = data.split_at(data.len().min(HEADER));
    let file = build(header, rest);
    let policy = Policy::default();

    let whole = scan_bytes(&file, &policy);
    assert_eq!(whole.format, Format::Npy, "a file with the magic is npy");
    assert_eq!(
        whole.verdict,
        Verdict::from_findings(&whole.findings),
        "verdict disagrees with findings: {:#?}",
        whole.findings
    );

    // Chunk size from byte 0, short seeking reads from byte 3, as the shared check takes them.
    let sizes = [
        header.first().copied().unwrap_or(0) >> 3,
        header.get(3).copied().unwrap_or(0),
    ];
    check_split_independence(&sizes, &file);
});
