// notes.idl becomes $OUT_DIR/notes.rs: the bindings, the NDR descriptions, the client and
// the server stubs.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["notes.idl"])
}
