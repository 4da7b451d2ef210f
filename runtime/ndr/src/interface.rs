//! Interface pointers ([`Type::Interface`]): what the engine needs from the COM library
//! to send and receive them. The engine writes and reads the MInterfacePointer around an
//! OBJREF; making the OBJREF from an object (exporting it) and a proxy from an OBJREF
//! (importing it) is COM's work, which the COM library's proxy or stub lends the engine
//! for the length of one call with [`with_interfaces`].

use std::cell::Cell;
use std::ffi::c_void;

use comidl_runtime_core::GUID;

use crate::desc::{Expr, Iid, InterfacePointer};
use crate::error::{NdrError, Result};
use crate::expr::{Scope, eval};

/// Converts interface pointers to OBJREFs and back: COM's marshalling, as the engine sees
/// it.
pub trait InterfaceMarshal {
    /// The OBJREF (MS-DCOM 2.2.18) that carries `itf` as interface `iid` to the peer.
    /// The engine keeps the caller's reference; whatever reference the OBJREF stands for
    /// is the implementation's.
    ///
    /// # Safety
    /// `itf` is a live interface pointer of interface `iid`.
    unsafe fn marshal(&self, iid: &GUID, itf: *mut c_void) -> Result<Vec<u8>>;

    /// The interface pointer (holding one reference, which the engine hands to the
    /// receiver of the value) that the OBJREF `objref` names, as interface `iid`.
    fn unmarshal(&self, iid: &GUID, objref: &[u8]) -> Result<*mut c_void>;
}

/// The marshaller a call lent the engine: a pointer valid while [`with_interfaces`] runs.
type Lent = *const (dyn InterfaceMarshal + 'static);

std::thread_local! {
    static CURRENT: Cell<Option<Lent>> = const { Cell::new(None) };
}

/// Runs `f` with `m` converting the interface pointers the engine meets on this thread.
pub fn with_interfaces<R>(m: &dyn InterfaceMarshal, f: impl FnOnce() -> R) -> R {
    // SAFETY: only the lifetime is erased; the pointer is cleared (by the guard, also on
    // unwind) before `m`'s borrow ends, and only `current` reads it, within `f`.
    let lent: Lent = unsafe { std::mem::transmute::<&dyn InterfaceMarshal, Lent>(m) };
    struct Restore(Option<Lent>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(lent))));
    f()
}

/// Runs `f` with the marshaller lent to this thread, or fails: a description with an
/// interface pointer used outside COM's proxies and stubs.
pub(crate) fn current<R>(f: impl FnOnce(&dyn InterfaceMarshal) -> Result<R>) -> Result<R> {
    match CURRENT.with(Cell::get) {
        // SAFETY: set by `with_interfaces`, whose borrow outlives this call on its thread.
        Some(m) => f(unsafe { &*m }),
        None => Err(NdrError::Unsupported(
            "an interface pointer outside a COM proxy or stub (no marshaller lent)",
        )),
    }
}

/// The IID of an interface pointer: its declared interface, or what `[iid_is]` names.
///
/// # Safety
/// As [`eval`]: the parameters and `base` are valid.
pub(crate) unsafe fn iid(ip: &InterfacePointer, scope: Scope) -> Result<GUID> {
    match &ip.iid {
        Iid::Fixed(g) => Ok(*g),
        Iid::Is(e) => {
            // SAFETY: forwarded.
            let at = unsafe { address(e, scope)? };
            // SAFETY: `[iid_is]` names a pointer to an IID (MIDL's rule, the caller's
            // contract for the parameters).
            Ok(unsafe { at.cast::<GUID>().read_unaligned() })
        }
    }
}

/// The address an `[iid_is]` expression gives (a pointer value; NULL is refused).
unsafe fn address(e: &Expr, scope: Scope) -> Result<*const u8> {
    // SAFETY: forwarded.
    let v = unsafe { eval(e, scope)? };
    if v == 0 {
        return Err(NdrError::InvalidBound);
    }
    Ok(v as usize as *const u8)
}

/// Releases one reference of an interface pointer (IUnknown::Release, slot 2).
///
/// # Safety
/// `itf` is NULL or a live interface pointer whose reference the caller owns.
pub(crate) unsafe fn release(itf: *mut c_void) {
    if itf.is_null() {
        return;
    }
    // SAFETY: a live interface pointer (the caller's contract), whose vtable starts with
    // IUnknown's.
    unsafe { (comidl_runtime_core::object::unknown_vtbl(itf).Release)(itf) };
}
