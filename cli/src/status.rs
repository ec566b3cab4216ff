//! Counts what a run produced and turns it into the exit code.
//!
//! 0: nothing at or above `--fail-on`; 1: a finding at or above it; 2: a usage or I/O error
//! (2 wins over 1, so a CI job never mistakes "could not look" for "looked and found").

use std::process::ExitCode;

use modelsieve_core::{Report, Severity, Verdict};

/// Exit status when nothing reaches the threshold.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status when a finding reaches the threshold.
pub(crate) const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage errors, unreadable paths and output failures.
pub(crate) const EXIT_ERROR: u8 = 2;

/// Running totals of one `scan` invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    threshold: Severity,
    /// Files that produced a report.
    pub(crate) scanned: usize,
    /// Reports with verdict `dangerous`.
    pub(crate) dangerous: usize,
    /// Reports with verdict `suspicious`.
    pub(crate) suspicious: usize,
    /// Reports with verdict `clean`.
    pub(crate) clean: usize,
    /// Reports with a finding at or above the threshold.
    pub(crate) failing: usize,
    /// Paths that could not be read, and output that could not be written.
    pub(crate) errors: usize,
}

impl Tally {
    /// An empty tally judged against `threshold` (`--fail-on`).
    pub(crate) fn new(threshold: Severity) -> Tally {
        Tally {
            threshold,
            scanned: 0,
            dangerous: 0,
            suspicious: 0,
            clean: 0,
            failing: 0,
            errors: 0,
        }
    }

    /// Whether `report` fails the run's threshold.
    pub(crate) fn fails(&self, report: &Report) -> bool {
        report.fails(self.threshold)
    }

    /// Counts one report.
    pub(crate) fn record(&mut self, report: &Report) {
        self.scanned += 1;
        match report.verdict {
            Verdict::Dangerous => self.dangerous += 1,
            Verdict::Suspicious => self.suspicious += 1,
            Verdict::Clean => self.clean += 1,
        }
        if self.fails(report) {
            self.failing += 1;
        }
    }

    /// Counts one error.
    pub(crate) fn record_error(&mut self) {
        self.errors += 1;
    }

    /// The process exit status: errors first, then failing findings.
    pub(crate) fn status(&self) -> u8 {
        if self.errors > 0 {
            EXIT_ERROR
        } else if self.failing > 0 {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        }
    }

    /// [`Tally::status`] as an [`ExitCode`].
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.status())
    }
}

#[cfg(test)]
mod tests {
    use modelsieve_core::{Finding, Format, Rule};

    use super::*;

    fn report(severity: Option<Severity>) -> Report {
        let findings: Vec<Finding> = severity
            .map(|severity| Finding {
                rule: Rule::PickleUnknownGlobal,
                severity,
                member: None,
                offset: Some(0),
                message: String::from("m"),
                evidence: None,
            })
            .into_iter()
            .collect();
        Report {
            path: String::from("p"),
            format: Format::Pickle,
            verdict: Verdict::from_findings(&findings),
            bytes_read: 0,
            size: None,
            findings,
        }
    }

    #[test]
    fn threshold_decides_between_zero_and_one() {
        let mut tally = Tally::new(Severity::Medium);
        tally.record(&report(Some(Severity::Low)));
        assert_eq!(tally.status(), EXIT_OK);
        tally.record(&report(Some(Severity::Medium)));
        assert_eq!(tally.status(), EXIT_FINDINGS);
        assert_eq!((tally.clean, tally.suspicious, tally.failing), (1, 1, 1));
    }

    #[test]
    fn errors_win_over_findings() {
        let mut tally = Tally::new(Severity::Info);
        tally.record(&report(Some(Severity::Critical)));
        tally.record_error();
        assert_eq!(tally.status(), EXIT_ERROR);
    }
}
