//! The client connection over real TCP sockets against a small server in a thread: lazy
//! bind, alter_context for a second interface, fragmentation both ways, faults, a server
//! that goes away, and a server that never answers (the wait is bounded).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, Fault, Interface};
use comidl_runtime_rpc::client::{Connection, SERVER_UNAVAILABLE, read_fragment};
use comidl_runtime_rpc::fragment::{self, Reassembly};
use comidl_runtime_rpc::pdu::{BindAckBody, ContextResult, flags};
use comidl_runtime_rpc::{Body, Pdu, SyntaxId};

static ECHO: Interface = Interface {
    name: "echo",
    uuid: GUID::from_u128(0x11112222_3333_4444_5555_666677778888),
    version: (1, 0),
    procs: &[],
};
static OTHER: Interface = Interface {
    name: "other",
    uuid: GUID::from_u128(0x99990000_3333_4444_5555_666677778888),
    version: (2, 1),
    procs: &[],
};

/// Serves one connection: binds and alter_contexts accepted, opnum 0 echoes the stub data
/// reversed, opnum 1 faults; fragments of `frag` bytes.
fn serve_one(mut s: TcpStream, frag: u16) {
    loop {
        let Ok(first) = read_fragment(&mut s, 8192) else {
            return;
        };
        let call_id = first.call_id;
        let reply = match &first.body {
            Body::Bind(b) | Body::AlterContext(b) => {
                let body = BindAckBody {
                    max_xmit_frag: frag,
                    max_recv_frag: frag,
                    assoc_group_id: 0x1234,
                    sec_addr: if matches!(first.body, Body::Bind(_)) {
                        b"135\0".to_vec()
                    } else {
                        vec![]
                    },
                    results: b
                        .contexts
                        .iter()
                        .map(|_| ContextResult {
                            result: 0,
                            reason: 0,
                            transfer_syntax: SyntaxId::NDR20,
                        })
                        .collect(),
                };
                let body = if matches!(first.body, Body::Bind(_)) {
                    Body::BindAck(body)
                } else {
                    Body::AlterContextResp(body)
                };
                vec![
                    Pdu {
                        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                        call_id,
                        body,
                        auth: None,
                    }
                    .encode(),
                ]
            }
            Body::Request { .. } => {
                let mut r = Reassembly::start(first, 1 << 20).unwrap();
                while !r.is_complete() {
                    r.push(read_fragment(&mut s, 8192).unwrap()).unwrap();
                }
                let Body::Request {
                    opnum,
                    context_id,
                    stub,
                    ..
                } = r.finish().body
                else {
                    return;
                };
                if opnum == 1 {
                    let body = Body::Fault {
                        alloc_hint: 0,
                        context_id,
                        cancel_count: 0,
                        status: 0x1C01_0002,
                    };
                    vec![
                        Pdu {
                            flags: flags::FIRST_FRAG | flags::LAST_FRAG,
                            call_id,
                            body,
                            auth: None,
                        }
                        .encode(),
                    ]
                } else {
                    let mut back = stub;
                    back.reverse();
                    fragment::response(call_id, context_id, &back, frag)
                }
            }
            _ => return,
        };
        for r in reply {
            if s.write_all(&r).is_err() {
                return;
            }
        }
    }
}

fn server(frag: u16) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            serve_one(s, frag);
        }
    });
    addr
}

#[test]
fn calls_bind_lazily_and_fragment_both_ways() {
    let c = Connection::tcp(server(1024), Duration::from_secs(5)).unwrap();
    assert_eq!(c.call(&ECHO, 0, vec![1, 2, 3]).unwrap(), [3, 2, 1]);
    let big: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    let mut want = big.clone();
    want.reverse();
    assert_eq!(c.call(&ECHO, 0, big).unwrap(), want);
    // A second interface on the same connection: alter_context.
    assert_eq!(c.call(&OTHER, 0, vec![9, 8]).unwrap(), [8, 9]);
    assert_eq!(
        c.call(&ECHO, 1, vec![]),
        Err(CallError::Fault(Fault::OP_RANGE))
    );
    assert_eq!(c.call(&ECHO, 0, vec![7]).unwrap(), [7]);
}

#[test]
fn a_server_that_goes_away_or_never_answers_is_an_error_in_bounded_time() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        drop(s);
        // The second connection is accepted and then ignored.
        let (s, _) = l.accept().unwrap();
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let c = Connection::tcp(addr, Duration::from_secs(2)).unwrap();
    assert_eq!(
        c.call(&ECHO, 0, vec![1]),
        Err(CallError::Transport(SERVER_UNAVAILABLE))
    );
    let c = Connection::tcp(addr, Duration::from_millis(300)).unwrap();
    let start = Instant::now();
    assert_eq!(
        c.call(&ECHO, 0, vec![1]),
        Err(CallError::Transport(SERVER_UNAVAILABLE))
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the wait was bounded"
    );
    t.join().unwrap();
    // Nobody listening at all.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert!(Connection::tcp(dead, Duration::from_secs(1)).is_err());
}
