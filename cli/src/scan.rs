//! Scans one [`Target`]: opens it, picks the driver, and labels the report with its path.

use std::fs::File;
use std::io;

use modelsieve_core::{Limits, Policy, Report};

use crate::discover::{Source, Target};
use crate::driver;

/// What scanning one target produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The scan ran; the report's `path` is the target's display path.
    Scanned(Report),
    /// The target could not be read.
    Failed {
        /// The target's display path.
        path: String,
        /// Why it could not be read.
        error: io::Error,
    },
}

/// Scans `target`; `buf` is scratch space reused across targets by one worker.
pub(crate) fn scan_target(
    target: &Target,
    policy: &Policy,
    limits: Limits,
    buf: &mut Vec<u8>,
) -> Outcome {
    let result = match &target.source {
        Source::Stdin => scan_stdin(policy, limits, buf),
        Source::Path(path) => {
            File::open(path).and_then(|file| scan_file(&file, policy, limits, buf))
        }
        Source::Unreadable(error) => Err(io::Error::new(error.kind(), error.to_string())),
    };
    match result {
        Ok(mut report) => {
            report.path.clone_from(&target.display);
            Outcome::Scanned(report)
        }
        Err(error) => Outcome::Failed {
            path: target.display.clone(),
            error,
        },
    }
}

/// Regular files are read where the scanner asks; FIFOs and devices named on the command line
/// (`<(cat model.pkl)`, `/dev/stdin`) are streamed.
fn scan_file(
    file: &File,
    policy: &Policy,
    limits: Limits,
    buf: &mut Vec<u8>,
) -> io::Result<Report> {
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    if meta.is_file() {
        driver::scan_seekable(file, meta.len(), policy, limits, buf)
    } else {
        let mut reader = file;
        driver::scan_stream(&mut reader, None, policy, limits, buf)
    }
}

fn scan_stdin(policy: &Policy, limits: Limits, buf: &mut Vec<u8>) -> io::Result<Report> {
    let stdin = io::stdin();
    let size = stdin_size(&stdin);
    let mut lock = stdin.lock();
    driver::scan_stream(&mut lock, size, policy, limits, buf)
}

/// The bytes left on standard input when it is redirected from a regular file.
#[cfg(unix)]
fn stdin_size(stdin: &io::Stdin) -> Option<u64> {
    use std::io::Seek;
    use std::os::fd::AsFd;
    let file = File::from(stdin.as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let position = (&file).stream_position().ok()?;
    meta.len().checked_sub(position)
}

#[cfg(not(unix))]
fn stdin_size(_stdin: &io::Stdin) -> Option<u64> {
    None
}
