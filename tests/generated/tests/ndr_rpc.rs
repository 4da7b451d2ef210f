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

// ---- the generated client stub, server trait and dispatch, over an in-memory channel ----

use comidl_generated_tests::rpc::{
    COUNTER_HANDLE, RemoteCounter_Client, RemoteCounter_Server, RemoteCounter_dispatch,
};
use comidl_runtime::ndr::{CallError, Channel, Fault, Interface};
use std::cell::RefCell;

/// The server: counters by handle (the handle's first byte).
#[derive(Default)]
struct Counters {
    values: RefCell<Vec<(String, i32)>>,
}

unsafe fn text(p: *const u16) -> String {
    let mut n = 0;
    // SAFETY: a terminated string from the engine.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) })
}

impl RemoteCounter_Server for Counters {
    unsafe fn Open(&self, _: *mut c_void, name: *const u16, counter: *mut COUNTER_HANDLE) -> u32 {
        let mut v = self.values.borrow_mut();
        v.push((unsafe { text(name) }, 0));
        let h = CoTaskMemAlloc(20) as *mut u8;
        unsafe {
            h.write_bytes(0, 20);
            *h.add(4) = v.len() as u8; // the UUID's first byte: the counter's number
            *counter = h.cast();
        }
        0
    }
    unsafe fn Add(&self, counter: COUNTER_HANDLE, delta: i32, total: *mut i32) -> u32 {
        let n = unsafe { *(counter as *const u8).add(4) } as usize;
        let mut v = self.values.borrow_mut();
        let Some(c) = v.get_mut(n.wrapping_sub(1)) else {
            return 6; // ERROR_INVALID_HANDLE
        };
        c.1 += delta;
        unsafe { *total = c.1 };
        0
    }
    unsafe fn List(
        &self,
        _: *mut c_void,
        count: *mut u32,
        infos: *mut *mut tagCOUNTER_INFO,
    ) -> u32 {
        let v = self.values.borrow();
        unsafe {
            *count = v.len() as u32;
            let arr =
                CoTaskMemAlloc(v.len() * size_of::<tagCOUNTER_INFO>()) as *mut tagCOUNTER_INFO;
            for (i, (n, value)) in v.iter().enumerate() {
                arr.add(i).write(tagCOUNTER_INFO {
                    name: name(n),
                    value: *value,
                    next: null_mut(),
                });
            }
            *infos = arr;
        }
        0
    }
    unsafe fn Close(&self, counter: *mut COUNTER_HANDLE) {
        // The nil handle goes back: the client's handle is closed.
        unsafe {
            comidl_runtime::CoTaskMemFree(*counter);
            *counter = null_mut();
        }
    }
}

/// A channel that serves each request at once with the generated dispatch.
struct InMemory<'s>(&'s Counters);

impl Channel for InMemory<'_> {
    fn call(&self, _: &Interface, opnum: u16, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        RemoteCounter_dispatch(self.0, opnum, &request).map_err(CallError::Fault)
    }
}

#[test]
fn a_generated_client_calls_a_generated_server() {
    let before = thread_balance().unwrap();
    let server = Counters::default();
    let client = RemoteCounter_Client::new(InMemory(&server));
    unsafe {
        let name_a: Vec<u16> = "alpha\0".encode_utf16().collect();
        let mut h: COUNTER_HANDLE = null_mut();
        assert_eq!(client.Open(null_mut(), name_a.as_ptr(), &mut h), Ok(0));
        assert!(!h.is_null(), "the context handle came back");
        let mut total = 0;
        assert_eq!(client.Add(h, 40, &mut total), Ok(0));
        assert_eq!(client.Add(h, 2, &mut total), Ok(0));
        assert_eq!(total, 42);
        // Out of [range(1, 100)]: refused before anything is sent.
        assert_eq!(
            client.Add(h, 0, &mut total),
            Err(CallError::Ndr(ndr::NdrError::OutOfRange))
        );

        let mut count = 0u32;
        let mut infos: *mut tagCOUNTER_INFO = null_mut();
        assert_eq!(client.List(null_mut(), &mut count, &mut infos), Ok(0));
        assert_eq!(count, 1);
        assert_eq!(((*infos).name, (*infos).value), (name("alpha"), 42));
        let list = RemoteCounter_INTERFACE.procs[2];
        let mut p_infos: *mut *mut tagCOUNTER_INFO = &mut infos;
        let mut p_count: *mut u32 = &mut count;
        let mut binding: *mut c_void = null_mut();
        let args = [arg(&mut binding), arg(&mut p_count), arg(&mut p_infos)];
        ndr::free::free_out_param(list.params[2].ty, args[2], &args);

        assert_eq!(client.Close(&mut h), Ok(()));
        assert!(h.is_null(), "a nil handle closes the client's");
    }
    assert_eq!(
        thread_balance().unwrap(),
        before,
        "client and server freed everything"
    );
}

#[test]
fn a_request_for_an_operation_the_interface_lacks_is_a_fault() {
    let server = Counters::default();
    assert_eq!(
        RemoteCounter_dispatch(&server, 9, &[]),
        Err(Fault::OP_RANGE)
    );
    assert_eq!(
        RemoteCounter_dispatch(&server, 1, &[1, 2, 3]),
        Err(Fault::BAD_STUB_DATA)
    );
}
