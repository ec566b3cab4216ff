//! Every real chat template in `tests/fixtures/gguf/templates/` scans clean inside a GGUF.
//!
//! The templates are the false-positive corpus of the chat-template analysis (see SOURCES.md
//! there). Each is wrapped in a small GGUF built here, so a template file added to the folder
//! is covered without touching this test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use modelsieve_core::{Format, Limits, Policy, Verdict, scan_bytes};
use modelsieve_tests::gguf::tiny_model;
use modelsieve_tests::{fixtures_dir, scan_seeking_reads};

/// The real templates: (file name, text).
fn templates() -> Vec<(String, String)> {
    let dir = fixtures_dir().join("gguf").join("templates");
    let mut out: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("tests/fixtures/gguf/templates exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(&p).expect("template is UTF-8");
            (name, text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_corpus_is_there() {
    let all = templates();
    assert!(all.len() >= 100, "only {} templates", all.len());
    // The families the issue names, each present.
    for family in [
        "Llama-2",
        "Llama-3",
        "Mistral-7B",
        "Mixtral",
        "Qwen2.5",
        "gemma-2",
        "Phi-3",
        "OpenHermes",
        "DeepSeek",
        "command-r",
        "granite",
    ] {
        assert!(
            all.iter().any(|(n, _)| n.contains(family)),
            "no template of {family}"
        );
    }
}

#[test]
fn every_real_template_is_clean_as_the_chat_template() {
    let policy = Policy::default();
    let mut failures = Vec::new();
    for (name, text) in templates() {
        let file = tiny_model(&[("tokenizer.chat_template", &text)]);
        let whole = scan_bytes(&file, &policy);
        assert_eq!(whole.format, Format::Gguf, "{name}");
        let seeking = scan_seeking_reads(&file, &policy, Limits::default(), 7);
        for report in [&whole, &seeking] {
            if report.verdict != Verdict::Clean || !report.findings.is_empty() {
                failures.push(format!(
                    "{name}: {} {:#?}",
                    report.verdict,
                    report
                        .findings
                        .iter()
                        .map(|f| format!("{} | {} | {:?}", f.rule, f.message, f.evidence))
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_real_template_is_clean_as_a_named_variant() {
    // llama.cpp writes a repository's extra templates as tokenizer.chat_template.<name>.
    let policy = Policy::default();
    let all = templates();
    let mut failures = Vec::new();
    for pair in all.chunks(2) {
        let extra: Vec<(String, &str)> = pair
            .iter()
            .enumerate()
            .map(|(i, (_, text))| {
                let key = if i == 0 {
                    String::from("tokenizer.chat_template.tool_use")
                } else {
                    String::from("tokenizer.chat_template.rag")
                };
                (key, text.as_str())
            })
            .collect();
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let report = scan_bytes(&tiny_model(&extra), &policy);
        if report.verdict != Verdict::Clean || !report.findings.is_empty() {
            let names: Vec<&String> = pair.iter().map(|(n, _)| n).collect();
            failures.push(format!("{names:?}: {:?}", report.findings));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_real_template_with_a_payload_appended_is_flagged() {
    // The clean verdicts above mean something only if the same wrapping flags an escape.
    let policy = Policy::default();
    for (name, text) in templates().into_iter().take(10) {
        let bad = format!("{text}{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}");
        let report = scan_bytes(&tiny_model(&[("tokenizer.chat_template", &bad)]), &policy);
        assert_eq!(report.verdict, Verdict::Dangerous, "{name}");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule.id() == "gguf.template-injection"),
            "{name}: {:?}",
            report.findings
        );
    }
}

#[test]
fn hostile_templates_take_linear_time() {
    use std::time::{Duration, Instant};
    // Debug build on a loaded 2-core machine: generous, but far below what a quadratic pass
    // over 8 MB would take.
    let bound = Duration::from_secs(20);
    let n = 8 << 20;
    let cases: Vec<(&str, String)> = vec![
        ("unclosed brackets", format!("{{{{ {}", "(".repeat(n))),
        ("raw blocks never ended", "{% raw %}".repeat(n / 9)),
        (
            "endraw-like tags",
            format!("{{% raw %}}{}", "{%- endraw x %}".repeat(n / 15)),
        ),
        ("many tags", "{{a}}".repeat(n / 5)),
        (
            "many underscore variables",
            (0..n / 24)
                .map(|i| format!("{{% set u{i} = '_' %}}"))
                .collect(),
        ),
        (
            "unclosed comment",
            format!("{{# {}", "{{ x }}".repeat(n / 7)),
        ),
        ("unclosed string", format!("{{{{ '{}", "}}".repeat(n / 2))),
        ("escapes", format!("{{{{ '{}' }}}}", "\\N{".repeat(n / 3))),
        (
            "replace chains",
            "{{ 'ab'|replace('a', '_') }}".repeat(n / 30),
        ),
    ];
    for (what, text) in cases {
        let file = tiny_model(&[("tokenizer.chat_template", &text)]);
        let start = Instant::now();
        let report = scan_bytes(&file, &Policy::default());
        let took = start.elapsed();
        assert!(took < bound, "{what}: {took:?}");
        assert!(
            report.findings.len() <= 10,
            "{what}: {}",
            report.findings.len()
        );
    }
}
