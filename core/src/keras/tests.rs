//! Keras configs through the public scanner, in every driver, and through `check_config`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{ConfigKind, MAX_JSON_BYTES, check_config};
use crate::findings::Findings;
use crate::test_drivers::{same_everywhere, scan};
use crate::{Format, Policy, Report, Rule, Severity, Verdict};

/// The Lambda layer Keras 3.15 wrote for `keras.layers.Lambda(lambda t: t * 2)` (trimmed).
const LAMBDA_LAYER: &str = r#"{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "lambda", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAIAAAADAAAA8wwAAACXAHwAZAF6BQAAUwApAk7pAgAAAKkAKQHaAXRzAQAA\nACD6EC90bXAva3gvcHJvYmUucHn6CDxsYW1iZGE+cgYAAAAHAAAAcwoAAACAAKAhoGGhJYAA8wAA\nAAA=\n", "defaults": null, "closure": null}}, "arguments": {}}, "registered_name": null, "build_config": {"input_shape": [null, 3]}, "name": "lambda", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 3], "dtype": "float32", "keras_history": ["dense", 0, 0]}}], "kwargs": {"mask": null}}]}"#;

/// A Dense layer as Keras 3.15 writes it.
const DENSE: &str = r#"{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "units": 3, "activation": "relu", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null}, "registered_name": null, "build_config": {"input_shape": [null, 4]}, "name": "dense", "inbound_nodes": []}"#;

/// A Functional model around `layers`, compiled with Adam.
fn model(layers: &[&str]) -> String {
    format!(
        r#"{{"module": "keras.src.models.functional", "class_name": "Functional", "config": {{"name": "functional", "trainable": true, "layers": [{}], "input_layers": ["input_layer", 0, 0], "output_layers": ["dense", 0, 0]}}, "registered_name": "Functional", "build_config": {{"input_shape": null}}, "compile_config": {{"optimizer": {{"module": "keras.src.backend.torch.optimizers.torch_adam", "class_name": "Adam", "config": {{"name": "adam", "learning_rate": 0.001}}, "registered_name": "Adam"}}, "loss": "mse", "metrics": ["mae"]}}}}"#,
        layers.join(", ")
    )
}

fn rules(report: &Report) -> Vec<Rule> {
    report.findings.iter().map(|f| f.rule).collect()
}

fn evidence(report: &Report, rule: Rule) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .filter_map(|f| f.evidence.clone())
        .collect()
}

#[test]
fn a_plain_keras_model_is_clean() {
    let report = same_everywhere(model(&[DENSE]).as_bytes());
    assert_eq!(report.format, Format::KerasConfig);
    assert_eq!(report.findings, []);
    assert_eq!(report.verdict, Verdict::Clean);
}

#[test]
fn other_json_is_clean_json() {
    // A Hugging Face config.json and a tokenizer-like document.
    for doc in [
        r#"{"architectures": ["BertModel"], "hidden_size": 768, "layer_norm_eps": 1e-12, "torch_dtype": "float32"}"#,
        r#"{"version": "1.0", "model": {"vocab": {"a": 0, "b": 1}, "merges": ["a b"]}, "added_tokens": [{"id": 0, "content": "[PAD]"}]}"#,
        "[{\"a\": NaN}]",
    ] {
        let report = same_everywhere(doc.as_bytes());
        assert_eq!(report.format, Format::Json, "{doc}");
        assert_eq!(report.findings, [], "{doc}");
    }
}

