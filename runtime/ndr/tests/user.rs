//! User-marshalled types (`Type::User`): the built-in conversions' exact bytes, round trips
//! through a client and a server with the task allocator balanced, value trees, routines of
//! one's own, and hostile input refused without a panic or a leak.

use std::ffi::c_void;
use std::ptr::{null, null_mut};

use comidl_runtime_core::alloc::task::thread_balance;
use comidl_runtime_core::clipboard::register_clipboard_format;
use comidl_runtime_core::{GHND, GlobalAlloc, GlobalFree, GlobalLock, GlobalSize};
use comidl_runtime_ndr::*;

fn balance() -> isize {
    thread_balance().expect("debug builds count task-allocator blocks")
}

fn arg<T>(v: &mut T) -> *mut u8 {
    (v as *mut T).cast()
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|v| v.to_le_bytes()).collect()
}

const REMOTE: u32 = 0x5274_6457;
const INPROC: u32 = 0x4874_6457;

static OUT_HWND: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::User(&user::HWND),
};
/// `void Swap([in] HWND in, [out] HWND *out)`.
static SWAP_HWND: Proc = Proc {
    name: "SwapHwnd",
    opnum: 0,
    params: &[
        Param {
            name: "in",
            ty: Type::User(&user::HWND),
            dir: Direction::In,
        },
        Param {
            name: "out",
            ty: Type::Pointer(&OUT_HWND),
            dir: Direction::Out,
        },
    ],
    ret: None,
};

#[test]
fn a_window_handle_travels_in_its_remote_form() {
    let before = balance();
    let mut h: isize = 0x1234;
    let mut out: isize = 0;
    let mut pout: *mut isize = &mut out;
    let args = [arg(&mut h), arg(&mut pout)];
    let request = unsafe { marshal_request(&SWAP_HWND, &args) }.unwrap();
    // The wire type's unique pointer, the union's discriminant, the handle.
    assert_eq!(request, le(&[0x0002_0000, REMOTE, 0x1234]));

    let call = ServerCall::unmarshal(&SWAP_HWND, &request, Limits::default()).unwrap();
    let response = unsafe {
        let a = call.args();
        assert_eq!(*(a[0] as *const isize), 0x1234);
        **(a[1] as *const *mut isize) = -2;
        call.marshal_response().unwrap()
    };
    drop(call);
    assert_eq!(response, le(&[0x0002_0000, REMOTE, 0xFFFF_FFFE]));
    unsafe { unmarshal_response(&SWAP_HWND, &args, null_mut(), &response, Limits::default()) }
        .unwrap();
    assert_eq!(out, -2, "a handle is sign-extended back");
    // The in-process form is accepted as well.
    let inproc = le(&[0x0002_0000, INPROC, 7]);
    let call = ServerCall::unmarshal(&SWAP_HWND, &inproc, Limits::default()).unwrap();
    assert_eq!(unsafe { *(call.args()[0] as *const isize) }, 7);
    drop(call);
    // A handle beyond 32 bits cannot travel.
    let mut big: isize = 1 << 40;
    let args = [arg(&mut big), arg(&mut pout)];
    assert_eq!(
        unsafe { marshal_request(&SWAP_HWND, &args) }.unwrap_err(),
        NdrError::OutOfRange
    );
    assert_eq!(balance(), before);
}

static OUT_HGLOBAL: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::User(&user::HGLOBAL),
};
/// `void Echo([in] HGLOBAL in, [out] HGLOBAL *out)`.
static ECHO_HGLOBAL: Proc = Proc {
    name: "EchoHglobal",
    opnum: 0,
    params: &[
        Param {
            name: "in",
            ty: Type::User(&user::HGLOBAL),
            dir: Direction::In,
        },
        Param {
            name: "out",
            ty: Type::Pointer(&OUT_HGLOBAL),
            dir: Direction::Out,
        },
    ],
    ret: None,
};

fn hglobal(bytes: &[u8]) -> *mut c_void {
    let h = GlobalAlloc(GHND, bytes.len());
    // SAFETY: a fresh block of that many bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), GlobalLock(h).cast(), bytes.len());
    }
    h
}

unsafe fn hglobal_bytes(h: *mut c_void) -> Vec<u8> {
    // SAFETY: a live HGLOBAL.
    unsafe { std::slice::from_raw_parts(GlobalLock(h).cast::<u8>(), GlobalSize(h)).to_vec() }
}

