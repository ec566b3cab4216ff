//! Zip archives built byte by byte, read whole, in pieces and by seeking.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::report::{Format, Report, Verdict};
use crate::rules::Rule;
use crate::{Limits, Policy, Scanner, Want, scan_bytes, scan_bytes_with_limits};

/// `pickle.dumps` of a call to `os.system('id')`, protocol 2.
const PAYLOAD: &[u8] = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
/// `pickle.dumps({'a': 1}, protocol=2)`.
const BENIGN: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";

/// One member as the test writes it.
#[derive(Clone)]
struct Spec {
    name: Vec<u8>,
    central_name: Option<Vec<u8>>,
    content: Vec<u8>,
    deflate: bool,
    flags: u16,
    descriptor: bool,
    bad_crc: bool,
}

fn member(name: &str, content: &[u8]) -> Spec {
    Spec {
        name: name.as_bytes().to_vec(),
        central_name: None,
        content: content.to_vec(),
        deflate: false,
        flags: 0,
        descriptor: false,
        bad_crc: false,
    }
}

fn u16le(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn u32le(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Writes a zip: local headers and data in order, then the central directory.
fn build(members: &[Spec], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let data = if m.deflate {
            miniz_oxide::deflate::compress_to_vec(&m.content, 6)
        } else {
            m.content.clone()
        };
        let mut crc = crc32fast::hash(&m.content);
        if m.bad_crc {
            crc ^= 1;
        }
        let method: u16 = if m.deflate { 8 } else { 0 };
        let flags = m.flags | if m.descriptor { 8 } else { 0 };
        let (lcrc, lcsize, lsize) = if m.descriptor {
            (0, 0, 0)
        } else {
            (crc, data.len() as u32, m.content.len() as u32)
        };
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&u16le(20));
        out.extend_from_slice(&u16le(flags));
        out.extend_from_slice(&u16le(method));
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&u32le(lcrc));
        out.extend_from_slice(&u32le(lcsize));
        out.extend_from_slice(&u32le(lsize));
        out.extend_from_slice(&u16le(m.name.len() as u16));
        out.extend_from_slice(&u16le(0));
        out.extend_from_slice(&m.name);
        out.extend_from_slice(&data);
        if m.descriptor {
            out.extend_from_slice(b"PK\x07\x08");
            out.extend_from_slice(&u32le(crc));
            out.extend_from_slice(&u32le(data.len() as u32));
            out.extend_from_slice(&u32le(m.content.len() as u32));
        }
        let cname = m.central_name.clone().unwrap_or_else(|| m.name.clone());
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&u16le(20));
        central.extend_from_slice(&u16le(20));
        central.extend_from_slice(&u16le(flags));
        central.extend_from_slice(&u16le(method));
        central.extend_from_slice(&[0; 4]);
        central.extend_from_slice(&u32le(crc));
        central.extend_from_slice(&u32le(data.len() as u32));
        central.extend_from_slice(&u32le(m.content.len() as u32));
        central.extend_from_slice(&u16le(cname.len() as u16));
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&u32le(offset));
        central.extend_from_slice(&cname);
    }
    let directory_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&u16le(members.len() as u16));
    out.extend_from_slice(&u16le(members.len() as u16));
    out.extend_from_slice(&u32le(central.len() as u32));
    out.extend_from_slice(&u32le(directory_offset));
    out.extend_from_slice(&u16le(comment.len() as u16));
    out.extend_from_slice(comment);
    out
}

fn seeking(bytes: &[u8]) -> Report {
    let mut scanner = Scanner::new(
        &Policy::default(),
        Limits::default(),
        Some(bytes.len() as u64),
    );
    let mut guard = 0;
    while let Want::Range { offset, len } = scanner.want() {
        guard += 1;
        assert!(guard < 100_000, "seeking loop does not end");
        let start = offset as usize;
        let end = (start + len as usize).min(bytes.len());
        scanner.feed(offset, &bytes[start..end]);
    }
    scanner.finish()
}

fn in_pieces(bytes: &[u8], piece: usize, size_known: bool) -> Report {
    let size = size_known.then_some(bytes.len() as u64);
    let mut scanner = Scanner::new(&Policy::default(), Limits::default(), size);
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        scanner.feed((i * piece) as u64, chunk);
    }
    scanner.finish()
}

