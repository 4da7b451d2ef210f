//! Library initialisation: `CoInitializeEx` / `CoUninitialize`, counted per thread as
//! Windows counts them. The first call on a thread picks its concurrency model and answers
//! S_OK; later calls with the same model answer S_FALSE and must be matched by
//! `CoUninitialize` too; a call asking for the other model fails with RPC_E_CHANGED_MODE.
//!
//! As on Windows, while any thread of the process is in the multithreaded apartment, a
//! thread that never initialised is implicitly part of it and may use COM.
//!
//! In a server module attached to a host (see [`crate::host`]) every function here asks the
//! host's library, so the whole process has one initialisation state.
//!
//! Layer: com. Uses `host`, `loader` of this layer.

use core::cell::Cell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::{CO_E_NOTINITIALIZED, E_INVALIDARG, HRESULT, RPC_E_CHANGED_MODE, S_FALSE, S_OK};

/// `COINIT_MULTITHREADED`: join the process's multithreaded apartment.
pub const COINIT_MULTITHREADED: u32 = 0x0;
/// `COINIT_APARTMENTTHREADED`: make this thread a single-threaded apartment.
pub const COINIT_APARTMENTTHREADED: u32 = 0x2;
/// `COINIT_DISABLE_OLE1DDE`: accepted and ignored (there is no DDE here).
pub const COINIT_DISABLE_OLE1DDE: u32 = 0x4;
/// `COINIT_SPEED_OVER_MEMORY`: accepted and ignored.
pub const COINIT_SPEED_OVER_MEMORY: u32 = 0x8;

/// The apartment a thread belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apartment {
    /// A single-threaded apartment (this thread only).
    SingleThreaded,
    /// The process's multithreaded apartment, joined with `CoInitializeEx`.
    MultiThreaded,
    /// Not initialised, but the multithreaded apartment exists, so this thread uses it.
    ImplicitMultiThreaded,
}

/// Threads currently in the multithreaded apartment by their own `CoInitializeEx`.
static MTA_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Threads currently initialised, either model.
static INITIALISED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// This thread's model and how many successful initialisations it has not yet undone.
struct ThreadState {
    model: Cell<Option<Apartment>>,
    count: Cell<u32>,
}

impl Drop for ThreadState {
    /// A thread that ends without undoing its initialisations leaves its apartment anyway.
    fn drop(&mut self) {
        if self.count.get() > 0 {
            leave(self.model.get());
        }
    }
}

std::thread_local! {
    static STATE: ThreadState = const {
        ThreadState { model: Cell::new(None), count: Cell::new(0) }
    };
}

fn leave(model: Option<Apartment>) {
    if model == Some(Apartment::MultiThreaded) {
        MTA_THREADS.fetch_sub(1, Ordering::AcqRel);
    }
    if INITIALISED_THREADS.fetch_sub(1, Ordering::AcqRel) == 1 {
        // The last initialised thread of the process left: unload what may be unloaded.
        crate::loader::free_unused_libraries_local();
    }
}

/// The local implementation of `CoInitializeEx` (the host's, or a stand-alone module's).
pub(crate) fn initialize_local(reserved: *mut c_void, coinit: u32) -> HRESULT {
    let known = COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE | COINIT_SPEED_OVER_MEMORY;
    if !reserved.is_null() || coinit & !known != 0 {
        return E_INVALIDARG;
    }
    let model = if coinit & COINIT_APARTMENTTHREADED != 0 {
        Apartment::SingleThreaded
    } else {
        Apartment::MultiThreaded
    };
    STATE
        .try_with(|state| {
            let count = state.count.get();
            if count == 0 {
                state.model.set(Some(model));
                state.count.set(1);
                INITIALISED_THREADS.fetch_add(1, Ordering::AcqRel);
                if model == Apartment::MultiThreaded {
                    MTA_THREADS.fetch_add(1, Ordering::AcqRel);
                }
                S_OK
            } else if state.model.get() == Some(model) {
                state.count.set(count.saturating_add(1));
                S_FALSE
            } else {
                RPC_E_CHANGED_MODE
            }
        })
        // The thread is being torn down: it can no longer join anything.
        .unwrap_or(CO_E_NOTINITIALIZED)
}

