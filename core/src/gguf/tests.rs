//! Tests of the GGUF reader through the public scanner, in every driver.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::test_drivers::{same_everywhere, seeking};
use crate::{Format, Report, Rule, Severity};

/// A tiny GGUF writer.
struct Writer {
    /// Bytes written.
    out: Vec<u8>,
    /// Version written.
    version: u32,
    /// Big-endian numbers.
    big: bool,
}

impl Writer {
    fn new(version: u32, big: bool, tensors: u64, kvs: u64) -> Writer {
        let mut w = Writer {
            out: Vec::from(*b"GGUF"),
            version,
            big,
        };
        w.u32(version);
        w.count(tensors);
        w.count(kvs);
        w
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.out.extend_from_slice(&b);
    }
    fn count(&mut self, v: u64) {
        if self.version == 1 {
            self.u32(v as u32)
        } else {
            self.u64(v)
        }
    }
    fn string(&mut self, s: &str) {
        self.count(s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }
    fn kv_str(&mut self, k: &str, v: &str) {
        self.string(k);
        self.u32(8);
        self.string(v);
    }
    fn kv_u32(&mut self, k: &str, v: u32) {
        self.string(k);
        self.u32(4);
        self.u32(v);
    }
    fn kv_str_array(&mut self, k: &str, items: &[&str]) {
        self.string(k);
        self.u32(9);
        self.u32(8);
        self.count(items.len() as u64);
        for i in items {
            self.string(i);
        }
    }
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) {
        self.string(name);
        self.u32(dims.len() as u32);
        for d in dims {
            self.count(*d);
        }
        self.u32(ty);
        self.u64(offset);
    }
    /// Pads to 32 and appends `data` bytes.
    fn data(mut self, data: usize) -> Vec<u8> {
        while self.out.len() % 32 != 0 {
            self.out.push(0);
        }
        self.out.resize(self.out.len() + data, 0);
        self.out
    }
}

fn rules(report: &Report) -> Vec<Rule> {
    report.findings.iter().map(|f| f.rule).collect()
}

/// A small valid model, with `template` as its chat template.
fn model(version: u32, big: bool, template: &str, data: usize) -> Vec<u8> {
    let mut w = Writer::new(version, big, 2, 4);
    w.kv_str("general.architecture", "llama");
    w.kv_u32("general.alignment", 32);
    w.kv_str_array("tokenizer.ggml.tokens", &["<s>", "</s>", "a"]);
    w.kv_str("tokenizer.chat_template", template);
    w.tensor("tok_embd.weight", &[4, 3], 0, 0);
    w.tensor("output.weight", &[32, 2], 8, 64);
    w.data(data)
}

const CLEAN: &str =
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] }}{% endfor %}";

#[test]
fn valid_files_are_clean_in_every_version_and_byte_order() {
    for version in 1..=3 {
        for big in [false, true] {
            let report = same_everywhere(&model(version, big, CLEAN, 160));
            assert_eq!(report.format, Format::Gguf, "v{version} big={big}");
            assert!(
                report.findings.is_empty(),
                "v{version} big={big}: {:?}",
                report.findings
            );
        }
    }
}

#[test]
fn truncated_file_is_malformed() {
    let bytes = model(3, false, CLEAN, 160);
    for cut in [6, 12, 30, 60, 120] {
        let report = same_everywhere(&bytes[..cut]);
        assert_eq!(rules(&report), vec![Rule::GgufMalformed], "cut {cut}");
        assert_eq!(report.format, Format::Gguf);
    }
}

#[test]
fn missing_tensor_data_is_malformed() {
    let report = same_everywhere(&model(3, false, CLEAN, 50));
    assert_eq!(rules(&report), vec![Rule::GgufMalformed]);
}

#[test]
fn oversized_string_is_malformed() {
    let mut w = Writer::new(3, false, 0, 1);
    w.string("general.name");
    w.u32(8);
    w.u64(1 << 40);
    let report = same_everywhere(&w.data(64));
    assert_eq!(rules(&report), vec![Rule::GgufMalformed]);
    assert!(report.findings[0].message.contains("more than"));
}

#[test]
fn oversized_array_and_bad_types_are_malformed() {
    let mut w = Writer::new(3, false, 0, 1);
    w.string("tokenizer.ggml.scores");
    w.u32(9);
    w.u32(6);
    w.u64(1 << 30);
    assert_eq!(
        rules(&same_everywhere(&w.data(64))),
        vec![Rule::GgufMalformed]
    );

    let mut w = Writer::new(3, false, 0, 1);
    w.string("general.name");
    w.u32(77);
    assert_eq!(
        rules(&same_everywhere(&w.data(64))),
        vec![Rule::GgufMalformed]
    );

    let mut w = Writer::new(3, false, 0, 1);
    w.string("general.name");
    w.u32(9);
    w.u32(42);
    w.u64(1);
    assert_eq!(
        rules(&same_everywhere(&w.data(64))),
        vec![Rule::GgufMalformed]
    );

    let mut w = Writer::new(7, false, 0, 0);
    w.u32(0);
    assert_eq!(
        rules(&same_everywhere(&w.data(64))),
        vec![Rule::GgufMalformed]
    );
}

#[test]
fn deep_nesting_is_malformed() {
    let mut w = Writer::new(3, false, 0, 1);
    w.string("x");
    w.u32(9);
    for _ in 0..9 {
        w.u32(9);
        w.u64(1);
    }
    assert_eq!(
        rules(&same_everywhere(&w.data(64))),
        vec![Rule::GgufMalformed]
    );
}

#[test]
fn nested_arrays_within_bounds_are_clean() {
    let mut w = Writer::new(3, false, 0, 2);
    w.string("x");
    w.u32(9);
    w.u32(9);
    w.u64(2);
    for _ in 0..2 {
        w.u32(4);
        w.u64(2);
        w.u32(1);
        w.u32(2);
    }
    w.kv_str("tokenizer.chat_template", CLEAN);
    let report = same_everywhere(&w.data(0));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn malicious_template_is_critical() {
    let bad = "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}";
    for big in [false, true] {
        let report = same_everywhere(&model(3, big, bad, 160));
        assert_eq!(rules(&report), vec![Rule::GgufTemplateInjection]);
        assert_eq!(report.findings[0].severity, Severity::Critical);
        assert!(
            report.findings[0]
                .evidence
                .as_deref()
                .unwrap_or("")
                .contains("__globals__")
        );
    }
    // A named template too.
    let mut w = Writer::new(3, false, 0, 1);
    w.kv_str("tokenizer.chat_template.tool_use", bad);
    assert_eq!(
        rules(&same_everywhere(&w.data(0))),
        vec![Rule::GgufTemplateInjection]
    );
}

#[test]
fn seeking_driver_skips_tensor_data() {
    let bytes = model(3, false, CLEAN, 1 << 20);
    let report = seeking(&bytes, usize::MAX);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.bytes_read <= 64 * 1024, "read {}", report.bytes_read);
    let _ = String::new();
}
