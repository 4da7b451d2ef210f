//! Fragmentation and reassembly (C706 12.4.1, MS-RPCE 3.3.1.5.5): a request or response
//! whose stub data does not fit in one fragment of the negotiated size goes as several,
//! the first flagged PFC_FIRST_FRAG, the last PFC_LAST_FRAG, each with the whole call's
//! header fields and an `alloc_hint` of the stub bytes still to come. Every fragment but
//! the last carries a multiple of 8 stub bytes, so NDR's alignment (counted from the start
//! of the stub data) is the same in every fragment.
//!
//! [`Reassembly`] puts a call back together, checking each fragment against the first
//! (call id, packet type, context, opnum, object) and the total against a cap before
//! anything is kept.

use comidl_runtime_core::GUID;

use crate::pdu::{Body, HEADER_LEN, Pdu, flags};

/// The fragments of a request.
pub fn request(
    call_id: u32,
    context_id: u16,
    opnum: u16,
    object: Option<GUID>,
    stub: &[u8],
    max_frag: u16,
) -> Vec<Vec<u8>> {
    let overhead = HEADER_LEN + 8 + if object.is_some() { 16 } else { 0 };
    split(stub, max_frag, overhead, |part, alloc_hint, flags| Pdu {
        flags,
        call_id,
        body: Body::Request {
            alloc_hint,
            context_id,
            opnum,
            object,
            stub: part.to_vec(),
        },
        auth: None,
    })
}

/// The fragments of a response.
pub fn response(call_id: u32, context_id: u16, stub: &[u8], max_frag: u16) -> Vec<Vec<u8>> {
    split(stub, max_frag, HEADER_LEN + 8, |part, alloc_hint, flags| {
        Pdu {
            flags,
            call_id,
            body: Body::Response {
                alloc_hint,
                context_id,
                cancel_count: 0,
                stub: part.to_vec(),
            },
            auth: None,
        }
    })
}

/// The fragments of a request on an authenticated connection: each carries a
/// sec_trailer and a signature, its stub data padded to 16 bytes and (at PKT_PRIVACY)
/// sealed by `session`.
pub(crate) fn request_protected(
    call_id: u32,
    context_id: u16,
    opnum: u16,
    object: Option<GUID>,
    stub: &[u8],
    max_frag: u16,
    session: &mut crate::auth::Session,
) -> Result<Vec<Vec<u8>>, comidl_runtime_ndr::CallError> {
    let head = HEADER_LEN + 8 + if object.is_some() { 16 } else { 0 };
    split_protected(
        stub,
        max_frag,
        head,
        session,
        |part, alloc_hint, flags, auth| Pdu {
            flags,
            call_id,
            body: Body::Request {
                alloc_hint,
                context_id,
                opnum,
                object,
                stub: part.to_vec(),
            },
            auth: Some(auth),
        },
    )
}

/// The fragments of a response on an authenticated connection (see
/// [`request_protected`]).
pub(crate) fn response_protected(
    call_id: u32,
    context_id: u16,
    stub: &[u8],
    max_frag: u16,
    session: &mut crate::auth::Session,
) -> Result<Vec<Vec<u8>>, comidl_runtime_ndr::CallError> {
    split_protected(
        stub,
        max_frag,
        HEADER_LEN + 8,
        session,
        |part, alloc_hint, flags, auth| Pdu {
            flags,
            call_id,
            body: Body::Response {
                alloc_hint,
                context_id,
                cancel_count: 0,
                stub: part.to_vec(),
            },
            auth: Some(auth),
        },
    )
}

fn split_protected(
    stub: &[u8],
    max_frag: u16,
    head: usize,
    session: &mut crate::auth::Session,
    pdu: impl Fn(&[u8], u32, u8, crate::pdu::Auth) -> Pdu,
) -> Result<Vec<Vec<u8>>, comidl_runtime_ndr::CallError> {
    use crate::auth::{AUTH_PAD_ALIGN, AUTHN_WINNT, SIGNATURE_LEN, pad_for};
    // The sec_trailer (8 bytes) and the signature follow the stub data; every fragment
    // but the last carries a multiple of 16 bytes, so only the last is padded.
    let room = (usize::from(max_frag).saturating_sub(head + 8 + SIGNATURE_LEN) / AUTH_PAD_ALIGN
        * AUTH_PAD_ALIGN)
        .max(AUTH_PAD_ALIGN);
    let mut out = Vec::new();
    for (part, hint, f) in parts(stub, room) {
        let pad = pad_for(part.len());
        let auth = crate::pdu::Auth {
            auth_type: AUTHN_WINNT,
            auth_level: session.level as u8,
            auth_pad_length: pad as u8,
            context_id: session.context_id,
            value: vec![0; SIGNATURE_LEN],
        };
        let mut bytes = pdu(part, hint, f, auth).encode();
        session.protect(&mut bytes, head..head + part.len() + pad)?;
        out.push(bytes);
    }
    Ok(out)
}

