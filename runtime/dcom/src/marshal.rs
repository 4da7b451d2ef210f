//! Marshalling interface pointers: an interface pointer becomes an OBJREF (MS-DCOM
//! 2.2.18) that another process (or this one) turns back into a pointer to the same
//! object: a proxy elsewhere, the object itself here. The COM-named entry points
//! (CoMarshalInterface and its family over IStream) build on these; the NDR engine uses
//! [`CallMarshaller`] for interface pointers among a call's parameters.

use std::ffi::c_void;

use std::sync::OnceLock;

use comidl_runtime_core::{
    ComPtr, E_NOTIMPL, GUID, HRESULT, Interface, REGDB_E_CLASSNOTREG, RPC_E_INVALID_OBJREF, Result,
};
use comidl_runtime_ndr::{InterfaceMarshal, NdrError};

use crate::bindings::{IID_IMarshal, IMarshal};
use crate::stream::MemoryStream;

pub use crate::exporter::Keep;
use crate::exporter::{exporter, is_ours, started};
use crate::objref::{Objref, ObjrefForm};
use crate::{proxy, unk};

/// CLSID_StdMarshal {00000017-0000-0000-C000-000000000046}: the class of the standard
/// marshaller, what `IMarshal::GetUnmarshalClass` names for standard marshalling.
pub const CLSID_STD_MARSHAL: GUID = GUID::from_u128(0x0000_0017_0000_0000_c000_0000_0000_0046);

/// MSHCTX_LOCAL: the destination is another process of this machine.
pub const MSHCTX_LOCAL: u32 = 0;
/// MSHCTX_DIFFERENTMACHINE.
pub const MSHCTX_DIFFERENTMACHINE: u32 = 2;
/// MSHCTX_INPROC: another apartment of this process.
pub const MSHCTX_INPROC: u32 = 3;

impl Keep {
    /// The MSHLFLAGS value's kind (MSHLFLAGS_NOPING and unknown bits aside).
    pub fn from_flags(flags: u32) -> Result<Keep> {
        match flags & 3 {
            0 => Ok(Keep::Normal),
            1 => Ok(Keep::TableStrong),
            2 => Ok(Keep::TableWeak),
            _ => Err(comidl_runtime_core::E_INVALIDARG),
        }
    }

    /// The MSHLFLAGS value.
    pub fn flags(self) -> u32 {
        match self {
            Keep::Normal => 0,
            Keep::TableStrong => 1,
            Keep::TableWeak => 2,
        }
    }
}

/// Makes the unmarshaller of a custom OBJREF: an instance of the class the OBJREF names,
/// created in process, as its IMarshal. The activation layer hands it in.
pub type UnmarshalerSource = fn(&GUID) -> Result<ComPtr<IMarshal>>;

static UNMARSHALERS: OnceLock<UnmarshalerSource> = OnceLock::new();

/// Sets where custom unmarshallers come from (see [`UnmarshalerSource`]); the first call
/// wins.
pub fn set_unmarshaler_source(source: UnmarshalerSource) {
    let _ = UNMARSHALERS.set(source);
}

/// The marshalling functions of the process's COM library, when this copy of the runtime
/// lives in a module another copy loaded (a proxy/stub module): interface pointers among
/// the module's parameters are marshalled there, so the process has one exporter and
/// each object one identity. The signatures are the host services table's.
#[derive(Clone, Copy)]
pub struct Forward {
    /// `marshal(iid, itf, context, mshlflags, &task_block, &len)`.
    pub marshal:
        unsafe extern "C" fn(*const GUID, *mut c_void, u32, u32, *mut *mut u8, *mut u32) -> HRESULT,
    /// `unmarshal(bytes, len, iid, &itf)`.
    pub unmarshal: unsafe extern "C" fn(*const u8, u32, *const GUID, *mut *mut c_void) -> HRESULT,
    /// `release(bytes, len)`.
    pub release: unsafe extern "C" fn(*const u8, u32) -> HRESULT,
}

static FORWARD: OnceLock<Forward> = OnceLock::new();

