//! ORPC's wire types on hostile bytes (comidl-runtime-dcom). Byte 0 picks how the rest
//! is read: an OBJREF, a DUALSTRINGARRAY, an ORPCTHIS, an ORPCTHAT, or an
//! MInterfacePointer whose OBJREF is then read too. No input may panic; whatever decodes
//! must encode, and its encoding must decode to the same value (a fixed point). A
//! DUALSTRINGARRAY, ORPCTHIS, ORPCTHAT or MInterfacePointer says how many bytes it took:
//! never more than were given; an MInterfacePointer (no padding, no choices) re-encodes
//! to exactly those bytes.

#![no_main]

use comidl_runtime_dcom::{DualStringArray, MInterfacePointer, Objref, OrpcThat, OrpcThis};
use libfuzzer_sys::fuzz_target;

fn objref_case(bytes: &[u8]) {
    let Ok(o) = Objref::decode(bytes) else {
        return;
    };
    let again = o.encode().expect("a decoded OBJREF encodes");
    assert_eq!(Objref::decode(&again).as_ref(), Ok(&o), "not a fixed point");
}

fn dsa_case(bytes: &[u8]) {
    let Ok((d, used)) = DualStringArray::decode(bytes) else {
        return;
    };
    assert!(used <= bytes.len());
    let again = d.encode().expect("a decoded DUALSTRINGARRAY encodes");
    let (back, n) = DualStringArray::decode(&again).expect("our encoding decodes");
    assert_eq!((back, n), (d, again.len()), "not a fixed point");
}

fn this_case(bytes: &[u8]) {
    let Ok((t, used)) = OrpcThis::decode(bytes) else {
        return;
    };
    assert!(used <= bytes.len());
    let again = t.encode().expect("a decoded ORPCTHIS encodes");
    let (back, n) = OrpcThis::decode(&again).expect("our encoding decodes");
    assert_eq!((back, n), (t, again.len()), "not a fixed point");
}

fn that_case(bytes: &[u8]) {
    let Ok((t, used)) = OrpcThat::decode(bytes) else {
        return;
    };
    assert!(used <= bytes.len());
    let again = t.encode().expect("a decoded ORPCTHAT encodes");
    let (back, n) = OrpcThat::decode(&again).expect("our encoding decodes");
    assert_eq!((back, n), (t, again.len()), "not a fixed point");
}

fn mip_case(bytes: &[u8]) {
    let Ok((m, used)) = MInterfacePointer::decode(bytes) else {
        return;
    };
    assert!(used <= bytes.len());
    let again = m.encode().expect("a decoded MInterfacePointer encodes");
    assert_eq!(
        again,
        bytes[..used],
        "an MInterfacePointer has one encoding"
    );
    objref_case(&m.data);
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    match first % 5 {
        0 => objref_case(rest),
        1 => dsa_case(rest),
        2 => this_case(rest),
        3 => that_case(rest),
        _ => mip_case(rest),
    }
});
