//! The server's side of one connection, without I/O: fragments in, what to send, what to
//! run and whether to close out. The reactor owns the socket and feeds this; the fuzz
//! target feeds it arbitrary bytes directly.
//!
//! What it follows (C706 12.6, MS-RPCE 3.3.1.5 and 3.3.3):
//! - the first PDU must be a bind; a bind settles the fragment sizes (never below the
//!   spec's 1432-byte floor, never above our limit), the association group (a new one, or
//!   one another connection of this client holds) and the presentation contexts;
//! - each proposed context is accepted when its interface is registered with a compatible
//!   version (same major, client's minor not above ours) and NDR20 is among its transfer
//!   syntaxes; bind-time feature negotiation is answered with the features we support;
//!   everything else is rejected context by context, as MS-RPCE 3.3.1.5.3 asks;
//! - alter_context adds contexts later;
//! - requests are reassembled under the call cap, on a context this connection accepted,
//!   and run one at a time in arrival order (we never offer PFC_CONC_MPX);
//! - an unknown context faults with nca_s_unk_if, a call over the cap with
//!   nca_s_fault_remote_no_memory (its remaining fragments are dropped), and anything the
//!   protocol forbids closes the connection;
//! - a bind or alter_context that carries NTLM's NEGOTIATE (when the server has
//!   [`crate::auth::ServerSecurity`]) is answered with a CHALLENGE, and the client's
//!   rpc_auth_3 completes that security context (one per auth_context_id); a request
//!   naming a context is checked (and unsealed) before anything else, and a call below
//!   the server's minimum level, or on a context whose authentication failed, is refused
//!   with RPC_S_ACCESS_DENIED before it runs.

use std::sync::Arc;

use comidl_runtime_core::GUID;

use super::{Group, Groups, Registered, Registry, ServerLimits};
use crate::auth::{AUTHN_WINNT, AuthnLevel, ServerContext, Session};
use crate::fragment::{Reassembly, ReassemblyError};
use crate::pdu::{BindAckBody, BindBody, ContextResult, HEADER_LEN, Header, PacketType, flags};
use crate::{Body, Pdu, SyntaxId};

/// C706's must_recv_frag_size: every implementation takes fragments this large.
pub const MIN_FRAG: u16 = 1432;

/// The transfer syntax that carries MS-RPCE 2.2.2.14's bind-time feature negotiation:
/// 6cb71c2c-9812-4540-xxxx-000000000000 version 1, the bit mask in bytes 8 and 9.
const FEATURE_NEGOTIATION_PREFIX: (u32, u16, u16) = (0x6cb7_1c2c, 0x9812, 0x4540);
/// Keep the connection when a call is orphaned: we do (an orphaned call is forgotten).
const FEATURE_KEEP_ON_ORPHAN: u16 = 0x0002;

/// Fault statuses this layer sends (C706 Appendix E, MS-RPCE 2.2.2.9).
pub mod status {
    /// nca_s_unk_if: the context is not one this connection accepted.
    pub const UNK_IF: u32 = 0x1C01_0003;
    /// nca_proto_error: the PDU is not allowed here.
    pub const PROTO_ERROR: u32 = 0x1C01_000B;
    /// nca_s_fault_remote_no_memory: the call is larger than the server accepts.
    pub const REMOTE_NO_MEMORY: u32 = 0x1C00_001B;
    /// nca_s_fault_unspec.
    pub const UNSPEC: u32 = 0x1C00_0012;
    /// nca_server_too_busy.
    pub const SERVER_TOO_BUSY: u32 = 0x1C01_0014;
}

/// bind_nak reasons (MS-RPCE 2.2.2.5, C706 12.6.3.1).
pub mod nak {
    pub const NOT_SPECIFIED: u16 = 0;
    pub const TEMPORARY_CONGESTION: u16 = 1;
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 2;
    pub const PROTOCOL_VERSION_NOT_SUPPORTED: u16 = 4;
    pub const AUTHENTICATION_TYPE_NOT_RECOGNIZED: u16 = 8;
}