/// Sends this copy's marshalling to the process's COM library (see [`Forward`]); the
/// first call wins. What a proxy/stub module does once its host attached it.
pub fn forward_to(host: Forward) {
    let _ = FORWARD.set(host);
}

/// An OBJREF's length as the table takes it.
fn len32(bytes: &[u8]) -> Result<u32> {
    u32::try_from(bytes.len()).map_err(|_| RPC_E_INVALID_OBJREF)
}

/// [`marshal_for`] in the host.
///
/// # Safety
/// As for [`marshal_for`].
unsafe fn forwarded_marshal(
    host: &Forward,
    itf: *mut c_void,
    iid: &GUID,
    context: u32,
    keep: Keep,
) -> Result<Vec<u8>> {
    let mut block: *mut u8 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: the caller's contract; the out pointers are ours.
    unsafe { (host.marshal)(iid, itf, context, keep.flags(), &mut block, &mut len) }.ok()?;
    if block.is_null() {
        return Err(RPC_E_INVALID_OBJREF);
    }
    // SAFETY: the host wrote `len` bytes into a task-allocator block that is now ours.
    let bytes = unsafe { std::slice::from_raw_parts(block, len as usize) }.to_vec();
    // SAFETY: the block the host allocated for us, freed once.
    unsafe { comidl_runtime_core::CoTaskMemFree(block.cast()) };
    Ok(bytes)
}

/// The unmarshaller of class `clsid` (custom marshalling).
pub(crate) fn unmarshaler(clsid: &GUID) -> Result<ComPtr<IMarshal>> {
    (UNMARSHALERS.get().ok_or(REGDB_E_CLASSNOTREG)?)(clsid)
}