/// Every way of reading gives the same findings.
fn same_everywhere(bytes: &[u8]) -> Report {
    let whole = scan_bytes(bytes, &Policy::default());
    for (name, other) in [
        ("seeking", seeking(bytes)),
        ("bytewise", in_pieces(bytes, 1, true)),
        ("chunks of 7, size unknown", in_pieces(bytes, 7, false)),
        ("chunks of 4096", in_pieces(bytes, 4096, true)),
    ] {
        assert_eq!(other.findings, whole.findings, "{name} differs");
        assert_eq!(other.format, whole.format, "{name} format differs");
    }
    whole
}

fn has(report: &Report, rule: Rule) -> bool {
    report.findings.iter().any(|f| f.rule == rule)
}

#[test]
fn a_benign_pytorch_layout_is_clean_and_names_the_format() {
    let zip = build(
        &[
            member("archive/data.pkl", BENIGN),
            member("archive/data/0", &[0x80u8; 4096]),
            member("archive/version", b"3\n"),
            member("archive/.data/serialization_id", b"1234567890"),
        ],
        b"",
    );
    let report = same_everywhere(&zip);
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);
    assert_eq!(report.format, Format::PytorchZip);
}

#[test]
fn a_keras_archive_names_the_format_and_files_config_findings_under_the_member() {
    let config = br#"{"module": "keras.layers", "class_name": "Lambda", "config": {"function": {"module": "builtins", "class_name": "function", "config": "eval"}}}"#;
    let metadata = br#"{"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}"#;
    for deflate in [false, true] {
        let config = Spec {
            deflate,
            ..member("config.json", config)
        };
        let zip = build(
            &[
                member("metadata.json", metadata),
                config,
                member("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
            ],
            b"",
        );
        let report = same_everywhere(&zip);
        assert_eq!(report.format, Format::Keras);
        let f = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::KerasUnsafeObject)
            .expect("the config's finding");
        assert_eq!(f.member.as_deref(), Some("config.json"));
        assert_eq!(f.evidence.as_deref(), Some("builtins.eval"));
    }
    // JSON in front of the archive: zipfile (and load_model) still opens the archive from
    // its end record, so it is judged.
    let archive = build(
        &[
            member("metadata.json", metadata),
            member("config.json", config),
            member("model.weights.h5", b""),
        ],
        b"",
    );
    for junk in [&b"{\"class_name\": \"x\", "[..], b"{\"a\": 1}\n"] {
        let mut file = junk.to_vec();
        file.extend_from_slice(&archive);
        let report = same_everywhere(&file);
        assert_eq!(report.format, Format::Keras);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule == Rule::KerasUnsafeObject
                    && f.member.as_deref()
                        == Some(&*alloc::format!("#zip@{}/config.json", junk.len()))),
            "{:#?}",
            report.findings
        );
    }
    // Without metadata or weights, a config.json alone is an ordinary zip.
    let zip = build(&[member("config.json", b"{}")], b"");
    assert_eq!(same_everywhere(&zip).format, Format::Zip);
}

#[test]
fn a_payload_is_found_whatever_the_member_is_called_and_however_stored() {
    for (name, deflate, descriptor) in [
        ("data.txt", false, false),
        ("weights/readme.md", true, false),
        ("x/data.pkl", true, true),
        ("y/data.pkl", false, true),
    ] {
        let mut spec = member(name, PAYLOAD);
        spec.deflate = deflate;
        spec.descriptor = descriptor;
        let zip = build(
            &[member("a.txt", b"hello"), spec, member("z.txt", b"bye")],
            b"c",
        );
        let report = same_everywhere(&zip);
        assert_eq!(
            report.verdict,
            Verdict::Dangerous,
            "{name}: {:#?}",
            report.findings
        );
        let f = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::PickleDangerousGlobal)
            .unwrap();
        assert_eq!(f.member.as_deref(), Some(name));
        assert!(
            !has(&report, Rule::ZipLayout),
            "{name}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn header_disagreements_are_findings() {
    let mut renamed = member("datap.kl", PAYLOAD);
    renamed.central_name = Some(b"data.pkl".to_vec());
    let report = same_everywhere(&build(&[renamed], b""));
    assert!(has(&report, Rule::ZipHeaderMismatch));
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::PickleDangerousGlobal)
        .unwrap();
    assert_eq!(
        f.member.as_deref(),
        Some("data.pkl"),
        "filed under the loader's name"
    );

    let mut bad = member("data.pkl", BENIGN);
    bad.bad_crc = true;
    let report = same_everywhere(&build(&[bad], b""));
    assert!(has(&report, Rule::ZipCrcMismatch));
    assert_eq!(report.verdict, Verdict::Suspicious);
}