/// p_cont_def_result_t and its reasons (C706 12.6.3.1).
mod result {
    pub const ACCEPTANCE: u16 = 0;
    pub const PROVIDER_REJECTION: u16 = 2;
    pub const NEGOTIATE_ACK: u16 = 3;
    pub const ABSTRACT_SYNTAX_NOT_SUPPORTED: u16 = 1;
    pub const TRANSFER_SYNTAXES_NOT_SUPPORTED: u16 = 2;
    pub const LOCAL_LIMIT_EXCEEDED: u16 = 3;
}

/// One call ready to run.
pub struct Call {
    pub call_id: u32,
    pub context_id: u16,
    pub opnum: u16,
    pub object: Option<GUID>,
    pub stub: Vec<u8>,
    pub interface: Arc<Registered>,
    /// PFC_MAYBE: the client wants no answer.
    pub maybe: bool,
    /// The security context the call came on, when authenticated.
    pub auth: Option<CallAuth>,
}

/// An authenticated call's security: its session (which protects the response), level
/// and user.
#[derive(Clone)]
pub struct CallAuth {
    pub(crate) session: Arc<std::sync::Mutex<Session>>,
    pub level: AuthnLevel,
    pub user: String,
}

/// One security context of a connection (MS-RPCE: named by auth_context_id).
enum SecContext {
    /// NEGOTIATE answered; AUTHENTICATE awaited.
    Pending(Box<ServerContext>),
    Ready(CallAuth),
    /// The client failed to authenticate: its calls are refused.
    Failed,
}

/// RPC_S_ACCESS_DENIED as a fault status.
pub const ACCESS_DENIED: u32 = 5;

/// What the connection must do next.
pub enum Action {
    Send(Vec<u8>),
    Run(Call),
    /// Send nothing more after what is queued; close.
    Close,
}

/// The protocol state of one connection.
pub struct Connection {
    limits: ServerLimits,
    registry: Arc<Registry>,
    groups: Arc<Groups>,
    /// What bind_ack names as the secondary address (the port or endpoint name).
    sec_addr: Vec<u8>,
    bound: bool,
    /// The largest fragment we send / accept, settled at bind.
    max_xmit: u16,
    max_recv: u16,
    contexts: Vec<(u16, Arc<Registered>)>,
    group: Option<Arc<Group>>,
    partial: Option<Reassembly>,
    /// A call refused mid-way whose remaining fragments are dropped.
    dropping: Option<u32>,
    /// Security contexts by auth_context_id.
    security: Vec<(u32, SecContext)>,
}

impl Connection {
    pub fn new(
        limits: ServerLimits,
        registry: Arc<Registry>,
        groups: Arc<Groups>,
        sec_addr: &str,
    ) -> Connection {
        let mut sec = sec_addr.as_bytes().to_vec();
        sec.push(0);
        Connection {
            limits,
            registry,
            groups,
            sec_addr: sec,
            bound: false,
            max_xmit: MIN_FRAG,
            max_recv: limits.max_frag.max(MIN_FRAG),
            contexts: Vec::new(),
            group: None,
            partial: None,
            dropping: None,
            security: Vec::new(),
        }
    }

    /// The server's limits.
    pub fn limits(&self) -> ServerLimits {
        self.limits
    }

    /// The largest fragment the peer may send now.
    pub fn max_recv(&self) -> u16 {
        self.max_recv
    }

    /// The largest fragment we may send.
    pub fn max_xmit(&self) -> u16 {
        self.max_xmit
    }

    /// The association group, once bound.
    pub fn group(&self) -> Option<&Arc<Group>> {
        self.group.as_ref()
    }

    /// Whether a request is half received.
    pub fn mid_call(&self) -> bool {
        self.partial.is_some()
    }

