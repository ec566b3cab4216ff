//! Shared helpers for the cross-crate tests: where the fixtures and the conformance corpus
//! live, and the drivers the tests compare.

pub mod attacks;
pub mod gguf;
pub mod heap;

use std::path::{Path, PathBuf};

use modelsieve_core::{Limits, Policy, Report, Scanner, Want};

/// The repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `tests/fixtures/` in the repository.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests").join("fixtures")
}

/// The shared conformance corpus, beside the repository (`../shared/conformance`).
pub fn conformance_dir() -> PathBuf {
    repo_root().join("..").join("shared").join("conformance")
}

/// The data rows of a tab-separated file with a header line; missing trailing columns read as
/// empty strings, so `row[i]` is always safe for `i < columns`.
pub fn read_tsv(path: &Path, columns: usize) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut row: Vec<String> = line.split('\t').map(String::from).collect();
            row.resize(columns.max(row.len()), String::new());
            row
        })
        .collect()
}

/// Scans `bytes` the way a seeking driver does: only the ranges the scanner asks for.
pub fn scan_seeking(bytes: &[u8], policy: &Policy, limits: Limits) -> Report {
    scan_seeking_reads(bytes, policy, limits, usize::MAX)
}

/// A seeking driver whose reads return at most `max_read` bytes (short reads, as from a slow
/// disk or a small HTTP range).
pub fn scan_seeking_reads(
    bytes: &[u8],
    policy: &Policy,
    limits: Limits,
    max_read: usize,
) -> Report {
    let mut scanner = Scanner::new(policy, limits, Some(bytes.len() as u64));
    let mut last = None;
    while let Want::Range { offset, len } = scanner.want() {
        // Asking again for the bytes just given means the scanner made no progress: a real
        // driver would read them forever.
        assert_ne!(
            last,
            Some(offset),
            "want() asked for offset {offset} again right after it was fed: no progress"
        );
        last = Some(offset);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX).min(max_read))
            .min(bytes.len());
        let chunk = bytes.get(start..end).unwrap_or_default();
        if chunk.is_empty() {
            break;
        }
        scanner.feed(offset, chunk);
    }
    scanner.finish()
}

/// Scans the file at `path` the way the CLI's seeking driver does: only the ranges the scanner
/// asks for are read from disk (each read capped at 1 MiB). Returns the report and the number
/// of bytes this driver read, so tests can bound what a scan of a huge file touches.
pub fn scan_file_seeking(
    path: &Path,
    policy: &Policy,
    limits: Limits,
) -> std::io::Result<(Report, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut scanner = Scanner::new(policy, limits, Some(size));
    let mut read_total: u64 = 0;
    let mut buf = Vec::new();
    let mut last = None;
    while let Want::Range { offset, len } = scanner.want() {
        if last == Some(offset) || offset >= size {
            break;
        }
        last = Some(offset);
        let len = len.min(1 << 20).min(size - offset);
        buf.resize(usize::try_from(len).unwrap_or(1 << 20), 0);
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut buf)?;
        read_total += len;
        scanner.feed(offset, &buf);
    }
    Ok((scanner.finish(), read_total))
}

/// Scans `bytes` the way a streaming driver does: every chunk in order, sizes from `chunks`
/// (cycled), ignoring `want()`, and without announcing the size.
pub fn scan_streaming(bytes: &[u8], policy: &Policy, limits: Limits, chunks: &[usize]) -> Report {
    let mut scanner = Scanner::new(policy, limits, None);
    let mut offset = 0usize;
    let mut sizes = chunks.iter().copied().filter(|&c| c > 0).cycle();
    while offset < bytes.len() {
        let size = sizes.next().unwrap_or(bytes.len());
        let end = offset.saturating_add(size).min(bytes.len());
        scanner.feed(offset as u64, bytes.get(offset..end).unwrap_or_default());
        offset = end;
    }
    scanner.finish()
}

/// How many findings of a report say a zip member could not be read without seeking back: the
/// one documented way a streaming driver's report may differ from a seeking one (a member the
/// central directory places in bytes that had already streamed past). Such a report must still
/// not call the file clean.
pub fn could_not_seek_back(report: &Report) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.message.contains("did not seek back"))
        .count()
}

/// Asserts that a streamed report agrees with the whole-file one, allowing only the documented
/// divergence: more such findings than the whole-file report has (see [`could_not_seek_back`]).
pub fn assert_stream_agrees(streamed: &Report, whole: &Report, what: &str) {
    if could_not_seek_back(streamed) > could_not_seek_back(whole) {
        assert_ne!(
            streamed.verdict,
            modelsieve_core::Verdict::Clean,
            "{what}: a member the stream could not reach left the file clean"
        );
        return;
    }
    assert_eq!(comparable(streamed), comparable(whole), "{what}");
}

/// A report without the fields that legitimately differ between drivers.
pub fn comparable(report: &Report) -> (String, String, Vec<String>) {
    let findings = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{:?}|{:?}|{}|{:?}",
                f.rule, f.severity, f.member, f.offset, f.message, f.evidence
            )
        })
        .collect();
    (
        report.format.to_string(),
        report.verdict.to_string(),
        findings,
    )
}
