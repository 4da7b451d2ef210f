//! `comidl-runtime-activation`: creating objects from their class (DESIGN.md, "The runtime
//! in layers"): [`CoGetClassObject`], [`CoCreateInstance`], [`CoCreateInstanceEx`], the
//! typed [`create_instance`] and [`get_class_object`], and aggregation ([`Aggregate`]).
//! In process through the com layer's loader; out of process through dcom (a running
//! local server's published class object, or one started from `LocalServer32`), and the
//! server's side of that ([`server`]: publishing class objects, [`LocalServer`]).
//!
//! What it may use: the dcom, com and core layers (com and core re-exported here whole)
//! and nothing above;
//! the services layer hands in the classes the runtime serves itself
//! ([`activation::serve_builtin_classes`]).

#![warn(missing_docs)]

pub use comidl_runtime_com::*;

pub mod activation;
pub mod server;

pub use activation::{
    Aggregate, COAUTHIDENTITY, COAUTHINFO, COSERVERINFO, CoCreateInstance, CoCreateInstanceEx,
    CoGetClassObject, MULTI_QI, create_aggregated, create_instance, create_instance_on,
    get_class_object,
};
pub use server::{
    CoAddRefServerProcess, CoRegisterClassObject, CoReleaseServerProcess, CoResumeClassObjects,
    CoRevokeClassObject, CoSuspendClassObjects, LocalClass, LocalServer,
};
