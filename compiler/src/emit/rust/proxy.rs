//! Proxies and stubs of object interfaces, over the marshalling descriptions of
//! [`super::ndr`] and the runtime's ORPC layer (`comidl_runtime::dcom`): the "tiny typed
//! glue" of DESIGN.md's stubless design.
//!
//! - `IFoo_PROXY_VTBL`: a vtable of type `IFoo_Vtbl` whose every method hands the
//!   addresses of its arguments to `dcom::proxy::call` (which marshals the call, sends it
//!   to the object's exporter and unmarshals the reply), and whose IUnknown slots are the
//!   proxy manager's;
//! - `IFoo_invoke`: the stub's side, which calls slot `opnum` of a real object with the
//!   arguments the engine unmarshalled;
//! - `IFoo_PROXY_STUB`: both with the description and the base interface's, for
//!   `dcom::register`.
//!
//! Emitted for every object interface with a description whose base is IUnknown or an
//! interface that has them too. A `[local]` method whose `[call_as]` partner is its wire
//! form works as MIDL's: the proxy's slot calls the program's `IFoo_Method_Proxy(this,
//! local args)` helper, which calls the generated `IFoo_RemoteMethod_Proxy(this, remote
//! args)`; the stub calls the program's `IFoo_Method_Stub(this, remote args)`, which calls
//! the object's local method. The helpers live in the module [`super::Options::call_as`]
//! names; without it such interfaces get no proxy. Not yet: interfaces deriving from the
//! runtime's own (IClassFactory, whose proxy the runtime writes by hand, ...).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Gen, WellKnown, docs, names};
use crate::ir::{Interface, Item, ItemId, ItemKind, Method, Type};

/// Whether interface `id` gets a proxy and a stub (see the module's doc).
pub(super) fn has_proxy(g: &Gen, id: ItemId, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let Some(item) = g.model.item(id) else {
        return false;
    };
    let ItemKind::Interface(i) = &item.kind else {
        return false;
    };
    if !g.opts.marshal
        || !i.defined
        || !item.has_attr("object")
        || item.has_attr("local")
        || !item.namespace.is_empty()
        || !i.type_params.is_empty()
        || item.uuid().is_none()
        || g.well_known(id).is_some()
    {
        return false;
    }
    // A [local] method needs its [call_as] partner and the program's helpers.
    let paired = |m: &Method| {
        !m.has_attr("local")
            || (g.opts.call_as.is_some()
                && i.methods
                    .iter()
                    .any(|w| super::ndr::call_as_names(w, &m.name)))
    };
    if !i.methods.iter().all(paired) {
        return false;
    }
    match base_of(g, i) {
        Some(b) if is_unknown(g, b) => true,
        Some(b) => has_proxy(g, b, depth + 1),
        None => false,
    }
}

fn base_of(g: &Gen, i: &Interface) -> Option<ItemId> {
    match g.model.unalias(i.base.as_ref()?) {
        Type::Named(id) => Some(id),
        _ => None,
    }
}

fn is_unknown(g: &Gen, id: ItemId) -> bool {
    matches!(
        g.well_known(id),
        Some(WellKnown::RuntimeInterface("IUnknown"))
    )
}

