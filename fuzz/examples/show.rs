//! Runs one input the way the `frontend` target does and prints the rendered diagnostics
//! and the time each stage took: `cargo run --release --example show -- FILE`.

#[path = "../fuzz_targets/common.rs"]
mod common;

use std::time::Instant;

use comidl::source::SourceMap;

fn main() {
    let file = std::env::args().nth(1).expect("usage: show FILE");
    let bytes = std::fs::read(&file).expect("read input");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let dir = common::dir();
    let options = common::options(dir);

    let mut sources = SourceMap::new();
    let id = sources.add("input.idl", text.clone());
    let mut diags = Vec::new();
    let t = Instant::now();
    let out = comidl::preprocess::preprocess(&mut sources, id, &options.preprocess, &mut diags);
    eprintln!(
        "preprocess: {:?}, {} bytes out",
        t.elapsed(),
        out.text.len()
    );
    if let Some(file) = std::env::var_os("SHOW_PREPROCESSED") {
        std::fs::write(file, &out.text).expect("write preprocessed text");
    }
    let t = Instant::now();
    let parsed = comidl::syntax::parse(&out.text, &out.map);
    eprintln!("parse: {:?}, ok = {}", t.elapsed(), parsed.is_ok());

    let path = dir.join("input.idl");
    std::fs::write(&path, &text).expect("write input.idl");
    let t = Instant::now();
    let outcome = comidl::check(&path, &options);
    eprintln!(
        "check: {:?}, {} diagnostics",
        t.elapsed(),
        outcome.diagnostics.len()
    );
    let rendered = comidl::diag::render(&outcome.sources, &outcome.diagnostics);
    let limit = 4000;
    if rendered.len() > limit {
        let cut = (0..=limit)
            .rev()
            .find(|&i| rendered.is_char_boundary(i))
            .unwrap_or(0);
        println!(
            "{}\n... ({} bytes in all)",
            &rendered[..cut],
            rendered.len()
        );
    } else {
        println!("{rendered}");
    }
    let t = Instant::now();
    for f in &outcome.model.files {
        let dump = comidl::dump::dump(&outcome.model, &outcome.sources, f.file);
        if std::env::var_os("SHOW_DUMP").is_some() && f.path == path {
            println!("{dump}");
        }
    }
    eprintln!("dump: {:?}", t.elapsed());
    common::check_diagnostics(&outcome.sources, &path, &outcome.diagnostics);
    let _ = std::fs::remove_dir_all(dir);
}
