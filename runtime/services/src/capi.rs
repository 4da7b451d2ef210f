//! The Co* API with the C ABI, exported under the Windows names so C programs (and the
//! calculator example's C client) can use this library: link against the
//! `comidl_runtime_c` shared library, or any Rust binary built with the `c-api` feature.
//! Rust callers use the functions of the modules instead (exported functions cannot be
//! inlined, and a module's own calls should not go through the dynamic linker).
//!
//! Layer: services. Uses `dispenser` of this layer and `activation`, `clsid`, `object` of the layers below.

use core::ffi::c_void;

use crate::activation::{COSERVERINFO, MULTI_QI};
use crate::object::guard;
use crate::{GUID, HRESULT};
use comidl_runtime_dcom::api as dcom;

#[unsafe(export_name = "CoInitializeEx")]
extern "system" fn co_initialize_ex(reserved: *mut c_void, coinit: u32) -> HRESULT {
    guard(|| crate::CoInitializeEx(reserved, coinit))
}

#[unsafe(export_name = "CoInitialize")]
extern "system" fn co_initialize(reserved: *mut c_void) -> HRESULT {
    guard(|| crate::CoInitialize(reserved))
}

#[unsafe(export_name = "CoUninitialize")]
extern "system" fn co_uninitialize() {
    let _ = guard(|| {
        crate::CoUninitialize();
        crate::S_OK
    });
}

/// # Safety
/// As for [`crate::CoGetClassObject`].
#[unsafe(export_name = "CoGetClassObject")]
unsafe extern "system" fn co_get_class_object(
    clsid: *const GUID,
    context: u32,
    server_info: *mut COSERVERINFO,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::CoGetClassObject(clsid, context, server_info.cast(), iid, out) })
}

/// # Safety
/// As for [`crate::CoCreateInstance`].
#[unsafe(export_name = "CoCreateInstance")]
unsafe extern "system" fn co_create_instance(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::CoCreateInstance(clsid, outer, context, iid, out) })
}

/// # Safety
/// As for [`crate::CoCreateInstanceEx`].
#[unsafe(export_name = "CoCreateInstanceEx")]
unsafe extern "system" fn co_create_instance_ex(
    clsid: *const GUID,
    outer: *mut c_void,
    context: u32,
    server_info: *mut COSERVERINFO,
    count: u32,
    results: *mut MULTI_QI,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe {
        crate::CoCreateInstanceEx(clsid, outer, context, server_info, count, results)
    })
}

/// # Safety
/// As for [`crate::CoRegisterClassObject`].
#[unsafe(export_name = "CoRegisterClassObject")]
unsafe extern "system" fn co_register_class_object(
    clsid: *const GUID,
    object: *mut c_void,
    context: u32,
    flags: u32,
    cookie: *mut u32,
) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::CoRegisterClassObject(clsid, object, context, flags, cookie) })
}

#[unsafe(export_name = "CoRevokeClassObject")]
extern "system" fn co_revoke_class_object(cookie: u32) -> HRESULT {
    guard(|| crate::CoRevokeClassObject(cookie))
}

#[unsafe(export_name = "CoResumeClassObjects")]
extern "system" fn co_resume_class_objects() -> HRESULT {
    guard(crate::CoResumeClassObjects)
}

#[unsafe(export_name = "CoSuspendClassObjects")]
extern "system" fn co_suspend_class_objects() -> HRESULT {
    guard(crate::CoSuspendClassObjects)
}

#[unsafe(export_name = "CoAddRefServerProcess")]
extern "system" fn co_add_ref_server_process() -> u32 {
    std::panic::catch_unwind(crate::CoAddRefServerProcess).unwrap_or(0)
}

#[unsafe(export_name = "CoReleaseServerProcess")]
extern "system" fn co_release_server_process() -> u32 {
    std::panic::catch_unwind(crate::CoReleaseServerProcess).unwrap_or(0)
}

#[unsafe(export_name = "CoFreeUnusedLibraries")]
extern "system" fn co_free_unused_libraries() {
    let _ = guard(|| {
        crate::CoFreeUnusedLibraries();
        crate::S_OK
    });
}

/// # Safety
/// As for [`crate::clsid::raw::CoCreateGuid`].
#[unsafe(export_name = "CoCreateGuid")]
unsafe extern "system" fn co_create_guid(out: *mut GUID) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::CoCreateGuid(out) })
}

/// # Safety
/// As for [`crate::clsid::raw::StringFromCLSID`].
#[unsafe(export_name = "StringFromCLSID")]
unsafe extern "system" fn string_from_clsid(guid: *const GUID, out: *mut *mut u16) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::StringFromCLSID(guid, out) })
}

/// # Safety
/// As for [`crate::clsid::raw::StringFromCLSID`].
#[unsafe(export_name = "StringFromIID")]
unsafe extern "system" fn string_from_iid(guid: *const GUID, out: *mut *mut u16) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::StringFromCLSID(guid, out) })
}

