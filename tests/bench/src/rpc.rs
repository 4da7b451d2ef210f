//! The RPC benchmarks (issue 18 item 7), each against a baseline run in the same process
//! and the same rounds:
//!
//! - a null call (no stub data either way) through comidl's client connection and server,
//!   over TCP loopback and over a Unix socket, against a raw ping-pong of the same request
//!   and response bytes between a blocking client and a blocking thread per connection;
//! - 16 clients making 10,000 null calls each at once, against the same raw ping-pong
//!   server (a thread per client): throughput, errors, and the process's descriptors and
//!   memory before and after;
//! - 1,000 idle connections held by one server: the threads and memory they cost.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use comidl_runtime::GUID;
use comidl_runtime::ndr::{Channel, Fault, Interface};
use comidl_runtime::rpc::client::Connection;
use comidl_runtime::rpc::pdu::flags;
use comidl_runtime::rpc::{Body, Pdu, Server, ServerLimits, StringBinding};

use crate::{Comparison, Plan, compare, timed};

/// The interface the null calls go to: opnum 0 takes and gives nothing.
pub static NULL: Interface = Interface {
    name: "null",
    uuid: GUID::from_u128(0x6e756c6c_0000_4000_8000_000000000001),
    version: (1, 0),
    procs: &[],
};

const TIMEOUT: Duration = Duration::from_secs(30);

/// comidl's server with the null interface, on TCP loopback and on an ncalrpc endpoint.
pub struct Ours {
    pub server: Server,
    pub tcp: SocketAddr,
    pub local: String,
}

impl Ours {
    pub fn start() -> Ours {
        let server = Server::start(ServerLimits::default()).expect("the server starts");
        server.register(&NULL, |opnum: u16, _: &[u8]| match opnum {
            0 => Ok(Vec::new()),
            _ => Err(Fault::OP_RANGE),
        });
        let b = server
            .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1").expect("a binding"))
            .expect("listens on TCP");
        let port: u16 = b
            .endpoint
            .as_deref()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let local = format!("bench-{}", std::process::id());
        server
            .listen(&StringBinding::parse(&format!("ncalrpc:[{local}]")).expect("a binding"))
            .expect("listens on a Unix socket");
        Ours {
            server,
            tcp: SocketAddr::from(([127, 0, 0, 1], port)),
            local,
        }
    }

    pub fn tcp_client(&self) -> Connection<TcpStream> {
        Connection::tcp(self.tcp, TIMEOUT).expect("connects")
    }

    pub fn local_client(&self) -> Connection<UnixStream> {
        Connection::local(&self.local, TIMEOUT).expect("connects")
    }
}

/// One null call; whether it succeeded with empty stub data.
pub fn null_call(c: &dyn Channel) -> bool {
    matches!(c.call(&NULL, 0, Vec::new()), Ok(r) if r.is_empty())
}

/// The bytes of a null call's request and response, as comidl's client and server send
/// them (the raw baseline moves the same bytes).
pub fn null_pdus() -> (Vec<u8>, Vec<u8>) {
    let both = flags::FIRST_FRAG | flags::LAST_FRAG;
    let req = Pdu {
        flags: both,
        call_id: 2,
        body: Body::Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: Vec::new(),
        },
        auth: None,
    };
    let resp = Pdu {
        flags: both,
        call_id: 2,
        body: Body::Response {
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            stub: Vec::new(),
        },
        auth: None,
    };
    (req.encode(), resp.encode())
}

/// The baseline server: a blocking thread per connection reading a request's bytes and
/// writing the response's, over TCP and a Unix socket.
pub struct Raw {
    pub tcp: SocketAddr,
    pub path: std::path::PathBuf,
}

fn pong(mut s: impl Read + Write, req_len: usize, resp: &[u8]) {
    let mut buf = vec![0u8; req_len];
    while s.read_exact(&mut buf).is_ok() {
        if s.write_all(resp).is_err() {
            return;
        }
    }
}

