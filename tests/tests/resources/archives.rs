//! Decompression bombs: deflate at deflate's best ratio, in zip and gzip, nested, fanned out
//! and overlapping; and an archive of 100,000 members.

use modelsieve_core::Rule;
use modelsieve_tests::attacks::{deflate, formats, zip};

use super::{Attack, Bound, MIB, finding_on, mentions, serial};
use std::time::Duration;

/// A budget small enough that a debug build runs it in seconds; the default (4 GiB) costs
/// about a minute per budget of pickle opcodes in a release build, and is shown to stop
/// the same way by the cheaper tests here.
const SMALL_BUDGET: u64 = 64 << 20;

/// NONE, POP: a pickle opcode pair that leaves the stack as it found it, so a stream of
/// nothing else is valid for as long as it runs and the reader must execute every byte.
const NONE_POP: &[u8] = b"N0";

/// A gibibyte of NONE, POP deflated into about a megabyte: the raw deflate stream, its
/// inflated length and CRC-32.
fn opcodes_deflated() -> (Vec<u8>, u64, u32) {
    let (stream, len) = deflate::repeated(NONE_POP, 1 << 30);
    (stream, len, deflate::repeated_crc(NONE_POP, len).finalize())
}

/// A zip holding [`opcodes_deflated`] as `data.pkl`.
fn opcode_zip() -> Vec<u8> {
    let (stream, len, crc) = opcodes_deflated();
    zip::ZipWriter::new()
        .raw("data.pkl", zip::DEFLATED, &stream, len, crc)
        .finish()
}

