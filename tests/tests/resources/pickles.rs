//! Pickles that would exhaust a naive unpickler or opcode walker: marks, memo, nesting,
//! length prefixes, nested loads and floods. (Moved here from `limits.rs`, with time and heap
//! measured.)

use modelsieve_core::{Limits, Policy, Rule, Verdict, scan_bytes};
use modelsieve_tests::attacks::formats::{pickle_payload_ops, pickle_repeated};
use modelsieve_tests::heap::measure;

use super::{Attack, BOUND, Bound, HEAP, MIB, mentions, serial};
use std::time::Duration;

/// PICKLE opcodes used below.
const MARK: u8 = b'(';
const TUPLE1: u8 = 0x85;
const MEMOIZE: u8 = 0x94;

/// Whether the report names `os.system` as evidence.
fn calls_os_system(report: &modelsieve_core::Report) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.evidence.as_deref() == Some("os.system"))
}

#[test]
fn ten_million_marks() {
    let alone = serial();
    let bytes = pickle_repeated(MARK, 10_000_000, false);
    let report = Attack::new("pickle: 10 million MARKs", &bytes, Rule::ScanLimitReached)
        .whole_only()
        .run(&alone);
    assert!(
        mentions(&report, "max_stack_values") || mentions(&report, "stack"),
        "{:#?}",
        report.findings
    );
}

#[test]
fn memo_index_near_two_to_the_32() {
    let alone = serial();
    // LONG_BINPUT 0xffffffff 'os', LONG_BINGET it back into STACK_GLOBAL: a dense memo
    // would allocate 4 G slots.
    let mut bytes = vec![
        0x80, 4, 0x8c, 2, b'o', b's', b'r', 0xff, 0xff, 0xff, 0xff, b'0',
    ];
    bytes.extend_from_slice(&[b'j', 0xff, 0xff, 0xff, 0xff, 0x8c, 6]);
    bytes.extend_from_slice(b"system");
    bytes.extend_from_slice(&[0x93, b'.']);
    let report = Attack::new(
        "pickle: memo index 2^32 - 1",
        &bytes,
        Rule::PickleDangerousGlobal,
    )
    .whole_only()
    .run(&alone);
    assert!(calls_os_system(&report));
}

#[test]
fn tuples_nested_a_million_deep_around_a_payload() {
    let alone = serial();
    // os.system('id'), then TUPLE1 a million times: each tuple holds the previous one. A
    // recursive walker of the result would overflow its stack.
    let mut bytes = vec![0x80, 4];
    bytes.extend_from_slice(&pickle_payload_ops());
    bytes.extend(std::iter::repeat_n(TUPLE1, 1_000_000));
    bytes.push(b'.');
    let report = Attack::new(
        "pickle: tuples 1M deep around os.system",
        &bytes,
        Rule::PickleDangerousGlobal,
    )
    .whole_only()
    .run(&alone);
    assert!(calls_os_system(&report));
}

#[test]
fn tuples_nested_a_million_deep_alone_are_clean() {
    let alone = serial();
    // The same nesting around None: Python loads it without harm, so a finding would be a
    // false positive. Bounded all the same.
    let bytes = pickle_repeated(TUPLE1, 1_000_000, true);
    let (report, cost) = measure(&HEAP, &alone, || scan_bytes(&bytes, &Policy::default()));
    println!(
        "resources: {:<46} {:<8} {cost}",
        "pickle: tuples 1M deep around None", "whole"
    );
    assert!(
        cost.time < BOUND.time && cost.peak_heap < BOUND.heap,
        "{cost}"
    );
    assert_eq!(report.verdict, Verdict::Clean, "{:#?}", report.findings);
}

#[test]
fn length_prefixes_of_two_to_the_63() {
    let alone = serial();
    for (opcode, name) in [
        (0x8e_u8, "BINBYTES8"),
        (0x8d, "BINUNICODE8"),
        (0x96, "BYTEARRAY8"),
    ] {
        let mut bytes = vec![0x80, 4, opcode];
        bytes.extend_from_slice(&(1u64 << 63).to_le_bytes());
        bytes.extend_from_slice(b"abc.");
        let what = format!("pickle: {name} of 2^63 bytes");
        Attack::new(&what, &bytes, Rule::PickleMalformed)
            .whole_only()
            .run(&alone);
    }
}

