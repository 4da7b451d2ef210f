//! The endpoint mapper: towers' bytes, and the EndpointMap served through the generated
//! `ept_serve` and called by the generated client, over an in-memory channel.

use std::net::Ipv4Addr;

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, ContextHandle, Interface};
use comidl_runtime_rpc::epm::bindings::{ept, ept_serve, owned};
use comidl_runtime_rpc::epm::tower::{self, Tower, TowerError, Transport};
use comidl_runtime_rpc::epm::*;
use comidl_runtime_rpc::{Protseq, StringBinding, SyntaxId};

const WKSSVC: SyntaxId = SyntaxId::new(
    GUID::from_u128(0x6bffd098_a112_3610_9833_46c3f87e345a),
    1,
    0,
);
const SRVSVC: SyntaxId = SyntaxId::new(
    GUID::from_u128(0x4b324fc8_1670_01d3_1278_5a47bf6ee188),
    3,
    0,
);

fn tcp(i: SyntaxId, port: u16) -> Tower {
    Tower::new(
        i,
        Transport::Tcp {
            port,
            addr: Ipv4Addr::new(127, 0, 0, 1),
        },
    )
}

fn local(i: SyntaxId, name: &str) -> Tower {
    Tower::new(i, Transport::Local { name: name.into() })
}

// ---- towers ----

#[test]
fn a_tcp_tower_has_c706_floors() {
    let bytes = tcp(WKSSVC, 0x1234).encode();
    let mut want = vec![5, 0];
    // Floor 1: 0x0d, the interface UUID as NDR lays it out, major 1; minor 0.
    want.extend_from_slice(&[19, 0, 0x0d]);
    want.extend_from_slice(&WKSSVC.uuid.to_bytes_le());
    want.extend_from_slice(&[1, 0, 2, 0, 0, 0]);
    // Floor 2: NDR20 v2.0.
    want.extend_from_slice(&[19, 0, 0x0d]);
    want.extend_from_slice(&SyntaxId::NDR20.uuid.to_bytes_le());
    want.extend_from_slice(&[2, 0, 2, 0, 0, 0]);
    // Floor 3: connection-oriented RPC, minor version 0.
    want.extend_from_slice(&[1, 0, 0x0b, 2, 0, 0, 0]);
    // Floor 4: TCP, port big-endian; floor 5: IPv4 in network order.
    want.extend_from_slice(&[1, 0, 0x07, 2, 0, 0x12, 0x34]);
    want.extend_from_slice(&[1, 0, 0x09, 4, 0, 127, 0, 0, 1]);
    assert_eq!(bytes, want);
    assert_eq!(bytes.len(), 75);
    assert_eq!(Tower::decode(&bytes).unwrap(), tcp(WKSSVC, 0x1234));
}

#[test]
fn a_local_tower_ends_with_the_name_and_a_nul() {
    let t = local(SRVSVC, "srvsvc-1");
    let bytes = t.encode();
    assert_eq!(&bytes[..2], &[4, 0]);
    assert!(bytes.ends_with(&[
        1, 0, 0x20, 9, 0, b's', b'r', b'v', b's', b'v', b'c', b'-', b'1', 0
    ]));
    assert_eq!(Tower::decode(&bytes).unwrap(), t);
    assert_eq!(t.endpoint(), "srvsvc-1");
    assert_eq!(tcp(SRVSVC, 49152).endpoint(), "49152");
    // A map request's empty name round-trips too.
    let empty = local(SRVSVC, "");
    assert_eq!(Tower::decode(&empty.encode()).unwrap(), empty);
}

#[test]
fn every_truncation_and_any_trailing_byte_is_refused() {
    for t in [tcp(WKSSVC, 135), local(SRVSVC, "x")] {
        let bytes = t.encode();
        for n in 0..bytes.len() {
            assert!(Tower::decode(&bytes[..n]).is_err(), "{n} bytes accepted");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Tower::decode(&long), Err(TowerError::TrailingBytes));
    }
}

