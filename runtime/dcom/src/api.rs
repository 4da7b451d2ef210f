//! The marshalling API under COM's names, over streams: CoMarshalInterface and
//! CoUnmarshalInterface, CoReleaseMarshalData, CoGetMarshalSizeMax,
//! CoMarshalInterThreadInterfaceInStream / CoGetInterfaceAndReleaseStream,
//! CoGetStandardMarshal (the standard marshaller as an IMarshal object), CoDisconnectObject
//! and CreateStreamOnHGlobal (for a new stream). They write and read the OBJREFs of
//! [`crate::marshal`]; a custom OBJREF is read up to its object data, which the class it
//! names reads from the stream itself, as on Windows.
//!
//! Each takes COM's raw arguments and returns an HRESULT; none panics or unwinds.

#![allow(non_snake_case)] // COM's names

use std::ffi::c_void;

use comidl_runtime_core::{
    ComObject, E_INVALIDARG, E_NOTIMPL, E_POINTER, E_UNEXPECTED, GUID, HRESULT, Interface,
    RPC_E_INVALID_OBJREF, Result, S_OK,
};

use crate::bindings::{IMarshal, IMarshal_Impl, IStream, LARGE_INTEGER};
use crate::exporter::{Keep, started};
use crate::marshal::{self, CLSID_STD_MARSHAL, MSHCTX_INPROC, unmarshaler};
use crate::objref::{
    OBJREF_CUSTOM, OBJREF_EXTENDED, OBJREF_HANDLER, OBJREF_SIGNATURE, OBJREF_STANDARD,
};
use crate::stream::{MemoryStream, read_exact, write_all};
use crate::{proxy, unk};

/// The largest DATAELEMENT an extended OBJREF read from a stream may carry.
const MAX_ELEMENT: usize = 1 << 20;

/// Runs `f`, turning a panic into E_UNEXPECTED and a result into an HRESULT.
fn guarded(f: impl FnOnce() -> Result<()>) -> HRESULT {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => S_OK,
        Ok(Err(hr)) => hr,
        Err(_) => E_UNEXPECTED,
    }
}

/// A function with one `[out]` value: NULL `out` is E_POINTER; otherwise `*out` is `empty`
/// until `f` succeeds, then what `f` gives.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn with_out<T: Copy>(out: *mut T, empty: T, f: impl FnOnce() -> Result<T>) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: checked writable (the caller's contract).
    unsafe { out.write(empty) };
    guarded(|| {
        let value = f()?;
        // SAFETY: as above.
        unsafe { out.write(value) };
        Ok(())
    })
}

/// A borrowed interface pointer argument; NULL is E_POINTER.
///
/// # Safety
/// `p` is NULL or a live pointer of interface `I`.
unsafe fn borrowed<I: Interface>(p: *mut c_void) -> Result<I> {
    // SAFETY: the caller's contract.
    unsafe { I::from_raw_borrowed(p) }.ok_or(E_POINTER)
}

/// An IID argument; NULL is E_POINTER.
///
/// # Safety
/// `p` is NULL or points to a GUID.
unsafe fn iid_of<'a>(p: *const GUID) -> Result<&'a GUID> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }.ok_or(E_POINTER)
}

