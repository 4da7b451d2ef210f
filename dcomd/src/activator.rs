//! Remote activation (MS-DCOM 3.1.2.5.2): IRemoteSCMActivator and IActivation on the
//! service's port. A request is served as a local client of the machine would be: the
//! class's LocalServer32 found (or started) through local activation, the object made
//! by its class object, and then handed to the remote client by the server process's own
//! exporter (`dcom::proxy::export_for_remote`), whose OXID this service resolves.

use std::sync::Arc;

use comidl_runtime::dcom::activation::bindings::{
    IActivation_Handler, IRemoteSCMActivator_Handler, owned,
};
use comidl_runtime::dcom::activation::props::{
    ActivationReply, ActivationRequest, InterfaceResult, ScmReply, guid_of, owned_bindings,
    owned_guid,
};
use comidl_runtime::dcom::{COM_VERSION, machine};
use comidl_runtime::ndr::Fault;
use comidl_runtime::rpc::auth::AuthnLevel;
use comidl_runtime::rpc::server::context;
use comidl_runtime::{
    CLSCTX_LOCAL_SERVER, E_ACCESSDENIED, E_INVALIDARG, E_NOTIMPL, GUID, HRESULT, IClassFactory,
    IUnknown, RPC_S_SERVER_UNAVAILABLE_HR, Result,
};

use crate::machine::Machine;

pub struct Activator(pub Arc<Machine>);

/// The authentication level clients should use with this machine's exporters: the
/// machine's minimum.
pub fn authn_hint(m: &Machine) -> u32 {
    m.settings.min_level as u32
}

fn that() -> owned::ORPCTHAT {
    owned::ORPCTHAT {
        flags: 0,
        extensions: None,
    }
}

fn interface_pointer(bytes: Vec<u8>) -> Box<owned::MInterfacePointer> {
    Box::new(owned::MInterfacePointer {
        ulCntData: bytes.len() as u32,
        abData: bytes,
    })
}

impl Activator {
    /// Activates `clsid` for a client on another machine: the class object itself
    /// (`class_object`) or a new instance, as each of `iids`.
    fn activate(&self, clsid: &GUID, iids: &[GUID], class_object: bool) -> Result<ActivationReply> {
        self.may_launch(clsid)?;
        let factory: comidl_runtime::ComPtr<IUnknown> =
            comidl_runtime::get_class_object(clsid, CLSCTX_LOCAL_SERVER)?;
        let object = if class_object {
            factory
        } else {
            factory
                .cast::<IClassFactory>()?
                .create_instance::<IUnknown>(None)?
        };
        // SAFETY: `object` is a live interface pointer.
        let (oxid, results) =
            unsafe { comidl_runtime::dcom::proxy::export_for_remote(object.as_raw(), iids)? };
        drop(object);
        let exporter = self.0.exporter(oxid).ok_or_else(|| {
            // The server did not join this service (it runs with COMIDL_DCOM_SERVICE=off,
            // or started before the service): other machines cannot reach it.
            eprintln!("comidl-dcomd: the server of {clsid} is not registered with the service");
            RPC_S_SERVER_UNAVAILABLE_HR
        })?;
        Ok(ActivationReply {
            results: iids
                .iter()
                .zip(results)
                .map(|(iid, (hr, objref))| InterfaceResult {
                    iid: *iid,
                    hr,
                    objref,
                })
                .collect(),
            scm: ScmReply {
                oxid,
                bindings: self.0.exporter_bindings(exporter.port),
                rem_unknown: exporter.rem_unknown,
                authn_hint: authn_hint(&self.0),
                version: COM_VERSION,
            },
        })
    }

    /// Both IRemoteSCMActivator methods: the reply's HRESULT and properties.
    fn serve(
        &self,
        properties: Option<owned::MInterfacePointer>,
        class_object: bool,
    ) -> (i32, Option<Box<owned::MInterfacePointer>>) {
        if let Err(hr) = self.admitted() {
            return (hr.0, None);
        }
        let Some(props) = properties else {
            return (E_INVALIDARG.0, None);
        };
        let request = match ActivationRequest::decode(&props.abData) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("comidl-dcomd: an activation request refused: {e}");
                return (E_INVALIDARG.0, None);
            }
        };
        if request.from_instance {
            return (E_NOTIMPL.0, None);
        }
        let iids: &[GUID] = if class_object {
            &request.iids[..1]
        } else {
            &request.iids
        };
        let reply = self
            .activate(&request.clsid, iids, class_object)
            .and_then(|r| r.encode().map_err(|_| comidl_runtime::E_UNEXPECTED));
        match reply {
            Ok(bytes) => (0, Some(interface_pointer(bytes))),
            Err(hr) => (hr.0, None),
        }
    }
}

