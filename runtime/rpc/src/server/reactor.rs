//! The server's I/O: the reactor polls every listener and connection (mio over epoll),
//! moves bytes from sockets into each connection's protocol state, sends the protocol's
//! answers, and queues whole calls; the server's threads take turns holding it (see
//! [`Core`]) and run the calls, sending the replies themselves (see [`super::outbox`]).

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::Shared;
use super::outbox::{Item, Job, Outbox, Peer};
use super::protocol::{self, Action};
use super::workers::{self, Note, Notify, Pool};
use crate::{Protseq, StringBinding, transport};

const WAKER: Token = Token(0);
/// How often the reactor looks at idle connections and a shutdown's progress.
const TICK: Duration = Duration::from_millis(250);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Stream {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

enum Command {
    Listen(Listener),
    Shutdown(Instant, Sender<bool>),
}

/// How the server handle reaches the reactor.
pub(crate) struct Control {
    commands: Sender<Command>,
    waker: Arc<Waker>,
}

impl Control {
    pub fn listen(&self, binding: &StringBinding) -> io::Result<StringBinding> {
        let (listener, bound) = open_listener(binding)?;
        self.commands
            .send(Command::Listen(listener))
            .map_err(|_| io::Error::other("the server has stopped"))?;
        self.waker.wake()?;
        Ok(bound)
    }

    pub fn listen_unix(&self, path: &std::path::Path, mode: u32) -> io::Result<()> {
        let listener = open_unix(path, mode)?;
        self.commands
            .send(Command::Listen(listener))
            .map_err(|_| io::Error::other("the server has stopped"))?;
        self.waker.wake()
    }

    pub fn shutdown(&self, grace: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        if self
            .commands
            .send(Command::Shutdown(Instant::now() + grace, tx))
            .is_err()
        {
            return true; // already stopped
        }
        let _ = self.waker.wake();
        // The reactor answers by the deadline; the extra second covers its tick.
        rx.recv_timeout(grace + Duration::from_secs(1))
            .unwrap_or(false)
    }
}

fn open_listener(b: &StringBinding) -> io::Result<(Listener, StringBinding)> {
    let mut bound = b.clone();
    match b.protseq {
        Protseq::Tcp => {
            let host = if b.network_address.is_empty() {
                "0.0.0.0"
            } else {
                b.network_address.as_str()
            };
            let port: u16 = match b.endpoint.as_deref() {
                None | Some("") => 0,
                Some(p) => p.parse().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a TCP endpoint is a port number",
                    )
                })?,
            };
            let std = std::net::TcpListener::bind((host, port))?;
            std.set_nonblocking(true)?;
            let port = std.local_addr()?.port();
            bound.endpoint = Some(port.to_string());
            Ok((Listener::Tcp(TcpListener::from_std(std)), bound))
        }
        Protseq::Local => {
            let name = match b.endpoint.as_deref() {
                None | Some("") => transport::dynamic_endpoint(),
                Some(n) => n.to_string(),
            };
            let path = transport::ncalrpc_path(&name)?;
            let listener = open_unix(&path, 0o600)?;
            bound.network_address = String::new();
            bound.endpoint = Some(name);
            Ok((listener, bound))
        }
    }
}

/// A Unix-domain socket listening at `path` with permissions `mode`.
fn open_unix(path: &std::path::Path, mode: u32) -> io::Result<Listener> {
    if path.exists() {
        // A socket left by a server that died is reused; a live one is not taken.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{} is in use", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(Listener::Unix(l, path.to_path_buf()))
}

pub(crate) fn start(shared: Arc<Shared>) -> io::Result<(Control, Vec<JoinHandle<()>>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (commands, command_rx) = mpsc::channel();
    let (note_tx, note_rx) = mpsc::channel();
    let pool = Arc::new(Pool::default());
    let core = Arc::new(Core {
        reactor: Mutex::new(Reactor {
            poll,
            events: Events::with_capacity(256),
            buf: vec![0u8; READ_CHUNK],
            shared: shared.clone(),
            listeners: HashMap::new(),
            conns: HashMap::new(),
            next_token: 1,
            pool: pool.clone(),
            notes: note_rx,
            commands: command_rx,
            shutdown: None,
            last_sweep: Instant::now(),
        }),
        pool,
        shared: shared.clone(),
        stopped: AtomicBool::new(false),
    });
    let mut threads = Vec::new();
    for i in 0..shared.limits.workers.max(2) {
        let core = core.clone();
        let notify = Notify {
            notes: note_tx.clone(),
            waker: waker.clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("rpc-{i}"))
                .spawn(move || core.serve(&notify))?,
        );
    }
    Ok((Control { commands, waker }, threads))
}

