//! Preprocess and parse only, from memory (no main file on disk, no imports, no sema):
//! faster, for the preprocessor and the grammar. `#include` still finds the helper files.

#![no_main]

#[path = "common.rs"]
mod common;

use std::path::Path;

use comidl::source::SourceMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if common::harness_unsafe(&text) {
        return;
    }
    let dir = common::dir();
    let options = common::options(dir);
    let mut sources = SourceMap::new();
    let main = Path::new("input.idl");
    let id = sources.add(main, text.into_owned());
    common::with_stack(|| {
        let mut diags = Vec::new();
        let out = comidl::preprocess::preprocess(&mut sources, id, &options.preprocess, &mut diags);
        if let Err(e) = comidl::syntax::parse(&out.text, &out.map) {
            common::IntoDiags::push_into(e, &mut diags);
        }
        common::check_diagnostics(&sources, main, &diags);
    });
});
