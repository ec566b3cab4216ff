//! joblib dumps (raw numpy array bytes between opcodes, object arrays as nested pickles) and
//! legacy `torch.save` files (five pickles, then raw storages): real files from
//! `tests/fixtures/generate_joblib.py`, hand-built variants, and the same report from every
//! driver.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use modelsieve_core::{Format, Limits, Policy, Report, Rule, Severity, Verdict, scan_bytes};
use modelsieve_tests::{
    comparable, conformance_dir, fixtures_dir, scan_seeking, scan_seeking_reads, scan_streaming,
};

fn joblib_dir() -> PathBuf {
    fixtures_dir().join("joblib")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Scans `bytes` whole, and asserts every driver and chunking gives the same report.
fn scan(bytes: &[u8]) -> Report {
    let policy = Policy::default();
    let limits = Limits::default();
    let whole = scan_bytes(bytes, &policy);
    let expected = comparable(&whole);
    let seek = scan_seeking(bytes, &policy, limits);
    assert_eq!(comparable(&seek), expected, "seeking driver differs");
    assert!(seek.bytes_read <= bytes.len() as u64);
    for max_read in [1, 2, 5, 13] {
        let short = scan_seeking_reads(bytes, &policy, limits, max_read);
        assert_eq!(comparable(&short), expected, "{max_read}-byte reads differ");
    }
    for chunks in [&[1usize][..], &[2], &[7, 3, 64], &[4096, 1, 13]] {
        let streamed = scan_streaming(bytes, &policy, limits, chunks);
        assert_eq!(comparable(&streamed), expected, "chunks {chunks:?} differ");
    }
    whole
}

fn has(report: &Report, rule: Rule, severity: Severity, evidence: &str) -> bool {
    report.findings.iter().any(|f| {
        f.rule == rule
            && f.severity == severity
            && f.evidence.as_deref().is_some_and(|e| e.contains(evidence))
    })
}

fn files_in(dir: &Path, filter: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&filter))
        .collect();
    files.sort();
    files
}

// ---- Hand-built pickles ---------------------------------------------------------------------

