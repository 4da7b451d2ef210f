//! tests/fixtures/user_marshal.idl's `Transfer::Put` through the descriptions comidl
//! generates: built-in conversions (HWND, CLIPFORMAT, HGLOBAL, inside a structure and at
//! the top level) beside routines of the crate's own (`SECONDS`, tests/generated's
//! `user_routines`), from a client's request through a server and back, with the generated
//! `#[repr(C)]` types as the memory and the task allocator balanced at the end.

use std::ffi::c_void;
use std::ptr::null_mut;

use comidl_generated_tests::user_marshal::{_PACKET, ndr::Transfer_INTERFACE};
use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{self, Limits, NdrError, ServerCall};
use comidl_runtime::{GHND, GlobalAlloc, GlobalFree, GlobalLock, GlobalSize};

fn arg<T>(v: &mut T) -> *mut u8 {
    (v as *mut T).cast()
}

fn hglobal(bytes: &[u8]) -> *mut c_void {
    let h = GlobalAlloc(GHND, bytes.len());
    // SAFETY: a fresh block of that many bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), GlobalLock(h).cast(), bytes.len()) };
    h
}

unsafe fn bytes(h: *mut c_void) -> Vec<u8> {
    // SAFETY: a live HGLOBAL.
    unsafe { std::slice::from_raw_parts(GlobalLock(h).cast::<u8>(), GlobalSize(h)).to_vec() }
}

#[test]
fn put_converts_every_user_marshalled_value_both_ways() {
    let before = thread_balance().unwrap();
    let put = Transfer_INTERFACE.procs[0];
    let mut binding: *mut c_void = null_mut();
    let mut owner: *mut c_void = 0x42 as *mut c_void;
    let packet = _PACKET {
        format: 7, // CF_OEMTEXT
        age: 1.25,
        data: hglobal(b"payload"),
    };
    let mut p_packet: *const _PACKET = &packet;
    let mut timeout: f64 = 0.5;
    let mut took: f64 = 0.0;
    let mut echo: *mut c_void = null_mut();
    let mut p_took: *mut f64 = &mut took;
    let mut p_echo: *mut *mut c_void = &mut echo;
    let args = [
        arg(&mut binding),
        arg(&mut owner),
        arg(&mut p_packet),
        arg(&mut timeout),
        arg(&mut p_took),
        arg(&mut p_echo),
    ];
    let request = unsafe { ndr::marshal_request(put, &args) }.unwrap();
    // HWND: its wire pointer, the remote form, the handle.
    assert_eq!(
        request[..12],
        [0, 0, 2, 0, 0x57, 0x64, 0x74, 0x52, 0x42, 0, 0, 0]
    );

    let call = ServerCall::unmarshal(put, &request, Limits::default()).unwrap();
    let reply = unsafe {
        let a = call.args();
        assert_eq!(*(a[1] as *const usize), 0x42);
        let got = &**(a[2] as *const *const _PACKET);
        assert_eq!(got.format, 7);
        assert_eq!(got.age, 1.25, "SECONDS went as milliseconds and came back");
        assert_ne!(got.data, packet.data, "the server has its own copy");
        assert_eq!(bytes(got.data), b"payload");
        assert_eq!(*(a[3] as *const f64), 0.5);
        **(a[4] as *const *mut f64) = 2.5;
        **(a[5] as *const *mut *mut c_void) = hglobal(b"echoed");
        *(call.ret() as *mut u32) = 0;
        call.marshal_response().unwrap()
    };
    // The stub frees what it unmarshalled and what the implementation handed out.
    drop(call);

    let mut status: u32 = 1;
    unsafe {
        ndr::unmarshal_response(put, &args, arg(&mut status), &reply, Limits::default()).unwrap();
        assert_eq!(status, 0);
        assert_eq!(took, 2.5);
        assert_eq!(bytes(echo), b"echoed");
        GlobalFree(echo);
        GlobalFree(packet.data);
    }
    assert_eq!(thread_balance().unwrap(), before);
}

#[test]
fn a_type_without_routines_fails_clearly_and_user_routines_refuse_what_they_cannot_convert() {
    let wait = Transfer_INTERFACE.procs[1];
    let mut binding: *mut c_void = null_mut();
    let mut ticks: f64 = 1.0;
    let args = [arg(&mut binding), arg(&mut ticks)];
    let e = unsafe { ndr::marshal_request(wait, &args) }.unwrap_err();
    assert!(
        matches!(e, NdrError::Unsupported(why) if why.contains("Config::user_marshal")),
        "{e}"
    );

    let put = Transfer_INTERFACE.procs[0];
    let mut owner: *mut c_void = null_mut();
    let mut packet = _PACKET {
        format: 1,
        age: f64::INFINITY,
        data: null_mut(),
    };
    let mut p_packet: *mut _PACKET = &mut packet;
    let mut timeout: f64 = 0.0;
    let mut took: f64 = 0.0;
    let mut echo: *mut c_void = null_mut();
    let mut p_took: *mut f64 = &mut took;
    let mut p_echo: *mut *mut c_void = &mut echo;
    let args = [
        arg(&mut binding),
        arg(&mut owner),
        arg(&mut p_packet),
        arg(&mut timeout),
        arg(&mut p_took),
        arg(&mut p_echo),
    ];
    let before = thread_balance().unwrap();
    assert_eq!(
        unsafe { ndr::marshal_request(put, &args) }.unwrap_err(),
        NdrError::OutOfRange
    );
    assert_eq!(thread_balance().unwrap(), before);
}

#[test]
fn corrupt_requests_are_refused_without_a_panic_or_a_leak() {
    let put = Transfer_INTERFACE.procs[0];
    let mut binding: *mut c_void = null_mut();
    let mut owner: *mut c_void = 9 as *mut c_void;
    let mut packet = _PACKET {
        format: 2,
        age: 3.0,
        data: hglobal(b"0123456789"),
    };
    let mut p_packet: *mut _PACKET = &mut packet;
    let mut timeout: f64 = 1.0;
    let mut p_took: *mut f64 = null_mut();
    let mut p_echo: *mut *mut c_void = null_mut();
    let args = [
        arg(&mut binding),
        arg(&mut owner),
        arg(&mut p_packet),
        arg(&mut timeout),
        arg(&mut p_took),
        arg(&mut p_echo),
    ];
    let request = unsafe { ndr::marshal_request(put, &args) }.unwrap();
    unsafe { GlobalFree(packet.data) };
    let before = thread_balance().unwrap();
    for cut in 0..request.len() {
        assert!(ServerCall::unmarshal(put, &request[..cut], Limits::default()).is_err());
    }
    for at in 0..request.len() {
        for b in [0u8, 1, 0x7F, 0x80, 0xFF] {
            let mut m = request.clone();
            m[at] = b;
            drop(ServerCall::unmarshal(put, &m, Limits::default()));
        }
    }
    assert_eq!(thread_balance().unwrap(), before);
}
