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

use std::collections::BTreeMap;

use super::Gen;
use super::interfaces::{Definition, Slot, SlotGroup, base_interface, invoke, object, slot_groups};
use crate::ir::{Base, Guid, Item, ItemId, ItemKind, Signature, Type};
use crate::source::FileId;

/// The instances one file uses, by C name.
pub(crate) type Instances = BTreeMap<String, (ItemId, Vec<Type>)>;

/// The instances the items of `file` use (with those their methods use in turn).
pub(crate) fn collect(g: &Gen, file: FileId) -> Instances {
    let mut found = Instances::new();
    for (_, item) in g.model.items_in(file) {
        match &item.kind {
            ItemKind::Declare(types) => types.iter().for_each(|t| add(g, t, &mut found)),
            ItemKind::Interface(i) if i.type_params.is_empty() => {
                for m in &i.methods {
                    add_signature(g, &m.signature, &mut found);
                }
                if let Some(base) = &i.base {
                    add(g, base, &mut found);
                }
            }
            ItemKind::Delegate(d) if d.type_params.is_empty() => {
                add_signature(g, &d.signature, &mut found);
            }
            ItemKind::Struct(r) => {
                for f in r.fields.iter().filter_map(|f| f.ty.as_ref()) {
                    add(g, f, &mut found);
                }
            }
            ItemKind::Typedef(t) => add(g, t, &mut found),
            ItemKind::Function(f) => add_signature(g, &f.signature, &mut found),
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
    signature(g, &ty).map(|s| iid_from_signature(&s))
}

/// The C name of an instance (or `IInspectable` for one the header cannot name).
pub(crate) fn instance_name(g: &Gen, ty: &Type) -> String {
    mangle(g, ty).unwrap_or_else(|| "IInspectable".into())
}

fn add_signature(g: &Gen, sig: &Signature, found: &mut Instances) {
    add(g, &sig.ret, found);
    for p in &sig.params {
        add(g, &p.ty, found);
    }
}

/// Every instance in a type, arguments first, and those the generic's methods use.
fn add(g: &Gen, ty: &Type, found: &mut Instances) {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => add(g, pointee, found),
        Type::Array { element, .. } => add(g, element, found),
        Type::Instance { generic, args } => {
            if args.iter().any(has_param) {
                return;
            }
            for a in args {
                add(g, a, found);
            }
            let Some(name) = mangle(g, ty) else {
                return;
            };
            if found.contains_key(&name) {
                return;
            }
            found.insert(name, (*generic, args.clone()));
            let Some(item) = g.model.item(*generic) else {
                return;
            };
            let params = type_params(item);
            let sigs: Vec<Signature> = match &item.kind {
                ItemKind::Interface(i) => i.methods.iter().map(|m| m.signature.clone()).collect(),
                ItemKind::Delegate(d) => vec![d.signature.clone()],
                _ => Vec::new(),
            };
            for sig in sigs {
                add_signature(g, &substitute_signature(&sig, &params, args), found);
            }
        }
        _ => {}
    }
}

fn has_param(ty: &Type) -> bool {
    match ty {
        Type::Param(_) => true,
        Type::Pointer { pointee, .. } | Type::Const(pointee) => has_param(pointee),
        Type::Array { element, .. } => has_param(element),
        Type::Instance { args, .. } => args.iter().any(has_param),
        _ => false,
    }
}

fn type_params(item: &Item) -> Vec<String> {
    match &item.kind {
        ItemKind::Interface(i) => i.type_params.clone(),
        ItemKind::Delegate(d) => d.type_params.clone(),
        _ => Vec::new(),
    }
}

fn substitute(ty: &Type, params: &[String], args: &[Type]) -> Type {
    match ty {
        Type::Param(name) => params
            .iter()
            .position(|p| p == name)
            .and_then(|i| args.get(i).cloned())
            .unwrap_or_else(|| ty.clone()),
        Type::Pointer {
            pointee,
            kind,
            is_const,
        } => Type::Pointer {
            pointee: Box::new(substitute(pointee, params, args)),
            kind: *kind,
            is_const: *is_const,
        },
        Type::Const(inner) => Type::Const(Box::new(substitute(inner, params, args))),
        Type::Array { element, len } => Type::Array {
            element: Box::new(substitute(element, params, args)),
            len: *len,
        },
        Type::Instance {
            generic,
            args: inner,
        } => Type::Instance {
            generic: *generic,
            args: inner.iter().map(|a| substitute(a, params, args)).collect(),
        },
        other => other.clone(),
    }
}

fn substitute_signature(sig: &Signature, params: &[String], args: &[Type]) -> Signature {
    let mut sig = sig.clone();
    sig.ret = substitute(&sig.ret, params, args);
    for p in &mut sig.params {
        p.ty = substitute(&p.ty, params, args);
    }
    sig
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
        Type::Base(b) => Some(
            match b {
                Base::Boolean => "boolean",
                Base::Double => "DOUBLE",
                Base::Float => "FLOAT",
                Base::Int8 { .. } | Base::Char { .. } | Base::Byte => "BYTE",
                Base::Int16 { signed: true } => "INT16",
                Base::Int16 { signed: false } => "UINT16",
                Base::Int32 { signed: true } => "INT32",
                Base::Int32 { signed: false } => "UINT32",
                Base::Int64 { signed: true } => "INT64",
                Base::Int64 { signed: false } => "UINT64",
                Base::WChar => "WCHAR",
                _ => return None,
            }
            .to_string(),
        ),
        _ => None,
    }
}

