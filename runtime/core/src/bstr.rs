//! `BSTR`: the length-prefixed UTF-16 string of COM automation.
//!
//! A BSTR is a pointer to UTF-16 code units. The 4 bytes right before it
//! hold the length of the string in bytes (a native-endian `u32`), and two
//! zero bytes follow the string, so it can also be read as a NUL-terminated
//! wide string as long as it holds no NUL of its own (interior NULs are
//! allowed: the prefix, not a terminator, gives the length). A NULL BSTR is
//! the empty string.
//!
//! # Memory format (stable)
//!
//! Each BSTR lives in one block of the task allocator ([`crate::alloc`]), so
//! any module of the process can free it:
//!
//! ```text
//! block + 0 .. 4        reserved, zero
//! block + 4 .. 8        byte length L (u32)
//! block + 8 .. 8 + L    the string: the BSTR pointer is block + 8
//! block + 8 + L         two zero bytes
//! ```
//!
//! The BSTR pointer is therefore 8-byte aligned. The byte length must fit in
//! a `u32`, so a BSTR holds at most `u32::MAX / 2` code units.
//!
//! Layer: core. Uses `alloc`, `hresult`, `wide` of this layer.

use core::fmt;
use core::ptr;

use crate::alloc::task;
use crate::hresult::{E_OUTOFMEMORY, Result};

/// Bytes from the start of the task block to the string.
const LEAD: usize = 8;
/// Bytes from the string back to its length prefix.
const PREFIX: usize = 4;

/// Most code units a BSTR can hold (its byte length must fit in a `u32`).
const MAX_CHARS: u32 = u32::MAX / 2;

/// Allocates a BSTR of `byte_len` bytes, copied from `src` or zeroed when
/// `src` is NULL, with the length prefix and the terminator written. Returns
/// NULL when out of memory.
///
/// # Safety
/// `src` must be NULL or valid for reads of `byte_len` bytes.
unsafe fn alloc_bytes(src: *const u8, byte_len: u32) -> *mut u16 {
    let len = byte_len as usize;
    let Some(total) = len.checked_add(LEAD + 2) else {
        return ptr::null_mut();
    };
    let block = task::alloc(total);
    if block.is_null() {
        return ptr::null_mut();
    }
    let data = block.wrapping_add(LEAD);
    // SAFETY: `block` is a fresh task block of `total >= LEAD` bytes, aligned
    // to at least 8, so both u32 header words are in bounds and aligned.
    unsafe {
        block.cast::<u32>().write(0);
        block.add(PREFIX).cast::<u32>().write(byte_len);
    }
    if src.is_null() {
        // SAFETY: `data .. data + len` lies inside the block.
        unsafe { ptr::write_bytes(data, 0, len) };
    } else {
        // SAFETY: `src` is readable for `len` bytes (caller guarantee); the
        // destination lies inside a block that was just allocated, so the two
        // cannot overlap.
        unsafe { ptr::copy_nonoverlapping(src, data, len) };
    }
    // SAFETY: the terminator takes the last two bytes of the block
    // (`LEAD + len + 2 == total`); a `[u8; 2]` needs no alignment.
    unsafe { data.add(len).cast::<[u8; 2]>().write([0, 0]) };
    data.cast()
}

/// `SysAllocString`: a new BSTR holding a copy of the NUL-terminated string
/// `psz`. NULL in gives NULL out; NULL is also returned when out of memory.
///
/// # Safety
/// `psz` must be NULL or point to a NUL-terminated UTF-16 string.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[must_use]
pub unsafe extern "system" fn SysAllocString(psz: *const u16) -> *mut u16 {
    // SAFETY: caller guarantee: `psz` is NULL or NUL-terminated.
    let Some(units) = (unsafe { crate::wide::units(psz) }) else {
        return ptr::null_mut();
    };
    let Ok(len) = u32::try_from(units.len()) else {
        return ptr::null_mut();
    };
    // SAFETY: `psz` is readable for `len` units (the string before its NUL).
    unsafe { SysAllocStringLen(psz, len) }
}

/// `SysAllocStringLen`: a new BSTR of `len` code units copied from `src`
/// (which may contain NULs), or zero-filled when `src` is NULL. Returns NULL
/// when out of memory or when `len` exceeds `u32::MAX / 2`.
///
/// # Safety
/// `src` must be NULL or valid for reads of `len` UTF-16 code units.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[must_use]
pub unsafe extern "system" fn SysAllocStringLen(src: *const u16, len: u32) -> *mut u16 {
    if len > MAX_CHARS {
        return ptr::null_mut();
    }
    // SAFETY: `src` is NULL or readable for `len * 2` bytes.
    unsafe { alloc_bytes(src.cast(), len * 2) }
}

