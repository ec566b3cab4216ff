//! Throughput of the pickle scanner.
//!
//! - `pickle/tuples_100mb`: `scan_bytes` on a ~107 MB protocol-4 pickle of 3.5 million small
//!   tuples, byte-identical to CPython's `pickle.dumps([(i, f"name_{i}", i * 0.5) for i in
//!   range(3_500_000)], protocol=4)` (generated in Rust by `examples/gen_bench_pickle.rs`;
//!   `bench/check_generator.py` proves the equality). Opcode-heavy: ~31 bytes per tuple.
//! - `pickle/tuples_100mb_64k_chunks`: the same file through a streaming `Scanner` fed 64 KiB
//!   at a time, as the CLI and browser drivers do.
//! - `pickle/sklearn_forest`: `scan_bytes` on `tests/fixtures/pickle/benign/sklearn_forest_bench.pkl`,
//!   a real scikit-learn random forest, when that fixture exists (skipped with a message if not).
//!
//! `cargo bench -p modelsieve-core --bench pickle`

#![allow(missing_docs)]

use core::hint::black_box;
use core::time::Duration;
use std::path::Path;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use modelsieve_core::{Limits, Policy, Scanner, scan_bytes};

#[path = "../examples/gen_bench_pickle.rs"]
#[allow(dead_code)]
mod gen_bench_pickle;

const FOREST: &str = "tests/fixtures/pickle/benign/sklearn_forest_bench.pkl";

fn scan_chunked(bytes: &[u8], policy: &Policy) -> modelsieve_core::Report {
    let mut scanner = Scanner::new(policy, Limits::default(), Some(bytes.len() as u64));
    let mut offset = 0u64;
    for chunk in bytes.chunks(64 * 1024) {
        scanner.feed(offset, chunk);
        offset += chunk.len() as u64;
    }
    scanner.finish()
}

fn bench_pickle(c: &mut Criterion) {
    let policy = Policy::default();
    let tuples = gen_bench_pickle::generate(gen_bench_pickle::BENCH_TUPLES);
    let report = scan_bytes(&tuples, &policy);
    eprintln!(
        "tuples_100mb: {} bytes, verdict {}, {} findings",
        tuples.len(),
        report.verdict,
        report.findings.len()
    );

    let mut group = c.benchmark_group("pickle");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    group.throughput(Throughput::Bytes(tuples.len() as u64));
    group.bench_function("tuples_100mb", |b| {
        b.iter(|| scan_bytes(black_box(&tuples), &policy))
    });
    group.bench_function("tuples_100mb_64k_chunks", |b| {
        b.iter(|| scan_chunked(black_box(&tuples), &policy))
    });
    drop(tuples);

    // Benches run with the package root (core/) as working directory.
    let forest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(FOREST);
    match std::fs::read(&forest) {
        Ok(bytes) => {
            let report = scan_bytes(&bytes, &policy);
            eprintln!(
                "sklearn_forest: {} bytes, verdict {}, {} findings",
                bytes.len(),
                report.verdict,
                report.findings.len()
            );
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function("sklearn_forest", |b| {
                b.iter(|| scan_bytes(black_box(&bytes), &policy))
            });
        }
        Err(e) => eprintln!("pickle/sklearn_forest skipped: {FOREST} not readable ({e})"),
    }
    group.finish();
}

criterion_group!(benches, bench_pickle);
criterion_main!(benches);
