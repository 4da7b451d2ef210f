//! BSTR: the C API's memory format and semantics, and the owned `BSTR` type.

use core::ptr;
use std::collections::HashSet;

use comidl_runtime::{
    BSTR, E_OUTOFMEMORY, HRESULT, S_OK, SysAllocString, SysAllocStringByteLen, SysAllocStringLen,
    SysFreeString, SysReAllocString, SysReAllocStringLen, SysStringByteLen, SysStringLen, task,
};

mod common;
use common::balance_since;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn wide_z(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

/// The string's code units plus the terminator, read through the raw pointer.
///
/// # Safety
/// `p` must be a live BSTR.
unsafe fn units_with_terminator(p: *const u16) -> Vec<u16> {
    // SAFETY: a live BSTR has SysStringLen units plus a NUL terminator.
    unsafe {
        let n = SysStringLen(p) as usize;
        core::slice::from_raw_parts(p, n + 1).to_vec()
    }
}

#[test]
fn sys_alloc_string_format() {
    let start = task::thread_balance();
    let src = wide_z("hello");
    // SAFETY: src is NUL-terminated.
    let p = unsafe { SysAllocString(src.as_ptr()) };
    assert!(!p.is_null());
    assert_eq!(p as usize % 4, 0);
    // SAFETY: p is a live BSTR.
    unsafe {
        assert_eq!(SysStringLen(p), 5);
        assert_eq!(SysStringByteLen(p), 10);
        // The 4 bytes before the pointer hold the byte length.
        assert_eq!(p.cast::<u8>().sub(4).cast::<u32>().read(), 10);
        assert_eq!(units_with_terminator(p), src);
        // It lives in a task-allocator block.
        assert_eq!(task::did_alloc(p.cast::<u8>().sub(8)), 1);
        SysFreeString(p);
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn null_handling() {
    // SAFETY: NULL is allowed for all of these.
    unsafe {
        assert!(SysAllocString(ptr::null()).is_null());
        assert_eq!(SysStringLen(ptr::null()), 0);
        assert_eq!(SysStringByteLen(ptr::null()), 0);
        SysFreeString(ptr::null_mut());
        assert_eq!(SysReAllocString(ptr::null_mut(), ptr::null()), 0);
        assert_eq!(SysReAllocStringLen(ptr::null_mut(), ptr::null(), 3), 0);
    }
}

#[test]
fn empty_string_is_not_null() {
    let empty = [0u16];
    // SAFETY: a NUL-terminated empty string.
    let p = unsafe { SysAllocString(empty.as_ptr()) };
    assert!(!p.is_null());
    // SAFETY: p is live.
    unsafe {
        assert_eq!(SysStringLen(p), 0);
        assert_eq!(p.read(), 0);
        SysFreeString(p);
    }
}

#[test]
fn alloc_len_copies_interior_nuls_and_zero_fills() {
    let src = [b'a' as u16, 0, b'b' as u16, 0, 0, b'c' as u16];
    // SAFETY: src is readable for 6 units.
    let p = unsafe { SysAllocStringLen(src.as_ptr(), 6) };
    // SAFETY: p is live.
    unsafe {
        assert_eq!(SysStringLen(p), 6);
        let mut want = src.to_vec();
        want.push(0);
        assert_eq!(units_with_terminator(p), want);
        SysFreeString(p);
    }
    // NULL source: the requested length, zero-filled and terminated.
    // SAFETY: NULL source is allowed.
    let z = unsafe { SysAllocStringLen(ptr::null(), 7) };
    // SAFETY: z is live.
    unsafe {
        assert_eq!(SysStringLen(z), 7);
        assert_eq!(units_with_terminator(z), vec![0; 8]);
        SysFreeString(z);
    }
    // Zero length with a NULL source is a valid empty string.
    // SAFETY: NULL source is allowed.
    let e = unsafe { SysAllocStringLen(ptr::null(), 0) };
    assert!(!e.is_null());
    // SAFETY: e is live.
    unsafe {
        assert_eq!(SysStringLen(e), 0);
        SysFreeString(e);
    }
}

#[test]
fn too_long_fails_with_null() {
    // SAFETY: NULL source, so nothing is read; the lengths are rejected.
    unsafe {
        assert!(SysAllocStringLen(ptr::null(), u32::MAX).is_null());
        assert!(SysAllocStringLen(ptr::null(), 0x8000_0000).is_null());
    }
}

#[test]
fn byte_len_variant() {
    let bytes = *b"xyz";
    // SAFETY: bytes is readable for 3 bytes.
    let p = unsafe { SysAllocStringByteLen(bytes.as_ptr(), 3) };
    assert!(!p.is_null());
    // SAFETY: p is live; its block holds 3 bytes plus two zero bytes.
    unsafe {
        assert_eq!(SysStringByteLen(p), 3);
        assert_eq!(SysStringLen(p), 1);
        let raw = core::slice::from_raw_parts(p.cast::<u8>(), 5);
        assert_eq!(raw, b"xyz\0\0");
        SysFreeString(p);
    }
    // SAFETY: NULL source is allowed.
    let z = unsafe { SysAllocStringByteLen(ptr::null(), 4) };
    // SAFETY: z is live.
    unsafe {
        assert_eq!(SysStringByteLen(z), 4);
        assert_eq!(core::slice::from_raw_parts(z.cast::<u8>(), 6), [0; 6]);
        SysFreeString(z);
    }
}

#[test]
fn realloc_string() {
    let start = task::thread_balance();
    let first = wide_z("first");
    let second = wide_z("second string");
    let mut b: *mut u16 = ptr::null_mut();
    // SAFETY: b is a valid (NULL) BSTR variable; the sources are terminated.
    unsafe {
        assert_eq!(SysReAllocString(&mut b, first.as_ptr()), 1);
        assert_eq!(units_with_terminator(b), first);
        assert_eq!(SysReAllocString(&mut b, second.as_ptr()), 1);
        assert_eq!(units_with_terminator(b), second);
        // The source may point into the old string.
        let tail = b.add(7);
        assert_eq!(SysReAllocString(&mut b, tail), 1);
        assert_eq!(units_with_terminator(b), wide_z("string"));
        // NULL source leaves a NULL BSTR.
        assert_eq!(SysReAllocString(&mut b, ptr::null()), 1);
        assert!(b.is_null());
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn realloc_string_len() {
    let start = task::thread_balance();
    let text = wide("abcdef");
    let mut b: *mut u16 = ptr::null_mut();
    // SAFETY: b is a valid BSTR variable; sources are readable for the lengths
    // given (aliasing the old string is allowed).
    unsafe {
        assert_eq!(SysReAllocStringLen(&mut b, text.as_ptr(), 6), 1);
        assert_eq!(units_with_terminator(b), wide_z("abcdef"));
        // Shrink with NULL source: the prefix is kept.
        assert_eq!(SysReAllocStringLen(&mut b, ptr::null(), 3), 1);
        assert_eq!(units_with_terminator(b), wide_z("abc"));
        // Grow with NULL source: the prefix is kept, the rest zeroed.
        assert_eq!(SysReAllocStringLen(&mut b, ptr::null(), 5), 1);
        assert_eq!(
            units_with_terminator(b),
            vec![b'a' as u16, b'b' as u16, b'c' as u16, 0, 0, 0]
        );
        // Source inside the old string.
        assert_eq!(SysReAllocStringLen(&mut b, text.as_ptr(), 6), 1);
        let inner = b.add(2);
        assert_eq!(SysReAllocStringLen(&mut b, inner, 3), 1);
        assert_eq!(units_with_terminator(b), wide_z("cde"));
        assert_eq!(SysReAllocStringLen(&mut b, b, 2), 1);
        assert_eq!(units_with_terminator(b), wide_z("cd"));
        // Too long: fails and leaves the string alone.
        let before = b;
        assert_eq!(SysReAllocStringLen(&mut b, ptr::null(), u32::MAX), 0);
        assert_eq!(b, before);
        assert_eq!(units_with_terminator(b), wide_z("cd"));
        // From NULL with NULL source: zeroed string of that length.
        let mut n: *mut u16 = ptr::null_mut();
        assert_eq!(SysReAllocStringLen(&mut n, ptr::null(), 2), 1);
        assert_eq!(units_with_terminator(n), vec![0, 0, 0]);
        SysFreeString(n);
        SysFreeString(b);
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn owned_type_basics() {
    assert_eq!(size_of::<BSTR>(), size_of::<*mut u16>());
    let empty = BSTR::new();
    assert!(empty.as_ptr().is_null());
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.as_wide(), &[] as &[u16]);
    assert_eq!(empty, "");
    assert_eq!(BSTR::default(), empty);
    assert!(BSTR::from("").as_ptr().is_null());
    assert!(BSTR::from_wide(&[]).as_ptr().is_null());

    let b = BSTR::from("héllo 😀");
    assert_eq!(b.len(), wide("héllo 😀").len());
    assert_eq!(b.len(), 8);
    assert_eq!(b.as_wide(), wide("héllo 😀").as_slice());
    assert_eq!(b, "héllo 😀");
    assert_eq!(b, *"héllo 😀");
    assert_eq!(b, String::from("héllo 😀"));
    assert_eq!("héllo 😀", b);
    assert_ne!(b, "hello");
    assert_eq!(b.to_string(), "héllo 😀");
    assert_eq!(format!("{b:?}"), "\"héllo 😀\"");
    assert_eq!(BSTR::from(String::from("x")), BSTR::from("x"));
    assert_eq!(BSTR::from(&String::from("x")), "x");
    // SAFETY: the pointer is a live BSTR owned by b.
    unsafe { assert_eq!(SysStringLen(b.as_ptr()), 8) };
}

#[test]
fn interior_nuls_and_lone_surrogates() {
    let units = [0x61, 0, 0x62];
    let b = BSTR::from_wide(&units);
    assert_eq!(b.len(), 3);
    assert_eq!(b.as_wide(), &units);
    assert_eq!(b, "a\0b");
    assert_eq!(b.to_string(), "a\0b");

    let lone = BSTR::from_wide(&[0x41, 0xD800, 0x42]);
    assert_eq!(lone.to_string(), "A\u{FFFD}B");
    assert_eq!(lone.to_string_lossy(), "A\u{FFFD}B");
    assert_ne!(lone, "A\u{FFFD}B");
}

#[test]
fn clone_copies() {
    let a = BSTR::from("copy me");
    let b = a.clone();
    assert_eq!(a, b);
    assert_ne!(a.as_ptr(), b.as_ptr());
    assert!(BSTR::new().clone().as_ptr().is_null());
    // Odd byte lengths survive a clone.
    // SAFETY: the source is readable for 3 bytes.
    let odd = unsafe { BSTR::from_raw(SysAllocStringByteLen(b"abc".as_ptr(), 3)) };
    let odd2 = odd.clone();
    // SAFETY: both are live BSTRs.
    unsafe { assert_eq!(SysStringByteLen(odd2.as_ptr()), 3) };
    let mut set = HashSet::new();
    set.insert(a);
    assert!(set.contains(&b));
}

#[test]
fn drop_frees_and_raw_round_trips() {
    let start = task::thread_balance();
    {
        let b = BSTR::from("dropped");
        assert_eq!(balance_since(start).unwrap_or(1), 1);
        let c = b.clone();
        assert_eq!(balance_since(start).unwrap_or(2), 2);
        drop(b);
        drop(c);
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);

    let raw = BSTR::from("raw").into_raw();
    assert_eq!(balance_since(start).unwrap_or(1), 1);
    // SAFETY: raw is a live BSTR nobody else owns.
    unsafe {
        assert_eq!(SysStringLen(raw), 3);
        let back = BSTR::from_raw(raw);
        assert_eq!(back, "raw");
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn try_from_wide_reports_out_of_memory_as_hresult() {
    assert_eq!(BSTR::try_from_wide(&wide("ok")).map(|b| b.len()), Ok(2));
    assert_eq!(
        BSTR::try_from_wide(&[]).map(|b| b.as_ptr().is_null()),
        Ok(true)
    );
    let _: HRESULT = E_OUTOFMEMORY;
}

/// A callee that returns an `[out] BSTR` the C way.
unsafe extern "system" fn get_name(out: *mut *mut u16) -> HRESULT {
    let name = wide_z("callee");
    // SAFETY: `out` points to a writable BSTR variable (caller contract);
    // name is NUL-terminated.
    unsafe { *out = SysAllocString(name.as_ptr()) };
    S_OK
}

/// The same callee declared with the owned type in its signature.
extern "system" fn get_name_owned(out: *mut BSTR) -> HRESULT {
    // SAFETY: `out` points to a writable BSTR variable whose old value the
    // callee may overwrite without dropping ([out] parameters start NULL).
    unsafe { out.write(BSTR::from("owned")) };
    S_OK
}

#[test]
fn owned_type_as_out_parameter() {
    let start = task::thread_balance();
    let mut b = BSTR::new();
    // SAFETY: BSTR is repr(transparent) over *mut u16, so the cast is a valid
    // `BSTR*`; the callee stores an owned string there.
    let hr = unsafe { get_name((&raw mut b).cast::<*mut u16>()) };
    assert_eq!(hr, S_OK);
    assert_eq!(b, "callee");

    let as_c: extern "system" fn(*mut BSTR) -> HRESULT = get_name_owned;
    let mut c = BSTR::new();
    assert_eq!(as_c(&mut c), S_OK);
    assert_eq!(c, "owned");
    drop(b);
    drop(c);
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn borrowed_in_parameter_view() {
    let start = task::thread_balance();
    let owned = BSTR::from("borrowed");
    let raw: *mut u16 = owned.as_ptr().cast_mut();
    // SAFETY: raw is a live BSTR that `owned` keeps alive during the borrow.
    let view: &BSTR = unsafe { BSTR::from_abi_ref(&raw) };
    assert_eq!(*view, "borrowed");
    assert_eq!(view.as_ptr(), owned.as_ptr());
    let copy = view.clone();
    drop(copy);
    let null: *mut u16 = ptr::null_mut();
    // SAFETY: NULL is the empty BSTR.
    assert!(unsafe { BSTR::from_abi_ref(&null) }.is_empty());
    drop(owned);
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn sent_to_and_freed_on_another_thread() {
    let b = BSTR::from("travels");
    let len = std::thread::spawn(move || {
        let start = task::thread_balance();
        let len = b.len();
        drop(b);
        (len, balance_since(start))
    })
    .join()
    .expect("thread panicked");
    assert_eq!(len.0, 7);
    assert_eq!(len.1.unwrap_or(-1), -1);
}
