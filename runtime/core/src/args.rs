//! What server thunks make of raw arguments before calling the `*_Impl` trait: counted
//! arrays become slices, fixed arrays array references, `[in, string]` pointers borrowed
//! strings. Each check a C caller could fail (NULL where a value is required, a negative
//! or impossible count, a misaligned pointer) becomes a failure HRESULT instead of
//! undefined behaviour in safe code.
//!
//! Layer: core. Uses the core root items only.

use core::ffi::{CStr, c_char};

use crate::wide::WStr;
use crate::{E_INVALIDARG, E_POINTER, Result};

/// Checks `count` elements at `ptr` could be a slice: a count `usize` holds, a non-NULL
/// aligned pointer when anything is to be read, and no more bytes than a slice may span.
fn checked<T, N: TryInto<usize>>(ptr: *const T, count: N) -> Result<usize> {
    let count: usize = count.try_into().map_err(|_| E_INVALIDARG)?;
    if count == 0 {
        return Ok(0);
    }
    if ptr.is_null() {
        return Err(E_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(E_INVALIDARG);
    }
    let bytes = count.checked_mul(core::mem::size_of::<T>());
    if bytes.is_none_or(|b| b > isize::MAX as usize) {
        return Err(E_INVALIDARG);
    }
    Ok(count)
}

/// An `[in, size_is(count)]` array as a slice. A count of zero gives an empty slice
/// whatever the pointer (C callers pass NULL then).
///
/// # Safety
/// When `count` is positive and `ptr` non-NULL, `ptr` points to `count` initialized `T`s
/// that are not written while the slice lives.
pub unsafe fn in_slice<'a, T, N: TryInto<usize>>(ptr: *const T, count: N) -> Result<&'a [T]> {
    let count = checked(ptr, count)?;
    if count == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, aligned, in bounds (checked); `count` readable `T`s (caller).
    Ok(unsafe { core::slice::from_raw_parts(ptr, count) })
}

/// An `[in, out, size_is(count)]` array as a mutable slice.
///
/// # Safety
/// When `count` is positive and `ptr` non-NULL, `ptr` points to `count` initialized `T`s
/// that nothing else reads or writes while the slice lives.
pub unsafe fn in_out_slice<'a, T, N: TryInto<usize>>(ptr: *mut T, count: N) -> Result<&'a mut [T]> {
    let count = checked(ptr, count)?;
    if count == 0 {
        return Ok(&mut []);
    }
    // SAFETY: non-NULL, aligned, in bounds (checked); exclusive, initialized (caller).
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, count) })
}

/// An `[out, size_is(count)]` array (the caller's buffer, contents unspecified) as a
/// mutable slice, zeroed first so the implementation never sees uninitialized memory.
/// `T` must be valid when all-zero, as every raw type the backend emits is.
///
/// # Safety
/// When `count` is positive and `ptr` non-NULL, `ptr` points to writable room for `count`
/// `T`s that nothing else uses while the slice lives.
pub unsafe fn out_slice<'a, T, N: TryInto<usize>>(ptr: *mut T, count: N) -> Result<&'a mut [T]> {
    let count = checked(ptr, count)?;
    if count == 0 {
        return Ok(&mut []);
    }
    // SAFETY: room for `count` `T`s (caller), aligned (checked); zero bytes are a valid
    // `T` (the emitter only uses this for such types).
    unsafe { ptr.write_bytes(0, count) };
    // SAFETY: now initialized; exclusive (caller).
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, count) })
}

/// A fixed-size `T x[N]` parameter as an array reference.
///
/// # Safety
/// `ptr` is NULL or points to `N` initialized `T`s not written while the reference lives.
pub unsafe fn in_array<'a, T, const N: usize>(ptr: *const T) -> Result<&'a [T; N]> {
    // SAFETY: `N` readable `T`s unless NULL (caller), which `in_slice` checks.
    let slice = unsafe { in_slice(ptr, N) }?;
    // A zero-length array needs no pointer; any other went through the checks.
    slice.try_into().map_err(|_| E_INVALIDARG)
}

/// A fixed-size `[in, out]` or `[out]` array parameter as a mutable array reference.
///
/// # Safety
/// `ptr` is NULL or points to `N` initialized `T`s that nothing else uses while the
/// reference lives.
pub unsafe fn in_out_array<'a, T, const N: usize>(ptr: *mut T) -> Result<&'a mut [T; N]> {
    // SAFETY: `N` exclusive initialized `T`s unless NULL (caller), which is checked.
    let slice = unsafe { in_out_slice(ptr, N) }?;
    slice.try_into().map_err(|_| E_INVALIDARG)
}

