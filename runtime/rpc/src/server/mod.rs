//! The DCE/RPC server: one process serves several interfaces on several endpoints.
//!
//! ```text
//! sockets ──► reactor (epoll) ──► protocol::Connection per socket ──► whole calls
//!                                                                        │
//!   a fixed set of threads: one at a time holds the reactor; the one that ◄┘
//!   reads a call runs the registered dispatch function and writes the reply
//! ```
//! The reactor reads and writes every socket without blocking, so an idle connection costs
//! a buffer, not a thread; calls run on a fixed set of threads that take turns at the
//! reactor (leader/follower). A connection runs its calls one at a time, in order, and
//! reads no further while it has [`ServerLimits::max_queued_calls`] waiting, so a fast
//! client cannot queue unbounded work.
//!
//! Generated server stubs register as they are: `server.register(&ndr::X_INTERFACE,
//! move |opnum, stub| X_serve(&handler, opnum, stub))`. While a call runs,
//! [`context::current`] says who is calling; context handles live in [`context`].

pub mod context;
mod outbox;
pub mod protocol;
mod reactor;
mod workers;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use comidl_runtime_ndr::{Fault, Interface, Limits};

use crate::fragment;
use outbox::Peer;
use protocol::Call;

use crate::{StringBinding, SyntaxId};
pub use context::{CallInfo, Group};

/// What one server allows. Every limit is a refusal when reached, never a crash.
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// The largest fragment received or sent (negotiated down at bind; at least 1432).
    pub max_frag: u16,
    /// The largest request, all fragments' stub data together.
    pub max_call: usize,
    /// The most memory unmarshalling one request may allocate.
    pub max_call_memory: usize,
    /// Open connections; more are closed as soon as accepted.
    pub max_connections: usize,
    /// Presentation contexts one connection may bind.
    pub max_contexts: usize,
    /// Context handles one client (association group) may hold open.
    pub max_context_handles: usize,
    /// Whole calls a connection may have waiting; it is not read further meanwhile.
    pub max_queued_calls: usize,
    /// A connection with no call running and nothing received for this long is closed.
    pub idle_timeout: Option<Duration>,
    /// The server's threads (at least 2): they take turns waiting for the sockets and run
    /// the calls, so this many calls run at once, less the one waiting.
    pub workers: usize,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            max_frag: 5840,
            max_call: 4 << 20,
            max_call_memory: 64 << 20,
            max_connections: 4096,
            max_contexts: 64,
            max_context_handles: 4096,
            max_queued_calls: 4,
            idle_timeout: Some(Duration::from_secs(300)),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 16)),
        }
    }
}

/// Serves one request of an interface: stub data in, the reply's stub data or a fault out.
/// Generated `X_serve` and `X_dispatch` functions have this shape.
pub trait Dispatch: Send + Sync + 'static {
    fn dispatch(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Fault>;
}

