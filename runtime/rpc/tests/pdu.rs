//! PDUs against their layouts in C706 ch. 12 / MS-RPCE 2.2.2, round trips, fragmentation,
//! and hostile fragments.

use comidl_runtime_core::GUID;
use comidl_runtime_rpc::fragment::{self, Reassembly, ReassemblyError};
use comidl_runtime_rpc::pdu::{BindAckBody, BindBody, ContextElement, ContextResult, flags};
use comidl_runtime_rpc::{Body, Header, PacketType, Pdu, SyntaxId};

const EPM: GUID = GUID::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa);

fn bind() -> Pdu {
    Pdu {
        flags: flags::FIRST_FRAG | flags::LAST_FRAG,
        call_id: 1,
        body: Body::Bind(BindBody {
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0,
            contexts: vec![ContextElement {
                context_id: 0,
                abstract_syntax: SyntaxId::new(EPM, 3, 0),
                transfer_syntaxes: vec![SyntaxId::NDR20],
            }],
        }),
        auth: None,
    }
}

#[test]
fn a_bind_to_the_endpoint_mapper_has_c706s_layout() {
    let b = bind().encode();
    assert_eq!(b.len(), 72);
    assert_eq!(
        &b[..16],
        &[5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0]
    );
    // max_xmit_frag, max_recv_frag, assoc_group_id, one context, 3 reserved bytes
    assert_eq!(
        &b[16..28],
        &[0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0]
    );
    // context 0, one transfer syntax, reserved; the abstract syntax's UUID (little-endian
    // fields) and version 3.0
    assert_eq!(&b[28..32], &[0, 0, 1, 0]);
    assert_eq!(&b[32..36], &[0x08, 0x83, 0xaf, 0xe1]);
    assert_eq!(&b[48..52], &[3, 0, 0, 0]);
    // NDR20 v2.0
    assert_eq!(&b[52..56], &[0x04, 0x5d, 0x88, 0x8a]);
    assert_eq!(&b[68..72], &[2, 0, 0, 0]);
    assert_eq!(Pdu::parse(&b).unwrap(), bind());
}

#[test]
fn every_packet_type_round_trips() {
    let ack = BindAckBody {
        max_xmit_frag: 4280,
        max_recv_frag: 4280,
        assoc_group_id: 0x1234,
        sec_addr: b"135\0".to_vec(),
        results: vec![ContextResult {
            result: 0,
            reason: 0,
            transfer_syntax: SyntaxId::NDR20,
        }],
    };
    let bodies = vec![
        Body::Request {
            alloc_hint: 3,
            context_id: 1,
            opnum: 7,
            object: Some(EPM),
            stub: vec![1, 2, 3],
        },
        Body::Request {
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: vec![],
        },
        Body::Response {
            alloc_hint: 2,
            context_id: 1,
            cancel_count: 0,
            stub: vec![9, 9],
        },
        Body::Fault {
            alloc_hint: 0,
            context_id: 1,
            cancel_count: 0,
            status: 0x1C01_0002,
        },
        Body::BindAck(ack.clone()),
        Body::AlterContextResp(BindAckBody {
            sec_addr: vec![],
            ..ack
        }),
        Body::BindNak {
            reason: 4,
            versions: vec![(5, 0)],
        },
        Body::Shutdown,
        Body::CoCancel,
        Body::Orphaned,
        Body::Auth3,
    ];
    for body in bodies {
        let pdu = Pdu {
            flags: flags::FIRST_FRAG | flags::LAST_FRAG,
            call_id: 42,
            body,
            auth: None,
        };
        let bytes = pdu.encode();
        let back = Pdu::parse(&bytes).unwrap_or_else(|e| panic!("{:?}: {e}", pdu.body));
        // The encoder sets PFC_OBJECT_UUID from the body.
        let mut want = pdu.clone();
        if matches!(
            want.body,
            Body::Request {
                object: Some(_),
                ..
            }
        ) {
            want.flags |= flags::OBJECT_UUID;
        }
        assert_eq!(back, want);
        assert_eq!(Header::parse(&bytes).unwrap().ptype, pdu.body.ptype());
    }
}

