//! A resource dispenser and its client written in C against Wine's comsvcs.h and mtxdm.h
//! (c/dispenser.c), with comidl-runtime's dispenser manager and pool between them: the
//! manager is reached through the exported `GetDispenserManager`, and every IHolder and
//! IDispenserDriver call crosses the C ABI in Wine's slot order and types.

use std::ffi::CStr;

use comidl_interop::{c_dispenser_calls, c_dispenser_driver_refs, c_dispenser_exercise};

#[test]
fn a_c_dispenser_and_client_work_through_comidls_pool() {
    // SAFETY: the C functions take no arguments; the call log is a static C string.
    let (failed, calls, refs) = unsafe {
        let failed = c_dispenser_exercise();
        let calls = CStr::from_ptr(c_dispenser_calls())
            .to_string_lossy()
            .into_owned();
        (failed, calls, c_dispenser_driver_refs())
    };
    assert_eq!(failed, 0, "check {failed} of c_dispenser_exercise failed");
    // Create; reset on free; rate then reuse; create a second; the failing create; the
    // resource marked for destruction destroyed without a reset; the first reset again;
    // Close destroys it, the one idle resource.
    assert_eq!(calls, "CZRCCDZD");
    assert_eq!(refs, 1, "the pool kept a reference to the driver");
}
