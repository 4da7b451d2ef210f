//! `comidl-build`: compiles IDL files into Rust bindings from a build script.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), comidl_build::Error> {
//!     comidl_build::Config::new().include("idl").compile(&["idl/calc.idl"])
//! }
//! ```
//!
//! writes `$OUT_DIR/calc.rs`, which the crate includes with
//! `include!(concat!(env!("OUT_DIR"), "/calc.rs"))` inside a module allowing IDL naming.
//! Every file the compiler read (the IDL, its imports and `#include`s) is printed as
//! `cargo:rerun-if-changed`. Our own `idl/` files (comidl_base.idl, ...) resolve to the
//! runtime's types. (A first cut: the rest of the builder comes with the CLI work.)

use std::fmt;
use std::path::{Path, PathBuf};

/// Options for compiling IDL files, in the style of prost-build's `Config`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    include_dirs: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
    out_dir: Option<PathBuf>,
}

/// A compilation failure: the diagnostics, rendered like the CLI's (file:line:col, caret).
/// Its Debug form is the same text, so `fn main() -> Result<(), Error>` in a build script
/// shows the diagnostics as they are, not escaped.
pub struct Error(String);

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Config {
    /// No include directories (besides comidl's own `idl/`), no defines, OUT_DIR output.
    pub fn new() -> Config {
        Config::default()
    }

    /// Adds a directory searched by `import` and `#include` (like `-I`).
    pub fn include(&mut self, dir: impl Into<PathBuf>) -> &mut Config {
        self.include_dirs.push(dir.into());
        self
    }

    /// Defines a preprocessor macro (like `-D NAME=VALUE`).
    pub fn define(&mut self, name: &str, value: Option<&str>) -> &mut Config {
        self.defines
            .push((name.to_string(), value.map(str::to_string)));
        self
    }

    /// Where the Rust files go (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Config {
        self.out_dir = Some(dir.into());
        self
    }

    /// Compiles each file into `<out_dir>/<stem>.rs`.
    pub fn compile(&self, files: &[impl AsRef<Path>]) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error("OUT_DIR is not set: call from a build script or set out_dir".into())
                })?,
        };
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| Error(format!("{}: {e}", out_dir.display())))?;
        for file in files {
            self.compile_one(file.as_ref(), &out_dir)?;
        }
        Ok(())
    }

    fn compile_one(&self, idl: &Path, out_dir: &Path) -> Result<(), Error> {
        let mut options = comidl::Options::default();
        options
            .preprocess
            .include_dirs
            .extend(self.include_dirs.iter().cloned());
        options
            .preprocess
            .include_dirs
            .push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl"));
        for (name, value) in &self.defines {
            options
                .preprocess
                .defines
                .push((name.clone(), value.clone()));
        }
        let outcome = comidl::check(idl, &options);
        println!("cargo:rerun-if-changed={}", idl.display());
        for file in &outcome.model.files {
            for read in &file.read {
                println!(
                    "cargo:rerun-if-changed={}",
                    outcome.sources.path(*read).display()
                );
            }
        }
        if outcome.has_errors() {
            return Err(Error(comidl::diag::render(
                &outcome.sources,
                &outcome.diagnostics,
            )));
        }
        let generated = comidl::emit::rust::generate(&outcome.model, &Default::default())
            .map_err(|d| Error(comidl::diag::render(&outcome.sources, &d)))?;
        let stem = idl.file_stem().unwrap_or_default().to_string_lossy();
        let target = out_dir.join(format!("{stem}.rs"));
        std::fs::write(&target, generated.code)
            .map_err(|e| Error(format!("{}: {e}", target.display())))
    }
}
