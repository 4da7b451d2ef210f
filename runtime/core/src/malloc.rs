//! The task allocator as a COM object: `CoGetMalloc(MEMCTX_TASK)` hands out the one
//! process-wide IMalloc, whose methods are the `task` functions of [`crate::alloc`].
//! Releasing it never frees blocks; the object itself lives as long as the process.
//!
//! Layer: core. Uses `alloc`, `object`, `unknown` of this layer.

use core::ffi::c_void;
use std::sync::OnceLock;

use crate::alloc::task;
use crate::object::ComObject;
use crate::unknown::{ComPtr, Interface};
use crate::{E_INVALIDARG, E_POINTER, HRESULT, IMalloc, IMalloc_Impl, S_OK, SIZE_T};

/// The only memory context COM has: the task allocator.
pub const MEMCTX_TASK: u32 = 1;

/// The IMalloc object's Rust side: stateless, every call goes to the task allocator.
struct TaskMalloc;

crate::implement!(TaskMalloc: IMalloc);

impl IMalloc_Impl for TaskMalloc {
    fn alloc(&self, cb: SIZE_T) -> *mut c_void {
        task::alloc(cb).cast()
    }

    fn realloc(&self, pv: *mut c_void, cb: SIZE_T) -> *mut c_void {
        // SAFETY: IMalloc's contract: `pv` is NULL or a block of this allocator.
        unsafe { task::realloc(pv.cast(), cb) }.cast()
    }

    fn free(&self, pv: *mut c_void) {
        // SAFETY: as for `realloc`.
        unsafe { task::free(pv.cast()) }
    }

    fn get_size(&self, pv: *mut c_void) -> SIZE_T {
        // SAFETY: as for `realloc`.
        unsafe { task::size(pv.cast()) }
    }

    fn did_alloc(&self, pv: *mut c_void) -> i32 {
        // SAFETY: IMalloc::DidAlloc's contract: `pv` points into readable heap memory.
        unsafe { task::did_alloc(pv.cast()) }
    }

    fn heap_minimize(&self) {
        task::heap_minimize();
    }
}

/// The process's IMalloc, created on first use. The object holds one reference of its own
/// forever, so callers' AddRef and Release never destroy it.
fn task_malloc() -> IMalloc {
    static OBJECT: OnceLock<usize> = OnceLock::new();
    // Not counted as a module object: it lives as long as the process.
    let raw = *OBJECT.get_or_init(|| {
        match ComObject::new_class_object(TaskMalloc).cast::<IMalloc>() {
            Ok(ptr) => ptr.into_raw() as usize,
            // QueryInterface for the object's own interface cannot fail.
            Err(_) => 0,
        }
    });
    // SAFETY: `raw` is the IMalloc pointer leaked above, alive for the whole process.
    match unsafe { IMalloc::from_raw_borrowed(raw as *mut c_void) } {
        Some(malloc) => malloc,
        None => unreachable!("the task IMalloc is created once and never freed"),
    }
}

/// The task allocator's IMalloc, AddRef'd for the caller (as `CoGetMalloc` returns it).
pub fn co_get_malloc() -> ComPtr<IMalloc> {
    let malloc = task_malloc();
    // SAFETY: `malloc` is alive (see `task_malloc`); the clone takes a reference of its own.
    let borrowed = core::mem::ManuallyDrop::new(unsafe { ComPtr::from_interface(malloc) });
    (*borrowed).clone()
}

/// `CoGetMalloc`: the task allocator's IMalloc. `context` must be `MEMCTX_TASK`.
///
/// # Safety
/// `out` is NULL or writable.
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[allow(non_snake_case)]
pub unsafe extern "system" fn CoGetMalloc(context: u32, out: *mut *mut c_void) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    if context != MEMCTX_TASK {
        // SAFETY: `out` is non-null and writable (caller's contract).
        unsafe { out.write(core::ptr::null_mut()) };
        return E_INVALIDARG;
    }
    // SAFETY: as above.
    unsafe { out.write(co_get_malloc().into_raw()) };
    S_OK
}
