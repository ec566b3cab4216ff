//! gzip and zlib: payloads found through compression, every way of reading agreeing, and the
//! stream's own breakage (CRC, size, truncation, garbage, bombs) reported.

use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};

use crate::report::{Format, Report, Severity, Verdict};
use crate::rules::Rule;
use crate::{Limits, Policy, Scanner, Want, scan_bytes, scan_bytes_with_limits};

/// `pickle.dumps(os.system('id'))` as protocol 0 would write the call.
const PAYLOAD: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

/// A gzip member: header (with FNAME when given), raw deflate, CRC-32 and ISIZE.
fn gzip_member(data: &[u8], name: Option<&[u8]>, level: u8) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    if let Some(name) = name {
        out[3] |= 0x08;
        out.extend_from_slice(name);
        out.push(0);
    }
    out.extend_from_slice(&compress_to_vec(data, level));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_member(data, None, 6)
}

/// Feeds `bytes` in order in pieces of `piece` bytes.
fn in_pieces(bytes: &[u8], piece: usize, limits: Limits) -> Report {
    let mut scanner = Scanner::new(&Policy::default(), limits, Some(bytes.len() as u64));
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        scanner.feed((i * piece) as u64, chunk);
    }
    scanner.finish()
}

/// Reads only what `want()` names, `read` bytes at a time.
fn seeking(bytes: &[u8], read: usize, limits: Limits) -> Report {
    let mut scanner = Scanner::new(&Policy::default(), limits, Some(bytes.len() as u64));
    let mut guard = 0;
    while let Want::Range { offset, len } = scanner.want() {
        guard += 1;
        assert!(guard < 1_000_000, "seeking loop does not end");
        let start = offset as usize;
        let end = (start + (len as usize).min(read)).min(bytes.len());
        scanner.feed(offset, &bytes[start..end]);
    }
    scanner.finish()
}

/// Scans `bytes` whole, byte by byte, in odd pieces and by seeking, asserts that every way
/// gives the same findings, and returns the whole-file report.
fn agree(bytes: &[u8], limits: Limits) -> Report {
    let whole = scan_bytes_with_limits(bytes, &Policy::default(), limits);
    let others = [
        ("byte by byte", in_pieces(bytes, 1, limits)),
        ("pieces of 7", in_pieces(bytes, 7, limits)),
        ("pieces of 4099", in_pieces(bytes, 4099, limits)),
        ("seeking", seeking(bytes, usize::MAX, limits)),
        ("seeking, small reads", seeking(bytes, 5, limits)),
    ];
    for (how, report) in others {
        assert_eq!(report.findings, whole.findings, "{how}");
        assert_eq!(report.format, whole.format, "{how}");
        assert_eq!(report.verdict, whole.verdict, "{how}");
    }
    whole
}

fn has(report: &Report, rule: Rule, evidence: Option<&str>) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.rule == rule && (evidence.is_none() || f.evidence.as_deref() == evidence))
}

fn dangerous_under(report: &Report, member: &str) -> bool {
    report.findings.iter().any(|f| {
        f.rule == Rule::PickleDangerousGlobal
            && f.severity == Severity::Critical
            && f.member.as_deref() == Some(member)
    })
}

#[test]
fn a_payload_inside_gzip_is_found_under_the_gzip_member() {
    let report = agree(&gzip(PAYLOAD), Limits::default());
    assert_eq!(report.format, Format::Gzip);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(dangerous_under(&report, "<gzip>"), "{:#?}", report.findings);
    assert!(!has(&report, Rule::ArchiveMalformed, None));
}

