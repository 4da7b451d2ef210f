// The whole build script: counter.idl becomes $OUT_DIR/counter.rs.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["counter.idl"])
}
