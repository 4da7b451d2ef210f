//! A client connection: a byte stream (TCP, a Unix socket) to a server, one presentation
//! context bound per interface (lazily, on its first call), requests fragmented to the
//! negotiated size, replies reassembled under a cap, call ids matched strictly, and a
//! bound on every wait. It implements the NDR layer's `Channel`, so generated client stubs
//! call through it.

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::Duration;

use comidl_runtime_ndr::{CallError, Channel, Fault, Interface};

use crate::fragment::{self, Reassembly};
use crate::pdu::{BindBody, ContextElement, HEADER_LEN, flags};
use crate::{Body, Header, Pdu, SyntaxId};

/// RPC_S_SERVER_UNAVAILABLE: the connection failed or closed.
pub const SERVER_UNAVAILABLE: u32 = 1722;
/// RPC_S_CALL_FAILED: the server answered with something the protocol does not allow here.
pub const CALL_FAILED: u32 = 1726;
/// RPC_S_CALL_FAILED_DNE: the call failed before the server could run it (the request
/// could not be sent whole).
pub const CALL_FAILED_DNE: u32 = 1727;
/// RPC_S_UNKNOWN_IF: the server refused the interface.
pub const UNKNOWN_IF: u32 = 1717;
/// RPC_S_PROTOCOL_ERROR.
pub const PROTOCOL_ERROR: u32 = 1728;

/// What the client allows itself.
#[derive(Clone, Copy, Debug)]
pub struct ClientLimits {
    /// The largest fragment it sends and receives (negotiated down by the server).
    pub max_frag: u16,
    /// The largest reply (all fragments' stub data together).
    pub max_reply: usize,
}

/// The fragment size an ncalrpc client offers (the largest multiple of 8 a fragment
/// length can state).
pub const LOCAL_MAX_FRAG: u16 = 65528;

impl Default for ClientLimits {
    fn default() -> ClientLimits {
        ClientLimits {
            max_frag: 4280,
            max_reply: 16 << 20,
        }
    }
}

struct State<S> {
    stream: S,
    incoming: Incoming,
    next_call_id: u32,
    /// Bound interfaces: (syntax, context id).
    contexts: Vec<(SyntaxId, u16)>,
    assoc_group: u32,
    max_xmit: u16,
    /// A transport failure left the stream mid-message: nothing more can be read from it.
    broken: bool,
    /// How to authenticate at the first bind, and the session once authenticated.
    auth: Option<crate::auth::ClientAuth>,
    session: Option<crate::auth::Session>,
}

/// A connection over a stream that the caller set up (with its read and write timeouts).
pub struct Connection<S: Read + Write> {
    state: Mutex<State<S>>,
    limits: ClientLimits,
    /// The object UUID every request names (PFC_OBJECT_UUID), as DCOM's calls do.
    object: Option<comidl_runtime_core::GUID>,
}

impl Connection<std::net::TcpStream> {
    /// Connects over TCP, every wait bounded by `timeout`.
    pub fn tcp(addr: std::net::SocketAddr, timeout: Duration) -> Result<Self, CallError> {
        let s = std::net::TcpStream::connect_timeout(&addr, timeout)
            .map_err(|_| CallError::Transport(SERVER_UNAVAILABLE))?;
        let _ = s.set_nodelay(true);
        s.set_read_timeout(Some(timeout))
            .and_then(|()| s.set_write_timeout(Some(timeout)))
            .map_err(|_| CallError::Transport(SERVER_UNAVAILABLE))?;
        Ok(Connection::new(s, ClientLimits::default()))
    }
}

impl Connection<std::os::unix::net::UnixStream> {
    /// Connects to an ncalrpc endpoint of this machine (a Unix-domain socket in the user's
    /// endpoint directory, see [`crate::transport`]), every wait bounded by `timeout`.
    pub fn local(endpoint: &str, timeout: Duration) -> Result<Self, CallError> {
        let unavailable = |_| CallError::Transport(SERVER_UNAVAILABLE);
        let path = crate::transport::ncalrpc_path(endpoint).map_err(unavailable)?;
        Self::unix(&path, timeout)
    }

