//! Objects implemented in Rust: [`ComObject`] holds a value of a [`Class`] with one vtable
//! pointer per implemented interface, a non-delegating IUnknown and an atomic reference
//! count. Generated vtables (`IFoo_Vtbl::new::<C, K>()`) find the object from the interface
//! pointer (slot `K`) and forward to the `IFoo_Impl` trait; IUnknown's entries are here.
//!
//! Identity and aggregation (SEMANTICS.md, "Objects with several interfaces"): the object's
//! own IUnknown is the non-delegating one. Standing alone, it is the object's identity and
//! every interface's QueryInterface/AddRef/Release go to it. Created inside an aggregate
//! (with an outer unknown), the outer object holds the non-delegating IUnknown and every
//! other interface delegates to the outer ("controlling") unknown, so the aggregate has one
//! identity and one reference count. A class can itself aggregate others: the
//! [`Aggregated`] fields it declares in [`implement!`](crate::implement) are created with
//! the object's controlling unknown and answer the QueryInterface calls its own
//! interfaces do not.
//!
//! Layer: core. Uses `bindings`, `lifetime`, `unknown` of this layer.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicU32, Ordering, fence};
use std::panic::catch_unwind;

use crate::bindings::{IUnknown, IUnknown_Vtbl};
use crate::unknown::{ComPtr, Interface};
use crate::{E_NOINTERFACE, E_POINTER, E_UNEXPECTED, GUID, HRESULT, Result, S_OK};

/// A Rust type that implements COM interfaces. Implemented by [`implement!`](crate::implement).
///
/// # Safety
/// `Slots` is an array of vtable pointers and `SLOTS[k]` is the vtable
/// `IFoo_Vtbl::new::<Self, k>()` of the `k`-th interface; `slot_of` answers with an index
/// whose interface implements `iid`. `query_aggregate` returns NULL or an interface pointer
/// carrying one reference for the caller.
pub unsafe trait Class: Sized + 'static {
    /// `[*const c_void; N]`, one vtable pointer per interface.
    type Slots: Copy + 'static;
    /// The vtable pointers.
    const SLOTS: Self::Slots;
    /// The slot answering a QueryInterface for `iid` (never asked for IUnknown).
    fn slot_of(iid: &GUID) -> Option<usize>;
    /// Answers a QueryInterface for an interface none of the slots implements, from the
    /// objects this one aggregates. The default aggregates nothing.
    fn query_aggregate(&self, _iid: &GUID) -> Option<*mut c_void> {
        None
    }
    /// Runs once the value sits in its object, before anyone else sees it, with the
    /// object's controlling unknown: creates the aggregated inner objects. The default
    /// does nothing.
    fn construct(&self, _controlling: &IUnknown) -> Result<()> {
        Ok(())
    }
}

/// A heap object: vtable pointers first (interface pointers point into them), then the
/// non-delegating IUnknown, the reference count, the outer unknown and the value.
#[repr(C)]
pub struct ComObject<C: Class> {
    slots: C::Slots,
    inner: &'static IUnknown_Vtbl,
    refs: AtomicU32,
    /// The controlling unknown when aggregated, else NULL. Not AddRef'd: the outer object
    /// owns this one, so it outlives every call that reaches here.
    outer: *mut c_void,
    /// Whether the object counts as one of its module's live objects (class objects don't).
    counted: bool,
    value: C,
}

/// The non-delegating IUnknown vtable of `C` objects.
struct Inner<C>(PhantomData<C>);

impl<C: Class> Inner<C> {
    const VTBL: IUnknown_Vtbl = IUnknown_Vtbl {
        QueryInterface: inner_query_interface::<C>,
        AddRef: inner_add_ref::<C>,
        Release: inner_release::<C>,
    };
}

