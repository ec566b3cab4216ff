//! The README's rule table is the catalogue in `core/src/rules.rs`: same ids, same default
//! severities, same summaries, same order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use modelsieve_core::Rule;
use modelsieve_tests::repo_root;

#[test]
fn readme_rule_table_matches_the_catalogue() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let id = cols.first()?.trim_matches('`').to_string();
            Rule::from_id(&id)?;
            Some((id, cols.get(1)?.to_string(), cols.get(2)?.to_string()))
        })
        .collect();
    let expected: Vec<(String, String, String)> = Rule::ALL
        .iter()
        .map(|r| {
            (
                r.id().to_string(),
                r.default_severity().to_string(),
                r.summary().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows, expected,
        "README rule table differs from Rule::ALL; regenerate it from `modelsieve rules`"
    );
}
