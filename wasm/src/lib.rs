//! modelsieve-wasm: the core's sans-IO [`Scanner`](modelsieve_core::Scanner) for JavaScript.
//!
//! A thin layer: every report is the core's serialised [`Report`] (the same JSON as one entry
//! of the CLI's `--format json` document) plus `failed`. All I/O (`Blob.slice`, HTTP ranges,
//! streams) lives in the hand-written `index.js` around this module, which asks
//! [`Scanner::want`] what to read and [`Scanner::feed`]s it.

mod options;

use modelsieve_core::sarif::{self, Paths};
use modelsieve_core::{
    Limits, Policy, Report, ReportDocument, Rule, Scanner as CoreScanner, Severity, Want,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::options::{byte_count, to_number};

/// Installs the panic hook, so a bug shows its message in the console instead of
/// "unreachable executed". Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A scan of one file in progress: ask [`want`](Scanner::want) what to read, [`feed`](Scanner::feed)
/// it, and [`finish`](Scanner::finish) for the report.
#[wasm_bindgen]
pub struct Scanner {
    /// `None` once finished.
    inner: Option<CoreScanner>,
    /// The report's `path`.
    name: String,
    /// Threshold for the report's `failed`.
    fail_on: Severity,
}

#[wasm_bindgen]
impl Scanner {
    /// `new Scanner({ policy?, size?, failOn?, name? })`: `size` is the file's length in bytes
    /// when known (needed to read archives from their end); `policy` is policy JSON (text or
    /// object) as the CLI's `--policy` takes it.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Scanner, JsError> {
        let options = Options::read(&options)?;
        let size = options.size;
        Ok(Scanner {
            inner: Some(CoreScanner::new(&options.policy, Limits::default(), size)),
            name: options.name,
            fail_on: options.fail_on,
        })
    }

    /// The bytes the scanner wants next, `{ offset, len }`, or `undefined` when it needs
    /// nothing more (then call `finish`). A streaming caller may ignore it and feed in order.
    pub fn want(&self) -> JsValue {
        match self.inner.as_ref().map(CoreScanner::want) {
            Some(Want::Range { offset, len }) => {
                let range = js_sys::Object::new();
                // Setting a property on a fresh plain object cannot fail.
                let _ = js_sys::Reflect::set(&range, &"offset".into(), &to_number(offset).into());
                let _ = js_sys::Reflect::set(&range, &"len".into(), &to_number(len).into());
                range.into()
            }
            _ => JsValue::UNDEFINED,
        }
    }

    /// Gives the scanner `bytes` found at `offset` in the file. Pieces may be of any size,
    /// overlap, or skip ahead to where `want` pointed.
    pub fn feed(&mut self, offset: f64, bytes: &[u8]) -> Result<(), JsError> {
        let offset = byte_count("offset", offset).map_err(|e| JsError::new(&e))?;
        let scanner = self
            .inner
            .as_mut()
            .ok_or_else(|| JsError::new("feed() after finish()"))?;
        scanner.feed(offset, bytes);
        Ok(())
    }

    /// Ends the scan and returns the report. Whatever the scanner still needed is reported as
    /// missing (`scan.incomplete`).
    pub fn finish(&mut self) -> Result<JsValue, JsError> {
        let scanner = self
            .inner
            .take()
            .ok_or_else(|| JsError::new("finish() called twice"))?;
        let mut report = scanner.finish();
        report.path.clone_from(&self.name);
        to_js(&report, self.fail_on)
    }
}

/// Scans a whole file held in memory: `scanBytes(bytes, { policy?, failOn?, name? })`.
#[wasm_bindgen(js_name = scanBytes)]
pub fn scan_bytes(bytes: &[u8], options: JsValue) -> Result<JsValue, JsError> {
    let options = Options::read(&options)?;
    let mut report = modelsieve_core::scan_bytes(bytes, &options.policy);
    report.path = options.name;
    to_js(&report, options.fail_on)
}

/// One rule of the catalogue, as `rules()` lists it.
#[derive(Serialize)]
struct RuleInfo {
    id: &'static str,
    severity: Severity,
    title: &'static str,
    summary: &'static str,
}

/// The rule catalogue: `[{ id, severity, title, summary }]` in catalogue order, `severity`
/// being the default one.
#[wasm_bindgen]
pub fn rules() -> Result<JsValue, JsError> {
    let rules: Vec<RuleInfo> = Rule::ALL
        .iter()
        .map(|&rule| RuleInfo {
            id: rule.id(),
            severity: rule.default_severity(),
            title: rule.title(),
            summary: rule.summary(),
        })
        .collect();
    serialize(&rules)
}

/// SARIF 2.1.0 for a report document, as `modelsieve scan --format sarif` writes it:
/// `toSarif({ schema_version, files }, { policy? })`. The policy sets the rules' levels.
#[wasm_bindgen(js_name = toSarif)]
pub fn to_sarif(document: JsValue, options: JsValue) -> Result<JsValue, JsError> {
    let options = Options::read(&options)?;
    let document: ReportDocument = serde_wasm_bindgen::from_value(document)
        .map_err(|e| JsError::new(&format!("not a report document: {e}")))?;
    let log = sarif::document(&document.files, &[], &options.policy, Paths::default());
    serialize(&log)
}

/// The package's version (the workspace version, as `modelsieve --version` prints it).
#[wasm_bindgen]
pub fn version() -> String {
    String::from(env!("CARGO_PKG_VERSION"))
}

/// The options every entry point takes.
struct Options {
    policy: Policy,
    size: Option<u64>,
    fail_on: Severity,
    name: String,
}

impl Options {
    /// Reads `{ policy?, size?, failOn?, name? }`; `undefined` or `null` means all defaults.
    fn read(value: &JsValue) -> Result<Options, JsError> {
        let get = |key: &str| -> JsValue {
            if value.is_object() {
                js_sys::Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            }
        };
        let policy = get("policy");
        let policy_text = if policy.is_undefined() || policy.is_null() {
            None
        } else if let Some(text) = policy.as_string() {
            Some(text)
        } else {
            let text = js_sys::JSON::stringify(&policy).map_err(|_| {
                JsError::new("policy must be JSON text or a JSON-compatible object")
            })?;
            Some(String::from(text))
        };
        let size = get("size");
        let size = if size.is_undefined() || size.is_null() {
            None
        } else {
            let number = size
                .as_f64()
                .ok_or_else(|| JsError::new("size must be a number"))?;
            Some(byte_count("size", number).map_err(|e| JsError::new(&e))?)
        };
        let fail_on = get("failOn").as_string();
        let name = get("name").as_string().unwrap_or_default();
        Ok(Options {
            policy: options::policy(policy_text.as_deref()).map_err(|e| JsError::new(&e))?,
            size,
            fail_on: options::fail_on(fail_on.as_deref()).map_err(|e| JsError::new(&e))?,
            name,
        })
    }
}

/// The report as a plain object: the core's JSON plus `failed`.
fn to_js(report: &Report, fail_on: Severity) -> Result<JsValue, JsError> {
    let value = serialize(report)?;
    js_sys::Reflect::set(&value, &"failed".into(), &report.fails(fail_on).into())
        .map_err(|_| JsError::new("cannot set failed on the report"))?;
    Ok(value)
}

/// Serialises as `JSON.parse(serde_json::to_string(value))` would: `null` for `None`, objects
/// for maps, numbers for integers.
fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}