/// BINUNICODE.
fn s(text: &str) -> Vec<u8> {
    let mut v = vec![b'X'];
    v.extend((text.len() as u32).to_le_bytes());
    v.extend(text.as_bytes());
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `numpy.dtype(typestr, False, copy)` given numpy's state `(3, '<', None, None, None, elsize,
/// -1, flags)` by BUILD, as numpy pickles dtypes.
fn dtype(typestr: &str, copy: bool, elsize: i32, flags: u8) -> Vec<u8> {
    let copy: &[u8] = if copy { b"\x88" } else { b"\x89" };
    cat(&[
        b"cnumpy\ndtype\n",
        &s(typestr),
        b"\x89",
        copy,
        b"\x87R(K\x03",
        &s("<"),
        b"NNNJ",
        &elsize.to_le_bytes(),
        b"J\xff\xff\xff\xffK",
        &[flags],
        b"tb",
    ])
}

fn f8() -> Vec<u8> {
    dtype("f8", true, -1, 0)
}

/// A tuple of BININTs.
fn shape(dims: &[i32]) -> Vec<u8> {
    let mut v = vec![b'('];
    for d in dims {
        v.push(b'J');
        v.extend(d.to_le_bytes());
    }
    v.push(b't');
    v
}

/// A `joblib.numpy_pickle.NumpyArrayWrapper` made by NEWOBJ and given `attrs` by BUILD.
fn wrapper(attrs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut v = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(".to_vec();
    for (key, value) in attrs {
        v.extend(s(key));
        v.extend(value);
    }
    v.extend(b"ub");
    v
}

/// The attributes joblib 1.6 writes, with `align` as numpy_array_alignment_bytes (`None`: no key).
fn attrs(dtype: Vec<u8>, dims: &[i32], align: Option<&[u8]>) -> Vec<(&'static str, Vec<u8>)> {
    let mut a = vec![
        ("subclass", b"cnumpy\nndarray\n".to_vec()),
        ("shape", shape(dims)),
        ("order", s("C")),
        ("dtype", dtype),
        ("allow_mmap", b"\x88".to_vec()),
    ];
    if let Some(align) = align {
        a.push(("numpy_array_alignment_bytes", align.to_vec()));
    }
    a
}

/// `posix.system('echo')`, its result left on the stack.
const PAYLOAD: &[u8] = b"cposix\nsystem\n(X\x04\x00\x00\x00echotR";

/// PROTO 2, `body`, POP (the array), the payload, STOP.
fn with_payload_after(body: &[u8]) -> Vec<u8> {
    cat(&[b"\x80\x02", body, b"0", PAYLOAD, b"."])
}

fn dangerous_payload(report: &Report) -> bool {
    has(
        report,
        Rule::PickleDangerousGlobal,
        Severity::Critical,
        "posix.system",
    )
}

// ---- joblib ---------------------------------------------------------------------------------

#[test]
fn real_joblib_dumps_are_clean_in_every_driver() {
    let mut files = files_in(&joblib_dir().join("benign"), |n| n.ends_with(".joblib"));
    files.extend(files_in(
        &fixtures_dir().join("pickle").join("benign"),
        |n| n.ends_with(".joblib"),
    ));
    files.extend(files_in(
        &fixtures_dir().join("containers").join("benign"),
        |n| n.starts_with("joblib_") && n.ends_with(".joblib"),
    ));
    assert!(files.len() >= 10, "joblib fixtures missing: {files:?}");
    for path in files {
        let report = scan(&read(&path));
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            path.display(),
            report.findings
        );
        let compressed = matches!(report.format, Format::Zlib | Format::Gzip);
        assert!(
            report.format == Format::Joblib || compressed,
            "{}: {:?}",
            path.display(),
            report.format
        );
    }
}

#[test]
fn a_payload_after_raw_array_bytes_is_found_and_the_bytes_are_not_read() {
    let bytes = read(&joblib_dir().join("malicious/payload_after_array.joblib"));
    let report = scan(&bytes);
    assert_eq!(report.format, Format::Joblib);
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    // 8000 bytes of float64 data are jumped over (reads of 256 bytes, not the 64 KiB hint).
    let seek = scan_seeking_reads(&bytes, &Policy::default(), Limits::default(), 256);
    assert!(seek.bytes_read < 1000, "read {} bytes", seek.bytes_read);
}

#[test]
fn payloads_after_every_array_layout_are_found() {
    let layouts: Vec<(&str, Vec<u8>)> = vec![
        // joblib >= 1.2: padding-length byte, padding, then the data.
        (
            "aligned",
            cat(&[
                &wrapper(&attrs(f8(), &[3], Some(b"K\x10"))),
                b"\x05",
                &[0xff; 5],
                &[0x40; 24],
            ]),
        ),
        // joblib < 1.2: no alignment attribute, data right after BUILD.
        (
            "pre-1.2",
            cat(&[&wrapper(&attrs(f8(), &[3], None)), &[0x41; 24]]),
        ),
        // A stream without tell(): numpy_array_alignment_bytes is None.
        (
            "alignment None",
            cat(&[&wrapper(&attrs(f8(), &[3], Some(b"N"))), &[0x41; 24]]),
        ),
        // 2-D, uint8, and a 0-d array (one item).
        (
            "2-D",
            cat(&[
                &wrapper(&attrs(dtype("u1", true, -1, 0), &[2, 3], None)),
                &[0x41; 6],
            ]),
        ),
        ("0-d", cat(&[&wrapper(&attrs(f8(), &[], None)), &[0x41; 8]])),
        ("empty", wrapper(&attrs(f8(), &[0, 5], None))),
        // Flexible types take their size from the state: U5 with elsize 20.
        (
            "unicode",
            cat(&[
                &wrapper(&attrs(dtype("U5", true, 20, 8), &[2], None)),
                &[0x41; 40],
            ]),
        ),
        // numpy's shared float64 (no copy=True) ignores the pickled flags: still raw data.
        (
            "shared descriptor",
            cat(&[
                &wrapper(&attrs(dtype("f8", false, -1, 63), &[2], None)),
                &[0x41; 16],
            ]),
        ),
    ];
    for (name, body) in layouts {
        let report = scan(&with_payload_after(&body));
        assert!(dangerous_payload(&report), "{name}: {:#?}", report.findings);
        assert_eq!(report.format, Format::Joblib, "{name}");
        assert_eq!(report.verdict, Verdict::Dangerous, "{name}");
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.rule == Rule::PickleDangerousGlobal),
            "{name}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn object_arrays_are_scanned_as_nested_pickles() {
    for name in [
        "payload_in_object_array.joblib",
        "payload_after_object_array.joblib",
        "flags_claim_objects.joblib",
    ] {
        let report = scan(&read(&joblib_dir().join("malicious").join(name)));
        assert!(dangerous_payload(&report), "{name}: {:#?}", report.findings);
        assert_eq!(report.format, Format::Joblib, "{name}");
    }
    // Hand-built: the outer pickle resumes after the nested STOP with its own memo intact
    // (slot 5, which the nested pickle never wrote).
    let nested = b"\x80\x02]q\x00h\x00a.";
    let body = cat(&[
        b"X\x01\x00\x00\x00kq\x05",
        &wrapper(&attrs(dtype("O8", true, -1, 63), &[1], Some(b"K\x10"))),
        nested,
        b"0h\x050",
    ]);
    let report = scan(&with_payload_after(&body));
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule == Rule::PickleDangerousGlobal),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_broken_or_truncated_array_is_malformed() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "data cut short",
            cat(&[b"\x80\x02", &wrapper(&attrs(f8(), &[3], None)), &[0; 10]]),
        ),
        (
            "no padding byte",
            cat(&[b"\x80\x02", &wrapper(&attrs(f8(), &[3], Some(b"K\x10")))]),
        ),
        (
            "padding cut short",
            cat(&[
                b"\x80\x02",
                &wrapper(&attrs(f8(), &[3], Some(b"K\x10"))),
                b"\x0a\xff",
            ]),
        ),
        (
            "nested pickle cut short",
            cat(&[
                b"\x80\x02",
                &wrapper(&attrs(dtype("O8", true, -1, 63), &[1], None)),
                b"\x80\x02]q\x00",
            ]),
        ),
        (
            "no nested pickle at all",
            cat(&[
                b"\x80\x02",
                &wrapper(&attrs(dtype("O8", true, -1, 63), &[1], None)),
            ]),
        ),
        (
            // A fresh unpickler reads the nested pickle: the outer memo is not its memo.
            "nested pickle reads the outer memo",
            cat(&[
                b"\x80\x02X\x01\x00\x00\x00kq\x05",
                &wrapper(&attrs(dtype("O8", true, -1, 63), &[1], None)),
                b"\x80\x02h\x05.",
                b"0",
                PAYLOAD,
                b".",
            ]),
        ),
        (
            "nested pickle broken",
            cat(&[
                b"\x80\x02",
                &wrapper(&attrs(dtype("O8", true, -1, 63), &[1], None)),
                b"\x80\x02\xff",
                b"0",
                PAYLOAD,
                b".",
            ]),
        ),
    ];
    for (name, bytes) in cases {
        let report = scan(&bytes);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule == Rule::PickleMalformed),
            "{name}: {:#?}",
            report.findings
        );
        // joblib.load raises at the break: nothing after it is judged as running.
        assert!(!dangerous_payload(&report), "{name}");
    }
}