#[test]
fn malformed_floors_are_refused() {
    let good = tcp(WKSSVC, 135).encode();
    let f = tower::floors(&good).unwrap();
    type Floors = Vec<(Vec<u8>, Vec<u8>)>;
    type Edit<'a> = &'a dyn Fn(&mut Floors);
    let rebuild = |edit: Edit<'_>| {
        let mut v: Floors = f.iter().map(|f| (f.lhs.to_vec(), f.rhs.to_vec())).collect();
        edit(&mut v);
        let refs: Vec<(&[u8], &[u8])> = v.iter().map(|(l, r)| (&l[..], &r[..])).collect();
        Tower::decode(&tower::encode_floors(&refs))
    };
    // Wine's floor 3 without a minor version is read.
    assert!(rebuild(&|v| v[2].1.clear()).is_ok());
    let bad: &[(&str, Edit<'_>)] = &[
        ("short UUID floor", &|v| v[0].0.truncate(18)),
        ("not a UUID floor", &|v| v[1].0[0] = 0x0e),
        ("long minor", &|v| v[0].1.push(0)),
        ("datagram protocol", &|v| v[2].0[0] = 0x0a),
        ("3-byte port", &|v| v[3].1.push(0)),
        ("IPv6-sized address", &|v| v[4].1.resize(16, 0)),
        ("floor 5 not IP", &|v| v[4].0[0] = 0x11),
        ("named pipe", &|v| v[3].0[0] = 0x0f),
        ("missing floor", &|v| {
            v.pop();
        }),
        ("extra floor", &|v| v.push((vec![0x09], vec![0; 4]))),
        ("three floors", &|v| v.truncate(3)),
    ];
    for (what, edit) in bad {
        assert!(rebuild(*edit).is_err(), "{what} accepted");
    }
    // A local name without its NUL, with an inner NUL, or not UTF-8.
    let lf = local(SRVSVC, "ab").encode();
    let f = tower::floors(&lf).unwrap();
    for rhs in [&b"ab"[..], b"a\0b\0", b"\xff\0", b""] {
        let refs: Vec<(&[u8], &[u8])> = f
            .iter()
            .enumerate()
            .map(|(i, f)| (f.lhs, if i == 3 { rhs } else { f.rhs }))
            .collect();
        assert!(Tower::decode(&tower::encode_floors(&refs)).is_err());
    }
}

#[test]
fn a_huge_floor_count_allocates_only_what_the_bytes_hold() {
    assert!(matches!(
        tower::floors(&[0xff, 0xff, 0, 0, 0, 0]),
        Err(TowerError::Truncated(_))
    ));
    assert_eq!(tower::floors(&[0, 0]).unwrap(), vec![]);
    assert!(Tower::decode(&[0, 0]).is_err());
}

#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let good = tcp(WKSSVC, 135).encode();
    for i in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Mutate a good tower (deep paths) or take noise (shallow ones).
        let mut b = if i % 2 == 0 {
            good.clone()
        } else {
            vec![0; (x % 90) as usize]
        };
        for k in 0..(1 + x % 4) {
            let at = ((x >> (8 * k)) as usize) % b.len().max(1);
            if let Some(byte) = b.get_mut(at) {
                *byte = (x >> (3 * k + 5)) as u8;
            }
        }
        let _ = Tower::decode(&b);
    }
}

// ---- the map, served and called through the generated code ----

struct InMemory<'a>(&'a EndpointMap);

impl Channel for InMemory<'_> {
    fn call(&self, _: &Interface, opnum: u16, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        ept_serve(self.0, opnum, &request).map_err(CallError::Fault)
    }
}

fn entry(object: GUID, t: &Tower, annotation: &str) -> owned::ept_entry_t {
    owned::ept_entry_t {
        object: owned_guid(&object),
        tower: Some(Box::new(owned_tower(t.encode()))),
        annotation: annotation.into(),
    }
}

