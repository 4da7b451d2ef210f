//! Marshalling descriptions: for every interface of the main file, `const` data the
//! runtime's NDR engine interprets (`comidl_runtime::ndr`): each procedure's parameters
//! with their direction, and each type's C layout (from [`crate::layout`], the offsets gcc
//! gives the generated `#[repr(C)]` types) beside its NDR form (conformance, variance,
//! pointer kinds, union arms, correlations over fields and parameters).
//!
//! Written into a `pub mod ndr` of the generated file: one `static` per structure and
//! union (so recursive types refer to themselves), everything else inline, and one
//! `Interface` per interface with its procedures in opnum order (an object interface's
//! from its first own vtable slot). Each file's module describes every type its
//! procedures reach, imported ones included, so it depends on no other module.
//!
//! BSTR is the engine's own `Type::Bstr` (its `[wire_marshal]` form, MS-OAUT 2.2.23.2).
//! Other `[wire_marshal]` / `[user_marshal]` / `[transmit_as]` / `[represent_as]` types are
//! `Type::User`: the runtime's built-in conversions for the Windows types it knows
//! (remotable handles, CLIPFORMAT, HGLOBAL), or routines the build names
//! ([`super::Options::user_marshal`]). Interface pointers (`IFoo *`, `[iid_is] void *`)
//! are `Type::Interface`, sent as the OBJREFs the COM library makes. What the engine cannot
//! marshal yet (such types without routines (VARIANT, SAFEARRAY, STGMEDIUM), `void *`,
//! function pointers, bit-fields) is described as `Unsupported`, with its memory layout, so
//! everything else of the procedure is still described; marshalling such a parameter
//! fails at run time with a clear error.

use std::collections::HashMap;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::{Gen, docs, guid_tokens, names};
use crate::ir::{
    Attr, AttrValue, Base, Expr, Interface, Item, ItemId, ItemKind, Method, PointerKind, Type,
    Value,
};

/// What a file's `ndr` module holds, by name, and what it leaves out: for tests that
/// check the descriptions against the generated types (comidl's conformance harness
/// compiles every Wine file's descriptions and walks them).
#[derive(Clone, Debug, Default)]
pub struct NdrIndex {
    /// The `Interface` statics of `ndr`, each with its interface's IDL name.
    pub interfaces: Vec<(String, String)>,
    /// The `Struct` and `Union` statics of `ndr` and the Rust types they describe.
    pub records: Vec<NdrRecord>,
    /// Interfaces of the file that have no description, each with the reason.
    pub left_out: Vec<(String, String)>,
    /// Methods of described interfaces that have no procedure (`IFoo::Bar`), each with
    /// the reason (their opnum stays taken).
    pub left_out_methods: Vec<(String, String)>,
    /// The `ProxyStub` statics beside the descriptions (`IFoo_PROXY_STUB`, at the file's
    /// root), each with the `Interface` static it marshals with.
    pub proxies: Vec<(String, String)>,
}

/// A structure or union static of `ndr` and the generated Rust type it describes.
#[derive(Clone, Debug)]
pub struct NdrRecord {
    /// The static's name (`R12_tagFOO`).
    pub name: String,
    /// The Rust type, as a path from the generated file's root module (`tagFOO`,
    /// `crate::objidl::tagSTATSTG`, `::comidl_runtime::GUID`).
    pub rust_type: String,
    /// Whether the static is a `Union` (else a `Struct`).
    pub union: bool,
    /// The Rust members at the description's offsets: a `Struct`'s fields in order, an
    /// encapsulated `Union`'s member holding the arms (at `arms_offset`). `None` where the
    /// Rust type's members are not the IDL's (the runtime's C definition stands in) or
    /// the description has no offsets to compare (a non-encapsulated union).
    pub members: Option<Vec<String>>,
}

/// The `ndr` module of the main file (nothing when it has no marshalled interfaces), and
/// its index.
pub(super) fn emit(g: &mut Gen) -> (TokenStream, NdrIndex) {
    let model = g.model;
    // Rust paths of the described types are spelled from the file's root module.
    g.ns = Vec::new();
    let mut d = Descs {
        g,
        statics: Vec::new(),
        records: HashMap::new(),
        keyed: HashMap::new(),
        opaque_records: HashMap::new(),
        holds: HashMap::new(),
        plain: None,
        index: NdrIndex::default(),
    };
    let mut interfaces = Vec::new();
    let mut pickled = Vec::new();
    for (id, item) in model.items_in(d.g.main) {
        if (item.has_attr("encode") || item.has_attr("decode"))
            && item.kind.is_type()
            && !item.name.is_empty()
        {
            pickled.push(d.pickled(id, item));
        }
        let i = match &item.kind {
            ItemKind::Interface(i) if i.defined => i,
            ItemKind::Dispinterface(_) => {
                d.left_out(item, "a dispinterface: called through IDispatch::Invoke");
                continue;
            }
            _ => continue,
        };
        let why = if !item.namespace.is_empty() || !i.type_params.is_empty() {
            Some("a WinRT interface: not marshalled by NDR")
        } else if item.has_attr("local") {
            Some("[local]: it has no wire form")
        } else if d.g.well_known(id).is_some() {
            Some("the runtime's own interface, whose bindings carry no descriptions")
        } else {
            None
        };
        if let Some(why) = why {
            d.left_out(item, why);
            continue;
        }
        interfaces.push(d.interface(id, item, i));
    }
    let index = d.index;
    if interfaces.is_empty() && pickled.is_empty() {
        return (TokenStream::new(), index);
    }
    let rt = d.g.rt.clone();
    let statics = d.statics;
    let (type_statics, functions): (Vec<_>, Vec<_>) = pickled.into_iter().unzip();
    let doc = docs::attrs(
        "Marshalling descriptions of this file's interfaces, for the NDR engine \
         (`ndr::Interface` per interface, its procedures in opnum order).",
    );
    let tokens = quote! {
        #doc
        pub mod ndr {
            #[allow(unused_imports)]
            use #rt::ndr::*;
            #(#interfaces)*
            #(#type_statics)*
            #(#statics)*
        }
        #(#functions)*
    };
    (tokens, index)
}

/// Where a correlation's names point.
#[derive(Clone)]
enum Scope<'m> {
    /// The procedure's parameters: name, index, type.
    Params(Vec<(&'m str, u16, &'m Type)>),
    /// The enclosing structure's fields: name, byte offset, type.
    Fields(Vec<(String, u64, Type)>),
}

struct Descs<'g, 'm> {
    g: &'g mut Gen<'m>,
    statics: Vec<TokenStream>,
    /// Records (without a switch_is of their own) already described: their static.
    records: HashMap<ItemId, Ident>,
    /// Non-encapsulated unions by item and selector: their static.
    keyed: HashMap<String, Ident>,
    /// Records that cannot be described (bit-fields, no layout): their size, alignment
    /// and why, for every use.
    opaque_records: HashMap<ItemId, TokenStream>,
    /// Whether a type holds a stand-in by value, by item.
    holds: HashMap<ItemId, bool>,
    /// A `[user_marshal]` / `[represent_as]` type whose own form is being described (its
    /// wire form): described once without the attribute.
    plain: Option<ItemId>,
    index: NdrIndex,
}

/// The attributes that apply where a type is used (a parameter or a field).
struct Use<'a> {
    attrs: &'a [Attr],
    /// Pointer depth: `size_is(a, b)` gives `a` to depth 0 and `b` to depth 1.
    level: usize,
    top_param: bool,
}

