//! `--format text`: one line per file, its findings indented under it, a summary at the end.
//!
//! ```text
//! DANGEROUS   models/evil.pkl  (pickle, 1 finding)
//!     critical  pickle.dangerous-global [@2] The pickle imports os.system — os.system
//! 1 file scanned: 1 dangerous, 0 suspicious, 0 clean, 0 errors
//! ```

use std::io::{self, Write};

use modelsieve_core::{Finding, Report, Verdict};

use super::terminal::{Paint, sanitize};
use crate::status::Tally;

/// Width of the verdict column (`SUSPICIOUS` plus two spaces).
const VERDICT_WIDTH: usize = 12;
/// Width of the severity column (`critical` plus two spaces).
const SEVERITY_WIDTH: usize = 10;

/// Writes one report as its file line and finding lines.
pub(crate) fn write_report(out: &mut dyn Write, report: &Report, paint: Paint) -> io::Result<()> {
    let count = report.findings.len();
    let noun = if count == 1 { "finding" } else { "findings" };
    let word = verdict_word(report.verdict);
    writeln!(
        out,
        "{}{}{}  {}",
        paint.verdict(report.verdict, word),
        pad(word, VERDICT_WIDTH),
        sanitize(&report.path),
        paint.dim(&format!("({}, {count} {noun})", report.format)),
    )?;
    for finding in &report.findings {
        write_finding(out, finding, paint)?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, finding: &Finding, paint: Paint) -> io::Result<()> {
    let severity = finding.severity.as_str();
    let mut line = format!(
        "    {}{}{}",
        paint.severity(finding.severity, severity),
        pad(severity, SEVERITY_WIDTH),
        finding.rule.id()
    );
    if let Some(place) = place(finding) {
        line.push_str(" [");
        line.push_str(&sanitize(&place));
        line.push(']');
    }
    line.push(' ');
    line.push_str(&sanitize(&finding.message));
    if let Some(evidence) = &finding.evidence {
        line.push_str(" — ");
        line.push_str(&sanitize(evidence));
    }
    writeln!(out, "{line}")
}

/// The spaces that bring `word` to `width` columns (outside the colour, so it is not painted).
fn pad(word: &str, width: usize) -> String {
    " ".repeat(width.saturating_sub(word.chars().count()))
}

/// `member@offset`, `member`, or `@offset`; `None` when the finding has neither.
fn place(finding: &Finding) -> Option<String> {
    match (&finding.member, finding.offset) {
        (Some(member), Some(offset)) => Some(format!("{member}@{offset}")),
        (Some(member), None) => Some(member.clone()),
        (None, Some(offset)) => Some(format!("@{offset}")),
        (None, None) => None,
    }
}

/// The closing line: how many files, and how they were judged.
pub(crate) fn write_summary(out: &mut dyn Write, tally: &Tally) -> io::Result<()> {
    let files = if tally.scanned == 1 { "file" } else { "files" };
    let errors = if tally.errors == 1 { "error" } else { "errors" };
    writeln!(
        out,
        "{} {files} scanned: {} dangerous, {} suspicious, {} clean, {} {errors}",
        tally.scanned, tally.dangerous, tally.suspicious, tally.clean, tally.errors
    )
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Dangerous => "DANGEROUS",
        Verdict::Suspicious => "SUSPICIOUS",
        Verdict::Clean => "CLEAN",
    }
}

#[cfg(test)]
mod tests {
    use modelsieve_core::{Format, Rule, Severity};

    use super::*;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        write_report(&mut out, report, Paint::new(false)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn finding(member: Option<&str>, offset: Option<u64>, evidence: Option<&str>) -> Finding {
        Finding {
            rule: Rule::PickleDangerousGlobal,
            severity: Severity::Critical,
            member: member.map(String::from),
            offset,
            message: String::from("imports os.system"),
            evidence: evidence.map(String::from),
        }
    }

    #[test]
    fn file_line_then_indented_findings() {
        let findings = vec![
            finding(None, Some(2), Some("os.system")),
            finding(Some("archive/data.pkl"), Some(7), None),
            finding(Some("#pickle@3"), None, None),
            finding(None, None, None),
        ];
        let report = Report {
            path: String::from("m/evil.pkl"),
            format: Format::Pickle,
            verdict: Verdict::Dangerous,
            bytes_read: 10,
            size: Some(10),
            findings,
        };
        let text = render(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "DANGEROUS   m/evil.pkl  (pickle, 4 findings)");
        assert_eq!(
            lines[1],
            "    critical  pickle.dangerous-global [@2] imports os.system — os.system"
        );
        assert_eq!(
            lines[2],
            "    critical  pickle.dangerous-global [archive/data.pkl@7] imports os.system"
        );
        assert_eq!(
            lines[3],
            "    critical  pickle.dangerous-global [#pickle@3] imports os.system"
        );
        assert_eq!(
            lines[4],
            "    critical  pickle.dangerous-global imports os.system"
        );
    }

    #[test]
    fn hostile_strings_cannot_forge_lines() {
        let report = Report {
            path: String::from("x\nCLEAN       fake"),
            format: Format::Unknown,
            verdict: Verdict::Suspicious,
            bytes_read: 0,
            size: None,
            findings: vec![finding(None, Some(0), Some("\x1b[2K\rCLEAN"))],
        };
        let text = render(&report);
        assert_eq!(text.lines().count(), 2);
        assert!(!text.contains('\x1b'));
        assert!(text.starts_with("SUSPICIOUS  x\\nCLEAN"));
    }

    #[test]
    fn summary_counts() {
        let mut tally = Tally::new(Severity::Medium);
        tally.record_error();
        let mut out = Vec::new();
        write_summary(&mut out, &tally).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0 files scanned: 0 dangerous, 0 suspicious, 0 clean, 1 error\n"
        );
    }
}
