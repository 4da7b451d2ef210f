//! WinRT instances of parameterized interfaces and delegates (`IVector<HSTRING>`): each one
//! a file uses is written as a concrete interface with its type arguments substituted.
//!
//! Names follow widl's C names: the generic's C name, the number of arguments, then each
//! argument (`__x_ABI_CFoo_CCollections_CIVector_1_HSTRING`, namespaced arguments with `__C`
//! separators). The IID is WinRT's: a version-5 UUID (SHA-1) of the instance's type
//! signature, `pinterface({iid};string)`, under WinRT's namespace GUID.
//!
//! The C++ side uses the same C names (widl's `ABI::` namespaces and templates are not
//! written); the layout and the names C code sees are widl's.

use super::Gen;
use super::interfaces::{Definition, Slot, SlotGroup, base_interface, invoke, object, slot_groups};
use crate::emit::generics::{
    Instances, add_instances, add_signature_instances, iid_from_signature, scalar_arg_name,
    signature, substitute_signature, type_params,
};
use crate::ir::{Guid, Item, ItemId, ItemKind, Signature, Type};
use crate::source::FileId;

/// The instances the items of `file` use (with those their methods use in turn).
pub(crate) fn collect(g: &Gen, file: FileId) -> Instances {
    let mut found = Instances::new();
    let model = g.model;
    let name = |ty: &Type| mangle(g, ty);
    let add = |ty: &Type, found: &mut Instances| add_instances(model, ty, &name, found);
    let add_sig =
        |sig: &Signature, found: &mut Instances| add_signature_instances(model, sig, &name, found);
    for (_, item) in model.items_in(file) {
        match &item.kind {
            ItemKind::Declare(types) => types.iter().for_each(|t| add(t, &mut found)),
            ItemKind::Interface(i) if i.type_params.is_empty() => {
                for m in &i.methods {
                    add_sig(&m.signature, &mut found);
                }
                if let Some(base) = &i.base {
                    add(base, &mut found);
                }
            }
            ItemKind::Delegate(d) if d.type_params.is_empty() => {
                add_sig(&d.signature, &mut found);
            }
            ItemKind::Struct(r) => {
                for f in r.fields.iter().filter_map(|f| f.ty.as_ref()) {
                    add(f, &mut found);
                }
            }
            ItemKind::Typedef(t) => add(t, &mut found),
            ItemKind::Function(f) => add_sig(&f.signature, &mut found),
            _ => {}
        }
    }
    found
}

/// The C names of the main file's instances.
pub(super) fn instance_names(g: &Gen) -> Vec<String> {
    collect(g, g.main).into_keys().collect()
}

/// Writes the main file's instances (each guarded, so one an imported header wrote too is
/// skipped).
pub(super) fn emit_instances(g: &mut Gen) {
    for (name, (generic, args)) in collect(g, g.main) {
        let model = g.model;
        let Some(item) = model.item(generic) else {
            continue;
        };
        match definition(g, &name, generic, item, &args) {
            Ok(def) => object(g, item, &def),
            Err(why) => g.warn_item(
                item,
                "instance",
                &format!("its instance `{name}` is left out of the C header: {why}"),
            ),
        }
    }
}

fn definition(
    g: &Gen,
    name: &str,
    generic: ItemId,
    item: &Item,
    args: &[Type],
) -> Result<Definition, String> {
    let uuid = instance_iid(g, generic, args);
    let params = type_params(item);
    let (base, own) = match &item.kind {
        ItemKind::Interface(i) => {
            let base = i.base.as_ref().and_then(|b| base_interface(g, b));
            let own: Vec<Slot> = super::interfaces::own_slots(&i.methods)
                .into_iter()
                .map(|s| Slot {
                    signature: substitute_signature(&s.signature, &params, args),
                    ..s
                })
                .collect();
            (base, own)
        }
        ItemKind::Delegate(d) => (
            g.model.names.get("IUnknown").copied(),
            vec![invoke(&substitute_signature(&d.signature, &params, args))],
        ),
        _ => return Err("it is not an interface".into()),
    };
    let mut groups: Vec<SlotGroup> = match base {
        Some(b) => {
            let base_item = g.model.item(b).ok_or("its base is unknown")?;
            slot_groups(g, b, base_item)?
        }
        None => Vec::new(),
    };
    let own_count = own.len();
    groups.push(SlotGroup {
        owner: name.to_string(),
        slots: own,
    });
    Ok(Definition {
        c_name: name.to_string(),
        what: "interface",
        uuid,
        iid_prefix: "IID",
        base: base.map(|b| g.names.get(b).to_string()),
        groups,
        own: own_count,
        members: Vec::new(),
    })
}

/// The IID of an instance (from its type signature), if it has one.
pub(crate) fn instance_iid(g: &Gen, generic: ItemId, args: &[Type]) -> Option<Guid> {
    let ty = Type::Instance {
        generic,
        args: args.to_vec(),
    };
    signature(g.model, &ty).map(|s| iid_from_signature(&s))
}

/// The C name of an instance (or `IInspectable` for one the header cannot name).
pub(crate) fn instance_name(g: &Gen, ty: &Type) -> String {
    mangle(g, ty).unwrap_or_else(|| "IInspectable".into())
}

/// widl's C name of an instance: `<generic's C name>_<argument count>_<arguments>`.
fn mangle(g: &Gen, ty: &Type) -> Option<String> {
    let Type::Instance { generic, args } = ty else {
        return None;
    };
    let mut s = format!("{}_{}", g.names.get(*generic), args.len());
    for a in args {
        s.push('_');
        s.push_str(&arg_name(g, a)?);
    }
    Some(s)
}

fn arg_name(g: &Gen, ty: &Type) -> Option<String> {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => arg_name(g, pointee),
        Type::Instance { .. } => mangle(g, ty),
        Type::Named(id) => {
            let item = g.model.item(*id)?;
            if item.namespace.is_empty() {
                return Some(item.name.clone());
            }
            let delegate = matches!(item.kind, ItemKind::Delegate(_));
            Some(format!(
                "{}__C{}{}",
                item.namespace.replace('.', "__C"),
                if delegate { "I" } else { "" },
                item.name
            ))
        }
        Type::Base(b) => scalar_arg_name(*b).map(str::to_string),
        _ => None,
    }
}
