//! The registry on disk: two REGEDIT4 files (a machine-wide layer and a
//! per-user layer), a merged read-only view of both, and safe updates.
//!
//! Writers serialise on an exclusive `flock` of `<layer file>.lock` (the
//! layer file itself is replaced on every write, so it cannot carry the
//! lock). Under the lock a writer re-reads the layer, changes a copy, writes
//! the new text to `<layer file>.tmp` in the same directory, syncs it,
//! renames it over the layer file and syncs the directory. A rename is
//! atomic, so a reader — which takes no lock — sees either the old or the
//! new complete file, and a writer killed at any moment leaves one of the
//! two behind. A `.tmp` file left by a killed writer is simply replaced by
//! the next writer.
//!
//! Layer: com. Uses `host` of this layer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::error::{IoAction, RegistryError};
use super::regfile::RegFile;
use super::tree::Tree;

/// Which layer of the registry an operation addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The per-user layer; its values win over the machine layer's.
    User,
    /// The machine-wide layer, shared by all users.
    Machine,
}

/// File name of the machine layer inside a registry directory.
pub const MACHINE_FILE: &str = "machine.reg";
/// File name of the user layer inside a registry directory.
pub const USER_FILE: &str = "user.reg";
/// Environment variable naming a directory that holds both layer files; it
/// overrides the XDG locations (meant for tests and sandboxes).
pub const REGISTRY_ENV: &str = "COMIDL_REGISTRY";

/// The class registry: where its two layer files live. Creating a
/// `Registry` touches no file; a layer whose file does not exist is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    machine: PathBuf,
    user: PathBuf,
}

/// The merged view of both layers at one moment: every key of either
/// layer, and for a value present in both, the user layer's data. A key
/// existing in the machine layer is visible whatever the user layer holds.
///
/// It dereferences to a [`Tree`], which provides the lookups
/// ([`Tree::value`], [`Tree::subkeys`], [`Tree::export`], and the COM
/// lookups such as [`Tree::inproc_server`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    merged: Tree,
}

impl Snapshot {
    /// The view of a machine layer and a user layer.
    #[must_use]
    pub fn merge(machine: &Tree, user: &Tree) -> Snapshot {
        let mut merged = machine.clone();
        merged.overlay(user);
        Snapshot { merged }
    }

    /// The merged tree.
    #[must_use]
    pub fn tree(&self) -> &Tree {
        &self.merged
    }

    /// The merged tree, owned.
    #[must_use]
    pub fn into_tree(self) -> Tree {
        self.merged
    }
}

impl Deref for Snapshot {
    type Target = Tree;

    fn deref(&self) -> &Tree {
        &self.merged
    }
}

/// A write error on `path`: permission and read-only file-system failures
/// become [`RegistryError::ReadOnly`] naming the layer file.
fn write_error(layer: &Path, path: &Path, source: io::Error) -> RegistryError {
    match source.raw_os_error() {
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => RegistryError::ReadOnly {
            path: layer.to_path_buf(),
        },
        _ => RegistryError::Io {
            path: path.to_path_buf(),
            action: IoAction::Write,
            source,
        },
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory holding `path` (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The bytes of one layer file, `None` when it does not exist.
fn read_layer_bytes(path: &Path) -> Result<Option<Vec<u8>>, RegistryError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io {
            path: path.to_path_buf(),
            action: IoAction::Read,
            source,
        }),
    }
}

/// The tree of a layer file's contents; a zero-length file is empty.
fn layer_tree(path: &Path, bytes: &[u8]) -> Result<Tree, RegistryError> {
    if bytes.is_empty() {
        return Ok(Tree::new());
    }
    RegFile::parse(bytes)
        .map_err(|e| RegistryError::from_parse(Some(path.to_path_buf()), e))?
        .into_tree()
}

/// What tells one version of a layer file from another; `None` for a missing file.
type Stamp = Option<(u64, u64, u64, i64, i64, i64, i64)>;

fn stamp(path: &Path) -> Result<Stamp, RegistryError> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some((
            m.dev(),
            m.ino(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io {
            path: path.to_path_buf(),
            action: IoAction::Read,
            source,
        }),
    }
}

/// Reads one layer file; a missing or zero-length file is an empty layer.
pub(crate) fn read_layer(path: &Path) -> Result<Tree, RegistryError> {
    match read_layer_bytes(path)? {
        Some(bytes) => layer_tree(path, &bytes),
        None => Ok(Tree::new()),
    }
}

