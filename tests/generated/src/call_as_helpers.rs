//! The program's helpers of the fixtures' `[local]` / `[call_as]` pairs (what MIDL leaves
//! to the program: `IFoo_Method_Proxy` turns the local call into the remote one,
//! `IFoo_Method_Stub` the remote one back into the local call). The fixtures are generated
//! with `Options::call_as` naming this module.

#![allow(non_snake_case)]

use std::ffi::c_void;

use comidl_runtime::HRESULT;

use crate::interfaces::{IDrawable_RemotePaint_Proxy, IDrawable_Vtbl};
use crate::orpc::{IOrpcEnum_RemoteNext_Proxy, IOrpcEnum_Vtbl};

/// `IDrawable::Paint`'s context is local: the remote form sends the flags alone.
///
/// # Safety
/// `this` is an IDrawable proxy.
pub unsafe fn IDrawable_Paint_Proxy(
    this: *mut c_void,
    _context: *mut c_void,
    flags: u32,
) -> HRESULT {
    // SAFETY: forwarded.
    unsafe { IDrawable_RemotePaint_Proxy(this, flags) }
}

/// The object's Paint, with no context.
///
/// # Safety
/// `this` is a live IDrawable.
pub unsafe fn IDrawable_Paint_Stub(this: *mut c_void, flags: u32) -> HRESULT {
    // SAFETY: the caller's contract.
    unsafe { ((**this.cast::<*const IDrawable_Vtbl>()).Paint)(this, std::ptr::null_mut(), flags) }
}

/// IEnum's rule: `fetched` may be NULL locally (when one item is asked for); the remote
/// form always has it.
///
/// # Safety
/// `this` is an IOrpcEnum proxy; `items` has room for `celt` values.
pub unsafe fn IOrpcEnum_Next_Proxy(
    this: *mut c_void,
    celt: u32,
    items: *mut i32,
    fetched: *mut u32,
) -> HRESULT {
    if fetched.is_null() && celt != 1 {
        return comidl_runtime::E_INVALIDARG;
    }
    let mut n = 0u32;
    // SAFETY: forwarded; `n` stands in for a NULL `fetched`.
    let hr = unsafe { IOrpcEnum_RemoteNext_Proxy(this, celt, items, &mut n) };
    if !fetched.is_null() {
        // SAFETY: the caller's [out] memory.
        unsafe { fetched.write(n) };
    }
    hr
}

/// The object's Next.
///
/// # Safety
/// `this` is a live IOrpcEnum; the arguments are the stub's memory for them.
pub unsafe fn IOrpcEnum_Next_Stub(
    this: *mut c_void,
    celt: u32,
    items: *mut i32,
    fetched: *mut u32,
) -> HRESULT {
    // SAFETY: the caller's contract.
    unsafe { ((**this.cast::<*const IOrpcEnum_Vtbl>()).Next)(this, celt, items, fetched) }
}