#[test]
fn insert_then_map_by_interface() {
    let map = EndpointMap::new();
    let c = ept::new(InMemory(&map));
    let entries = [
        entry(GUID::zeroed(), &tcp(WKSSVC, 49152), "Workstation"),
        entry(GUID::zeroed(), &local(WKSSVC, "wks"), "Workstation"),
        entry(GUID::zeroed(), &tcp(SRVSVC, 49153), "Server"),
    ];
    assert_eq!(c.ept_insert(3, &entries, 0).unwrap(), 0);
    assert_eq!(map.elements().len(), 3);
    assert_eq!(map.elements()[0].annotation, "Workstation");

    assert_eq!(
        ept_map(InMemory(&map), WKSSVC, Protseq::Tcp).unwrap(),
        Transport::Tcp {
            port: 49152,
            addr: Ipv4Addr::new(127, 0, 0, 1)
        }
    );
    assert_eq!(
        ept_map(InMemory(&map), WKSSVC, Protseq::Local).unwrap(),
        Transport::Local { name: "wks".into() }
    );
    assert_eq!(
        ept_map(InMemory(&map), SRVSVC, Protseq::Tcp).unwrap(),
        Transport::Tcp {
            port: 49153,
            addr: Ipv4Addr::new(127, 0, 0, 1)
        }
    );
    // A newer minor version than registered, or another major, is not served.
    let wks_1_1 = SyntaxId::new(WKSSVC.uuid, 1, 1);
    let wks_2_0 = SyntaxId::new(WKSSVC.uuid, 2, 0);
    for i in [wks_1_1, wks_2_0] {
        assert!(matches!(
            ept_map(InMemory(&map), i, Protseq::Tcp),
            Err(EpmError::Status(EPT_S_NOT_REGISTERED))
        ));
    }
    assert!(matches!(
        ept_map(InMemory(&map), SRVSVC, Protseq::Local),
        Err(EpmError::Status(EPT_S_NOT_REGISTERED))
    ));
    assert_eq!(map.open_cursors(), 0);
}

#[test]
fn map_prefers_the_object_and_falls_back_to_nil() {
    let map = EndpointMap::new();
    let obj = GUID::from_u128(0x11111111_2222_3333_4444_555555555555);
    map.register(GUID::zeroed(), &tcp(WKSSVC, 1000), "", false)
        .unwrap();
    map.register(obj, &tcp(WKSSVC, 2000), "", false).unwrap();
    let port = |o: Option<GUID>| {
        ept_map_towers(InMemory(&map), o, WKSSVC, Protseq::Tcp)
            .unwrap()
            .iter()
            .map(Tower::endpoint)
            .collect::<Vec<_>>()
    };
    assert_eq!(port(None), ["1000"]);
    assert_eq!(port(Some(obj)), ["2000"]);
    assert_eq!(
        port(Some(GUID::from_u128(0xdead))),
        ["1000"],
        "no element of that object: the nil-object ones"
    );
}

#[test]
fn lookup_iterates_across_calls_with_max_ents() {
    let map = EndpointMap::new();
    for port in 0..7u16 {
        map.register(
            GUID::zeroed(),
            &tcp(WKSSVC, 5000 + port),
            &format!("wks {port}"),
            false,
        )
        .unwrap();
    }
    map.register(GUID::zeroed(), &tcp(SRVSVC, 6000), "srv", false)
        .unwrap();

    // The generated client by hand: 3, 3, then the last 1 with a nil handle.
    let c = ept::new(InMemory(&map));
    let mut h = ContextHandle::default();
    let ifid = owned::RPC_IF_ID {
        Uuid: owned_guid(&WKSSVC.uuid),
        VersMajor: 1,
        VersMinor: 0,
    };
    let mut seen = Vec::new();
    for (want, last) in [(3, false), (3, false), (1, true)] {
        let (n, entries, status) = c
            .ept_lookup(
                RPC_C_EP_MATCH_BY_IF,
                &None,
                &Some(ifid.clone()),
                RPC_C_VERS_COMPATIBLE,
                &mut h,
                3,
            )
            .unwrap();
        assert_eq!((n, entries.len(), status), (want, want as usize, 0));
        assert_eq!(h.is_nil(), last);
        assert_eq!(map.open_cursors(), usize::from(!last));
        seen.extend(entries.into_iter().map(|e| e.annotation));
    }
    assert_eq!(seen, (0..7).map(|p| format!("wks {p}")).collect::<Vec<_>>());
    // Another lookup after the end starts over; nothing matching: not registered.
    let (n, _, status) = c
        .ept_lookup(
            RPC_C_EP_MATCH_BY_OBJ,
            &Some(owned_guid(&GUID::from_u128(7))),
            &None,
            0,
            &mut h,
            3,
        )
        .unwrap();
    assert_eq!((n, status), (0, EPT_S_NOT_REGISTERED));
    assert!(h.is_nil());

    // The iterator: every element, two at a time.
    let all: Vec<LookupEntry> = ept_lookup(InMemory(&map), Inquiry::All, 2)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all[7].annotation, "srv");
    assert_eq!(all[7].tower, Some(tcp(SRVSVC, 6000)));
    assert_eq!(map.open_cursors(), 0);
    // Versions: up to 1.0 includes 1.0; exact 1.1 does not.
    let count = |v| {
        ept_lookup(InMemory(&map), Inquiry::Interface(WKSSVC, v), 500)
            .filter(Result::is_ok)
            .count()
    };
    assert_eq!(count(VersOption::UpTo), 7);
    assert_eq!(count(VersOption::MajorOnly), 7);
    assert_eq!(
        ept_lookup(
            InMemory(&map),
            Inquiry::Interface(SyntaxId::new(WKSSVC.uuid, 1, 1), VersOption::Exact),
            5
        )
        .count(),
        0,
        "nothing registered: an empty iteration"
    );
    // Dropping an iteration halfway frees its cursor.
    let mut it = ept_lookup(InMemory(&map), Inquiry::All, 2);
    it.next().unwrap().unwrap();
    assert_eq!(map.open_cursors(), 1);
    drop(it);
    assert_eq!(map.open_cursors(), 0);
    // A bounded iteration stops.
    let r: Vec<_> = ept_lookup(InMemory(&map), Inquiry::All, 2)
        .max_elements(3)
        .collect();
    assert!(matches!(r.last(), Some(Err(EpmError::TooMany))));
}

