//! `--format json`: the schema-v1 [`ReportDocument`], pretty-printed, unchanged.

use std::io::{self, Write};

use modelsieve_core::{Report, ReportDocument};

/// Writes every report as one schema-v1 document followed by a newline.
pub(crate) fn write(out: &mut dyn Write, reports: Vec<Report>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &ReportDocument::new(reports))?;
    writeln!(out)
}