impl<F> Dispatch for F
where
    F: Fn(u16, &[u8]) -> Result<Vec<u8>, Fault> + Send + Sync + 'static,
{
    fn dispatch(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Fault> {
        self(opnum, stub)
    }
}

/// A registered interface.
pub struct Registered {
    pub syntax: SyntaxId,
    pub name: &'static str,
    dispatch: Box<dyn Dispatch>,
}

impl Registered {
    pub fn new(interface: &'static Interface, dispatch: impl Dispatch) -> Registered {
        Registered {
            syntax: SyntaxId::new(interface.uuid, interface.version.0, interface.version.1),
            name: interface.name,
            dispatch: Box::new(dispatch),
        }
    }

    pub(crate) fn dispatch(&self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Fault> {
        self.dispatch.dispatch(opnum, stub)
    }
}

/// The interfaces a server offers.
#[derive(Default)]
pub struct Registry {
    interfaces: RwLock<Vec<Arc<Registered>>>,
    /// Who may authenticate, and the lowest level a call may have.
    security: RwLock<Option<Arc<crate::auth::ServerSecurity>>>,
}

impl Registry {
    /// The server's security settings, when it has any.
    pub(crate) fn security(&self) -> Option<Arc<crate::auth::ServerSecurity>> {
        self.security.read().ok().and_then(|s| s.clone())
    }

    /// The interface a client's abstract syntax names: the same UUID and major version,
    /// and a minor version no newer than ours (C706 12.6.3.1's compatibility rule).
    pub fn find(&self, s: &SyntaxId) -> Option<Arc<Registered>> {
        let (major, minor) = (s.version & 0xFFFF, s.version >> 16);
        let list = self.interfaces.read().ok()?;
        list.iter()
            .find(|r| {
                r.syntax.uuid == s.uuid
                    && r.syntax.version & 0xFFFF == major
                    && minor <= r.syntax.version >> 16
            })
            .cloned()
    }

    /// Offers an interface; one of the same syntax is replaced.
    pub fn add(&self, r: Registered) {
        if let Ok(mut list) = self.interfaces.write() {
            list.retain(|x| x.syntax != r.syntax);
            list.push(Arc::new(r));
        }
    }

    fn remove(&self, s: &SyntaxId) -> bool {
        match self.interfaces.write() {
            Ok(mut list) => {
                let before = list.len();
                list.retain(|x| x.syntax != *s);
                list.len() != before
            }
            Err(_) => false,
        }
    }
}

/// The server's association groups (MS-RPCE 3.3.1.5.3): ids handed out at bind, joined by
/// a client's further connections, gone with the last of them.
pub struct Groups {
    next: AtomicU32,
    live: Mutex<(HashMap<u32, Weak<Group>>, usize)>,
}

impl Default for Groups {
    fn default() -> Groups {
        // Start somewhere unpredictable, so a group id says nothing of how many came
        // before and is not guessed by another client.
        let seed = comidl_runtime_core::GUID::try_new_v4().map_or(0x5a17_0001, |g| g.data1);
        Groups {
            next: AtomicU32::new(seed),
            live: Mutex::new((HashMap::new(), 64)),
        }
    }
}

impl Groups {
    /// A new group; `None` when the table is full of live groups.
    pub fn create(&self, max_handles: usize) -> Option<Arc<Group>> {
        let mut guard = self.live.lock().ok()?;
        let (map, sweep_at) = &mut *guard;
        if map.len() >= *sweep_at {
            map.retain(|_, g| g.strong_count() > 0);
            *sweep_at = (map.len() * 2).max(64);
        }
        loop {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            if id == 0 || map.get(&id).is_some_and(|g| g.strong_count() > 0) {
                continue;
            }
            let g = Arc::new(Group::new(id, max_handles));
            map.insert(id, Arc::downgrade(&g));
            return Some(g);
        }
    }

    /// A live group by id.
    pub fn join(&self, id: u32) -> Option<Arc<Group>> {
        self.live.lock().ok()?.0.get(&id)?.upgrade()
    }
}

/// Counters a server keeps (for tests, benchmarks and operators).
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub accepted: AtomicU64,
    pub refused: AtomicU64,
    pub calls: AtomicU64,
    pub faults: AtomicU64,
}

/// What the reactor, the workers and the handle share.
pub(crate) struct Shared {
    pub limits: ServerLimits,
    pub registry: Arc<Registry>,
    pub groups: Arc<Groups>,
    pub stats: Stats,
}

/// A running server. Dropping it shuts it down (waiting up to five seconds for calls in
/// flight).
pub struct Server {
    shared: Arc<Shared>,
    control: reactor::Control,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Server {
    /// Starts the reactor and the workers; nothing listens until [`Server::listen`].
    pub fn start(limits: ServerLimits) -> io::Result<Server> {
        let shared = Arc::new(Shared {
            limits,
            registry: Arc::default(),
            groups: Arc::default(),
            stats: Stats::default(),
        });
        let (control, threads) = reactor::start(shared.clone())?;
        Ok(Server {
            shared,
            control,
            threads: Mutex::new(threads),
        })
    }

    /// Offers an interface; a later registration of the same UUID and version replaces it.
    pub fn register(&self, interface: &'static Interface, dispatch: impl Dispatch) {
        self.shared
            .registry
            .add(Registered::new(interface, dispatch));
    }

    /// Serves the endpoint mapper's interface from `map` (see [`crate::epm::EndpointMap`]):
    /// listen on `ncacn_ip_tcp:...[135]` (or another port) and `ncalrpc:[epmapper]` to be
    /// the host's mapper.
    pub fn serve_endpoint_mapper(&self, map: Arc<crate::epm::EndpointMap>) {
        self.register(
            &crate::epm::bindings::ndr::ept_INTERFACE,
            move |opnum: u16, stub: &[u8]| crate::epm::bindings::ept_serve(&*map, opnum, stub),
        );
    }

    /// Authenticates clients that ask for it with NTLM against `security`'s users, and
    /// refuses calls below its minimum level (RPC_S_ACCESS_DENIED, before they run).
    /// Without it, a bind that asks for authentication is refused.
    pub fn set_security(&self, security: crate::auth::ServerSecurity) {
        if let Ok(mut s) = self.shared.registry.security.write() {
            *s = Some(Arc::new(security));
        }
    }

    /// Stops offering an interface to new binds; whether it was offered.
    pub fn unregister(&self, interface: &Interface) -> bool {
        self.shared.registry.remove(&SyntaxId::new(
            interface.uuid,
            interface.version.0,
            interface.version.1,
        ))
    }

    /// Listens on an endpoint: `ncacn_ip_tcp:ADDRESS[PORT]` (port 0 or none: any free
    /// port) or `ncalrpc:[NAME]` (no name: a fresh one). Returns the binding clients use,
    /// with the endpoint filled in.
    pub fn listen(&self, binding: &StringBinding) -> io::Result<StringBinding> {
        self.control.listen(binding)
    }

    /// Listens on a Unix-domain socket at `path` outside the user's ncalrpc directory,
    /// with permissions `mode` (0o666: every local user may connect): a machine-wide
    /// local endpoint, such as the machine DCOM service's. Calls on it are ncalrpc calls:
    /// [`context::current`] gives each caller's uid and pid from the kernel.
    pub fn listen_unix(&self, path: &std::path::Path, mode: u32) -> io::Result<()> {
        self.control.listen_unix(path, mode)
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Stops listening, lets the calls already received finish (up to `grace`), closes
    /// every connection (running down their context handles) and stops the threads.
    /// Whether everything finished within `grace`.
    pub fn shutdown(&self, grace: Duration) -> bool {
        let clean = self.control.shutdown(grace);
        let threads = match self.threads.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => Vec::new(),
        };
        for t in threads {
            // A worker still inside a call past the grace period is left to finish on its
            // own: joining it could wait forever.
            if clean || t.is_finished() {
                let _ = t.join();
            }
        }
        clean
    }
}

/// Runs one call; never unwinds.
/// Runs one call for `peer`: the encoded reply (nothing for a `maybe` call) and whether it
/// is a fault. Never unwinds.
pub(crate) fn execute(call: Call, peer: &Peer, limits: ServerLimits) -> (Vec<u8>, bool) {
    let info = peer.call_info(&call);
    let Call {
        call_id,
        context_id,
        opnum,
        stub,
        interface,
        maybe,
        auth,
        ..
    } = call;
    let outcome = context::serving(info, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Limits {
                max_alloc: limits.max_call_memory,
            }
            .serving(|| interface.dispatch(opnum, &stub))
        }))
    });
    drop(stub);
    let faulted = !matches!(outcome, Ok(Ok(_)));
    if maybe {
        return (Vec::new(), faulted);
    }
    let bytes = match outcome {
        Ok(Ok(reply)) => match auth.as_ref().filter(|a| a.level.protects_pdus()) {
            Some(a) => {
                let mut session = match a.session.lock() {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                };
                match fragment::response_protected(
                    call_id,
                    context_id,
                    &reply,
                    peer.max_xmit,
                    &mut session,
                ) {
                    Ok(f) => f.concat(),
                    Err(_) => protocol::fault(call_id, context_id, protocol::status::UNSPEC, false),
                }
            }
            None => fragment::response(call_id, context_id, &reply, peer.max_xmit).concat(),
        },
        Ok(Err(Fault(status))) => {
            let not_run = matches!(Fault(status), Fault::OP_RANGE | Fault::BAD_STUB_DATA);
            protocol::fault(call_id, context_id, status, not_run)
        }
        Err(_) => protocol::fault(call_id, context_id, protocol::status::UNSPEC, false),
    };
    (bytes, faulted)
}

/// Serves the bytes one connection received, synchronously in this thread, as the server
/// would: whole fragments go through the protocol, calls run here. Returns what the server
/// sends back, and whether it closes the connection. Bytes after the last whole fragment
/// are left; so is everything after a close. The fuzz target drives the protocol this way.
pub fn serve_stream(conn: &mut protocol::Connection, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let len = match protocol::frame(&bytes[at..], conn.max_recv()) {
            protocol::Frame::Partial => return (out, false),
            protocol::Frame::Whole(len) => len,
            protocol::Frame::Bad => return (out, true),
        };
        let actions = conn.receive(&bytes[at..at + len]);
        at += len;
        for a in actions {
            match a {
                protocol::Action::Send(b) => out.extend_from_slice(&b),
                protocol::Action::Run(call) => {
                    let Some(group) = conn.group().cloned() else {
                        return (out, true);
                    };
                    let peer = Peer {
                        protseq: crate::Protseq::Tcp,
                        address: String::new(),
                        credentials: None,
                        group,
                        max_xmit: conn.max_xmit(),
                    };
                    out.extend(execute(call, &peer, conn.limits()).0);
                }
                protocol::Action::Close => return (out, true),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown(Duration::from_secs(5));
    }
}
