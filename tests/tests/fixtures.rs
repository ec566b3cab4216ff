//! Every fixture in `tests/fixtures/expected.tsv` gets its expected verdict, and each expected
//! evidence token appears in some finding (its rule id, evidence or message).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use modelsieve_core::{Policy, Report, scan_bytes};
use modelsieve_tests::{fixtures_dir, read_tsv};

struct Expectation {
    path: String,
    verdict: String,
    evidence: Vec<String>,
    notes: String,
}

fn expectations() -> Vec<Expectation> {
    let rows = read_tsv(&fixtures_dir().join("expected.tsv"), 4);
    assert!(!rows.is_empty(), "tests/fixtures/expected.tsv is missing");
    rows.into_iter()
        .map(|mut cols| Expectation {
            evidence: cols[2]
                .split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
            notes: std::mem::take(&mut cols[3]),
            verdict: std::mem::take(&mut cols[1]),
            path: std::mem::take(&mut cols[0]),
        })
        .collect()
}

fn mentions(report: &Report, token: &str) -> bool {
    report.findings.iter().any(|f| {
        f.rule.id().contains(token)
            || f.message.contains(token)
            || f.evidence.as_deref().is_some_and(|e| e.contains(token))
    })
}

#[test]
fn every_fixture_gets_its_expected_verdict_and_evidence() {
    let policy = Policy::default();
    let rows = expectations();
    assert!(
        rows.len() >= 300,
        "expected.tsv lists only {} fixtures",
        rows.len()
    );
    let mut failures = Vec::new();
    for row in &rows {
        let bytes = fs::read(fixtures_dir().join(&row.path))
            .expect("fixture listed in expected.tsv exists");
        let report = scan_bytes(&bytes, &policy);
        let missing: Vec<&String> = row
            .evidence
            .iter()
            .filter(|t| !mentions(&report, t))
            .collect();
        if report.verdict.as_str() != row.verdict || !missing.is_empty() {
            let seen: Vec<String> = report
                .findings
                .iter()
                .take(5)
                .map(|f| format!("{} {} {}", f.severity, f.rule, f.message))
                .collect();
            failures.push(format!(
                "{}: expected {} with {:?}, got {} missing {:?}\n    {}\n    seen: {:#?}",
                row.path, row.verdict, row.evidence, report.verdict, missing, row.notes, seen
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_file_is_listed() {
    let listed: std::collections::BTreeSet<String> =
        expectations().into_iter().map(|e| e.path).collect();
    // Every folder of fixtures, except the fuzzers' inputs, the chat templates (which a test of
    // their own wraps into GGUF files) and joblib/ (checked file by file in joblib_legacy.rs).
    let not_fixtures = ["fuzz-regressions", "templates", "joblib"];
    let mut stack: Vec<_> = fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .flatten()
        .map(|e| e.path())
        .filter(|d| d.is_dir())
        .filter(|d| {
            !d.file_name()
                .is_some_and(|n| not_fixtures.iter().any(|x| n == *x))
        })
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("fixture dir").flatten() {
            let path = entry.path();
            let skipped = path
                .file_name()
                .is_some_and(|n| not_fixtures.iter().any(|x| n == *x));
            if path.is_dir() && !skipped {
                stack.push(path);
            } else if path.is_file()
                && !path.extension().is_some_and(|e| e == "py" || e == "md")
                // Licence texts copied beside real-world files (realworld/<package>/LICENSE).
                && path.file_name().is_none_or(|n| n != "LICENSE")
            {
                let rel = path
                    .strip_prefix(fixtures_dir())
                    .expect("under fixtures")
                    .to_string_lossy()
                    .replace('\\', "/");
                assert!(listed.contains(&rel), "{rel} has no row in expected.tsv");
            }
        }
    }
}
