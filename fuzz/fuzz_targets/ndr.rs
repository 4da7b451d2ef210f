//! The NDR engine on hostile bytes: each input is a request (decoded by the server, then
//! re-marshalled to a fixed point, answered and freed) or a response (decoded into client
//! memory built from the description, checked for writes past it, re-marshalled and
//! freed) of one procedure: every procedure the fixtures describe and the hand-written
//! ones. The harness and the input format: tests/generated/src/ndr_fuzz.rs
//! (`comidl_generated_tests::ndr_fuzz`). Any panic is a finding, and so is a task-allocator
//! block left allocated.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    comidl_generated_tests::ndr_fuzz::run(data);
});
