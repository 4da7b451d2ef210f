//! `HGLOBAL`: a handle to a sized block of memory, what OLE data transfer (`STGMEDIUM`,
//! `CF_*` formats) and the `[wire_marshal]` form `userHGLOBAL` carry.
//!
//! comidl's design: an `HGLOBAL` is a task-allocator block ([`crate::alloc`]) and its own
//! address, as a fixed (`GMEM_FIXED`) block is on Windows. The block never moves, so
//! [`GlobalLock`] returns the handle itself and [`GlobalUnlock`] has nothing to undo; the
//! task allocator records each block's size, which [`GlobalSize`] reads. A block allocated
//! by one module of the process may be freed by another, like any task-allocator block.
//! `GMEM_MOVEABLE` is accepted and means the same; there is no discarding.
//!
//! Layer: core. Uses `alloc` of this layer.

use core::ffi::c_void;

use crate::alloc::task;

/// An `HGLOBAL` (NULL: no block).
#[allow(clippy::upper_case_acronyms)]
pub type HGLOBAL = *mut c_void;

/// `GMEM_FIXED`: the handle is the memory (always so here).
pub const GMEM_FIXED: u32 = 0x0000;
/// `GMEM_MOVEABLE`: accepted; blocks never move here.
pub const GMEM_MOVEABLE: u32 = 0x0002;
/// `GMEM_ZEROINIT`: the block starts zeroed.
pub const GMEM_ZEROINIT: u32 = 0x0040;
/// `GHND`: `GMEM_MOVEABLE | GMEM_ZEROINIT`.
pub const GHND: u32 = GMEM_MOVEABLE | GMEM_ZEROINIT;
/// `GPTR`: `GMEM_FIXED | GMEM_ZEROINIT`.
pub const GPTR: u32 = GMEM_FIXED | GMEM_ZEROINIT;

/// `GlobalAlloc`: a block of `bytes` bytes (zeroed with `GMEM_ZEROINIT`), or NULL when out
/// of memory.
#[allow(non_snake_case)]
#[must_use]
pub extern "system" fn GlobalAlloc(flags: u32, bytes: usize) -> HGLOBAL {
    let p = task::alloc(bytes);
    if !p.is_null() && flags & GMEM_ZEROINIT != 0 {
        // SAFETY: `p` is a fresh block of `bytes` bytes.
        unsafe { p.write_bytes(0, bytes) };
    }
    p.cast()
}

/// `GlobalLock`: the block's memory (the handle itself), or NULL for a NULL handle or one
/// that is not a block of this allocator.
///
/// # Safety
/// `h` is NULL or a live `HGLOBAL` (or another pointer with 16 readable bytes before it).
#[allow(non_snake_case)]
pub unsafe extern "system" fn GlobalLock(h: HGLOBAL) -> *mut c_void {
    // SAFETY: forwarded.
    if unsafe { task::did_alloc(h.cast()) } == 1 {
        h
    } else {
        core::ptr::null_mut()
    }
}

/// `GlobalUnlock`: nothing to undo (the block never moves); FALSE, "no longer locked",
/// as Windows answers for a fixed block.
///
/// # Safety
/// As [`GlobalLock`].
#[allow(non_snake_case)]
pub unsafe extern "system" fn GlobalUnlock(h: HGLOBAL) -> i32 {
    let _ = h;
    0
}

/// `GlobalSize`: the block's size in bytes; 0 for NULL or what is not a block.
///
/// # Safety
/// As [`GlobalLock`].
#[allow(non_snake_case)]
pub unsafe extern "system" fn GlobalSize(h: HGLOBAL) -> usize {
    // SAFETY: forwarded.
    if unsafe { task::did_alloc(h.cast()) } != 1 {
        return 0;
    }
    // SAFETY: a live block of the task allocator.
    unsafe { task::size(h.cast()) }
}

/// `GlobalFree`: frees the block. NULL on success (and for NULL); the handle back when it
/// is not a block of this allocator, as Windows reports a failure.
///
/// # Safety
/// `h` is NULL or a live `HGLOBAL`; it is invalid afterwards.
#[allow(non_snake_case)]
pub unsafe extern "system" fn GlobalFree(h: HGLOBAL) -> HGLOBAL {
    if h.is_null() {
        return h;
    }
    // SAFETY: forwarded.
    if unsafe { task::did_alloc(h.cast()) } != 1 {
        return h;
    }
    // SAFETY: a live block, freed once.
    unsafe { task::free(h.cast()) };
    core::ptr::null_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_keeps_its_size_and_contents() {
        let before = task::thread_balance();
        let h = GlobalAlloc(GHND, 5);
        assert!(!h.is_null());
        // SAFETY: a live block of 5 bytes.
        unsafe {
            assert_eq!(GlobalSize(h), 5);
            let p = GlobalLock(h).cast::<u8>();
            assert_eq!(std::slice::from_raw_parts(p, 5), &[0; 5]);
            p.write(7);
            assert_eq!(GlobalUnlock(h), 0);
            assert_eq!(*GlobalLock(h).cast::<u8>(), 7);
            assert!(GlobalFree(h).is_null());
            assert!(GlobalFree(core::ptr::null_mut()).is_null());
            assert_eq!(GlobalSize(core::ptr::null_mut()), 0);
        }
        assert_eq!(task::thread_balance(), before);
    }
}
