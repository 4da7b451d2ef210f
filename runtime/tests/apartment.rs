//! Library initialisation (SEMANTICS.md, "Creation"; apartment.rs): CoInitializeEx
//! counting per thread, the concurrency model a thread picks, argument checks, the
//! implicit multithreaded apartment, and what activation answers on a thread that may not
//! use COM.
//!
//! The implicit multithreaded apartment is process-wide state: while any thread is in the
//! MTA, every thread that never initialised counts as initialised. So every check here runs
//! in one `#[test]`, step after step, in this test binary of its own: nothing else in the
//! process initialises COM behind its back.

use core::ffi::c_void;
use std::sync::mpsc;
use std::thread;

use comidl_runtime::apartment::{COINIT_DISABLE_OLE1DDE, COINIT_SPEED_OVER_MEMORY};
use comidl_runtime::{
    Apartment, BOOL, CLSCTX_INPROC_SERVER, CO_E_NOTINITIALIZED, COINIT_APARTMENTTHREADED,
    COINIT_MULTITHREADED, ClassFactory, ClassInfo, CoCreateInstance, CoGetClassObject,
    CoInitialize, CoInitializeEx, CoRegisterClassObject, CoResumeClassObjects, CoRevokeClassObject,
    CoUninitialize, ComInit, ComPtr, Creatable, E_INVALIDARG, GUID, IClassFactory,
    IClassFactory_Impl, IID, IUnknown, Interface, REGCLS_MULTIPLEUSE, RPC_E_CHANGED_MODE, Result,
    S_FALSE, S_OK, current_apartment, get_class_object, register_class_object,
};

/// The class the activation checks create (never in any registry: it is only ever found
/// through `CoRegisterClassObject`).
const CLSID_THING: GUID = GUID::from_u128(0x5e2f_0a61_3c4d_4b1e_9a70_11aa_22bb_0001);
static CLASS_THING: ClassInfo = ClassInfo::new(CLSID_THING, "Thing");

/// A creatable class with one interface whose methods do nothing interesting.
struct Thing;

comidl_runtime::implement!(Thing: IClassFactory);

impl IClassFactory_Impl for Thing {
    fn create_instance(&self, _outer: Option<&IUnknown>, _riid: &IID) -> Result<*mut c_void> {
        Err(comidl_runtime::E_NOTIMPL)
    }

    fn lock_server(&self, _lock: BOOL) -> Result<()> {
        Ok(())
    }
}

impl Creatable for Thing {
    const CLASS: &'static ClassInfo = &CLASS_THING;
    fn create() -> Result<Thing> {
        Ok(Thing)
    }
}

/// Runs `body` on a new thread and waits for it, passing its panic (a failed assertion)
/// on with its own message.
fn on_new_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    match thread::spawn(body).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `CoGetClassObject(CLSID_THING, INPROC, IClassFactory)` on this thread.
fn raw_get_class_object() -> (comidl_runtime::HRESULT, *mut c_void) {
    let mut out: *mut c_void = 8 as *mut c_void;
    // SAFETY: valid GUIDs and a writable out pointer; no COSERVERINFO.
    let hr = unsafe {
        CoGetClassObject(
            &CLSID_THING,
            CLSCTX_INPROC_SERVER,
            core::ptr::null_mut(),
            &IClassFactory::IID,
            &mut out,
        )
    };
    (hr, out)
}

/// `CoCreateInstance(CLSID_THING, INPROC, IClassFactory)` on this thread.
fn raw_create_instance() -> (comidl_runtime::HRESULT, *mut c_void) {
    let mut out: *mut c_void = 8 as *mut c_void;
    // SAFETY: valid GUIDs, no outer, a writable out pointer.
    let hr = unsafe {
        CoCreateInstance(
            &CLSID_THING,
            core::ptr::null_mut(),
            CLSCTX_INPROC_SERVER,
            &IClassFactory::IID,
            &mut out,
        )
    };
    (hr, out)
}