/// `SysAllocStringByteLen`: a new BSTR of `len` bytes copied from `psz`, or
/// zero-filled when `psz` is NULL; two zero bytes follow them. The length
/// may be odd. Returns NULL when out of memory.
///
/// # Safety
/// `psz` must be NULL or valid for reads of `len` bytes.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[must_use]
pub unsafe extern "system" fn SysAllocStringByteLen(psz: *const u8, len: u32) -> *mut u16 {
    // SAFETY: forwarded caller guarantee.
    unsafe { alloc_bytes(psz, len) }
}

/// `SysReAllocString`: replaces `*pbstr` with a new BSTR copied from the
/// NUL-terminated `psz` (which may point into the old string) and frees the
/// old one. NULL `psz` leaves `*pbstr` NULL. Returns 1 (TRUE) on success; 0
/// (FALSE) when `pbstr` is NULL or memory is exhausted, in which case
/// `*pbstr` is unchanged.
///
/// # Safety
/// `pbstr` must be NULL or point to a valid BSTR variable (NULL or a live
/// BSTR); `psz` must be NULL or a NUL-terminated UTF-16 string.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
pub unsafe extern "system" fn SysReAllocString(pbstr: *mut *mut u16, psz: *const u16) -> i32 {
    if pbstr.is_null() {
        return 0;
    }
    // The new string is made before the old one is freed, so `psz` may alias
    // it.
    // SAFETY: forwarded caller guarantee on `psz`.
    let fresh = unsafe { SysAllocString(psz) };
    if fresh.is_null() && !psz.is_null() {
        return 0;
    }
    // SAFETY: `pbstr` points to a valid BSTR variable holding NULL or a live
    // BSTR, which nothing uses after it is replaced.
    unsafe {
        SysFreeString(*pbstr);
        *pbstr = fresh;
    }
    1
}

/// `SysReAllocStringLen`: replaces `*pbstr` with a new BSTR of `len` code
/// units copied from `psz` (which may point into the old string) and frees
/// the old one. When `psz` is NULL the old contents are kept, cut or
/// zero-extended to `len` units. Returns 1 (TRUE) on success; 0 (FALSE) when
/// `pbstr` is NULL, `len` is too large or memory is exhausted, in which case
/// `*pbstr` is unchanged.
///
/// # Safety
/// `pbstr` must be NULL or point to a valid BSTR variable (NULL or a live
/// BSTR); `psz` must be NULL or valid for reads of `len` code units.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
pub unsafe extern "system" fn SysReAllocStringLen(
    pbstr: *mut *mut u16,
    psz: *const u16,
    len: u32,
) -> i32 {
    if pbstr.is_null() {
        return 0;
    }
    // SAFETY: `pbstr` points to a valid BSTR variable.
    let old = unsafe { *pbstr };
    // SAFETY: `psz` is NULL or readable for `len` units.
    let fresh = unsafe { SysAllocStringLen(psz, len) };
    if fresh.is_null() {
        return 0;
    }
    if psz.is_null() && !old.is_null() {
        // SAFETY: `old` is a live BSTR, so SysStringLen may read its prefix.
        let keep = unsafe { SysStringLen(old) }.min(len) as usize;
        // SAFETY: `old` holds at least `keep` units, `fresh` has room for
        // `len >= keep`, and the two blocks are distinct.
        unsafe { ptr::copy_nonoverlapping(old, fresh, keep) };
    }
    // SAFETY: `old` is NULL or a live BSTR that nothing uses after this; the
    // variable is writable.
    unsafe {
        SysFreeString(old);
        *pbstr = fresh;
    }
    1
}

/// `SysFreeString`: frees a BSTR; NULL is ignored.
///
/// # Safety
/// `bstr` must be NULL or a live BSTR (from any module of the process); it is
/// invalid afterwards.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
pub unsafe extern "system" fn SysFreeString(bstr: *mut u16) {
    if bstr.is_null() {
        return;
    }
    // SAFETY: a live BSTR sits LEAD bytes into its task block.
    unsafe { task::free(bstr.cast::<u8>().wrapping_sub(LEAD)) }
}

/// `SysStringLen`: length in UTF-16 code units (the byte length halved,
/// rounded down); 0 for NULL.
///
/// # Safety
/// `bstr` must be NULL or a live BSTR.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[must_use]
pub unsafe extern "system" fn SysStringLen(bstr: *const u16) -> u32 {
    // SAFETY: forwarded caller guarantee.
    unsafe { SysStringByteLen(bstr) / 2 }
}

