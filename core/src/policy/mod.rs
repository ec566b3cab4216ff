//! What a pickle may import: the built-in allow and deny tables plus the user's overrides.
//!
//! Precedence, strongest first: user deny, user allow, built-in deny, built-in allow, unknown.
//! The built-in denylist wins over the built-in allowlist, so an allowlisted subtree can never
//! hide a dangerous name inside it. A user who allows a name takes responsibility for it.

mod instances;
mod tables;

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use serde::Deserialize;

use crate::report::Severity;
use crate::rules::Rule;

pub(crate) use tables::NESTED_LOADERS;

/// How the policy judges one imported name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalClass {
    /// On an allowlist: ordinary for model files.
    Allowed,
    /// On a denylist.
    Denied {
        /// Severity of the finding.
        severity: Severity,
        /// The deny entry that matched (`os` for `os.path.join`).
        matched: String,
        /// Why the entry is dangerous.
        reason: Cow<'static, str>,
    },
    /// On neither list.
    Unknown,
}

/// An error in a user policy file, with a message that names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid policy: {}", self.message)
    }
}

impl core::error::Error for PolicyError {}

/// The allow/deny tables and severity overrides that a scan judges imports with.
///
/// Cheap to clone (shared); build one per process with [`Policy::default`] or
/// [`Policy::from_json`] and hand clones to every scanner.
#[derive(Debug, Clone)]
pub struct Policy {
    tables: Arc<Tables>,
}

#[derive(Debug)]
struct Tables {
    builtin_deny: BTreeMap<&'static str, tables::DenyEntry>,
    builtin_allow: BTreeMap<&'static str, ()>,
    user_deny: BTreeMap<String, (Severity, String)>,
    user_allow: BTreeMap<String, Scope>,
    severity_overrides: BTreeMap<Rule, Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Exact,
    Subtree,
}

impl Default for Policy {
    /// The built-in tables with no user overrides.
    fn default() -> Policy {
        Policy::with_overrides(Overrides::default())
    }
}

/// The JSON policy file, as written by a user.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<DenyOverride>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DenyOverride {
    Path(String),
    Entry {
        path: String,
        #[serde(default)]
        severity: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
}

impl Policy {
    /// Builds a policy from a JSON document on top of the built-in tables:
    ///
    /// ```json
    /// { "allow": ["mypkg.layers.Custom", "mypkg.blocks.*"],
    ///   "deny": ["mypkg.unsafe", { "path": "numpy.load", "severity": "high", "reason": "loads files" }],
    ///   "severity": { "pickle.unknown-global": "low" } }
    /// ```
    ///
    /// `allow` entries are exact dotted paths, or subtrees when they end in `.*`. `deny` entries
    /// match their path and every dotted child, at `critical` unless a severity is given.
    /// `severity` re-grades every finding of a rule.
    pub fn from_json(json: &str) -> Result<Policy, PolicyError> {
        let overrides: Overrides = serde_json::from_str(json).map_err(|e| PolicyError {
            message: e.to_string(),
        })?;
        for path in overrides
            .allow
            .iter()
            .map(String::as_str)
            .chain(overrides.deny.iter().map(|d| d.path()))
        {
            validate_path(path)?;
        }
        for (rule, severity) in &overrides.severity {
            Rule::from_id(rule).ok_or_else(|| PolicyError {
                message: format!("unknown rule id {rule:?}"),
            })?;
            parse_severity(severity)?;
        }
        for entry in &overrides.deny {
            if let DenyOverride::Entry {
                severity: Some(s), ..
            } = entry
            {
                parse_severity(s)?;
            }
        }
        Ok(Policy::with_overrides(overrides))
    }

