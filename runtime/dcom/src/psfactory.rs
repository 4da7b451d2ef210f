//! A proxy/stub module's side of COM's channel interfaces: the class object a module named
//! by `Interface\{iid}\ProxyStubClsid32` serves (an IPSFactoryBuffer over the module's
//! linked [`ProxyStub`]s), the proxies it makes (IRpcProxyBuffer, whose interface proxy
//! marshals each call with this copy's NDR engine into a buffer the channel gives) and
//! its stubs (IRpcStubBuffer, which unmarshal a request the channel hands them and call
//! the object). The channel, which adds ORPCTHIS and ORPCTHAT and talks to the exporter,
//! is the loading process's COM library (`crate::channel`); only COM interfaces cross
//! between the two copies of the runtime, so a module works in any host of the same ABI.
//!
//! The buffers hold a method's NDR data alone. NDR aligns from the start of the stub
//! data, ORPCTHIS included, so a channel places every buffer at an address whose offset
//! within 8 bytes is the data's offset within the stub data (as Windows' channel does),
//! and both sides here read the alignment phase from the address.

use std::ffi::c_void;
use std::sync::Mutex;

use comidl_runtime_core::{
    ComObject, ComPtr, E_INVALIDARG, E_NOINTERFACE, E_OUTOFMEMORY, E_POINTER, GUID, HRESULT,
    IUnknown, RPC_E_DISCONNECTED, Result,
};
use comidl_runtime_ndr::{
    Fault, Limits, Proc, ServerCall, marshal_request_after, unmarshal_response_at, with_interfaces,
};

use crate::bindings::{
    IPSFactoryBuffer_Impl, IRpcChannelBuffer, IRpcProxyBuffer, IRpcProxyBuffer_Impl,
    IRpcStubBuffer, IRpcStubBuffer_Impl, RPCOLEMESSAGE,
};
use crate::interfaces::ProxyStub;
use crate::marshal::CallMarshaller;
use crate::proxy::InterfaceProxy;
use crate::unk;

/// NDR's data representation for little-endian ASCII IEEE (the `dataRepresentation` of a
/// message: NDR_LOCAL_DATA_REPRESENTATION).
pub const NDR_LOCAL_DATA_REPRESENTATION: u32 = 0x10;

/// `HRESULT_FROM_WIN32(RPC_S_PROCNUM_OUT_OF_RANGE)`: how a stub says "no such method",
/// which a channel turns back into the `op_rng` fault.
const PROCNUM_OUT_OF_RANGE: HRESULT = HRESULT::from_win32(1745);

/// The HRESULT a stub returns for a fault (IRpcStubBuffer::Invoke has no other way).
pub(crate) fn hresult_of_fault(f: Fault) -> HRESULT {
    match f {
        Fault::OP_RANGE => PROCNUM_OUT_OF_RANGE,
        Fault::UNSPECIFIED => comidl_runtime_core::RPC_E_SERVERFAULT,
        Fault::NO_MEMORY => E_OUTOFMEMORY,
        Fault(code) if code & 0x8000_0000 != 0 => HRESULT(code as i32),
        Fault(code) if code <= 0xFFFF => HRESULT::from_win32(code),
        _ => comidl_runtime_core::RPC_E_SERVERFAULT,
    }
}

/// The fault a channel sends for a stub's failed Invoke (the inverse of
/// [`hresult_of_fault`]).
pub(crate) fn fault_of_hresult(hr: HRESULT) -> Fault {
    let code = hr.0 as u32;
    if hr == PROCNUM_OUT_OF_RANGE {
        Fault::OP_RANGE
    } else if hr == comidl_runtime_core::RPC_E_SERVERFAULT {
        Fault::UNSPECIFIED
    } else if hr == E_OUTOFMEMORY {
        Fault::NO_MEMORY
    } else if code & 0xFFFF_0000 == 0x8007_0000 {
        Fault(code & 0xFFFF)
    } else {
        Fault(code)
    }
}

/// The bytes of a message's buffer, after as many zero bytes as the buffer's alignment
/// phase, and that phase: what the engine reads with alignment counted from the start.
///
/// # Safety
/// `msg.Buffer` points to `msg.cbBuffer` readable bytes (or `cbBuffer` is 0).
pub(crate) unsafe fn phased_copy(msg: &RPCOLEMESSAGE) -> Result<(Vec<u8>, usize)> {
    let len = msg.cbBuffer as usize;
    if len > 0 && msg.Buffer.is_null() {
        return Err(E_POINTER);
    }
    let phase = msg.Buffer as usize % 8;
    let mut v = Vec::new();
    v.try_reserve_exact(phase + len)
        .map_err(|_| E_OUTOFMEMORY)?;
    v.resize(phase, 0);
    if len > 0 {
        // SAFETY: the caller's contract.
        v.extend_from_slice(unsafe { std::slice::from_raw_parts(msg.Buffer.cast::<u8>(), len) });
    }
    Ok((v, phase))
}