/// The local implementation of `CoUninitialize`.
pub(crate) fn uninitialize_local() {
    let _ = STATE.try_with(|state| {
        let count = state.count.get();
        if count == 0 {
            return;
        }
        state.count.set(count - 1);
        if count == 1 {
            let model = state.model.replace(None);
            leave(model);
        }
    });
}

/// The local answer to "which apartment is this thread in".
#[doc(hidden)]
pub fn current_local() -> Option<Apartment> {
    let own = STATE
        .try_with(|state| (state.count.get() > 0).then(|| state.model.get()).flatten())
        .ok()
        .flatten();
    own.or_else(|| {
        (MTA_THREADS.load(Ordering::Acquire) > 0).then_some(Apartment::ImplicitMultiThreaded)
    })
}

/// `CoInitializeEx`: S_OK the first time on this thread, S_FALSE when already initialised
/// with the same model, RPC_E_CHANGED_MODE for the other model, E_INVALIDARG for a
/// non-NULL `reserved` or unknown flags. Every success needs a `CoUninitialize`.
// The pointer is only compared with NULL, never read, so the function is safe to call.
#[allow(non_snake_case, clippy::not_unsafe_ptr_arg_deref)]
pub fn CoInitializeEx(reserved: *mut c_void, coinit: u32) -> HRESULT {
    match crate::host::attached() {
        // SAFETY: the host's table stays valid for the life of the process.
        Some(host) => unsafe { (host.initialize)(reserved, coinit) },
        None => initialize_local(reserved, coinit),
    }
}

/// `CoInitialize`: `CoInitializeEx(NULL, COINIT_APARTMENTTHREADED)`.
#[allow(non_snake_case)]
pub fn CoInitialize(reserved: *mut c_void) -> HRESULT {
    CoInitializeEx(reserved, COINIT_APARTMENTTHREADED)
}

/// `CoUninitialize`: undoes one successful `CoInitializeEx` of this thread.
#[allow(non_snake_case)]
pub fn CoUninitialize() {
    match crate::host::attached() {
        // SAFETY: as in `CoInitializeEx`.
        Some(host) => unsafe { (host.uninitialize)() },
        None => uninitialize_local(),
    }
}

/// The apartment the calling thread is in, `None` when it may not use COM.
pub fn current_apartment() -> Option<Apartment> {
    match crate::host::attached() {
        // SAFETY: as in `CoInitializeEx`.
        Some(host) => Apartment::from_code(unsafe { (host.apartment)() }),
        None => current_local(),
    }
}

/// CO_E_NOTINITIALIZED unless the calling thread may use COM.
pub fn require_initialised() -> crate::Result<Apartment> {
    current_apartment().ok_or(CO_E_NOTINITIALIZED)
}

impl Apartment {
    /// The number that crosses the host table for this answer (0 = none).
    pub(crate) fn code(apartment: Option<Apartment>) -> i32 {
        match apartment {
            None => 0,
            Some(Apartment::SingleThreaded) => 1,
            Some(Apartment::MultiThreaded) => 2,
            Some(Apartment::ImplicitMultiThreaded) => 3,
        }
    }

    pub(crate) fn from_code(code: i32) -> Option<Apartment> {
        match code {
            1 => Some(Apartment::SingleThreaded),
            2 => Some(Apartment::MultiThreaded),
            3 => Some(Apartment::ImplicitMultiThreaded),
            _ => None,
        }
    }
}

/// A scope that initialises COM on this thread and undoes it when dropped.
#[must_use = "dropping the guard uninitialises COM again"]
pub struct ComInit {
    _not_send: core::marker::PhantomData<*mut c_void>,
}

impl ComInit {
    /// `CoInitializeEx` with `coinit`; an error for RPC_E_CHANGED_MODE and the like.
    pub fn new(coinit: u32) -> crate::Result<ComInit> {
        CoInitializeEx(core::ptr::null_mut(), coinit).ok()?;
        Ok(ComInit {
            _not_send: core::marker::PhantomData,
        })
    }

    /// Joins the multithreaded apartment.
    pub fn multithreaded() -> crate::Result<ComInit> {
        ComInit::new(COINIT_MULTITHREADED)
    }

    /// Makes this thread a single-threaded apartment.
    pub fn apartment_threaded() -> crate::Result<ComInit> {
        ComInit::new(COINIT_APARTMENTTHREADED)
    }
}

impl Drop for ComInit {
    fn drop(&mut self) {
        CoUninitialize();
    }
}
