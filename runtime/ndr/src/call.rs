//! Calls over any transport: what generated RPC client and server stubs run. A client stub
//! hands its marshalled request and the opnum to a [`Channel`] and unmarshals the reply; a
//! server stub's dispatch function serves one request with [`serve`]. This layer knows
//! nothing of the transport; the `rpc` layer provides channels over DCE/RPC, and tests use
//! an in-memory one.

use crate::desc::{Interface, Proc, Type};
use crate::error::NdrError;
use crate::proc::{ServerCall, marshal_request, unmarshal_response};
use crate::unmarshal::Limits;

/// A fault a server returns instead of a reply: a DCE/RPC status (C706 Appendix E,
/// MS-RPCE 2.2.2.9 / 3.1.1.5.5), as a fault PDU carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault(pub u32);

impl Fault {
    /// `nca_s_op_rng_error`: the interface has no such operation.
    pub const OP_RANGE: Fault = Fault(0x1C01_0002);
    /// `nca_s_fault_ndr` (RPC_X_BAD_STUB_DATA): the request's stub data is invalid.
    pub const BAD_STUB_DATA: Fault = Fault(0x0000_06F7);
    /// `nca_s_fault_unspec`: the server failed while running the call.
    pub const UNSPECIFIED: Fault = Fault(0x1C00_0012);
    /// `nca_s_fault_remote_no_memory`.
    pub const NO_MEMORY: Fault = Fault(0x1C00_001B);

    fn from_ndr(e: &NdrError) -> Fault {
        match e {
            NdrError::TooLarge | NdrError::OutOfMemory => Fault::NO_MEMORY,
            NdrError::BadStubData { .. } => Fault::BAD_STUB_DATA,
            _ => Fault(e.status()),
        }
    }
}

/// Why a client call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// Marshalling the request or unmarshalling the reply failed.
    Ndr(NdrError),
    /// The server answered with a fault.
    Fault(Fault),
    /// The transport failed (its own status, e.g. RPC_S_SERVER_UNAVAILABLE = 1722).
    Transport(u32),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Ndr(e) => write!(f, "{e}"),
            CallError::Fault(Fault(s)) => write!(f, "the server faulted with status {s:#010x}"),
            CallError::Transport(s) => write!(f, "the transport failed with status {s}"),
        }
    }
}

impl std::error::Error for CallError {}

impl From<NdrError> for CallError {
    fn from(e: NdrError) -> CallError {
        CallError::Ndr(e)
    }
}

/// Carries a request to a server and brings its reply back.
pub trait Channel {
    /// Sends the stub data of a request for `opnum` of `interface`; returns the reply's
    /// stub data, or the fault (or transport failure) instead.
    fn call(
        &self,
        interface: &Interface,
        opnum: u16,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, CallError>;
}

impl<C: Channel + ?Sized> Channel for &C {
    fn call(
        &self,
        interface: &Interface,
        opnum: u16,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        (**self).call(interface, opnum, request)
    }
}

/// One client call: marshals the request from `args`, calls, unmarshals the reply into
/// `args` and `ret` (see [`unmarshal_response`]: on failure `[out]` values are zeroed).
///
/// # Safety
/// As [`marshal_request`] and [`unmarshal_response`].
pub unsafe fn call(
    channel: &dyn Channel,
    interface: &Interface,
    proc: &Proc,
    args: &[*mut u8],
    ret: *mut u8,
) -> Result<(), CallError> {
    // SAFETY: forwarded.
    let request = unsafe { marshal_request(proc, args)? };
    let result = channel
        .call(interface, proc.opnum, request)
        .and_then(|reply| {
            // SAFETY: forwarded.
            unsafe { unmarshal_response(proc, args, ret, &reply, Limits::default()) }
                .map_err(CallError::Ndr)
        });
    match result {
        Ok(()) => Ok(()),
        // SAFETY: forwarded.
        Err(e) => match unsafe { store_status(proc, args, ret, &e) } {
            true => Ok(()),
            false => Err(e),
        },
    }
}

/// Stores a failure in the `[comm_status]` / `[fault_status]` parameter (or return value)
/// that receives its kind; whether there was one.
unsafe fn store_status(proc: &Proc, args: &[*mut u8], ret: *mut u8, e: &CallError) -> bool {
    let (status, comm) = match e {
        CallError::Fault(Fault(s)) => (*s, false),
        CallError::Transport(s) => (*s, true),
        CallError::Ndr(e) => (e.status(), true),
    };
    let takes = |ty: Type| match ty {
        Type::Status(k) => (comm && k.comm) || (!comm && k.fault),
        Type::Pointer(p) => {
            matches!(p.pointee, Type::Status(k) if (comm && k.comm) || (!comm && k.fault))
        }
        _ => false,
    };
    for (p, &slot) in proc.params.iter().zip(args) {
        if takes(p.ty) {
            // SAFETY: a status parameter is an error_status_t, or a pointer to one the
            // caller gave.
            unsafe {
                let at = match p.ty {
                    Type::Pointer(_) => slot.cast::<*mut u32>().read(),
                    _ => slot.cast::<u32>(),
                };
                if at.is_null() {
                    return false;
                }
                at.write_unaligned(status);
            }
            return true;
        }
    }
    if let Some(t) = proc.ret
        && takes(t)
        && !ret.is_null()
    {
        // SAFETY: the return value's memory holds an error_status_t.
        unsafe { ret.cast::<u32>().write_unaligned(status) };
        return true;
    }
    false
}

/// Serves one request: finds the procedure, unmarshals its parameters into memory the
/// call owns, runs `invoke` with the procedure's index in `interface.procs`, the
/// parameters and the return value's memory, marshals the reply, and frees everything.
/// A panic in `invoke` becomes [`Fault::UNSPECIFIED`]: it never unwinds into the
/// transport.
pub fn serve(
    interface: &'static Interface,
    opnum: u16,
    request: &[u8],
    limits: Limits,
    invoke: &dyn Fn(usize, &[*mut u8], *mut u8),
) -> Result<Vec<u8>, Fault> {
    let Some(index) = interface.procs.iter().position(|p| p.opnum == opnum) else {
        return Err(Fault::OP_RANGE);
    };
    let proc = interface.procs[index];
    let call = ServerCall::unmarshal(proc, request, limits).map_err(|e| Fault::from_ndr(&e))?;
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        invoke(index, call.args(), call.ret())
    }));
    if ran.is_err() {
        return Err(Fault::UNSPECIFIED);
    }
    // SAFETY: the implementation left the parameters valid for their descriptions (the
    // contract of the server trait's unsafe methods).
    unsafe { call.marshal_response() }.map_err(|e| Fault::from_ndr(&e))
}
