//! The scanner's central invariant: the seeking driver, the streaming driver and any chunking of
//! the input give the same report (only `bytes_read` may differ), and no input makes it panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use modelsieve_core::{Limits, Policy, Verdict, scan_bytes};
use modelsieve_tests::{
    assert_stream_agrees, comparable, conformance_dir, fixtures_dir, scan_seeking,
    scan_seeking_reads, scan_streaming,
};
use proptest::prelude::*;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(&conformance_dir(), &mut files);
    files_under(&fixtures_dir(), &mut files);
    files.retain(|p| fs::metadata(p).map(|m| m.len() < 64 << 20).unwrap_or(false));
    files
}

#[test]
fn seek_stream_and_chunking_agree_on_every_corpus_file() {
    let policy = Policy::default();
    let limits = Limits::default();
    let files = corpus();
    assert!(files.len() > 100, "corpus too small: {}", files.len());
    for path in files {
        let bytes = fs::read(&path).expect("readable");
        let whole_report = scan_bytes(&bytes, &policy);
        let whole = comparable(&whole_report);
        let seek = scan_seeking(&bytes, &policy, limits);
        assert_eq!(
            comparable(&seek),
            whole,
            "seek driver differs on {}",
            path.display()
        );
        let short_reads = scan_seeking_reads(&bytes, &policy, limits, 5);
        assert_eq!(
            comparable(&short_reads),
            whole,
            "seek driver with 5-byte reads differs on {}",
            path.display()
        );
        assert!(
            seek.bytes_read <= bytes.len() as u64,
            "seek read more than the file: {}",
            path.display()
        );
        for chunks in [&[1usize][..], &[7, 3, 64], &[65536], &[4096, 1, 13]] {
            let streamed = scan_streaming(&bytes, &policy, limits, chunks);
            assert_stream_agrees(
                &streamed,
                &whole_report,
                &format!("chunks {chunks:?} differ on {}", path.display()),
            );
            assert_eq!(
                streamed.bytes_read,
                bytes.len() as u64,
                "stream bytes_read on {}",
                path.display()
            );
        }
    }
}

/// The inputs that once broke the `scanner` fuzz target (`fuzz/fuzz_targets/scanner.rs`),
/// replayed here the way that target reads them, so `cargo test` guards them without cargo-fuzz:
/// a 4-byte header choosing the read sizes, then the file.
#[test]
fn scanner_fuzz_regressions_agree_in_every_driver() {
    let policy = Policy::default();
    let mut limits = Limits::default();
    limits.max_inflated_bytes = 4 << 20; // as fuzz/src/lib.rs
    let dir = fixtures_dir().join("fuzz-regressions");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("fuzz-regressions")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("scanner-"))
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 4, "scanner regressions: {}", inputs.len());
    for path in inputs {
        let data = fs::read(&path).expect("readable");
        let (header, file) = data.split_at(data.len().min(4));
        let whole = comparable(&modelsieve_core::scan_bytes_with_limits(
            file, &policy, limits,
        ));
        let small = header.first().map_or(1, |&b| usize::from(b % 32) + 1);
        let name = path.display();
        assert_eq!(
            comparable(&scan_seeking(file, &policy, limits)),
            whole,
            "seek: {name}"
        );
        for max_read in [small, 1, 8] {
            assert_eq!(
                comparable(&scan_seeking_reads(file, &policy, limits, max_read)),
                whole,
                "seek with {max_read}-byte reads: {name}"
            );
        }
        let sizes: Vec<usize> = header.iter().map(|&b| usize::from(b) + 1).collect();
        for chunks in [&sizes[..], &[1]] {
            assert_eq!(
                comparable(&scan_streaming(file, &policy, limits, chunks)),
                whole,
                "chunks {chunks:?}: {name}"
            );
        }
    }
}

fn small_limits() -> Limits {
    let mut limits = Limits::default();
    // Small budgets make the limit paths reachable by short random inputs.
    limits.max_inline_operand = 64;
    limits.max_memo_entries = 16;
    limits.max_stack_values = 256;
    limits.max_retained_items = 64;
    limits.max_retained_bytes = 256;
    limits.max_depth = 3;
    limits
}

/// Inputs that start like a pickle, so the engine rather than the sniffer sees most of them.
fn pickle_like() -> impl Strategy<Value = Vec<u8>> {
    let opcode_soup = proptest::collection::vec(
        prop_oneof![
            Just(b'('),
            Just(b'.'),
            Just(b'0'),
            Just(b'2'),
            Just(b'N'),
            Just(b'R'),
            Just(b'b'),
            Just(b't'),
            Just(b'c'),
            Just(b'\n'),
            Just(b'h'),
            Just(b'q'),
            Just(0x93u8),
            Just(0x94u8),
            Just(0x8cu8),
            Just(0x85u8),
            Just(b'o'),
            Just(b's'),
            Just(b'}'),
            Just(b']'),
            Just(b'a'),
            Just(b'e'),
            Just(b'u'),
            Just(0x95u8),
            Just(0x8eu8),
            Just(b'X'),
            Just(b'S'),
            Just(b'\''),
            Just(b'i'),
            Just(0x81u8),
            Just(0x92u8),
            any::<u8>(),
        ],
        0..200,
    );
    (
        prop_oneof![
            Just(vec![0x80u8, 4]),
            Just(vec![0x80, 2]),
            Just(vec![]),
            Just(b"cos\nsystem\n".to_vec())
        ],
        opcode_soup,
    )
        .prop_map(|(mut head, tail)| {
            head.extend(tail);
            head
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_input_any_chunking_same_report(bytes in pickle_like(), a in 1usize..17, b in 1usize..300) {
        let policy = Policy::default();
        for limits in [Limits::default(), small_limits()] {
            let whole = modelsieve_core::scan_bytes_with_limits(&bytes, &policy, limits);
            prop_assert_eq!(whole.verdict, Verdict::from_findings(&whole.findings));
            let whole = comparable(&whole);
            prop_assert_eq!(comparable(&scan_seeking(&bytes, &policy, limits)), whole.clone());
            prop_assert_eq!(comparable(&scan_seeking_reads(&bytes, &policy, limits, a)), whole.clone());
            prop_assert_eq!(comparable(&scan_streaming(&bytes, &policy, limits, &[a, b])), whole.clone());
            prop_assert_eq!(comparable(&scan_streaming(&bytes, &policy, limits, &[1])), whole);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let report = modelsieve_core::scan_bytes_with_limits(&bytes, &Policy::default(), small_limits());
        prop_assert_eq!(report.verdict, Verdict::from_findings(&report.findings));
    }
}
