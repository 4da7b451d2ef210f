//! The engine on hand-written descriptions: exact bytes for known layouts (C706 ch. 14,
//! MS-RPCE 2.2.5, and MS-WKST's NetrWkstaGetInfo as Samba's wkssvc speaks it), round trips
//! through a client and a server with the task allocator balanced, and hostile input.

use std::ffi::c_void;
use std::ptr::{null, null_mut};

use comidl_runtime_core::CoTaskMemAlloc;
use comidl_runtime_core::alloc::task::thread_balance;
use comidl_runtime_ndr::*;

fn balance() -> isize {
    thread_balance().expect("debug builds count task-allocator blocks")
}

fn w(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

unsafe fn wide(p: *const u16) -> String {
    let mut n = 0;
    // SAFETY: a terminated string from the engine.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    String::from_utf16(unsafe { std::slice::from_raw_parts(p, n) }).unwrap()
}

fn arg<T>(v: &mut T) -> *mut u8 {
    (v as *mut T).cast()
}

// ---- NetrWkstaGetInfo (MS-WKST 3.2.4.1), opnum 0 ----

#[repr(C)]
struct WkstaInfo100 {
    platform_id: u32,
    computername: *mut u16,
    langroup: *mut u16,
    ver_major: u32,
    ver_minor: u32,
}

static WSTR: Str = Str {
    char_size: 2,
    fixed: None,
    size: None,
};
static UNIQUE_WSTR: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::String(&WSTR),
};
static INFO100: Struct = Struct {
    name: "WKSTA_INFO_100",
    size: 32,
    align: 8,
    fields: &[
        Field {
            name: "f",
            offset: 0,
            ty: Type::Base(Base::ULong),
        },
        Field {
            name: "f",
            offset: 8,
            ty: Type::Pointer(&UNIQUE_WSTR),
        },
        Field {
            name: "f",
            offset: 16,
            ty: Type::Pointer(&UNIQUE_WSTR),
        },
        Field {
            name: "f",
            offset: 24,
            ty: Type::Base(Base::ULong),
        },
        Field {
            name: "f",
            offset: 28,
            ty: Type::Base(Base::ULong),
        },
    ],
};
static P_INFO100: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Struct(&INFO100),
};
static LEVEL: Expr = Expr::Param {
    index: 1,
    derefs: 0,
    ty: Base::ULong,
};
static WKSTA_INFO: Union = Union {
    switch: Base::ULong,
    selector: Selector::Expr(&LEVEL),
    size: 8,
    align: 8,
    arms: &[Arm {
        name: "WkstaInfo100",
        case: 100,
        ty: Some(Type::Pointer(&P_INFO100)),
    }],
    default: None,
};
static REF_WKSTA_INFO: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Union(&WKSTA_INFO),
};
static GET_INFO: Proc = Proc {
    name: "NetrWkstaGetInfo",
    opnum: 0,
    params: &[
        Param {
            name: "ServerName",
            ty: Type::Pointer(&UNIQUE_WSTR),
            dir: Direction::In,
        },
        Param {
            name: "Level",
            ty: Type::Base(Base::ULong),
            dir: Direction::In,
        },
        Param {
            name: "WkstaInfo",
            ty: Type::Pointer(&REF_WKSTA_INFO),
            dir: Direction::Out,
        },
    ],
    ret: Some(Type::Base(Base::ULong)),
};

#[test]
fn netr_wksta_get_info_request_bytes() {
    let mut name = w("\\\\srv");
    let mut server: *mut u16 = name.as_mut_ptr();
    let mut level: u32 = 100;
    let mut info_mem = [0u64; 1];
    let mut info: *mut c_void = info_mem.as_mut_ptr().cast();
    let args = [arg(&mut server), arg(&mut level), arg(&mut info)];
    // SAFETY: the arguments match the description.
    let bytes = unsafe { marshal_request(&GET_INFO, &args) }.unwrap();
    let mut want = vec![
        0x00, 0x00, 0x02, 0x00, // referent id of ServerName
        6, 0, 0, 0, // max count
        0, 0, 0, 0, // offset
        6, 0, 0, 0, // actual count
    ];
    for c in w("\\\\srv") {
        want.extend_from_slice(&c.to_le_bytes());
    }
    want.extend_from_slice(&100u32.to_le_bytes()); // Level, already aligned
    assert_eq!(bytes, want);
}

