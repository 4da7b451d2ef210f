//! The table this copy of the COM library hands to the modules it loads (the host side of
//! [`crate::host`]'s handshake): each entry is one of this copy's local operations
//! (apartments, the class-object table, the loader, error messages, the registry
//! directory) behind the C ABI, catching panics so none unwinds into the module that
//! called. `get_class_object` belongs to the activation layer above, which hands it in
//! with [`set_class_object_source`].
//!
//! Layer: com. The process state it reads is in `host`; this module sits above it and
//! above the operations it exposes.

use core::ffi::c_void;

use crate::host::{ABI_VERSION, Services};
use crate::{GUID, HRESULT};

/// The table of this copy's services (what a loader hands to the modules it loads).
pub(crate) static SERVICES: Services = Services {
    size: core::mem::size_of::<Services>(),
    abi: ABI_VERSION,
    version: concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast(),
    initialize: svc::initialize,
    uninitialize: svc::uninitialize,
    apartment: svc::apartment,
    get_class_object: svc::get_class_object,
    register_class_object: svc::register_class_object,
    revoke_class_object: svc::revoke_class_object,
    resume_class_objects: svc::resume_class_objects,
    free_unused_libraries: svc::free_unused_libraries,
    set_error: svc::set_error,
    take_error: svc::take_error,
    registry_dir: svc::registry_dir,
    marshal_interface: svc::marshal_interface,
    unmarshal_interface: svc::unmarshal_interface,
    release_marshal_data: svc::release_marshal_data,
};

/// The marshalling functions of the dcom layer (which this layer does not know), for the
/// table's marshalling entries; the activation layer hands them in with
/// [`set_marshal_source`].
pub struct MarshalSource {
    /// The OBJREF of interface `iid` of `itf` for destination context `context` with
    /// MSHLFLAGS `flags`.
    pub marshal: unsafe fn(*mut c_void, &GUID, u32, u32) -> crate::Result<Vec<u8>>,
    /// The interface pointer an OBJREF names, as `iid`.
    pub unmarshal: fn(&[u8], &GUID) -> crate::Result<*mut c_void>,
    /// Gives back what an OBJREF holds.
    pub release: fn(&[u8]) -> crate::Result<()>,
}

static MARSHAL_SOURCE: std::sync::OnceLock<MarshalSource> = std::sync::OnceLock::new();

/// Hands in the marshalling functions the table exposes; the first call wins.
pub fn set_marshal_source(source: MarshalSource) {
    let _ = MARSHAL_SOURCE.set(source);
}

/// `CoGetClassObject` as the activation layer implements it, with the signature of the
/// table's `get_class_object` entry.
pub type ClassObjectSource =
    unsafe fn(*const GUID, u32, *mut c_void, *const GUID, *mut *mut c_void) -> HRESULT;

static CLASS_OBJECT_SOURCE: std::sync::OnceLock<ClassObjectSource> = std::sync::OnceLock::new();

/// The activation layer (above this one) hands over its `CoGetClassObject` here, for the
/// table modules forward to; it does so before it can load any module. The first call
/// wins.
pub fn set_class_object_source(source: ClassObjectSource) {
    let _ = CLASS_OBJECT_SOURCE.set(source);
}

/// The table's entries: this copy's local implementations behind the C ABI, each catching
/// panics so none unwinds into the module that called.
mod svc {
    use core::ffi::{c_char, c_void};

    use crate::object::guard;
    use crate::{E_UNEXPECTED, GUID, HRESULT};

    pub(super) unsafe extern "C" fn initialize(reserved: *mut c_void, coinit: u32) -> HRESULT {
        guard(|| crate::apartment::initialize_local(reserved, coinit))
    }

    pub(super) unsafe extern "C" fn uninitialize() {
        let _ = guard(|| {
            crate::apartment::uninitialize_local();
            crate::S_OK
        });
    }

    pub(super) unsafe extern "C" fn apartment() -> i32 {
        std::panic::catch_unwind(|| {
            crate::apartment::Apartment::code(crate::apartment::current_local())
        })
        .unwrap_or(0)
    }

    pub(super) unsafe extern "C" fn get_class_object(
        clsid: *const GUID,
        context: u32,
        server_info: *mut c_void,
        iid: *const GUID,
        out: *mut *mut c_void,
    ) -> HRESULT {
        let Some(source) = super::CLASS_OBJECT_SOURCE.get() else {
            // No activation has run in this process, so no module was loaded through it.
            return crate::CO_E_NOTINITIALIZED;
        };
        // SAFETY: forwarded caller guarantees (same contract as CoGetClassObject).
        guard(|| unsafe { source(clsid, context, server_info, iid, out) })
    }

    pub(super) unsafe extern "C" fn register_class_object(
        clsid: *const GUID,
        unknown: *mut c_void,
        context: u32,
        flags: u32,
        cookie: *mut u32,
    ) -> HRESULT {
        // SAFETY: forwarded caller guarantees.
        guard(|| unsafe {
            crate::classes::register_class_object_local(clsid, unknown, context, flags, cookie)
        })
    }

