//! The server's I/O: one thread polls every listener and connection (mio over epoll),
//! moves bytes between sockets and each connection's protocol state, and hands whole calls
//! to the workers; the workers send the encoded replies back and wake it.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::Shared;
use super::context::CallInfo;
use super::protocol::{self, Action, Call};
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

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Conn {
    stream: Stream,
    proto: protocol::Connection,
    protseq: Protseq,
    peer: String,
    peer_cred: Option<(u32, i32)>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_at: usize,
    want_write: bool,
    queue: VecDeque<Call>,
    /// A call of this connection is on a worker.
    busy: bool,
    /// Reading stopped: too many calls wait, or the server is shutting down.
    paused: bool,
    /// Close once what is queued to send is sent.
    closing: bool,
    last_active: Instant,
}

/// A call on its way to a worker.
struct Job {
    token: Token,
    call: Call,
    info: CallInfo,
    max_xmit: u16,
}

/// A worker's answer: the encoded fragments (empty for a `maybe` call).
struct Done {
    token: Token,
    bytes: Vec<u8>,
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
            if path.exists() {
                // A socket left by a server that died is reused; a live one is not taken.
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("ncalrpc endpoint {name} is in use"),
                    ));
                }
                std::fs::remove_file(&path)?;
            }
            let l = UnixListener::bind(&path)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            bound.network_address = String::new();
            bound.endpoint = Some(name);
            Ok((Listener::Unix(l, path), bound))
        }
    }
}

pub(crate) fn start(shared: Arc<Shared>) -> io::Result<(Control, Vec<JoinHandle<()>>)> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (commands, command_rx) = mpsc::channel();
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut threads = Vec::new();
    for i in 0..shared.limits.workers.max(1) {
        let jobs = job_rx.clone();
        let done = done_tx.clone();
        let waker = waker.clone();
        let limits = shared.limits;
        threads.push(
            std::thread::Builder::new()
                .name(format!("rpc-worker-{i}"))
                .spawn(move || worker(&jobs, &done, &waker, limits))?,
        );
    }
    drop(done_tx);
    let mut r = Reactor {
        poll,
        shared,
        listeners: HashMap::new(),
        conns: HashMap::new(),
        next_token: 1,
        jobs: Some(job_tx),
        done: done_rx,
        commands: command_rx,
        shutdown: None,
    };
    threads.push(
        std::thread::Builder::new()
            .name("rpc-reactor".into())
            .spawn(move || r.run())?,
    );
    Ok((Control { commands, waker }, threads))
}

fn worker(
    jobs: &Mutex<Receiver<Job>>,
    done: &Sender<Done>,
    waker: &Waker,
    limits: super::ServerLimits,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let bytes = super::execute(job.call, job.info, job.max_xmit, limits);
        if done
            .send(Done {
                token: job.token,
                bytes,
            })
            .is_err()
        {
            return;
        }
        let _ = waker.wake();
    }
}

struct Reactor {
    poll: Poll,
    shared: Arc<Shared>,
    listeners: HashMap<Token, Listener>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    commands: Receiver<Command>,
    shutdown: Option<(Instant, Sender<bool>)>,
}

