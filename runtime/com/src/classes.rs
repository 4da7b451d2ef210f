//! The process's class objects (SEMANTICS.md, "Creation: class objects"): the table of
//! class objects registered with `CoRegisterClassObject` (revoked with
//! `CoRevokeClassObject`, resumed with `CoResumeClassObjects`), the `CLSCTX_*` and
//! `REGCLS_*` values, and the process's view of the class registry. Activation (the layer
//! above) looks class objects up here first.
//!
//! Layer: com. Uses core and the rest of com.

use core::ffi::c_void;
use std::sync::{Mutex, MutexGuard};

use crate::host::set_error_message;
use crate::object::unknown_vtbl;
use crate::registry::Registry;
use crate::unknown::{ComPtr, Interface};
use crate::{CO_E_OBJNOTREG, E_INVALIDARG, E_POINTER, GUID, HRESULT, IUnknown, Result, S_OK};

/// `CLSCTX_INPROC_SERVER`: a server library loaded into this process.
pub const CLSCTX_INPROC_SERVER: u32 = 0x1;
/// `CLSCTX_INPROC_HANDLER`: an in-process handler (not served: no handlers yet).
pub const CLSCTX_INPROC_HANDLER: u32 = 0x2;
/// `CLSCTX_LOCAL_SERVER`: a server executable on this machine.
pub const CLSCTX_LOCAL_SERVER: u32 = 0x4;
/// `CLSCTX_REMOTE_SERVER`: a server on another machine.
pub const CLSCTX_REMOTE_SERVER: u32 = 0x10;
/// `CLSCTX_SERVER`: any server.
pub const CLSCTX_SERVER: u32 = CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER | CLSCTX_REMOTE_SERVER;
/// `CLSCTX_ALL`: any server or handler.
pub const CLSCTX_ALL: u32 = CLSCTX_SERVER | CLSCTX_INPROC_HANDLER;
/// The context bits that name where a server runs.
#[doc(hidden)]
pub const CLSCTX_PLACES: u32 = CLSCTX_ALL;

/// `REGCLS_SINGLEUSE`: the class object serves one activation, then is no longer found.
pub const REGCLS_SINGLEUSE: u32 = 0;
/// `REGCLS_MULTIPLEUSE`: any number of activations; registered for
/// `CLSCTX_LOCAL_SERVER`, it also serves this process's in-process activations.
pub const REGCLS_MULTIPLEUSE: u32 = 1;
/// `REGCLS_MULTI_SEPARATE`: any number of activations, only for the contexts given.
pub const REGCLS_MULTI_SEPARATE: u32 = 2;
/// `REGCLS_SUSPENDED`: not found until `CoResumeClassObjects`.
pub const REGCLS_SUSPENDED: u32 = 4;
/// `REGCLS_SURROGATE`: registered by a surrogate process; accepted, no effect in process.
pub const REGCLS_SURROGATE: u32 = 8;
/// `REGCLS_AGILE`: callable from any apartment; accepted (no apartments are enforced yet).
pub const REGCLS_AGILE: u32 = 0x10;

/// A class object registered with `CoRegisterClassObject`.
struct Registration {
    cookie: u32,
    clsid: GUID,
    /// The class object's IUnknown, with the reference the table holds.
    object: usize,
    context: u32,
    flags: u32,
    suspended: bool,
    /// A single-use registration that has served its activation.
    used: bool,
}

impl Registration {
    fn serves(&self, clsid: &GUID, context: u32) -> bool {
        let also_inproc = self.flags & REGCLS_MULTI_SEPARATE == 0
            && self.flags & REGCLS_MULTIPLEUSE != 0
            && self.context & CLSCTX_LOCAL_SERVER != 0
            && context & CLSCTX_INPROC_SERVER != 0;
        self.clsid == *clsid
            && !self.suspended
            && !self.used
            && (self.context & context != 0 || also_inproc)
    }
}

struct Table {
    next_cookie: u32,
    entries: Vec<Registration>,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    next_cookie: 1,
    entries: Vec::new(),
});

fn table() -> MutexGuard<'static, Table> {
    // Every update leaves the table consistent, so a poisoned lock is still usable.
    TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The class object registered in this process for `clsid` and `context`, with a reference
/// for the caller (a single-use registration is used up by this).
pub fn registered_class_object(clsid: &GUID, context: u32) -> Option<ComPtr<IUnknown>> {
    let object = {
        let mut table = table();
        table
            .entries
            .iter_mut()
            .rev()
            .find(|r| r.serves(clsid, context))
            .map(|r| {
                if r.flags & (REGCLS_MULTIPLEUSE | REGCLS_MULTI_SEPARATE) == 0 {
                    r.used = true;
                }
                let object = r.object as *mut c_void;
                // SAFETY: the table holds a reference, so the object is alive; this one is
                // for the caller.
                unsafe { (unknown_vtbl(object).AddRef)(object) };
                object
            })
    }?;
    // SAFETY: `object` is live and the caller owns the reference taken above.
    unsafe { ComPtr::<IUnknown>::from_raw(object) }
}

/// The process's class registry as it is now (re-read only when a file changed); a failure
/// to read it is its HRESULT, with the reason recorded as the error message.
pub fn registry_view() -> Result<std::sync::Arc<crate::registry::Snapshot>> {
    Registry::open_default()
        .and_then(|r| r.shared_snapshot())
        .map_err(|error| {
            let hr = error.hresult();
            set_error_message(hr, error.to_string());
            hr
        })
}

