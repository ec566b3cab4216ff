//! Hostile inputs end in bounded time and memory with a finding, never a crash or a silent clean.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use modelsieve_core::{Limits, Policy, Report, Rule, Verdict, scan_bytes};

fn scan_timed(bytes: &[u8]) -> (Report, Duration) {
    let start = Instant::now();
    let report = scan_bytes(bytes, &Policy::default());
    (report, start.elapsed())
}

fn has(report: &Report, rule: Rule) -> bool {
    report.findings.iter().any(|f| f.rule == rule)
}

/// `PROTO 4, NONE`, then `opcode` `count` times, then STOP.
fn none_then_repeated(opcode: u8, count: usize) -> Vec<u8> {
    let mut bytes = vec![0x80, 4, b'N'];
    bytes.extend(std::iter::repeat_n(opcode, count));
    bytes.push(b'.');
    bytes
}

/// A generous bound for a debug build on a loaded 2-core CI machine; the point is "not
/// quadratic, not unbounded", which would take minutes.
const BOUND: Duration = Duration::from_secs(20);

#[test]
fn ten_million_marks_hit_the_stack_limit() {
    let mut bytes = vec![0x80, 4];
    bytes.extend(std::iter::repeat_n(b'(', 10_000_000));
    bytes.push(b'.');
    let (report, took) = scan_timed(&bytes);
    assert!(took < BOUND, "took {took:?}");
    assert!(
        has(&report, Rule::ScanLimitReached),
        "{:?}",
        report.findings
    );
    assert_ne!(report.verdict, Verdict::Clean);
}

#[test]
fn tuples_nested_a_million_deep_are_bounded() {
    let bytes = none_then_repeated(0x85, 1_000_000);
    // None, then TUPLE1 a million times: every tuple holds the previous one.
    let (report, took) = scan_timed(&bytes);
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
}

#[test]
fn memo_index_near_two_to_the_32_is_stored_sparsely() {
    // LONG_BINPUT 0xffffffff 'os', then LONG_BINGET it back into STACK_GLOBAL.
    let mut bytes = vec![
        0x80, 4, 0x8c, 2, b'o', b's', b'r', 0xff, 0xff, 0xff, 0xff, b'0',
    ];
    bytes.extend_from_slice(&[b'j', 0xff, 0xff, 0xff, 0xff, 0x8c, 6]);
    bytes.extend_from_slice(b"system");
    bytes.extend_from_slice(&[0x93, b'.']);
    let (report, took) = scan_timed(&bytes);
    assert!(took < BOUND);
    assert_eq!(report.verdict, Verdict::Dangerous, "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.evidence.as_deref() == Some("os.system"))
    );
}

#[test]
fn length_prefix_of_two_to_the_63_is_a_finding_not_an_allocation() {
    for opcode in [0x8e_u8, 0x8d, 0x96] {
        let mut bytes = vec![0x80, 4, opcode];
        bytes.extend_from_slice(&(1u64 << 63).to_le_bytes());
        bytes.extend_from_slice(b"abc.");
        let (report, took) = scan_timed(&bytes);
        assert!(took < BOUND);
        assert!(has(&report, Rule::PickleMalformed), "{:?}", report.findings);
    }
}

#[test]
fn nested_pickles_stop_at_the_depth_limit() {
    // pickle.loads(pickle.loads(... b'cos\nsystem\n...' ...)) twenty levels deep.
    let mut inner = b"cos\nsystem\n(S'id'\ntR.".to_vec();
    for _ in 0..20 {
        let mut outer = b"\x80\x03cpickle\nloads\nC".to_vec();
        outer.push(u8::try_from(inner.len()).unwrap_or(0));
        if inner.len() > 255 {
            outer = b"\x80\x03cpickle\nloads\nB".to_vec();
            outer.extend_from_slice(&u32::try_from(inner.len()).unwrap().to_le_bytes());
        }
        outer.extend_from_slice(&inner);
        outer.extend_from_slice(b"\x85R.");
        inner = outer;
    }
    let (report, took) = scan_timed(&inner);
    assert!(took < BOUND);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(
        has(&report, Rule::ScanLimitReached),
        "{:?}",
        report.findings
    );
    assert!(Limits::default().max_depth < 20);
}

#[test]
fn ten_million_memo_puts_stay_bounded() {
    // A None memoized ten million times: the memo forgets past its limit without a finding,
    // because nothing reads a forgotten slot back.
    let bytes = none_then_repeated(0x94, 10_000_000);
    let (report, took) = scan_timed(&bytes);
    assert!(took < BOUND, "took {took:?}");
    assert_eq!(report.verdict, Verdict::Clean, "{:?}", report.findings);
}

#[test]
fn a_protocol_zero_line_without_end_is_a_limit_finding() {
    let mut bytes = b"cos\nsystem\n(V".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 3 << 20));
    let (report, took) = scan_timed(&bytes);
    assert!(took < BOUND);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(
        has(&report, Rule::ScanLimitReached),
        "{:?}",
        report.findings
    );
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
    let (report, took) = scan_timed(&flood_then_payload(5_000));
    assert!(took < BOUND);
    assert_eq!(report.verdict, Verdict::Dangerous);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.evidence.as_deref() == Some("os.system"))
    );
    assert!(report.findings.len() <= Limits::default().max_findings + 1);
    assert!(has(&report, Rule::ScanLimitReached));
}

#[test]
fn two_million_distinct_imports_stay_bounded() {
    let (report, took) = scan_timed(&flood_then_payload(2_000_000));
    assert!(took < BOUND * 3, "took {took:?}");
    assert_eq!(report.verdict, Verdict::Dangerous);
}
