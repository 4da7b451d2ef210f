//! This process's channel (IRpcChannelBuffer) for interfaces a proxy/stub module marshals
//! (`crate::psfactory` is the module's side): the client channel a module's proxy sends
//! through, which wraps the proxy's NDR data in ORPCTHIS and sends it to the object's
//! exporter, and the server channel a module's stub replies through, whose data the
//! exporter sends behind ORPCTHAT.
//!
//! Buffers are the channel's: it hands out only memory it allocated, each block placed
//! so its address has the alignment phase of the data's offset in the stub data (NDR
//! aligns from the stub data's start, ORPCTHIS included), and it frees only blocks it
//! knows, found by address, whatever a module writes in a message's other fields.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, MutexGuard};

use comidl_runtime_core::{
    ComObject, ComPtr, E_INVALIDARG, E_NOTIMPL, E_OUTOFMEMORY, GUID, Result,
};
use comidl_runtime_ndr::{CallError, Fault, Interface};

use crate::bindings::{IRpcChannelBuffer, IRpcChannelBuffer_Impl, IRpcStubBuffer, RPCOLEMESSAGE};
use crate::call::{self, PLAIN_THAT_LEN, Transport};
use crate::proxy::Oxid;
use crate::psfactory::{NDR_LOCAL_DATA_REPRESENTATION, fault_of_hresult};

/// One buffer: 8-aligned memory with the data `phase` bytes in.
struct Block {
    mem: Vec<u64>,
    phase: usize,
    len: usize,
}

impl Block {
    fn new(phase: usize, len: usize) -> Result<Box<Block>> {
        let words = (phase + len).div_ceil(8).max(1);
        let mut mem = Vec::new();
        mem.try_reserve_exact(words).map_err(|_| E_OUTOFMEMORY)?;
        mem.resize(words, 0);
        Ok(Box::new(Block { mem, phase, len }))
    }

    fn with(phase: usize, bytes: &[u8]) -> Result<Box<Block>> {
        let mut b = Block::new(phase, bytes.len())?;
        b.bytes_mut().copy_from_slice(bytes);
        Ok(b)
    }

    fn ptr(&mut self) -> *mut c_void {
        // SAFETY: `phase` < 8 is within the allocation (at least one word).
        unsafe { self.mem.as_mut_ptr().cast::<u8>().add(self.phase).cast() }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `phase + len` bytes fit in `mem` (`new`), all initialised.
        unsafe {
            std::slice::from_raw_parts(self.mem.as_ptr().cast::<u8>().add(self.phase), self.len)
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.mem.as_mut_ptr().cast::<u8>().add(self.phase),
                self.len,
            )
        }
    }
}

/// The blocks a channel handed out, by address.
#[derive(Default)]
struct Blocks(Mutex<HashMap<usize, Box<Block>>>);

impl Blocks {
    fn lock(&self) -> MutexGuard<'_, HashMap<usize, Box<Block>>> {
        match self.0.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        }
    }

    /// Hands out `block` in `msg`.
    fn give(&self, msg: &mut RPCOLEMESSAGE, mut block: Box<Block>) -> Result<()> {
        let len = u32::try_from(block.len).map_err(|_| E_OUTOFMEMORY)?;
        let p = block.ptr();
        self.lock().insert(p as usize, block);
        msg.Buffer = p;
        msg.cbBuffer = len;
        Ok(())
    }

    /// Takes back the block `msg` names, if it is one of ours.
    fn take(&self, msg: &mut RPCOLEMESSAGE) -> Option<Box<Block>> {
        let b = self.lock().remove(&(msg.Buffer as usize));
        if b.is_some() {
            msg.Buffer = std::ptr::null_mut();
            msg.cbBuffer = 0;
        }
        b
    }
}

/// The client channel of one module proxy: the interface instance (IPID) on the exporter
/// its calls go to.
pub(crate) struct ClientChannel {
    oxid: Arc<Oxid>,
    ipid: GUID,
    syntax: &'static Interface,
    blocks: Blocks,
}

comidl_runtime_core::implement!(ClientChannel: IRpcChannelBuffer);

/// A new client channel to `ipid` at `oxid`, bound as `syntax`.
pub(crate) fn client(
    oxid: Arc<Oxid>,
    ipid: GUID,
    syntax: &'static Interface,
) -> Result<ComPtr<IRpcChannelBuffer>> {
    ComObject::new(ClientChannel {
        oxid,
        ipid,
        syntax,
        blocks: Blocks::default(),
    })?
    .cast::<IRpcChannelBuffer>()
}

impl IRpcChannelBuffer_Impl for ClientChannel {
    fn get_buffer(&self, msg: &mut RPCOLEMESSAGE, _riid: &GUID) -> Result<()> {
        // The request's data follows a 32-byte ORPCTHIS: phase 0.
        let block = Block::new(call::PLAIN_THIS_LEN % 8, msg.cbBuffer as usize)?;
        self.blocks.give(msg, block)
    }