#[test]
fn the_auth_trailer_is_split_off_with_its_padding() {
    let pdu = Pdu {
        flags: 3,
        call_id: 9,
        body: Body::Request {
            alloc_hint: 5,
            context_id: 0,
            opnum: 1,
            object: None,
            stub: vec![1, 2, 3, 4, 5],
        },
        auth: Some(comidl_runtime_rpc::pdu::Auth {
            auth_type: 10,
            auth_level: 6,
            auth_pad_length: 3,
            context_id: 0,
            value: vec![0xAA; 16],
        }),
    };
    let bytes = pdu.encode();
    assert_eq!(u16::from_le_bytes([bytes[10], bytes[11]]), 16);
    assert_eq!(bytes.len(), 16 + 8 + 5 + 3 + 8 + 16);
    assert_eq!(Pdu::parse(&bytes).unwrap(), pdu);
}

#[test]
fn large_stub_data_is_fragmented_and_reassembled() {
    let stub: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
    let frags = fragment::request(7, 1, 3, Some(EPM), &stub, 1024);
    assert!(frags.len() > 9);
    let pdus: Vec<Pdu> = frags.iter().map(|f| Pdu::parse(f).unwrap()).collect();
    for (i, (f, p)) in frags.iter().zip(&pdus).enumerate() {
        assert!(f.len() <= 1024);
        assert_eq!(p.flags & flags::FIRST_FRAG != 0, i == 0);
        assert_eq!(p.flags & flags::LAST_FRAG != 0, i == frags.len() - 1);
        if let Body::Request { stub, .. } = &p.body
            && i + 1 < frags.len()
        {
            assert_eq!(stub.len() % 8, 0, "NDR alignment holds across fragments");
        }
    }
    let mut it = pdus.into_iter();
    let mut r = Reassembly::start(it.next().unwrap(), 1 << 20).unwrap();
    for p in it {
        r.push(p).unwrap();
    }
    assert!(r.is_complete());
    match r.finish().body {
        Body::Request {
            stub: got,
            opnum,
            object,
            ..
        } => {
            assert_eq!((got, opnum, object), (stub, 3, Some(EPM)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reassembly_refuses_strangers_and_oversize_calls() {
    let stub = vec![0u8; 4096];
    let frags: Vec<Pdu> = fragment::response(5, 0, &stub, 1024)
        .iter()
        .map(|f| Pdu::parse(f).unwrap())
        .collect();
    let mut r = Reassembly::start(frags[0].clone(), 1 << 20).unwrap();
    let mut other = frags[1].clone();
    other.call_id = 6;
    assert_eq!(r.push(other), Err(ReassemblyError::Mismatch("call_id")));
    assert_eq!(
        r.push(frags[0].clone()),
        Err(ReassemblyError::Mismatch("a second first fragment"))
    );
    let mut small = Reassembly::start(frags[0].clone(), 1500).unwrap();
    assert_eq!(small.push(frags[1].clone()), Err(ReassemblyError::TooLarge));
    assert_eq!(
        Reassembly::start(frags[1].clone(), 1 << 20).err(),
        Some(ReassemblyError::NotFirst)
    );
}

#[test]
fn hostile_fragments_are_errors_not_panics() {
    let good = bind().encode();
    for cut in 0..good.len() {
        assert!(Pdu::parse(&good[..cut]).is_err());
    }
    // Every byte set to a few values, and frag_length kept consistent: parse or refuse.
    for at in 0..good.len() {
        for v in [0u8, 1, 0x7F, 0x80, 0xFF] {
            let mut b = good.clone();
            b[at] = v;
            let _ = Pdu::parse(&b);
        }
    }
    // A pseudo-random walk over garbage with valid headers.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 16 + (x % 200) as usize;
        let mut b: Vec<u8> = (0..len).map(|i| (x >> (i % 56)) as u8).collect();
        b[0] = 5;
        b[1] = 0;
        b[2] = [0u8, 2, 3, 11, 12, 13, 14, 15][(x % 8) as usize];
        b[4] = 0x10;
        b[5] = 0;
        b[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        if x.is_multiple_of(3) {
            b[10..12].copy_from_slice(&((x >> 20) as u16 % 64).to_le_bytes());
        }
        let _ = Pdu::parse(&b);
    }
    assert_eq!(
        Header::parse(&[5, 0, 99, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0])
            .unwrap_err()
            .why,
        "an unknown packet type"
    );
    assert!(Header::parse(&[5, 0, 0, 3, 0x00, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0]).is_err());
    let _ = PacketType::Request;
}
