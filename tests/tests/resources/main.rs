//! Resource attacks (issue 8, item 2): each hostile input ends in bounded time and bounded
//! memory with a finding, never a crash, a hang or a silent clean.
//!
//! Every test builds its attack in Rust ([`modelsieve_tests::attacks`]), scans it through the
//! whole-buffer entry point and through seeking drivers (reads as large as the scanner asks,
//! and short reads of 4 KiB), and asserts three things of each scan: the finding (a rule id),
//! the wall time and the peak heap. Time and heap are measured here: a clock around each scan,
//! and a counting global allocator ([`CountingAlloc`]), with every measured scan run alone
//! under one lock (see [`modelsieve_tests::heap`] for why a lock and not per-thread counters).
//!
//! Bounds suit a debug build on a loaded two-core CI machine and are still far below what
//! each attack costs without its limit (gigabytes, or minutes to hours). Attacks whose cost
//! is the inflation budget itself (pickle opcodes inflated at 1000:1, which the scanner must
//! run) are scanned with a smaller budget, so that the test shows the budget stops them
//! without spending minutes of a debug build on the default 4 GiB. Run with `--nocapture` to
//! see the measurements.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use modelsieve_core::{Limits, Policy, Report, Rule, Verdict, scan_bytes_with_limits};
use std::sync::MutexGuard;

pub(crate) use modelsieve_tests::heap::serial;
use modelsieve_tests::heap::{Cost, CountingAlloc, measure};
use modelsieve_tests::{comparable, scan_seeking_reads};

#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc::new();

/// One MiB.
const MIB: usize = 1 << 20;

/// What one scan may cost.
#[derive(Debug, Clone, Copy)]
struct Bound {
    /// Longest wall time allowed.
    time: Duration,
    /// Most heap allowed above what was in use when the scan started.
    heap: usize,
}

/// The usual bound: 20 s and 64 MiB (the naive reading of every attack here allocates
/// gigabytes or runs for minutes).
const BOUND: Bound = Bound {
    time: Duration::from_secs(20),
    heap: 64 * MIB,
};

/// Which drivers scan an attack besides the whole-buffer scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drivers {
    /// Seeking with full reads and with 4 KiB reads: for formats whose reader seeks
    /// (containers, HDF5, headers with data after them).
    Seeking,
    /// The whole-buffer scan only: for inputs read strictly in order, where a seeking driver
    /// reads exactly the same bytes and only doubles the test's time.
    Whole,
}

/// An attack: its name, bytes, the limits it is scanned with, and what must hold.
struct Attack<'a> {
    name: &'a str,
    bytes: &'a [u8],
    limits: Limits,
    rule: Rule,
    bound: Bound,
    drivers: Drivers,
    /// Whether a clean verdict is right (the finding is low: a file no loader opens).
    clean_ok: bool,
}

impl<'a> Attack<'a> {
    /// An attack on the default limits and bound, scanned by every driver.
    fn new(name: &'a str, bytes: &'a [u8], rule: Rule) -> Attack<'a> {
        Attack {
            name,
            bytes,
            limits: Limits::default(),
            rule,
            bound: BOUND,
            drivers: Drivers::Seeking,
            clean_ok: false,
        }
    }

    /// With an inflation budget of `bytes` instead of the default.
    fn budget(mut self, bytes: u64) -> Self {
        let mut limits = Limits::default();
        limits.max_inflated_bytes = bytes;
        self.limits = limits;
        self
    }

    /// With another bound.
    fn bound(mut self, bound: Bound) -> Self {
        self.bound = bound;
        self
    }

    /// Allows a clean verdict: the expected finding is low severity by design.
    fn clean_ok(mut self) -> Self {
        self.clean_ok = true;
        self
    }

    /// Scanned whole only.
    fn whole_only(mut self) -> Self {
        self.drivers = Drivers::Whole;
        self
    }

    /// Scans the attack with each driver, prints and bounds the cost of each scan, asserts
    /// the finding and that the drivers agree, and returns the whole-buffer report. `alone`
    /// is the test's guard of [`serial`].
    fn run(&self, alone: &MutexGuard<'static, ()>) -> Report {
        let policy = Policy::default();
        let (whole, cost) = measure(&HEAP, alone, || {
            scan_bytes_with_limits(self.bytes, &policy, self.limits)
        });
        self.check("whole", &whole, cost);
        if self.drivers == Drivers::Seeking {
            for (driver, max_read) in [("seeking", usize::MAX), ("seek 4K", 4096)] {
                let (report, cost) = measure(&HEAP, alone, || {
                    scan_seeking_reads(self.bytes, &policy, self.limits, max_read)
                });
                self.check(driver, &report, cost);
                assert_eq!(
                    comparable(&report),
                    comparable(&whole),
                    "{}: the {driver} driver disagrees with the whole-buffer scan",
                    self.name
                );
            }
        }
        whole
    }

    /// Prints one measurement and asserts its bounds and its finding.
    fn check(&self, driver: &str, report: &Report, cost: Cost) {
        let name = self.name;
        println!(
            "resources: {name:<46} {driver:<8} {cost}  {:>4} findings, {}",
            report.findings.len(),
            report.verdict
        );
        assert!(
            cost.time < self.bound.time,
            "{name} ({driver}): took {:?}, bound {:?}",
            cost.time,
            self.bound.time
        );
        assert!(
            cost.peak_heap < self.bound.heap,
            "{name} ({driver}): peak heap {} bytes, bound {}",
            cost.peak_heap,
            self.bound.heap
        );
        assert!(
            report.findings.iter().any(|f| f.rule == self.rule),
            "{name} ({driver}): no {} finding in {:#?}",
            self.rule.id(),
            report.findings
        );
        if !self.clean_ok {
            assert_ne!(report.verdict, Verdict::Clean, "{name} ({driver})");
        }
    }
}

/// Whether some finding has `text` in its message or evidence.
fn mentions(report: &Report, text: &str) -> bool {
    report.findings.iter().any(|f| {
        f.message.contains(text) || f.evidence.as_deref().is_some_and(|e| e.contains(text))
    })
}

/// Whether a finding of `rule` names `member`.
fn finding_on(report: &Report, rule: Rule, member: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.rule == rule && f.member.as_deref() == Some(member))
}

mod archives;
mod headers;
mod pickles;
