//! Activation (SEMANTICS.md, "Creation: class objects"): `CoGetClassObject`,
//! `CoCreateInstance(Ex)` and the process's table of class objects registered with
//! `CoRegisterClassObject`.
//!
//! Where a class object comes from, in order: a class object registered in this process
//! for a matching context; then, for `CLSCTX_INPROC_SERVER`, a class the runtime serves
//! itself (the dispenser manager, [`crate::dispenser`]) and the InprocServer32 module of
//! the class registry, loaded by [`crate::loader`]. Contexts not served yet answer as
//! Windows does when the server cannot be reached: a class registered only with a
//! LocalServer32 gives CO_E_SERVER_EXEC_FAILURE, a remote machine gives
//! RPC_S_SERVER_UNAVAILABLE, and a class registered for none of the asked contexts gives
//! REGDB_E_CLASSNOTREG. Every failure the HRESULT does not explain leaves a message
//! ([`crate::host::take_error_message`]).

use core::ffi::c_void;
use std::sync::{Mutex, MutexGuard};

use crate::host::set_error_message;
use crate::object::unknown_vtbl;
use crate::registry::Registry;
use crate::unknown::{ComPtr, Interface};
use crate::{
    CO_E_OBJNOTREG, CO_E_SERVER_EXEC_FAILURE, E_INVALIDARG, E_NOINTERFACE, E_POINTER, GUID,
    HRESULT, IClassFactory, IUnknown, REGDB_E_CLASSNOTREG, Result, S_OK,
};

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
const CLSCTX_PLACES: u32 = CLSCTX_ALL;

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

/// `CO_S_NOTALLINTERFACES`: `CoCreateInstanceEx` got some of the interfaces asked for.
pub const CO_S_NOTALLINTERFACES: HRESULT = HRESULT::from_u32(0x0008_0012);
/// `HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE)`.
pub const RPC_S_SERVER_UNAVAILABLE_HR: HRESULT = HRESULT::from_u32(0x8007_06BA);

/// `COSERVERINFO`: names the machine for remote activation.
#[repr(C)]
#[allow(non_snake_case)]
#[derive(Debug)]
pub struct COSERVERINFO {
    /// Reserved, 0.
    pub dwReserved1: u32,
    /// The machine's name (UTF-16, NUL-terminated).
    pub pwszName: *mut u16,
    /// Authentication settings (`COAUTHINFO *`), NULL for the defaults.
    pub pAuthInfo: *mut c_void,
    /// Reserved, 0.
    pub dwReserved2: u32,
}

/// `MULTI_QI`: one interface asked of `CoCreateInstanceEx`, and its answer.
#[repr(C)]
#[allow(non_snake_case)]
#[derive(Debug)]
pub struct MULTI_QI {
    /// The interface asked for.
    pub pIID: *const GUID,
    /// The interface pointer (owned by the caller), or NULL.
    pub pItf: *mut c_void,
    /// The QueryInterface result for this entry.
    pub hr: HRESULT,
}

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

