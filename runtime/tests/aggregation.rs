//! Identity and the QueryInterface rules (SEMANTICS.md, "IUnknown", "Objects with several
//! interfaces; reuse") on a single-interface object, a multi-interface object and
//! aggregates built with `implement!(...; aggregate field = CLSID)`: one identity (the
//! outer's), one reference count, the inner's interfaces reachable from the outer's and
//! back, CLASS_E_NOAGGREGATION where creation inside an aggregate is not allowed, and no
//! leak when an aggregate cannot be built.
//!
//! The inner classes are found through class objects registered in this process with
//! `CoRegisterClassObject`; each test registers its own and revokes them at its end, so
//! tests running side by side do not disturb each other. Objects count themselves per
//! thread: every object of a test lives and dies on that test's thread.

use core::ffi::c_void;

use comidl_runtime::host::take_error_message;
use comidl_runtime::{
    Aggregate, BOOL, BSTR, CLASS_E_NOAGGREGATION, CLSCTX_INPROC_SERVER, ClassFactory, ClassInfo,
    CoCreateInstance, CoRegisterClassObject, CoRevokeClassObject, ComInit, ComObject, ComPtr,
    Creatable, E_NOINTERFACE, E_NOTIMPL, E_UNEXPECTED, GUID, HRESULT, IClassFactory,
    IClassFactory_Impl, IClassFactory2, IClassFactory2_Impl, IID, IMalloc, IMalloc_Impl, IUnknown,
    IUnknown_Vtbl, Interface, LICINFO, PVOID, REGCLS_MULTIPLEUSE, REGDB_E_CLASSNOTREG, Result,
    S_OK, get_class_object,
};

const CLSID_INNER: GUID = GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_0001);
const CLSID_MIDDLE: GUID = GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_0002);
const CLSID_LONER: GUID = GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_0003);
/// Never registered anywhere.
const CLSID_MISSING: GUID = GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_00ff);
/// An interface nothing here implements.
const IID_NOBODY: GUID = GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_1111);

static CLASS_INNER: ClassInfo = ClassInfo::new(CLSID_INNER, "Inner");
static CLASS_MIDDLE: ClassInfo = ClassInfo::new(CLSID_MIDDLE, "Middle");
static CLASS_LONER: ClassInfo = ClassInfo::new(CLSID_LONER, "Loner");
static CLASS_OUTER: ClassInfo = ClassInfo::new(
    GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_0004),
    "Outer",
);
static CLASS_ORPHAN: ClassInfo = ClassInfo::new(
    GUID::from_u128(0x7a1c_55e0_0b1d_4f0e_8c3e_4a11_0000_0005),
    "Orphan",
);

mod common;
use common::{Tracker, live};

/// The live counts of every class, to compare a test's end with its start.
fn live_all() -> [isize; 8] {
    [
        live("Single"),
        live("Multi"),
        live("Inner"),
        live("Middle"),
        live("Outer"),
        live("Top"),
        live("Loner"),
        live("Orphan"),
    ]
}

// ---------------------------------------------------------------------------------------
// Classes.

