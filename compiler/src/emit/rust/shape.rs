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
//! - `[size_is(n)]` arrays whose count `n` is an `[in]` integer parameter become slices
//!   (`&[T]` for `[in]`, `&mut [T]` for `[out]` and `[in, out]`), and `n` leaves the safe
//!   signature: it is the slices' length;
//! - fixed arrays (`T x[4]`) become `&[T; 4]` (`&mut` when written);
//! - `[in, string]` pointers to characters become `&WStr` (wide) or `&CStr` (narrow);
//! - a pointer the IDL says may be NULL (`[unique]`, `[ptr]`, or an `_opt_` SAL
//!   annotation such as `annotation("_In_opt_")`) becomes an `Option`;
//! - everything else (`void *`, pointers to pointers, arrays sized by expressions) stays a
//!   raw pointer, and a method with a raw pointer parameter is an `unsafe fn`.
//!
//! Only methods returning `HRESULT` are reshaped: others keep their raw signature.

use proc_macro2::{Ident, TokenStream};

use super::types::{Resolved, int_kind};
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
    /// A counted array as a slice of `element`s (`&mut` unless `[in]` only); `count` is
    /// the index of the parameter holding its length.
    Slice {
        element: TokenStream,
        count: usize,
        optional: bool,
        mutable: bool,
        /// `[out]` only: the callee's server side zeroes the buffer before lending it.
        out: bool,
    },
    /// The length of the [`Shape::Slice`]s at these indices: not in the safe signature.
    Count {
        arrays: Vec<usize>,
    },
    /// A fixed-size array `T x[len]` parameter.
    FixedArray {
        element: TokenStream,
        len: u64,
        mutable: bool,
        /// `[out]` only: zeroed by the server side before it is lent.
        out: bool,
    },
    /// An `[in, string]` string: `&WStr` when `wide`, else `&CStr`; `element` is the raw
    /// character type.
    InStr {
        wide: bool,
        optional: bool,
        element: TokenStream,
    },
}

pub(super) struct ShapedParam {
    pub name: Ident,
    /// The raw ABI type.
    pub raw: TokenStream,
    pub shape: Shape,
    /// The IDL lets the pointer be NULL (`[unique]`, `[ptr]`, an `_opt_` annotation): a
    /// server must not fail on a NULL `[out]` it need not fill.
    pub optional: bool,
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
            // A method not returning HRESULT has no Result for its outputs or for a failed
            // check: its client side takes safe inputs, its server side stays raw.
            let shape = if hresult {
                param(g, p)
            } else if server {
                raw_shape(g, &p.ty)
            } else {
                input_only(param(g, p), g, &p.ty)
            };
            ShapedParam {
                name: names::ident(name),
                raw,
                shape,
                optional: optional(p),
            }
        })
        .collect();
    if hresult || !server {
        for (i, shape) in counted_arrays(g, sig) {
            params[i].shape = shape;
        }
    }
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

/// Whether the IDL lets the parameter's own pointer be NULL: `[unique]` or `[ptr]` on it, or
/// a SAL annotation saying so (`_In_opt_`, `_Inout_opt_`, `_In_reads_opt_(n)`,
/// `_COM_Outptr_opt_`, ...).
fn optional(p: &Param) -> bool {
    // Only the parameter's own pointer decides: a typedef'd pointer carries the
    // pointer_default of the file that declared it (`REFIID` would become optional),
    // and the IR doesn't say whether its kind was written or defaulted.
    let kind = match &p.ty {
        Type::Pointer { kind, .. } => *kind,
        _ => PointerKind::Unspecified,
    };
    matches!(kind, PointerKind::Unique | PointerKind::Full)
        || p.attrs.iter().any(|a| {
            a.name == "annotation"
                && a.args.iter().any(|v| {
                    matches!(v, AttrValue::Str(text)
                        if text.contains("_opt_") || text.trim_end().ends_with("_opt"))
                })
        })
}

/// The name an array attribute's first argument is, if it is a plain name.
fn plain_name(attr: &crate::ir::Attr) -> Option<&str> {
    match attr.args.first() {
        Some(AttrValue::Expr(Expr::Name(n))) => Some(n),
        _ => None,
    }
}

/// Every name an attribute argument mentions.
fn mentions(value: &AttrValue, out: &mut Vec<String>) {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Name(n) => out.push(n.clone()),
            Expr::Unary(_, a) | Expr::Cast(_, a) | Expr::Member(a, _) | Expr::Arrow(a, _) => {
                walk(a, out)
            }
            Expr::Binary(_, a, b) | Expr::Index(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Ternary(a, b, c) => {
                walk(a, out);
                walk(b, out);
                walk(c, out);
            }
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::SizeOf(_) => {}
        }
    }
    if let AttrValue::Expr(e) = value {
        walk(e, out);
    }
}

