//! Collects findings for one file: applies the policy's severity overrides, caps their number,
//! and drops exact repeats.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::policy::Policy;
use crate::report::{Finding, Severity};
use crate::rules::Rule;

/// Identifies repeats: the same rule on the same member with the same evidence.
type RepeatKey = (Rule, Option<String>, String);

/// The growing list of findings of one scan.
#[derive(Debug)]
pub(crate) struct Findings {
    policy: Policy,
    list: Vec<Finding>,
    repeats: BTreeMap<RepeatKey, usize>,
    max: usize,
    dropped: u64,
    /// Lowest severity in `list` once it is full; recomputed after a replacement.
    full_min: Option<Severity>,
}

impl Findings {
    pub(crate) fn new(policy: Policy, max: usize) -> Findings {
        Findings {
            policy,
            list: Vec::new(),
            repeats: BTreeMap::new(),
            max: max.max(1),
            dropped: 0,
            full_min: None,
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Records a finding and returns its index (for later enrichment), or `None` when it was a
    /// repeat or was dropped.
    ///
    /// When the list is full, a finding more severe than the least severe one kept replaces it:
    /// a file that opens with a thousand harmless oddities cannot push its payload out of the
    /// report, and the verdict is never understated.
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
        let key = evidence.as_ref().map(|e| (rule, member.clone(), e.clone()));
        if let Some(&i) = key.as_ref().and_then(|k| self.repeats.get(k)) {
            if let Some(existing) = self.list.get_mut(i)
                && severity > existing.severity
            {
                existing.severity = severity;
                existing.message = message;
                self.full_min = None;
            }
            return None;
        }
        let finding = Finding {
            rule,
            severity,
            member,
            offset,
            message,
            evidence,
        };
        let index = if self.list.len() < self.max {
            self.list.push(finding);
            self.list.len() - 1
        } else {
            self.dropped += 1;
            let min = match self.full_min {
                Some(min) => min,
                None => {
                    let min = self
                        .list
                        .iter()
                        .map(|f| f.severity)
                        .min()
                        .unwrap_or(Severity::Info);
                    self.full_min = Some(min);
                    min
                }
            };
            if severity <= min {
                return None;
            }
            let victim = self.list.iter().position(|f| f.severity == min)?;
            let old = core::mem::replace(self.list.get_mut(victim)?, finding);
            if let Some(e) = old.evidence {
                self.repeats.remove(&(old.rule, old.member, e));
            }
            self.full_min = None;
            victim
        };
        if let Some(k) = key {
            self.repeats.insert(k, index);
        }
        Some(index)
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

    /// An empty sink with the same policy and size, for a reading whose findings are kept
    /// only if it turns out to be the right one.
    pub(crate) fn empty_like(&self) -> Findings {
        Findings::new(self.policy.clone(), self.max)
    }

    /// Moves in the findings of another sink for this same input (already graded by the
    /// same policy).
    pub(crate) fn absorb(&mut self, other: Vec<Finding>) {
        for f in other {
            self.push(
                f.rule,
                f.severity,
                f.member.as_deref(),
                f.offset,
                f.message,
                f.evidence,
            );
        }
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
                    "{} findings were dropped to keep the report at {} (the most severe were kept)",
                    self.dropped, self.max
                ),
                evidence: None,
            });
        }
        self.list
    }
}
