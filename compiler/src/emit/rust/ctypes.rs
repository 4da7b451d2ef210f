//! Stand-ins → the runtime's C definitions (`comidl_runtime::ctypes`).
//!
//! SDK IDL files often declare a Windows type only for the IDL compiler and let C take the
//! real definition from a C header: inside `cpp_quote("#if 0")`, behind a header's include
//! guard (`cpp_quote("#ifndef _KS_")`), or as a placeholder (`typedef struct { char dummy; }
//! AM_MEDIA_TYPE;`). C programs never see the stand-in; Rust bindings generated from the IDL
//! alone would, with the wrong layout. So a type declared inside a cpp_quote'd conditional
//! whose name is one of [`C_TYPES`] becomes an alias of the runtime's definition, which
//! idl/comidl_ctypes.idl gives from the C headers' layout.

use std::collections::{HashMap, HashSet};

use crate::ir::{ItemId, ItemKind, Model, Type};

use super::names::ItemNames;

/// The types idl/comidl_ctypes.idl defines for stand-ins to resolve to (the names a
/// stand-in may carry; a test keeps this list and the IDL file in step).
pub const C_TYPES: &[&str] = &[
    "WIN32_FIND_DATAA",
    "WIN32_FIND_DATAW",
    "tWAVEFORMATEX",
    "WAVEFORMATEX",
    "WAVEFORMATEXTENSIBLE",
    "KSDATAFORMAT",
    "AM_MEDIA_TYPE",
    "DDCOLORKEY",
    "D3DCOLOR",
    "D2D1_PIXEL_FORMAT",
];

/// The runtime module holding them.
pub const MODULE: &str = "ctypes";

/// The stand-ins of a model: item → the [`C_TYPES`] name it resolves to. A record is
/// matched by its Rust name (its tag, or the typedef that names an anonymous one), a
/// typedef by its own name.
pub fn stand_ins(model: &Model, names: &ItemNames) -> HashMap<ItemId, &'static str> {
    let conditional = conditional_items(model);
    let mut out = HashMap::new();
    for &id in &conditional {
        let Some(item) = model.item(id) else { continue };
        let name = match &item.kind {
            ItemKind::Struct(_) | ItemKind::Union(_) => names.get(id).to_string(),
            // A typedef that names its record emits nothing of its own.
            ItemKind::Typedef(_) if names.is_absorbed(id) => continue,
            ItemKind::Typedef(Type::Named(t)) if names.get(*t) == item.name => continue,
            ItemKind::Typedef(_) => item.name.clone(),
            _ => continue,
        };
        if let Some(c) = C_TYPES.iter().find(|c| **c == name) {
            out.insert(id, *c);
        }
    }
    out
}

/// Items declared between a cpp_quote'd `#if`/`#ifdef`/`#ifndef` and its `#endif`, in
/// every file of the model, with the records their typedefs name.
fn conditional_items(model: &Model) -> HashSet<ItemId> {
    let mut out = HashSet::new();
    for file in &model.files {
        let mut depth = 0usize;
        for (id, item) in model.items_in(file.file) {
            if let ItemKind::CppQuote(text) = &item.kind {
                let Some(directive) = text.trim().strip_prefix('#').map(str::trim_start) else {
                    continue;
                };
                if directive.starts_with("if") {
                    depth += 1;
                } else if directive.starts_with("endif") {
                    depth = depth.saturating_sub(1);
                }
                continue;
            }
            if depth > 0 {
                out.insert(id);
                if let ItemKind::Typedef(Type::Named(t)) = &item.kind {
                    out.insert(*t);
                }
            }
        }
    }
    out
}
