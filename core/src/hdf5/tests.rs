//! Unit tests of the HDF5 reader: the strings it extracts (checked directly, since judging
//! them is the Keras module's work), the findings on broken files, and agreement between
//! drivers.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::Hdf5Reader;
use super::attribute::Interest;
use crate::findings::Findings;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::reader::Reader;
use crate::report::{Finding, Format};
use crate::scanner::Input;

/// What one run of the reader gave.
#[derive(Debug, PartialEq)]
struct Outcome {
    texts: Vec<(Interest, Option<u64>, Vec<u8>)>,
    keras_version: Option<String>,
    backend: Option<String>,
    findings: Vec<Finding>,
    format: Format,
}

/// How bytes reach the reader.
#[derive(Debug, Clone, Copy)]
enum Driver {
    /// All bytes at once, then whatever it asks for (as `scan_bytes` does).
    Whole,
    /// In order, in pieces of this size.
    Stream(usize),
    /// What it asks for, at most this many bytes at a time.
    Seek(usize),
}

/// Runs the reader with a window of `window` bytes.
fn run_with(bytes: &[u8], driver: Driver, window: u64) -> Outcome {
    let input = Input {
        size: Some(bytes.len() as u64),
        depth: 0,
        limits: Limits::default(),
    };
    let mut reader = Box::new(Hdf5Reader::with_window(input, window));
    let mut findings = Findings::new(Policy::default(), 1000);
    let len = bytes.len() as u64;
    match driver {
        Driver::Whole => {
            reader.feed(0, bytes, &mut findings).unwrap();
            let mut last = None;
            while let Some(w) = reader.wanted().filter(|&w| w < len && last != Some(w)) {
                last = Some(w);
                reader.feed(w, &bytes[w as usize..], &mut findings).unwrap();
            }
        }
        Driver::Stream(n) => {
            for (i, piece) in bytes.chunks(n).enumerate() {
                reader.feed((i * n) as u64, piece, &mut findings).unwrap();
            }
        }
        Driver::Seek(n) => {
            let mut rounds = 0;
            while let Some(w) = reader.wanted().filter(|&w| w < len) {
                let end = (w as usize + n).min(bytes.len());
                reader
                    .feed(w, &bytes[w as usize..end], &mut findings)
                    .unwrap();
                rounds += 1;
                assert!(rounds < 10_000_000, "wanted() does not advance");
            }
        }
    }
    let texts = core::mem::take(&mut reader.walk.found.texts);
    let keras_version = reader.walk.found.keras_version.clone();
    let backend = reader.walk.found.backend.clone();
    let finished = reader.finish(len, &mut findings);
    Outcome {
        texts,
        keras_version,
        backend,
        findings: findings.into_vec(),
        format: finished.format,
    }
}

/// Runs every driver and requires one outcome.
fn read(bytes: &[u8]) -> Outcome {
    read_with(bytes, super::regions::WINDOW)
}

/// Runs every driver with a window of `window` bytes and requires one outcome.
fn read_with(bytes: &[u8], window: u64) -> Outcome {
    let whole = run_with(bytes, Driver::Whole, window);
    for driver in [
        Driver::Stream(1),
        Driver::Stream(7),
        Driver::Stream(4096),
        Driver::Seek(5),
        Driver::Seek(65536),
    ] {
        assert_eq!(
            run_with(bytes, driver, window),
            whole,
            "{driver:?} differs (window {window})"
        );
    }
    whole
}

/// The texts found for one attribute.
fn texts(outcome: &Outcome, interest: Interest) -> Vec<&[u8]> {
    outcome
        .texts
        .iter()
        .filter(|(i, _, _)| *i == interest)
        .map(|(_, _, t)| t.as_slice())
        .collect()
}

/// The one text found for an attribute.
fn text(outcome: &Outcome, interest: Interest) -> &[u8] {
    let found = texts(outcome, interest);
    assert_eq!(found.len(), 1, "{interest:?}: {found:?}");
    found[0]
}

/// Whether some finding has this evidence.
fn has(outcome: &Outcome, evidence: &str) -> bool {
    outcome
        .findings
        .iter()
        .any(|f| f.evidence.as_deref() == Some(evidence))
}

/// Findings other than the Keras module's (judging configs is not this reader's work).
fn hdf5_findings(outcome: &Outcome) -> Vec<&Finding> {
    outcome
        .findings
        .iter()
        .filter(|f| !f.rule.id().starts_with("keras."))
        .collect()
}

