//! Files a layer reads when the model loads: a lookup layer or tokenizer whose `vocabulary`,
//! `merges` or `proto` is a path instead of the data itself.
//!
//! `StringLookup`, `IntegerLookup` and `TextVectorization` call `set_vocabulary` with what the
//! config holds, and a string there is opened as a file (through `tf.io.gfile`, so `gs://` and
//! other remote schemes work too); keras_hub's `BytePairTokenizer`, `WordPieceTokenizer` and
//! `SentencePieceTokenizer` do the same with `vocabulary`, `merges` and `proto`. Keras before
//! 3.12 read such a file even in safe mode (CVE-2025-12058, GHSA-mq84-hjqx-cwf2), keras_hub
//! before its 2026 fix likewise, and both still do with `safe_mode=False`: the model reads any
//! file the loading process may read, and its contents come back as the layer's vocabulary.
//! Models Keras writes keep vocabularies inline or in the archive's assets, never as paths.

use alloc::format;
use alloc::string::String;

use crate::findings::Findings;
use crate::report::Severity;
use crate::rules::Rule;

/// Reports that `class` at `place` reads the file `file` when the model loads: at high
/// severity for a path that leaves the model's folder (absolute, `..`, a drive, a URL), at
/// medium for a plain relative name (read from wherever the loading process runs).
pub(super) fn report(
    findings: &mut Findings,
    at: Option<u64>,
    place: &str,
    class: &str,
    file: &str,
) {
    let (severity, how) = match outside(file) {
        Some(how) => (Severity::High, how),
        None => (
            Severity::Medium,
            "is a relative path, read from the loading process's working folder",
        ),
    };
    let shown: String = file.chars().take(120).collect();
    findings.push(
        Rule::KerasUnsafeObject,
        severity,
        None,
        at,
        format!(
            "{place} names the file `{shown}`, which {how}: the {class} layer reads it when the model loads (keras before 3.12 even in safe mode, CVE-2025-12058; any version with safe_mode=False), so loading the model reads a file its author chose"
        ),
        Some(format!("{place}: file {shown}")),
    );
}

/// Why a path leaves the model's folder, if it does.
fn outside(file: &str) -> Option<&'static str> {
    if file.contains("://") {
        return Some("is a URL, which tf.io.gfile fetches");
    }
    crate::paths::unsafe_path(file)
}

#[cfg(test)]
mod tests {
    use super::outside;

    #[test]
    fn paths_that_leave_the_model_folder() {
        for far in [
            "/etc/passwd",
            "../secrets.txt",
            "gs://bucket/v.txt",
            "C:\\v.txt",
        ] {
            assert!(outside(far).is_some(), "{far}");
        }
        assert!(outside("vocab.txt").is_none());
    }
}
