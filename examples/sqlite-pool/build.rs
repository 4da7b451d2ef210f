// The whole build script: inventory.idl becomes $OUT_DIR/inventory.rs.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["inventory.idl"])
}
