//! `--format sarif`: the core's SARIF 2.1.0 renderer ([`modelsieve_core::sarif`]), which the
//! WASM package shares, with paths relative to the working directory.

use std::io::{self, Write};
use std::path::Path;

use modelsieve_core::sarif::{self, PathStyle, Paths};
use modelsieve_core::{Policy, Report};

pub(crate) use modelsieve_core::sarif::ScanError;

/// Writes the SARIF log for `reports` (and `errors`) followed by a newline. Rule levels reflect
/// the `policy`'s severity overrides; `cwd` makes absolute paths relative where possible.
pub(crate) fn write(
    out: &mut dyn Write,
    reports: &[Report],
    errors: &[ScanError],
    policy: &Policy,
    cwd: Option<&Path>,
) -> io::Result<()> {
    let cwd = cwd.map(Path::to_string_lossy);
    let paths = Paths {
        cwd: cwd.as_deref(),
        style: PathStyle::native(),
    };
    serde_json::to_writer_pretty(&mut *out, &sarif::document(reports, errors, policy, paths))?;
    writeln!(out)
}
