//! The host side: [`ProviderHost`] opens the providers a [`Profile`] names, and each
//! [`Provider`] handle owns its provider object and its load of the module.
//!
//! Loading: every [`ProviderHost::open`] does its own `dlopen` (a module may be loaded
//! several times; the loader counts each load, [`ProviderHost::load_counts`]), attaches a
//! comidl module to this runtime with the same ABI handshake in-process servers get, and
//! calls the entry point the profile names with the host's version and a support object.
//!
//! Unloading: when a [`Provider`] drops, it releases its object, then (in host code, not
//! inside any call into the module) asks the module's `DllCanUnloadNow`; on S_OK the load
//! is closed, otherwise (the client still holds other objects of the module) it is kept
//! pending and asked again by [`ProviderHost::free_unused`], which every `open` also runs.
//! A module without `DllCanUnloadNow` is never unloaded once its entry point has run, and
//! no load is closed while this thread is inside a call into provider code (a release, an
//! entry point, a `DllCanUnloadNow`): it waits for the next `free_unused`. When the host
//! drops, loads whose modules are still busy are leaked (left mapped, never closed) rather
//! than unloaded under live objects. A [`Provider`] may outlive its host: when it drops, its
//! load is unloaded if the module may go, and otherwise leaked the same way.
//!
//! Layer: services. Uses `host`, `loader`, `unknown` of the layers below.

use core::cell::Cell;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW, Symbol};

use super::bindings::IProviderSupport;
use super::profile::{Profile, ProfileError, ProviderEntry};
use super::support::Support;
use crate::host::E_REVISION_MISMATCH;
use crate::loader::{E_BAD_EXE_FORMAT, E_MOD_NOT_FOUND};
use crate::unknown::{ComPtr, Interface};
use crate::{ComObject, E_POINTER, HRESULT, REFIID, S_OK, ULONG};

/// `HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND)`: the module does not export the entry point.
pub const E_PROC_NOT_FOUND: HRESULT = HRESULT::from_win32(127);
/// `HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`: the profile has no provider of that name.
pub const E_PROVIDER_NOT_FOUND: HRESULT = HRESULT::from_win32(1168);
/// `HRESULT_FROM_WIN32(ERROR_INVALID_DATA)`: the profile is malformed.
pub const E_BAD_PROFILE: HRESULT = HRESULT::from_win32(13);
/// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`: the profile cannot be read.
pub const E_PROFILE_NOT_READ: HRESULT = HRESULT::from_win32(2);

type EntryFn = unsafe extern "system" fn(
    ULONG,
    Option<IProviderSupport>,
    REFIID,
    *mut ULONG,
    *mut *mut c_void,
) -> HRESULT;
type CanUnloadNowFn = unsafe extern "system" fn() -> HRESULT;

/// What kind of failure a [`ProviderError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The profile cannot be read or is malformed.
    Profile,
    /// The profile has no provider of the name asked for.
    UnknownProvider,
    /// The module's file does not exist (or the search path has no such library).
    ModuleNotFound,
    /// The file exists but cannot be loaded, or it is a comidl module built for another
    /// runtime ABI.
    ModuleNotLoadable,
    /// The module does not export the entry point the profile names.
    NoEntryPoint,
    /// The provider was built for a newer provider interface than the host speaks.
    VersionRefused,
    /// The entry point failed, or succeeded without an object.
    EntryFailed,
}