impl<C: Class> ComObject<C> {
    /// Moves `value` into a new stand-alone object and returns its IUnknown (its identity)
    /// with one reference. Fails if the class's [`Class::construct`] fails.
    // A COM object is only ever seen through interface pointers, so `new` hands out one.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(value: C) -> Result<ComPtr<IUnknown>> {
        ComObject::new_aggregated(value, None)
    }

    /// Moves `value` into a new object and returns it as interface `I`.
    pub fn create<I: Interface>(value: C) -> Result<ComPtr<I>> {
        ComObject::new(value)?.cast::<I>()
    }

    /// Moves `value` into a new object that is part of `outer`'s aggregate when `outer` is
    /// given, and returns the object's non-delegating IUnknown, which only the outer object
    /// may hold. Without `outer` this is [`ComObject::new`].
    pub fn new_aggregated(value: C, outer: Option<&IUnknown>) -> Result<ComPtr<IUnknown>> {
        let raw = ComObject::allocate(value, outer, true);
        // SAFETY: `raw` is a live object; its `inner` field is an IUnknown whose one
        // reference (the count starts at 1) we own.
        let unknown =
            unsafe { ComPtr::<IUnknown>::from_raw(core::ptr::addr_of_mut!((*raw).inner).cast()) };
        let Some(unknown) = unknown else {
            unreachable!("a field of a live box is never NULL")
        };
        // SAFETY: the object is alive while `unknown` holds its reference.
        let object = unsafe { &*raw };
        let controlling = object.controlling();
        // SAFETY: the controlling unknown is this object's or the outer's, both alive.
        let controlling = unsafe { IUnknown::from_raw_borrowed(controlling) };
        let Some(controlling) = controlling else {
            unreachable!("the controlling unknown is never NULL")
        };
        object.value.construct(&controlling)?;
        Ok(unknown)
    }

    /// Moves `value` into a new object that does not count as one of its module's live
    /// objects (SEMANTICS.md, "Server lifetime": class objects are excluded), and returns
    /// its IUnknown. For class objects and other objects that must not keep a server module
    /// loaded. [`Class::construct`] is not run: such objects aggregate nothing.
    pub fn new_class_object(value: C) -> ComPtr<IUnknown> {
        let raw = ComObject::allocate(value, None, false);
        // SAFETY: as in `new_aggregated`.
        let unknown =
            unsafe { ComPtr::<IUnknown>::from_raw(core::ptr::addr_of_mut!((*raw).inner).cast()) };
        match unknown {
            Some(unknown) => unknown,
            None => unreachable!("a field of a live box is never NULL"),
        }
    }

    /// A new object on the heap with a reference count of 1.
    fn allocate(value: C, outer: Option<&IUnknown>, counted: bool) -> *mut ComObject<C> {
        if counted {
            crate::lifetime::object_created();
        }
        Box::into_raw(Box::new(ComObject {
            slots: C::SLOTS,
            inner: &Inner::<C>::VTBL,
            refs: AtomicU32::new(1),
            outer: outer.map_or(core::ptr::null_mut(), Interface::as_raw),
            counted,
            value,
        }))
    }

    /// The controlling unknown: the outer object's when aggregated, else this object's own.
    fn controlling(&self) -> *mut c_void {
        if self.outer.is_null() {
            core::ptr::from_ref(&self.inner).cast_mut().cast()
        } else {
            self.outer
        }
    }

    /// The object holding `value`.
    ///
    /// # Safety
    /// `value` is the value of a live `ComObject<C>`: true for the `&self` of a `*_Impl`
    /// method called through an interface pointer, false for a value that was never moved
    /// into an object.
    unsafe fn of_value(value: &C) -> &ComObject<C> {
        let offset = core::mem::offset_of!(ComObject<C>, value);
        // SAFETY: the caller's contract: `value` sits `offset` bytes into its object.
        unsafe { &*core::ptr::from_ref(value).cast::<u8>().sub(offset).cast() }
    }

    /// QueryInterface on the object holding `value` (through its controlling unknown), for
    /// an implementation that must hand out one of its own interfaces. Returns the interface
    /// pointer with a reference for the caller.
    ///
    /// # Safety
    /// As for [`ComObject::controlling_unknown`].
    pub unsafe fn query_value(value: &C, iid: &GUID) -> Result<*mut c_void> {
        // SAFETY: the caller's contract.
        let object = unsafe { ComObject::of_value(value) };
        let mut out = core::ptr::null_mut();
        // SAFETY: the controlling unknown is alive while its object is.
        let hr = unsafe { call_query_interface(object.controlling(), iid, &mut out) };
        hr.ok().map(|()| out)
    }

    /// The controlling unknown of the object holding `value` (its identity), with a
    /// reference for the caller.
    ///
    /// # Safety
    /// `value` is the value of a live `ComObject<C>`: true for the `&self` of a `*_Impl`
    /// method called through an interface pointer, false for a value that was never moved
    /// into an object.
    pub unsafe fn controlling_unknown(value: &C) -> Result<ComPtr<IUnknown>> {
        // SAFETY: the caller's contract.
        let raw = unsafe { ComObject::query_value(value, &IUnknown::IID) }?;
        // SAFETY: a successful QueryInterface hands over one reference.
        unsafe { ComPtr::from_raw(raw) }.ok_or(E_POINTER)
    }
}

