//! Class objects and activation inside one process, with no server module (SEMANTICS.md,
//! "Creation: class objects"): what `ClassFactory<C>` answers, licensing through
//! IClassFactory2, `CoRegisterClassObject` and its REGCLS_* flags, `CoGetClassObject`,
//! `CoCreateInstance(Ex)`, the failures and their messages, and the CLSID string functions.
//!
//! Every test initialises COM on its own thread and uses the same empty class registry
//! (set once for the process), so only what the tests register is found. Each test
//! registers its classes under CLSIDs of its own (fresh random ones), so tests running side
//! by side do not see each other's registrations. Objects count themselves per thread:
//! every object of a test lives and dies on that test's thread.

use core::ffi::c_void;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use comidl_runtime::activation::CO_S_NOTALLINTERFACES;
use comidl_runtime::clsid::raw;
use comidl_runtime::host::take_error_message;
use comidl_runtime::{
    BOOL, BSTR, CLASS_E_NOAGGREGATION, CLASS_E_NOTLICENSED, CLSCTX_ALL, CLSCTX_INPROC_SERVER,
    CLSCTX_LOCAL_SERVER, CLSCTX_REMOTE_SERVER, CO_E_CLASSSTRING, CO_E_OBJNOTREG, ClassFactory,
    ClassInfo, CoCreateInstance, CoCreateInstanceEx, CoGetClassObject, CoRegisterClassObject,
    CoResumeClassObjects, CoRevokeClassObject, CoTaskMemFree, ComInit, ComObject, ComPtr,
    Creatable, E_INVALIDARG, E_NOINTERFACE, E_POINTER, GUID, HRESULT, IClassFactory,
    IClassFactory_Impl, IClassFactory2, IID, IMalloc, IMalloc_Impl, IUnknown, Interface, License,
    MULTI_QI, PVOID, REGCLS_MULTI_SEPARATE, REGCLS_MULTIPLEUSE, REGCLS_SINGLEUSE, REGCLS_SUSPENDED,
    REGDB_E_CLASSNOTREG, Result, S_OK, clsid_from_string, co_create_guid, create_instance,
    get_class_object, register_class_object,
};

/// An interface nothing here implements.
const IID_NOBODY: GUID = GUID::from_u128(0x3b0d_9c2e_77a4_4e51_b6d2_0c5e_0000_1111);

mod common;
use common::{Tracker, live};

// ---------------------------------------------------------------------------------------
// Classes.

/// IMalloc that hands out task blocks.
macro_rules! task_malloc {
    ($class:ty) => {
        impl IMalloc_Impl for $class {
            fn alloc(&self, cb: usize) -> *mut c_void {
                comidl_runtime::CoTaskMemAlloc(cb)
            }
            fn realloc(&self, pv: *mut c_void, cb: usize) -> *mut c_void {
                // SAFETY: the tests only pass blocks of this allocator.
                unsafe { comidl_runtime::CoTaskMemRealloc(pv, cb) }
            }
            fn free(&self, pv: *mut c_void) {
                // SAFETY: the tests only pass blocks of this allocator.
                unsafe { CoTaskMemFree(pv) }
            }
            fn get_size(&self, _pv: *mut c_void) -> usize {
                usize::MAX
            }
            fn did_alloc(&self, _pv: *mut c_void) -> i32 {
                -1
            }
            fn heap_minimize(&self) {}
        }
    };
}

/// A plain creatable class.
struct Widget {
    _tracker: Tracker,
}
comidl_runtime::implement!(Widget: IMalloc);
task_malloc!(Widget);

static CLASS_WIDGET: ClassInfo = ClassInfo::new(
    GUID::from_u128(0x3b0d_9c2e_77a4_4e51_b6d2_0c5e_0000_0001),
    "Widget",
);

impl Creatable for Widget {
    const CLASS: &'static ClassInfo = &CLASS_WIDGET;
    fn create() -> Result<Widget> {
        Ok(Widget {
            _tracker: Tracker::new("Widget"),
        })
    }
}

/// Whether this machine holds the licence of `Licensed` (only the licensing test changes it).
static MACHINE_LICENSED: AtomicBool = AtomicBool::new(false);

fn machine_licensed() -> bool {
    MACHINE_LICENSED.load(Ordering::SeqCst)
}

const LICENSE_KEY: &str = "widget-runtime-key-7431";
static LICENSE: License = License {
    key: LICENSE_KEY,
    machine_licensed,
};

