//! Writes the `activation` target's seeds into a corpus directory: a request and a reply
//! as comidl encodes them, each behind its selector byte, and the request's bare blob:
//! `cargo run --example activation_seeds -- corpus/activation`.

use comidl_runtime::GUID;
use comidl_runtime_dcom::activation::props::{
    ActivationReply, ActivationRequest, InterfaceResult, ScmReply,
};
use comidl_runtime_dcom::{ComVersion, DualStringArray, Objref, ObjrefForm, StringBinding};

fn main() {
    let dir = std::env::args().nth(1).expect("a corpus directory");
    std::fs::create_dir_all(&dir).expect("the directory");
    let iid = GUID::from_u128(0xa78d304e_6e93_47f0_88d8_2b1684d08dde);
    let request = ActivationRequest {
        clsid: GUID::from_u128(0x874a7518_4fe3_4df4_8596_848ad05c5c3d),
        iids: vec![iid, GUID::from_u128(0x213e9442_b45b_4459_b00c_43f78df50266)],
        client_version: ComVersion::CURRENT,
        protseqs: vec![7],
        imp_level: 2,
        server_name: Some("10.0.0.2".into()),
        from_instance: false,
    }
    .encode()
    .expect("a request");
    let reply = ActivationReply {
        results: vec![InterfaceResult {
            iid,
            hr: comidl_runtime::HRESULT(0),
            objref: Some(vec![0x4d, 0x45, 0x4f, 0x57, 1, 0, 0, 0]),
        }],
        scm: ScmReply {
            oxid: 0x1122_3344_5566_7788,
            bindings: DualStringArray {
                string_bindings: vec![StringBinding {
                    tower_id: 7,
                    network_addr: "10.0.0.2[49152]".into(),
                }],
                security_bindings: Vec::new(),
            },
            rem_unknown: GUID::from_u128(7),
            authn_hint: 1,
            version: ComVersion::CURRENT,
        },
    }
    .encode()
    .expect("a reply");
    let blob = match Objref::decode(&request).expect("our OBJREF").form {
        ObjrefForm::Custom { data, .. } => data,
        _ => unreachable!("a request is an OBJREF_CUSTOM"),
    };
    for (name, selector, bytes) in [
        ("request", 0u8, request),
        ("reply", 1, reply),
        ("blob", 2, blob),
    ] {
        let mut seed = vec![selector];
        seed.extend_from_slice(&bytes);
        std::fs::write(
            std::path::Path::new(&dir).join(format!("seed-{name}")),
            seed,
        )
        .expect("written");
    }
}