/// The object's own IMarshal and the unmarshal class it names, when it marshals itself
/// (custom marshalling): not for proxies, and not when it names the standard marshaller.
///
/// # Safety
/// `itf` is a live interface pointer.
pub(crate) unsafe fn custom_marshaler(
    itf: *mut c_void,
    iid: &GUID,
    context: u32,
    keep: Keep,
) -> Result<Option<(ComPtr<IMarshal>, GUID)>> {
    // SAFETY: the caller's contract.
    if let Some((_, identity)) = unsafe { proxy::as_proxy(itf) } {
        // SAFETY: the identity reference `as_proxy` took.
        unsafe { unk::release(identity) };
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    let Ok(m) = (unsafe { unk::query(itf, &IID_IMarshal) }) else {
        return Ok(None);
    };
    // SAFETY: QueryInterface gave an IMarshal with a reference for us.
    let Some(m) = (unsafe { ComPtr::<IMarshal>::from_raw(m) }) else {
        return Ok(None);
    };
    // SAFETY: `itf` is the object's live pointer; no destination context data.
    let clsid =
        unsafe { m.get_unmarshal_class(iid, itf, context, std::ptr::null_mut(), keep.flags()) }?;
    Ok((clsid != CLSID_STD_MARSHAL).then_some((m, clsid)))
}

/// The OBJREF of interface `iid` of `itf` for destination context `context`: custom when
/// the object implements IMarshal (OBJREF_CUSTOM with its class and its bytes), else
/// standard ([`marshal_standard`]).
///
/// # Safety
/// As for [`marshal_interface`].
pub unsafe fn marshal_for(
    itf: *mut c_void,
    iid: &GUID,
    context: u32,
    keep: Keep,
) -> Result<Vec<u8>> {
    if let Some(host) = FORWARD.get() {
        // SAFETY: forwarded.
        return unsafe { forwarded_marshal(host, itf, iid, context, keep) };
    }
    // SAFETY: the caller's contract.
    if let Some((m, clsid)) = unsafe { custom_marshaler(itf, iid, context, keep) }? {
        let stream = MemoryStream::create()?;
        // SAFETY: as above.
        unsafe {
            m.marshal_interface(
                Some(&stream),
                iid,
                itf,
                context,
                std::ptr::null_mut(),
                keep.flags(),
            )
        }?;
        let data = crate::stream::contents(&stream)?;
        let o = Objref {
            iid: *iid,
            form: ObjrefForm::Custom {
                clsid,
                cb_extension: 0,
                reserved: 0,
                data,
            },
        };
        return o.encode().map_err(|_| RPC_E_INVALID_OBJREF);
    }
    // For another machine (a proxy/stub module's channel says so for calls to an
    // exporter reached over TCP): an OBJREF it can reach and must ping.
    if context == MSHCTX_DIFFERENTMACHINE {
        return crate::machine::marshalling_for_remote(|| {
            // SAFETY: forwarded.
            unsafe { marshal_standard(itf, iid, keep) }
        });
    }
    // SAFETY: forwarded.
    unsafe { marshal_standard(itf, iid, keep) }
}

/// The OBJREF for interface `iid` of the object `itf` points to, custom when the object
/// marshals itself ([`marshal_for`] another process of this machine).
///
/// # Safety
/// As for [`marshal_standard`].
pub unsafe fn marshal_interface(itf: *mut c_void, iid: &GUID, keep: Keep) -> Result<Vec<u8>> {
    // SAFETY: forwarded.
    unsafe { marshal_for(itf, iid, MSHCTX_LOCAL, keep) }
}

/// The standard OBJREF for interface `iid` of the object `itf` points to. A proxy is marshalled as
/// a reference to its object's own exporter (one more reference asked for there); a
/// local object is exported by this process's exporter, with one public reference for a
/// normal marshal and none for a table marshal.
///
/// # Safety
/// `itf` is a live interface pointer of interface `iid`, of an object any thread may call.
pub unsafe fn marshal_standard(itf: *mut c_void, iid: &GUID, keep: Keep) -> Result<Vec<u8>> {
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
    if let Some(host) = FORWARD.get() {
        let mut out = std::ptr::null_mut();
        // SAFETY: the bytes and the out pointer are ours.
        unsafe { (host.unmarshal)(objref.as_ptr(), len32(objref)?, iid, &mut out) }.ok()?;
        return if out.is_null() {
            Err(RPC_E_INVALID_OBJREF)
        } else {
            Ok(out)
        };
    }
    let o = Objref::decode(objref).map_err(|_| RPC_E_INVALID_OBJREF)?;
    let (std, res_addr) = match &o.form {
        ObjrefForm::Standard { std, res_addr }
        | ObjrefForm::Handler { std, res_addr, .. }
        | ObjrefForm::Extended { std, res_addr, .. } => (*std, res_addr),
        ObjrefForm::Custom { clsid, data, .. } => {
            let stream = MemoryStream::with_bytes(data.clone())?;
            return unmarshaler(clsid)?.unmarshal_interface(Some(&stream), iid);
        }
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
    if let Some(host) = FORWARD.get() {
        // SAFETY: the bytes are ours.
        return unsafe { (host.release)(objref.as_ptr(), len32(objref)?) }.ok();
    }
    let o = Objref::decode(objref).map_err(|_| RPC_E_INVALID_OBJREF)?;
    if let ObjrefForm::Custom { clsid, data, .. } = &o.form {
        let stream = MemoryStream::with_bytes(data.clone())?;
        return unmarshaler(clsid)?.release_marshal_data(Some(&stream));
    }
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
/// call's parameters: normal marshals both ways, for the call's destination context
/// (MSHCTX_DIFFERENTMACHINE for a proxy whose exporter is on another machine).
pub(crate) struct CallMarshaller {
    pub context: u32,
}

impl CallMarshaller {
    /// For a call within this machine (or a stub's reply, which follows its caller).
    pub(crate) const LOCAL: CallMarshaller = CallMarshaller {
        context: MSHCTX_LOCAL,
    };
}

impl InterfaceMarshal for CallMarshaller {
    unsafe fn marshal(&self, iid: &GUID, itf: *mut c_void) -> comidl_runtime_ndr::Result<Vec<u8>> {
        // SAFETY: forwarded (the engine's contract: a live pointer of interface `iid`).
        unsafe { marshal_for(itf, iid, self.context, Keep::Normal) }.map_err(NdrError::Interface)
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