#[test]
fn wrappers_that_cannot_be_delimited_are_reported() {
    let unknown_dtype = dtype("<f8", true, -1, 0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "shape not literal",
            wrapper(&attrs(f8(), &[], None)).replace_shape(b"N"),
        ),
        (
            "dtype not numpy.dtype",
            wrapper(&attrs(s("f8"), &[3], None)),
        ),
        (
            "typestring numpy never writes",
            wrapper(&attrs(unknown_dtype, &[3], None)),
        ),
        ("no dtype", wrapper(&[("shape", shape(&[3]))])),
        ("negative size", wrapper(&attrs(f8(), &[-1], None))),
        (
            "shape overflows int64",
            wrapper(&attrs(f8(), &[i32::MAX, i32::MAX, i32::MAX], None)),
        ),
        (
            "made by calling the class",
            cat(&[
                b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\n",
                &shape(&[3]),
                &s("C"),
                &f8(),
                b"tR}b",
            ]),
        ),
        (
            "alignment unknown",
            wrapper(&attrs(f8(), &[3], Some(b"cbuiltins\nlen\n)R"))),
        ),
        ("BUILD inside a frame", {
            let w = wrapper(&attrs(f8(), &[3], None));
            let len = (w.len() + 1) as u64;
            cat(&[b"\x95", &len.to_le_bytes(), &w, b"0"])
        }),
    ];
    for (name, body) in cases {
        let report = scan(&cat(&[b"\x80\x02", &body, b"0N."]));
        assert!(
            has(&report, Rule::JoblibUnreadableArray, Severity::Medium, ""),
            "{name}: {:#?}",
            report.findings
        );
        assert_ne!(report.format, Format::Joblib, "{name}");
    }
    // Raw bytes read as object pointers.
    let report = scan(&read(
        &joblib_dir().join("malicious/object_flag_cleared.joblib"),
    ));
    assert!(
        has(
            &report,
            Rule::JoblibUnreadableArray,
            Severity::High,
            "object"
        ),
        "{:#?}",
        report.findings
    );
}

