//! comidl's bindings for idl/interop.idl and the C side's entry points. The tests in
//! tests/ drive a C object from Rust and a Rust object from C.

/// The few Wine base types interop.idl uses, as Wine's headers define them on LP64 Linux.
pub mod wine_types {
    pub type LONG = i32;
    pub type ULONG = u32;
    pub type LPWSTR = *mut u16;
    pub type LPCWSTR = *const u16;
    pub type IID = comidl_runtime::GUID;
    pub type REFIID = *const IID;
}

comidl_runtime::include_idl!(
    /// The generated bindings.
    pub mod interop
);

use core::ffi::c_void;

use comidl_runtime::HRESULT;

unsafe extern "C" {
    /// Creates the C object (c/object.c); one reference for the caller.
    pub fn c_object_create(out: *mut *mut c_void) -> HRESULT;
    /// The C object's reference count.
    pub fn c_object_refs(object: *mut c_void) -> i32;
    /// How many C objects are alive.
    pub fn c_objects_alive() -> i32;
    /// Runs the C client (c/client.c) against an object: 0, or the failed check's number.
    pub fn c_client_exercise(calc: *mut c_void) -> i32;
    /// Runs the C dispenser client (c/dispenser.c): 0, or the failed check's number.
    pub fn c_dispenser_exercise() -> i32;
    /// The calls comidl's pool made on the C driver, one letter each (NUL-terminated).
    pub fn c_dispenser_calls() -> *const core::ffi::c_char;
    /// The C driver's reference count.
    pub fn c_dispenser_driver_refs() -> i32;
}
