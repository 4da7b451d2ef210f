//! IUnknown's three calls on raw interface pointers, for the tables that hold them.

use std::ffi::c_void;

pub(crate) use comidl_runtime_core::object::unknown_vtbl as vtbl;
use comidl_runtime_core::{E_POINTER, GUID, HRESULT, Result};

/// QueryInterface: a new reference to `itf`'s object as interface `iid`.
///
/// # Safety
/// `itf` is a live interface pointer.
pub(crate) unsafe fn query(itf: *mut c_void, iid: &GUID) -> Result<*mut c_void> {
    let mut out = std::ptr::null_mut();
    // SAFETY: the caller's contract; QueryInterface writes an owned pointer or NULL.
    let hr: HRESULT = unsafe { (vtbl(itf).QueryInterface)(itf, iid, &mut out) };
    hr.ok()?;
    if out.is_null() {
        return Err(E_POINTER);
    }
    Ok(out)
}

/// AddRef.
///
/// # Safety
/// `itf` is a live interface pointer.
pub(crate) unsafe fn add_ref(itf: *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { (vtbl(itf).AddRef)(itf) };
}

/// Release (nothing for NULL).
///
/// # Safety
/// `itf` is NULL or a live interface pointer whose reference the caller gives up.
pub(crate) unsafe fn release(itf: *mut c_void) {
    if !itf.is_null() {
        // SAFETY: the caller's contract.
        unsafe { (vtbl(itf).Release)(itf) };
    }
}

/// The object's identity (its IUnknown), with a reference.
///
/// # Safety
/// `itf` is a live interface pointer.
pub(crate) unsafe fn identity(itf: *mut c_void) -> Result<*mut c_void> {
    // SAFETY: forwarded.
    unsafe { query(itf, &comidl_runtime_core::IID_IUnknown) }
}