impl Reactor {
    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            if let Err(e) = self.poll.poll(&mut events, Some(TICK))
                && e.kind() != io::ErrorKind::Interrupted
            {
                break;
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
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.read(t, &mut buf);
                }
            }
            self.commands();
            self.finished();
            self.sweep();
            if self.shutdown_done() {
                break;
            }
        }
        // Whatever is left closes now: handles run down as the groups go.
        for (_, mut c) in self.conns.drain() {
            let _ = self.poll.registry().deregister(c.stream.source());
        }
        self.shared
            .stats
            .connections
            .store(0, std::sync::atomic::Ordering::Relaxed);
        self.close_listeners();
        self.jobs = None;
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
                        }
                        self.progress(t);
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
            let limits = self.shared.limits;
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
            let (mut stream, protseq, peer, peer_cred, sec_addr) = match accepted {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors, a connection reset before accept: try on the next
                // readiness.
                Err(_) => return,
            };
            if self.conns.len() >= limits.max_connections {
                // The limit: the connection is closed at once (dropped).
                self.shared
                    .stats
                    .refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
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
                    peer,
                    peer_cred,
                    inbuf: Vec::new(),
                    out: Vec::new(),
                    out_at: 0,
                    want_write: false,
                    queue: VecDeque::new(),
                    busy: false,
                    paused: false,
                    closing: false,
                    last_active: Instant::now(),
                },
            );
            let s = &self.shared.stats;
            s.accepted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            s.connections
                .store(self.conns.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Reads what the socket has (unless paused) and handles every whole fragment.
    fn read(&mut self, t: Token, buf: &mut [u8]) {
        let limits = self.shared.limits;
        {
            let Some(c) = self.conns.get_mut(&t) else {
                return;
            };
            loop {
                handle_fragments(c, limits.max_queued_calls);
                if c.paused || c.closing {
                    break;
                }
                match c.stream.read(buf) {
                    Ok(0) => {
                        // The peer hung up: nothing more to send it either.
                        c.closing = true;
                        c.queue.clear();
                        c.out.clear();
                        c.out_at = 0;
                        break;
                    }
                    Ok(n) => {
                        c.last_active = Instant::now();
                        c.inbuf.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        c.closing = true;
                        c.queue.clear();
                        c.out.clear();
                        c.out_at = 0;
                        break;
                    }
                }
            }
        }
        self.progress(t);
    }

    /// Starts the next call, sends what is queued, closes when done.
    fn progress(&mut self, t: Token) {
        self.flush(t);
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        let drained = c.out_at >= c.out.len();
        if !c.busy && drained {
            if let Some(call) = c.queue.pop_front() {
                let group = c.proto.group().cloned();
                if let (Some(group), Some(jobs)) = (group, &self.jobs) {
                    let info = CallInfo {
                        protseq: c.protseq,
                        peer: c.peer.clone(),
                        peer_uid: c.peer_cred.map(|(u, _)| u),
                        peer_pid: c.peer_cred.map(|(_, p)| p),
                        object: call.object,
                        opnum: call.opnum,
                        assoc_group: group.id,
                        group,
                    };
                    let job = Job {
                        token: t,
                        call,
                        info,
                        max_xmit: c.proto.max_xmit(),
                    };
                    c.busy = jobs.send(job).is_ok();
                    self.shared
                        .stats
                        .calls
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            } else if c.closing {
                self.close(t);
            }
        }
    }

    /// Writes what is queued until the socket would block.
    fn flush(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        while c.out_at < c.out.len() {
            match c.stream.write(&c.out[c.out_at..]) {
                Ok(0) => {
                    c.out.clear();
                    c.out_at = 0;
                    c.closing = true;
                    c.queue.clear();
                    break;
                }
                Ok(n) => c.out_at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    c.out.clear();
                    c.out_at = 0;
                    c.closing = true;
                    c.queue.clear();
                    break;
                }
            }
        }
        let pending = c.out_at < c.out.len();
        if !pending {
            c.out.clear();
            c.out_at = 0;
        }
        if pending != c.want_write {
            let interest = if pending {
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
                c.want_write = pending;
            }
        }
    }

    /// Takes the workers' answers.
    fn finished(&mut self) {
        let mut buf = Vec::new();
        while let Ok(d) = self.done.try_recv() {
            let Some(c) = self.conns.get_mut(&d.token) else {
                continue;
            };
            c.busy = false;
            c.last_active = Instant::now();
            c.out.extend_from_slice(&d.bytes);
            let resume =
                c.paused && !c.closing && c.queue.len() < self.shared.limits.max_queued_calls;
            if resume {
                c.paused = false;
            }
            if resume {
                if buf.is_empty() {
                    buf = vec![0u8; READ_CHUNK];
                }
                // Edge-triggered polling reports no new readiness for bytes already
                // waiting: read them now.
                self.read(d.token, &mut buf);
            } else {
                self.progress(d.token);
            }
        }
    }

    /// Closes connections idle past the limit.
    fn sweep(&mut self) {
        let Some(idle) = self.shared.limits.idle_timeout else {
            return;
        };
        let now = Instant::now();
        let stale: Vec<Token> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                !c.busy && c.queue.is_empty() && now.duration_since(c.last_active) > idle
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
            // Dropping the connection drops its hold on the association group; the
            // group's last connection gone runs its context handles down.
        }
        self.shared
            .stats
            .connections
            .store(self.conns.len(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Handles the whole fragments waiting in `c.inbuf`.
fn handle_fragments(c: &mut Conn, max_queued: usize) {
    let mut at = 0;
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
                Action::Send(b) => c.out.extend_from_slice(&b),
                Action::Run(call) => c.queue.push_back(call),
                Action::Close => {
                    c.closing = true;
                    c.queue.clear();
                }
            }
        }
        if c.queue.len() >= max_queued.max(1) {
            c.paused = true;
        }
    }
    c.inbuf.drain(..at);
}
