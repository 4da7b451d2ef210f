//! Backends: each turns the IR into one kind of output.

pub mod reg;
pub mod rust;
