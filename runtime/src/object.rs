//! Objects implemented in Rust: [`ComObject`] holds a value of a [`Class`] with one vtable
//! pointer per implemented interface and an atomic reference count. Generated vtables
//! (`IFoo_Vtbl::new::<C, K>()`) find the object from the interface pointer (slot `K`) and
//! forward to the `IFoo_Impl` trait; IUnknown's three entries are here.
//!
//! Identity: slot 0 is the object's IUnknown; every QueryInterface for IUnknown returns it.

use core::ffi::c_void;
use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicU32, Ordering, fence};
use std::panic::catch_unwind;

use crate::bindings::IUnknown;
use crate::unknown::{ComPtr, Interface};
use crate::{E_NOINTERFACE, E_POINTER, E_UNEXPECTED, GUID, HRESULT, Result, S_OK};

/// A Rust type that implements COM interfaces. Implemented by [`implement!`](crate::implement).
///
/// # Safety
/// `Slots` is an array of vtable pointers and `SLOTS[k]` is the vtable
/// `IFoo_Vtbl::new::<Self, k>()` of the `k`-th interface; `slot_of` answers with an index
/// whose interface implements `iid`, and 0 for IUnknown.
pub unsafe trait Class: Sized + 'static {
    /// `[*const c_void; N]`, one vtable pointer per interface.
    type Slots: Copy + 'static;
    /// The vtable pointers.
    const SLOTS: Self::Slots;
    /// The slot answering a QueryInterface for `iid`.
    fn slot_of(iid: &GUID) -> Option<usize>;
}

/// A heap object: vtable pointers first (interface pointers point into them), then the
/// reference count, then the value.
#[repr(C)]
pub struct ComObject<C: Class> {
    slots: C::Slots,
    refs: AtomicU32,
    value: C,
}

impl<C: Class> ComObject<C> {
    /// Moves `value` into a new object and returns its IUnknown (reference count 1).
    pub fn unknown(value: C) -> ComPtr<IUnknown> {
        let object = Box::new(ComObject {
            slots: C::SLOTS,
            refs: AtomicU32::new(1),
            value,
        });
        let raw = Box::into_raw(object).cast::<c_void>();
        // SAFETY: slot 0 of a fresh object is its IUnknown; we own its one reference.
        match unsafe { ComPtr::from_raw(raw) } {
            Some(unknown) => unknown,
            None => unreachable!("Box::into_raw never returns NULL"),
        }
    }

    /// Moves `value` into a new object and returns it as interface `I`.
    pub fn create<I: Interface>(value: C) -> Result<ComPtr<I>> {
        ComObject::unknown(value).cast::<I>()
    }
}

impl<C: Class> ComObject<C> {
    /// QueryInterface on the object holding `value`, for an implementation that must
    /// hand out one of its own interfaces (`[out, iid_is(riid)] void **` on the server
    /// side). Returns the interface pointer with a reference for the caller.
    ///
    /// # Safety
    /// `value` is the value of a live `ComObject<C>`: true for the `&self` of a `*_Impl`
    /// method called through an interface pointer, false for a value that was never moved
    /// into an object.
    pub unsafe fn query_value(value: &C, iid: &GUID) -> Result<*mut c_void> {
        let offset = core::mem::offset_of!(ComObject<C>, value);
        // SAFETY: the caller's contract: `value` sits `offset` bytes into its object.
        let object = unsafe { core::ptr::from_ref(value).cast::<u8>().sub(offset) };
        let this = object.cast_mut().cast::<c_void>();
        let mut out = core::ptr::null_mut();
        // SAFETY: `this` is slot 0 of a live object.
        let hr = unsafe { query_interface::<C, 0>(this, iid, &mut out) };
        hr.ok().map(|()| out)
    }
}