#[test]
fn a_real_lambda_layer_is_critical_with_its_bytecode_described() {
    let doc = model(&[DENSE, LAMBDA_LAYER]);
    let report = same_everywhere(doc.as_bytes());
    assert_eq!(report.format, Format::KerasConfig);
    assert_eq!(rules(&report), [Rule::KerasLambdaCode]);
    let f = &report.findings[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.offset,
        Some(doc.find(r#"{"class_name": "__lambda__""#).unwrap() as u64)
    );
    let e = f.evidence.as_deref().unwrap();
    assert!(
        e.starts_with(
            "config.layers[1].config.function: 116 bytes of Python 3.11+ bytecode (base64)"
        ),
        "{e}"
    );
}

#[test]
fn safe_mode_bypasses_are_named() {
    let cases = [
        // CVE-2025-1550: any module, here a Python builtin, called by a Lambda.
        (
            r#"{"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}, "arguments": {"__globals": null}}}"#,
            "builtins.exec",
        ),
        (
            r#"{"module": "keras.layers", "class_name": "Lambda", "config": {"function": {"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": null}, "arguments": {"origin": "https://example.invalid/x"}}}"#,
            "keras.utils.get_file",
        ),
        (
            r#"{"module": "keras.layers", "class_name": "Lambda", "config": {"function": {"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization", "registered_name": "function"}}}"#,
            "keras.config.enable_unsafe_deserialization",
        ),
        (
            r#"{"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"name": "t", "module": "UEsDBA==", "output_shape": null}, "registered_name": null}"#,
            "keras.layers.TorchModuleWrapper",
        ),
        (
            r#"{"module": "subprocess", "class_name": "Popen", "config": {"args": ["id"]}}"#,
            "subprocess.Popen",
        ),
        (
            r#"{"module": "keras.src.backend.common.global_state", "class_name": "function", "config": "set_global_attribute"}"#,
            "keras.src.backend.common.global_state.set_global_attribute",
        ),
    ];
    for (doc, resolved) in cases {
        let report = same_everywhere(doc.as_bytes());
        assert_eq!(report.verdict, Verdict::Dangerous, "{doc}");
        assert_eq!(
            evidence(&report, Rule::KerasUnsafeObject),
            [resolved],
            "{doc}"
        );
        assert!(
            report.findings.iter().all(|f| f.severity == Severity::High),
            "{doc}"
        );
    }
}

#[test]
fn lambdas_are_found_in_every_encoding_and_place() {
    // Keras 2: `[code, defaults, closure]` with function_type "lambda", and a bare code string
    // as output_shape; the module whose globals the code sees is named.
    let keras2 = r#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAAAAAAAAIAAAADAAAA8wwAAACXAHwAZAF6BQAAUwApAk7pAgAAAKkAKQHaAXRzAQAA\nACD6EC90bXAva3gvcHJvYmUucHn6CDxsYW1iZGE+cgYAAAAHAAAAcwoAAACAAKAhoGGhJYAA8wAA\nAAA=\n", null, null], "function_type": "lambda", "module": "os", "output_shape": "xyz", "output_shape_type": "lambda"}}]}}"#;
    let report = same_everywhere(keras2.as_bytes());
    let ev = evidence(&report, Rule::KerasLambdaCode);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(
        ev[0].starts_with("config.layers[0].config.function: 116 bytes"),
        "{ev:?}"
    );
    assert!(ev[0].ends_with("globals from module os"), "{ev:?}");
    assert!(
        ev[1].starts_with("config.layers[0].config.output_shape: "),
        "{ev:?}"
    );
    // Python source under `function` with no type (the peers' hand-made samples).
    let source = r#"{"class_name": "Lambda", "config": {"function": "lambda x: eval('1')"}}"#;
    let report = same_everywhere(source.as_bytes());
    assert_eq!(
        evidence(&report, Rule::KerasLambdaCode),
        ["(top level).config.function: Python source text `lambda x: eval('1')`"]
    );
    let named = r#"{"class_name": "Lambda", "config": {"function": "my_pkg.double"}}"#;
    assert!(rules(&same_everywhere(named.as_bytes())).is_empty());
    // tf_keras (keras_metadata.pb) keeps the tuple as `{"class_name": "__tuple__", "items": [...]}`.
    let tuple = r#"{"class_name": "Lambda", "config": {"name": "l", "function": {"class_name": "__tuple__", "items": ["YWJj", null, null]}, "function_type": "lambda"}}"#;
    let report = same_everywhere(tuple.as_bytes());
    assert_eq!(
        evidence(&report, Rule::KerasLambdaCode),
        [
            "(top level).config.function: 3 bytes (base64) that do not read as a marshalled code object"
        ]
    );
    // A `__lambda__` used as the activation of a layer of a nested model, as
    // serialize_keras_object writes it (func_dump's tuple under `value`).
    let activation = r#"{"module": "keras.layers", "class_name": "Dense", "config": {"units": 2, "activation": {"class_name": "__lambda__", "config": {"value": ["YWJj", null, null]}}}}"#;
    let inner = model(&[activation]);
    let outer = model(&[DENSE, &inner]);
    let report = same_everywhere(outer.as_bytes());
    assert_eq!(
        evidence(&report, Rule::KerasLambdaCode),
        [
            "config.layers[1].config.layers[0].config.activation: 3 bytes (base64) that do not read as a marshalled code object"
        ]
    );
    assert_eq!(report.verdict, Verdict::Dangerous);
}

#[test]
fn what_python_reads_is_read() {
    // NaN, a lone surrogate and a duplicate key (the last one wins, as in a Python dict).
    let doc = r#"{"class_name": "Dense", "module": "keras.layers", "config": {"x": NaN, "name": "\udc80"}, "module": "os"}"#;
    let report = same_everywhere(doc.as_bytes());
    assert_eq!(evidence(&report, Rule::KerasUnsafeObject), ["os.Dense"]);
    // UTF-16 and a top-level array: json.loads accepts both, Keras deserializes each element.
    let utf16: Vec<u8> = format!("[{LAMBDA_LAYER}]")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let report = same_everywhere(&utf16);
    assert_eq!(report.format, Format::KerasConfig);
    assert_eq!(rules(&report), [Rule::KerasLambdaCode]);
    // Offsets of transcoded text are not the file's: the finding points at the start.
    assert_eq!(report.findings[0].offset, Some(0));
}

#[test]
fn broken_configs_are_medium_when_they_look_like_keras() {
    // Not JSON, so not any format modelsieve knows (the scanner then looks for an archive
    // at the end, as zipfile would), but a broken Keras config says so.
    let cut = &DENSE[..DENSE.len() - 10];
    let report = same_everywhere(cut.as_bytes());
    assert_eq!(report.format, Format::Unknown);
    assert_eq!(
        rules(&report),
        [Rule::KerasInvalidConfig, Rule::FormatUnrecognized]
    );
    assert_eq!(report.verdict, Verdict::Suspicious);
    let bad = r#"{"class_name": "Dense", "config": {'units': 1}}"#;
    let report = same_everywhere(bad.as_bytes());
    assert_eq!(
        rules(&report),
        [Rule::KerasInvalidConfig, Rule::FormatUnrecognized]
    );
    assert_eq!(report.findings[0].offset, Some(35));
    // A non-string class_name or module cannot be judged.
    let report = same_everywhere(br#"{"class_name": ["os", "system"], "config": {}}"#);
    assert_eq!(rules(&report), [Rule::KerasInvalidConfig]);
    let report = same_everywhere(br#"{"class_name": "Dense", "module": 5, "config": {}}"#);
    assert_eq!(rules(&report), [Rule::KerasInvalidConfig]);
    // Not JSON and nothing Keras about it: an unrecognised file, as without this reader.
    let report = same_everywhere(b"{\"a\": 1} trailing");
    assert_eq!(report.format, Format::Unknown);
    assert_eq!(rules(&report), [Rule::FormatUnrecognized]);
    assert_eq!(report.verdict, Verdict::Clean);
}

#[test]
fn limits_are_findings() {
    let depth = super::json::MAX_DEPTH + 5;
    let deep = format!(
        "{{\"class_name\": \"X\", \"config\": {}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let report = same_everywhere(deep.as_bytes());
    assert_eq!(rules(&report), [Rule::ScanLimitReached]);
    assert_eq!(report.format, Format::KerasConfig);
    // Past the size bound: objects that close before it are still judged.
    let mut big = format!("[{LAMBDA_LAYER}, \"");
    big.push_str(&"a".repeat(MAX_JSON_BYTES));
    big.push_str("\"]");
    let report = scan(big.as_bytes());
    assert_eq!(
        rules(&report),
        [Rule::KerasLambdaCode, Rule::ScanLimitReached]
    );
    assert_eq!(report.format, Format::KerasConfig);
}

#[test]
fn check_config_reports_into_the_callers_findings() {
    let mut findings = Findings::new(Policy::default(), 100);
    assert_eq!(
        check_config(LAMBDA_LAYER.as_bytes(), Some(1000), &mut findings),
        ConfigKind::Keras
    );
    assert_eq!(
        check_config(b"{\"a\": 1}", Some(0), &mut findings),
        ConfigKind::NotKeras
    );
    assert_eq!(
        check_config(b"{\"a\": ", Some(50), &mut findings),
        ConfigKind::Invalid
    );
    let found = findings.into_vec();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].rule, Rule::KerasLambdaCode);
    assert_eq!(
        found[0].offset,
        Some(
            1000 + LAMBDA_LAYER
                .find("{\"class_name\": \"__lambda__\"")
                .unwrap() as u64
        )
    );
    assert_eq!(
        (found[1].rule, found[1].offset),
        (Rule::KerasInvalidConfig, Some(56))
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let seeds: [&[u8]; 6] = [
        LAMBDA_LAYER.as_bytes(),
        DENSE.as_bytes(),
        b"{\"class_name\": \"__lambda__\", \"config\": {\"code\": \"\\u00e3\\u0001\"}}",
        b"[{\"class_name\": \"function\", \"config\": \"eval\", \"module\": \"builtins\"}]",
        b"{\"\xed\xa0\x80\": [\"\\ud800\\udc00\", -Infinity]}",
        b"\xff\xfe{\x00\"\x00",
    ];
    let mut findings = Findings::new(Policy::default(), 100);
    for seed in seeds {
        for cut in 0..=seed.len() {
            let head = &seed[..cut];
            check_config(head, Some(0), &mut findings);
            let mut flipped = seed.to_vec();
            if let Some(b) = flipped.get_mut(cut) {
                *b ^= 0x5a;
            }
            check_config(&flipped, None, &mut findings);
        }
    }
}

#[test]
fn deep_paths_show_their_ends() {
    let depth = 30;
    let doc = format!(
        "{}{{\"module\": \"os\", \"class_name\": \"system\", \"config\": {{}}}}{}",
        "{\"k\": [".repeat(depth),
        "]}".repeat(depth)
    );
    let report = same_everywhere(doc.as_bytes());
    assert_eq!(evidence(&report, Rule::KerasUnsafeObject), ["os.system"]);
    assert!(
        report.findings[0]
            .message
            .starts_with("k[0].k.….k[0].k[0].k[0].k[0] names the class os.system"),
        "{}",
        report.findings[0].message
    );
}

/// A StringLookup layer whose config gives `vocabulary` as `value` (a JSON value).
fn string_lookup(value: &str) -> String {
    format!(
        r#"{{"module": "keras.layers", "class_name": "StringLookup", "config": {{"name": "string_lookup", "invert": false, "num_oov_indices": 1, "oov_token": "[UNK]", "mask_token": null, "output_mode": "int", "vocabulary": {value}, "vocabulary_size": 4, "encoding": "utf-8"}}, "registered_name": null, "build_config": {{}}, "name": "string_lookup", "inbound_nodes": []}}"#
    )
}

#[test]
fn a_vocabulary_file_read_on_load_is_reported() {
    // CVE-2025-12058: StringLookup opens a vocabulary given as a path when the model loads.
    for (value, severity) in [
        (r#""/etc/passwd""#, Severity::High),
        (r#""gs://bucket/vocab.txt""#, Severity::High),
        (r#""../../.ssh/id_rsa""#, Severity::High),
        (r#""vocab.txt""#, Severity::Medium),
    ] {
        let report = same_everywhere(model(&[&string_lookup(value)]).as_bytes());
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule == Rule::KerasUnsafeObject)
            .collect();
        assert_eq!(found.len(), 1, "{value}: {:?}", report.findings);
        assert_eq!(found[0].severity, severity, "{value}");
        assert!(found[0].message.contains("CVE-2025-12058"), "{value}");
        assert!(
            found[0]
                .evidence
                .as_deref()
                .is_some_and(|e| e.contains("config.vocabulary")),
            "{value}"
        );
    }
    // Vocabularies kept inline, or in the archive's assets (null), are data.
    for value in [r#"["a", "b", "c"]"#, "null"] {
        let report = same_everywhere(model(&[&string_lookup(value)]).as_bytes());
        assert_eq!(report.findings, [], "{value}");
    }
}
