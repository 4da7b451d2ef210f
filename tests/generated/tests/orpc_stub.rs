//! The ORPC stub harness (src/orpc_fuzz.rs) on the fuzz target's seeds and on broken
//! requests: each is served without a panic and without a leaked block.

use comidl_generated_tests::orpc_fuzz::{run, seeds};

#[test]
fn every_seed_is_served() {
    for (_, s) in seeds() {
        run(&s);
    }
}

#[test]
fn truncated_and_corrupted_requests_are_refused_without_a_leak() {
    for (_, s) in seeds() {
        for cut in 0..s.len() {
            run(&s[..cut]);
        }
        for i in 1..s.len() {
            let mut c = s.clone();
            c[i] ^= 0xFF;
            run(&c);
        }
    }
}