/// `CoRegisterClassObject(CLSID_THING, object, INPROC, MULTIPLEUSE)` on this thread.
fn raw_register(object: &ComPtr<IUnknown>) -> (comidl_runtime::HRESULT, u32) {
    let mut cookie = 0xDEAD_BEEF_u32;
    // SAFETY: a valid CLSID, a live IUnknown and a writable cookie.
    let hr = unsafe {
        CoRegisterClassObject(
            &CLSID_THING,
            object.as_raw(),
            CLSCTX_INPROC_SERVER,
            REGCLS_MULTIPLEUSE,
            &mut cookie,
        )
    };
    (hr, cookie)
}

/// Releases an interface pointer a successful call handed over.
fn release(raw: *mut c_void) {
    // SAFETY: `raw` carries one reference the caller owns.
    drop(unsafe { ComPtr::<IUnknown>::from_raw(raw) }.expect("a successful call gives a pointer"));
}

/// Asserts that this thread may not use COM: every activation entry point answers
/// CO_E_NOTINITIALIZED and hands out nothing. `cookie` is a live registration that revoking
/// must not touch.
fn assert_refused(cookie: u32) {
    assert_eq!(current_apartment(), None);
    assert_eq!(
        comidl_runtime::apartment::require_initialised(),
        Err(CO_E_NOTINITIALIZED)
    );
    let (hr, out) = raw_get_class_object();
    assert_eq!(hr, CO_E_NOTINITIALIZED, "CoGetClassObject");
    assert!(out.is_null(), "CoGetClassObject clears its out pointer");
    let (hr, out) = raw_create_instance();
    assert_eq!(hr, CO_E_NOTINITIALIZED, "CoCreateInstance");
    assert!(out.is_null(), "CoCreateInstance clears its out pointer");
    let factory = ClassFactory::<Thing>::new();
    let (hr, new_cookie) = raw_register(&factory);
    assert_eq!(hr, CO_E_NOTINITIALIZED, "CoRegisterClassObject");
    assert_eq!(new_cookie, 0, "a refused registration hands out no cookie");
    assert_eq!(
        CoRevokeClassObject(cookie),
        CO_E_NOTINITIALIZED,
        "CoRevokeClassObject"
    );
    assert_eq!(CoResumeClassObjects(), CO_E_NOTINITIALIZED);
    assert_eq!(
        get_class_object::<IClassFactory>(&CLSID_THING, CLSCTX_INPROC_SERVER).err(),
        Some(CO_E_NOTINITIALIZED)
    );
    assert_eq!(
        register_class_object(
            &CLSID_THING,
            &factory,
            CLSCTX_INPROC_SERVER,
            REGCLS_MULTIPLEUSE
        )
        .err(),
        Some(CO_E_NOTINITIALIZED)
    );
}

/// Asserts that this thread can register, find, create and revoke a class object.
fn assert_activation_works() {
    let factory = ClassFactory::<Thing>::new();
    let (hr, cookie) = raw_register(&factory);
    assert_eq!(hr, S_OK, "CoRegisterClassObject");
    assert_ne!(cookie, 0);
    let (hr, out) = raw_get_class_object();
    assert_eq!(hr, S_OK, "CoGetClassObject");
    release(out);
    let (hr, out) = raw_create_instance();
    assert_eq!(hr, S_OK, "CoCreateInstance");
    release(out);
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
}

