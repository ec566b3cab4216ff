//! Runs a parsed command line: wires discovery, the worker pool, the scanner and the renderers
//! together and decides the exit code.

use core::num::NonZeroUsize;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::thread;

use modelsieve_core::{Limits, Policy, Report};

use crate::args::{Cli, Command, OutputFormat, ScanArgs};
use crate::discover::{self, STDIN_PATH};
use crate::pool;
use crate::render::sarif::ScanError;
use crate::render::terminal::{self, Paint, sanitize};
use crate::render::{json, sarif, text};
use crate::rules_table;
use crate::scan::{self, Outcome};
use crate::status::{EXIT_ERROR, EXIT_OK, Tally};

/// Runs `cli` and returns the process exit code.
pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Rules => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            match rules_table::write(&mut out).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::from(EXIT_OK),
                Err(error) => output_failed(&error),
            }
        }
    }
}

fn scan(args: &ScanArgs) -> ExitCode {
    if args
        .paths
        .iter()
        .filter(|p| p.as_os_str() == STDIN_PATH)
        .count()
        > 1
    {
        eprintln!("modelsieve: standard input ({STDIN_PATH}) can be scanned only once");
        return ExitCode::from(EXIT_ERROR);
    }
    let policy = match args.policy.as_deref().map(load_policy).transpose() {
        Ok(policy) => policy.unwrap_or_default(),
        Err(message) => {
            eprintln!("modelsieve: {message}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let targets = discover::discover(&args.paths, &mut |note| {
        if !args.quiet {
            eprintln!("modelsieve: {}", sanitize(&note));
        }
    });
    let jobs = args
        .jobs
        .or_else(|| thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let paint = Paint::new(args.format == OutputFormat::Text && terminal::use_color(args.no_color));
    let mut tally = Tally::new(args.fail_on);
    let mut reports: Vec<Report> = Vec::new();
    let mut errors: Vec<ScanError> = Vec::new();
    let mut write_result: io::Result<()> = Ok(());

    pool::run_ordered(
        &targets,
        jobs,
        Vec::new,
        |target, buf| scan::scan_target(target, &policy, Limits::default(), buf),
        |outcome| {
            match outcome {
                Outcome::Scanned(report) => {
                    tally.record(&report);
                    if args.format == OutputFormat::Text {
                        if !args.quiet || tally.fails(&report) {
                            // Flushed per file so a long scan shows progress.
                            write_result = text::write_report(&mut out, &report, paint)
                                .and_then(|()| out.flush());
                        }
                    } else {
                        reports.push(report);
                    }
                }
                Outcome::Failed { path, error } => {
                    tally.record_error();
                    eprintln!("modelsieve: cannot read {}: {error}", sanitize(&path));
                    errors.push(ScanError {
                        path,
                        reason: error.to_string(),
                    });
                }
            }
            write_result.is_ok()
        },
    );

    let written = write_result.and_then(|()| {
        match args.format {
            OutputFormat::Text if !args.quiet => text::write_summary(&mut out, &tally)?,
            OutputFormat::Text => {}
            OutputFormat::Json => json::write(&mut out, reports)?,
            OutputFormat::Sarif => {
                let cwd = std::env::current_dir().ok();
                sarif::write(&mut out, &reports, &errors, &policy, cwd.as_deref())?;
            }
        }
        out.flush()
    });
    match written {
        Ok(()) => tally.exit_code(),
        Err(error) => output_failed(&error),
    }
}

/// Reads and parses a `--policy` file; the error is the whole message to print.
fn load_policy(path: &Path) -> Result<Policy, String> {
    let shown = sanitize(&path.to_string_lossy()).into_owned();
    let text =
        fs::read_to_string(path).map_err(|error| format!("cannot read policy {shown}: {error}"))?;
    Policy::from_json(&text).map_err(|error| format!("{shown}: {error}"))
}

/// Exit status 2 for output that could not be written; a closed pipe (`| head`) is not worth a
/// message.
fn output_failed(error: &io::Error) -> ExitCode {
    if error.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("modelsieve: cannot write output: {error}");
    }
    ExitCode::from(EXIT_ERROR)
}
