//! `comidl-runtime`: the COM library underneath comidl-generated code, one crate in front of
//! its layers (DESIGN.md, "The runtime in layers"); generated code, examples and users name
//! everything through it (`comidl_runtime::ComPtr`, `comidl_runtime::registry::Registry`).
//!
//! - core (`comidl-runtime-core`): status codes ([`HRESULT`]), identifiers ([`GUID`]),
//!   automation strings ([`BSTR`]), the task allocator ([`CoTaskMemAlloc`]), interface
//!   pointers ([`ComPtr`]) and objects implemented in Rust ([`ComObject`], [`implement!`]);
//! - com (`comidl-runtime-com`): initialisation ([`CoInitializeEx`]), one COM library per
//!   process ([`host`]), class objects ([`ClassFactory`], [`CoRegisterClassObject`]), the
//!   class registry ([`registry`]), in-process servers ([`inproc_server!`], [`loader`]) and
//!   type libraries ([`typelib`]);
//! - activation (`comidl-runtime-activation`): [`CoCreateInstance`] and the rest;
//! - services (`comidl-runtime-services`): resource dispensers ([`dispenser`]), provider
//!   modules ([`provider`]) and the C API;
//! - ndr (`comidl-runtime-ndr`, as [`ndr`]): NDR20 marshalling from the static descriptions
//!   the compiler emits per interface;
//! - rpc (`comidl-runtime-rpc`, as [`rpc`]): DCE/RPC clients, servers, the endpoint mapper;
//! - dcom (`comidl-runtime-dcom`, as [`dcom`]): ORPC: interface pointers across processes
//!   (marshalling, proxies and stubs, the object exporter).
//!
//! A lower layer never names a higher one. Where a lower one must reach up at run time, the
//! higher one hands itself in: activation gives com its `CoGetClassObject` for the host
//! services table; the services layer gives activation the classes it serves (the
//! dispenser manager), which this crate's activation functions make sure of before they
//! activate.

#![warn(missing_docs)]

use core::ffi::c_void;

pub use comidl_runtime_services::*;

pub use comidl_runtime_ndr as ndr;

pub use comidl_runtime_rpc as rpc;

pub use comidl_runtime_dcom as dcom;

/// `CoGetClassObject` (see [`activation::CoGetClassObject`]), with the runtime's own
/// classes available.
///
/// # Safety
/// As for [`activation::CoGetClassObject`].
#[allow(non_snake_case)]
pub unsafe fn CoGetClassObject(
    clsid: *const GUID,
    context: u32,
    server_info: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    install();
    // SAFETY: the caller's contract, passed on.
    unsafe { activation::CoGetClassObject(clsid, context, server_info, iid, out) }
}

/// `CoCreateInstance` (see [`activation::CoCreateInstance`]), with the runtime's own
/// classes available.
///
/// # Safety
/// As for [`activation::CoCreateInstance`].
#[allow(non_snake_case)]
pub unsafe fn CoCreateInstance(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    install();
    // SAFETY: the caller's contract, passed on.
    unsafe { activation::CoCreateInstance(clsid, outer, context, iid, out) }
}

/// `CoCreateInstanceEx` (see [`activation::CoCreateInstanceEx`]), with the runtime's own
/// classes available.
///
/// # Safety
/// As for [`activation::CoCreateInstanceEx`].
#[allow(non_snake_case)]
pub unsafe fn CoCreateInstanceEx(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    server_info: *mut COSERVERINFO,
    count: u32,
    results: *mut MULTI_QI,
) -> HRESULT {
    install();
    // SAFETY: the caller's contract, passed on.
    unsafe { activation::CoCreateInstanceEx(clsid, outer, context, server_info, count, results) }
}

/// The class object of `clsid` as interface `I` (see [`activation::get_class_object`]).
pub fn get_class_object<I: Interface>(clsid: &GUID, context: u32) -> Result<ComPtr<I>> {
    install();
    activation::get_class_object(clsid, context)
}

/// A new instance of `clsid` as interface `I` (see [`activation::create_instance`]).
pub fn create_instance<I: Interface>(clsid: &GUID, context: u32) -> Result<ComPtr<I>> {
    install();
    activation::create_instance(clsid, context)
}

/// A new instance of `clsid` on another machine (see [`activation::create_instance_on`]).
pub fn create_instance_on<I: Interface>(clsid: &GUID, server: &str) -> Result<ComPtr<I>> {
    install();
    activation::create_instance_on(clsid, server)
}

