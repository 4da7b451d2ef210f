//! The calculator example's interfaces and classes (IAdder, ICalculator, Adder,
//! Calculator), generated from `../calculator.idl`.

comidl_runtime::include_idl!(mod generated = "calculator");

pub use generated::*;
