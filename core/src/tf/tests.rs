//! Tests of the TensorFlow schemas through the public scanner, in every driver.

use alloc::vec::Vec;

use crate::protobuf::tests::{bytes, cat, number};
use crate::test_drivers::same_everywhere;
use crate::{Format, Rule, Verdict};

fn node(name: &str, op: &str) -> Vec<u8> {
    cat(&[bytes(1, name.as_bytes()), bytes(2, op.as_bytes())])
}

/// A SavedModel with one meta graph whose graph has `nodes` and whose library has one
/// function with `function_nodes`.
fn saved_model(nodes: &[&str], function_nodes: &[&str]) -> Vec<u8> {
    let mut graph: Vec<u8> = nodes
        .iter()
        .flat_map(|op| bytes(1, &node("n", op)))
        .collect();
    let signature = bytes(1, &bytes(1, b"__inference_f_1"));
    let body: Vec<u8> = function_nodes
        .iter()
        .flat_map(|op| bytes(3, &node("m", op)))
        .collect();
    graph.extend(bytes(2, &bytes(1, &cat(&[signature, body]))));
    cat(&[number(1, 1), bytes(2, &bytes(2, &graph))])
}

#[test]
fn checkpoint_ops_are_clean() {
    let report = same_everywhere(&saved_model(
        &[
            "SaveV2",
            "RestoreV2",
            "MergeV2Checkpoints",
            "ShardedFilename",
            "Const",
        ],
        &["MatMul", "StringJoin"],
    ));
    assert_eq!(report.format, Format::TfSavedModel);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn file_and_python_ops_are_high_in_graphs_and_functions() {
    let report = same_everywhere(&saved_model(&["PyFunc"], &["ReadFile", "WriteFile"]));
    assert_eq!(report.verdict, Verdict::Dangerous);
    let evidence: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::TfDangerousOp)
        .filter_map(|f| f.evidence.clone())
        .collect();
    assert_eq!(evidence, ["PyFunc", "ReadFile", "WriteFile"]);
    assert!(report.findings[1].message.contains("__inference_f_1"));
}

#[test]
fn a_bare_graph_def_is_read_too() {
    let file = cat(&[
        bytes(1, &node("a", "Placeholder")),
        bytes(1, &node("b", "ReadFile")),
    ]);
    let report = same_everywhere(&file);
    assert_eq!(report.format, Format::TfGraphDef);
    assert_eq!(report.findings[0].rule, Rule::TfDangerousOp);
}

#[test]
fn a_fingerprint_is_recognised_and_clean() {
    let file = cat(&[
        number(1, 1 << 60),
        number(2, 7),
        number(3, 8),
        number(4, 9),
        number(5, 10),
        bytes(6, &number(1, 4)),
        bytes(7, b"123456"),
    ]);
    let report = same_everywhere(&file);
    assert_eq!(report.format, Format::TfFingerprint);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn many_functions_with_the_same_op_are_one_finding() {
    // Each function's op is remembered in a set (a list made 100,000 functions quadratic);
    // the report holds the op once, at its first place.
    let mut library = Vec::new();
    for i in 0..2_000 {
        let name = alloc::format!("f{i}");
        let signature = bytes(1, &bytes(1, name.as_bytes()));
        let body = bytes(3, &node("m", "ReadFile"));
        library.extend(bytes(1, &cat(&[signature, body])));
    }
    let file = cat(&[bytes(1, &node("a", "Const")), bytes(2, &library)]);
    let report = same_everywhere(&file);
    let found: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == Rule::TfDangerousOp)
        .collect();
    assert_eq!(found.len(), 1, "{:#?}", report.findings);
    assert!(found[0].message.contains("`f0`"), "{}", found[0].message);
}