#[test]
fn pickles_loaded_from_pickles_twenty_deep() {
    let alone = serial();
    // pickle.loads(pickle.loads(... b'cos\nsystem\n...' ...)) twenty levels deep.
    let mut inner = b"cos\nsystem\n(S'id'\ntR.".to_vec();
    for _ in 0..20 {
        let mut outer = b"\x80\x03cpickle\nloads\n".to_vec();
        match u8::try_from(inner.len()) {
            Ok(len) => outer.extend_from_slice(&[b'C', len]),
            Err(_) => {
                outer.push(b'B');
                outer.extend_from_slice(&u32::try_from(inner.len()).unwrap().to_le_bytes());
            }
        }
        outer.extend_from_slice(&inner);
        outer.extend_from_slice(b"\x85R.");
        inner = outer;
    }
    assert!(Limits::default().max_depth < 20);
    let report = Attack::new(
        "pickle: pickle.loads nested 20 deep",
        &inner,
        Rule::ScanLimitReached,
    )
    .whole_only()
    .run(&alone);
    assert_eq!(report.verdict, Verdict::Dangerous);
}

#[test]
fn ten_million_memo_slots_then_a_payload() {
    let alone = serial();
    // None memoized ten million times: past its limit the memo forgets (nothing reads a
    // forgotten slot back), and the payload after it is still found.
    let mut bytes = vec![0x80, 4, b'N'];
    bytes.extend(std::iter::repeat_n(MEMOIZE, 10_000_000));
    bytes.extend_from_slice(&pickle_payload_ops());
    bytes.push(b'.');
    // The memo keeps max_memo_entries (4 Mi) slots of 16 bytes: 64 MiB, and 96 MiB while
    // its vector last doubles.
    let report = Attack::new(
        "pickle: 10M memo slots, then os.system",
        &bytes,
        Rule::PickleDangerousGlobal,
    )
    .whole_only()
    .bound(Bound {
        time: BOUND.time,
        heap: 128 * MIB,
    })
    .run(&alone);
    assert!(calls_os_system(&report));
}

#[test]
fn a_protocol_zero_line_without_end() {
    let alone = serial();
    let mut bytes = b"cos\nsystem\n(V".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 3 << 20));
    let report = Attack::new(
        "pickle: 3 MiB protocol-0 line",
        &bytes,
        Rule::ScanLimitReached,
    )
    .whole_only()
    .run(&alone);
    assert_eq!(report.verdict, Verdict::Dangerous);
}

/// `n` distinct harmless-looking imports, each popped, then `os.system('id')`.
fn flood_then_payload(n: usize) -> Vec<u8> {
    let mut bytes = b"\x80\x02".to_vec();
    for i in 0..n {
        bytes.extend_from_slice(format!("cpkg{i}\nName\n0").as_bytes());
    }
    bytes.extend_from_slice(b"cos\nsystem\nU\x02id\x85R.");
    bytes
}

#[test]
fn a_flood_of_findings_cannot_push_the_payload_out() {
    let alone = serial();
    let bytes = flood_then_payload(5_000);
    let report = Attack::new(
        "pickle: 5,000 unknown imports, then os.system",
        &bytes,
        Rule::ScanLimitReached,
    )
    .whole_only()
    .run(&alone);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(calls_os_system(&report));
    assert!(report.findings.len() <= Limits::default().max_findings + 1);
}

#[test]
fn two_million_distinct_imports() {
    let alone = serial();
    let bytes = flood_then_payload(2_000_000);
    let report = Attack::new(
        "pickle: 2M distinct imports, then os.system",
        &bytes,
        Rule::PickleDangerousGlobal,
    )
    .whole_only()
    .bound(Bound {
        time: Duration::from_secs(60),
        heap: 96 * MIB,
    })
    .run(&alone);
    assert!(calls_os_system(&report));
}