/// The object whose slot `K` `this` points at.
///
/// # Safety
/// `this` is an interface pointer of slot `K` of a live `ComObject<C>`.
pub unsafe fn object_of<'a, C: Class, const K: usize>(this: *mut c_void) -> &'a C {
    // SAFETY: forwarded.
    unsafe { &header::<C, K>(this).value }
}

/// The header of the object whose slot `K` `this` points at.
///
/// # Safety
/// As for [`object_of`].
unsafe fn header<'a, C: Class, const K: usize>(this: *mut c_void) -> &'a ComObject<C> {
    // SAFETY: slot K sits K pointers after the object's start (repr(C), slots first); the
    // object is alive while a caller holds one of its interface pointers.
    unsafe { &*this.cast::<*const c_void>().sub(K).cast::<ComObject<C>>() }
}

/// The object whose non-delegating IUnknown `this` is.
///
/// # Safety
/// `this` points at the `inner` field of a live `ComObject<C>`.
unsafe fn inner_header<'a, C: Class>(this: *mut c_void) -> &'a ComObject<C> {
    let offset = core::mem::offset_of!(ComObject<C>, inner);
    // SAFETY: the caller's contract; the field sits `offset` bytes into the object.
    unsafe { &*this.cast::<u8>().sub(offset).cast::<ComObject<C>>() }
}

/// The IUnknown vtable of a raw interface pointer.
///
/// # Safety
/// `this` is a live interface pointer.
#[doc(hidden)]
pub unsafe fn unknown_vtbl<'a>(this: *mut c_void) -> &'a IUnknown_Vtbl {
    // SAFETY: every interface pointer points at a vtable beginning with IUnknown's slots.
    unsafe { &**this.cast::<*const IUnknown_Vtbl>() }
}

/// `this->QueryInterface(iid, out)`.
///
/// # Safety
/// `this` is a live interface pointer and `out` writable.
pub unsafe fn call_query_interface(
    this: *mut c_void,
    iid: &GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: the caller's contract.
    unsafe { (unknown_vtbl(this).QueryInterface)(this, iid, out) }
}

/// Checks QueryInterface's arguments, clears the out pointer and runs `body` with the
/// requested IID; the pointer `body` answers is written out.
fn query(
    riid: *const GUID,
    ppv: *mut *mut c_void,
    body: impl FnOnce(&GUID) -> Option<*mut c_void>,
) -> HRESULT {
    guard(|| {
        if ppv.is_null() {
            return E_POINTER;
        }
        // SAFETY: `ppv` is non-null and the caller's out pointer.
        unsafe { ppv.write(core::ptr::null_mut()) };
        // SAFETY: a non-null REFIID points at a GUID for the call's duration.
        let Some(iid) = (unsafe { riid.as_ref() }) else {
            return E_POINTER;
        };
        match body(iid) {
            Some(found) => {
                // SAFETY: as above.
                unsafe { ppv.write(found) };
                S_OK
            }
            None => E_NOINTERFACE,
        }
    })
}

