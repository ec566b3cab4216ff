//! Where a SARIF result points: artifact URIs and stable fingerprints.
//!
//! Paths are plain strings here (the core has no `std::path`): [`PathStyle`] says how the
//! platform that produced them separates components.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::Paths;

/// The path syntax of the platform that produced a report's paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// `/` separates components; a path starting with `/` is absolute. A `\` is an ordinary
    /// character (and is percent-encoded).
    Unix,
    /// `/` and `\` separate components; `C:\…` and `\\server\…` are absolute.
    Windows,
}

impl PathStyle {
    /// The style of the platform this code is compiled for.
    pub fn native() -> PathStyle {
        if cfg!(windows) {
            PathStyle::Windows
        } else {
            PathStyle::Unix
        }
    }

    fn is_separator(self, c: char) -> bool {
        c == '/' || (self == PathStyle::Windows && c == '\\')
    }
}

/// A path split into what its URI is built from.
#[derive(Debug, PartialEq, Eq)]
struct Parsed<'a> {
    /// A Windows drive (`C:`), kept with its colon.
    drive: Option<&'a str>,
    /// Whether the path starts at a root.
    absolute: bool,
    /// Components, `.` dropped, `..` kept.
    parts: Vec<&'a str>,
}

fn parse(path: &str, style: PathStyle) -> Parsed<'_> {
    let (drive, rest) = match (style, path.as_bytes()) {
        (PathStyle::Windows, [letter, b':', ..]) if letter.is_ascii_alphabetic() => {
            (path.get(..2), path.get(2..).unwrap_or_default())
        }
        _ => (None, path),
    };
    Parsed {
        drive,
        absolute: rest.starts_with(|c| style.is_separator(c)),
        parts: rest
            .split(|c| style.is_separator(c))
            .filter(|part| !part.is_empty() && *part != ".")
            .collect(),
    }
}

/// How a report path is written in SARIF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactUri {
    /// A URI reference: relative (`models/a%20b.pkl`) or absolute (`file:///data/x.pkl`).
    pub(crate) uri: String,
    /// Whether `uri` is relative to the source root (`%SRCROOT%`, the working directory).
    pub(crate) relative: bool,
}

/// The SARIF URI of `path`. Relative paths stay relative (GitHub resolves them against the
/// repository root); absolute paths under the working directory are made relative; other
/// absolute paths become `file://` URIs. Separators become `/` and everything outside the
/// unreserved set is percent-encoded (a `:` would otherwise read as a URI scheme).
pub(crate) fn artifact_uri(path: &str, paths: Paths<'_>) -> ArtifactUri {
    let parsed = parse(path, paths.style);
    if !parsed.absolute {
        return ArtifactUri {
            uri: encode_parts(&parsed.parts),
            relative: true,
        };
    }
    let cwd = paths.cwd.map(|cwd| parse(cwd, paths.style));
    if let Some(cwd) = cwd.filter(|cwd| cwd.absolute && cwd.drive == parsed.drive)
        && let Some(rest) = parsed.parts.strip_prefix(cwd.parts.as_slice())
    {
        return ArtifactUri {
            uri: encode_parts(rest),
            relative: true,
        };
    }
    ArtifactUri {
        uri: file_uri(path, paths.style),
        relative: false,
    }
}

/// `file:///` URI of an absolute path (`C:\x` becomes `file:///C:/x`).
pub(crate) fn file_uri(path: &str, style: PathStyle) -> String {
    let parsed = parse(path, style);
    let mut uri = String::from("file:///");
    if let Some(drive) = parsed.drive {
        uri.push_str(drive);
        uri.push('/');
    }
    uri.push_str(&encode_parts(&parsed.parts));
    uri
}

/// Joins components with `/`, percent-encoding each one.
fn encode_parts(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        percent_encode(part, &mut out);
    }
    out
}

fn percent_encode(segment: &str, out: &mut String) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0xF));
        }
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).map_or('0', |c| c.to_ascii_uppercase())
}

/// A stable 64-bit FNV-1a hash of `parts`, as 16 hex digits. Parts are separated by a byte that
/// cannot occur in UTF-8, so `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(core::iter::once(0xFF)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(cwd: Option<&str>) -> Paths<'_> {
        Paths {
            cwd,
            style: PathStyle::Unix,
        }
    }

    #[test]
    fn relative_paths_are_encoded_with_forward_slashes() {
        let uri = artifact_uri("./models/my model#1.pkl", unix(None));
        assert_eq!(uri.uri, "models/my%20model%231.pkl");
        assert!(uri.relative);
        assert_eq!(artifact_uri("a:b/ü", unix(None)).uri, "a%3Ab/%C3%BC");
        assert_eq!(artifact_uri("../x", unix(None)).uri, "../x");
        assert_eq!(artifact_uri("a//b/./c/", unix(None)).uri, "a/b/c");
        assert_eq!(artifact_uri("a\\b", unix(None)).uri, "a%5Cb");
    }

    #[test]
    fn absolute_paths_relative_to_cwd_or_file_uris() {
        let cwd = Some("/repo");
        assert_eq!(
            artifact_uri("/repo/m/a.pkl", unix(cwd)),
            ArtifactUri {
                uri: String::from("m/a.pkl"),
                relative: true
            }
        );
        assert_eq!(
            artifact_uri("/tmp/a b.pkl", unix(cwd)),
            ArtifactUri {
                uri: String::from("file:///tmp/a%20b.pkl"),
                relative: false
            }
        );
        // A sibling whose name starts like the working directory is not under it.
        assert!(!artifact_uri("/repository/x", unix(cwd)).relative);
        assert_eq!(file_uri("/repo/", PathStyle::Unix), "file:///repo");
    }

    #[test]
    fn windows_paths_use_both_separators_and_keep_the_drive() {
        let windows = |cwd| Paths {
            cwd,
            style: PathStyle::Windows,
        };
        assert_eq!(
            file_uri("C:\\x\\a b", PathStyle::Windows),
            "file:///C:/x/a%20b"
        );
        assert_eq!(
            artifact_uri("C:\\repo\\m\\a.pkl", windows(Some("C:\\repo"))).uri,
            "m/a.pkl"
        );
        let other_drive = artifact_uri("D:\\repo\\a.pkl", windows(Some("C:\\repo")));
        assert_eq!(other_drive.uri, "file:///D:/repo/a.pkl");
        assert!(!other_drive.relative);
        assert_eq!(artifact_uri("m\\a.pkl", windows(None)).uri, "m/a.pkl");
    }

    #[test]
    fn fingerprints_are_stable_and_separated() {
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
        assert_eq!(fingerprint(&["a"]), fingerprint(&["a"]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
