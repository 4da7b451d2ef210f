//! The endpoint mapper on hostile bytes (comidl-runtime-rpc's `epm`). Byte 0 picks:
//! - below 0x80: the rest is a tower. `Tower::decode` and `tower::floors` must not panic;
//!   an accepted tower encodes to bytes that decode to the same tower, and are the input
//!   itself when floor 3's minor version was two zero bytes (the encoder writes those).
//! - otherwise: the rest is the stub data of a request for opnum `byte0 % 8` (7 is out
//!   of range), served by `ept_serve` over an `EndpointMap` holding two elements, as a
//!   server would. A fault is an answer; a panic is a finding, and so is a cursor left
//!   open past the map's bound.

#![no_main]

use std::net::Ipv4Addr;

use comidl_runtime::GUID;
use comidl_runtime_rpc::SyntaxId;
use comidl_runtime_rpc::epm::bindings::ept_serve;
use comidl_runtime_rpc::epm::tower::{self, Tower, Transport};
use comidl_runtime_rpc::epm::{EndpointMap, MapLimits};
use libfuzzer_sys::fuzz_target;

fn tower_case(bytes: &[u8]) {
    let floors = tower::floors(bytes);
    let Ok(t) = Tower::decode(bytes) else {
        return;
    };
    assert!(floors.is_ok(), "a tower decoded whose floors do not split");
    let again = t.encode();
    assert_eq!(Tower::decode(&again).as_ref(), Ok(&t), "not a fixed point");
    if floors.unwrap()[2].rhs == [0, 0] {
        assert_eq!(again, bytes, "re-encoding changed the bytes");
    }
}

fn serve_case(opnum: u16, request: &[u8]) {
    let map = EndpointMap::with_limits(MapLimits {
        max_cursors: 4,
        ..MapLimits::default()
    });
    let wks = SyntaxId::new(
        GUID::from_u128(0x6bffd098_a112_3610_9833_46c3f87e345a),
        1,
        0,
    );
    for (port, name) in [(49152u16, "a"), (49153, "b")] {
        let t = Tower::new(
            wks,
            Transport::Tcp {
                port,
                addr: Ipv4Addr::LOCALHOST,
            },
        );
        map.register(GUID::zeroed(), &t, name, false).unwrap();
        let t = Tower::new(wks, Transport::Local { name: name.into() });
        map.register(GUID::zeroed(), &t, name, false).unwrap();
    }
    let _ = ept_serve(&map, opnum, request);
    assert!(map.open_cursors() <= 4);
    assert!(map.elements().len() <= map.limits().max_entries);
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first < 0x80 {
        tower_case(rest);
    } else {
        serve_case(u16::from(first % 8), rest);
    }
});
