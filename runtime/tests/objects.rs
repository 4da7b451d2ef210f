//! Objects implemented in Rust through generated server traits, used through generated
//! client wrappers: identity, QueryInterface rules, reference counting, panics at the
//! boundary, and the task allocator's IMalloc.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use comidl_runtime::{
    BOOL, CoGetMalloc, CoTaskMemFree, ComObject, ComPtr, E_NOINTERFACE, E_UNEXPECTED, GUID,
    IClassFactory, IClassFactory_Impl, IID, IMalloc, IMalloc_Impl, IUnknown, Interface,
    MEMCTX_TASK, Result, S_OK, co_get_malloc,
};

/// A class with two interfaces that counts its drops and can be told to panic.
struct Factory {
    drops: Arc<AtomicUsize>,
    locks: AtomicUsize,
}

impl Drop for Factory {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

comidl_runtime::implement!(Factory: IClassFactory, IMalloc);

impl IClassFactory_Impl for Factory {
    fn create_instance(
        &self,
        _outer: Option<&IUnknown>,
        _riid: &IID,
    ) -> Result<*mut core::ffi::c_void> {
        panic!("create_instance always panics in this test");
    }

    fn lock_server(&self, lock: BOOL) -> Result<()> {
        if lock != 0 {
            self.locks.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

impl IMalloc_Impl for Factory {
    fn alloc(&self, cb: usize) -> *mut core::ffi::c_void {
        if cb == 13 {
            panic!("unlucky size");
        }
        comidl_runtime::CoTaskMemAlloc(cb)
    }
    fn realloc(&self, _pv: *mut core::ffi::c_void, _cb: usize) -> *mut core::ffi::c_void {
        core::ptr::null_mut()
    }
    fn free(&self, pv: *mut core::ffi::c_void) {
        // SAFETY: the test only passes blocks from CoTaskMemAlloc.
        unsafe { CoTaskMemFree(pv) }
    }
    fn get_size(&self, _pv: *mut core::ffi::c_void) -> usize {
        0
    }
    fn did_alloc(&self, _pv: *mut core::ffi::c_void) -> i32 {
        -1
    }
    fn heap_minimize(&self) {}
}

fn factory() -> (ComPtr<IClassFactory>, Arc<AtomicUsize>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let object = ComObject::create::<IClassFactory>(Factory {
        drops: drops.clone(),
        locks: AtomicUsize::new(0),
    })
    .expect("the first interface is always there");
    (object, drops)
}

#[test]
fn identity_is_one_pointer_whatever_interface_asks() {
    let (cf, _) = factory();
    let malloc: ComPtr<IMalloc> = cf.cast().unwrap();
    assert_ne!(cf.as_raw(), malloc.as_raw(), "two interfaces, two pointers");
    let a = cf.identity().unwrap();
    let b = malloc.identity().unwrap();
    assert_eq!(a.as_raw(), b.as_raw());
    // The identity is the object's own IUnknown, and leads back to each interface.
    let from_identity: ComPtr<IClassFactory> = a.cast().unwrap();
    assert_eq!(from_identity.as_raw(), cf.as_raw());
    // Symmetric and transitive.
    let back: ComPtr<IClassFactory> = malloc.cast().unwrap();
    assert_eq!(back.as_raw(), cf.as_raw());
}

#[test]
fn query_for_an_unknown_interface_fails_and_nulls_the_output() {
    let (cf, _) = factory();
    let iid = GUID::from_u128(0x12345678_1234_1234_1234_123456789abc);
    let mut out: *mut core::ffi::c_void = 8 as *mut _;
    let vtbl = cf.vtable();
    // SAFETY: a live object and a writable out pointer.
    let hr = unsafe { (vtbl.base__.QueryInterface)(cf.as_raw(), &iid, &mut out) };
    assert_eq!(hr, E_NOINTERFACE);
    assert!(out.is_null());
    let result = cf.cast::<comidl_runtime::IClassFactory2>();
    assert_eq!(result.err(), Some(E_NOINTERFACE));
}

#[test]
fn the_last_release_drops_the_value_exactly_once() {
    let (cf, drops) = factory();
    let copies: Vec<_> = (0..5).map(|_| cf.clone()).collect();
    let malloc: ComPtr<IMalloc> = cf.cast().unwrap();
    drop(copies);
    drop(cf);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "IMalloc still holds it");
    // SAFETY: reading the count via AddRef/Release pairs: +1 then back.
    let vtbl = malloc.vtable();
    let after_add = unsafe { (vtbl.base__.AddRef)(malloc.as_raw()) };
    assert_eq!(after_add, 2);
    let after_release = unsafe { (vtbl.base__.Release)(malloc.as_raw()) };
    assert_eq!(after_release, 1);
    drop(malloc);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn panics_become_failure_codes_not_unwinds() {
    let (cf, _) = factory();
    let result = cf.create_instance::<IUnknown>(None);
    assert_eq!(result.err(), Some(E_UNEXPECTED));
    let malloc: ComPtr<IMalloc> = cf.cast().unwrap();
    // A method that does not return HRESULT answers its zero value.
    assert!(malloc.alloc(13).is_null());
    let block = malloc.alloc(32);
    assert!(!block.is_null());
    // SAFETY: the block came from this allocator.
    unsafe { malloc.free(block) };
    // The object is still usable after a panic.
    assert_eq!(cf.lock_server(1), Ok(()));
}

#[test]
fn the_task_imalloc_is_one_object_and_shares_the_heap() {
    let a = co_get_malloc();
    let b = co_get_malloc();
    assert_eq!(a.as_raw(), b.as_raw());
    let block = a.alloc(100);
    assert!(!block.is_null());
    // SAFETY: `block` is a live task-allocator block.
    unsafe {
        assert_eq!(a.get_size(block), 100);
        assert_eq!(a.did_alloc(block), 1);
        let bigger = a.realloc(block, 5000);
        assert_eq!(b.get_size(bigger), 5000);
        // Freed through the C API: same heap.
        CoTaskMemFree(bigger);
    }
    drop(a);
    drop(b);
    // Released twice; still alive and usable.
    let c = co_get_malloc();
    let block = c.alloc(1);
    // SAFETY: a live block.
    unsafe { c.free(block) };
}

#[test]
fn co_get_malloc_checks_its_arguments() {
    let mut out: *mut core::ffi::c_void = core::ptr::null_mut();
    // SAFETY: writable out pointer.
    assert_eq!(unsafe { CoGetMalloc(MEMCTX_TASK, &mut out) }, S_OK);
    // SAFETY: CoGetMalloc returned an owned IMalloc pointer.
    let owned = unsafe { ComPtr::<IMalloc>::from_raw(out) }.unwrap();
    assert_eq!(owned.as_raw(), co_get_malloc().as_raw());
    // SAFETY: as above.
    assert_eq!(
        unsafe { CoGetMalloc(2, &mut out) },
        comidl_runtime::E_INVALIDARG
    );
    assert!(out.is_null());
    // SAFETY: NULL out pointer is rejected, not written.
    assert_eq!(
        unsafe { CoGetMalloc(MEMCTX_TASK, core::ptr::null_mut()) },
        comidl_runtime::E_POINTER
    );
    assert_eq!(
        <IMalloc as Interface>::IID.to_string(),
        "{00000002-0000-0000-C000-000000000046}"
    );
}
