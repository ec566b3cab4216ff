//! Driver equivalence on real data: the seeking driver (a path) and the streaming driver
//! (standard input) must judge every file the same way; only `bytes_read` and `size` may differ.

use std::path::PathBuf;

use crate::support::{Scratch, arg, json_paths, run, run_in};

/// The shared fixture corpus, when the fixtures have been generated.
fn fixture_root() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/pickle");
    root.is_dir().then_some(root)
}

fn assert_same_judgement(path: &str, bytes: &[u8]) {
    let by_path = run(&["scan", "--format", "json", path]);
    let by_stdin = run_in(&["scan", "--format", "json", "-"], None, Some(bytes));
    assert_eq!(by_path.code, by_stdin.code, "{path}");
    let a = &by_path.json()["files"][0];
    let b = &by_stdin.json()["files"][0];
    for key in ["format", "verdict", "findings"] {
        assert_eq!(
            a[key], b[key],
            "{path}: {key} differs between path and stdin"
        );
    }
}

#[test]
fn every_fixture_is_judged_the_same_by_path_and_by_stdin() {
    let Some(root) = fixture_root() else { return };
    let out = run(&["scan", "--format", "json", &arg(&root)]);
    assert_ne!(out.code, Some(2), "{}", out.stderr);
    let paths = json_paths(&out.json());
    assert!(!paths.is_empty());
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        assert_same_judgement(path, &bytes);
    }
}

/// A 3 MB string operand is larger than one driver read (1 MiB) and than the scanner's inline
/// operand limit, so the seeking driver must follow the scanner past it.
#[test]
fn large_operands_are_judged_the_same_by_path_and_by_stdin() {
    let dir = Scratch::new("large");
    let len: u32 = 3_000_000;
    // PROTO 2, BINUNICODE <len> 'xxx…', STOP: pickle.loads returns a plain string.
    let mut bytes = b"\x80\x02X".to_vec();
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.resize(bytes.len() + len as usize, b'x');
    bytes.push(b'.');
    let path = dir.file("large.pkl", &bytes);
    assert_same_judgement(&arg(&path), &bytes);
    let doc = run(&["scan", "--format", "json", &arg(&path)]).json();
    assert_eq!(doc["files"][0]["verdict"], "clean", "{doc}");
    assert_eq!(
        doc["files"][0]["findings"].as_array().map(Vec::len),
        Some(0)
    );
}
