//! Generates the Rust bindings of calculator.idl into OUT_DIR.

fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["../calculator.idl"])
}