/// The slices of a method and the counts they hide.
///
/// An array parameter becomes a slice when its `size_is` is a plain name of an `[in]`
/// integer parameter, it has no `max_is`/`first_is`/`last_is`, and its element is a value
/// a slice can hold (a number, enum, record, GUID, or for `[in]` an interface pointer). Its
/// `length_is`, if any, only says how much of the buffer is meaningful, so a slice of the
/// full size is still right. The count leaves the safe signature only when every mention
/// of it is such a `size_is` (or the matching `length_is`); otherwise (it also sizes an
/// expression, selects a union arm, ...) the arrays it sizes stay raw pointers.
fn counted_arrays(g: &mut Gen, sig: &Signature) -> Vec<(usize, Shape)> {
    let index_of = |name: &str| sig.params.iter().position(|q| q.name == name);
    // Array parameters that could be slices: (array index, count index, element, in, out).
    let mut candidates = Vec::new();
    for (i, p) in sig.params.iter().enumerate() {
        if p.attrs
            .iter()
            .any(|a| matches!(a.name.as_str(), "max_is" | "first_is" | "last_is"))
        {
            continue;
        }
        // The count: `size_is(n)`, or else a SAL annotation naming it (what the Windows
        // SDK's IDL writes for local interfaces such as D3D12's).
        let size_is = p.attrs.iter().find(|a| a.name == "size_is");
        let sal = sal_array(p);
        let count_name = match (size_is, &sal) {
            (Some(size), _) => plain_name(size).map(str::to_string),
            (None, Some((name, _))) => Some(name.clone()),
            (None, None) => None,
        };
        let Some(count) = count_name.as_deref().and_then(index_of) else {
            continue;
        };
        if count == i || !is_count(g, &sig.params[count]) {
            continue;
        }
        let sal_writes = size_is.is_none() && sal.as_ref().is_some_and(|(_, d)| *d != Sal::In);
        let is_out = p.has_attr("out") || sal_writes;
        let is_in = p.has_attr("in")
            || !p.has_attr("out") && sal.as_ref().is_none_or(|(_, d)| *d != Sal::Out);
        if is_out && pointee_const(g, &p.ty) {
            continue;
        }
        let Some(element) = slice_element(g, &p.ty, is_out) else {
            continue;
        };
        candidates.push((i, count, element, is_in, is_out));
    }
    // Which counts can be hidden: every mention is a candidate's size_is or its matching
    // length_is.
    let mut out = Vec::new();
    let mut counts: Vec<usize> = candidates.iter().map(|c| c.1).collect();
    counts.sort_unstable();
    counts.dedup();
    for count in counts {
        let name = &sig.params[count].name;
        let arrays: Vec<usize> = candidates
            .iter()
            .filter(|c| c.1 == count)
            .map(|c| c.0)
            .collect();
        let only_sizes = sig.params.iter().enumerate().all(|(j, q)| {
            q.attrs.iter().all(|a| {
                let mut named = Vec::new();
                for v in &a.args {
                    mentions(v, &mut named);
                }
                if !named.iter().any(|n| n == name) {
                    return true;
                }
                arrays.contains(&j)
                    && matches!(a.name.as_str(), "size_is" | "length_is")
                    && plain_name(a) == Some(name.as_str())
                    && a.args.len() == 1
            })
        });
        if !only_sizes {
            continue;
        }
        for c in candidates.iter().filter(|c| c.1 == count) {
            let (i, _, element, is_in, is_out) = c.clone();
            out.push((
                i,
                Shape::Slice {
                    element,
                    count,
                    optional: optional(&sig.params[i]),
                    mutable: is_out,
                    out: is_out && !is_in,
                },
            ));
        }
        out.push((count, Shape::Count { arrays }));
    }
    out
}

/// The direction a SAL buffer annotation gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sal {
    In,
    Out,
    InOut,
}

