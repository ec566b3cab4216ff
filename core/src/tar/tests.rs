//! tar: payloads in members (plain, gzip-compressed, behind long names), the archive's own
//! hazards (unsafe names, links, duplicates, broken headers, truncation, bombs), the legacy
//! PyTorch layout, and every way of reading agreeing.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use miniz_oxide::deflate::compress_to_vec;

use crate::report::{Format, Report, Severity, Verdict};
use crate::rules::Rule;
use crate::{Limits, Policy, Scanner, Want, scan_bytes_with_limits};

/// `os.system('id')` as a protocol-0 pickle.
const PAYLOAD: &[u8] = b"cos\nsystem\n(S'id'\ntR.";
/// A harmless protocol-2 pickle: `{}`.
const EMPTY_DICT: &[u8] = b"\x80\x02}q\x00.";

fn octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// A header block with a valid checksum.
fn header(name: &[u8], size: u64, typeflag: u8, link: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0);
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    seal(&mut h);
    h
}

/// Writes the checksum of a header block.
fn seal(h: &mut [u8]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

fn pad(out: &mut Vec<u8>) {
    while out.len() % 512 != 0 {
        out.push(0);
    }
}

/// A pax record: `"%d %s=%s\n"` where the length counts itself.
fn record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body + 1;
    while format!("{len}").len() + body != len {
        len += 1;
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

#[derive(Default)]
struct Tar {
    out: Vec<u8>,
}

impl Tar {
    fn entry(&mut self, name: &[u8], typeflag: u8, link: &[u8], data: &[u8]) -> &mut Tar {
        self.out
            .extend_from_slice(&header(name, data.len() as u64, typeflag, link));
        self.out.extend_from_slice(data);
        pad(&mut self.out);
        self
    }

    fn file(&mut self, name: &[u8], data: &[u8]) -> &mut Tar {
        self.entry(name, b'0', b"", data)
    }

    fn pax(&mut self, typeflag: u8, records: &[(&str, &[u8])]) -> &mut Tar {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| record(k, v)).collect();
        self.entry(b"././@PaxHeader", typeflag, b"", &data)
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.out.clone();
        out.extend_from_slice(&[0; 1024]);
        out
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&compress_to_vec(data, 6));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn in_pieces(bytes: &[u8], piece: usize, limits: Limits) -> Report {
    let mut scanner = Scanner::new(&Policy::default(), limits, Some(bytes.len() as u64));
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        scanner.feed((i * piece) as u64, chunk);
    }
    scanner.finish()
}

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

/// Scans whole, in pieces (byte by byte for small files) and by seeking; asserts they agree.
fn agree_with(bytes: &[u8], limits: Limits) -> Report {
    let whole = scan_bytes_with_limits(bytes, &Policy::default(), limits);
    let mut others = vec![
        ("pieces of 509", in_pieces(bytes, 509, limits)),
        ("pieces of 4096", in_pieces(bytes, 4096, limits)),
        ("seeking", seeking(bytes, usize::MAX, limits)),
        ("seeking, reads of 100", seeking(bytes, 100, limits)),
    ];
    if bytes.len() < 200_000 {
        others.push(("byte by byte", in_pieces(bytes, 1, limits)));
        others.push(("pieces of 7", in_pieces(bytes, 7, limits)));
    }
    for (how, report) in others {
        assert_eq!(report.findings, whole.findings, "{how}");
        assert_eq!(report.format, whole.format, "{how}");
        assert_eq!(report.verdict, whole.verdict, "{how}");
    }
    whole
}

fn agree(bytes: &[u8]) -> Report {
    agree_with(bytes, Limits::default())
}

fn find<'r>(report: &'r Report, rule: Rule, member: Option<&str>) -> Option<&'r crate::Finding> {
    report
        .findings
        .iter()
        .find(|f| f.rule == rule && (member.is_none() || f.member.as_deref() == member))
}

fn with_evidence<'r>(report: &'r Report, evidence: &str) -> Option<&'r crate::Finding> {
    report
        .findings
        .iter()
        .find(|f| f.evidence.as_deref() == Some(evidence))
}

fn dangerous_under(report: &Report, member: &str) -> bool {
    find(report, Rule::PickleDangerousGlobal, Some(member))
        .is_some_and(|f| f.severity == Severity::Critical)
}

