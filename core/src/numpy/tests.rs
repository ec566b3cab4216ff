//! Tests of the `.npy` reader through the public scanner, in every driver.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::test_drivers::{same_everywhere, scan, seeking};
use crate::{Finding, Format, Report, Rule, Severity, Verdict};

/// `pickle.dumps` of `os.system('id')`, protocol 2, written by hand.
const OS_SYSTEM: &[u8] = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";

/// A header dict as numpy writes it.
fn dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}")
}

/// A `.npy` file of `version` with `header` padded as numpy pads it (spaces and a newline up
/// to a multiple of 64 bytes), then `data`.
fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let prefix = if version == 1 { 10 } else { 12 };
    let mut text = Vec::from(header.as_bytes());
    let unpadded = prefix + text.len() + 1;
    text.resize(text.len() + (64 - unpadded % 64) % 64, b' ');
    text.push(b'\n');
    npy_exact(version, &text, data)
}

/// A `.npy` file with exactly `header` as its header bytes.
fn npy_exact(version: u8, header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::from(&b"\x93NUMPY"[..]);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out
}

fn rules(report: &Report) -> Vec<Rule> {
    report.findings.iter().map(|f| f.rule).collect()
}

fn only(report: &Report, rule: Rule) -> &Finding {
    let found: Vec<&Finding> = report.findings.iter().filter(|f| f.rule == rule).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {rule}: {:#?}",
        report.findings
    );
    found[0]
}

/// The one `numpy.malformed-header` finding of `header`, whose message must mention `words`.
fn malformed(version: u8, header: &str, data: &[u8], words: &str) -> Finding {
    let report = same_everywhere(&npy(version, header, data));
    let f = only(&report, Rule::NumpyMalformedHeader).clone();
    assert!(
        f.message.contains(words),
        "{header}: message {:?} lacks {words:?}",
        f.message
    );
    f
}

#[test]
fn numeric_arrays_of_every_version_are_clean() {
    let data = [0u8; 24];
    for version in [1, 2, 3] {
        let file = npy(version, &dict("'<f8'", "(3,)"), &data);
        let report = same_everywhere(&file);
        assert_eq!(report.format, Format::Npy);
        assert_eq!(report.verdict, Verdict::Clean);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }
    // What numpy 2.4 writes for np.zeros((2, 3), dtype='<U10') (format 1.0, 128-byte header).
    let header = format!(
        "{:<117}\n",
        "{'descr': '<U10', 'fortran_order': False, 'shape': (2, 3), }"
    );
    let file = npy_exact(1, header.as_bytes(), &[0u8; 240]);
    assert_eq!(file.len(), 128 + 240);
    assert!(same_everywhere(&file).findings.is_empty());
}

#[test]
fn format_3_headers_are_utf8() {
    let header = dict("[('\u{e9}t\u{e9}', '<f4'), ('b', '|b1', (2, 3))]", "(2,)");
    let report = same_everywhere(&npy(3, &header, &[0u8; 20]));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // The same bytes read as latin-1 in format 1.0 are still a valid header.
    assert!(
        same_everywhere(&npy(1, &header, &[0u8; 20]))
            .findings
            .is_empty()
    );
    // Invalid UTF-8 fails numpy's decode in 3.0 only.
    let mut bad =
        Vec::from(&b"{'descr': [('\xe9', '<f4')], 'fortran_order': False, 'shape': (1,)}"[..]);
    bad.push(b'\n');
    let f = only(
        &scan(&npy_exact(3, &bad, &[0; 4])),
        Rule::NumpyMalformedHeader,
    )
    .clone();
    assert!(f.message.contains("not valid UTF-8"), "{}", f.message);
    assert!(scan(&npy_exact(1, &bad, &[0; 4])).findings.is_empty());
}

#[test]
fn numeric_data_is_never_read_by_a_seeking_driver() {
    let data = vec![0u8; 4 << 20];
    let file = npy(1, &dict("'<f4'", "(1024, 1024)"), &data);
    let report = seeking(&file, 64);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // The sniffer's 512 bytes hold the whole 128-byte header; nothing after them is read.
    assert_eq!(report.bytes_read, 512);
    assert!(seeking(&file, usize::MAX).bytes_read <= 64 * 1024);
}

