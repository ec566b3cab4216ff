//! Collects findings for one file: applies the policy's severity overrides, caps their number,
//! and drops exact repeats.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rules::Rule;

/// The growing list of findings of one scan.
#[derive(Debug)]
pub(crate) struct Findings {
    policy: Policy,
    list: Vec<Finding>,
    max: usize,
    dropped: u64,
}

impl Findings {
    pub(crate) fn new(policy: Policy, max: usize) -> Findings {
        Findings {
            policy,
            list: Vec::new(),
            max,
            dropped: 0,
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Records a finding and returns its index (for later enrichment), or `None` when it was a
    /// repeat or the cap was reached.
    pub(crate) fn push(
        &mut self,
        rule: Rule,
        severity: Severity,
        member: Option<&str>,
        offset: Option<u64>,
        message: String,
        evidence: Option<String>,
    ) -> Option<usize> {
        let severity = self.policy.severity(rule, severity);
        let member = member.map(String::from);
        // One finding per (rule, member, evidence): a pickle that calls os.system a thousand
        // times is one fact, reported at its first occurrence.
        if evidence.is_some()
            && let Some(i) = self
                .list
                .iter()
                .position(|f| f.rule == rule && f.member == member && f.evidence == evidence)
        {
            if let Some(existing) = self.list.get_mut(i)
                && severity > existing.severity
            {
                existing.severity = severity;
                existing.message = message;
            }
            return None;
        }
        if self.list.len() >= self.max {
            self.dropped += 1;
            return None;
        }
        self.list.push(Finding {
            rule,
            severity,
            member,
            offset,
            message,
            evidence,
        });
        Some(self.list.len() - 1)
    }

    /// Records a finding at the rule's default severity.
    pub(crate) fn rule(
        &mut self,
        rule: Rule,
        member: Option<&str>,
        offset: Option<u64>,
        message: String,
        evidence: Option<String>,
    ) -> Option<usize> {
        self.push(
            rule,
            rule.default_severity(),
            member,
            offset,
            message,
            evidence,
        )
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Finding> {
        self.list.get_mut(index)
    }

    /// Moves findings of a nested scan in; their members are placed under `path`.
    pub(crate) fn absorb_under(&mut self, path: &str, nested: Vec<Finding>) {
        for f in nested {
            let member = match &f.member {
                Some(inner) => format!("{path}/{inner}"),
                None => String::from(path),
            };
            self.push(
                f.rule,
                f.severity,
                Some(&member),
                f.offset,
                f.message,
                f.evidence,
            );
        }
    }

    pub(crate) fn into_vec(mut self) -> Vec<Finding> {
        if self.dropped > 0 {
            self.list.push(Finding {
                rule: Rule::ScanLimitReached,
                severity: self
                    .policy
                    .severity(Rule::ScanLimitReached, Severity::Medium),
                member: None,
                offset: None,
                message: format!(
                    "{} further findings were dropped after the first {}",
                    self.dropped, self.max
                ),
                evidence: None,
            });
        }
        self.list
    }
}