/// The non-delegating QueryInterface: the object's own IUnknown, its interfaces, then the
/// objects it aggregates.
///
/// # Safety
/// Called through the vtable with `this` the `inner` field of a live object.
unsafe extern "system" fn inner_query_interface<C: Class>(
    this: *mut c_void,
    riid: *const GUID,
    ppv: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: the vtable contract.
    let object = unsafe { inner_header::<C>(this) };
    query(riid, ppv, |iid| {
        if *iid == IUnknown::IID {
            object.refs.fetch_add(1, Ordering::Relaxed);
            return Some(this);
        }
        if let Some(slot) = C::slot_of(iid) {
            let base = core::ptr::from_ref(object).cast::<*const c_void>();
            // SAFETY: `slot_of` answers an index inside the slots array.
            let target = unsafe { base.add(slot) }.cast_mut().cast::<c_void>();
            // The reference belongs to the controlling unknown, as the new pointer's
            // Release will: this object's count, or the outer's.
            if object.outer.is_null() {
                object.refs.fetch_add(1, Ordering::Relaxed);
            } else {
                // SAFETY: the outer object outlives its inner objects.
                unsafe { (unknown_vtbl(object.outer).AddRef)(object.outer) };
            }
            return Some(target);
        }
        object.value.query_aggregate(iid)
    })
}

/// The non-delegating AddRef.
///
/// # Safety
/// As for [`inner_query_interface`].
unsafe extern "system" fn inner_add_ref<C: Class>(this: *mut c_void) -> u32 {
    // SAFETY: the vtable contract.
    let object = unsafe { inner_header::<C>(this) };
    object.refs.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// The non-delegating Release; frees the object when the count reaches zero.
///
/// # Safety
/// As for [`inner_query_interface`], and the caller gives up one reference.
unsafe extern "system" fn inner_release<C: Class>(this: *mut c_void) -> u32 {
    // SAFETY: the vtable contract.
    let object = unsafe { inner_header::<C>(this) };
    let before = object.refs.fetch_sub(1, Ordering::Release);
    if before != 1 {
        return before.wrapping_sub(1);
    }
    // Every other reference's last use happens before this free.
    fence(Ordering::Acquire);
    let raw = core::ptr::from_ref(object).cast_mut();
    let counted = object.counted;
    // A panicking Drop must not unwind into the caller: catch it and carry on.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the count reached zero, so nobody else can reach the object; it came
        // from `Box::into_raw` in `ComObject::allocate`.
        drop(unsafe { Box::from_raw(raw) });
    }));
    if counted {
        // Last: once the module may unload, none of its code may run any more.
        crate::lifetime::object_destroyed();
    }
    0
}

/// IUnknown::QueryInterface for slot `K` of a `C` object: goes to the controlling unknown.
///
/// # Safety
/// Called through the vtable with `this` an interface pointer of slot `K`.
pub unsafe extern "system" fn query_interface<C: Class, const K: usize>(
    this: *mut c_void,
    riid: *const GUID,
    ppv: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: `this` is slot K of a live object (vtable contract).
    let object = unsafe { header::<C, K>(this) };
    if object.outer.is_null() {
        let inner = object.controlling();
        // SAFETY: `inner` is this live object's non-delegating IUnknown.
        unsafe { inner_query_interface::<C>(inner, riid, ppv) }
    } else {
        // SAFETY: the outer object outlives its inner objects' interface pointers.
        unsafe { (unknown_vtbl(object.outer).QueryInterface)(object.outer, riid, ppv) }
    }
}

/// IUnknown::AddRef for slot `K` of a `C` object: goes to the controlling unknown.
///
/// # Safety
/// As for [`query_interface`].
pub unsafe extern "system" fn add_ref<C: Class, const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: `this` is slot K of a live object (vtable contract).
    let object = unsafe { header::<C, K>(this) };
    if object.outer.is_null() {
        object.refs.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    } else {
        // SAFETY: as in `query_interface`.
        unsafe { (unknown_vtbl(object.outer).AddRef)(object.outer) }
    }
}

/// IUnknown::Release for slot `K` of a `C` object: goes to the controlling unknown.
///
/// # Safety
/// As for [`query_interface`], and the caller gives up one reference.
pub unsafe extern "system" fn release<C: Class, const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: `this` is slot K of a live object (vtable contract).
    let object = unsafe { header::<C, K>(this) };
    let controlling = object.controlling();
    if object.outer.is_null() {
        // SAFETY: `controlling` is this live object's non-delegating IUnknown.
        unsafe { inner_release::<C>(controlling) }
    } else {
        // SAFETY: as in `query_interface`.
        unsafe { (unknown_vtbl(controlling).Release)(controlling) }
    }
}