/// The object whose slot `K` `this` points at.
///
/// # Safety
/// `this` is an interface pointer of slot `K` of a live `ComObject<C>`.
pub unsafe fn object_of<'a, C: Class, const K: usize>(this: *mut c_void) -> &'a C {
    // SAFETY: slot K sits K pointers after the object's start (repr(C), slots first).
    let object = unsafe { this.cast::<*const c_void>().sub(K) }.cast::<ComObject<C>>();
    // SAFETY: the object is alive while a caller holds one of its interface pointers.
    unsafe { &(*object).value }
}

/// The header of the object whose slot `K` `this` points at.
///
/// # Safety
/// As for [`object_of`].
unsafe fn header<'a, C: Class, const K: usize>(this: *mut c_void) -> &'a ComObject<C> {
    // SAFETY: as in `object_of`.
    unsafe { &*this.cast::<*const c_void>().sub(K).cast::<ComObject<C>>() }
}

/// IUnknown::QueryInterface for slot `K` of a `C` object.
///
/// # Safety
/// Called through the vtable with `this` an interface pointer of slot `K`.
pub unsafe extern "system" fn query_interface<C: Class, const K: usize>(
    this: *mut c_void,
    riid: *const GUID,
    ppv: *mut *mut c_void,
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
        let Some(slot) = C::slot_of(iid) else {
            return E_NOINTERFACE;
        };
        // SAFETY: `this` is slot K of a live object (vtable contract).
        let object = unsafe { header::<C, K>(this) };
        object.refs.fetch_add(1, Ordering::Relaxed);
        let base = core::ptr::from_ref(object).cast::<*const c_void>();
        // SAFETY: `slot_of` answers an index inside the slots array.
        let target = unsafe { base.add(slot) }.cast_mut().cast::<c_void>();
        // SAFETY: as above, `ppv` is writable.
        unsafe { ppv.write(target) };
        S_OK
    })
}

/// IUnknown::AddRef for slot `K` of a `C` object.
///
/// # Safety
/// As for [`query_interface`].
pub unsafe extern "system" fn add_ref<C: Class, const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: `this` is slot K of a live object (vtable contract).
    let object = unsafe { header::<C, K>(this) };
    object.refs.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

/// IUnknown::Release for slot `K` of a `C` object; frees it when the count reaches zero.
///
/// # Safety
/// As for [`query_interface`], and the caller gives up one reference.
pub unsafe extern "system" fn release<C: Class, const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: `this` is slot K of a live object (vtable contract).
    let object = unsafe { header::<C, K>(this) };
    let before = object.refs.fetch_sub(1, Ordering::Release);
    if before != 1 {
        return before.wrapping_sub(1);
    }
    // Every other reference's last use happens before this free.
    fence(Ordering::Acquire);
    let raw = core::ptr::from_ref(object).cast_mut();
    // A panicking Drop must not unwind into the caller: catch it and carry on.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the count reached zero, so nobody else can reach the object; it came
        // from `Box::into_raw` in `ComObject::unknown`.
        drop(unsafe { Box::from_raw(raw) });
    }));
    0
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
/// interface's `*_Impl` trait; the first interface's slot is the object's IUnknown.
#[macro_export]
macro_rules! implement {
    ($class:ty : $($iface:ty),+ $(,)?) => {
        $crate::implement!(@build $class; [$($iface),+]; []; 0usize; $($iface),+);
    };
    (@build $class:ty; [$($all:ty),+]; [$($done:expr),*]; $k:expr; $head:ty $(, $rest:ty)*) => {
        $crate::implement!(@build $class; [$($all),+];
            [$($done,)* &<<$head as $crate::Interface>::Vtable>::new::<$class, { $k }>()
                as *const <$head as $crate::Interface>::Vtable as *const ::core::ffi::c_void];
            $k + 1usize; $($rest),*);
    };
    (@build $class:ty; [$($all:ty),+]; [$($done:expr),*]; $k:expr;) => {
        // SAFETY: slot k holds the vtable built for slot k, and `slot_of` searches the
        // same list in the same order.
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
        }
    };
}