/// A fixed-size `[out]` array parameter (contents unspecified) as a mutable array
/// reference, zeroed first like [`out_slice`].
///
/// # Safety
/// `ptr` is NULL or points to writable room for `N` `T`s that nothing else uses while the
/// reference lives; `T` is valid when all-zero.
pub unsafe fn out_array<'a, T, const N: usize>(ptr: *mut T) -> Result<&'a mut [T; N]> {
    // SAFETY: room for `N` `T`s unless NULL (caller), which is checked.
    let slice = unsafe { out_slice(ptr, N) }?;
    slice.try_into().map_err(|_| E_INVALIDARG)
}

/// An `[in, string]` wide string; E_POINTER for NULL.
///
/// # Safety
/// `text` is NULL or a NUL-terminated UTF-16 string unchanged for `'a`.
pub unsafe fn wide_str<'a>(text: *const u16) -> Result<&'a WStr> {
    // SAFETY: forwarded caller guarantees.
    unsafe { WStr::from_ptr(text) }.ok_or(E_POINTER)
}

/// An `[in, string]` narrow string; E_POINTER for NULL.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string unchanged for `'a`.
pub unsafe fn narrow_str<'a>(text: *const c_char) -> Result<&'a CStr> {
    if text.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: non-NULL and NUL-terminated (caller).
    Ok(unsafe { CStr::from_ptr(text) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_check_what_a_caller_can_get_wrong() {
        let data = [1i32, 2, 3];
        // SAFETY: three readable i32s.
        assert_eq!(
            unsafe { in_slice(data.as_ptr(), 3u32) }.unwrap(),
            &[1, 2, 3]
        );
        // SAFETY: a zero count reads nothing, even through NULL.
        assert!(
            unsafe { in_slice::<i32, _>(core::ptr::null(), 0u32) }
                .unwrap()
                .is_empty()
        );
        // SAFETY: rejected before any read.
        assert_eq!(
            unsafe { in_slice::<i32, _>(core::ptr::null(), 1u32) },
            Err(E_POINTER)
        );
        // SAFETY: rejected before any read.
        assert_eq!(unsafe { in_slice(data.as_ptr(), -1i32) }, Err(E_INVALIDARG));
        let misaligned = data.as_ptr().cast::<u8>().wrapping_add(1).cast::<i32>();
        // SAFETY: rejected before any read.
        assert_eq!(unsafe { in_slice(misaligned, 1u32) }, Err(E_INVALIDARG));
        // SAFETY: rejected before any read (the byte count overflows).
        assert_eq!(
            unsafe { in_slice(data.as_ptr(), u64::MAX) },
            Err(E_INVALIDARG)
        );
        let mut buffer = [7u16; 4];
        // SAFETY: four writable u16s.
        let out = unsafe { out_slice(buffer.as_mut_ptr(), 4usize) }.unwrap();
        assert_eq!(out, &[0, 0, 0, 0]);
        out[1] = 9;
        assert_eq!(buffer, [0, 9, 0, 0]);
        // SAFETY: four initialized u16s.
        let both = unsafe { in_out_slice(buffer.as_mut_ptr(), 2u8) }.unwrap();
        assert_eq!(both, &[0, 9]);
        // SAFETY: three readable i32s.
        let fixed: &[i32; 3] = unsafe { in_array(data.as_ptr()) }.unwrap();
        assert_eq!(fixed, &data);
        // SAFETY: rejected before any read.
        assert_eq!(
            unsafe { in_array::<i32, 3>(core::ptr::null()) },
            Err(E_POINTER)
        );
    }

    #[test]
    fn strings() {
        let wide = [104u16, 105, 0];
        // SAFETY: NUL-terminated.
        assert_eq!(*unsafe { wide_str(wide.as_ptr()) }.unwrap(), "hi");
        // SAFETY: NULL is checked.
        assert_eq!(
            unsafe { wide_str(core::ptr::null()) }.unwrap_err(),
            E_POINTER
        );
        // SAFETY: a literal is NUL-terminated.
        assert_eq!(unsafe { narrow_str(c"ok".as_ptr()) }.unwrap(), c"ok");
        // SAFETY: NULL is checked.
        assert_eq!(
            unsafe { narrow_str(core::ptr::null()) }.unwrap_err(),
            E_POINTER
        );
    }
}
