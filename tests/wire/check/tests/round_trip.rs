//! Every NDR construct the engine describes (tests/wire/idl/constructs.idl), round trip
//! through the generated descriptions: the client stub marshals the `[in]` values, the
//! server stub unmarshals them (they must equal what was sent), the server's `[out]`
//! values are marshalled and unmarshalled by the client (they must equal what the server
//! gave), and the task allocator is balanced after each call.

use comidl_runtime::ndr::{Param, Proc, Value};
use wire_check::calls::{self, guarded};
use wire_check::constructs::ndr::constructs_INTERFACE;

fn int(v: i64) -> Value {
    Value::Int(v)
}
fn float(v: f64) -> Value {
    Value::Float(v)
}
fn text(s: &str) -> Value {
    Value::Str(s.into())
}
fn list(items: impl IntoIterator<Item = Value>) -> Value {
    Value::List(items.into_iter().collect())
}
fn ints(items: &[i64]) -> Value {
    list(items.iter().map(|&i| int(i)))
}
fn rec(fields: &[(&'static str, Value)]) -> Value {
    Value::Record("", fields.to_vec())
}
fn arm(name: &'static str, disc: i64, v: Value) -> Value {
    Value::Union(name, disc, Box::new(v))
}
fn point(x: i64, y: i64) -> Value {
    rec(&[("x", int(x)), ("y", int(y))])
}
fn wide(s: &str) -> Value {
    list(s.encode_utf16().map(|u| int(i64::from(u))))
}

fn proc(name: &str) -> &'static Proc {
    constructs_INTERFACE
        .procs
        .iter()
        .copied()
        .find(|p| p.name == format!("constructs::{name}"))
        .unwrap_or_else(|| panic!("no operation {name}"))
}

/// Sends `ins` and has the server answer `outs` (and status 0); checks both sides.
fn round_trip(name: &str, ins: &[(&str, Value)], outs: &[(&str, Value)]) {
    let proc = proc(name);
    let lookup = |set: &[(&str, Value)], p: &Param| {
        Ok(set
            .iter()
            .find(|(n, _)| *n == p.name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null))
    };
    let given_in = |p: &Param| lookup(ins, p);
    let given_out = |p: &Param| lookup(outs, p);
    let result = guarded(|| {
        let request = calls::client_request(proc, &given_in)?;
        for (n, got) in calls::server_values(proc, &request)? {
            if let Some((_, want)) = ins.iter().find(|(w, _)| *w == n) {
                calls::same(want, &got, &format!("{name} [in] {n}"))?;
            }
        }
        let reply = calls::server_reply(proc, &request, &given_out, Some(int(0)))?;
        let (got_outs, ret) = calls::client_values(proc, &given_in, &given_out, &reply)?;
        for (n, got) in got_outs {
            if let Some((_, want)) = outs.iter().find(|(w, _)| *w == n) {
                calls::same(want, &got, &format!("{name} [out] {n}"))?;
            }
        }
        calls::same(&int(0), &ret.unwrap_or(Value::Null), "status")?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

fn bases(sign: i64) -> Value {
    rec(&[
        ("flag", int(1)),
        ("b", int(0xAB)),
        ("s", int(-5 * sign)),
        ("c", int(65)),
        ("w", int(0x263A)),
        ("sh", int(-1234 * sign)),
        ("l", int(-123_456_789 * sign)),
        ("h", int(-1_234_567_890_123 * sign)),
        ("f", float(1.5 * sign as f64)),
        ("d", float(-2.25e300 * sign as f64)),
        ("shape", int(if sign > 0 { 0x7FFF } else { 1 })),
        ("wide", int(0x10000)),
        ("status", int(0xC000_0022)),
        ("us", int(0xFFFE)),
        ("ul", int(0xFFFF_FFF0)),
        ("uh", int(-2)),
    ])
}

#[test]
fn base_types_in_a_structure() {
    round_trip("Bases", &[("in_", bases(1))], &[("out_", bases(-1))]);
}

#[test]
fn a_conformant_structure() {
    let c = |n: i64| {
        rec(&[
            ("n", int(n)),
            ("origin", point(-1, -2)),
            ("points", list((0..n).map(|i| point(i, i * i)))),
        ])
    };
    round_trip("Conformant", &[("in_", c(3))], &[("out_", c(5))]);
}

#[test]
fn a_conformant_varying_structure() {
    let cv = |room: i64, s: &str| {
        rec(&[
            ("room", int(room)),
            ("used", int(s.encode_utf16().count() as i64)),
            ("text", wide(s)),
        ])
    };
    round_trip(
        "Varying",
        &[("in_", cv(10, "word"))],
        &[("out_", cv(3, "abc"))],
    );
}

#[test]
fn fixed_multidimensional_and_varying_arrays_and_fixed_strings() {
    let arrays = |k: i64| {
        rec(&[
            ("fixed", ints(&[k, k + 1, k + 2])),
            ("grid", list([ints(&[1, 2, 3]), ints(&[4, 5, k])])),
            ("first", int(2)),
            ("count", int(3)),
            ("window", ints(&[10 * k, 20 * k, 30 * k])),
            ("name", text("fifteen chars..")),
            ("wname", text("seven c")),
        ])
    };
    round_trip("Arrays", &[("in_", arrays(1))], &[("out_", arrays(-7))]);
}

#[test]
fn encapsulated_union_arms() {
    for (v_in, v_out) in [
        (arm("i", 1, int(-9)), arm("d", 2, float(0.5))),
        (
            arm("text", 3, text("a string arm")),
            arm("", 4, Value::Null),
        ),
        (arm("", 77, point(3, 4)), arm("i", 1, int(0))),
    ] {
        round_trip("Encapsulated", &[("in_", v_in)], &[("out_", v_out)]);
    }
}

#[test]
fn non_encapsulated_unions_in_a_structure_and_at_the_top() {
    let tagged = |tag: i64, choice: Value| rec(&[("tag", int(tag)), ("choice", choice)]);
    round_trip(
        "Tagged",
        &[("in_", tagged(1, arm("one", 1, point(5, 6))))],
        &[("out_", tagged(9, arm("", 9, int(-1))))],
    );
    round_trip(
        "Tagged",
        &[("in_", tagged(2, arm("", 2, Value::Null)))],
        &[("out_", tagged(0, arm("zero", 0, int(42))))],
    );
    round_trip(
        "Top",
        &[("kind", int(0)), ("in_", arm("zero", 0, int(7)))],
        &[("out_", arm("zero", 0, int(8)))],
    );
    round_trip(
        "Top",
        &[("kind", int(1)), ("in_", arm("one", 1, point(1, 2)))],
        &[("out_", arm("one", 1, point(3, 4)))],
    );
}

#[test]
fn unique_full_ref_pointers_lists_and_arrays_of_pointers() {
    let node = |v: i64, next: Value| rec(&[("value", int(v)), ("next", next)]);
    let ptrs = |k: i64| {
        rec(&[
            ("maybe", if k > 0 { int(k) } else { Value::Null }),
            ("a", int(5 * k)),
            ("b", int(6 * k)),
            ("always", int(9)),
            ("list", node(1, node(2, node(3 * k, Value::Null)))),
            ("n", int(3)),
            ("items", ints(&[10, 20, 30 * k])),
            ("names", list([text("x"), Value::Null, text("zed")])),
        ])
    };
    round_trip("Pointers", &[("in_", ptrs(1))], &[("out_", ptrs(-1))]);
}

#[test]
fn correlation_expressions_over_parameters() {
    round_trip(
        "Counted",
        &[
            ("cb", int(8)),
            ("halves", ints(&[1, -2, 3, -4])),
            ("bytes", ints(&[1, 2, 3, 4, 5, 6, 7, 8])),
            ("pcb", int(4)),
            ("text", text("abc")),
        ],
        &[("pcb", int(4)), ("echo", ints(&[9, 8, 7, 6]))],
    );
}

#[test]
fn strings_narrow_wide_and_returned() {
    round_trip(
        "Strings",
        &[("narrow", text("hello")), ("wide", text("wïde ✓"))],
        &[("back", text("back again"))],
    );
    round_trip(
        "Strings",
        &[("narrow", text("")), ("wide", Value::Null)],
        &[("back", Value::Null)],
    );
}

#[test]
fn ranges_are_enforced_on_both_sides() {
    round_trip("Ranged", &[("r", int(-5))], &[("twice", int(-10))]);
    let proc = proc("Ranged");
    let give = |v: i64| move |p: &Param| Ok(if p.name == "r" { int(v) } else { Value::Null });
    let err = calls::client_request(proc, &give(6)).unwrap_err();
    assert!(err.contains("range"), "{err}");
    // A request with 6 where the client would refuse it: the server refuses it too.
    let mut request = calls::client_request(proc, &give(5)).unwrap();
    request[0] = 6;
    assert!(calls::server_values(proc, &request).is_err());
}

#[test]
fn context_handles_come_and_go() {
    let mut h = [0u8; 20];
    h[4..20].copy_from_slice(&[7; 16]);
    round_trip("Open", &[], &[("s", Value::Handle(h))]);
    round_trip(
        "Close",
        &[("s", Value::Handle(h))],
        &[("s", Value::Handle([0; 20]))],
    );
}

#[test]
fn the_comparisons_can_fail() {
    // What the server reads is compared for real: a different expectation fails.
    let proc = proc("Pointers");
    let node = |v: i64| rec(&[("value", int(v)), ("next", Value::Null)]);
    let give = move |p: &Param| {
        Ok(if p.name == "in_" {
            rec(&[
                ("a", int(1)),
                ("always", int(2)),
                ("list", node(3)),
                ("n", int(0)),
            ])
        } else {
            Value::Null
        })
    };
    let request = calls::client_request(proc, &give).unwrap();
    let got = calls::server_values(proc, &request).unwrap();
    let (_, v) = got.iter().find(|(n, _)| *n == "in_").unwrap();
    let right = rec(&[("a", int(1)), ("list", node(3))]);
    let wrong = rec(&[("a", int(1)), ("list", node(4))]);
    assert!(calls::same(&right, v, "in_").is_ok());
    assert!(calls::same(&wrong, v, "in_").is_err());
}

#[test]
fn bstrs_travel_in_their_wire_form() {
    round_trip(
        "Bstrs",
        &[("a", text("a BSTR ✓")), ("none", Value::Null)],
        &[("b", text(""))],
    );
    round_trip(
        "Bstrs",
        &[("a", text("")), ("none", Value::Null)],
        &[("b", Value::Null)],
    );
    // The bytes: a referent id, then MS-OAUT's FLAGGED_WORD_BLOB (max count, cBytes,
    // clSize, the units); a NULL BSTR is a blob with cBytes 0xFFFFFFFF.
    let give = |p: &Param| {
        Ok(match p.name {
            "a" => text("hi"),
            _ => Value::Null,
        })
    };
    let request = calls::client_request(proc("Bstrs"), &give).unwrap();
    let words: Vec<u32> = request
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        words,
        [
            0x0002_0000,
            2,
            4,
            2,
            0x0069_0068,
            0x0002_0004,
            0,
            0xFFFF_FFFF,
            0
        ]
    );
}

#[test]
fn a_type_serializes_with_midls_headers() {
    use comidl_runtime::alloc::task::thread_balance;
    use comidl_runtime::ndr::{self, value};
    use wire_check::constructs::{PICKLE_Decode, ndr::PICKLE_TYPE};

    let before = thread_balance().unwrap();
    let v = rec(&[
        ("id", int(-7)),
        ("name", text("pickled")),
        ("n", int(3)),
        ("values", ints(&[1, -2, 3])),
    ]);
    let room = value::room_for(PICKLE_TYPE, &v);
    let mem = comidl_runtime::CoTaskMemAlloc(room).cast::<u8>();
    let bytes = unsafe {
        mem.write_bytes(0, room);
        value::write(PICKLE_TYPE, &v, mem).unwrap();
        let bytes = ndr::pickle::encode(PICKLE_TYPE, mem).unwrap();
        ndr::free::free_value(PICKLE_TYPE, mem, std::ptr::null(), &[]);
        comidl_runtime::CoTaskMemFree(mem.cast());
        bytes
    };
    // Common header (version 1, little-endian, length 8, filler), private header (the
    // data's length, a multiple of 8), then the data: the hoisted count 3 first.
    assert_eq!(&bytes[..8], &[1, 0x10, 8, 0, 0xCC, 0xCC, 0xCC, 0xCC]);
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    assert_eq!((len % 8, bytes.len()), (0, 16 + len));
    assert_eq!(&bytes[12..16], &[0; 4]);
    assert_eq!(&bytes[16..20], &3u32.to_le_bytes());

    let decoded = PICKLE_Decode(&bytes).unwrap();
    let got = unsafe {
        value::read(
            PICKLE_TYPE,
            (&*decoded as *const wire_check::constructs::PICKLE).cast(),
            std::ptr::null(),
            &[],
        )
    }
    .unwrap();
    calls::same(&v, &got, "PICKLE").unwrap();
    drop(decoded);
    // Damaged headers are refused.
    for (at, v) in [(0usize, 2u8), (1, 0), (2, 9), (8, 0xFF)] {
        let mut b = bytes.clone();
        b[at] = v;
        assert!(PICKLE_Decode(&b).is_err(), "byte {at} = {v}");
    }
    assert_eq!(thread_balance().unwrap(), before);
}

#[test]
fn comm_and_fault_status_parameters_receive_failures() {
    use comidl_runtime::ndr::{CallError, Channel, Fault, Interface};
    use wire_check::constructs::constructs_Client;

    struct Failing(CallError);
    impl Channel for Failing {
        fn call(&self, _: &Interface, _: u16, _: Vec<u8>) -> Result<Vec<u8>, CallError> {
            Err(self.0.clone())
        }
    }
    let (mut comm, mut fault) = (0u32, 0u32);
    let server_gone = constructs_Client::new(Failing(CallError::Transport(1722)));
    let r = unsafe { server_gone.Guarded(std::ptr::null_mut(), 1, &mut comm, &mut fault) };
    assert_eq!(
        (r, comm, fault),
        (Ok(0), 1722, 0),
        "a transport failure lands in [comm_status]"
    );
    let faulted = constructs_Client::new(Failing(CallError::Fault(Fault(0x1C01_0002))));
    comm = 0;
    let r = unsafe { faulted.Guarded(std::ptr::null_mut(), 1, &mut comm, &mut fault) };
    assert_eq!(
        (r, comm, fault),
        (Ok(0), 0, 0x1C01_0002),
        "a fault lands in [fault_status]"
    );
    // On the method: the return value receives either.
    assert_eq!(
        unsafe { server_gone.Status(std::ptr::null_mut()) },
        Ok(1722)
    );
    assert_eq!(
        unsafe { faulted.Status(std::ptr::null_mut()) },
        Ok(0x1C01_0002)
    );
    // Without such a parameter the failure is an error.
    let mut twice = 0;
    assert_eq!(
        unsafe { server_gone.Ranged(std::ptr::null_mut(), 1, &mut twice) },
        Err(CallError::Transport(1722))
    );
    // Nothing of a status parameter is on the wire.
    let give = |p: &Param| Ok(if p.name == "x" { int(5) } else { Value::Null });
    assert_eq!(
        calls::client_request(proc("Guarded"), &give).unwrap(),
        5u32.to_le_bytes()
    );
}
