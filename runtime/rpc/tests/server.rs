//! The server over real sockets (TCP and Unix), driven by the client connection and by
//! hand-built PDUs: binding and its refusals, fragmentation both ways, faults, panics,
//! who is calling, context handles and their rundown, every limit, idle connections on few
//! threads, bad bytes, and a graceful shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, ContextHandle, Fault, Interface};
use comidl_runtime_rpc::client::{
    CALL_FAILED, CALL_FAILED_DNE, Connection, SERVER_UNAVAILABLE, UNKNOWN_IF, read_fragment,
};
use comidl_runtime_rpc::pdu::{BindBody, ContextElement, flags};
use comidl_runtime_rpc::server::{Server, ServerLimits, context, protocol};
use comidl_runtime_rpc::{Body, Pdu, Protseq, StringBinding, SyntaxId};

static ECHO: Interface = Interface {
    name: "echo",
    uuid: GUID::from_u128(0x11112222_3333_4444_5555_666677778888),
    version: (1, 2),
    procs: &[],
};
static UNKNOWN: Interface = Interface {
    name: "unknown",
    uuid: GUID::from_u128(0xdead0000_3333_4444_5555_666677778888),
    version: (1, 0),
    procs: &[],
};

const WAIT: Duration = Duration::from_secs(5);