#[test]
fn netr_wksta_get_info_round_trip_through_a_server() {
    let before = balance();
    let mut name = w("\\\\srv");
    let mut server: *mut u16 = name.as_mut_ptr();
    let mut level: u32 = 100;
    let mut union_mem: [*mut WkstaInfo100; 1] = [null_mut()];
    let mut info: *mut c_void = union_mem.as_mut_ptr().cast();
    let args = [arg(&mut server), arg(&mut level), arg(&mut info)];
    let request = unsafe { marshal_request(&GET_INFO, &args) }.unwrap();

    // The server: unmarshal, "implement", marshal the reply, free.
    let call = ServerCall::unmarshal(&GET_INFO, &request, Limits::default()).unwrap();
    let response = unsafe {
        let a = call.args();
        let got_server = *(a[0] as *const *const u16);
        assert_eq!(wide(got_server), "\\\\srv");
        assert_eq!(*(a[1] as *const u32), 100);
        let union_slot = *(a[2] as *const *mut *mut WkstaInfo100);
        assert!(
            !union_slot.is_null(),
            "the [out] union is allocated by the stub"
        );
        let i = CoTaskMemAlloc(size_of::<WkstaInfo100>()) as *mut WkstaInfo100;
        let dup = |s: &str| {
            let v = w(s);
            let p = CoTaskMemAlloc(v.len() * 2) as *mut u16;
            p.copy_from_nonoverlapping(v.as_ptr(), v.len());
            p
        };
        i.write(WkstaInfo100 {
            platform_id: 500,
            computername: dup("SAMBA"),
            langroup: dup("WORKGROUP"),
            ver_major: 6,
            ver_minor: 1,
        });
        *union_slot = i;
        *(call.ret() as *mut u32) = 0;
        call.marshal_response().unwrap()
    };
    drop(call);

    let mut status: u32 = 99;
    unsafe {
        unmarshal_response(
            &GET_INFO,
            &args,
            arg(&mut status),
            &response,
            Limits::default(),
        )
        .unwrap();
        let i = &*union_mem[0];
        assert_eq!((i.platform_id, i.ver_major, i.ver_minor), (500, 6, 1));
        assert_eq!(wide(i.computername), "SAMBA");
        assert_eq!(wide(i.langroup), "WORKGROUP");
        assert_eq!(status, 0);
        // The client owns the [out] tree: free it through the description.
        free::free_value(Type::Union(&WKSTA_INFO), info.cast(), null(), &args);
    }
    assert_eq!(balance(), before, "every block allocated was freed");
}

#[test]
fn a_reply_whose_discriminant_disagrees_with_the_level_is_refused() {
    let mut server: *mut u16 = null_mut();
    let mut level: u32 = 100;
    let mut union_mem: [*mut WkstaInfo100; 1] = [null_mut()];
    let mut info: *mut c_void = union_mem.as_mut_ptr().cast();
    let args = [arg(&mut server), arg(&mut level), arg(&mut info)];
    // Discriminant 101 where the caller asked for level 100; an arm 101 does not exist.
    let reply = [101u32, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect::<Vec<_>>();
    let mut status = 0u32;
    let e = unsafe {
        unmarshal_response(
            &GET_INFO,
            &args,
            arg(&mut status),
            &reply,
            Limits::default(),
        )
    };
    assert!(matches!(e, Err(NdrError::BadStubData { .. })), "{e:?}");
}

// ---- a conformant structure (max count hoisted) and a varying array ----

static COUNT_N: Expr = Expr::Field {
    offset: 0,
    derefs: 0,
    ty: Base::ULong,
};
static SHORTS: Array = Array {
    element: Type::Base(Base::Short),
    stride: 2,
    count: Count::Conformant(&COUNT_N),
    varying: None,
};
/// `struct { ULONG n; hyper h; [size_is(n)] short a[]; }`
static CSTRUCT: Struct = Struct {
    name: "CSTRUCT",
    size: 24,
    align: 8,
    fields: &[
        Field {
            name: "f",
            offset: 0,
            ty: Type::Base(Base::ULong),
        },
        Field {
            name: "f",
            offset: 8,
            ty: Type::Base(Base::Hyper),
        },
        Field {
            name: "f",
            offset: 16,
            ty: Type::Array(&SHORTS),
        },
    ],
};
static REF_CSTRUCT: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Struct(&CSTRUCT),
};
static PUT_C: Proc = Proc {
    name: "PutC",
    opnum: 1,
    params: &[Param {
        name: "c",
        ty: Type::Pointer(&REF_CSTRUCT),
        dir: Direction::In,
    }],
    ret: None,
};

