//! The marshalling descriptions comidl generates (tests/fixtures/rpc.idl's
//! `RemoteCounter`, from the snapshot this crate compiles) driven through the runtime's
//! NDR engine: a client stub's request, a server's unmarshalling and reply, the client's
//! unmarshalling, with the generated `#[repr(C)]` types as the memory and the task
//! allocator balanced at the end.

use std::ffi::c_void;
use std::ptr::null_mut;

use comidl_generated_tests::rpc::{ndr::RemoteCounter_INTERFACE, tagCOUNTER_INFO};
use comidl_runtime::CoTaskMemAlloc;
use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{self, Limits, ServerCall};

fn arg<T>(v: &mut T) -> *mut u8 {
    (v as *mut T).cast()
}

fn name(s: &str) -> [u16; 64] {
    let mut a = [0u16; 64];
    for (d, c) in a.iter_mut().zip(s.encode_utf16()) {
        *d = c;
    }
    a
}

#[test]
fn the_interface_is_described_in_opnum_order() {
    let i = &RemoteCounter_INTERFACE;
    assert_eq!(i.version, (1, 2));
    let names: Vec<_> = i.procs.iter().map(|p| (p.opnum, p.name)).collect();
    assert_eq!(
        names,
        [
            (0, "RemoteCounter::Open"),
            (1, "RemoteCounter::Add"),
            (2, "RemoteCounter::List"),
            (3, "RemoteCounter::Close")
        ]
    );
}

#[test]
fn list_returns_a_conformant_array_of_structures_through_the_generated_description() {
    let before = thread_balance().unwrap();
    let list = RemoteCounter_INTERFACE.procs[2];
    // Client: List(binding, [out] ULONG *count, [out, size_is(, *count)] COUNTER_INFO **infos)
    let mut binding: *mut c_void = null_mut();
    let mut count: u32 = 0;
    let mut infos: *mut tagCOUNTER_INFO = null_mut();
    let mut p_count: *mut u32 = &mut count;
    let mut p_infos: *mut *mut tagCOUNTER_INFO = &mut infos;
    let args = [arg(&mut binding), arg(&mut p_count), arg(&mut p_infos)];
    let request = unsafe { ndr::marshal_request(list, &args) }.unwrap();
    assert!(request.is_empty(), "List has no [in] data on the wire");

    let call = ServerCall::unmarshal(list, &request, Limits::default()).unwrap();
    let reply = unsafe {
        let a = call.args();
        **(a[1] as *mut *mut u32) = 2;
        let arr = CoTaskMemAlloc(2 * size_of::<tagCOUNTER_INFO>()) as *mut tagCOUNTER_INFO;
        arr.write(tagCOUNTER_INFO {
            name: name("apples"),
            value: 3,
            next: null_mut(),
        });
        let next = CoTaskMemAlloc(size_of::<tagCOUNTER_INFO>()) as *mut tagCOUNTER_INFO;
        next.write(tagCOUNTER_INFO {
            name: name("pears"),
            value: -4,
            next: null_mut(),
        });
        arr.add(1).write(tagCOUNTER_INFO {
            name: name("plums"),
            value: 5,
            next,
        });
        **(a[2] as *mut *mut *mut tagCOUNTER_INFO) = arr;
        *(call.ret() as *mut u32) = 0;
        call.marshal_response().unwrap()
    };
    drop(call);

    let mut status: u32 = 1;
    unsafe {
        ndr::unmarshal_response(list, &args, arg(&mut status), &reply, Limits::default()).unwrap();
        assert_eq!((status, count), (0, 2));
        let got = std::slice::from_raw_parts(infos, 2);
        let text =
            |n: &[u16; 64]| String::from_utf16_lossy(&n[..n.iter().position(|&c| c == 0).unwrap()]);
        assert_eq!((text(&got[0].name), got[0].value), ("apples".into(), 3));
        assert!(got[0].next.is_null());
        assert_eq!((text(&got[1].name), got[1].value), ("plums".into(), 5));
        let n = &*got[1].next;
        assert_eq!((text(&n.name), n.value), ("pears".into(), -4));
        ndr::free::free_out_param(list.params[2].ty, args[2], &args);
    }
    assert!(infos.is_null(), "freeing cleared the caller's pointer");
    assert_eq!(thread_balance().unwrap(), before);
}

#[test]
fn add_refuses_a_delta_outside_its_range_both_ways() {
    let add = RemoteCounter_INTERFACE.procs[1];
    let mut handle = [7u8; 20];
    let mut h: *mut u8 = handle.as_mut_ptr();
    let mut delta: i32 = 101;
    let mut total: i32 = 0;
    let mut p_total: *mut i32 = &mut total;
    let args = [arg(&mut h), arg(&mut delta), arg(&mut p_total)];
    let e = unsafe { ndr::marshal_request(add, &args) }.unwrap_err();
    assert_eq!(e, ndr::NdrError::OutOfRange);
    // SAFETY: args[1] points to `delta`.
    unsafe { *(args[1] as *mut i32) = 100 };
    let mut ok = unsafe { ndr::marshal_request(add, &args) }.unwrap();
    assert_eq!(&ok[..20], &[7; 20], "the context handle's 20 bytes");
    ServerCall::unmarshal(add, &ok, Limits::default()).unwrap();
    ok[20] = 0; // delta 0: below the range
    assert!(ServerCall::unmarshal(add, &ok, Limits::default()).is_err());
}