/// What a context handle of the echo interface stands for; its drop counts rundowns.
struct Session {
    value: u32,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Opnums: 0 echo reversed; 1 op range fault; 2 panics; 3 opens a handle for the u32 in
/// the stub; 4 reads a handle's value; 5 closes a handle; 6 who calls (uid, or u32::MAX);
/// 7 sleeps 300 ms then echoes; 8 the request's object UUID (or nothing).
fn echo_server(limits: ServerLimits, dropped: Arc<AtomicUsize>) -> Server {
    let server = Server::start(limits).expect("server starts");
    server.register(
        &ECHO,
        move |opnum: u16, stub: &[u8]| -> Result<Vec<u8>, Fault> {
            let handle = |stub: &[u8]| {
                let mut h = ContextHandle::default();
                h.0.copy_from_slice(stub.get(..20).ok_or(Fault::BAD_STUB_DATA)?);
                Ok::<_, Fault>(h)
            };
            match opnum {
                0 => Ok(stub.iter().rev().copied().collect()),
                1 => Err(Fault::OP_RANGE),
                2 => panic!("a server bug"),
                3 => {
                    let value =
                        u32::from_le_bytes(stub.try_into().map_err(|_| Fault::BAD_STUB_DATA)?);
                    let h = context::create(Session {
                        value,
                        dropped: dropped.clone(),
                    })?;
                    Ok(h.0.to_vec())
                }
                4 => context::with(&handle(stub)?, |s: &mut Session| {
                    s.value.to_le_bytes().to_vec()
                }),
                5 => Ok(context::close(&handle(stub)?)?.1.0.to_vec()),
                6 => {
                    let info = context::current().ok_or(Fault::UNSPECIFIED)?;
                    let uid = info.peer_uid.unwrap_or(u32::MAX);
                    Ok(uid.to_le_bytes().to_vec())
                }
                7 => {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(stub.to_vec())
                }
                8 => {
                    let info = context::current().ok_or(Fault::UNSPECIFIED)?;
                    Ok(info.object.map_or(vec![], |g| g.to_bytes_le().to_vec()))
                }
                _ => Err(Fault::OP_RANGE),
            }
        },
    );
    server
}

fn tcp(server: &Server) -> (Connection<TcpStream>, SocketAddr) {
    let b = server
        .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1[0]").unwrap())
        .expect("listens");
    let port: u16 = b.endpoint.as_deref().unwrap().parse().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    (Connection::tcp(addr, WAIT).expect("connects"), addr)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn calls_fragment_fault_and_survive_panics() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (c, _) = tcp(&server);
    assert_eq!(c.call(&ECHO, 0, vec![1, 2, 3]).unwrap(), vec![3, 2, 1]);
    // 200 KB each way: many fragments of the negotiated size.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    let back = c.call(&ECHO, 0, big.clone()).unwrap();
    assert_eq!(back, big.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(
        c.call(&ECHO, 1, vec![]),
        Err(CallError::Fault(Fault::OP_RANGE))
    );
    assert_eq!(
        c.call(&ECHO, 2, vec![]),
        Err(CallError::Fault(Fault(protocol::status::UNSPEC)))
    );
    // The connection and the server live on.
    assert_eq!(c.call(&ECHO, 0, vec![9]).unwrap(), vec![9]);
    assert!(server.stats().calls.load(Ordering::Relaxed) >= 5);
}

#[test]
fn an_interface_not_registered_is_refused_at_bind() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (c, _) = tcp(&server);
    assert_eq!(
        c.call(&UNKNOWN, 0, vec![]),
        Err(CallError::Transport(UNKNOWN_IF))
    );
}

/// Sends one PDU and reads one back.
fn exchange(s: &mut TcpStream, pdu: &Pdu) -> Pdu {
    s.write_all(&pdu.encode()).unwrap();
    read_fragment(s, 8192).expect("an answer")
}

fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

fn bind(contexts: Vec<ContextElement>, group: u32) -> Pdu {
    Pdu {
        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
        call_id: 7,
        body: Body::Bind(BindBody {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: group,
            contexts,
        }),
        auth: None,
    }
}

fn ctx(id: u16, abs: &Interface, transfer: SyntaxId) -> ContextElement {
    ContextElement {
        context_id: id,
        abstract_syntax: SyntaxId::new(abs.uuid, abs.version.0, abs.version.1),
        transfer_syntaxes: vec![transfer],
    }
}

#[test]
fn bind_negotiates_each_context() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (_, addr) = tcp(&server);
    let ndr64 = SyntaxId::new(
        GUID::from_u128(0x71710533_beba_4937_8319_b5dbef9ccc36),
        1,
        0,
    );
    let features = SyntaxId::new(
        GUID::from_u128(0x6cb71c2c_9812_4540_0300_000000000000),
        1,
        0,
    );
    let older_minor = Interface {
        version: (1, 1),
        ..ECHO
    };
    let newer_minor = Interface {
        version: (1, 3),
        ..ECHO
    };
    let mut s = raw(addr);
    let reply = exchange(
        &mut s,
        &bind(
            vec![
                ctx(0, &ECHO, ndr64),
                ctx(1, &ECHO, SyntaxId::NDR20),
                ctx(2, &UNKNOWN, SyntaxId::NDR20),
                ctx(3, &ECHO, features),
                ctx(4, &older_minor, SyntaxId::NDR20),
                ctx(5, &newer_minor, SyntaxId::NDR20),
            ],
            0,
        ),
    );
    let Body::BindAck(ack) = reply.body else {
        panic!("not a bind_ack: {reply:?}")
    };
    assert_eq!(reply.call_id, 7);
    assert_ne!(ack.assoc_group_id, 0);
    assert_eq!(ack.max_recv_frag, 4280);
    let port = addr.port().to_string() + "\0";
    assert_eq!(ack.sec_addr, port.as_bytes());
    let r: Vec<(u16, u16)> = ack.results.iter().map(|r| (r.result, r.reason)).collect();
    // NDR64 alone: transfer syntaxes not supported; NDR20: accepted; an unknown interface:
    // abstract syntax not supported; feature negotiation: negotiate_ack with "keep the
    // connection on orphan" only; an older minor version: accepted; a newer: refused.
    assert_eq!(r, vec![(2, 2), (0, 0), (2, 1), (3, 2), (0, 0), (2, 1)]);
    assert_eq!(ack.results[1].transfer_syntax, SyntaxId::NDR20);

    // A request on a context that was refused faults with nca_s_unk_if and was not run.
    let req = Pdu {
        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
        call_id: 8,
        body: Body::Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: vec![1, 2],
        },
        auth: None,
    };
    let f = exchange(&mut s, &req);
    assert_eq!(f.call_id, 8);
    assert!(f.flags & flags::DID_NOT_EXECUTE != 0);
    assert!(matches!(
        f.body,
        Body::Fault {
            status: protocol::status::UNK_IF,
            ..
        }
    ));
    // The accepted one answers, with an object UUID too.
    let req = Pdu {
        call_id: 9,
        body: Body::Request {
            alloc_hint: 2,
            context_id: 1,
            opnum: 0,
            object: Some(GUID::from_u128(5)),
            stub: vec![1, 2],
        },
        ..req
    };
    let r = exchange(&mut s, &req);
    assert!(matches!(r.body, Body::Response { ref stub, .. } if stub == &vec![2, 1]));

    // A second connection joins the group; an unknown group is refused.
    let mut s2 = raw(addr);
    let r = exchange(
        &mut s2,
        &bind(vec![ctx(0, &ECHO, SyntaxId::NDR20)], ack.assoc_group_id),
    );
    assert!(matches!(r.body, Body::BindAck(ref a) if a.assoc_group_id == ack.assoc_group_id));
    let mut s3 = raw(addr);
    let wrong = ack.assoc_group_id.wrapping_add(1000);
    let r = exchange(&mut s3, &bind(vec![ctx(0, &ECHO, SyntaxId::NDR20)], wrong));
    assert!(matches!(r.body, Body::BindNak { .. }), "{r:?}");
}

