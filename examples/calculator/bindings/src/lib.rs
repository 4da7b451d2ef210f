//! The calculator example's interfaces and classes (IAdder, ICalculator, Adder,
//! Calculator), generated from `../calculator.idl`.

#[allow(
    non_snake_case,
    non_camel_case_types,
    non_upper_case_globals,
    clippy::too_many_arguments,
    clippy::type_complexity
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/calculator.rs"));
}

pub use generated::*;