fn split(
    stub: &[u8],
    max_frag: u16,
    overhead: usize,
    pdu: impl Fn(&[u8], u32, u8) -> Pdu,
) -> Vec<Vec<u8>> {
    // At least 8 stub bytes per fragment, whatever the peer asked for.
    let room = (usize::from(max_frag).saturating_sub(overhead) / 8 * 8).max(8);
    parts(stub, room)
        .map(|(part, hint, f)| pdu(part, hint, f).encode())
        .collect()
}

/// The stub data in fragments of `room` bytes (one, empty, for no data): each part with
/// its alloc_hint (the bytes still to come) and its PFC_FIRST_FRAG / PFC_LAST_FRAG flags.
fn parts(stub: &[u8], room: usize) -> impl Iterator<Item = (&[u8], u32, u8)> {
    let mut at = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let end = (at + room).min(stub.len());
        let mut f = 0;
        if at == 0 {
            f |= flags::FIRST_FRAG;
        }
        if end == stub.len() {
            f |= flags::LAST_FRAG;
            done = true;
        }
        let hint = u32::try_from(stub.len() - at).unwrap_or(u32::MAX);
        let part = &stub[at..end];
        at = end;
        Some((part, hint, f))
    })
}

/// Why fragments do not make a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReassemblyError {
    /// A fragment does not belong with the first (which field).
    Mismatch(&'static str),
    /// The call's stub data would exceed the cap.
    TooLarge,
    /// The first fragment is not flagged PFC_FIRST_FRAG, or is not a request or response.
    NotFirst,
}

/// One call's fragments, put together.
#[derive(Debug)]
pub struct Reassembly {
    first: Pdu,
    stub: Vec<u8>,
    cap: usize,
    done: bool,
}

impl Reassembly {
    /// Starts with the first fragment; `cap` bounds the whole call's stub data.
    pub fn start(first: Pdu, cap: usize) -> Result<Reassembly, ReassemblyError> {
        if first.flags & flags::FIRST_FRAG == 0 {
            return Err(ReassemblyError::NotFirst);
        }
        let stub = match &first.body {
            Body::Request { stub, .. } | Body::Response { stub, .. } => stub.clone(),
            _ => return Err(ReassemblyError::NotFirst),
        };
        if stub.len() > cap {
            return Err(ReassemblyError::TooLarge);
        }
        let done = first.flags & flags::LAST_FRAG != 0;
        Ok(Reassembly {
            first,
            stub,
            cap,
            done,
        })
    }

    /// Whether the last fragment arrived.
    pub fn is_complete(&self) -> bool {
        self.done
    }

    /// Adds the next fragment.
    pub fn push(&mut self, next: Pdu) -> Result<(), ReassemblyError> {
        use ReassemblyError::Mismatch;
        if self.done {
            return Err(Mismatch("a fragment after the last"));
        }
        if next.flags & flags::FIRST_FRAG != 0 {
            return Err(Mismatch("a second first fragment"));
        }
        if next.call_id != self.first.call_id {
            return Err(Mismatch("call_id"));
        }
        let part = match (&self.first.body, &next.body) {
            (
                Body::Request {
                    context_id: c1,
                    opnum: o1,
                    object: g1,
                    ..
                },
                Body::Request {
                    context_id,
                    opnum,
                    object,
                    stub,
                    ..
                },
            ) => {
                if (c1, o1, g1) != (context_id, opnum, object) {
                    return Err(Mismatch("context, opnum or object"));
                }
                stub
            }
            (
                Body::Response { context_id: c1, .. },
                Body::Response {
                    context_id, stub, ..
                },
            ) => {
                if c1 != context_id {
                    return Err(Mismatch("context"));
                }
                stub
            }
            _ => return Err(Mismatch("packet type")),
        };
        if self.stub.len() + part.len() > self.cap {
            return Err(ReassemblyError::TooLarge);
        }
        self.stub.extend_from_slice(part);
        self.done = next.flags & flags::LAST_FRAG != 0;
        Ok(())
    }

    /// The call: the first fragment's body with the whole stub data.
    pub fn finish(self) -> Pdu {
        let mut pdu = self.first;
        match &mut pdu.body {
            Body::Request { stub, .. } | Body::Response { stub, .. } => *stub = self.stub,
            _ => {}
        }
        pdu.flags |= flags::LAST_FRAG;
        pdu
    }
}