    /// Handles one whole fragment (`frag.len()` is its frag_length).
    pub fn receive(&mut self, frag: &[u8]) -> Vec<Action> {
        let header = match Header::parse(frag) {
            Ok(h) => h,
            Err(_) => return vec![Action::Close],
        };
        if frag.len() > usize::from(self.max_recv) {
            return vec![Action::Close];
        }
        // A protected request is checked (and unsealed) before it is read.
        let unsealed;
        let mut frag = frag;
        let mut call_auth = None;
        if header.ptype == PacketType::Request && self.bound {
            match self.unprotect(frag, &header) {
                Ok(Some((bytes, auth))) => {
                    unsealed = bytes;
                    frag = &unsealed[..];
                    call_auth = Some(auth);
                }
                Ok(None) => {}
                Err(()) => {
                    return self.refuse(header.call_id, 0, ACCESS_DENIED, header.flags);
                }
            }
        }
        let pdu = match Pdu::parse(frag) {
            Ok(p) => p,
            // A request we cannot read is a fault for that call; anything else ends
            // the connection.
            Err(_) if header.ptype == PacketType::Request && self.bound => {
                return self.fault_and_close(header.call_id, 0, status::PROTO_ERROR);
            }
            Err(_) => return vec![Action::Close],
        };
        match (&pdu.body, self.bound) {
            (Body::Bind(_), false) => self.bind(pdu),
            (Body::AlterContext(_), true) => self.alter_context(pdu),
            (Body::Request { .. }, true) => self.request(pdu, call_auth),
            (Body::Auth3, true) => self.auth3(pdu),
            (Body::CoCancel, true) => Vec::new(),
            // The client abandoned the call it was sending: forget its fragments.
            (Body::Orphaned, true) => {
                self.partial = None;
                self.dropping = None;
                Vec::new()
            }
            // A second bind, a bind_ack, a response from a client, anything before the
            // bind: the protocol is broken.
            (Body::Bind(_), true) => self.fault_and_close(pdu.call_id, 0, status::PROTO_ERROR),
            _ => vec![Action::Close],
        }
    }

    fn bind(&mut self, pdu: Pdu) -> Vec<Action> {
        let Body::Bind(body) = &pdu.body else {
            return vec![Action::Close];
        };
        let nak = |reason: u16| {
            vec![
                Action::Send(
                    Pdu {
                        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                        call_id: pdu.call_id,
                        body: Body::BindNak {
                            reason,
                            versions: vec![(5, 0)],
                        },
                        auth: None,
                    }
                    .encode(),
                ),
                Action::Close,
            ]
        };
        // NTLM's NEGOTIATE: answered with a CHALLENGE in the bind_ack.
        let challenge = match &pdu.auth {
            Some(a) => match self.start_security(a) {
                Some(c) => Some(c),
                None => return nak(nak::AUTHENTICATION_TYPE_NOT_RECOGNIZED),
            },
            None => None,
        };
        if body.max_xmit_frag < MIN_FRAG || body.max_recv_frag < MIN_FRAG {
            return nak(nak::NOT_SPECIFIED);
        }
        let group = match body.assoc_group_id {
            0 => self.groups.create(self.limits.max_context_handles),
            id => match self.groups.join(id) {
                Some(g) => Some(g),
                None => return nak(nak::NOT_SPECIFIED),
            },
        };
        let Some(group) = group else {
            return nak(nak::LOCAL_LIMIT_EXCEEDED);
        };
        let ours = self.limits.max_frag.max(MIN_FRAG);
        self.max_recv = body.max_xmit_frag.min(ours);
        self.max_xmit = body.max_recv_frag.min(ours);
        let results = self.negotiate(body);
        self.bound = true;
        let ack = BindAckBody {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_recv,
            assoc_group_id: group.id,
            sec_addr: self.sec_addr.clone(),
            results,
        };
        self.group = Some(group);
        vec![Action::Send(
            Pdu {
                flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                call_id: pdu.call_id,
                body: Body::BindAck(ack),
                auth: challenge,
            }
            .encode(),
        )]
    }

