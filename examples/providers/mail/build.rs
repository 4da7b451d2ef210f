// The provider interface, shared with the host.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["../transport.idl"])
}
