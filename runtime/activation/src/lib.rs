//! `comidl-runtime-activation`: creating objects from their class (DESIGN.md, "The runtime
//! in layers"): [`CoGetClassObject`], [`CoCreateInstance`], [`CoCreateInstanceEx`], the
//! typed [`create_instance`] and [`get_class_object`], and aggregation ([`Aggregate`]).
//! In process through the com layer's loader; out of process and remote, later, through
//! dcom.
//!
//! What it may use: the com and core layers (re-exported here whole) and nothing above;
//! the services layer hands in the classes the runtime serves itself
//! ([`activation::serve_builtin_classes`]).

#![warn(missing_docs)]

pub use comidl_runtime_com::*;

pub mod activation;

pub use activation::{
    Aggregate, COSERVERINFO, CoCreateInstance, CoCreateInstanceEx, CoGetClassObject, MULTI_QI,
    create_aggregated, create_instance, get_class_object,
};