    /// Starts the security context a bind's or alter_context's auth trailer asks for:
    /// the trailer of the answer (the CHALLENGE), or `None` to refuse.
    fn start_security(&mut self, a: &crate::pdu::Auth) -> Option<crate::pdu::Auth> {
        // Only a server with users authenticates anyone.
        self.registry.security()?;
        let level = AuthnLevel::from_u8(a.auth_level)?;
        if a.auth_type != AUTHN_WINNT || level == AuthnLevel::None {
            return None;
        }
        // A context id already used is not begun again.
        if self.security.iter().any(|(id, _)| *id == a.context_id)
            || self.security.len() >= self.limits.max_contexts
        {
            return None;
        }
        let (ctx, challenge) = ServerContext::accept(&a.value, level, a.context_id)?;
        self.security
            .push((a.context_id, SecContext::Pending(Box::new(ctx))));
        Some(crate::pdu::Auth {
            auth_type: AUTHN_WINNT,
            auth_level: a.auth_level,
            auth_pad_length: 0,
            context_id: a.context_id,
            value: challenge,
        })
    }

    /// rpc_auth_3: the client's AUTHENTICATE completes its security context (or marks it
    /// failed: its calls are refused). No answer either way.
    fn auth3(&mut self, pdu: Pdu) -> Vec<Action> {
        let Some(a) = pdu.auth else {
            return Vec::new();
        };
        let Some(security) = self.registry.security() else {
            return Vec::new();
        };
        let Some(i) = self.security.iter().position(|(id, _)| *id == a.context_id) else {
            return Vec::new();
        };
        let state = std::mem::replace(&mut self.security[i].1, SecContext::Failed);
        if let SecContext::Pending(ctx) = state
            && let Some((session, user)) = ctx.finish(&a.value, &security.users)
        {
            let level = session.level;
            self.security[i].1 = SecContext::Ready(CallAuth {
                session: Arc::new(std::sync::Mutex::new(session)),
                level,
                user,
            });
        }
        Vec::new()
    }

    /// Checks a request fragment's auth trailer: `Ok(None)` when it has none, the
    /// unsealed fragment and its call's security when it checks out, `Err` when it does
    /// not (an unknown or failed context, a bad signature).
    fn unprotect(
        &mut self,
        frag: &[u8],
        header: &Header,
    ) -> Result<Option<(Vec<u8>, CallAuth)>, ()> {
        if header.auth_length == 0 {
            return Ok(None);
        }
        let trailer = frag
            .len()
            .checked_sub(usize::from(header.auth_length) + 8)
            .ok_or(())?;
        let t = &frag[trailer..trailer + 8];
        let context_id = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        let auth = match self.security.iter().find(|(id, _)| *id == context_id) {
            Some((_, SecContext::Ready(a))) => a.clone(),
            _ => return Err(()),
        };
        if !auth.level.protects_pdus() {
            // CONNECT: the context names the caller; the PDUs are not protected.
            return Ok(Some((frag.to_vec(), auth)));
        }
        let head = HEADER_LEN
            + 8
            + if header.flags & flags::OBJECT_UUID != 0 {
                16
            } else {
                0
            };
        let range = crate::auth::stub_range(frag, head).ok_or(())?;
        let mut bytes = frag.to_vec();
        let mut session = match auth.session.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        session.unprotect(&mut bytes, range).map_err(|_| ())?;
        drop(session);
        Ok(Some((bytes, auth)))
    }

