//! Exit codes: 0 below --fail-on, 1 at or above it, 2 for usage and I/O errors (2 wins).

use crate::support::{CLEAN, EVIL, Scratch, UNKNOWN, arg, json_paths, run};

#[test]
fn clean_file_exits_zero() {
    let dir = Scratch::new("exit0");
    let clean = dir.file("clean.pkl", CLEAN);
    let out = run(&["scan", &arg(&clean)]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn dangerous_file_exits_one() {
    let dir = Scratch::new("exit1");
    let evil = dir.file("evil.pkl", EVIL);
    let out = run(&["scan", &arg(&evil)]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("DANGEROUS"), "{}", out.stdout);
    assert!(
        out.stdout.contains("pickle.dangerous-global"),
        "{}",
        out.stdout
    );
}

#[test]
fn fail_on_moves_the_threshold() {
    let dir = Scratch::new("failon");
    let unknown = dir.file("unknown.pkl", UNKNOWN);
    let evil = dir.file("evil.pkl", EVIL);
    // Medium finding: fails the default threshold (medium), passes --fail-on critical.
    assert_eq!(run(&["scan", &arg(&unknown)]).code, Some(1));
    assert_eq!(
        run(&["scan", "--fail-on", "critical", &arg(&unknown)]).code,
        Some(0)
    );
    assert_eq!(
        run(&["scan", "--fail-on", "high", &arg(&unknown)]).code,
        Some(0)
    );
    // Critical finding: fails every threshold.
    assert_eq!(
        run(&["scan", "--fail-on", "critical", &arg(&evil)]).code,
        Some(1)
    );
}

#[test]
fn fail_on_info_fails_on_any_finding_but_not_on_none() {
    let dir = Scratch::new("failinfo");
    let clean = dir.file("clean.pkl", CLEAN);
    assert_eq!(
        run(&["scan", "--fail-on", "info", &arg(&clean)]).code,
        Some(0)
    );
}

#[test]
fn invalid_fail_on_is_a_usage_error() {
    let dir = Scratch::new("badfailon");
    let clean = dir.file("clean.pkl", CLEAN);
    for bad in ["severe", "CRITICAL", ""] {
        let out = run(&["scan", "--fail-on", bad, &arg(&clean)]);
        assert_eq!(out.code, Some(2), "--fail-on {bad:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
        assert!(out.stderr.contains("--fail-on"), "{}", out.stderr);
    }
}

#[test]
fn other_usage_errors_exit_two() {
    let dir = Scratch::new("usage");
    let clean = dir.file("clean.pkl", CLEAN);
    assert_eq!(run(&["scan"]).code, Some(2), "no path");
    assert_eq!(run(&["scan", "--jobs", "0", &arg(&clean)]).code, Some(2));
    assert_eq!(
        run(&["scan", "--format", "xml", &arg(&clean)]).code,
        Some(2)
    );
    assert_eq!(run(&["frobnicate"]).code, Some(2));
    let twice = run(&["scan", "-", "-"]);
    assert_eq!(twice.code, Some(2));
    assert!(twice.stderr.contains("only once"), "{}", twice.stderr);
}

#[test]
fn missing_path_exits_two_and_other_files_are_still_scanned() {
    let dir = Scratch::new("missing");
    let clean = dir.file("clean.pkl", CLEAN);
    let missing = dir.path().join("does-not-exist.pkl");
    let out = run(&["scan", "--format", "json", &arg(&missing), &arg(&clean)]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let expected = format!("modelsieve: cannot read {}: ", arg(&missing));
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert_eq!(json_paths(&out.json()), [arg(&clean)]);
}

#[test]
fn io_errors_win_over_findings() {
    let dir = Scratch::new("ioerr");
    let evil = dir.file("evil.pkl", EVIL);
    let missing = dir.path().join("nope");
    let out = run(&["scan", &arg(&evil), &arg(&missing)]);
    assert_eq!(out.code, Some(2));
    assert!(out.stdout.contains(&arg(&evil)), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn unreadable_file_in_a_directory_is_reported_and_the_rest_scanned() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::new("perm");
    let a = dir.file("a.pkl", CLEAN);
    let locked = dir.file("b.pkl", CLEAN);
    let c = dir.file("c.pkl", CLEAN);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test.
        return;
    }
    let out = run(&["scan", "--format", "json", &arg(dir.path())]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("modelsieve: cannot read {}: ", arg(&locked))),
        "{}",
        out.stderr
    );
    assert_eq!(json_paths(&out.json()), [arg(&a), arg(&c)]);
}

#[test]
fn bad_policy_file_exits_two_with_the_policy_error() {
    let dir = Scratch::new("badpolicy");
    let clean = dir.file("clean.pkl", CLEAN);
    let cases: [(&str, &str); 3] = [
        ("syntax.json", "{ not json"),
        ("field.json", r#"{"alow": ["x.y"]}"#),
        (
            "severity.json",
            r#"{"severity": {"pickle.unknown-global": "severe"}}"#,
        ),
    ];
    for (name, text) in cases {
        let policy = dir.file(name, text.as_bytes());
        let out = run(&["scan", "--policy", &arg(&policy), &arg(&clean)]);
        assert_eq!(out.code, Some(2), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains("invalid policy"),
            "{name}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
    }
    let out = run(&[
        "scan",
        "--policy",
        &arg(&dir.path().join("absent.json")),
        &arg(&clean),
    ]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("cannot read policy"), "{}", out.stderr);
}

#[test]
fn policy_allow_and_deny_change_the_verdict() {
    let dir = Scratch::new("policy");
    let unknown = dir.file("unknown.pkl", UNKNOWN);
    let allow = dir.file("allow.json", br#"{"allow": ["mypkg.layers.*"]}"#);
    let deny = dir.file(
        "deny.json",
        br#"{"deny": [{"path": "mypkg", "severity": "high", "reason": "test"}]}"#,
    );
    let verdict = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "json"];
        args.extend_from_slice(extra);
        let path = arg(&unknown);
        args.push(&path);
        let out = run(&args);
        (
            out.code,
            out.json()["files"][0]["verdict"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    assert_eq!(verdict(&[]), (Some(1), String::from("suspicious")));
    assert_eq!(
        verdict(&["--policy", &arg(&allow)]),
        (Some(0), String::from("clean"))
    );
    assert_eq!(
        verdict(&["--policy", &arg(&deny)]),
        (Some(1), String::from("dangerous"))
    );
}