/// IMalloc that hands out task blocks and panics for 13 bytes.
macro_rules! task_malloc {
    ($class:ty) => {
        impl IMalloc_Impl for $class {
            fn alloc(&self, cb: usize) -> *mut c_void {
                assert_ne!(cb, 13, "unlucky size");
                comidl_runtime::CoTaskMemAlloc(cb)
            }
            fn realloc(&self, pv: *mut c_void, cb: usize) -> *mut c_void {
                // SAFETY: the tests only pass blocks of this allocator.
                unsafe { comidl_runtime::CoTaskMemRealloc(pv, cb) }
            }
            fn free(&self, pv: *mut c_void) {
                // SAFETY: the tests only pass blocks of this allocator.
                unsafe { comidl_runtime::CoTaskMemFree(pv) }
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

/// An IClassFactory that creates nothing.
macro_rules! idle_factory {
    ($class:ty) => {
        impl IClassFactory_Impl for $class {
            fn create_instance(&self, _outer: Option<&IUnknown>, _riid: &IID) -> Result<PVOID> {
                Err(E_NOTIMPL)
            }
            fn lock_server(&self, _lock: BOOL) -> Result<()> {
                Ok(())
            }
        }
    };
}

/// One interface.
struct Single {
    _tracker: Tracker,
}
comidl_runtime::implement!(Single: IMalloc);
task_malloc!(Single);

impl Single {
    fn new() -> Single {
        Single {
            _tracker: Tracker::new("Single"),
        }
    }
}

/// Two slots answering three interfaces (IClassFactory2 also answers its base).
struct Multi {
    _tracker: Tracker,
}
comidl_runtime::implement!(Multi: IClassFactory2, IMalloc);
idle_factory!(Multi);
task_malloc!(Multi);

impl IClassFactory2_Impl for Multi {
    fn get_lic_info(&self) -> Result<LICINFO> {
        Err(E_NOTIMPL)
    }
    fn request_lic_key(&self, _reserved: u32) -> Result<BSTR> {
        Err(E_NOTIMPL)
    }
    fn create_instance_lic(
        &self,
        _outer: Option<&IUnknown>,
        _reserved: Option<&IUnknown>,
        _riid: &IID,
        _key: &BSTR,
    ) -> Result<PVOID> {
        Err(E_NOTIMPL)
    }
}

/// The innermost class: IMalloc, aggregatable (the default).
struct Inner {
    _tracker: Tracker,
}
comidl_runtime::implement!(Inner: IMalloc);
task_malloc!(Inner);

impl Creatable for Inner {
    const CLASS: &'static ClassInfo = &CLASS_INNER;
    fn create() -> Result<Inner> {
        Ok(Inner {
            _tracker: Tracker::new("Inner"),
        })
    }
}

/// The outer class: its own IClassFactory, and IMalloc from the inner object it aggregates.
struct Outer {
    inner: Aggregate,
    _tracker: Tracker,
}
comidl_runtime::implement!(Outer: IClassFactory; aggregate inner = CLSID_INNER);
idle_factory!(Outer);

impl Creatable for Outer {
    const CLASS: &'static ClassInfo = &CLASS_OUTER;
    fn create() -> Result<Outer> {
        Ok(Outer {
            inner: Aggregate::new(),
            _tracker: Tracker::new("Outer"),
        })
    }
}

/// The middle of a nested aggregate: IClassFactory2 (whose RequestLicKey panics), and
/// IMalloc from the inner object it aggregates in turn.
struct Middle {
    inner: Aggregate,
    _tracker: Tracker,
}
comidl_runtime::implement!(Middle: IClassFactory2; aggregate inner = CLSID_INNER);
idle_factory!(Middle);

impl IClassFactory2_Impl for Middle {
    fn get_lic_info(&self) -> Result<LICINFO> {
        Ok(LICINFO {
            cbLicInfo: core::mem::size_of::<LICINFO>() as i32,
            fRuntimeKeyAvail: 1,
            fLicVerified: 1,
        })
    }
    fn request_lic_key(&self, _reserved: u32) -> Result<BSTR> {
        panic!("RequestLicKey always panics in this test");
    }
    fn create_instance_lic(
        &self,
        _outer: Option<&IUnknown>,
        _reserved: Option<&IUnknown>,
        _riid: &IID,
        _key: &BSTR,
    ) -> Result<PVOID> {
        Err(E_NOTIMPL)
    }
}

impl Creatable for Middle {
    const CLASS: &'static ClassInfo = &CLASS_MIDDLE;
    fn create() -> Result<Middle> {
        Ok(Middle {
            inner: Aggregate::new(),
            _tracker: Tracker::new("Middle"),
        })
    }
}

/// The top of a nested aggregate: IClassFactory itself, IClassFactory2 from Middle, IMalloc
/// from the Inner that Middle aggregates.
struct Top {
    middle: Aggregate,
    _tracker: Tracker,
}
comidl_runtime::implement!(Top: IClassFactory; aggregate middle = CLSID_MIDDLE);
idle_factory!(Top);

impl Top {
    fn new() -> Top {
        Top {
            middle: Aggregate::new(),
            _tracker: Tracker::new("Top"),
        }
    }
}

/// A class that refuses to be aggregated.
struct Loner {
    _tracker: Tracker,
}
comidl_runtime::implement!(Loner: IMalloc);
task_malloc!(Loner);

impl Creatable for Loner {
    const CLASS: &'static ClassInfo = &CLASS_LONER;
    const AGGREGATABLE: bool = false;
    fn create() -> Result<Loner> {
        Ok(Loner {
            _tracker: Tracker::new("Loner"),
        })
    }
}

/// A class whose second aggregate cannot be created (its first can).
struct Orphan {
    inner: Aggregate,
    missing: Aggregate,
    _tracker: Tracker,
}
comidl_runtime::implement!(Orphan: IClassFactory; aggregate inner = CLSID_INNER, aggregate missing = CLSID_MISSING);
idle_factory!(Orphan);

impl Creatable for Orphan {
    const CLASS: &'static ClassInfo = &CLASS_ORPHAN;
    fn create() -> Result<Orphan> {
        Ok(Orphan {
            inner: Aggregate::new(),
            missing: Aggregate::new(),
            _tracker: Tracker::new("Orphan"),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// COM initialised on this thread, an empty class registry for the process, and the class
/// objects of Inner, Middle and Loner registered in process; revoked (each revocation
/// checked) when dropped, before COM is uninitialised.
struct Servers {
    cookies: Vec<u32>,
    _com: ComInit,
}

fn servers() -> Servers {
    common::use_empty_registry("aggregation");
    let com = ComInit::multithreaded().expect("COM initialises");
    let objects = [
        (CLSID_INNER, ClassFactory::<Inner>::new()),
        (CLSID_MIDDLE, ClassFactory::<Middle>::new()),
        (CLSID_LONER, ClassFactory::<Loner>::new()),
    ];
    let cookies = objects
        .iter()
        .map(|(clsid, object)| {
            let mut cookie = 0;
            // SAFETY: a valid CLSID, a live IUnknown and a writable cookie.
            let hr = unsafe {
                CoRegisterClassObject(
                    clsid,
                    object.as_raw(),
                    CLSCTX_INPROC_SERVER,
                    REGCLS_MULTIPLEUSE,
                    &mut cookie,
                )
            };
            assert_eq!(hr, S_OK, "registering {clsid}");
            cookie
        })
        .collect();
    Servers { cookies, _com: com }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for &cookie in &self.cookies {
            let hr = CoRevokeClassObject(cookie);
            if !std::thread::panicking() {
                assert_eq!(hr, S_OK, "revoking cookie {cookie}");
            }
        }
    }
}

/// The IUnknown part of any interface pointer's vtable.
///
/// # Safety
/// `this` is a live interface pointer.
unsafe fn unknown_vtbl<'a>(this: *mut c_void) -> &'a IUnknown_Vtbl {
    // SAFETY: every interface's vtable starts with IUnknown's three slots.
    unsafe { &**this.cast::<*const IUnknown_Vtbl>() }
}

/// `this->QueryInterface(iid)`, raw: the HRESULT and what was written out (the out pointer
/// starts as junk, so a failure must clear it).
fn qi(this: *mut c_void, iid: &GUID) -> (HRESULT, *mut c_void) {
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: the tests pass live interface pointers and a writable out pointer.
    let hr = unsafe { (unknown_vtbl(this).QueryInterface)(this, iid, &mut out) };
    (hr, out)
}

/// `this->AddRef()`.
fn add_ref(this: *mut c_void) -> u32 {
    // SAFETY: the tests pass live interface pointers.
    unsafe { (unknown_vtbl(this).AddRef)(this) }
}

/// `this->Release()`.
fn release(this: *mut c_void) -> u32 {
    // SAFETY: the tests pass live interface pointers carrying a reference they give up.
    unsafe { (unknown_vtbl(this).Release)(this) }
}

/// The reference count as this runtime's AddRef reports it (an AddRef/Release pair).
fn count(this: *mut c_void) -> u32 {
    let after = add_ref(this);
    release(this);
    after - 1
}

/// QueryInterface through `this` for `iid`, which must succeed; the pointer, whose
/// reference is given back at once (the caller holds another one on the object).
fn qi_ok(this: *mut c_void, iid: &GUID) -> *mut c_void {
    let (hr, out) = qi(this, iid);
    assert_eq!(hr, S_OK, "QueryInterface for {iid}");
    assert!(!out.is_null(), "QueryInterface for {iid} gave NULL");
    release(out);
    out
}

/// Checks the QueryInterface rules on the object `start` belongs to, over `iids` (which must
/// all be supported; IUnknown is added): identity (every interface's IUnknown is one
/// pointer), reflexive, symmetric and transitive, unsupported IIDs fail with E_NOINTERFACE
/// and NULL, every interface has one pointer (this runtime has no tear-offs), and no
/// reference is left behind. Returns the identity.
fn check_query_interface_rules(start: *mut c_void, iids: &[GUID]) -> *mut c_void {
    let before = count(start);
    let mut all = vec![IUnknown::IID];
    all.extend_from_slice(iids);
    // The pointer of each interface, asked of `start`.
    let pointers: Vec<*mut c_void> = all.iter().map(|iid| qi_ok(start, iid)).collect();
    let identity = pointers[0];
    for (i, &from) in pointers.iter().enumerate() {
        // Identity.
        assert_eq!(
            qi_ok(from, &IUnknown::IID),
            identity,
            "identity from {}",
            all[i]
        );
        // Reflexive.
        assert_eq!(qi_ok(from, &all[i]), from, "reflexive for {}", all[i]);
        for (j, &to) in pointers.iter().enumerate() {
            // Symmetric (both directions are visited) and the same pointer every time.
            let via = qi_ok(from, &all[j]);
            assert_eq!(via, to, "{} -> {}", all[i], all[j]);
            for (k, &end) in pointers.iter().enumerate() {
                // Transitive.
                assert_eq!(
                    qi_ok(via, &all[k]),
                    end,
                    "{} -> {} -> {}",
                    all[i],
                    all[j],
                    all[k]
                );
            }
        }
        // Unsupported.
        for absent in [IID_NOBODY, GUID::zeroed()] {
            if all.contains(&absent) {
                continue;
            }
            let (hr, out) = qi(from, &absent);
            assert_eq!(hr, E_NOINTERFACE, "{} asked for {absent}", all[i]);
            assert!(out.is_null(), "a failed QueryInterface writes NULL");
        }
    }
    assert_eq!(count(start), before, "the checks left no reference behind");
    identity
}

/// Checks that AddRef/Release through each of `pointers` move one shared count.
fn check_one_count(pointers: &[*mut c_void]) {
    let start = count(pointers[0]);
    let mut expected = start;
    for &p in pointers {
        expected += 1;
        assert_eq!(add_ref(p), expected, "AddRef moves the shared count");
        for &q in pointers {
            assert_eq!(count(q), expected, "every interface sees the shared count");
        }
    }
    for &p in pointers.iter().rev() {
        expected -= 1;
        assert_eq!(release(p), expected, "Release moves the shared count");
    }
    assert_eq!(count(pointers[0]), start);
}

// ---------------------------------------------------------------------------------------
// Tests.

#[test]
fn a_single_interface_object_follows_the_rules() {
    let start = live_all();
    let malloc = ComObject::create::<IMalloc>(Single::new()).unwrap();
    let identity = check_query_interface_rules(malloc.as_raw(), &[IMalloc::IID]);
    assert_ne!(identity, malloc.as_raw(), "IUnknown is its own pointer");
    for absent in [IClassFactory::IID, IClassFactory2::IID] {
        let (hr, out) = qi(malloc.as_raw(), &absent);
        assert_eq!(hr, E_NOINTERFACE);
        assert!(out.is_null());
    }
    check_one_count(&[identity, malloc.as_raw()]);
    // The object works, and the last Release (through IUnknown) destroys it.
    let block = malloc.alloc(24);
    assert!(!block.is_null());
    // SAFETY: the block came from this allocator.
    unsafe { malloc.free(block) };
    let unknown = malloc.identity().unwrap().into_raw();
    drop(malloc);
    assert_eq!(live("Single"), start[0] + 1, "IUnknown still holds it");
    assert_eq!(release(unknown), 0, "the last Release answers 0");
    assert_eq!(live_all(), start);
}

#[test]
fn a_multi_interface_object_follows_the_rules() {
    let start = live_all();
    let unknown = ComObject::new(Multi {
        _tracker: Tracker::new("Multi"),
    })
    .unwrap();
    let identity = check_query_interface_rules(
        unknown.as_raw(),
        &[IClassFactory::IID, IClassFactory2::IID, IMalloc::IID],
    );
    assert_eq!(
        identity,
        unknown.as_raw(),
        "ComObject::new returns the identity"
    );
    let cf2: ComPtr<IClassFactory2> = unknown.cast().unwrap();
    let cf: ComPtr<IClassFactory> = unknown.cast().unwrap();
    let malloc: ComPtr<IMalloc> = unknown.cast().unwrap();
    assert_eq!(
        cf.as_raw(),
        cf2.as_raw(),
        "the base is answered by the derived slot"
    );
    assert_ne!(cf.as_raw(), malloc.as_raw(), "two slots, two pointers");
    check_one_count(&[unknown.as_raw(), cf.as_raw(), malloc.as_raw()]);
    drop((unknown, cf, cf2));
    assert_eq!(live("Multi"), start[1] + 1, "IMalloc still holds it");
    drop(malloc);
    assert_eq!(live_all(), start);
}

#[test]
fn an_aggregate_has_the_outer_identity_and_one_count() {
    let start = live_all();
    let servers = servers();
    let unknown = ComObject::new(Outer::create().unwrap()).unwrap();
    assert_eq!(live("Outer"), start[4] + 1);
    assert_eq!(
        live("Inner"),
        start[2] + 1,
        "construction created the inner object"
    );

    // The rules hold across the outer's and the inner's interfaces; the identity is the
    // outer's own IUnknown (what ComObject::new answered), whichever interface asks.
    let identity =
        check_query_interface_rules(unknown.as_raw(), &[IClassFactory::IID, IMalloc::IID]);
    assert_eq!(
        identity,
        unknown.as_raw(),
        "the aggregate's identity is the outer's"
    );
    let cf: ComPtr<IClassFactory> = unknown.cast().unwrap();
    let malloc: ComPtr<IMalloc> = cf.cast().unwrap();
    assert_eq!(
        check_query_interface_rules(malloc.as_raw(), &[IClassFactory::IID, IMalloc::IID]),
        identity,
        "starting from the inner's interface gives the same identity"
    );
    // From the inner's IMalloc to the outer's IClassFactory and back.
    let back: ComPtr<IClassFactory> = malloc.cast().unwrap();
    assert_eq!(back.as_raw(), cf.as_raw());
    let again: ComPtr<IMalloc> = back.cast().unwrap();
    assert_eq!(again.as_raw(), malloc.as_raw());
    drop((back, again));
    // Neither side answers what neither implements.
    for from in [cf.as_raw(), malloc.as_raw(), unknown.as_raw()] {
        let (hr, out) = qi(from, &IClassFactory2::IID);
        assert_eq!(hr, E_NOINTERFACE);
        assert!(out.is_null());
    }
    // The inner object works through the aggregate.
    let block = malloc.alloc(64);
    assert!(!block.is_null());
    // SAFETY: a block of this allocator.
    unsafe { malloc.free(block) };

    check_one_count(&[unknown.as_raw(), cf.as_raw(), malloc.as_raw()]);

    // The last reference is the inner's interface: its Release destroys both objects.
    drop(unknown);
    drop(cf);
    assert_eq!(live("Outer"), start[4] + 1);
    assert_eq!(live("Inner"), start[2] + 1);
    assert_eq!(release(malloc.into_raw()), 0, "the last Release answers 0");
    assert_eq!(live_all(), start, "outer and inner are gone");
    drop(servers);
}

#[test]
fn an_aggregate_made_by_its_class_object_behaves_the_same() {
    let start = live_all();
    let servers = servers();
    let factory: ComPtr<IClassFactory> = ClassFactory::<Outer>::new().cast().unwrap();
    // Asked for the inner's interface straight away.
    let malloc: ComPtr<IMalloc> = factory.create_instance(None).unwrap();
    let cf: ComPtr<IClassFactory> = malloc.cast().unwrap();
    assert_eq!(cf.identity().unwrap(), malloc.identity().unwrap());
    assert_eq!(cf.lock_server(0), Ok(()), "the outer's own method works");
    drop(cf);
    assert_eq!(live("Outer"), start[4] + 1);
    drop(malloc);
    assert_eq!(live_all(), start);
    drop(servers);
}

#[test]
fn a_nested_aggregate_has_one_identity_and_one_count() {
    let start = live_all();
    let servers = servers();
    let unknown = ComObject::new(Top::new()).unwrap();
    assert_eq!(live("Top"), start[5] + 1);
    assert_eq!(live("Middle"), start[3] + 1);
    assert_eq!(live("Inner"), start[2] + 1);
    let identity = check_query_interface_rules(
        unknown.as_raw(),
        &[IClassFactory::IID, IClassFactory2::IID, IMalloc::IID],
    );
    assert_eq!(identity, unknown.as_raw());
    let cf: ComPtr<IClassFactory> = unknown.cast().unwrap();
    let cf2: ComPtr<IClassFactory2> = unknown.cast().unwrap();
    let malloc: ComPtr<IMalloc> = unknown.cast().unwrap();
    // IClassFactory is Top's own; IClassFactory2 (which derives from it) is Middle's.
    assert_ne!(cf.as_raw(), cf2.as_raw());
    let via_middle: ComPtr<IClassFactory> = cf2.cast().unwrap();
    assert_eq!(via_middle.as_raw(), cf.as_raw(), "Middle delegates to Top");
    drop(via_middle);
    // The innermost and the middle reach each other through the top.
    let from_inner: ComPtr<IClassFactory2> = malloc.cast().unwrap();
    assert_eq!(from_inner.as_raw(), cf2.as_raw());
    drop(from_inner);
    assert_eq!(
        check_query_interface_rules(
            malloc.as_raw(),
            &[IClassFactory::IID, IClassFactory2::IID, IMalloc::IID]
        ),
        identity
    );
    check_one_count(&[unknown.as_raw(), cf.as_raw(), cf2.as_raw(), malloc.as_raw()]);
    let info = cf2.get_lic_info().unwrap();
    assert_eq!(
        info.fLicVerified, 1,
        "Middle's method answers through the aggregate"
    );

    drop((unknown, cf, malloc));
    assert_eq!(
        live("Top"),
        start[5] + 1,
        "Middle's interface still holds all three"
    );
    assert_eq!(release(cf2.into_raw()), 0);
    assert_eq!(live_all(), start, "top, middle and inner are gone");
    drop(servers);
}

#[test]
fn panics_in_aggregated_interfaces_become_failure_codes() {
    let start = live_all();
    let servers = servers();
    {
        let unknown = ComObject::new(Top::new()).unwrap();
        let cf2: ComPtr<IClassFactory2> = unknown.cast().unwrap();
        let malloc: ComPtr<IMalloc> = unknown.cast().unwrap();
        // Middle's RequestLicKey panics: E_UNEXPECTED through Top's aggregate.
        assert_eq!(cf2.request_lic_key(0).err(), Some(E_UNEXPECTED));
        // Inner's Alloc panics for 13 bytes: the zero value (NULL), two levels down.
        assert!(malloc.alloc(13).is_null());
        // Still usable, one identity, one count.
        assert!(cf2.get_lic_info().is_ok());
        let block = malloc.alloc(8);
        assert!(!block.is_null());
        // SAFETY: a block of this allocator.
        unsafe { malloc.free(block) };
        check_one_count(&[unknown.as_raw(), cf2.as_raw(), malloc.as_raw()]);
    }
    {
        let unknown = ComObject::new(Outer::create().unwrap()).unwrap();
        let malloc: ComPtr<IMalloc> = unknown.cast().unwrap();
        assert!(malloc.alloc(13).is_null());
        assert_eq!(malloc.identity().unwrap(), unknown);
    }
    assert_eq!(live_all(), start);
    drop(servers);
}

#[test]
fn an_inner_object_delegates_to_the_outer_it_was_given() {
    let start = live_all();
    let servers = servers();
    // Any object may stand as the outer; Single plays it here.
    let outer = ComObject::new(Single::new()).unwrap();
    let outer_count = count(outer.as_raw());
    let factory: ComPtr<IClassFactory> =
        get_class_object(&CLSID_INNER, CLSCTX_INPROC_SERVER).unwrap();
    let mut raw: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: a live class object, a live outer, valid IID and out pointer.
    let hr = unsafe {
        (factory.vtable().CreateInstance)(factory.as_raw(), Some(*outer), &IUnknown::IID, &mut raw)
    };
    assert_eq!(hr, S_OK);
    // SAFETY: success hands over the inner's non-delegating IUnknown.
    let own = unsafe { ComPtr::<IUnknown>::from_raw(raw) }.unwrap();
    assert_eq!(live("Inner"), start[2] + 1);
    assert_eq!(
        count(outer.as_raw()),
        outer_count,
        "creation did not AddRef the outer"
    );
    // The non-delegating IUnknown answers for itself: IUnknown is itself, not the outer.
    assert_eq!(qi_ok(own.as_raw(), &IUnknown::IID), own.as_raw());
    assert_ne!(own.as_raw(), outer.as_raw());
    // Its other interfaces delegate to the outer: identity and reference count.
    let (hr, malloc) = qi(own.as_raw(), &IMalloc::IID);
    assert_eq!(hr, S_OK);
    assert_eq!(
        count(outer.as_raw()),
        outer_count + 1,
        "the new interface pointer's reference is the outer's"
    );
    assert_eq!(qi_ok(malloc, &IUnknown::IID), outer.as_raw());
    assert_eq!(release(malloc), outer_count);
    assert_eq!(
        live("Inner"),
        start[2] + 1,
        "the inner's own count is separate"
    );
    // Only the non-delegating IUnknown keeps the inner alive.
    drop(own);
    assert_eq!(live("Inner"), start[2]);
    assert_eq!(live("Single"), start[0] + 1);
    drop(outer);
    assert_eq!(live_all(), start);
    drop(servers);
}

#[test]
fn aggregation_must_ask_for_iunknown() {
    let start = live_all();
    let servers = servers();
    let outer = ComObject::new(Single::new()).unwrap();
    let factory: ComPtr<IClassFactory> =
        get_class_object(&CLSID_INNER, CLSCTX_INPROC_SERVER).unwrap();
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: a live class object, a live outer, valid IID and out pointer.
    let hr = unsafe {
        (factory.vtable().CreateInstance)(factory.as_raw(), Some(*outer), &IMalloc::IID, &mut out)
    };
    assert_eq!(hr, CLASS_E_NOAGGREGATION);
    assert!(out.is_null(), "a failed CreateInstance writes NULL");
    // The same through CoCreateInstance.
    out = 0x8 as *mut c_void;
    // SAFETY: valid CLSID, outer, IID and out pointer.
    let hr = unsafe {
        CoCreateInstance(
            &CLSID_INNER,
            outer.as_raw(),
            CLSCTX_INPROC_SERVER,
            &IMalloc::IID,
            &mut out,
        )
    };
    assert_eq!(hr, CLASS_E_NOAGGREGATION);
    assert!(out.is_null());
    assert_eq!(live("Inner"), start[2], "nothing was created");
    // Without an outer, the same class object makes a stand-alone object.
    let alone: ComPtr<IMalloc> = factory.create_instance(None).unwrap();
    let identity = check_query_interface_rules(alone.as_raw(), &[IMalloc::IID]);
    assert_ne!(identity, outer.as_raw(), "its own identity");
    let block = alone.alloc(10);
    assert!(!block.is_null());
    // SAFETY: a block of this allocator.
    unsafe { alone.free(block) };
    drop(alone);
    drop(outer);
    assert_eq!(live_all(), start);
    drop(servers);
}

#[test]
fn a_class_that_is_not_aggregatable_refuses_every_outer() {
    let start = live_all();
    let servers = servers();
    let outer = ComObject::new(Single::new()).unwrap();
    let factory: ComPtr<IClassFactory> =
        get_class_object(&CLSID_LONER, CLSCTX_INPROC_SERVER).unwrap();
    for iid in [IUnknown::IID, IMalloc::IID] {
        let mut out: *mut c_void = 0x8 as *mut c_void;
        // SAFETY: a live class object, a live outer, valid IID and out pointer.
        let hr = unsafe {
            (factory.vtable().CreateInstance)(factory.as_raw(), Some(*outer), &iid, &mut out)
        };
        assert_eq!(hr, CLASS_E_NOAGGREGATION, "outer asking for {iid}");
        assert!(out.is_null());
    }
    assert_eq!(live("Loner"), start[6], "nothing was created");
    let alone: ComPtr<IMalloc> = factory.create_instance(None).unwrap();
    check_query_interface_rules(alone.as_raw(), &[IMalloc::IID]);
    assert_eq!(live("Loner"), start[6] + 1);
    drop(alone);
    drop(outer);
    assert_eq!(live_all(), start);
    drop(servers);
}

#[test]
fn an_aggregate_whose_inner_class_is_missing_fails_and_leaks_nothing() {
    let start = live_all();
    let servers = servers();
    let _ = take_error_message();
    // Directly: Orphan's first aggregate (Inner) is created, its second is not found.
    let result = ComObject::create::<IClassFactory>(Orphan::create().unwrap());
    assert_eq!(result.err(), Some(REGDB_E_CLASSNOTREG));
    let (hr, message) = take_error_message().expect("the failure left a message");
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(
        message.contains(&CLSID_MISSING.to_string()),
        "the message names the missing class: {message}"
    );
    assert_eq!(
        live_all(),
        start,
        "the outer and its first inner object are gone"
    );

    // Through its class object: the same error, NULL out, nothing left.
    let factory: ComPtr<IClassFactory> = ClassFactory::<Orphan>::new().cast().unwrap();
    let mut out: *mut c_void = 0x8 as *mut c_void;
    // SAFETY: a live class object, valid IID and out pointer.
    let hr = unsafe {
        (factory.vtable().CreateInstance)(factory.as_raw(), None, &IClassFactory::IID, &mut out)
    };
    assert_eq!(hr, REGDB_E_CLASSNOTREG);
    assert!(out.is_null());
    assert_eq!(live_all(), start);
    drop(servers);
}
