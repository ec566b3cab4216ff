//! Shared helpers: scratch directories, sample pickles, running the binary.

use core::sync::atomic::{AtomicUsize, Ordering};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `pickle.dumps(['a', 'b'], protocol=2)`: no imports at all.
pub(crate) const CLEAN: &[u8] = b"\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02e.";
/// Protocol 0 `os.system('id')`: a critical dangerous global.
pub(crate) const EVIL: &[u8] = b"cos\nsystem\n(S'id'\ntR.";
/// Protocol 0 pickle returning the class `mypkg.layers.Custom`: on neither list (medium).
pub(crate) const UNKNOWN: &[u8] = b"cmypkg.layers\nCustom\n.";

/// A directory under the system temp dir, removed on drop.
pub(crate) struct Scratch {
    root: PathBuf,
}

impl Scratch {
    /// A fresh, empty directory whose name contains `name`, the process id and a counter.
    pub(crate) fn new(name: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("modelsieve-cli-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Scratch { root }
    }

    /// The directory itself.
    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Writes `bytes` to `rel` (creating parent directories) and returns the full path.
    pub(crate) fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // Undo permission tests so the directory can be removed.
            use std::os::unix::fs::PermissionsExt;
            let _ = walk_chmod(&self.root, |p| {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
            });
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(unix)]
fn walk_chmod(dir: &Path, fix: impl Fn(&Path) + Copy) -> std::io::Result<()> {
    fix(dir);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        fix(&entry.path());
        if file_type.is_dir() {
            walk_chmod(&entry.path(), fix)?;
        }
    }
    Ok(())
}

/// The result of one run of the binary.
pub(crate) struct Run {
    /// Exit code (`None` if killed by a signal).
    pub(crate) code: Option<i32>,
    /// Standard output, as text.
    pub(crate) stdout: String,
    /// Standard error, as text.
    pub(crate) stderr: String,
}

impl Run {
    /// Standard output parsed as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `modelsieve` with `args`, in `cwd` when given, with `stdin` piped in when given.
pub(crate) fn run_in<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    cwd: Option<&Path>,
    stdin: Option<&[u8]>,
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelsieve"));
    command
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // Written from a thread so a scanner that reads lazily cannot deadlock the test.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// Runs `modelsieve` with `args` and no stdin.
pub(crate) fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_in(args, None, None)
}

/// A path as a `String` argument.
pub(crate) fn arg(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// The `path` of every file in a schema-v1 JSON document, in order.
pub(crate) fn json_paths(doc: &serde_json::Value) -> Vec<String> {
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}
