//! comidl: a MIDL-dialect IDL compiler for Rust.
//!
//! Data flows one way: text → [`preprocess`] → [`syntax`] (pest grammar → AST with spans)
//! → [`sema`] (imports, names, constants, attributes) → [`ir`], which every backend reads.
//! Problems are [`diag::Diagnostic`] values; only drivers print them.

// pest's generated parser, built without pest's `std` feature (see syntax/mod.rs), names
// the `alloc` crate from the crate root.
extern crate alloc;

pub mod diag;
pub mod dump;
pub mod emit;
pub mod ir;
pub mod layout;
pub mod preprocess;
pub mod search;
pub mod sema;
pub mod source;
pub mod stdidl;
pub mod syntax;

mod frontend;

pub use frontend::{Options, Outcome, Preprocessed, check, preprocess_file};
