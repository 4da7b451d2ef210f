//! Turns every Rust snapshot of compiler/tests/snapshots (`rust_backend__<fixture>.snap`)
//! into a module of this crate, so a generated file that does not compile, or that
//! clippy warns about, fails the build. The snapshot is the source of truth: this crate
//! compiles exactly what the snapshot test accepted.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../compiler/tests/snapshots");
    println!("cargo:rerun-if-changed={}", snapshots.display());
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut entries: Vec<_> = std::fs::read_dir(&snapshots)
        .expect("compiler/tests/snapshots exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rust_backend__") && n.ends_with(".snap"))
        })
        .collect();
    entries.sort();
    assert!(
        !entries.is_empty(),
        "no Rust snapshots found in {}",
        snapshots.display()
    );
    let mut all = String::new();
    // Every interface's marshalling description (`pub static X_INTERFACE: Interface` in a
    // file's `pub mod ndr`), listed for the NDR fuzz harness.
    let mut interfaces = Vec::new();
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("snapshot is readable");
        // insta's header is `---` ... `---`; the generated code follows it.
        let body = text
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("{} has no insta header", path.display()));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("rust_backend__"))
            .and_then(|n| n.strip_suffix(".snap"))
            .expect("filtered above")
            .to_string();
        let file = Path::new(&out).join(format!("{name}.rs"));
        std::fs::write(&file, body).expect("OUT_DIR is writable");
        writeln!(all, "comidl_runtime::include_idl!(pub mod {name});")
            .expect("writing to a String");
        for line in body.lines() {
            if let Some(item) = line
                .trim_start()
                .strip_prefix("pub static ")
                .and_then(|rest| rest.strip_suffix(": Interface = Interface {"))
            {
                interfaces.push(format!("&{name}::ndr::{item}"));
            }
        }
    }
    writeln!(
        all,
        "/// Every interface description of the fixtures (each file's `ndr` module), in file \
         order.\npub static NDR_INTERFACES: &[&comidl_runtime::ndr::Interface] = &[{}];",
        interfaces.join(", ")
    )
    .expect("writing to a String");
    std::fs::write(Path::new(&out).join("all.rs"), all).expect("OUT_DIR is writable");
}
