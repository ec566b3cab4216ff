//! Test drivers shared by the readers' unit tests: the same bytes scanned whole, streamed in
//! pieces (with and without an announced size) and by a seeking driver, which must all agree.

use alloc::vec;

use crate::{Limits, Policy, Report, Scanner, Want};

/// `scan_bytes` with the default policy.
pub(crate) fn scan(bytes: &[u8]) -> Report {
    crate::scan_bytes(bytes, &Policy::default())
}

/// Feeds `bytes` in order in pieces of `chunk` bytes, announcing the size or not.
pub(crate) fn chunked(bytes: &[u8], chunk: usize, announce_size: bool) -> Report {
    let size = announce_size.then_some(bytes.len() as u64);
    let mut scanner = Scanner::new(&Policy::default(), Limits::default(), size);
    for (i, piece) in bytes.chunks(chunk).enumerate() {
        scanner.feed((i * chunk) as u64, piece);
    }
    scanner.finish()
}

/// A seeking driver that reads only what `want()` names, at most `max_read` bytes at a time.
pub(crate) fn seeking(bytes: &[u8], max_read: usize) -> Report {
    let mut scanner = Scanner::new(
        &Policy::default(),
        Limits::default(),
        Some(bytes.len() as u64),
    );
    let mut rounds = 0;
    while let Want::Range { offset, len } = scanner.want() {
        let start = offset as usize;
        let end = (start + (len as usize).min(max_read)).min(bytes.len());
        if start >= end {
            break;
        }
        scanner.feed(offset, &bytes[start..end]);
        rounds += 1;
        assert!(rounds < 1_000_000, "want() does not advance");
    }
    scanner.finish()
}

/// Every driver must report the same as `scan_bytes`; only `bytes_read` may differ.
pub(crate) fn same_everywhere(bytes: &[u8]) -> Report {
    let whole = scan(bytes);
    let others = vec![
        ("byte by byte", chunked(bytes, 1, true)),
        ("chunks of 7", chunked(bytes, 7, true)),
        ("streamed without size", chunked(bytes, 13, false)),
        ("byte by byte without size", chunked(bytes, 1, false)),
        ("seeking", seeking(bytes, usize::MAX)),
        ("seeking, reads of 5", seeking(bytes, 5)),
    ];
    for (what, report) in others {
        assert_eq!(whole.findings, report.findings, "{what}: findings differ");
        assert_eq!(whole.verdict, report.verdict, "{what}: verdict differs");
        assert_eq!(whole.format, report.format, "{what}: format differs");
    }
    whole
}
