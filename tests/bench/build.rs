//! Generates Rust bindings for idl/bench.idl with the comidl library and compiles the C
//! baselines (c/bench.c) with gcc -O2.

use std::path::Path;

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let idl = here.join("idl/bench.idl");
    let base_dir = here.join("../../idl");
    println!("cargo:rerun-if-changed={}", idl.display());
    println!(
        "cargo:rerun-if-changed={}",
        base_dir.join("comidl_base.idl").display()
    );

    let mut opts = comidl::Options::default();
    opts.preprocess.include_dirs.push(base_dir);
    let outcome = comidl::check(&idl, &opts);
    if outcome.has_errors() {
        panic!(
            "bench.idl does not compile:\n{}",
            comidl::diag::render(&outcome.sources, &outcome.diagnostics)
        );
    }
    let generated =
        match comidl::emit::rust::generate(&outcome.model, &comidl::emit::rust::Options::default())
        {
            Ok(generated) => generated,
            Err(diagnostics) => panic!(
                "generating Rust for bench.idl failed:\n{}",
                comidl::diag::render(&outcome.sources, &diagnostics)
            ),
        };
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("bench.rs"), generated.code).expect("OUT_DIR is writable");

    let c = here.join("c/bench.c");
    println!("cargo:rerun-if-changed={}", c.display());
    cc::Build::new()
        .file(&c)
        .opt_level(2)
        .flag("-O2")
        // Pad branches off 32-byte boundaries (the Skylake-family JCC erratum): keeps the
        // C loops from losing the uop cache by accident of layout, a stronger baseline.
        .flag_if_supported("-Wa,-mbranches-within-32B-boundaries")
        .warnings(true)
        .extra_warnings(true)
        .compile("comidl_bench_c");
}
