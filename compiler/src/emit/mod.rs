//! Backends: each turns the IR into one kind of output.

pub mod c;
pub(crate) mod generics;
pub mod reg;
pub mod rust;
pub mod winmd;
