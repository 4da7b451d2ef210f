//! `const` declarations → Rust constants.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::types::{Resolved, int_kind};
use super::{Gen, docs, names};
use crate::ir::{Base, Const, Item, Type, Value};
use crate::sema::consteval::wrap;

pub(super) fn emit(g: &mut Gen, item: &Item, c: &Const) -> TokenStream {
    if !g.claim_value(&names::sanitize(&item.name)) {
        return TokenStream::new();
    }
    let name = names::ident(&item.name);
    let Some((ty, value)) = typed_value(g, &c.ty, &c.value) else {
        // An address or a pointer cast: only a C compiler can give it a value.
        return TokenStream::new();
    };
    let doc = docs::attrs(&g.item_doc(item));
    quote! { #doc pub const #name: #ty = #value; }
}

/// The Rust type and value expression of a constant, if Rust can state it.
pub(super) fn typed_value(
    g: &mut Gen,
    ty: &Type,
    value: &Value,
) -> Option<(TokenStream, TokenStream)> {
    match (g.resolve(ty), value) {
        (Resolved::Base(b), Value::Int(v)) if int_kind(b).is_some() => {
            let t = g.raw(ty);
            Some((t, int_literal(*v, b)))
        }
        (Resolved::Base(Base::Float), Value::Int(v)) => Some((g.raw(ty), float_literal(*v as f64))),
        (Resolved::Base(Base::Double), Value::Int(v)) => {
            Some((g.raw(ty), float_literal(*v as f64)))
        }
        (Resolved::Base(Base::Float | Base::Double), Value::Float(f)) => {
            Some((g.raw(ty), float_literal(*f)))
        }
        (Resolved::Enum(_), Value::Int(v)) => {
            let t = g.raw(ty);
            let lit = int_literal(*v, Base::Int32 { signed: true });
            Some((t.clone(), quote! { #t(#lit) }))
        }
        (Resolved::Hresult, Value::Int(v)) => {
            let lit = int_literal(*v, Base::Int32 { signed: true });
            let t = g.rt("HRESULT");
            Some((t.clone(), quote! { #t(#lit) }))
        }
        (Resolved::Pointer(pointee), Value::Str(s)) => {
            let wide = matches!(
                g.resolve(&pointee),
                Resolved::Base(Base::WChar | Base::Int16 { .. })
            );
            Some(string(s, wide))
        }
        (Resolved::Base(Base::Char { .. } | Base::WChar), Value::Str(s)) => Some(string(s, false)),
        _ => None,
    }
}

/// A C string constant: `&CStr` for narrow strings, a NUL-terminated `&[u16]` for wide ones.
fn string(s: &str, wide: bool) -> (TokenStream, TokenStream) {
    if wide || s.contains('\0') {
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        let ty = quote! { &[u16] };
        return (ty, quote! { &[#(#units),*] });
    }
    let lit = Literal::c_string(&std::ffi::CString::new(s).unwrap_or_default());
    (quote! { &::core::ffi::CStr }, quote! { #lit })
}

/// An integer literal wrapped to the width of `b`, as C converts it.
pub(super) fn int_literal(v: i128, b: Base) -> TokenStream {
    let (bits, signed) = int_kind(b).unwrap_or((64, true));
    let value = wrap(v, bits, !signed);
    let raw = value as u128;
    if signed {
        let lit = Literal::i128_unsuffixed(value.abs());
        if value < 0 {
            quote! { -#lit }
        } else {
            quote! { #lit }
        }
    } else if raw > 9 {
        let text: TokenStream = format!("0x{raw:X}").parse().unwrap_or_default();
        text
    } else {
        let lit = Literal::u128_unsuffixed(raw);
        quote! { #lit }
    }
}

fn float_literal(f: f64) -> TokenStream {
    if f.is_finite() {
        let lit = Literal::f64_unsuffixed(f);
        if f < 0.0 {
            let lit = Literal::f64_unsuffixed(-f);
            return quote! { -#lit };
        }
        quote! { #lit }
    } else if f.is_nan() {
        quote! { f64::NAN as _ }
    } else if f > 0.0 {
        quote! { f64::INFINITY as _ }
    } else {
        quote! { f64::NEG_INFINITY as _ }
    }
}

/// `declare_guid(NAME, guid)` → `pub const NAME: GUID`.
pub(super) fn guid(g: &mut Gen, item: &Item, guid: &crate::ir::Guid) -> TokenStream {
    let name = names::sanitize(&item.name);
    if !g.claim_value(&name) {
        return TokenStream::new();
    }
    let ident = names::ident(&name);
    let doc = docs::attrs(&format!(
        "{} ({})",
        docs::code(&format!("declare_guid({}, {guid})", item.name)),
        g.file_name(item)
    ));
    let value = super::guid_tokens(g, guid);
    let rt = &g.rt;
    quote! { #doc pub const #ident: #rt::GUID = #value; }
}
