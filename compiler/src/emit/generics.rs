//! WinRT parameterized types as every backend needs them: substituting an instance's type
//! arguments into its generic's declarations, and the IID WinRT derives from an instance's
//! type signature (a version-5 UUID, SHA-1, of `pinterface({iid};string)` and the like,
//! under WinRT's namespace GUID). Also the walk that finds the instances a file uses,
//! which each backend names in its own way.

use std::collections::BTreeMap;

use crate::ir::{Base, Guid, Item, ItemId, ItemKind, Model, Signature, Type};

/// Instances found, by the backend's name for each: the generic and its type arguments.
pub(crate) type Instances = BTreeMap<String, (ItemId, Vec<Type>)>;

/// Adds the instances in a signature's return and parameter types (see [`add_instances`]).
pub(crate) fn add_signature_instances(
    model: &Model,
    sig: &Signature,
    name: &dyn Fn(&Type) -> Option<String>,
    found: &mut Instances,
) {
    add_instances(model, &sig.ret, name, found);
    for p in &sig.params {
        add_instances(model, &p.ty, name, found);
    }
}

/// Adds every concrete instance in `ty`, its arguments first, and the instances the
/// generic's own methods use with those arguments (IIterable<T> returns IIterator<T>).
/// `name` is the backend's name for an instance; one it cannot name is skipped.
pub(crate) fn add_instances(
    model: &Model,
    ty: &Type,
    name: &dyn Fn(&Type) -> Option<String>,
    found: &mut Instances,
) {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => {
            add_instances(model, pointee, name, found)
        }
        Type::Array { element, .. } => add_instances(model, element, name, found),
        Type::Instance { generic, args } => {
            if args.iter().any(has_param) {
                return;
            }
            for a in args {
                add_instances(model, a, name, found);
            }
            let Some(key) = name(ty) else {
                return;
            };
            if found.contains_key(&key) {
                return;
            }
            found.insert(key, (*generic, args.clone()));
            let Some(item) = model.item(*generic) else {
                return;
            };
            let params = type_params(item);
            let sigs: Vec<Signature> = match &item.kind {
                ItemKind::Interface(i) => i.methods.iter().map(|m| m.signature.clone()).collect(),
                ItemKind::Delegate(d) => vec![d.signature.clone()],
                _ => Vec::new(),
            };
            for sig in sigs {
                let sig = substitute_signature(&sig, &params, args);
                add_signature_instances(model, &sig, name, found);
            }
        }
        _ => {}
    }
}

/// widl's name for a scalar type argument in an instance's C name (`IVector_1_UINT32`).
pub(crate) fn scalar_arg_name(b: Base) -> Option<&'static str> {
    Some(match b {
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
    })
}

/// Whether a type mentions a type parameter (is not a concrete instance).
pub(crate) fn has_param(ty: &Type) -> bool {
    match ty {
        Type::Param(_) => true,
        Type::Pointer { pointee, .. } | Type::Const(pointee) => has_param(pointee),
        Type::Array { element, .. } => has_param(element),
        Type::Instance { args, .. } => args.iter().any(has_param),
        _ => false,
    }
}

/// The type parameters of a parameterized interface or delegate.
pub(crate) fn type_params(item: &Item) -> Vec<String> {
    match &item.kind {
        ItemKind::Interface(i) => i.type_params.clone(),
        ItemKind::Delegate(d) => d.type_params.clone(),
        _ => Vec::new(),
    }
}

/// `ty` with each type parameter in `params` replaced by the argument at its position.
pub(crate) fn substitute(ty: &Type, params: &[String], args: &[Type]) -> Type {
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

/// A signature with its type parameters replaced, as [`substitute`] does.
pub(crate) fn substitute_signature(sig: &Signature, params: &[String], args: &[Type]) -> Signature {
    let mut sig = sig.clone();
    sig.ret = substitute(&sig.ret, params, args);
    for p in &mut sig.params {
        p.ty = substitute(&p.ty, params, args);
    }
    sig
}

/// The WinRT type signature of a type, as IIDs of instances are computed from.
pub(crate) fn signature(model: &Model, ty: &Type) -> Option<String> {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => signature(model, pointee),
        Type::Base(b) => base_signature(*b).map(str::to_string),
        Type::Instance { generic, args } => {
            let item = model.item(*generic)?;
            let iid = item.uuid()?;
            let mut s = format!("pinterface({{{iid}}}");
            for a in args {
                s.push(';');
                s.push_str(&signature(model, a)?);
            }
            s.push(')');
            Some(s)
        }
        Type::Named(id) => {
            let item = model.item(*id)?;
            match (&item.kind, item.name.as_str()) {
                (_, "HSTRING") => Some("string".into()),
                (_, "IInspectable") => Some("cinterface(IInspectable)".into()),
                (_, "GUID") => Some("g16".into()),
                (ItemKind::Typedef(inner), _) => signature(model, inner),
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
                        s.push_str(&signature(model, f.ty.as_ref()?)?);
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
                        signature(model, &default.ty)?
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The WinRT signature of a scalar.
pub(crate) fn base_signature(b: Base) -> Option<&'static str> {
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

/// A version-5 (SHA-1, name-based) UUID of `signature` under the WinRT namespace.
pub(crate) fn iid_from_signature(signature: &str) -> Guid {
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

/// The namespace WinRT hashes instance signatures under.
const PINTERFACE_NAMESPACE: [u8; 16] = [
    0x11, 0xf4, 0x7a, 0xd5, 0x7b, 0x73, 0x42, 0xc0, 0xab, 0xae, 0x87, 0x8b, 0x1e, 0x16, 0xad, 0xee,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_iids_follow_the_winrt_derivation() {
        // IVector<HSTRING>: IVector's IID and the string signature give the IID Windows
        // publishes for it (98b9acc1-4b56-532e-ac73-03d5291cca90).
        let g = iid_from_signature("pinterface({913337e9-11a1-4345-a3a2-4e7f956e222d};string)");
        assert_eq!(g.to_string(), "98b9acc1-4b56-532e-ac73-03d5291cca90");
    }
}
