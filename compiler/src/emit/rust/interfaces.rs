//! Object interfaces → the raw layer (`IID_IFoo`, `IFoo_Vtbl` in slot order with the base
//! interface's vtable first, the `IFoo` pointer wrapper and its `Interface` impl), then the
//! safe methods ([`super::client`]) and the server trait ([`super::server`]).
//!
//! Non-object (DCE RPC) interfaces have no vtable: their operations are C functions.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::server::Slot;
use super::{Gen, WellKnown, client, docs, functions, names, proxy, records, rpc, server};
use crate::ir::{Guid, Interface, Item, ItemId, ItemKind, Method, Type};

const IUNKNOWN: &str = "00000000-0000-0000-c000-000000000046";

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, iface: &Interface) -> TokenStream {
    if !iface.type_params.is_empty() {
        // A parameterized (WinRT) interface: only its instances are types; see winrt.rs.
        return TokenStream::new();
    }
    if !iface.has_vtable(item) {
        let decls = functions::rpc_interface(g, item, iface);
        let stubs = rpc::stubs(g, id, item, iface);
        return quote! { #decls #stubs };
    }
    let head = g.idl().item(item);
    let def = Definition {
        rust_name: g.names.get(id).to_string(),
        doc: wrapper_doc(g, "Interface", head.trim_start_matches("interface "), item),
        base: iface.base.clone(),
        methods: iface.methods.clone(),
        iid: item.uuid(),
        is_unknown: item.uuid().is_some_and(|u| u.to_string() == IUNKNOWN),
        defined: iface.defined,
        pack: iface.pack,
    };
    let object = object(g, item, &def);
    let proxy = proxy::emit(g, id, item, iface);
    quote! { #object #proxy }
}

/// An object interface to emit: a declared one, or a WinRT instance with its type
/// arguments substituted.
pub(super) struct Definition {
    pub rust_name: String,
    /// The wrapper's doc (see [`wrapper_doc`]).
    pub doc: String,
    pub base: Option<Type>,
    pub methods: Vec<Method>,
    /// The IID, if the interface has one.
    pub iid: Option<Guid>,
    pub is_unknown: bool,
    pub defined: bool,
    /// Packing in force where the interface was declared (see [`vtable_repr`]).
    pub pack: Option<u32>,
}

/// `{kind} `{head}` (`{iid}`, file.idl): {helpstring}`: the doc of an interface's wrapper.
pub(super) fn wrapper_doc(g: &Gen, kind: &str, head: &str, item: &Item) -> String {
    let file = g.file_name(item);
    let whence = match item.uuid() {
        Some(iid) => format!("{}, {file}", docs::code(&format!("{{{iid}}}"))),
        None => file,
    };
    docs::with_help(
        format!("{kind} {} ({whence})", docs::code(head)),
        &item.attrs,
    )
}

/// A method's doc: its IDL declaration and helpstring.
pub(super) fn method_doc(g: &Gen, m: &Method) -> String {
    docs::with_help(docs::code(&g.idl().method(m)), &m.attrs)
}

pub(super) fn object(g: &mut Gen, item: &Item, def: &Definition) -> TokenStream {
    let rt = g.rt.clone();
    if !g.claim_type(&def.rust_name, item) {
        return TokenStream::new();
    }
    let name = names::ident(&def.rust_name);
    let wrapper_doc = if def.defined {
        def.doc.clone()
    } else {
        format!(
            "{}\n\nDeclared but not defined here: it has no methods, and only pointers to it \
             can be used.",
            def.doc
        )
    };
    let wrapper_doc = docs::attrs(&wrapper_doc);
    let wrapper = quote! {
        #wrapper_doc
        #[repr(transparent)]
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
        pub struct #name { ptr: ::core::ptr::NonNull<::core::ffi::c_void> }
    };
    if !def.defined {
        return wrapper;
    }
    let vtbl = names::ident(&format!("{}_Vtbl", def.rust_name));
    let impl_trait = names::ident(&format!("{}_Impl", def.rust_name));

    let base = def.base.as_ref().and_then(|b| base_interface(g, b));
    let base_is_unknown = base.is_some_and(|b| is_unknown(g, b));
    // The interface as the docs name it.
    let own = docs::code(&def.rust_name);

    // Vtable slots: methods in declaration order (see `Method::has_slot`).
    let methods: Vec<&Method> = def.methods.iter().filter(|m| m.has_slot()).collect();
    let mut slot_names: Vec<String> = methods.iter().map(|m| m.slot_name()).collect();
    names::dedup(&mut slot_names);
    let mut rust_names: Vec<String> = slot_names.iter().map(|s| names::snake(s)).collect();
    names::dedup(&mut rust_names);
    let slots: Vec<Slot> = methods
        .iter()
        .zip(slot_names.iter().zip(&rust_names))
        .map(|(m, (slot, rust))| Slot {
            method: m,
            slot: names::ident(slot),
            rust_name: rust.clone(),
        })
        .collect();

    let mut fields = Vec::new();
    let vtbl_doc = match base {
        Some(b) => {
            let base_name = docs::code(&g.idl().name_of(b));
            let base_vtbl = g.path_with_suffix(b, "_Vtbl");
            let doc = docs::attrs(&format!("The slots of {base_name}, the base interface."));
            fields.push(quote! { #doc pub base__: #base_vtbl });
            if slots.is_empty() {
                format!("The vtable of {own}: the slots of {base_name} (`base__`), and no others.")
            } else {
                format!(
                    "The vtable of {own}: the slots of {base_name} (`base__`), then one per \
                     method in declaration order."
                )
            }
        }
        None => format!("The vtable of {own}: one slot per method, in declaration order."),
    };
    let vtbl_doc = docs::attrs(&vtbl_doc);
    for s in &slots {
        let slot = &s.slot;
        let doc = docs::attrs(&method_doc(g, s.method));
        let params: Vec<TokenStream> = s
            .method
            .signature
            .params
            .iter()
            .map(|p| g.raw_param(&p.ty))
            .collect();
        let ret = g.ret(&s.method.signature.ret);
        let abi = super::types::abi(&s.method.signature.callconv);
        fields.push(quote! {
            #doc
            pub #slot: unsafe extern #abi fn(this: *mut ::core::ffi::c_void, #(#params),*) #ret
        });
    }
    let iid_const = names::ident(&format!("IID_{}", def.rust_name));
    let (iid_item, interface_impl) = match &def.iid {
        Some(guid) => {
            let iid = &super::guid_tokens(g, guid);
            let base_check = match base {
                Some(b) => {
                    let bp = g.path(b);
                    quote! { || <#bp as #rt::Interface>::implements(iid) }
                }
                None => TokenStream::new(),
            };
            let claimed = g.claim_value(&iid_const.to_string());
            let iid_item = if claimed {
                let doc = docs::attrs(&format!(
                    "The IID of {own}: {}.",
                    docs::code(&format!("{{{guid}}}"))
                ));
                quote! { #doc pub const #iid_const: #rt::GUID = #iid; }
            } else {
                TokenStream::new()
            };
            let iid_ref = if claimed {
                quote! { #iid_const }
            } else {
                iid.clone()
            };
            (
                iid_item,
                quote! {
                    // SAFETY: the wrapper is a transparent non-null interface pointer whose
                    // vtable starts with IUnknown's, as the trait requires.
                    unsafe impl #rt::Interface for #name {
                        type Vtable = #vtbl;
                        const IID: #rt::GUID = #iid_ref;
                        fn implements(iid: &#rt::GUID) -> bool {
                            *iid == Self::IID #base_check
                        }
                    }
                },
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    let deref = match base {
        Some(b) => {
            let bp = g.path(b);
            quote! {
                impl ::core::ops::Deref for #name {
                    type Target = #bp;
                    fn deref(&self) -> &#bp {
                        // SAFETY: both are transparent wrappers of the same interface pointer,
                        // and a derived interface's vtable starts with its base's.
                        unsafe { &*::core::ptr::from_ref(self).cast::<#bp>() }
                    }
                }
            }
        }
        None => TokenStream::new(),
    };
    let client = if g.opts.client && def.iid.is_some() {
        let methods: Vec<TokenStream> = slots
            .iter()
            .filter(|s| {
                !(def.is_unknown && matches!(s.slot.to_string().as_str(), "AddRef" | "Release"))
            })
            .map(|s| {
                let doc = method_doc(g, s.method);
                client::method(g, s.method, &s.slot, &s.rust_name, &doc)
            })
            .collect();
        quote! { impl #name { #(#methods)* } }
    } else {
        TokenStream::new()
    };
    let server = if !g.opts.server || def.iid.is_none() {
        TokenStream::new()
    } else if def.is_unknown {
        let ids: Vec<Ident> = slots.iter().map(|s| s.slot.clone()).collect();
        server::unknown_vtable(g, &vtbl, &ids)
    } else {
        let base_has_server =
            |b: ItemId| is_unknown(g, b) || g.model.item(b).and_then(|i| i.uuid()).is_some();
        match base {
            Some(b) if base_has_server(b) => {
                let base_trait = if base_is_unknown {
                    quote! { #rt::Class }
                } else {
                    g.path_with_suffix(b, "_Impl")
                };
                let base_vtbl = g.path_with_suffix(b, "_Vtbl");
                let vtbl_new = docs::code(&format!("{}_Vtbl::new", def.rust_name));
                let trait_doc = if slots.is_empty() {
                    format!(
                        "Implements {own} in Rust: it adds no methods to its base's; {vtbl_new} \
                         builds its vtable."
                    )
                } else {
                    format!(
                        "Implements {own} in Rust: one method per vtable slot, which {vtbl_new} \
                         forwards calls to."
                    )
                };
                server::emit(
                    g,
                    &impl_trait,
                    &trait_doc,
                    &vtbl,
                    base_trait,
                    Some(base_vtbl),
                    &slots,
                )
            }
            // An object interface with no base and not IUnknown (or a base without an IID):
            // nothing to fill its first slots from, so it can't be implemented here.
            _ => TokenStream::new(),
        }
    };
    let vtbl_repr = vtable_repr(def.pack);
    quote! {
        #iid_item
        #wrapper
        #vtbl_doc
        #vtbl_repr
        pub struct #vtbl { #(#fields),* }
        #interface_impl
        #deref
        #client
        #server
    }
}

/// The vtable's representation: C compilers apply the packing in force where the interface
/// is declared to the vtable struct of widl's header, so a `pshpack4.h` region gives it an
/// alignment of 4. Its fields are all pointers, so only packing below a pointer's
/// alignment changes anything.
fn vtable_repr(pack: Option<u32>) -> TokenStream {
    match pack {
        Some(p) if p < 8 => records::packed_repr(p),
        _ => quote! { #[repr(C)] },
    }
}

/// The base interface item, looking through typedefs.
fn base_interface(g: &Gen, ty: &Type) -> Option<ItemId> {
    let Type::Named(id) = g.model.unalias(ty) else {
        return None;
    };
    match &g.model.item(id)?.kind {
        ItemKind::Interface(i) if i.defined || g.well_known(id).is_some() => Some(id),
        _ => None,
    }
}

fn is_unknown(g: &Gen, id: ItemId) -> bool {
    matches!(
        g.well_known(id),
        Some(WellKnown::RuntimeInterface("IUnknown"))
    )
}
