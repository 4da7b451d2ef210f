//! Generates the stubs of the wire tests' IDL (tests/wire/idl) into OUT_DIR.

fn main() -> Result<(), comidl_build::Error> {
    comidl_build::Config::new().include("../idl").compile(&[
        "../idl/ms_types.idl",
        "../idl/epmapper.idl",
        "../idl/wkssvc.idl",
        "../idl/srvsvc.idl",
        "../idl/samr.idl",
        "../idl/constructs.idl",
        "../idl/wine_constructs.idl",
    ])
}
