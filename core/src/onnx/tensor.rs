//! A tensor's external-data fields, and what is wrong with them.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::findings::Findings;
use crate::paths::unsafe_path;
use crate::rules::Rule;

/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: u64 = 1;

/// The keys `onnx.external_data_helper.ExternalDataInfo` reads. It sets every key it finds as
/// an attribute of a Python object, so any other key is at least a sign of a hand-made file.
const KNOWN_KEYS: &[&str] = &["location", "offset", "length", "checksum", "basepath"];

/// Most `external_data` entries kept per tensor (the format uses at most five).
const MAX_ENTRIES: usize = 16;

/// What one `TensorProto` says about where its data is.
#[derive(Debug, Default)]
pub(super) struct Tensor {
    /// Offset of the tensor message.
    pub(super) at: u64,
    /// `name` (field 8), possibly cut short.
    pub(super) name: String,
    /// `data_location` (field 14), when present.
    pub(super) data_location: Option<u64>,
    /// `raw_data` (field 9) length, when present.
    pub(super) raw_len: Option<u64>,
    /// `external_data` (field 13) key/value pairs, in order.
    pub(super) entries: Vec<(String, String)>,
    /// Entries beyond [`MAX_ENTRIES`].
    pub(super) extra_entries: usize,
    /// The key and value of the entry being read.
    pub(super) entry: (String, String),
}

impl Tensor {
    /// Records a finished `external_data` entry.
    pub(super) fn push_entry(&mut self) {
        let entry = core::mem::take(&mut self.entry);
        if self.entries.len() < MAX_ENTRIES {
            self.entries.push(entry);
        } else {
            self.extra_entries += 1;
        }
    }

    fn label(&self) -> String {
        if self.name.is_empty() {
            String::from("an unnamed tensor")
        } else {
            format!("tensor `{}`", self.name)
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Reports what is wrong with the tensor's external-data fields.
    pub(super) fn check(&self, findings: &mut Findings) {
        let label = self.label();
        let external = self.data_location == Some(EXTERNAL);
        let mut mismatch = |message: String, evidence: Option<String>| {
            findings.rule(
                Rule::OnnxExternalDataMismatch,
                None,
                Some(self.at),
                message,
                evidence,
            );
        };
        if let Some(location) = self.data_location.filter(|&l| l > EXTERNAL) {
            mismatch(
                format!("{label} has data_location {location}, which ONNX does not define"),
                None,
            );
        }
        if !external && !self.entries.is_empty() {
            mismatch(
                format!(
                    "{label} has external_data entries but data_location is not EXTERNAL: loaders disagree on where its data is"
                ),
                self.get("location").map(String::from),
            );
        }
        if external && self.get("location").is_none() {
            mismatch(format!("{label} is EXTERNAL but names no location"), None);
        }
        if external && self.raw_len.is_some() {
            mismatch(
                format!("{label} is EXTERNAL and also carries raw_data"),
                None,
            );
        }
        for key in ["offset", "length"] {
            if let Some(value) = self.get(key).filter(|v| !is_decimal(v)) {
                mismatch(
                    format!("{label}'s external-data {key} `{value}` is not a number"),
                    Some(String::from(value)),
                );
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in &self.entries {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                mismatch(
                    format!("{label} has an external-data key `{key}` that ONNX does not define"),
                    Some(key.clone()),
                );
            } else if seen.contains(&key.as_str()) {
                mismatch(
                    format!(
                        "{label} gives external-data key `{key}` twice; loaders keep different ones"
                    ),
                    Some(key.clone()),
                );
            }
            seen.push(key);
        }
        if self.extra_entries > 0 {
            mismatch(
                format!(
                    "{label} has {} more external-data entries than the {MAX_ENTRIES} read",
                    self.extra_entries
                ),
                None,
            );
        }
        for (key, value) in &self.entries {
            if key != "location" && key != "basepath" {
                continue;
            }
            if let Some(why) = unsafe_location(value) {
                findings.rule(
                    Rule::OnnxExternalDataPath,
                    None,
                    Some(self.at),
                    format!("{label}'s external data {key} `{value}` {why}"),
                    Some(value.clone()),
                );
            }
        }
    }
}

/// Why an external-data location reaches outside the model's folder, if it does.
pub(super) fn unsafe_location(location: &str) -> Option<&'static str> {
    if location.is_empty() {
        return Some("is empty, which names the model's folder itself");
    }
    if location.contains('\0') {
        return Some("contains a NUL byte, which cuts the path short");
    }
    if location.contains("://") || starts_with_ignore_case(location, "file:") {
        return Some("is a URL");
    }
    if let Some(why) = unsafe_path(location) {
        return Some(why);
    }
    if location.starts_with('~') {
        return Some("starts with `~`, a home folder once expanded");
    }
    if location.contains(':') {
        return Some("contains `:`, a drive or stream separator on Windows");
    }
    let stem = location.split('.').next().unwrap_or(location);
    if ["con", "prn", "aux", "nul", "com1", "lpt1"]
        .iter()
        .any(|d| stem.eq_ignore_ascii_case(d))
    {
        return Some("names a Windows device");
    }
    None
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn is_decimal(value: &str) -> bool {
    !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit())
}
