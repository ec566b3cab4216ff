//! Member names and link targets: the ones that escape the extraction folder, and names used
//! twice.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::header::{self, Kind};
use crate::findings::Findings;
use crate::paths;
use crate::report::Severity;
use crate::rules::Rule;

/// The names seen so far, normalised, within `max_directory_bytes`.
#[derive(Debug, Default)]
pub(super) struct Names {
    seen: BTreeSet<Vec<u8>>,
    bytes: usize,
    full: bool,
}

impl Names {
    /// Reports a member name (`display` is its text) that escapes the extraction folder or
    /// repeats an earlier one. Directories may repeat; `limit` bounds the names kept.
    pub(super) fn check(
        &mut self,
        name: &[u8],
        display: &str,
        at: u64,
        kind: Kind,
        limit: usize,
        findings: &mut Findings,
    ) {
        if let Some(why) = paths::unsafe_path(display) {
            // A backslash alone only matters where it is a separator: the name is safe once
            // backslashes are read as slashes.
            let backslash_only = paths::unsafe_path(&display.replace('\\', "/")).is_none();
            let severity = if backslash_only {
                Severity::Medium
            } else {
                Severity::High
            };
            findings.push(
                Rule::ArchiveUnsafePath,
                severity,
                Some(display),
                Some(at),
                format!("member name {display} {why}"),
                Some(String::from(display)),
            );
        }
        if kind == Kind::Directory {
            return;
        }
        let key = header::normalized(name);
        if self.seen.contains(&key) {
            findings.rule(
                Rule::ArchiveDuplicateName,
                Some(display),
                Some(at),
                format!("another member is also named `{display}`; tarfile's getmember and extraction use the last one, other readers the first"),
                Some(String::from(display)),
            );
        } else if self.bytes + key.len() > limit {
            if !self.full {
                self.full = true;
                findings.rule(
                    Rule::ScanLimitReached,
                    None,
                    Some(at),
                    String::from("member names exceed max_directory_bytes; later members were not checked for duplicate names"),
                    Some(String::from("max_directory_bytes")),
                );
            }
        } else {
            self.bytes += key.len();
            self.seen.insert(key);
        }
    }
}

/// Reports a link member `display` pointing at `target`, at the rule's severity (medium): the
/// link itself is what extraction makes dangerous. A target that is absolute or climbs out
/// with `..` (either separator) is named as such in the message.
pub(super) fn link(display: &str, target: &[u8], kind: Kind, at: u64, findings: &mut Findings) {
    let target_text = String::from_utf8_lossy(target).into_owned();
    let what = if kind == Kind::SymLink {
        "symbolic link"
    } else {
        "hard link"
    };
    let note = paths::unsafe_path(&target_text.replace('\\', "/"))
        .map(|why| format!("; the target {why}"))
        .unwrap_or_default();
    findings.rule(
        Rule::ArchiveLinkMember,
        Some(display),
        Some(at),
        format!("member `{display}` is a {what} to `{target_text}`{note}"),
        Some(target_text),
    );
}
