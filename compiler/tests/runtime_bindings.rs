//! comidl-runtime's bindings (runtime/src/bindings.rs) are generated from
//! idl/comidl_base.idl and committed, so the runtime builds without the compiler. This test
//! regenerates them and fails on any difference.
//!
//! To refresh after changing the IDL or the backend:
//! `cargo run -p comidl -- gen --rust --runtime-path crate -o /tmp idl/comidl_base.idl`
//! then copy /tmp/comidl_base.rs to runtime/src/bindings.rs.

mod common;

use comidl::emit::rust::{Options, generate};

#[test]
fn committed_runtime_bindings_match_a_fresh_generation() {
    let root = common::repo_root();
    let mut options = comidl::Options::default();
    options.preprocess.include_dirs.push(root.join("idl"));
    let outcome = comidl::check(&root.join("idl/comidl_base.idl"), &options);
    common::assert_clean("comidl_base.idl", &outcome);
    let fresh = generate(&outcome.model, &Options::for_runtime())
        .unwrap_or_else(|d| panic!("{}", comidl::diag::render(&outcome.sources, &d)))
        .code;
    let committed = std::fs::read_to_string(root.join("runtime/src/bindings.rs"))
        .expect("runtime/src/bindings.rs is readable");
    if fresh != committed {
        let first = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(fresh.lines().count().min(committed.lines().count()));
        panic!(
            "runtime/src/bindings.rs is stale (first difference at line {}); regenerate it as \
             this file's header says",
            first + 1
        );
    }
}