/// The factory a proxy/stub module serves as its class object, over the module's
/// proxy/stubs (each with its bases).
pub struct Factory {
    interfaces: &'static [&'static ProxyStub],
}

comidl_runtime_core::implement!(Factory: crate::bindings::IPSFactoryBuffer);

/// The class object of a proxy/stub module serving `interfaces`. It counts among the
/// module's objects, so the module stays loaded while the process holds it (COM keeps
/// proxy/stub modules for the process's life).
pub fn factory(interfaces: &'static [&'static ProxyStub]) -> Result<ComPtr<IUnknown>> {
    ComObject::new(Factory { interfaces })
}

impl Factory {
    fn find(&self, iid: &GUID) -> Option<&'static ProxyStub> {
        self.interfaces.iter().find_map(|&ps| {
            let mut p = Some(ps);
            for _ in 0..64 {
                let q = p?;
                if q.iid == *iid {
                    return Some(q);
                }
                p = q.base;
            }
            None
        })
    }
}

impl IPSFactoryBuffer_Impl for Factory {
    fn create_proxy(
        &self,
        outer: Option<&IUnknown>,
        riid: &GUID,
    ) -> Result<(Option<ComPtr<IRpcProxyBuffer>>, *mut c_void)> {
        // A proxy is always part of the channel's proxy manager, its controlling unknown.
        let outer = outer.ok_or(E_INVALIDARG)?;
        let ps = self.find(riid).ok_or(E_NOINTERFACE)?;
        let state = Box::new(ChannelState {
            outer: comidl_runtime_core::Interface::as_raw(outer),
            iid: *riid,
            channel: Mutex::new(Channel(std::ptr::null_mut())),
        });
        let itf = Box::new(InterfaceProxy::on_channel(ps, &state));
        let p = (&raw const *itf).cast_mut().cast::<c_void>();
        let buffer = ComObject::new(ProxyBuffer { state, _itf: itf })?.cast::<IRpcProxyBuffer>()?;
        // The interface pointer handed out carries a reference, which is the outer's.
        // SAFETY: the caller's outer is live for the call.
        unsafe { unk::add_ref(comidl_runtime_core::Interface::as_raw(outer)) };
        Ok((Some(buffer), p))
    }

    fn create_stub(
        &self,
        riid: &GUID,
        server: Option<&IUnknown>,
    ) -> Result<Option<ComPtr<IRpcStubBuffer>>> {
        let ps = self.find(riid).ok_or(E_NOINTERFACE)?;
        let stub = StubBuffer {
            ps,
            iid: *riid,
            server: Mutex::new(Server(std::ptr::null_mut())),
        };
        if let Some(server) = server {
            stub.attach(server)?;
        }
        Ok(Some(ComObject::new(stub)?.cast::<IRpcStubBuffer>()?))
    }
}

/// A counted IRpcChannelBuffer pointer, or NULL.
struct Channel(*mut c_void);

// SAFETY: channels of this runtime are agile (any thread may call them).
unsafe impl Send for Channel {}

impl Drop for Channel {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the reference this holds.
            unsafe { unk::release(self.0) };
        }
    }
}

/// What a module's proxy needs of its channel side: the controlling unknown its IUnknown
/// delegates to, its IID and the channel its calls go through.
pub(crate) struct ChannelState {
    /// The proxy manager that aggregates the proxy: not counted (it owns the proxy).
    outer: *mut c_void,
    iid: GUID,
    channel: Mutex<Channel>,
}

impl ChannelState {
    /// The outer unknown.
    pub(crate) fn outer(&self) -> *mut c_void {
        self.outer
    }

    /// The connected channel, with a reference for the caller.
    fn channel(&self) -> Option<ComPtr<IRpcChannelBuffer>> {
        let c = match self.channel.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if c.0.is_null() {
            return None;
        }
        // SAFETY: the reference the state holds keeps it live; one more for the caller.
        unsafe { unk::add_ref(c.0) };
        // SAFETY: an IRpcChannelBuffer pointer with the reference just taken.
        unsafe { ComPtr::from_raw(c.0) }
    }

