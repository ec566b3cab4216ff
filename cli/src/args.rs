//! The command line, as clap parses it.

use core::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use modelsieve_core::Severity;

/// Tells whether loading a machine-learning model file can run code, without loading it.
#[derive(Debug, Parser)]
#[command(name = "modelsieve", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan files, directories (recursively) or standard input (`-`).
    Scan(ScanArgs),
    /// List every rule with its id, default severity and summary.
    Rules,
}

/// Options of `modelsieve scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,

    /// Exit with status 1 when a finding is at or above this severity
    /// (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", default_value = "medium", value_parser = parse_severity)]
    pub(crate) fail_on: Severity,

    /// JSON policy file: extra allow/deny entries and severity overrides.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// Never colour the text output (the NO_COLOR environment variable is honoured too).
    #[arg(long)]
    pub(crate) no_color: bool,

    /// Files scanned in parallel (default: the number of available CPUs).
    #[arg(long, value_name = "N", value_parser = parse_jobs)]
    pub(crate) jobs: Option<NonZeroUsize>,

    /// Text output lists only the files that fail --fail-on, with no summary and no notes.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// How `scan` writes its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// One line per file, findings indented under it, a summary at the end.
    Text,
    /// The schema-v1 report document.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
}

fn parse_severity(name: &str) -> Result<Severity, String> {
    Severity::parse(name).ok_or_else(|| {
        format!("unknown severity {name:?} (use info, low, medium, high or critical)")
    })
}

fn parse_jobs(text: &str) -> Result<NonZeroUsize, String> {
    text.parse::<NonZeroUsize>()
        .map_err(|_| format!("{text:?} is not a positive number of jobs"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn severities_parse_by_lowercase_name_only() {
        assert_eq!(parse_severity("critical"), Ok(Severity::Critical));
        assert!(parse_severity("CRITICAL").is_err());
        assert!(parse_severity("severe").is_err());
    }

    #[test]
    fn zero_jobs_is_rejected() {
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("-1").is_err());
        assert_eq!(parse_jobs("3").map(NonZeroUsize::get), Ok(3));
    }
}