#[test]
fn flags_names_and_duplicates_are_findings() {
    for (flags, rule) in [
        (0x1, Rule::ZipEncryptedMember),
        (0x40, Rule::ZipEncryptedMember),
        (0x20, Rule::ZipUnusualFlags),
    ] {
        let mut spec = member("m/config.pkl", PAYLOAD);
        spec.flags = flags;
        let report = same_everywhere(&build(&[spec], b""));
        assert!(has(&report, rule), "{flags:#x}");
        assert!(has(&report, Rule::PickleDangerousGlobal), "{flags:#x}");
    }
    for name in ["../../evil.pkl", "/abs/evil.pkl", "dir\\evil.pkl"] {
        let report = same_everywhere(&build(&[member(name, BENIGN)], b""));
        assert!(has(&report, Rule::ArchiveUnsafePath), "{name}");
    }
    let report = same_everywhere(&build(
        &[member("data.pkl", BENIGN), member("data.pkl", PAYLOAD)],
        b"",
    ));
    assert!(has(&report, Rule::ArchiveDuplicateName));
    assert!(has(&report, Rule::PickleDangerousGlobal));
}

#[test]
fn junk_between_members_is_reported() {
    // Junk between two members hides nothing from the in-order read (it resynchronises on the
    // next signature), but the junk itself is reported.
    let mut zip = build(&[member("a.pkl", BENIGN)], b"");
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip.splice(cd..cd, b"junk junk".iter().copied());
    // Fix the directory offset for the inserted bytes.
    let end = zip.len() - 22;
    let dir = u32::from_le_bytes(zip[end + 16..end + 20].try_into().unwrap()) + 9;
    zip[end + 16..end + 20].copy_from_slice(&dir.to_le_bytes());
    let report = same_everywhere(&zip);
    assert!(has(&report, Rule::ZipLayout), "{:#?}", report.findings);
}

