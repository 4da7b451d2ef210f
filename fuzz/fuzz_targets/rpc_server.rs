//! The RPC server on hostile bytes: each input is what one connection receives (after a
//! byte choosing the server's limits), driven through the server's protocol and, for the
//! calls it accepts, the NDR engine and the generated descriptions of every fixture. The
//! harness and the input format: tests/generated/src/rpc_fuzz.rs
//! (`comidl_generated_tests::rpc_fuzz`). A panic, a malformed PDU sent back, a PDU that
//! changes through encode and parse, or a leaked task-allocator block is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    comidl_generated_tests::rpc_fuzz::run(data);
});