/// Why a provider could not be opened: what kind of failure, its HRESULT, and where in the
/// profile the cause is. Display reads `profile.ini:7: provider `name`: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The HRESULT (the entry point's own for [`ErrorKind::EntryFailed`]).
    pub hr: HRESULT,
    /// What happened, in a sentence.
    pub message: String,
    /// The profile.
    pub path: PathBuf,
    /// The 1-based line of the profile the failure belongs to: the `Library =` line for a
    /// module that cannot be loaded, the `EntryPoint =` line for a missing entry point, the
    /// section line for a refused version or a failed entry point; `None` when the failure
    /// is not at one line (an unknown provider, an unreadable profile).
    pub line: Option<usize>,
    /// The column, for profile syntax errors that have one.
    pub column: Option<usize>,
    /// The provider asked for, when the failure is about one.
    pub provider: Option<String>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(name) = &self.provider {
            write!(f, "provider `{name}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

impl From<ProfileError> for ProviderError {
    fn from(error: ProfileError) -> ProviderError {
        let unreadable = error.line == 0;
        ProviderError {
            kind: ErrorKind::Profile,
            hr: if unreadable {
                E_PROFILE_NOT_READ
            } else {
                E_BAD_PROFILE
            },
            message: error.message,
            path: error.path,
            line: (!unreadable).then_some(error.line),
            column: error.column,
            provider: None,
        }
    }
}

std::thread_local! {
    /// How deep this thread is in calls into provider modules.
    static IN_MODULE: Cell<usize> = const { Cell::new(0) };
}

/// Runs `call` (which calls into a provider module) marked as such, so nothing unloads a
/// module underneath it.
fn in_module<R>(call: impl FnOnce() -> R) -> R {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            let _ = IN_MODULE.try_with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    let _ = IN_MODULE.try_with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    call()
}

/// Whether this thread is inside a call into a provider module (or cannot tell).
fn inside_module() -> bool {
    IN_MODULE.try_with(|d| d.get() > 0).unwrap_or(true)
}

/// One `dlopen` of a module. Dropping it leaks the load (the module stays mapped): only
/// [`Load::close`] and [`Load::try_unload`] unmap, when that is known to be safe.
struct Load {
    library: ManuallyDrop<Library>,
    can_unload_now: Option<CanUnloadNowFn>,
}

impl Load {
    /// Closes the load now, counting the unload.
    fn close(mut self, counts: &Shared) {
        // SAFETY: taken once; `self` is consumed and its Drop does not touch the field.
        let library = unsafe { ManuallyDrop::take(&mut self.library) };
        if library.close().is_ok() {
            counts.unloads.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Closes the load if the module says it may go and no call into a provider module is
    /// running on this thread; otherwise hands it back.
    fn try_unload(self, counts: &Shared) -> Result<(), Load> {
        if inside_module() {
            return Err(self);
        }
        let Some(can_unload_now) = self.can_unload_now else {
            return Err(self);
        };
        // SAFETY: the module's `DllCanUnloadNow` export, no arguments; the module is loaded.
        let answer = in_module(|| unsafe { can_unload_now() });
        if answer == S_OK {
            self.close(counts);
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// What the host and its provider handles share: the load counts and the pending loads.
struct Shared {
    loads: AtomicUsize,
    unloads: AtomicUsize,
    pending: Mutex<Vec<Load>>,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Vec<Load>> {
        // A panic while holding the lock leaves a consistent Vec: keep using it.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives `load` back: it joins the pending loads, and every pending load whose module
    /// may go now is unloaded (another load of the same module may have been waiting for
    /// the object this one just released).
    fn unload_or_keep(&self, load: Load) {
        self.pending().push(load);
        self.free_unused();
    }

    /// Asks every pending load's module again; returns how many were unloaded.
    fn free_unused(&self) -> usize {
        // Modules are asked outside the lock: their code may call back into the host.
        let pending = core::mem::take(&mut *self.pending());
        let mut freed = 0;
        let mut busy = Vec::new();
        for load in pending {
            match load.try_unload(self) {
                Ok(()) => freed += 1,
                Err(load) => busy.push(load),
            }
        }
        self.pending().extend(busy);
        freed
    }
}

/// Opens the providers of a profile for a host that speaks version `host_version` of the
/// provider interface.
pub struct ProviderHost {
    profile: Profile,
    host_version: u32,
    shared: Arc<Shared>,
}

impl ProviderHost {
    /// A host for the providers `profile` names.
    pub fn new(profile: Profile, host_version: u32) -> ProviderHost {
        ProviderHost {
            profile,
            host_version,
            shared: Arc::new(Shared {
                loads: AtomicUsize::new(0),
                unloads: AtomicUsize::new(0),
                pending: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Reads the profile at `path` ([`Profile::load`]) and makes a host for it.
    pub fn load(path: impl AsRef<Path>, host_version: u32) -> Result<ProviderHost, ProviderError> {
        Ok(ProviderHost::new(Profile::load(path)?, host_version))
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The version of the provider interface this host speaks.
    pub fn host_version(&self) -> u32 {
        self.host_version
    }

    /// How many times this host has loaded modules, and unloaded them.
    pub fn load_counts(&self) -> (usize, usize) {
        (
            self.shared.loads.load(Ordering::Acquire),
            self.shared.unloads.load(Ordering::Acquire),
        )
    }

    /// How many loads wait to be unloaded (their modules still had live objects).
    pub fn pending_unloads(&self) -> usize {
        self.shared.pending().len()
    }

    /// Unloads every pending load whose module now says it may go; returns how many.
    pub fn free_unused(&self) -> usize {
        self.shared.free_unused()
    }

    /// Loads the module of the provider `name` and calls its entry point for a provider
    /// object of interface `I`.
    pub fn open<I: Interface>(&self, name: &str) -> Result<Provider<I>, ProviderError> {
        self.free_unused();
        let Some(entry) = self.profile.provider(name) else {
            return Err(ProviderError {
                kind: ErrorKind::UnknownProvider,
                hr: E_PROVIDER_NOT_FOUND,
                message: format!("the profile has no provider `{name}`"),
                path: self.profile.path().to_path_buf(),
                line: None,
                column: None,
                provider: None,
            });
        };
        let error = |kind, hr, line, message| ProviderError {
            kind,
            hr,
            message,
            path: self.profile.path().to_path_buf(),
            line: Some(line),
            column: None,
            provider: Some(entry.name.clone()),
        };
        let (library, path) = self
            .dlopen(entry)
            .map_err(|(kind, hr, message)| error(kind, hr, entry.library_line, message))?;
        if let Err((hr, message)) = crate::loader::handshake(&library.library, &path) {
            library.close(&self.shared);
            return Err(error(
                ErrorKind::ModuleNotLoadable,
                hr,
                entry.library_line,
                message,
            ));
        }
        let Some(entry_fn) = entry_point(&library, &entry.entry_point) else {
            // Nothing of the module but its initialisers and the handshake has run.
            library.close(&self.shared);
            return Err(error(
                ErrorKind::NoEntryPoint,
                E_PROC_NOT_FOUND,
                entry.entry_point_line,
                format!(
                    "`{}` does not export the entry point `{}`",
                    path.display(),
                    entry.entry_point
                ),
            ));
        };
        match self.call_entry::<I>(entry, entry_fn) {
            Ok((object, version)) => Ok(Provider {
                object: ManuallyDrop::new(object),
                load: Some(library),
                shared: self.shared.clone(),
                name: entry.name.clone(),
                version,
            }),
            Err((kind, hr, message)) => {
                self.shared.unload_or_keep(library);
                Err(error(kind, hr, entry.line, message))
            }
        }
    }

    /// Opens the module of `entry` and counts the load.
    fn dlopen(
        &self,
        entry: &ProviderEntry,
    ) -> Result<(Load, PathBuf), (ErrorKind, HRESULT, String)> {
        let path = entry.library_path();
        let searched = entry.library_is_bare_name() && path.as_os_str() == entry.library.as_str();
        if !searched && !path.exists() {
            return Err((
                ErrorKind::ModuleNotFound,
                E_MOD_NOT_FOUND,
                format!("the module `{}` does not exist", path.display()),
            ));
        }
        // SAFETY: loading runs the module's initialisers; loading the module the profile
        // names is what the caller asked for.
        let library = unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_LOCAL) };
        let library = library.map_err(|e| {
            let text = e.to_string();
            if searched && text.contains("No such file") {
                let beside = std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.parent().map(Path::to_path_buf))
                    .map(|dir| format!("not next to the host executable ({}) and ", dir.display()))
                    .unwrap_or_default();
                (
                    ErrorKind::ModuleNotFound,
                    E_MOD_NOT_FOUND,
                    format!(
                        "the module `{}` is {beside}not in the library search path",
                        entry.library
                    ),
                )
            } else {
                (
                    ErrorKind::ModuleNotLoadable,
                    E_BAD_EXE_FORMAT,
                    format!("the module `{}` cannot be loaded: {text}", path.display()),
                )
            }
        })?;
        self.shared.loads.fetch_add(1, Ordering::AcqRel);
        // SAFETY: `DllCanUnloadNow`, if exported, takes nothing and returns an HRESULT.
        let can: Result<Symbol<CanUnloadNowFn>, _> = unsafe { library.get(b"DllCanUnloadNow\0") };
        let can_unload_now = can.ok().map(|symbol| *symbol);
        Ok((
            Load {
                library: ManuallyDrop::new(library),
                can_unload_now,
            },
            path,
        ))
    }

    /// Calls the entry point with a new support object and checks what it answers.
    fn call_entry<I: Interface>(
        &self,
        entry: &ProviderEntry,
        entry_fn: EntryFn,
    ) -> Result<(ComPtr<I>, u32), (ErrorKind, HRESULT, String)> {
        let support = ComObject::create::<IProviderSupport>(Support {
            name: entry.name.clone(),
            settings: entry.settings.clone(),
            host_version: self.host_version,
        })
        .map_err(|hr| {
            (
                ErrorKind::EntryFailed,
                hr,
                "cannot create the support object".to_string(),
            )
        })?;
        // A message recorded after this is the entry point's.
        let _ = crate::host::take_error_message();
        let mut version: ULONG = 0;
        let mut out: *mut c_void = core::ptr::null_mut();
        // SAFETY: the export has the LPPROVIDERENTRY signature (the profile's promise); the
        // support object is alive for the call, the IID is static, the out pointers are
        // writable locals.
        let hr = in_module(|| unsafe {
            entry_fn(
                self.host_version,
                Some(*support),
                &I::IID,
                &mut version,
                &mut out,
            )
        });
        drop(support);
        let refused = || {
            format!(
                "built for provider interface version {version}, but this host speaks version {}",
                self.host_version
            )
        };
        if hr.is_err() {
            // On failure the out pointer is NULL by COM's rules; a provider that breaks
            // them leaks its object (and so its module stays loaded): it is never released
            // on a guess.
            if hr == E_REVISION_MISMATCH {
                let _ = crate::host::take_error_message();
                let message = if version > self.host_version {
                    refused()
                } else {
                    format!(
                        "the entry point `{}` refused this host's provider interface version \
                         {} (the provider reports version {version})",
                        entry.entry_point, self.host_version
                    )
                };
                return Err((ErrorKind::VersionRefused, hr, message));
            }
            return Err((
                ErrorKind::EntryFailed,
                hr,
                format!(
                    "the entry point `{}` failed: {}",
                    entry.entry_point,
                    crate::host::describe(hr)
                ),
            ));
        }
        // SAFETY: on success the entry point hands over one reference to an `I` (the
        // contract: the object as `riid`), or NULL.
        let Some(object) = (unsafe { ComPtr::<I>::from_raw(out) }) else {
            return Err((
                ErrorKind::EntryFailed,
                E_POINTER,
                format!(
                    "the entry point `{}` succeeded but returned no provider object",
                    entry.entry_point
                ),
            ));
        };
        if version > self.host_version {
            in_module(|| drop(object));
            return Err((ErrorKind::VersionRefused, E_REVISION_MISMATCH, refused()));
        }
        Ok((object, version))
    }
}

impl Drop for ProviderHost {
    fn drop(&mut self) {
        self.free_unused();
        // Still busy: their modules have live objects. Leak them (each `Load` leaks when
        // dropped) rather than unmap code that may still run.
        let busy = core::mem::take(&mut *self.shared.pending());
        drop(busy);
    }
}

/// The entry point `name` of `library`, if exported and not NULL.
fn entry_point(library: &Load, name: &str) -> Option<EntryFn> {
    let symbol = format!("{name}\0");
    // SAFETY: looked up as a plain address, checked for NULL before use.
    let address: Symbol<*mut c_void> = unsafe { library.library.get(symbol.as_bytes()) }.ok()?;
    let address = *address;
    if address.is_null() {
        return None;
    }
    // SAFETY: a non-NULL exported function the profile names as an LPPROVIDERENTRY entry
    // point; a function pointer and a data pointer have the same size and representation
    // on the platforms dlsym serves.
    Some(unsafe { core::mem::transmute::<*mut c_void, EntryFn>(address) })
}

/// An open provider: its object (as interface `I`), and the load of its module, which is
/// given back when the handle drops (see the [module documentation](self)).
pub struct Provider<I: Interface> {
    object: ManuallyDrop<ComPtr<I>>,
    load: Option<Load>,
    shared: Arc<Shared>,
    name: String,
    version: u32,
}

impl<I: Interface> Provider<I> {
    /// The provider object, owned by the handle; clone it for a reference of your own
    /// (which keeps the module loaded after the handle drops, until released).
    pub fn object(&self) -> &ComPtr<I> {
        &self.object
    }

    /// The provider's name, as its profile section spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider interface version the provider was built for.
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl<I: Interface> core::ops::Deref for Provider<I> {
    type Target = I;
    fn deref(&self) -> &I {
        &self.object
    }
}

impl<I: Interface> fmt::Debug for Provider<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("object", &*self.object)
            .finish()
    }
}

impl<I: Interface> Drop for Provider<I> {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is not used again.
        let object = unsafe { ManuallyDrop::take(&mut self.object) };
        // First the object (its Release runs module code) ...
        in_module(|| drop(object));
        // ... then, back in host code, the load.
        if let Some(load) = self.load.take() {
            self.shared.unload_or_keep(load);
        }
    }
}
