// The provider interface the tests call, shared by the test crate and its modules.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["../echo.idl"])
}
