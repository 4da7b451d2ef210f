//! IClassFactory's proxy and stub, written by hand: its two methods are `[local]`, each
//! with a `[call_as]` remote form (MS-DCOM / objidl's IClassFactory):
//!
//! ```text
//! [call_as(CreateInstance)] HRESULT RemoteCreateInstance(      // opnum 3
//!     [in] REFIID riid, [out, iid_is(riid)] IUnknown **ppvObject);
//! [call_as(LockServer)] HRESULT RemoteLockServer([in] BOOL fLock);  // opnum 4
//! ```
//!
//! The proxy's CreateInstance refuses aggregation (an object cannot be aggregated across
//! processes: CLASS_E_NOAGGREGATION) and sends the remote form; the stub calls the real
//! CreateInstance with no outer object. This is what MIDL leaves to the `_Proxy` / `_Stub`
//! helpers a program writes for `[call_as]` pairs.

use std::ffi::c_void;

use comidl_runtime_core::{
    CLASS_E_NOAGGREGATION, E_POINTER, GUID, HRESULT, IClassFactory_Vtbl, IID_IClassFactory,
    IUnknown,
};
use comidl_runtime_ndr::{
    Base, Direction, Expr, Iid, Interface, InterfacePointer, Param, Pointer, PointerKind, Proc,
    Type,
};

use crate::desc::GUID_DESC;
use crate::interfaces::{ProxyStub, Vtbl};

static REFIID: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Struct(&GUID_DESC),
};

static RIID_VALUE: Expr = Expr::Param {
    index: 0,
    derefs: 0,
    ty: Base::UInt3264,
};

static NEW_OBJECT: InterfacePointer = InterfacePointer {
    iid: Iid::Is(&RIID_VALUE),
};

static PP_NEW_OBJECT: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Interface(&NEW_OBJECT),
};

static REMOTE_CREATE_INSTANCE: Proc = Proc {
    name: "IClassFactory::RemoteCreateInstance",
    opnum: 3,
    params: &[
        Param {
            name: "riid",
            ty: Type::Pointer(&REFIID),
            dir: Direction::In,
        },
        Param {
            name: "ppvObject",
            ty: Type::Pointer(&PP_NEW_OBJECT),
            dir: Direction::Out,
        },
    ],
    ret: Some(Type::Base(Base::Long)),
};

static REMOTE_LOCK_SERVER: Proc = Proc {
    name: "IClassFactory::RemoteLockServer",
    opnum: 4,
    params: &[Param {
        name: "fLock",
        ty: Type::Base(Base::Long),
        dir: Direction::In,
    }],
    ret: Some(Type::Base(Base::Long)),
};

/// IClassFactory's remote methods.
pub static ICLASSFACTORY_INTERFACE: Interface = Interface {
    name: "IClassFactory",
    uuid: IID_IClassFactory,
    version: (0, 0),
    procs: &[&REMOTE_CREATE_INSTANCE, &REMOTE_LOCK_SERVER],
};

unsafe extern "system" fn create_instance(
    this: *mut c_void,
    outer: Option<IUnknown>,
    riid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: `out` is the caller's and writable.
    unsafe { out.write(std::ptr::null_mut()) };
    if outer.is_some() {
        return CLASS_E_NOAGGREGATION;
    }
    if riid.is_null() {
        return E_POINTER;
    }
    let mut riid = riid;
    let mut out = out;
    let args: [*mut u8; 2] = [(&raw mut riid).cast(), (&raw mut out).cast()];
    let mut hr = comidl_runtime_core::S_OK;
    // SAFETY: `this` is an IClassFactory proxy; the arguments are RemoteCreateInstance's.
    let sent = unsafe {
        crate::proxy::call(
            this,
            &ICLASSFACTORY_INTERFACE,
            3,
            &args,
            (&raw mut hr).cast(),
        )
    };
    if sent.is_err() { sent } else { hr }
}

unsafe extern "system" fn lock_server(this: *mut c_void, lock: i32) -> HRESULT {
    let mut lock = lock;
    let args: [*mut u8; 1] = [(&raw mut lock).cast()];
    let mut hr = comidl_runtime_core::S_OK;
    // SAFETY: `this` is an IClassFactory proxy; the argument is RemoteLockServer's.
    let sent = unsafe {
        crate::proxy::call(
            this,
            &ICLASSFACTORY_INTERFACE,
            4,
            &args,
            (&raw mut hr).cast(),
        )
    };
    if sent.is_err() { sent } else { hr }
}

/// The proxy's vtable.
pub const ICLASSFACTORY_PROXY_VTBL: IClassFactory_Vtbl = IClassFactory_Vtbl {
    base__: crate::proxy::PROXY_IUNKNOWN_VTBL,
    CreateInstance: create_instance,
    LockServer: lock_server,
};

/// The stub's call of the real class object.
///
/// # Safety
/// `itf` is a live IClassFactory; `args` hold the remote method's parameters.
unsafe fn invoke(itf: *mut c_void, opnum: u16, args: &[*mut u8], ret: *mut u8) -> bool {
    // SAFETY: the caller's contract.
    unsafe {
        let vtbl = &**itf.cast::<*const IClassFactory_Vtbl>();
        let hr = match opnum {
            3 => (vtbl.CreateInstance)(
                itf,
                None,
                args[0].cast::<*const GUID>().read(),
                args[1].cast::<*mut *mut c_void>().read(),
            ),
            4 => (vtbl.LockServer)(itf, args[0].cast::<i32>().read()),
            _ => return false,
        };
        ret.cast::<HRESULT>().write(hr);
    }
    true
}

/// IClassFactory's proxy/stub.
pub static ICLASSFACTORY_PROXY_STUB: ProxyStub = ProxyStub {
    iid: IID_IClassFactory,
    interface: &ICLASSFACTORY_INTERFACE,
    base: None,
    vtbl: Vtbl((&ICLASSFACTORY_PROXY_VTBL as *const IClassFactory_Vtbl).cast()),
    invoke,
};
