//! The task allocator: the one heap whose blocks may cross interfaces and
//! modules (`CoTaskMemAlloc`, `CoTaskMemRealloc`, `CoTaskMemFree`, and the
//! process's `IMalloc`).
//!
//! # Block format (stable: version 1)
//!
//! Several modules in one process (the host executable and each in-process
//! server library) may each link their own copy of this crate, and any of
//! them must be able to free or measure a block another one allocated. So
//! the format is fixed and depends on nothing but the C library's
//! process-wide `malloc`/`realloc`/`free`:
//!
//! ```text
//! base = malloc(n + 16)           user pointer p = base + 16
//! base + 0 .. base + W            requested size n, as a native usize
//! base + 8 .. base + 8 + W        tag = (p as usize) ^ TAG_KEY, native usize
//! base + 16 .. base + 16 + n      the caller's bytes
//! ```
//!
//! (`W` is the pointer width in bytes; [`HEADER_SIZE`] is 16 on every
//! target.) Freeing clears the tag and hands `base` to `free`. Because the tag
//! depends on the block's own address, stale copies of a header (for example
//! in a block that `realloc` moved away from) do not validate.
//!
//! The user pointer has the alignment of `malloc`'s blocks (16 bytes on all
//! 64-bit targets; the header is 16 bytes so it preserves it). A request for
//! 0 bytes returns a unique, freeable pointer, as Windows does.
//!
//! Nothing here takes a lock or touches shared counters: the C library's
//! allocator provides the thread safety. Debug builds (or the `stats`
//! feature) keep a per-thread count of blocks allocated minus blocks freed,
//! readable with [`task::thread_balance`].
//!
//! Layer: core. Uses the core root items only.

use core::ffi::c_void;

/// Bytes of header in front of every task-allocator block.
pub const HEADER_SIZE: usize = 16;

/// The value XOR-ed with a block's user address to form its tag (truncated to
/// the pointer width on 32-bit targets). Part of the stable block format.
pub const TAG_KEY: usize = 0x436F_6D69_646C_5431_u64 as usize;

/// Offset (backwards from the user pointer) of the requested-size word.
const SIZE_OFFSET: usize = 16;
/// Offset (backwards from the user pointer) of the tag word.
const TAG_OFFSET: usize = 8;

#[cfg(any(debug_assertions, feature = "stats"))]
mod stats {
    use core::cell::Cell;

    std::thread_local! {
        static BALANCE: Cell<isize> = const { Cell::new(0) };
    }

    #[inline]
    pub(super) fn add(delta: isize) {
        // During thread teardown the slot may be gone; the count is then lost,
        // which only matters for statistics.
        let _ = BALANCE.try_with(|b| b.set(b.get() + delta));
    }

    pub(super) fn get() -> Option<isize> {
        BALANCE.try_with(Cell::get).ok()
    }
}

#[cfg(not(any(debug_assertions, feature = "stats")))]
mod stats {
    #[inline(always)]
    pub(super) fn add(_delta: isize) {}

    pub(super) fn get() -> Option<isize> {
        None
    }
}

/// The allocator's primitives, used by the C-ABI functions below and by the
/// `IMalloc` object. All of them are thread-safe.
pub mod task {
    use super::{HEADER_SIZE, SIZE_OFFSET, TAG_KEY, TAG_OFFSET, stats};
    use core::ptr;

    /// The tag a live block at user address `p` carries.
    #[inline]
    fn tag_for(p: *const u8) -> usize {
        (p as usize) ^ TAG_KEY
    }

    /// Writes the header into a fresh `malloc` block and returns the user
    /// pointer.
    ///
    /// # Safety
    /// `base` must be non-NULL, aligned like `malloc`'s result and valid for
    /// writes of at least `HEADER_SIZE` bytes.
    #[inline]
    unsafe fn write_header(base: *mut u8, n: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `base` has HEADER_SIZE writable bytes,
        // so `base + HEADER_SIZE` is in bounds (or one past the end).
        let user = unsafe { base.add(HEADER_SIZE) };
        // SAFETY: both words lie inside the header, which is writable and
        // usize-aligned (malloc alignment >= usize alignment; offsets 0 and 8
        // are multiples of the usize size on 32- and 64-bit targets).
        unsafe {
            base.cast::<usize>().write(n);
            base.add(SIZE_OFFSET - TAG_OFFSET)
                .cast::<usize>()
                .write(tag_for(user));
        }
        user
    }

