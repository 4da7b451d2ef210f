//! WinRT: delegates (interfaces with one `Invoke` method), and the instances of
//! parameterized interfaces and delegates a file uses (`IVector<HSTRING>`), each emitted
//! as a concrete interface with its type arguments substituted.
//!
//! An instance is named as widl names it in C (`__FIVector_1_HSTRING`) and placed at the
//! root of the generated file. Its IID is derived as WinRT derives it: SHA-1 over a fixed
//! namespace GUID and the instance's type signature (`pinterface({iid};string)`), made a
//! version-5 UUID.

use proc_macro2::TokenStream;
use quote::quote;

use super::interfaces::{Definition, object, wrapper_doc};
use super::{Gen, docs, names};
use crate::emit::generics::{
    Instances, add_instances, add_signature_instances, has_param, iid_from_signature,
    scalar_arg_name, signature, substitute_signature, type_params,
};
use crate::ir::{Delegate, Item, ItemId, ItemKind, Method, Signature, Type};

pub(super) fn delegate(g: &mut Gen, id: ItemId, item: &Item, d: &Delegate) -> TokenStream {
    if !d.type_params.is_empty() {
        return TokenStream::new();
    }
    let iunknown = g.model.names.get("IUnknown").copied();
    let def = Definition {
        rust_name: g.names.get(id).to_string(),
        doc: wrapper_doc(
            g,
            "Delegate",
            g.idl().item(item).trim_start_matches("delegate "),
            item,
        ),
        base: iunknown.map(Type::Named),
        methods: vec![invoke(&d.signature, item)],
        iid: item.uuid(),
        is_unknown: false,
        defined: true,
        pack: None,
    };
    object(g, item, &def)
}

fn invoke(signature: &Signature, item: &Item) -> Method {
    Method {
        name: "Invoke".into(),
        signature: signature.clone(),
        attrs: Vec::new(),
        span: item.span,
    }
}

/// The instances the main file uses, as items of the root module.
pub(super) fn instances(g: &mut Gen) -> Vec<(Vec<String>, TokenStream)> {
    let mut found = Instances::new();
    let (model, main) = (g.model, g.main);
    let name = |ty: &Type| mangle(g, ty);
    for (_, item) in model.items_in(main) {
        match &item.kind {
            ItemKind::Declare(types) => types
                .iter()
                .for_each(|t| add_instances(model, t, &name, &mut found)),
            ItemKind::Interface(i) if i.type_params.is_empty() => {
                for m in &i.methods {
                    add_signature_instances(model, &m.signature, &name, &mut found);
                }
                if let Some(base) = &i.base {
                    add_instances(model, base, &name, &mut found);
                }
            }
            ItemKind::Delegate(d) if d.type_params.is_empty() => {
                add_signature_instances(model, &d.signature, &name, &mut found);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, (generic, args)) in found {
        g.ns = Vec::new();
        let tokens = instance(g, &name, generic, &args);
        if !tokens.is_empty() {
            out.push((Vec::new(), tokens));
        }
    }
    out
}

fn instance(g: &mut Gen, name: &str, generic: ItemId, args: &[Type]) -> TokenStream {
    let Some(item) = g.model.item(generic) else {
        return TokenStream::new();
    };
    let params = type_params(item);
    let ty = Type::Instance {
        generic,
        args: args.to_vec(),
    };
    let iid = signature(g.model, &ty).map(|s| iid_from_signature(&s));
    let what = match &item.kind {
        ItemKind::Delegate(_) => "delegate",
        _ => "interface",
    };
    let mut doc = format!(
        "Instance {} of the parameterized {what} {} ({})",
        docs::code(&g.idl().ty(&ty)),
        docs::code(&g.idl().item(item)),
        g.file_name(item)
    );
    if let Some(iid) = iid {
        doc.push_str(&format!(
            ", with the IID WinRT derives from its type signature, {}",
            docs::code(&format!("{{{iid}}}"))
        ));
    }
    let doc = docs::with_help(doc, &item.attrs);
    let (base, methods) = match &item.kind {
        ItemKind::Interface(i) => (
            i.base.clone(),
            i.methods
                .iter()
                .map(|m| Method {
                    signature: substitute_signature(&m.signature, &params, args),
                    ..m.clone()
                })
                .collect(),
        ),
        ItemKind::Delegate(d) => (
            g.model.names.get("IUnknown").copied().map(Type::Named),
            vec![invoke(
                &substitute_signature(&d.signature, &params, args),
                item,
            )],
        ),
        _ => return TokenStream::new(),
    };
    let def = Definition {
        rust_name: name.to_string(),
        doc,
        base,
        methods,
        iid,
        is_unknown: false,
        defined: true,
        pack: None,
    };
    object(g, item, &def)
}

/// Whether an instance is emitted with an IID (so it implements `Interface`).
pub(super) fn instance_has_iid(g: &Gen, ty: &Type) -> bool {
    mangle(g, ty).is_some() && signature(g.model, ty).is_some()
}

/// The Rust type of a parameterized interface instance.
pub(super) fn instance_type(g: &mut Gen, ty: &Type) -> TokenStream {
    match mangle(g, ty) {
        Some(name) if !matches!(ty, Type::Instance { args, .. } if args.iter().any(has_param)) => {
            let name = names::ident(&name);
            let supers = (0..g.ns.len()).map(|_| quote! { super:: });
            quote! { #(#supers)* #name }
        }
        _ => quote! { ::core::ptr::NonNull<::core::ffi::c_void> },
    }
}

/// widl's C name for an instance: `__FIVector_1_HSTRING`,
/// `__FIMap_2_HSTRING_Windows__CFoundation__CUri`.
fn mangle(g: &Gen, ty: &Type) -> Option<String> {
    let Type::Instance { generic, args } = ty else {
        return None;
    };
    let item = g.model.item(*generic)?;
    let mut s = format!("__F{}_{}", item.name, args.len());
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
                Some(item.name.clone())
            } else {
                Some(format!(
                    "{}__C{}",
                    item.namespace.replace('.', "__C"),
                    item.name
                ))
            }
        }
        Type::Base(b) => scalar_arg_name(*b).map(str::to_string),
        _ => None,
    }
}
