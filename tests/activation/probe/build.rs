fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().compile(&["probe.idl"])
}
