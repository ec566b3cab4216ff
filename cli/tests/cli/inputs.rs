//! Inputs: directory recursion, standard input, symlinks, parallel scans, hostile names.

use crate::support::{CLEAN, EVIL, Scratch, UNKNOWN, arg, json_paths, run, run_in};

#[test]
fn directories_are_recursed_in_sorted_order_with_hidden_files_and_without_git() {
    let dir = Scratch::new("recurse");
    dir.file("z.pkl", CLEAN);
    dir.file("a/b/c/deep.pkl", EVIL);
    dir.file("a/.hidden/payload.pkl", EVIL);
    dir.file(".secret.pkl", UNKNOWN);
    dir.file("a/b.pkl", CLEAN);
    dir.file(".git/objects/evil.pkl", EVIL);
    dir.file("notes.txt", b"plain text is scanned too");
    let doc = run(&["scan", "--format", "json", &arg(dir.path())]).json();
    let expected: Vec<String> = [
        ".secret.pkl",
        "a/.hidden/payload.pkl",
        "a/b/c/deep.pkl",
        "a/b.pkl",
        "notes.txt",
        "z.pkl",
    ]
    .iter()
    .map(|rel| arg(&dir.path().join(rel)))
    .collect();
    assert_eq!(json_paths(&doc), expected);
}

#[test]
fn relative_arguments_keep_their_spelling_in_reports() {
    let dir = Scratch::new("relative");
    dir.file("m/x.pkl", CLEAN);
    let out = run_in(
        &["scan", "--format", "json", "m", "./m/x.pkl"],
        Some(dir.path()),
        None,
    );
    assert_eq!(json_paths(&out.json()), ["m/x.pkl", "./m/x.pkl"]);
}

#[test]
fn stdin_gives_the_same_report_as_the_path() {
    let dir = Scratch::new("stdin");
    for (name, bytes) in [("clean", CLEAN), ("evil", EVIL), ("unknown", UNKNOWN)] {
        let path = dir.file(&format!("{name}.pkl"), bytes);
        let by_path = run(&["scan", "--format", "json", &arg(&path)]);
        let by_stdin = run_in(&["scan", "--format", "json", "-"], None, Some(bytes));
        assert_eq!(by_path.code, by_stdin.code, "{name}");
        let a = &by_path.json()["files"][0];
        let b = &by_stdin.json()["files"][0];
        assert_eq!(b["path"], "-");
        for key in ["format", "verdict", "findings"] {
            assert_eq!(a[key], b[key], "{name}: {key}");
        }
        assert_eq!(
            b["bytes_read"],
            bytes.len(),
            "{name}: streaming reads everything"
        );
    }
}

#[test]
fn stdin_can_be_mixed_with_paths_in_argument_order() {
    let dir = Scratch::new("stdinmix");
    let clean = dir.file("clean.pkl", CLEAN);
    let out = run_in(
        &["scan", "--format", "json", &arg(&clean), "-"],
        None,
        Some(EVIL),
    );
    assert_eq!(json_paths(&out.json()), [arg(&clean), String::from("-")]);
}

#[test]
fn empty_files_and_empty_stdin_get_a_report() {
    let dir = Scratch::new("empty");
    let empty = dir.file("empty", b"");
    let out = run(&["scan", "--format", "json", &arg(&empty)]);
    assert_eq!(json_paths(&out.json()), [arg(&empty)]);
    let out = run_in(&["scan", "--format", "json", "-"], None, Some(b""));
    assert_eq!(json_paths(&out.json()), ["-"]);
}

#[test]
fn parallel_scans_give_identical_sorted_output() {
    let dir = Scratch::new("parallel");
    let mut expected = Vec::new();
    for i in 0..40 {
        let name = format!("f{i:03}.pkl");
        let bytes = if i % 3 == 0 { EVIL } else { CLEAN };
        expected.push(arg(&dir.file(&name, bytes)));
    }
    let one = run(&["scan", "--jobs", "1", "--format", "json", &arg(dir.path())]);
    let many = run(&["scan", "--jobs", "8", "--format", "json", &arg(dir.path())]);
    assert_eq!(json_paths(&many.json()), expected);
    assert_eq!(one.stdout, many.stdout);
    let text_one = run(&["scan", "--jobs", "1", &arg(dir.path())]);
    let text_many = run(&["scan", "--jobs", "16", &arg(dir.path())]);
    assert_eq!(text_one.stdout, text_many.stdout);
}

#[cfg(unix)]
#[test]
fn symlinked_files_are_scanned_and_symlinked_directories_skipped() {
    use std::os::unix::fs::symlink;
    let dir = Scratch::new("symlink");
    let outside = Scratch::new("symlink-target");
    let target = outside.file("evil.pkl", EVIL);
    dir.file("real/a.pkl", CLEAN);
    symlink(&target, dir.path().join("link.pkl")).unwrap();
    symlink(outside.path(), dir.path().join("linked-dir")).unwrap();
    symlink(dir.path(), dir.path().join("real/cycle")).unwrap();
    let out = run(&["scan", "--format", "json", &arg(dir.path())]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        json_paths(&out.json()),
        [
            arg(&dir.path().join("link.pkl")),
            arg(&dir.path().join("real/a.pkl"))
        ]
    );
    assert!(
        out.stderr.contains("symlink to a directory"),
        "{}",
        out.stderr
    );
    // A symlinked directory named on the command line is followed.
    let named = run(&[
        "scan",
        "--format",
        "json",
        &arg(&dir.path().join("linked-dir")),
    ]);
    assert_eq!(json_paths(&named.json()).len(), 1);
}

#[cfg(unix)]
#[test]
fn hostile_file_names_cannot_forge_text_lines() {
    let dir = Scratch::new("hostile");
    dir.file("evil\nCLEAN  fake.pkl", EVIL);
    dir.file("x\u{1b}[2Jy.pkl", CLEAN);
    let out = run(&["scan", &arg(dir.path())]);
    let file_lines = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.contains("scanned:"))
        .count();
    assert_eq!(file_lines, 2, "{}", out.stdout);
    assert!(!out.stdout.contains('\u{1b}'));
    assert!(out.stdout.contains("evil\\nCLEAN"), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn a_fifo_named_on_the_command_line_is_streamed() {
    let dir = Scratch::new("fifo");
    let fifo = dir.path().join("pipe");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        return; // no mkfifo on this system
    }
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, EVIL));
    let out = run(&["scan", "--format", "json", &arg(&fifo)]);
    writer.join().unwrap().unwrap();
    let doc = out.json();
    assert_eq!(json_paths(&doc), [arg(&fifo)]);
    assert_eq!(doc["files"][0]["bytes_read"], EVIL.len());
    // In a directory walk, the same FIFO is skipped rather than blocking the scan.
    let walk = run(&["scan", "--format", "json", &arg(dir.path())]);
    assert!(json_paths(&walk.json()).is_empty());
    assert!(
        walk.stderr.contains("not a regular file"),
        "{}",
        walk.stderr
    );
}