#[test]
fn a_member_hidden_in_the_archive_comment_is_still_read() {
    // The comment holds a whole local header and payload; a second central entry points at it.
    // Loaders following the directory open it, so the scanner must too.
    let hidden = build(&[member("evil.pkl", PAYLOAD)], b"");
    let hidden_local = &hidden[..hidden.windows(4).position(|w| w == b"PK\x01\x02").unwrap()];
    let base = build(&[member("a.pkl", BENIGN)], b"");
    let cd = base.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let end = base.len() - 22;
    let entry = hidden[hidden_local.len()..hidden.len() - 22].to_vec();
    let mut out = base[..end].to_vec();
    out.extend_from_slice(&entry);
    let mut eocd = base[end..].to_vec();
    eocd[8..10].copy_from_slice(&2u16.to_le_bytes());
    eocd[10..12].copy_from_slice(&2u16.to_le_bytes());
    eocd[12..16].copy_from_slice(&((end - cd + entry.len()) as u32).to_le_bytes());
    eocd[20..22].copy_from_slice(&(hidden_local.len() as u16).to_le_bytes());
    let hidden_offset = (out.len() + eocd.len()) as u32;
    let at = out.len() - entry.len() + 42;
    out[at..at + 4].copy_from_slice(&hidden_offset.to_le_bytes());
    out.extend_from_slice(&eocd);
    out.extend_from_slice(hidden_local);
    let report = same_everywhere(&out);
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::PickleDangerousGlobal);
    assert_eq!(
        f.and_then(|f| f.member.as_deref()),
        Some("evil.pkl"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn overlapping_members_are_reported_not_inflated_twice() {
    let zip = build(&[member("a.pkl", BENIGN)], b"");
    // A second central entry pointing at the same local header.
    let cd = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let end = zip.len() - 22;
    let entry = zip[cd..end].to_vec();
    let mut twin = entry.clone();
    let name_at = 46;
    twin[name_at] = b'b';
    let mut out = zip[..end].to_vec();
    out.extend_from_slice(&twin);
    let mut eocd = zip[end..].to_vec();
    eocd[8..10].copy_from_slice(&2u16.to_le_bytes());
    eocd[10..12].copy_from_slice(&2u16.to_le_bytes());
    eocd[12..16].copy_from_slice(&((entry.len() * 2) as u32).to_le_bytes());
    out.extend_from_slice(&eocd);
    let report = same_everywhere(&out);
    assert!(
        has(&report, Rule::ZipOverlappingMembers),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.verdict, Verdict::Dangerous);
}

#[test]
fn a_truncated_archive_is_malformed_but_its_members_are_judged() {
    let zip = build(&[member("data.pkl", PAYLOAD), member("b.txt", b"x")], b"");
    let cut = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let report = scan_bytes(&zip[..cut], &Policy::default());
    assert!(has(&report, Rule::ArchiveMalformed));
    assert!(has(&report, Rule::PickleDangerousGlobal));
}

/// The last member's data runs to the end of the file (an archive cut before its central
/// directory) and no child wants its bytes: a tensor storage, and a deflate stream that turns
/// corrupt at once. A seeking driver used to skip to the data's end, where the file has no
/// byte to feed, and the member was reported as cut short although every byte of its data is
/// there; a driver that fed every byte saw it end.
#[test]
fn data_that_ends_exactly_at_the_end_of_the_file_is_complete_in_every_driver() {
    // Longer than the sniffer's first read, which every driver feeds whole.
    for last in [
        member("archive/data/0", &[0x42; 3000]),
        member("a.bin", &[0xff; 3000]),
    ] {
        let mut zip = build(&[member("archive/data.pkl", BENIGN), last.clone()], b"");
        let cut = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        zip.truncate(cut);
        if last.name == b"a.bin" {
            // Method 8 over bytes that are no deflate stream ("invalid block type").
            let local = zip.windows(4).rposition(|w| w == b"PK\x03\x04").unwrap();
            zip[local + 8..local + 10].copy_from_slice(&u16le(8));
        }
        let report = crate::test_drivers::same_everywhere(&zip);
        let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            !messages.iter().any(|m| m.contains("ends inside the data")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("no end of central directory")),
            "{messages:#?}"
        );
        // One byte fewer and the data really is cut short, which every driver reports.
        let short = crate::test_drivers::same_everywhere(&zip[..zip.len() - 1]);
        assert!(
            short
                .findings
                .iter()
                .any(|f| f.message.contains("ends inside the data")),
            "{:#?}",
            short.findings
        );
    }
}

#[test]
fn a_seeking_driver_skips_tensor_storages() {
    let tensor = vec![0x42u8; 8 << 20];
    let zip = build(
        &[
            member("archive/data.pkl", BENIGN),
            member("archive/data/0", &tensor),
            member("archive/data/1", &tensor),
            member("archive/version", b"3\n"),
        ],
        b"",
    );
    let mut scanner = Scanner::new(
        &Policy::default(),
        Limits::default(),
        Some(zip.len() as u64),
    );
    let mut read = 0u64;
    while let Want::Range { offset, .. } = scanner.want() {
        // Read small pieces so the count reflects what the scanner asked for.
        let start = offset as usize;
        let end = (start + 512).min(zip.len());
        read += (end - start) as u64;
        scanner.feed(offset, &zip[start..end]);
    }
    let report = scanner.finish();
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);
    assert!(read < 16 * 1024, "read {read} bytes of {}", zip.len());
}

#[test]
fn a_seeking_driver_skips_storages_whose_sizes_only_the_directory_has() {
    // PyTorch (miniz) writes every member with flag bit 3 and zero sizes in the local header.
    let tensor = vec![0x42u8; 1 << 20];
    let described = |name: &str, content: &[u8]| {
        let mut m = member(name, content);
        m.descriptor = true;
        m
    };
    let zip = build(
        &[
            described("archive/data.pkl", BENIGN),
            described("archive/data/0", &tensor),
            described("archive/data/1", &tensor),
            described("archive/version", b"3\n"),
        ],
        b"",
    );
    let mut scanner = Scanner::new(
        &Policy::default(),
        Limits::default(),
        Some(zip.len() as u64),
    );
    let mut read = 0u64;
    while let Want::Range { offset, len } = scanner.want() {
        let start = offset as usize;
        let end = (start + len as usize).min(zip.len());
        read += (end - start) as u64;
        scanner.feed(offset, &zip[start..end]);
    }
    let report = scanner.finish();
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);
    assert_eq!(report.format, Format::PytorchZip);
    // The tail (64 KiB), the pickle and the headers; not the 2 MiB of tensors.
    assert!(read < 300 * 1024, "read {read} bytes of {}", zip.len());
    assert_eq!(report.findings, same_everywhere(&zip).findings);
}

