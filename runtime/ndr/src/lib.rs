//! `comidl-runtime-ndr`: NDR20, the transfer syntax of DCE/RPC and DCOM (C706 chapter 14,
//! MS-RPCE 2.2.5), as one engine interpreting static descriptions (DESIGN.md, "Wire").
//!
//! - [`desc`]: what the compiler emits per interface: types with their C layout and NDR
//!   form, correlation expressions, procedures.
//! - [`Marshaller`] and [`Unmarshaller`]: one value or top-level parameter at a time;
//!   [`proc`]: whole requests and responses for clients and servers ([`ServerCall`]).
//! - [`free`]: freeing what unmarshalling allocated.
//!
//! All of the runtime's pointer work for marshalling lives here. Unmarshalling trusts no
//! byte it receives: see [`unmarshal`]. This layer knows nothing of COM objects or of
//! transports.
//!
//! - [`user`]: the built-in conversions of `[wire_marshal]` Windows types (remotable
//!   handles, CLIPFORMAT, HGLOBAL); any type whose memory form differs from its wire form
//!   is a [`Type::User`] with routines of its own.
//!
//! - [`interface`]: interface pointers travel as OBJREFs the COM library makes and reads
//!   ([`interface::InterfaceMarshal`], lent to the engine per call).
//!
//! Not yet described: multidimensional
//! conformant arrays (fixed inner dimensions are arrays of arrays), pipes.

pub mod call;
pub mod desc;
pub mod error;
pub mod expr;
pub mod free;
pub mod interface;
pub mod layout;
pub mod marshal;
pub mod pickle;
pub mod proc;
pub mod typed;
pub mod unmarshal;
pub mod user;
pub mod value;
pub mod wire;

pub use call::{CallError, Channel, Fault, call, serve};
pub use desc::*;
pub use error::{NdrError, Result};
pub use interface::{InterfaceMarshal, with_interfaces};
pub use marshal::Marshaller;
pub use proc::{
    ServerCall, marshal_request, marshal_request_after, unmarshal_response, unmarshal_response_at,
};
pub use typed::{ContextHandle, NdrValue};
pub use unmarshal::{Limits, Room, Unmarshaller};
pub use value::Value;