#[test]
fn a_payload_inside_zlib_is_found() {
    let report = agree(&compress_to_vec_zlib(PAYLOAD, 6), Limits::default());
    assert_eq!(report.format, Format::Zlib);
    assert!(dangerous_under(&report, "<zlib>"), "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
}

#[test]
fn a_plain_fname_names_the_member_and_a_path_like_one_does_not() {
    let report = agree(
        &gzip_member(PAYLOAD, Some(b"model.pkl"), 6),
        Limits::default(),
    );
    assert!(
        dangerous_under(&report, "model.pkl"),
        "{:#?}",
        report.findings
    );
    for name in [
        &b"../etc/passwd"[..],
        b"a\\b",
        b"..",
        b"\x01x",
        &[b'a'; 300],
    ] {
        let report = agree(&gzip_member(PAYLOAD, Some(name), 6), Limits::default());
        assert!(dangerous_under(&report, "<gzip>"), "{:#?}", report.findings);
    }
}

#[test]
fn every_header_field_is_parsed_in_any_split() {
    // FEXTRA, FNAME, FCOMMENT and a correct FHCRC.
    let mut header = vec![0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 1, 2, 3, 4, 0, 3];
    header.extend_from_slice(&5u16.to_le_bytes());
    header.extend_from_slice(b"xx\0yy");
    header.extend_from_slice(b"w.pkl\0");
    header.extend_from_slice(b"a comment\0");
    let crc = crc32fast::hash(&header) as u16;
    header.extend_from_slice(&crc.to_le_bytes());
    let mut file = header.clone();
    file.extend_from_slice(&gzip(PAYLOAD)[10..]);
    let report = agree(&file, Limits::default());
    assert!(dangerous_under(&report, "w.pkl"), "{:#?}", report.findings);
    assert!(!has(&report, Rule::ArchiveMalformed, None));

    // A wrong header CRC is a low finding: Python ignores it.
    let at = header.len() - 2;
    file[at] ^= 0xff;
    let report = agree(&file, Limits::default());
    let crc = report
        .findings
        .iter()
        .find(|f| f.evidence.as_deref() == Some("gzip-header-crc"))
        .unwrap();
    assert_eq!(crc.severity, Severity::Low);
    assert!(dangerous_under(&report, "w.pkl"));
}

#[test]
fn concatenated_members_are_one_stream() {
    // The pickle is split across two members: only their concatenation is a pickle.
    let (a, b) = PAYLOAD.split_at(9);
    let mut file = gzip(a);
    file.extend_from_slice(&[0; 7]);
    file.extend_from_slice(&gzip_member(b, None, 0));
    file.extend_from_slice(&[0; 3]);
    let report = agree(&file, Limits::default());
    assert!(dangerous_under(&report, "<gzip>"), "{:#?}", report.findings);
    assert!(!has(&report, Rule::ArchiveMalformed, None));
    assert!(!has(&report, Rule::PickleMalformed, None));

    // zlib streams too, as joblib reads them.
    let mut file = compress_to_vec_zlib(a, 6);
    file.extend_from_slice(&compress_to_vec_zlib(b, 1));
    let report = agree(&file, Limits::default());
    assert!(dangerous_under(&report, "<zlib>"), "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
}

#[test]
fn trailing_garbage_is_malformed_but_zero_padding_is_not() {
    let mut file = gzip(PAYLOAD);
    file.extend_from_slice(&[0, 0, b'x', b'y']);
    let report = agree(&file, Limits::default());
    assert!(has(
        &report,
        Rule::ArchiveMalformed,
        Some("gzip-trailing-garbage")
    ));
    assert!(dangerous_under(&report, "<gzip>"));

    let mut file = compress_to_vec_zlib(PAYLOAD, 6);
    file.extend_from_slice(b"garbage");
    let report = agree(&file, Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("zlib-corrupt")));
    assert!(dangerous_under(&report, "<zlib>"));
}

#[test]
fn crc_and_size_mismatches_are_reported() {
    // Stored blocks make the file longer than the sniffed prefix, so the trailer arrives in
    // different pieces in every reading order.
    let mut data = PAYLOAD.to_vec();
    data.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    let file = gzip_member(&data, None, 0);
    let n = file.len();
    let mut bad_crc = file.clone();
    bad_crc[n - 8] ^= 1;
    let report = agree(&bad_crc, Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("gzip-crc32")));
    assert!(!has(&report, Rule::ArchiveMalformed, Some("gzip-isize")));
    let mut bad_size = file;
    bad_size[n - 4] ^= 1;
    let report = agree(&bad_size, Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("gzip-isize")));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule != Rule::ArchiveMalformed || f.severity == Severity::Medium)
    );
}

