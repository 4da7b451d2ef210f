//! Prints one PDU of each kind comidl sends, in text2pcap's hex-dump form (one packet per
//! dump, offsets from 0), for tests/wire to wrap in TCP and give to tshark.

use comidl_runtime_core::GUID;
use comidl_runtime_rpc::fragment;
use comidl_runtime_rpc::pdu::{BindAckBody, BindBody, ContextElement, ContextResult, flags};
use comidl_runtime_rpc::{Body, Pdu, SyntaxId};

fn dump(bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        println!("{:06x} {}", i * 16, hex.join(" "));
    }
    println!();
}

fn main() {
    let epm = SyntaxId::new(
        GUID::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa),
        3,
        0,
    );
    let both = flags::FIRST_FRAG | flags::LAST_FRAG;
    let pdus = [
        Pdu {
            flags: both,
            call_id: 1,
            body: Body::Bind(BindBody {
                max_xmit_frag: 4280,
                max_recv_frag: 4280,
                assoc_group_id: 0,
                contexts: vec![ContextElement {
                    context_id: 0,
                    abstract_syntax: epm,
                    transfer_syntaxes: vec![SyntaxId::NDR20],
                }],
            }),
            auth: None,
        },
        Pdu {
            flags: both,
            call_id: 1,
            body: Body::BindAck(BindAckBody {
                max_xmit_frag: 4280,
                max_recv_frag: 4280,
                assoc_group_id: 0x53f0,
                sec_addr: b"135\0".to_vec(),
                results: vec![ContextResult {
                    result: 0,
                    reason: 0,
                    transfer_syntax: SyntaxId::NDR20,
                }],
            }),
            auth: None,
        },
        Pdu {
            flags: both,
            call_id: 2,
            body: Body::Fault {
                alloc_hint: 32,
                context_id: 0,
                cancel_count: 0,
                status: 0x1C01_0002,
            },
            auth: None,
        },
        Pdu {
            flags: both,
            call_id: 3,
            body: Body::BindNak {
                reason: 4,
                versions: vec![(5, 0)],
            },
            auth: None,
        },
    ];
    for p in &pdus {
        dump(&p.encode());
    }
    // A request in three fragments and its one-fragment response, on a context no bind
    // named (tshark then leaves the filler stub data alone).
    for f in fragment::request(4, 1, 3, None, &[0x11; 600], 256) {
        dump(&f);
    }
    for f in fragment::response(4, 1, &[0x22; 40], 4280) {
        dump(&f);
    }
}