/// The wire bytes of an `[in] HGLOBAL` holding `data` (as a request's first parameter).
fn hglobal_wire(data: &[u8]) -> Vec<u8> {
    let n = data.len() as u32;
    // The unique pointer, the union (discriminant, the blob's unique pointer), then the
    // blob: its hoisted count, fFlags, clSize, the bytes.
    let mut v = le(&[0x0002_0000, REMOTE, 0x0002_0004, n, 0, n]);
    v.extend_from_slice(data);
    v
}

#[test]
fn an_hglobal_travels_with_its_bytes_and_every_block_is_freed() {
    let before = balance();
    let mut h = hglobal(b"hello");
    let mut out: *mut c_void = null_mut();
    let mut pout: *mut *mut c_void = &mut out;
    let args = [arg(&mut h), arg(&mut pout)];
    let request = unsafe { marshal_request(&ECHO_HGLOBAL, &args) }.unwrap();
    assert_eq!(request, hglobal_wire(b"hello"));

    let call = ServerCall::unmarshal(&ECHO_HGLOBAL, &request, Limits::default()).unwrap();
    let response = unsafe {
        let a = call.args();
        let got = *(a[0] as *const *mut c_void);
        assert_ne!(got, h, "the server has a copy");
        assert_eq!(hglobal_bytes(got), b"hello");
        // The implementation hands out a new block; the stub frees it after marshalling.
        **(a[1] as *const *mut *mut c_void) = hglobal(b"world!");
        call.marshal_response().unwrap()
    };
    drop(call);
    unsafe {
        unmarshal_response(
            &ECHO_HGLOBAL,
            &args,
            null_mut(),
            &response,
            Limits::default(),
        )
        .unwrap();
        assert_eq!(hglobal_bytes(out), b"world!");
        // The caller owns both handles.
        assert!(GlobalFree(out).is_null());
        assert!(GlobalFree(h).is_null());
    }
    // A NULL HGLOBAL: the remote form with no blob.
    let mut none: *mut c_void = null_mut();
    let args = [arg(&mut none), arg(&mut pout)];
    let request = unsafe { marshal_request(&ECHO_HGLOBAL, &args) }.unwrap();
    assert_eq!(request, le(&[0x0002_0000, REMOTE, 0]));
    let call = ServerCall::unmarshal(&ECHO_HGLOBAL, &request, Limits::default()).unwrap();
    assert!(unsafe { *(call.args()[0] as *const *mut c_void) }.is_null());
    drop(call);
    assert_eq!(balance(), before);
}

#[test]
fn bad_hglobals_are_refused_without_a_leak() {
    let before = balance();
    let refused = |msg: &[u8]| {
        let e = ServerCall::unmarshal(&ECHO_HGLOBAL, msg, Limits::default())
            .err()
            .expect("refused");
        assert!(matches!(e, NdrError::BadStubData { .. }), "{e}");
    };
    // The in-process forms mean nothing over the wire.
    refused(&le(&[0x0002_0000, INPROC, 5]));
    let mut v = le(&[0x0002_0000, 0x5074_6457, 0]);
    v.extend_from_slice(&[0; 8]);
    refused(&v);
    // An unknown context.
    refused(&le(&[0x0002_0000, 1, 0]));
    // clSize disagrees with the count.
    let mut v = le(&[0x0002_0000, REMOTE, 0x0002_0004, 3, 0, 5]);
    v.extend_from_slice(b"abc");
    refused(&v);
    // Every truncation and single-byte corruption of a valid message.
    let good = hglobal_wire(b"some bytes");
    for cut in 0..good.len() {
        assert!(ServerCall::unmarshal(&ECHO_HGLOBAL, &good[..cut], Limits::default()).is_err());
    }
    for at in 0..good.len() {
        for b in [0u8, 1, 0x7F, 0x80, 0xFF] {
            let mut m = good.clone();
            m[at] = b;
            drop(ServerCall::unmarshal(&ECHO_HGLOBAL, &m, Limits::default()));
        }
    }
    assert_eq!(balance(), before);
}

/// Two HGLOBALs and a CLIPFORMAT in one structure: the wire values' referents follow the
/// structure, in order.
#[repr(C)]
struct Medium {
    cf: u16,
    a: *mut c_void,
    b: *mut c_void,
}

static MEDIUM: Struct = Struct {
    name: "Medium",
    size: 24,
    align: 8,
    fields: &[
        Field {
            name: "cf",
            offset: 0,
            ty: Type::User(&user::CLIPFORMAT),
        },
        Field {
            name: "a",
            offset: 8,
            ty: Type::User(&user::HGLOBAL),
        },
        Field {
            name: "b",
            offset: 16,
            ty: Type::User(&user::HGLOBAL),
        },
    ],
};
static P_MEDIUM: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Struct(&MEDIUM),
};
static PUT_MEDIUM: Proc = Proc {
    name: "PutMedium",
    opnum: 0,
    params: &[Param {
        name: "m",
        ty: Type::Pointer(&P_MEDIUM),
        dir: Direction::InOut,
    }],
    ret: None,
};

