//! Byte-exact vectors: values built here and, with the same values, by impacket 0.13.1's
//! classes in `impacket.dcerpc.v5.dcomrt` (STDOBJREF, STRINGBINDING / SECURITYBINDING
//! behind DUALSTRINGARRAYPACKED's header, OBJREF_STANDARD, OBJREF_HANDLER, OBJREF_CUSTOM,
//! ORPCTHIS and ORPCTHAT inside DCOMCALL / DCOMANSWER, MInterfacePointer). The hex below
//! is what `tests/wire/orpc_vectors.py encode` printed (facts about impacket's output,
//! with referent ids numbered 0x00020000 + 4n as Windows and this engine number them).
//! Our encoders must produce these bytes and our decoders must read them back to the
//! values; every truncation and a corruption of each is refused with an error.
//!
//! `impacket_decodes_our_bytes` runs the script's `decode` direction on our encodings. It
//! needs the wire harness's Python with impacket (`COMIDL_WIRE_PYTHON`, else
//! `target/wire/venv`), so it is `#[ignore]`d in `cargo test` and run by
//! `tests/wire/run.sh` (which installs that Python) with `--ignored`; without the Python it
//! fails, it never passes silently.

const STDOBJREF: &[&str] =
    &["0010000005000000887766554433221100ffeeddccbbaa99030201000504070608090a0b0c0d0e0f"];

const DUALSTRINGARRAY: &[&str] = &[
    "2b001e0007003100320037002e0030002e0030002e0031005b00340039003100350032005d000000",
    "07006c006f00630061006c0068006f0073007400000000000a00ffff00001000ffff68006f007300",
    "74002f00780000000000",
];

const OBJREF_STANDARD: &[&str] = &[
    "4d454f57010000000000000000000000c00000000000004600100000050000008877665544332211",
    "00ffeeddccbbaa99030201000504070608090a0b0c0d0e0f2b001e0007003100320037002e003000",
    "2e0030002e0031005b00340039003100350032005d00000007006c006f00630061006c0068006f00",
    "73007400000000000a00ffff00001000ffff68006f00730074002f00780000000000",
];

const OBJREF_HANDLER: &[&str] = &[
    "4d454f57020000000000000000000000c00000000000004600100000050000008877665544332211",
    "00ffeeddccbbaa99030201000504070608090a0b0c0d0e0fd4c3b2a1111122223333444455556666",
    "2b001e0007003100320037002e0030002e0030002e0031005b00340039003100350032005d000000",
    "07006c006f00630061006c0068006f0073007400000000000a00ffff00001000ffff68006f007300",
    "74002f00780000000000",
];

const OBJREF_CUSTOM: &[&str] = &[
    "4d454f57040000000000000000000000c000000000000046d4c3b2a1111122223333444455556666",
    "00000000efbeadde0102030405060708090a0b",
];

const ORPCTHIS_PLAIN: &[&str] =
    &["0500070000000000000000001111111122223333444455555555555500000000"];

const ORPCTHIS_ONE_EXTENSION: &[&str] = &[
    "05000700000000000000000011111111222233334444555555555555000002000100000000000000",
    "04000200020000000800020000000000080000009c8d7e6f01000200000300040005000605000000",
    "68656c6c6f000000",
];

const ORPCTHAT_PLAIN: &[&str] = &["0000000000000000"];

const ORPCTHAT_TWO_EXTENSIONS: &[&str] = &[
    "000000000000020002000000000000000400020002000000080002000c000200080000009c8d7e6f",
    "010002000003000400050006080000000102030405060708000000009c8d7e6f0100020000030004",
    "0005000700000000",
];

const MINTERFACEPOINTER: &[&str] = &[
    "9a0000009a0000004d454f57010000000000000000000000c0000000000000460010000005000000",
    "887766554433221100ffeeddccbbaa99030201000504070608090a0b0c0d0e0f2b001e0007003100",
    "320037002e0030002e0030002e0031005b00340039003100350032005d00000007006c006f006300",
    "61006c0068006f0073007400000000000a00ffff00001000ffff68006f00730074002f0078000000",
    "0000",
];