    fn set_channel(&self, new: Channel) {
        let old = {
            let mut c = match self.channel.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            std::mem::replace(&mut *c, new)
        };
        drop(old);
    }

    /// One call of `proc` through the channel: the request marshalled into the channel's
    /// buffer, sent, the reply unmarshalled. On failure the `[out]` values are cleared.
    ///
    /// # Safety
    /// `args` and `ret` are valid for `proc` as [`comidl_runtime_ndr::call`] requires.
    pub(crate) unsafe fn call(&self, proc: &Proc, args: &[*mut u8], ret: *mut u8) -> HRESULT {
        let Some(channel) = self.channel() else {
            // SAFETY: forwarded.
            unsafe { crate::call::zero_outs(proc, args, ret) };
            return RPC_E_DISCONNECTED;
        };
        // Interface pointers go out for the channel's destination (another machine when
        // its exporter is reached over TCP).
        let context = channel
            .get_dest_ctx()
            .map_or(crate::marshal::MSHCTX_LOCAL, |(c, _)| c);
        let lent = CallMarshaller { context };
        let result = with_interfaces(&lent, || {
            // SAFETY: forwarded.
            let body =
                unsafe { marshal_request_after(proc, args, &[]) }.map_err(|e| e.hresult())?;
            let mut msg = RPCOLEMESSAGE {
                dataRepresentation: NDR_LOCAL_DATA_REPRESENTATION,
                cbBuffer: u32::try_from(body.len()).map_err(|_| E_OUTOFMEMORY)?,
                iMethod: u32::from(proc.opnum),
                ..Default::default()
            };
            channel.get_buffer(&mut msg, &self.iid)?;
            if !body.is_empty() {
                if msg.Buffer.is_null() || (msg.cbBuffer as usize) < body.len() {
                    let _ = channel.free_buffer(&mut msg);
                    return Err(E_OUTOFMEMORY);
                }
                // SAFETY: the channel gave a buffer of at least `cbBuffer` bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(body.as_ptr(), msg.Buffer.cast(), body.len())
                };
            }
            let sent = channel.send_receive(&mut msg);
            let read = sent.and_then(|_| {
                // SAFETY: after SendReceive the buffer holds the reply's `cbBuffer` bytes.
                let (reply, phase) = unsafe { phased_copy(&msg) }?;
                // SAFETY: forwarded.
                unsafe { unmarshal_response_at(proc, args, ret, &reply, phase, Limits::default()) }
                    .map_err(|e| e.hresult())
            });
            let _ = channel.free_buffer(&mut msg);
            read
        });
        match result {
            Ok(()) => comidl_runtime_core::S_OK,
            Err(hr) => {
                // SAFETY: forwarded.
                unsafe { crate::call::zero_outs(proc, args, ret) };
                hr
            }
        }
    }
}

/// IRpcProxyBuffer: owns one interface proxy and the state its calls use.
struct ProxyBuffer {
    state: Box<ChannelState>,
    /// The interface proxy handed out (its `channel` points into `state`): only owned
    /// here, the pointer to it is what callers use.
    _itf: Box<InterfaceProxy>,
}

// SAFETY: the raw pointers are to the outer unknown (agile: a proxy manager) and into
// the boxes this owns; the channel is behind a mutex.
unsafe impl Send for ProxyBuffer {}
// SAFETY: as above.
unsafe impl Sync for ProxyBuffer {}

comidl_runtime_core::implement!(ProxyBuffer: IRpcProxyBuffer);

impl IRpcProxyBuffer_Impl for ProxyBuffer {
    fn connect(&self, channel: Option<&IRpcChannelBuffer>) -> Result<()> {
        let channel = channel.ok_or(E_POINTER)?;
        let raw = comidl_runtime_core::Interface::as_raw(channel);
        // SAFETY: the caller's channel is live; the state keeps this reference.
        unsafe { unk::add_ref(raw) };
        self.state.set_channel(Channel(raw));
        Ok(())
    }

    fn disconnect(&self) {
        self.state.set_channel(Channel(std::ptr::null_mut()));
    }
}

/// A counted server interface pointer, or NULL.
struct Server(*mut c_void);

// SAFETY: the objects a stub serves are called from any thread (the exporter's rule).
unsafe impl Send for Server {}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the reference this holds.
            unsafe { unk::release(self.0) };
        }
    }
}

