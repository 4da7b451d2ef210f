//! The ORPC stub harness (src/orpc_fuzz.rs) on the fuzz target's seeds and on broken
//! requests: each is served without a panic and without a leaked block, and what a reply
//! exported is let go after each input. One test: the exporter is the process's, and the
//! harness disconnects all of it after each input.

use comidl_generated_tests::orpc_fuzz::{run, seeds};

#[test]
fn seeds_and_their_truncations_and_corruptions_are_served_without_a_leak() {
    for (_, s) in seeds() {
        run(&s);
        assert_eq!(comidl_runtime::dcom::object_counts().0, 0);
        for cut in 0..s.len() {
            run(&s[..cut]);
        }
        for i in 1..s.len() {
            let mut c = s.clone();
            c[i] ^= 0xFF;
            run(&c);
        }
        assert_eq!(comidl_runtime::dcom::object_counts().0, 0);
    }
}