impl Raw {
    pub fn start() -> Raw {
        let (req, resp) = null_pdus();
        let tcp = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = tcp.local_addr().expect("an address");
        let (n, r) = (req.len(), resp.clone());
        std::thread::spawn(move || {
            for s in tcp.incoming().flatten() {
                let _ = s.set_nodelay(true);
                let r = r.clone();
                std::thread::spawn(move || pong(s, n, &r));
            }
        });
        let path = std::env::temp_dir().join(format!("comidl-bench-raw-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).expect("binds");
        std::thread::spawn(move || {
            for s in unix.incoming().flatten() {
                let r = resp.clone();
                std::thread::spawn(move || pong(s, n, &r));
            }
        });
        Raw { tcp: addr, path }
    }
}

/// A raw client: writes the request bytes, reads the response's.
pub struct RawClient<S> {
    stream: S,
    req: Vec<u8>,
    buf: Vec<u8>,
}

impl<S: Read + Write> RawClient<S> {
    pub fn new(stream: S) -> RawClient<S> {
        let (req, resp) = null_pdus();
        RawClient {
            stream,
            req,
            buf: vec![0; resp.len()],
        }
    }

    pub fn ping(&mut self) -> bool {
        self.stream.write_all(&self.req).is_ok() && self.stream.read_exact(&mut self.buf).is_ok()
    }
}

pub fn raw_tcp(raw: &Raw) -> RawClient<TcpStream> {
    let s = TcpStream::connect(raw.tcp).expect("connects");
    let _ = s.set_nodelay(true);
    RawClient::new(s)
}

pub fn raw_unix(raw: &Raw) -> RawClient<UnixStream> {
    RawClient::new(UnixStream::connect(&raw.path).expect("connects"))
}

/// Null call round trips: ours over raw, one client. `unix`: over Unix sockets.
pub fn bench_null_call(plan: Plan, ours: &Ours, raw: &Raw, unix: bool) -> Comparison {
    if unix {
        null_calls(plan, raw_unix(raw), &ours.local_client())
    } else {
        null_calls(plan, raw_tcp(raw), &ours.tcp_client())
    }
}

fn null_calls<S: Read + Write + Send>(
    plan: Plan,
    raw: RawClient<S>,
    ours: &(dyn Channel + Sync),
) -> Comparison {
    let errors = AtomicU64::new(0);
    let count = |ok: bool| {
        if !ok {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    };
    let raw = Mutex::new(raw);
    null_call(ours);
    let c = compare(
        plan,
        1,
        &|n| {
            let mut r = raw.lock().expect("one user");
            (0..n).for_each(|_| count(r.ping()))
        },
        &|n| (0..n).for_each(|_| count(null_call(ours))),
    );
    assert_eq!(errors.load(Ordering::Relaxed), 0, "null calls failed");
    c
}

/// What the process holds: open descriptors, threads, resident memory (KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub fds: usize,
    pub threads: usize,
    pub rss_kib: u64,
}

pub fn footprint() -> Footprint {
    let count = |d: &str| std::fs::read_dir(d).map_or(0, |d| d.count());
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);
    Footprint {
        fds: count("/proc/self/fd"),
        threads: count("/proc/self/task"),
        rss_kib,
    }
}

/// The result of the many-clients benchmark.
#[derive(Clone, Debug)]
pub struct Throughput {
    /// Median over rounds of raw time / our time (1.0: as fast as the raw ping-pong).
    pub ratio: f64,
    pub ours_calls_per_sec: f64,
    pub raw_calls_per_sec: f64,
    pub errors: u64,
    pub before: Footprint,
    pub after: Footprint,
}

/// `clients` clients making `calls` null calls each at once, on fresh TCP connections,
/// against ours and the raw server, `rounds` times alternating.
pub fn bench_clients(
    ours: &Ours,
    raw: &Raw,
    clients: usize,
    calls: u64,
    rounds: usize,
) -> Throughput {
    let errors = AtomicU64::new(0);
    let ours_body = |n: u64| {
        let c = ours.tcp_client();
        for _ in 0..n {
            if !null_call(&c) {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let raw_body = |n: u64| {
        let mut c = raw_tcp(raw);
        for _ in 0..n {
            if !c.ping() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    // Warm both up once, then take the footprint.
    timed(clients, calls.min(100), &ours_body);
    timed(clients, calls.min(100), &raw_body);
    settle(ours);
    let before = footprint();
    let (mut ratios, mut ours_t, mut raw_t) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (o, r) = if round % 2 == 0 {
            let o = timed(clients, calls, &ours_body);
            (o, timed(clients, calls, &raw_body))
        } else {
            let r = timed(clients, calls, &raw_body);
            (timed(clients, calls, &ours_body), r)
        };
        ratios.push(r.as_secs_f64() / o.as_secs_f64());
        ours_t.push(o.as_secs_f64());
        raw_t.push(r.as_secs_f64());
    }
    settle(ours);
    let after = footprint();
    let total = (clients as u64 * calls) as f64;
    Throughput {
        ratio: crate::median(&mut ratios),
        ours_calls_per_sec: total / crate::median(&mut ours_t),
        raw_calls_per_sec: total / crate::median(&mut raw_t),
        errors: errors.load(Ordering::Relaxed),
        before,
        after,
    }
}

/// Waits (bounded) until the server has closed the connections its clients dropped.
fn settle(ours: &Ours) {
    for _ in 0..200 {
        if ours.server.stats().connections.load(Ordering::Relaxed) == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What holding idle connections cost.
#[derive(Clone, Debug)]
pub struct Idle {
    pub connections: usize,
    pub before: Footprint,
    pub held: Footprint,
    pub server_threads: usize,
}

/// Opens `n` connections to ours (each binds and makes one call), holds them, measures.
pub fn bench_idle(ours: &Ours, n: usize) -> Idle {
    raise_fd_limit();
    settle(ours);
    let before = footprint();
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let c = ours.tcp_client();
        assert!(null_call(&c), "a call on a new connection");
        held.push(c);
    }
    for _ in 0..500 {
        if ours.server.stats().connections.load(Ordering::Relaxed) >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let during = footprint();
    let server_threads = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    // The server names its threads rpc-0, rpc-1, ...
                    std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| {
                        c.trim()
                            .strip_prefix("rpc-")
                            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    })
                })
                .count()
        })
        .unwrap_or(0);
    drop(held);
    settle(ours);
    Idle {
        connections: n,
        before,
        held: during,
        server_threads,
    }
}

/// Two descriptors per connection in one process: lift the soft limit to the hard one.
pub fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
}
