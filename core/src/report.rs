//! The report contract (schema version 1): what a scan says about one file.
//!
//! Every driver (CLI, WASM, worker) serialises these types unchanged, so a report produced in a
//! browser and one produced by the CLI can be compared byte for byte.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::Rule;

/// Version of the JSON report schema produced by [`ReportDocument`].
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, never a reason to reject a file.
    Info,
    /// Unusual but not a loading risk on its own.
    Low,
    /// Could not be fully judged, or references code that needs review.
    Medium,
    /// Loading touches files, the network, or import machinery an attacker can steer.
    High,
    /// Loading runs attacker-chosen code.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in JSON, policies and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lowercase name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one-word judgement of a file, derived from its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No finding at `medium` or above.
    Clean,
    /// At least one `medium` finding and nothing worse.
    Suspicious,
    /// At least one `high` or `critical` finding.
    Dangerous,
}

impl Verdict {
    /// The verdict that a set of findings implies.
    pub fn from_findings(findings: &[Finding]) -> Verdict {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Critical | Severity::High) => Verdict::Dangerous,
            Some(Severity::Medium) => Verdict::Suspicious,
            _ => Verdict::Clean,
        }
    }

    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Suspicious => "suspicious",
            Verdict::Dangerous => "dangerous",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the scanner recognised a file (or member) as, from its bytes, never from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Format {
    /// A Python pickle stream (any protocol), possibly several concatenated.
    #[serde(rename = "pickle")]
    Pickle,
    /// A legacy (pre-1.6, non-zip) `torch.save` file: five pickles followed by raw storages.
    #[serde(rename = "pytorch-legacy")]
    PytorchLegacy,
    /// A joblib dump: pickle opcodes interleaved with raw numpy array bytes.
    #[serde(rename = "joblib")]
    Joblib,
    /// A NumPy `.npy` array file.
    #[serde(rename = "npy")]
    Npy,
    /// A safetensors file: a JSON header and raw tensor bytes, nothing executable.
    #[serde(rename = "safetensors")]
    Safetensors,
    /// A zip archive of no more specific kind.
    #[serde(rename = "zip")]
    Zip,
    /// A `torch.save` zip archive (`*/data.pkl` with `*/data/N` storages).
    #[serde(rename = "pytorch-zip")]
    PytorchZip,
    /// A TorchScript archive (`torch.jit.save`: `constants.pkl`, `code/`).
    #[serde(rename = "torchscript")]
    Torchscript,
    /// A NumPy `.npz` archive (a zip of `.npy` files).
    #[serde(rename = "npz")]
    Npz,
    /// A tar archive (ustar, gnu or pax).
    #[serde(rename = "tar")]
    Tar,
    /// The oldest `torch.save` layout: a tar of `sys_info`, `pickle`, `tensors`, `storages`.
    #[serde(rename = "pytorch-tar")]
    PytorchTar,
    /// gzip-compressed data.
    #[serde(rename = "gzip")]
    Gzip,
    /// zlib-compressed data (joblib's default compressor).
    #[serde(rename = "zlib")]
    Zlib,
    /// A 7z archive (not opened).
    #[serde(rename = "7z")]
    SevenZip,
    /// xz-compressed data (not opened).
    #[serde(rename = "xz")]
    Xz,
    /// Legacy `.lzma` (LZMA-alone) data, as joblib writes it (not opened).
    #[serde(rename = "lzma")]
    Lzma,
    /// bzip2-compressed data (not opened).
    #[serde(rename = "bzip2")]
    Bzip2,
    /// Zstandard-compressed data (not opened).
    #[serde(rename = "zstd")]
    Zstd,
    /// LZ4-frame-compressed data (not opened).
    #[serde(rename = "lz4")]
    Lz4,
    /// A RAR archive (not opened).
    #[serde(rename = "rar")]
    Rar,
    /// A GGUF model file (llama.cpp): metadata, tensor infos and raw tensor data.
    #[serde(rename = "gguf")]
    Gguf,
    /// An ONNX model (`ModelProto` protobuf).
    #[serde(rename = "onnx")]
    Onnx,
    /// A TensorFlow SavedModel graph file (`saved_model.pb`).
    #[serde(rename = "tf-saved-model")]
    TfSavedModel,
    /// A bare TensorFlow `GraphDef` (a frozen graph `.pb`).
    #[serde(rename = "tf-graph-def")]
    TfGraphDef,
    /// A SavedModel's `fingerprint.pb` (hashes only).
    #[serde(rename = "tf-fingerprint")]
    TfFingerprint,
    /// A Keras SavedModel's `keras_metadata.pb` (layer configs as JSON).
    #[serde(rename = "keras-metadata")]
    KerasMetadata,
    /// A Keras v3 `.keras` archive (zip of `config.json`, `metadata.json`, `model.weights.h5`).
    #[serde(rename = "keras")]
    Keras,
    /// A Keras model config as JSON (`config.json` of a `.keras` archive).
    #[serde(rename = "keras-config")]
    KerasConfig,
    /// A JSON document that is not a model config.
    #[serde(rename = "json")]
    Json,
    /// A Keras model saved as HDF5 (`.h5` with a `model_config` attribute).
    #[serde(rename = "keras-h5")]
    KerasH5,
    /// An HDF5 file without a Keras model config (weights only, or other data).
    #[serde(rename = "hdf5")]
    Hdf5,
    /// Nothing the scanner knows how to read.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Format {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::PytorchLegacy => "pytorch-legacy",
            Format::Joblib => "joblib",
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
            Format::Zip => "zip",
            Format::PytorchZip => "pytorch-zip",
            Format::Torchscript => "torchscript",
            Format::Npz => "npz",
            Format::Tar => "tar",
            Format::PytorchTar => "pytorch-tar",
            Format::Gzip => "gzip",
            Format::Zlib => "zlib",
            Format::SevenZip => "7z",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Bzip2 => "bzip2",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
            Format::Rar => "rar",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::TfSavedModel => "tf-saved-model",
            Format::TfGraphDef => "tf-graph-def",
            Format::TfFingerprint => "tf-fingerprint",
            Format::KerasMetadata => "keras-metadata",
            Format::Keras => "keras",
            Format::KerasConfig => "keras-config",
            Format::Json => "json",
            Format::KerasH5 => "keras-h5",
            Format::Hdf5 => "hdf5",
            Format::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the scanner saw that a person should know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable dotted rule id, e.g. `pickle.dangerous-global`.
    pub rule: Rule,
    /// How bad it is, after the policy's overrides.
    pub severity: Severity,
    /// Path of the member inside a container (`archive/data.pkl`), or of a nested payload
    /// (`#pickle@112`); `None` for the top-level file.
    pub member: Option<String>,
    /// Byte offset where the finding starts, relative to `member` (or to the file).
    pub offset: Option<u64>,
    /// One sentence a person can act on.
    pub message: String,
    /// The exact thing seen (`os.system`, a quoted argument, a member name), if any.
    pub evidence: Option<String>,
}

/// Everything a scan found out about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The path the driver scanned, as the user gave it (empty for in-memory scans).
    pub path: String,
    /// The outermost format recognised.
    pub format: Format,
    /// Derived from `findings`; see [`Verdict::from_findings`].
    pub verdict: Verdict,
    /// How many bytes of the file the scanner actually looked at. A seeking driver reads much
    /// less than `size` on archives with large tensors; a streaming driver reads everything.
    pub bytes_read: u64,
    /// The file's size, when the driver knew it.
    pub size: Option<u64>,
    /// Ordered by offset of discovery; never deduplicated across members.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The highest severity among the findings, if there are any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether any finding is at or above `threshold` (the CLI's `--fail-on`).
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}

/// The top-level JSON document: every file of one invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDocument {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// One report per scanned file, in the order the driver scanned them.
    pub files: Vec<Report>,
}

impl ReportDocument {
    /// Wraps reports in a schema-v1 document.
    pub fn new(files: Vec<Report>) -> ReportDocument {
        ReportDocument {
            schema_version: SCHEMA_VERSION,
            files,
        }
    }
}
