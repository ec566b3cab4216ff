//! Scans files with the seeking driver loop: `want()` names a range, `read_at` reads it,
//! `feed` hands it over, until `Done` or the end of the file.
//!
//! ```text
//! cargo run --release -p modelsieve-core --example scan -- [--json] PATH...
//! ```
//!
//! Directories are scanned recursively, in name order. One line per file (`verdict path
//! format findings read/size`), or with `--json` one schema-v1 report per line. Exits 1 when a
//! file is not clean, 2 on an I/O error. A minimal stand-in for the CLI, used by
//! `bench/compare.sh` when `target/release/modelsieve` is not usable.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use modelsieve_core::{Limits, Policy, Report, Scanner, Verdict, Want};

/// Most bytes read at once, whatever the scanner hints.
const MAX_READ: u64 = 1 << 20;

fn scan_file(path: &Path, policy: &Policy) -> std::io::Result<Report> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut scanner = Scanner::new(policy, Limits::default(), Some(size));
    let mut buf = Vec::new();
    while let Want::Range { offset, len } = scanner.want() {
        let len = len.clamp(1, MAX_READ);
        buf.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
        let n = file.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        scanner.feed(offset, buf.get(..n).unwrap_or_default());
    }
    let mut report = scanner.finish();
    report.path = path.display().to_string();
    Ok(report)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for entry in entries {
            collect(&entry, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut json = false;
    let mut paths = Vec::new();
    for arg in std::env::args_os().skip(1) {
        if arg == "--json" {
            json = true;
        } else if let Err(e) = collect(Path::new(&arg), &mut paths) {
            eprintln!("{}: {e}", Path::new(&arg).display());
            return ExitCode::from(2);
        }
    }
    if paths.is_empty() {
        eprintln!("usage: scan [--json] PATH...");
        return ExitCode::from(2);
    }
    let policy = Policy::default();
    let mut status = ExitCode::SUCCESS;
    let mut out = std::io::stdout().lock();
    for path in paths {
        let report = match scan_file(&path, &policy) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        if report.verdict != Verdict::Clean {
            status = ExitCode::from(1);
        }
        let written = if json {
            match serde_json::to_string(&report) {
                Ok(line) => writeln!(out, "{line}"),
                Err(e) => {
                    eprintln!("{}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        } else {
            writeln!(
                out,
                "{}\t{}\t{}\t{} findings\t{}/{} bytes read",
                report.verdict,
                report.path,
                report.format,
                report.findings.len(),
                report.bytes_read,
                report.size.unwrap_or(0)
            )
        };
        if written.is_err() {
            // Stdout closed (`| head`): nothing more to say.
            return status;
        }
    }
    status
}