/// `SysStringByteLen`: length in bytes, from the prefix; 0 for NULL.
///
/// # Safety
/// `bstr` must be NULL or a live BSTR.
#[allow(non_snake_case)]
#[cfg_attr(feature = "c-api", unsafe(no_mangle))]
#[must_use]
pub unsafe extern "system" fn SysStringByteLen(bstr: *const u16) -> u32 {
    if bstr.is_null() {
        return 0;
    }
    // SAFETY: a live BSTR has its u32 length prefix, 4-byte aligned, right
    // before it.
    unsafe { bstr.cast::<u8>().wrapping_sub(PREFIX).cast::<u32>().read() }
}

/// An owned BSTR. NULL (the value of [`BSTR::new`]) is the empty string.
///
/// `#[repr(transparent)]` over the raw pointer, so it can stand for a `BSTR`
/// in `extern "system"` signatures: an `[out] BSTR*` parameter can be
/// declared `*mut BSTR`, and the value written there is owned by the
/// receiver, which frees it on drop.
///
/// Constructors that allocate panic when memory is exhausted, like `String`
/// does (and when a string exceeds `u32::MAX / 2` code units);
/// [`BSTR::try_from_wide`] reports that as `E_OUTOFMEMORY` instead.
#[repr(transparent)]
pub struct BSTR(*mut u16);

// SAFETY: a BSTR exclusively owns its block, and the task allocator may free
// it from any thread.
unsafe impl Send for BSTR {}
// SAFETY: `&BSTR` only allows reading the immutable string.
unsafe impl Sync for BSTR {}

impl BSTR {
    /// The empty string (NULL); does not allocate.
    #[must_use]
    pub const fn new() -> BSTR {
        BSTR(ptr::null_mut())
    }

    /// A BSTR holding a copy of `units` (interior NULs included). An empty
    /// slice gives the NULL BSTR.
    ///
    /// # Panics
    /// When memory is exhausted or `units` has more than `u32::MAX / 2`
    /// elements.
    #[must_use]
    pub fn from_wide(units: &[u16]) -> BSTR {
        match BSTR::try_from_wide(units) {
            Ok(b) => b,
            Err(_) => panic!(
                "cannot allocate a BSTR of {} UTF-16 code units",
                units.len()
            ),
        }
    }

    /// Like [`BSTR::from_wide`], but returns `E_OUTOFMEMORY` instead of
    /// panicking.
    pub fn try_from_wide(units: &[u16]) -> Result<BSTR> {
        if units.is_empty() {
            return Ok(BSTR::new());
        }
        let len = u32::try_from(units.len()).map_err(|_| E_OUTOFMEMORY)?;
        // SAFETY: `units` is readable for `len` code units.
        let p = unsafe { SysAllocStringLen(units.as_ptr(), len) };
        if p.is_null() {
            Err(E_OUTOFMEMORY)
        } else {
            Ok(BSTR(p))
        }
    }

    /// The string's UTF-16 code units (without the terminator).
    #[must_use]
    pub fn as_wide(&self) -> &[u16] {
        if self.0.is_null() {
            return &[];
        }
        // SAFETY: a non-NULL BSTR owned by `self` is live; it holds
        // `SysStringLen` initialised, aligned code units that stay unchanged
        // while `self` is borrowed.
        unsafe { core::slice::from_raw_parts(self.0, SysStringLen(self.0) as usize) }
    }

    /// Length in UTF-16 code units.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_wide().len()
    }

    /// True for NULL and for a zero-length string.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw pointer (NULL for the NULL BSTR), still owned by `self`.
    #[must_use]
    pub const fn as_ptr(&self) -> *const u16 {
        self.0
    }

    /// Gives up ownership: the caller must free the result with
    /// [`SysFreeString`] (or hand it to someone who will).
    #[must_use]
    pub fn into_raw(self) -> *mut u16 {
        let p = self.0;
        core::mem::forget(self);
        p
    }

    /// Takes ownership of a raw BSTR; it is freed when the result is dropped.
    ///
    /// # Safety
    /// `p` must be NULL or a live BSTR that nothing else frees or uses
    /// mutably afterwards.
    #[must_use]
    pub const unsafe fn from_raw(p: *mut u16) -> BSTR {
        BSTR(p)
    }

    /// Views a borrowed raw BSTR — typically an `[in] BSTR` parameter, which
    /// the caller keeps owning — as a `&BSTR`, without copying and without
    /// taking ownership (a reference never frees).
    ///
    /// # Safety
    /// `*p` must be NULL or a live BSTR that stays alive and unchanged for as
    /// long as the returned reference is used.
    #[must_use]
    pub const unsafe fn from_abi_ref(p: &*mut u16) -> &BSTR {
        // SAFETY: BSTR is repr(transparent) over `*mut u16`, so the two types
        // have the same layout and `p` is a valid, aligned `&BSTR`; the caller
        // guarantees the string outlives the borrow.
        unsafe { &*core::ptr::from_ref(p).cast::<BSTR>() }
    }

    /// The contents as a `String`, unpaired surrogates replaced by U+FFFD.
    #[must_use]
    pub fn to_string_lossy(&self) -> String {
        char::decode_utf16(self.as_wide().iter().copied())
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }
}

