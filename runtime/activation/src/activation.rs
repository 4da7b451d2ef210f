//! Activation (SEMANTICS.md, "Creation: class objects"): `CoGetClassObject`,
//! `CoCreateInstance(Ex)`, and the aggregates objects declare ([`Aggregate`]).
//!
//! Where a class object comes from, in order: a class object registered in this process
//! for a matching context (the com layer's table, [`crate::classes`]); then, for
//! `CLSCTX_INPROC_SERVER`, a class the runtime serves itself (the dispenser manager, which
//! the services layer above hands to [`serve_builtin_classes`]) and the InprocServer32
//! module of the class registry, loaded by [`crate::loader`]. Contexts not served yet answer as
//! Windows does when the server cannot be reached: a class registered only with a
//! LocalServer32 gives CO_E_SERVER_EXEC_FAILURE, a remote machine gives
//! RPC_S_SERVER_UNAVAILABLE, and a class registered for none of the asked contexts gives
//! REGDB_E_CLASSNOTREG. Every failure the HRESULT does not explain leaves a message
//! ([`crate::host::take_error_message`]).
//!
//! Layer: activation. Uses core and com, and registers itself with com (the host services
//! table's `get_class_object` entry) the first time it is called; never names the
//! services layer, which registers its classes here.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, Once};

use crate::classes::{
    CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER, CLSCTX_PLACES, CLSCTX_REMOTE_SERVER, registry_view,
};
use crate::host::set_error_message;
use crate::object::{Aggregated, call_query_interface, unknown_vtbl};
use crate::unknown::{ComPtr, Interface};
use crate::{
    CLSCTX_INPROC_HANDLER, E_INVALIDARG, E_NOINTERFACE, E_POINTER, E_UNEXPECTED, GUID, HRESULT,
    IClassFactory, IUnknown, REGDB_E_CLASSNOTREG, Result, S_OK,
};

/// Gives com this layer's `CoGetClassObject`, for the host services table that attached
/// modules forward to, and dcom where proxy/stub modules and custom unmarshallers come
/// from. Every activation goes through [`CoGetClassObject`], which calls this first, so
/// com has it before any module can be loaded and attached; the C API calls it too.
pub fn register_with_com() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        crate::host_table::set_class_object_source(get_class_object_local);
        comidl_runtime_dcom::set_factory_source(proxy_stub_factory);
        comidl_runtime_dcom::marshal::set_unmarshaler_source(custom_unmarshaler);
        crate::host_table::set_marshal_source(crate::host_table::MarshalSource {
            marshal: marshal_for,
            unmarshal: comidl_runtime_dcom::marshal::unmarshal_interface,
            release: comidl_runtime_dcom::marshal::release_marshal_data,
        });
    });
}

/// dcom's marshal for the host services table (modules' interface pointers).
///
/// # Safety
/// `itf` is a live interface pointer of interface `iid`.
unsafe fn marshal_for(itf: *mut c_void, iid: &GUID, context: u32, flags: u32) -> Result<Vec<u8>> {
    let keep = comidl_runtime_dcom::Keep::from_flags(flags)?;
    // SAFETY: the caller's contract.
    unsafe { comidl_runtime_dcom::marshal::marshal_for(itf, iid, context, keep) }
}

/// The unmarshaller a custom OBJREF names: an in-process instance of its class, as its
/// IMarshal (what dcom asks when it reads an OBJREF_CUSTOM).
fn custom_unmarshaler(clsid: &GUID) -> Result<ComPtr<comidl_runtime_dcom::bindings::IMarshal>> {
    create_instance(clsid, CLSCTX_INPROC_SERVER)
}

/// The proxy/stub factory of an interface no linked proxy/stub marshals: the in-process
/// class `Interface\{iid}\ProxyStubClsid32` names, as its IPSFactoryBuffer (what dcom
/// asks when it meets such an interface).
fn proxy_stub_factory(
    iid: &GUID,
) -> Option<ComPtr<comidl_runtime_dcom::bindings::IPSFactoryBuffer>> {
    let clsid = registry_view().ok()?.proxy_stub_clsid(iid)?;
    get_class_object(&clsid, CLSCTX_INPROC_SERVER).ok()
}

/// Finds the class objects of classes the runtime serves itself; see
/// [`serve_builtin_classes`].
pub type BuiltinClasses = fn(&GUID) -> Option<ComPtr<IUnknown>>;