    fn send_receive(&self, msg: &mut RPCOLEMESSAGE) -> Result<u32> {
        let request = self.blocks.take(msg).ok_or(E_INVALIDARG)?;
        let opnum = u16::try_from(msg.iMethod).map_err(|_| E_INVALIDARG)?;
        let data = request.bytes();
        let mut stub = Vec::new();
        stub.try_reserve_exact(call::PLAIN_THIS_LEN + data.len())
            .map_err(|_| E_OUTOFMEMORY)?;
        stub.extend_from_slice(&call::plain_this(call::next_cid()));
        stub.extend_from_slice(data);
        drop(request);
        let reply = self
            .oxid
            .send(self.syntax, opnum, self.ipid, &stub)
            .and_then(|reply| {
                let used = call::read_that(&reply)?;
                Ok((reply, used))
            })
            .map_err(|e: CallError| call::hresult_of(&e))?;
        let (reply, used) = reply;
        let block = Block::with(used % 8, reply.get(used..).unwrap_or_default())?;
        msg.dataRepresentation = NDR_LOCAL_DATA_REPRESENTATION;
        self.blocks.give(msg, block)?;
        Ok(0)
    }

    fn free_buffer(&self, msg: &mut RPCOLEMESSAGE) -> Result<()> {
        drop(self.blocks.take(msg));
        Ok(())
    }

    fn get_dest_ctx(&self) -> Result<(u32, *mut c_void)> {
        // MSHCTX_DIFFERENTMACHINE when the exporter is reached over TCP, else
        // MSHCTX_LOCAL: another process of this machine.
        Ok((
            if self.oxid.is_remote() { 2 } else { 0 },
            std::ptr::null_mut(),
        ))
    }

    fn is_connected(&self) -> Result<()> {
        Ok(())
    }
}

/// The reply a module's stub wrote through a server channel.
#[derive(Default)]
struct Replied {
    blocks: Blocks,
    last: Mutex<Option<usize>>,
}

/// The server channel of one call a module's stub serves.
struct ServerChannel(Arc<Replied>);

comidl_runtime_core::implement!(ServerChannel: IRpcChannelBuffer);

impl IRpcChannelBuffer_Impl for ServerChannel {
    fn get_buffer(&self, msg: &mut RPCOLEMESSAGE, _riid: &GUID) -> Result<()> {
        // The reply's data follows an 8-byte ORPCTHAT: phase 0.
        let block = Block::new(PLAIN_THAT_LEN % 8, msg.cbBuffer as usize)?;
        self.0.blocks.give(msg, block)?;
        let mut last = match self.0.last.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        *last = Some(msg.Buffer as usize);
        Ok(())
    }

    fn send_receive(&self, _msg: &mut RPCOLEMESSAGE) -> Result<u32> {
        // A stub replies; it does not call.
        Err(E_NOTIMPL)
    }

    fn free_buffer(&self, msg: &mut RPCOLEMESSAGE) -> Result<()> {
        drop(self.0.blocks.take(msg));
        Ok(())
    }

    fn get_dest_ctx(&self) -> Result<(u32, *mut c_void)> {
        Ok((0, std::ptr::null_mut()))
    }

    fn is_connected(&self) -> Result<()> {
        Ok(())
    }
}

/// Serves one ORPC request through a module's stub: ORPCTHIS read here, the parameters'
/// data handed to the stub in a buffer, its reply sent behind ORPCTHAT.
pub(crate) fn serve(
    stub: &IRpcStubBuffer,
    opnum: u16,
    request: &[u8],
) -> std::result::Result<Vec<u8>, Fault> {
    let used = call::read_this(request)?;
    let data = request.get(used..).unwrap_or_default();
    let mut block = Block::with(used % 8, data).map_err(|_| Fault::NO_MEMORY)?;
    let msg = RPCOLEMESSAGE {
        dataRepresentation: NDR_LOCAL_DATA_REPRESENTATION,
        Buffer: block.ptr(),
        cbBuffer: u32::try_from(data.len()).map_err(|_| Fault::NO_MEMORY)?,
        iMethod: u32::from(opnum),
        ..Default::default()
    };
    let replied = Arc::new(Replied::default());
    let channel = ComObject::new(ServerChannel(replied.clone()))
        .and_then(|c| c.cast::<IRpcChannelBuffer>())
        .map_err(|_| Fault::NO_MEMORY)?;
    let ran = stub.invoke(&msg, &channel);
    drop(channel);
    drop(block);
    ran.map_err(fault_of_hresult)?;
    let last = match replied.last.lock() {
        Ok(mut l) => l.take(),
        Err(p) => p.into_inner().take(),
    };
    let blocks = replied.blocks.lock();
    let data = last
        .and_then(|p| blocks.get(&p))
        .map(|b| b.bytes())
        .unwrap_or_default();
    let mut reply = Vec::new();
    reply
        .try_reserve_exact(PLAIN_THAT_LEN + data.len())
        .map_err(|_| Fault::NO_MEMORY)?;
    // ORPCTHAT with no flags and no extensions: 8 zero bytes.
    reply.extend_from_slice(&[0u8; PLAIN_THAT_LEN]);
    reply.extend_from_slice(data);
    Ok(reply)
}