/// What a stream holds at its position: a whole standard (or handler, or extended) OBJREF,
/// or the head of a custom one, whose object data follows for its class to read.
enum Read {
    Whole(Vec<u8>),
    Custom { clsid: GUID },
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn guid_at(b: &[u8], at: usize) -> GUID {
    let mut g = [0u8; 16];
    g.copy_from_slice(&b[at..at + 16]);
    GUID::from_bytes_le(g)
}

/// Reads one OBJREF from `stream`, no byte past it.
fn read_objref(stream: &IStream) -> Result<Read> {
    let bad = RPC_E_INVALID_OBJREF;
    let mut b = read_exact(stream, 24, bad)?;
    if u32_at(&b, 0) as u32 != OBJREF_SIGNATURE {
        return Err(bad);
    }
    let flags = u32_at(&b, 4) as u32;
    // A DUALSTRINGARRAY: its two counts, then its entries.
    let dual = |b: &mut Vec<u8>| -> Result<()> {
        let at = b.len();
        b.extend(read_exact(stream, 4, bad)?);
        let n = u16_at(b, at);
        b.extend(read_exact(stream, 2 * n, bad)?);
        Ok(())
    };
    match flags {
        OBJREF_STANDARD => {
            b.extend(read_exact(stream, 40, bad)?);
            dual(&mut b)?;
        }
        OBJREF_HANDLER => {
            b.extend(read_exact(stream, 56, bad)?);
            dual(&mut b)?;
        }
        OBJREF_EXTENDED => {
            b.extend(read_exact(stream, 44, bad)?);
            dual(&mut b)?;
            // nElms, Signature2, then the DATAELEMENT: its GUID, cbSize, cbRounded, data.
            b.extend(read_exact(stream, 8 + 24, bad)?);
            let rounded = u32_at(&b, b.len() - 4);
            if rounded > MAX_ELEMENT {
                return Err(bad);
            }
            b.extend(read_exact(stream, rounded, bad)?);
        }
        OBJREF_CUSTOM => {
            let head = read_exact(stream, 24, bad)?;
            return Ok(Read::Custom {
                clsid: guid_at(&head, 0),
            });
        }
        _ => return Err(bad),
    }
    Ok(Read::Whole(b))
}

/// CoMarshalInterface: writes the OBJREF of interface `riid` of `unknown`'s object to
/// `stream` (custom when the object implements IMarshal).
///
/// # Safety
/// `stream` is a live IStream, `riid` points to an IID, `unknown` is a live interface
/// pointer of an object any thread may call (NULL pointers are refused).
pub unsafe fn CoMarshalInterface(
    stream: *mut c_void,
    riid: *const GUID,
    unknown: *mut c_void,
    context: u32,
    _context_data: *mut c_void,
    flags: u32,
) -> HRESULT {
    guarded(|| {
        // SAFETY: the caller's contract.
        let (stream, iid) = unsafe { (borrowed::<IStream>(stream)?, iid_of(riid)?) };
        if unknown.is_null() {
            return Err(E_INVALIDARG);
        }
        // The object must have the interface, or nothing is written.
        // SAFETY: the caller's contract.
        let itf = unsafe { unk::query(unknown, iid) }?;
        // SAFETY: `itf` is live with our reference, given back below.
        let bytes = unsafe { marshal::marshal_for(itf, iid, context, Keep::from_flags(flags)?) };
        // SAFETY: as above.
        unsafe { unk::release(itf) };
        write_all(&stream, &bytes?)
    })
}

/// CoUnmarshalInterface: reads an OBJREF from `stream` and gives the interface pointer
/// (as `riid`) in `out`.
///
/// # Safety
/// `stream` is a live IStream, `riid` points to an IID, `out` is writable.
pub unsafe fn CoUnmarshalInterface(
    stream: *mut c_void,
    riid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    let unmarshal = || {
        // SAFETY: the caller's contract.
        let (stream, iid) = unsafe { (borrowed::<IStream>(stream)?, iid_of(riid)?) };
        match read_objref(&stream)? {
            Read::Whole(bytes) => marshal::unmarshal_interface(&bytes, iid),
            Read::Custom { clsid } => unmarshaler(&clsid)?.unmarshal_interface(Some(&stream), iid),
        }
    };
    // SAFETY: `out` is NULL or writable (the caller's contract).
    unsafe { with_out(out, std::ptr::null_mut(), unmarshal) }
}

/// CoReleaseMarshalData: gives back what the OBJREF at `stream`'s position holds.
///
/// # Safety
/// `stream` is a live IStream.
pub unsafe fn CoReleaseMarshalData(stream: *mut c_void) -> HRESULT {
    guarded(|| {
        // SAFETY: the caller's contract.
        let stream = unsafe { borrowed::<IStream>(stream)? };
        match read_objref(&stream)? {
            Read::Whole(bytes) => marshal::release_marshal_data(&bytes),
            Read::Custom { clsid, .. } => unmarshaler(&clsid)?.release_marshal_data(Some(&stream)),
        }
    })
}

/// The most bytes the standard OBJREF of `itf` takes: the fixed part and the resolver
/// bindings it names (the exporter's own, or a proxy's object's).
///
/// # Safety
/// `itf` is a live interface pointer.
unsafe fn standard_size(itf: *mut c_void) -> Result<u32> {
    // SAFETY: the caller's contract.
    let bindings = match unsafe { proxy::as_proxy(itf) } {
        Some((manager, identity)) => {
            let b = manager.resolver();
            // SAFETY: the identity reference `as_proxy` took.
            unsafe { unk::release(identity) };
            b
        }
        None => crate::exporter::exporter()?.bindings(),
    };
    let mut dual = Vec::new();
    bindings
        .write(&mut dual)
        .map_err(|_| RPC_E_INVALID_OBJREF)?;
    u32::try_from(24 + 40 + dual.len()).map_err(|_| RPC_E_INVALID_OBJREF)
}

/// CoGetMarshalSizeMax: an upper bound of what CoMarshalInterface writes.
///
/// # Safety
/// `size` is writable, `riid` points to an IID, `unknown` is a live interface pointer.
pub unsafe fn CoGetMarshalSizeMax(
    size: *mut u32,
    riid: *const GUID,
    unknown: *mut c_void,
    context: u32,
    _context_data: *mut c_void,
    flags: u32,
) -> HRESULT {
    // The bound for a live pointer `itf` of interface `iid`.
    let bound = |itf: *mut c_void, iid: &GUID| {
        // SAFETY: `itf` is live (the caller holds a reference).
        match unsafe { marshal::custom_marshaler(itf, iid, context, Keep::from_flags(flags)?) }? {
            // The custom OBJREF's head (48 bytes) and what the object writes.
            // SAFETY: as above; no destination context data.
            Some((m, _)) => {
                unsafe { m.get_marshal_size_max(iid, itf, context, std::ptr::null_mut(), flags) }?
                    .checked_add(48)
                    .ok_or(E_INVALIDARG)
            }
            // SAFETY: as above.
            None => unsafe { standard_size(itf) },
        }
    };
    let size_max = || {
        // SAFETY: the caller's contract.
        let iid = unsafe { iid_of(riid)? };
        if unknown.is_null() {
            return Err(E_INVALIDARG);
        }
        // SAFETY: the caller's contract.
        let itf = unsafe { unk::query(unknown, iid) }?;
        let n = bound(itf, iid);
        // SAFETY: our reference, from `query`.
        unsafe { unk::release(itf) };
        n
    };
    // SAFETY: `size` is NULL or writable (the caller's contract).
    unsafe { with_out(size, 0, size_max) }
}

/// CoMarshalInterThreadInterfaceInStream: a new stream holding a normal marshal of
/// `unknown` as `riid`, for another thread's CoGetInterfaceAndReleaseStream.
///
/// # Safety
/// `riid` points to an IID, `unknown` is a live interface pointer, `out` is writable.
pub unsafe fn CoMarshalInterThreadInterfaceInStream(
    riid: *const GUID,
    unknown: *mut c_void,
    out: *mut *mut c_void,
) -> HRESULT {
    let marshal_in_stream = || {
        let stream = MemoryStream::create()?;
        // SAFETY: forwarded; `stream` is live.
        unsafe {
            CoMarshalInterface(
                stream.as_raw(),
                riid,
                unknown,
                MSHCTX_INPROC,
                std::ptr::null_mut(),
                0,
            )
        }
        .ok()?;
        stream.seek(LARGE_INTEGER { QuadPart: 0 }, 0)?;
        // The stream's reference goes to the caller.
        Ok(stream.into_raw())
    };
    // SAFETY: `out` is NULL or writable (the caller's contract).
    unsafe { with_out(out, std::ptr::null_mut(), marshal_in_stream) }
}

/// CoGetInterfaceAndReleaseStream: unmarshals the stream's interface pointer and releases
/// the stream (whether or not it succeeds).
///
/// # Safety
/// `stream` is a live IStream whose reference the caller gives up; `riid` points to an
/// IID; `out` is writable.
pub unsafe fn CoGetInterfaceAndReleaseStream(
    stream: *mut c_void,
    riid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded.
    let hr = unsafe { CoUnmarshalInterface(stream, riid, out) };
    // SAFETY: the caller's reference, given up.
    unsafe { unk::release(stream) };
    hr
}

/// CoDisconnectObject: the object's clients are cut off (their calls fail with
/// RPC_E_DISCONNECTED) and its exported references dropped.
///
/// # Safety
/// `unknown` is a live interface pointer.
pub unsafe fn CoDisconnectObject(unknown: *mut c_void, _reserved: u32) -> HRESULT {
    guarded(|| {
        if unknown.is_null() {
            return Err(E_INVALIDARG);
        }
        // SAFETY: the caller's contract.
        let identity = unsafe { unk::identity(unknown) }?;
        if let Some(e) = started() {
            e.disconnect(identity);
        }
        // SAFETY: the reference `identity` took.
        unsafe { unk::release(identity) };
        Ok(())
    })
}

/// CreateStreamOnHGlobal for a new stream (`hglobal` NULL; the memory is the stream's
/// and goes with it, whatever `delete_on_release` says). A stream over an existing
/// HGLOBAL is not supported (E_NOTIMPL).
///
/// # Safety
/// `out` is writable.
pub unsafe fn CreateStreamOnHGlobal(
    hglobal: *mut c_void,
    _delete_on_release: i32,
    out: *mut *mut c_void,
) -> HRESULT {
    let create = || {
        if !hglobal.is_null() {
            return Err(E_NOTIMPL);
        }
        // The stream's reference goes to the caller.
        Ok(MemoryStream::create()?.into_raw())
    };
    // SAFETY: `out` is NULL or writable (the caller's contract).
    unsafe { with_out(out, std::ptr::null_mut(), create) }
}

/// The standard marshaller of one object (CoGetStandardMarshal).
struct StdMarshal {
    /// The object, with a reference.
    object: *mut c_void,
}

// SAFETY: the object is of the multithreaded apartment (any thread may call it).
unsafe impl Send for StdMarshal {}
// SAFETY: as above; the pointer never changes.
unsafe impl Sync for StdMarshal {}

impl Drop for StdMarshal {
    fn drop(&mut self) {
        // SAFETY: the reference this holds.
        unsafe { unk::release(self.object) };
    }
}

comidl_runtime_core::implement!(StdMarshal: IMarshal);

impl StdMarshal {
    /// The pointer a call names, or the object.
    fn target(&self, pv: *mut c_void) -> *mut c_void {
        if pv.is_null() { self.object } else { pv }
    }
}

impl IMarshal_Impl for StdMarshal {
    fn get_unmarshal_class(
        &self,
        _riid: &GUID,
        _pv: *mut c_void,
        _context: u32,
        _data: *mut c_void,
        _flags: u32,
    ) -> Result<GUID> {
        Ok(CLSID_STD_MARSHAL)
    }

