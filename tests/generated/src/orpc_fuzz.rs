//! The fuzz harness of an ORPC stub (fuzz target `orpc_stub`): arbitrary request stub data
//! for a method of IOrpcTest2 (tests/fixtures/orpc.idl), served on a real object by
//! runtime/dcom's stub (ORPCTHIS, the NDR engine from the generated description, the
//! generated invoke), as the exporter serves a call.
//!
//! Input: byte 0 chooses the opnum (3 + byte 0 % 12: every method, and slots past the
//! last); the rest is the stub data. A panic, a reply that does not start with an ORPCTHAT,
//! or a task-allocator block left over is a finding. Interface pointers in a request are
//! imported as any OBJREF is (an exporter named there is looked for and not found).

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::dcom::{self, OrpcThat};
use comidl_runtime::{ComObject, ComPtr, E_ACCESSDENIED, E_INVALIDARG, GUID, Result, WStr};

use crate::orpc::{
    IOrpcSink, IOrpcSink_Impl, IOrpcSink_PROXY_STUB, IOrpcTest_Impl, IOrpcTest_PROXY_STUB,
    IOrpcTest2, IOrpcTest2_Impl, IOrpcTest2_PROXY_STUB,
};

struct Target;
struct Sink;

comidl_runtime::implement!(Target: IOrpcTest2);
comidl_runtime::implement!(Sink: IOrpcSink);

impl IOrpcSink_Impl for Sink {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value)
    }
}

impl IOrpcTest_Impl for Target {
    fn add(&self, a: i32, b: i32) -> Result<i32> {
        a.checked_add(b).ok_or(E_INVALIDARG)
    }
    fn sum(&self, values: &[i32]) -> Result<i64> {
        Ok(values.iter().map(|&v| i64::from(v)).sum())
    }
    fn fill(&self, bytes: &mut [u8]) -> Result<()> {
        bytes.fill(7);
        Ok(())
    }
    fn echo(&self, text: &WStr) -> Result<*mut u16> {
        comidl_runtime::wide::to_task_block(&text.to_string_lossy())
    }
    fn call_back(&self, sink: Option<&IOrpcSink>, value: i32) -> Result<i32> {
        sink.ok_or(E_INVALIDARG)?.notify(value)
    }
    fn make_sink(&self, _bias: i32) -> Result<Option<ComPtr<IOrpcSink>>> {
        Ok(Some(ComObject::create::<IOrpcSink>(Sink)?))
    }
    fn query(&self, riid: &GUID) -> Result<*mut std::ffi::c_void> {
        // SAFETY: `self` is the value of a live object.
        unsafe { ComObject::query_value(self, riid) }
    }
    fn fail(&self, hr: comidl_runtime::HRESULT) -> Result<()> {
        Err(hr)
    }
    // The fuzzer treats any panic as a finding, caught or not: no panicking here.
    fn crash(&self) -> Result<()> {
        Err(E_ACCESSDENIED)
    }
    fn wait(&self, _ms: u32) -> Result<()> {
        Ok(())
    }
}

impl IOrpcTest2_Impl for Target {
    fn twice(&self, value: i32) -> Result<i32> {
        value.checked_mul(2).ok_or(E_INVALIDARG)
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let Some((&choice, stub)) = data.split_first() else {
        return;
    };
    dcom::register(&[
        &IOrpcTest2_PROXY_STUB,
        &IOrpcTest_PROXY_STUB,
        &IOrpcSink_PROXY_STUB,
    ]);
    let opnum = 3 + u16::from(choice % 12);
    let target = ComObject::create::<IOrpcTest2>(Target).expect("the object");
    let before = thread_balance();
    // SAFETY: a live IOrpcTest2.
    let reply =
        unsafe { dcom::serve_request(&IOrpcTest2_PROXY_STUB, target.as_raw(), opnum, stub) };
    if let Ok(reply) = &reply {
        assert!(
            OrpcThat::decode(reply).is_ok(),
            "a reply that does not start with an ORPCTHAT"
        );
    }
    dcom::disconnect_all();
    assert_eq!(thread_balance(), before, "task-allocator blocks leaked");
    // The same request through a proxy/stub module's stub and the channel: the same
    // answer (a fault with the same status, or a reply of the same length: the OBJREFs of
    // interface pointers differ only in their IPIDs).
    static MODULE: &[&dcom::ProxyStub] = &[&IOrpcTest2_PROXY_STUB];
    // SAFETY: a live IOrpcTest2.
    let via_module = unsafe {
        dcom::serve_request_through_module(
            MODULE,
            &crate::orpc::IID_IOrpcTest2,
            target.as_raw(),
            opnum,
            stub,
        )
    };
    match (&reply, &via_module) {
        (Ok(a), Ok(b)) => assert_eq!(a.len(), b.len(), "the module's reply differs"),
        (Err(a), Err(b)) => assert_eq!(a, b, "the module's fault differs"),
        _ => panic!("one route failed: linked {reply:?}, module {via_module:?}"),
    }
    // Interface pointers the replies exported were for a client that will never come:
    // the exporter lets go of them, so inputs do not pile objects up.
    dcom::disconnect_all();
    assert_eq!(
        thread_balance(),
        before,
        "task-allocator blocks leaked (module route)"
    );
}

/// Valid inputs, one per kind of method (for the fuzzer's corpus, and tests): an
/// ORPCTHIS, then the parameters as NDR puts them.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let this = dcom::OrpcThis::new(GUID::from_u128(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f))
        .encode()
        .expect("an ORPCTHIS");
    let with = |choice: u8, params: &[&[u8]]| {
        let mut v = vec![choice];
        v.extend_from_slice(&this);
        for p in params {
            v.extend_from_slice(p);
        }
        v
    };
    let le = |x: u32| x.to_le_bytes();
    let text: Vec<u8> = "hi\0".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let iid = crate::orpc::IID_IOrpcTest2;
    let mut iid_bytes = Vec::new();
    iid_bytes.extend_from_slice(&iid.data1.to_le_bytes());
    iid_bytes.extend_from_slice(&iid.data2.to_le_bytes());
    iid_bytes.extend_from_slice(&iid.data3.to_le_bytes());
    iid_bytes.extend_from_slice(&iid.data4);
    vec![
        ("add", with(0, &[&le(2), &le(40)])),
        ("sum", with(1, &[&le(3), &le(3), &le(1), &le(2), &le(3)])),
        ("fill", with(2, &[&le(16)])),
        ("echo", with(3, &[&le(3), &le(0), &le(3), &text])),
        ("callback_null", with(4, &[&le(0), &le(5)])),
        ("query", with(6, &[&iid_bytes])),
        ("fail", with(7, &[&le(0x8007_0005)])),
        ("twice", with(10, &[&le(21)])),
    ]
}
