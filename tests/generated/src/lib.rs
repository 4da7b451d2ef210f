//! The generated Rust of every fixture, one module each (see build.rs). Fixtures import
//! each other by file name, and the backend's default refers to an imported file's items
//! as `super::<stem>`: the sibling module here.

include!(concat!(env!("OUT_DIR"), "/all.rs"));

pub mod call_as_helpers;
pub mod ndr_fuzz;
pub mod orpc_fuzz;
pub mod rpc_fuzz;
pub mod user_routines;
