//! Generates the Rust bindings of calculator.idl into OUT_DIR, and its type library
//! (calculator.winmd), which the Calculator server module carries and registers.

fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new()
        .winmd(true)
        .compile(&["../calculator.idl"])
}