    fn with_overrides(overrides: Overrides) -> Policy {
        let builtin_deny = tables::DENY.iter().map(|e| (e.path, *e)).collect();
        let builtin_allow = tables::ALLOW_EXACT.iter().map(|p| (*p, ())).collect();
        let user_allow = overrides
            .allow
            .into_iter()
            .map(|p| match p.strip_suffix(".*") {
                Some(prefix) => (prefix.to_string(), Scope::Subtree),
                None => (p, Scope::Exact),
            })
            .collect();
        let user_deny = overrides
            .deny
            .into_iter()
            .map(|d| match d {
                DenyOverride::Path(path) => (
                    path,
                    (
                        Severity::Critical,
                        String::from("denied by the user's policy"),
                    ),
                ),
                DenyOverride::Entry {
                    path,
                    severity,
                    reason,
                } => {
                    let severity = severity
                        .as_deref()
                        .and_then(Severity::parse)
                        .unwrap_or(Severity::Critical);
                    let reason =
                        reason.unwrap_or_else(|| String::from("denied by the user's policy"));
                    (path, (severity, reason))
                }
            })
            .collect();
        let severity_overrides = overrides
            .severity
            .iter()
            .filter_map(|(rule, sev)| Some((Rule::from_id(rule)?, Severity::parse(sev)?)))
            .collect();
        Policy {
            tables: Arc::new(Tables {
                builtin_deny,
                builtin_allow,
                user_deny,
                user_allow,
                severity_overrides,
            }),
        }
    }

    /// The severity a finding of `rule` gets: the user's override if any, else `proposed`.
    pub fn severity(&self, rule: Rule, proposed: Severity) -> Severity {
        self.tables
            .severity_overrides
            .get(&rule)
            .copied()
            .unwrap_or(proposed)
    }

    /// Judges the import of `name` from `module`, as a pickle GLOBAL/STACK_GLOBAL would do it.
    ///
    /// `name` may be dotted (protocol 4 resolves it attribute by attribute), so every dotted tail
    /// of it is judged too: `pathlib` + `os.system` reaches `os.system` through `pathlib.os`.
    /// Python 2 module names are judged under their Python 3 names as well.
    pub fn classify(&self, module: &str, name: &str) -> GlobalClass {
        let mut candidates: Vec<String> = Vec::with_capacity(4);
        candidates.push(join(module, name));
        let (alias_module, alias_name) = alias(module, name);
        if alias_module != module || alias_name != name {
            candidates.push(join(alias_module, alias_name));
        }
        // Each attribute step of a dotted name may land on a module that the first one
        // imported (`pathlib` + `os.system` is `pathlib.os.system`, which is `os.system`):
        // judge the name and every dotted tail of it as a path of its own.
        let mut rest = name;
        while rest.contains('.') {
            // A module's `__builtins__` is the builtins namespace (the module itself in
            // `__main__`, whose dotted names a training script's pickles carry):
            // `__main__` + `__builtins__.eval` is `builtins.eval`.
            if let Some(builtin) = rest.strip_prefix("__builtins__.") {
                candidates.push(join("builtins", builtin));
            }
            candidates.push(rest.to_string());
            rest = rest.split_once('.').map_or("", |(_, tail)| tail);
        }
        // The namespace itself (`numpy` + `__builtins__`, modelscan issue #330) is one lookup
        // away from every builtin.
        if rest == "__builtins__" {
            candidates.push(rest.to_string());
        }
        if let Some(denied) = candidates.iter().find_map(|c| self.user_denied(c)) {
            return denied;
        }
        if candidates.first().is_some_and(|c| self.user_allowed(c)) {
            return GlobalClass::Allowed;
        }
        if let Some(denied) = candidates.iter().find_map(|c| self.builtin_denied(c)) {
            return denied;
        }
        let primary = candidates
            .get(1)
            .filter(|_| alias_module != module || alias_name != name);
        if candidates
            .first()
            .into_iter()
            .chain(primary)
            .any(|c| self.tables.builtin_allow.contains_key(c.as_str()) || allowed_subtree(c))
        {
            return GlobalClass::Allowed;
        }
        GlobalClass::Unknown
    }

    /// Judges a bare module, as imported by `__import__('os')` or `importlib.import_module`.
    pub fn classify_module(&self, module: &str) -> GlobalClass {
        match self.classify_path(module) {
            GlobalClass::Allowed => GlobalClass::Allowed,
            other => other,
        }
    }