/// IRpcStubBuffer: calls one interface of one object.
struct StubBuffer {
    ps: &'static ProxyStub,
    iid: GUID,
    /// The object's interface `iid`.
    server: Mutex<Server>,
}

comidl_runtime_core::implement!(StubBuffer: IRpcStubBuffer);

impl StubBuffer {
    fn attach(&self, server: &IUnknown) -> Result<()> {
        // SAFETY: the caller's pointer is live; `query` gives a counted pointer.
        let itf = unsafe { unk::query(comidl_runtime_core::Interface::as_raw(server), &self.iid) }?;
        let old = std::mem::replace(&mut *self.lock(), Server(itf));
        drop(old);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Server> {
        match self.server.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// The server's interface, with a reference for the call.
    fn server(&self) -> Option<Server> {
        let s = self.lock();
        if s.0.is_null() {
            return None;
        }
        // SAFETY: the stub's reference keeps it live.
        unsafe { unk::add_ref(s.0) };
        Some(Server(s.0))
    }

    fn serve(&self, msg: &RPCOLEMESSAGE, channel: &IRpcChannelBuffer) -> Result<()> {
        let server = self.server().ok_or(RPC_E_DISCONNECTED)?;
        let opnum = u16::try_from(msg.iMethod).map_err(|_| PROCNUM_OUT_OF_RANGE)?;
        let (owner, proc) = self.ps.proc(opnum).ok_or(PROCNUM_OUT_OF_RANGE)?;
        // SAFETY: the channel's message holds `cbBuffer` bytes at `Buffer`.
        let (request, phase) = unsafe { phased_copy(msg) }?;
        let lent = CallMarshaller::LOCAL;
        with_interfaces(&lent, || {
            let call = ServerCall::unmarshal_at(proc, &request, phase, Limits::current())
                .map_err(|e| hresult_of_fault(crate::call::fault_of(&e)))?;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: `server.0` is a live interface of `ps`'s, which derives from
                // `owner`'s; the arguments are the engine's memory for `proc`.
                unsafe { (owner.invoke)(server.0, opnum, call.args(), call.ret()) }
            }));
            match ran {
                Ok(true) => {}
                Ok(false) => return Err(PROCNUM_OUT_OF_RANGE),
                Err(_) => return Err(hresult_of_fault(Fault::UNSPECIFIED)),
            }
            // SAFETY: the object left its [out] values valid for their descriptions.
            let body = unsafe { call.marshal_response_after(&[]) }
                .map_err(|e| hresult_of_fault(crate::call::fault_of(&e)))?;
            let mut reply = *msg;
            reply.cbBuffer = u32::try_from(body.len()).map_err(|_| E_OUTOFMEMORY)?;
            channel.get_buffer(&mut reply, &self.iid)?;
            if !body.is_empty() {
                if reply.Buffer.is_null() || (reply.cbBuffer as usize) < body.len() {
                    return Err(E_OUTOFMEMORY);
                }
                // SAFETY: the channel gave a buffer of at least `cbBuffer` bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(body.as_ptr(), reply.Buffer.cast(), body.len())
                };
            }
            Ok(())
        })
    }
}

impl IRpcStubBuffer_Impl for StubBuffer {
    fn connect(&self, server: Option<&IUnknown>) -> Result<()> {
        self.attach(server.ok_or(E_POINTER)?)
    }

    fn disconnect(&self) {
        let old = std::mem::replace(&mut *self.lock(), Server(std::ptr::null_mut()));
        drop(old);
    }

    fn invoke(&self, msg: &RPCOLEMESSAGE, channel: Option<&IRpcChannelBuffer>) -> Result<()> {
        self.serve(msg, channel.ok_or(E_POINTER)?)
    }

    fn is_iid_supported(&self, _riid: comidl_runtime_core::REFIID) -> Option<IRpcStubBuffer> {
        // One stub per interface pointer: the channel makes another for another IID.
        None
    }

    fn count_refs(&self) -> u32 {
        0
    }

    fn debug_server_query_interface(&self, ppv: *mut *mut c_void) -> Result<()> {
        if ppv.is_null() {
            return Err(E_POINTER);
        }
        let s = self.lock();
        // SAFETY: checked non-null; the caller's out pointer. The pointer is lent, not
        // counted (DebugServerRelease gives nothing back).
        unsafe { ppv.write(s.0) };
        if s.0.is_null() {
            Err(RPC_E_DISCONNECTED)
        } else {
            Ok(())
        }
    }

    fn debug_server_release(&self, _pv: *mut c_void) {}
}