    pub(super) unsafe extern "C" fn revoke_class_object(cookie: u32) -> HRESULT {
        guard(|| crate::classes::revoke_class_object_local(cookie))
    }

    pub(super) unsafe extern "C" fn resume_class_objects() -> HRESULT {
        guard(crate::classes::resume_class_objects_local)
    }

    pub(super) unsafe extern "C" fn free_unused_libraries() {
        let _ = guard(|| {
            crate::loader::free_unused_libraries_local();
            crate::S_OK
        });
    }

    pub(super) unsafe extern "C" fn set_error(hr: HRESULT, text: *const u8, len: usize) {
        let _ = guard(|| {
            if text.is_null() {
                return E_UNEXPECTED;
            }
            // SAFETY: the caller passes `len` readable bytes.
            let bytes = unsafe { core::slice::from_raw_parts(text, len) };
            crate::host::set_error_local(hr, String::from_utf8_lossy(bytes).into_owned());
            crate::S_OK
        });
    }

    pub(super) unsafe extern "C" fn take_error(hr: *mut HRESULT) -> *mut c_char {
        std::panic::catch_unwind(|| {
            let Some((code, text)) = crate::host::take_error_local() else {
                return core::ptr::null_mut();
            };
            if !hr.is_null() {
                // SAFETY: non-null and writable (the caller's out pointer).
                unsafe { hr.write(code) };
            }
            crate::host::task_c_string(&text)
        })
        .unwrap_or(core::ptr::null_mut())
    }

    /// The bytes the caller passes, or E_POINTER.
    ///
    /// # Safety
    /// `bytes` is NULL or points to `len` readable bytes.
    unsafe fn slice<'a>(bytes: *const u8, len: u32) -> Result<&'a [u8], HRESULT> {
        if bytes.is_null() {
            return Err(crate::E_POINTER);
        }
        // SAFETY: the caller's contract.
        Ok(unsafe { core::slice::from_raw_parts(bytes, len as usize) })
    }

    pub(super) unsafe extern "C" fn marshal_interface(
        iid: *const GUID,
        itf: *mut c_void,
        context: u32,
        flags: u32,
        out: *mut *mut u8,
        out_len: *mut u32,
    ) -> HRESULT {
        guard(|| {
            let Some(source) = super::MARSHAL_SOURCE.get() else {
                return crate::CO_E_NOTINITIALIZED;
            };
            // SAFETY: NULL or valid (the caller's contract).
            let Some(iid) = (unsafe { iid.as_ref() }) else {
                return crate::E_POINTER;
            };
            if itf.is_null() || out.is_null() || out_len.is_null() {
                return crate::E_POINTER;
            }
            // SAFETY: forwarded caller guarantees (a live interface pointer of `iid`).
            let bytes = match unsafe { (source.marshal)(itf, iid, context, flags) } {
                Ok(b) => b,
                Err(hr) => return hr,
            };
            let Ok(len) = u32::try_from(bytes.len()) else {
                return crate::E_OUTOFMEMORY;
            };
            let block = crate::CoTaskMemAlloc(bytes.len().max(1)).cast::<u8>();
            if block.is_null() {
                return crate::E_OUTOFMEMORY;
            }
            // SAFETY: a fresh block of at least `len` bytes; the out pointers are writable.
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), block, bytes.len());
                out.write(block);
                out_len.write(len);
            }
            crate::S_OK
        })
    }

    pub(super) unsafe extern "C" fn unmarshal_interface(
        bytes: *const u8,
        len: u32,
        iid: *const GUID,
        out: *mut *mut c_void,
    ) -> HRESULT {
        guard(|| {
            let Some(source) = super::MARSHAL_SOURCE.get() else {
                return crate::CO_E_NOTINITIALIZED;
            };
            // SAFETY: NULL or valid (the caller's contract).
            let (Some(iid), false) = (unsafe { iid.as_ref() }, out.is_null()) else {
                return crate::E_POINTER;
            };
            // SAFETY: as above.
            let bytes = match unsafe { slice(bytes, len) } {
                Ok(b) => b,
                Err(hr) => return hr,
            };
            match (source.unmarshal)(bytes, iid) {
                Ok(p) => {
                    // SAFETY: checked writable.
                    unsafe { out.write(p) };
                    crate::S_OK
                }
                Err(hr) => hr,
            }
        })
    }

    pub(super) unsafe extern "C" fn release_marshal_data(bytes: *const u8, len: u32) -> HRESULT {
        guard(|| {
            let Some(source) = super::MARSHAL_SOURCE.get() else {
                return crate::CO_E_NOTINITIALIZED;
            };
            // SAFETY: the caller's contract.
            match unsafe { slice(bytes, len) }.and_then(|b| (source.release)(b)) {
                Ok(()) => crate::S_OK,
                Err(hr) => hr,
            }
        })
    }

    pub(super) unsafe extern "C" fn registry_dir() -> *mut c_char {
        std::panic::catch_unwind(|| match crate::host::registry_dir_local() {
            Some(dir) => crate::host::task_c_string(&dir.to_string_lossy()),
            None => core::ptr::null_mut(),
        })
        .unwrap_or(core::ptr::null_mut())
    }
}
