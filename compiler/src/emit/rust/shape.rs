//! How each parameter of a method looks in the safe layer.
//!
//! One decision per parameter, shared by the client wrapper ([`super::client`]) and the
//! server trait ([`super::server`]) so the two sides always agree:
//! - `[in]` scalars, structs by value and function pointers pass through;
//! - `[in]` interface pointers become `&IFoo` (`Option<&IFoo>` when `[unique]`);
//! - `[in]` pointers to one struct, GUID, enum or number become references;
//! - `[in] BSTR` becomes `&BSTR` (the runtime's owned string);
//! - `[out]` pointers become return values (`[out]` interfaces become `ComPtr`s);
//! - `[in, out]` pointers to one value become `&mut T`;
//! - `[out, iid_is(riid)] void **` with its `[in] REFIID riid` becomes a generic
//!   `ComPtr<T>` result (client side);
//! - everything else (arrays, strings, `void *`, pointers to pointers) stays a raw pointer,
//!   and a method with a raw pointer parameter is an `unsafe fn`.
//!
//! Only methods returning `HRESULT` are reshaped: others keep their raw signature.

use proc_macro2::{Ident, TokenStream};

use super::types::Resolved;
use super::{Gen, WellKnown, names};
use crate::ir::{AttrValue, Base, Expr, ItemId, ItemKind, Param, PointerKind, Signature, Type};

#[derive(Clone, Debug)]
pub(super) enum Shape {
    /// Passed as its raw type; `pointer` marks a raw pointer (the method becomes unsafe).
    Raw {
        pointer: bool,
    },
    InInterface {
        wrapper: TokenStream,
        optional: bool,
    },
    InRef {
        pointee: TokenStream,
        optional: bool,
        mutable: bool,
    },
    InBstr,
    /// A returned value of this (raw) type.
    Out {
        ty: TokenStream,
    },
    OutInterface {
        wrapper: TokenStream,
        retval: bool,
    },
    OutBstr,
    /// The `REFIID` feeding an [`Shape::OutQuery`]: filled in from the type parameter.
    IidSource,
    OutQuery,
}

pub(super) struct ShapedParam {
    pub name: Ident,
    /// The raw ABI type.
    pub raw: TokenStream,
    pub shape: Shape,
}

pub(super) struct MethodShape {
    pub params: Vec<ShapedParam>,
    /// The method returns HRESULT, so it returns `Result<..>` in the safe layer.
    pub hresult: bool,
    /// ` -> R` of the raw signature.
    pub raw_ret: TokenStream,
    /// Some parameter is a raw pointer.
    pub is_unsafe: bool,
    /// The method is generic over the interface it returns.
    pub query: bool,
}

/// Array-like attributes: with a first argument, the outermost pointer is an array.
const ARRAY_ATTRS: &[&str] = &["size_is", "length_is", "max_is", "first_is", "last_is"];

pub(super) fn method(g: &mut Gen, sig: &Signature, server: bool) -> MethodShape {
    let hresult = g.resolve(&sig.ret) == Resolved::Hresult;
    let raw_ret = g.ret(&sig.ret);
    let names = names::param_names(&sig.params, names::snake);
    let mut params: Vec<ShapedParam> = sig
        .params
        .iter()
        .zip(&names)
        .map(|(p, name)| {
            let raw = g.raw_param(&p.ty);
            let shape = if hresult {
                param(g, p)
            } else {
                raw_shape(g, &p.ty)
            };
            ShapedParam {
                name: names::ident(name),
                raw,
                shape,
            }
        })
        .collect();
    let mut query = false;
    if hresult && !server {
        // `[out, iid_is(riid)] void **ppv` with `[in] REFIID riid`: the generic shape.
        for (i, p) in sig.params.iter().enumerate() {
            if !p.has_attr("out") || p.has_attr("in") {
                continue;
            }
            let Some(source) = iid_source(sig, p) else {
                continue;
            };
            if source == i || !is_void_pp(g, &p.ty) || query {
                continue;
            }
            params[i].shape = Shape::OutQuery;
            params[source].shape = Shape::IidSource;
            query = true;
        }
    }
    let is_unsafe = params
        .iter()
        .any(|p| matches!(p.shape, Shape::Raw { pointer: true }));
    MethodShape {
        params,
        hresult,
        raw_ret,
        is_unsafe,
        query,
    }
}

/// The index of the `[in] REFIID` parameter an `iid_is` names.
fn iid_source(sig: &Signature, p: &Param) -> Option<usize> {
    let attr = p.attrs.iter().find(|a| a.name == "iid_is")?;
    let Some(AttrValue::Expr(Expr::Name(name))) = attr.args.first() else {
        return None;
    };
    sig.params
        .iter()
        .position(|q| &q.name == name && !q.has_attr("out"))
}

fn is_void_pp(g: &Gen, ty: &Type) -> bool {
    let Resolved::Pointer(inner) = g.resolve(ty) else {
        return false;
    };
    let Resolved::Pointer(inner) = g.resolve(&inner) else {
        return false;
    };
    g.resolve(&inner) == Resolved::Void
}

