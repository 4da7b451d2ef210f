//! Round trips of every ORPC wire type through its encoder and decoder.

use comidl_runtime_core::GUID;
use comidl_runtime_dcom::objref::{OBJREF_CUSTOM, SORF_NOPING};
use comidl_runtime_dcom::{
    ComVersion, DataElement, DualStringArray, MInterfacePointer, Objref, ObjrefForm, OrpcExtent,
    OrpcThat, OrpcThis, SecurityBinding, StdObjref, StringBinding,
};

fn g(n: u128) -> GUID {
    GUID::from_u128(n)
}

fn bindings() -> DualStringArray {
    DualStringArray {
        string_bindings: vec![
            StringBinding {
                tower_id: 7,
                network_addr: "127.0.0.1[49152]".into(),
            },
            StringBinding {
                tower_id: 7,
                network_addr: "héllo-ü".into(),
            },
        ],
        security_bindings: vec![
            SecurityBinding::new(10, ""),
            SecurityBinding::new(9, "host/x"),
        ],
    }
}

fn std_objref() -> StdObjref {
    StdObjref {
        flags: SORF_NOPING,
        public_refs: 5,
        oxid: 0x1122_3344_5566_7788,
        oid: 0x99AA_BBCC_DDEE_FF00,
        ipid: g(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f),
    }
}

#[test]
fn dualstringarray_round_trips() {
    for d in [DualStringArray::default(), bindings()] {
        let bytes = d.encode().unwrap();
        let (back, used) = DualStringArray::decode(&bytes).unwrap();
        assert_eq!(back, d);
        assert_eq!(used, bytes.len());
    }
}

#[test]
fn the_smallest_dualstringarray_is_four_zero_units() {
    let bytes = DualStringArray::default().encode().unwrap();
    assert_eq!(bytes, [4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn every_objref_form_round_trips() {
    let forms = [
        ObjrefForm::Standard {
            std: std_objref(),
            res_addr: bindings(),
        },
        ObjrefForm::Handler {
            std: std_objref(),
            clsid: g(42),
            res_addr: bindings(),
        },
        ObjrefForm::Custom {
            clsid: g(43),
            cb_extension: 0,
            reserved: 0xdead_beef,
            data: vec![1, 2, 3, 4, 5],
        },
        ObjrefForm::Extended {
            std: std_objref(),
            res_addr: DualStringArray::default(),
            element: DataElement {
                data_id: g(44),
                data: vec![9; 13],
            },
        },
    ];
    for form in forms {
        let o = Objref {
            iid: g(0x0000_0000_0000_0000_c000_0000_0000_0046),
            form,
        };
        let bytes = o.encode().unwrap();
        assert_eq!(&bytes[..4], b"MEOW");
        assert_eq!(Objref::decode(&bytes).unwrap(), o);
        let mip = MInterfacePointer::from_objref(&o).unwrap();
        let wire = mip.encode().unwrap();
        let (back, used) = MInterfacePointer::decode(&wire).unwrap();
        assert_eq!(used, wire.len());
        assert_eq!(back.objref().unwrap(), o);
    }
    let _ = OBJREF_CUSTOM;
}

fn extents(n: usize) -> Vec<OrpcExtent> {
    (0..n)
        .map(|i| OrpcExtent {
            id: g(100 + i as u128),
            data: (0..i * 3).map(|b| b as u8).collect(),
        })
        .collect()
}

#[test]
fn orpcthis_and_orpcthat_round_trip_with_any_number_of_extensions() {
    for n in 0..5 {
        let this = OrpcThis {
            version: ComVersion { major: 5, minor: 7 },
            flags: 0,
            reserved1: 0,
            cid: g(0xabcdef),
            extensions: extents(n),
        };
        let bytes = this.encode().unwrap();
        let (back, used) = OrpcThis::decode(&bytes).unwrap();
        assert_eq!((back, used), (this, bytes.len()));
        let that = OrpcThat {
            flags: 3,
            extensions: extents(n),
        };
        let bytes = that.encode().unwrap();
        let (back, used) = OrpcThat::decode(&bytes).unwrap();
        assert_eq!((back, used), (that, bytes.len()));
    }
}

#[test]
fn a_plain_orpcthis_is_32_bytes() {
    let bytes = OrpcThis::new(g(1)).encode().unwrap();
    assert_eq!(bytes.len(), 32);
    assert_eq!(&bytes[..4], [5, 0, 7, 0]);
    assert_eq!(&bytes[28..], [0, 0, 0, 0]);
}
