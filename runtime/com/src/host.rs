//! One COM library per process (DESIGN.md, "The runtime").
//!
//! Every module of a process links its own copy of this crate: the host executable (or
//! the C runtime library a C host links) and each in-process server library. The copy in
//! the module that loads servers is *the* library: it keeps the per-thread initialisation
//! state, the table of registered class objects, the cache of loaded server modules and
//! the last error message of each thread. Before the loader asks a server module for
//! anything, it calls the module's `comidl_module_attach` export with a table of its own
//! services ([`Services`]); from then on the module's copy forwards those functions to it.
//! A module that is never attached (loaded by a plain C host with `dlopen` and
//! `DllGetClassObject`) keeps using its own copy and works stand-alone.
//!
//! The task allocator needs no forwarding: its block format is fixed (see
//! [`crate::alloc`]) and sits on the process's one `malloc`, so every copy already is the
//! same allocator. The handshake makes sure the format is the one the host expects.
//!
//! The handshake: the table starts with its size and [`ABI_VERSION`]. A module refuses a
//! table of another ABI version (or one too short) with
//! `HRESULT_FROM_WIN32(ERROR_REVISION_MISMATCH)` and reports its own version, and the
//! loader refuses a module whose version differs from its own, whatever the module said;
//! the error message names both versions. Never a crash: nothing else of the module runs.
//!
//! Layer: com; this is the process state of the COM library (who the host is, the
//! thread's last error message, the registry directory). Uses core only; the table a
//! host hands out, which calls the operations above this state, is `crate::host_table`.

use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};
use std::cell::RefCell;

use crate::{E_POINTER, GUID, HRESULT, S_OK};

/// The version of the table below and of every format modules share (task-allocator
/// blocks, the meaning of each entry). Raise it with any incompatible change.
pub const ABI_VERSION: u32 = 2;

/// `HRESULT_FROM_WIN32(ERROR_REVISION_MISMATCH)`: the module was built for another
/// version of the runtime.
pub const E_REVISION_MISMATCH: HRESULT = HRESULT::from_win32(1306);

/// The name of the function a comidl server module exports for the handshake:
/// `HRESULT comidl_module_attach(const Services *host, uint32_t *module_abi)`.
pub const ATTACH_SYMBOL: &str = "comidl_module_attach";

/// The host's services, as a C table. Entries mean exactly what the functions of the same
/// name in this crate mean.
#[repr(C)]
pub struct Services {
    /// `size_of::<Services>()` of the host.
    pub size: usize,
    /// The host's [`ABI_VERSION`].
    pub abi: u32,
    /// The host's crate version, NUL-terminated (for messages).
    pub version: *const c_char,
    /// `CoInitializeEx`.
    pub initialize: unsafe extern "C" fn(*mut c_void, u32) -> HRESULT,
    /// `CoUninitialize`.
    pub uninitialize: unsafe extern "C" fn(),
    /// The calling thread's apartment (0 none, 1 STA, 2 MTA, 3 implicit MTA).
    pub apartment: unsafe extern "C" fn() -> i32,
    /// `CoGetClassObject` (the `COSERVERINFO` pointer passed as is).
    pub get_class_object: unsafe extern "C" fn(
        *const GUID,
        u32,
        *mut c_void,
        *const GUID,
        *mut *mut c_void,
    ) -> HRESULT,
    /// `CoRegisterClassObject`.
    pub register_class_object:
        unsafe extern "C" fn(*const GUID, *mut c_void, u32, u32, *mut u32) -> HRESULT,
    /// `CoRevokeClassObject`.
    pub revoke_class_object: unsafe extern "C" fn(u32) -> HRESULT,
    /// `CoResumeClassObjects`.
    pub resume_class_objects: unsafe extern "C" fn() -> HRESULT,
    /// `CoFreeUnusedLibraries`.
    pub free_unused_libraries: unsafe extern "C" fn(),
    /// Records the calling thread's last error message (UTF-8, not NUL-terminated).
    pub set_error: unsafe extern "C" fn(HRESULT, *const u8, usize),
    /// Hands over the calling thread's last error message as a task-allocator block
    /// holding NUL-terminated UTF-8 (NULL if none), and clears it.
    pub take_error: unsafe extern "C" fn(*mut HRESULT) -> *mut c_char,
    /// The class registry directory the host set with [`set_registry_dir`], as a
    /// task-allocator block holding NUL-terminated UTF-8, or NULL when it set none.
    pub registry_dir: unsafe extern "C" fn() -> *mut c_char,
    /// Marshals interface `iid` of an object (the host's CoMarshalInterface, for the
    /// interface pointers among a proxy/stub module's parameters): the OBJREF as a
    /// task-allocator block and its length.
    pub marshal_interface: MarshalInterfaceFn,
    /// Unmarshals an OBJREF (its bytes and length) as interface `iid`.
    pub unmarshal_interface: UnmarshalInterfaceFn,
    /// Releases what an OBJREF holds (CoReleaseMarshalData).
    pub release_marshal_data: ReleaseMarshalDataFn,
}

