//! The endpoint mapper served by our server over real sockets: a client resolves a binding
//! without an endpoint through it (TCP and ncalrpc), updates are refused where the map's
//! policy says, and a lookup cursor belongs to the client that opened it and is run down
//! when that client goes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, ContextHandle, Fault, Interface};
use comidl_runtime_rpc::client::Connection;
use comidl_runtime_rpc::epm::bindings::{ept, owned};
use comidl_runtime_rpc::epm::*;
use comidl_runtime_rpc::{BindingHandle, ClientOptions, Server, ServerLimits, StringBinding};

static PING: Interface = Interface {
    name: "ping",
    uuid: GUID::from_u128(0x70696e67_0000_4000_8000_00000000abcd),
    version: (2, 0),
    procs: &[],
};

const WAIT: Duration = Duration::from_secs(5);

struct Mapper {
    server: Server,
    map: Arc<EndpointMap>,
    port: u16,
    local: String,
}

/// A server that is its own mapper (TCP on a free port, ncalrpc on a test name) and serves
/// PING (opnum 0 answers "pong") on TCP and ncalrpc, registered in the map.
fn mapper(tag: &str) -> Mapper {
    let server = Server::start(ServerLimits::default()).unwrap();
    let map = Arc::new(EndpointMap::new());
    server.serve_endpoint_mapper(map.clone());
    server.register(&PING, |_: u16, _: &[u8]| Ok(b"pong".to_vec()));
    let m = server
        .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap())
        .unwrap();
    let local = format!("epm-{tag}-{}", std::process::id());
    server
        .listen(&StringBinding::parse(&format!("ncalrpc:[{local}]")).unwrap())
        .unwrap();
    let ping_tcp = server
        .listen(&StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap())
        .unwrap();
    let ping_local = server
        .listen(&StringBinding::parse("ncalrpc:").unwrap())
        .unwrap();
    map.register_endpoint(&PING, &ping_tcp, "ping over tcp")
        .unwrap();
    map.register_endpoint(&PING, &ping_local, "ping locally")
        .unwrap();
    Mapper {
        server,
        map,
        port: m.endpoint.unwrap().parse().unwrap(),
        local,
    }
}

fn options(m: &Mapper) -> ClientOptions {
    ClientOptions {
        mapper: ResolveOptions {
            mapper_port: m.port,
            timeout: WAIT,
            local_mapper: m.local.clone(),
        },
        ..ClientOptions::default()
    }
}

#[test]
fn a_binding_without_an_endpoint_is_completed_by_the_mapper() {
    let m = mapper("resolve");
    for b in ["ncacn_ip_tcp:127.0.0.1", "ncalrpc:"] {
        let h = BindingHandle::parse(b, options(&m)).unwrap();
        assert_eq!(h.call(&PING, 0, vec![]).unwrap(), b"pong", "{b}");
        assert!(h.binding().endpoint.is_some(), "{b}: the endpoint is kept");
    }
    // An interface nobody registered: the mapper says so.
    static NOBODY: Interface = Interface {
        name: "nobody",
        uuid: GUID::from_u128(1),
        version: (1, 0),
        procs: &[],
    };
    let h = BindingHandle::parse("ncacn_ip_tcp:127.0.0.1", options(&m)).unwrap();
    assert_eq!(
        h.call(&NOBODY, 0, vec![]),
        Err(CallError::Transport(
            comidl_runtime_rpc::handle::ENDPOINT_NOT_FOUND
        ))
    );
    drop(m.server);
}

fn entry(port: u16) -> owned::ept_entry_t {
    let t = Tower::new(
        comidl_runtime_rpc::SyntaxId::new(GUID::from_u128(2), 1, 0),
        Transport::Tcp {
            port,
            addr: std::net::Ipv4Addr::LOCALHOST,
        },
    );
    owned::ept_entry_t {
        object: owned_guid(&GUID::zeroed()),
        tower: Some(Box::new(owned_tower(t.encode()))),
        annotation: "x".into(),
    }
}

#[test]
fn updates_come_only_from_the_same_user_over_ncalrpc() {
    let m = mapper("updates");
    let before = m.map.elements().len();
    // Over TCP anyone may be calling: refused, and a test of each refusal.
    let tcp = Connection::tcp(SocketAddr::from(([127, 0, 0, 1], m.port)), WAIT).unwrap();
    let c = ept::new(&tcp);
    assert_eq!(
        c.ept_insert(1, &[entry(7)], 0).unwrap(),
        EPT_S_CANT_PERFORM_OP
    );
    assert_eq!(c.ept_delete(1, &[entry(7)]).unwrap(), EPT_S_CANT_PERFORM_OP);
    assert_eq!(m.map.elements().len(), before);
    // Over ncalrpc from this process's own user: accepted.
    let local = Connection::local(&m.local, WAIT).unwrap();
    let c = ept::new(&local);
    assert_eq!(c.ept_insert(1, &[entry(7)], 0).unwrap(), 0);
    assert_eq!(m.map.elements().len(), before + 1);
    assert_eq!(c.ept_delete(1, &[entry(7)]).unwrap(), 0);
    assert_eq!(m.map.elements().len(), before);
}

#[test]
fn a_cursor_belongs_to_its_client_and_goes_with_it() {
    let m = mapper("cursor");
    let addr = SocketAddr::from(([127, 0, 0, 1], m.port));
    let a = Connection::tcp(addr, WAIT).unwrap();
    let ca = ept::new(&a);
    // One element a batch: the cursor stays open.
    let mut h = ContextHandle::default();
    let (n, entries, status) = ca
        .ept_lookup(RPC_C_EP_ALL_ELTS, &None, &None, RPC_C_VERS_ALL, &mut h, 1)
        .unwrap();
    assert_eq!((n, entries.len(), status), (1, 1, 0));
    assert!(!h.is_nil());
    assert_eq!(m.map.open_cursors(), 1);
    // Another client cannot go on with it.
    let b = Connection::tcp(addr, WAIT).unwrap();
    let cb = ept::new(&b);
    let mut stolen = h;
    assert_eq!(
        cb.ept_lookup(
            RPC_C_EP_ALL_ELTS,
            &None,
            &None,
            RPC_C_VERS_ALL,
            &mut stolen,
            1
        ),
        Err(CallError::Fault(Fault(0x1C00_001A)))
    );
    // The client goes away: its cursor is run down (before the next one opens).
    drop(a);
    let end = std::time::Instant::now() + WAIT;
    loop {
        let mut h2 = ContextHandle::default();
        let (_, _, status) = cb
            .ept_lookup(RPC_C_EP_ALL_ELTS, &None, &None, RPC_C_VERS_ALL, &mut h2, 1)
            .unwrap();
        assert_eq!(status, 0);
        let _ = cb.ept_lookup_handle_free(&mut h2);
        if m.map.open_cursors() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "A's cursor was not run down"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
