//! Registration scripts (widl's `-r`): a REGEDIT4 `.reg` file with the keys of every coclass
//! of the main file, which `comidl registry import` (or regedit on Windows) applies.
//!
//! The keys are built by the runtime's own registry code, the same code a server module's
//! `DllRegisterServer` runs, so a class registered from the script and a class registered
//! by its module look the same: `CLSID\{clsid}` with the helpstring (or the class name),
//! `InprocServer32` and its `ThreadingModel` from `threading(...)`, `ProgID`,
//! `VersionIndependentProgID`, `Version` and `TypeLib` (the library's LIBID), and the
//! ProgID keys with their `CLSID` and `CurVer` back-links.

use comidl_runtime::GUID;
use comidl_runtime::registry::{self, ClassEntry, Tree};

use crate::diag::Diagnostic;
use crate::ir::{Guid, Item, ItemKind, Model};

/// The `InprocServer32` path written when no server path is given: the installer replaces
/// it with the module's path (ATL's registrar scripts use the same word).
pub const MODULE_PLACEHOLDER: &str = "%MODULE%";

/// What the script says beyond the IDL.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The path of the shared library serving the classes (`InprocServer32`); `None` writes
    /// [`MODULE_PLACEHOLDER`].
    pub server_path: Option<String>,
}

/// A generated script, with any warnings met on the way.
#[derive(Debug)]
pub struct Generated {
    /// The REGEDIT4 text.
    pub text: String,
    /// Warnings (errors are returned instead of a script).
    pub diagnostics: Vec<Diagnostic>,
}

/// The registration script of the main file's coclasses.
///
/// Fails with a located error when a coclass's attributes cannot be registered (a ProgID
/// the registry rejects, say), so no half-usable script is written.
pub fn generate(model: &Model, options: &Options) -> Result<Generated, Vec<Diagnostic>> {
    let Some(main) = model.files.first().map(|f| f.file) else {
        return Err(vec![Diagnostic::error(
            "nothing to generate: the model is empty",
        )]);
    };
    let path = options
        .server_path
        .clone()
        .unwrap_or_else(|| MODULE_PLACEHOLDER.to_string());
    let mut tree = Tree::new();
    let mut errors = Vec::new();
    let mut classes = 0;
    for (_, item) in model.items_in(main) {
        if !matches!(item.kind, ItemKind::Coclass(_)) {
            continue;
        }
        let Some(entry) = class_entry(model, item, &path) else {
            // A coclass without a uuid has nothing to register (sema reports it).
            continue;
        };
        classes += 1;
        if let Err(e) = registry::register_class(&mut tree, &entry) {
            errors.push(
                Diagnostic::error(format!("cannot register coclass `{}`: {e}", item.name))
                    .at(item.span),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut diagnostics = Vec::new();
    if classes == 0 {
        diagnostics.push(Diagnostic::warning(
            "no coclass with a uuid in this file: the registration script registers nothing",
        ));
    }
    Ok(Generated {
        text: registry::format(&tree, None),
        diagnostics,
    })
}

/// The registry entry of a coclass served from `path`, as `DllRegisterServer` writes it.
fn class_entry(model: &Model, item: &Item, path: &str) -> Option<ClassEntry> {
    let text = |name: &str| item.attr_text(name).map(str::to_string);
    let library = item
        .parent
        .and_then(|p| model.item(p))
        .filter(|p| matches!(p.kind, ItemKind::Library(_)))
        .and_then(Item::uuid);
    Some(ClassEntry {
        clsid: guid(item.uuid()?),
        name: Some(text("helpstring").unwrap_or_else(|| item.name.clone())),
        inproc_server: Some(path.to_string()),
        threading_model: item.attr_text("threading").map(registry::threading_model),
        local_server: None,
        progid: text("progid"),
        vi_progid: text("vi_progid"),
        version: text("version"),
        typelib: library.map(guid),
        app_id: None,
    })
}

fn guid(g: Guid) -> GUID {
    GUID::from_values(g.data1, g.data2, g.data3, g.data4)
}
