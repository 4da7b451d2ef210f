//! Coclasses (their CLSID), libraries (their LIBID), runtime classes (their name), and
//! dispinterfaces (an IDispatch-derived wrapper with the DISPIDs of its members).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::interfaces::{Definition, object, wrapper_doc};
use super::{Gen, docs, guid_tokens, names};
use crate::ir::{AttrValue, Dispinterface, Item, ItemId, ItemKind, Type};

/// `CLSID_<Name>`, and `CLASS_<Name>`: the runtime's `ClassInfo` from the coclass's
/// attributes (what registration and class objects need).
pub(super) fn coclass(g: &mut Gen, item: &Item) -> TokenStream {
    let clsid = guid_constant(g, "CLSID", "coclass", item);
    if clsid.is_empty() {
        return clsid;
    }
    let name = format!("CLASS_{}", names::sanitize(&item.name));
    if !g.claim_value(&name) {
        return clsid;
    }
    let rt = g.rt.clone();
    let ident = names::ident(&name);
    let clsid_ident = names::ident(&format!("CLSID_{}", names::sanitize(&item.name)));
    let text = |attr: &str| -> TokenStream {
        match item.attr_text(attr) {
            Some(s) => {
                let s = Literal::string(s);
                quote! { ::core::option::Option::Some(#s) }
            }
            None => quote! { ::core::option::Option::None },
        }
    };
    let (helpstring, progid, vi_progid, threading, version) = (
        text("helpstring"),
        text("progid"),
        text("vi_progid"),
        text("threading"),
        text("version"),
    );
    let library = item
        .parent
        .and_then(|p| g.model.item(p))
        .filter(|p| matches!(p.kind, ItemKind::Library(_)))
        .and_then(|p| p.uuid());
    let typelib = match library {
        Some(uuid) => {
            let guid = guid_tokens(g, &uuid);
            quote! { ::core::option::Option::Some(#guid) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let class_name = Literal::string(&item.name);
    let doc = docs::attrs(&format!(
        "Coclass {} as the runtime registers and serves it (its CLSID and attributes).",
        docs::code(&item.name)
    ));
    quote! {
        #clsid
        #doc
        pub const #ident: #rt::ClassInfo = #rt::ClassInfo {
            clsid: #clsid_ident,
            name: #class_name,
            helpstring: #helpstring,
            progid: #progid,
            vi_progid: #vi_progid,
            threading: #threading,
            version: #version,
            typelib: #typelib,
        };
    }
}

pub(super) fn library(g: &mut Gen, item: &Item) -> TokenStream {
    guid_constant(g, "LIBID", "library", item)
}

/// `pub const {PREFIX}_{name}: GUID = ..;` from the item's uuid, if it has one. `kind` is
/// the IDL keyword of the item, for the doc.
fn guid_constant(g: &mut Gen, prefix: &str, kind: &str, item: &Item) -> TokenStream {
    let Some(uuid) = item.uuid() else {
        return TokenStream::new();
    };
    let name = format!("{prefix}_{}", names::sanitize(&item.name));
    if !g.claim_value(&name) {
        return TokenStream::new();
    }
    let ident = names::ident(&name);
    let doc = docs::attrs(&docs::with_help(
        format!(
            "The {prefix} of {kind} {} ({}, {})",
            docs::code(&item.full_name()),
            docs::code(&format!("{{{uuid}}}")),
            g.file_name(item)
        ),
        &item.attrs,
    ));
    let guid = guid_tokens(g, &uuid);
    let rt = &g.rt;
    quote! { #doc pub const #ident: #rt::GUID = #guid; }
}

/// A WinRT runtime class: its activatable class name, as a constant.
pub(super) fn runtimeclass(g: &mut Gen, item: &Item) -> TokenStream {
    let name = format!("RuntimeClass_{}", names::sanitize(&item.full_name()));
    if !g.claim_value(&name) {
        return TokenStream::new();
    }
    let ident = names::ident(&name);
    let text = Literal::string(&item.full_name());
    let doc = docs::attrs(&docs::with_help(
        format!(
            "The activatable class name of runtimeclass {} ({})",
            docs::code(&item.full_name()),
            g.file_name(item)
        ),
        &item.attrs,
    ));
    quote! { #doc pub const #ident: &str = #text; }
}

pub(super) fn dispinterface(
    g: &mut Gen,
    id: ItemId,
    item: &Item,
    d: &Dispinterface,
) -> TokenStream {
    let idispatch = g.model.names.get("IDispatch").copied();
    let has_dispids = d.properties.iter().any(|p| dispid(&p.attrs).is_some())
        || d.methods.iter().any(|m| dispid(&m.attrs).is_some());
    let doc = format!(
        "{}\n\nIts members are called through {}{}.",
        wrapper_doc(g, "Dispinterface", &item.full_name(), item),
        docs::code("IDispatch::Invoke"),
        if has_dispids {
            ", by the `DISPID_` constants here"
        } else {
            ""
        }
    );
    let def = Definition {
        rust_name: g.names.get(id).to_string(),
        doc,
        base: idispatch.map(Type::Named),
        methods: Vec::new(),
        iid: item.uuid(),
        is_unknown: false,
        defined: d.defined,
        pack: None,
    };
    let base = object(g, item, &def);
    if base.is_empty() || !d.defined {
        return base;
    }
    let name = names::ident(g.names.get(id));
    let idl = g.idl();
    // (name, DISPID, doc)
    let mut dispids: Vec<(String, i128, String)> = Vec::new();
    for p in &d.properties {
        if let Some(v) = dispid(&p.attrs) {
            let doc = docs::with_help(
                format!("The DISPID of property {}", docs::code(&idl.field(p))),
                &p.attrs,
            );
            dispids.push((p.name.clone(), v, doc));
        }
    }
    for m in &d.methods {
        if let Some(v) = dispid(&m.attrs) {
            let prefix = m.slot_name();
            let doc = docs::with_help(
                format!("The DISPID of method {}", docs::code(&idl.method(m))),
                &m.attrs,
            );
            dispids.push((prefix, v, doc));
        }
    }
    let mut const_names: Vec<String> = dispids
        .iter()
        .map(|(n, _, _)| format!("DISPID_{n}"))
        .collect();
    names::dedup(&mut const_names);
    let consts = dispids.iter().zip(&const_names).map(|((_, v, doc), n)| {
        let n = names::ident(n);
        let v = Literal::i32_unsuffixed(*v as i32);
        let doc = docs::attrs(doc);
        quote! { #doc pub const #n: i32 = #v; }
    });
    quote! {
        #base
        impl #name { #(#consts)* }
    }
}

fn dispid(attrs: &[crate::ir::Attr]) -> Option<i128> {
    attrs
        .iter()
        .find(|a| a.name == "id")
        .and_then(|a| match a.args.first() {
            Some(AttrValue::Int(v)) => Some(*v),
            _ => None,
        })
}