/// Makes the crate a proxy/stub module (what MIDL builds as a "ps" DLL) for the object
/// interfaces whose generated `IFoo_PROXY_STUB`s it lists: it exports
/// `DllGetClassObject` (the module's IPSFactoryBuffer), `DllRegisterServer` (its class,
/// and `Interface\{iid}\ProxyStubClsid32` naming that class for each interface),
/// `DllUnregisterServer`, `DllCanUnloadNow` and the runtime handshake. Build the crate
/// with `crate-type = ["cdylib"]` and register it with `comidl register`; then any
/// process of the machine (a C program included) marshals those interfaces through it,
/// without linking their proxies.
///
/// The class's CLSID is the first interface's IID, as MIDL's default is; another can be
/// given first:
///
/// ```text
/// comidl_runtime::proxy_stub_module!(IAdder_PROXY_STUB, ICalculator_PROXY_STUB);
/// comidl_runtime::proxy_stub_module!(clsid = CLSID_MyPs; IAdder_PROXY_STUB);
/// ```
#[macro_export]
macro_rules! proxy_stub_module {
    (clsid = $clsid:expr; $($ps:path),+ $(,)?) => {
        $crate::proxy_stub_module!(@module [$($ps),+] $clsid);
    };
    ($first:path $(, $ps:path)* $(,)?) => {
        $crate::proxy_stub_module!(@module [$first $(, $ps)*] $first.iid);
    };
    (@module [$($ps:path),+] $clsid:expr) => {
        const _: () = {
            static PROXY_STUBS: &[&$crate::dcom::ProxyStub] = &[$(&$ps),+];

            fn clsid() -> $crate::GUID {
                $clsid
            }

            fn interfaces() -> ::std::vec::Vec<($crate::GUID, &'static str)> {
                PROXY_STUBS.iter().map(|ps| (ps.iid, ps.interface.name)).collect()
            }

            /// # Safety
            /// COM's contract for `DllGetClassObject`.
            #[unsafe(no_mangle)]
            pub unsafe extern "system" fn DllGetClassObject(
                class: *const $crate::GUID,
                iid: *const $crate::GUID,
                out: *mut *mut ::core::ffi::c_void,
            ) -> $crate::HRESULT {
                // SAFETY: forwarded caller guarantees.
                unsafe { $crate::proxy_stub_class_object(PROXY_STUBS, &clsid(), class, iid, out) }
            }

            #[unsafe(no_mangle)]
            pub extern "system" fn DllRegisterServer() -> $crate::HRESULT {
                $crate::module::register_proxy_stubs(
                    &clsid(),
                    &interfaces(),
                    DllRegisterServer as *const ::core::ffi::c_void,
                )
            }

            #[unsafe(no_mangle)]
            pub extern "system" fn DllUnregisterServer() -> $crate::HRESULT {
                $crate::module::unregister_proxy_stubs(&clsid(), &interfaces())
            }

            #[unsafe(no_mangle)]
            pub extern "system" fn DllCanUnloadNow() -> $crate::HRESULT {
                $crate::module::can_unload_now()
            }

            /// # Safety
            /// `host` is NULL or a services table living as long as the process.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn comidl_module_attach(
                host: *const $crate::host::Services,
                module_abi: *mut u32,
            ) -> $crate::HRESULT {
                // SAFETY: forwarded caller guarantees.
                unsafe { $crate::attach_proxy_stub_module(host, module_abi) }
            }
        };
    };
}

/// The runtime handshake of a proxy/stub module ([`proxy_stub_module!`]): the module's
/// copy of the runtime attaches to the host's, and the interface pointers among its
/// proxies' and stubs' parameters are marshalled by the host (one exporter per process,
/// one identity per object).
///
/// # Safety
/// `host` is NULL or a services table living as long as the process; `module_abi` is
/// NULL or writable.
#[doc(hidden)]
pub unsafe fn attach_proxy_stub_module(
    host: *const host::Services,
    module_abi: *mut u32,
) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    let hr = unsafe { host::attach(host, module_abi) };
    if hr.is_ok()
        && let Some(table) = host::attached()
    {
        dcom::marshal::forward_to(dcom::marshal::Forward {
            marshal: table.marshal_interface,
            unmarshal: table.unmarshal_interface,
            release: table.release_marshal_data,
        });
    }
    hr
}

/// `DllGetClassObject` of a proxy/stub module serving `interfaces` as class `own`
/// ([`proxy_stub_module!`]): its IPSFactoryBuffer, as `iid`.
///
/// # Safety
/// `clsid` and `iid` are NULL or valid; `out` is NULL or writable.
#[doc(hidden)]
pub unsafe fn proxy_stub_class_object(
    interfaces: &'static [&'static dcom::ProxyStub],
    own: &GUID,
    clsid: *const GUID,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    let find = |clsid: &GUID| {
        if clsid != own {
            return Err(CLASS_E_CLASSNOTAVAILABLE);
        }
        dcom::psfactory::factory(interfaces)
    };
    // SAFETY: forwarded caller guarantees.
    unsafe { module::hand_out_class_object(clsid, iid, out, find) }
}