/// The local implementation of `CoRegisterClassObject`.
///
/// # Safety
/// As for [`CoRegisterClassObject`].
#[doc(hidden)]
pub unsafe fn register_class_object_local(
    clsid: *const GUID,
    object: *mut c_void,
    context: u32,
    flags: u32,
    cookie: *mut u32,
) -> HRESULT {
    if cookie.is_null() || object.is_null() {
        return E_POINTER;
    }
    // SAFETY: non-null and writable.
    unsafe { cookie.write(0) };
    // SAFETY: NULL or valid.
    let Some(clsid) = (unsafe { clsid.as_ref() }) else {
        return E_POINTER;
    };
    if crate::apartment::current_local().is_none() {
        return crate::CO_E_NOTINITIALIZED;
    }
    if context & CLSCTX_PLACES == 0
        || flags
            & !(REGCLS_MULTIPLEUSE
                | REGCLS_MULTI_SEPARATE
                | REGCLS_SUSPENDED
                | REGCLS_SURROGATE
                | REGCLS_AGILE)
            != 0
    {
        return E_INVALIDARG;
    }
    // The table's reference.
    // SAFETY: `object` is a live IUnknown (caller's contract).
    unsafe { (unknown_vtbl(object).AddRef)(object) };
    let mut table = table();
    let id = table.next_cookie;
    table.next_cookie = table.next_cookie.wrapping_add(1).max(1);
    table.entries.push(Registration {
        cookie: id,
        clsid: *clsid,
        object: object as usize,
        context,
        flags,
        suspended: flags & REGCLS_SUSPENDED != 0,
        used: false,
    });
    // SAFETY: as above.
    unsafe { cookie.write(id) };
    S_OK
}

/// The local implementation of `CoRevokeClassObject`.
#[doc(hidden)]
pub fn revoke_class_object_local(cookie: u32) -> HRESULT {
    if crate::apartment::current_local().is_none() {
        return crate::CO_E_NOTINITIALIZED;
    }
    let removed = {
        let mut table = table();
        let index = table.entries.iter().position(|r| r.cookie == cookie);
        index.map(|i| table.entries.remove(i))
    };
    match removed {
        Some(registration) => {
            let object = registration.object as *mut c_void;
            // SAFETY: the table's reference, given back outside the lock.
            unsafe { (unknown_vtbl(object).Release)(object) };
            S_OK
        }
        None => CO_E_OBJNOTREG,
    }
}

/// The local implementation of `CoResumeClassObjects`.
#[doc(hidden)]
pub fn resume_class_objects_local() -> HRESULT {
    if crate::apartment::current_local().is_none() {
        return crate::CO_E_NOTINITIALIZED;
    }
    table().entries.iter_mut().for_each(|r| r.suspended = false);
    S_OK
}

/// Suspends every registration of this process's table (`CoSuspendClassObjects`: no
/// activation finds them until [`resume_class_objects_local`]).
#[doc(hidden)]
pub fn suspend_class_objects_local() -> HRESULT {
    table().entries.iter_mut().for_each(|r| r.suspended = true);
    S_OK
}

/// `CoRegisterClassObject`: makes `object` (a class object's IUnknown) the class object of
/// `clsid` for `context`, and returns a cookie for [`CoRevokeClassObject`] through `cookie`.
/// `flags` is REGCLS_SINGLEUSE, REGCLS_MULTIPLEUSE or REGCLS_MULTI_SEPARATE, optionally
/// with REGCLS_SUSPENDED.
///
/// # Safety
/// `clsid` is NULL or valid, `object` NULL or a live IUnknown, `cookie` NULL or writable.
#[allow(non_snake_case)]
pub unsafe fn CoRegisterClassObject(
    clsid: *const GUID,
    object: *mut c_void,
    context: u32,
    flags: u32,
    cookie: *mut u32,
) -> HRESULT {
    match crate::host::attached() {
        // SAFETY: forwarded as given.
        Some(host) => unsafe {
            (host.register_class_object)(clsid, object, context, flags, cookie)
        },
        // SAFETY: forwarded caller guarantees.
        None => unsafe { register_class_object_local(clsid, object, context, flags, cookie) },
    }
}

/// `CoRevokeClassObject`: removes a registration; CO_E_OBJNOTREG for an unknown cookie.
#[allow(non_snake_case)]
pub fn CoRevokeClassObject(cookie: u32) -> HRESULT {
    match crate::host::attached() {
        // SAFETY: the host's table is valid.
        Some(host) => unsafe { (host.revoke_class_object)(cookie) },
        None => revoke_class_object_local(cookie),
    }
}

/// `CoResumeClassObjects`: makes class objects registered with REGCLS_SUSPENDED visible.
#[allow(non_snake_case)]
pub fn CoResumeClassObjects() -> HRESULT {
    match crate::host::attached() {
        // SAFETY: the host's table is valid.
        Some(host) => unsafe { (host.resume_class_objects)() },
        None => resume_class_objects_local(),
    }
}

/// Registers `object` as the class object of `clsid`; the cookie revokes it.
pub fn register_class_object(
    clsid: &GUID,
    object: &IUnknown,
    context: u32,
    flags: u32,
) -> Result<u32> {
    let mut cookie = 0;
    // SAFETY: valid pointers; `object` is a live IUnknown.
    let hr = unsafe { CoRegisterClassObject(clsid, object.as_raw(), context, flags, &mut cookie) };
    hr.ok().map(|()| cookie)
}
