//! `comidl-runtime-com`: the COM library of the process (DESIGN.md, "The runtime in
//! layers"): initialisation and apartments ([`CoInitializeEx`]), the host services table
//! that makes one COM library per process ([`host`]), the class-object table
//! ([`CoRegisterClassObject`]), the class registry ([`registry`]), module loading
//! ([`loader`]), in-process servers ([`inproc_server!`], [`module`]), class factories
//! ([`ClassFactory`]) and type library registration (`typelib`, with the `typelib`
//! feature).
//!
//! What it may use: the core layer (re-exported here whole, so `crate::` paths and `$crate`
//! in macros reach it) and the crates in its manifest; never the activation or services
//! layers, which hand in what com must call ([`host_table::set_class_object_source`]).

#![warn(missing_docs)]

pub use comidl_runtime_core::*;

pub mod apartment;
pub mod class;
pub mod classes;
pub mod clsid;
pub mod host;
pub mod host_table;
pub mod loader;
pub mod module;
pub mod registry;
#[cfg(feature = "typelib")]
pub mod typelib;

pub use apartment::{
    Apartment, COINIT_APARTMENTTHREADED, COINIT_MULTITHREADED, CoInitialize, CoInitializeEx,
    CoUninitialize, ComInit, current_apartment,
};
pub use class::{ClassFactory, ClassInfo, Creatable, License};
pub use classes::{
    CLSCTX_ALL, CLSCTX_INPROC_HANDLER, CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER,
    CLSCTX_REMOTE_SERVER, CLSCTX_SERVER, CoRegisterClassObject, CoResumeClassObjects,
    CoRevokeClassObject, REGCLS_MULTI_SEPARATE, REGCLS_MULTIPLEUSE, REGCLS_SINGLEUSE,
    REGCLS_SUSPENDED, register_class_object, registry_view,
};
pub use clsid::{clsid_from_progid, clsid_from_string, co_create_guid, progid_from_clsid};
pub use loader::CoFreeUnusedLibraries;
