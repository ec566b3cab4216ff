//! Where a SARIF result points: artifact URIs and stable fingerprints.

use std::path::{Component, Path};

/// How a report path is written in SARIF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactUri {
    /// A URI reference: relative (`models/a%20b.pkl`) or absolute (`file:///data/x.pkl`).
    pub(crate) uri: String,
    /// Whether `uri` is relative to the source root (`%SRCROOT%`, the working directory).
    pub(crate) relative: bool,
}

/// The SARIF URI of `path`. Relative paths stay relative (GitHub resolves them against the
/// repository root); absolute paths under `cwd` are made relative; other absolute paths become
/// `file://` URIs. Separators become `/` and everything outside the unreserved set is
/// percent-encoded (a `:` would otherwise read as a URI scheme).
pub(crate) fn artifact_uri(path: &str, cwd: Option<&Path>) -> ArtifactUri {
    let as_path = Path::new(path);
    if as_path.is_absolute() {
        if let Some(rel) = cwd.and_then(|cwd| as_path.strip_prefix(cwd).ok()) {
            return ArtifactUri {
                uri: encode_components(rel),
                relative: true,
            };
        }
        return ArtifactUri {
            uri: file_uri(as_path),
            relative: false,
        };
    }
    ArtifactUri {
        uri: encode_components(as_path),
        relative: true,
    }
}

/// `file:///` URI of an absolute path (`C:\x` becomes `file:///C:/x`).
pub(crate) fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    let encoded = encode_components(path);
    if !encoded.starts_with('/') {
        uri.push('/');
    }
    uri.push_str(&encoded);
    uri
}

/// Joins the path's components with `/`, percent-encoding each one. `.` components vanish.
fn encode_components(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        match component {
            Component::RootDir => out.push('/'),
            Component::CurDir => {}
            Component::Prefix(prefix) => {
                // A Windows drive (`C:`) keeps its colon: it is the first segment of `file:///C:/`.
                let text = prefix.as_os_str().to_string_lossy();
                out.push_str(&text.replace('\\', "/"));
                out.push('/');
            }
            Component::ParentDir | Component::Normal(_) => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                percent_encode(&component.as_os_str().to_string_lossy(), &mut out);
            }
        }
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
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn relative_paths_are_encoded_with_forward_slashes() {
        let uri = artifact_uri("./models/my model#1.pkl", None);
        assert_eq!(uri.uri, "models/my%20model%231.pkl");
        assert!(uri.relative);
        assert_eq!(artifact_uri("a:b/ü", None).uri, "a%3Ab/%C3%BC");
        assert_eq!(artifact_uri("../x", None).uri, "../x");
    }

    #[cfg(unix)]
    #[test]
    fn absolute_paths_relative_to_cwd_or_file_uris() {
        let cwd = PathBuf::from("/repo");
        assert_eq!(
            artifact_uri("/repo/m/a.pkl", Some(&cwd)),
            ArtifactUri {
                uri: String::from("m/a.pkl"),
                relative: true
            }
        );
        assert_eq!(
            artifact_uri("/tmp/a b.pkl", Some(&cwd)),
            ArtifactUri {
                uri: String::from("file:///tmp/a%20b.pkl"),
                relative: false
            }
        );
        assert_eq!(file_uri(Path::new("/repo/")), "file:///repo");
    }

    #[test]
    fn fingerprints_are_stable_and_separated() {
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
        assert_eq!(fingerprint(&["a"]), fingerprint(&["a"]));
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
