//! Free functions (`[local]` top-level declarations, module functions, the operations of
//! DCE RPC interfaces) → declarations in an `unsafe extern` block. They are only
//! declarations: nothing links against them unless the user calls one.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Gen, docs, names};
use crate::ir::{Function, Interface, Item, Signature};

pub(super) fn emit(g: &mut Gen, item: &Item, f: &Function) -> TokenStream {
    let doc = g.item_doc(item);
    let decl = declaration(g, &item.name, &f.signature, &doc);
    wrap(&f.signature, decl)
}

/// The operations of a non-object interface.
pub(super) fn rpc_interface(g: &mut Gen, item: &Item, iface: &Interface) -> TokenStream {
    let idl = g.idl();
    let owner = format!(
        "an operation of interface {} ({})",
        docs::code(&item.full_name()),
        g.file_name(item)
    );
    let decls: Vec<TokenStream> = iface
        .methods
        .iter()
        .map(|m| {
            let doc = docs::with_help(format!("{}, {owner}", docs::code(&idl.method(m))), &m.attrs);
            let decl = declaration(g, &m.name, &m.signature, &doc);
            wrap(&m.signature, decl)
        })
        .collect();
    quote! { #(#decls)* }
}

fn declaration(g: &mut Gen, name: &str, sig: &Signature, doc: &str) -> TokenStream {
    if !g.claim_value(&names::sanitize(name)) {
        return TokenStream::new();
    }
    let ident = names::ident(name);
    let param_names = names::param_names(&sig.params, names::sanitize);
    let params: Vec<TokenStream> = sig
        .params
        .iter()
        .zip(&param_names)
        .map(|(p, n)| {
            let n = names::ident(n);
            let t = g.raw_param(&p.ty);
            quote! { #n: #t }
        })
        .collect();
    let ret = g.ret(&sig.ret);
    let varargs = if sig.varargs {
        quote! { , ... }
    } else {
        TokenStream::new()
    };
    let doc = docs::attrs(doc);
    quote! { #doc pub fn #ident(#(#params),* #varargs) #ret; }
}

fn wrap(sig: &Signature, decl: TokenStream) -> TokenStream {
    if decl.is_empty() {
        return decl;
    }
    let abi = if sig.varargs {
        "C"
    } else {
        super::types::abi(&sig.callconv)
    };
    quote! { unsafe extern #abi { #decl } }
}
