//! Coclasses and the library → classes. A coclass carries its CLSID and one InterfaceImpl
//! row per listed interface; the library is an abstract sealed class carrying the LIBID, the
//! version and its members as InterfaceImpl rows (see the module docs of [`super`]).

use std::collections::HashSet;

use windows_metadata::writer::HasAttribute;
use windows_metadata::{Type as MdType, TypeAttributes};

use super::Gen;
use super::attributes::{COMIDL, FOUNDATION};
use super::interfaces::base_type;
use super::types::Target;
use crate::diag::Diagnostic;
use crate::ir::{AttrValue, ClassMember, Item, ItemId, ItemKind};

pub(super) fn coclass(g: &mut Gen, id: ItemId, item: &Item, members: &[ClassMember]) {
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "coclass") {
        return;
    }
    let def = g.type_def(
        &ns,
        &name,
        Some(("System", "Object")),
        TypeAttributes::Public | TypeAttributes::Sealed,
    );
    let parent = HasAttribute::TypeDef(def);
    match item.uuid() {
        Some(uuid) => g.guid_attribute(parent, &uuid),
        None => g.diags.push(
            Diagnostic::warning(format!(
                "coclass `{}` has no uuid; its class in the .winmd has no CLSID",
                item.name
            ))
            .at(item.span),
        ),
    }
    g.helpstring(parent, &item.attrs);
    if let Some(version) = g.version_of(item) {
        g.version_attribute(parent, version);
    }
    if let Some(AttrValue::Str(progid)) = item.attr("progid").and_then(|a| a.args.first()) {
        g.string_attribute(
            parent,
            "System.Runtime.InteropServices",
            "ProgIdAttribute",
            progid.clone(),
        );
    }
    for m in members {
        let Some(md) = base_type(g, &m.ty) else {
            g.diags.push(
                Diagnostic::warning(format!(
                    "an interface listed by coclass `{}` is not in the .winmd; it is left out of the class",
                    item.name
                ))
                .at(item.span),
            );
            continue;
        };
        let row = g.file.InterfaceImpl(def, &md);
        let has = |name: &str| m.attrs.iter().any(|a| a.name == name);
        if has("default") {
            g.marker(
                HasAttribute::InterfaceImpl(row),
                FOUNDATION,
                "DefaultAttribute",
            );
        }
        if has("source") {
            g.marker(HasAttribute::InterfaceImpl(row), COMIDL, "SourceAttribute");
        }
    }
}

pub(super) fn library(g: &mut Gen, id: ItemId, item: &Item, members: &[ItemId]) {
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "library") {
        return;
    }
    let def = g.type_def(
        &ns,
        &name,
        Some(("System", "Object")),
        TypeAttributes::Public | TypeAttributes::Abstract | TypeAttributes::Sealed,
    );
    let parent = HasAttribute::TypeDef(def);
    match item.uuid() {
        Some(uuid) => g.guid_attribute(parent, &uuid),
        None => g.diags.push(
            Diagnostic::warning(format!(
                "library `{}` has no uuid; the .winmd has no LIBID for it",
                item.name
            ))
            .at(item.span),
        ),
    }
    if let Some(version) = g.version_of(item) {
        g.version_attribute(parent, version);
    }
    g.helpstring(parent, &item.attrs);

    let mut rows: Vec<MdType> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut add = |g: &Gen, member: ItemId, rows: &mut Vec<MdType>| {
        let tn = g.type_name(member);
        if seen.insert((tn.namespace.clone(), tn.name.clone())) {
            rows.push(MdType::ClassName(tn));
        }
    };
    for &member in members {
        let Some(m) = g.model.item(member) else {
            continue;
        };
        match &m.kind {
            ItemKind::Interface(_) | ItemKind::Dispinterface(_) => {
                if matches!(g.target(member), Target::Interface) {
                    add(g, member, &mut rows);
                }
            }
            ItemKind::Coclass(listed) => {
                add(g, member, &mut rows);
                for c in listed {
                    if let Some(target) = listed_interface(g, &c.ty) {
                        add(g, target, &mut rows);
                    }
                }
            }
            _ => {}
        }
    }
    for row in rows {
        g.file.InterfaceImpl(def, &row);
    }
}

/// The interface item a coclass lists, if the .winmd has it (not IUnknown/IInspectable).
fn listed_interface(g: &Gen, ty: &crate::ir::Type) -> Option<ItemId> {
    let mut ty = ty;
    for _ in 0..64 {
        match ty {
            crate::ir::Type::Const(inner) => ty = inner,
            crate::ir::Type::Named(id) => {
                return match g.target(*id) {
                    Target::Interface => Some(*id),
                    Target::Alias(_) => match g.model.item(*id).map(|i| &i.kind) {
                        Some(ItemKind::Typedef(inner)) => {
                            ty = inner;
                            continue;
                        }
                        _ => None,
                    },
                    _ => None,
                };
            }
            _ => return None,
        }
    }
    None
}
