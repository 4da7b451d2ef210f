//! The calculator example's interfaces and classes (IAdder, ICalculator, Adder,
//! Calculator), generated from `../calculator.idl`.

comidl_runtime::include_idl!(mod generated = "calculator");

pub use generated::*;

/// The type library of calculator.idl (`CalculatorLib`) as ECMA-335 metadata: the .winmd
/// comidl-build wrote beside the bindings. The Calculator module carries it, so
/// registering the module registers the library too.
pub const TYPE_LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/calculator.winmd"));
