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
pub(crate) trait Transport {
    /// Whether the exporter is on another machine: interface pointers in the request are
    /// marshalled for it (see [`crate::machine::for_remote`]).
    fn remote(&self) -> bool {
        false
    }

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
    to: &dyn Transport,
    syntax: &Interface,
    ipid: GUID,
    proc: &Proc,
    args: &[*mut u8],
    ret: *mut u8,
) -> HRESULT {
    let lent = CallMarshaller {
        context: if to.remote() {
            crate::marshal::MSHCTX_DIFFERENTMACHINE
        } else {
            crate::marshal::MSHCTX_LOCAL
        },
    };
    with_interfaces(&lent, || {
        let this = plain_this(next_cid());
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
                let used = read_that(&reply)?;
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

/// Leaves a failed call's `[out]` values as the engine leaves them after a bad reply
/// (`clear_outs`), and the return value zeroed.
pub(crate) unsafe fn zero_outs(proc: &Proc, args: &[*mut u8], ret: *mut u8) {
    if args.len() == proc.params.len() && args.iter().all(|a| !a.is_null()) {
        // SAFETY: forwarded.
        unsafe { comidl_runtime_ndr::proc::clear_outs(proc, args) };
    }
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
    let used = read_this(stub)?;
    let Some((owner, proc)) = ps.proc(opnum) else {
        return Err(Fault::OP_RANGE);
    };
    let lent = CallMarshaller::LOCAL;
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
        // ORPCTHAT with no flags and no extensions: 8 zero bytes.
        let that = [0u8; PLAIN_THAT_LEN];
        // SAFETY: the object left its [out] values valid for their descriptions.
        unsafe { call.marshal_response_after(&that) }.map_err(|e| fault_of(&e))
    })
}

/// Reads a request's ORPCTHIS: the length of it (where the method's parameters start),
/// or the fault for a bad one or a COM version this implementation does not speak.
pub(crate) fn read_this(stub: &[u8]) -> Result<usize, Fault> {
    let (version, used) = match plain_this_version(stub) {
        Some(v) => (v, PLAIN_THIS_LEN),
        None => {
            let (this, used) = OrpcThis::decode(stub).map_err(|_| Fault::BAD_STUB_DATA)?;
            (this.version, used)
        }
    };
    if version.major != COM_VERSION.major || version.minor > COM_VERSION.minor {
        return Err(Fault(RPC_E_VERSION_MISMATCH.0 as u32));
    }
    Ok(used)
}

/// Reads a reply's ORPCTHAT: the length of it (where the `[out]` values start).
pub(crate) fn read_that(reply: &[u8]) -> Result<usize, CallError> {
    match plain_that_len(reply) {
        Some(n) => Ok(n),
        None => Ok(OrpcThat::decode(reply).map_err(CallError::Ndr)?.1),
    }
}

/// An ORPCTHIS without extensions: COMVERSION, flags 0, reserved 0, the causality ID and
/// a NULL extensions pointer (MS-DCOM 2.2.13.3), 32 bytes. Every call this runtime makes
/// sends one; [`OrpcThis`] reads and writes the general form (tests hold the two equal).
pub(crate) fn plain_this(cid: GUID) -> [u8; PLAIN_THIS_LEN] {
    let mut b = [0u8; PLAIN_THIS_LEN];
    b[0..2].copy_from_slice(&COM_VERSION.major.to_le_bytes());
    b[2..4].copy_from_slice(&COM_VERSION.minor.to_le_bytes());
    b[12..16].copy_from_slice(&cid.data1.to_le_bytes());
    b[16..18].copy_from_slice(&cid.data2.to_le_bytes());
    b[18..20].copy_from_slice(&cid.data3.to_le_bytes());
    b[20..28].copy_from_slice(&cid.data4);
    b
}

pub(crate) const PLAIN_THIS_LEN: usize = 32;
pub(crate) const PLAIN_THAT_LEN: usize = 8;

/// The COMVERSION of a request that starts with an ORPCTHIS without extensions; `None`
/// for any other (read then by [`OrpcThis::decode`]).
fn plain_this_version(stub: &[u8]) -> Option<ComVersion> {
    let b = stub.get(..PLAIN_THIS_LEN)?;
    if b[28..32] != [0; 4] {
        return None;
    }
    Some(ComVersion {
        major: u16::from_le_bytes([b[0], b[1]]),
        minor: u16::from_le_bytes([b[2], b[3]]),
    })
}

/// The length of a reply's ORPCTHAT when it has no extensions.
fn plain_that_len(reply: &[u8]) -> Option<usize> {
    (reply.get(4..PLAIN_THAT_LEN)? == [0; 4]).then_some(PLAIN_THAT_LEN)
}

/// A causality ID for a new call: a random per-process base and a counter, so no call
/// waits for the system's random numbers.
pub(crate) fn next_cid() -> GUID {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static BASE: OnceLock<u128> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let base = *BASE.get_or_init(|| GUID::try_new_v4().unwrap_or_default().to_u128());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // The counter goes in the low 64 bits, which hold no version or variant bits.
    GUID::from_u128(base ^ u128::from(n))
}

pub(crate) fn fault_of(e: &NdrError) -> Fault {
    match e {
        NdrError::TooLarge | NdrError::OutOfMemory => Fault::NO_MEMORY,
        NdrError::BadStubData { .. } => Fault::BAD_STUB_DATA,
        _ => Fault(e.status()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_forms_are_the_general_encoders_bytes() {
        let cid = GUID::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff);
        let general = OrpcThis::new(cid).encode().unwrap();
        assert_eq!(plain_this(cid).as_slice(), general.as_slice());
        assert_eq!(plain_this_version(&general), Some(COM_VERSION));
        let (decoded, used) = OrpcThis::decode(&plain_this(cid)).unwrap();
        assert_eq!((decoded.cid, used), (cid, PLAIN_THIS_LEN));
        assert_eq!(
            OrpcThat::default().encode().unwrap(),
            vec![0u8; PLAIN_THAT_LEN]
        );
        assert_eq!(plain_that_len(&[0u8; 12]), Some(PLAIN_THAT_LEN));
        // With extensions, the general decoders take over.
        let mut ext = general.clone();
        ext[28] = 1;
        assert_eq!(plain_this_version(&ext), None);
        assert_eq!(plain_that_len(&[0, 0, 0, 0, 4, 0, 2, 0]), None);
    }

    #[test]
    fn causality_ids_differ() {
        let a = next_cid();
        let b = next_cid();
        assert_ne!(a, b);
    }
}
