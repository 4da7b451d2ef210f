// transport.idl becomes $OUT_DIR/transport.rs (the providers compile the same file).
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["transport.idl"])
}