#[repr(C)]
struct CStruct3 {
    n: u32,
    h: i64,
    a: [i16; 3],
}

#[test]
fn a_conformant_structure_hoists_its_count() {
    let before = balance();
    let mut c = CStruct3 {
        n: 3,
        h: -2,
        a: [7, 8, 9],
    };
    let mut p: *mut CStruct3 = &mut c;
    let args = [arg(&mut p)];
    let bytes = unsafe { marshal_request(&PUT_C, &args) }.unwrap();
    let want: Vec<u8> = [
        &3u32.to_le_bytes()[..], // max count, hoisted
        &[0; 4],                 // align to 8 for the hyper
        &3u32.to_le_bytes(),     // n
        &[0; 4],
        &(-2i64).to_le_bytes(),
        &7i16.to_le_bytes(),
        &8i16.to_le_bytes(),
        &9i16.to_le_bytes(),
    ]
    .concat();
    assert_eq!(bytes, want);
    let call = ServerCall::unmarshal(&PUT_C, &bytes, Limits::default()).unwrap();
    unsafe {
        let got = &**(call.args()[0] as *const *const CStruct3);
        assert_eq!((got.n, got.h, got.a), (3, -2, [7, 8, 9]));
    }
    drop(call);
    // A count that disagrees with n is refused.
    let mut bad = bytes.clone();
    bad[8] = 2;
    assert!(ServerCall::unmarshal(&PUT_C, &bad, Limits::default()).is_err());
    assert_eq!(balance(), before);
}

// ---- a linked list through unique pointers ----

#[repr(C)]
struct Node {
    value: i32,
    next: *mut Node,
}
static NEXT: Pointer = Pointer {
    kind: PointerKind::Unique,
    pointee: Type::Struct(&NODE),
};
static NODE: Struct = Struct {
    name: "NODE",
    size: 16,
    align: 8,
    fields: &[
        Field {
            name: "f",
            offset: 0,
            ty: Type::Base(Base::Long),
        },
        Field {
            name: "f",
            offset: 8,
            ty: Type::Pointer(&NEXT),
        },
    ],
};
static LIST: Proc = Proc {
    name: "List",
    opnum: 2,
    params: &[Param {
        name: "head",
        ty: Type::Pointer(&NEXT),
        dir: Direction::In,
    }],
    ret: None,
};

#[test]
fn a_long_list_marshals_and_frees_without_deep_recursion() {
    let before = balance();
    const N: i32 = 200_000;
    let mut nodes: Vec<Node> = (0..N)
        .map(|v| Node {
            value: v,
            next: null_mut(),
        })
        .collect();
    for i in 0..(N as usize - 1) {
        nodes[i].next = &mut nodes[i + 1];
    }
    let mut head: *mut Node = &mut nodes[0];
    let args = [arg(&mut head)];
    let bytes = unsafe { marshal_request(&LIST, &args) }.unwrap();
    assert_eq!(bytes.len(), N as usize * 8 + 4);
    // Node 1 follows node 0's flat part: referent id, value, next id, value, ...
    assert_eq!(&bytes[..12], &[0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 2, 0]);
    let call = ServerCall::unmarshal(&LIST, &bytes, Limits::default()).unwrap();
    unsafe {
        let mut p = *(call.args()[0] as *const *const Node);
        let mut n = 0;
        while !p.is_null() {
            assert_eq!((*p).value, n);
            n += 1;
            p = (*p).next;
        }
        assert_eq!(n, N);
    }
    drop(call);
    assert_eq!(balance(), before);
}