fn raw_shape(g: &Gen, ty: &Type) -> Shape {
    let pointer = match g.resolve(ty) {
        Resolved::Pointer(p) => g.resolve(&p) != Resolved::Function,
        Resolved::Array => true,
        _ => false,
    };
    Shape::Raw { pointer }
}

fn param(g: &mut Gen, p: &Param) -> Shape {
    let is_in = p.has_attr("in") || !p.has_attr("out");
    let is_out = p.has_attr("out");
    let array = p.attrs.iter().any(|a| {
        ARRAY_ATTRS.contains(&a.name.as_str())
            && !matches!(a.args.first(), None | Some(AttrValue::Empty))
    });
    // Only the parameter's own pointer decides: a typedef'd pointer carries the
    // pointer_default of the file that declared it (`REFIID` would become optional),
    // and the IR doesn't say whether its kind was written or defaulted.
    let kind = match &p.ty {
        Type::Pointer { kind, .. } => *kind,
        _ => PointerKind::Unspecified,
    };
    let optional = matches!(kind, PointerKind::Unique | PointerKind::Full);
    let resolved = g.resolve(&p.ty);
    if let Resolved::Bstr = resolved
        && is_in
        && !is_out
    {
        return Shape::InBstr;
    }
    let Resolved::Pointer(pointee) = resolved else {
        return raw_shape(g, &p.ty);
    };
    let pointee_is_const = pointee_const(g, &p.ty);
    let target = g.resolve(&pointee);
    if array || p.has_attr("string") && !is_out {
        return Shape::Raw { pointer: true };
    }
    match (is_in, is_out) {
        (true, false) => match target {
            Resolved::Function => Shape::Raw { pointer: false },
            Resolved::Interface(_) => Shape::InInterface {
                wrapper: g.interface_type(&pointee),
                optional,
            },
            Resolved::Guid | Resolved::Record(_) | Resolved::Enum(_) | Resolved::Hresult => {
                Shape::InRef {
                    pointee: g.raw(&pointee),
                    optional,
                    mutable: false,
                }
            }
            Resolved::Base(b) if !is_char(b) && b != Base::Handle => Shape::InRef {
                pointee: g.raw(&pointee),
                optional,
                mutable: false,
            },
            _ => Shape::Raw { pointer: true },
        },
        (false, true) => {
            if pointee_is_const || p.has_attr("string") && matches!(target, Resolved::Base(_)) {
                return Shape::Raw { pointer: true };
            }
            // `[out] IFoo **pp`: the pointee is an interface pointer.
            if let Resolved::Pointer(inner) = &target
                && g.is_interface(inner)
                && interface_complete(g, inner)
            {
                return Shape::OutInterface {
                    wrapper: g.interface_type(inner),
                    retval: p.has_attr("retval"),
                };
            }
            match target {
                // `[out] IFoo *p` passes an interface pointer, which the callee can't set.
                Resolved::Interface(_) => Shape::Raw { pointer: false },
                Resolved::Bstr => Shape::OutBstr,
                Resolved::Void | Resolved::Opaque | Resolved::Array => Shape::Raw { pointer: true },
                _ => Shape::Out {
                    ty: g.raw(&pointee),
                },
            }
        }
        _ => {
            if pointee_is_const {
                return Shape::Raw { pointer: true };
            }
            match target {
                Resolved::Guid | Resolved::Record(_) | Resolved::Enum(_) | Resolved::Hresult => {
                    Shape::InRef {
                        pointee: g.raw(&pointee),
                        optional,
                        mutable: true,
                    }
                }
                Resolved::Base(b) if b != Base::Handle => Shape::InRef {
                    pointee: g.raw(&pointee),
                    optional,
                    mutable: true,
                },
                _ => Shape::Raw { pointer: true },
            }
        }
    }
}

/// Whether the pointer type's pointee is `const` (so it can't be written through).
fn pointee_const(g: &Gen, ty: &Type) -> bool {
    matches!(g.model.unalias(ty), Type::Pointer { pointee, .. } if matches!(*pointee, Type::Const(_)))
}

fn is_char(b: Base) -> bool {
    matches!(
        b,
        Base::Char { .. } | Base::Int8 { .. } | Base::Byte | Base::WChar | Base::Boolean
    )
}

/// Whether an interface type has an `Interface` impl (defined, with an IID), so it can sit
/// in a `ComPtr`.
pub(super) fn interface_complete(g: &Gen, ty: &Type) -> bool {
    match ty {
        Type::Const(inner) => interface_complete(g, inner),
        Type::Instance { .. } => super::winrt::instance_has_iid(g, ty),
        Type::Named(id) => complete_item(g, *id),
        _ => false,
    }
}

fn complete_item(g: &Gen, id: ItemId) -> bool {
    if matches!(g.well_known(id), Some(WellKnown::RuntimeInterface(_))) {
        return true;
    }
    let Some(item) = g.model.item(id) else {
        return false;
    };
    match &item.kind {
        ItemKind::Interface(i) => i.defined && i.type_params.is_empty() && item.uuid().is_some(),
        ItemKind::Dispinterface(d) => d.defined && item.uuid().is_some(),
        ItemKind::Delegate(d) => d.type_params.is_empty() && item.uuid().is_some(),
        ItemKind::Typedef(Type::Named(inner)) => complete_item(g, *inner),
        _ => false,
    }
}
