//! Turns the paths on the command line into the list of things to scan.
//!
//! Directories are walked depth first with entries sorted by name, so the order is the same on
//! every run. Hidden files are scanned (attackers hide payloads there); only `.git` directories
//! are skipped. Symlinked files are scanned, symlinked directories are not (they can form
//! cycles). Anything that cannot be read becomes a [`Source::Unreadable`] target, so one bad
//! path never stops the others from being scanned.

use std::fs::{self, FileType};
use std::io;
use std::path::{Path, PathBuf};

/// The path that stands for standard input.
pub(crate) const STDIN_PATH: &str = "-";

/// One thing to scan, in output order.
#[derive(Debug)]
pub(crate) struct Target {
    /// The path as the user gave it or as it was discovered under a directory (`-` for stdin).
    pub(crate) display: String,
    /// Where its bytes come from.
    pub(crate) source: Source,
}

/// Where a target's bytes come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Standard input, read as a stream.
    Stdin,
    /// A file (or, when named on the command line, a FIFO or device) to open.
    Path(PathBuf),
    /// The path could not be examined; scanning it reports this error.
    Unreadable(io::Error),
}

/// Expands `paths` into targets; `note` receives remarks about skipped entries.
pub(crate) fn discover(paths: &[PathBuf], note: &mut dyn FnMut(String)) -> Vec<Target> {
    let mut targets = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN_PATH {
            targets.push(Target {
                display: String::from(STDIN_PATH),
                source: Source::Stdin,
            });
            continue;
        }
        // Paths named explicitly are followed even when they are symlinks: the user chose them.
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut targets, note),
            Ok(_) => targets.push(file_target(path)),
            Err(error) => targets.push(unreadable(path, error)),
        }
    }
    targets
}

/// Walks `root` without recursion (deep trees must not overflow the stack).
fn walk(root: &Path, targets: &mut Vec<Target>, note: &mut dyn FnMut(String)) {
    let mut stack: Vec<std::vec::IntoIter<PathBuf>> = Vec::new();
    match sorted_entries(root) {
        Ok(entries) => stack.push(entries.into_iter()),
        Err(error) => targets.push(unreadable(root, error)),
    }
    while let Some(entries) = stack.last_mut() {
        let Some(path) = entries.next() else {
            stack.pop();
            continue;
        };
        let file_type = match fs::symlink_metadata(&path) {
            Ok(meta) => meta.file_type(),
            Err(error) => {
                targets.push(unreadable(&path, error));
                continue;
            }
        };
        match classify(&path, file_type) {
            Entry::Directory => match sorted_entries(&path) {
                Ok(children) => stack.push(children.into_iter()),
                Err(error) => targets.push(unreadable(&path, error)),
            },
            Entry::File => targets.push(file_target(&path)),
            Entry::GitDirectory => {}
            Entry::Skipped(why) => note(format!("skipping {}: {why}", path.display())),
            Entry::Unreadable(error) => targets.push(unreadable(&path, error)),
        }
    }
}

/// What the walk does with one directory entry.
enum Entry {
    Directory,
    GitDirectory,
    File,
    Skipped(&'static str),
    Unreadable(io::Error),
}

fn classify(path: &Path, file_type: FileType) -> Entry {
    if file_type.is_dir() {
        if path.file_name().is_some_and(|name| name == ".git") {
            Entry::GitDirectory
        } else {
            Entry::Directory
        }
    } else if file_type.is_file() {
        Entry::File
    } else if file_type.is_symlink() {
        // A dangling link is reported: the user should know a path could not be judged.
        match fs::metadata(path) {
            Ok(target) if target.is_dir() => Entry::Skipped("symlink to a directory"),
            Ok(target) if target.is_file() => Entry::File,
            Ok(_) => Entry::Skipped("symlink to something that is not a regular file"),
            Err(error) => Entry::Unreadable(error),
        }
    } else {
        Entry::Skipped("not a regular file")
    }
}

/// The entries of `dir`, sorted by name. An entry that cannot be listed fails the directory.
fn sorted_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    entries.sort();
    Ok(entries)
}

fn file_target(path: &Path) -> Target {
    Target {
        display: display(path),
        source: Source::Path(path.to_path_buf()),
    }
}

fn unreadable(path: &Path, error: io::Error) -> Target {
    Target {
        display: display(path),
        source: Source::Unreadable(error),
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("modelsieve-discover-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(targets: &[Target], root: &Path) -> Vec<String> {
        targets
            .iter()
            .map(|t| {
                Path::new(&t.display)
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn walks_sorted_keeps_hidden_files_and_skips_git() {
        let root = scratch("walk");
        fs::create_dir_all(root.join("b/.hidden")).unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/objects/x"), b"x").unwrap();
        fs::write(root.join("b/.hidden/p.pkl"), b"x").unwrap();
        fs::write(root.join("b/a.pkl"), b"x").unwrap();
        fs::write(root.join("a.pkl"), b"x").unwrap();
        fs::write(root.join(".env.pkl"), b"x").unwrap();
        let targets = discover(core::slice::from_ref(&root), &mut |_| {});
        assert_eq!(
            names(&targets, &root),
            [".env.pkl", "a.pkl", "b/.hidden/p.pkl", "b/a.pkl"]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn follows_symlinked_files_but_not_symlinked_directories() {
        let root = scratch("links");
        fs::create_dir_all(root.join("d")).unwrap();
        fs::write(root.join("d/m.pkl"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("d/m.pkl"), root.join("link.pkl")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("d/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).unwrap();
        let mut notes = Vec::new();
        let targets = discover(core::slice::from_ref(&root), &mut |n| notes.push(n));
        assert_eq!(names(&targets, &root), ["d/m.pkl", "dangling", "link.pkl"]);
        assert!(matches!(targets[1].source, Source::Unreadable(_)));
        assert_eq!(notes.len(), 1, "{notes:?}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn stdin_and_missing_paths_keep_their_place() {
        let targets = discover(
            &[PathBuf::from("/nonexistent/modelsieve"), PathBuf::from("-")],
            &mut |_| {},
        );
        assert!(matches!(targets[0].source, Source::Unreadable(_)));
        assert!(matches!(targets[1].source, Source::Stdin));
        assert_eq!(targets[1].display, "-");
    }
}
