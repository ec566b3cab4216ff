//! SARIF 2.1.0 as GitHub code scanning accepts it: the one renderer behind the CLI's
//! `--format sarif` and the WASM package's `toSarif`.
//!
//! One run; one `reportingDescriptor` per rule (in [`Rule::ALL`] order, so `ruleIndex` is the
//! catalogue position) with a `security-severity` GitHub uses to rank alerts; one result per
//! finding. Model files are binary, but GitHub requires `region.startLine`, so every region
//! carries `startLine: 1`, plus `byteOffset`/`byteLength` when the finding's offset is relative
//! to the file itself (offsets inside archive members are not file offsets and stay in the
//! result's properties). Unreadable paths become tool execution notifications.

mod location;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value, json};

use crate::policy::Policy;
use crate::report::{Finding, Report, Severity};
use crate::rules::Rule;
pub use location::PathStyle;
use location::{ArtifactUri, artifact_uri, file_uri, fingerprint};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";
const FINGERPRINT_KEY: &str = "modelsieve/v1";

/// A path that could not be read, for the run's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// The path as given or discovered.
    pub path: String,
    /// Why it could not be read.
    pub reason: String,
}

/// Where report paths are relative to, and how they are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paths<'a> {
    /// The working directory (`%SRCROOT%`): absolute paths under it are made relative, and the
    /// run names it in `originalUriBaseIds`. `None` when there is none (a browser).
    pub cwd: Option<&'a str>,
    /// The platform's path syntax.
    pub style: PathStyle,
}

impl Default for Paths<'_> {
    /// No working directory, `/`-separated names (file names in a browser, URLs' paths).
    fn default() -> Self {
        Paths {
            cwd: None,
            style: PathStyle::Unix,
        }
    }
}

/// The SARIF log for `reports` (and `errors`) as a JSON value. Rule levels reflect the
/// `policy`'s severity overrides.
pub fn document(
    reports: &[Report],
    errors: &[ScanError],
    policy: &Policy,
    paths: Paths<'_>,
) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|&rule| descriptor(rule, policy.severity(rule, rule.default_severity())))
        .collect();
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            let location = artifact_uri(&report.path, paths);
            report
                .findings
                .iter()
                .map(move |finding| result(report, finding, &location))
        })
        .collect();
    let notifications: Vec<Value> = errors
        .iter()
        .map(|error| {
            json!({
                "level": "error",
                "message": { "text": format!("cannot read {}: {}", error.path, error.reason) },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": artifact_location(&artifact_uri(&error.path, paths))
                } }],
            })
        })
        .collect();
    let mut run = json!({
        "tool": { "driver": {
            "name": "modelsieve",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": env!("CARGO_PKG_REPOSITORY"),
            "rules": rules,
        } },
        "invocations": [{
            "executionSuccessful": errors.is_empty(),
            "toolExecutionNotifications": notifications,
        }],
        "results": results,
    });
    if let (Some(cwd), Value::Object(run)) = (paths.cwd, &mut run) {
        let mut base = file_uri(cwd, paths.style);
        if !base.ends_with('/') {
            base.push('/');
        }
        run.insert(
            String::from("originalUriBaseIds"),
            json!({ SRCROOT: { "uri": base } }),
        );
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}

fn descriptor(rule: Rule, severity: Severity) -> Value {
    json!({
        "id": rule.id(),
        "name": pascal_case(rule.id()),
        "shortDescription": { "text": rule.title() },
        "fullDescription": { "text": rule.summary() },
        "help": { "text": rule.summary() },
        "defaultConfiguration": { "level": level(severity) },
        "properties": {
            "security-severity": security_severity(severity),
            "tags": ["security"],
        },
    })
}