#[test]
fn protocol_violations_close_the_connection() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (_, addr) = tcp(&server);
    let closed = |mut s: TcpStream| {
        let mut b = [0u8; 256];
        // Whatever the server answers first, the stream then ends.
        loop {
            match s.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    };
    // Garbage.
    let mut s = raw(addr);
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(closed(s));
    // A request before any bind.
    let mut s = raw(addr);
    let req = Pdu {
        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
        call_id: 1,
        body: Body::Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: vec![],
        },
        auth: None,
    };
    s.write_all(&req.encode()).unwrap();
    assert!(closed(s));
    // A fragment longer than negotiated.
    let mut s = raw(addr);
    let _ = exchange(&mut s, &bind(vec![ctx(0, &ECHO, SyntaxId::NDR20)], 0));
    let huge = Pdu {
        body: Body::Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: vec![0; 6000],
        },
        ..req.clone()
    };
    s.write_all(&huge.encode()).unwrap();
    assert!(closed(s));
    // A bind asking for authentication (not offered yet): bind_nak, then closed.
    let mut s = raw(addr);
    let mut b = bind(vec![ctx(0, &ECHO, SyntaxId::NDR20)], 0);
    b.auth = Some(comidl_runtime_rpc::pdu::Auth {
        auth_type: 10,
        auth_level: 2,
        auth_pad_length: 0,
        context_id: 0,
        value: vec![0; 16],
    });
    let r = exchange(&mut s, &b);
    assert!(matches!(r.body, Body::BindNak { reason: 8, .. }), "{r:?}");
    assert!(closed(s));
    // The server is still fine.
    let c = Connection::tcp(addr, WAIT).unwrap();
    assert_eq!(c.call(&ECHO, 0, vec![1]).unwrap(), vec![1]);
}

fn open(c: &impl Channel, value: u32) -> ContextHandle {
    let h = c.call(&ECHO, 3, value.to_le_bytes().to_vec()).unwrap();
    let mut out = ContextHandle::default();
    out.0.copy_from_slice(&h);
    out
}

#[test]
fn context_handles_belong_to_their_client_and_run_down() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = echo_server(ServerLimits::default(), dropped.clone());
    let (a, addr) = tcp(&server);
    let h1 = open(&a, 41);
    let h2 = open(&a, 42);
    assert_ne!(h1, h2);
    assert!(!h1.is_nil());
    assert_eq!(
        a.call(&ECHO, 4, h2.0.to_vec()).unwrap(),
        42u32.to_le_bytes()
    );
    // Another client cannot use them.
    let b = Connection::tcp(addr, WAIT).unwrap();
    assert_eq!(
        b.call(&ECHO, 4, h1.0.to_vec()),
        Err(CallError::Fault(context::CONTEXT_MISMATCH))
    );
    // Closing returns the nil handle and runs the state down; the handle is then gone.
    assert_eq!(a.call(&ECHO, 5, h1.0.to_vec()).unwrap(), vec![0u8; 20]);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert_eq!(
        a.call(&ECHO, 4, h1.0.to_vec()),
        Err(CallError::Fault(context::CONTEXT_MISMATCH))
    );
    // The client goes away with h2 open: it is run down.
    drop(a);
    wait_until("the rundown", || dropped.load(Ordering::SeqCst) == 2);
    drop(b);
}