#[test]
fn a_gibibyte_of_zeros_deflated_into_a_megabyte() {
    let alone = serial();
    let bomb = zip::zeros_bomb("zeros.bin", 1 << 30);
    assert!(bomb.len() < 1_100_000, "{} bytes", bomb.len());
    let report = Attack::new(
        "zip: 1 GiB of zeros from 1 MB",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .run(&alone);
    // Declared at 1031:1, reported from the directory; the zeros are not a format, so
    // nothing reads them and nothing is inflated past the first 4 KiB.
    assert!(mentions(&report, "1031:1"), "{:#?}", report.findings);
}

#[test]
fn a_gibibyte_of_pickle_opcodes_deflated_into_a_megabyte() {
    let alone = serial();
    // The reader must run every opcode: only the budget stops it.
    let bomb = opcode_zip();
    let report = Attack::new(
        "zip: 1 GiB of opcodes, 64 MiB budget",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .budget(SMALL_BUDGET)
    .run(&alone);
    assert!(
        mentions(&report, "reached the decompression budget"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_gzip_of_a_gibibyte_of_pickle_opcodes() {
    let alone = serial();
    let (stream, len, crc) = opcodes_deflated();
    let bomb = deflate::gzip(&stream, len, crc);
    Attack::new(
        "gzip: 1 GiB of opcodes, 64 MiB budget",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .budget(SMALL_BUDGET)
    .whole_only()
    .run(&alone);
}

#[test]
fn zips_nested_twelve_deep() {
    let alone = serial();
    let bomb = zip::nested(&zip::zeros_bomb("zeros.bin", 1 << 30), 12);
    let report = Attack::new("zip in zip, 12 levels", &bomb, Rule::ScanLimitReached).run(&alone);
    assert!(mentions(&report, "max_depth"), "{:#?}", report.findings);
}

#[test]
fn a_pickle_bomb_nested_six_zips_deep() {
    let alone = serial();
    // Each level of inflated nesting gets half of what is left, so the innermost zip may
    // inflate 1/32 of the budget: the levels cannot each spend a whole budget again.
    let bomb = zip::nested(&opcode_zip(), 6);
    let report = Attack::new(
        "pickle bomb in zips 6 deep, 64 MiB budget",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .budget(SMALL_BUDGET)
    .bound(Bound {
        time: Duration::from_secs(5),
        heap: 64 * MIB,
    })
    .run(&alone);
    let path = "layer5.zip/layer4.zip/layer3.zip/layer2.zip/layer1.zip/inner/data.pkl";
    assert!(
        finding_on(&report, Rule::ArchiveDecompressionBomb, path),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_42_zip_style_fan_out() {
    let alone = serial();
    // Five levels of sixteen zips, sixteen 1 GiB leaves each: 16^5 GiB, about a petabyte,
    // in a few tens of kilobytes.
    let bomb = zip::fan_out(5, 16, 1 << 30);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    Attack::new(
        "42.zip-style, 5 levels of 16",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .run(&alone);
}

#[test]
fn fifield_overlap_bomb_of_zeros() {
    let alone = serial();
    // 64 members sharing one 1 MiB kernel, as in David Fifield's "A better zip bomb".
    let bomb = zip::overlapping(64, &[0], 1 << 20);
    let report = Attack::new(
        "overlap bomb, 64 x 1 MiB zeros",
        &bomb,
        Rule::ZipOverlappingMembers,
    )
    .run(&alone);
    assert!(
        mentions(&report, "an overlap bomb"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn fifield_overlap_bomb_revisited_for_its_opcodes() {
    let alone = serial();
    // Five members overlap in four: few enough that a seeking scan revisits each to judge
    // what it holds (a member hidden in another is an attack worth reading), so the shared
    // 16 MiB kernel of opcodes is read five times. The budget counts every revisit.
    let bomb = zip::overlapping(5, NONE_POP, 16 << 20);
    let report = Attack::new(
        "overlap, 5 x 16 MiB opcodes, 48 MiB budget",
        &bomb,
        Rule::ZipOverlappingMembers,
    )
    .budget(48 << 20)
    .run(&alone);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == Rule::ArchiveDecompressionBomb
                && f.message.contains("reached the decompression budget")),
        "{:#?}",
        report.findings
    );
}

#[test]
fn sixty_thousand_members_just_under_the_limit() {
    let alone = serial();
    // Under max_archive_members (65,536) every member is read and checked against the
    // directory; the checks were quadratic (seconds at this size in a debug build). The
    // last member is a payload: it must still be judged.
    let mut writer = zip::ZipWriter::new();
    for i in 0..60_000 {
        writer.stored(&format!("m{i}"), b"x");
    }
    let mut payload = vec![0x80, 4];
    payload.extend_from_slice(&formats::pickle_payload_ops());
    payload.push(b'.');
    writer.stored("last/data.pkl", &payload);
    let bomb = writer.finish();
    Attack::new(
        "zip of 60,000 members, payload last",
        &bomb,
        Rule::PickleDangerousGlobal,
    )
    .bound(Bound {
        time: Duration::from_secs(6),
        heap: 64 * MIB,
    })
    .run(&alone);
}

#[test]
fn thirty_thousand_members_each_with_an_entry_inside_it() {
    let alone = serial();
    // 60,000 directory entries, half of them inside the other half's data: each must be
    // placed among the members read (a scan of all members per entry was quadratic).
    let bomb = zip::entries_inside_members(30_000);
    let report = Attack::new(
        "zip: 30,000 entries inside 30,000 members",
        &bomb,
        Rule::ZipOverlappingMembers,
    )
    .bound(Bound {
        time: Duration::from_secs(6),
        heap: 64 * MIB,
    })
    .run(&alone);
    assert!(
        mentions(&report, "an overlap bomb"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_hundred_thousand_members() {
    let alone = serial();
    let bomb = zip::many_members(100_000, b"x");
    let report = Attack::new("zip of 100,000 members", &bomb, Rule::ScanLimitReached).run(&alone);
    assert!(
        mentions(&report, "max_archive_members"),
        "{:#?}",
        report.findings
    );
}

#[test]
#[ignore = "minutes in a debug build; run with --release -- --ignored to measure the default budget's cost"]
fn four_gigabytes_of_pickle_opcodes_under_the_default_budget() {
    let alone = serial();
    // What the default budget (4 GiB) allows: a 4 MB zip whose member is 4 GB of opcodes the
    // pickle reader must run. The directory's ratio check reports the bomb, but the member
    // fits the budget and is read to its end: this is the worst case of one inflation level.
    let (stream, len) = deflate::repeated(NONE_POP, 4_000_000_000);
    let crc = deflate::repeated_crc(NONE_POP, len).finalize();
    let bomb = zip::ZipWriter::new()
        .raw("data.pkl", zip::DEFLATED, &stream, len, crc)
        .finish();
    Attack::new(
        "zip: 4 GB of opcodes, default budget",
        &bomb,
        Rule::ArchiveDecompressionBomb,
    )
    .bound(Bound {
        time: Duration::from_secs(300),
        heap: 64 * MIB,
    })
    .whole_only()
    .run(&alone);
}