/// Blocks until this process holds an exclusive `flock` on `file`.
fn lock_exclusive(file: &File) -> io::Result<()> {
    loop {
        // SAFETY: `flock` only reads its integer arguments; the descriptor is
        // owned by `file`, which outlives the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Replaces `layer` (a layer file, or a file stored beside one, such as a type
/// library) with `text`: temporary file, sync, rename, directory sync. On failure
/// before the rename, the temporary file is removed. The caller holds the layer's
/// lock, which makes the fixed temporary name safe.
pub(crate) fn write_atomically(layer: &Path, text: &[u8]) -> Result<(), RegistryError> {
    let dir = directory_of(layer);
    let tmp = sibling(layer, ".tmp");
    // A previous writer may have been killed before its rename. We hold the
    // lock, so no live writer owns this file.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_error(layer, &tmp, e)),
    }
    let mode = fs::metadata(layer).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let result = (|| {
        // `create_new` (O_EXCL) refuses to follow a symlink planted at `tmp`.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(text)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, layer)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(write_error(layer, &tmp, e));
    }
    // Make the rename itself durable.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| write_error(layer, dir, e))
}

impl Registry {
    /// A registry whose layers are the given files.
    #[must_use]
    pub fn with_files(machine: impl Into<PathBuf>, user: impl Into<PathBuf>) -> Registry {
        Registry {
            machine: machine.into(),
            user: user.into(),
        }
    }

    /// A registry whose layers are `machine.reg` and `user.reg` in `dir`.
    #[must_use]
    pub fn in_dir(dir: impl AsRef<Path>) -> Registry {
        let dir = dir.as_ref();
        Registry::with_files(dir.join(MACHINE_FILE), dir.join(USER_FILE))
    }

    /// The registry of this process's environment.
    ///
    /// A directory set with [`crate::host::set_registry_dir`] comes first (the host's,
    /// in a server module). Then, when `COMIDL_REGISTRY` is set (and not empty) it names a directory
    /// holding `machine.reg` and `user.reg`. Otherwise the machine layer is
    /// `comidl/machine.reg` under the first absolute entry of
    /// `$XDG_DATA_DIRS` (default `/usr/local/share`), and the user layer is
    /// `comidl/user.reg` under `$XDG_DATA_HOME` (default
    /// `$HOME/.local/share`). Fails only when neither `XDG_DATA_HOME` nor
    /// `HOME` gives a user directory.
    pub fn open_default() -> Result<Registry, RegistryError> {
        fn var(name: &str) -> Option<PathBuf> {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }
        // The directory the program chose (`host::set_registry_dir`), asked of the host
        // when this is a server module: the whole process uses one registry.
        if let Some(dir) = crate::host::registry_dir() {
            return Ok(Registry::in_dir(dir));
        }
        if let Some(dir) = var(REGISTRY_ENV) {
            return Ok(Registry::in_dir(dir));
        }
        let machine_base = std::env::var_os("XDG_DATA_DIRS")
            .and_then(|dirs| {
                std::env::split_paths(&dirs).find(|d| d.is_absolute() && !d.as_os_str().is_empty())
            })
            .unwrap_or_else(|| PathBuf::from("/usr/local/share"));
        let user_base = match var("XDG_DATA_HOME").filter(|d| d.is_absolute()) {
            Some(dir) => dir,
            None => match var("HOME") {
                Some(home) => home.join(".local/share"),
                None => {
                    return Err(RegistryError::Io {
                        path: PathBuf::from("$HOME/.local/share/comidl").join(USER_FILE),
                        action: IoAction::Read,
                        source: io::Error::new(
                            io::ErrorKind::NotFound,
                            "neither XDG_DATA_HOME nor HOME is set",
                        ),
                    });
                }
            },
        };
        Ok(Registry::with_files(
            machine_base.join("comidl").join(MACHINE_FILE),
            user_base.join("comidl").join(USER_FILE),
        ))
    }

    /// The file of one layer.
    #[must_use]
    pub fn path(&self, scope: Scope) -> &Path {
        match scope {
            Scope::User => &self.user,
            Scope::Machine => &self.machine,
        }
    }

    /// The lock file writers of one layer take (`<layer file>.lock`).
    #[must_use]
    pub fn lock_path(&self, scope: Scope) -> PathBuf {
        sibling(self.path(scope), ".lock")
    }

    /// The temporary file writers of one layer write before renaming it over
    /// the layer file (`<layer file>.tmp`).
    #[must_use]
    pub fn temp_path(&self, scope: Scope) -> PathBuf {
        sibling(self.path(scope), ".tmp")
    }

    /// The current contents of one layer. No lock is taken.
    pub fn layer(&self, scope: Scope) -> Result<Tree, RegistryError> {
        read_layer(self.path(scope))
    }

    /// Reads both layers and merges them (see [`Snapshot`]). No lock is
    /// taken; each file is read whole, as one of its complete versions.
    pub fn snapshot(&self) -> Result<Snapshot, RegistryError> {
        let machine = read_layer(&self.machine)?;
        let user = read_layer(&self.user)?;
        Ok(Snapshot::merge(&machine, &user))
    }

    /// [`Registry::snapshot`], read again only when a layer file changed since the last
    /// call in this process. Activation asks the registry on every call; this keeps it
    /// from re-reading and re-parsing unchanged files each time. A file counts as changed
    /// when its identity (device, inode: every `update` renames a new file in), length,
    /// modification or status-change time differs.
    pub fn shared_snapshot(&self) -> Result<Arc<Snapshot>, RegistryError> {
        type Cached = (PathBuf, PathBuf, [Stamp; 2], Arc<Snapshot>);
        static LAST: Mutex<Option<Cached>> = Mutex::new(None);
        // Stamped before reading: a file replaced in between is read anew next time,
        // never cached under the newer stamp with older contents.
        let stamps = [stamp(&self.machine)?, stamp(&self.user)?];
        {
            let last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((machine, user, seen, snapshot)) = last.as_ref()
                && *machine == self.machine
                && *user == self.user
                && *seen == stamps
            {
                return Ok(snapshot.clone());
            }
        }
        let snapshot = Arc::new(self.snapshot()?);
        *LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((
            self.machine.clone(),
            self.user.clone(),
            stamps,
            snapshot.clone(),
        ));
        Ok(snapshot)
    }

    /// Changes one layer safely against concurrent writers and crashes.
    ///
    /// Takes the layer's lock (waiting for other writers), reads the layer
    /// as it is now, runs `change` on it, and — if `change` succeeds and the
    /// resulting REGEDIT4 text differs from the file — replaces the file
    /// atomically with that text (so a file written by hand is rewritten in
    /// the canonical layout). If `change` fails, nothing is written and its
    /// error is returned.
    ///
    /// The layer's directory is created if missing. A layer file that does
    /// not parse is reported ([`RegistryError::Parse`], with its path) and
    /// left untouched. If only the final sync of the directory fails, the
    /// error is reported although the new file is already in place.
    pub fn update<T>(
        &self,
        scope: Scope,
        change: impl FnOnce(&mut Tree) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let layer = self.path(scope);
        let dir = directory_of(layer);
        fs::create_dir_all(dir).map_err(|e| write_error(layer, dir, e))?;
        let lock_path = self.lock_path(scope);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&lock_path)
            .map_err(|e| write_error(layer, &lock_path, e))?;
        lock_exclusive(&lock).map_err(|e| write_error(layer, &lock_path, e))?;
        let old = read_layer_bytes(layer)?;
        let old = old.as_deref();
        let mut tree = layer_tree(layer, old.unwrap_or_default())?;
        let out = change(&mut tree)?;
        let text = tree.export(None);
        // Skip writing when nothing changed: same text, or still nothing in
        // a missing or empty file.
        let unchanged = match old {
            Some(old) if !old.is_empty() => old == text.as_bytes(),
            _ => tree.is_empty(),
        };
        if !unchanged {
            write_atomically(layer, text.as_bytes())?;
        }
        // Dropping `lock` closes the descriptor, which releases the lock.
        drop(lock);
        Ok(out)
    }

    /// Applies REGEDIT4 `text` to one layer. The whole text is parsed first;
    /// if any line is wrong nothing is written and the error gives its line
    /// and column.
    pub fn import(&self, scope: Scope, text: impl AsRef<[u8]>) -> Result<(), RegistryError> {
        let file = RegFile::parse(text.as_ref()).map_err(|e| RegistryError::from_parse(None, e))?;
        self.update(scope, |tree| file.apply(tree))
    }

    /// Applies the REGEDIT4 file at `path` to one layer, like
    /// [`Registry::import`]; errors name `path`.
    pub fn import_file(&self, scope: Scope, path: impl AsRef<Path>) -> Result<(), RegistryError> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| RegistryError::Io {
            path: path.to_path_buf(),
            action: IoAction::Read,
            source,
        })?;
        let file = RegFile::parse(&bytes)
            .map_err(|e| RegistryError::from_parse(Some(path.to_path_buf()), e))?;
        self.update(scope, |tree| file.apply(tree))
    }
}
