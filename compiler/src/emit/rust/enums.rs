//! Enums → `#[repr(transparent)]` newtypes over `i32` with associated constants, so any
//! value a C peer sends is a valid Rust value. Each enumerator is also a module-level
//! constant, as it is a file-scope name in C.

use proc_macro2::TokenStream;
use quote::quote;

use super::constants::int_literal;
use super::{Gen, names};
use crate::ir::{Base, Enum, Item, ItemId};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, e: &Enum) -> TokenStream {
    let rust_name = g.names.get(id).to_string();
    let anonymous = item.name.is_empty() && rust_name.starts_with("__Anonymous");
    let i32_ty = Base::Int32 { signed: true };
    if anonymous {
        // `enum { A = 1, B };` names constants only: plain i32 constants.
        let consts = e.variants.iter().filter_map(|v| {
            if !g.claim_value(&names::sanitize(&v.name)) {
                return None;
            }
            let name = names::ident(&v.name);
            let value = int_literal(v.value, i32_ty);
            Some(quote! { pub const #name: i32 = #value; })
        });
        return quote! { #(#consts)* };
    }
    if !g.claim_type(&rust_name, item) {
        return TokenStream::new();
    }
    g.claim_value(&rust_name);
    let name = names::ident(&rust_name);
    let assoc = e.variants.iter().map(|v| {
        let vname = names::ident(&v.name);
        let value = int_literal(v.value, i32_ty);
        quote! { pub const #vname: Self = Self(#value); }
    });
    let globals: Vec<TokenStream> = e
        .variants
        .iter()
        .filter_map(|v| {
            if !g.claim_value(&names::sanitize(&v.name)) {
                return None;
            }
            let vname = names::ident(&v.name);
            Some(quote! { pub const #vname: #name = #name::#vname; })
        })
        .collect();
    let assoc_block = if e.variants.is_empty() {
        TokenStream::new()
    } else {
        quote! { impl #name { #(#assoc)* } }
    };
    quote! {
        #[repr(transparent)]
        #[derive(Copy, Clone, Default, PartialEq, Eq, Hash, Debug)]
        pub struct #name(pub i32);
        #assoc_block
        #(#globals)*
    }
}