    /// Connects to a Unix-domain socket at `path` (a machine-wide local endpoint, see
    /// [`crate::server::Server::listen_unix`]), every wait bounded by `timeout`.
    pub fn unix(path: &std::path::Path, timeout: Duration) -> Result<Self, CallError> {
        let unavailable = |_| CallError::Transport(SERVER_UNAVAILABLE);
        let s = std::os::unix::net::UnixStream::connect(path).map_err(unavailable)?;
        s.set_read_timeout(Some(timeout))
            .and_then(|()| s.set_write_timeout(Some(timeout)))
            .map_err(unavailable)?;
        // No network between the two ends: offer the largest fragments (the server
        // negotiates them down to what it takes), so a large call is a few writes.
        let limits = ClientLimits {
            max_frag: LOCAL_MAX_FRAG,
            ..ClientLimits::default()
        };
        Ok(Connection::new(s, limits))
    }
}

impl<S: Read + Write> Connection<S> {
    pub fn new(stream: S, limits: ClientLimits) -> Self {
        Connection {
            state: Mutex::new(State {
                stream,
                incoming: Incoming::default(),
                next_call_id: 1,
                contexts: Vec::new(),
                assoc_group: 0,
                max_xmit: limits.max_frag,
                broken: false,
                auth: None,
                session: None,
            }),
            limits,
            object: None,
        }
    }

    /// Names `object` in every request (a string binding's `uuid@` part).
    pub fn with_object(mut self, object: Option<comidl_runtime_core::GUID>) -> Self {
        self.object = object;
        self
    }

    /// Asks to join association group `group` at bind (0: a new one), so a server sees
    /// this connection and others of the same client as one client.
    pub fn in_group(self, group: u32) -> Self {
        if let Ok(mut st) = self.state.lock() {
            st.assoc_group = group;
        }
        self
    }

    /// Authenticates the connection at its first bind (NTLM, see [`crate::auth`]): every
    /// call on it is then signed (PKT_INTEGRITY) or sealed (PKT_PRIVACY) as `auth` says.
    pub fn with_auth(self, auth: crate::auth::ClientAuth) -> Self {
        if let Ok(mut st) = self.state.lock() {
            st.auth = Some(auth);
        }
        self
    }

    /// The association group the server put this connection in (0 before the bind).
    pub fn group(&self) -> u32 {
        self.state.lock().map_or(0, |st| st.assoc_group)
    }
}

/// The length of the fragment whose header starts `head`, if a client takes it.
fn fragment_length(head: &[u8], max_frag: u16) -> Result<usize, CallError> {
    let h = Header::parse(head).map_err(|_| CallError::Transport(PROTOCOL_ERROR))?;
    if h.frag_length > max_frag.max(HEADER_LEN as u16) && h.frag_length > 5840 {
        // A peer may exceed what we asked a little (Windows sends 5840 before the bind
        // settles); more is refused.
        return Err(CallError::Transport(PROTOCOL_ERROR));
    }
    Ok(usize::from(h.frag_length))
}

/// Reads one fragment: the header, then the rest `frag_length` announces.
pub fn read_fragment(stream: &mut impl Read, max_frag: u16) -> Result<Pdu, CallError> {
    let unavailable = |_| CallError::Transport(SERVER_UNAVAILABLE);
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).map_err(unavailable)?;
    let mut frag = vec![0u8; fragment_length(&head, max_frag)?];
    frag[..HEADER_LEN].copy_from_slice(&head);
    stream
        .read_exact(&mut frag[HEADER_LEN..])
        .map_err(unavailable)?;
    Pdu::parse(&frag).map_err(|_| CallError::Transport(PROTOCOL_ERROR))
}

/// Bytes read from the stream and not yet taken: reading what the stream has, rather than
/// a header and then a body, takes one system call per reply instead of two.
#[derive(Default)]
struct Incoming {
    /// `buf[at..end]` waits to be taken; `buf` keeps its size between reads.
    buf: Vec<u8>,
    at: usize,
    end: usize,
}

impl Incoming {
    const CHUNK: usize = 8 * 1024;