    fn get_marshal_size_max(
        &self,
        _riid: &GUID,
        pv: *mut c_void,
        _context: u32,
        _data: *mut c_void,
        _flags: u32,
    ) -> Result<u32> {
        // SAFETY: the object (or the caller's pointer) is live.
        unsafe { standard_size(self.target(pv)) }
    }

    fn marshal_interface(
        &self,
        stream: Option<&IStream>,
        riid: &GUID,
        pv: *mut c_void,
        _context: u32,
        _data: *mut c_void,
        flags: u32,
    ) -> Result<()> {
        let stream = stream.ok_or(E_POINTER)?;
        // SAFETY: the object (or the caller's pointer) is live; `riid` is asked for by
        // the exporter before anything is written.
        let itf = unsafe { unk::query(self.target(pv), riid) }?;
        // SAFETY: `itf` is live with our reference, given back below.
        let bytes = unsafe { marshal::marshal_standard(itf, riid, Keep::from_flags(flags)?) };
        // SAFETY: as above.
        unsafe { unk::release(itf) };
        write_all(stream, &bytes?)
    }

    fn unmarshal_interface(&self, stream: Option<&IStream>, riid: &GUID) -> Result<*mut c_void> {
        match read_objref(stream.ok_or(E_POINTER)?)? {
            Read::Whole(bytes) => marshal::unmarshal_interface(&bytes, riid),
            Read::Custom { .. } => Err(RPC_E_INVALID_OBJREF),
        }
    }

