//! The whole front end on a file on disk: preprocess (with `#include`), parse, load imports,
//! sema; then render the diagnostics and dump the IR of every file read.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if common::harness_unsafe(&text) {
        return;
    }
    let dir = common::dir();
    let path = dir.join("input.idl");
    std::fs::write(&path, text.as_bytes()).expect("write input.idl");
    common::with_stack(|| {
        let outcome = comidl::check(&path, &common::options(dir));
        common::check_diagnostics(&outcome.sources, &path, &outcome.diagnostics);
        let _ = outcome.summary();
        for f in &outcome.model.files {
            let _ = comidl::dump::dump(&outcome.model, &outcome.sources, f.file);
        }
    });
});
