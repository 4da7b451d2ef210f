//! One ORPC call, both sides: the method's parameters behind ORPCTHIS in the request and
//! behind ORPCTHAT in the reply (MS-DCOM 2.2.13), marshalled by the NDR engine from the
//! method's description, with this process's marshaller lent to the engine for the
//! interface pointers among them.

use std::ffi::c_void;

use comidl_runtime_core::{
    E_OUTOFMEMORY, GUID, HRESULT, RPC_E_DISCONNECTED, RPC_E_INVALID_IPID, RPC_E_SERVERFAULT,
    RPC_E_VERSION_MISMATCH, RPC_S_SERVER_UNAVAILABLE_HR,
};
use comidl_runtime_ndr::{
    CallError, Fault, Interface, Limits, NdrError, Proc, ServerCall, marshal_request_after,
    unmarshal_response_at, with_interfaces,
};

use crate::interfaces::ProxyStub;
use crate::marshal::CallMarshaller;
use crate::orpc::{ComVersion, OrpcThat, OrpcThis};

/// The COM version this implementation speaks (MS-DCOM 1.7: 5.7).
pub const COM_VERSION: ComVersion = ComVersion::CURRENT;

/// The HRESULT a failed call gives its caller (SEMANTICS.md, "Marshalling").
pub(crate) fn hresult_of(e: &CallError) -> HRESULT {
    match e {
        // Could not reach the server at all.
        CallError::Transport(1722) => RPC_S_SERVER_UNAVAILABLE_HR,
        // The connection broke during the call, or the reply never came.
        CallError::Transport(_) => RPC_E_DISCONNECTED,
        // The object is gone: the exporter no longer knows the IPID.
        CallError::Fault(Fault(s)) if *s == RPC_E_INVALID_IPID.0 as u32 => RPC_E_DISCONNECTED,
        CallError::Fault(Fault(s)) if *s == Fault::BAD_STUB_DATA.0 => HRESULT::from_win32(*s),
        CallError::Fault(Fault(s)) if *s == Fault::NO_MEMORY.0 => E_OUTOFMEMORY,
        // An HRESULT the server faulted with (a version mismatch, access denied).
        CallError::Fault(Fault(s)) if s & 0x8000_0000 != 0 => HRESULT(*s as i32),
        CallError::Fault(_) => RPC_E_SERVERFAULT,
        CallError::Ndr(e) => e.hresult(),
    }
}

/// Sends one request: the caller's transport, which knows the object exporter.
pub(crate) trait Send {
    /// The request's stub data to the IPID `ipid` bound as interface `syntax`, the
    /// reply's stub data back.
    fn send(
        &self,
        syntax: &Interface,
        opnum: u16,
        ipid: GUID,
        request: &[u8],
    ) -> Result<Vec<u8>, CallError>;
}

/// A client's ORPC call of `proc` on interface instance `ipid` (bound as `syntax`, the
/// IPID's interface): on failure every `[out]` is left zeroed and the HRESULT says why
/// (the method's own HRESULT comes back in `ret`).
///
/// # Safety
/// `args` and `ret` are valid for `proc` as [`comidl_runtime_ndr::call`] requires.
pub(crate) unsafe fn client(
    to: &dyn Send,
    syntax: &Interface,
    ipid: GUID,
    proc: &Proc,
    args: &[*mut u8],
    ret: *mut u8,
) -> HRESULT {
    let lent = CallMarshaller;
    with_interfaces(&lent, || {
        let this = match OrpcThis::new(GUID::try_new_v4().unwrap_or_default()).encode() {
            Ok(b) => b,
            Err(e) => return e.hresult(),
        };
        // SAFETY: forwarded.
        let request = match unsafe { marshal_request_after(proc, args, &this) } {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: forwarded: no [out] was written yet; the caller sees zeroes.
                unsafe { zero_outs(proc, args, ret) };
                return e.hresult();
            }
        };
        let reply = to
            .send(syntax, proc.opnum, ipid, &request)
            .and_then(|reply| {
                let (_that, used) = OrpcThat::decode(&reply).map_err(CallError::Ndr)?;
                // SAFETY: forwarded.
                unsafe { unmarshal_response_at(proc, args, ret, &reply, used, Limits::default()) }
                    .map_err(CallError::Ndr)
            });
        match reply {
            Ok(()) => comidl_runtime_core::S_OK,
            Err(e) => {
                // SAFETY: forwarded.
                unsafe { zero_outs(proc, args, ret) };
                hresult_of(&e)
            }
        }
    })
}

/// Leaves a failed call's `[out]` values as the engine leaves them after a bad reply:
/// zeroed behind `[ref]` pointers, and the return value zeroed.
unsafe fn zero_outs(proc: &Proc, args: &[*mut u8], ret: *mut u8) {
    // An empty reply that fails at once zeroes exactly what a failed unmarshal zeroes.
    // SAFETY: forwarded.
    let _ = unsafe { unmarshal_response_at(proc, args, ret, &[], 0, Limits::default()) };
    if let Some(t) = proc.ret
        && !ret.is_null()
    {
        // SAFETY: `ret` has room for the return value (the caller's contract).
        unsafe { ret.write_bytes(0, comidl_runtime_ndr::layout::mem_size(t)) };
    }
}

/// Serves one ORPC request on a real object `itf` whose proxy/stub is `ps`: reads
/// ORPCTHIS, unmarshals the parameters, calls the slot, marshals ORPCTHAT and the
/// `[out]` values, frees everything (interface pointers received and sent included).
pub(crate) fn serve(
    ps: &'static ProxyStub,
    itf: *mut c_void,
    opnum: u16,
    stub: &[u8],
) -> Result<Vec<u8>, Fault> {
    let (this, used) = OrpcThis::decode(stub).map_err(|_| Fault::BAD_STUB_DATA)?;
    if this.version.major != COM_VERSION.major || this.version.minor > COM_VERSION.minor {
        return Err(Fault(RPC_E_VERSION_MISMATCH.0 as u32));
    }
    let Some((owner, proc)) = ps.proc(opnum) else {
        return Err(Fault::OP_RANGE);
    };
    let lent = CallMarshaller;
    with_interfaces(&lent, || {
        let call = ServerCall::unmarshal_at(proc, stub, used, Limits::current())
            .map_err(|e| fault_of(&e))?;
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `itf` is a live object of `ps`'s interface (the exporter holds a
            // reference for the call), which derives from `owner`'s; the arguments are
            // the engine's memory for `proc`'s parameters.
            unsafe { (owner.invoke)(itf, opnum, call.args(), call.ret()) }
        }));
        match ran {
            Ok(true) => {}
            Ok(false) => return Err(Fault::OP_RANGE),
            Err(_) => return Err(Fault::UNSPECIFIED),
        }
        let that = OrpcThat::default().encode().map_err(|e| fault_of(&e))?;
        // SAFETY: the object left its [out] values valid for their descriptions.
        unsafe { call.marshal_response_after(&that) }.map_err(|e| fault_of(&e))
    })
}

fn fault_of(e: &NdrError) -> Fault {
    match e {
        NdrError::TooLarge | NdrError::OutOfMemory => Fault::NO_MEMORY,
        NdrError::BadStubData { .. } => Fault::BAD_STUB_DATA,
        _ => Fault(e.status()),
    }
}
