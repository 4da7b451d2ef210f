//! Writes the `dcomd` target's seeds into a corpus directory: one valid request per
//! operation the service serves, made by the generated clients and caught before it
//! leaves (`cargo run --example dcomd_seeds -- corpus/dcomd`).

use std::cell::RefCell;

use comidl_runtime::GUID;
use comidl_runtime::dcom::ComVersion;
use comidl_runtime::dcom::activation::bindings::{
    IActivation, IComidlMachineResolver, IRemoteSCMActivator, owned,
};
use comidl_runtime::dcom::activation::props::ActivationRequest;
use comidl_runtime::dcom::bindings::IObjectExporter;
use comidl_runtime::ndr::{CallError, Channel, Interface};

/// A channel that keeps the request and answers nothing.
#[derive(Default)]
struct Catch(RefCell<Option<(u16, Vec<u8>)>>);

impl Channel for Catch {
    fn call(&self, _i: &Interface, opnum: u16, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        *self.0.borrow_mut() = Some((opnum, request));
        Err(CallError::Transport(1727))
    }
}

fn g(v: u128) -> owned::GUID {
    let g = GUID::from_u128(v);
    owned::GUID {
        Data1: g.data1,
        Data2: g.data2,
        Data3: g.data3,
        Data4: g.data4.to_vec(),
    }
}

fn main() {
    let dir = std::env::args().nth(1).expect("a corpus directory");
    std::fs::create_dir_all(&dir).expect("the directory");
    let mut seeds: Vec<(&str, u8, Catch)> = Vec::new();
    let save = |seeds: &mut Vec<(&str, u8, Catch)>, name, which, c| seeds.push((name, which, c));

    let c = Catch::default();
    let _ = IObjectExporter::new(&c).resolve_oxid2(&0x1122_3344_5566_7788, 1, &[7]);
    save(&mut seeds, "resolve-oxid2", 0, c);
    let c = Catch::default();
    let _ = IObjectExporter::new(&c).complex_ping(&mut 0, 1, 2, 1, &[1, 2], &[3]);
    save(&mut seeds, "complex-ping", 0, c);
    let c = Catch::default();
    let _ = IObjectExporter::new(&c).simple_ping(&5);
    save(&mut seeds, "simple-ping", 0, c);
    let c = Catch::default();
    let _ = IObjectExporter::new(&c).server_alive2();
    save(&mut seeds, "server-alive2", 0, c);

    let props = ActivationRequest {
        clsid: GUID::from_u128(0x874a7518_4fe3_4df4_8596_848ad05c5c3d),
        iids: vec![GUID::from_u128(0xa78d304e_6e93_47f0_88d8_2b1684d08dde)],
        client_version: ComVersion::CURRENT,
        protseqs: vec![7],
        imp_level: 2,
        server_name: Some("host".into()),
        from_instance: false,
    }
    .encode()
    .expect("a request");
    let this = owned::ORPCTHIS {
        version: owned::COMVERSION {
            MajorVersion: 5,
            MinorVersion: 7,
        },
        flags: 0,
        reserved1: 0,
        cid: g(1),
        extensions: None,
    };
    let mip = Some(owned::MInterfacePointer {
        ulCntData: props.len() as u32,
        abData: props,
    });
    let c = Catch::default();
    let _ = IRemoteSCMActivator::new(&c).remote_create_instance(&this, &None, &mip);
    save(&mut seeds, "remote-create-instance", 1, c);
    let c = Catch::default();
    let _ = IRemoteSCMActivator::new(&c).remote_get_class_object(&this, &mip);
    save(&mut seeds, "remote-get-class-object", 1, c);
    let c = Catch::default();
    let iid = g(0xa78d304e_6e93_47f0_88d8_2b1684d08dde);
    let _ = IActivation::new(&c).remote_activation(
        &this,
        &g(0x874a7518_4fe3_4df4_8596_848ad05c5c3d),
        None,
        &None,
        2,
        0,
        1,
        &Some(vec![iid]),
        1,
        &[7],
    );
    save(&mut seeds, "remote-activation", 2, c);
    let c = Catch::default();
    let _ = IComidlMachineResolver::new(&c).register_exporter(9, &g(3), 49152);
    save(&mut seeds, "register-exporter", 3, c);
    let c = Catch::default();
    let _ = IComidlMachineResolver::new(&c).pinged_objects(9, 2, &[1, 2]);
    save(&mut seeds, "pinged-objects", 3, c);

    for (name, which, c) in seeds {
        let (opnum, request) = c.0.into_inner().expect("a request was made");
        let mut seed = vec![which, opnum as u8];
        seed.extend_from_slice(&request);
        std::fs::write(
            std::path::Path::new(&dir).join(format!("seed-{name}")),
            seed,
        )
        .expect("written");
    }
}
