//! NUL-terminated UTF-16 strings as interfaces pass them: an `[in, string]` argument
//! (`LPCWSTR`) is read where it lies; an `[out, string]` result is a task-allocator block
//! the receiver frees.
//!
//! Layer: core. Uses the core root items only.

use crate::{CoTaskMemAlloc, CoTaskMemFree, E_OUTOFMEMORY, E_POINTER, Result};

/// The code units of the string at `text`, without the NUL; `None` for NULL.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated UTF-16 string that is not written while
/// the slice is used.
pub unsafe fn units<'a>(text: *const u16) -> Option<&'a [u16]> {
    if text.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: every unit up to and including the NUL is readable (caller's contract).
    while unsafe { text.add(len).read() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL are readable and unchanged (caller's contract).
    Some(unsafe { core::slice::from_raw_parts(text, len) })
}

/// The text of an `[in, string]` argument, unpaired surrogates replaced by U+FFFD;
/// E_POINTER for NULL.
///
/// # Safety
/// As for [`units`].
pub unsafe fn read(text: *const u16) -> Result<String> {
    // SAFETY: forwarded caller guarantees.
    let units = unsafe { units(text) }.ok_or(E_POINTER)?;
    Ok(String::from_utf16_lossy(units))
}

/// `text` with a NUL after it, for passing as an `[in, string]` argument.
pub fn nul_terminated(text: &str) -> Vec<u16> {
    text.encode_utf16().chain([0]).collect()
}

/// `text` as a NUL-terminated task-allocator block, which the receiver frees with
/// `CoTaskMemFree` (what an `[out, string]` result hands over).
pub fn to_task_block(text: &str) -> Result<*mut u16> {
    let units = nul_terminated(text);
    let block = CoTaskMemAlloc(units.len() * 2).cast::<u16>();
    if block.is_null() {
        return Err(E_OUTOFMEMORY);
    }
    // SAFETY: the block holds `units.len()` units; no overlap.
    unsafe { core::ptr::copy_nonoverlapping(units.as_ptr(), block, units.len()) };
    Ok(block)
}

/// The text of a task-allocator block an `[out, string]` result handed over, which this
/// frees; `None` for NULL. Unpaired surrogates become U+FFFD.
///
/// # Safety
/// `block` is NULL or a NUL-terminated UTF-16 string allocated with the task allocator
/// and owned by the caller.
pub unsafe fn take_task_block(block: *mut u16) -> Option<String> {
    // SAFETY: NULL or NUL-terminated (caller's contract).
    let text = String::from_utf16_lossy(unsafe { units(block) }?);
    // SAFETY: a task block the caller handed over, freed once.
    unsafe { CoTaskMemFree(block.cast()) };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_task_blocks() {
        let block = to_task_block("grüß €").unwrap();
        // SAFETY: a fresh NUL-terminated block we own.
        assert_eq!(unsafe { units(block) }.unwrap().len(), 6);
        // SAFETY: as above; taken once.
        assert_eq!(unsafe { take_task_block(block) }.as_deref(), Some("grüß €"));
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { take_task_block(core::ptr::null_mut()) }, None);
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { read(core::ptr::null()) }, Err(E_POINTER));
        let lone = [0xD800u16, b'x' as u16, 0];
        // SAFETY: NUL-terminated.
        assert_eq!(unsafe { read(lone.as_ptr()) }.unwrap(), "\u{FFFD}x");
        assert_eq!(nul_terminated("ab"), [97, 98, 0]);
    }
}
