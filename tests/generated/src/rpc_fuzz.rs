//! The RPC server's fuzz harness: the fuzz target `rpc_server` (fuzz/fuzz_targets/
//! rpc_server.rs) calls [`run`] on every input, `cargo test` replays the inputs that once
//! failed (tests/rpc_fuzz_regressions.rs), and fuzz/examples/rpc_seeds.rs writes a seed
//! corpus from [`seeds`].
//!
//! An input is the bytes a server receives on one connection, after one byte choosing the
//! server's limits:
//!
//! ```text
//! byte 0   bit 0: fragments up to 1432 (else 5840) bytes; bit 1: calls up to 4 KiB (else
//!          1 MiB); bit 2: 2 presentation contexts (else 64); bits 3-4: per-call memory
//!          4 KiB << (2 * n)
//! rest     the byte stream
//! ```
//!
//! The server offers every interface the fixtures describe ([`crate::NDR_INTERFACES`]);
//! a call is unmarshalled by the NDR engine, run by an implementation that does nothing,
//! and its reply marshalled — the whole path a hostile client reaches. Checked: no panic;
//! every fragment the stream holds either parses and re-encodes to a PDU that parses the
//! same, or is refused; whatever the server sends is a sequence of well-formed PDUs, none
//! larger than the fragment size it settled; and the thread's task-allocator balance is
//! back where it was.

use std::sync::{Arc, OnceLock};

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{Interface, Limits, serve};
use comidl_runtime::rpc::pdu::{BindBody, ContextElement, flags};
use comidl_runtime::rpc::server::protocol::{self, Frame};
use comidl_runtime::rpc::server::{Groups, Registered, Registry, ServerLimits, serve_stream};
use comidl_runtime::rpc::{Body, Pdu, SyntaxId};

fn registry() -> Arc<Registry> {
    static R: OnceLock<Arc<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        let r = Registry::default();
        for &i in crate::NDR_INTERFACES {
            r.add(Registered::new(i, move |opnum: u16, stub: &[u8]| {
                // The implementation leaves its [out] values as the stub allocated them.
                serve(i, opnum, stub, Limits::current(), &|_, _, _| {})
            }));
        }
        Arc::new(r)
    })
    .clone()
}

fn limits(b: u8) -> ServerLimits {
    ServerLimits {
        max_frag: if b & 1 != 0 { 1432 } else { 5840 },
        max_call: if b & 2 != 0 { 4096 } else { 1 << 20 },
        max_contexts: if b & 4 != 0 { 2 } else { 64 },
        max_call_memory: 4096 << (2 * ((b >> 3) & 3)),
        max_context_handles: 16,
        ..ServerLimits::default()
    }
}

/// Runs one input (see the module's documentation); panics on a finding.
pub fn run(data: &[u8]) {
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    pdus_round_trip(stream);
    let before = thread_balance();
    {
        let limits = limits(choice);
        let groups = Arc::new(Groups::default());
        let mut conn = protocol::Connection::new(limits, registry(), groups, "135");
        let (out, _closed) = serve_stream(&mut conn, stream);
        check_output(&out, limits.max_frag.max(protocol::MIN_FRAG));
    }
    assert_eq!(thread_balance(), before, "task-allocator blocks leaked");
}

/// The PDUs the server sends for an input (for tests that look at the answers).
pub fn answers(data: &[u8]) -> Vec<Pdu> {
    let Some((&choice, stream)) = data.split_first() else {
        return Vec::new();
    };
    let mut conn = protocol::Connection::new(
        limits(choice),
        registry(),
        Arc::new(Groups::default()),
        "135",
    );
    let (mut out, _) = serve_stream(&mut conn, stream);
    let mut pdus = Vec::new();
    while let Frame::Whole(len) = protocol::frame(&out, u16::MAX) {
        match Pdu::parse(&out[..len]) {
            Ok(p) => pdus.push(p),
            Err(_) => break,
        }
        out.drain(..len);
    }
    pdus
}

/// Every whole fragment of the stream that parses must encode to one that parses the same.
fn pdus_round_trip(mut s: &[u8]) {
    loop {
        let len = match protocol::frame(s, u16::MAX) {
            Frame::Whole(len) => len,
            _ => return,
        };
        if let Ok(p) = Pdu::parse(&s[..len]) {
            let again = Pdu::parse(&p.encode()).expect("an encoded PDU parses");
            assert_eq!(again, p, "a PDU changed through encode and parse");
        }
        s = &s[len..];
    }
}

/// What the server sends must be whole, well-formed PDUs within the fragment size.
fn check_output(mut out: &[u8], max_frag: u16) {
    while !out.is_empty() {
        let len = match protocol::frame(out, max_frag) {
            Frame::Whole(len) => len,
            f => panic!("the server sent a broken fragment ({f:?})"),
        };
        Pdu::parse(&out[..len]).expect("the server's PDU parses");
        out = &out[len..];
    }
}

fn one(call_id: u32, body: Body) -> Vec<u8> {
    Pdu {
        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
        call_id,
        body,
        auth: None,
    }
    .encode()
}

fn syntax(i: &Interface) -> SyntaxId {
    SyntaxId::new(i.uuid, i.version.0, i.version.1)
}

/// A bind of one interface, then one request of each of its procedures carrying a request
/// the NDR seeds made valid, fragmented small; one input per interface, the limits byte 0.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let stubs = crate::ndr_fuzz::seeds();
    let procs = crate::ndr_fuzz::procs();
    let mut out = Vec::new();
    for (n, &iface) in crate::NDR_INTERFACES.iter().enumerate() {
        let mut input = vec![0u8];
        input.extend(one(
            1,
            Body::Bind(BindBody {
                max_xmit_frag: 1432,
                max_recv_frag: 1432,
                assoc_group_id: 0,
                contexts: vec![ContextElement {
                    context_id: 0,
                    abstract_syntax: syntax(iface),
                    transfer_syntaxes: vec![SyntaxId::NDR20],
                }],
            }),
        ));
        let mut call_id = 2;
        for (name, seed) in &stubs {
            let Some(i) = name.get(..3).and_then(|i| i.parse::<usize>().ok()) else {
                continue;
            };
            let Some(&proc) = procs.get(i) else { continue };
            if !name.contains("-req-") || !iface.procs.iter().any(|p| std::ptr::eq(*p, proc)) {
                continue;
            }
            for f in comidl_runtime::rpc::fragment::request(
                call_id,
                0,
                proc.opnum,
                None,
                seed.get(3..).unwrap_or_default(),
                1432,
            ) {
                input.extend(f);
            }
            call_id += 1;
        }
        if call_id > 2 {
            out.push((format!("{n:03}-{}", iface.name), input));
        }
    }
    out
}
