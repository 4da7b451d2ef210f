//! Interface pointers: the [`Interface`] trait every generated wrapper implements, and
//! [`ComPtr`], the owning smart pointer (Clone = AddRef, Drop = Release,
//! [`ComPtr::cast`] = QueryInterface).
//!
//! Layer: core. Uses `bindings` of this layer.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::bindings::{IUnknown, IUnknown_Vtbl};
use crate::{E_POINTER, GUID, HRESULT, Result};

/// A COM interface as the generated code describes it.
///
/// # Safety
/// Implementors are `#[repr(transparent)]` wrappers of a non-null interface pointer (a
/// pointer to a pointer to `Vtable`), and `Vtable` begins with IUnknown's three slots.
/// The generated code is the intended implementor.
pub unsafe trait Interface: Copy + 'static {
    /// The vtable the pointer points at.
    type Vtable;
    /// The interface identifier.
    const IID: GUID;

    /// Whether a QueryInterface for `iid` is answered by this interface: its own IID or
    /// that of any base.
    fn implements(iid: &GUID) -> bool;

    /// The interface pointer.
    fn as_raw(&self) -> *mut c_void {
        // SAFETY: the trait's contract: `Self` is a transparent non-null pointer.
        unsafe { core::mem::transmute_copy::<Self, *mut c_void>(self) }
    }

    /// The vtable of the object behind the pointer.
    fn vtable(&self) -> &Self::Vtable {
        // SAFETY: a live interface pointer points at a vtable pointer (trait contract);
        // vtables outlive every pointer to them.
        unsafe { &**(self.as_raw() as *const *const Self::Vtable) }
    }

    /// Wraps a raw pointer without touching its reference count; NULL gives `None`.
    ///
    /// # Safety
    /// `raw` is NULL or a valid pointer to this interface, valid while the result is used.
    unsafe fn from_raw_borrowed(raw: *mut c_void) -> Option<Self> {
        // SAFETY: `Option<Self>` has the layout of a nullable pointer because `Self` is a
        // transparent non-null pointer (trait contract).
        unsafe { core::mem::transmute_copy::<*mut c_void, Option<Self>>(&raw) }
    }
}

/// An owned reference to an interface: one AddRef that Drop gives back with Release.
#[repr(transparent)]
pub struct ComPtr<I: Interface> {
    iface: I,
    /// Interface pointers belong to their apartment: not Send or Sync by default.
    _not_send: PhantomData<*mut c_void>,
}

impl<I: Interface> ComPtr<I> {
    /// Takes ownership of one reference; NULL gives `None`.
    ///
    /// # Safety
    /// `raw` is NULL or a valid `I` pointer whose reference the caller hands over.
    pub unsafe fn from_raw(raw: *mut c_void) -> Option<ComPtr<I>> {
        // SAFETY: forwarded to the caller's contract.
        unsafe { I::from_raw_borrowed(raw) }.map(|iface| ComPtr {
            iface,
            _not_send: PhantomData,
        })
    }

    /// Takes ownership of one reference held in a raw wrapper.
    ///
    /// # Safety
    /// `iface` carries a reference the caller hands over.
    pub unsafe fn from_interface(iface: I) -> ComPtr<I> {
        ComPtr {
            iface,
            _not_send: PhantomData,
        }
    }

    /// [`ComPtr::from_interface`] for a nullable pointer.
    ///
    /// # Safety
    /// As for [`ComPtr::from_interface`].
    pub unsafe fn from_option(iface: Option<I>) -> Option<ComPtr<I>> {
        // SAFETY: forwarded to the caller's contract.
        iface.map(|i| unsafe { ComPtr::from_interface(i) })
    }

    /// A new reference to the object `iface` points at (AddRef), for keeping an interface
    /// pointer received as an `[in]` parameter beyond the call.
    pub fn from_borrowed(iface: &I) -> ComPtr<I> {
        // SAFETY: an `I` is a valid interface pointer while it is used (the `Interface`
        // contract, and `from_raw_borrowed`'s), so the object is alive for this AddRef.
        unsafe { (unknown_vtbl_of(iface).AddRef)(iface.as_raw()) };
        ComPtr {
            iface: *iface,
            _not_send: PhantomData,
        }
    }

    /// Gives the reference up as a raw wrapper (for an `[out]` parameter).
    pub fn into_interface(self) -> I {
        let iface = self.iface;
        core::mem::forget(self);
        iface
    }

    /// Gives the reference up as a raw pointer.
    pub fn into_raw(self) -> *mut c_void {
        self.into_interface().as_raw()
    }

    /// The interface pointer, still owned by `self`.
    pub fn as_raw(&self) -> *mut c_void {
        self.iface.as_raw()
    }

    /// The object's IUnknown, borrowed through this pointer (not the identity pointer).
    fn unknown(&self) -> &IUnknown_Vtbl {
        unknown_vtbl_of(&self.iface)
    }

    /// QueryInterface: the same object seen through interface `J`.
    pub fn cast<J: Interface>(&self) -> Result<ComPtr<J>> {
        let mut out: *mut c_void = core::ptr::null_mut();
        // SAFETY: `self` is a live reference; QueryInterface writes an owned pointer or NULL.
        let hr: HRESULT =
            unsafe { (self.unknown().QueryInterface)(self.as_raw(), &J::IID, &mut out) };
        hr.ok()?;
        // SAFETY: on success `out` holds a `J` pointer with one reference for us.
        unsafe { ComPtr::from_raw(out) }.ok_or(E_POINTER)
    }

    /// The object's identity: its IUnknown pointer, equal for every interface of one object.
    pub fn identity(&self) -> Result<ComPtr<IUnknown>> {
        self.cast::<IUnknown>()
    }
}

impl<I: Interface> Clone for ComPtr<I> {
    fn clone(&self) -> ComPtr<I> {
        // SAFETY: `self` holds a reference, so the object is alive.
        unsafe { (self.unknown().AddRef)(self.as_raw()) };
        ComPtr {
            iface: self.iface,
            _not_send: PhantomData,
        }
    }
}

impl<I: Interface> Drop for ComPtr<I> {
    fn drop(&mut self) {
        // SAFETY: `self` holds the reference it gives back here, exactly once.
        unsafe { (self.unknown().Release)(self.as_raw()) };
    }
}

impl<I: Interface> core::ops::Deref for ComPtr<I> {
    type Target = I;
    fn deref(&self) -> &I {
        &self.iface
    }
}

impl<I: Interface> PartialEq for ComPtr<I> {
    fn eq(&self, other: &Self) -> bool {
        self.as_raw() == other.as_raw()
    }
}

impl<I: Interface> Eq for ComPtr<I> {}

impl<I: Interface> core::fmt::Debug for ComPtr<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ComPtr({}, {:p})", I::IID, self.as_raw())
    }
}

/// The IUnknown part of the vtable behind any interface pointer.
fn unknown_vtbl_of<I: Interface>(iface: &I) -> &IUnknown_Vtbl {
    // SAFETY: every interface's vtable begins with IUnknown's (trait contract).
    unsafe { &**(iface.as_raw() as *const *const IUnknown_Vtbl) }
}

/// `NonNull` re-exported for generated wrappers.
pub type RawInterface = NonNull<c_void>;