/// The first `CoInitializeEx` answers S_OK, later ones with the same model S_FALSE, the
/// other model RPC_E_CHANGED_MODE (not counted); bad arguments E_INVALIDARG (not counted);
/// each success needs its `CoUninitialize`.
fn counting_in_the_multithreaded_apartment() {
    const N: usize = 5;
    assert_eq!(current_apartment(), None);
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
        S_OK
    );
    assert_eq!(current_apartment(), Some(Apartment::MultiThreaded));
    for _ in 1..N - 1 {
        assert_eq!(
            CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
            S_FALSE
        );
    }
    // The flags that only tune the apartment are accepted: success number N.
    assert_eq!(
        CoInitializeEx(
            core::ptr::null_mut(),
            COINIT_MULTITHREADED | COINIT_DISABLE_OLE1DDE | COINIT_SPEED_OVER_MEMORY
        ),
        S_FALSE
    );
    // Failures, none of which counts.
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_APARTMENTTHREADED),
        RPC_E_CHANGED_MODE
    );
    assert_eq!(CoInitialize(core::ptr::null_mut()), RPC_E_CHANGED_MODE);
    assert_eq!(
        ComInit::apartment_threaded().err(),
        Some(RPC_E_CHANGED_MODE),
        "ComInit reports the failure and makes no guard"
    );
    let mut reserved = 0u32;
    let reserved = core::ptr::from_mut(&mut reserved).cast::<c_void>();
    assert_eq!(CoInitializeEx(reserved, COINIT_MULTITHREADED), E_INVALIDARG);
    assert_eq!(CoInitializeEx(core::ptr::null_mut(), 0x80), E_INVALIDARG);
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED | 0x1_0000),
        E_INVALIDARG
    );
    assert_eq!(current_apartment(), Some(Apartment::MultiThreaded));
    // N successes: after N - 1 uninitialisations still initialised, after N not.
    for undone in 1..N {
        CoUninitialize();
        assert_eq!(
            current_apartment(),
            Some(Apartment::MultiThreaded),
            "{undone} of {N} undone"
        );
        assert_activation_works();
    }
    CoUninitialize();
    assert_refused(0);
    // One CoUninitialize too many is ignored; the next CoInitializeEx is a first one again.
    CoUninitialize();
    assert_eq!(current_apartment(), None);
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
        S_OK
    );
    CoUninitialize();
    assert_eq!(current_apartment(), None);
}

/// `CoInitialize` makes the thread a single-threaded apartment, with the same counting;
/// a single-threaded apartment does not make other threads initialised.
fn counting_in_a_single_threaded_apartment() {
    assert_eq!(CoInitialize(core::ptr::null_mut()), S_OK);
    assert_eq!(current_apartment(), Some(Apartment::SingleThreaded));
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_APARTMENTTHREADED),
        S_FALSE
    );
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
        RPC_E_CHANGED_MODE
    );
    assert_eq!(ComInit::multithreaded().err(), Some(RPC_E_CHANGED_MODE));
    let mut reserved = 0u32;
    let reserved = core::ptr::from_mut(&mut reserved).cast::<c_void>();
    assert_eq!(CoInitialize(reserved), E_INVALIDARG);
    assert_activation_works();
    // No MTA exists: another thread that never initialised may not use COM, and its
    // refused CoRevokeClassObject leaves this thread's registration alone.
    let factory = ClassFactory::<Thing>::new();
    let (hr, cookie) = raw_register(&factory);
    assert_eq!(hr, S_OK);
    drop(factory);
    on_new_thread(move || assert_refused(cookie));
    let (hr, out) = raw_create_instance();
    assert_eq!(hr, S_OK, "the registration survived the refused revoke");
    release(out);
    assert_eq!(CoRevokeClassObject(cookie), S_OK);
    CoUninitialize();
    assert_eq!(current_apartment(), Some(Apartment::SingleThreaded));
    CoUninitialize();
    assert_eq!(current_apartment(), None);
    // The guard: one initialisation, undone when dropped.
    {
        let _com = ComInit::apartment_threaded().expect("first initialisation");
        assert_eq!(current_apartment(), Some(Apartment::SingleThreaded));
    }
    assert_refused(0);
}

