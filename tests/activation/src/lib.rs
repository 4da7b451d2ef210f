//! Helpers for the activation tests: where cargo put the server modules, gcc, one private
//! class registry per test binary, and a lock that runs the tests sharing process-wide state
//! (the module cache, the registry) one at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Holds the lock for the tests that must not overlap.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The directory cargo put this test binary in (`target/<profile>/deps`).
fn deps_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent()
        .expect("the binary is in a directory")
        .to_path_buf()
}

/// A server module cargo built with the tests (`libcomidl_probe.so`, ...): in `deps` when
/// built as a dependency, one level up when built as a workspace member.
pub fn module(file: &str) -> PathBuf {
    let deps = deps_dir();
    let candidates = [deps.join(file), deps.join("..").join(file)];
    for candidate in &candidates {
        if candidate.exists() {
            return candidate
                .canonicalize()
                .expect("an existing path canonicalizes");
        }
    }
    panic!("cargo did not build {file} (looked in {candidates:?})");
}

/// A scratch directory for this test binary's gcc outputs and files.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// Makes the process use a new empty class registry (once per test binary) and returns
/// its directory.
pub fn private_registry() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        comidl_runtime::host::set_registry_dir(Some(dir.path().to_path_buf()));
        dir
    });
    dir.path()
}

/// Compiles `sources` (under tests/activation/c) with gcc into `output` inside the
/// scratch directory, with extra `args` (`-shared -fPIC`, `-ldl`, defines).
pub fn gcc(sources: &[&str], output: &str, args: &[&str]) -> PathBuf {
    let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
    let out = scratch().join(output);
    let mut command = Command::new("gcc");
    command
        .args(["-std=gnu11", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&out);
    for source in sources {
        command.arg(c.join(source));
    }
    command.args(args);
    let result = command.output().expect("gcc runs");
    assert!(
        result.status.success(),
        "gcc failed for {output}:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

/// Whether `path` is mapped into this process now.
pub fn is_mapped(path: &Path) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps is readable");
    let needle = path.to_string_lossy();
    maps.lines().any(|line| line.ends_with(needle.as_ref()))
}
