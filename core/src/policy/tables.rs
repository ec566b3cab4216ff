//! Built-in policy tables: what pickles may import, what they must not, and how Python renames
//! modules while unpickling.
//!
//! Paths are dotted `module.name` strings. A deny entry matches its path and everything below it
//! at a dot boundary (`os` matches `os.system` and `os.path.join`, not `osgeo`). Allow entries are
//! exact unless they sit in [`ALLOW_SUBTREES`], where each needs a written reason.

use crate::report::Severity::{self, Critical, High, Medium};

/// A dangerous import: its dotted path, how bad it is, and why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DenyEntry {
    /// Dotted path; matches itself and every dotted child.
    pub(crate) path: &'static str,
    /// Severity of a finding that matches.
    pub(crate) severity: Severity,
    /// Why loading it is dangerous, shown in the finding's message.
    pub(crate) reason: &'static str,
}

const fn deny(path: &'static str, severity: Severity, reason: &'static str) -> DenyEntry {
    DenyEntry {
        path,
        severity,
        reason,
    }
}

/// The denylist. PLACEHOLDER: to be completed from picklescan 1.0.5, modelscan 0.8.8 and advisories.
pub(crate) static DENY: &[DenyEntry] = &[
    deny(
        "os",
        Critical,
        "operating-system access (os.system, os.popen, os.exec*)",
    ),
    deny("posix", Critical, "posix is os on Unix"),
    deny("nt", Critical, "nt is os on Windows"),
    deny("subprocess", Critical, "runs processes"),
    deny("builtins.eval", Critical, "evaluates Python code"),
    deny("builtins.exec", Critical, "executes Python code"),
    deny(
        "builtins.getattr",
        High,
        "reaches any attribute of any object",
    ),
    deny("builtins.__import__", High, "imports any module"),
    deny("pickle.loads", Critical, "unpickles nested data"),
    deny("_pickle.loads", Critical, "unpickles nested data"),
    deny("importlib", High, "imports any module"),
    deny("requests", Medium, "network access"),
];

/// Exact `module.name` pairs that ML frameworks legitimately pickle. PLACEHOLDER.
pub(crate) static ALLOW_EXACT: &[&str] = &[
    // collections: plain containers.
    "collections.OrderedDict",
    // torch tensor rebuilding: recreate storages and tensors from persistent ids.
    "torch._utils._rebuild_tensor_v2",
    "torch.FloatStorage",
];

/// Whole subtrees allowed, each with the reason the subtree contains nothing dangerous.
pub(crate) static ALLOW_SUBTREES: &[(&str, &str)] = &[];

/// Python 2 module names that `pickle` renames when `fix_imports` applies (`_compat_pickle.IMPORT_MAPPING`).
pub(crate) static MODULE_ALIASES: &[(&str, &str)] =
    &[("__builtin__", "builtins"), ("copy_reg", "copyreg")];

/// Python 2 `(module, name)` pairs renamed by `_compat_pickle.NAME_MAPPING`.
pub(crate) static NAME_ALIASES: &[((&str, &str), (&str, &str))] = &[];

/// Callables that unpickle (or otherwise deserialise into code) the bytes they are given; a
/// constant passed to one of them is scanned as a nested pickle.
pub(crate) static NESTED_LOADERS: &[&str] = &["pickle.loads", "_pickle.loads", "torch.load"];