    /// Reads the tag word in front of `p` and checks it.
    ///
    /// # Safety
    /// `p` must be non-NULL and the `TAG_OFFSET` bytes before it readable.
    #[inline]
    unsafe fn owns(p: *const u8) -> bool {
        let tag = p.wrapping_sub(TAG_OFFSET).cast::<usize>();
        // SAFETY: the caller guarantees the bytes are readable. The read
        // tolerates misalignment because a foreign pointer (for `did_alloc`)
        // may be misaligned; our own user pointers never are.
        unsafe { tag.read_unaligned() == tag_for(p) }
    }

    /// Largest request: header included, a block may not exceed `isize::MAX`.
    const MAX_REQUEST: usize = isize::MAX as usize - HEADER_SIZE;

    /// Allocates `n` bytes (any `n`, 0 included) and returns the user
    /// pointer, or NULL when memory is exhausted or `n` is absurdly large.
    /// The contents are uninitialised.
    #[must_use]
    #[inline]
    pub fn alloc(n: usize) -> *mut u8 {
        if n > MAX_REQUEST {
            return ptr::null_mut();
        }
        let total = n + HEADER_SIZE;
        // SAFETY: malloc accepts any size; the result is checked for NULL.
        let base = unsafe { libc::malloc(total) }.cast::<u8>();
        if base.is_null() {
            return ptr::null_mut();
        }
        stats::add(1);
        // SAFETY: `base` is a fresh malloc block of `total >= HEADER_SIZE`
        // bytes.
        unsafe { write_header(base, n) }
    }

    /// Resizes a block, keeping the first `min(old, n)` bytes.
    ///
    /// * `p` NULL: same as [`alloc`]`(n)`.
    /// * `n` 0 with `p` non-NULL: frees `p` and returns NULL.
    /// * On failure (out of memory, or `p` not a task-allocator block) returns
    ///   NULL and leaves `p` untouched and still valid.
    ///
    /// The block may move; the old pointer is invalid after a non-NULL
    /// return.
    ///
    /// # Safety
    /// `p` must be NULL or a live pointer returned by this allocator (in any
    /// module of the process).
    #[must_use]
    #[inline]
    pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
        if p.is_null() {
            return alloc(n);
        }
        if n == 0 {
            // SAFETY: forwarded caller guarantee.
            unsafe { free(p) };
            return ptr::null_mut();
        }
        // SAFETY: a live block has a readable header in front of `p`.
        if !unsafe { owns(p) } {
            return ptr::null_mut();
        }
        if n > MAX_REQUEST {
            return ptr::null_mut();
        }
        let total = n + HEADER_SIZE;
        let base = p.wrapping_sub(HEADER_SIZE);
        let tag = p.wrapping_sub(TAG_OFFSET).cast::<usize>();
        // Clear the tag first, so a block that realloc moves away from does not
        // keep a valid-looking header in freed memory.
        // SAFETY: `owns` just read this word, so it is valid and aligned, and
        // the block is ours to write.
        unsafe { tag.write(0) };
        // SAFETY: `base` is the pointer malloc/realloc returned for this block.
        let new_base = unsafe { libc::realloc(base.cast(), total) }.cast::<u8>();
        if new_base.is_null() {
            // SAFETY: on failure realloc leaves the old block intact.
            unsafe { tag.write(tag_for(p)) };
            return ptr::null_mut();
        }
        // SAFETY: `new_base` is a live malloc block of `total >= HEADER_SIZE`
        // bytes.
        unsafe { write_header(new_base, n) }
    }

    /// Frees a block. NULL is ignored, and so is a pointer whose header does
    /// not carry a valid tag (it is not a task-allocator block, so handing it
    /// to `free` could only do harm).
    ///
    /// # Safety
    /// `p` must be NULL or a live pointer returned by this allocator (in any
    /// module of the process); it is invalid afterwards.
    #[inline]
    pub unsafe fn free(p: *mut u8) {
        if p.is_null() {
            return;
        }
        // SAFETY: a live block has a readable header in front of `p`.
        if !unsafe { owns(p) } {
            return;
        }
        // SAFETY: the tag word is valid and aligned (just read by `owns`), and
        // `p - HEADER_SIZE` is the pointer malloc returned for this block.
        unsafe {
            p.wrapping_sub(TAG_OFFSET).cast::<usize>().write(0);
            libc::free(p.wrapping_sub(HEADER_SIZE).cast());
        }
        stats::add(-1);
    }

    /// The size requested for a block (`IMalloc::GetSize`): `usize::MAX`
    /// (i.e. -1) for NULL or for a pointer without a valid tag.
    ///
    /// # Safety
    /// `p` must be NULL or a live pointer returned by this allocator.
    #[must_use]
    pub unsafe fn size(p: *const u8) -> usize {
        // SAFETY: forwarded caller guarantee (the header is readable).
        if p.is_null() || !unsafe { owns(p) } {
            return usize::MAX;
        }
        // SAFETY: the size word of a live block is readable (the caller
        // guarantees a readable header; unaligned-tolerant like `owns`).
        unsafe { p.wrapping_sub(SIZE_OFFSET).cast::<usize>().read_unaligned() }
    }

    /// Whether `p` is a live block of this allocator (`IMalloc::DidAlloc`):
    /// 1 yes, 0 no, -1 cannot tell (NULL).
    ///
    /// The answer is read from the tag word in front of `p`, so it also
    /// recognises blocks allocated by other modules' copies of this crate. A
    /// foreign block is misidentified only if the word 8 bytes before it
    /// happens to equal its address XOR [`TAG_KEY`].
    ///
    /// # Safety
    /// Unless `p` is NULL, the 16 bytes before `p` must be readable memory:
    /// `p` must point at least 16 bytes past the start of some allocation
    /// (any user pointer of a heap allocator — `malloc`, this allocator —
    /// qualifies). A pointer just freed does not.
    #[must_use]
    pub unsafe fn did_alloc(p: *const u8) -> i32 {
        if p.is_null() {
            return -1;
        }
        // SAFETY: the caller guarantees the header bytes are readable.
        i32::from(unsafe { owns(p) })
    }

    /// Gives unused memory back to the operating system where the C library
    /// can do that (`malloc_trim` on glibc); does nothing elsewhere.
    pub fn heap_minimize() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    /// The number of task-allocator blocks the calling thread allocated minus
    /// the number it freed (reallocations count as neither), or `None` when
    /// statistics are compiled out (release builds without the `stats`
    /// feature).
    #[must_use]
    pub fn thread_balance() -> Option<isize> {
        stats::get()
    }
}

