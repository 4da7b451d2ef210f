//! Registered clipboard formats: names for the `CLIPFORMAT` values 0xC000..=0xFFFF, so a
//! registered format can cross machines by name (`userCLIPFORMAT`'s remote form), as
//! `RegisterClipboardFormatW` and `GetClipboardFormatNameW` give them on Windows. Names
//! compare case-insensitively (ASCII); a name registered twice keeps its first value.
//!
//! The table is this module copy's: a process whose modules each link the runtime
//! statically has one table per module (the host services table does not carry it yet).
//!
//! Layer: core.

use std::sync::Mutex;

/// The first registered format's value.
pub const FIRST_REGISTERED_FORMAT: u32 = 0xC000;

static NAMES: Mutex<Vec<Vec<u16>>> = Mutex::new(Vec::new());

fn same_name(a: &[u16], b: &[u16]) -> bool {
    let lower = |c: u16| match c {
        0x41..=0x5A => c + 0x20,
        c => c,
    };
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| lower(x) == lower(y))
}

/// Registers a format by name (UTF-16, no terminator) and gives its value, or the value
/// it already has; 0 for an empty name or when the 16,384 values are used up.
pub fn register_clipboard_format(name: &[u16]) -> u32 {
    if name.is_empty() || name.contains(&0) {
        return 0;
    }
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = names.iter().position(|n| same_name(n, name)) {
        return FIRST_REGISTERED_FORMAT + i as u32;
    }
    if names.len() >= 0x4000 {
        return 0;
    }
    names.push(name.to_vec());
    FIRST_REGISTERED_FORMAT + (names.len() - 1) as u32
}

/// The name of a registered format (UTF-16, no terminator); `None` for a predefined or
/// unregistered value.
pub fn clipboard_format_name(format: u32) -> Option<Vec<u16>> {
    let i = format.checked_sub(FIRST_REGISTERED_FORMAT)? as usize;
    let names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    names.get(i).cloned()
}

/// `RegisterClipboardFormatW`: [`register_clipboard_format`] for a NUL-terminated name.
///
/// # Safety
/// `name` is NULL or a NUL-terminated UTF-16 string.
#[allow(non_snake_case)]
pub unsafe extern "system" fn RegisterClipboardFormatW(name: *const u16) -> u32 {
    if name.is_null() {
        return 0;
    }
    let mut n = 0;
    // SAFETY: the string is terminated (the caller's contract).
    while unsafe { name.add(n).read() } != 0 {
        n += 1;
    }
    // SAFETY: `n` characters were just read.
    register_clipboard_format(unsafe { std::slice::from_raw_parts(name, n) })
}

/// `GetClipboardFormatNameW`: copies the name of a registered format into `buf` (room for
/// `cch` characters with the terminator, truncated to fit) and gives the characters
/// copied without the terminator; 0 when the format has no name.
///
/// # Safety
/// `buf` has room for `cch` UTF-16 units.
#[allow(non_snake_case)]
pub unsafe extern "system" fn GetClipboardFormatNameW(format: u32, buf: *mut u16, cch: i32) -> i32 {
    let Some(name) = clipboard_format_name(format) else {
        return 0;
    };
    let Ok(room) = usize::try_from(cch) else {
        return 0;
    };
    if buf.is_null() || room == 0 {
        return 0;
    }
    let n = name.len().min(room - 1);
    // SAFETY: `buf` has room for `cch >= n + 1` units.
    unsafe {
        std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n);
        buf.add(n).write(0);
    }
    n as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_register_once_and_read_back() {
        let a: Vec<u16> = "comidl Test Format".encode_utf16().collect();
        let b: Vec<u16> = "COMIDL TEST FORMAT".encode_utf16().collect();
        let v = register_clipboard_format(&a);
        assert!(v >= FIRST_REGISTERED_FORMAT);
        assert_eq!(register_clipboard_format(&b), v);
        assert_eq!(clipboard_format_name(v), Some(a));
        assert_eq!(clipboard_format_name(1), None);
        assert_eq!(register_clipboard_format(&[]), 0);
        let mut buf = [0u16; 7];
        // SAFETY: `buf` has 7 units.
        let n = unsafe { GetClipboardFormatNameW(v, buf.as_mut_ptr(), 7) };
        assert_eq!(n, 6);
        assert_eq!(String::from_utf16_lossy(&buf[..6]), "comidl");
    }
}