#[test]
fn embedded_user_types_round_trip_in_order() {
    let before = balance();
    let name: Vec<u16> = "comidl engine test format".encode_utf16().collect();
    let cf = register_clipboard_format(&name) as u16;
    let mut m = Medium {
        cf,
        a: hglobal(b"A"),
        b: hglobal(b"BB"),
    };
    let mut pm: *mut Medium = &mut m;
    let args = [arg(&mut pm)];
    let request = unsafe { marshal_request(&PUT_MEDIUM, &args) }.unwrap();
    let mut want = le(&[0x0002_0000, 0x0002_0004, 0x0002_0008]); // the three wire pointers
    want.extend(le(&[REMOTE, 0x0002_000C])); // CLIPFORMAT by name
    let units: Vec<u16> = name.iter().copied().chain([0]).collect();
    want.extend(le(&[units.len() as u32, 0, units.len() as u32]));
    want.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    while !want.len().is_multiple_of(4) {
        want.push(0);
    }
    want.extend(le(&[REMOTE, 0x0002_0010, 1, 0, 1]));
    want.extend(b"A");
    want.extend([0; 3]);
    want.extend(le(&[REMOTE, 0x0002_0014, 2, 0, 2]));
    want.extend(b"BB");
    assert_eq!(request, want);

    let call = ServerCall::unmarshal(&PUT_MEDIUM, &request, Limits::default()).unwrap();
    let response = unsafe {
        let got = &mut **(call.args()[0] as *const *mut Medium);
        assert_eq!(got.cf, cf);
        assert_eq!(hglobal_bytes(got.a), b"A");
        assert_eq!(hglobal_bytes(got.b), b"BB");
        // The implementation replaces one block and keeps the other; a predefined format.
        GlobalFree(got.b);
        got.b = hglobal(b"CCC");
        got.cf = 13;
        call.marshal_response().unwrap()
    };
    drop(call);
    unsafe {
        unmarshal_response(&PUT_MEDIUM, &args, null_mut(), &response, Limits::default()).unwrap();
        assert_eq!(m.cf, 13);
        // The caller's old handles were replaced and freed (the balance below).
        assert_eq!(hglobal_bytes(m.a), b"A");
        assert_eq!(hglobal_bytes(m.b), b"CCC");
        free::free_value(Type::Struct(&MEDIUM), (&raw mut m).cast(), null(), &[]);
        assert!(m.a.is_null() && m.b.is_null());
    }
    assert_eq!(balance(), before);
}

#[test]
fn clipboard_formats_travel_by_value_or_by_name() {
    let before = balance();
    let p = Pointer {
        kind: PointerKind::Ref,
        pointee: Type::User(&user::CLIPFORMAT),
    };
    let p: &'static Pointer = Box::leak(Box::new(p));
    let proc: &'static Proc = Box::leak(Box::new(Proc {
        name: "Cf",
        opnum: 0,
        params: Box::leak(Box::new([Param {
            name: "cf",
            ty: Type::Pointer(p),
            dir: Direction::In,
        }])),
        ret: None,
    }));
    let mut cf: u16 = 1; // CF_TEXT
    let mut pcf: *mut u16 = &mut cf;
    let args = [arg(&mut pcf)];
    let request = unsafe { marshal_request(proc, &args) }.unwrap();
    assert_eq!(request, le(&[0x0002_0000, INPROC, 1]));
    // A registered format with no name cannot travel.
    unsafe { *pcf = 0xFFFF };
    assert_eq!(
        unsafe { marshal_request(proc, &args) }.unwrap_err(),
        NdrError::OutOfRange
    );
    // A name arriving is registered.
    let mut msg = le(&[0x0002_0000, REMOTE, 0x0002_0004, 3, 0, 3]);
    msg.extend([b'Q', 0, b'z', 0, 0, 0]);
    let call = ServerCall::unmarshal(proc, &msg, Limits::default()).unwrap();
    let got = unsafe { **(call.args()[0] as *const *const u16) };
    let qz: Vec<u16> = "qZ".encode_utf16().collect();
    assert_eq!(u32::from(got), register_clipboard_format(&qz));
    drop(call);
    // A value beyond 16 bits, and a NULL name, are refused.
    for bad in [
        le(&[0x0002_0000, INPROC, 0x1_0000]),
        le(&[0x0002_0000, REMOTE, 0]),
        le(&[0, 0]),
    ] {
        assert!(ServerCall::unmarshal(proc, &bad, Limits::default()).is_err());
    }
    assert_eq!(balance(), before);
}