#[test]
fn delete_and_not_registered_statuses() {
    let map = EndpointMap::new();
    let c = ept::new(InMemory(&map));
    let a = entry(GUID::zeroed(), &tcp(WKSSVC, 1), "a");
    let b = entry(GUID::zeroed(), &tcp(SRVSVC, 2), "b");
    assert_eq!(c.ept_insert(2, &[a.clone(), b.clone()], 0).unwrap(), 0);
    assert_eq!(c.ept_delete(1, std::slice::from_ref(&a)).unwrap(), 0);
    assert_eq!(map.elements().len(), 1);
    // Deleting it again, or with one unknown entry among known ones, changes nothing.
    assert_eq!(
        c.ept_delete(1, std::slice::from_ref(&a)).unwrap(),
        EPT_S_NOT_REGISTERED
    );
    assert_eq!(
        c.ept_delete(2, &[b.clone(), a.clone()]).unwrap(),
        EPT_S_NOT_REGISTERED
    );
    assert_eq!(map.elements().len(), 1);
    assert!(matches!(
        ept_map(InMemory(&map), WKSSVC, Protseq::Tcp),
        Err(EpmError::Status(EPT_S_NOT_REGISTERED))
    ));
    // A bad tower or annotation: invalid entry, and nothing of the call is inserted.
    let mut bad = entry(GUID::zeroed(), &tcp(WKSSVC, 3), "x");
    bad.tower.as_mut().unwrap().tower_octet_string.pop();
    bad.tower.as_mut().unwrap().tower_length -= 1;
    assert_eq!(
        c.ept_insert(2, &[a.clone(), bad], 0).unwrap(),
        EPT_S_INVALID_ENTRY
    );
    assert_eq!(map.elements().len(), 1);
    // An annotation longer than the array: the map refuses it (the generated client
    // already keeps what fits the [string] char[64], 63 bytes and the NUL).
    assert_eq!(
        map.register(GUID::zeroed(), &tcp(WKSSVC, 3), &"x".repeat(64), false),
        Err(EPT_S_INVALID_ENTRY)
    );
    assert_eq!(map.elements().len(), 1);
    // ept_map with a tower it cannot read: not registered.
    let mut h = ContextHandle::default();
    let (n, _, status) = c
        .ept_map(&None, &Some(owned_tower(vec![1, 2, 3])), &mut h, 4)
        .unwrap();
    assert_eq!((n, status), (0, EPT_S_NOT_REGISTERED));
    // mgmt_delete by tower.
    assert_eq!(
        c.ept_mgmt_delete(0, &None, &Some(owned_tower(tcp(SRVSVC, 2).encode())))
            .unwrap(),
        0
    );
    assert!(map.elements().is_empty());
}

#[test]
fn replace_swaps_a_servers_old_endpoint() {
    let map = EndpointMap::new();
    let c = ept::new(InMemory(&map));
    c.ept_insert(1, &[entry(GUID::zeroed(), &tcp(WKSSVC, 1), "old")], 0)
        .unwrap();
    assert_eq!(
        c.ept_insert(1, &[entry(GUID::zeroed(), &tcp(WKSSVC, 2), "new")], 1)
            .unwrap(),
        0
    );
    let e = map.elements();
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].tower.endpoint(), e[0].annotation.as_str()),
        ("2".into(), "new")
    );
}