#[test]
fn ncalrpc_tells_the_server_who_calls() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let name = format!("test-peer-{}", std::process::id());
    let b = server
        .listen(&StringBinding::parse(&format!("ncalrpc:[{name}]")).unwrap())
        .unwrap();
    assert_eq!(b.protseq, Protseq::Local);
    assert_eq!(b.endpoint.as_deref(), Some(name.as_str()));
    let path = comidl_runtime_rpc::transport::ncalrpc_path(&name).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is the user's alone");
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0);
    // A second server cannot take a live endpoint.
    let other = Server::start(ServerLimits::default()).unwrap();
    assert!(
        other
            .listen(&StringBinding::parse(&format!("ncalrpc:[{name}]")).unwrap())
            .is_err()
    );

    let c = Connection::local(&name, WAIT).unwrap();
    let uid = rustix::process::getuid().as_raw();
    assert_eq!(c.call(&ECHO, 6, vec![]).unwrap(), uid.to_le_bytes());
    assert_eq!(c.call(&ECHO, 0, vec![1, 2]).unwrap(), vec![2, 1]);
    // Over TCP there is no peer uid.
    let (t, _) = tcp(&server);
    assert_eq!(t.call(&ECHO, 6, vec![]).unwrap(), u32::MAX.to_le_bytes());
    drop(c);
    assert!(server.shutdown(WAIT));
    assert!(!path.exists(), "shutdown removes the socket");
    // Bad names are refused before touching the file system.
    for bad in ["", "../x", "a/b", &"x".repeat(100)] {
        assert!(
            comidl_runtime_rpc::transport::ncalrpc_path(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn limits_are_refusals() {
    let limits = ServerLimits {
        max_connections: 2,
        max_call: 10_000,
        max_context_handles: 2,
        ..ServerLimits::default()
    };
    let server = echo_server(limits, Arc::default());
    let (a, addr) = tcp(&server);
    // A call over the cap is refused; the connection lives on.
    assert_eq!(
        a.call(&ECHO, 0, vec![0; 20_000]),
        Err(CallError::Fault(Fault(protocol::status::REMOTE_NO_MEMORY)))
    );
    assert_eq!(a.call(&ECHO, 0, vec![1, 2]).unwrap(), vec![2, 1]);
    // Context handles per client.
    open(&a, 1);
    open(&a, 2);
    assert_eq!(
        a.call(&ECHO, 3, 3u32.to_le_bytes().to_vec()),
        Err(CallError::Fault(Fault::NO_MEMORY))
    );
    // Connections: the third is closed at once.
    let b = Connection::tcp(addr, WAIT).unwrap();
    assert_eq!(b.call(&ECHO, 0, vec![5]).unwrap(), vec![5]);
    let c = Connection::tcp(addr, WAIT).unwrap();
    assert_eq!(
        c.call(&ECHO, 0, vec![5]),
        Err(CallError::Transport(SERVER_UNAVAILABLE))
    );
    assert!(server.stats().refused.load(Ordering::Relaxed) >= 1);
    // Once one goes, there is room again.
    drop(b);
    wait_until("the connection count to drop", || {
        server.stats().connections.load(Ordering::Relaxed) < 2
    });
    let d = Connection::tcp(addr, WAIT).unwrap();
    assert_eq!(d.call(&ECHO, 0, vec![6]).unwrap(), vec![6]);
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn idle_connections_take_no_threads() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (c, addr) = tcp(&server);
    c.call(&ECHO, 0, vec![1]).unwrap();
    let before = threads();
    let mut conns = Vec::new();
    for _ in 0..200 {
        let c = Connection::tcp(addr, WAIT).unwrap();
        c.call(&ECHO, 0, vec![1]).unwrap();
        conns.push(c);
    }
    wait_until("200 connections", || {
        server.stats().connections.load(Ordering::Relaxed) == 201
    });
    // Other tests run in parallel in this process: allow for their threads, but not one
    // per connection.
    assert!(
        threads() < before + 50,
        "{} threads for 200 connections",
        threads() - before
    );
}

#[test]
fn idle_connections_are_closed_after_the_timeout() {
    let limits = ServerLimits {
        idle_timeout: Some(Duration::from_millis(200)),
        ..ServerLimits::default()
    };
    let server = echo_server(limits, Arc::default());
    let (c, _) = tcp(&server);
    c.call(&ECHO, 0, vec![1]).unwrap();
    wait_until("the idle close", || {
        server.stats().connections.load(Ordering::Relaxed) == 0
    });
    // The request may or may not leave before the close is seen; either way the call
    // failed without an answer, and the status says which.
    let r = c.call(&ECHO, 0, vec![1]);
    assert!(
        matches!(r, Err(CallError::Transport(CALL_FAILED | CALL_FAILED_DNE))),
        "{r:?}"
    );
}

#[test]
fn shutdown_finishes_calls_in_flight() {
    let server = echo_server(ServerLimits::default(), Arc::default());
    let (c, addr) = tcp(&server);
    c.call(&ECHO, 0, vec![1]).unwrap();
    let slow = std::thread::spawn(move || c.call(&ECHO, 7, vec![4, 5]));
    // Let the slow call reach the server.
    wait_until("the slow call to start", || {
        server.stats().calls.load(Ordering::Relaxed) >= 2
    });
    // An idle, bound connection is told to go with a shutdown PDU.
    let mut idle = raw(addr);
    let _ = exchange(&mut idle, &bind(vec![ctx(0, &ECHO, SyntaxId::NDR20)], 0));
    assert!(server.shutdown(WAIT));
    assert_eq!(slow.join().unwrap().unwrap(), vec![4, 5]);
    let bye = read_fragment(&mut idle, 8192).expect("a PDU before the close");
    assert_eq!(bye.body, Body::Shutdown);
    // Nothing listens any more.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn a_binding_handle_reconnects_after_an_idle_close() {
    use comidl_runtime_rpc::{BindingHandle, ClientOptions};
    let limits = ServerLimits {
        idle_timeout: Some(Duration::from_millis(150)),
        ..ServerLimits::default()
    };
    let server = echo_server(limits, Arc::default());
    let b = server
        .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap())
        .unwrap();
    let h = BindingHandle::new(b.clone(), ClientOptions::default()).unwrap();
    assert_eq!(h.call(&ECHO, 0, vec![1, 2]).unwrap(), vec![2, 1]);
    wait_until("the idle close", || {
        server.stats().connections.load(Ordering::Relaxed) == 0
    });
    // The handle notices and connects again; the call goes once.
    let calls = server.stats().calls.load(Ordering::Relaxed);
    assert_eq!(h.call(&ECHO, 0, vec![3, 4]).unwrap(), vec![4, 3]);
    assert_eq!(server.stats().calls.load(Ordering::Relaxed), calls + 1);
    assert_eq!(server.stats().accepted.load(Ordering::Relaxed), 2);

    // ncalrpc through a binding handle.
    let name = format!("test-handle-{}", std::process::id());
    let local = server
        .listen(&StringBinding::parse(&format!("ncalrpc:[{name}]")).unwrap())
        .unwrap();
    let h = BindingHandle::parse(&local.to_string(), ClientOptions::default()).unwrap();
    assert_eq!(h.call(&ECHO, 0, vec![5, 6]).unwrap(), vec![6, 5]);
    // No object UUID unless the binding names one; then every request carries it.
    assert_eq!(h.call(&ECHO, 8, vec![]).unwrap(), Vec::<u8>::new());
    let object = GUID::from_u128(0x3c4728c5_f0ab_448b_bda1_6ce01eb0a6d5);
    let with = format!("{}@{}", object.to_string_no_braces(), b);
    let h = BindingHandle::parse(&with, ClientOptions::default()).unwrap();
    assert_eq!(
        h.call(&ECHO, 8, vec![]).unwrap(),
        object.to_bytes_le().to_vec()
    );
}

#[test]
fn every_wait_of_a_binding_handle_is_bounded() {
    use comidl_runtime_rpc::{BindingHandle, ClientOptions};
    // Nobody listens: unavailable.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let h = BindingHandle::parse(
        &format!("ncacn_ip_tcp:127.0.0.1[{port}]"),
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(
        h.call(&ECHO, 0, vec![]),
        Err(CallError::Transport(SERVER_UNAVAILABLE))
    );
    // A server that accepts and never answers: the call times out.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    let options = ClientOptions {
        call_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let h = BindingHandle::parse(&format!("ncacn_ip_tcp:127.0.0.1[{port}]"), options).unwrap();
    let start = Instant::now();
    assert_eq!(
        h.call(&ECHO, 0, vec![]),
        Err(CallError::Transport(SERVER_UNAVAILABLE))
    );
    assert!(start.elapsed() < Duration::from_secs(3));
    drop(mute);
}