#[test]
fn value_trees_show_the_wire_value() {
    let before = balance();
    let mut h = hglobal(b"xy");
    let v = unsafe { value::read(Type::User(&user::HGLOBAL), arg(&mut h), null(), &[]) }.unwrap();
    let blob = Value::Record(
        "FLAGGED_BYTE_BLOB",
        vec![
            ("fFlags", Value::Int(0)),
            ("clSize", Value::Int(2)),
            (
                "abData",
                Value::List(vec![Value::Int(120), Value::Int(121)]),
            ),
        ],
    );
    assert_eq!(
        v,
        Value::Union("hRemote", i64::from(REMOTE), Box::new(blob.clone()))
    );
    unsafe { GlobalFree(h) };
    // Written back: a new HGLOBAL with the bytes.
    let mut back: *mut c_void = null_mut();
    unsafe {
        value::write(Type::User(&user::HGLOBAL), &v, arg(&mut back)).unwrap();
        assert_eq!(hglobal_bytes(back), b"xy");
        free::free_value(Type::User(&user::HGLOBAL), arg(&mut back), null(), &[]);
    }
    assert!(back.is_null());
    // A tree whose clSize claims more than its bytes is refused, not read past.
    let lying = Value::Union(
        "hRemote",
        i64::from(REMOTE),
        Box::new(Value::Record(
            "FLAGGED_BYTE_BLOB",
            vec![
                ("clSize", Value::Int(1000)),
                ("abData", Value::List(vec![Value::Int(1)])),
            ],
        )),
    );
    assert!(unsafe { value::write(Type::User(&user::HGLOBAL), &lying, arg(&mut back)) }.is_err());
    assert!(back.is_null());
    assert_eq!(balance(), before);
}

// ---- Routines of one's own: a duration in memory as f64 seconds, on the wire as whole
// milliseconds in a structure ----

static MILLIS: Struct = Struct {
    name: "MILLIS",
    size: 8,
    align: 8,
    fields: &[Field {
        name: "ms",
        offset: 0,
        ty: Type::Base(Base::Hyper),
    }],
};

unsafe fn seconds_to_wire(mem: *const u8, wire: *mut u8) -> Result<()> {
    let s = unsafe { mem.cast::<f64>().read_unaligned() };
    if !s.is_finite() {
        return Err(NdrError::OutOfRange);
    }
    unsafe {
        wire.cast::<i64>()
            .write_unaligned((s * 1000.0).round() as i64)
    };
    Ok(())
}

unsafe fn seconds_from_wire(wire: *const u8, mem: *mut u8) -> Result<()> {
    let ms = unsafe { wire.cast::<i64>().read_unaligned() };
    unsafe { mem.cast::<f64>().write_unaligned(ms as f64 / 1000.0) };
    Ok(())
}

unsafe fn seconds_free(_: *mut u8) {}

static SECONDS: UserType = UserType {
    name: "SECONDS",
    wire: Type::Struct(&MILLIS),
    size: 8,
    align: 8,
    routines: &UserRoutines {
        to_wire: seconds_to_wire,
        from_wire: seconds_from_wire,
        free: seconds_free,
    },
};

static SECONDS_ARRAY: Array = Array {
    element: Type::User(&SECONDS),
    stride: 8,
    count: Count::Fixed(3),
    varying: None,
};

#[test]
fn routines_of_ones_own_convert_each_element() {
    let before = balance();
    let ty = Type::Array(&SECONDS_ARRAY);
    let mut v = [1.5f64, -0.25, 2.0];
    let mut m = Marshaller::new(&[]);
    unsafe { m.param(ty, arg(&mut v)) }.unwrap();
    let bytes = m.into_bytes();
    let want: Vec<u8> = [1500i64, -250, 2000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(bytes, want);
    let mut back = [0f64; 3];
    let mut u = Unmarshaller::new(&bytes, &[], Limits::default());
    unsafe {
        u.param(ty, arg(&mut back)).unwrap();
        u.finish().unwrap();
    }
    u.commit();
    assert_eq!(back, v);
    // A conversion that fails stops marshalling.
    v[1] = f64::NAN;
    let mut m = Marshaller::new(&[]);
    assert_eq!(
        unsafe { m.param(ty, arg(&mut v)) }.unwrap_err(),
        NdrError::OutOfRange
    );
    drop(m);
    assert_eq!(balance(), before);
}
