//! Both directions across the C ABI, over widl's header for idl/interop.idl:
//! - a C object (c/object.c) called from Rust through comidl's generated wrappers;
//! - a Rust object (comidl's server traits) called from C (c/client.c).
//!
//! Reference counts are checked on both sides.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use comidl_interop::interop::{
    IInteropCalc, IInteropCalc_Impl, IInteropNamed, IInteropNamed_Impl, PAIR,
};
use comidl_interop::{c_client_exercise, c_object_create, c_object_refs, c_objects_alive};
use comidl_runtime::{
    BSTR, CoTaskMemAlloc, CoTaskMemFree, ComObject, ComPtr, E_ACCESSDENIED, E_NOINTERFACE, HRESULT,
    IUnknown, Interface, Result, S_OK,
};

/// The C objects are counted in one global: run the tests that create them one at a time.
static C_OBJECTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain([0]).collect()
}

/// Reads a NUL-terminated UTF-16 string.
///
/// # Safety
/// `p` points at a NUL-terminated UTF-16 string.
unsafe fn read_wide(p: *const u16) -> String {
    let mut units = Vec::new();
    let mut i = 0;
    // SAFETY: the caller's contract: readable up to and including the NUL.
    while unsafe { *p.add(i) } != 0 {
        units.push(unsafe { *p.add(i) });
        i += 1;
    }
    String::from_utf16_lossy(&units)
}

fn new_c_object() -> ComPtr<IInteropCalc> {
    let mut raw = core::ptr::null_mut();
    // SAFETY: a writable out pointer.
    let hr = unsafe { c_object_create(&mut raw) };
    assert_eq!(hr, S_OK);
    // SAFETY: c_object_create handed us one reference to an IInteropCalc.
    unsafe { ComPtr::from_raw(raw) }.expect("non-null on success")
}

fn c_refs(calc: &ComPtr<IInteropCalc>) -> i32 {
    // SAFETY: a live C object.
    unsafe { c_object_refs(calc.as_raw()) }
}

#[test]
fn a_c_object_is_called_from_rust_through_the_generated_wrappers() {
    let _serial = C_OBJECTS.lock().unwrap_or_else(|e| e.into_inner());
    let before = unsafe { c_objects_alive() };
    let calc = new_c_object();
    assert_eq!(unsafe { c_objects_alive() }, before + 1);
    assert_eq!(c_refs(&calc), 1);

    // [in] by value, [out, retval].
    assert_eq!(calc.add(2, 3), Ok(5));
    // [in, out] struct.
    let mut pair = PAIR { a: 1, b: 2 };
    calc.swap(&mut pair).unwrap();
    assert_eq!((pair.a, pair.b), (2, 1));
    // [in] const struct pointer, two [out]s returned as a tuple.
    assert_eq!(calc.measure(&PAIR { a: 3, b: 4 }), Ok((7, 12)));
    // Struct and double by value.
    assert_eq!(calc.scale(PAIR { a: 1, b: 2 }, 1.5), Ok(4.5));
    // [out, retval] LPWSTR allocated by the C side with the task allocator.
    let name = calc.name().unwrap();
    // SAFETY: the C object returned a NUL-terminated string it allocated for us.
    assert_eq!(unsafe { read_wide(name) }, "c-object");
    // SAFETY: ownership of the block passed to us ([out]).
    unsafe { CoTaskMemFree(name.cast()) };
    // [in, string] takes a borrowed wide string; [out, retval] BSTR is owned.
    let greeting: BSTR = calc.greet(comidl_runtime::w!("Rust")).unwrap();
    assert_eq!(greeting, "Hello, Rust!");
    assert_eq!(greeting.len(), 12);
    // A failure code comes back as the error.
    assert_eq!(calc.fail(E_ACCESSDENIED), Err(E_ACCESSDENIED));
    assert_eq!(calc.fail(S_OK), Ok(()));

    // QueryInterface to the second interface, reference counts on the C side.
    let named: ComPtr<IInteropNamed> = calc.cast().unwrap();
    assert_eq!(c_refs(&calc), 2);
    named.set_name(&BSTR::from("hello")).unwrap();
    assert_eq!(named.name_length(), Ok(5));
    // [in] REFIID + [out, iid_is] void**: the generic shape.
    let peer = named.peer::<IInteropCalc>().unwrap();
    assert_eq!(peer.as_raw(), calc.as_raw());
    assert_eq!(c_refs(&calc), 3);
    assert_eq!(
        named.peer::<IInteropNamed>().unwrap().as_raw(),
        named.as_raw()
    );
    assert_eq!(c_refs(&calc), 3, "the temporary was released");
    assert_eq!(
        named.peer::<comidl_runtime::IClassFactory>().err(),
        Some(E_NOINTERFACE)
    );
    assert_eq!(
        calc.identity().unwrap().as_raw(),
        named.identity().unwrap().as_raw()
    );
    let copy = calc.clone();
    assert_eq!(c_refs(&calc), 4);
    drop(copy);
    drop(peer);
    drop(named);
    assert_eq!(c_refs(&calc), 1);
    drop(calc);
    assert_eq!(
        unsafe { c_objects_alive() },
        before,
        "the last Release freed it"
    );
}

