//! A directory made read-only for whoever runs the test. Permission bits stop a normal
//! user but not root (CI runs as root), so for root the directory is also bind-mounted
//! read-only over itself: a read-only file system refuses root too. The guard undoes both
//! when dropped, also when the test panics.
//!
//! Shared by the runtime's and the compiler's tests (the latter include this file by path).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ReadOnlyDir {
    dir: PathBuf,
    mounted: bool,
}

impl ReadOnlyDir {
    /// Makes `dir` read-only, or panics saying why it cannot be: the refusal is the point
    /// of every test that uses it, so it is never quietly skipped.
    pub fn new(dir: &Path) -> ReadOnlyDir {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
            .expect("chmod the directory");
        let mut guard = ReadOnlyDir {
            dir: dir.to_path_buf(),
            mounted: false,
        };
        if can_create_in(dir) {
            // Root: permission bits do not apply. A read-only bind mount does.
            let status = Command::new("mount")
                .args(["--bind", "-o", "ro"])
                .arg(dir)
                .arg(dir)
                .status();
            guard.mounted = status.is_ok_and(|s| s.success());
            assert!(
                guard.mounted && !can_create_in(dir),
                "{} stays writable: as root this test needs `mount --bind -o ro` (CAP_SYS_ADMIN); \
                 otherwise run it as a user whom permission bits stop",
                dir.display()
            );
        }
        guard
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.dir).status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

/// True when this process can create a file in `dir`.
pub fn can_create_in(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}
