//! The safe layer of RPC (non-object) interfaces: owned Rust types for the data their
//! operations carry, a client whose methods take and return them, and a handler trait a
//! server implements with them.
//!
//! - `pub mod owned`: per structure reached, a `struct` of owned fields (`String` for
//!   strings, `Vec<T>` for arrays, `Option<..>` where a pointer may be NULL, `Box<T>`
//!   behind a `[ref]` pointer), per union an `enum` of its arms; each implements
//!   `ndr::NdrValue` (conversion to and from the engine's value trees). Enums are the
//!   bindings' own enum types. Counts stay fields of their own: a `Vec` and the field its
//!   `size_is` names must agree (the engine refuses a mismatch).
//! - `X<C: ndr::Channel>`: one method per operation, in snake_case: `[in]` values by value
//!   (or by reference for owned aggregates), `[in, out]` ones by `&mut`, and a `Result`
//!   of the return value and the `[out]` values (a tuple when there are several). Binding
//!   handles are left out: the channel is the binding.
//! - `X_Handler` and `X_serve(handler, opnum, request)`: the server side with the same
//!   shapes; a handler's `Err(fault)` (or a panic) is the call's fault.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::ndr::is_char;
use super::{Gen, WellKnown, docs, names};
use crate::ir::{
    Attr, AttrValue, Base, Interface, Item, ItemId, ItemKind, Method, Param, PointerKind, Type,
};

