//! What a user does on day one, for real: new crates outside this workspace that depend on
//! `comidl-build` and `comidl-runtime` only, built and run with cargo.
//!
//! - `shapes` compiles shapes.idl with a three-line build.rs.
//! - `app` compiles app.idl, whose interface derives from shapes.idl's, and maps that import
//!   to the `shapes` crate with `extern_path`, so both crates share one `IShape`.
//! - An error in app.idl fails `cargo build` with the located diagnostic (file:line:col and
//!   a caret), and fixing it builds again (the IDL is watched by rerun-if-changed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
}

const SHAPES_IDL: &str = r#"import "comidl_base.idl";

[object, uuid(0e2d8c41-7b5a-4f13-9c6e-2a8b4d1f7e30), pointer_default(unique)]
interface IShape : IUnknown
{
    HRESULT Area([out, retval] LONG *area);
}
"#;

const APP_IDL: &str = r#"import "shapes.idl";

[object, uuid(5c7a1e92-3d4b-4a8f-b1e6-9f2c0d8a7b13), pointer_default(unique)]
interface IRectangle : IShape
{
    HRESULT Resize([in] LONG width, [in] LONG height);
}

// What the program never uses: no dead_code warning for any of it.
typedef enum UNIT { UNIT_PIXEL, UNIT_POINT } UNIT;
typedef struct SIZE2 { LONG cx; LONG cy; } SIZE2;
const LONG MAX_SIDE = 4096;

[object, uuid(8f3b2c6d-1e4a-4b7c-9d2e-5a6b7c8d9e0f), pointer_default(unique)]
interface IUnused : IUnknown
{
    HRESULT Sizes([in] ULONG count, [in, size_is(count)] const SIZE2 *sizes, [in, string] LPCWSTR name);
}
"#;

const APP_MAIN: &str = r#"use std::cell::Cell;
use comidl_runtime::{ComObject, Result};

comidl_runtime::include_idl!(mod app);

struct Rectangle { width: Cell<i32>, height: Cell<i32> }

comidl_runtime::implement!(Rectangle: app::IRectangle);

// IShape is the shapes crate's type: app.rs refers to it, it does not define its own.
impl shapes::shapes::IShape_Impl for Rectangle {
    fn area(&self) -> Result<i32> { Ok(self.width.get() * self.height.get()) }
}

impl app::IRectangle_Impl for Rectangle {
    fn resize(&self, width: i32, height: i32) -> Result<()> {
        self.width.set(width);
        self.height.set(height);
        Ok(())
    }
}

fn main() -> Result<()> {
    let rect = ComObject::create::<app::IRectangle>(Rectangle { width: Cell::new(0), height: Cell::new(0) })?;
    rect.resize(6, 7)?;
    let shape: comidl_runtime::ComPtr<shapes::shapes::IShape> = rect.cast()?;
    println!("area={}", shape.area()?);
    Ok(())
}
"#;

fn manifest(name: &str, kind: &str, extra_deps: &str) -> String {
    let root = repo();
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n{kind}\n\
         [dependencies]\ncomidl-runtime = {{ path = \"{runtime}\" }}\n{extra_deps}\n\
         [build-dependencies]\ncomidl-build = {{ path = \"{build}\" }}\n",
        runtime = root.join("runtime").display(),
        build = root.join("build-support").display(),
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `cargo <args>` in the scratch workspace, with its own target directory (cargo holds a
/// lock on the one running this test) and offline: the workspace's lock file pins every
/// version, all already fetched for this workspace's own build.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(args)
        .args(["--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", repo().join("target/new-crate-test"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

#[test]
fn new_crates_build_share_an_idl_and_report_idl_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"shapes\", \"app\"]\n",
    );
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();

    write(&root.join("shapes/Cargo.toml"), &manifest("shapes", "", ""));
    write(&root.join("shapes/shapes.idl"), SHAPES_IDL);
    write(
        &root.join("shapes/build.rs"),
        "fn main() -> Result<(), comidl_build::Error> {\n    \
         comidl_build::Config::new().compile(&[\"shapes.idl\"])\n}\n",
    );
    write(
        &root.join("shapes/src/lib.rs"),
        "comidl_runtime::include_idl!(pub mod shapes);\n",
    );

    write(
        &root.join("app/Cargo.toml"),
        &manifest("app", "", "shapes = { path = \"../shapes\" }"),
    );
    write(&root.join("app/app.idl"), APP_IDL);
    let build_rs = "fn main() -> Result<(), comidl_build::Error> {\n    \
         let mut config = comidl_build::Config::new();\n    \
         config.include(\"../shapes\").extern_path(\"shapes.idl\", \"::shapes::shapes\");\n    \
         config.compile(&[\"app.idl\"])\n}\n";
    assert!(
        build_rs.lines().count() <= 5,
        "the build script is five lines"
    );
    write(&root.join("app/build.rs"), build_rs);
    write(&root.join("app/src/main.rs"), APP_MAIN);

    let out = cargo(root, &["run", "-p", "app"]);
    assert!(
        out.status.success(),
        "the new crate does not build or run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "area=42\n");
    // The program uses part of the bindings; the rest warns about nothing.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "warnings:\n{stderr}");

    // The generated file uses the shapes crate's IShape, and defines no IShape of its own.
    let generated = find(&repo().join("target/new-crate-test"), "app.rs");
    let text = std::fs::read_to_string(&generated).unwrap();
    assert!(text.contains("::shapes::shapes::IShape"), "{text}");
    assert!(!text.contains("pub struct IShape"), "{text}");

    // The build script named each file it read to cargo once: app.idl, and shapes.idl
    // through the import.
    let output =
        std::fs::read_to_string(generated.parent().unwrap().parent().unwrap().join("output"))
            .expect("cargo keeps the build script's output beside OUT_DIR");
    let named: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .collect();
    let mut unique = named.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(named.len(), unique.len(), "a file named twice:\n{output}");
    assert!(named.iter().any(|p| p.ends_with("app.idl")), "{output}");
    assert!(named.iter().any(|p| p.ends_with("shapes.idl")), "{output}");

    // An unknown type on line 6: cargo build fails, showing where.
    let broken = APP_IDL.replace("[in] LONG height", "[in] LONGG height");
    write(&root.join("app/app.idl"), &broken);
    let out = cargo(root, &["build", "-p", "app"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad IDL file built");
    assert!(stderr.contains("app.idl:6:"), "no location in:\n{stderr}");
    assert!(
        !stderr.contains("Error: error:"),
        "the word doubled:\n{stderr}"
    );
    assert!(stderr.contains("LONGG"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.trim_start().starts_with('|') && l.contains('^')),
        "no caret in:\n{stderr}"
    );

    // Fixed again: cargo notices the IDL changed and builds.
    write(&root.join("app/app.idl"), APP_IDL);
    let out = cargo(root, &["run", "-p", "app"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "area=42\n");
}

/// The newest file called `name` below `dir`.
fn find(dir: &Path, name: &str) -> PathBuf {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push((entry.metadata().unwrap().modified().unwrap(), path));
            }
        }
    }
    found.sort();
    found.pop().expect("the generated file exists").1
}
