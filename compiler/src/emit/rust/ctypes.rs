//! Stand-ins → the runtime's C definitions (`comidl_runtime::ctypes`).
//!
//! SDK IDL files often declare a Windows type only for the IDL compiler and let C take the
//! real definition from a C header: inside `cpp_quote("#if 0")`, behind a header's include
//! guard (`cpp_quote("#ifndef _KS_")`), or as a placeholder (`typedef struct { char dummy; }
//! AM_MEDIA_TYPE;`). C programs never see the stand-in; Rust bindings generated from the IDL
//! alone would, with the wrong layout. So a type declared inside a cpp_quote'd conditional
//! C may skip, whose name is one of [`C_TYPES`], becomes an alias of the runtime's
//! definition, which idl/comidl_ctypes.idl gives from the C headers' layout.

use std::collections::HashMap;

use crate::ir::{CVisibility, ItemId, ItemKind, Model, Type};

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

/// The stand-ins of a model: item → the [`C_TYPES`] name it resolves to. A stand-in is
/// declared where C may not compile it (`ir::Item::c_visibility` other than `Always`); a
/// record is matched by its Rust name (its tag, or the typedef that names an anonymous
/// one), a typedef by its own name.
pub fn stand_ins(model: &Model, names: &ItemNames) -> HashMap<ItemId, &'static str> {
    let mut out = HashMap::new();
    for (i, item) in model.items.iter().enumerate() {
        if item.c_visibility == CVisibility::Always {
            continue;
        }
        let id = ItemId(i as u32);
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