#[test]
fn bytes_read_for_the_user_block_probe_before_the_read_ahead_are_not_a_gap() {
    // While the reader waits for the directory at the end (sizes only it has), the scanner
    // first serves the HDF5 user-block probe its eight bytes at 512, 1024, ... inside the
    // first tensor, which the reader must pass over, not take as skipped: here the signature
    // at 1024 starts an HDF5 file that every driver finds.
    let tensor = vec![0x42u8; 128 << 10];
    let described = |name: &str, content: &[u8]| {
        let mut m = member(name, content);
        m.descriptor = true;
        m
    };
    let mut zip = build(
        &[
            described("archive/data.pkl", BENIGN),
            described("archive/data/0", &tensor),
            described("archive/data/1", &tensor),
        ],
        b"",
    );
    assert_eq!(
        zip[1024..1032],
        [0x42; 8],
        "1024 is inside the first tensor"
    );
    zip[1024..1032].copy_from_slice(b"\x89HDF\r\n\x1a\n");
    let report = crate::test_drivers::same_everywhere(&zip);
    assert!(
        !has(&report, Rule::ScanIncomplete),
        "{:#?}",
        report.findings
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::Hdf5Malformed && f.member.as_deref() == Some("#hdf5@1024")),
        "{:#?}",
        report.findings
    );
}