impl Use<'_> {
    fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name == name)
    }

    /// The argument of attribute `name` for this pointer level.
    fn arg(&self, name: &str) -> Option<&Expr> {
        let a = self.attrs.iter().find(|a| a.name == name)?;
        match a.args.get(self.level)? {
            AttrValue::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// The use's attributes as they apply from this pointer level on: the per-level
    /// arguments of `size_is` and friends from this level's, and those that apply at any
    /// depth (`[iid_is]`, `[string]`, `[switch_is]`, `[switch_type]`); the rest are the
    /// outer levels' alone.
    fn seen_at_level(&self) -> Vec<Attr> {
        let mut out = Vec::new();
        for a in self.attrs {
            if LEVELED.contains(&a.name.as_str()) {
                if a.args.len() > self.level {
                    out.push(Attr {
                        name: a.name.clone(),
                        args: a.args[self.level..].to_vec(),
                        span: a.span,
                    });
                }
            } else if matches!(
                a.name.as_str(),
                "iid_is" | "string" | "switch_is" | "switch_type"
            ) {
                out.push(a.clone());
            }
        }
        out
    }

    /// Whether `size_is` and friends give this level or a deeper one anything.
    fn deepest_sized_level(&self) -> usize {
        self.attrs
            .iter()
            .filter(|a| LEVELED.contains(&a.name.as_str()))
            .map(|a| a.args.len())
            .max()
            .unwrap_or(0)
    }
}

impl<'m> Descs<'_, 'm> {
    fn interface(&mut self, id: ItemId, item: &'m Item, i: &'m Interface) -> TokenStream {
        let object = item.has_attr("object");
        let first = if object { self.inherited_slots(i) } else { 0 };
        let name = names::ident(&format!("{}_INTERFACE", self.g.names.get(id)));
        self.index
            .interfaces
            .push((name.to_string(), item.name.clone()));
        if super::proxy::has_proxy(self.g, id, 0) {
            self.index.proxies.push((
                format!("{}_PROXY_STUB", self.g.names.get(id)),
                name.to_string(),
            ));
        }
        let mut procs = Vec::new();
        let mut slot = first;
        for m in &i.methods {
            if object && !m.has_slot() {
                continue;
            }
            let opnum = slot;
            slot += 1;
            // The wire form of a [local] method is its [call_as] partner's.
            let wire = if m.has_attr("local") {
                match i.methods.iter().find(|w| call_as_names(w, &m.name)) {
                    Some(w) => w,
                    None => {
                        self.index.left_out_methods.push((
                            format!("{}::{}", item.name, m.name),
                            "[local] with no [call_as] method: it has no wire form".into(),
                        ));
                        continue;
                    }
                }
            } else {
                m
            };
            procs.push(self.procedure(item, m, wire, opnum));
        }
        let iname = Literal::string(&item.name);
        let uuid = match item.uuid() {
            Some(g) => guid_tokens(self.g, &g),
            None => {
                let rt = &self.g.rt;
                quote! { #rt::GUID::from_u128(0) }
            }
        };
        let (major, minor) = version(item);
        let doc = docs::attrs(&format!(
            "Marshalling description of {} `{}`.",
            if object {
                "object interface"
            } else {
                "RPC interface"
            },
            item.name
        ));
        quote! {
            #doc
            pub static #name: Interface = Interface {
                name: #iname,
                uuid: #uuid,
                version: (#major, #minor),
                procs: &[#(&#procs),*],
            };
        }
    }

    /// A type with `[encode]` / `[decode]`: its description (`ndr::T_TYPE`) and MIDL's
    /// `T_Encode` / `T_Decode` (type serialization, MS-RPCE 2.2.6).
    fn pickled(&mut self, id: ItemId, item: &Item) -> (TokenStream, TokenStream) {
        let u = Use {
            attrs: &[],
            level: 0,
            top_param: false,
        };
        let desc = self.ty(&Type::Named(id), &u, &Scope::Fields(Vec::new()), 0);
        let rust = names::sanitize(self.g.names.get(id));
        let ty_name = format_ident!("{rust}_TYPE");
        let ty = names::ident(&rust);
        let rt = self.g.rt.clone();
        let doc = docs::attrs(&format!(
            "The description of `{}` for type serialization.",
            item.name
        ));
        let type_static = quote! { #doc pub static #ty_name: Type = #desc; };
        let mut functions = TokenStream::new();
        if item.has_attr("encode") {
            let name = format_ident!("{rust}_Encode");
            let doc = docs::attrs(&format!(
                "Serializes a `{}` (MIDL's `[encode]`: MS-RPCE 2.2.6 type serialization).\n\n\
                 # Safety\nThe pointers inside the value are valid for their IDL types.",
                item.name
            ));
            functions.extend(quote! {
                #doc
                pub unsafe fn #name(value: &#ty) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::ndr::NdrError> {
                    // SAFETY: `value` is a `#ty`, which the description describes.
                    unsafe { #rt::ndr::pickle::encode(ndr::#ty_name, (value as *const #ty).cast()) }
                }
            });
        }
        if item.has_attr("decode") {
            let name = format_ident!("{rust}_Decode");
            let doc = docs::attrs(&format!(
                "Deserializes a `{}` (MIDL's `[decode]`); the value and what it points to are \
                 freed when the result is dropped.",
                item.name
            ));
            functions.extend(quote! {
                #doc
                pub fn #name(bytes: &[u8]) -> ::core::result::Result<#rt::ndr::pickle::Decoded<#ty>, #rt::ndr::NdrError> {
                    // SAFETY: the description is the one of `#ty`.
                    unsafe { #rt::ndr::pickle::decode(ndr::#ty_name, bytes, #rt::ndr::Limits::default()) }
                }
            });
        }
        (type_static, functions)
    }

    fn left_out(&mut self, item: &Item, why: &str) {
        self.index.left_out.push((item.name.clone(), why.into()));
    }

    /// Notes a record static in the index, with the Rust type it describes.
    fn index_record(&mut self, name: &Ident, id: ItemId, members: Option<Vec<String>>) {
        let union = matches!(
            self.g.model.item(id).map(|i| &i.kind),
            Some(ItemKind::Union(_))
        );
        let rust_type = self.g.raw(&Type::Named(id)).to_string();
        let members = members.filter(|_| !self.g.stand_ins.contains_key(&id));
        self.index.records.push(NdrRecord {
            name: name.to_string(),
            rust_type,
            union,
            members,
        });
    }

    fn inherited_slots(&self, i: &Interface) -> u32 {
        let mut n = 0u32;
        let mut base = i.base.clone();
        for _ in 0..64 {
            let Some(Type::Named(id)) = base.as_ref().map(|t| self.g.model.unalias(t)) else {
                break;
            };
            let Some(ItemKind::Interface(b)) = self.g.model.item(id).map(|it| &it.kind) else {
                break;
            };
            n += b.methods.iter().filter(|m| m.has_slot()).count() as u32;
            base = b.base.clone();
        }
        n
    }

    fn procedure(&mut self, item: &Item, m: &Method, wire: &'m Method, opnum: u32) -> TokenStream {
        let scope = Scope::Params(
            wire.signature
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.as_str(), i as u16, &p.ty))
                .collect(),
        );
        let mut params = Vec::new();
        for p in &wire.signature.params {
            let dir = match (p.has_attr("in"), p.has_attr("out")) {
                (_, false) => quote! { Direction::In },
                (false, true) => quote! { Direction::Out },
                (true, true) => quote! { Direction::InOut },
            };
            let u = Use {
                attrs: &p.attrs,
                level: 0,
                top_param: true,
            };
            let mut ty = self.ty(&p.ty, &u, &scope, 0);
            // C passes an array parameter as a pointer to its first element: the
            // parameter's memory is that pointer, never NULL (MIDL's top-level [ref]).
            if matches!(self.g.model.unalias(&p.ty), Type::Array { .. }) {
                ty = quote! { Type::Pointer(&Pointer { kind: PointerKind::Ref, pointee: #ty }) };
            }
            let name = Literal::string(&p.name);
            params.push(quote! { Param { name: #name, ty: #ty, dir: #dir } });
        }
        let ret = match self.g.model.unalias(&wire.signature.ret) {
            Type::Base(Base::Void) => quote! { None },
            _ => {
                // `[comm_status]` / `[fault_status]` on the method: the return value
                // receives the failure.
                let status: Vec<Attr> = wire
                    .attrs
                    .iter()
                    .filter(|a| a.name == "comm_status" || a.name == "fault_status")
                    .cloned()
                    .collect();
                let u = Use {
                    attrs: &status,
                    level: 0,
                    top_param: false,
                };
                let t = self.ty(&wire.signature.ret, &u, &scope, 0);
                quote! { Some(#t) }
            }
        };
        let name = Literal::string(&format!("{}::{}", item.name, m.name));
        let opnum = Literal::u16_unsuffixed(opnum.min(u32::from(u16::MAX)) as u16);
        quote! {
            Proc { name: #name, opnum: #opnum, params: &[#(#params),*], ret: #ret }
        }
    }

    /// The description of `ty` where `u`'s attributes apply.
    fn ty(&mut self, ty: &Type, u: &Use, scope: &Scope<'m>, depth: usize) -> TokenStream {
        if depth > 32 {
            return unsupported(8, 8, "a type nested too deeply");
        }
        // Attributes on the declaration itself come before the type's.
        if u.level == 0 && u.has("context_handle") {
            return quote! { Type::ContextHandle };
        }
        if let Some(r) = u.attrs.iter().find(|a| a.name == "range")
            && u.level == 0
            && let Some(b) = self.base_of(ty)
            && let [lo, hi] = r.args.as_slice()
        {
            let (lo, hi) = (self.const_value(lo), self.const_value(hi));
            if let (Some(lo), Some(hi)) = (lo, hi) {
                let b = base_tokens(ndr_base(b));
                return quote! { Type::Range(&Range { base: #b, min: #lo, max: #hi }) };
            }
        }
        if (u.has("comm_status") || u.has("fault_status"))
            && matches!(
                self.g.model.unalias(ty),
                Type::Base(Base::ErrorStatus | Base::Int32 { signed: false })
            )
        {
            let (comm, fault) = (u.has("comm_status"), u.has("fault_status"));
            return quote! { Type::Status(StatusKind { comm: #comm, fault: #fault }) };
        }
        match ty {
            Type::Const(inner) => self.ty(inner, u, scope, depth + 1),
            Type::Base(b) => match b {
                Base::Handle => quote! { Type::Ignore },
                Base::Void => unsupported(1, 1, "void"),
                b => {
                    let b = base_tokens(ndr_base(*b));
                    quote! { Type::Base(#b) }
                }
            },
            Type::Named(id) => self.named(*id, u, scope, depth),
            Type::Pointer { pointee, kind, .. } => self.pointer(pointee, *kind, u, scope, depth),
            Type::Array { element, len } => self.array(element, *len, u, scope, depth),
            Type::Function(_) => unsupported(8, 8, "function pointers have no NDR form"),
            Type::SafeArray(_) => {
                unsupported(8, 8, "SAFEARRAY is [wire_marshal]ed: not described yet")
            }
            Type::Instance { .. } | Type::Param(_) => {
                unsupported(8, 8, "WinRT types are not marshalled by NDR")
            }
        }
    }

    fn named(&mut self, id: ItemId, u: &Use, scope: &Scope<'m>, depth: usize) -> TokenStream {
        let model = self.g.model;
        let Some(item) = model.item(id) else {
            return unsupported(8, 8, "an unknown type");
        };
        if self.g.well_known(id) == Some(super::WellKnown::Bstr) {
            return quote! { Type::Bstr };
        }
        if let Some(c_name) = self.g.stand_ins.get(&id).copied() {
            // The bindings alias the runtime's C definition, whose layout is not the IDL
            // stand-in's: its size and alignment are that type's.
            let rt = &self.g.rt;
            let c = names::ident(c_name);
            let module = names::ident(super::ctypes::MODULE);
            return unsupported_layout(&quote! { #rt::#module::#c }, STAND_IN);
        }
        if self.plain == Some(id) {
            self.plain = None;
        } else if let Some(a) = item.attrs.iter().find(|a| {
            matches!(
                a.name.as_str(),
                "wire_marshal" | "user_marshal" | "transmit_as" | "represent_as"
            )
        }) {
            return self.user(id, item, a, u, scope, depth);
        }
        if item.has_attr("context_handle") {
            return quote! { Type::ContextHandle };
        }
        match &item.kind {
            ItemKind::Typedef(inner) => {
                // The typedef's own attributes ([string], [unique], [switch_type], ...)
                // join the use's, seen from this level (`[size_is(, n)] LPBYTE *pp`: `n`
                // sizes the typedef's pointer).
                let mut attrs: Vec<Attr> = if u.level == 0 {
                    u.attrs.to_vec()
                } else {
                    u.seen_at_level()
                };
                attrs.extend(item.attrs.iter().cloned());
                let inner_use = Use {
                    attrs: &attrs,
                    level: 0,
                    top_param: u.top_param,
                };
                self.ty(inner, &inner_use, scope, depth + 1)
            }
            ItemKind::Enum(_) => {
                if item.has_attr("v1_enum") || u.has("v1_enum") {
                    quote! { Type::Base(Base::Enum32) }
                } else {
                    quote! { Type::Base(Base::Enum16) }
                }
            }
            ItemKind::Struct(_) => self.record(id, depth),
            ItemKind::Union(un) => {
                if un.switch.is_some() {
                    return self.record(id, depth);
                }
                let selector = u
                    .attrs
                    .iter()
                    .find(|a| a.name == "switch_is")
                    .and_then(|a| match a.args.first() {
                        Some(AttrValue::Expr(e)) => Some(e),
                        _ => None,
                    });
                let switch_ty = u
                    .attrs
                    .iter()
                    .chain(&item.attrs)
                    .find(|a| a.name == "switch_type")
                    .and_then(|a| match a.args.first() {
                        Some(AttrValue::Type(t)) => Some(t.clone()),
                        _ => None,
                    });
                match selector {
                    Some(e) => self.plain_union(id, e, switch_ty, scope, depth),
                    None => {
                        let (size, align) = self.layout(&Type::Named(id));
                        unsupported(size, align, "a union without [switch_is]")
                    }
                }
            }
            ItemKind::Interface(_) | ItemKind::Dispinterface(_) | ItemKind::Coclass(_) => {
                unsupported(8, 8, "an interface by value")
            }
            ItemKind::Pipe(_) => unsupported(32, 8, "pipes are not marshalled yet"),
            _ => unsupported(8, 8, "a type with no NDR form"),
        }
    }

    /// A type whose memory form differs from its wire form: `Type::User`, with the
    /// runtime's built-in routines for the Windows types it knows, the routines
    /// [`super::Options::user_marshal`] names, or else `Unsupported`.
    ///
    /// MIDL's two shapes: `[wire_marshal(W)]` and `[transmit_as(W)]` sit on the presented
    /// type, whose wire form is `W`; `[user_marshal(L)]` and `[represent_as(L)]` sit on the
    /// wire type and name a local type `L`. The bindings present every one of them with the
    /// memory of the typedef they are on (there are no ACF local types), which is the
    /// memory the routines convert.
    fn user(
        &mut self,
        id: ItemId,
        item: &'m Item,
        a: &Attr,
        u: &Use,
        scope: &Scope<'m>,
        depth: usize,
    ) -> TokenStream {
        let (size, align) = self.layout(&Type::Named(id));
        let on_presented = matches!(a.name.as_str(), "wire_marshal" | "transmit_as");
        let named = match a.args.first() {
            Some(AttrValue::Type(t)) => Some(t.clone()),
            _ => None,
        };
        if on_presented
            && a.name == "wire_marshal"
            && let Some((_, want)) = BUILTIN_USER.iter().find(|(n, _)| *n == item.name)
            && *want == (size, align)
            && !self
                .g
                .opts
                .user_marshal
                .iter()
                .any(|(n, _)| *n == item.name)
        {
            let rt = &self.g.rt;
            let name = names::ident(&item.name);
            return quote! { Type::User(&#rt::ndr::user::#name) };
        }
        // The local type's name, for [user_marshal(L)] / [represent_as(L)].
        let local = match (&named, on_presented) {
            (Some(Type::Named(l)), false) => self.g.model.item(*l).map(|i| i.name.clone()),
            _ => None,
        }
        .or_else(|| match a.args.first() {
            Some(AttrValue::Expr(Expr::Name(n))) if !on_presented => Some(n.clone()),
            _ => None,
        });
        let routines = self
            .g
            .opts
            .user_marshal
            .iter()
            .find(|(n, _)| *n == item.name || Some(n) == local.as_ref())
            .map(|(_, path)| super::path_tokens(path));
        let Some(routines) = routines else {
            let why = match a.name.as_str() {
                "wire_marshal" => {
                    "a [wire_marshal] type with no built-in conversion: give its routines with \
                     comidl_build::Config::user_marshal"
                }
                "user_marshal" => {
                    "a [user_marshal] type: give its routines with \
                     comidl_build::Config::user_marshal"
                }
                "transmit_as" => {
                    "a [transmit_as] type: give its routines with \
                     comidl_build::Config::user_marshal"
                }
                _ => {
                    "a [represent_as] type: give its routines with \
                     comidl_build::Config::user_marshal"
                }
            };
            return unsupported(size, align, why);
        };
        let empty = Use {
            attrs: &[],
            level: 0,
            top_param: false,
        };
        let wire = if on_presented {
            match named {
                Some(w) => self.ty(&w, &empty, &Scope::Fields(Vec::new()), depth + 1),
                None => return unsupported(size, align, "a [wire_marshal] without a wire type"),
            }
        } else {
            // The type itself, without the attribute, is the wire form.
            self.plain = Some(id);
            let t = self.named(id, u, scope, depth + 1);
            self.plain = None;
            t
        };
        let name = Literal::string(&item.name);
        quote! {
            Type::User(&UserType { name: #name, wire: #wire, size: #size, align: #align, routines: &#routines })
        }
    }

    fn pointer(
        &mut self,
        pointee: &Type,
        kind: PointerKind,
        u: &Use,
        scope: &Scope<'m>,
        depth: usize,
    ) -> TokenStream {
        let model = self.g.model;
        let target = model.unalias(pointee);
        if let Type::Named(id) = &target
            && matches!(
                model.item(*id).map(|i| &i.kind),
                Some(ItemKind::Interface(_) | ItemKind::Dispinterface(_) | ItemKind::Coclass(_))
            )
        {
            // `IFoo *`: an interface pointer of its declared interface (`[iid_is]` wins).
            let declared = model.item(*id).and_then(|i| i.uuid());
            return match (u.attrs.iter().find(|a| a.name == "iid_is"), declared) {
                (Some(a), _) => self.iid_is(a, scope),
                (None, Some(g)) => {
                    let g = guid_tokens(self.g, &g);
                    quote! { Type::Interface(&InterfacePointer { iid: Iid::Fixed(#g) }) }
                }
                (None, None) => unsupported(8, 8, "an interface pointer without a uuid"),
            };
        }
        if matches!(target, Type::Base(Base::Void))
            && let Some(a) = u.attrs.iter().find(|a| a.name == "iid_is")
        {
            // `[iid_is(riid)] void **ppv`: an interface pointer of the IID given.
            return self.iid_is(a, scope);
        }
        if matches!(target, Type::Base(Base::Void)) && !u.has("string") {
            return unsupported(8, 8, "a void pointer has no NDR form");
        }
        if matches!(target, Type::Function(_)) {
            return unsupported(8, 8, "function pointers have no NDR form");
        }
        let kind = if u.level == 0 && u.top_param {
            if u.has("unique") {
                quote! { PointerKind::Unique }
            } else if u.has("ptr") {
                quote! { PointerKind::Full }
            } else {
                quote! { PointerKind::Ref }
            }
        } else if u.level == 0 && u.has("ref") {
            quote! { PointerKind::Ref }
        } else if u.level == 0 && u.has("unique") {
            quote! { PointerKind::Unique }
        } else if u.level == 0 && u.has("ptr") {
            quote! { PointerKind::Full }
        } else {
            match kind {
                PointerKind::Ref => quote! { PointerKind::Ref },
                PointerKind::Full => quote! { PointerKind::Full },
                PointerKind::Unique | PointerKind::Unspecified => quote! { PointerKind::Unique },
            }
        };
        let size = u
            .arg("size_is")
            .map(|e| (e, 0))
            .or(u.arg("max_is").map(|e| (e, 1)));
        let length = u
            .arg("length_is")
            .map(|e| (e, 0))
            .or(u.arg("last_is").map(|e| (e, 1)));
        let first = u.arg("first_is");
        let innermost = u.level + 1 >= u.deepest_sized_level();
        let string = u.has("string") && innermost && is_char(model, &target);
        let pointee_desc = if string {
            let char_size = if is_wide(model, &target) { 2usize } else { 1 };
            let size = match size {
                Some((e, add)) => match self.corr(e, add, scope) {
                    Some(e) => quote! { Some(#e) },
                    None => return unsupported_pointee(kind, char_size, char_size),
                },
                None => quote! { None },
            };
            quote! { Type::String(&Str { char_size: #char_size, fixed: None, size: #size }) }
        } else if size.is_some() || length.is_some() || first.is_some() {
            let element_use = Use {
                attrs: u.attrs,
                level: u.level + 1,
                top_param: false,
            };
            let element = self.ty(pointee, &element_use, scope, depth + 1);
            let (elem_size, align) = self.layout(pointee);
            let stride = self.stride(pointee);
            let count = match size {
                Some((e, add)) => match self.corr(e, add, scope) {
                    Some(e) => quote! { Count::Conformant(#e) },
                    None => return unsupported_pointee(kind, elem_size, align),
                },
                // A varying window over one element: the pointee alone.
                None => quote! { Count::Fixed(1) },
            };
            let Some(varying) = self.varying(length, first, scope) else {
                return unsupported_pointee(kind, elem_size, align);
            };
            quote! {
                Type::Array(&Array { element: #element, stride: #stride, count: #count, varying: #varying })
            }
        } else {
            let inner_use = Use {
                attrs: u.attrs,
                level: u.level + 1,
                top_param: false,
            };
            self.ty(pointee, &inner_use, scope, depth + 1)
        };
        quote! { Type::Pointer(&Pointer { kind: #kind, pointee: #pointee_desc }) }
    }

    /// The varying window (`None` inside when there is none); `None` when a correlation
    /// cannot be described.
    fn varying(
        &mut self,
        length: Option<(&Expr, i64)>,
        first: Option<&Expr>,
        scope: &Scope<'m>,
    ) -> Option<TokenStream> {
        let Some((len, add)) = length else {
            return Some(quote! { None });
        };
        let first_t = match first {
            Some(f) => {
                let f = self.corr(f, 0, scope)?;
                quote! { Some(#f) }
            }
            None => quote! { None },
        };
        // last_is(l) counts l - first + 1 elements.
        let length = if add == 1 {
            let l = self.corr(len, 1, scope)?;
            match first {
                Some(f) => {
                    let f = self.corr(f, 0, scope)?;
                    quote! { &Expr::Binary(BinOp::Sub, #l, #f) }
                }
                None => l,
            }
        } else {
            self.corr(len, 0, scope)?
        };
        Some(quote! { Some(Varying { first: #first_t, length: #length }) })
    }

    fn array(
        &mut self,
        element: &Type,
        len: Option<u64>,
        u: &Use,
        scope: &Scope<'m>,
        depth: usize,
    ) -> TokenStream {
        let model = self.g.model;
        let size = u
            .arg("size_is")
            .map(|e| (e, 0))
            .or(u.arg("max_is").map(|e| (e, 1)));
        let length = u
            .arg("length_is")
            .map(|e| (e, 0))
            .or(u.arg("last_is").map(|e| (e, 1)));
        let first = u.arg("first_is");
        let element_t = model.unalias(element);
        if u.has("string") && is_char(model, &element_t) {
            let char_size = if is_wide(model, &element_t) {
                2usize
            } else {
                1
            };
            let fixed = match len {
                Some(n) => {
                    let n = n.min(u64::from(u32::MAX)) as u32;
                    quote! { Some(#n) }
                }
                None => quote! { None },
            };
            let size = match (len, size) {
                (None, Some((e, add))) => match self.corr(e, add, scope) {
                    Some(e) => quote! { Some(#e) },
                    None => return unsupported(0, char_size, UNRESOLVED),
                },
                _ => quote! { None },
            };
            return quote! { Type::String(&Str { char_size: #char_size, fixed: #fixed, size: #size }) };
        }
        let element_use = Use {
            attrs: &[],
            level: 0,
            top_param: false,
        };
        let element_desc = self.ty(element, &element_use, scope, depth + 1);
        let (elem_size, align) = self.layout(element);
        let stride = self.stride(element);
        // Inline, a conformant array takes no memory of its own (C's `a[1]` is the
        // enclosing structure's).
        let unresolved = unsupported(
            len.map_or(0, |n| elem_size.saturating_mul(n as usize)),
            align,
            UNRESOLVED,
        );
        let count = match (len, size) {
            (_, Some((e, add))) => match self.corr(e, add, scope) {
                Some(e) => quote! { Count::Conformant(#e) },
                None => return unresolved,
            },
            (Some(n), None) => {
                let n = n.min(u64::from(u32::MAX)) as u32;
                quote! { Count::Fixed(#n) }
            }
            // `T a[]` with nothing to size it: MIDL needs a size; none is an empty array.
            (None, None) => quote! { Count::Conformant(&Expr::Const(0)) },
        };
        let Some(varying) = self.varying(length, first, scope) else {
            return unresolved;
        };
        quote! {
            Type::Array(&Array { element: #element_desc, stride: #stride, count: #count, varying: #varying })
        }
    }

    /// A structure or an encapsulated union: a static named after the item.
    fn record(&mut self, id: ItemId, depth: usize) -> TokenStream {
        if let Some(name) = self.records.get(&id) {
            return record_ref(self.g.model, id, name);
        }
        if let Some(done) = self.opaque_records.get(&id) {
            return done.clone();
        }
        let model = self.g.model;
        // What cannot be described is decided before the static is named, so no
        // description refers to a static that is never written.
        let layout = self.g.layouts.record(id);
        let (size, align) = match &layout {
            Ok(l) => (l.layout.size as usize, l.layout.align as usize),
            Err(_) => (8, 8),
        };
        let why = match (model.item(id).map(|i| &i.kind), &layout) {
            (None, _) => Some("an unknown record"),
            (_, Err(_)) => Some("a record without a layout"),
            (Some(ItemKind::Struct(r)), _) if r.fields.iter().any(|f| f.bits.is_some()) => {
                Some("bit-fields have no NDR form")
            }
            (Some(ItemKind::Struct(_)), _) => None,
            (Some(ItemKind::Union(un)), _) if un.switch.is_none() => {
                Some("a union without a discriminant")
            }
            (Some(ItemKind::Union(_)), _) => None,
            _ => Some("not a record"),
        };
        let (Some(item), Ok(layout), None) = (model.item(id), layout, why) else {
            let why = why.unwrap_or("not a record");
            let done = unsupported(size, align, why);
            self.opaque_records.insert(id, done.clone());
            return done;
        };
        if self.holds_stand_in(&Type::Named(id), 0) {
            // Laid out around a C definition the IDL only stands in for: the offsets
            // computed from the IDL would be wrong, the Rust type's size is right.
            let t = self.rust_type(&Type::Named(id));
            let done = unsupported_layout(&t, HOLDS_STAND_IN);
            self.opaque_records.insert(id, done.clone());
            return done;
        }
        let name = format_ident!("R{}_{}", id.0, names::sanitize(self.g.names.get(id)));
        self.records.insert(id, name.clone());
        let body = match &item.kind {
            ItemKind::Struct(r) => {
                let fields: Vec<(String, u64, Type)> = r
                    .fields
                    .iter()
                    .zip(&layout.fields)
                    .filter_map(|(f, p)| {
                        Some((f.name.clone(), p.as_ref()?.bit_offset / 8, f.ty.clone()?))
                    })
                    .collect();
                let scope = Scope::Fields(fields);
                let mut out = Vec::new();
                let mut members = Vec::new();
                for (n, (f, p)) in r.fields.iter().zip(&layout.fields).enumerate() {
                    let (Some(ty), Some(p)) = (&f.ty, p) else {
                        continue;
                    };
                    members.push(super::records::field_name(f, n).to_string());
                    let offset = (p.bit_offset / 8) as usize;
                    let u = Use {
                        attrs: &f.attrs,
                        level: 0,
                        top_param: false,
                    };
                    let t = self.ty(ty, &u, &scope, depth + 1);
                    let fname = Literal::string(&f.name);
                    out.push(quote! { Field { name: #fname, offset: #offset, ty: #t } });
                }
                self.index_record(&name, id, Some(members));
                let sname = Literal::string(&item.name);
                quote! { pub static #name: Struct = Struct { name: #sname, size: #size, align: #align, fields: &[#(#out),*] }; }
            }
            ItemKind::Union(un) => {
                let Some(sw) = &un.switch else {
                    return unsupported(size, align, "a union without a discriminant");
                };
                let member = names::ident(sw.member()).to_string();
                self.index_record(&name, id, Some(vec![member]));
                let arms_offset = layout
                    .fields
                    .get(1)
                    .and_then(|p| p.as_ref())
                    .map(|p| (p.bit_offset / 8) as usize)
                    .unwrap_or(0);
                let switch = base_tokens(
                    self.base_of(&sw.ty)
                        .unwrap_or(crate::ir::Base::Int32 { signed: true })
                        .into_ndr(),
                );
                let scope = Scope::Fields(Vec::new());
                let (arms, default) = self.arms(&un.arms, &scope, depth);
                quote! {
                    pub static #name: Union = Union {
                        switch: #switch,
                        selector: Selector::Encapsulated { arms_offset: #arms_offset },
                        size: #size, align: #align, arms: &[#(#arms),*], default: #default,
                    };
                }
            }
            _ => return unsupported(size, align, "not a record"),
        };
        self.statics.push(body);
        record_ref(model, id, &name)
    }

    fn arms(
        &mut self,
        arms: &'m [crate::ir::UnionArm],
        scope: &Scope<'m>,
        depth: usize,
    ) -> (Vec<TokenStream>, TokenStream) {
        let mut out = Vec::new();
        let mut default = quote! { None };
        for arm in arms {
            let ty = match &arm.field.ty {
                Some(t) if !matches!(self.g.model.unalias(t), Type::Base(Base::Void)) => {
                    let u = Use {
                        attrs: &arm.field.attrs,
                        level: 0,
                        top_param: false,
                    };
                    let t = self.ty(t, &u, scope, depth + 1);
                    quote! { Some(#t) }
                }
                _ => quote! { None },
            };
            let aname = Literal::string(&arm.field.name);
            for case in &arm.cases {
                match case {
                    Some(v) => {
                        let v = (*v).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                        out.push(quote! { Arm { name: #aname, case: #v, ty: #ty } });
                    }
                    None => default = quote! { Some(#ty) },
                }
            }
        }
        (out, default)
    }

    fn plain_union(
        &mut self,
        id: ItemId,
        selector: &Expr,
        switch_ty: Option<Type>,
        scope: &Scope<'m>,
        depth: usize,
    ) -> TokenStream {
        let model = self.g.model;
        let Some(ItemKind::Union(un)) = model.item(id).map(|i| &i.kind) else {
            return unsupported(8, 8, "not a union");
        };
        let key = format!("{}:{selector:?}:{:?}", id.0, scope_key(scope));
        if let Some(name) = self.keyed.get(&key) {
            return quote! { Type::Union(&#name) };
        }
        let name = format_ident!(
            "U{}_{}_{}",
            id.0,
            names::sanitize(self.g.names.get(id)),
            self.keyed.len()
        );
        self.keyed.insert(key, name.clone());
        self.index_record(&name, id, None);
        let (size, align) = self.layout(&Type::Named(id));
        let Some(sel) = self.corr(selector, 0, scope) else {
            return unsupported(size, align, UNRESOLVED);
        };
        // The discriminant's wire type: switch_type, else the selector's own type.
        let switch = switch_ty
            .as_ref()
            .and_then(|t| self.base_of(t))
            .or_else(|| self.corr_type(selector, scope))
            .map(|b| b.into_ndr())
            .unwrap_or(NdrBase::Long);
        let switch = base_tokens(switch);
        // Arms see the scope of the use's enclosing structure.
        let (arms, default) = self.arms(&un.arms, scope, depth);
        self.statics.push(quote! {
            pub static #name: Union = Union {
                switch: #switch,
                selector: Selector::Expr(#sel),
                size: #size, align: #align, arms: &[#(#arms),*], default: #default,
            };
        });
        quote! { Type::Union(&#name) }
    }

    fn layout(&mut self, ty: &Type) -> (usize, usize) {
        match self.g.layouts.of(ty) {
            Ok(l) => (l.size as usize, l.align.max(1) as usize),
            Err(_) => (8, 8),
        }
    }

    /// The integer base type a type resolves to, if any.
    fn base_of(&self, ty: &Type) -> Option<Base> {
        match self.g.model.unalias(ty) {
            Type::Base(b) => Some(b),
            Type::Named(id) => match self.g.model.item(id).map(|i| &i.kind) {
                Some(ItemKind::Enum(_)) => Some(Base::Int32 { signed: true }),
                _ => None,
            },
            _ => None,
        }
    }

    fn const_value(&self, v: &AttrValue) -> Option<i64> {
        match v {
            AttrValue::Int(i) => i64::try_from(*i).ok(),
            AttrValue::Expr(Expr::Int(i)) => i64::try_from(*i).ok(),
            AttrValue::Expr(Expr::Unary("-", e)) => match &**e {
                Expr::Int(i) => i64::try_from(-*i).ok(),
                _ => None,
            },
            AttrValue::Expr(Expr::Name(n)) => match self.g.model.lookup(n).map(|i| &i.kind) {
                Some(ItemKind::Const(c)) => match c.value {
                    Value::Int(i) => i64::try_from(i).ok(),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// An interface pointer whose IID `[iid_is(e)]` names: `e` is a pointer to an IID
    /// (MIDL's rule), a parameter or field read as a pointer-sized value; anything else
    /// is described as unsupported.
    fn iid_is(&mut self, a: &Attr, scope: &Scope<'m>) -> TokenStream {
        let found = match a.args.first() {
            Some(AttrValue::Expr(e)) => self
                .load(e, scope, 0)
                .filter(|(_, _, t)| matches!(self.g.model.unalias(t), Type::Pointer { .. })),
            _ => None,
        };
        let b = quote! { Base::UInt3264 };
        let expr = match found {
            Some((Place::Param(i), derefs, _)) => {
                quote! { Expr::Param { index: #i, derefs: #derefs, ty: #b } }
            }
            Some((Place::Field(o), derefs, _)) => {
                let o = o as u32;
                quote! { Expr::Field { offset: #o, derefs: #derefs, ty: #b } }
            }
            _ => return unsupported(8, 8, "[iid_is] names no pointer to an IID in scope"),
        };
        quote! { Type::Interface(&InterfacePointer { iid: Iid::Is(&#expr) }) }
    }

    /// A correlation expression (plus `add`: `max_is(m)` counts `m + 1`), or `None` when
    /// it reads something that is not an integer in scope (what holds it is then
    /// described as unsupported, never with a made-up count).
    fn corr(&mut self, e: &Expr, add: i64, scope: &Scope<'m>) -> Option<TokenStream> {
        let inner = self.corr_expr(e, scope, 0)?;
        Some(if add == 0 {
            quote! { &#inner }
        } else {
            quote! { &Expr::Binary(BinOp::Add, &#inner, &Expr::Const(#add)) }
        })
    }

    fn corr_expr(&mut self, e: &Expr, scope: &Scope<'m>, depth: usize) -> Option<TokenStream> {
        if depth > 32 {
            return None;
        }
        if let Some(deref) = self.misparsed_cast(e, scope) {
            return self.corr_expr(&deref, scope, depth + 1);
        }
        Some(match e {
            Expr::Int(i) => {
                let v = i64::try_from(*i).ok()?;
                quote! { Expr::Const(#v) }
            }
            Expr::SizeOf(t) => {
                let v = self.const_size(t)?;
                quote! { Expr::Const(#v) }
            }
            Expr::Name(_) | Expr::Unary("*", _) => {
                let (place, derefs, ty) = self.load(e, scope, 0)?;
                let b = base_tokens(self.value_base(&ty)?.into_ndr());
                match place {
                    Place::Param(i) => {
                        quote! { Expr::Param { index: #i, derefs: #derefs, ty: #b } }
                    }
                    Place::Field(o) => {
                        let o = o as u32;
                        quote! { Expr::Field { offset: #o, derefs: #derefs, ty: #b } }
                    }
                    Place::Const(v) => quote! { Expr::Const(#v) },
                }
            }
            Expr::Unary(op, a) => {
                let a = self.corr_expr(a, scope, depth + 1)?;
                match *op {
                    "-" => quote! { Expr::Unary(UnOp::Neg, &#a) },
                    "!" => quote! { Expr::Unary(UnOp::Not, &#a) },
                    "~" => quote! { Expr::Unary(UnOp::BitNot, &#a) },
                    "+" => a,
                    _ => return None,
                }
            }
            Expr::Binary(op, a, b) => {
                let a = self.corr_expr(a, scope, depth + 1)?;
                let b = self.corr_expr(b, scope, depth + 1)?;
                let op = match *op {
                    "+" => quote! { BinOp::Add },
                    "-" => quote! { BinOp::Sub },
                    "*" => quote! { BinOp::Mul },
                    "/" => quote! { BinOp::Div },
                    "%" => quote! { BinOp::Rem },
                    "<<" => quote! { BinOp::Shl },
                    ">>" => quote! { BinOp::Shr },
                    "&" => quote! { BinOp::And },
                    "|" => quote! { BinOp::Or },
                    "^" => quote! { BinOp::Xor },
                    "&&" => quote! { BinOp::LogAnd },
                    "||" => quote! { BinOp::LogOr },
                    "==" => quote! { BinOp::Eq },
                    "!=" => quote! { BinOp::Ne },
                    "<" => quote! { BinOp::Lt },
                    "<=" => quote! { BinOp::Le },
                    ">" => quote! { BinOp::Gt },
                    ">=" => quote! { BinOp::Ge },
                    _ => return None,
                };
                quote! { Expr::Binary(#op, &#a, &#b) }
            }
            Expr::Ternary(c, a, b) => {
                let c = self.corr_expr(c, scope, depth + 1)?;
                let a = self.corr_expr(a, scope, depth + 1)?;
                let b = self.corr_expr(b, scope, depth + 1)?;
                quote! { Expr::Cond(&#c, &#a, &#b) }
            }
            Expr::Cast(_, inner) => self.corr_expr(inner, scope, depth + 1)?,
            _ => return None,
        })
    }

    /// `(T)*p`, which the parser cannot tell from the product of a parenthesised name
    /// and `p` without knowing that `T` names a type: where the left operand names no
    /// parameter, field or constant but a type, the C reading, `*p` (the cast is dropped
    /// like every cast here).
    fn misparsed_cast(&self, e: &Expr, scope: &Scope<'m>) -> Option<Expr> {
        let Expr::Binary("*", a, b) = e else {
            return None;
        };
        let Expr::Name(n) = &**a else {
            return None;
        };
        if self.load(a, scope, 0).is_some() {
            return None;
        }
        match self.g.model.lookup(n).map(|i| &i.kind) {
            Some(ItemKind::Typedef(_)) => Some(Expr::Unary("*", b.clone())),
            _ => None,
        }
    }

    /// Whether a value of `ty` holds one of a stand-in (see [`super::ctypes`]) in its own
    /// memory (not behind a pointer).
    fn holds_stand_in(&mut self, ty: &Type, depth: usize) -> bool {
        if depth > 32 {
            return false;
        }
        let model = self.g.model;
        match ty {
            Type::Const(inner) => self.holds_stand_in(inner, depth + 1),
            Type::Array { element, .. } => self.holds_stand_in(element, depth + 1),
            Type::Named(id) => {
                if self.g.stand_ins.contains_key(id) {
                    return true;
                }
                if let Some(known) = self.holds.get(id) {
                    return *known;
                }
                let holds = match model.item(*id).map(|i| &i.kind) {
                    Some(ItemKind::Typedef(inner)) => self.holds_stand_in(inner, depth + 1),
                    Some(ItemKind::Struct(r)) => r
                        .fields
                        .iter()
                        .filter_map(|f| f.ty.as_ref())
                        .any(|t| self.holds_stand_in(t, depth + 1)),
                    Some(ItemKind::Union(u)) => u
                        .arms
                        .iter()
                        .filter_map(|a| a.field.ty.as_ref())
                        .any(|t| self.holds_stand_in(t, depth + 1)),
                    _ => false,
                };
                self.holds.insert(*id, holds);
                holds
            }
            _ => false,
        }
    }

    /// The bindings' Rust type for `ty`, spelled from inside the `ndr` module.
    fn rust_type(&mut self, ty: &Type) -> TokenStream {
        let saved = std::mem::replace(&mut self.g.ns, vec!["ndr".to_string()]);
        let t = self.g.raw(ty);
        self.g.ns = saved;
        t
    }

    /// An array's stride: the element's size, from the Rust type where the IDL's layout
    /// is not C's (a stand-in inside).
    fn stride(&mut self, element: &Type) -> TokenStream {
        if self.holds_stand_in(element, 0) {
            let t = self.rust_type(element);
            return quote! { ::core::mem::size_of::<#t>() };
        }
        let (stride, _) = self.layout(element);
        quote! { #stride }
    }

    /// `sizeof(T)` as C computes it.
    fn const_size(&mut self, t: &Type) -> Option<i64> {
        let l = self.g.layouts.of(t).ok()?;
        i64::try_from(l.size).ok()
    }

    /// The type a correlation reads a value as: an integer type, or for a pointer
    /// (`p ? *p : n`) its address, pointer-sized, whose only use is being zero or not.
    fn value_base(&self, ty: &Type) -> Option<Base> {
        match self.g.model.unalias(ty) {
            Type::Pointer { .. } => Some(Base::IntPtr { signed: false }),
            _ => self.base_of(ty),
        }
    }

    /// The integer type a correlation evaluates to, for a union's discriminant.
    fn corr_type(&self, e: &Expr, scope: &Scope<'m>) -> Option<Base> {
        let (_, _, ty) = self.load(e, scope, 0)?;
        self.base_of(&ty)
    }

    /// A name, through `*`s: where it is, how many pointers to follow, and its type.
    fn load(&self, e: &Expr, scope: &Scope<'m>, depth: usize) -> Option<(Place, u8, Type)> {
        if depth > 8 {
            return None;
        }
        match e {
            Expr::Name(n) => {
                let found = match scope {
                    Scope::Params(ps) => ps
                        .iter()
                        .find(|(name, _, _)| name == n)
                        .map(|(_, i, t)| (Place::Param(*i), 0u8, (*t).clone())),
                    Scope::Fields(fs) => fs
                        .iter()
                        .find(|(name, _, _)| name == n)
                        .map(|(_, o, t)| (Place::Field(*o), 0u8, t.clone())),
                };
                found.or_else(|| {
                    let v = self.const_value(&AttrValue::Expr(e.clone()))?;
                    Some((Place::Const(v), 0, Type::Base(Base::Int64 { signed: true })))
                })
            }
            Expr::Unary("*", inner) => {
                let (place, derefs, ty) = self.load(inner, scope, depth + 1)?;
                let Type::Pointer { pointee, .. } = self.g.model.unalias(&ty) else {
                    return None;
                };
                Some((place, derefs + 1, *pointee))
            }
            _ => None,
        }
    }
}

enum Place {
    Param(u16),
    Field(u64),
    Const(i64),
}

fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::Params(ps) => ps.iter().map(|(n, i, _)| format!("{n}{i}")).collect(),
        Scope::Fields(fs) => fs.iter().map(|(n, o, _)| format!("{n}{o}")).collect(),
    }
}

fn record_ref(model: &crate::ir::Model, id: ItemId, name: &Ident) -> TokenStream {
    match model.item(id).map(|i| &i.kind) {
        Some(ItemKind::Union(_)) => quote! { Type::Union(&#name) },
        _ => quote! { Type::Struct(&#name) },
    }
}

/// Attributes with an argument per pointer level.
const LEVELED: &[&str] = &[
    "size_is",
    "max_is",
    "length_is",
    "first_is",
    "last_is",
    "min_is",
];

/// Why a type whose size, length or discriminant expression reads something that is not
/// an integer parameter or field (or a constant) is not described.
const UNRESOLVED: &str = "a size, length or switch expression over what is not an integer in scope";

/// A pointer whose pointee cannot be described (an expression it depends on): the pointer
/// is kept, so its memory and NULL-ness are still right.
fn unsupported_pointee(kind: TokenStream, size: usize, align: usize) -> TokenStream {
    let pointee = unsupported(size, align, UNRESOLVED);
    quote! { Type::Pointer(&Pointer { kind: #kind, pointee: #pointee }) }
}

/// The `[wire_marshal]` types the runtime converts itself (`ndr::user`), with the memory
/// (size, alignment) its conversions expect: a declaration of another layout is not it.
const BUILTIN_USER: &[(&str, (usize, usize))] = &[
    ("HWND", (8, 8)),
    ("HMENU", (8, 8)),
    ("HACCEL", (8, 8)),
    ("HBRUSH", (8, 8)),
    ("HFONT", (8, 8)),
    ("HDC", (8, 8)),
    ("HICON", (8, 8)),
    ("HRGN", (8, 8)),
    ("HMONITOR", (8, 8)),
    ("CLIPFORMAT", (2, 2)),
    ("HGLOBAL", (8, 8)),
];

const STAND_IN: &str = "a C type the IDL only stands in for: not described yet";
const HOLDS_STAND_IN: &str =
    "a record holding a C type the IDL only stands in for: not described yet";

/// Something unsupported with the layout of a Rust type of the bindings.
fn unsupported_layout(rust: &TokenStream, why: &str) -> TokenStream {
    let why = Literal::string(why);
    quote! {
        Type::Unsupported(&Opaque {
            size: ::core::mem::size_of::<#rust>(),
            align: ::core::mem::align_of::<#rust>(),
            why: #why,
        })
    }
}

fn unsupported(size: usize, align: usize, why: &str) -> TokenStream {
    let why = Literal::string(why);
    quote! { Type::Unsupported(&Opaque { size: #size, align: #align, why: #why }) }
}

/// Whether `m` is the `[call_as(local)]` remote form of method `local`.
pub(super) fn call_as_names(m: &Method, local: &str) -> bool {
    m.attrs.iter().any(|a| {
        a.name == "call_as"
            && matches!(a.args.first(), Some(AttrValue::Expr(Expr::Name(n))) if n == local)
    })
}

fn version(item: &Item) -> (u16, u16) {
    let Some(AttrValue::Version(v)) = item.attr("version").and_then(|a| a.args.first()) else {
        return (0, 0);
    };
    let mut parts = v.split('.').map(|p| p.trim().parse::<u16>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

pub(super) fn is_char(model: &crate::ir::Model, ty: &Type) -> bool {
    matches!(
        model.unalias(ty),
        Type::Base(Base::Char { .. } | Base::Int8 { .. } | Base::Byte | Base::WChar)
            | Type::Base(Base::Int16 { signed: false })
    )
}

fn is_wide(model: &crate::ir::Model, ty: &Type) -> bool {
    matches!(
        model.unalias(ty),
        Type::Base(Base::WChar | Base::Int16 { .. })
    )
}

/// The engine's base types (names of `comidl_runtime::ndr::Base`).
#[derive(Clone, Copy)]
enum NdrBase {
    Boolean,
    Byte,
    Char,
    Small,
    USmall,
    WChar,
    Short,
    UShort,
    Long,
    ULong,
    Hyper,
    UHyper,
    Float,
    Double,
    ErrorStatus,
    Int3264,
    UInt3264,
}

trait IntoNdr {
    fn into_ndr(self) -> NdrBase;
}

impl IntoNdr for Base {
    fn into_ndr(self) -> NdrBase {
        ndr_base(self)
    }
}

fn ndr_base(b: Base) -> NdrBase {
    match b {
        Base::Boolean => NdrBase::Boolean,
        Base::Byte | Base::Void | Base::Handle => NdrBase::Byte,
        Base::Char { signed: false } => NdrBase::Char,
        Base::Char { signed: true } | Base::Int8 { signed: true } => NdrBase::Small,
        Base::Int8 { signed: false } => NdrBase::USmall,
        Base::WChar => NdrBase::WChar,
        Base::Int16 { signed: true } => NdrBase::Short,
        Base::Int16 { signed: false } => NdrBase::UShort,
        Base::Int32 { signed: true } => NdrBase::Long,
        Base::Int32 { signed: false } => NdrBase::ULong,
        Base::Int64 { signed: true } => NdrBase::Hyper,
        Base::Int64 { signed: false } => NdrBase::UHyper,
        Base::IntPtr { signed: true } => NdrBase::Int3264,
        Base::IntPtr { signed: false } => NdrBase::UInt3264,
        Base::Float => NdrBase::Float,
        Base::Double => NdrBase::Double,
        Base::ErrorStatus => NdrBase::ErrorStatus,
    }
}

fn base_tokens(b: NdrBase) -> TokenStream {
    let name = match b {
        NdrBase::Boolean => "Boolean",
        NdrBase::Byte => "Byte",
        NdrBase::Char => "Char",
        NdrBase::Small => "Small",
        NdrBase::USmall => "USmall",
        NdrBase::WChar => "WChar",
        NdrBase::Short => "Short",
        NdrBase::UShort => "UShort",
        NdrBase::Long => "Long",
        NdrBase::ULong => "ULong",
        NdrBase::Hyper => "Hyper",
        NdrBase::UHyper => "UHyper",
        NdrBase::Float => "Float",
        NdrBase::Double => "Double",
        NdrBase::ErrorStatus => "ErrorStatus",
        NdrBase::Int3264 => "Int3264",
        NdrBase::UInt3264 => "UInt3264",
    };
    let name = Ident::new(name, Span::call_site());
    quote! { Base::#name }
}