static BUILTINS: Mutex<Vec<BuiltinClasses>> = Mutex::new(Vec::new());

/// Adds a source of class objects the runtime serves without the registry (the services
/// layer's dispenser manager), asked after this process's registered class objects and
/// before the class registry. Adding the same function again changes nothing.
pub fn serve_builtin_classes(source: BuiltinClasses) {
    let mut builtins = BUILTINS.lock().unwrap_or_else(|p| p.into_inner());
    if !builtins.iter().any(|f| core::ptr::fn_addr_eq(*f, source)) {
        builtins.push(source);
    }
}

fn builtin_class_object(clsid: &GUID) -> Option<ComPtr<IUnknown>> {
    let builtins = BUILTINS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    builtins.iter().find_map(|source| source(clsid))
}

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

/// `COAUTHIDENTITY`: the user a remote activation authenticates as (UTF-16 strings with
/// their lengths in characters, `Flags` SEC_WINNT_AUTH_IDENTITY_UNICODE = 2).
#[repr(C)]
#[allow(non_snake_case, missing_docs)] // Windows's fields, as the type's doc says
#[derive(Debug)]
pub struct COAUTHIDENTITY {
    pub User: *mut u16,
    pub UserLength: u32,
    pub Domain: *mut u16,
    pub DomainLength: u32,
    pub Password: *mut u16,
    pub PasswordLength: u32,
    pub Flags: u32,
}

/// `COAUTHINFO`: how a remote activation authenticates (`dwAuthnSvc` RPC_C_AUTHN_WINNT,
/// 10; `dwAuthnLevel` an RPC_C_AUTHN_LEVEL_*; `pAuthIdentityData` the user, NULL for the
/// process's default).
#[repr(C)]
#[allow(non_snake_case, missing_docs)] // Windows's fields, as the type's doc says
#[derive(Debug)]
pub struct COAUTHINFO {
    pub dwAuthnSvc: u32,
    pub dwAuthzSvc: u32,
    pub pwszServerPrincName: *mut u16,
    pub dwAuthnLevel: u32,
    pub dwImpersonationLevel: u32,
    pub pAuthIdentityData: *mut COAUTHIDENTITY,
    pub dwCapabilities: u32,
}