/// The Rust object for the C client: counts its drops.
struct RustCalc {
    name_length: AtomicU32,
    drops: Arc<AtomicUsize>,
}

impl Drop for RustCalc {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

comidl_runtime::implement!(RustCalc: IInteropCalc, IInteropNamed);

impl IInteropCalc_Impl for RustCalc {
    fn add(&self, a: i32, b: i32) -> Result<i32> {
        Ok(a + b)
    }

    fn swap(&self, pair: &mut PAIR) -> Result<()> {
        core::mem::swap(&mut pair.a, &mut pair.b);
        Ok(())
    }

    fn measure(&self, pair: &PAIR) -> Result<(i32, i32)> {
        Ok((pair.a + pair.b, pair.a * pair.b))
    }

    fn scale(&self, pair: PAIR, factor: f64) -> Result<f64> {
        Ok(f64::from(pair.a + pair.b) * factor)
    }

    fn name(&self) -> Result<*mut u16> {
        let text = wide("rust-object");
        let block = CoTaskMemAlloc(text.len() * 2).cast::<u16>();
        if block.is_null() {
            return Err(comidl_runtime::E_OUTOFMEMORY);
        }
        // SAFETY: the block holds text.len() UTF-16 units.
        unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), block, text.len()) };
        Ok(block)
    }

    fn greet(&self, who: &comidl_runtime::WStr) -> Result<BSTR> {
        Ok(BSTR::from(format!("Hello, {who}!")))
    }

    fn fail(&self, code: HRESULT) -> Result<()> {
        code.ok()
    }
}

impl IInteropNamed_Impl for RustCalc {
    fn set_name(&self, name: &BSTR) -> Result<()> {
        self.name_length.store(name.len() as u32, Ordering::SeqCst);
        Ok(())
    }

    fn name_length(&self) -> Result<u32> {
        Ok(self.name_length.load(Ordering::SeqCst))
    }

    fn peer(&self, riid: &comidl_runtime::GUID) -> Result<*mut core::ffi::c_void> {
        // SAFETY: `self` is the value of the live object C is calling.
        unsafe { ComObject::query_value(self, riid) }
    }
}

#[test]
fn a_rust_object_is_called_from_c_through_widls_header() {
    let drops = Arc::new(AtomicUsize::new(0));
    let calc = ComObject::create::<IInteropCalc>(RustCalc {
        name_length: AtomicU32::new(0),
        drops: drops.clone(),
    })
    .unwrap();
    // SAFETY: a live object; the client balances its own AddRef/Release.
    let failed_check = unsafe { c_client_exercise(calc.as_raw()) };
    assert_eq!(failed_check, 0, "c/client.c check {failed_check} failed");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    let unknown: ComPtr<IUnknown> = calc.cast().unwrap();
    drop(calc);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "IUnknown still holds it");
    assert_eq!(
        <IUnknown as Interface>::IID.to_string(),
        "{00000000-0000-0000-C000-000000000046}"
    );
    drop(unknown);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the last Release dropped it"
    );
}
