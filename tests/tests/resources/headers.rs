//! Headers whose lengths, nesting or pointers are hostile: `.npy`, safetensors, GGUF,
//! protobuf (ONNX) and HDF5.

use modelsieve_core::{Policy, Rule, Verdict, scan_bytes};
use modelsieve_tests::attacks::{formats, hdf5};
use modelsieve_tests::gguf::tiny_model;
use modelsieve_tests::heap::measure;

use super::{Attack, Bound, HEAP, MIB, mentions, serial};
use std::time::Duration;

/// 2^63, the length a naive reader would try to allocate.
const HUGE: u64 = 1 << 63;

#[test]
fn npy_header_lengths_at_their_maximum() {
    let alone = serial();
    // Version 1 stores the header length in a u16, versions 2 and 3 in a u32: the largest
    // each can claim, with a few bytes after.
    let v1 = formats::npy_with_header_len(1, 0xffff, b"{'descr': '<f4', ");
    Attack::new(
        "npy: v1 header length 65535",
        &v1,
        Rule::NumpyMalformedHeader,
    )
    .run(&alone);
    let v2 = formats::npy_with_header_len(2, u32::MAX, b"{'descr': '<f4', ");
    Attack::new(
        "npy: v2 header length 2^32 - 1",
        &v2,
        Rule::ScanLimitReached,
    )
    .run(&alone);
}

#[test]
fn safetensors_header_lengths_past_the_file() {
    let alone = serial();
    // 2^63 is past the 100,000,000 bytes the reference library reads, so no loader takes the
    // file for safetensors: it is reported as unrecognised (a low finding, and rightly no
    // more), and nothing is allocated for it.
    let file = formats::safetensors_with_header_len(HUGE, b"{\"a\":{\"dtype\":\"F32\"");
    Attack::new(
        "safetensors: header length 2^63",
        &file,
        Rule::FormatUnrecognized,
    )
    .clean_ok()
    .run(&alone);
    // The longest length the library accepts, over a few bytes: a reader that allocates
    // the declared header up front spends 100 MB on a 30-byte file.
    let file = formats::safetensors_with_header_len(99_999_999, b"{\"a\":{\"dtype\":\"F32\"");
    Attack::new(
        "safetensors: header length 99,999,999",
        &file,
        Rule::SafetensorsInvalid,
    )
    .run(&alone);
}

#[test]
fn a_safetensors_header_of_99_mb_of_tensors() {
    let alone = serial();
    // The reference library reads headers up to 100,000,000 bytes, so the scanner must
    // too: the header is buffered whole and parsed. What that costs is what the limit
    // allows: the header's bytes, plus each tensor's name and offsets (the parsed entries are
    // dropped as they are checked). A clean file: the test bounds the cost.
    let file = formats::safetensors_filled(99_000_000);
    let (report, cost) = measure(&HEAP, &alone, || scan_bytes(&file, &Policy::default()));
    println!(
        "resources: {:<46} {:<8} {cost}  {} findings, {}",
        "safetensors: 99 MB header of 1.4M tensors",
        "whole",
        report.findings.len(),
        report.verdict
    );
    assert!(cost.time < Duration::from_secs(60), "{cost}");
    assert!(cost.peak_heap < 320 * MIB, "{cost}");
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);
}

#[test]
fn gguf_lengths_of_two_to_the_63() {
    let alone = serial();
    for (what, file) in formats::gguf_huge_lengths() {
        let name = format!("gguf: {what}");
        Attack::new(&name, &file, Rule::GgufMalformed).run(&alone);
    }
}

#[test]
fn a_gguf_chat_template_of_100_mb() {
    let alone = serial();
    // Chat front ends render tokenizer.chat_template with Jinja; 100 MB of it is past the
    // 64 MiB the scanner reads of any string, and is refused without buffering it.
    let template = "{{ message['content'] }}".repeat(100_000_000 / 24);
    let file = tiny_model(&[("tokenizer.chat_template", &template)]);
    drop(template);
    let report = Attack::new("gguf: 100 MB chat template", &file, Rule::GgufMalformed).run(&alone);
    assert!(mentions(&report, "string length"), "{:#?}", report.findings);
}