    /// The next fragment, under the same rules as [`read_fragment`]; on an authenticated
    /// connection a response's signature is checked (and its stub unsealed) first.
    fn fragment(
        &mut self,
        stream: &mut impl Read,
        max_frag: u16,
        session: Option<&mut crate::auth::Session>,
    ) -> Result<Pdu, CallError> {
        self.fill(stream, HEADER_LEN)?;
        let len = fragment_length(&self.buf[self.at..self.end], max_frag)?;
        self.fill(stream, len)?;
        let frag = &mut self.buf[self.at..self.at + len];
        self.at += len;
        if let Some(session) = session
            && frag[2] == crate::pdu::PacketType::Response as u8
        {
            let range = crate::auth::stub_range(frag, HEADER_LEN + 8)
                .filter(|_| u16::from_le_bytes([frag[10], frag[11]]) > 0)
                .ok_or(CallError::Transport(crate::auth::ACCESS_DENIED))?;
            session.unprotect(frag, range)?;
        }
        Pdu::parse(frag).map_err(|_| CallError::Transport(PROTOCOL_ERROR))
    }

    /// Reads until `need` bytes wait.
    fn fill(&mut self, stream: &mut impl Read, need: usize) -> Result<(), CallError> {
        if self.end - self.at >= need {
            return Ok(());
        }
        // What waits moves to the front, with room for a whole fragment after it.
        self.buf.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        if self.buf.len() < need.max(Self::CHUNK) {
            self.buf.resize(need.max(Self::CHUNK), 0);
        }
        while self.end < need {
            match stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(CallError::Transport(SERVER_UNAVAILABLE)),
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(CallError::Transport(SERVER_UNAVAILABLE)),
            }
        }
        Ok(())
    }
}

impl<S: Read + Write> State<S> {
    fn call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        id
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), CallError> {
        self.stream
            .write_all(bytes)
            .map_err(|_| CallError::Transport(SERVER_UNAVAILABLE))
    }

    /// The context id of `syntax`, binding it first (bind on a fresh connection,
    /// alter_context after).
    fn context(&mut self, syntax: SyntaxId, limits: ClientLimits) -> Result<u16, CallError> {
        if let Some((_, id)) = self.contexts.iter().find(|(s, _)| *s == syntax) {
            return Ok(*id);
        }
        let context_id = self.contexts.len() as u16;
        let call_id = self.call_id();
        let body = BindBody {
            max_xmit_frag: limits.max_frag,
            max_recv_frag: limits.max_frag,
            assoc_group_id: self.assoc_group,
            contexts: vec![ContextElement {
                context_id,
                abstract_syntax: syntax,
                transfer_syntaxes: vec![SyntaxId::NDR20],
            }],
        };
        let first = self.contexts.is_empty();
        // The first bind of an authenticated connection carries NTLM's NEGOTIATE.
        let mut building = None;
        let mut auth = None;
        if first && let Some(a) = &self.auth {
            let (ctx, negotiate) = crate::auth::ClientContext::start(a)?;
            auth = Some(crate::pdu::Auth {
                auth_type: crate::auth::AUTHN_WINNT,
                auth_level: a.level as u8,
                auth_pad_length: 0,
                context_id: 0,
                value: negotiate,
            });
            building = Some((ctx, a.level));
        }
        let pdu = Pdu {
            flags: flags::FIRST_FRAG | flags::LAST_FRAG,
            call_id,
            body: if first {
                Body::Bind(body)
            } else {
                Body::AlterContext(body)
            },
            auth,
        };
        self.send(&pdu.encode())?;
        let reply = self
            .incoming
            .fragment(&mut self.stream, limits.max_frag, None)?;
        if reply.call_id != call_id {
            return Err(CallError::Transport(PROTOCOL_ERROR));
        }
        let ack = match reply.body {
            Body::BindAck(a) if first => a,
            Body::AlterContextResp(a) if !first => a,
            Body::BindNak { .. } => return Err(CallError::Transport(UNKNOWN_IF)),
            _ => return Err(CallError::Transport(PROTOCOL_ERROR)),
        };
        match ack.results.first() {
            Some(r) if r.result == 0 && r.transfer_syntax == SyntaxId::NDR20 => {}
            Some(_) => return Err(CallError::Transport(UNKNOWN_IF)),
            None => return Err(CallError::Transport(PROTOCOL_ERROR)),
        }
        if first {
            self.assoc_group = ack.assoc_group_id;
            self.max_xmit = ack
                .max_recv_frag
                .clamp(HEADER_LEN as u16 + 32, limits.max_frag);
        }
        // The server's CHALLENGE in the bind_ack; our AUTHENTICATE goes in rpc_auth_3,
        // which has no answer (a refusal shows at the first call).
        if let Some((ctx, level)) = building {
            let challenge = reply
                .auth
                .as_ref()
                .filter(|a| a.auth_type == crate::auth::AUTHN_WINNT)
                .ok_or(CallError::Transport(crate::auth::ACCESS_DENIED))?;
            let (session, authenticate) = ctx.finish(&challenge.value)?;
            let auth3 = Pdu {
                flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                call_id,
                body: Body::Auth3,
                auth: Some(crate::pdu::Auth {
                    auth_type: crate::auth::AUTHN_WINNT,
                    auth_level: level as u8,
                    auth_pad_length: 0,
                    context_id: 0,
                    value: authenticate,
                }),
            };
            self.send(&auth3.encode())?;
            self.session = Some(session);
        }
        self.contexts.push((syntax, context_id));
        Ok(context_id)
    }
}