    fn alter_context(&mut self, pdu: Pdu) -> Vec<Action> {
        let Body::AlterContext(body) = &pdu.body else {
            return vec![Action::Close];
        };
        // A new security context may begin here too (a client binding another interface
        // with authentication, as impacket does).
        let challenge = match &pdu.auth {
            Some(a) => match self.start_security(a) {
                Some(c) => Some(c),
                None => return self.fault_and_close(pdu.call_id, 0, ACCESS_DENIED),
            },
            None => None,
        };
        let results = self.negotiate(body);
        let ack = BindAckBody {
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_recv,
            assoc_group_id: self.group.as_ref().map_or(0, |g| g.id),
            sec_addr: Vec::new(),
            results,
        };
        vec![Action::Send(
            Pdu {
                flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                call_id: pdu.call_id,
                body: Body::AlterContextResp(ack),
                auth: challenge,
            }
            .encode(),
        )]
    }

    /// Answers each proposed context, adding the accepted ones.
    fn negotiate(&mut self, body: &BindBody) -> Vec<ContextResult> {
        let none = SyntaxId {
            uuid: GUID::zeroed(),
            version: 0,
        };
        let mut results = Vec::with_capacity(body.contexts.len());
        for ctx in &body.contexts {
            if let Some(bits) = ctx.transfer_syntaxes.iter().find_map(feature_bits) {
                results.push(ContextResult {
                    result: result::NEGOTIATE_ACK,
                    reason: bits & FEATURE_KEEP_ON_ORPHAN,
                    transfer_syntax: none,
                });
                continue;
            }
            let reject = |reason| ContextResult {
                result: result::PROVIDER_REJECTION,
                reason,
                transfer_syntax: none,
            };
            let Some(iface) = self.registry.find(&ctx.abstract_syntax) else {
                results.push(reject(result::ABSTRACT_SYNTAX_NOT_SUPPORTED));
                continue;
            };
            if !ctx.transfer_syntaxes.contains(&SyntaxId::NDR20) {
                results.push(reject(result::TRANSFER_SYNTAXES_NOT_SUPPORTED));
                continue;
            }
            let known = self
                .contexts
                .iter()
                .position(|(id, _)| *id == ctx.context_id);
            if known.is_none() && self.contexts.len() >= self.limits.max_contexts {
                results.push(reject(result::LOCAL_LIMIT_EXCEEDED));
                continue;
            }
            match known {
                // A context id proposed again names the newer interface.
                Some(i) => self.contexts[i].1 = iface,
                None => self.contexts.push((ctx.context_id, iface)),
            }
            results.push(ContextResult {
                result: result::ACCEPTANCE,
                reason: 0,
                transfer_syntax: SyntaxId::NDR20,
            });
        }
        results
    }

    fn request(&mut self, pdu: Pdu, auth: Option<CallAuth>) -> Vec<Action> {
        let maybe = pdu.flags & flags::MAYBE != 0;
        if self.dropping == Some(pdu.call_id) && pdu.flags & flags::FIRST_FRAG == 0 {
            if pdu.flags & flags::LAST_FRAG != 0 {
                self.dropping = None;
            }
            return Vec::new();
        }
        self.dropping = None;
        let Body::Request { context_id, .. } = pdu.body else {
            return vec![Action::Close];
        };
        let call_id = pdu.call_id;
        let done = match self.partial.take() {
            None => {
                if pdu.flags & flags::FIRST_FRAG == 0 {
                    // A continuation of no call.
                    return self.fault_and_close(call_id, context_id, status::PROTO_ERROR);
                }
                if !self.contexts.iter().any(|(id, _)| *id == context_id) {
                    return self.refuse(call_id, context_id, status::UNK_IF, pdu.flags);
                }
                Reassembly::start(pdu, self.limits.max_call)
            }
            Some(mut r) => r.push(pdu).map(|()| r),
        };
        let r = match done {
            Ok(r) => r,
            Err(ReassemblyError::TooLarge) => {
                return self.refuse(
                    call_id,
                    context_id,
                    status::REMOTE_NO_MEMORY,
                    // The fragment that went over the cap may be the last.
                    flags::FIRST_FRAG,
                );
            }
            Err(_) => return self.fault_and_close(call_id, context_id, status::PROTO_ERROR),
        };
        if !r.is_complete() {
            self.partial = Some(r);
            return Vec::new();
        }
        let Body::Request {
            context_id,
            opnum,
            object,
            stub,
            ..
        } = r.finish().body
        else {
            return vec![Action::Close];
        };
        let Some(interface) = self
            .contexts
            .iter()
            .find(|(id, _)| *id == context_id)
            .map(|(_, i)| i.clone())
        else {
            return self.refuse(call_id, context_id, status::UNK_IF, flags::LAST_FRAG);
        };
        // A call on a CONNECT-level connection names no context of its own: it is the
        // connection's authenticated user's.
        let auth = auth.or_else(|| {
            self.security.iter().find_map(|(_, c)| match c {
                SecContext::Ready(a) if a.level == AuthnLevel::Connect => Some(a.clone()),
                _ => None,
            })
        });
        if let Some(security) = self.registry.security() {
            let level = auth.as_ref().map_or(AuthnLevel::None, |a| a.level);
            if level < security.min_level {
                return self.refuse(call_id, context_id, ACCESS_DENIED, flags::LAST_FRAG);
            }
        }
        vec![Action::Run(Call {
            call_id,
            context_id,
            opnum,
            object,
            stub,
            interface,
            maybe,
            auth,
        })]
    }

