//! Marshalling interface pointers: an interface pointer becomes an OBJREF (MS-DCOM
//! 2.2.18) that another process (or this one) turns back into a pointer to the same
//! object: a proxy elsewhere, the object itself here. The COM-named entry points
//! (CoMarshalInterface and its family over IStream) build on these; the NDR engine uses
//! [`CallMarshaller`] for interface pointers among a call's parameters.

use std::ffi::c_void;

use comidl_runtime_core::{ComPtr, E_NOTIMPL, GUID, Interface, RPC_E_INVALID_OBJREF, Result};
use comidl_runtime_ndr::{InterfaceMarshal, NdrError};

pub use crate::exporter::Keep;
use crate::exporter::{exporter, is_ours, started};
use crate::objref::{Objref, ObjrefForm};
use crate::{proxy, unk};

/// The OBJREF for interface `iid` of the object `itf` points to. A proxy is marshalled as
/// a reference to its object's own exporter (one more reference asked for there); a
/// local object is exported by this process's exporter, with one public reference for a
/// normal marshal and none for a table marshal.
///
/// # Safety
/// `itf` is a live interface pointer of interface `iid`, of an object any thread may call.
pub unsafe fn marshal_interface(itf: *mut c_void, iid: &GUID, keep: Keep) -> Result<Vec<u8>> {
    // SAFETY: the caller's contract.
    if let Some((manager, identity)) = unsafe { proxy::as_proxy(itf) } {
        let made = manager.marshal_ref(iid);
        // SAFETY: the identity reference `as_proxy` took.
        unsafe { unk::release(identity) };
        let (std, res_addr) = made?;
        let o = Objref {
            iid: *iid,
            form: ObjrefForm::Standard { std, res_addr },
        };
        return o.encode().map_err(|_| RPC_E_INVALID_OBJREF);
    }
    let e = exporter()?;
    let refs = match keep {
        Keep::Normal => 1,
        Keep::TableStrong | Keep::TableWeak => 0,
    };
    // SAFETY: the caller's contract.
    let std = unsafe { e.export(itf, iid, refs, keep)? };
    e.objref(*iid, std)
        .encode()
        .map_err(|_| RPC_E_INVALID_OBJREF)
}

/// The interface pointer (with one reference) that an OBJREF names, as interface `iid`:
/// the object itself when this process exports it, else a proxy. A normal marshal's
/// references are taken over (it can be unmarshalled once); a table marshal's stay.
pub fn unmarshal_interface(objref: &[u8], iid: &GUID) -> Result<*mut c_void> {
    let o = Objref::decode(objref).map_err(|_| RPC_E_INVALID_OBJREF)?;
    let (std, res_addr) = match &o.form {
        ObjrefForm::Standard { std, res_addr }
        | ObjrefForm::Handler { std, res_addr, .. }
        | ObjrefForm::Extended { std, res_addr, .. } => (*std, res_addr),
        // Custom marshalling (an object's own IMarshal) is not done yet.
        ObjrefForm::Custom { .. } => return Err(E_NOTIMPL),
    };
    let p = if is_ours(std.oxid) {
        let e = started().ok_or(RPC_E_INVALID_OBJREF)?;
        let (itf, _, stub) = e
            .local(&std.ipid, None)
            .ok_or(comidl_runtime_core::RPC_E_DISCONNECTED)?;
        stub.release();
        if std.public_refs > 0 {
            // The marshal's references come home: the object keeps only ours.
            let _ = e.release_refs(&std.ipid, std.public_refs, 0);
        }
        itf
    } else {
        proxy::import(&o.iid, &std, res_addr)?
    };
    if o.iid == *iid {
        return Ok(p);
    }
    // SAFETY: `p` is live with our reference, given back after the QueryInterface.
    let q = unsafe { unk::query(p, iid) };
    // SAFETY: as above.
    unsafe { unk::release(p) };
    q
}