use std::process::Command;

use comidl_runtime_core::GUID;
use comidl_runtime_dcom::objref::SORF_NOPING;
use comidl_runtime_dcom::{
    DataElement, DualStringArray, MInterfacePointer, Objref, ObjrefForm, OrpcExtent, OrpcThat,
    OrpcThis, SecurityBinding, StdObjref, StringBinding,
};

const IID_IUNKNOWN: GUID = GUID::from_u128(0x0000_0000_0000_0000_c000_0000_0000_0046);
const IPID: GUID = GUID::from_u128(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f);
const CID: GUID = GUID::from_u128(0x1111_1111_2222_3333_4444_5555_5555_5555);
const CLSID: GUID = GUID::from_u128(0xa1b2_c3d4_1111_2222_3333_4444_5555_6666);
const EXT1: GUID = GUID::from_u128(0x6f7e_8d9c_0001_0002_0003_0004_0005_0006);
const EXT2: GUID = GUID::from_u128(0x6f7e_8d9c_0001_0002_0003_0004_0005_0007);

fn hex(parts: &[&str]) -> Vec<u8> {
    let s: String = parts.concat();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn std_objref() -> StdObjref {
    StdObjref {
        flags: SORF_NOPING,
        public_refs: 5,
        oxid: 0x1122_3344_5566_7788,
        oid: 0x99AA_BBCC_DDEE_FF00,
        ipid: IPID,
    }
}

fn dsa() -> DualStringArray {
    DualStringArray {
        string_bindings: vec![
            StringBinding {
                tower_id: 7,
                network_addr: "127.0.0.1[49152]".into(),
            },
            StringBinding {
                tower_id: 7,
                network_addr: "localhost".into(),
            },
        ],
        security_bindings: vec![
            SecurityBinding::new(10, ""),
            SecurityBinding::new(16, "host/x"),
        ],
    }
}

fn objref_standard() -> Objref {
    Objref {
        iid: IID_IUNKNOWN,
        form: ObjrefForm::Standard {
            std: std_objref(),
            res_addr: dsa(),
        },
    }
}

fn objref_handler() -> Objref {
    Objref {
        iid: IID_IUNKNOWN,
        form: ObjrefForm::Handler {
            std: std_objref(),
            clsid: CLSID,
            res_addr: dsa(),
        },
    }
}

fn objref_custom() -> Objref {
    Objref {
        iid: IID_IUNKNOWN,
        form: ObjrefForm::Custom {
            clsid: CLSID,
            cb_extension: 0,
            reserved: 0xDEAD_BEEF,
            data: (1..12).collect(),
        },
    }
}

fn this_one_extension() -> OrpcThis {
    OrpcThis {
        extensions: vec![OrpcExtent {
            id: EXT1,
            data: b"hello".to_vec(),
        }],
        ..OrpcThis::new(CID)
    }
}

fn that_two_extensions() -> OrpcThat {
    OrpcThat {
        flags: 0,
        extensions: vec![
            OrpcExtent {
                id: EXT1,
                data: (1..=8).collect(),
            },
            OrpcExtent {
                id: EXT2,
                data: vec![],
            },
        ],
    }
}

/// One of the wire types, so every vector goes through the same checks.
#[derive(Clone, Debug, PartialEq)]
enum Any {
    Std(StdObjref),
    Dsa(DualStringArray),
    Objref(Objref),
    This(OrpcThis),
    That(OrpcThat),
    Mip(MInterfacePointer),
}

impl Any {
    fn encode(&self) -> Vec<u8> {
        match self {
            Any::Std(v) => v.encode(),
            Any::Dsa(v) => v.encode().unwrap(),
            Any::Objref(v) => v.encode().unwrap(),
            Any::This(v) => v.encode().unwrap(),
            Any::That(v) => v.encode().unwrap(),
            Any::Mip(v) => v.encode().unwrap(),
        }
    }

    /// Decodes bytes as the same kind; a value that does not take all the bytes is an
    /// error here (each vector is exactly one value).
    fn decode_like(&self, b: &[u8]) -> Result<Any, String> {
        let whole = |used: usize| {
            if used == b.len() {
                Ok(())
            } else {
                Err(format!("took {used} of {} bytes", b.len()))
            }
        };
        Ok(match self {
            Any::Std(_) => Any::Std(StdObjref::decode(b).map_err(|e| e.to_string())?),
            Any::Dsa(_) => {
                let (v, used) = DualStringArray::decode(b).map_err(|e| e.to_string())?;
                whole(used)?;
                Any::Dsa(v)
            }
            Any::Objref(_) => Any::Objref(Objref::decode(b).map_err(|e| e.to_string())?),
            Any::This(_) => {
                let (v, used) = OrpcThis::decode(b).map_err(|e| e.to_string())?;
                whole(used)?;
                Any::This(v)
            }
            Any::That(_) => {
                let (v, used) = OrpcThat::decode(b).map_err(|e| e.to_string())?;
                whole(used)?;
                Any::That(v)
            }
            Any::Mip(_) => {
                let (v, used) = MInterfacePointer::decode(b).map_err(|e| e.to_string())?;
                whole(used)?;
                Any::Mip(v)
            }
        })
    }
}

fn vectors() -> Vec<(&'static str, Any, Vec<u8>)> {
    vec![
        ("stdobjref", Any::Std(std_objref()), hex(STDOBJREF)),
        ("dualstringarray", Any::Dsa(dsa()), hex(DUALSTRINGARRAY)),
        (
            "objref_standard",
            Any::Objref(objref_standard()),
            hex(OBJREF_STANDARD),
        ),
        (
            "objref_handler",
            Any::Objref(objref_handler()),
            hex(OBJREF_HANDLER),
        ),
        (
            "objref_custom",
            Any::Objref(objref_custom()),
            hex(OBJREF_CUSTOM),
        ),
        (
            "orpcthis_plain",
            Any::This(OrpcThis::new(CID)),
            hex(ORPCTHIS_PLAIN),
        ),
        (
            "orpcthis_one_extension",
            Any::This(this_one_extension()),
            hex(ORPCTHIS_ONE_EXTENSION),
        ),
        (
            "orpcthat_plain",
            Any::That(OrpcThat::default()),
            hex(ORPCTHAT_PLAIN),
        ),
        (
            "orpcthat_two_extensions",
            Any::That(that_two_extensions()),
            hex(ORPCTHAT_TWO_EXTENSIONS),
        ),
        (
            "minterfacepointer",
            Any::Mip(MInterfacePointer::from_objref(&objref_standard()).unwrap()),
            hex(MINTERFACEPOINTER),
        ),
    ]
}

#[test]
fn we_encode_what_impacket_encodes() {
    for (name, value, bytes) in vectors() {
        assert_eq!(to_hex(&value.encode()), to_hex(&bytes), "{name}");
    }
}

#[test]
fn we_decode_what_impacket_encodes() {
    for (name, value, bytes) in vectors() {
        assert_eq!(value.decode_like(&bytes), Ok(value.clone()), "{name}");
    }
}

#[test]
fn every_truncation_is_refused() {
    for (name, value, bytes) in vectors() {
        for n in 0..bytes.len() {
            let got = value.decode_like(&bytes[..n]);
            // A custom OBJREF's data runs to the end: a shorter one past the fixed
            // fields is another valid OBJREF, never the original.
            let custom_tail = name == "objref_custom" && n >= 48;
            if custom_tail {
                assert_ne!(got, Ok(value.clone()), "{name} cut to {n}");
            } else {
                assert!(got.is_err(), "{name} cut to {n} bytes decoded: {got:?}");
            }
        }
    }
}

/// Flips every byte of every vector: no panic, and what still decodes is a fixed point
/// of encoding (decode(encode(v)) == v).
#[test]
fn any_single_corruption_is_refused_or_consistent() {
    for (name, value, bytes) in vectors() {
        for i in 0..bytes.len() {
            for x in [0xFF, 0x01, 0x80] {
                let mut b = bytes.clone();
                b[i] ^= x;
                if let Ok(v) = value.decode_like(&b) {
                    let again = v.encode();
                    assert_eq!(value.decode_like(&again), Ok(v), "{name} byte {i} ^ {x:#x}");
                }
            }
        }
    }
}

fn patched(parts: &[&str], at: usize, with: &[u8]) -> Vec<u8> {
    let mut b = hex(parts);
    b[at..at + with.len()].copy_from_slice(with);
    b
}

#[test]
fn named_corruptions_are_refused() {
    let objref = Any::Objref(objref_standard());
    let dsa = Any::Dsa(dsa());
    let this = Any::This(this_one_extension());
    let mip = Any::Mip(MInterfacePointer::default());
    let cases: Vec<(&str, &Any, Vec<u8>)> = vec![
        ("signature", &objref, patched(OBJREF_STANDARD, 0, b"MEOX")),
        ("flags 3", &objref, patched(OBJREF_STANDARD, 4, &[3])),
        ("flags 0x10", &objref, patched(OBJREF_STANDARD, 4, &[0x10])),
        (
            "bytes after",
            &objref,
            [hex(OBJREF_STANDARD), vec![0]].concat(),
        ),
        // wSecurityOffset (0x1e) beyond wNumEntries (0x2b).
        (
            "security offset",
            &dsa,
            patched(DUALSTRINGARRAY, 2, &[0x2c]),
        ),
        // wSecurityOffset cuts the second string binding short.
        (
            "string past offset",
            &dsa,
            patched(DUALSTRINGARRAY, 2, &[0x1a]),
        ),
        // The security list's terminator (the last unit) made non-zero.
        ("no terminator", &dsa, patched(DUALSTRINGARRAY, 88, &[1, 0])),
        // A lone high surrogate in the first address.
        ("utf-16", &dsa, patched(DUALSTRINGARRAY, 6, &[0x00, 0xD8])),
        // The extent array's conformance (2) made 4: not (size+1)&~1.
        (
            "array count",
            &this,
            patched(ORPCTHIS_ONE_EXTENSION, 44, &[4]),
        ),
        // ORPC_EXTENT_ARRAY.size 1 made 2: (2+1)&~1 is still 2, but one extent is NULL.
        (
            "array size",
            &this,
            patched(ORPCTHIS_ONE_EXTENSION, 32, &[2]),
        ),
        // The extent's size 5 made 9: 16 data bytes would be due, 8 come.
        (
            "extent size",
            &this,
            patched(ORPCTHIS_ONE_EXTENSION, 76, &[9]),
        ),
        // MInterfacePointer: conformance 0x9a, ulCntData made 0x99.
        ("ulCntData", &mip, patched(MINTERFACEPOINTER, 4, &[0x99])),
    ];
    for (name, kind, bytes) in cases {
        let got = kind.decode_like(&bytes);
        assert!(got.is_err(), "{name}: {got:?}");
    }
}

#[test]
fn an_extended_objref_checks_its_signatures_and_rounding() {
    let o = Objref {
        iid: IID_IUNKNOWN,
        form: ObjrefForm::Extended {
            std: std_objref(),
            res_addr: DualStringArray::default(),
            element: DataElement {
                data_id: EXT1,
                data: vec![7; 5],
            },
        },
    };
    let b = o.encode().unwrap();
    assert_eq!(Objref::decode(&b), Ok(o));
    // std ends at 64: Signature1, the 12-byte empty DUALSTRINGARRAY, nElms, Signature2,
    // then dataID (16), cbSize, cbRounded.
    for (at, why) in [
        (64, "Signature1"),
        (80, "nElms"),
        (84, "Signature2"),
        (108, "cbRounded"),
    ] {
        let mut c = b.clone();
        c[at] ^= 1;
        assert!(Objref::decode(&c).is_err(), "{why}");
    }
}

#[test]
fn orpcthis_tells_where_the_parameters_start() {
    let mut stub = hex(ORPCTHIS_ONE_EXTENSION);
    let len = stub.len();
    stub.extend_from_slice(&[0xAA; 12]);
    let (this, used) = OrpcThis::decode(&stub).unwrap();
    assert_eq!((this, used), (this_one_extension(), len));
}

// ---- impacket reads our bytes ----

fn wire_python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("COMIDL_WIRE_PYTHON") {
        return p.into();
    }
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wire/venv/bin/python");
    assert!(
        p.exists(),
        "no wire venv at {}: run tests/wire/setup.sh or set COMIDL_WIRE_PYTHON",
        p.display()
    );
    p
}