/// What the server's threads share. They take turns: one at a time holds the reactor and
/// waits for the sockets (the leader); when it comes back with a call, it hands the reactor
/// to the next thread and runs the call itself (leader/follower). So a request is answered
/// by the thread that read it, with no hand-off between threads on the way, and no thread
/// is tied to a connection.
struct Core {
    reactor: Mutex<Reactor>,
    pool: Arc<Pool>,
    shared: Arc<Shared>,
    stopped: AtomicBool,
}

impl Core {
    fn serve(&self, notify: &Notify) {
        loop {
            if let Some((outbox, job)) = self.pool.take() {
                workers::run(&outbox, job, &self.shared, notify);
                continue;
            }
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            let mut r = self.reactor.lock().unwrap_or_else(|p| p.into_inner());
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            // Calls another leader queued while this thread waited for its turn go first.
            if let Some((outbox, job)) = self.pool.take() {
                drop(r);
                workers::run(&outbox, job, &self.shared, notify);
                continue;
            }
            if r.turn() {
                self.stopped.store(true, Ordering::Release);
                r.finish();
            }
            let job = self.pool.take();
            drop(r);
            if let Some((outbox, job)) = job {
                workers::run(&outbox, job, &self.shared, notify);
            }
        }
    }
}

/// The reactor's side of one connection.
struct Conn {
    stream: Stream,
    proto: protocol::Connection,
    protseq: Protseq,
    address: String,
    credentials: Option<(u32, i32)>,
    /// Set once bound: what the calls' `CallInfo` comes from.
    peer: Option<Arc<Peer>>,
    outbox: Arc<Outbox>,
    inbuf: Vec<u8>,
    want_write: bool,
    /// Reading stopped: too many calls wait, or the server is shutting down.
    paused: bool,
    /// Close once nothing runs, waits or remains to be sent.
    closing: bool,
    last_active: Instant,
}

struct Reactor {
    poll: Poll,
    events: Events,
    buf: Vec<u8>,
    shared: Arc<Shared>,
    listeners: HashMap<Token, Listener>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    pool: Arc<Pool>,
    notes: Receiver<(Token, Note)>,
    commands: Receiver<Command>,
    shutdown: Option<(Instant, Sender<bool>)>,
    last_sweep: Instant,
}

impl Reactor {
    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// One wait for the sockets and what follows from it; whether the server has stopped.
    fn turn(&mut self) -> bool {
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let mut buf = std::mem::take(&mut self.buf);
        if let Err(e) = self.poll.poll(&mut events, Some(TICK))
            && e.kind() != io::ErrorKind::Interrupted
        {
            return true;
        }
        for ev in events.iter() {
            let t = ev.token();
            if t == WAKER {
                continue;
            }
            if self.listeners.contains_key(&t) {
                self.accept(t);
                continue;
            }
            if ev.is_writable() {
                self.flush(t);
            }
            let closed = ev.is_read_closed() || ev.is_error();
            if ev.is_readable() || closed {
                self.read(t, &mut buf, closed);
            }
        }
        self.commands();
        self.notes(&mut buf);
        if self.last_sweep.elapsed() >= TICK {
            self.last_sweep = Instant::now();
            self.sweep();
        }
        self.events = events;
        self.buf = buf;
        self.shutdown_done()
    }

    /// The server stops: whatever is left closes now (handles run down as the groups go).
    fn finish(&mut self) {
        let tokens: Vec<Token> = self.conns.keys().copied().collect();
        for t in tokens {
            self.close(t);
        }
        self.close_listeners();
        if let Some((deadline, tx)) = self.shutdown.take() {
            let _ = tx.send(Instant::now() <= deadline);
        }
    }

