//! An ORPC stub on hostile requests: byte 0 picks a method of IOrpcTest2, the rest is the
//! request's stub data (ORPCTHIS, then the parameters), served on a real object as the
//! object exporter serves a call. The harness: tests/generated/src/orpc_fuzz.rs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    comidl_generated_tests::orpc_fuzz::run(data);
});