/// impacket's WIDESTR finds a string's end by searching for three zero bytes, so it
/// cannot read an empty principal name followed by another binding: the bindings
/// impacket reads back all have names.
fn with_named_security(o: Objref) -> Objref {
    let named = |d: &mut DualStringArray| d.security_bindings[0].principal_name = "NT".into();
    let mut o = o;
    match &mut o.form {
        ObjrefForm::Standard { res_addr, .. } | ObjrefForm::Handler { res_addr, .. } => {
            named(res_addr)
        }
        _ => {}
    }
    o
}

#[test]
#[ignore = "needs the wire harness's Python with impacket: tests/wire/run.sh runs it"]
fn impacket_decodes_our_bytes() {
    let python = wire_python();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/wire/orpc_vectors.py");
    let std = r#""std": {"cPublicRefs": 5, "flags": 4096, "ipid": "00010203-0405-0607-0809-0A0B0C0D0E0F", "oid": 11072869122414935808, "oxid": 1234605616436508552}"#;
    let res = r#""saResAddr": {"security": [[10, 65535, "NT"], [16, 65535, "host/x"]], "strings": [[7, "127.0.0.1[49152]"], [7, "localhost"]], "wNumEntries": 45, "wSecurityOffset": 30}"#;
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "objref",
            with_named_security(objref_standard()).encode().unwrap(),
            format!(
                r#"{{"flags": 1, "iid": "00000000-0000-0000-C000-000000000046", {res}, "signature": 1464812877, {std}}}"#
            ),
        ),
        (
            "objref",
            with_named_security(objref_handler()).encode().unwrap(),
            format!(
                r#"{{"clsid": "A1B2C3D4-1111-2222-3333-444455556666", "flags": 2, "iid": "00000000-0000-0000-C000-000000000046", {res}, "signature": 1464812877, {std}}}"#
            ),
        ),
        (
            "objref",
            objref_custom().encode().unwrap(),
            r#"{"cbExtension": 0, "clsid": "A1B2C3D4-1111-2222-3333-444455556666", "flags": 4, "iid": "00000000-0000-0000-C000-000000000046", "pObjectData": "0102030405060708090a0b", "reserved": 3735928559, "signature": 1464812877}"#.into(),
        ),
        (
            "orpcthis",
            this_one_extension().encode().unwrap(),
            r#"{"cid": "11111111-2222-3333-4444-555555555555", "extensions": {"extent": [{"data": "68656c6c6f", "id": "6F7E8D9C-0001-0002-0003-000400050006", "size": 5}, null], "size": 1}, "flags": 0, "reserved1": 0, "version": [5, 7]}"#.into(),
        ),
        (
            "orpcthat",
            that_two_extensions().encode().unwrap(),
            r#"{"extensions": {"extent": [{"data": "0102030405060708", "id": "6F7E8D9C-0001-0002-0003-000400050006", "size": 8}, {"data": "", "id": "6F7E8D9C-0001-0002-0003-000400050007", "size": 0}], "size": 2}, "flags": 0}"#.into(),
        ),
        (
            "orpcthat",
            OrpcThat::default().encode().unwrap(),
            r#"{"extensions": null, "flags": 0}"#.into(),
        ),
        (
            "minterfacepointer",
            MInterfacePointer::from_objref(&objref_custom())
                .unwrap()
                .encode()
                .unwrap(),
            format!(
                r#"{{"abData": "{}", "ulCntData": 59}}"#,
                to_hex(&objref_custom().encode().unwrap())
            ),
        ),
    ];
    for (kind, bytes, want) in cases {
        let out = Command::new(&python)
            .arg(&script)
            .args(["decode", kind, &to_hex(&bytes)])
            .output()
            .expect("run the wire venv's python");
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(got.trim(), want, "{kind}");
    }
}
