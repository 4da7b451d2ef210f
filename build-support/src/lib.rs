//! `comidl-build`: compiles IDL files from a build script, in the style of prost-build.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), comidl_build::Error> {
//!     comidl_build::Config::new()
//!         .include("idl")
//!         .define("VERSION", Some("2"))
//!         .compile(&["idl/calc.idl"])
//! }
//! ```
//!
//! writes `$OUT_DIR/calc.rs`, which the crate brings in with
//! `comidl_runtime::include_idl!(pub mod calc);`.
//!
//! - A build script compiles only the front end and the Rust backend. The type library
//!   (`Config::winmd`) and the C header (`Config::c_header`) are behind this crate's
//!   `winmd` and `c-header` features.
//! - Every file the compiler read (the IDL, its imports, their `#include`s) is printed as
//!   `cargo:rerun-if-changed`, so editing any of them rebuilds the bindings.
//! - comidl's own IDL (`import "comidl_base.idl";` for IUnknown, HRESULT, GUID...) is always
//!   on the include path, and its items resolve to `comidl_runtime`'s types: every crate
//!   shares one `IUnknown`.
//! - Items of another imported IDL file are referred to as `super::<stem>::Item` (compile
//!   both files in one crate and include both as sibling modules), or by the Rust path
//!   given with [`Config::extern_path`] when another crate already has them.
//! - Errors are values: [`Error`]'s Display is the same rustc-style diagnostic the `comidl`
//!   command prints (file:line:col, the source line, a caret), so a bad IDL file fails
//!   `cargo build` with a located message. Warnings become `cargo:warning=` lines.

#![warn(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};

use comidl::diag::{self, Diagnostic};
use comidl::emit;

/// Options for compiling IDL files: which inputs, which preprocessor settings, which
/// outputs, where. Set what you need, then call [`Config::compile`].
#[derive(Clone, Debug)]
pub struct Config {
    include_dirs: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
    undefines: Vec<String>,
    out_dir: Option<PathBuf>,
    extern_paths: Vec<(String, String)>,
    runtime_path: String,
    client: bool,
    server: bool,
    marshal: bool,
    user_marshal: Vec<(String, String)>,
    call_as: Option<String>,
    #[cfg(feature = "winmd")]
    winmd: bool,
    #[cfg(feature = "winmd")]
    namespace: Option<String>,
    #[cfg(feature = "c-header")]
    c_header: bool,
    rerun_if_changed: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            include_dirs: Vec::new(),
            defines: Vec::new(),
            undefines: Vec::new(),
            out_dir: None,
            extern_paths: Vec::new(),
            runtime_path: "::comidl_runtime".into(),
            client: true,
            server: true,
            marshal: true,
            user_marshal: Vec::new(),
            call_as: None,
            #[cfg(feature = "winmd")]
            winmd: false,
            #[cfg(feature = "winmd")]
            namespace: None,
            #[cfg(feature = "c-header")]
            c_header: false,
            rerun_if_changed: true,
        }
    }
}

/// What went wrong, for a build script that wants to react rather than print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An IDL file has errors (the message holds the diagnostics).
    Idl,
    /// A file could not be read or written, or `OUT_DIR` is missing.
    Io,
}