impl<S: Read + Write> Channel for Connection<S> {
    fn call(
        &self,
        interface: &Interface,
        opnum: u16,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        self.call_object(interface, opnum, self.object, &request)
    }
}

impl<S: Read + Write> Connection<S> {
    /// One call naming `object` (PFC_OBJECT_UUID) rather than the connection's object:
    /// DCOM names the interface instance (the IPID) in every call.
    pub fn call_object(
        &self,
        interface: &Interface,
        opnum: u16,
        object: Option<comidl_runtime_core::GUID>,
        request: &[u8],
    ) -> Result<Vec<u8>, CallError> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| CallError::Transport(CALL_FAILED))?;
        if st.broken {
            return Err(CallError::Transport(SERVER_UNAVAILABLE));
        }
        let result = exchange(&mut st, self.limits, interface, opnum, object, request);
        // After a transport failure the stream may hold half a message: the connection is
        // done (a fault is a complete answer; the connection lives on).
        if let Err(CallError::Transport(_)) = result {
            st.broken = true;
        }
        result
    }
}

fn exchange<S: Read + Write>(
    st: &mut State<S>,
    limits: ClientLimits,
    interface: &Interface,
    opnum: u16,
    object: Option<comidl_runtime_core::GUID>,
    request: &[u8],
) -> Result<Vec<u8>, CallError> {
    let syntax = SyntaxId::new(interface.uuid, interface.version.0, interface.version.1);
    let context_id = st.context(syntax, limits)?;
    let call_id = st.call_id();
    // The spec's statuses say whether the call may have run: not if the request did not
    // leave whole (RPC_S_CALL_FAILED_DNE), perhaps if the reply did not come
    // (RPC_S_CALL_FAILED); a connection that failed before (the bind) is unavailable.
    let broke = |status| {
        move |e: CallError| match e {
            CallError::Transport(SERVER_UNAVAILABLE) => CallError::Transport(status),
            e => e,
        }
    };
    let frags = match st.session.as_mut().filter(|s| s.level.protects_pdus()) {
        Some(session) => fragment::request_protected(
            call_id,
            context_id,
            opnum,
            object,
            request,
            st.max_xmit,
            session,
        )?,
        None => fragment::request(call_id, context_id, opnum, object, request, st.max_xmit),
    };
    for f in frags {
        st.send(&f).map_err(broke(CALL_FAILED_DNE))?;
    }
    let first = st
        .incoming
        .fragment(
            &mut st.stream,
            limits.max_frag,
            st.session.as_mut().filter(|s| s.level.protects_pdus()),
        )
        .map_err(broke(CALL_FAILED))?;
    if first.call_id != call_id {
        return Err(CallError::Transport(PROTOCOL_ERROR));
    }
    if let Body::Fault { status, .. } = first.body {
        return Err(CallError::Fault(Fault(status)));
    }
    let mut r = Reassembly::start(first, limits.max_reply)
        .map_err(|_| CallError::Transport(PROTOCOL_ERROR))?;
    while !r.is_complete() {
        let next = st
            .incoming
            .fragment(
                &mut st.stream,
                limits.max_frag,
                st.session.as_mut().filter(|s| s.level.protects_pdus()),
            )
            .map_err(broke(CALL_FAILED))?;
        if let Body::Fault { status, .. } = next.body {
            return Err(CallError::Fault(Fault(status)));
        }
        r.push(next)
            .map_err(|_| CallError::Transport(PROTOCOL_ERROR))?;
    }
    match r.finish().body {
        Body::Response { stub, .. } => Ok(stub),
        _ => Err(CallError::Transport(PROTOCOL_ERROR)),
    }
}