/// The WinRT type signature of a type, which instance IIDs are computed from.
fn signature(g: &Gen, ty: &Type) -> Option<String> {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => signature(g, pointee),
        Type::Base(b) => base_signature(*b).map(str::to_string),
        Type::Instance { generic, args } => {
            let item = g.model.item(*generic)?;
            let iid = item.uuid()?;
            let mut s = format!("pinterface({{{iid}}}");
            for a in args {
                s.push(';');
                s.push_str(&signature(g, a)?);
            }
            s.push(')');
            Some(s)
        }
        Type::Named(id) => {
            let item = g.model.item(*id)?;
            match (&item.kind, item.name.as_str()) {
                (_, "HSTRING") => Some("string".into()),
                (_, "IInspectable") => Some("cinterface(IInspectable)".into()),
                (_, "GUID") => Some("g16".into()),
                (ItemKind::Typedef(inner), _) => signature(g, inner),
                (ItemKind::Interface(_), _) => Some(format!("{{{}}}", item.uuid()?)),
                (ItemKind::Delegate(_), _) => Some(format!("delegate({{{}}})", item.uuid()?)),
                (ItemKind::Enum(_), _) => {
                    let under = if item.has_attr("flags") { "u4" } else { "i4" };
                    Some(format!("enum({};{under})", item.full_name()))
                }
                (ItemKind::Struct(r), _) => {
                    let mut s = format!("struct({}", item.full_name());
                    for f in &r.fields {
                        s.push(';');
                        s.push_str(&signature(g, f.ty.as_ref()?)?);
                    }
                    s.push(')');
                    Some(s)
                }
                (ItemKind::RuntimeClass(members), _) => {
                    let default = members
                        .iter()
                        .find(|m| m.attrs.iter().any(|a| a.name == "default"))
                        .or(members.first())?;
                    Some(format!(
                        "rc({};{})",
                        item.full_name(),
                        signature(g, &default.ty)?
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn base_signature(b: Base) -> Option<&'static str> {
    Some(match b {
        Base::Boolean => "b1",
        Base::Byte | Base::Char { signed: false } | Base::Int8 { signed: false } => "u1",
        Base::Char { signed: true } | Base::Int8 { signed: true } => "i1",
        Base::Int16 { signed: true } => "i2",
        Base::Int16 { signed: false } => "u2",
        Base::Int32 { signed: true } => "i4",
        Base::Int32 { signed: false } => "u4",
        Base::Int64 { signed: true } => "i8",
        Base::Int64 { signed: false } => "u8",
        Base::Float => "f4",
        Base::Double => "f8",
        Base::WChar => "c2",
        _ => return None,
    })
}

/// The namespace WinRT hashes instance signatures under.
const PINTERFACE_NAMESPACE: [u8; 16] = [
    0x11, 0xf4, 0x7a, 0xd5, 0x7b, 0x73, 0x42, 0xc0, 0xab, 0xae, 0x87, 0x8b, 0x1e, 0x16, 0xad, 0xee,
];

/// A version-5 (SHA-1, name-based) UUID of `signature` under the WinRT namespace.
fn iid_from_signature(signature: &str) -> Guid {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(&PINTERFACE_NAMESPACE);
    hasher.update(signature.as_bytes());
    let hash = hasher.digest().bytes();
    let data1 = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
    let data2 = u16::from_be_bytes([hash[4], hash[5]]);
    let data3 = (u16::from_be_bytes([hash[6], hash[7]]) & 0x0fff) | 0x5000;
    let mut data4 = [0u8; 8];
    data4.copy_from_slice(&hash[8..16]);
    data4[0] = (data4[0] & 0x3f) | 0x80;
    Guid {
        data1,
        data2,
        data3,
        data4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_iids_follow_the_winrt_derivation() {
        // IVector<HSTRING>: the IID Windows publishes for it.
        let g = iid_from_signature("pinterface({913337e9-11a1-4345-a3a2-4e7f956e222d};string)");
        assert_eq!(g.to_string(), "98b9acc1-4b56-532e-ac73-03d5291cca90");
    }
}
