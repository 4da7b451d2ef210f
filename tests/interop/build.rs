//! Builds both sides of the ABI for the interop tests from idl/interop.idl:
//! - widl's C header (Wine 8.0's widl, fetched by tests/fetch-wine.sh), and the C object
//!   and C client compiled against it with gcc;
//! - comidl's Rust bindings for the same file.
//!
//! Items the IDL imports from Wine's headers (LONG, LPWSTR, REFIID...) are mapped to
//! `crate::wine_types`, a handful of aliases in src/lib.rs: the layout conformance stage
//! checks comidl's bindings for Wine's own files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let idl = manifest.join("idl/interop.idl");
    for watched in [
        "idl/interop.idl",
        "c/common.h",
        "c/object.c",
        "c/client.c",
        "c/dispenser.c",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join(watched).display()
        );
    }

    let wine = root.join("target/conformance/wine");
    let status = Command::new("bash")
        .arg(root.join("tests/fetch-wine.sh"))
        .arg(&wine)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "cannot fetch Wine's widl and headers (tests/fetch-wine.sh)"
    );
    let windows = wine.join("usr/include/wine/wine/windows");
    let widl = wine.join("usr/lib/wine/widl");

    // widl writes temporary files into its working directory: give it OUT_DIR.
    let header = out.join("interop.h");
    let status = Command::new(&widl)
        .current_dir(&out)
        .args(["--nostdinc", "-m64", "-I"])
        .arg(&windows)
        .arg("-h")
        .arg("-o")
        .arg(&header)
        .arg(&idl)
        .status()
        .expect("widl runs");
    assert!(status.success(), "widl rejected {}", idl.display());

    cc::Build::new()
        .files([
            manifest.join("c/object.c"),
            manifest.join("c/client.c"),
            manifest.join("c/dispenser.c"),
        ])
        .include(&out)
        .include(manifest.join("c"))
        .flag("-isystem")
        .flag(windows.to_string_lossy().as_ref())
        .flag("-std=gnu11")
        .flag("-fshort-wchar")
        .opt_level(2)
        .warnings(false)
        .compile("interop_c");

    generate_rust(&idl, &windows, &out.join("interop.rs"));
}

fn generate_rust(idl: &Path, windows: &Path, out: &Path) {
    let mut options = comidl::Options::default();
    options.preprocess.include_dirs.push(windows.to_path_buf());
    let outcome = comidl::check(idl, &options);
    if outcome.has_errors() {
        panic!(
            "comidl rejected {}:\n{}",
            idl.display(),
            comidl::diag::render(&outcome.sources, &outcome.diagnostics)
        );
    }
    let shim = "crate::wine_types".to_string();
    let rust = comidl::emit::rust::Options {
        imports: ["wtypes", "wtypesbase", "guiddef", "unknwn", "basetsd"]
            .iter()
            .map(|stem| (stem.to_string(), shim.clone()))
            .collect(),
        ..Default::default()
    };
    let generated = comidl::emit::rust::generate(&outcome.model, &rust).unwrap_or_else(|d| {
        panic!("{}", comidl::diag::render(&outcome.sources, &d));
    });
    std::fs::write(out, generated.code).expect("OUT_DIR is writable");
}