#[test]
fn inflation_stops_at_the_budget() {
    let mut bomb = member("bomb.pkl", &vec![b'('; 4 << 20]);
    bomb.deflate = true;
    let zip = build(&[bomb], b"");
    let limits = Limits {
        max_inflated_bytes: 1 << 20,
        ..Limits::default()
    };
    let report = scan_bytes_with_limits(&zip, &Policy::default(), limits);
    assert!(
        has(&report, Rule::ArchiveDecompressionBomb),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_member_started_with_no_budget_left_is_skipped_not_a_gap() {
    // The first member spends the whole budget; the second starts with none. Its inflater
    // stops before using a byte, and the reader must still pass over its data: before, the
    // rest of the piece was dropped as "no progress" and the next piece was a gap (in a
    // nested zip, a child scan lost with everything it had inflated uncounted).
    let mut members = Vec::new();
    for name in ["a.pkl", "b.pkl", "c.pkl"] {
        let mut m = member(name, &vec![b'('; 600 << 10]);
        m.deflate = true;
        members.push(m);
    }
    let zip = build(&members, b"");
    let limits = Limits {
        max_inflated_bytes: 1 << 20,
        ..Limits::default()
    };
    let whole = scan_bytes_with_limits(&zip, &Policy::default(), limits);
    for piece in [1, 100, 4096] {
        let mut scanner = Scanner::new(&Policy::default(), limits, Some(zip.len() as u64));
        for (i, chunk) in zip.chunks(piece).enumerate() {
            scanner.feed((i * piece) as u64, chunk);
        }
        let report = scanner.finish();
        let gap = |f: &crate::report::Finding| f.message.contains("skipped bytes");
        assert!(!report.findings.iter().any(gap), "{:#?}", report.findings);
        assert_eq!(report.findings, whole.findings, "pieces of {piece}");
    }
    let capped: Vec<_> = whole
        .findings
        .iter()
        .filter(|f| f.rule == Rule::ArchiveDecompressionBomb)
        .filter_map(|f| f.member.as_deref())
        .collect();
    assert_eq!(capped, ["b.pkl", "c.pkl"], "{:#?}", whole.findings);
}

#[test]
fn members_nobody_reads_are_not_inflated_nor_charged() {
    // Five members of 1 MiB of zeros: their scans stop after the first 4 KiB (unrecognised
    // content). A whole buffer used to inflate all of each anyway and charge it, so under a
    // 2 MiB budget the third member "reached the decompression budget" while a seeking
    // driver, which skips the rest of each member, found nothing: reports differed.
    let mut members = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let mut m = member(name, &vec![0; 1 << 20]);
        m.deflate = true;
        members.push(m);
    }
    let zip = build(&members, b"");
    let limits = Limits {
        max_inflated_bytes: 2 << 20,
        ..Limits::default()
    };
    let whole = scan_bytes_with_limits(&zip, &Policy::default(), limits);
    assert!(
        !has(&whole, Rule::ArchiveDecompressionBomb),
        "{:#?}",
        whole.findings
    );
    for piece in [1, 4096, 1 << 20] {
        let mut scanner = Scanner::new(&Policy::default(), limits, Some(zip.len() as u64));
        for (i, chunk) in zip.chunks(piece).enumerate() {
            scanner.feed((i * piece) as u64, chunk);
        }
        assert_eq!(
            scanner.finish().findings,
            whole.findings,
            "pieces of {piece}"
        );
    }
    let mut scanner = Scanner::new(&Policy::default(), limits, Some(zip.len() as u64));
    while let Want::Range { offset, .. } = scanner.want() {
        let start = offset as usize;
        scanner.feed(offset, &zip[start..(start + 100).min(zip.len())]);
    }
    assert_eq!(scanner.finish().findings, whole.findings, "seeking");
}

#[test]
fn inflated_nesting_halves_the_budget_at_each_level() {
    // 600 KiB of pickle opcodes, deflated into a zip, deflated into a zip, deflated into a
    // zip. Under a 1 MiB budget the innermost zip may inflate a quarter of it: each level of
    // inflated nesting gets half of what remains, so nesting cannot spend the budget again
    // and again (before, every level had the whole budget for itself).
    let mut pickle = member("p.pkl", &vec![b'('; 600 << 10]);
    pickle.deflate = true;
    let mut inner = build(&[pickle], b"");
    for name in ["z1.zip", "z2.zip"] {
        let mut m = member(name, &inner);
        m.deflate = true;
        inner = build(&[m], b"");
    }
    let limits = Limits {
        max_inflated_bytes: 1 << 20,
        ..Limits::default()
    };
    let report = scan_bytes_with_limits(&inner, &Policy::default(), limits);
    let capped = |r: &Report| {
        r.findings.iter().any(|f| {
            f.rule == Rule::ArchiveDecompressionBomb
                && f.member.as_deref() == Some("z2.zip/z1.zip/p.pkl")
        })
    };
    assert!(capped(&report), "{:#?}", report.findings);
    // With four times the budget, the innermost quarter holds the whole pickle.
    let limits = Limits {
        max_inflated_bytes: 4 << 20,
        ..Limits::default()
    };
    let report = scan_bytes_with_limits(&inner, &Policy::default(), limits);
    assert!(!capped(&report), "{:#?}", report.findings);
}

#[test]
fn entries_inside_members_are_placed_in_the_right_member() {
    // Forty members, and for each a second directory entry four bytes into its data: every
    // one is reported inside its own member (found by binary search over the members read,
    // which a scan of all members per entry made quadratic).
    let members: Vec<Spec> = (0..40)
        .map(|i| member(&format!("m{i:02}"), &[7; 16]))
        .collect();
    let zip = build(&members, b"");
    let end = zip.len() - 22;
    let field = |at: usize, n: usize| {
        zip[at..at + n]
            .iter()
            .rev()
            .fold(0usize, |v, &b| v << 8 | usize::from(b))
    };
    let (dir_len, dir) = (field(end + 12, 4), field(end + 16, 4));
    let mut ghosts = Vec::new();
    let mut at = dir;
    while at < dir + dir_len {
        let name_len = field(at + 28, 2);
        let offset = field(at + 42, 4);
        let mut ghost = zip[at..at + 46].to_vec();
        ghost[28..30].copy_from_slice(&u16le(name_len as u16 + 1));
        ghost[42..46].copy_from_slice(&u32le((offset + 30 + name_len + 4) as u32));
        ghost.push(b'g');
        ghost.extend_from_slice(&zip[at + 46..at + 46 + name_len]);
        ghosts.extend_from_slice(&ghost);
        at += 46 + name_len;
    }
    let mut bytes = zip[..dir + dir_len].to_vec();
    bytes.extend_from_slice(&ghosts);
    bytes.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    bytes.extend_from_slice(&u16le(80));
    bytes.extend_from_slice(&u16le(80));
    bytes.extend_from_slice(&u32le((dir_len + ghosts.len()) as u32));
    bytes.extend_from_slice(&u32le(dir as u32));
    bytes.extend_from_slice(&u16le(0));
    let report = same_everywhere(&bytes);
    for i in 0..40 {
        let ghost = format!("gm{i:02}");
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.rule == Rule::ZipOverlappingMembers
                    && f.member.as_deref() == Some(ghost.as_str())
                    && f.message.contains(&format!("inside the data of m{i:02}"))),
            "{ghost}: {:#?}",
            report.findings
        );
    }
}

#[test]
fn arbitrary_prefixes_never_panic() {
    let zip = build(
        &[member("a/data.pkl", PAYLOAD), {
            let mut m = member("b", BENIGN);
            m.deflate = true;
            m.descriptor = true;
            m
        }],
        b"comment",
    );
    for cut in 0..zip.len() {
        let report = scan_bytes(&zip[..cut], &Policy::default());
        if cut > 4 {
            assert!(!report.findings.is_empty(), "cut at {cut} passed silently");
        }
    }
    let _ = String::new();
}