    fn close_listeners(&mut self) {
        for (_, l) in self.listeners.drain() {
            if let Listener::Unix(l, path) = l {
                drop(l);
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn commands(&mut self) {
        while let Ok(c) = self.commands.try_recv() {
            match c {
                Command::Listen(mut l) => {
                    if self.shutdown.is_some() {
                        continue;
                    }
                    let t = self.token();
                    let src: &mut dyn mio::event::Source = match &mut l {
                        Listener::Tcp(l) => l,
                        Listener::Unix(l, _) => l,
                    };
                    if self
                        .poll
                        .registry()
                        .register(src, t, Interest::READABLE)
                        .is_ok()
                    {
                        self.listeners.insert(t, l);
                    }
                }
                Command::Shutdown(deadline, tx) => {
                    self.close_listeners();
                    self.shutdown = Some((deadline, tx));
                    let tokens: Vec<Token> = self.conns.keys().copied().collect();
                    for t in tokens {
                        if let Some(c) = self.conns.get_mut(&t) {
                            // Nothing more is read; what was received still runs.
                            c.paused = true;
                            c.closing = true;
                            // A connection with nothing in flight is told to go (C706's
                            // shutdown PDU), so its client reconnects elsewhere rather
                            // than sending a call into a closing socket.
                            let mut p = c.outbox.lock();
                            if p.idle() && c.proto.group().is_some() {
                                let bye = crate::Pdu {
                                    flags: crate::pdu::flags::FIRST_FRAG
                                        | crate::pdu::flags::LAST_FRAG,
                                    call_id: 0,
                                    body: crate::Body::Shutdown,
                                    auth: None,
                                };
                                c.outbox.send(&mut p, &bye.encode());
                            }
                        }
                        self.maybe_close(t);
                    }
                }
            }
        }
    }

    fn shutdown_done(&self) -> bool {
        match &self.shutdown {
            Some((deadline, _)) => self.conns.is_empty() || Instant::now() > *deadline,
            None => false,
        }
    }

    fn accept(&mut self, t: Token) {
        loop {
            let accepted = match self.listeners.get(&t) {
                Some(Listener::Tcp(l)) => l.accept().map(|(s, a)| {
                    let _ = s.set_nodelay(true);
                    let port = l.local_addr().map_or(0, |a| a.port());
                    (
                        Stream::Tcp(s),
                        Protseq::Tcp,
                        a.to_string(),
                        None,
                        port.to_string(),
                    )
                }),
                Some(Listener::Unix(l, path)) => l.accept().map(|(s, _)| {
                    let cred = transport::peer_credentials(&s);
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (Stream::Unix(s), Protseq::Local, String::new(), cred, name)
                }),
                None => return,
            };
            let (mut stream, protseq, address, credentials, sec_addr) = match accepted {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors, a connection reset before accept: try on the next
                // readiness.
                Err(_) => return,
            };
            let limits = self.shared.limits;
            if self.conns.len() >= limits.max_connections {
                // The limit: the connection is closed at once (dropped).
                self.shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Ok(writer) = stream.fd().try_clone_to_owned() else {
                continue;
            };
            let ct = self.token();
            if self
                .poll
                .registry()
                .register(stream.source(), ct, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            let proto = protocol::Connection::new(
                limits,
                self.shared.registry.clone(),
                self.shared.groups.clone(),
                &sec_addr,
            );
            self.conns.insert(
                ct,
                Conn {
                    stream,
                    proto,
                    protseq,
                    address,
                    credentials,
                    peer: None,
                    outbox: Arc::new(Outbox::new(ct, writer)),
                    inbuf: Vec::new(),
                    want_write: false,
                    paused: false,
                    closing: false,
                    last_active: Instant::now(),
                },
            );
            let s = &self.shared.stats;
            s.accepted.fetch_add(1, Ordering::Relaxed);
            s.connections.store(self.conns.len(), Ordering::Relaxed);
        }
    }

    /// Reads what the socket has (unless paused) and handles every whole fragment.
    /// `closed`: the poll reported the peer's end (or an error), so reading goes on to
    /// see it; otherwise a read that leaves the buffer short has emptied the socket, and
    /// the next bytes bring a new readiness event.
    fn read(&mut self, t: Token, buf: &mut [u8], closed: bool) {
        let max_queued = self.shared.limits.max_queued_calls.max(1);
        let mut want_write = false;
        {
            let Some(c) = self.conns.get_mut(&t) else {
                return;
            };
            loop {
                want_write |= handle_fragments(c, &self.pool, max_queued);
                if c.paused || c.closing {
                    break;
                }
                match c.stream.read(buf) {
                    Ok(0) => {
                        hang_up(c);
                        break;
                    }
                    Ok(n) => {
                        c.last_active = Instant::now();
                        c.inbuf.extend_from_slice(&buf[..n]);
                        if n < buf.len() && !closed {
                            want_write |= handle_fragments(c, &self.pool, max_queued);
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        hang_up(c);
                        break;
                    }
                }
            }
        }
        if want_write {
            self.watch_writes(t, true);
        }
        self.maybe_close(t);
    }

    /// Watches (or stops watching) the socket's writability.
    fn watch_writes(&mut self, t: Token, on: bool) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        if c.want_write == on {
            return;
        }
        let interest = if on {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if self
            .poll
            .registry()
            .reregister(c.stream.source(), t, interest)
            .is_ok()
        {
            c.want_write = on;
        }
    }

    /// Writes what waits, now that the socket takes more.
    fn flush(&mut self, t: Token) {
        let Some(c) = self.conns.get(&t) else {
            return;
        };
        let outbox = c.outbox.clone();
        let more = {
            let mut p = outbox.lock();
            outbox.flush(&mut p)
        };
        self.watch_writes(t, more);
        self.maybe_close(t);
    }

    /// What the workers said.
    fn notes(&mut self, buf: &mut [u8]) {
        while let Ok((t, note)) = self.notes.try_recv() {
            match note {
                Note::Write => self.flush(t),
                Note::Resume => {
                    let resume = self
                        .conns
                        .get_mut(&t)
                        .is_some_and(|c| c.paused && !c.closing);
                    if resume {
                        if let Some(c) = self.conns.get_mut(&t) {
                            c.paused = false;
                        }
                        // Edge-triggered polling reports no new readiness for bytes
                        // already waiting: read them now.
                        self.read(t, buf, true);
                    }
                }
                Note::Idle => self.maybe_close(t),
            }
        }
    }

    /// Closes a closing connection once nothing runs, waits or remains to send; until
    /// then asks its worker to say when.
    fn maybe_close(&mut self, t: Token) {
        let Some(c) = self.conns.get(&t) else {
            return;
        };
        if !c.closing {
            return;
        }
        let idle = {
            let mut p = c.outbox.lock();
            let idle = p.idle();
            p.wants_idle = !idle;
            idle
        };
        if idle {
            self.close(t);
        }
    }

    /// Closes connections idle past the limit.
    fn sweep(&mut self) {
        let Some(limit) = self.shared.limits.idle_timeout else {
            return;
        };
        let now = Instant::now();
        let stale: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                now.duration_since(c.last_active) > limit && {
                    let p = c.outbox.lock();
                    !p.busy && p.queue.is_empty()
                }
            })
            .map(|(t, _)| *t)
            .collect();
        for t in stale {
            self.close(t);
        }
    }

    fn close(&mut self, t: Token) {
        if let Some(mut c) = self.conns.remove(&t) {
            let _ = self.poll.registry().deregister(c.stream.source());
            // The worker's descriptor closes with the last reference to the outbox;
            // shut the socket now so the peer sees the end at once.
            c.stream.shutdown();
            // Dropping the connection drops its hold on the association group; the
            // group's last connection gone runs its context handles down.
        }
        self.shared
            .stats
            .connections
            .store(self.conns.len(), Ordering::Relaxed);
    }
}

/// The peer hung up or the socket failed: what waits is dropped, nothing more is sent.
fn hang_up(c: &mut Conn) {
    c.closing = true;
    let mut p = c.outbox.lock();
    p.broken = true;
    p.queue.clear();
    p.calls = 0;
}

/// Handles the whole fragments waiting in `c.inbuf`; whether bytes wait to be sent.
fn handle_fragments(c: &mut Conn, pool: &Pool, max_queued: usize) -> bool {
    let mut at = 0;
    let mut want_write = false;
    while !c.closing && !c.paused {
        let rest = &c.inbuf[at..];
        let len = match protocol::frame(rest, c.proto.max_recv()) {
            protocol::Frame::Partial => break,
            protocol::Frame::Whole(len) => len,
            protocol::Frame::Bad => {
                c.closing = true;
                break;
            }
        };
        let actions = c.proto.receive(&rest[..len]);
        at += len;
        for a in actions {
            match a {
                Action::Send(b) => {
                    let mut p = c.outbox.lock();
                    if p.busy || !p.queue.is_empty() {
                        // Behind the running call's reply.
                        p.queue.push_back(Item::Send(b));
                    } else {
                        want_write |= c.outbox.send(&mut p, &b);
                    }
                }
                Action::Run(call) => {
                    let peer = match &c.peer {
                        Some(p) => p.clone(),
                        None => {
                            let Some(group) = c.proto.group().cloned() else {
                                c.closing = true;
                                break;
                            };
                            let p = Arc::new(Peer {
                                protseq: c.protseq,
                                address: c.address.clone(),
                                credentials: c.credentials,
                                group,
                                max_xmit: c.proto.max_xmit(),
                            });
                            c.peer = Some(p.clone());
                            p
                        }
                    };
                    let job = Job { call, peer };
                    let mut p = c.outbox.lock();
                    if p.busy {
                        p.queue.push_back(Item::Run(job));
                        p.calls += 1;
                        if p.calls >= max_queued {
                            p.wants_resume = true;
                            c.paused = true;
                        }
                    } else {
                        p.busy = true;
                        drop(p);
                        pool.push(c.outbox.clone(), job);
                    }
                }
                Action::Close => c.closing = true,
            }
        }
    }
    c.inbuf.drain(..at);
    want_write
}
