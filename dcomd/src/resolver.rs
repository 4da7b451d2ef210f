//! IObjectExporter on the service's port (MS-DCOM 3.1.2.5.1): the OXID resolver of every
//! exporter of the machine, and the pings of clients on other machines.

use std::sync::Arc;

use comidl_runtime::dcom::bindings::{IObjectExporter_Handler, owned};
use comidl_runtime::dcom::{
    COM_VERSION, orpc_owned_bindings as bindings, orpc_owned_guid as owned_guid,
};
use comidl_runtime::ndr::Fault;

use crate::machine::{Machine, OR_INVALID_OXID};

pub struct Resolver(pub Arc<Machine>);

type Resolved = (u32, Option<Box<owned::DUALSTRINGARRAY>>, owned::GUID, u32);

fn version() -> owned::COMVERSION {
    owned::COMVERSION {
        MajorVersion: COM_VERSION.major,
        MinorVersion: COM_VERSION.minor,
    }
}

impl Resolver {
    fn resolve(&self, oxid: u64) -> Resolved {
        match self.0.exporter(oxid) {
            Some(e) => (
                0,
                bindings(&self.0.exporter_bindings(e.port)),
                owned_guid(&e.rem_unknown),
                crate::activator::authn_hint(&self.0),
            ),
            None => (
                OR_INVALID_OXID,
                None,
                owned_guid(&comidl_runtime::GUID::default()),
                0,
            ),
        }
    }
}

impl IObjectExporter_Handler for Resolver {
    fn resolve_oxid(&self, oxid: u64, _c: u16, _protseqs: Vec<u16>) -> Result<Resolved, Fault> {
        Ok(self.resolve(oxid))
    }

    fn simple_ping(&self, set: u64) -> Result<u32, Fault> {
        Ok(self.0.simple_ping(set))
    }

    fn complex_ping(
        &self,
        set: &mut u64,
        sequence: u16,
        _adds: u16,
        _dels: u16,
        add: Vec<u64>,
        del: Vec<u64>,
    ) -> Result<(u32, u16), Fault> {
        match self.0.complex_ping(*set, sequence, &add, &del) {
            Ok(id) => {
                *set = id;
                Ok((0, 0))
            }
            Err(status) => Ok((status, 0)),
        }
    }

    fn server_alive(&self) -> Result<u32, Fault> {
        Ok(0)
    }

    #[allow(clippy::type_complexity)]
    fn resolve_oxid2(
        &self,
        oxid: u64,
        _c: u16,
        _protseqs: Vec<u16>,
    ) -> Result<
        (
            u32,
            Option<Box<owned::DUALSTRINGARRAY>>,
            owned::GUID,
            u32,
            owned::COMVERSION,
        ),
        Fault,
    > {
        let (status, b, ipid, hint) = self.resolve(oxid);
        Ok((status, b, ipid, hint, version()))
    }

    #[allow(clippy::type_complexity)]
    fn server_alive2(
        &self,
    ) -> Result<
        (
            u32,
            owned::COMVERSION,
            Option<Box<owned::DUALSTRINGARRAY>>,
            u32,
        ),
        Fault,
    > {
        Ok((0, version(), bindings(&self.0.resolver_bindings()), 0))
    }
}