/// Names the contexts in `context`, for messages.
fn describe_context(context: u32) -> String {
    let names = [
        (CLSCTX_INPROC_SERVER, "CLSCTX_INPROC_SERVER"),
        (CLSCTX_INPROC_HANDLER, "CLSCTX_INPROC_HANDLER"),
        (CLSCTX_LOCAL_SERVER, "CLSCTX_LOCAL_SERVER"),
        (CLSCTX_REMOTE_SERVER, "CLSCTX_REMOTE_SERVER"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| context & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.join(" | ")
}

/// The machine named by a `COSERVERINFO`, if any.
///
/// # Safety
/// `info` is NULL or a valid `COSERVERINFO` whose name is NULL or NUL-terminated.
unsafe fn server_name(info: *const COSERVERINFO) -> Option<String> {
    // SAFETY: the caller's contract.
    let info = unsafe { info.as_ref() }?;
    // SAFETY: NULL or NUL-terminated (caller's contract).
    let name = String::from_utf16_lossy(unsafe { crate::wide::units(info.pwszName) }?);
    (!name.is_empty()).then_some(name)
}

/// The process's class registry as it is now (re-read only when a file changed); a failure
/// to read it is its HRESULT, with the reason recorded as the error message.
pub(crate) fn registry_view() -> Result<std::sync::Arc<crate::registry::Snapshot>> {
    Registry::open_default()
        .and_then(|r| r.shared_snapshot())
        .map_err(|error| {
            let hr = error.hresult();
            set_error_message(hr, error.to_string());
            hr
        })
}

/// The local implementation of `CoGetClassObject` (the host's, or a stand-alone module's).
///
/// # Safety
/// As for [`CoGetClassObject`].
pub(crate) unsafe fn get_class_object_local(
    clsid: *const GUID,
    context: u32,
    server_info: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: non-null and writable (caller's contract).
    unsafe { out.write(core::ptr::null_mut()) };
    // SAFETY: NULL or valid (caller's contract).
    let (Some(clsid), Some(iid)) = (unsafe { clsid.as_ref() }, unsafe { iid.as_ref() }) else {
        return E_POINTER;
    };
    if crate::apartment::current_local().is_none() {
        return crate::CO_E_NOTINITIALIZED;
    }
    if context & CLSCTX_PLACES == 0 {
        set_error_message(
            E_INVALIDARG,
            format!("no server context in CLSCTX {context:#x}"),
        );
        return E_INVALIDARG;
    }
    // 1. A class object registered in this process.
    let registered = {
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
                // for the call below.
                unsafe { (unknown_vtbl(object).AddRef)(object) };
                object
            })
    };
    if let Some(object) = registered {
        // SAFETY: `object` is live and we own the reference taken above.
        let object = unsafe { ComPtr::<IUnknown>::from_raw(object) };
        let Some(object) = object else {
            return E_POINTER;
        };
        // SAFETY: QueryInterface with valid pointers.
        return unsafe {
            (unknown_vtbl(object.as_raw()).QueryInterface)(object.as_raw(), iid, out)
        };
    }
    // 2. A class the runtime serves itself (the dispenser manager).
    if context & CLSCTX_INPROC_SERVER != 0
        && let Some(object) = crate::dispenser::class_object(clsid)
    {
        // SAFETY: QueryInterface with valid pointers on a live object.
        return unsafe {
            (unknown_vtbl(object.as_raw()).QueryInterface)(object.as_raw(), iid, out)
        };
    }
    // 3. The class registry.
    let snapshot = match registry_view() {
        Ok(snapshot) => snapshot,
        Err(hr) => return hr,
    };
    if context & CLSCTX_INPROC_SERVER != 0
        && let Some(server) = snapshot.inproc_server(clsid)
    {
        // SAFETY: `out` is writable (checked above).
        return unsafe { crate::loader::get_class_object(&server.path, clsid, iid, out) };
    }
    if context & CLSCTX_LOCAL_SERVER != 0
        && let Some(command) = snapshot.local_server(clsid)
    {
        set_error_message(
            CO_E_SERVER_EXEC_FAILURE,
            format!(
                "class {clsid} is served by the executable `{command}`, and out-of-process \
                     activation is not supported yet"
            ),
        );
        return CO_E_SERVER_EXEC_FAILURE;
    }
    if context & CLSCTX_REMOTE_SERVER != 0 {
        // SAFETY: NULL or a valid COSERVERINFO (caller's contract).
        if let Some(machine) = unsafe { server_name(server_info.cast()) } {
            set_error_message(
                RPC_S_SERVER_UNAVAILABLE_HR,
                format!(
                    "class {clsid} on machine `{machine}`: remote activation is not supported yet"
                ),
            );
            return RPC_S_SERVER_UNAVAILABLE_HR;
        }
    }
    set_error_message(
        REGDB_E_CLASSNOTREG,
        format!(
            "class {clsid} is not registered for {}",
            describe_context(context & CLSCTX_PLACES)
        ),
    );
    REGDB_E_CLASSNOTREG
}

/// `CoGetClassObject`: the class object of `clsid` from a server of one of the contexts
/// in `context`, as interface `iid`.
///
/// # Safety
/// `clsid`, `iid` are NULL or valid; `server_info` is NULL or a valid `COSERVERINFO`;
/// `out` is NULL or writable.
#[allow(non_snake_case)]
pub unsafe fn CoGetClassObject(
    clsid: *const GUID,
    context: u32,
    server_info: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    match crate::host::attached() {
        // SAFETY: the host's table is valid; arguments forwarded as given.
        Some(host) => unsafe { (host.get_class_object)(clsid, context, server_info, iid, out) },
        // SAFETY: forwarded caller guarantees.
        None => unsafe { get_class_object_local(clsid, context, server_info, iid, out) },
    }
}

/// `CoCreateInstance`: gets the class object of `clsid` and asks it for an instance as
/// `iid` (inside `outer`'s aggregate when `outer` is not NULL; then `iid` must be IUnknown).
///
/// # Safety
/// As for [`CoGetClassObject`]; `outer` is NULL or a live IUnknown.
#[allow(non_snake_case)]
pub unsafe fn CoCreateInstance(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: non-null and writable (caller's contract).
    unsafe { out.write(core::ptr::null_mut()) };
    if iid.is_null() {
        return E_POINTER;
    }
    // SAFETY: forwarded caller guarantees.
    unsafe { instantiate(clsid, outer, context, core::ptr::null_mut(), iid, out) }
}

/// What `CoCreateInstance` and `CoCreateInstanceEx` share: the class object of `clsid`,
/// asked for an instance as `iid`.
///
/// # Safety
/// As for [`CoCreateInstanceEx`]; `iid` valid and `out` writable.
unsafe fn instantiate(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    server_info: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    let mut factory = core::ptr::null_mut();
    // SAFETY: forwarded caller guarantees; `factory` is writable.
    let hr = unsafe {
        CoGetClassObject(
            clsid,
            context,
            server_info,
            &IClassFactory::IID,
            &mut factory,
        )
    };
    if hr.is_err() {
        return hr;
    }
    // SAFETY: success hands over an IClassFactory reference.
    let Some(factory) = (unsafe { ComPtr::<IClassFactory>::from_raw(factory) }) else {
        return E_POINTER;
    };
    // SAFETY: CreateInstance with the caller's valid pointers.
    unsafe { (factory.vtable().CreateInstance)(factory.as_raw(), as_unknown(outer), iid, out) }
}

/// A raw IUnknown pointer as the generated wrapper CreateInstance takes.
fn as_unknown(raw: *mut c_void) -> Option<IUnknown> {
    // SAFETY: the caller of the `Co*` function vouches for the pointer.
    unsafe { IUnknown::from_raw_borrowed(raw) }
}

/// `CoCreateInstanceEx`: one instance of `clsid`, asked for every interface in `results`.
/// S_OK when all were found, CO_S_NOTALLINTERFACES when some were, E_NOINTERFACE when none.
///
/// # Safety
/// As for [`CoCreateInstance`]; `results` points at `count` writable entries whose `pIID`
/// are valid.
#[allow(non_snake_case)]
pub unsafe fn CoCreateInstanceEx(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    server_info: *mut COSERVERINFO,
    count: u32,
    results: *mut MULTI_QI,
) -> HRESULT {
    if count == 0 || results.is_null() {
        return E_INVALIDARG;
    }
    // SAFETY: `count` writable entries (caller's contract).
    let results = unsafe { core::slice::from_raw_parts_mut(results, count as usize) };
    for entry in results.iter_mut() {
        if entry.pIID.is_null() {
            return E_INVALIDARG;
        }
        entry.pItf = core::ptr::null_mut();
        entry.hr = E_NOINTERFACE;
    }
    let mut unknown = core::ptr::null_mut();
    // SAFETY: forwarded caller guarantees; `unknown` is writable.
    let hr = unsafe {
        instantiate(
            clsid,
            outer,
            context,
            server_info.cast(),
            &IUnknown::IID,
            &mut unknown,
        )
    };
    if hr.is_err() {
        results.iter_mut().for_each(|e| e.hr = hr);
        return hr;
    }
    // SAFETY: success hands over an IUnknown reference.
    let Some(unknown) = (unsafe { ComPtr::<IUnknown>::from_raw(unknown) }) else {
        return E_POINTER;
    };
    let mut found = 0;
    for entry in results.iter_mut() {
        // SAFETY: a live object; `pIID` valid (checked non-null, caller's contract).
        entry.hr = unsafe {
            (unknown.vtable().QueryInterface)(unknown.as_raw(), entry.pIID, &mut entry.pItf)
        };
        if entry.hr.is_ok() {
            found += 1;
        }
    }
    match found {
        0 => E_NOINTERFACE,
        n if n == results.len() => S_OK,
        _ => CO_S_NOTALLINTERFACES,
    }
}

/// The local implementation of `CoRegisterClassObject`.
///
/// # Safety
/// As for [`CoRegisterClassObject`].
pub(crate) unsafe fn register_class_object_local(
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
pub(crate) fn revoke_class_object_local(cookie: u32) -> HRESULT {
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
pub(crate) fn resume_class_objects_local() -> HRESULT {
    if crate::apartment::current_local().is_none() {
        return crate::CO_E_NOTINITIALIZED;
    }
    table().entries.iter_mut().for_each(|r| r.suspended = false);
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

/// The class object of `clsid` as interface `I`.
pub fn get_class_object<I: Interface>(clsid: &GUID, context: u32) -> Result<ComPtr<I>> {
    let mut out = core::ptr::null_mut();
    // SAFETY: valid pointers throughout.
    let hr = unsafe { CoGetClassObject(clsid, context, core::ptr::null_mut(), &I::IID, &mut out) };
    hr.ok()?;
    // SAFETY: success hands over an `I` reference.
    unsafe { ComPtr::from_raw(out) }.ok_or(E_POINTER)
}

/// A new instance of `clsid` as interface `I`.
pub fn create_instance<I: Interface>(clsid: &GUID, context: u32) -> Result<ComPtr<I>> {
    let mut out = core::ptr::null_mut();
    // SAFETY: valid pointers throughout.
    let hr = unsafe { CoCreateInstance(clsid, core::ptr::null_mut(), context, &I::IID, &mut out) };
    hr.ok()?;
    // SAFETY: success hands over an `I` reference.
    unsafe { ComPtr::from_raw(out) }.ok_or(E_POINTER)
}

/// A new in-process instance of `clsid` inside `controlling`'s aggregate: its
/// non-delegating IUnknown.
pub fn create_aggregated(clsid: &GUID, controlling: &IUnknown) -> Result<ComPtr<IUnknown>> {
    let mut out = core::ptr::null_mut();
    // SAFETY: valid pointers; `controlling` is a live IUnknown.
    let hr = unsafe {
        CoCreateInstance(
            clsid,
            controlling.as_raw(),
            CLSCTX_INPROC_SERVER,
            &IUnknown::IID,
            &mut out,
        )
    };
    hr.ok()?;
    // SAFETY: success hands over the inner object's non-delegating IUnknown.
    unsafe { ComPtr::from_raw(out) }.ok_or(E_POINTER)
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