/// A field of an aggregating class that holds an inner object: what [`implement!`] calls
/// to create the inner object when the outer one is constructed, and to ask it for the
/// interfaces the outer class does not list. The runtime's `Aggregate` (activation layer,
/// which can create classes) implements it; this layer only names it.
pub trait Aggregated {
    /// Creates the class `clsid` (in process) as part of `controlling`'s aggregate.
    fn create(&self, clsid: &GUID, controlling: &IUnknown) -> Result<()>;
    /// Asks the inner object for `iid`: an interface pointer with a reference, or None.
    fn query(&self, iid: &GUID) -> Option<*mut c_void>;
}

/// Runs a method body, turning a panic into `E_UNEXPECTED`.
pub fn guard(body: impl FnOnce() -> HRESULT) -> HRESULT {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(E_UNEXPECTED)
}

/// Runs a method body that returns something other than HRESULT, turning a panic into
/// the all-zero value of its return type.
///
/// Only generated code calls this, with the raw types the backend emits, all of which
/// are valid when zeroed (integers, raw pointers, `Option`-wrapped pointers, `()`).
pub fn guard_or_zeroed<R>(body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        // SAFETY: see above: `R` is one of the zero-valid raw types.
        unsafe { core::mem::zeroed() }
    })
}

/// Declares the interfaces a Rust type implements, in slot order:
/// `implement!(Calculator: IAdder, ISubtractor);`. The type must implement each
/// interface's `*_Impl` trait. IUnknown (identity, reference counting, aggregation) comes
/// from the runtime.
///
/// A class that aggregates other classes names its `Aggregate` fields ([`Aggregated`]) and
/// their CLSIDs
/// after a semicolon: `implement!(Calculator: ICalculator; aggregate adder = CLSID_Adder);`.
/// Each is created in process with the new object's controlling unknown when the object is
/// constructed, and answers QueryInterface for the interfaces the class does not list.
#[macro_export]
macro_rules! implement {
    ($class:ty : $($iface:ty),+ $(; $(aggregate $field:ident = $clsid:expr),+)? $(,)?) => {
        $crate::implement!(@build $class; { $($( $field = $clsid ),+)? }; [$($iface),+]; []; 0usize; $($iface),+);
    };
    (@build $class:ty; $aggr:tt; [$($all:ty),+]; [$($done:expr),*]; $k:expr; $head:ty $(, $rest:ty)*) => {
        $crate::implement!(@build $class; $aggr; [$($all),+];
            [$($done,)* &<<$head as $crate::Interface>::Vtable>::new::<$class, { $k }>()
                as *const <$head as $crate::Interface>::Vtable as *const ::core::ffi::c_void];
            $k + 1usize; $($rest),*);
    };
    (@build $class:ty; { $($field:ident = $clsid:expr),* }; [$($all:ty),+]; [$($done:expr),*]; $k:expr;) => {
        // SAFETY: slot k holds the vtable built for slot k, `slot_of` searches the same
        // list in the same order, and `Aggregated::query` hands out owned pointers.
        unsafe impl $crate::Class for $class {
            type Slots = [*const ::core::ffi::c_void; { [$(stringify!($all)),+].len() }];
            const SLOTS: Self::Slots = [$($done),*];
            fn slot_of(iid: &$crate::GUID) -> ::core::option::Option<usize> {
                let mut slot = 0usize;
                $(
                    if <$all as $crate::Interface>::implements(iid) {
                        return ::core::option::Option::Some(slot);
                    }
                    slot += 1;
                )+
                let _ = slot;
                ::core::option::Option::None
            }
            fn query_aggregate(&self, iid: &$crate::GUID) -> ::core::option::Option<*mut ::core::ffi::c_void> {
                $(
                    if let ::core::option::Option::Some(found) = $crate::object::Aggregated::query(&self.$field, iid) {
                        return ::core::option::Option::Some(found);
                    }
                )*
                let _ = iid;
                ::core::option::Option::None
            }
            fn construct(&self, controlling: &$crate::IUnknown) -> $crate::Result<()> {
                $( $crate::object::Aggregated::create(&self.$field, &$clsid, controlling)?; )*
                let _ = controlling;
                ::core::result::Result::Ok(())
            }
        }
    };
}