type Reply = (i32, owned::ORPCTHAT, Option<Box<owned::MInterfacePointer>>);

impl IRemoteSCMActivator_Handler for Activator {
    fn opnum0_not_used_on_wire(&self) -> std::result::Result<(), Fault> {
        Err(Fault::OP_RANGE)
    }

    fn opnum1_not_used_on_wire(&self) -> std::result::Result<(), Fault> {
        Err(Fault::OP_RANGE)
    }

    fn opnum2_not_used_on_wire(&self) -> std::result::Result<(), Fault> {
        Err(Fault::OP_RANGE)
    }

    fn remote_get_class_object(
        &self,
        _orpcthis: owned::ORPCTHIS,
        properties: Option<owned::MInterfacePointer>,
    ) -> std::result::Result<Reply, Fault> {
        let (hr, out) = self.serve(properties, true);
        Ok((hr, that(), out))
    }

    fn remote_create_instance(
        &self,
        _orpcthis: owned::ORPCTHIS,
        _outer: Option<owned::MInterfacePointer>,
        properties: Option<owned::MInterfacePointer>,
    ) -> std::result::Result<Reply, Fault> {
        let (hr, out) = self.serve(properties, false);
        Ok((hr, that(), out))
    }
}

impl Activator {
    /// Whether the calling client may activate at all: its call's authentication level
    /// (NTLM, checked by the RPC server against the machine's users) is at least the
    /// machine's minimum.
    fn admitted(&self) -> Result<()> {
        let level = context::current().map_or(AuthnLevel::None, |c| c.authn_level);
        if level >= self.0.settings.min_level {
            Ok(())
        } else {
            Err(E_ACCESSDENIED)
        }
    }

    /// Whether the caller may start (or use) the class's server: its application's
    /// `LaunchUsers`, when it has one (see [`machine::UserList`]).
    fn may_launch(&self, clsid: &GUID) -> Result<()> {
        let user = context::current().and_then(|c| c.user);
        let list = comidl_runtime::registry_view()?.app_value(clsid, "LaunchUsers");
        match list {
            Some(l) if !machine::UserList::parse(&l).allows(user.as_deref()) => Err(E_ACCESSDENIED),
            _ => Ok(()),
        }
    }
}

type Activated = (
    u32,
    owned::ORPCTHAT,
    u64,
    Option<Box<owned::DUALSTRINGARRAY>>,
    owned::GUID,
    u32,
    owned::COMVERSION,
    i32,
    Vec<Option<Box<owned::MInterfacePointer>>>,
    Vec<i32>,
);

impl IActivation_Handler for Activator {
    fn remote_activation(
        &self,
        _orpcthis: owned::ORPCTHIS,
        clsid: owned::GUID,
        object_name: Option<String>,
        storage: Option<owned::MInterfacePointer>,
        _imp_level: u32,
        _mode: u32,
        interfaces: u32,
        iids: Option<Vec<owned::GUID>>,
        _c_protseqs: u16,
        _protseqs: Vec<u16>,
    ) -> std::result::Result<Activated, Fault> {
        let n = interfaces as usize;
        let version = owned::COMVERSION {
            MajorVersion: COM_VERSION.major,
            MinorVersion: COM_VERSION.minor,
        };
        let failed = |hr: HRESULT| {
            (
                0,
                that(),
                0,
                None,
                owned_guid(&GUID::default()),
                0,
                version.clone(),
                hr.0,
                vec![None; n],
                vec![hr.0; n],
            )
        };
        if let Err(hr) = self.admitted() {
            return Ok(failed(hr));
        }
        if object_name.is_some() || storage.is_some() {
            return Ok(failed(E_NOTIMPL));
        }
        let iids: Option<Vec<GUID>> = iids
            .unwrap_or_default()
            .iter()
            .map(|g| guid_of(g).ok())
            .collect();
        let (Ok(clsid), Some(iids)) = (guid_of(&clsid), iids) else {
            return Err(Fault::BAD_STUB_DATA);
        };
        if iids.len() != n || n == 0 {
            return Err(Fault::BAD_STUB_DATA);
        }
        let reply = match self.activate(&clsid, &iids, false) {
            Ok(r) => r,
            Err(hr) => return Ok(failed(hr)),
        };
        Ok((
            0,
            that(),
            reply.scm.oxid,
            owned_bindings(&reply.scm.bindings).ok().map(Box::new),
            owned_guid(&reply.scm.rem_unknown),
            reply.scm.authn_hint,
            version,
            0,
            reply
                .results
                .iter()
                .map(|r| r.objref.clone().map(interface_pointer))
                .collect(),
            reply.results.iter().map(|r| r.hr.0).collect(),
        ))
    }
}