/// # Safety
/// As for [`crate::clsid::raw::StringFromGUID2`].
#[unsafe(export_name = "StringFromGUID2")]
unsafe extern "system" fn string_from_guid2(guid: *const GUID, buf: *mut u16, cap: i32) -> i32 {
    // SAFETY: forwarded caller guarantees.
    std::panic::catch_unwind(|| unsafe { crate::clsid::raw::StringFromGUID2(guid, buf, cap) })
        .unwrap_or(0)
}

/// # Safety
/// As for [`crate::clsid::raw::CLSIDFromString`].
#[unsafe(export_name = "CLSIDFromString")]
unsafe extern "system" fn clsid_from_string(text: *const u16, out: *mut GUID) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::CLSIDFromString(text, out) })
}

/// # Safety
/// As for [`crate::clsid::raw::IIDFromString`].
#[unsafe(export_name = "IIDFromString")]
unsafe extern "system" fn iid_from_string(text: *const u16, out: *mut GUID) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::IIDFromString(text, out) })
}

/// # Safety
/// As for [`crate::clsid::raw::CLSIDFromProgID`].
#[unsafe(export_name = "CLSIDFromProgID")]
unsafe extern "system" fn clsid_from_progid(text: *const u16, out: *mut GUID) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::CLSIDFromProgID(text, out) })
}

/// # Safety
/// As for [`crate::clsid::raw::ProgIDFromCLSID`].
#[unsafe(export_name = "ProgIDFromCLSID")]
unsafe extern "system" fn progid_from_clsid(clsid: *const GUID, out: *mut *mut u16) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    guard(|| unsafe { crate::clsid::raw::ProgIDFromCLSID(clsid, out) })
}

/// # Safety
/// As for [`crate::dispenser::GetDispenserManager`] (`HRESULT GetDispenserManager(IDispenserManager **)`, mtxdm.h).
#[unsafe(export_name = "GetDispenserManager")]
unsafe extern "C" fn get_dispenser_manager(out: *mut *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    unsafe { crate::dispenser::GetDispenserManager(out) }
}

// The marshalling API (comidl_runtime::dcom::api), under its Windows names.

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoMarshalInterface`].
#[unsafe(export_name = "CoMarshalInterface")]
unsafe extern "system" fn co_marshal_interface(
    stream: *mut c_void,
    riid: *const GUID,
    unknown: *mut c_void,
    context: u32,
    context_data: *mut c_void,
    flags: u32,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoMarshalInterface(stream, riid, unknown, context, context_data, flags) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoUnmarshalInterface`].
#[unsafe(export_name = "CoUnmarshalInterface")]
unsafe extern "system" fn co_unmarshal_interface(
    stream: *mut c_void,
    riid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoUnmarshalInterface(stream, riid, out) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoReleaseMarshalData`].
#[unsafe(export_name = "CoReleaseMarshalData")]
unsafe extern "system" fn co_release_marshal_data(stream: *mut c_void) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoReleaseMarshalData(stream) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoGetMarshalSizeMax`].
#[unsafe(export_name = "CoGetMarshalSizeMax")]
unsafe extern "system" fn co_get_marshal_size_max(
    size: *mut u32,
    riid: *const GUID,
    unknown: *mut c_void,
    context: u32,
    context_data: *mut c_void,
    flags: u32,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoGetMarshalSizeMax(size, riid, unknown, context, context_data, flags) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoMarshalInterThreadInterfaceInStream`].
#[unsafe(export_name = "CoMarshalInterThreadInterfaceInStream")]
unsafe extern "system" fn co_marshal_inter_thread_interface_in_stream(
    riid: *const GUID,
    unknown: *mut c_void,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoMarshalInterThreadInterfaceInStream(riid, unknown, out) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoGetInterfaceAndReleaseStream`].
#[unsafe(export_name = "CoGetInterfaceAndReleaseStream")]
unsafe extern "system" fn co_get_interface_and_release_stream(
    stream: *mut c_void,
    riid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoGetInterfaceAndReleaseStream(stream, riid, out) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoGetStandardMarshal`].
#[unsafe(export_name = "CoGetStandardMarshal")]
unsafe extern "system" fn co_get_standard_marshal(
    riid: *const GUID,
    unknown: *mut c_void,
    context: u32,
    context_data: *mut c_void,
    flags: u32,
    out: *mut *mut c_void,
) -> HRESULT {
    crate::install();
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoGetStandardMarshal(riid, unknown, context, context_data, flags, out) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CoDisconnectObject`].
#[unsafe(export_name = "CoDisconnectObject")]
unsafe extern "system" fn co_disconnect_object(unknown: *mut c_void, reserved: u32) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CoDisconnectObject(unknown, reserved) }
}

/// # Safety
/// As for [`comidl_runtime_dcom::api::CreateStreamOnHGlobal`].
#[unsafe(export_name = "CreateStreamOnHGlobal")]
unsafe extern "system" fn create_stream_on_hglobal(
    hglobal: *mut c_void,
    delete_on_release: i32,
    out: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    unsafe { dcom::CreateStreamOnHGlobal(hglobal, delete_on_release, out) }
}
