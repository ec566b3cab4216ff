//! A seeking driver judges a huge model file by its header alone.
//!
//! Each test writes a real-looking header (the metadata and tensor layout of
//! Llama-3.2-1B-Instruct) to a temporary file and extends the file to its full size with
//! `set_len`, so the tensor data is a hole: a 1 GB GGUF and a 2.5 GB safetensors file that take
//! a few MB on disk. The scan must read the header and nothing of the data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::PathBuf;

use modelsieve_core::{Format, Limits, Policy, Verdict};
use modelsieve_tests::gguf::{GGML_F32, GGML_Q6_K, GgufWriter};
use modelsieve_tests::{fixtures_dir, scan_file_seeking};

/// What one read past the header may add: the scanner suggests 64 KiB reads, so the last one
/// may run up to 64 KiB past the header's end.
const READ_SLACK: u64 = 64 * 1024;

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("modelsieve-{}-{name}", std::process::id()));
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Llama-3.2-1B-Instruct's sizes.
const N_VOCAB: usize = 128_256;
const N_MERGES: usize = 280_147;
const N_LAYER: usize = 16;
const N_EMBD: u64 = 2048;
const N_FF: u64 = 8192;
const N_KV: u64 = 512;

/// A deterministic pseudo-random sequence (64-bit LCG), for made-up token strings.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// The header of a Q6_K Llama-3.2-1B-Instruct GGUF (made-up vocabulary of the real size), with
/// `template` as its chat template.
fn llama_3_2_1b(template: &str) -> GgufWriter {
    let mut rng = Lcg(0);
    let mut tokens: Vec<String> = (0..256).map(|i| format!("<0x{i:02X}>")).collect();
    while tokens.len() < N_VOCAB - 256 {
        let len = 1 + rng.next(12);
        let mut word = String::from(if rng.next(10) < 6 { "Ġ" } else { "" });
        for _ in 0..len {
            word.push(char::from(b'a' + rng.next(26) as u8));
        }
        word.push_str(&tokens.len().to_string());
        tokens.push(word);
    }
    tokens.push("<|begin_of_text|>".into());
    tokens.push("<|end_of_text|>".into());
    for i in 0..254 {
        tokens.push(format!("<|reserved_special_token_{i}|>"));
    }
    let merges: Vec<String> = (0..N_MERGES)
        .map(|_| {
            let a = &tokens[256 + rng.next(20_000) as usize];
            let b = &tokens[256 + rng.next(20_000) as usize];
            format!("{a} {b}")
        })
        .collect();
    let types: Vec<i32> = (0..N_VOCAB)
        .map(|i| if i < N_VOCAB - 256 { 1 } else { 3 })
        .collect();

    let mut w = GgufWriter::new();
    w.string("general.architecture", "llama")
        .string("general.type", "model")
        .string("general.name", "Llama 3.2 1B Instruct")
        .string("general.size_label", "1B")
        .u32("llama.block_count", N_LAYER as u32)
        .u32("llama.context_length", 131_072)
        .u32("llama.embedding_length", N_EMBD as u32)
        .u32("llama.feed_forward_length", N_FF as u32)
        .u32("llama.attention.head_count", 32)
        .u32("llama.attention.head_count_kv", 8)
        .f32("llama.rope.freq_base", 500_000.0)
        .f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .u32("general.file_type", 18)
        .string("tokenizer.ggml.model", "gpt2")
        .string("tokenizer.ggml.pre", "llama-bpe")
        .strings("tokenizer.ggml.tokens", &tokens)
        .i32s("tokenizer.ggml.token_type", &types)
        .strings("tokenizer.ggml.merges", &merges)
        .u32("tokenizer.ggml.bos_token_id", 128_000)
        .u32("tokenizer.ggml.eos_token_id", 128_009)
        .string("tokenizer.chat_template", template)
        .u32("general.quantization_version", 2);
    // GGUF dimensions run innermost first.
    w.tensor("rope_freqs.weight", &[32], GGML_F32).tensor(
        "token_embd.weight",
        &[N_EMBD, N_VOCAB as u64],
        GGML_Q6_K,
    );
    for i in 0..N_LAYER {
        w.tensor(&format!("blk.{i}.attn_norm.weight"), &[N_EMBD], GGML_F32)
            .tensor(
                &format!("blk.{i}.ffn_down.weight"),
                &[N_FF, N_EMBD],
                GGML_Q6_K,
            )
            .tensor(
                &format!("blk.{i}.ffn_gate.weight"),
                &[N_EMBD, N_FF],
                GGML_Q6_K,
            )
            .tensor(
                &format!("blk.{i}.ffn_up.weight"),
                &[N_EMBD, N_FF],
                GGML_Q6_K,
            )
            .tensor(&format!("blk.{i}.ffn_norm.weight"), &[N_EMBD], GGML_F32)
            .tensor(
                &format!("blk.{i}.attn_k.weight"),
                &[N_EMBD, N_KV],
                GGML_Q6_K,
            )
            .tensor(
                &format!("blk.{i}.attn_output.weight"),
                &[N_EMBD, N_EMBD],
                GGML_Q6_K,
            )
            .tensor(
                &format!("blk.{i}.attn_q.weight"),
                &[N_EMBD, N_EMBD],
                GGML_Q6_K,
            )
            .tensor(
                &format!("blk.{i}.attn_v.weight"),
                &[N_EMBD, N_KV],
                GGML_Q6_K,
            );
    }
    w.tensor("output_norm.weight", &[N_EMBD], GGML_F32);
    w
}