/// A SAL buffer annotation counting elements by a parameter: `_In_reads_(n)`,
/// `_Out_writes_(n)`, `_Inout_updates_(n)` (and their `_opt_`, `_all_` and `_to_` forms).
/// Byte counts (`_bytes_`) are not element counts and are left alone.
fn sal_array(p: &Param) -> Option<(String, Sal)> {
    const FORMS: &[(&str, Sal)] = &[
        ("_In_reads_", Sal::In),
        ("_In_reads_opt_", Sal::In),
        ("_Out_writes_", Sal::Out),
        ("_Out_writes_opt_", Sal::Out),
        ("_Out_writes_all_", Sal::Out),
        ("_Out_writes_all_opt_", Sal::Out),
        ("_Out_writes_to_", Sal::Out),
        ("_Out_writes_to_opt_", Sal::Out),
        ("_Inout_updates_", Sal::InOut),
        ("_Inout_updates_opt_", Sal::InOut),
        ("_Inout_updates_all_", Sal::InOut),
    ];
    p.attrs
        .iter()
        .filter(|a| a.name == "annotation")
        .flat_map(|a| a.args.iter())
        .find_map(|v| {
            let AttrValue::Str(text) = v else {
                return None;
            };
            let text = text.trim();
            FORMS.iter().find_map(|(form, dir)| {
                let args = text.strip_prefix(form)?.trim_start().strip_prefix('(')?;
                let first = args.split([',', ')']).next()?.trim();
                let plain = !first.is_empty()
                    && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !first.starts_with(|c: char| c.is_ascii_digit());
                plain.then(|| (first.to_string(), *dir))
            })
        })
}

/// Whether a parameter can be a hidden count: `[in]` only, an integer by value.
fn is_count(g: &Gen, p: &Param) -> bool {
    if p.has_attr("out") {
        return false;
    }
    match g.resolve(&p.ty) {
        Resolved::Base(b) => b != Base::Handle && b != Base::Boolean && int_kind(b).is_some(),
        _ => false,
    }
}

/// The slice element type of an array parameter (`T *` or `T x[]`), if a slice can hold
/// it: numbers, enums, records, GUIDs, HRESULTs; interface pointers only when read.
fn slice_element(g: &mut Gen, ty: &Type, written: bool) -> Option<TokenStream> {
    let element: Type = match ty {
        Type::Array { element, .. } => (**element).clone(),
        _ => match g.resolve(ty) {
            Resolved::Pointer(pointee) => *pointee,
            _ => return None,
        },
    };
    match g.resolve(&element) {
        Resolved::Base(b) if b != Base::Handle => {}
        Resolved::Record(_) | Resolved::Enum(_) | Resolved::Guid | Resolved::Hresult => {}
        Resolved::Pointer(inner) if !written && g.is_interface(&inner) => {}
        _ => return None,
    }
    Some(g.raw(&element))
}

/// Whether an `[in]` parameter is a string: `[string]` on it or on a typedef it names
/// (`typedef [string] const WCHAR *LPCWSTR;`).
fn is_string(g: &Gen, p: &Param) -> bool {
    if p.has_attr("string") {
        return true;
    }
    let mut ty = &p.ty;
    for _ in 0..64 {
        match ty {
            Type::Const(inner) => ty = inner,
            Type::Named(id) => {
                let Some(item) = g.model.item(*id) else {
                    return false;
                };
                if item.has_attr("string") {
                    return true;
                }
                match &item.kind {
                    ItemKind::Typedef(inner) => ty = inner,
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    false
}

/// A shape a method without an HRESULT can take: the ones passing a caller's value or
/// buffer. Results (which would need the method to return them) stay raw pointers.
fn input_only(shape: Shape, g: &Gen, ty: &Type) -> Shape {
    match shape {
        Shape::Out { .. }
        | Shape::OutInterface { .. }
        | Shape::OutBstr
        | Shape::IidSource
        | Shape::OutQuery => raw_shape(g, ty),
        other => other,
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
    let optional = optional(p);
    if let Type::Array { len: Some(len), .. } = &p.ty
        && !array
        && let Some(element) = slice_element(g, &p.ty, is_out)
    {
        // `T x[4]`: a fixed-size array, passed as a pointer to its first element.
        return Shape::FixedArray {
            element,
            len: *len,
            mutable: is_out,
            out: is_out && !is_in,
        };
    }
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
    if array {
        return Shape::Raw { pointer: true };
    }
    if is_in && !is_out && is_string(g, p) {
        // The character type is spelled as its Rust base type: a typedef (WCHAR) need not
        // be visible where the bindings refer to imported files.
        return match target {
            Resolved::Base(b @ (Base::WChar | Base::Int16 { signed: false })) => Shape::InStr {
                wide: true,
                optional,
                element: super::types::base(b),
            },
            Resolved::Base(b @ (Base::Char { .. } | Base::Int8 { .. } | Base::Byte)) => {
                Shape::InStr {
                    wide: false,
                    optional,
                    element: super::types::base(b),
                }
            }
            _ => Shape::Raw { pointer: true },
        };
    }
    if p.has_attr("string") && !is_out {
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
