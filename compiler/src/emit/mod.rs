//! Backends: each turns the IR into one kind of output.

#[cfg(feature = "c-header")]
pub mod c;
pub(crate) mod generics;
pub mod reg;
pub mod rust;
#[cfg(feature = "winmd")]
pub mod winmd;
