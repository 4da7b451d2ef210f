//! Class objects (SEMANTICS.md, "Creation: class objects"): what a creatable Rust class
//! declares ([`Creatable`], with its [`ClassInfo`] from the IDL coclass and an optional
//! [`License`]), and the generic class object that creates it ([`ClassFactory`]), which
//! implements IClassFactory and, for licensed classes, IClassFactory2.
//!
//! Layer: com. Uses `module` of this layer and `object`, `unknown` of the layers below.

use core::ffi::c_void;
use core::marker::PhantomData;

use crate::object::{Class, ComObject};
use crate::unknown::{ComPtr, Interface};
use crate::{
    BOOL, BSTR, CLASS_E_NOAGGREGATION, CLASS_E_NOTLICENSED, DWORD, E_INVALIDARG, GUID,
    IClassFactory_Impl, IClassFactory2, IClassFactory2_Impl, IClassFactory2_Vtbl, IID, IUnknown,
    LICINFO, Result,
};

/// What the IDL says about a coclass (comidl generates one `CLASS_<Name>` constant per
/// coclass), used to register it and to find its class object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    /// The class identifier (`uuid`).
    pub clsid: GUID,
    /// The coclass name.
    pub name: &'static str,
    /// `helpstring`: the class's human-readable name in the registry, if given.
    pub helpstring: Option<&'static str>,
    /// `progid`: the versioned ProgID (`Vendor.Component.Version`).
    pub progid: Option<&'static str>,
    /// `vi_progid`: the version-independent ProgID (`Vendor.Component`).
    pub vi_progid: Option<&'static str>,
    /// `threading`: the registry's ThreadingModel (`Apartment`, `Free`, `Both`, `Neutral`).
    pub threading: Option<&'static str>,
    /// `version`.
    pub version: Option<&'static str>,
    /// The LIBID of the library the coclass is declared in.
    pub typelib: Option<GUID>,
}

impl ClassInfo {
    /// A class known only by its CLSID and name.
    pub const fn new(clsid: GUID, name: &'static str) -> ClassInfo {
        ClassInfo {
            clsid,
            name,
            helpstring: None,
            progid: None,
            vi_progid: None,
            threading: None,
            version: None,
            typelib: None,
        }
    }
}

/// The licence of a licensed class (IClassFactory2). Creating one needs a licensed machine
/// (`machine_licensed` answers true) or, on an unlicensed machine, the runtime key, which
/// a licensed machine hands out through `RequestLicKey`.
#[derive(Clone, Copy, Debug)]
pub struct License {
    /// The runtime licence key.
    pub key: &'static str,
    /// Whether this machine holds a full licence (a licence file, say).
    pub machine_licensed: fn() -> bool,
}

/// A Rust class that a class object can create.
pub trait Creatable: Class {
    /// The coclass (`CLASS_<Name>` from the generated bindings).
    const CLASS: &'static ClassInfo;
    /// Whether the class may be created inside an aggregate. Every Rust class can be (the
    /// runtime implements the non-delegating IUnknown); a class sets this to false to refuse.
    const AGGREGATABLE: bool = true;
    /// The licence, for a licensed class.
    const LICENSE: Option<&'static License> = None;
    /// A new value, before it is placed in its object.
    fn create() -> Result<Self>;
}

/// Creates an instance of `C` for `riid`, inside `outer`'s aggregate if given (then `riid`
/// must be IUnknown and the result is the non-delegating IUnknown).
pub fn create_instance<C: Creatable>(outer: Option<&IUnknown>, riid: &IID) -> Result<*mut c_void> {
    if outer.is_some() && (!C::AGGREGATABLE || *riid != IUnknown::IID) {
        return Err(CLASS_E_NOAGGREGATION);
    }
    let unknown = ComObject::new_aggregated(C::create()?, outer)?;
    if outer.is_some() {
        return Ok(unknown.into_raw());
    }
    let mut out = core::ptr::null_mut();
    // SAFETY: `unknown` is a live IUnknown; QueryInterface writes an owned pointer or NULL.
    let hr = unsafe { ((*unknown).vtable().QueryInterface)(unknown.as_raw(), riid, &mut out) };
    hr.ok().map(|()| out)
}

/// The class object of `C`: IClassFactory, plus IClassFactory2 when `C` is licensed.
/// Class objects do not count as the module's objects (SEMANTICS.md, "Server lifetime").
pub struct ClassFactory<C>(PhantomData<fn() -> C>);

impl<C: Creatable> ClassFactory<C> {
    /// A new class object for `C`, as its IUnknown.
    // Class objects are only ever seen through interface pointers.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> ComPtr<IUnknown> {
        ComObject::new_class_object(ClassFactory::<C>(PhantomData))
    }

    fn licensed() -> bool {
        C::LICENSE.is_none_or(|license| (license.machine_licensed)())
    }
}

// SAFETY: one slot holding IClassFactory2's vtable built for slot 0; `slot_of` answers 0
// only for IIDs that vtable implements.
unsafe impl<C: Creatable> Class for ClassFactory<C> {
    type Slots = [*const c_void; 1];
    const SLOTS: Self::Slots =
        [&IClassFactory2_Vtbl::new::<Self, 0>() as *const IClassFactory2_Vtbl as *const c_void];

    fn slot_of(iid: &GUID) -> Option<usize> {
        if *iid == IClassFactory2::IID && C::LICENSE.is_none() {
            return None;
        }
        IClassFactory2::implements(iid).then_some(0)
    }
}

impl<C: Creatable> IClassFactory_Impl for ClassFactory<C> {
    fn create_instance(&self, outer: Option<&IUnknown>, riid: &IID) -> Result<*mut c_void> {
        if !Self::licensed() {
            return Err(CLASS_E_NOTLICENSED);
        }
        create_instance::<C>(outer, riid)
    }

    fn lock_server(&self, lock: BOOL) -> Result<()> {
        crate::module::lock_server(lock != 0);
        Ok(())
    }
}

impl<C: Creatable> IClassFactory2_Impl for ClassFactory<C> {
    fn get_lic_info(&self) -> Result<LICINFO> {
        let licensed = BOOL::from(Self::licensed());
        Ok(LICINFO {
            cbLicInfo: core::mem::size_of::<LICINFO>() as i32,
            fRuntimeKeyAvail: licensed,
            fLicVerified: licensed,
        })
    }

    fn request_lic_key(&self, reserved: DWORD) -> Result<BSTR> {
        if reserved != 0 {
            return Err(E_INVALIDARG);
        }
        match C::LICENSE {
            Some(license) if (license.machine_licensed)() => Ok(BSTR::from(license.key)),
            _ => Err(CLASS_E_NOTLICENSED),
        }
    }

    fn create_instance_lic(
        &self,
        outer: Option<&IUnknown>,
        reserved: Option<&IUnknown>,
        riid: &IID,
        key: &BSTR,
    ) -> Result<*mut c_void> {
        if reserved.is_some() {
            return Err(E_INVALIDARG);
        }
        let key_valid = C::LICENSE.is_none_or(|license| *key == license.key);
        if !key_valid && !Self::licensed() {
            return Err(CLASS_E_NOTLICENSED);
        }
        create_instance::<C>(outer, riid)
    }
}