    /// Faults one call without running it; its remaining fragments (if `frag_flags` says
    /// more come) are dropped.
    fn refuse(
        &mut self,
        call_id: u32,
        context_id: u16,
        status: u32,
        frag_flags: u8,
    ) -> Vec<Action> {
        if frag_flags & flags::LAST_FRAG == 0 {
            self.dropping = Some(call_id);
        }
        vec![Action::Send(fault(call_id, context_id, status, true))]
    }

    fn fault_and_close(&mut self, call_id: u32, context_id: u16, status: u32) -> Vec<Action> {
        vec![
            Action::Send(fault(call_id, context_id, status, true)),
            Action::Close,
        ]
    }
}

/// What the front of a connection's received bytes holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Not a whole fragment yet.
    Partial,
    /// A whole fragment of this many bytes.
    Whole(usize),
    /// Not DCE/RPC, or a fragment longer than the connection allows: close it.
    Bad,
}

/// Finds the fragment at the front of `buf` (`max_recv` from [`Connection::max_recv`]).
pub fn frame(buf: &[u8], max_recv: u16) -> Frame {
    if buf.len() < HEADER_LEN {
        return Frame::Partial;
    }
    match Header::parse(buf) {
        Ok(h) if h.frag_length <= max_recv => {
            let len = usize::from(h.frag_length);
            if buf.len() < len {
                Frame::Partial
            } else {
                Frame::Whole(len)
            }
        }
        _ => Frame::Bad,
    }
}

/// A fault PDU; `not_executed` sets PFC_DID_NOT_EXECUTE.
pub fn fault(call_id: u32, context_id: u16, status: u32, not_executed: bool) -> Vec<u8> {
    let mut f = flags::FIRST_FRAG | flags::LAST_FRAG;
    if not_executed {
        f |= flags::DID_NOT_EXECUTE;
    }
    Pdu {
        flags: f,
        call_id,
        body: Body::Fault {
            alloc_hint: 0,
            context_id,
            cancel_count: 0,
            status,
        },
        auth: None,
    }
    .encode()
}

/// The feature bits of a bind-time feature negotiation transfer syntax.
fn feature_bits(s: &SyntaxId) -> Option<u16> {
    let g = &s.uuid;
    let (d1, d2, d3) = FEATURE_NEGOTIATION_PREFIX;
    if g.data1 == d1 && g.data2 == d2 && g.data3 == d3 && g.data4[2..] == [0; 6] && s.version == 1 {
        Some(u16::from_le_bytes([g.data4[0], g.data4[1]]))
    } else {
        None
    }
}
