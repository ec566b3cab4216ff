//! Shared checks for the fuzz targets: every target feeds its input to the whole scanner in
//! every reading order and requires the same report.
//!
//! The same file must give the same findings, verdict and format however its bytes arrive:
//! - whole, through `scan_bytes_with_limits` (with [`limits`]);
//! - streamed in chunks whose sizes come from a header (not part of the scanned file);
//! - streamed byte by byte;
//! - through a seeking driver that reads exactly the ranges `want()` names, with the scanner's
//!   read hint and with small reads.
//!
//! Only `bytes_read` may differ, plus one documented case: a zip member whose local header lies
//! in bytes a streaming driver has already passed (found only through the central directory)
//! is read by seeking drivers and reported as unread by streaming ones.

use modelsieve_core::{Limits, Policy, Report, Scanner, Want, scan_bytes_with_limits};

/// Header bytes that choose the chunk sizes; the rest of the input is the file.
pub const HEADER: usize = 4;

/// How many findings say a member could not be reached without seeking back; a streamed report
/// may have more than the whole-file one, and only then differ from it.
fn unreachable_when_streamed(report: &Report) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.message.contains("did not seek back"))
        .count()
}

fn same(what: &str, expected: &Report, got: &Report) {
    if unreachable_when_streamed(got) > unreachable_when_streamed(expected) {
        assert_ne!(
            got.verdict,
            modelsieve_core::Verdict::Clean,
            "{what}: an unreachable member must not leave the file clean"
        );
        return;
    }
    assert_eq!(
        expected.findings, got.findings,
        "{what}: findings differ from scan_bytes"
    );
    assert_eq!(expected.verdict, got.verdict, "{what}: verdict differs");
    assert_eq!(expected.format, got.format, "{what}: format differs");
    assert_eq!(expected.size, got.size, "{what}: size differs");
    assert_eq!(expected.path, got.path, "{what}: path differs");
}

/// The limits every reading order runs with: the defaults, except a 4 MiB decompression
/// budget. A few KiB of deflate may legitimately cost up to the default 4 GiB budget of
/// inflating and CRC work (seconds of CPU, minutes under the sanitizer), which the resource
/// tests bound; here it would only slow the search for logic errors.
pub fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_inflated_bytes = 4 << 20;
    limits
}

/// Feeds `file` in order, in chunks whose sizes cycle through `sizes` (each at least 1).
pub fn chunked(file: &[u8], sizes: &[usize], policy: &Policy) -> Report {
    let mut scanner = Scanner::new(policy, limits(), Some(file.len() as u64));
    let mut offset = 0usize;
    let mut i = 0usize;
    while offset < file.len() {
        let size = sizes[i % sizes.len()].min(file.len() - offset);
        scanner.feed(offset as u64, &file[offset..offset + size]);
        offset += size;
        i += 1;
    }
    scanner.finish()
}

/// A seeking driver: reads what `want()` names, at most `max_read` bytes at a time (and at
/// least the scanner's hint when `max_read` is 0), until `Done` or end of file.
pub fn seeking(file: &[u8], max_read: usize, policy: &Policy) -> Report {
    let mut scanner = Scanner::new(policy, limits(), Some(file.len() as u64));
    // Every feed either advances what the scanner wants or ends the scan; bound the loop anyway
    // so that a scanner that stops making progress is reported as a failure, not a hang.
    let mut rounds = 0usize;
    loop {
        let (offset, len) = match scanner.want() {
            Want::Done => break,
            Want::Range { offset, len } => (offset, len),
        };
        let Ok(start) = usize::try_from(offset) else {
            break;
        };
        if start >= file.len() {
            break;
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX).max(1);
        let len = if max_read == 0 {
            len
        } else {
            len.min(max_read)
        };
        let end = start.saturating_add(len).min(file.len());
        scanner.feed(offset, &file[start..end]);
        rounds += 1;
        assert!(
            // A zip is read in order and its tail ahead (for sizes), and members may be
            // revisited: a few passes over the file, never an unbounded number.
            rounds <= 4 * file.len() + 64,
            "seeking driver made {rounds} reads on a {}-byte file: want() does not advance \
             (last want {offset}+{len})",
            file.len()
        );
    }
    scanner.finish()
}

/// Runs `file` through every reading order (chunk sizes from `header`) and asserts that the
/// reports agree.
pub fn check_split_independence(header: &[u8], file: &[u8]) {
    // `MODELSIEVE_FUZZ_AS_SCANNER=PATH` saves the input as the `scanner` target reads it (the
    // header, then the file this target built from its input), so that a failure found by any
    // target becomes a `scanner-*.bin` regression, which `tests/tests/drivers.rs` replays
    // without cargo-fuzz.
    if let Some(path) = std::env::var_os("MODELSIEVE_FUZZ_AS_SCANNER") {
        let saved = std::fs::write(&path, [header, file].concat());
        saved.expect("MODELSIEVE_FUZZ_AS_SCANNER names a writable path");
    }
    let policy = Policy::default();
    let whole = scan_bytes_with_limits(file, &policy, limits());

    // Chunk sizes 1..=256 from the header bytes; a short header still gives one size.
    let mut sizes: Vec<usize> = header.iter().map(|&b| usize::from(b) + 1).collect();
    if sizes.is_empty() {
        sizes.push(1);
    }
    same("chunked", &whole, &chunked(file, &sizes, &policy));
    same("byte by byte", &whole, &chunked(file, &[1], &policy));

    // Seeking with the scanner's own read hint, and with small reads chosen by the header.
    same("seeking", &whole, &seeking(file, 0, &policy));
    let small = header.first().map_or(1, |&b| usize::from(b % 32) + 1);
    same(
        "seeking, small reads",
        &whole,
        &seeking(file, small, &policy),
    );
}

/// Splits a fuzz input into the chunk-size header and the file, and puts `magic` in front of
/// the file unless it already starts with it, so a format target spends its time in its reader.
pub fn with_magic(data: &[u8], magic: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (header, file) = data.split_at(data.len().min(HEADER));
    let mut bytes = Vec::with_capacity(file.len() + magic.len());
    if !file.starts_with(magic) {
        bytes.extend_from_slice(magic);
    }
    bytes.extend_from_slice(file);
    (header.to_vec(), bytes)
}