/// A compilation failure. Its Display is the rendered diagnostics, exactly as the `comidl`
/// command prints them; its Debug form is a heading line and then the same text, so `fn
/// main() -> Result<(), comidl_build::Error>` in a build script shows them as they are, not
/// escaped, and not as `Error: error: ...`.
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    fn io(what: &Path, e: impl fmt::Display) -> Error {
        Error {
            kind: ErrorKind::Io,
            message: format!("error: {}: {e}", what.display()),
        }
    }

    /// Whether the IDL was wrong or the file system was.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Debug for Error {
    /// What `fn main() -> Result<(), comidl_build::Error>` prints after `Error: `: a
    /// heading of its own, so the diagnostic's `error:` starts the next line rather than
    /// doubling the word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Idl => "comidl-build: the IDL has errors",
            ErrorKind::Io => "comidl-build: a file could not be read or written",
        };
        write!(f, "{what}\n{}", self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Config {
    /// Rust bindings only, no include directories besides comidl's own IDL, no macros,
    /// output in `$OUT_DIR`.
    pub fn new() -> Config {
        Config::default()
    }

    /// Adds a directory searched by `import` and `#include` (like `-I`), after those added
    /// before it.
    pub fn include(&mut self, dir: impl Into<PathBuf>) -> &mut Config {
        self.include_dirs.push(dir.into());
        self
    }

    /// Defines a preprocessor macro (like `-D NAME` or `-D NAME=VALUE`).
    pub fn define(&mut self, name: &str, value: Option<&str>) -> &mut Config {
        self.defines
            .push((name.to_string(), value.map(str::to_string)));
        self
    }

    /// Undefines a predefined macro (like `-U NAME`): `_WIN64`, `__midl`, ...
    pub fn undefine(&mut self, name: &str) -> &mut Config {
        self.undefines.push(name.to_string());
        self
    }

    /// Where the generated files go (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Config {
        self.out_dir = Some(dir.into());
        self
    }

    /// Refers to the items of an imported IDL file by an existing Rust path instead of
    /// generating them again, like prost-build's `extern_path`: with
    /// `.extern_path("shapes.idl", "::shapes_sys::shapes")`, an interface deriving from
    /// `IShape` (declared in shapes.idl) uses `::shapes_sys::shapes::IShape`, so two
    /// crates share one IDL file and one set of types. `idl` is the file's name as
    /// imported, with or without directory and `.idl`.
    pub fn extern_path(&mut self, idl: &str, rust_path: &str) -> &mut Config {
        self.extern_paths
            .push((idl_stem(idl), rust_path.to_string()));
        self
    }

    /// The runtime crate's path in generated code (default `::comidl_runtime`), for a
    /// crate that renames the dependency or re-exports the runtime.
    pub fn runtime_path(&mut self, path: &str) -> &mut Config {
        self.runtime_path = path.to_string();
        self
    }

    /// Whether to generate the safe client methods on interface wrappers (default true).
    pub fn client(&mut self, on: bool) -> &mut Config {
        self.client = on;
        self
    }

    /// Whether to generate the `*_Impl` traits for implementing interfaces in Rust
    /// (default true).
    pub fn server(&mut self, on: bool) -> &mut Config {
        self.server = on;
        self
    }

    /// Whether to generate the marshalling descriptions of the interfaces (`pub mod ndr`
    /// in each generated file: what the runtime's NDR engine marshals calls with; default
    /// true).
    pub fn marshal(&mut self, on: bool) -> &mut Config {
        self.marshal = on;
        self
    }

    /// Names the conversion routines of a type whose memory form differs from its wire
    /// form (`[wire_marshal]`, `[user_marshal]`, `[transmit_as]`, `[represent_as]`) and that
    /// the runtime has no built-in conversion for: `rust_path` is a `static` of type
    /// `comidl_runtime::ndr::UserRoutines` (`"crate::wire::MY_TYPE_ROUTINES"`). `type_name`
    /// is the presented type: the typedef carrying `[wire_marshal]` or `[transmit_as]`, or
    /// the local type `[user_marshal(T)]` / `[represent_as(T)]` names. Without routines such
    /// a type is described as unsupported and calls through it fail.
    pub fn user_marshal(&mut self, type_name: &str, rust_path: &str) -> &mut Config {
        self.user_marshal
            .push((type_name.to_string(), rust_path.to_string()));
        self
    }

    /// Names the module holding the helpers of `[local]` / `[call_as]` method pairs, as
    /// MIDL asks a program for them: `IFoo_Method_Proxy(this, local args)`, which calls the
    /// generated `IFoo_RemoteMethod_Proxy(this, remote args)`, and `IFoo_Method_Stub(this,
    /// remote args)`, which calls the object's local method (`this: *mut c_void`; the raw
    /// parameter types of the bindings). With it, interfaces with such pairs get proxies
    /// and stubs; without it they get none.
    pub fn call_as_helpers(&mut self, rust_path: &str) -> &mut Config {
        self.call_as = Some(rust_path.to_string());
        self
    }

    /// Also write the type library, `<stem>.winmd` (ECMA-335 metadata that windows-bindgen
    /// and .NET metadata readers read). A server module embeds it with
    /// `include_bytes!(concat!(env!("OUT_DIR"), "/<stem>.winmd"))` to register it. Needs
    /// this crate's `winmd` feature.
    #[cfg(feature = "winmd")]
    pub fn winmd(&mut self, on: bool) -> &mut Config {
        self.winmd = on;
        self
    }

    /// The .winmd's namespace (default: the library's name, else the file's stem).
    #[cfg(feature = "winmd")]
    pub fn namespace(&mut self, namespace: &str) -> &mut Config {
        self.namespace = Some(namespace.to_string());
        self
    }

    /// Also write the C/C++ header `<stem>.h` and the IID definitions `<stem>_i.c`, for C
    /// code built beside the crate (the `cc` crate, say). Needs this crate's `c-header`
    /// feature.
    #[cfg(feature = "c-header")]
    pub fn c_header(&mut self, on: bool) -> &mut Config {
        self.c_header = on;
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every file read (default true).
    pub fn emit_rerun_if_changed(&mut self, on: bool) -> &mut Config {
        self.rerun_if_changed = on;
        self
    }

    /// Compiles each file into the output directory: `<stem>.rs`, and `<stem>.winmd`,
    /// `<stem>.h`, `<stem>_i.c` when asked for. Stops at the first file with errors;
    /// nothing of that file is written.
    pub fn compile(&self, files: &[impl AsRef<Path>]) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| Error {
                    kind: ErrorKind::Io,
                    message: "error: OUT_DIR is not set: call from a build script or set \
                              Config::out_dir"
                        .into(),
                })?,
        };
        // comidl's own IDL, where `import "comidl_base.idl"` finds it.
        let std_dir = out_dir.join("comidl-idl");
        comidl::stdidl::write_to(&std_dir).map_err(|e| Error::io(&std_dir, e))?;
        // Each file read is named to cargo once, however many IDL files read it.
        let mut named = std::collections::HashSet::new();
        for file in files {
            self.compile_one(file.as_ref(), &out_dir, &std_dir, &mut named)?;
        }
        Ok(())
    }

    fn options(&self, std_dir: &Path) -> comidl::Options {
        let mut options = comidl::Options::default();
        let pre = &mut options.preprocess;
        pre.include_dirs.extend(self.include_dirs.iter().cloned());
        pre.include_dirs.push(std_dir.to_path_buf());
        pre.defines.extend(self.defines.iter().cloned());
        pre.undefines.extend(self.undefines.iter().cloned());
        options
    }

    fn compile_one(
        &self,
        idl: &Path,
        out_dir: &Path,
        std_dir: &Path,
        named: &mut std::collections::HashSet<PathBuf>,
    ) -> Result<(), Error> {
        let outcome = comidl::check(idl, &self.options(std_dir));
        if self.rerun_if_changed {
            let read = outcome
                .model
                .files
                .iter()
                .flat_map(|file| &file.read)
                .map(|id| outcome.sources.path(*id).to_path_buf());
            for path in std::iter::once(idl.to_path_buf()).chain(read) {
                // The built-in files change only with comidl-build itself.
                if !path.starts_with(std_dir) && named.insert(path.clone()) {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
        let sources = &outcome.sources;
        let failed = |diagnostics: &[Diagnostic]| Error {
            kind: ErrorKind::Idl,
            message: diag::render(sources, diagnostics),
        };
        if outcome.has_errors() {
            return Err(failed(&outcome.diagnostics));
        }
        warn(sources, &outcome.diagnostics);
        let model = &outcome.model;
        let stem = idl_stem(&idl.to_string_lossy());
        // Everything is generated before anything is written.
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let rust = emit::rust::Options {
            runtime: self.runtime_path.clone(),
            imports: self.extern_paths.clone(),
            client: self.client,
            server: self.server,
            marshal: self.marshal,
            user_marshal: self.user_marshal.clone(),
            call_as: self.call_as.clone(),
            ..Default::default()
        };
        let generated = emit::rust::generate(model, &rust).map_err(|d| failed(&d))?;
        warn(sources, &generated.diagnostics);
        files.push((format!("{stem}.rs"), generated.code.into_bytes()));
        #[cfg(feature = "winmd")]
        if self.winmd {
            let options = emit::winmd::Options {
                namespace: self.namespace.clone(),
            };
            let generated = emit::winmd::generate(model, &options).map_err(|d| failed(&d))?;
            warn(sources, &generated.diagnostics);
            files.push((format!("{stem}.winmd"), generated.bytes));
        }
        #[cfg(feature = "c-header")]
        if self.c_header {
            let options = emit::c::Options::default();
            let header = emit::c::header(model, &options).map_err(|d| failed(&d))?;
            warn(sources, &header.diagnostics);
            files.push((format!("{stem}.h"), header.code.into_bytes()));
            let iids = emit::c::iids(model, &options).map_err(|d| failed(&d))?;
            warn(sources, &iids.diagnostics);
            files.push((format!("{stem}_i.c"), iids.code.into_bytes()));
        }
        for (name, bytes) in files {
            write_if_changed(&out_dir.join(name), &bytes)?;
        }
        Ok(())
    }
}

/// `sub/calc.idl`, `calc.IDL` and `calc` all name the file `calc`.
fn idl_stem(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match file.len().checked_sub(4) {
        Some(cut) if file.is_char_boundary(cut) && file[cut..].eq_ignore_ascii_case(".idl") => {
            file[..cut].to_string()
        }
        _ => file.to_string(),
    }
}

/// Shows warnings in cargo's output: one `cargo:warning=` line per rendered line.
fn warn(sources: &comidl::source::SourceMap, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    for line in diag::render(sources, diagnostics).lines() {
        println!("cargo:warning={line}");
    }
}

/// Writes `bytes` unless the file already holds them, so an unchanged output keeps its
/// modification time.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::idl_stem;

    #[test]
    fn stems() {
        assert_eq!(idl_stem("calc.idl"), "calc");
        assert_eq!(idl_stem("sub/dir/calc.IDL"), "calc");
        assert_eq!(idl_stem("a\\b\\calc.idl"), "calc");
        assert_eq!(idl_stem("calc"), "calc");
        assert_eq!(idl_stem("é"), "é");
        assert_eq!(idl_stem(".idl"), "");
    }
}