/// `marshal_interface(iid, itf, context, mshlflags, &bytes, &len)`.
pub type MarshalInterfaceFn =
    unsafe extern "C" fn(*const GUID, *mut c_void, u32, u32, *mut *mut u8, *mut u32) -> HRESULT;
/// `unmarshal_interface(bytes, len, iid, &itf)`.
pub type UnmarshalInterfaceFn =
    unsafe extern "C" fn(*const u8, u32, *const GUID, *mut *mut c_void) -> HRESULT;
/// `release_marshal_data(bytes, len)`.
pub type ReleaseMarshalDataFn = unsafe extern "C" fn(*const u8, u32) -> HRESULT;

// SAFETY: the table is immutable; its one pointer is to a static string.
unsafe impl Sync for Services {}

/// The host this copy forwards to; NULL while it is the library itself.
static HOST: AtomicPtr<Services> = AtomicPtr::new(core::ptr::null_mut());

/// The table this copy hands to the modules it loads ([`crate::host_table`]), recorded by
/// the loader before it attaches a module, so [`attach`] can tell a host loading its own
/// image.
static OWN_TABLE: AtomicPtr<Services> = AtomicPtr::new(core::ptr::null_mut());

/// Records this copy's own table (the loader does, before each attach).
pub(crate) fn set_own_table(table: &'static Services) {
    OWN_TABLE.store(core::ptr::from_ref(table).cast_mut(), Ordering::Release);
}

/// The host's table, when this copy lives in an attached module.
#[doc(hidden)]
pub fn attached() -> Option<&'static Services> {
    let host = HOST.load(Ordering::Acquire);
    // SAFETY: only `attach` stores here, a table that lives as long as the process (the
    // host outlives the modules it loads).
    unsafe { host.as_ref() }
}

/// The module side of the handshake (what `comidl_module_attach` runs): reports this
/// copy's ABI version and, if the host speaks the same one, forwards to it from now on.
///
/// # Safety
/// `host` is NULL or a `Services` table valid for the rest of the process; `module_abi` is
/// NULL or writable.
pub unsafe fn attach(host: *const Services, module_abi: *mut u32) -> HRESULT {
    if !module_abi.is_null() {
        // SAFETY: non-null and writable (caller's contract).
        unsafe { module_abi.write(ABI_VERSION) };
    }
    // SAFETY: NULL or a valid table (caller's contract).
    let Some(table) = (unsafe { host.as_ref() }) else {
        return E_POINTER;
    };
    // Read only the two leading fields until the version is known to match.
    if table.abi != ABI_VERSION || table.size < core::mem::size_of::<Services>() {
        return E_REVISION_MISMATCH;
    }
    if core::ptr::eq(host, OWN_TABLE.load(Ordering::Acquire)) {
        // The module is the library itself (a host loading its own image): nothing to do.
        return S_OK;
    }
    HOST.store(host.cast_mut(), Ordering::Release);
    S_OK
}

