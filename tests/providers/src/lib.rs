//! Helpers for the provider tests: the bindings of echo.idl, where cargo put the provider
//! modules, whether a module is loaded now, profiles in temporary directories, and a lock
//! that runs the tests one at a time (they look at the process's loaded modules).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

comidl_runtime::include_idl!(
    /// The bindings of echo.idl.
    pub mod bindings = "echo"
);

/// The echo module's file name.
pub const ECHO: &str = "libcomidl_echo_provider.so";
/// The shout module's file name.
pub const SHOUT: &str = "libcomidl_shout_provider.so";

/// Holds the lock for the tests that must not overlap.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Nothing here reads the class registry, but if anything ever does, it reads an empty
    // private one, never the user's.
    static REGISTRY: OnceLock<tempfile::TempDir> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        comidl_runtime::host::set_registry_dir(Some(dir.path().to_path_buf()));
        dir
    });
    guard
}

/// A provider module cargo built with the tests (the end-to-end tests' locator).
pub use comidl_activation_tests::module;

/// Whether the module at `path` is loaded in this process now: `dlopen(RTLD_NOLOAD)`
/// answers a handle only for a loaded library (and the handle's reference is given back).
pub fn is_loaded(path: &Path) -> bool {
    let name = CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path");
    // SAFETY: RTLD_NOLOAD never loads anything, so no initialiser runs.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
    if handle.is_null() {
        return false;
    }
    // SAFETY: gives back the reference the successful dlopen took.
    unsafe { libc::dlclose(handle) };
    true
}

/// A profile file with `text`, in a new temporary directory (kept while the value lives).
pub struct TempProfile {
    /// The directory.
    pub dir: tempfile::TempDir,
    /// The profile file in it.
    pub path: PathBuf,
}

/// Writes `text` to `profile.ini` in a new temporary directory.
pub fn temp_profile(text: &str) -> TempProfile {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("profile.ini");
    std::fs::write(&path, text).expect("the profile is written");
    TempProfile { dir, path }
}

/// Reads a task-allocated, NUL-terminated UTF-16 string and frees it.
///
/// # Safety
/// `text` is NULL or such a string, owned by the caller (an `[out, string]` result).
pub unsafe fn take_wide(text: *mut u16) -> String {
    // SAFETY: the caller's contract.
    unsafe { comidl_runtime::wide::take_task_block(text) }.expect("a string, not NULL")
}

pub use comidl_runtime::wide::nul_terminated as wide;