/// The owned types' module for the main file's RPC interfaces, and each interface's safe
/// client and handler.
pub(super) fn emit(g: &mut Gen) -> TokenStream {
    if !g.opts.marshal {
        return TokenStream::new();
    }
    let model = g.model;
    let mut o = Owned {
        g,
        defined: BTreeMap::new(),
        pending: Vec::new(),
        inside: false,
        top_param: false,
    };
    let mut interfaces = Vec::new();
    for (id, item) in model.items_in(o.g.main) {
        let ItemKind::Interface(i) = &item.kind else {
            continue;
        };
        if !i.defined
            || i.has_vtable(item)
            || !item.namespace.is_empty()
            || item.has_attr("local")
            || i.methods.is_empty()
        {
            continue;
        }
        interfaces.push(o.interface(id, item, i));
    }
    // Types serialized on their own (`[encode]` / `[decode]`) get owned values too.
    let mut pickled = Vec::new();
    for (id, item) in model.items_in(o.g.main) {
        let (encode, decode) = (item.has_attr("encode"), item.has_attr("decode"));
        if !(encode || decode) || !item.namespace.is_empty() {
            continue;
        }
        let record = match &item.kind {
            ItemKind::Typedef(Type::Named(r)) => *r,
            ItemKind::Struct(_) | ItemKind::Union(_) => id,
            _ => continue,
        };
        if !matches!(
            model.item(record).map(|r| &r.kind),
            Some(ItemKind::Struct(_) | ItemKind::Union(_))
        ) {
            continue;
        }
        let owned = o.owned_name(record);
        pickled.push((id, owned, encode, decode));
    }
    if interfaces.is_empty() && pickled.is_empty() {
        return TokenStream::new();
    }
    // Types found while writing signatures, and those their fields reach.
    let mut types = Vec::new();
    o.inside = true;
    while let Some(id) = o.pending.pop() {
        if let Some(t) = o.record(id) {
            types.push(t);
        }
    }
    let rt = o.g.rt.clone();
    for (id, owned, encode, decode) in pickled {
        let desc = format_ident!("{}_TYPE", names::sanitize(o.g.names.get(id)));
        let mut methods = TokenStream::new();
        if encode {
            methods.extend(quote! {
                /// Serializes the value (MIDL's `[encode]`: MS-RPCE 2.2.6 type serialization).
                pub fn encode(&self) -> ::core::result::Result<::std::vec::Vec<u8>, NdrError> {
                    #rt::ndr::pickle::encode_value(super::ndr::#desc, &self.to_value())
                }
            });
        }
        if decode {
            methods.extend(quote! {
                /// Deserializes a value (MIDL's `[decode]`), checked as any received data.
                pub fn decode(bytes: &[u8]) -> ::core::result::Result<Self, NdrError> {
                    let v = #rt::ndr::pickle::decode_value(super::ndr::#desc, bytes, #rt::ndr::Limits::default())?;
                    <Self as NdrValue>::from_value(&v)
                }
            });
        }
        types.push(quote! { impl #owned { #methods } });
    }
    let doc = docs::attrs(
        "Owned values of the data this file's RPC interfaces carry (and of the types it \
         serializes), for their safe clients and handlers.",
    );
    quote! {
        #doc
        pub mod owned {
            #[allow(unused_imports)]
            use #rt::ndr::{NdrError, NdrValue, Value};
            #(#types)*
        }
        #(#interfaces)*
    }
}

struct Owned<'g, 'm> {
    g: &'g mut Gen<'m>,
    /// Records and unions given an owned type: their Rust name.
    defined: BTreeMap<ItemId, String>,
    pending: Vec<ItemId>,
    /// Writing inside `mod owned` (paths are one module deeper).
    inside: bool,
    /// Writing a parameter's own type (its top-level pointer is `[ref]` by default).
    top_param: bool,
}

/// How a parameter reaches the safe method.
enum Passing {
    /// Not in the signature (a binding handle).
    Hidden,
    /// `[in]`: by value (`Copy` scalars) or by reference.
    In {
        by_ref: bool,
    },
    InOut,
    Out,
}

impl<'m> Owned<'_, 'm> {
    /// The owned Rust type of `ty` where `attrs` apply, at pointer depth `level`.
    fn ty(&mut self, ty: &Type, attrs: &[Attr], level: usize, depth: usize) -> TokenStream {
        if depth > 32 {
            return quote! { () };
        }
        let rt = self.g.rt.clone();
        let has = |n: &str| attrs.iter().any(|a| a.name == n);
        if has("context_handle") {
            return quote! { #rt::ndr::ContextHandle };
        }
        let model = self.g.model;
        match ty {
            Type::Const(inner) => self.ty(inner, attrs, level, depth + 1),
            Type::Base(b) => base(*b),
            Type::Named(id) => {
                let Some(item) = model.item(*id) else {
                    return quote! { () };
                };
                if self.g.well_known(*id) == Some(WellKnown::Bstr) {
                    return quote! { ::core::option::Option<::std::string::String> };
                }
                if item.has_attr("context_handle") {
                    return quote! { #rt::ndr::ContextHandle };
                }
                if [
                    "wire_marshal",
                    "user_marshal",
                    "transmit_as",
                    "represent_as",
                ]
                .iter()
                .any(|a| item.has_attr(a))
                {
                    // Its value tree, the wire value's (the engine converts it).
                    return quote! { #rt::ndr::Value };
                }
                match &item.kind {
                    ItemKind::Typedef(inner) => {
                        let mut merged = attrs.to_vec();
                        merged.extend(item.attrs.iter().cloned());
                        self.ty(inner, &merged, level, depth + 1)
                    }
                    ItemKind::Enum(_) => {
                        let p = self.g.path(*id);
                        if self.inside && !p.to_string().starts_with("::") {
                            quote! { super::#p }
                        } else {
                            quote! { #p }
                        }
                    }
                    ItemKind::Struct(_) | ItemKind::Union(_) => {
                        let name = self.owned_name(*id);
                        if self.inside {
                            quote! { #name }
                        } else {
                            quote! { owned::#name }
                        }
                    }
                    _ => quote! { () },
                }
            }
            Type::Pointer { pointee, kind, .. } => {
                let target = model.unalias(pointee);
                if matches!(target, Type::Function(_))
                    || matches!(&target, Type::Named(t) if matches!(model.item(*t).map(|i| &i.kind), Some(ItemKind::Interface(_) | ItemKind::Dispinterface(_) | ItemKind::Coclass(_))))
                    || (matches!(target, Type::Base(Base::Void)) && !has("string"))
                {
                    return quote! { () };
                }
                // A pointer may be NULL unless it is [ref]: by its attribute here, else by
                // the kind the IR gives it (a top-level parameter's pointer is [ref]
                // unless it says otherwise).
                let optional = if level == 0 && has("ref") {
                    false
                } else if level == 0 && (has("unique") || has("ptr")) {
                    true
                } else if level == 0 && self.top_param {
                    false
                } else {
                    !matches!(kind, PointerKind::Ref)
                };
                let sized = ["size_is", "max_is", "length_is", "first_is", "last_is"]
                    .iter()
                    .any(|n| attr_at(attrs, n, level).is_some());
                let deepest = attrs
                    .iter()
                    .filter(|a| ["size_is", "max_is", "length_is"].contains(&a.name.as_str()))
                    .map(|a| a.args.len())
                    .max()
                    .unwrap_or(0);
                let inner = if has("string") && level + 1 >= deepest && is_char(model, &target) {
                    quote! { ::std::string::String }
                } else if sized {
                    let e = self.ty(pointee, attrs, level + 1, depth + 1);
                    quote! { ::std::vec::Vec<#e> }
                } else {
                    let e = self.ty(pointee, attrs, level + 1, depth + 1);
                    quote! { ::std::boxed::Box<#e> }
                };
                if optional {
                    quote! { ::core::option::Option<#inner> }
                } else {
                    inner
                }
            }
            Type::Array { element, .. } => {
                if has("string") && is_char(model, &model.unalias(element)) {
                    quote! { ::std::string::String }
                } else {
                    let e = self.ty(element, &[], 0, depth + 1);
                    quote! { ::std::vec::Vec<#e> }
                }
            }
            _ => quote! { () },
        }
    }

    fn owned_name(&mut self, id: ItemId) -> proc_macro2::Ident {
        if let Some(n) = self.defined.get(&id) {
            return format_ident!("{n}");
        }
        // The typedef naming a record is the name users know (`PTRS`, not `_PTRS`).
        let model = self.g.model;
        let alias = model.items.iter().find_map(|it| match &it.kind {
            ItemKind::Typedef(Type::Named(t)) if *t == id && !it.name.is_empty() => {
                Some(it.name.clone())
            }
            _ => None,
        });
        let n = match (alias, self.g.names.get(id)) {
            (Some(a), _) => names::sanitize(&a),
            (None, "") => format!("Anonymous{}", id.0),
            (None, n) => names::sanitize(n),
        };
        // Two records may share a name across files: keep each distinct.
        let n = if self.defined.values().any(|d| *d == n) {
            format!("{n}_{}", id.0)
        } else {
            n
        };
        self.defined.insert(id, n.clone());
        self.pending.push(id);
        format_ident!("{n}")
    }

    /// The owned type of a structure or union, with its `NdrValue` conversions.
    fn record(&mut self, id: ItemId) -> Option<TokenStream> {
        let model = self.g.model;
        let item = model.item(id)?;
        let name = format_ident!("{}", self.defined.get(&id)?.clone());
        let idl = Literal::string(&item.name);
        let doc = docs::attrs(&format!("Owned value of `{}`.", item.name));
        match &item.kind {
            ItemKind::Struct(r) => {
                let mut fields = Vec::new();
                let mut to = Vec::new();
                let mut from = Vec::new();
                for f in &r.fields {
                    let Some(ty) = &f.ty else { continue };
                    let fname = names::ident(&f.name);
                    let key = Literal::string(&f.name);
                    let t = self.ty(ty, &f.attrs, 0, 0);
                    fields.push(quote! { pub #fname: #t });
                    to.push(quote! { (#key, self.#fname.to_value()) });
                    from.push(quote! { #fname: <#t as NdrValue>::from_value(field(#key))? });
                }
                Some(quote! {
                    #doc
                    #[derive(Clone, Debug, PartialEq)]
                    pub struct #name { #(#fields,)* }
                    impl NdrValue for #name {
                        fn to_value(&self) -> Value {
                            Value::Record(#idl, ::std::vec![#(#to),*])
                        }
                        fn from_value(v: &Value) -> ::core::result::Result<Self, NdrError> {
                            let field = |n: &str| v.field(n).unwrap_or(&Value::Null);
                            ::core::result::Result::Ok(Self { #(#from,)* })
                        }
                    }
                })
            }
            ItemKind::Union(u) => {
                let mut variants = Vec::new();
                let mut to = Vec::new();
                let mut from_named = Vec::new();
                let mut from_cases = Vec::new();
                let mut default = None;
                for arm in &u.arms {
                    let ty = arm
                        .field
                        .ty
                        .as_ref()
                        .filter(|t| !matches!(model.unalias(t), Type::Base(Base::Void)));
                    let is_default = arm.cases.iter().any(Option::is_none);
                    let first_case = arm.cases.iter().flatten().next().copied().unwrap_or(0);
                    let case = Literal::i64_unsuffixed(
                        first_case.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
                    );
                    let t = ty.map(|t| self.ty(t, &arm.field.attrs, 0, 0));
                    if is_default {
                        default = Some(t);
                        continue;
                    }
                    if arm.field.name.is_empty() {
                        // An empty arm: one unit variant per case.
                        for c in arm.cases.iter().flatten() {
                            let c = (*c).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                            let v = format_ident!("Case{}", c.unsigned_abs());
                            let c = Literal::i64_unsuffixed(c);
                            variants.push(quote! { #v });
                            to.push(quote! { Self::#v => Value::Union("", #c, ::std::boxed::Box::new(Value::Null)) });
                            from_cases.push(quote! { #c => ::core::result::Result::Ok(Self::#v) });
                        }
                        continue;
                    }
                    let v = format_ident!("{}", variant_name(&arm.field.name));
                    let key = Literal::string(&arm.field.name);
                    match t {
                        Some(t) => {
                            variants.push(quote! { #v(#t) });
                            to.push(quote! { Self::#v(x) => Value::Union(#key, #case, ::std::boxed::Box::new(x.to_value())) });
                            from_named.push(quote! { #key => ::core::result::Result::Ok(Self::#v(<#t as NdrValue>::from_value(value)?)) });
                        }
                        None => {
                            variants.push(quote! { #v });
                            to.push(quote! { Self::#v => Value::Union(#key, #case, ::std::boxed::Box::new(Value::Null)) });
                            from_named
                                .push(quote! { #key => ::core::result::Result::Ok(Self::#v) });
                        }
                    }
                }
                let (default_variant, default_to, default_from) = match default {
                    Some(Some(t)) => (
                        quote! { Default(i64, #t), },
                        quote! { Self::Default(d, x) => Value::Union("", *d, ::std::boxed::Box::new(x.to_value())), },
                        quote! { ::core::result::Result::Ok(Self::Default(*disc, <#t as NdrValue>::from_value(value)?)) },
                    ),
                    Some(None) => (
                        quote! { Default(i64), },
                        quote! { Self::Default(d) => Value::Union("", *d, ::std::boxed::Box::new(Value::Null)), },
                        quote! { ::core::result::Result::Ok(Self::Default(*disc)) },
                    ),
                    None => (
                        TokenStream::new(),
                        TokenStream::new(),
                        quote! { ::core::result::Result::Err(NdrError::InvalidTag) },
                    ),
                };
                let by_case = if from_cases.is_empty() {
                    default_from
                } else {
                    quote! { match *disc { #(#from_cases,)* _ => #default_from, } }
                };
                Some(quote! {
                    #doc
                    #[derive(Clone, Debug, PartialEq)]
                    pub enum #name { #(#variants,)* #default_variant }
                    impl NdrValue for #name {
                        fn to_value(&self) -> Value {
                            match self { #(#to,)* #default_to }
                        }
                        #[allow(clippy::match_single_binding)]
                        fn from_value(v: &Value) -> ::core::result::Result<Self, NdrError> {
                            let Value::Union(arm, disc, value) = v else {
                                return ::core::result::Result::Err(NdrError::InvalidTag);
                            };
                            let _ = (&arm, &disc, &value);
                            match *arm {
                                #(#from_named,)*
                                _ => #by_case,
                            }
                        }
                    }
                })
            }
            _ => None,
        }
    }

    /// Whether a type names BSTR (through typedefs).
    fn is_bstr(&self, ty: &Type) -> bool {
        let mut ty = ty.clone();
        for _ in 0..32 {
            match ty {
                Type::Const(inner) => ty = *inner,
                Type::Named(id) => {
                    if self.g.well_known(id) == Some(WellKnown::Bstr) {
                        return true;
                    }
                    match self.g.model.item(id).map(|i| &i.kind) {
                        Some(ItemKind::Typedef(inner)) => ty = inner.clone(),
                        _ => return false,
                    }
                }
                _ => return false,
            }
        }
        false
    }

    /// Whether a parameter is a context handle passed by value (`[in] SESSION s`, or
    /// `[in, context_handle] void *h`): through its typedefs it is a pointer to void, but
    /// its value is the handle.
    fn is_context_handle(&self, p: &Param) -> bool {
        if p.has_attr("context_handle") {
            return true;
        }
        let mut ty = p.ty.clone();
        for _ in 0..32 {
            match ty {
                Type::Const(inner) => ty = *inner,
                Type::Named(id) => match self.g.model.item(id) {
                    Some(item) if item.has_attr("context_handle") => return true,
                    Some(Item {
                        kind: ItemKind::Typedef(inner),
                        ..
                    }) => ty = inner.clone(),
                    _ => return false,
                },
                _ => return false,
            }
        }
        false
    }

    fn passing(&self, p: &Param) -> Passing {
        let t = self.g.model.unalias(&p.ty);
        if matches!(t, Type::Base(Base::Handle)) {
            return Passing::Hidden;
        }
        match (p.has_attr("in"), p.has_attr("out")) {
            (_, false) => Passing::In {
                by_ref: !is_scalar(self.g.model, &p.ty),
            },
            (false, true) => Passing::Out,
            (true, true) => Passing::InOut,
        }
    }

    /// The safe client type and the handler trait of one interface.
    fn interface(&mut self, id: ItemId, item: &Item, iface: &'m Interface) -> TokenStream {
        let rt = self.g.rt.clone();
        let base = names::sanitize(self.g.names.get(id));
        let client = format_ident!("{base}");
        let handler = format_ident!("{base}_Handler");
        let serve = format_ident!("{base}_serve");
        let desc = format_ident!("{base}_INTERFACE");
        if !self.g.claim_type(&base, item) || !self.g.claim_type(&format!("{base}_Handler"), item) {
            return TokenStream::new();
        }
        let mut methods = Vec::new();
        let mut trait_methods = Vec::new();
        let mut arms = Vec::new();
        for (index, m) in iface.methods.iter().enumerate() {
            let (client_m, trait_m, arm) = self.operation(m, index, &desc);
            methods.push(client_m);
            trait_methods.push(trait_m);
            arms.push(arm);
        }
        let iname = &item.name;
        let client_doc = docs::attrs(&format!(
            "Safe client of RPC interface `{iname}`: methods take and return owned values \
             (`owned`), and nothing they return borrows the engine's memory."
        ));
        let handler_doc = docs::attrs(&format!(
            "The operations of RPC interface `{iname}` with owned values, for a server; \
             [`{base}_serve`] serves requests with it."
        ));
        let serve_doc = docs::attrs(&format!(
            "Serves one request for operation `opnum` of `{iname}` with a handler: the \
             reply's stub data, or the fault."
        ));
        quote! {
            #client_doc
            pub struct #client<C> {
                pub channel: C,
            }
            #[allow(clippy::let_unit_value, clippy::unit_arg)]
            impl<C: #rt::ndr::Channel> #client<C> {
                pub fn new(channel: C) -> Self {
                    Self { channel }
                }
                #(#methods)*
            }
            #handler_doc
            pub trait #handler {
                #(#trait_methods)*
            }
            #serve_doc
            // Parameters without an NDR form yet are `()`, kept so signatures stay whole.
            #[allow(clippy::let_unit_value, clippy::unit_arg, clippy::single_match)]
            pub fn #serve<H: #handler + ?Sized>(
                handler: &H,
                opnum: u16,
                request: &[u8],
            ) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::ndr::Fault> {
                #[allow(unused_imports)]
                use #rt::ndr::{NdrValue, Value};
                #rt::ndr::typed::serve(&ndr::#desc, opnum, request, &|index, ins| {
                    let get = |n: &str| ins.iter().find(|(m, _)| *m == n).map(|(_, v)| v).unwrap_or(&Value::Null);
                    let _ = &get;
                    let bad = |_| #rt::ndr::Fault::BAD_STUB_DATA;
                    let _ = &bad;
                    match index {
                        #(#arms)*
                        _ => ::core::result::Result::Err(#rt::ndr::Fault::OP_RANGE),
                    }
                })
            }
        }
    }

    fn operation(
        &mut self,
        m: &'m Method,
        index: usize,
        desc: &proc_macro2::Ident,
    ) -> (TokenStream, TokenStream, TokenStream) {
        let rt = self.g.rt.clone();
        let name = names::ident(&names::snake(&m.name));
        let i = Literal::usize_unsuffixed(index);
        let void = matches!(
            self.g.model.unalias(&m.signature.ret),
            Type::Base(Base::Void)
        );
        let ret_ty = if void {
            None
        } else {
            Some(self.ty(&m.signature.ret, &[], 0, 0))
        };
        let mut params = Vec::new();
        let mut ins = Vec::new();
        let mut updates = Vec::new();
        let mut outs = Vec::new();
        let mut out_tys = Vec::new();
        // The handler side.
        let mut h_params = Vec::new();
        let mut h_args = Vec::new();
        let mut h_outs = Vec::new();
        let mut h_out_pats = Vec::new();
        let mut h_inout_back = Vec::new();
        for p in &m.signature.params {
            let key = Literal::string(&p.name);
            let ident = names::ident(&names::snake(&p.name));
            let passing = self.passing(p);
            // A top-level pointer is the parameter's way of passing: its value is the
            // pointee's.
            // A top-level pointer is the way the value is passed: the value is its
            // pointee's (a string or a counted array is the pointer's own value), and an
            // optional one (`[unique]`, `[ptr]`) is an `Option`.
            self.top_param = true;
            let value_ty = match self.g.model.unalias(&p.ty) {
                // A BSTR is a pointer in C, a string value here.
                _ if self.is_bstr(&p.ty) => self.ty(&p.ty, &p.attrs, 0, 0),
                // So is a context handle: a pointer to void in C, a handle value here.
                _ if self.is_context_handle(p) => self.ty(&p.ty, &p.attrs, 0, 0),
                Type::Pointer { pointee, .. }
                    if (is_stringish(p)
                        && is_char(self.g.model, &self.g.model.unalias(&pointee)))
                        || sized_top(p) =>
                {
                    self.ty(&p.ty, &p.attrs, 0, 0)
                }
                Type::Pointer { pointee, .. } => {
                    self.top_param = false;
                    let inner = self.ty(&pointee, &p.attrs, 1, 0);
                    if p.has_attr("unique") || p.has_attr("ptr") {
                        quote! { ::core::option::Option<#inner> }
                    } else {
                        inner
                    }
                }
                _ => self.ty(&p.ty, &p.attrs, 0, 0),
            };
            self.top_param = false;
            match passing {
                Passing::Hidden => {}
                Passing::In { by_ref } => {
                    let (ty, value) = if by_ref {
                        borrowed(&rt, &value_ty, &ident)
                    } else {
                        (value_ty.clone(), quote! { #ident.to_value() })
                    };
                    params.push(quote! { #ident: #ty });
                    ins.push(quote! { (#key, #value) });
                    h_params.push(quote! { #ident: #value_ty });
                    h_args.push(
                        quote! { <#value_ty as NdrValue>::from_value(get(#key)).map_err(bad)? },
                    );
                }
                Passing::InOut => {
                    params.push(quote! { #ident: &mut #value_ty });
                    ins.push(quote! { (#key, #ident.to_value()) });
                    updates.push(
                        quote! { *#ident = <#value_ty as NdrValue>::from_value(out(#key))?; },
                    );
                    h_params.push(quote! { #ident: &mut #value_ty });
                    let tmp = format_ident!("inout_{}", names::snake(&p.name));
                    h_args.push(quote! { &mut #tmp });
                    h_inout_back.push((tmp, key.clone(), value_ty.clone()));
                }
                Passing::Out => {
                    outs.push(quote! { <#value_ty as NdrValue>::from_value(out(#key))? });
                    out_tys.push(value_ty.clone());
                    let v = format_ident!("out_{}", names::snake(&p.name));
                    h_out_pats.push(v.clone());
                    h_outs.push(quote! { (#key, #v.to_value()) });
                }
            }
        }
        let mut result_tys: Vec<TokenStream> = ret_ty.iter().cloned().collect();
        result_tys.extend(out_tys.iter().cloned());
        let mut result_vals: Vec<TokenStream> = Vec::new();
        if let Some(t) = &ret_ty {
            result_vals.push(
                quote! { <#t as NdrValue>::from_value(ret.as_ref().unwrap_or(&Value::Null))? },
            );
        }
        result_vals.extend(outs);
        let (result_ty, result_val) = match result_tys.len() {
            0 => (quote! { () }, quote! { () }),
            1 => (result_tys[0].clone(), result_vals[0].clone()),
            _ => (
                quote! { (#(#result_tys),*) },
                quote! { (#(#result_vals),*) },
            ),
        };
        let idl = self.g.idl();
        let doc = docs::attrs(&docs::code(&idl.method(m)));
        let client_m = quote! {
            #doc
            pub fn #name(&self, #(#params),*) -> ::core::result::Result<#result_ty, #rt::ndr::CallError> {
                #[allow(unused_imports)]
                use #rt::ndr::{NdrValue, Value};
                let ins: &[(&str, Value)] = &[#(#ins),*];
                let (outs, ret) = #rt::ndr::typed::call(&self.channel, &ndr::#desc, ndr::#desc.procs[#i], ins)?;
                let _ = (&outs, &ret);
                let out = |n: &str| outs.iter().find(|(m, _)| *m == n).map(|(_, v)| v).unwrap_or(&Value::Null);
                let _ = &out;
                #(#updates)*
                ::core::result::Result::Ok(#result_val)
            }
        };
        let trait_m = quote! {
            #doc
            fn #name(&self, #(#h_params),*) -> ::core::result::Result<#result_ty, #rt::ndr::Fault>;
        };
        let h_ret_pat = {
            let mut pats: Vec<TokenStream> = Vec::new();
            if ret_ty.is_some() {
                pats.push(quote! { r });
            }
            pats.extend(h_out_pats.iter().map(|p| quote! { #p }));
            match pats.len() {
                0 => quote! { () },
                1 => pats[0].clone(),
                _ => quote! { (#(#pats),*) },
            }
        };
        let ret_value = if ret_ty.is_some() {
            quote! { ::core::option::Option::Some(r.to_value()) }
        } else {
            quote! { ::core::option::Option::None }
        };
        let inout_setup = h_inout_back.iter().map(|(tmp, key, t)| {
            quote! { let mut #tmp = <#t as NdrValue>::from_value(get(#key)).map_err(bad)?; }
        });
        let inout_back = h_inout_back
            .iter()
            .map(|(tmp, key, _)| quote! { (#key, #tmp.to_value()) });
        let arm = quote! {
            #i => {
                #(#inout_setup)*
                let #h_ret_pat = handler.#name(#(#h_args),*)?;
                ::core::result::Result::Ok((::std::vec![#(#h_outs,)* #(#inout_back),*], #ret_value))
            }
        };
        (client_m, trait_m, arm)
    }
}

/// How an `[in]` aggregate is borrowed: a string as `&str`, a list as a slice, an
/// optional string as `Option<&str>`, anything else by reference; and its value tree.
fn borrowed(
    rt: &TokenStream,
    owned: &TokenStream,
    ident: &proc_macro2::Ident,
) -> (TokenStream, TokenStream) {
    let text = owned.to_string().replace(' ', "");
    if text == "::std::string::String" {
        return (
            quote! { &str },
            quote! { #rt::ndr::Value::Str(#ident.into()) },
        );
    }
    if text == "::core::option::Option<::std::string::String>" {
        return (
            quote! { ::core::option::Option<&str> },
            quote! { #ident.map_or(#rt::ndr::Value::Null, |s| #rt::ndr::Value::Str(s.into())) },
        );
    }
    if let Some(inner) = text
        .strip_prefix("::std::vec::Vec<")
        .and_then(|t| t.strip_suffix('>'))
    {
        let element: TokenStream = inner.parse().unwrap_or_else(|_| quote! { () });
        return (
            quote! { &[#element] },
            quote! { #rt::ndr::Value::List(#ident.iter().map(NdrValue::to_value).collect()) },
        );
    }
    (quote! { &#owned }, quote! { #ident.to_value() })
}

fn attr_at<'a>(attrs: &'a [Attr], name: &str, level: usize) -> Option<&'a AttrValue> {
    attrs
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.args.get(level))
        .filter(|v| !matches!(v, AttrValue::Empty))
}

/// Whether a top-level pointer parameter is a string (its value is the string itself).
fn is_stringish(p: &Param) -> bool {
    p.has_attr("string")
}

/// Whether a top-level pointer parameter points to a counted array (its value is a list).
fn sized_top(p: &Param) -> bool {
    ["size_is", "max_is", "length_is"]
        .iter()
        .any(|n| attr_at(&p.attrs, n, 0).is_some())
}

fn is_scalar(model: &crate::ir::Model, ty: &Type) -> bool {
    match model.unalias(ty) {
        Type::Base(_) => true,
        Type::Named(id) => matches!(model.item(id).map(|i| &i.kind), Some(ItemKind::Enum(_))),
        _ => false,
    }
}

fn variant_name(field: &str) -> String {
    let v = field.to_upper_camel_case();
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
        format!("Arm{v}")
    } else if v == "Default" || v == "Self" {
        format!("{v}Arm")
    } else {
        names::sanitize(&v)
    }
}

fn base(b: Base) -> TokenStream {
    match b {
        Base::Void | Base::Handle => quote! { () },
        Base::Boolean => quote! { bool },
        Base::Byte | Base::Char { signed: false } | Base::Int8 { signed: false } => quote! { u8 },
        Base::Char { signed: true } | Base::Int8 { signed: true } => quote! { i8 },
        Base::WChar | Base::Int16 { signed: false } => quote! { u16 },
        Base::Int16 { signed: true } => quote! { i16 },
        Base::Int32 { signed: true } => quote! { i32 },
        Base::Int32 { signed: false } | Base::ErrorStatus => quote! { u32 },
        Base::Int64 { signed: true } => quote! { i64 },
        Base::Int64 { signed: false } => quote! { u64 },
        Base::IntPtr { signed: true } => quote! { isize },
        Base::IntPtr { signed: false } => quote! { usize },
        Base::Float => quote! { f32 },
        Base::Double => quote! { f64 },
    }
}