/// `CoTaskMemAlloc`: allocates `cb` bytes from the task allocator. Returns
/// NULL when out of memory; 0 bytes gives a valid, unique pointer.
#[allow(non_snake_case)]
#[must_use]
#[inline]
pub extern "system" fn CoTaskMemAlloc(cb: usize) -> *mut c_void {
    task::alloc(cb).cast()
}

/// `CoTaskMemRealloc`: resizes a task-allocator block. NULL `pv` allocates;
/// `cb` 0 with non-NULL `pv` frees and returns NULL; on failure returns NULL
/// and leaves the old block untouched.
///
/// # Safety
/// `pv` must be NULL or a live task-allocator block.
#[allow(non_snake_case)]
#[must_use]
#[inline]
pub unsafe extern "system" fn CoTaskMemRealloc(pv: *mut c_void, cb: usize) -> *mut c_void {
    // SAFETY: forwarded caller guarantee.
    unsafe { task::realloc(pv.cast(), cb) }.cast()
}

/// `CoTaskMemFree`: frees a task-allocator block; NULL is ignored.
///
/// # Safety
/// `pv` must be NULL or a live task-allocator block.
#[allow(non_snake_case)]
#[inline]
pub unsafe extern "system" fn CoTaskMemFree(pv: *mut c_void) {
    // SAFETY: forwarded caller guarantee.
    unsafe { task::free(pv.cast()) }
}

/// The C symbols. Exported functions can't be inlined, so Rust callers use the inline
/// functions above and C callers (and other modules) these, which forward to them.
#[cfg(feature = "c-api")]
mod c_api {
    use core::ffi::c_void;

    #[unsafe(export_name = "CoTaskMemAlloc")]
    extern "system" fn co_task_mem_alloc(cb: usize) -> *mut c_void {
        super::CoTaskMemAlloc(cb)
    }

    /// # Safety
    /// As for [`super::CoTaskMemRealloc`].
    #[unsafe(export_name = "CoTaskMemRealloc")]
    unsafe extern "system" fn co_task_mem_realloc(pv: *mut c_void, cb: usize) -> *mut c_void {
        // SAFETY: forwarded caller guarantee.
        unsafe { super::CoTaskMemRealloc(pv, cb) }
    }

    /// # Safety
    /// As for [`super::CoTaskMemFree`].
    #[unsafe(export_name = "CoTaskMemFree")]
    unsafe extern "system" fn co_task_mem_free(pv: *mut c_void) {
        // SAFETY: forwarded caller guarantee.
        unsafe { super::CoTaskMemFree(pv) }
    }
}

#[cfg(test)]
mod tests {
    use super::task;

    #[test]
    fn header_layout() {
        let p = task::alloc(24);
        assert!(!p.is_null());
        // SAFETY: p is a live block with its 16-byte header in front.
        unsafe {
            assert_eq!(p.sub(16).cast::<usize>().read(), 24);
            assert_eq!(p.sub(8).cast::<usize>().read(), p as usize ^ super::TAG_KEY);
            task::free(p);
        }
    }
}
