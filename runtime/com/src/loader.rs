//! Loading in-process server modules (SEMANTICS.md, "In-process server", "Server
//! lifetime"): the process's cache of loaded modules. A module is loaded with `dlopen` the
//! first time one of its classes is asked for, attached to this runtime (see
//! [`crate::host`]), and asked for class objects; [`CoFreeUnusedLibraries`] unloads every
//! module whose `DllCanUnloadNow` answers S_OK. Every load is counted and matched by an
//! unload ([`load_counts`]); a module may be loaded, unloaded and loaded again any number
//! of times.
//!
//! Layer: com. Uses `host`, `host_table` of this layer.

use core::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW, Symbol};

use crate::host::{ABI_VERSION, ATTACH_SYMBOL, E_REVISION_MISMATCH, Services};
use crate::host_table::SERVICES;
use crate::{CO_E_ERRORINDLL, GUID, HRESULT, S_OK};

type DllGetClassObjectFn =
    unsafe extern "system" fn(*const GUID, *const GUID, *mut *mut c_void) -> HRESULT;
type DllCanUnloadNowFn = unsafe extern "system" fn() -> HRESULT;
type AttachFn = unsafe extern "C" fn(*const Services, *mut u32) -> HRESULT;

/// `HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND)`: the server's file does not exist.
pub const E_MOD_NOT_FOUND: HRESULT = HRESULT::from_win32(126);
/// `HRESULT_FROM_WIN32(ERROR_BAD_EXE_FORMAT)`: the file is not a loadable library.
pub const E_BAD_EXE_FORMAT: HRESULT = HRESULT::from_win32(193);

/// A loaded module. Dropping the last reference unloads it.
struct Module {
    path: PathBuf,
    get_class_object: DllGetClassObjectFn,
    can_unload_now: Option<DllCanUnloadNowFn>,
    /// Last field: dropped (dlclose) after nothing else of the module is needed.
    _library: Opened,
}

static CACHE: Mutex<Vec<Arc<Module>>> = Mutex::new(Vec::new());
static LOADS: AtomicUsize = AtomicUsize::new(0);
static UNLOADS: AtomicUsize = AtomicUsize::new(0);

fn cache() -> MutexGuard<'static, Vec<Arc<Module>>> {
    // A panic while holding the lock leaves a consistent Vec: keep using it.
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many times this process's runtime has loaded and unloaded server modules.
pub fn load_counts() -> (usize, usize) {
    (
        LOADS.load(Ordering::Acquire),
        UNLOADS.load(Ordering::Acquire),
    )
}

/// The modules loaded now, by path.
pub fn loaded_modules() -> Vec<PathBuf> {
    cache().iter().map(|m| m.path.clone()).collect()
}

/// Asks the module at `path` (loading it if needed) for the class object of `clsid`.
///
/// # Safety
/// `out` is writable.
#[doc(hidden)]
pub unsafe fn get_class_object(
    path: &str,
    clsid: &GUID,
    iid: &GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    let module = match module(path) {
        Ok(module) => module,
        Err((hr, message)) => {
            crate::host::set_error_message(hr, message);
            return hr;
        }
    };
    // Called outside the cache lock: the module may itself activate classes. Our `Arc`
    // keeps it loaded until the call returns.
    // SAFETY: the module's export, called with valid pointers (COM's contract).
    unsafe { (module.get_class_object)(clsid, iid, out) }
}

/// The cached module at `path`, or a newly loaded one.
fn module(path: &str) -> Result<Arc<Module>, (HRESULT, String)> {
    let key = resolve(path)?;
    let mut cache = cache();
    if let Some(found) = cache.iter().find(|m| m.path == key) {
        return Ok(found.clone());
    }
    let module = Arc::new(load(&key)?);
    cache.push(module.clone());
    Ok(module)
}

/// The path a module is cached under: canonical for a path, the name for a bare name
/// (which `dlopen` looks up in the library search path).
fn resolve(path: &str) -> Result<PathBuf, (HRESULT, String)> {
    if !path.contains('/') {
        return Ok(PathBuf::from(path));
    }
    std::fs::canonicalize(path).map_err(|error| {
        (
            E_MOD_NOT_FOUND,
            format!("the in-process server `{path}` cannot be opened: {error}"),
        )
    })
}

/// Opens the library at `path` and, if it is a comidl module, attaches it to this runtime
/// after checking it was built for the same ABI. Counts the load; the caller's
/// [`Opened`] counts the unload.
fn open(path: &Path) -> Result<Opened, (HRESULT, String)> {
    let shown = path.display();
    // SAFETY: loading runs the module's initialisers; loading a registered server is
    // what the caller asked for.
    let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        (
            E_BAD_EXE_FORMAT,
            format!("the in-process server `{shown}` cannot be loaded: {e}"),
        )
    })?;
    LOADS.fetch_add(1, Ordering::AcqRel);
    let opened = Opened(library);
    handshake(&opened.0, path)?;
    Ok(opened)
}

