//! `comidl-runtime-rpc`: DCE/RPC's connection-oriented protocol (C706 chapter 12, MS-RPCE
//! 2.2.2), the layer that carries the NDR engine's stub data between processes and
//! machines.
//!
//! - [`pdu`]: the PDUs, parsed without trusting a byte and encoded as Windows, Samba and
//!   Wireshark read them; [`fragment`]: fragmentation and capped reassembly.
//! - [`binding`]: string bindings; [`transport`]: where ncalrpc endpoints live (Unix
//!   sockets in the user's own directory) and who is at the other end.
//! - [`client`]: a connection that is the NDR layer's `Channel`; [`handle`]: binding
//!   handles that connect, resolve, bind lazily and reconnect.
//! - [`server`]: one server for many interfaces and endpoints, context handles, limits.
//! - [`epm`]: the endpoint mapper (towers, `ept_map`, `ept_lookup`, `resolve`, and the
//!   server's `EndpointMap`).
//!
//! Like the `ndr` layer it knows nothing of COM objects: a plain MS-RPC client or server
//! uses it without the COM library.

pub mod auth;
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