#[test]
fn a_payload_in_a_member_is_found_under_its_name() {
    let tar = Tar::default()
        .file(b"README", b"hello")
        .entry(b"dir/", b'5', b"", b"")
        .file(b"dir/model.pkl", PAYLOAD)
        .bytes();
    let report = agree(&tar);
    assert_eq!(report.format, Format::Tar);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(
        dangerous_under(&report, "dir/model.pkl"),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
}

#[test]
fn a_payload_in_a_tar_gz_is_found_under_both_paths() {
    let tar = Tar::default().file(b"model.pkl", PAYLOAD).bytes();
    let report = agree(&gzip(&tar));
    assert_eq!(report.format, Format::Gzip);
    assert!(
        dangerous_under(&report, "<gzip>/model.pkl"),
        "{:#?}",
        report.findings
    );
    // And a gzip member inside a tar.
    let tar = Tar::default().file(b"model.pkl.gz", &gzip(PAYLOAD)).bytes();
    let report = agree(&tar);
    assert!(
        dangerous_under(&report, "model.pkl.gz/<gzip>"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn long_names_come_from_pax_and_gnu_headers() {
    let long = format!("{}/model.pkl", "d".repeat(150));
    let tar = Tar::default()
        .pax(b'x', &[("path", long.as_bytes())])
        .file(b"short-name", PAYLOAD)
        .entry(b"././@LongLink", b'L', b"", format!("{long}2\0").as_bytes())
        .file(b"other-short", PAYLOAD)
        .bytes();
    let report = agree(&tar);
    assert!(dangerous_under(&report, &long), "{:#?}", report.findings);
    assert!(dangerous_under(&report, &format!("{long}2")));
    assert!(find(&report, Rule::ArchiveDuplicateName, None).is_none());
}

#[test]
fn a_ustar_prefix_is_joined_and_a_pax_size_moves_the_next_header() {
    let mut h = header(b"model.pkl", PAYLOAD.len() as u64, b'0', b"");
    h[345..348].copy_from_slice(b"pre");
    seal(&mut h);
    let mut tar = h;
    tar.extend_from_slice(PAYLOAD);
    pad(&mut tar);
    // The header says 0 bytes; the pax size says how long the data really is.
    let mut padded = Tar::default();
    padded.pax(b'x', &[("size", format!("{}", PAYLOAD.len()).as_bytes())]);
    padded
        .out
        .extend_from_slice(&header(b"sized.pkl", 0, b'0', b""));
    padded.out.extend_from_slice(PAYLOAD);
    pad(&mut padded.out);
    tar.extend_from_slice(&padded.bytes());
    let report = agree(&tar);
    assert!(
        dangerous_under(&report, "pre/model.pkl"),
        "{:#?}",
        report.findings
    );
    assert!(
        dangerous_under(&report, "sized.pkl"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn unsafe_names_are_reported_by_how_far_they_escape() {
    let tar = Tar::default()
        .file(b"../evil.pkl", EMPTY_DICT)
        .file(b"/etc/cron.d/x", b"x")
        .file(b"dir\\file", b"x")
        .file(b"fine/..name", b"x")
        .bytes();
    let report = agree(&tar);
    let severity =
        |name: &str| find(&report, Rule::ArchiveUnsafePath, Some(name)).map(|f| f.severity);
    assert_eq!(severity("../evil.pkl"), Some(Severity::High));
    assert_eq!(severity("/etc/cron.d/x"), Some(Severity::High));
    assert_eq!(severity("dir\\file"), Some(Severity::Medium));
    assert_eq!(severity("fine/..name"), None);
}

#[test]
fn links_are_reported_with_their_targets() {
    let tar = Tar::default()
        .file(b"a.pkl", EMPTY_DICT)
        .entry(b"hard", b'1', b"a.pkl", b"")
        .entry(b"soft", b'2', b"/etc/passwd", b"")
        .entry(b"up", b'2', b"../../x", b"")
        .bytes();
    let report = agree(&tar);
    let hard = find(&report, Rule::ArchiveLinkMember, Some("hard")).unwrap();
    assert_eq!(hard.severity, Severity::Medium);
    assert_eq!(hard.evidence.as_deref(), Some("a.pkl"));
    let soft = find(&report, Rule::ArchiveLinkMember, Some("soft")).unwrap();
    assert_eq!(soft.severity, Severity::Medium);
    assert_eq!(soft.evidence.as_deref(), Some("/etc/passwd"));
    assert!(soft.message.contains("absolute"), "{}", soft.message);
    let up = find(&report, Rule::ArchiveLinkMember, Some("up")).unwrap();
    assert!(up.message.contains(".."), "{}", up.message);

    // Long targets come from a GNU `K` header or a pax `linkpath`.
    let long = format!("/{}", "t".repeat(200));
    let tar = Tar::default()
        .entry(b"././@LongLink", b'K', b"", format!("{long}\0").as_bytes())
        .entry(b"gnu", b'2', b"short", b"")
        .pax(b'x', &[("linkpath", long.as_bytes())])
        .entry(b"pax", b'1', b"short", b"")
        .bytes();
    let report = agree(&tar);
    for name in ["gnu", "pax"] {
        let link = find(&report, Rule::ArchiveLinkMember, Some(name)).unwrap();
        assert_eq!(link.evidence.as_deref(), Some(long.as_str()));
    }
}

#[test]
fn duplicate_names_are_reported_as_extraction_resolves_them() {
    let tar = Tar::default()
        .file(b"model.pkl", EMPTY_DICT)
        .file(b"./model.pkl", PAYLOAD)
        .entry(b"d/", b'5', b"", b"")
        .entry(b"d/", b'5', b"", b"")
        .bytes();
    let report = agree(&tar);
    let dup = find(&report, Rule::ArchiveDuplicateName, None).unwrap();
    assert_eq!(dup.member.as_deref(), Some("./model.pkl"));
    assert_eq!(dup.severity, Severity::High);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.rule == Rule::ArchiveDuplicateName)
            .count(),
        1
    );
    // The later copy, the one tarfile extracts, is scanned too.
    assert!(dangerous_under(&report, "./model.pkl"));
}

#[test]
fn a_bad_checksum_ends_the_archive() {
    let mut tar = Tar::default().file(b"first.pkl", PAYLOAD).bytes();
    let second = tar.len() - 1024;
    tar.truncate(second);
    tar.extend_from_slice(&Tar::default().file(b"second.pkl", PAYLOAD).bytes());
    tar[second + 10] ^= 1;
    let report = agree(&tar);
    let bad = with_evidence(&report, "tar-header").unwrap();
    assert_eq!(bad.offset, Some(second as u64));
    assert_eq!(bad.severity, Severity::Medium);
    assert!(dangerous_under(&report, "first.pkl"));
    assert!(find(&report, Rule::PickleDangerousGlobal, Some("second.pkl")).is_none());
}

#[test]
fn the_signed_checksum_variant_is_accepted() {
    let mut h = header(b"caf\xe9.pkl", PAYLOAD.len() as u64, b'0', b"");
    h[148..156].copy_from_slice(b"        ");
    let signed: i32 = h.iter().map(|&b| i32::from(b as i8)).sum();
    h[148..156].copy_from_slice(format!("{signed:06o}\0 ").as_bytes());
    assert!(super::header_checksum_ok(&h));
    let mut tar = h;
    tar.extend_from_slice(PAYLOAD);
    pad(&mut tar);
    tar.extend_from_slice(&[0; 1024]);
    let report = agree(&tar);
    assert!(find(&report, Rule::PickleDangerousGlobal, None).is_some());
    assert!(with_evidence(&report, "tar-header").is_none());
}

#[test]
fn truncation_is_reported_and_what_came_before_is_judged() {
    let mut data = PAYLOAD.to_vec();
    data.extend_from_slice(&[b' '; 3000]);
    let tar = Tar::default()
        .file(b"a.pkl", &data)
        .file(b"b", b"x")
        .bytes();
    // a.pkl's data is at 512..3533, padded to 3584, where b's header starts.
    for cut in [1000, 3512, 3584 + 100] {
        let report = agree(&tar[..cut]);
        assert!(
            with_evidence(&report, "tar-truncated").is_some(),
            "cut {cut}: {:#?}",
            report.findings
        );
        assert!(find(&report, Rule::PickleDangerousGlobal, Some("a.pkl")).is_some());
    }
    // Ending inside or after an extended header, wherever a driver stopped reading its padding.
    let long = Tar::default()
        .entry(b"././@LongLink", b'L', b"", &[b'n'; 157])
        .file(b"x", b"")
        .bytes();
    for cut in [600, 669, 811, 1024] {
        let report = agree(&long[..cut]);
        assert!(
            with_evidence(&report, "tar-truncated").is_some_and(|f| f.offset == Some(0)),
            "cut {cut}: {:#?}",
            report.findings
        );
    }
    // Ending right after a member's data (no end-of-archive blocks) is fine for tarfile.
    let report = agree(&tar[..3584]);
    assert!(with_evidence(&report, "tar-truncated").is_none());
}

#[test]
fn decompression_is_charged_across_members() {
    // Two gzip members whose pickles (one long bytes object each) inflate to 600 kB each:
    // under a 1 MB budget the second runs out.
    let mut pickle = b"\x80\x03B".to_vec();
    pickle.extend_from_slice(&600_000u32.to_le_bytes());
    pickle.extend_from_slice(&vec![b'N'; 600_000]);
    pickle.push(b'.');
    let member = gzip(&pickle);
    let tar = Tar::default()
        .file(b"one.gz", &member)
        .file(b"two.gz", &member)
        .bytes();
    let limits = Limits {
        max_inflated_bytes: 1_000_000,
        ..Limits::default()
    };
    let report = agree_with(&tar, limits);
    assert!(find(&report, Rule::ArchiveDecompressionBomb, Some("one.gz")).is_none());
    let bomb = find(&report, Rule::ArchiveDecompressionBomb, Some("two.gz")).unwrap();
    assert_eq!(bomb.severity, Severity::Medium);
    // In a tar.gz the stream must be inflated up to each header, whatever the members hold:
    // three megabytes of zeros before the next header exceed a 1 MB budget.
    let big = Tar::default()
        .file(b"zeros", &vec![0; 3 << 20])
        .file(b"x", b"")
        .bytes();
    let report = agree_with(&gzip(&big), limits);
    let bomb = find(&report, Rule::ArchiveDecompressionBomb, None).unwrap();
    assert_eq!(bomb.member, None);
    let limits = Limits {
        max_inflated_bytes: 100_000,
        ..Limits::default()
    };
    let tar = Tar::default().file(b"one.gz", &member).bytes();
    let report = agree_with(&gzip(&tar), limits);
    assert!(find(&report, Rule::ArchiveDecompressionBomb, None).is_some());
}

#[test]
fn a_seeking_driver_skips_data_no_child_wants() {
    let blob: Vec<u8> = (0..10u32 << 20).map(|i| (i % 2) as u8).collect();
    let tar = Tar::default()
        .file(b"weights.bin", &blob)
        .file(b"model.pkl", PAYLOAD)
        .bytes();
    let report = agree(&tar);
    assert!(dangerous_under(&report, "model.pkl"));
    let read = seeking(&tar, 4096, Limits::default()).bytes_read;
    assert!(read < 16 * 1024, "read {read} of {}", tar.len());
}

/// The legacy `torch.save` tar: `storages` of two storages (the second `big` elements long),
/// `tensors` of one tensor, and `views` as the last pickle of `storages`.
fn torch_tar(big: u64, views: &[u8], raw_fill: &[u8]) -> Vec<u8> {
    let storage_header = |key: u8, class: &str| {
        let mut p = b"\x80\x02X\x01\x00\x00\x00".to_vec();
        p.push(key);
        p.extend_from_slice(b"q\x00X\x03\x00\x00\x00cpuq\x01ctorch\n");
        p.extend_from_slice(class.as_bytes());
        p.extend_from_slice(b"\nq\x02\x87q\x03.");
        p
    };
    let mut storages = b"\x80\x02K\x02.".to_vec();
    storages.extend_from_slice(&storage_header(b'0', "FloatStorage"));
    storages.extend_from_slice(&3i64.to_le_bytes());
    storages.extend_from_slice(&raw_fill.repeat(12)[..12]);
    storages.extend_from_slice(&storage_header(b'1', "LongStorage"));
    storages.extend_from_slice(&(big as i64).to_le_bytes());
    let raw = raw_fill.repeat((big * 8) as usize / raw_fill.len() + 1);
    storages.extend_from_slice(&raw[..(big * 8) as usize]);
    storages.extend_from_slice(views);
    let mut tensors = b"\x80\x02K\x01.".to_vec();
    tensors.extend_from_slice(
        b"\x80\x02X\x01\x00\x00\x000q\x00X\x01\x00\x00\x000q\x01ctorch\nFloatTensor\nq\x02\x87q\x03.",
    );
    tensors.extend_from_slice(&1i32.to_le_bytes());
    tensors.extend_from_slice(&[0; 4]);
    tensors.extend_from_slice(&3i64.to_le_bytes());
    tensors.extend_from_slice(&1i64.to_le_bytes());
    tensors.extend_from_slice(&0i64.to_le_bytes());
    Tar::default()
        .file(b"sys_info", EMPTY_DICT)
        .file(b"pickle", EMPTY_DICT)
        .file(b"tensors", &tensors)
        .file(b"storages", &storages)
        .bytes()
}

#[test]
fn the_legacy_torch_layout_is_walked() {
    // Raw storage bytes that look like a payload are data torch never unpickles.
    let clean = torch_tar(100, b"\x80\x02]q\x00.", PAYLOAD);
    let report = agree(&clean);
    assert_eq!(report.format, Format::PytorchTar);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);

    // A payload in the views pickle, after all the raw data, is found.
    let evil = torch_tar(100, PAYLOAD, b"\x00\x01");
    let report = agree(&evil);
    assert_eq!(report.format, Format::PytorchTar);
    let hit = find(&report, Rule::PickleDangerousGlobal, None).unwrap();
    assert!(
        hit.member.as_deref().unwrap().starts_with("storages@"),
        "{:#?}",
        report.findings
    );

    // Big storages are skipped by a seeking driver.
    let big = torch_tar(1 << 20, PAYLOAD, b"\x00\x01");
    let report = agree(&big);
    assert!(find(&report, Rule::PickleDangerousGlobal, None).is_some());
    let read = seeking(&big, 4096, Limits::default()).bytes_read;
    assert!(read < 32 * 1024, "read {read} of {}", big.len());
}

#[test]
fn a_broken_legacy_layout_falls_back_to_an_ordinary_scan() {
    // An unknown storage class: the rest of `storages` is scanned as it is.
    let mut tar = torch_tar(4, PAYLOAD, b"\x00\x01");
    let at = tar.windows(11).position(|w| w == b"LongStorage").unwrap();
    tar[at..at + 4].copy_from_slice(b"Xong");
    let storages = tar.windows(8).position(|w| w == b"storages").unwrap();
    seal(&mut tar[storages..storages + 512]);
    let report = agree(&tar);
    let note = with_evidence(&report, "legacy-layout").unwrap();
    assert_eq!(note.severity, Severity::Low);
    assert!(find(&report, Rule::PickleUnknownGlobal, None).is_some());
    // A member set that is not exactly the layout is an ordinary tar.
    let mut tar = torch_tar(4, EMPTY_DICT, b"\x00\x01");
    tar.truncate(tar.len() - 1024);
    tar.extend_from_slice(&Tar::default().file(b"extra", b"x").bytes());
    assert_eq!(agree(&tar).format, Format::Tar);
}

#[test]
fn a_lone_zero_block_followed_by_data_is_noted() {
    let mut tar = Tar::default().file(b"a", b"x").bytes();
    tar.truncate(tar.len() - 512);
    tar.extend_from_slice(&Tar::default().file(b"hidden.pkl", PAYLOAD).bytes());
    let report = agree(&tar);
    let note = with_evidence(&report, "tar-lone-zero-block").unwrap();
    assert_eq!(note.severity, Severity::Low);
    assert!(find(&report, Rule::PickleDangerousGlobal, None).is_none());
}

#[test]
fn a_tar_that_is_also_a_pickle_is_judged_as_both() {
    let tar = Tar::default().file(PAYLOAD, b"harmless").bytes();
    let report = agree(&tar);
    assert_eq!(report.format, Format::Tar);
    assert!(with_evidence(&report, "tar-pickle-polyglot").is_some());
    let hit = find(&report, Rule::PickleDangerousGlobal, None).unwrap();
    assert_eq!(hit.member, None);
    // An ordinary name that starts with an opcode is not a pickle.
    let report = agree(&Tar::default().file(b"sys_info", EMPTY_DICT).bytes());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn other_member_types() {
    let tar = Tar::default()
        .entry(b"vendor", b'Z', b"", PAYLOAD)
        .entry(b"sparse", b'S', b"", b"abc")
        .entry(b"dir", b'5', b"", b"")
        .bytes();
    let report = agree(&tar);
    assert!(dangerous_under(&report, "vendor"));
    assert!(find(&report, Rule::ArchiveUnscannable, Some("sparse")).is_some());
    // An old GNU sparse header continued in an extension block: the block and the stored
    // data are skipped, and the member after them is read.
    let mut h = header(b"sparse", 512, b'S', b"");
    h[482] = 1;
    seal(&mut h);
    let mut tar = h;
    let mut extension = vec![0u8; 512];
    // One sparse entry: offset 512, 512 bytes.
    extension[..12].copy_from_slice(b"00000001000\0");
    extension[12..24].copy_from_slice(b"00000001000\0");
    tar.extend_from_slice(&extension);
    tar.extend_from_slice(&[b'c'; 512]);
    tar.extend_from_slice(&Tar::default().file(b"after.pkl", PAYLOAD).bytes());
    let report = agree(&tar);
    assert!(find(&report, Rule::ArchiveUnscannable, Some("sparse")).is_some());
    assert!(
        dangerous_under(&report, "after.pkl"),
        "{:#?}",
        report.findings
    );
    // A directory with a size: tarfile reads the next header right after it.
    let mut tar = header(b"dir", 512, b'5', b"");
    tar.extend_from_slice(&Tar::default().file(b"x.pkl", PAYLOAD).bytes());
    let report = agree(&tar);
    assert!(with_evidence(&report, "tar-size-without-data").is_some());
    assert!(dangerous_under(&report, "x.pkl"));
}

#[test]
fn limits_stop_the_reading() {
    let limits = Limits {
        max_archive_members: 2,
        ..Limits::default()
    };
    let tar = Tar::default()
        .file(b"a", b"")
        .file(b"b", b"")
        .file(b"c.pkl", PAYLOAD)
        .bytes();
    let report = agree_with(&tar, limits);
    let limit = find(&report, Rule::ScanLimitReached, None).unwrap();
    assert_eq!(limit.evidence.as_deref(), Some("max_archive_members"));
    let limits = Limits {
        max_directory_bytes: 64,
        ..Limits::default()
    };
    let tar = Tar::default()
        .pax(b'x', &[("path", String::from("p").repeat(100).as_bytes())])
        .file(b"a", b"")
        .bytes();
    let report = agree_with(&tar, limits);
    assert!(find(&report, Rule::ScanLimitReached, None).is_some());
}

#[test]
fn malformed_pax_headers_end_the_archive() {
    let mut tar = Tar::default();
    tar.entry(b"././@PaxHeader", b'x', b"", b"99 path=x\n");
    tar.file(b"a.pkl", PAYLOAD);
    let report = agree(&tar.bytes());
    assert!(with_evidence(&report, "tar-pax").is_some());
    assert!(find(&report, Rule::PickleDangerousGlobal, None).is_none());
    // A global header renames every later member: duplicates follow.
    let tar = Tar::default()
        .pax(b'g', &[("path", b"same")])
        .file(b"a", b"")
        .file(b"b", b"")
        .bytes();
    let report = agree(&tar);
    assert!(find(&report, Rule::ArchiveDuplicateName, Some("same")).is_some());
}

/// A zip member (cut before its central directory) whose last data runs to the end of the tar
/// member and that no child reads (a tensor storage). The tar reader stops feeding a child that
/// wants nothing before its end, and the zip wanted only the offset where its data ends, which
/// is the member's end: even a driver that fed every byte left the data unfinished, and so did
/// or did not report it cut short depending on the pieces it came in. Every driver now agrees
/// that it is complete, and that one byte less is cut short.
#[test]
fn a_zip_member_whose_data_runs_to_the_member_end_is_complete_in_every_driver() {
    let mut zip = Vec::new();
    zip.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00");
    zip.extend_from_slice(&[0; 8]);
    zip.extend_from_slice(&4000u32.to_le_bytes());
    zip.extend_from_slice(&4000u32.to_le_bytes());
    zip.extend_from_slice(&14u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(b"archive/data/0");
    zip.extend_from_slice(&[0x42; 4000]);
    for (end_blocks, len, cut_short) in [
        (0, zip.len(), false),
        (2, zip.len(), false),
        (2, zip.len() - 1, true),
    ] {
        let mut tar = header(b"inner.zip", len as u64, b'0', b"");
        tar.extend_from_slice(&zip[..len]);
        pad(&mut tar);
        tar.extend_from_slice(&vec![0u8; 512 * end_blocks]);
        let report = crate::test_drivers::same_everywhere(&tar);
        let ends_inside = report.findings.iter().any(|f| {
            f.member.as_deref() == Some("inner.zip/archive/data/0")
                && f.message.contains("ends inside the data")
        });
        assert_eq!(ends_inside, cut_short, "{:#?}", report.findings);
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.message.contains("no end of central directory")),
            "{:#?}",
            report.findings
        );
    }
}
