//! The machine's DCOM service as a library: what `comidl-dcomd` (src/main.rs) serves, and
//! what the fuzz target drives with hostile requests.
//!
//! - [`machine`]: the machine's registered exporters and the ping sets of remote clients
//!   (and IComidlMachineResolver, the local socket's interface);
//! - [`resolver`]: IObjectExporter on the network port;
//! - [`activator`]: IRemoteSCMActivator and IActivation;
//! - [`addresses`]: the names and addresses the machine is reached by.

pub mod activator;
pub mod addresses;
pub mod machine;
pub mod resolver;

use std::sync::Arc;

use comidl_runtime::dcom::activation::bindings as act;
use comidl_runtime::ndr::Fault;

/// The interfaces the service serves, as [`Handlers::serve`] numbers them: the first
/// [`NETWORK_INTERFACES`] on its TCP port, the last on its local socket.
pub static INTERFACES: [&comidl_runtime::ndr::Interface; 4] = [
    &comidl_runtime::dcom::bindings::ndr::IObjectExporter_INTERFACE,
    &act::ndr::IRemoteSCMActivator_INTERFACE,
    &act::ndr::IActivation_INTERFACE,
    &act::ndr::IComidlMachineResolver_INTERFACE,
];

/// How many of [`INTERFACES`] are served on the network port.
pub const NETWORK_INTERFACES: usize = 3;

/// The service's handlers over one machine's state.
pub struct Handlers {
    pub machine: Arc<machine::Machine>,
    pub resolver: resolver::Resolver,
    pub activator: activator::Activator,
}

impl Handlers {
    pub fn new(machine: Arc<machine::Machine>) -> Handlers {
        Handlers {
            resolver: resolver::Resolver(machine.clone()),
            activator: activator::Activator(machine.clone()),
            machine,
        }
    }

    /// Serves one request of the interface `which` names (its index in [`INTERFACES`]) as
    /// the service does.
    pub fn serve(&self, which: u8, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Fault> {
        match which % 4 {
            0 => comidl_runtime::dcom::bindings::IObjectExporter_serve(&self.resolver, opnum, stub),
            1 => act::IRemoteSCMActivator_serve(&self.activator, opnum, stub),
            2 => act::IActivation_serve(&self.activator, opnum, stub),
            _ => act::IComidlMachineResolver_serve(&*self.machine, opnum, stub),
        }
    }
}
