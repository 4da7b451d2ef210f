//! windows-bindgen's bindings of .winmd files comidl wrote (see build.rs): one module per
//! IDL file, each holding what windows-bindgen generated (`calculator::CalculatorLib::IAdder`).
//! That this crate compiles is the first half of the round trip; tests/ calls comidl
//! objects through these bindings.

#![allow(
    non_snake_case,
    non_camel_case_types,
    non_upper_case_globals,
    dead_code,
    clippy::all
)]

include!(concat!(env!("OUT_DIR"), "/all.rs"));
