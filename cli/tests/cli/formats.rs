//! Output formats: text for people, schema-v1 JSON, SARIF 2.1.0; `rules` and `--version`.

use modelsieve_core::{Rule, Severity};

use crate::support::{CLEAN, EVIL, Scratch, UNKNOWN, arg, json_paths, run, run_in};

#[test]
fn json_is_schema_v1_and_lists_every_file() {
    let dir = Scratch::new("json");
    let files = [
        dir.file("a.pkl", CLEAN),
        dir.file("b/c.pkl", EVIL),
        dir.file("b/d.bin", b"not a model at all"),
    ];
    let out = run(&["scan", "--format", "json", &arg(dir.path())]);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(
        doc.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["files", "schema_version"]
    );
    assert_eq!(
        json_paths(&doc),
        files.iter().map(|p| arg(p)).collect::<Vec<_>>()
    );
    for file in doc["files"].as_array().unwrap() {
        for key in [
            "path",
            "format",
            "verdict",
            "bytes_read",
            "size",
            "findings",
        ] {
            assert!(file.get(key).is_some(), "missing {key} in {file}");
        }
        assert!(file["findings"].is_array());
    }
    // The report round-trips through the core's own types.
    let parsed: modelsieve_core::ReportDocument = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(parsed.files.len(), 3);
    assert_eq!(parsed.files[0].size, Some(CLEAN.len() as u64));
}

#[test]
fn json_reports_findings_with_their_rule_ids() {
    let dir = Scratch::new("jsonfind");
    let evil = dir.file("evil.pkl", EVIL);
    let doc = run(&["scan", "--format", "json", &arg(&evil)]).json();
    let file = &doc["files"][0];
    assert_eq!(file["format"], "pickle");
    assert_eq!(file["verdict"], "dangerous");
    let findings = file["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "pickle.dangerous-global" && f["severity"] == "critical"),
        "{findings:?}"
    );
}

#[test]
fn sarif_has_the_fields_github_requires() {
    let dir = Scratch::new("sarif");
    dir.file("models/clean.pkl", CLEAN);
    dir.file("models/evil model.pkl", EVIL);
    let out = run_in(
        &["scan", "--format", "sarif", "models"],
        Some(dir.path()),
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let sarif = out.json();
    assert!(
        sarif["$schema"]
            .as_str()
            .unwrap()
            .contains("sarif-schema-2.1.0")
    );
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "modelsieve");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );

    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Rule::ALL.len());
    for (rule, descriptor) in Rule::ALL.iter().zip(rules) {
        assert_eq!(descriptor["id"], rule.id());
        assert!(descriptor["shortDescription"]["text"].is_string());
        assert_eq!(descriptor["fullDescription"]["text"], rule.summary());
        let level = descriptor["defaultConfiguration"]["level"]
            .as_str()
            .unwrap();
        assert!(["error", "warning", "note"].contains(&level));
        let score: f64 = descriptor["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score));
        assert_eq!(descriptor["properties"]["tags"][0], "security");
    }
    let critical = Rule::ALL
        .iter()
        .position(|r| r.default_severity() == Severity::Critical)
        .unwrap();
    assert_eq!(rules[critical]["properties"]["security-severity"], "9.8");
    assert_eq!(rules[critical]["defaultConfiguration"]["level"], "error");

    let results = runs[0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["message"]["text"].is_string());
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"],
            "models/evil%20model.pkl"
        );
        assert_eq!(location["region"]["startLine"], 1);
        assert!(
            result["partialFingerprints"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        );
    }
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "pickle.dangerous-global" && r["level"] == "error")
    );
    assert_eq!(runs[0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_fingerprints_are_stable_across_runs() {
    let dir = Scratch::new("sarifstable");
    dir.file("evil.pkl", EVIL);
    dir.file("unknown.pkl", UNKNOWN);
    let first = run_in(&["scan", "--format", "sarif", "."], Some(dir.path()), None).stdout;
    let second = run_in(&["scan", "--format", "sarif", "."], Some(dir.path()), None).stdout;
    assert_eq!(first, second);
}

#[test]
fn sarif_lists_unreadable_paths_as_notifications() {
    let dir = Scratch::new("sariferr");
    let missing = dir.path().join("gone.pkl");
    let out = run(&["scan", "--format", "sarif", &arg(&missing)]);
    assert_eq!(out.code, Some(2));
    let sarif = out.json();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
}

#[test]
fn text_has_one_line_per_file_and_a_summary() {
    let dir = Scratch::new("text");
    dir.file("a.pkl", CLEAN);
    dir.file("b.pkl", EVIL);
    dir.file("c/d.pkl", UNKNOWN);
    dir.file("c/e.pkl", CLEAN);
    let out = run(&["scan", &arg(dir.path())]);
    let file_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.contains("scanned:"))
        .collect();
    assert_eq!(file_lines.len(), 4, "{}", out.stdout);
    for (line, name) in file_lines
        .iter()
        .zip(["a.pkl", "b.pkl", "c/d.pkl", "c/e.pkl"])
    {
        let verdict = line.split_whitespace().next().unwrap();
        assert!(
            ["CLEAN", "SUSPICIOUS", "DANGEROUS"].contains(&verdict),
            "{line}"
        );
        assert!(line.contains(&arg(&dir.path().join(name))), "{line}");
        assert!(line.contains("finding"), "{line}");
    }
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );
    let summary = out.stdout.lines().last().unwrap();
    assert!(summary.starts_with("4 files scanned: "), "{summary}");
    assert!(summary.ends_with("0 errors"), "{summary}");
}

#[test]
fn text_finding_lines_are_indented_under_their_file() {
    let dir = Scratch::new("textfind");
    let evil = dir.file("evil.pkl", EVIL);
    let out = run(&["scan", &arg(&evil)]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("DANGEROUS"), "{}", out.stdout);
    assert!(
        lines[1].starts_with("    critical  pickle.dangerous-global"),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some("1 file scanned: 1 dangerous, 0 suspicious, 0 clean, 0 errors")
    );
}

#[test]
fn quiet_lists_only_failing_files() {
    let dir = Scratch::new("quiet");
    dir.file("a.pkl", CLEAN);
    let evil = dir.file("b.pkl", EVIL);
    let out = run(&["scan", "--quiet", &arg(dir.path())]);
    assert_eq!(out.code, Some(1));
    let file_lines: Vec<&str> = out.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(file_lines.len(), 1, "{}", out.stdout);
    assert!(file_lines[0].contains(&arg(&evil)));
    let clean_only = run(&["scan", "-q", &arg(&dir.path().join("a.pkl"))]);
    assert_eq!(clean_only.code, Some(0));
    assert!(clean_only.stdout.is_empty(), "{}", clean_only.stdout);
}

#[test]
fn rules_prints_every_rule_with_its_default_severity() {
    let out = run(&["rules"]);
    assert_eq!(out.code, Some(0));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), Rule::ALL.len() + 1, "{}", out.stdout);
    for (rule, line) in Rule::ALL.iter().zip(&lines[1..]) {
        let mut columns = line.split_whitespace();
        assert_eq!(columns.next(), Some(rule.id()));
        assert_eq!(columns.next(), Some(rule.default_severity().as_str()));
        assert!(line.ends_with(rule.summary()), "{line}");
    }
}

#[test]
fn version_flag_prints_the_crate_version() {
    let out = run(&["--version"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout.trim(),
        format!("modelsieve {}", env!("CARGO_PKG_VERSION"))
    );
}