/// A finding of the plain view: what `pickle.load` runs where joblib reads array data.
fn plain_load_runs_payload(report: &Report) -> bool {
    report.findings.iter().any(|f| {
        f.rule == Rule::PickleDangerousGlobal
            && f.severity == Severity::Critical
            && f.evidence.as_deref() == Some("posix.system")
            && f.message.contains("pickle.load")
    })
}

#[test]
fn array_bytes_are_also_read_the_way_pickle_load_reads_them() {
    let report = scan(&read(
        &joblib_dir().join("malicious/pickle_load_view.joblib"),
    ));
    assert!(plain_load_runs_payload(&report), "{:#?}", report.findings);
    // Array bytes that do not start like a pickle: None, POP, then the payload.
    let region = cat(&[b"N0", PAYLOAD, b"."]);
    let len = i32::try_from(region.len()).unwrap();
    let body = cat(&[
        &wrapper(&attrs(dtype("u1", true, -1, 0), &[len], None)),
        &region,
    ]);
    let report = scan(&cat(&[b"\x80\x02", &body, b"0N."]));
    assert!(plain_load_runs_payload(&report), "{:#?}", report.findings);
    assert_eq!(report.format, Format::Joblib);
    // A padding-length byte that is an opcode: `c` (99) starts a GLOBAL for pickle.load, and
    // the padding holds the rest of it and the call.
    let view: &[u8] = b"posix\nsystem\n(X\x04\x00\x00\x00echotR.";
    let body = cat(&[
        &wrapper(&attrs(f8(), &[0], Some(b"K\x10"))),
        b"c",
        view,
        &vec![0; 99 - view.len()],
    ]);
    let report = scan(&cat(&[b"\x80\x02", &body, b"0N."]));
    assert!(plain_load_runs_payload(&report), "{:#?}", report.findings);
    // Only the first array parts the loaders: a plain load has failed or moved on by the
    // second, so its bytes are nothing to it.
    let body = cat(&[
        &wrapper(&attrs(f8(), &[1], Some(b"K\x10"))),
        b"\x07",
        &[0xff; 7],
        &[0; 8],
        b"0",
        &wrapper(&attrs(dtype("u1", true, -1, 0), &[len], None)),
        &region,
    ]);
    let report = scan(&cat(&[b"\x80\x02", &body, b"0N."]));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

/// Replaces the shape attribute's value of a hand-built wrapper.
trait ReplaceShape {
    fn replace_shape(self, value: &[u8]) -> Vec<u8>;
}

impl ReplaceShape for Vec<u8> {
    fn replace_shape(self, value: &[u8]) -> Vec<u8> {
        let key = s("shape");
        let at = self
            .windows(key.len())
            .position(|w| w == key.as_slice())
            .unwrap()
            + key.len();
        let end = at + self[at..].iter().position(|&b| b == b't').unwrap() + 1;
        cat(&[&self[..at], value, &self[end..]])
    }
}

// ---- Legacy torch ---------------------------------------------------------------------------

/// `pickle.dumps(x, protocol=2)` of the magic number, 1001 and a small sys_info dict.
fn legacy_head() -> Vec<u8> {
    cat(&[
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.",
        b"\x80\x02M\xe9\x03.",
        b"\x80\x02}q\x00X\x0d\x00\x00\x00little_endianq\x01\x88s.",
    ])
}

#[test]
fn legacy_torch_files_skip_their_storages() {
    let sample = read(&conformance_dir().join("picklescan/tests/data/pytorch_model.bin"));
    let report = scan(&sample);
    assert_eq!(report.format, Format::PytorchLegacy);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // Pickle 5 ends at 8102; the 236 KB of storages after it are not read.
    let seek = scan_seeking(&sample, &Policy::default(), Limits::default());
    assert!(
        seek.bytes_read <= 8102 + 64 * 1024,
        "read {}",
        seek.bytes_read
    );
    let seek = scan_seeking_reads(&sample, &Policy::default(), Limits::default(), 4096);
    assert!(seek.bytes_read <= 8102 + 4096, "read {}", seek.bytes_read);
    for name in ["legacy_torch.pt", "legacy_torch_empty.pt"] {
        let report = scan(&read(&joblib_dir().join("benign").join(name)));
        assert_eq!(report.format, Format::PytorchLegacy, "{name}");
        assert!(report.findings.is_empty(), "{name}: {:#?}", report.findings);
    }
    // Bytes after the key list are storages: a pickle there is never unpickled by torch.
    let bytes = cat(&[
        &legacy_head(),
        b"\x80\x02N.",
        b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a.",
        b"\x01\x00\x00\x00\x00\x00\x00\x00",
        b"\x80\x02",
        PAYLOAD,
        b".",
    ]);
    let report = scan(&bytes);
    assert_eq!(report.format, Format::PytorchLegacy);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn every_legacy_pickle_is_still_scanned() {
    // A payload in the fifth pickle (the storage keys).
    let report = scan(&read(
        &joblib_dir().join("malicious/legacy_payload_in_keys.pt"),
    ));
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    assert_eq!(report.format, Format::PytorchLegacy);
    // In the fourth (the object).
    let bytes = cat(&[
        &legacy_head(),
        b"\x80\x02",
        PAYLOAD,
        b".",
        b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a.",
        &[0; 16],
    ]);
    let report = scan(&bytes);
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    assert_eq!(report.format, Format::PytorchLegacy);
}

#[test]
fn without_the_literal_magic_or_the_key_list_every_pickle_is_read() {
    // picklescan's bypass: the magic made by eval, a payload in pickle 5.
    let bypass = read(&conformance_dir().join("picklescan/tests/data/pytorch_magic_bypass.pt"));
    let report = scan(&bypass);
    assert_eq!(report.format, Format::Pickle);
    assert!(has(
        &report,
        Rule::PickleDangerousGlobal,
        Severity::Critical,
        "eval"
    ));
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    // A fifth pickle that is not a list of strings: a sixth pickle is still scanned.
    let bytes = cat(&[
        &legacy_head(),
        b"\x80\x02N.",
        b"\x80\x02K\x01.",
        b"\x80\x02",
        PAYLOAD,
        b".",
    ]);
    let report = scan(&bytes);
    assert_eq!(report.format, Format::Pickle);
    assert!(dangerous_payload(&report), "{:#?}", report.findings);
    // A first pickle that returns another number, or makes two big integers.
    for first in [
        &b"\x80\x02\x8a\x0a\x6d\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."[..],
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x190\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
    ] {
        let bytes = cat(&[
            first,
            &legacy_head()[15..],
            b"\x80\x02N.",
            b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a.",
            b"\x80\x02",
            PAYLOAD,
            b".",
        ]);
        let report = scan(&bytes);
        assert_eq!(report.format, Format::Pickle);
        assert!(dangerous_payload(&report), "{:#?}", report.findings);
    }
}
