//! What `comidl gen` and the widl-style flags write: the kinds of output, their file names,
//! and turning one checked IDL file into each of them (used by main.rs).

use std::path::{Path, PathBuf};

use comidl::diag::Diagnostic;
use comidl::{Outcome, emit};

/// One kind of generated file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Rust bindings: `<stem>.rs`.
    Rust,
    /// C/C++ header: `<stem>.h` (widl `-h`).
    Header,
    /// IID/CLSID definitions: `<stem>_i.c` (widl `-u`).
    Iids,
    /// Type library as ECMA-335 metadata: `<stem>.winmd` (widl `-t`).
    Winmd,
    /// REGEDIT4 registration script: `<stem>.reg` (widl `-r`).
    Reg,
}

impl Kind {
    /// The file name of this output for base name `base` (`calc` → `calc_i.c`).
    pub fn file_name(self, base: &str) -> String {
        match self {
            Kind::Rust => format!("{base}.rs"),
            Kind::Header => format!("{base}.h"),
            Kind::Iids => format!("{base}_i.c"),
            Kind::Winmd => format!("{base}.winmd"),
            Kind::Reg => format!("{base}.reg"),
        }
    }
}

/// Choices that shape the outputs beyond the IDL itself.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The runtime crate's path in generated Rust.
    pub runtime_path: String,
    /// The .winmd namespace (default: the library's name).
    pub namespace: Option<String>,
    /// `InprocServer32` in registration scripts (default: a placeholder).
    pub server_path: Option<String>,
}

/// One generated file's contents and the warnings met making it.
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub warnings: Vec<Diagnostic>,
}

/// Generates one kind of output for a checked file (`outcome` has no errors).
pub fn render(
    kind: Kind,
    outcome: &Outcome,
    settings: &Settings,
) -> Result<Rendered, Vec<Diagnostic>> {
    let model = &outcome.model;
    let (bytes, warnings) = match kind {
        Kind::Rust => {
            let options = emit::rust::Options {
                runtime: settings.runtime_path.clone(),
                ..Default::default()
            };
            let g = emit::rust::generate(model, &options)?;
            (g.code.into_bytes(), g.diagnostics)
        }
        Kind::Header => {
            let g = emit::c::header(model, &emit::c::Options::default())?;
            (g.code.into_bytes(), g.diagnostics)
        }
        Kind::Iids => {
            let g = emit::c::iids(model, &emit::c::Options::default())?;
            (g.code.into_bytes(), g.diagnostics)
        }
        Kind::Winmd => {
            let options = emit::winmd::Options {
                namespace: settings.namespace.clone(),
            };
            let g = emit::winmd::generate(model, &options)?;
            (g.bytes, g.diagnostics)
        }
        Kind::Reg => {
            let options = emit::reg::Options {
                server_path: settings.server_path.clone(),
            };
            let g = emit::reg::generate(model, &options)?;
            (g.text.into_bytes(), g.diagnostics)
        }
    };
    Ok(Rendered { bytes, warnings })
}

/// Writes `bytes` to `path`, creating missing directories as widl and MIDL do. The file
/// is written beside its final name and renamed over it, so an interrupted run never
/// leaves a half-written output where a build expects a whole one.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// The input file's name without `.idl`, the default base name of every output.
pub fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string())
}