/// Attaches the just-opened module `library` (loaded from `path`) to this runtime if it
/// is a comidl module (exports `comidl_module_attach`), after checking it was built for
/// the same ABI; a library without the export is left alone.
#[doc(hidden)]
pub fn handshake(library: &Library, path: &Path) -> Result<(), (HRESULT, String)> {
    let shown = path.display();
    // SAFETY: the symbol, if present, is the handshake with its documented signature; a
    // module without it is not a comidl module and runs with whatever runtime it has.
    let attach: Result<Symbol<AttachFn>, _> =
        unsafe { library.get(format!("{ATTACH_SYMBOL}\0").as_bytes()) };
    if let Ok(attach) = attach {
        let mut module_abi = 0u32;
        // So that a module which is this very image recognises its own table.
        crate::host::set_own_table(&SERVICES);
        // SAFETY: the export's contract: our table lives as long as the process.
        let hr = unsafe { attach(&SERVICES, &mut module_abi) };
        if hr != S_OK || module_abi != ABI_VERSION {
            let hr = if hr.is_err() { hr } else { E_REVISION_MISMATCH };
            return Err((
                hr,
                format!(
                    "`{shown}` was built for comidl runtime ABI version {module_abi}, but this \
                     process's runtime ({}) speaks ABI version {ABI_VERSION}; rebuild the \
                     module against a matching comidl-runtime",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
    }
    Ok(())
}

/// An open library; dropping it unloads it and counts the unload.
struct Opened(Library);

impl Drop for Opened {
    fn drop(&mut self) {
        UNLOADS.fetch_add(1, Ordering::AcqRel);
    }
}

fn load(path: &Path) -> Result<Module, (HRESULT, String)> {
    let opened = open(path)?;
    // SAFETY: the symbol, if present, is `DllGetClassObject` with COM's signature.
    let get: Result<Symbol<DllGetClassObjectFn>, _> =
        unsafe { opened.0.get(b"DllGetClassObject\0") };
    let Ok(get) = get else {
        return Err((
            CO_E_ERRORINDLL,
            format!(
                "`{}` is not a COM server: it does not export DllGetClassObject",
                path.display()
            ),
        ));
    };
    let get_class_object = *get;
    // SAFETY: as above, for `DllCanUnloadNow`.
    let can: Result<Symbol<DllCanUnloadNowFn>, _> = unsafe { opened.0.get(b"DllCanUnloadNow\0") };
    let can_unload_now = can.ok().map(|s| *s);
    Ok(Module {
        path: path.to_path_buf(),
        get_class_object,
        can_unload_now,
        _library: opened,
    })
}

/// A server module's export failed, or the module could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleError {
    /// What the export returned, or why the module was refused.
    pub hr: HRESULT,
    /// A sentence saying what happened.
    pub message: String,
}

impl core::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = self.hr.name().map(|n| format!(" {n}")).unwrap_or_default();
        write!(f, "{} [{:#010x}{name}]", self.message, self.hr.to_u32())
    }
}

impl std::error::Error for ModuleError {}

/// Calls the server module's `DllRegisterServer`, as regsvr32 does.
pub fn register_server(path: &Path) -> Result<(), ModuleError> {
    call_registration(path, "DllRegisterServer")
}

/// Calls the server module's `DllUnregisterServer`, as `regsvr32 /u` does.
pub fn unregister_server(path: &Path) -> Result<(), ModuleError> {
    call_registration(path, "DllUnregisterServer")
}

fn call_registration(path: &Path, export: &str) -> Result<(), ModuleError> {
    let error = |(hr, message): (HRESULT, String)| ModuleError { hr, message };
    let shown = path.display();
    if !path.exists() {
        return Err(ModuleError {
            hr: E_MOD_NOT_FOUND,
            message: format!("`{shown}` does not exist"),
        });
    }
    let key = resolve(&path.to_string_lossy()).map_err(error)?;
    let opened = open(&key).map_err(error)?;
    // SAFETY: the registration exports take no arguments and return an HRESULT.
    let function: Result<Symbol<DllCanUnloadNowFn>, _> =
        unsafe { opened.0.get(format!("{export}\0").as_bytes()) };
    let Ok(function) = function else {
        return Err(ModuleError {
            hr: CO_E_ERRORINDLL,
            message: format!("`{shown}` was loaded, but it does not export {export}"),
        });
    };
    // Drop any message left over from before, so a message after the call is the module's.
    let _ = crate::host::take_error_message();
    // SAFETY: the module's export, no arguments.
    let hr = unsafe { function() };
    if hr.is_ok() {
        return Ok(());
    }
    let detail = match crate::host::take_error_message() {
        Some((recorded, text)) if recorded == hr => format!(": {text}"),
        _ => String::new(),
    };
    Err(ModuleError {
        hr,
        message: format!("{export} of `{shown}` failed{detail}"),
    })
}

/// The local implementation of `CoFreeUnusedLibraries`.
pub(crate) fn free_unused_libraries_local() {
    let unused: Vec<Arc<Module>> = {
        let mut cache = cache();
        let mut unused = Vec::new();
        let mut i = 0;
        while i < cache.len() {
            let module = &cache[i];
            // A module in use by a call in progress (another Arc) stays; one without
            // DllCanUnloadNow never unloads, as on Windows.
            let idle = Arc::strong_count(module) == 1
                && module.can_unload_now.is_some_and(|can| {
                    // SAFETY: the module's export, no arguments.
                    (unsafe { can() }) == S_OK
                });
            if idle {
                unused.push(cache.swap_remove(i));
            } else {
                i += 1;
            }
        }
        unused
    };
    // Unload outside the lock: a module's destructors may call back into the runtime.
    drop(unused);
}

/// `CoFreeUnusedLibraries`: unloads every loaded server module that says it may go.
#[allow(non_snake_case)]
pub fn CoFreeUnusedLibraries() {
    match crate::host::attached() {
        // SAFETY: the host's table is valid for the life of the process.
        Some(host) => unsafe { (host.free_unused_libraries)() },
        None => free_unused_libraries_local(),
    }
}