#[test]
fn cursors_are_bounded_forgotten_and_run_down() {
    let map = EndpointMap::with_limits(MapLimits {
        max_cursors: 2,
        ..MapLimits::default()
    });
    for p in 0..4 {
        map.register(GUID::zeroed(), &tcp(WKSSVC, p), "", false)
            .unwrap();
    }
    let c = ept::new(InMemory(&map));
    let open = || {
        let mut h = ContextHandle::default();
        let (_, _, status) = c
            .ept_lookup(RPC_C_EP_ALL_ELTS, &None, &None, 0, &mut h, 1)
            .unwrap();
        (h, status)
    };
    let (h1, s1) = open();
    let (h2, s2) = open();
    assert_eq!((s1, s2), (0, 0));
    assert!(!h1.is_nil() && !h2.is_nil() && h1 != h2);
    let (h3, s3) = open();
    assert_eq!(s3, EPT_S_CANT_PERFORM_OP);
    assert!(h3.is_nil());
    assert!(map.forget(&h1));
    assert!(!map.forget(&h1));
    let (h4, s4) = open();
    assert_eq!(s4, 0);
    map.run_down([&h2, &h4]);
    assert_eq!(map.open_cursors(), 0);
    // A handle the map does not know is a fault (context mismatch), as a server's
    // runtime answers for a stale context handle.
    let mut stale = h2;
    let r = c.ept_lookup(RPC_C_EP_ALL_ELTS, &None, &None, 0, &mut stale, 1);
    assert!(matches!(r, Err(CallError::Fault(f)) if f == map::FAULT_CONTEXT_MISMATCH));
    // ept_lookup_handle_free ends a cursor and nils the handle.
    let (mut h5, _) = open();
    assert_eq!(c.ept_lookup_handle_free(&mut h5).unwrap(), 0);
    assert!(h5.is_nil());
    assert_eq!(map.open_cursors(), 0);
}

#[test]
fn updates_over_rpc_can_be_refused() {
    let map = EndpointMap::with_limits(MapLimits {
        updates: comidl_runtime_rpc::epm::Updates::Refused,
        ..MapLimits::default()
    });
    let c = ept::new(InMemory(&map));
    let e = entry(GUID::zeroed(), &tcp(WKSSVC, 1), "");
    assert_eq!(
        c.ept_insert(1, std::slice::from_ref(&e), 0).unwrap(),
        EPT_S_CANT_PERFORM_OP
    );
    map.register(GUID::zeroed(), &tcp(WKSSVC, 1), "", false)
        .unwrap();
    assert_eq!(c.ept_delete(1, &[e]).unwrap(), EPT_S_CANT_PERFORM_OP);
    assert_eq!(map.elements().len(), 1);
    let (object, status) = c.ept_inq_object().unwrap();
    assert_eq!((guid_of(&object), status), (Some(GUID::zeroed()), 0));
}

#[test]
fn resolve_fills_in_the_endpoint() {
    let map = EndpointMap::new();
    map.register(GUID::zeroed(), &tcp(WKSSVC, 49160), "", false)
        .unwrap();
    let b = StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap();
    let r = resolve_with(InMemory(&map), &b, WKSSVC).unwrap();
    assert_eq!(r.compose(), "ncacn_ip_tcp:127.0.0.1[49160]");
    // A binding that has its endpoint needs no mapper.
    let b = StringBinding::parse("ncacn_ip_tcp:127.0.0.1[7]").unwrap();
    assert_eq!(resolve_with(InMemory(&map), &b, SRVSVC).unwrap(), b);
    assert!(
        resolve_with(
            InMemory(&map),
            &StringBinding::parse("ncalrpc:").unwrap(),
            WKSSVC
        )
        .is_err()
    );
}

#[test]
fn resolve_over_tcp_talks_to_a_mapper_port() {
    // Nothing listens on this port: the error is the transport's, not a panic or a hang.
    let b = StringBinding::parse("ncacn_ip_tcp:127.0.0.1").unwrap();
    let options = ResolveOptions {
        mapper_port: 1,
        timeout: std::time::Duration::from_secs(2),
        local_mapper: "no-such-mapper".to_string(),
    };
    assert!(matches!(
        resolve(&b, WKSSVC, &options),
        Err(EpmError::Call(CallError::Transport(_)))
    ));
    assert!(matches!(
        resolve(&StringBinding::parse("ncalrpc:").unwrap(), WKSSVC, &options),
        Err(EpmError::Call(CallError::Transport(_)))
    ));
}
