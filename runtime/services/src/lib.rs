//! `comidl-runtime-services`: what the runtime offers on top of activation (DESIGN.md, "The
//! runtime in layers"): COM+'s resource dispensers ([`dispenser`]), provider modules loaded
//! by a profile ([`provider`]), and the C API (`libcomidl_runtime_c.so`'s exports).
//!
//! What it may use: every layer below (re-exported here whole). Its own classes (the
//! dispenser manager) reach activation through [`install`].

#![warn(missing_docs)]

pub use comidl_runtime_activation::*;

#[cfg(feature = "c-api")]
mod capi;
pub mod dispenser;
pub mod provider;

/// Hands activation the classes this layer serves itself (the dispenser manager, for
/// `CoCreateInstance(CLSID_DispenserManager)`). The facade's activation functions and the
/// C API call it before they activate; calling it again changes nothing.
pub fn install() {
    activation::serve_builtin_classes(dispenser::class_object);
    activation::register_with_com();
}