fn result(report: &Report, finding: &Finding, location: &ArtifactUri) -> Value {
    let rule_index = Rule::ALL.iter().position(|r| *r == finding.rule);
    let mut text = finding.message.clone();
    if let Some(member) = &finding.member {
        text.push_str(&format!(" (in {member})"));
    }
    if let Some(evidence) = &finding.evidence {
        text.push_str(&format!(": {evidence}"));
    }
    let mut region = Map::new();
    region.insert(String::from("startLine"), json!(1));
    if let (None, Some(offset)) = (&finding.member, finding.offset) {
        region.insert(String::from("byteOffset"), json!(offset));
        region.insert(String::from("byteLength"), json!(1));
    }
    let hash = fingerprint(&[
        finding.rule.id(),
        &location.uri,
        finding.member.as_deref().unwrap_or(""),
        finding.evidence.as_deref().unwrap_or(""),
    ]);
    let mut properties = Map::new();
    properties.insert(String::from("severity"), json!(finding.severity.as_str()));
    properties.insert(String::from("format"), json!(report.format.as_str()));
    properties.insert(String::from("verdict"), json!(report.verdict.as_str()));
    if let Some(member) = &finding.member {
        properties.insert(String::from("member"), json!(member));
    }
    if let Some(offset) = finding.offset {
        properties.insert(String::from("offset"), json!(offset));
    }
    if let Some(evidence) = &finding.evidence {
        properties.insert(String::from("evidence"), json!(evidence));
    }
    let mut value = json!({
        "ruleId": finding.rule.id(),
        "level": level(finding.severity),
        "message": { "text": text },
        "locations": [{ "physicalLocation": {
            "artifactLocation": artifact_location(location),
            "region": region,
        } }],
        "partialFingerprints": {
            FINGERPRINT_KEY: hash,
            // Given so GitHub does not compute a line hash from the bytes of a binary file.
            "primaryLocationLineHash": hash,
        },
        "properties": properties,
    });
    if let (Some(index), Value::Object(map)) = (rule_index, &mut value) {
        map.insert(String::from("ruleIndex"), json!(index));
    }
    value
}

fn artifact_location(location: &ArtifactUri) -> Value {
    if location.relative {
        json!({ "uri": location.uri, "uriBaseId": SRCROOT })
    } else {
        json!({ "uri": location.uri })
    }
}

/// SARIF `level`: critical/high are errors, medium a warning, low/info notes.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score as a string) for each severity band.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.8",
        Severity::High => "7.5",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// `pickle.dangerous-global` → `PickleDangerousGlobal`.
fn pascal_case(id: &str) -> String {
    id.split(['.', '-', '_'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(
            pascal_case("pickle.dangerous-global"),
            "PickleDangerousGlobal"
        );
    }

    #[test]
    fn every_rule_has_a_descriptor_in_catalogue_order() {
        let doc = document(&[], &[], &Policy::default(), Paths::default());
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
        let expected: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert_eq!(ids, expected);
        assert_eq!(
            doc["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
    }

    #[test]
    fn policy_overrides_change_the_rule_level() {
        let policy =
            Policy::from_json(r#"{"severity": {"pickle.unknown-global": "low"}}"#).unwrap();
        let doc = document(&[], &[], &policy, Paths::default());
        let index = Rule::ALL
            .iter()
            .position(|r| *r == Rule::PickleUnknownGlobal)
            .unwrap();
        let rule = &doc["runs"][0]["tool"]["driver"]["rules"][index];
        assert_eq!(rule["defaultConfiguration"]["level"], "note");
        assert_eq!(rule["properties"]["security-severity"], "3.0");
    }

    #[test]
    fn file_offsets_become_byte_regions_member_offsets_do_not() {
        let finding = |member: Option<&str>| Finding {
            rule: Rule::PickleDangerousGlobal,
            severity: Severity::High,
            member: member.map(String::from),
            offset: Some(12),
            message: String::from("m"),
            evidence: Some(String::from("os.system")),
        };
        let report = Report {
            path: String::from("dir/a b.pkl"),
            format: crate::report::Format::Pickle,
            verdict: crate::report::Verdict::Dangerous,
            bytes_read: 0,
            size: None,
            findings: vec![finding(None), finding(Some("archive/data.pkl"))],
        };
        let doc = document(&[report], &[], &Policy::default(), Paths::default());
        let results = &doc["runs"][0]["results"];
        let top = &results[0]["locations"][0]["physicalLocation"];
        assert_eq!(top["artifactLocation"]["uri"], "dir/a%20b.pkl");
        assert_eq!(top["region"]["startLine"], 1);
        assert_eq!(top["region"]["byteOffset"], 12);
        let inner = &results[1]["locations"][0]["physicalLocation"];
        assert!(inner["region"].get("byteOffset").is_none());
        assert_eq!(results[0]["level"], "error");
        assert_ne!(
            results[0]["partialFingerprints"][FINGERPRINT_KEY],
            results[1]["partialFingerprints"][FINGERPRINT_KEY]
        );
    }
}
