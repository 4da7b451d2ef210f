// The IDL of the services this client calls, written from Microsoft's specifications
// (MS-WKST, MS-SRVS) for comidl's wire tests, compiled here as a user's build.rs would.
fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new()
        .include("../../tests/wire/idl")
        .compile(&[
            "../../tests/wire/idl/ms_types.idl",
            "../../tests/wire/idl/wkssvc.idl",
            "../../tests/wire/idl/srvsvc.idl",
        ])
}
