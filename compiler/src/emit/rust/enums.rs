//! Enums → `#[repr(transparent)]` newtypes over `i32` with associated constants, so any
//! value a C peer sends is a valid Rust value. Each enumerator is also a module-level
//! constant, as it is a file-scope name in C.

use proc_macro2::TokenStream;
use quote::quote;

use super::constants::int_literal;
use super::{Gen, docs, names};
use crate::ir::{Base, Enum, Item, ItemId, Value, Variant};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, e: &Enum) -> TokenStream {
    let rust_name = g.names.get(id).to_string();
    let anonymous = item.name.is_empty() && rust_name.starts_with("__Anonymous");
    let i32_ty = Base::Int32 { signed: true };
    let idl = g.idl();
    // `RED = 1{suffix}`, with the variant's helpstring.
    let variant_doc = |v: &Variant, suffix: &str| {
        docs::with_help(
            format!(
                "{}{suffix}",
                docs::code(&format!(
                    "{}{} = {}",
                    idl.attrs_prefix(&v.attrs),
                    v.name,
                    idl.value(&Value::Int(v.value))
                ))
            ),
            &v.attrs,
        )
    };
    if anonymous {
        // `enum { A = 1, B };` names constants only: plain i32 constants.
        let file = g.file_name(item);
        let consts: Vec<TokenStream> = e
            .variants
            .iter()
            .filter_map(|v| {
                if !g.claim_value(&names::sanitize(&v.name)) {
                    return None;
                }
                let name = names::ident(&v.name);
                let value = int_literal(v.value, i32_ty);
                let doc = docs::attrs(&variant_doc(
                    v,
                    &format!(", of an anonymous {} ({file})", docs::code("enum")),
                ));
                Some(quote! { #doc pub const #name: i32 = #value; })
            })
            .collect();
        return quote! { #(#consts)* };
    }
    if !g.claim_type(&rust_name, item) {
        return TokenStream::new();
    }
    g.claim_value(&rust_name);
    let name = names::ident(&rust_name);
    let doc = if item.name.is_empty() {
        g.anonymous_doc(id, item)
    } else {
        g.item_doc(item)
    };
    let doc = docs::attrs(&doc);
    let owner = if item.name.is_empty() {
        docs::code(&rust_name)
    } else {
        docs::code(&idl.item(item))
    };
    let assoc: Vec<TokenStream> = e
        .variants
        .iter()
        .map(|v| {
            let vname = names::ident(&v.name);
            let value = int_literal(v.value, i32_ty);
            let doc = docs::attrs(&variant_doc(v, ""));
            quote! { #doc pub const #vname: Self = Self(#value); }
        })
        .collect();
    let globals: Vec<TokenStream> = e
        .variants
        .iter()
        .filter_map(|v| {
            if !g.claim_value(&names::sanitize(&v.name)) {
                return None;
            }
            let vname = names::ident(&v.name);
            let doc = docs::attrs(&variant_doc(v, &format!(", of {owner}")));
            Some(quote! { #doc pub const #vname: #name = #name::#vname; })
        })
        .collect();
    let assoc_block = if e.variants.is_empty() {
        TokenStream::new()
    } else {
        quote! { impl #name { #(#assoc)* } }
    };
    let flags = is_flags(g, id, item, &rust_name);
    let debug = debug_impl(g, &name, &rust_name, e, flags);
    let ops = if flags {
        flag_ops(&name)
    } else {
        TokenStream::new()
    };
    quote! {
        #doc
        #[repr(transparent)]
        #[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
        pub struct #name(pub i32);
        #assoc_block
        #debug
        #ops
        #(#globals)*
    }
}

/// Whether the IDL marks the enum as a set of flags: the `[flags]` attribute, a
/// `cpp_quote("DEFINE_ENUM_FLAG_OPERATORS(NAME)")` (what gives C++ its operators), or a
/// name that says so (`..._FLAGS`, `...Flags`).
fn is_flags(g: &Gen, id: ItemId, item: &Item, rust_name: &str) -> bool {
    item.has_attr("flags")
        || g.flag_enums.contains(&id)
        || rust_name.to_ascii_lowercase().ends_with("flags")
}

/// `Debug` printing the enumerator's name (see the runtime's `enums::debug`); the first
/// enumerator wins when several share a value.
fn debug_impl(
    g: &Gen,
    name: &proc_macro2::Ident,
    rust_name: &str,
    e: &Enum,
    flags: bool,
) -> TokenStream {
    let rt = &g.rt;
    let mut seen = std::collections::HashSet::new();
    let entries: Vec<TokenStream> = e
        .variants
        .iter()
        .filter(|v| seen.insert(v.value as i32))
        .map(|v| {
            let value = int_literal(v.value, Base::Int32 { signed: true });
            let text = &v.name;
            quote! { (#value, #text) }
        })
        .collect();
    // The value-tree conversion the safe RPC layer uses (not for the runtime's own
    // bindings, which sit below the ndr layer).
    let ndr = if g.opts.marshal {
        quote! {
            impl #rt::ndr::NdrValue for #name {
                fn to_value(&self) -> #rt::ndr::Value {
                    #rt::ndr::Value::Int(i64::from(self.0))
                }
                fn from_value(v: &#rt::ndr::Value) -> ::core::result::Result<Self, #rt::ndr::NdrError> {
                    <i32 as #rt::ndr::NdrValue>::from_value(v).map(Self)
                }
            }
        }
    } else {
        TokenStream::new()
    };
    quote! {
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #rt::enums::debug(f, #rust_name, self.0, &[#(#entries),*], #flags)
            }
        }
        #ndr
    }
}

/// `|`, `&`, `^`, `!` and their assignments, as `DEFINE_ENUM_FLAG_OPERATORS` gives C++.
fn flag_ops(name: &proc_macro2::Ident) -> TokenStream {
    quote! {
        impl ::core::ops::BitOr for #name {
            type Output = Self;
            fn bitor(self, other: Self) -> Self { Self(self.0 | other.0) }
        }
        impl ::core::ops::BitAnd for #name {
            type Output = Self;
            fn bitand(self, other: Self) -> Self { Self(self.0 & other.0) }
        }
        impl ::core::ops::BitXor for #name {
            type Output = Self;
            fn bitxor(self, other: Self) -> Self { Self(self.0 ^ other.0) }
        }
        impl ::core::ops::Not for #name {
            type Output = Self;
            fn not(self) -> Self { Self(!self.0) }
        }
        impl ::core::ops::BitOrAssign for #name {
            fn bitor_assign(&mut self, other: Self) { self.0 |= other.0 }
        }
        impl ::core::ops::BitAndAssign for #name {
            fn bitand_assign(&mut self, other: Self) { self.0 &= other.0 }
        }
        impl ::core::ops::BitXorAssign for #name {
            fn bitxor_assign(&mut self, other: Self) { self.0 ^= other.0 }
        }
    }
}
