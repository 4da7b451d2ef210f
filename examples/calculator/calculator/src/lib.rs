//! The Calculator in-process server. `Calculator` implements ICalculator itself and gets
//! IAdder by aggregating the Adder class: the runtime creates an Adder (loaded from the
//! class registry like any other class) with the Calculator's controlling unknown, and
//! answers QueryInterface(IAdder) with the Adder's interface. Built as
//! `libcomidl_calculator.so`.

mod calculator;

pub use calculator::Calculator;

comidl_runtime::inproc_server!(Calculator; type_library = calculator_bindings::TYPE_LIBRARY);
