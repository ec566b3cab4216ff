//! Fuzzes the chat-template analysis: the input (after the 4-byte chunk-size header) is the
//! text of `tokenizer.chat_template` in an otherwise valid GGUF, so every input reaches the
//! Jinja lexer and judge. Every reading order must give one report (see `src/lib.rs`), and the
//! template may add only template findings (or a bound of their analysis).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsieve_core::{Policy, scan_bytes};
use modelsieve_fuzz::{HEADER, check_split_independence};

/// A version-3 little-endian GGUF with no tensors and one key: the template.
fn gguf_with_template(template: &[u8]) -> Vec<u8> {
    let key = b"tokenizer.chat_template";
    let mut out = Vec::from(*b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&(key.len() as u64).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(template.len() as u64).to_le_bytes());
    out.extend_from_slice(template);
    out
}

fuzz_target!(|data: &[u8]| {
    let (header, template) = data.split_at(data.len().min(HEADER));
    let file = gguf_with_template(template);
    check_split_independence(header, &file);
    let report = scan_bytes(&file, &Policy::default());
    assert!(
        report.findings.iter().all(|f| matches!(
            f.rule.id(),
            "gguf.template-injection" | "scan.limit-reached"
        )),
        "a well-formed GGUF gave {:?}",
        report.findings
    );
    assert!(
        report.findings.len() <= 10,
        "{} findings",
        report.findings.len()
    );
});
