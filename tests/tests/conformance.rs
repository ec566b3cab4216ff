//! The peers' public test data (`../shared/conformance/manifest.tsv`) with their expected
//! verdicts: every `malicious` row flagged, no `benign` row flagged, no `invalid` row passed as
//! silently clean. Rows of formats this build does not read yet are listed as pending by name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use modelsieve_core::{Format, Policy, Report, Severity, Verdict, scan_bytes};
use modelsieve_tests::{conformance_dir, read_tsv};

struct Row {
    path: String,
    expected: String,
    notes: String,
}

fn manifest() -> Vec<Row> {
    let rows = read_tsv(&conformance_dir().join("manifest.tsv"), 4);
    assert!(
        !rows.is_empty(),
        "conformance manifest missing beside the repo"
    );
    rows.into_iter()
        .map(|mut cols| Row {
            notes: std::mem::take(&mut cols[3]),
            expected: std::mem::take(&mut cols[1]),
            path: std::mem::take(&mut cols[0]),
        })
        .collect()
}

/// Formats whose readers arrive with later work; their rows are pending, not skipped silently.
fn pending_reason(report: &Report, bytes: &[u8]) -> Option<&'static str> {
    if report.format != Format::Unknown {
        return None;
    }
    let magic = |m: &[u8]| bytes.starts_with(m);
    if magic(b"\x89HDF") {
        Some("HDF5")
    } else if bytes.first() == Some(&0x08)
        || bytes.first() == Some(&0x12)
        || bytes.first() == Some(&0x0a)
    {
        Some("protobuf (SavedModel/ONNX)")
    } else {
        None
    }
}

fn flagged(report: &Report) -> bool {
    report.verdict != Verdict::Clean
}

#[test]
fn conformance_corpus() {
    let policy = Policy::default();
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    let mut checked = 0;
    for row in manifest() {
        let bytes = fs::read(conformance_dir().join(&row.path)).expect("corpus file");
        let report = scan_bytes(&bytes, &policy);
        if let Some(reason) = pending_reason(&report, &bytes) {
            pending.push(format!("{} ({reason})", row.path));
            continue;
        }
        checked += 1;
        let ok = match row.expected.as_str() {
            "malicious" => flagged(&report),
            "benign" => !flagged(&report),
            // Not clean without comment, and not called dangerous for corruption alone.
            "invalid" => !report.findings.is_empty() && report.verdict != Verdict::Dangerous,
            other => panic!("unknown expectation {other} for {}", row.path),
        };
        if !ok {
            let worst: Vec<String> = report
                .findings
                .iter()
                .filter(|f| f.severity >= Severity::Low)
                .take(4)
                .map(|f| format!("{} {} {}", f.severity, f.rule, f.message))
                .collect();
            failures.push(format!(
                "{} expected {} got {} ({}) {:?}\n    notes: {}",
                row.path, row.expected, report.verdict, report.format, worst, row.notes
            ));
        }
    }
    eprintln!(
        "conformance: {checked} rows checked, {} pending a later format reader:",
        pending.len()
    );
    for p in &pending {
        eprintln!("  pending: {p}");
    }
    assert!(checked >= 90, "only {checked} rows were checked");
    assert!(
        failures.is_empty(),
        "{} conformance failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
