//! The two ways of feeding a file to the core's [`Scanner`].
//!
//! The seeking driver reads only the ranges the scanner asks for (with `pread` on Unix), so a
//! multi-gigabyte archive costs a few reads. The streaming driver is for input that cannot seek
//! (standard input, pipes): it feeds every byte in order and lets the scanner pick what it needs.

use std::fs::File;
use std::io::{self, Read};

use modelsieve_core::{Limits, Policy, Report, Scanner, Want};

/// Largest single read, whatever the scanner asks for: bounds memory on hostile length fields.
pub(crate) const MAX_READ: usize = 1 << 20;

/// How many times in a row the scanner may ask for the same offset with a different length
/// before the driver decides it is stuck.
const MAX_SAME_OFFSET: u32 = 4;

/// Scans a regular file of `size` bytes by reading only the ranges the scanner wants.
///
/// Stops when the scanner is done, at end of file, or when the scanner stops making progress
/// (asks for exactly what it was just given). `buf` is scratch space reused across files.
pub(crate) fn scan_seekable(
    file: &File,
    size: u64,
    policy: &Policy,
    limits: Limits,
    buf: &mut Vec<u8>,
) -> io::Result<Report> {
    let mut scanner = Scanner::new(policy, limits, Some(size));
    let mut previous: Option<Want> = None;
    let mut same_offset = 0u32;
    while let want @ Want::Range { offset, len } = scanner.want() {
        if let Some(Want::Range {
            offset: last_offset,
            ..
        }) = previous
        {
            if previous == Some(want) {
                break;
            }
            if last_offset == offset {
                same_offset += 1;
                if same_offset >= MAX_SAME_OFFSET {
                    break;
                }
            } else {
                same_offset = 0;
            }
        }
        previous = Some(want);
        let wanted = usize::try_from(len).unwrap_or(MAX_READ).clamp(1, MAX_READ);
        if buf.len() < wanted {
            buf.resize(wanted, 0);
        }
        let Some(window) = buf.get_mut(..wanted) else {
            break;
        };
        let n = read_full_at(file, window, offset)?;
        let Some(bytes) = window.get(..n) else { break };
        if bytes.is_empty() {
            break;
        }
        scanner.feed(offset, bytes);
    }
    Ok(scanner.finish())
}

/// Scans a stream by feeding every chunk, in order, with its offset. `size` is the stream's
/// length when it is known (standard input redirected from a file).
pub(crate) fn scan_stream(
    reader: &mut dyn Read,
    size: Option<u64>,
    policy: &Policy,
    limits: Limits,
    buf: &mut Vec<u8>,
) -> io::Result<Report> {
    let mut scanner = Scanner::new(policy, limits, size);
    if buf.len() < MAX_READ {
        buf.resize(MAX_READ, 0);
    }
    let mut offset = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let Some(chunk) = buf.get(..n) else { break };
        scanner.feed(offset, chunk);
        offset = offset.saturating_add(n as u64);
    }
    Ok(scanner.finish())
}

/// Reads at `offset` until `buf` is full or the file ends; returns how many bytes were read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0usize;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match read_at(file, rest, offset.saturating_add(filled as u64)) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    let mut handle = file;
    handle.seek(SeekFrom::Start(offset))?;
    handle.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps(['a', 'b'], protocol=2)`
    const LIST: &[u8] = b"\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02e.";

    fn scratch_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("modelsieve-{name}-{}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn seeking_and_streaming_drivers_agree_with_scan_bytes() {
        let path = scratch_file("driver", LIST);
        let policy = Policy::default();
        let file = File::open(&path).unwrap();
        let mut buf = Vec::new();
        let size = LIST.len() as u64;
        let seek = scan_seekable(&file, size, &policy, Limits::default(), &mut buf).unwrap();
        let stream = scan_stream(
            &mut &*LIST,
            Some(size),
            &policy,
            Limits::default(),
            &mut buf,
        )
        .unwrap();
        let whole = modelsieve_core::scan_bytes(LIST, &policy);
        assert_eq!(seek.findings, whole.findings);
        assert_eq!(stream.findings, whole.findings);
        assert_eq!(seek.verdict, whole.verdict);
        assert_eq!(stream.format, whole.format);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn read_full_at_stops_at_end_of_file() {
        let path = scratch_file("readat", b"0123456789");
        let file = File::open(&path).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(read_full_at(&file, &mut buf, 4).unwrap(), 6);
        assert_eq!(&buf[..6], b"456789");
        assert_eq!(read_full_at(&file, &mut buf, 100).unwrap(), 0);
        std::fs::remove_file(&path).unwrap();
    }
}