/// The class registry directory chosen by the program, if any (see [`set_registry_dir`]).
static REGISTRY_DIR: std::sync::RwLock<Option<std::path::PathBuf>> = std::sync::RwLock::new(None);

/// Makes every part of the process, server modules included, use the class registry in
/// `dir` (its `machine.reg` and `user.reg`), ahead of the `COMIDL_REGISTRY` environment
/// variable and the XDG locations; `None` goes back to those. For tests and sandboxes
/// that cannot set the environment before the process starts.
pub fn set_registry_dir(dir: Option<std::path::PathBuf>) {
    *REGISTRY_DIR
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = dir;
}

/// The registry directory set with [`set_registry_dir`] in the process's library.
pub fn registry_dir() -> Option<std::path::PathBuf> {
    match attached() {
        Some(host) => {
            // SAFETY: the host's table is valid; it hands over a task block or NULL.
            unsafe { take_task_c_string((host.registry_dir)()) }.map(Into::into)
        }
        None => registry_dir_local(),
    }
}

pub(crate) fn registry_dir_local() -> Option<std::path::PathBuf> {
    REGISTRY_DIR
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// The text of a NUL-terminated UTF-8 task-allocator block handed over by the host, which
/// this frees; `None` for NULL.
///
/// # Safety
/// `raw` is NULL or such a block, owned by the caller.
unsafe fn take_task_c_string(raw: *mut c_char) -> Option<String> {
    if raw.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string (the caller's contract).
    let text = unsafe { core::ffi::CStr::from_ptr(raw) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: the block came from the task allocator and is ours to free.
    unsafe { crate::CoTaskMemFree(raw.cast()) };
    Some(text)
}

/// `text` as a NUL-terminated UTF-8 task-allocator block (NULL if out of memory).
pub(crate) fn task_c_string(text: &str) -> *mut c_char {
    let bytes = text.as_bytes();
    let block = crate::CoTaskMemAlloc(bytes.len() + 1).cast::<u8>();
    if block.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: the block holds len + 1 bytes; the text holds len, no overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), block, bytes.len());
        block.add(bytes.len()).write(0);
    }
    block.cast()
}

std::thread_local! {
    static LAST_ERROR: RefCell<Option<(HRESULT, String)>> = const { RefCell::new(None) };
}

/// Records a message explaining the failure `hr` the calling thread is about to return,
/// for [`take_error_message`]; the runtime does this for every activation failure it can
/// say more about than the HRESULT does.
pub fn set_error_message(hr: HRESULT, message: impl Into<String>) {
    let message = message.into();
    match attached() {
        // SAFETY: the host's table is valid; the slice is valid for the call.
        Some(host) => unsafe { (host.set_error)(hr, message.as_ptr(), message.len()) },
        None => set_error_local(hr, message),
    }
}

pub(crate) fn set_error_local(hr: HRESULT, message: String) {
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some((hr, message)));
}

/// The message recorded with the calling thread's last failure and that failure's
/// HRESULT, if any; clears it.
pub fn take_error_message() -> Option<(HRESULT, String)> {
    match attached() {
        Some(host) => {
            let mut hr = S_OK;
            // SAFETY: the host's table is valid; it hands over a task block or NULL.
            let text = unsafe { take_task_c_string((host.take_error)(&mut hr)) }?;
            Some((hr, text))
        }
        None => take_error_local(),
    }
}

pub(crate) fn take_error_local() -> Option<(HRESULT, String)> {
    LAST_ERROR
        .try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
}

/// An HRESULT with the message recorded for it, if the last recorded failure was this one.
pub fn describe(hr: HRESULT) -> String {
    let message = match take_error_message() {
        Some((recorded, text)) if recorded == hr => Some(text),
        _ => None,
    };
    let name = hr.name().map(|n| format!(" ({n})")).unwrap_or_default();
    match message {
        Some(text) => format!("{text} [{:#010x}{name}]", hr.to_u32()),
        None => match hr.message() {
            Some(text) => format!("{text} [{:#010x}{name}]", hr.to_u32()),
            None => format!("error {:#010x}{name}", hr.to_u32()),
        },
    }
}