#[test]
fn object_arrays_are_scanned_as_pickles() {
    for descr in [
        "'|O'",
        "'O'",
        "'object'",
        "'<O8'",
        "'T'",
        "[('a', '<i4'), ('b', '|O')]",
        "[('a', [('b', '<f4'), ('c', 'O', (2,))])]",
        "('O', (2,))",
        "'i4,O'",
        "['xO']",
    ] {
        let file = npy(1, &dict(descr, "(1,)"), OS_SYSTEM);
        let report = same_everywhere(&file);
        assert_eq!(report.verdict, Verdict::Dangerous, "{descr}");
        let f = only(&report, Rule::PickleDangerousGlobal);
        assert_eq!(f.member.as_deref(), Some("#pickle@128"), "{descr}");
        assert!(
            f.offset.is_some_and(|o| o < OS_SYSTEM.len() as u64),
            "offsets are relative to the data: {descr}"
        );
        assert!(
            !rules(&report).contains(&Rule::NumpyMalformedHeader),
            "{descr}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn object_array_data_must_be_a_pickle() {
    let report = same_everywhere(&npy(1, &dict("'|O'", "(1,)"), b"not a pickle at all"));
    let f = only(&report, Rule::PickleMalformed);
    assert_eq!(f.offset, Some(128));
    let empty = same_everywhere(&npy(1, &dict("'|O'", "(1,)"), b""));
    assert!(
        only(&empty, Rule::PickleMalformed)
            .message
            .contains("there are none")
    );
}

#[test]
fn numeric_data_length_is_checked() {
    let header = dict("'<i2'", "(2, 5)");
    let short = malformed(1, &header, &[0; 19], "need 20 bytes");
    assert_eq!(short.severity, Severity::Medium);
    assert_eq!(
        short.offset,
        Some(128),
        "the data starts after the 128-byte header"
    );
    let trailing = malformed(1, &header, &[0; 25], "numpy.load ignores them");
    assert_eq!(trailing.severity, Severity::Low);
    assert_eq!(
        trailing.offset,
        Some(148),
        "the trailing bytes start after the data"
    );
    assert!(
        same_everywhere(&npy(1, &header, &[0; 20]))
            .findings
            .is_empty()
    );
    // Empty arrays and zero-size items need no data.
    assert!(
        same_everywhere(&npy(1, &dict("'<f8'", "(0, 5)"), b""))
            .findings
            .is_empty()
    );
    assert!(
        same_everywhere(&npy(1, &dict("'S0'", "(7,)"), b""))
            .findings
            .is_empty()
    );
    // A subarray descr works only while there are no items to reshape.
    assert!(
        same_everywhere(&npy(1, &dict("'(2,3)f4'", "(0,)"), b""))
            .findings
            .is_empty()
    );
    // A scalar: shape () is one item.
    assert!(
        same_everywhere(&npy(1, &dict("'<c16'", "()"), &[0; 16]))
            .findings
            .is_empty()
    );
    assert!(
        same_everywhere(&npy(1, &dict("'<M8[ns]'", "(2,)"), &[0; 16]))
            .findings
            .is_empty()
    );
    assert!(
        same_everywhere(&npy(
            1,
            &dict("[('a', '<f4'), ('', '|V4'), ('b', '<U3', (2,))]", "(1,)"),
            &[0; 32]
        ))
        .findings
        .is_empty()
    );
}

#[test]
fn bad_versions_and_truncated_preambles() {
    let mut file = npy(1, &dict("'<f8'", "()"), &[0; 8]);
    file[6] = 4;
    malformed(1, "", b"", "not a Python literal");
    let report = same_everywhere(&file);
    assert_eq!(
        only(&report, Rule::NumpyMalformedHeader)
            .evidence
            .as_deref(),
        Some("version 4.0")
    );
    file[6] = 1;
    file[7] = 1;
    assert!(
        only(&same_everywhere(&file), Rule::NumpyMalformedHeader)
            .message
            .contains("version is 1.1")
    );
    for len in [6, 8, 9] {
        let report = same_everywhere(&file[..len]);
        assert_eq!(report.format, Format::Npy);
        assert_eq!(rules(&report), [Rule::NumpyMalformedHeader], "{len}");
    }
}

#[test]
fn header_longer_than_the_file() {
    let file = npy(2, &dict("'<f8'", "()"), &[0; 8]);
    let report = same_everywhere(&file[..60]);
    let f = only(&report, Rule::NumpyMalformedHeader);
    assert!(
        f.message.contains("inside the .npy header"),
        "{}",
        f.message
    );
    // A length field far past the end.
    let mut file = npy_exact(2, b"{}", b"");
    file[8..12].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let report = same_everywhere(&file);
    assert!(rules(&report).contains(&Rule::ScanLimitReached));
    assert!(
        only(&report, Rule::NumpyMalformedHeader)
            .message
            .contains("inside the .npy header")
    );
}

#[test]
fn malformed_headers_say_what_is_wrong() {
    malformed(1, "[1, 2]", b"", "is a list, not a dict");
    malformed(
        1,
        "{'descr': '<f8', 'fortran_order': False}",
        b"",
        "lacks 'shape'",
    );
    malformed(
        1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}",
        &[0; 8],
        "has the extra key(s) 'x'",
    );
    malformed(
        1,
        "{b'descr': '<f8', 'fortran_order': False, 'shape': ()}",
        &[0; 8],
        "lacks 'descr'",
    );
    malformed(
        1,
        &dict("'<f8'", "[3]"),
        &[0; 24],
        "shape must be a tuple of ints, not list",
    );
    malformed(1, &dict("'<f8'", "(3.0,)"), &[0; 24], "not an int");
    malformed(
        1,
        "{'descr': '<f8', 'fortran_order': 0, 'shape': ()}",
        &[0; 8],
        "fortran_order must be True or False",
    );
    malformed(1, &dict("'<i3'", "(1,)"), &[0; 3], "not a size numpy has");
    malformed(1, &dict("'<M8[s/0]'", "(1,)"), &[0; 8], "crashes numpy");
    malformed(
        1,
        &dict("[('a', '<f4'), ('a', '<f8')]", "(1,)"),
        &[0; 12],
        "used twice",
    );
    malformed(1, &dict("'<f8'", "(-1,)"), &[0; 8], "negative dimension");
    malformed(
        1,
        &dict("'<f8'", "(True, 3)"),
        &[0; 24],
        "shape holds a bool",
    );
    malformed(
        1,
        &dict("'3i4'", "(2,)"),
        &[0; 24],
        "subarray of 3 elements",
    );
    malformed(1, &dict("'object0'", "(1,)"), &[0; 8], "numpy 2.0 removed");
    malformed(
        1,
        &dict("'<f8'", "(4294967296, 4294967296)"),
        b"",
        "more items than an int64",
    );
    malformed(
        1,
        &dict("'<f8'", "(9223372036854775807,)"),
        b"",
        "more bytes than any file",
    );
}

#[test]
fn python2_longs_only_in_old_formats() {
    assert!(
        same_everywhere(&npy(1, &dict("'<f8'", "(3L, 1 L)"), &[0; 24]))
            .findings
            .is_empty()
    );
    assert!(
        same_everywhere(&npy(2, &dict("'<f8'", "(3L,)"), &[0; 24]))
            .findings
            .is_empty()
    );
    malformed(
        3,
        &dict("'<f8'", "(3L,)"),
        &[0; 24],
        "invalid number literal",
    );
}

#[test]
fn syntax_errors_stop_numpy() {
    for header in [
        "{'descr': '<f8',, 'fortran_order': False, 'shape': ()}",
        "{'descr': '<f8' 'fortran_order': False, 'shape': ()}",
        "{'descr': \"<f8', 'fortran_order': False, 'shape': ()}",
        "{'descr': f'<f8', 'fortran_order': False, 'shape': ()}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (07,)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), **{}}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': ()} x",
    ] {
        let report = same_everywhere(&npy(1, header, OS_SYSTEM));
        assert_eq!(rules(&report), [Rule::NumpyMalformedHeader], "{header}");
        assert!(
            report.findings[0].message.contains("not a Python literal"),
            "{header}"
        );
    }
    let mut with_nul = Vec::from(dict("'<f8'", "()").as_bytes());
    with_nul.insert(12, 0);
    let report = scan(&npy_exact(1, &with_nul, &[0; 8]));
    assert!(
        only(&report, Rule::NumpyMalformedHeader)
            .message
            .contains("NUL")
    );
}

#[test]
fn python_literal_spellings_numpy_accepts() {
    for header in [
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3,)}",
        "{'descr': '<' 'f8', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': u'<f8', 'fortran_order': False, 'shape': (0x3,)}",
        "{'descr': r'<f8', # comment\n 'fortran_order': False, 'shape': ((3),)}",
        "{'descr': '''<f8''', 'fortran_order': False, 'shape': (+3,),}",
        "{'descr': '\\x3cf8', 'fortran_order': False, 'shape': (1_0_0 - 97,)}",
        "{'shape': (3,), 'fortran_order': True, 'descr': '<\\\nf8'}",
    ] {
        let report = same_everywhere(&npy(1, header, &[0; 24]));
        let expect_unsupported = header.contains(" - ");
        assert_eq!(
            rules(&report).contains(&Rule::NumpyMalformedHeader),
            expect_unsupported,
            "{header}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn duplicate_keys_take_the_last_value() {
    // A reader that takes the first descr sees floats; numpy sees objects and unpickles.
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}";
    let report = same_everywhere(&npy(1, header, OS_SYSTEM));
    let f = only(&report, Rule::NumpyMalformedHeader);
    assert!(f.message.contains("more than once"), "{}", f.message);
    assert_eq!(f.evidence.as_deref(), Some("descr"));
    assert!(rules(&report).contains(&Rule::PickleDangerousGlobal));
    // Given three times: one finding, naming the first and the last.
    let header =
        "{'descr': '<f8', 'descr': '<i8', 'fortran_order': False, 'descr': '|O', 'shape': ()}";
    let report = same_everywhere(&npy(1, header, OS_SYSTEM));
    let f = only(&report, Rule::NumpyMalformedHeader);
    assert!(f.message.contains("last value ('|O')"), "{}", f.message);
    assert!(f.message.contains("first sees '<f8'"), "{}", f.message);
}