/// The vtable slots the interface's bases take (IUnknown's three included).
fn inherited_slots(g: &Gen, i: &Interface) -> usize {
    let mut n = 0;
    let mut base = base_of(g, i);
    for _ in 0..64 {
        let Some(ItemKind::Interface(b)) = base.and_then(|id| g.model.item(id)).map(|it| &it.kind)
        else {
            break;
        };
        n += b.methods.iter().filter(|m| m.has_slot()).count();
        base = base_of(g, b);
    }
    n
}

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, iface: &Interface) -> TokenStream {
    if item.file != g.main || !has_proxy(g, id, 0) {
        return TokenStream::new();
    }
    let rt = g.rt.clone();
    let rust = g.names.get(id).to_string();
    let vtbl = names::ident(&format!("{rust}_Vtbl"));
    let proxy_vtbl = format_ident!("{rust}_PROXY_VTBL");
    let proxy_stub = format_ident!("{rust}_PROXY_STUB");
    let invoke = format_ident!("{rust}_invoke");
    let desc = format_ident!("{rust}_INTERFACE");
    for name in [&proxy_vtbl, &proxy_stub, &invoke] {
        if !g.claim_value(&name.to_string()) {
            return TokenStream::new();
        }
    }
    let Some(base) = base_of(g, iface) else {
        return TokenStream::new();
    };
    let (base_vtbl, base_ps) = if is_unknown(g, base) {
        (quote! { #rt::dcom::PROXY_IUNKNOWN_VTBL }, quote! { None })
    } else {
        let v = g.path_with_suffix(base, "_PROXY_VTBL");
        let p = g.path_with_suffix(base, "_PROXY_STUB");
        (quote! { #v }, quote! { Some(&#p) })
    };
    let first = inherited_slots(g, iface);
    let methods: Vec<&Method> = iface.methods.iter().filter(|m| m.has_slot()).collect();
    let mut slot_names: Vec<String> = methods.iter().map(|m| m.slot_name()).collect();
    names::dedup(&mut slot_names);

    let helpers: Option<TokenStream> = g.opts.call_as.as_deref().and_then(|p| p.parse().ok());
    let mut fields = Vec::new();
    let mut arms = Vec::new();
    let mut remote_proxies = Vec::new();
    for (k, (m, slot)) in methods.iter().zip(&slot_names).enumerate() {
        let slot = names::ident(slot);
        let opnum = Literal::u16_unsuffixed((first + k) as u16);
        if m.has_attr("local") {
            let (Some(w), Some(helpers)) = (
                iface
                    .methods
                    .iter()
                    .find(|w| super::ndr::call_as_names(w, &m.name)),
                &helpers,
            ) else {
                return TokenStream::new();
            };
            let pair = CallAs {
                iface: &rust,
                helpers,
                local: m,
                remote: w,
                slot: &slot,
                opnum: &opnum,
                desc: &desc,
            };
            let (field, arm, remote) = pair.emit(g);
            fields.push(field);
            arms.push(arm);
            remote_proxies.push(remote);
            continue;
        }
        let sig = &m.signature;
        let call = proxied_call(g, sig, &desc, &opnum);
        let Proxied {
            abi,
            params,
            ret_arrow,
            body,
            ..
        } = &call;
        fields.push(quote! {
            #slot: {
                unsafe extern #abi fn #slot(this: *mut ::core::ffi::c_void, #params) #ret_arrow {
                    #body
                }
                #slot
            }
        });
        let (types, void, ret_ty) = (&call.types, call.void, &call.ret_ty);
        let reads = types.iter().enumerate().map(|(i, t)| {
            let i = Literal::usize_unsuffixed(i);
            quote! { args[#i].cast::<#t>().read() }
        });
        let call = quote! { (vtbl.#slot)(itf, #(#reads),*) };
        let body = if void {
            quote! { #call; }
        } else {
            quote! { ret.cast::<#ret_ty>().write(#call); }
        };
        arms.push(quote! { #opnum => { #body } });
    }
    let iid = match item.uuid() {
        Some(u) => super::guid_tokens(g, &u),
        None => return TokenStream::new(),
    };
    let iname = &item.name;
    let vtbl_doc = docs::attrs(&format!(
        "The proxy's vtable of `{iname}`: each method marshals its call to the object's \
         process (ORPC) and unmarshals the reply."
    ));
    let invoke_doc = docs::attrs(&format!(
        "The stub's call of `{iname}`'s slot `opnum` on a real object, with the arguments \
         the engine unmarshalled; `false` for a slot not `{iname}`'s own.\n\n# Safety\n\
         `itf` is a live `{iname}` pointer, `args` holds one pointer per parameter of the \
         slot's description, `ret` has room for its return value."
    ));
    let ps_doc = docs::attrs(&format!(
        "The proxy and stub of `{iname}`, for `dcom::register`."
    ));
    // Slots of [local] methods go through the program's stub helpers instead.
    let bind_vtbl = if methods.iter().any(|m| !m.has_attr("local")) {
        quote! { let vtbl = &**itf.cast::<*const #vtbl>(); }
    } else {
        TokenStream::new()
    };
    let match_body = if arms.is_empty() {
        quote! {
            let _ = (itf, opnum, args, ret);
            false
        }
    } else {
        quote! {
            let _ = (args, ret);
            // SAFETY: the caller's contract: a live object whose vtable is `#vtbl`, and
            // argument memory of each parameter's type.
            unsafe {
                #bind_vtbl
                match opnum {
                    #(#arms)*
                    _ => return false,
                }
            }
            true
        }
    };
    quote! {
        #(#remote_proxies)*
        #vtbl_doc
        pub const #proxy_vtbl: #vtbl = #vtbl {
            base__: #base_vtbl,
            #(#fields),*
        };
        #invoke_doc
        pub unsafe fn #invoke(
            itf: *mut ::core::ffi::c_void,
            opnum: u16,
            args: &[*mut u8],
            ret: *mut u8,
        ) -> bool {
            #match_body
        }
        #ps_doc
        pub static #proxy_stub: #rt::dcom::ProxyStub = #rt::dcom::ProxyStub {
            iid: #iid,
            interface: &ndr::#desc,
            base: #base_ps,
            vtbl: #rt::dcom::Vtbl((&#proxy_vtbl as *const #vtbl).cast::<#rt::IUnknown_Vtbl>()),
            invoke: #invoke,
        };
    }
}

/// A proxy function's parts for a method's signature: its ABI, its parameters
/// (`p0: T0, ...`) and return, and the body that hands the arguments' addresses to
/// `dcom::proxy::call` for slot `opnum` of `desc` and returns what the call gave.
struct Proxied {
    abi: &'static str,
    params: TokenStream,
    ret_arrow: TokenStream,
    body: TokenStream,
    /// The raw parameter types, the return type (`()` for void) and whether it is void:
    /// what the stub reads and writes.
    types: Vec<TokenStream>,
    ret_ty: TokenStream,
    void: bool,
}

fn proxied_call(
    g: &mut Gen,
    sig: &crate::ir::Signature,
    desc: &proc_macro2::Ident,
    opnum: &Literal,
) -> Proxied {
    let rt = g.rt.clone();
    let types: Vec<TokenStream> = sig.params.iter().map(|p| g.raw_param(&p.ty)).collect();
    let idents: Vec<_> = (0..types.len()).map(|i| format_ident!("p{i}")).collect();
    let ret_arrow = g.ret(&sig.ret);
    let void = ret_arrow.is_empty();
    let ret_ty = if void {
        quote! { () }
    } else {
        g.raw_param(&sig.ret)
    };
    let finish = if void {
        quote! { let _ = hr; }
    } else if is_hresult(g, &sig.ret) {
        quote! {
            if hr.is_err() {
                return hr;
            }
            // SAFETY: the call stored the server's HRESULT there.
            unsafe { ret.assume_init() }
        }
    } else {
        quote! {
            let _ = hr;
            // SAFETY: the call stored the return value there, or left it zeroed.
            unsafe { ret.assume_init() }
        }
    };
    let body = quote! {
        #(let mut #idents = #idents;)*
        let args: &[*mut u8] = &[#((&raw mut #idents).cast::<u8>()),*];
        let mut ret = ::core::mem::MaybeUninit::<#ret_ty>::zeroed();
        // SAFETY: `this` is a proxy of the interface (its vtables are only ever
        // proxies'), and the arguments are the caller's, valid as the method's contract
        // says.
        let hr = unsafe {
            #rt::dcom::proxy::call(this, &ndr::#desc, #opnum, args, ret.as_mut_ptr().cast::<u8>())
        };
        #finish
    };
    Proxied {
        abi: super::types::abi(&sig.callconv),
        params: quote! { #(#idents: #types),* },
        ret_arrow,
        body,
        types,
        ret_ty,
        void,
    }
}

/// A `[local]` method and its `[call_as]` remote form (see the module's doc).
struct CallAs<'a> {
    iface: &'a str,
    helpers: &'a TokenStream,
    local: &'a Method,
    remote: &'a Method,
    slot: &'a proc_macro2::Ident,
    opnum: &'a Literal,
    desc: &'a proc_macro2::Ident,
}

impl CallAs<'_> {
    /// The proxy vtable's field, the stub's match arm, and `IFoo_RemoteMethod_Proxy`.
    fn emit(&self, g: &mut Gen) -> (TokenStream, TokenStream, TokenStream) {
        let (slot, opnum, desc, helpers) = (self.slot, self.opnum, self.desc, self.helpers);
        let local_proxy = format_ident!("{}_{}_Proxy", self.iface, self.local.name);
        let local_stub = format_ident!("{}_{}_Stub", self.iface, self.local.name);
        let remote_proxy = format_ident!("{}_{}_Proxy", self.iface, self.remote.name);

        // The slot: the program's helper, with the local method's signature.
        let sig = &self.local.signature;
        let types: Vec<TokenStream> = sig.params.iter().map(|p| g.raw_param(&p.ty)).collect();
        let idents: Vec<_> = (0..types.len()).map(|i| format_ident!("p{i}")).collect();
        let ret_arrow = g.ret(&sig.ret);
        let abi = super::types::abi(&sig.callconv);
        let field = quote! {
            #slot: {
                unsafe extern #abi fn #slot(this: *mut ::core::ffi::c_void, #(#idents: #types),*) #ret_arrow {
                    // SAFETY: the program's helper takes the local method's arguments as
                    // they came.
                    unsafe { #helpers::#local_proxy(this, #(#idents),*) }
                }
                #slot
            }
        };

        // The remote form's proxy, which the helper calls.
        let remote_call = proxied_call(g, &self.remote.signature, desc, opnum);
        let Proxied {
            abi: rabi,
            params: rparams,
            ret_arrow: rret_arrow,
            body: rbody,
            ..
        } = &remote_call;
        let doc = docs::attrs(&format!(
            "The proxy of `{}`'s remote form `{}` (MIDL's `{remote_proxy}`), for the \
             program's `{local_proxy}` helper to call.\n\n# Safety\n`this` is a proxy of \
             `{}`; the arguments are valid as the method's contract says.",
            self.local.name, self.remote.name, self.iface
        ));
        let remote = quote! {
            #doc
            pub unsafe extern #rabi fn #remote_proxy(this: *mut ::core::ffi::c_void, #rparams) #rret_arrow {
                #rbody
            }
        };

        // The stub: the program's helper with the remote form's arguments.
        let (rtypes, rvoid, rret_ty) = (&remote_call.types, remote_call.void, &remote_call.ret_ty);
        let reads = rtypes.iter().enumerate().map(|(i, t)| {
            let i = Literal::usize_unsuffixed(i);
            quote! { args[#i].cast::<#t>().read() }
        });
        let call = quote! { #helpers::#local_stub(itf, #(#reads),*) };
        let arm = if rvoid {
            quote! { #opnum => { #call; } }
        } else {
            quote! { #opnum => { ret.cast::<#rret_ty>().write(#call); } }
        };
        (field, arm, remote)
    }
}

fn is_hresult(g: &Gen, ty: &Type) -> bool {
    let mut t = ty.clone();
    for _ in 0..16 {
        match t {
            Type::Named(id) => {
                if matches!(g.well_known(id), Some(WellKnown::Hresult)) {
                    return true;
                }
                match g.model.item(id).map(|i| &i.kind) {
                    Some(ItemKind::Typedef(inner)) => t = inner.clone(),
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    false
}
