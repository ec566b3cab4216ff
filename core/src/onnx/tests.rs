//! Tests of the ONNX schema through the public scanner, in every driver.

use alloc::vec::Vec;

use crate::protobuf::tests::{bytes, cat, number};
use crate::test_drivers::same_everywhere;
use crate::{Format, Rule, Verdict};

use super::tensor::unsafe_location;

/// A model with `nodes` in its graph, `initializers`, `functions`, and one opset import.
fn model(nodes: &[Vec<u8>], initializers: &[Vec<u8>], functions: &[Vec<u8>]) -> Vec<u8> {
    let mut graph = Vec::new();
    for node in nodes {
        graph.extend(bytes(1, node));
    }
    for tensor in initializers {
        graph.extend(bytes(5, tensor));
    }
    let mut file = cat(&[
        number(1, 8),
        bytes(2, b"pytorch"),
        bytes(7, &graph),
        bytes(8, &number(2, 17)),
    ]);
    for function in functions {
        file.extend(bytes(25, function));
    }
    file
}

fn node(op: &str, domain: &str) -> Vec<u8> {
    cat(&[
        bytes(3, b"n0"),
        bytes(4, op.as_bytes()),
        bytes(7, domain.as_bytes()),
    ])
}

fn external_tensor(location: &str) -> Vec<u8> {
    let entry =
        |k: &str, v: &str| bytes(13, &cat(&[bytes(1, k.as_bytes()), bytes(2, v.as_bytes())]));
    cat(&[
        number(1, 2),
        number(2, 1),
        bytes(8, b"w"),
        entry("location", location),
        entry("offset", "0"),
        entry("length", "8"),
        number(14, 1),
    ])
}

#[test]
fn a_plain_model_is_clean() {
    let tensor = cat(&[number(1, 2), bytes(8, b"w"), bytes(9, &[0; 8])]);
    let report = same_everywhere(&model(&[node("Add", "")], &[tensor], &[]));
    assert_eq!(report.format, Format::Onnx);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn external_data_outside_the_folder_is_high() {
    let report = same_everywhere(&model(&[], &[external_tensor("../../etc/shadow")], &[]));
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert_eq!(report.findings[0].rule, Rule::OnnxExternalDataPath);
    assert_eq!(
        report.findings[0].evidence.as_deref(),
        Some("../../etc/shadow")
    );
    let fine = same_everywhere(&model(&[], &[external_tensor("weights/w.bin")], &[]));
    assert!(fine.findings.is_empty(), "{:?}", fine.findings);
}

#[test]
fn locations_that_leave_the_folder() {
    for bad in [
        "/etc/passwd",
        "..\\..\\x",
        "a/../../b",
        "C:\\x",
        "file:///etc/passwd",
        "http://h/x",
        "~/.ssh/id_rsa",
        "",
        "w.bin\0.txt",
        "data:stream",
        "NUL.txt",
    ] {
        assert!(unsafe_location(bad).is_some(), "{bad:?}");
    }
    for good in ["w.bin", "model.onnx.data", "sub/dir/w_0.bin", "a..b"] {
        assert!(unsafe_location(good).is_none(), "{good:?}");
    }
}

#[test]
fn custom_domains_need_native_code_unless_the_model_defines_them() {
    let report = same_everywhere(&model(&[node("Exec", "evil.ops")], &[], &[]));
    assert_eq!(report.verdict, Verdict::Suspicious);
    assert_eq!(report.findings[0].rule, Rule::OnnxCustomDomain);
    assert_eq!(
        report.findings[0].evidence.as_deref(),
        Some("evil.ops::Exec")
    );

    let function = cat(&[
        bytes(1, b"Exec"),
        bytes(10, b"evil.ops"),
        bytes(7, &node("Add", "")),
    ]);
    let defined = same_everywhere(&model(&[node("Exec", "evil.ops")], &[], &[function]));
    assert!(defined.findings.is_empty(), "{:?}", defined.findings);

    for standard in [
        "ai.onnx.ml",
        "com.microsoft",
        "ai.onnx.preview.training",
        "",
    ] {
        let report = same_everywhere(&model(&[node("Op", standard)], &[], &[]));
        assert!(
            report.findings.is_empty(),
            "{standard}: {:?}",
            report.findings
        );
    }
}

#[test]
fn a_tensor_in_a_nested_graph_attribute_is_checked() {
    // Node `If` with attribute `then_branch` (g, field 6) holding an initializer.
    let branch = bytes(5, &external_tensor("/proc/self/environ"));
    let attribute = cat(&[bytes(1, b"then_branch"), bytes(6, &branch)]);
    let if_node = cat(&[bytes(4, b"If"), bytes(5, &attribute)]);
    let report = same_everywhere(&model(&[if_node], &[], &[]));
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::OnnxExternalDataPath),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_model_whose_first_field_is_a_pickle_opcode_is_still_read() {
    // `(` is field 5 (model_version) as a varint, and MARK to a pickle: fields may come in any
    // order, so a model can be made to start like a pickle.
    let mut file = number(5, 1);
    assert_eq!(file[0], b'(');
    file.extend(model(&[], &[external_tensor("/etc/passwd")], &[]));
    let report = same_everywhere(&file);
    assert_eq!(report.format, Format::Onnx);
    assert_eq!(report.verdict, Verdict::Dangerous);
}

/// A `TensorProto` as `onnx.numpy_helper.from_array(...).SerializeToString()` writes it: dims,
/// data_type, name, raw_data. ONNX ships these as `test_data_set_*/input_*.pb` beside models.
fn tensor_file(name: &[u8], data_type: u64, raw: &[u8]) -> Vec<u8> {
    cat(&[
        number(1, 1),
        number(1, 3),
        number(2, data_type),
        bytes(8, name),
        bytes(9, raw),
    ])
}

#[test]
fn a_tensor_file_is_not_a_broken_model() {
    // Read as a ModelProto, dims is an ir_version and the name an opset import that does not
    // parse; the varint data_type where ModelProto has producer_name says it is no model.
    for file in [
        tensor_file(b"x", 1, &[0; 12]),
        tensor_file(b"input", 7, &[1; 24]),
        tensor_file(b"x", 8, b""),
    ] {
        let report = same_everywhere(&file);
        assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.rule != Rule::OnnxMalformed),
            "{:?}",
            report.findings
        );
    }
}

#[test]
fn a_model_cut_inside_its_graph_is_still_malformed() {
    let mut file = model(&[node("Add", "")], &[], &[]);
    file.truncate(file.len() - 12);
    let report = same_everywhere(&file);
    assert_eq!(report.verdict, Verdict::Suspicious, "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::OnnxMalformed)
    );
    // A model whose producer_name is a varint still is a model when it parses whole (protobuf
    // keeps the field as unknown), and its payload findings stand either way.
    let mut odd = number(2, 5);
    odd.extend(model(&[], &[external_tensor("/etc/passwd")], &[]));
    let report = same_everywhere(&odd);
    assert_eq!(report.format, Format::Onnx);
    assert_eq!(report.verdict, Verdict::Dangerous);
    odd.truncate(odd.len() - 3);
    assert_eq!(same_everywhere(&odd).verdict, Verdict::Dangerous);
}