/// Gives back what a marshal holds without unmarshalling it (CoReleaseMarshalData): a
/// normal marshal's references, or a table-strong marshal's hold on its object.
pub fn release_marshal_data(objref: &[u8]) -> Result<()> {
    let o = Objref::decode(objref).map_err(|_| RPC_E_INVALID_OBJREF)?;
    let Some(std) = o.form.std() else {
        return Err(E_NOTIMPL);
    };
    if is_ours(std.oxid) {
        let e = started().ok_or(RPC_E_INVALID_OBJREF)?;
        if std.public_refs > 0 {
            return e.release_refs(&std.ipid, std.public_refs, 0).ok();
        }
        e.release_strong(std.oid);
        return Ok(());
    }
    match &o.form {
        ObjrefForm::Standard { res_addr, .. }
        | ObjrefForm::Handler { res_addr, .. }
        | ObjrefForm::Extended { res_addr, .. } => {
            proxy::release_remote(std, res_addr);
            Ok(())
        }
        ObjrefForm::Custom { .. } => Err(E_NOTIMPL),
    }
}

/// [`marshal_interface`] for a typed interface pointer.
pub fn marshal<I: Interface>(itf: &I, keep: Keep) -> Result<Vec<u8>> {
    // SAFETY: an `I` is a live interface pointer of interface `I::IID`; objects this
    // runtime serves live in the multithreaded apartment.
    unsafe { marshal_interface(itf.as_raw(), &I::IID, keep) }
}

/// [`unmarshal_interface`] as a typed, owned interface pointer.
pub fn unmarshal<I: Interface>(objref: &[u8]) -> Result<ComPtr<I>> {
    let p = unmarshal_interface(objref, &I::IID)?;
    // SAFETY: a pointer of interface `I` with one reference for us.
    unsafe { ComPtr::from_raw(p) }.ok_or(RPC_E_INVALID_OBJREF)
}

/// The marshaller proxies and stubs lend the NDR engine for the interface pointers among a
/// call's parameters: normal marshals both ways.
pub(crate) struct CallMarshaller;

impl InterfaceMarshal for CallMarshaller {
    unsafe fn marshal(&self, iid: &GUID, itf: *mut c_void) -> comidl_runtime_ndr::Result<Vec<u8>> {
        // SAFETY: forwarded (the engine's contract: a live pointer of interface `iid`).
        unsafe { marshal_interface(itf, iid, Keep::Normal) }.map_err(NdrError::Interface)
    }

    fn unmarshal(&self, iid: &GUID, objref: &[u8]) -> comidl_runtime_ndr::Result<*mut c_void> {
        unmarshal_interface(objref, iid).map_err(NdrError::Interface)
    }
}

/// An interface pointer any thread may hold and resolve (`Send + Sync`), as COM allows
/// agile references: the object is marshalled table-strong once, and [`resolve`] gives
/// each caller a pointer of its own (the object itself in its process, a proxy
/// elsewhere). The marshal is released when the reference is dropped.
///
/// [`resolve`]: AgileReference::resolve
pub struct AgileReference<I: Interface> {
    objref: Vec<u8>,
    _interface: std::marker::PhantomData<fn() -> I>,
}

impl<I: Interface> AgileReference<I> {
    /// An agile reference to `itf`'s object, as interface `I`.
    pub fn new(itf: &I) -> Result<AgileReference<I>> {
        Ok(AgileReference {
            objref: marshal(itf, Keep::TableStrong)?,
            _interface: std::marker::PhantomData,
        })
    }

    /// A pointer to the object for this thread.
    pub fn resolve(&self) -> Result<ComPtr<I>> {
        unmarshal::<I>(&self.objref)
    }
}

impl<I: Interface> Drop for AgileReference<I> {
    fn drop(&mut self) {
        let _ = release_marshal_data(&self.objref);
    }
}

impl<I: Interface> std::fmt::Debug for AgileReference<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgileReference").finish_non_exhaustive()
    }
}
