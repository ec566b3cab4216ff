//! The bypass regression suite: every row of `tests/fixtures/bypasses/README.md` names a
//! published scanner bypass or loader CVE, the file that reproduces it and the rule that must
//! report it. Each file must come out flagged (not clean) with a finding of that rule, and every
//! file of `tests/fixtures/bypasses/` must have a row.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use modelsieve_core::{Policy, Verdict, scan_bytes};
use modelsieve_tests::{conformance_dir, fixtures_dir, repo_root};

/// One table row: advisory, file (as written) and rule id.
struct Row {
    advisory: String,
    file: String,
    rule: String,
}

fn rows() -> Vec<Row> {
    let readme = fs::read_to_string(fixtures_dir().join("bypasses").join("README.md"))
        .expect("tests/fixtures/bypasses/README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| advisory"))
        .map(|line| {
            let cols: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cols.len(), 4, "row without four columns: {line}");
            Row {
                advisory: cols[0].to_string(),
                file: cols[2].trim_matches('`').to_string(),
                rule: cols[3].trim_matches('`').to_string(),
            }
        })
        .collect()
}

/// Where a file named in the table is: in the repository, or in the shared conformance corpus.
fn resolve(file: &str) -> PathBuf {
    match file.strip_prefix("../shared/conformance/") {
        Some(rest) => conformance_dir().join(rest),
        None => repo_root().join(file),
    }
}

#[test]
fn every_listed_bypass_is_flagged_by_its_rule() {
    let policy = Policy::default();
    let rows = rows();
    assert!(
        rows.len() >= 100,
        "the table lists only {} rows",
        rows.len()
    );
    let mut failures = Vec::new();
    for row in &rows {
        let Ok(bytes) = fs::read(resolve(&row.file)) else {
            failures.push(format!("{}: {} is missing", row.advisory, row.file));
            continue;
        };
        let report = scan_bytes(&bytes, &policy);
        let has_rule = report.findings.iter().any(|f| f.rule.id() == row.rule);
        if report.verdict == Verdict::Clean || !has_rule {
            let seen: Vec<String> = report
                .findings
                .iter()
                .map(|f| format!("{} {}", f.severity, f.rule))
                .collect();
            failures.push(format!(
                "{}: {} is {} without {} (findings {seen:?})",
                row.advisory, row.file, report.verdict, row.rule
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bypasses are not caught:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn every_bypass_file_has_a_row() {
    let listed: BTreeSet<String> = rows().into_iter().map(|r| r.file).collect();
    for entry in fs::read_dir(fixtures_dir().join("bypasses")).expect("bypasses dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name == "README.md" {
            continue;
        }
        let path = format!("tests/fixtures/bypasses/{name}");
        assert!(listed.contains(&path), "{path} has no row in README.md");
    }
}