/// The authentication a `COSERVERINFO` asks for: its COAUTHINFO's user and level
/// (the process's default user when it names none); `None` for the process's default.
///
/// # Safety
/// `info` is NULL or a valid `COSERVERINFO` whose `pAuthInfo` is NULL or a valid
/// `COAUTHINFO`, whose identity's strings hold their stated lengths.
unsafe fn auth_of(info: *const COSERVERINFO) -> Option<comidl_runtime_rpc::auth::ClientAuth> {
    use comidl_runtime_rpc::auth::{AuthnLevel, ClientAuth, NtlmCredentials};
    // SAFETY: the caller's contract.
    let ai = unsafe { info.as_ref()?.pAuthInfo.cast::<COAUTHINFO>().as_ref()? };
    let level = AuthnLevel::from_u8(u8::try_from(ai.dwAuthnLevel).ok()?)?;
    let text = |p: *mut u16, n: u32| -> String {
        if p.is_null() {
            return String::new();
        }
        // SAFETY: `n` units at `p` (the caller's contract), bounded.
        let units = unsafe { core::slice::from_raw_parts(p, (n as usize).min(256)) };
        String::from_utf16_lossy(units)
    };
    // SAFETY: NULL or valid (the caller's contract).
    let credentials = match unsafe { ai.pAuthIdentityData.as_ref() } {
        Some(id) => NtlmCredentials {
            user: text(id.User, id.UserLength),
            domain: text(id.Domain, id.DomainLength),
            password: text(id.Password, id.PasswordLength),
        },
        None => comidl_runtime_dcom::remote::default_auth()?.credentials,
    };
    Some(ClientAuth { credentials, level })
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

/// The machine a remote activation of `clsid` goes to: the one `info` names, else the
/// class's application's `RemoteServerName` in the registry.
///
/// # Safety
/// As for [`server_name`].
fn remote_machine(
    snapshot: &crate::registry::Snapshot,
    clsid: &GUID,
    info: *const COSERVERINFO,
) -> Option<String> {
    // SAFETY: the caller's contract.
    unsafe { server_name(info) }.or_else(|| snapshot.remote_server_name(clsid))
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

/// The local implementation of `CoGetClassObject` (the host's, or a stand-alone module's).
///
/// # Safety
/// As for [`CoGetClassObject`].
#[doc(hidden)]
pub unsafe fn get_class_object_local(
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
    if let Some(object) = crate::classes::registered_class_object(clsid, context) {
        // SAFETY: QueryInterface with valid pointers.
        return unsafe {
            (unknown_vtbl(object.as_raw()).QueryInterface)(object.as_raw(), iid, out)
        };
    }
    // 2. A class the runtime serves itself (the dispenser manager, which the services
    //    layer hands to [`serve_builtin_classes`]).
    if context & CLSCTX_INPROC_SERVER != 0
        && let Some(object) = builtin_class_object(clsid)
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
        return match comidl_runtime_dcom::local::class_object(clsid, &command, iid) {
            Ok(p) => {
                // SAFETY: `out` is writable (checked above).
                unsafe { out.write(p) };
                S_OK
            }
            Err(hr) => {
                set_error_message(
                    hr,
                    format!("class {clsid}: its executable server `{command}` did not serve it"),
                );
                hr
            }
        };
    }
    if context & CLSCTX_REMOTE_SERVER != 0
        && let Some(machine) = remote_machine(&snapshot, clsid, server_info.cast())
    {
        // SAFETY: NULL or a valid COSERVERINFO (caller's contract).
        let auth = unsafe { auth_of(server_info.cast()) };
        return match comidl_runtime_dcom::remote::class_object(&machine, clsid, iid, auth) {
            Ok(p) => {
                // SAFETY: `out` is writable (checked above).
                unsafe { out.write(p) };
                S_OK
            }
            Err(hr) => {
                set_error_message(
                    hr,
                    format!("class {clsid} on machine `{machine}`: remote activation failed"),
                );
                hr
            }
        };
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
    register_with_com();
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
    // A remote machine (named, or the class's RemoteServerName) when only a remote
    // server will do, or when nothing on this machine serves the class: every interface
    // in one RemoteCreateInstance.
    // SAFETY: NULL or a valid COSERVERINFO (caller's contract).
    if let Some(machine) = unsafe { remote_target(clsid, context, server_info) } {
        if !outer.is_null() {
            return crate::CLASS_E_NOAGGREGATION;
        }
        // SAFETY: `clsid` checked non-null by `remote_target`; valid (caller's contract).
        let clsid = unsafe { &*clsid };
        let iids: Vec<GUID> = results
            .iter()
            // SAFETY: each `pIID` checked non-null above; valid (caller's contract).
            .map(|e| unsafe { *e.pIID })
            .collect();
        // SAFETY: NULL or a valid COSERVERINFO (caller's contract).
        let auth = unsafe { auth_of(server_info) };
        let got = match comidl_runtime_dcom::remote::create_instance(&machine, clsid, &iids, auth) {
            Ok(got) => got,
            Err(hr) => {
                set_error_message(
                    hr,
                    format!("class {clsid} on machine `{machine}`: remote activation failed"),
                );
                results.iter_mut().for_each(|e| e.hr = hr);
                return hr;
            }
        };
        let mut found = 0;
        for (entry, (hr, p)) in results.iter_mut().zip(got) {
            entry.hr = hr;
            entry.pItf = p;
            if hr.is_ok() {
                found += 1;
            }
        }
        return match found {
            0 => E_NOINTERFACE,
            n if n == results.len() => S_OK,
            _ => CO_S_NOTALLINTERFACES,
        };
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

/// Where `CoCreateInstanceEx` goes for a remote activation: a machine that is named (in
/// `info` or the registry) when CLSCTX_REMOTE_SERVER is asked for and no in-process or
/// local server of the asked contexts is registered here (a class object registered in
/// this process, a built-in class or a registered server comes first).
///
/// # Safety
/// `clsid` is NULL or valid; `info` is NULL or a valid COSERVERINFO.
unsafe fn remote_target(
    clsid: *const GUID,
    context: u32,
    info: *mut COSERVERINFO,
) -> Option<String> {
    if context & CLSCTX_REMOTE_SERVER == 0 {
        return None;
    }
    // SAFETY: the caller's contract.
    let clsid = unsafe { clsid.as_ref() }?;
    if crate::classes::registered_class_object(clsid, context).is_some() {
        return None;
    }
    let snapshot = registry_view().ok()?;
    let here = (context & CLSCTX_INPROC_SERVER != 0 && snapshot.inproc_server(clsid).is_some())
        || (context & CLSCTX_LOCAL_SERVER != 0 && snapshot.local_server(clsid).is_some());
    if here {
        return None;
    }
    remote_machine(&snapshot, clsid, info)
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

/// A new instance of `clsid` on machine `server` (a host name or address, optionally
/// with `:port` when its DCOM service is not on 135), as interface `I`:
/// `CoCreateInstanceEx` with CLSCTX_REMOTE_SERVER and a COSERVERINFO naming it.
pub fn create_instance_on<I: Interface>(clsid: &GUID, server: &str) -> Result<ComPtr<I>> {
    let mut name: Vec<u16> = server.encode_utf16().chain(core::iter::once(0)).collect();
    let mut info = COSERVERINFO {
        dwReserved1: 0,
        pwszName: name.as_mut_ptr(),
        pAuthInfo: core::ptr::null_mut(),
        dwReserved2: 0,
    };
    let mut qi = MULTI_QI {
        pIID: &I::IID,
        pItf: core::ptr::null_mut(),
        hr: S_OK,
    };
    // SAFETY: valid pointers throughout; `name` outlives the call.
    let hr = unsafe {
        CoCreateInstanceEx(
            clsid,
            core::ptr::null_mut(),
            CLSCTX_REMOTE_SERVER,
            &mut info,
            1,
            &mut qi,
        )
    };
    hr.ok()?;
    qi.hr.ok()?;
    // SAFETY: success hands over an `I` reference.
    unsafe { ComPtr::from_raw(qi.pItf) }.ok_or(E_POINTER)
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

/// An object this one aggregates: holds the inner object's non-delegating IUnknown.
/// Declared as a field and named in [`implement!`](crate::implement)
/// (`implement!(Outer: IFoo; aggregate inner = CLSID_Inner)`), which creates it when the
/// outer object is constructed and asks it for the interfaces the outer lacks.
pub struct Aggregate {
    inner: AtomicPtr<c_void>,
}

impl Aggregate {
    /// An empty aggregate, filled by [`Aggregate::create`].
    pub const fn new() -> Aggregate {
        Aggregate {
            inner: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Creates the class `clsid` (in process) as part of `controlling`'s aggregate.
    pub fn create(&self, clsid: &GUID, controlling: &IUnknown) -> Result<()> {
        let inner = create_aggregated(clsid, controlling)?;
        self.set(inner)
    }

    /// Holds an inner object's non-delegating IUnknown (created with this object's
    /// controlling unknown as its outer). An aggregate holds one inner object.
    pub fn set(&self, inner: ComPtr<IUnknown>) -> Result<()> {
        let raw = inner.into_raw();
        match self.inner.compare_exchange(
            core::ptr::null_mut(),
            raw,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `raw` carries the reference `into_raw` gave up; give it back.
                drop(unsafe { ComPtr::<IUnknown>::from_raw(raw) });
                Err(E_UNEXPECTED)
            }
        }
    }

    /// Asks the inner object for `iid`; an interface pointer with a reference, or None.
    pub fn query(&self, iid: &GUID) -> Option<*mut c_void> {
        let inner = self.inner.load(Ordering::Acquire);
        if inner.is_null() || *iid == IUnknown::IID {
            return None;
        }
        let mut out = core::ptr::null_mut();
        // SAFETY: `inner` is the non-delegating IUnknown we hold a reference to.
        let hr = unsafe { call_query_interface(inner, iid, &mut out) };
        (hr.is_ok() && !out.is_null()).then_some(out)
    }
}

impl Default for Aggregate {
    fn default() -> Aggregate {
        Aggregate::new()
    }
}

impl Drop for Aggregate {
    fn drop(&mut self) {
        let inner = *self.inner.get_mut();
        // SAFETY: NULL or the non-delegating IUnknown whose reference we hold.
        drop(unsafe { ComPtr::<IUnknown>::from_raw(inner) });
    }
}

impl Aggregated for Aggregate {
    fn create(&self, clsid: &GUID, controlling: &IUnknown) -> Result<()> {
        Aggregate::create(self, clsid, controlling)
    }

    fn query(&self, iid: &GUID) -> Option<*mut c_void> {
        Aggregate::query(self, iid)
    }
}