/// Thread A joins the MTA; this thread, never initialised, is in the implicit MTA and may
/// activate; once A leaves, it may not any more.
fn the_implicit_multithreaded_apartment() {
    let (to_a, a_inbox) = mpsc::channel::<()>();
    let (a_says, from_a) = mpsc::channel::<Option<Apartment>>();
    let a = thread::spawn(move || {
        let com = ComInit::multithreaded().expect("A joins the MTA");
        a_says.send(current_apartment()).unwrap();
        a_inbox.recv().unwrap();
        drop(com);
        a_says.send(current_apartment()).unwrap();
    });
    assert_eq!(from_a.recv().unwrap(), Some(Apartment::MultiThreaded));

    assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));
    assert_eq!(
        comidl_runtime::apartment::require_initialised(),
        Ok(Apartment::ImplicitMultiThreaded)
    );
    assert_activation_works();
    // Another thread that never initialised is in it as well.
    on_new_thread(|| {
        assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));
        assert_activation_works();
    });
    // A CoUninitialize it never earned takes nobody out of the MTA.
    CoUninitialize();
    assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));
    // A thread in the implicit MTA may still make itself an STA; its own model wins.
    assert_eq!(CoInitialize(core::ptr::null_mut()), S_OK);
    assert_eq!(current_apartment(), Some(Apartment::SingleThreaded));
    CoUninitialize();
    assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));
    // Joining the MTA explicitly is a first initialisation (S_OK), not an S_FALSE.
    assert_eq!(
        CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
        S_OK
    );
    assert_eq!(current_apartment(), Some(Apartment::MultiThreaded));
    CoUninitialize();
    assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));

    to_a.send(()).unwrap();
    assert_eq!(from_a.recv().unwrap(), None, "A left");
    a.join().unwrap();
    assert_refused(0);
}

/// A thread that ends without `CoUninitialize` leaves its apartment (its thread-local state
/// does it): the MTA does not outlive its last thread, and it counts that thread once.
fn threads_that_exit_initialised() {
    on_new_thread(|| {
        assert_eq!(
            CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
            S_OK
        );
        assert_eq!(
            CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
            S_FALSE
        );
        assert_eq!(current_apartment(), Some(Apartment::MultiThreaded));
        // Ends without CoUninitialize.
    });
    assert_refused(0);

    on_new_thread(|| {
        assert_eq!(CoInitialize(core::ptr::null_mut()), S_OK);
        // Ends without CoUninitialize.
    });
    assert_refused(0);

    // With A in the MTA, a thread that joins twice and exits takes only itself out.
    let (to_a, a_inbox) = mpsc::channel::<()>();
    let (a_says, from_a) = mpsc::channel::<()>();
    let a = thread::spawn(move || {
        let com = ComInit::multithreaded().expect("A joins the MTA");
        a_says.send(()).unwrap();
        a_inbox.recv().unwrap();
        drop(com);
    });
    from_a.recv().unwrap();
    on_new_thread(|| {
        assert_eq!(
            CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
            S_OK
        );
        assert_eq!(
            CoInitializeEx(core::ptr::null_mut(), COINIT_MULTITHREADED),
            S_FALSE
        );
    });
    // A thread in the implicit MTA that exits takes nobody out.
    on_new_thread(|| {
        assert_eq!(current_apartment(), Some(Apartment::ImplicitMultiThreaded));
    });
    assert_eq!(
        current_apartment(),
        Some(Apartment::ImplicitMultiThreaded),
        "A is still in the MTA"
    );
    assert_activation_works();
    to_a.send(()).unwrap();
    a.join().unwrap();
    assert_refused(0);
}

#[test]
fn initialisation_rules() {
    // Nothing in this process has initialised COM yet.
    assert_eq!(current_apartment(), None);
    assert_refused(0);
    on_new_thread(|| assert_refused(0));

    on_new_thread(counting_in_the_multithreaded_apartment);
    assert_refused(0);
    on_new_thread(counting_in_a_single_threaded_apartment);
    assert_refused(0);
    the_implicit_multithreaded_apartment();
    assert_refused(0);
    threads_that_exit_initialised();
    assert_refused(0);
}