/// Writes `header` and extends the file with a hole to `header + data` bytes.
fn sparse_file(name: &str, header: &[u8], data: u64) -> TempFile {
    let file = TempFile::new(name);
    fs::write(&file.0, header).unwrap();
    let f = fs::OpenOptions::new().write(true).open(&file.0).unwrap();
    f.set_len(header.len() as u64 + data).unwrap();
    file
}

fn real_template() -> String {
    fs::read_to_string(
        fixtures_dir()
            .join("gguf")
            .join("templates")
            .join("meta-llama-Llama-3.2-3B-Instruct.jinja"),
    )
    .unwrap()
}

#[test]
fn a_1gb_gguf_is_judged_by_its_header_alone() {
    let w = llama_3_2_1b(&real_template());
    let header = w.header();
    let data = w.data_len();
    assert!(header.len() > 8 << 20, "header only {} bytes", header.len());
    let file = sparse_file("llama-3.2-1b-q6_k.gguf", &header, data);
    let size = fs::metadata(&file.0).unwrap().len();
    assert!(size > 1_000_000_000, "file only {size} bytes");

    let (report, read) = scan_file_seeking(&file.0, &Policy::default(), Limits::default()).unwrap();
    assert_eq!(report.format, Format::Gguf);
    assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let header_len = header.len() as u64;
    assert!(
        read >= header_len - 64 && read <= header_len + READ_SLACK,
        "read {read} bytes of a {size}-byte file whose header is {header_len} bytes"
    );
    assert_eq!(report.bytes_read, read);
}

#[test]
fn a_1gb_gguf_with_a_payload_is_dangerous_from_its_header_alone() {
    let template = format!(
        "{}{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}",
        real_template()
    );
    let w = llama_3_2_1b(&template);
    let header = w.header();
    let file = sparse_file("llama-3.2-1b-payload.gguf", &header, w.data_len());
    let (report, read) = scan_file_seeking(&file.0, &Policy::default(), Limits::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Dangerous, "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule.id() == "gguf.template-injection"),
        "{:?}",
        report.findings
    );
    assert!(read <= header.len() as u64 + READ_SLACK, "read {read}");
}

/// The header of Llama-3.2-1B-Instruct's model.safetensors (146 BF16 tensors), as the
/// safetensors library lays it out, and the data length.
fn safetensors_header() -> (Vec<u8>, u64) {
    let mut tensors: Vec<(String, Vec<u64>)> = vec![
        (
            "model.embed_tokens.weight".into(),
            vec![N_VOCAB as u64, N_EMBD],
        ),
        ("model.norm.weight".into(), vec![N_EMBD]),
    ];
    for i in 0..N_LAYER {
        let p = format!("model.layers.{i}.");
        for (name, shape) in [
            ("input_layernorm.weight", vec![N_EMBD]),
            ("mlp.down_proj.weight", vec![N_EMBD, N_FF]),
            ("mlp.gate_proj.weight", vec![N_FF, N_EMBD]),
            ("mlp.up_proj.weight", vec![N_FF, N_EMBD]),
            ("post_attention_layernorm.weight", vec![N_EMBD]),
            ("self_attn.k_proj.weight", vec![N_KV, N_EMBD]),
            ("self_attn.o_proj.weight", vec![N_EMBD, N_EMBD]),
            ("self_attn.q_proj.weight", vec![N_EMBD, N_EMBD]),
            ("self_attn.v_proj.weight", vec![N_KV, N_EMBD]),
        ] {
            tensors.push((format!("{p}{name}"), shape));
        }
    }
    tensors.sort();
    let mut json = String::from(r#"{"__metadata__":{"format":"pt"}"#);
    let mut offset = 0u64;
    for (name, shape) in &tensors {
        let n: u64 = 2 * shape.iter().product::<u64>();
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        json.push_str(&format!(
            r#","{name}":{{"dtype":"BF16","shape":[{}],"data_offsets":[{offset},{}]}}"#,
            dims.join(","),
            offset + n
        ));
        offset += n;
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    (out, offset)
}

#[test]
fn a_2_5gb_safetensors_is_judged_by_its_header_alone() {
    let (header, data) = safetensors_header();
    let file = sparse_file("llama-3.2-1b.safetensors", &header, data);
    let size = fs::metadata(&file.0).unwrap().len();
    assert!(size > 2_000_000_000, "file only {size} bytes");
    let (report, read) = scan_file_seeking(&file.0, &Policy::default(), Limits::default()).unwrap();
    assert_eq!(report.format, Format::Safetensors);
    assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
    assert!(
        read <= header.len() as u64 + READ_SLACK,
        "read {read} bytes of a {size}-byte file whose header is {} bytes",
        header.len()
    );
    assert_eq!(report.bytes_read, read);
}

#[test]
fn a_safetensors_header_that_promises_more_than_the_file_holds_is_caught_without_reading_it() {
    // The same header over a file 1 MB short: the length check needs no tensor byte.
    let (header, data) = safetensors_header();
    let file = sparse_file("llama-3.2-1b-short.safetensors", &header, data - (1 << 20));
    let (report, read) = scan_file_seeking(&file.0, &Policy::default(), Limits::default()).unwrap();
    assert_ne!(report.verdict, Verdict::Clean, "{:?}", report.findings);
    assert!(read <= header.len() as u64 + READ_SLACK, "read {read}");
}