#[test]
fn findings_stay_short_whatever_the_header_holds() {
    // Thousands of extra keys are counted, not listed.
    let extra: String = (0..1000).map(|i| format!("'{i}': 0, ")).collect();
    let header = format!("{{{extra}'descr': '<f8', 'fortran_order': False, 'shape': ()}}");
    let f = malformed(2, &header, &[0; 8], "and 997 more");
    assert!(f.message.len() < 400, "{}", f.message);
    // Control and bidirectional characters from the header are escaped.
    let f = malformed(
        1,
        &dict("'<\\x0c\\u202e8'", "()"),
        &[0; 8],
        "\\x0c\\u{202e}",
    );
    assert!(!f.message.contains('\u{202e}') && !f.message.contains('\x0c'));
}

#[test]
fn unreadable_headers_may_hide_a_pickle() {
    for header in [
        // A type name modelsieve does not know.
        dict("'quaternion128'", "(1,)"),
        // Syntax numpy accepts that the parser does not model.
        dict("'<f8'", "(1+2j,)"),
        dict("'\\N{LATIN SMALL LETTER O}'", "(1,)"),
        dict("{'O': 1}", "(1,)"),
    ] {
        let report = same_everywhere(&npy(1, &header, OS_SYSTEM));
        assert!(
            rules(&report).contains(&Rule::NumpyMalformedHeader),
            "{header}"
        );
        assert!(
            rules(&report).contains(&Rule::PickleDangerousGlobal),
            "{header}"
        );
    }
    // A structure nested past the parser's depth limit.
    let deep = format!("{}'|O'{}", "[('a', ".repeat(40), ")]".repeat(40));
    let report = same_everywhere(&npy(1, &dict(&deep, "(1,)"), OS_SYSTEM));
    assert!(rules(&report).contains(&Rule::ScanLimitReached));
    assert!(rules(&report).contains(&Rule::PickleDangerousGlobal));
}