// ---- full pointers keep aliases ----

static FULL_LONG: Pointer = Pointer {
    kind: PointerKind::Full,
    pointee: Type::Base(Base::Long),
};
static PAIR: Struct = Struct {
    name: "PAIR",
    size: 16,
    align: 8,
    fields: &[
        Field {
            name: "f",
            offset: 0,
            ty: Type::Pointer(&FULL_LONG),
        },
        Field {
            name: "f",
            offset: 8,
            ty: Type::Pointer(&FULL_LONG),
        },
    ],
};
static REF_PAIR: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Struct(&PAIR),
};
static ALIAS: Proc = Proc {
    name: "Alias",
    opnum: 3,
    params: &[Param {
        name: "pair",
        ty: Type::Pointer(&REF_PAIR),
        dir: Direction::In,
    }],
    ret: None,
};

#[test]
fn full_pointers_send_one_referent_per_address() {
    let before = balance();
    let mut x: i32 = 42;
    let mut pair: [*mut i32; 2] = [&mut x, &mut x];
    let mut p: *mut [*mut i32; 2] = &mut pair;
    let args = [arg(&mut p)];
    let bytes = unsafe { marshal_request(&ALIAS, &args) }.unwrap();
    // Two equal referent ids (full pointers count 1, 2, ...), one referent.
    assert_eq!(bytes, [1, 0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0]);
    let call = ServerCall::unmarshal(&ALIAS, &bytes, Limits::default()).unwrap();
    unsafe {
        let got = &**(call.args()[0] as *const *const [*mut i32; 2]);
        assert_eq!(got[0], got[1], "the alias is kept");
        assert_eq!(*got[0], 42);
    }
    drop(call);
    assert_eq!(balance(), before, "the shared referent is freed once");
}

// ---- hostile input ----

static BYTES: Array = Array {
    element: Type::Base(Base::Byte),
    stride: 1,
    count: Count::Conformant(&SIZE_PARAM),
    varying: None,
};
static SIZE_PARAM: Expr = Expr::Param {
    index: 0,
    derefs: 0,
    ty: Base::ULong,
};
static REF_BYTES: Pointer = Pointer {
    kind: PointerKind::Ref,
    pointee: Type::Array(&BYTES),
};
static BLOB: Proc = Proc {
    name: "Blob",
    opnum: 4,
    params: &[
        Param {
            name: "n",
            ty: Type::Base(Base::ULong),
            dir: Direction::In,
        },
        Param {
            name: "data",
            ty: Type::Pointer(&REF_BYTES),
            dir: Direction::In,
        },
    ],
    ret: None,
};

#[test]
fn a_count_larger_than_the_message_allocates_nothing() {
    let before = balance();
    // n = 0xFFFFFFF0 and a max count to match, then 4 bytes.
    let msg: Vec<u8> = [0xFFFF_FFF0u32, 0xFFFF_FFF0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let e = ServerCall::unmarshal(&BLOB, &msg, Limits::default())
        .err()
        .unwrap();
    assert!(matches!(e, NdrError::BadStubData { .. }), "{e}");
    assert_eq!(e.hresult().to_u32(), 0x800706F7);
    assert_eq!(balance(), before);
}

#[test]
fn every_truncation_of_a_valid_message_fails_cleanly() {
    let before = balance();
    let mut name = w("\\\\server-name");
    let mut server: *mut u16 = name.as_mut_ptr();
    let mut level: u32 = 100;
    let mut slot: *mut c_void = null_mut();
    let args = [arg(&mut server), arg(&mut level), arg(&mut slot)];
    let request = unsafe { marshal_request(&GET_INFO, &args) }.unwrap();
    for cut in 0..request.len() {
        assert!(ServerCall::unmarshal(&GET_INFO, &request[..cut], Limits::default()).is_err());
    }
    // Every single-byte corruption: accepted or refused, never a panic or a leak.
    for at in 0..request.len() {
        for v in [0u8, 1, 0x7F, 0x80, 0xFF] {
            let mut m = request.clone();
            m[at] = v;
            drop(ServerCall::unmarshal(&GET_INFO, &m, Limits::default()));
        }
    }
    assert_eq!(balance(), before);
}
