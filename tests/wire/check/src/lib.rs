//! The stubs comidl generates for the MS-RPCE interfaces of tests/wire/idl (the endpoint
//! mapper, wkssvc, srvsvc, samr), and the interface each of ndrdump's pipe names means.

comidl_runtime::include_idl!(pub mod ms_types = "ms_types");
comidl_runtime::include_idl!(pub mod epmapper = "epmapper");
comidl_runtime::include_idl!(pub mod wkssvc = "wkssvc");
comidl_runtime::include_idl!(pub mod srvsvc = "srvsvc");
comidl_runtime::include_idl!(pub mod samr = "samr");
comidl_runtime::include_idl!(pub mod constructs = "constructs");
comidl_runtime::include_idl!(pub mod wine_constructs = "wine_constructs");

pub mod calls;
pub mod serve;
pub mod serve_wine;

use comidl_runtime::ndr::Interface;

/// The interface description for one of ndrdump's pipe names.
pub fn interface(pipe: &str) -> Option<&'static Interface> {
    Some(match pipe {
        "epmapper" => &epmapper::ndr::ept_INTERFACE,
        "wkssvc" => &wkssvc::ndr::wkssvc_INTERFACE,
        "srvsvc" => &srvsvc::ndr::srvsvc_INTERFACE,
        "samr" => &samr::ndr::samr_INTERFACE,
        _ => return None,
    })
}