#[test]
fn object_arrays_ignore_what_numpy_ignores_for_them() {
    // numpy never counts the items of an object array: a negative shape does not stop the
    // pickle, and is not a finding of its own.
    let report = same_everywhere(&npy(1, &dict("'|O'", "(-1,)"), OS_SYSTEM));
    assert_eq!(rules(&report), [Rule::PickleDangerousGlobal]);
    // An invalid header still has its pickle scanned, in case a lenient reader loads it.
    let report = same_everywhere(&npy(
        1,
        "{'descr': '|O', 'fortran_order': 'no', 'shape': (1,)}",
        OS_SYSTEM,
    ));
    assert!(rules(&report).contains(&Rule::NumpyMalformedHeader));
    assert!(rules(&report).contains(&Rule::PickleDangerousGlobal));
}

#[test]
fn long_headers() {
    // Over numpy's 10 000 characters: numpy refuses it by default, unless allow_pickle=True,
    // which object arrays need anyway.
    let pad = " ".repeat(10_100);
    let numeric = same_everywhere(&npy(2, &format!("{}{pad}", dict("'<f8'", "()")), &[0; 8]));
    assert_eq!(
        numeric.verdict,
        Verdict::Clean,
        "numpy writes such headers itself"
    );
    let f = only(&numeric, Rule::NumpyMalformedHeader);
    assert_eq!(f.severity, Severity::Low);
    assert!(f.message.contains("over 10000 characters"));
    let objects = same_everywhere(&npy(2, &format!("{}{pad}", dict("'|O'", "()")), OS_SYSTEM));
    assert_eq!(
        only(&objects, Rule::NumpyMalformedHeader).severity,
        Severity::Low
    );
    assert!(rules(&objects).contains(&Rule::PickleDangerousGlobal));
    // Over modelsieve's own 1 MiB: skipped unread, the data scanned as a possible pickle.
    let huge = format!("{}{}", dict("'<f8'", "()"), " ".repeat(1 << 20));
    let report = scan(&npy(2, &huge, OS_SYSTEM));
    assert!(rules(&report).contains(&Rule::ScanLimitReached));
    assert!(rules(&report).contains(&Rule::PickleDangerousGlobal));
}