    /// Judges an already joined dotted path (`os.system`).
    pub fn classify_path(&self, path: &str) -> GlobalClass {
        match path.rsplit_once('.') {
            Some((module, name)) => self.classify(module, name),
            None => {
                if let Some(d) = self.user_denied(path).or_else(|| self.builtin_denied(path)) {
                    d
                } else {
                    GlobalClass::Unknown
                }
            }
        }
    }

    /// Whether `path` is on the instance-only list: a class whose import is ordinary when the
    /// pickle only rebuilds instances of it with `__new__` and BUILD (see `instances.rs`). The
    /// user's policy and the denylist win: a denied path is never instance-only.
    pub fn rebuilds_instances_only(&self, path: &str) -> bool {
        instances::INSTANCE_ONLY.contains(&path)
            && !matches!(self.classify_path(path), GlobalClass::Denied { .. })
    }

    /// Whether bytes passed to `path` are unpickled (so a constant argument is a nested pickle).
    pub fn is_nested_loader(&self, path: &str) -> bool {
        NESTED_LOADERS.contains(&path)
    }

    fn user_denied(&self, path: &str) -> Option<GlobalClass> {
        dotted_prefixes(path).find_map(|prefix| {
            self.tables
                .user_deny
                .get(prefix)
                .map(|(severity, reason)| GlobalClass::Denied {
                    severity: *severity,
                    matched: prefix.to_string(),
                    reason: Cow::Owned(reason.clone()),
                })
        })
    }

    fn user_allowed(&self, path: &str) -> bool {
        if self.tables.user_allow.get(path) == Some(&Scope::Exact) {
            return true;
        }
        dotted_prefixes(path)
            .any(|prefix| self.tables.user_allow.get(prefix) == Some(&Scope::Subtree))
    }

    fn builtin_denied(&self, path: &str) -> Option<GlobalClass> {
        dotted_prefixes(path).find_map(|prefix| {
            self.tables
                .builtin_deny
                .get(prefix)
                .map(|entry| GlobalClass::Denied {
                    severity: entry.severity,
                    matched: entry.path.to_string(),
                    reason: Cow::Borrowed(entry.reason),
                })
        })
    }
}

fn allowed_subtree(path: &str) -> bool {
    dotted_prefixes(path).any(|prefix| tables::ALLOW_SUBTREES.iter().any(|(p, _)| *p == prefix))
}

/// `a`, `a.b`, `a.b.c` for `a.b.c`: every prefix that ends at a dot boundary, shortest first.
fn dotted_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('.')
        .map(|(i, _)| path.get(..i).unwrap_or(path))
        .chain(core::iter::once(path))
}

fn join(module: &str, name: &str) -> String {
    let mut path = String::with_capacity(module.len() + 1 + name.len());
    path.push_str(module);
    path.push('.');
    path.push_str(name);
    path
}

/// The Python 3 spelling of a Python 2 import, as `_compat_pickle` maps it.
fn alias<'a>(module: &'a str, name: &'a str) -> (&'a str, &'a str) {
    if let Some((_, to)) = tables::NAME_ALIASES
        .iter()
        .find(|(from, _)| *from == (module, name))
    {
        return *to;
    }
    match tables::MODULE_ALIASES
        .iter()
        .find(|(from, _)| *from == module)
    {
        Some((_, to)) => (to, name),
        None => (module, name),
    }
}

fn validate_path(path: &str) -> Result<(), PolicyError> {
    let body = path.strip_suffix(".*").unwrap_or(path);
    let valid = !body.is_empty()
        && body
            .split('.')
            .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_'));
    if valid {
        Ok(())
    } else {
        Err(PolicyError {
            message: format!("{path:?} is not a dotted Python path"),
        })
    }
}

fn parse_severity(name: &str) -> Result<Severity, PolicyError> {
    Severity::parse(name).ok_or_else(|| PolicyError {
        message: format!("unknown severity {name:?} (use info, low, medium, high or critical)"),
    })
}

impl DenyOverride {
    fn path(&self) -> &str {
        match self {
            DenyOverride::Path(p) => p,
            DenyOverride::Entry { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests;