    fn release_marshal_data(&self, stream: Option<&IStream>) -> Result<()> {
        match read_objref(stream.ok_or(E_POINTER)?)? {
            Read::Whole(bytes) => marshal::release_marshal_data(&bytes),
            Read::Custom { .. } => Err(RPC_E_INVALID_OBJREF),
        }
    }

    fn disconnect_object(&self, _reserved: u32) -> Result<()> {
        // SAFETY: the object is live.
        unsafe { CoDisconnectObject(self.object, 0) }.ok()
    }
}

/// CoGetStandardMarshal: the standard marshaller of `unknown`'s object as an IMarshal
/// (what an object that marshals itself only sometimes delegates to).
///
/// # Safety
/// `unknown` is a live interface pointer; `out` is writable.
pub unsafe fn CoGetStandardMarshal(
    _riid: *const GUID,
    unknown: *mut c_void,
    _context: u32,
    _context_data: *mut c_void,
    _flags: u32,
    out: *mut *mut c_void,
) -> HRESULT {
    let create = || {
        if unknown.is_null() {
            return Err(E_INVALIDARG);
        }
        // SAFETY: the caller's contract; the marshaller keeps this reference.
        unsafe { unk::add_ref(unknown) };
        let m = ComObject::new(StdMarshal { object: unknown })?.cast::<IMarshal>()?;
        // The marshaller's reference goes to the caller.
        Ok(m.into_raw())
    };
    // SAFETY: `out` is NULL or writable (the caller's contract).
    unsafe { with_out(out, std::ptr::null_mut(), create) }
}