/// Every string sits in the file at the offset reported for it.
fn offsets_hold(bytes: &[u8], outcome: &Outcome) {
    for (interest, offset, text) in &outcome.texts {
        if let Some(offset) = offset {
            let at = *offset as usize;
            assert_eq!(
                &bytes[at..at + text.len()],
                text.as_slice(),
                "{interest:?} at {at}"
            );
        }
    }
}

const KERAS_BENIGN: &[u8] = fixture!("keras/benign_sequential.h5");
const KERAS_LAMBDA: &[u8] = fixture!("keras/lambda.h5");

#[test]
fn keras_h5_gives_its_configs_and_versions() {
    let outcome = read(KERAS_BENIGN);
    assert_eq!(outcome.format, Format::KerasH5);
    assert_eq!(outcome.keras_version.as_deref(), Some("3.15.1"));
    assert_eq!(outcome.backend.as_deref(), Some("torch"));
    let config = text(&outcome, Interest::ModelConfig);
    assert!(config.starts_with(br#"{"class_name": "Sequential", "config": {"#));
    assert!(config.ends_with(b"}"));
    assert_eq!(config.len(), 1748);
    let training = text(&outcome, Interest::TrainingConfig);
    assert!(training.starts_with(br#"{"loss": "mse""#));
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
    offsets_hold(KERAS_BENIGN, &outcome);
}

#[test]
fn keras_lambda_config_is_handed_to_the_keras_analysis() {
    let outcome = read(KERAS_LAMBDA);
    assert_eq!(outcome.format, Format::KerasH5);
    let config = text(&outcome, Interest::ModelConfig);
    let config = core::str::from_utf8(config).unwrap();
    assert!(config.contains(r#""class_name": "Lambda""#), "{config}");
    // model.save of an uncompiled model writes no training_config.
    assert!(texts(&outcome, Interest::TrainingConfig).is_empty());
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
    offsets_hold(KERAS_LAMBDA, &outcome);
}

#[test]
fn weights_only_files_are_plain_hdf5() {
    for bytes in [
        &fixture!("keras/benign.weights.h5")[..],
        &fixture!("h5py/weights_only.h5")[..],
    ] {
        let outcome = read(bytes);
        assert_eq!(outcome.format, Format::Hdf5);
        assert!(outcome.texts.is_empty());
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
    }
}

#[test]
fn every_superblock_header_and_string_layout_gives_the_same_config() {
    let reference = read(KERAS_BENIGN);
    let config = text(&reference, Interest::ModelConfig);
    let training = text(&reference, Interest::TrainingConfig);
    let files: [&[u8]; 6] = [
        fixture!("h5py/earliest_vlen.h5"),
        fixture!("h5py/earliest_fixed.h5"),
        fixture!("h5py/v108_vlen.h5"),
        fixture!("h5py/v108_fixed.h5"),
        fixture!("h5py/latest_vlen.h5"),
        fixture!("h5py/latest_fixed.h5"),
    ];
    for (i, bytes) in files.iter().enumerate() {
        let outcome = read(bytes);
        assert_eq!(outcome.format, Format::KerasH5, "file {i}");
        assert_eq!(text(&outcome, Interest::ModelConfig), config, "file {i}");
        assert_eq!(
            text(&outcome, Interest::TrainingConfig),
            training,
            "file {i}"
        );
        assert_eq!(outcome.keras_version.as_deref(), Some("3.15.1"), "file {i}");
        assert!(
            hdf5_findings(&outcome).is_empty(),
            "file {i}: {:?}",
            outcome.findings
        );
        offsets_hold(bytes, &outcome);
    }
}

#[test]
fn small_address_widths_are_read() {
    let lambda = read(KERAS_LAMBDA);
    let config = text(&lambda, Interest::ModelConfig);
    for bytes in [
        &fixture!("h5py/offsets_4.h5")[..],
        &fixture!("h5py/offsets_2.h5")[..],
    ] {
        let outcome = read(bytes);
        assert_eq!(text(&outcome, Interest::ModelConfig), config);
        assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
        offsets_hold(bytes, &outcome);
    }
}

#[test]
fn a_huge_dense_attribute_is_read_through_the_huge_object_tree() {
    let bytes = fixture!("h5py/dense_huge_fixed.h5");
    let outcome = read(bytes);
    let config = text(&outcome, Interest::ModelConfig);
    assert!(config.len() > 65536, "{}", config.len());
    assert!(config.starts_with(br#"{"class_name": "Functional""#));
    assert!(config.ends_with(b"}"));
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
    offsets_hold(bytes, &outcome);
}

#[test]
fn many_dense_attributes_are_read_through_a_two_level_name_index() {
    let bytes = fixture!("h5py/dense_many_attributes.h5");
    let outcome = read(bytes);
    let lambda = read(KERAS_LAMBDA);
    assert_eq!(
        text(&outcome, Interest::ModelConfig),
        text(&lambda, Interest::ModelConfig)
    );
    assert_eq!(texts(&outcome, Interest::TrainingConfig).len(), 1);
    assert_eq!(outcome.keras_version.as_deref(), Some("3.15.1"));
    assert_eq!(outcome.backend.as_deref(), Some("torch"));
    // The 40 other attributes are named, never judged.
    assert_eq!(outcome.texts.len(), 4);
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
    offsets_hold(bytes, &outcome);
}

#[test]
fn a_committed_datatype_is_reported_not_followed() {
    let outcome = read(fixture!("h5py/committed_datatype.h5"));
    assert_eq!(outcome.format, Format::KerasH5);
    assert!(outcome.texts.is_empty());
    assert!(has(&outcome, "unread config"), "{:?}", outcome.findings);
}

#[test]
fn a_pointer_back_past_the_window_is_reported() {
    let outcome = read(fixture!("h5py/backward_pointer.h5"));
    assert_eq!(outcome.format, Format::KerasH5);
    assert!(texts(&outcome, Interest::ModelConfig).is_empty());
    assert!(has(&outcome, "backward pointer"), "{:?}", outcome.findings);
}

#[test]
fn corrupt_files_say_what_is_wrong() {
    let cases: [(&[u8], &[&str]); 6] = [
        (
            fixture!("corrupt/truncated_superblock.h5"),
            &["past end of file"],
        ),
        (
            fixture!("corrupt/continuation_cycle.h5"),
            &["continuation cycle"],
        ),
        (
            fixture!("corrupt/attribute_past_eof.h5"),
            &["past end of file"],
        ),
        (
            fixture!("corrupt/huge_message_size.h5"),
            &["message overruns chunk"],
        ),
        (
            fixture!("corrupt/truncated_keras.h5"),
            &["past end of file", "truncated file"],
        ),
        (fixture!("corrupt/bad_checksum.h5"), &["checksum mismatch"]),
    ];
    for (i, (bytes, evidence)) in cases.iter().enumerate() {
        let outcome = read(bytes);
        for e in *evidence {
            assert!(has(&outcome, e), "case {i}: no {e}: {:?}", outcome.findings);
        }
        for f in hdf5_findings(&outcome) {
            assert_eq!(f.rule, crate::rules::Rule::Hdf5Malformed, "case {i}");
        }
    }
    // The cycle is reported, and what the chunks hold is still judged.
    let cycle = read(fixture!("corrupt/continuation_cycle.h5"));
    let lambda = read(fixture!("h5py/earliest_lambda_fixed.h5"));
    assert_eq!(
        text(&cycle, Interest::ModelConfig),
        text(&lambda, Interest::ModelConfig)
    );
    // A bad checksum is reported, and the content judged anyway.
    let checksum = read(fixture!("corrupt/bad_checksum.h5"));
    assert_eq!(texts(&checksum, Interest::ModelConfig).len(), 1);
}

/// Returns `bytes` with `with` written at `at`.
fn patch(bytes: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::from(bytes);
    out[at..at + with.len()].copy_from_slice(with);
    out
}

const EARLIEST_VLEN: &[u8] = fixture!("h5py/earliest_vlen.h5");

/// Offset of the model_config text in `earliest_vlen.h5` (its global heap object).
fn config_offset(outcome: &Outcome) -> usize {
    outcome
        .texts
        .iter()
        .find(|(i, _, _)| *i == Interest::ModelConfig)
        .and_then(|(_, o, _)| *o)
        .unwrap() as usize
}

#[test]
fn a_nul_ends_a_variable_length_string_as_h5py_reads_it() {
    let plain = read(EARLIEST_VLEN);
    let at = config_offset(&plain);
    let bytes = patch(EARLIEST_VLEN, at + 5, b"\0");
    let outcome = read(&bytes);
    assert_eq!(text(&outcome, Interest::ModelConfig), br#"{"cla"#);
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
}

#[test]
fn a_string_length_that_disagrees_with_its_heap_object_is_reported() {
    let name = EARLIEST_VLEN
        .windows(13)
        .position(|w| w == b"model_config\0")
        .unwrap();
    // Version 1 attribute: name (16), datatype (24), dataspace (8), then the length.
    let bytes = patch(EARLIEST_VLEN, name + 48, &100u32.to_le_bytes());
    let outcome = read(&bytes);
    assert!(
        has(&outcome, "string length mismatch"),
        "{:?}",
        outcome.findings
    );
    // The whole heap object is still judged.
    assert_eq!(text(&outcome, Interest::ModelConfig).len(), 1748);
}

#[test]
fn a_collection_over_the_structure_limit_is_a_limit_finding() {
    // earliest_vlen's collection is at 2048; its size field follows GCOL, version, reserved.
    assert_eq!(&EARLIEST_VLEN[2048..2052], b"GCOL");
    let bytes = patch(EARLIEST_VLEN, 2056, &(40u64 << 20).to_le_bytes());
    let outcome = read(&bytes);
    assert!(
        has(&outcome, "hdf5 structure size"),
        "{:?}",
        outcome.findings
    );
    assert!(
        outcome
            .findings
            .iter()
            .any(|f| f.rule == crate::rules::Rule::ScanLimitReached)
    );
    assert!(outcome.texts.is_empty());
}

#[test]
fn superblocks_modelsieve_does_not_read_are_reported() {
    let signature = super::superblock::SIGNATURE;
    let mut v4 = Vec::from(&signature[..]);
    v4.extend_from_slice(&[4; 24]);
    assert!(has(&read(&v4), "bad superblock"));
    let widths = patch(EARLIEST_VLEN, 13, &[3, 8]);
    assert!(has(&read(&widths), "bad superblock"));
    let only_signature = read(signature);
    assert!(
        has(&only_signature, "past end of file"),
        "{:?}",
        only_signature.findings
    );
    assert_eq!(only_signature.format, Format::Hdf5);
}

#[test]
fn too_many_continuation_chunks_are_a_finding() {
    // Superblock v0 (8-byte widths), the root header at 96 whose first chunk holds 1100
    // continuation messages, each to its own 8-byte chunk holding a NIL message.
    const N: usize = 1100;
    let mut file = Vec::from(&EARLIEST_VLEN[..96]);
    let header = 96usize;
    let chunk0 = N * 24;
    let first_chunk = header + 16 + chunk0;
    file.extend_from_slice(&[1, 0]);
    file.extend_from_slice(&(N as u16).to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&(chunk0 as u32).to_le_bytes());
    file.extend_from_slice(&[0; 4]);
    for i in 0..N {
        file.extend_from_slice(&[0x10, 0, 16, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&((first_chunk + 8 * i) as u64).to_le_bytes());
        file.extend_from_slice(&8u64.to_le_bytes());
    }
    file.extend_from_slice(&vec![0u8; 8 * N]);
    let end = file.len() as u64;
    // The superblock's end-of-file address.
    file[40..48].copy_from_slice(&end.to_le_bytes());
    let outcome = read(&file);
    assert!(
        has(&outcome, "too many continuation chunks"),
        "{:?}",
        outcome.findings
    );
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.findings);
}

#[test]
fn bytes_past_what_is_wanted_are_a_gap() {
    let input = Input {
        size: Some(EARLIEST_VLEN.len() as u64),
        depth: 0,
        limits: Limits::default(),
    };
    let mut reader = Hdf5Reader::new(input);
    let mut findings = Findings::new(Policy::default(), 10);
    assert_eq!(reader.wanted(), Some(0));
    assert!(
        reader
            .feed(100, &EARLIEST_VLEN[100..200], &mut findings)
            .is_err()
    );
}

#[test]
fn lookup3_matches_the_reference_vectors() {
    use super::bytes::lookup3;
    // From the self-test of Bob Jenkins' lookup3.c (hashlittle with initval 0).
    assert_eq!(lookup3(b""), 0xdead_beef);
    assert_eq!(lookup3(b"Four score and seven years ago"), 0x1777_0551);
}

#[test]
fn the_scanner_reports_keras_h5_the_same_in_every_driver() {
    for bytes in [
        KERAS_BENIGN,
        KERAS_LAMBDA,
        fixture!("h5py/dense_many_attributes.h5"),
    ] {
        let report = crate::test_drivers::same_everywhere(bytes);
        assert_eq!(report.format, Format::KerasH5);
    }
    let report = crate::test_drivers::same_everywhere(fixture!("h5py/weights_only.h5"));
    assert_eq!(report.format, Format::Hdf5);
    assert!(report.findings.is_empty());
}

/// Every fixture small enough to run many times.
const FIXTURES: [&[u8]; 22] = [
    fixture!("keras/benign_sequential.h5"),
    fixture!("keras/lambda.h5"),
    fixture!("keras/benign.weights.h5"),
    fixture!("h5py/earliest_vlen.h5"),
    fixture!("h5py/earliest_fixed.h5"),
    fixture!("h5py/v108_vlen.h5"),
    fixture!("h5py/v108_fixed.h5"),
    fixture!("h5py/latest_vlen.h5"),
    fixture!("h5py/latest_fixed.h5"),
    fixture!("h5py/earliest_lambda_fixed.h5"),
    fixture!("h5py/dense_huge_fixed.h5"),
    fixture!("h5py/dense_many_attributes.h5"),
    fixture!("h5py/offsets_4.h5"),
    fixture!("h5py/offsets_2.h5"),
    fixture!("h5py/committed_datatype.h5"),
    fixture!("h5py/weights_only.h5"),
    fixture!("corrupt/truncated_superblock.h5"),
    fixture!("corrupt/continuation_cycle.h5"),
    fixture!("corrupt/attribute_past_eof.h5"),
    fixture!("corrupt/huge_message_size.h5"),
    fixture!("corrupt/truncated_keras.h5"),
    fixture!("corrupt/bad_checksum.h5"),
];

#[test]
fn the_one_pass_rules_give_one_outcome_for_any_window() {
    // With a small window, pointers behind the position are refused: every driver must
    // refuse the same ones. dense_many_attributes.h5 has a leaf before its B-tree root.
    let mut refused = 0;
    for (i, bytes) in FIXTURES.iter().enumerate() {
        for window in [0, 100, 2048, 6000] {
            let outcome = read_with(bytes, window);
            if has(&outcome, "backward pointer") {
                refused += 1;
            }
            let _ = i;
        }
    }
    assert!(
        refused > 0,
        "no fixture needs to look back with a small window"
    );
}

#[test]
fn damaged_fixtures_give_one_outcome_in_every_driver() {
    // A small deterministic mutation run (the fuzz target does this at scale): overwrite a
    // few bytes of each fixture and require every driver to agree, with a full and a small
    // window.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for bytes in FIXTURES {
        for _ in 0..12 {
            let mut damaged = Vec::from(bytes);
            for _ in 0..1 + next() % 4 {
                let at = (next() % damaged.len() as u64) as usize;
                damaged[at] = next() as u8;
            }
            let len = damaged.len();
            let cut = if next() % 4 == 0 {
                len - (next() % len as u64) as usize / 2
            } else {
                len
            };
            damaged.truncate(cut);
            read_with(&damaged, super::regions::WINDOW);
            read_with(&damaged, 512);
        }
    }
}

/// Where a version 1 attribute named `name` starts its name in `earliest_vlen.h5`; its
/// variable-length reference follows the name (16 bytes), datatype (24) and dataspace (8).
fn name_at(name: &[u8]) -> usize {
    EARLIEST_VLEN
        .windows(name.len())
        .position(|w| w == name)
        .unwrap()
}

#[test]
fn every_attribute_named_model_config_is_judged_and_one_text_once() {
    let training = name_at(b"training_config\0");
    let model_ref = name_at(b"model_config\0") + 48;
    // Rename training_config (a 16-byte name field) to model_config: libhdf5 reads names up
    // to their NUL, so the root now has two model_config attributes.
    let renamed = patch(EARLIEST_VLEN, training, b"model_config\0\0\0\0");
    let outcome = read(&renamed);
    assert_eq!(texts(&outcome, Interest::ModelConfig).len(), 2);
    assert!(texts(&outcome, Interest::TrainingConfig).is_empty());
    // Both now name the same heap object: its text is judged once.
    let same = patch(
        &renamed,
        training + 48,
        &EARLIEST_VLEN[model_ref..model_ref + 16],
    );
    let outcome = read(&same);
    assert_eq!(texts(&outcome, Interest::ModelConfig).len(), 1);
    assert!(hdf5_findings(&outcome).is_empty(), "{:?}", outcome.findings);
}