/// A licensed class.
struct Licensed {
    _tracker: Tracker,
}
comidl_runtime::implement!(Licensed: IMalloc);
task_malloc!(Licensed);

static CLASS_LICENSED: ClassInfo = ClassInfo::new(
    GUID::from_u128(0x3b0d_9c2e_77a4_4e51_b6d2_0c5e_0000_0002),
    "Licensed",
);

impl Creatable for Licensed {
    const CLASS: &'static ClassInfo = &CLASS_LICENSED;
    const LICENSE: Option<&'static License> = Some(&LICENSE);
    fn create() -> Result<Licensed> {
        Ok(Licensed {
            _tracker: Tracker::new("Licensed"),
        })
    }
}

/// A hand-written class object for Widget that counts its own life.
struct CountingFactory {
    _tracker: Tracker,
}
comidl_runtime::implement!(CountingFactory: IClassFactory);

impl IClassFactory_Impl for CountingFactory {
    fn create_instance(&self, outer: Option<&IUnknown>, riid: &IID) -> Result<PVOID> {
        comidl_runtime::class::create_instance::<Widget>(outer, riid)
    }
    fn lock_server(&self, _lock: BOOL) -> Result<()> {
        Ok(())
    }
}

fn counting_factory() -> ComPtr<IUnknown> {
    ComObject::new_class_object(CountingFactory {
        _tracker: Tracker::new("CountingFactory"),
    })
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Makes the process use one empty class registry directory (set once, the same for every
/// test of this file) and initialises COM on this thread.
fn setup() -> ComInit {
    common::use_empty_registry("class_objects");
    ComInit::multithreaded().expect("COM initialises")
}

/// A CLSID nobody else uses.
fn fresh_clsid() -> GUID {
    co_create_guid().expect("a random GUID")
}

/// `CoGetClassObject(clsid, context, IClassFactory)`: the HRESULT and what was written out
/// (the out pointer starts as junk, so a failure must clear it). A pointer handed out is
/// released at once (its identity is still comparable while the table holds the object).
fn raw_get(clsid: &GUID, context: u32) -> (HRESULT, *mut c_void) {
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: valid GUIDs and a writable out pointer; no COSERVERINFO.
    let hr = unsafe {
        CoGetClassObject(
            clsid,
            context,
            core::ptr::null_mut(),
            &IClassFactory::IID,
            &mut out,
        )
    };
    // SAFETY: on success `out` carries a reference we give back; NULL otherwise.
    drop(unsafe { ComPtr::<IUnknown>::from_raw(out) });
    (hr, out)
}

/// `CoCreateInstance(clsid, no outer, context, iid)`: the HRESULT and what was written out.
/// An object handed out is released at once.
fn raw_create(clsid: &GUID, context: u32, iid: &GUID) -> (HRESULT, *mut c_void) {
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: valid GUIDs and a writable out pointer.
    let hr = unsafe { CoCreateInstance(clsid, core::ptr::null_mut(), context, iid, &mut out) };
    // SAFETY: on success `out` carries a reference we give back; NULL otherwise.
    drop(unsafe { ComPtr::<IUnknown>::from_raw(out) });
    (hr, out)
}

/// `CoRegisterClassObject`, raw: the HRESULT and the cookie.
fn raw_register(
    clsid: &GUID,
    object: &ComPtr<IUnknown>,
    context: u32,
    flags: u32,
) -> (HRESULT, u32) {
    let mut cookie = 0xDEAD_BEEF_u32;
    // SAFETY: a valid CLSID, a live IUnknown and a writable cookie.
    let hr = unsafe { CoRegisterClassObject(clsid, object.as_raw(), context, flags, &mut cookie) };
    (hr, cookie)
}

/// The IClassFactory pointer of a class object (what `raw_get` hands out for it).
fn factory_of(object: &ComPtr<IUnknown>) -> *mut c_void {
    object.cast::<IClassFactory>().unwrap().as_raw()
}

/// The wide NUL-terminated form of `text`.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

// ---------------------------------------------------------------------------------------
// Tests.

#[test]
fn class_factories_answer_iclassfactory2_only_for_licensed_classes() {
    let _com = setup();
    let plain = ClassFactory::<Widget>::new();
    let factory: ComPtr<IClassFactory> = plain.cast().unwrap();
    assert_eq!(factory.identity().unwrap(), plain);
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: a live object, a valid IID and a writable out pointer.
    let hr = unsafe {
        (factory.vtable().base__.QueryInterface)(factory.as_raw(), &IClassFactory2::IID, &mut out)
    };
    assert_eq!(
        hr, E_NOINTERFACE,
        "an unlicensed class has no IClassFactory2"
    );
    assert!(out.is_null());
    assert_eq!(plain.cast::<IMalloc>().err(), Some(E_NOINTERFACE));
    assert_eq!(plain.cast::<IClassFactory2>().err(), Some(E_NOINTERFACE));
    // It makes Widgets, which are not class objects.
    let widget: ComPtr<IMalloc> = factory.create_instance(None).unwrap();
    assert_eq!(live("Widget"), 1);
    assert_ne!(widget.identity().unwrap(), plain);
    assert_eq!(factory.lock_server(1), Ok(()));
    assert_eq!(factory.lock_server(0), Ok(()));
    drop(widget);
    assert_eq!(live("Widget"), 0);

    let licensed = ClassFactory::<Licensed>::new();
    let factory2: ComPtr<IClassFactory2> = licensed.cast().unwrap();
    let factory: ComPtr<IClassFactory> = licensed.cast().unwrap();
    assert_eq!(factory2.identity().unwrap(), licensed);
    assert_eq!(factory.identity().unwrap(), licensed);
    let back: ComPtr<IClassFactory2> = factory.cast().unwrap();
    assert_eq!(back, factory2);
    assert_eq!(licensed.cast::<IMalloc>().err(), Some(E_NOINTERFACE));
}

#[test]
fn licensing_follows_the_machine_licence() {
    let _com = setup();
    let clsid = fresh_clsid();
    let cookie = register_class_object(
        &clsid,
        &ClassFactory::<Licensed>::new(),
        CLSCTX_INPROC_SERVER,
        REGCLS_MULTIPLEUSE,
    )
    .unwrap();
    let factory: ComPtr<IClassFactory2> = get_class_object(&clsid, CLSCTX_INPROC_SERVER).unwrap();
    let right = BSTR::from(LICENSE_KEY);
    let wrong = BSTR::from("not-the-key");

    // An unlicensed machine.
    MACHINE_LICENSED.store(false, Ordering::SeqCst);
    assert_eq!(
        factory.create_instance::<IMalloc>(None).err(),
        Some(CLASS_E_NOTLICENSED)
    );
    let (hr, out) = raw_create(&clsid, CLSCTX_INPROC_SERVER, &IMalloc::IID);
    assert_eq!(hr, CLASS_E_NOTLICENSED, "CoCreateInstance");
    assert!(out.is_null());
    let info = factory.get_lic_info().unwrap();
    assert_eq!(info.cbLicInfo as usize, core::mem::size_of_val(&info));
    assert_eq!(info.fRuntimeKeyAvail, 0, "no runtime key to hand out");
    assert_eq!(info.fLicVerified, 0, "the machine licence is not verified");
    assert_eq!(factory.request_lic_key(0).err(), Some(CLASS_E_NOTLICENSED));
    let mut key: *mut u16 = 0x8 as *mut u16;
    // SAFETY: a live object and a writable out pointer.
    let hr = unsafe { (factory.vtable().RequestLicKey)(factory.as_raw(), 0, &mut key) };
    assert_eq!(hr, CLASS_E_NOTLICENSED);
    assert!(key.is_null(), "a refused RequestLicKey writes NULL");
    assert_eq!(
        factory
            .create_instance_lic::<IMalloc>(None, None, &wrong)
            .err(),
        Some(CLASS_E_NOTLICENSED)
    );
    assert_eq!(
        factory
            .create_instance_lic::<IMalloc>(None, None, &BSTR::default())
            .err(),
        Some(CLASS_E_NOTLICENSED),
        "an empty key is a wrong key"
    );
    assert_eq!(live("Licensed"), 0, "nothing was created");
    let object = factory
        .create_instance_lic::<IMalloc>(None, None, &right)
        .expect("the runtime key opens an unlicensed machine");
    assert_eq!(live("Licensed"), 1);
    let block = object.alloc(4);
    assert!(!block.is_null());
    // SAFETY: a block of this allocator.
    unsafe { object.free(block) };
    drop(object);
    // CreateInstanceLic keeps the other rules: a reserved pointer, aggregation.
    let other = ClassFactory::<Widget>::new();
    assert_eq!(
        factory
            .create_instance_lic::<IMalloc>(None, Some(&other), &right)
            .err(),
        Some(E_INVALIDARG)
    );
    assert_eq!(
        factory
            .create_instance_lic::<IMalloc>(Some(&other), None, &right)
            .err(),
        Some(CLASS_E_NOAGGREGATION)
    );

    // A licensed machine.
    MACHINE_LICENSED.store(true, Ordering::SeqCst);
    let object: ComPtr<IMalloc> = factory.create_instance(None).unwrap();
    drop(object);
    let (hr, _) = raw_create(&clsid, CLSCTX_INPROC_SERVER, &IMalloc::IID);
    assert_eq!(hr, S_OK, "CoCreateInstance");
    let info = factory.get_lic_info().unwrap();
    assert_eq!(info.fRuntimeKeyAvail, 1);
    assert_eq!(info.fLicVerified, 1);
    let key = factory.request_lic_key(0).unwrap();
    assert_eq!(key, LICENSE_KEY);
    assert_eq!(factory.request_lic_key(1).err(), Some(E_INVALIDARG));
    // The key handed out works on an unlicensed machine.
    MACHINE_LICENSED.store(false, Ordering::SeqCst);
    let object: ComPtr<IMalloc> = factory.create_instance_lic(None, None, &key).unwrap();
    drop(object);
    assert_eq!(live("Licensed"), 0);

    drop(factory);
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
}

#[test]
fn multiple_use_serves_every_activation() {
    let _com = setup();
    let clsid = fresh_clsid();
    let object = ClassFactory::<Widget>::new();
    let (hr, cookie) = raw_register(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_MULTIPLEUSE);
    assert_eq!(hr, S_OK);
    assert_ne!(cookie, 0);
    for _ in 0..5 {
        let (hr, out) = raw_get(&clsid, CLSCTX_INPROC_SERVER);
        assert_eq!(hr, S_OK);
        assert_eq!(
            out,
            factory_of(&object),
            "the registered class object itself"
        );
        let (hr, out) = raw_create(&clsid, CLSCTX_INPROC_SERVER, &IMalloc::IID);
        assert_eq!(hr, S_OK);
        assert!(!out.is_null());
        let widget = create_instance::<IMalloc>(&clsid, CLSCTX_ALL).unwrap();
        assert_eq!(live("Widget"), 1);
        drop(widget);
    }
    // Any context that includes the registered one finds it.
    let found: ComPtr<IClassFactory> =
        get_class_object(&clsid, CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER).unwrap();
    assert_eq!(found.identity().unwrap(), object);
    drop(found);
    // One it does not include does not.
    let (hr, out) = raw_get(&clsid, CLSCTX_LOCAL_SERVER);
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(out.is_null());
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
    assert_eq!(raw_get(&clsid, CLSCTX_INPROC_SERVER).0, REGDB_E_CLASSNOTREG);
    assert_eq!(live("Widget"), 0);
}

#[test]
fn single_use_serves_exactly_one_activation() {
    let _com = setup();
    let clsid = fresh_clsid();
    let object = counting_factory();
    let (hr, cookie) = raw_register(&clsid, &object, CLSCTX_LOCAL_SERVER, REGCLS_SINGLEUSE);
    assert_eq!(hr, S_OK);
    drop(object);
    // A single-use local registration does not serve in-process requests (and they do not
    // use it up).
    assert_eq!(
        raw_create(&clsid, CLSCTX_INPROC_SERVER, &IMalloc::IID).0,
        REGDB_E_CLASSNOTREG
    );
    let (hr, out) = raw_create(&clsid, CLSCTX_LOCAL_SERVER, &IMalloc::IID);
    assert_eq!(hr, S_OK, "the one activation");
    assert!(!out.is_null());
    let (hr, out) = raw_create(&clsid, CLSCTX_LOCAL_SERVER, &IMalloc::IID);
    assert_eq!(hr, REGDB_E_CLASSNOTREG, "used up");
    assert!(out.is_null());
    assert_eq!(raw_get(&clsid, CLSCTX_ALL).0, REGDB_E_CLASSNOTREG);
    assert_eq!(
        live("CountingFactory"),
        1,
        "still held by the table until revoked"
    );
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
    assert_eq!(live("CountingFactory"), 0);
    assert_eq!(live("Widget"), 0);

    // A get counts as the activation too.
    let object = counting_factory();
    let (hr, cookie) = raw_register(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_SINGLEUSE);
    assert_eq!(hr, S_OK);
    assert_eq!(raw_get(&clsid, CLSCTX_INPROC_SERVER).0, S_OK);
    assert_eq!(raw_get(&clsid, CLSCTX_INPROC_SERVER).0, REGDB_E_CLASSNOTREG);
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
    drop(object);
    assert_eq!(live("CountingFactory"), 0);
}

#[test]
fn suspended_registrations_wait_for_resume() {
    let _com = setup();
    let clsid = fresh_clsid();
    let object = ClassFactory::<Widget>::new();
    let (hr, cookie) = raw_register(
        &clsid,
        &object,
        CLSCTX_INPROC_SERVER,
        REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED,
    );
    assert_eq!(hr, S_OK);
    let (hr, out) = raw_get(&clsid, CLSCTX_INPROC_SERVER);
    assert_eq!(hr, REGDB_E_CLASSNOTREG, "hidden while suspended");
    assert!(out.is_null());
    assert_eq!(
        create_instance::<IMalloc>(&clsid, CLSCTX_INPROC_SERVER).err(),
        Some(REGDB_E_CLASSNOTREG)
    );
    assert_eq!(CoResumeClassObjects(), S_OK);
    let (hr, out) = raw_get(&clsid, CLSCTX_INPROC_SERVER);
    assert_eq!(hr, S_OK);
    assert_eq!(out, factory_of(&object));
    assert!(create_instance::<IMalloc>(&clsid, CLSCTX_INPROC_SERVER).is_ok());
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
}

#[test]
fn revoking_releases_the_table_reference_once() {
    let _com = setup();
    let clsid = fresh_clsid();
    let object = counting_factory();
    let cookie =
        register_class_object(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_MULTIPLEUSE).unwrap();
    drop(object);
    assert_eq!(live("CountingFactory"), 1, "the table holds a reference");
    let widget = create_instance::<IMalloc>(&clsid, CLSCTX_INPROC_SERVER).unwrap();
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
    assert_eq!(live("CountingFactory"), 0, "revoking released it");
    assert_eq!(live("Widget"), 1, "objects it made live on");
    drop(widget);
    assert_eq!(raw_get(&clsid, CLSCTX_INPROC_SERVER).0, REGDB_E_CLASSNOTREG);
    assert_eq!(
        CoRevokeClassObject(cookie),
        CO_E_OBJNOTREG,
        "a second revoke"
    );
    assert_eq!(
        CoRevokeClassObject(0),
        CO_E_OBJNOTREG,
        "a cookie never handed out"
    );

    // Two registrations of one object: each holds its own reference.
    let object = counting_factory();
    let first =
        register_class_object(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_MULTIPLEUSE).unwrap();
    let second =
        register_class_object(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_MULTIPLEUSE).unwrap();
    assert_ne!(first, second, "cookies are distinct");
    drop(object);
    assert_eq!(CoRevokeClassObject(first), S_OK);
    assert_eq!(live("CountingFactory"), 1);
    assert_eq!(
        raw_get(&clsid, CLSCTX_INPROC_SERVER).0,
        S_OK,
        "the other serves"
    );
    assert_eq!(CoRevokeClassObject(second), S_OK);
    assert_eq!(live("CountingFactory"), 0);
}

#[test]
fn a_local_multiple_use_registration_also_serves_in_process() {
    let _com = setup();
    let multi = fresh_clsid();
    let separate = fresh_clsid();
    let object = ClassFactory::<Widget>::new();
    let (hr, multi_cookie) = raw_register(&multi, &object, CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE);
    assert_eq!(hr, S_OK);
    let (hr, separate_cookie) = raw_register(
        &separate,
        &object,
        CLSCTX_LOCAL_SERVER,
        REGCLS_MULTI_SEPARATE,
    );
    assert_eq!(hr, S_OK);

    // REGCLS_MULTIPLEUSE for CLSCTX_LOCAL_SERVER also means CLSCTX_INPROC_SERVER.
    assert_eq!(
        raw_get(&multi, CLSCTX_INPROC_SERVER),
        (S_OK, factory_of(&object))
    );
    assert_eq!(
        raw_get(&multi, CLSCTX_LOCAL_SERVER),
        (S_OK, factory_of(&object))
    );
    assert!(create_instance::<IMalloc>(&multi, CLSCTX_INPROC_SERVER).is_ok());
    // REGCLS_MULTI_SEPARATE serves only the context it names.
    let (hr, out) = raw_get(&separate, CLSCTX_INPROC_SERVER);
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(out.is_null());
    assert_eq!(
        create_instance::<IMalloc>(&separate, CLSCTX_INPROC_SERVER).err(),
        Some(REGDB_E_CLASSNOTREG)
    );
    assert_eq!(
        raw_get(&separate, CLSCTX_LOCAL_SERVER),
        (S_OK, factory_of(&object))
    );
    // Neither serves a remote-only request.
    assert_eq!(raw_get(&multi, CLSCTX_REMOTE_SERVER).0, REGDB_E_CLASSNOTREG);
    // MULTI_SEPARATE for the in-process context serves it.
    let (hr, inproc_cookie) = raw_register(
        &separate,
        &object,
        CLSCTX_INPROC_SERVER,
        REGCLS_MULTI_SEPARATE,
    );
    assert_eq!(hr, S_OK);
    assert_eq!(raw_get(&separate, CLSCTX_INPROC_SERVER).0, S_OK);

    for cookie in [multi_cookie, separate_cookie, inproc_cookie] {
        assert_eq!(CoRevokeClassObject(cookie), S_OK);
    }
    assert_eq!(live("Widget"), 0);
}

#[test]
fn co_create_instance_ex_answers_for_each_interface() {
    let _com = setup();
    let clsid = fresh_clsid();
    let cookie = register_class_object(
        &clsid,
        &ClassFactory::<Widget>::new(),
        CLSCTX_INPROC_SERVER,
        REGCLS_MULTIPLEUSE,
    )
    .unwrap();
    let junk = 0x8 as *mut c_void;
    let entries = |iids: &[&'static GUID]| -> Vec<MULTI_QI> {
        iids.iter()
            .map(|iid| MULTI_QI {
                pIID: *iid,
                pItf: junk,
                hr: HRESULT::from_u32(0x1234_5678),
            })
            .collect()
    };
    let run = |clsid: &GUID, results: &mut [MULTI_QI]| -> HRESULT {
        // SAFETY: a valid CLSID, no outer, no server info, `results.len()` writable entries
        // with valid IIDs.
        unsafe {
            CoCreateInstanceEx(
                clsid,
                core::ptr::null_mut(),
                CLSCTX_INPROC_SERVER,
                core::ptr::null_mut(),
                results.len() as u32,
                results.as_mut_ptr(),
            )
        }
    };
    /// Releases the interfaces handed out; checks they are one object.
    fn release_all(results: &[MULTI_QI]) {
        let identities: HashSet<usize> = results
            .iter()
            .filter(|r| !r.pItf.is_null())
            .map(|r| {
                // SAFETY: a successful entry carries a reference we own.
                let itf = unsafe { ComPtr::<IUnknown>::from_raw(r.pItf) }.unwrap();
                itf.identity().unwrap().as_raw() as usize
            })
            .collect();
        assert!(identities.len() <= 1, "one object behind every entry");
    }

    // All found.
    let mut results = entries(&[&IMalloc::IID, &IUnknown::IID]);
    assert_eq!(run(&clsid, &mut results), S_OK);
    for r in &results {
        assert_eq!(r.hr, S_OK);
        assert!(!r.pItf.is_null());
    }
    assert_eq!(live("Widget"), 1);
    release_all(&results);
    assert_eq!(live("Widget"), 0);

    // Some found.
    let mut results = entries(&[
        &IMalloc::IID,
        &IID_NOBODY,
        &IUnknown::IID,
        &IClassFactory::IID,
    ]);
    assert_eq!(run(&clsid, &mut results), CO_S_NOTALLINTERFACES);
    let expected = [S_OK, E_NOINTERFACE, S_OK, E_NOINTERFACE];
    for (r, hr) in results.iter().zip(expected) {
        assert_eq!(r.hr, hr);
        assert_eq!(r.pItf.is_null(), hr != S_OK, "a failed entry holds NULL");
    }
    release_all(&results);
    assert_eq!(live("Widget"), 0);

    // None found: E_NOINTERFACE, and the object made for nothing is gone.
    let mut results = entries(&[&IID_NOBODY, &IClassFactory2::IID]);
    assert_eq!(run(&clsid, &mut results), E_NOINTERFACE);
    for r in &results {
        assert_eq!(r.hr, E_NOINTERFACE);
        assert!(r.pItf.is_null());
    }
    assert_eq!(live("Widget"), 0);

    // An unregistered class: every entry carries the failure.
    let mut results = entries(&[&IMalloc::IID, &IUnknown::IID]);
    assert_eq!(run(&fresh_clsid(), &mut results), REGDB_E_CLASSNOTREG);
    for r in &results {
        assert_eq!(r.hr, REGDB_E_CLASSNOTREG);
        assert!(r.pItf.is_null());
    }

    // No entries.
    assert_eq!(run(&clsid, &mut []), E_INVALIDARG);
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
}

#[test]
fn an_unregistered_class_fails_with_a_message_naming_it() {
    let _com = setup();
    let clsid = fresh_clsid();
    let _ = take_error_message();
    let (hr, out) = raw_create(&clsid, CLSCTX_INPROC_SERVER, &IMalloc::IID);
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(out.is_null());
    let (recorded, message) = take_error_message().expect("a message for the failure");
    assert_eq!(recorded, REGDB_E_CLASSNOTREG);
    assert!(
        message.contains(&clsid.to_string()),
        "the message names {clsid}: {message}"
    );
    assert_eq!(take_error_message(), None, "taking the message clears it");
    // The same through the class object and the safe wrappers.
    let (hr, out) = raw_get(&clsid, CLSCTX_ALL);
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(out.is_null());
    let (_, message) = take_error_message().expect("a message for the failure");
    assert!(message.contains(&clsid.to_string()), "{message}");
    assert_eq!(
        get_class_object::<IClassFactory>(&clsid, CLSCTX_INPROC_SERVER).err(),
        Some(REGDB_E_CLASSNOTREG)
    );
    assert_eq!(
        create_instance::<IUnknown>(&clsid, CLSCTX_ALL).err(),
        Some(REGDB_E_CLASSNOTREG)
    );
}

#[test]
fn activation_checks_its_arguments() {
    let _com = setup();
    let clsid = fresh_clsid();
    let object = ClassFactory::<Widget>::new();
    let cookie =
        register_class_object(&clsid, &object, CLSCTX_INPROC_SERVER, REGCLS_MULTIPLEUSE).unwrap();
    // A context naming no server: even a registered class is not looked for.
    for context in [0, 0x400 /* CLSCTX_NO_CODE_DOWNLOAD, a modifier only */] {
        let (hr, out) = raw_get(&clsid, context);
        assert_eq!(hr, E_INVALIDARG, "CoGetClassObject, CLSCTX {context:#x}");
        assert!(out.is_null());
        let (hr, out) = raw_create(&clsid, context, &IMalloc::IID);
        assert_eq!(hr, E_INVALIDARG, "CoCreateInstance, CLSCTX {context:#x}");
        assert!(out.is_null());
        let (hr, cookie) = raw_register(&fresh_clsid(), &object, context, REGCLS_MULTIPLEUSE);
        assert_eq!(
            hr, E_INVALIDARG,
            "CoRegisterClassObject, CLSCTX {context:#x}"
        );
        assert_eq!(cookie, 0);
    }
    let _ = take_error_message();
    // NULL pointers.
    // SAFETY: NULL out pointer: rejected before anything is written.
    let hr = unsafe {
        CoGetClassObject(
            &clsid,
            CLSCTX_INPROC_SERVER,
            core::ptr::null_mut(),
            &IClassFactory::IID,
            core::ptr::null_mut(),
        )
    };
    assert_eq!(hr, E_POINTER);
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: NULL CLSID: rejected; `out` is writable.
    let hr = unsafe {
        CoGetClassObject(
            core::ptr::null(),
            CLSCTX_INPROC_SERVER,
            core::ptr::null_mut(),
            &IClassFactory::IID,
            &mut out,
        )
    };
    assert_eq!(hr, E_POINTER);
    assert!(out.is_null());
    // SAFETY: NULL object: rejected; the cookie is writable.
    let hr = unsafe {
        let mut cookie = 0;
        CoRegisterClassObject(
            &clsid,
            core::ptr::null_mut(),
            CLSCTX_INPROC_SERVER,
            REGCLS_MULTIPLEUSE,
            &mut cookie,
        )
    };
    assert_eq!(hr, E_POINTER);
    // Asking the class object for an interface it lacks.
    let (hr, out) = raw_create(&clsid, CLSCTX_INPROC_SERVER, &IID_NOBODY);
    assert_eq!(hr, E_NOINTERFACE);
    assert!(out.is_null());
    assert_eq!(live("Widget"), 0, "the object made for nothing is gone");
    assert_eq!(
        get_class_object::<IMalloc>(&clsid, CLSCTX_INPROC_SERVER).err(),
        Some(E_NOINTERFACE)
    );
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
}

#[test]
fn clsid_strings() {
    let _com = setup();
    // Neither a GUID nor a registered ProgID.
    for text in [
        "No.Such.ProgID",
        "{not-a-guid}",
        "{00000000-0000-0000-C000-00000000004}",
        "{00000000-0000-0000-C000-000000000046",
        "00000000-0000-0000-C000-000000000046",
    ] {
        assert_eq!(clsid_from_string(text), Err(CO_E_CLASSSTRING), "{text:?}");
    }
    // Braced GUIDs, either case.
    assert_eq!(
        clsid_from_string("{00000000-0000-0000-C000-000000000046}"),
        Ok(IUnknown::IID)
    );
    assert_eq!(
        clsid_from_string("{b196b28f-bab4-101a-b69c-00aa00341d07}"),
        Ok(IClassFactory2::IID)
    );
    // Round trips.
    for _ in 0..100 {
        let guid = fresh_clsid();
        let text = guid.to_string();
        assert_eq!(text.len(), 38);
        assert_eq!(text, guid.to_string());
        assert_eq!(text, text.to_ascii_uppercase());
        assert_eq!(clsid_from_string(&text), Ok(guid));
        assert_eq!(clsid_from_string(&text.to_ascii_lowercase()), Ok(guid));
        assert_eq!(GUID::parse(&text), Ok(guid));
        assert_eq!(text.parse::<GUID>(), Ok(guid));
    }
    // The C entry points: UTF-16 text, task-allocator strings.
    let guid = IClassFactory::IID;
    let mut text: *mut u16 = core::ptr::null_mut();
    // SAFETY: a valid GUID and a writable out pointer.
    assert_eq!(unsafe { raw::StringFromCLSID(&guid, &mut text) }, S_OK);
    // SAFETY: a NUL-terminated string of 38 units in a task block we own.
    let units = unsafe { core::slice::from_raw_parts(text, 39) };
    assert_eq!(units[38], 0);
    assert_eq!(
        String::from_utf16(&units[..38]).unwrap(),
        "{00000001-0000-0000-C000-000000000046}"
    );
    let mut parsed = GUID::zeroed();
    // SAFETY: NUL-terminated text and a writable GUID.
    assert_eq!(unsafe { raw::CLSIDFromString(text, &mut parsed) }, S_OK);
    assert_eq!(parsed, guid);
    // SAFETY: the block came from the task allocator and is ours.
    unsafe { CoTaskMemFree(text.cast()) };
    let bad = wide("{nope}");
    let mut parsed = IUnknown::IID;
    // SAFETY: NUL-terminated text and a writable GUID.
    let hr = unsafe { raw::CLSIDFromString(bad.as_ptr(), &mut parsed) };
    assert_eq!(hr, CO_E_CLASSSTRING);
    assert!(parsed.is_zero(), "a failure writes GUID_NULL");
    let mut buffer = [0u16; 39];
    // SAFETY: a valid GUID; the buffer holds at least the capacity given.
    let written = unsafe { raw::StringFromGUID2(&guid, buffer.as_mut_ptr(), 38) };
    assert_eq!(written, 0, "too small for the NUL");
    // SAFETY: as above.
    let written = unsafe { raw::StringFromGUID2(&guid, buffer.as_mut_ptr(), 39) };
    assert_eq!(written, 39);
    assert_eq!(buffer.to_vec(), wide(&guid.to_string()));
}

#[test]
fn co_create_guid_makes_distinct_version_4_guids() {
    let _com = setup();
    let mut seen = HashSet::new();
    for i in 0..2000 {
        let guid = if i % 2 == 0 {
            co_create_guid().unwrap()
        } else {
            let mut guid = GUID::zeroed();
            // SAFETY: a writable GUID.
            assert_eq!(unsafe { raw::CoCreateGuid(&mut guid) }, S_OK);
            guid
        };
        assert_eq!(guid.data3 >> 12, 4, "version 4: {guid}");
        assert_eq!(guid.data4[0] & 0xC0, 0x80, "RFC 4122 variant: {guid}");
        assert!(seen.insert(guid), "{guid} came twice");
    }
    // SAFETY: NULL is rejected, not written.
    let hr = unsafe { raw::CoCreateGuid(core::ptr::null_mut()) };
    assert_eq!(hr, E_POINTER);
}
