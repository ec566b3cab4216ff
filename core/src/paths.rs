//! Member names that escape the folder an archive is extracted into.

/// Why extracting a member called `name` would write outside the extraction folder, if it
/// would: an absolute path, a drive letter, a `..` component, or a backslash (a separator on
/// Windows that other platforms keep in the name).
pub(crate) fn unsafe_path(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("is an absolute path");
    }
    if let [drive, b':', ..] = bytes
        && drive.is_ascii_alphabetic()
    {
        return Some("starts with a drive letter");
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some("climbs out of the extraction folder with `..`");
    }
    if name.contains('\\') {
        return Some("contains a backslash, a path separator on Windows");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unsafe_path;

    #[test]
    fn names_that_escape() {
        for bad in [
            "/etc/passwd",
            "..\\x",
            "a/../../b",
            "C:evil",
            "\\\\host\\share",
            "dir\\f.pkl",
        ] {
            assert!(unsafe_path(bad).is_some(), "{bad}");
        }
        for good in [
            "archive/data.pkl",
            "a..b/c",
            "data/0",
            ".data/serialization_id",
        ] {
            assert!(unsafe_path(good).is_none(), "{good}");
        }
    }
}
