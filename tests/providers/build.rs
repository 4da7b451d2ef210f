// The provider interface the tests call (the modules compile the same file).
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["echo.idl"])
}
