//! `comidl-runtime-dcom`: ORPC, the object layer of DCOM (MS-DCOM), above `rpc` and `ndr`.
//!
//! This first part holds ORPC's wire types, each in a file of its own:
//!
//! - [`packed`]: the little-endian, unaligned byte layout of hand-marshalled structures
//!   (an OBJREF travels as bytes inside an `MInterfacePointer`, not as NDR), and its error.
//! - [`dualstring`]: DUALSTRINGARRAY (MS-DCOM 2.2.19): string and security bindings.
//! - [`objref`]: OBJREF "MEOW" in its four forms (2.2.18), STDOBJREF, DATAELEMENT.
//! - [`desc`]: static NDR descriptions of ORPCTHIS, ORPCTHAT, ORPC_EXTENT(_ARRAY) and
//!   MInterfacePointer for the `ndr` engine, with their C layouts; generated proxies and
//!   stubs put ORPCTHIS/ORPCTHAT ahead of a method's parameters with these.
//! - [`orpc`]: owned ORPCTHIS / ORPCTHAT / MInterfacePointer values, encoded and decoded
//!   by the engine from those descriptions.
//!
//! Decoding trusts no byte: every count and offset is checked against the bytes there
//! are before anything is allocated, and no input makes it panic.

pub mod desc;
pub mod dualstring;
pub mod objref;
pub mod orpc;
pub mod packed;

pub use dualstring::{DualStringArray, SecurityBinding, StringBinding};
pub use objref::{DataElement, Objref, ObjrefForm, StdObjref};
pub use orpc::{ComVersion, MInterfacePointer, OrpcExtent, OrpcThat, OrpcThis};
pub use packed::WireError;