#[test]
fn a_gguf_chat_template_just_under_the_string_limit() {
    let alone = serial();
    // 60 MB is under the limit: the template is buffered and analysed, at a cost the limit
    // sets, and a sandbox escape at its very end is still found.
    let mut template = "{{ message['content'] }}".repeat(60_000_000 / 24);
    template.push_str("{{ cycler.__init__.__globals__.os.popen('id').read() }}");
    let file = tiny_model(&[("tokenizer.chat_template", &template)]);
    drop(template);
    Attack::new(
        "gguf: 60 MB chat template, escape at end",
        &file,
        Rule::GgufTemplateInjection,
    )
    .bound(Bound {
        time: Duration::from_secs(30),
        heap: 160 * MIB,
    })
    .run(&alone);
}

#[test]
fn a_protobuf_length_of_two_to_the_63() {
    let alone = serial();
    let model = formats::onnx_with_graph_len(HUGE);
    Attack::new("onnx: graph length 2^63", &model, Rule::OnnxMalformed).run(&alone);
}

#[test]
fn protobuf_messages_nested_past_the_recursion_limit() {
    let alone = serial();
    // protobuf's own parsers stop at 100 levels; so does the walker, with a finding.
    let model = formats::onnx_nested(150);
    let report = Attack::new(
        "onnx: messages nested 150 deep",
        &model,
        Rule::OnnxMalformed,
    )
    .run(&alone);
    assert!(mentions(&report, "100"), "{:#?}", report.findings);
}

#[test]
fn ten_megabytes_of_nested_message_starts() {
    let alone = serial();
    // About two million levels of graph → node → attribute → graph, every length exact: a
    // recursive decoder overflows its stack long before the end.
    let model = formats::onnx_nested(2_200_000);
    assert!(model.len() > 10_000_000, "{} bytes", model.len());
    Attack::new(
        "onnx: 10 MB of nested message starts",
        &model,
        Rule::OnnxMalformed,
    )
    .run(&alone);
}

#[test]
fn a_tensorflow_graph_of_100_000_functions_each_reading_a_file() {
    let alone = serial();
    let graph = formats::tf_graph_with_functions(100_000);
    Attack::new(
        "tf: 100,000 functions each with ReadFile",
        &graph,
        Rule::TfDangerousOp,
    )
    .bound(Bound {
        time: Duration::from_secs(10),
        heap: 64 * MIB,
    })
    .run(&alone);
}

#[test]
fn hdf5_continuation_chunks_in_a_cycle() {
    let alone = serial();
    // Root header → chunk 0 → 1 → 2 → 3 → back to chunk 1.
    let file = hdf5::continuation_chain(4, Some(1));
    let report = Attack::new(
        "hdf5: continuation chunks in a cycle",
        &file,
        Rule::Hdf5Malformed,
    )
    .run(&alone);
    assert!(
        mentions(&report, "continuation cycle"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn hdf5_a_hundred_thousand_continuation_chunks() {
    let alone = serial();
    // No cycle, just a chain that runs on: each chunk a new address.
    let file = hdf5::continuation_chain(100_000, None);
    let report = Attack::new(
        "hdf5: 100,000 continuation chunks",
        &file,
        Rule::Hdf5Malformed,
    )
    .run(&alone);
    assert!(
        mentions(&report, "too many continuation chunks"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn hdf5_dense_attribute_btree_in_a_cycle() {
    let alone = serial();
    let file = hdf5::dense_btree_cycle();
    let report = Attack::new(
        "hdf5: name-index B-tree node is its own child",
        &file,
        Rule::Hdf5Malformed,
    )
    .run(&alone);
    assert!(
        mentions(&report, "dense storage cycle"),
        "{:#?}",
        report.findings
    );
    assert!(!mentions(&report, "checksum"), "{:#?}", report.findings);
}
