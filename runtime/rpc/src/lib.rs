//! `comidl-runtime-rpc`: DCE/RPC's connection-oriented protocol (C706 chapter 12, MS-RPCE
//! 2.2.2), the layer that carries the NDR engine's stub data between processes and
//! machines. So far: string bindings ([`binding`]), a client connection that is the NDR layer's
//! `Channel` ([`client`]), the PDUs ([`pdu`]), parsed without trusting a byte and encoded as
//! Windows, Samba and Wireshark read them, and fragmentation and reassembly
//! ([`fragment`]), and the endpoint mapper ([`epm`]: towers, the client's `ept_map`,
//! `ept_lookup` and `resolve`, and the server's `EndpointMap`). Transports and the server
//! build on them.
//!
//! Like the `ndr` layer it knows nothing of COM objects: a plain MS-RPC client or server
//! uses it without the COM library.

pub mod binding;
pub mod client;
pub mod fragment;
pub mod handle;
pub mod pdu;
pub mod server;
pub mod transport;

pub use binding::{Protseq, StringBinding};
pub use handle::{BindingHandle, ClientOptions};
pub use pdu::{Body, Header, PacketType, Pdu, PduError, SyntaxId};
pub use server::{Server, ServerLimits};

pub mod epm;

/// The paths generated code names (`rt::GUID`, `rt::ndr::...`), for the bindings this
/// crate generates from its own IDL (the runtime path `crate::rt`, see
/// tests/regen-runtime-bindings.sh): the core layer's items and the NDR engine.
#[doc(hidden)]
pub mod rt {
    pub use comidl_runtime_core::*;
    pub use comidl_runtime_ndr as ndr;
}