#[test]
fn a_truncated_stream_is_malformed_and_what_came_before_is_judged() {
    // Stored blocks: the inflated bytes are available before the stream ends.
    let mut data = PAYLOAD.to_vec();
    data.extend_from_slice(&[b'N'; 2000]);
    let file = gzip_member(&data, None, 0);
    for cut in [file.len() - 3, file.len() - 100, 40, 5] {
        let report = agree(&file[..cut], Limits::default());
        assert!(
            has(&report, Rule::ArchiveMalformed, Some("gzip-truncated")),
            "cut at {cut}: {:#?}",
            report.findings
        );
        if cut > 40 {
            assert!(dangerous_under(&report, "<gzip>"), "cut at {cut}");
        }
    }
    let zlib = compress_to_vec_zlib(&data, 0);
    let report = agree(&zlib[..zlib.len() - 2], Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("zlib-truncated")));
    assert!(dangerous_under(&report, "<zlib>"));
}

#[test]
fn corrupt_deflate_and_wrong_method_are_malformed() {
    let mut file = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    file.extend_from_slice(&[0xff; 64]);
    let report = agree(&file, Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("gzip-corrupt")));
    let mut file = gzip(PAYLOAD);
    file[2] = 7;
    let report = agree(&file, Limits::default());
    assert!(has(&report, Rule::ArchiveMalformed, Some("gzip-method")));
    assert_eq!(report.format, Format::Gzip);
}

/// A pickle of one `len`-byte bytes object: its child reads it to the end.
fn long_bytes_pickle(len: usize) -> Vec<u8> {
    let mut data = b"\x80\x03B".to_vec();
    data.extend_from_slice(&(len as u32).to_le_bytes());
    data.extend_from_slice(&vec![b'N'; len]);
    data.push(b'.');
    data
}

#[test]
fn a_bomb_stops_at_the_budget() {
    let limits = Limits {
        max_inflated_bytes: 256 << 10,
        ..Limits::default()
    };
    let file = gzip(&long_bytes_pickle(1 << 20));
    let report = agree(&file, limits);
    let bomb = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::ArchiveDecompressionBomb)
        .expect("bomb finding");
    assert_eq!(bomb.member, None);
    // The same stream within the budget is clean.
    let report = scan_bytes(&file, &Policy::default());
    assert!(!has(&report, Rule::ArchiveDecompressionBomb, None));
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);

    // A stream of exactly the budget is not a bomb; one byte more is.
    let exact = long_bytes_pickle((256 << 10) - 8);
    assert_eq!(exact.len(), 256 << 10);
    let report = agree(&gzip(&exact), limits);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let over = long_bytes_pickle((256 << 10) - 7);
    let report = agree(&gzip(&over), limits);
    assert!(has(&report, Rule::ArchiveDecompressionBomb, None));
}

#[test]
fn inflation_stops_once_the_child_needs_nothing_more() {
    // Four megabytes that no reader recognises: the child gives up after sniffing, and a
    // seeking driver reads a few kilobytes of a compressed stream of about four kilobytes.
    let data: Vec<u8> = (0..4u32 << 20).map(|i| (i % 2) as u8).collect();
    let file = gzip(&data);
    // Far below the data's size: stopping early means the budget is never reached.
    let limits = Limits {
        max_inflated_bytes: 1 << 20,
        ..Limits::default()
    };
    let report = agree(&file, limits);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let read = seeking(&file, 512, limits).bytes_read;
    assert!(read < 4096, "read {read} of {}", file.len());
}
