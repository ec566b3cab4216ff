//! Tests of the protobuf walk through the public scanner, in every driver, and a tiny encoder
//! the format tests share.

use alloc::vec::Vec;

use crate::test_drivers::{same_everywhere, seeking};
use crate::{Format, Rule};

/// Encodes a varint.
pub(crate) fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}

/// A varint field.
pub(crate) fn number(field: u32, value: u64) -> Vec<u8> {
    let mut out = varint(u64::from(field) << 3);
    out.extend(varint(value));
    out
}

/// A length-delimited field (a string, bytes or a message) holding `content`.
pub(crate) fn bytes(field: u32, content: &[u8]) -> Vec<u8> {
    let mut out = varint((u64::from(field) << 3) | 2);
    out.extend(varint(content.len() as u64));
    out.extend_from_slice(content);
    out
}

/// Concatenates fields.
pub(crate) fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A SavedModel whose one graph has a node `name` running `op`, after a large skipped attr.
fn saved_model(op: &str, attr_len: usize) -> Vec<u8> {
    let node = cat(&[
        bytes(1, b"n"),
        bytes(2, op.as_bytes()),
        bytes(5, &alloc::vec![0x55; attr_len]),
    ]);
    let graph = bytes(1, &node);
    let meta_graph = bytes(2, &graph);
    cat(&[number(1, 1), bytes(2, &meta_graph)])
}

#[test]
fn a_graph_op_is_found_the_same_in_every_driver() {
    let file = saved_model("ReadFile", 10_000);
    let report = same_everywhere(&file);
    assert_eq!(report.format, Format::TfSavedModel);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].rule, Rule::TfDangerousOp);
}

#[test]
fn skipped_values_are_not_read_by_a_seeking_driver() {
    let file = saved_model("Add", 1 << 20);
    let report = seeking(&file, 4096);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(
        report.bytes_read < 64 * 1024,
        "read {} bytes of a 1 MiB attr",
        report.bytes_read
    );
}

#[test]
fn a_field_that_overruns_its_message_is_malformed() {
    // The node claims 200 bytes inside a graph of 10.
    let mut graph = bytes(1, &[]);
    graph.truncate(1);
    graph.extend(varint(200));
    graph.extend_from_slice(b"xxxxxxxx");
    let file = cat(&[bytes(2, &bytes(2, &graph))]);
    let report = same_everywhere(&file);
    // Nothing recognisable: the schema complaints are dropped and the file is unrecognised.
    assert_eq!(report.format, Format::Unknown);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule != Rule::TfDangerousOp)
    );
}

#[test]
fn a_truncated_model_is_malformed_in_every_driver() {
    let mut file = saved_model("ReadFile", 300);
    let whole = file.len();
    // Cut inside the skipped attr: the node never ends, but its op was already seen.
    file.truncate(whole - 100);
    let report = same_everywhere(&file);
    let rules: Vec<Rule> = report.findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&Rule::TfMalformed), "{rules:?}");
    assert!(rules.contains(&Rule::TfDangerousOp), "{rules:?}");
}

#[test]
fn nesting_beyond_the_recursion_limit_stops_the_walk() {
    // ONNX attributes hold graphs that hold nodes that hold attributes, without end.
    let mut inner = cat(&[bytes(4, b"Add")]);
    for _ in 0..60 {
        let attribute = bytes(6, &bytes(1, &inner));
        inner = bytes(5, &attribute);
    }
    let graph = bytes(1, &inner);
    let file = cat(&[number(1, 8), bytes(8, &bytes(1, b"")), bytes(7, &graph)]);
    let report = same_everywhere(&file);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::OnnxMalformed && f.message.contains("recursion")),
        "{:?}",
        report.findings
    );
}

#[test]
fn groups_are_skipped_whole() {
    // An unknown group field (start 3, a varint inside, end 4) before the graph.
    let group = cat(&[varint((9 << 3) | 3), number(1, 5), varint((9 << 3) | 4)]);
    let node = cat(&[bytes(4, b"Exec"), bytes(7, b"evil.ops")]);
    let file = cat(&[
        number(1, 8),
        group,
        bytes(8, &bytes(1, b"")),
        bytes(7, &bytes(1, &node)),
    ]);
    let report = same_everywhere(&file);
    assert_eq!(report.format, Format::Onnx);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::OnnxCustomDomain),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_protocol_zero_pickle_that_looks_like_protobuf_is_still_judged_as_a_pickle() {
    // `(` is MARK and also field 5 as a varint; `i` + module + name is INST.
    let file = b"(S'ls'\nios\nsystem\n.";
    let report = same_everywhere(file);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::PickleDangerousGlobal),
        "{:?}",
        report.findings
    );
}
