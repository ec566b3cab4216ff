//! Tests of the safetensors reader through the public scanner, in every driver.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::MAX_HEADER;
use crate::test_drivers::{same_everywhere, seeking};
use crate::{Format, Limits, Policy, Report, Rule, Verdict};

/// A file with exactly `header` as its header, then `data_len` zero bytes.
fn file(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = Vec::from((header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

/// The file is clean in every driver, and a seeking driver reads only the length and header.
fn clean(header: &str, data_len: usize) {
    let bytes = file(header, data_len);
    let report = same_everywhere(&bytes);
    assert_eq!(report.format, Format::Safetensors);
    assert!(
        report.findings.is_empty(),
        "{header}: {:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Clean);
    let seek = seeking(&bytes, usize::MAX);
    // The sniffer's first read may take up to its window; nothing past the header beyond it.
    let header_end = 8 + header.len() as u64;
    assert!(
        seek.bytes_read <= header_end.max(512.min(bytes.len() as u64)),
        "{header}: read {} bytes",
        seek.bytes_read
    );
}

/// The file's findings are all `safetensors.invalid`, and one of them mentions `words`.
fn invalid(bytes: &[u8], words: &str) -> Report {
    let report = same_everywhere(bytes);
    assert_eq!(report.format, Format::Safetensors);
    assert!(!report.findings.is_empty(), "no finding for {words:?}");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule == Rule::SafetensorsInvalid),
        "{:#?}",
        report.findings
    );
    assert!(
        report.findings.iter().any(|f| f.message.contains(words)),
        "no message has {words:?}: {:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Suspicious);
    report
}

#[test]
fn valid_files_are_clean() {
    clean("{}", 0);
    clean("{}      ", 0);
    clean(r#"{"__metadata__":{"format":"pt"}}"#, 0);
    clean(r#"{"__metadata__":null}"#, 0);
    clean(
        r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}}"#,
        32,
    );
    // Listed out of order, a scalar (empty shape), a zero-size tensor.
    clean(
        r#"{"z":{"dtype":"I64","shape":[],"data_offsets":[2,10]},"empty":{"dtype":"F16","shape":[0,5],"data_offsets":[2,2]},"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#,
        10,
    );
    // Sub-byte types count bits.
    clean(
        r#"{"f4":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[3,6]},"e8":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[6,7]},"c":{"dtype":"C64","shape":[1],"data_offsets":[7,15]}}"#,
        15,
    );
}

#[test]
fn a_large_data_section_is_skipped_unread() {
    // Padded past the sniffer's 512-byte window, as a long header would be.
    let header = format!(
        "{:<1000}",
        r#"{"w":{"dtype":"U8","shape":[100000],"data_offsets":[0,100000]}}"#
    );
    let bytes = file(&header, 100_000);
    let report = same_everywhere(&bytes);
    assert!(report.findings.is_empty());
    // Reads of 5 bytes may overshoot the header's end by less than one read.
    assert!((1008..1013).contains(&seeking(&bytes, 5).bytes_read));
    // The driver's first read takes a whole read hint, no more.
    assert_eq!(seeking(&bytes, usize::MAX).bytes_read, 65536);
}

#[test]
fn header_length_problems() {
    // Beyond the file: the seeking driver reads nothing more.
    let mut bytes = file("{}", 0);
    bytes[0] = 200;
    let report = invalid(&bytes, "header runs to offset 208");
    assert_eq!(report.findings.len(), 1);
    assert_eq!(seeking(&bytes, 5).bytes_read, 10);
    // More than the reference reads (a reader-level check: the sniffer passes no such file).
    let mut findings = crate::findings::Findings::new(Policy::default(), 1000);
    let mut reader = super::SafetensorsReader::new(crate::scanner::Input {
        size: None,
        depth: 0,
        limits: Limits::default(),
    });
    let mut long = Vec::from((MAX_HEADER + 1).to_le_bytes());
    long.push(b'{');
    crate::reader::Reader::feed(&mut reader, 0, &long, &mut findings).unwrap();
    assert_eq!(crate::reader::Reader::wanted(&reader), None);
    let found = findings.into_vec();
    assert_eq!(found.len(), 1);
    assert!(found[0].message.contains("more than the 100000000"));
}

#[test]
fn broken_json() {
    invalid(&file("{\"a\":1", 0), "not a JSON object");
    invalid(&file("{}\0\0", 0), "not a JSON object");
    let mut not_utf8 = file("{\"\u{e9}\":1}", 0);
    // A lone continuation byte where `é` started.
    not_utf8[10] = 0xa9;
    invalid(&not_utf8, "not valid UTF-8");
}

#[test]
fn bad_entries() {
    let t = |body: &str, data: usize| file(&format!("{{\"t\":{body}}}"), data);
    invalid(&t("[1]", 0), "tensor \"t\" is an array");
    invalid(
        &t(r#"{"dtype":"F33","shape":[1],"data_offsets":[0,4]}"#, 4),
        "dtype \"F33\"",
    );
    invalid(
        &t(r#"{"dtype":4,"shape":[1],"data_offsets":[0,4]}"#, 4),
        "not a string",
    );
    invalid(
        &t(r#"{"shape":[1],"data_offsets":[0,4]}"#, 4),
        "has no dtype",
    );
    invalid(
        &t(r#"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#, 4),
        "non-negative integers",
    );
    invalid(
        &t(r#"{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}"#, 4),
        "non-negative integers",
    );
    invalid(
        &t(r#"{"dtype":"F32","shape":[1],"data_offsets":[0]}"#, 4),
        "not two non-negative",
    );
    invalid(
        &t(r#"{"dtype":"F32","shape":[0],"data_offsets":[4,0]}"#, 4),
        "begin after they end",
    );
    invalid(
        &t(r#"{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}"#, 20),
        "needs 24 bytes",
    );
    invalid(
        &t(r#"{"dtype":"F4","shape":[3],"data_offsets":[0,2]}"#, 2),
        "not a whole number of bytes",
    );
    invalid(
        &t(
            r#"{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}"#,
            0,
        ),
        "overflows",
    );
    invalid(
        &t(
            r#"{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}"#,
            1,
        ),
        "does not define",
    );
    invalid(
        &t(
            r#"{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}"#,
            1,
        ),
        "gives dtype twice",
    );
}

#[test]
fn bad_layout() {
    let u8s = |a: (u64, u64), b: (u64, u64)| {
        format!(
            r#"{{"a":{{"dtype":"U8","shape":[{}],"data_offsets":[{},{}]}},"b":{{"dtype":"U8","shape":[{}],"data_offsets":[{},{}]}}}}"#,
            a.1 - a.0,
            a.0,
            a.1,
            b.1 - b.0,
            b.0,
            b.1
        )
    };
    invalid(&file(&u8s((0, 4), (2, 6)), 6), "overlaps tensor \"a\"");
    invalid(
        &file(&u8s((0, 4), (5, 6)), 6),
        "no tensor holds data bytes 4 to 5",
    );
    invalid(&file(&u8s((1, 4), (4, 6)), 6), "data bytes 0 to 1");
    invalid(&file(&u8s((0, 4), (4, 6)), 7), "bytes follow them");
    invalid(&file(&u8s((0, 4), (4, 6)), 5), "the file ends before them");
    let dup = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
    invalid(&file(dup, 1), "names \"a\" twice");
}

#[test]
fn bad_metadata() {
    invalid(
        &file(r#"{"__metadata__":{"n":1}}"#, 0),
        "holds a number, not a string",
    );
    invalid(
        &file(r#"{"__metadata__":[]}"#, 0),
        "__metadata__ is an array",
    );
}

#[test]
fn code_in_metadata_is_only_text() {
    // Metadata strings are never evaluated by a loader.
    clean(
        r#"{"__metadata__":{"info":"import os; os.system('echo pwned')"}}"#,
        0,
    );
}

#[test]
fn findings_are_bounded() {
    let mut header = String::from("{");
    for i in 0..100 {
        header.push_str(&format!("\"t{i}\":1,"));
    }
    header.push_str("\"last\":1}");
    let report = invalid(&file(&header, 0), "more problems than the 20");
    assert_eq!(report.findings.len(), 21);
}

#[test]
fn a_name_given_twice_among_many_is_found_once() {
    // Names are checked against a set as they are parsed (comparing every pair took 13
    // minutes on a 200,000-tensor header in a debug build).
    let mut header = String::from("{");
    for i in 0..20_000 {
        let (b, e) = (i * 4, i * 4 + 4);
        header.push_str(&format!(
            "\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[{b},{e}]}},"
        ));
    }
    header.push_str("\"t7\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[80000,80004]}}");
    let report = invalid(&file(&header, 80_004), "names \"t7\" twice");
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
}

#[test]
fn a_pickle_crafted_to_look_like_a_header_is_judged_as_a_pickle() {
    // PROTO 2, then BINUNICODE of 5 bytes whose length fills bytes 3..7 with zeros and whose
    // text puts `{` at offset 8: the first 8 bytes read as a plausible header length (89 MB).
    let mut bytes = b"\x80\x02X\x05\x00\x00\x00\x00{ab}".to_vec();
    bytes.extend_from_slice(b"0cos\nsystem\nX\x02\x00\x00\x00id\x85R.");
    let report = same_everywhere(&bytes);
    assert_eq!(
        report.verdict,
        crate::Verdict::Dangerous,
        "{:#?}",
        report.findings
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::PickleDangerousGlobal),
        "{:#?}",
        report.findings
    );
    // A real header whose length starts with an opcode byte stays safetensors.
    let header = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#;
    let mut padded = String::from(header);
    while padded.len() % 256 != 0x80 {
        padded.push(' ');
    }
    clean(&padded, 2);
}