impl Drop for BSTR {
    fn drop(&mut self) {
        // SAFETY: `self.0` is NULL or a live BSTR that `self` owns.
        unsafe { SysFreeString(self.0) }
    }
}

impl Default for BSTR {
    /// The empty (NULL) BSTR.
    fn default() -> BSTR {
        BSTR::new()
    }
}

impl Clone for BSTR {
    /// Copies the string byte for byte (odd byte lengths included).
    ///
    /// # Panics
    /// When memory is exhausted.
    fn clone(&self) -> BSTR {
        if self.0.is_null() {
            return BSTR::new();
        }
        // SAFETY: `self.0` is a live BSTR; its bytes are readable for its byte
        // length.
        let p = unsafe { SysAllocStringByteLen(self.0.cast(), SysStringByteLen(self.0)) };
        assert!(!p.is_null(), "cannot allocate a copy of a BSTR");
        BSTR(p)
    }
}

impl From<&str> for BSTR {
    /// Encodes the string as UTF-16.
    ///
    /// # Panics
    /// When memory is exhausted or the string is too long for a BSTR.
    fn from(s: &str) -> BSTR {
        let len = s.encode_utf16().count();
        if len == 0 {
            return BSTR::new();
        }
        let p = match u32::try_from(len) {
            // SAFETY: a NULL source is allowed; the string is zero-filled.
            Ok(n) => unsafe { SysAllocStringLen(ptr::null(), n) },
            Err(_) => ptr::null_mut(),
        };
        assert!(
            !p.is_null(),
            "cannot allocate a BSTR of {len} UTF-16 code units"
        );
        // SAFETY: `p` is a fresh BSTR of exactly `len` units, owned here.
        let units = unsafe { core::slice::from_raw_parts_mut(p, len) };
        for (dst, src) in units.iter_mut().zip(s.encode_utf16()) {
            *dst = src;
        }
        BSTR(p)
    }
}

impl From<&String> for BSTR {
    /// Encodes the string as UTF-16.
    fn from(s: &String) -> BSTR {
        BSTR::from(s.as_str())
    }
}

impl From<String> for BSTR {
    /// Encodes the string as UTF-16.
    fn from(s: String) -> BSTR {
        BSTR::from(s.as_str())
    }
}

impl fmt::Display for BSTR {
    /// The text, unpaired surrogates shown as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in char::decode_utf16(self.as_wide().iter().copied()) {
            fmt::Write::write_char(f, c.unwrap_or(char::REPLACEMENT_CHARACTER))?;
        }
        Ok(())
    }
}

impl fmt::Debug for BSTR {
    /// The text as a quoted, escaped string literal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl PartialEq for BSTR {
    fn eq(&self, other: &BSTR) -> bool {
        self.as_wide() == other.as_wide()
    }
}

impl Eq for BSTR {}

impl core::hash::Hash for BSTR {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_wide().hash(state);
    }
}

impl PartialEq<str> for BSTR {
    /// True when the UTF-16 encoding of `other` equals this string.
    fn eq(&self, other: &str) -> bool {
        self.as_wide().iter().copied().eq(other.encode_utf16())
    }
}

impl PartialEq<&str> for BSTR {
    /// True when the UTF-16 encoding of `other` equals this string.
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl PartialEq<String> for BSTR {
    /// True when the UTF-16 encoding of `other` equals this string.
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

impl PartialEq<BSTR> for str {
    fn eq(&self, other: &BSTR) -> bool {
        *other == *self
    }
}

impl PartialEq<BSTR> for &str {
    fn eq(&self, other: &BSTR) -> bool {
        *other == **self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_block() {
        let b = BSTR::from("hi");
        let p = b.as_ptr().cast::<u8>();
        assert_eq!(p as usize % 8, 0);
        // SAFETY: the block starts LEAD bytes before the live string.
        unsafe {
            assert_eq!(p.sub(LEAD).cast::<u32>().read(), 0);
            assert_eq!(p.sub(PREFIX).cast::<u32>().read(), 4);
            assert_eq!(task::size(p.sub(LEAD)), LEAD + 4 + 2);
        }
    }
}
