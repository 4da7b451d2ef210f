//! Client and server stubs of RPC (non-object) interfaces, over the marshalling
//! descriptions of [`super::ndr`] and the runtime's NDR engine:
//!
//! - `X_Client<C>`: one method per operation with the C stub's parameters (what MIDL's
//!   client stub takes), which marshals the `[in]` values, hands the request to the
//!   channel `C` and unmarshals the reply into the `[out]` memory the caller gave;
//! - `X_Server`: a trait with the same operations, for the implementation;
//! - `X_dispatch(server, opnum, request)`: unmarshals a request, calls the implementation,
//!   marshals the reply (or returns a fault), and frees everything the call used.
//!
//! The parameters are raw, as in C: the calls are `unsafe`, with C's contract.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Gen, docs, names};
use crate::ir::{Base, Interface, Item, ItemId, Type};

pub(super) fn stubs(g: &mut Gen, id: ItemId, item: &Item, iface: &Interface) -> TokenStream {
    if !g.opts.marshal
        || !iface.defined
        || !item.namespace.is_empty()
        || item.has_attr("local")
        || iface.methods.is_empty()
    {
        return TokenStream::new();
    }
    let rt = g.rt.clone();
    let base = names::sanitize(g.names.get(id));
    let client = format_ident!("{base}_Client");
    let server = format_ident!("{base}_Server");
    let dispatch = format_ident!("{base}_dispatch");
    let desc = format_ident!("{base}_INTERFACE");
    if !g.claim_type(&format!("{base}_Client"), item)
        || !g.claim_type(&format!("{base}_Server"), item)
    {
        return TokenStream::new();
    }
    let idl = g.idl();
    let mut client_methods = Vec::new();
    let mut trait_methods = Vec::new();
    let mut arms = Vec::new();
    for (index, m) in iface.methods.iter().enumerate() {
        let sig = &m.signature;
        let name = names::ident(&m.name);
        let param_names = names::param_names(&sig.params, names::sanitize);
        let idents: Vec<_> = param_names.iter().map(|n| names::ident(n)).collect();
        let types: Vec<TokenStream> = sig.params.iter().map(|p| g.raw_param(&p.ty)).collect();
        let void = matches!(g.model.unalias(&sig.ret), Type::Base(Base::Void));
        let ret_ty = if void {
            quote! { () }
        } else {
            g.raw_param(&sig.ret)
        };
        let doc = docs::attrs(&format!(
            "{}\n\n# Safety\nAs the C stub's: every pointer is valid for its IDL type, and \
             `[out]` memory is writable and as large as its correlations say.",
            docs::code(&idl.method(m))
        ));
        let i = Literal::usize_unsuffixed(index);
        let body = if void {
            quote! {
                // SAFETY: the arguments are the caller's, valid as the C stub's contract
                // says.
                unsafe {
                    #rt::ndr::call(&self.channel, &ndr::#desc, ndr::#desc.procs[#i], args, ::core::ptr::null_mut())
                }
            }
        } else {
            quote! {
                let mut ret = ::core::mem::MaybeUninit::<#ret_ty>::zeroed();
                // SAFETY: the arguments are the caller's, valid as the C stub's contract
                // says; `ret` has room for the return value, zeroed if the call fails.
                unsafe {
                    #rt::ndr::call(&self.channel, &ndr::#desc, ndr::#desc.procs[#i], args, ret.as_mut_ptr().cast::<u8>())?;
                    ::core::result::Result::Ok(ret.assume_init())
                }
            }
        };
        client_methods.push(quote! {
            #doc
            pub unsafe fn #name(&self, #(#idents: #types),*) -> ::core::result::Result<#ret_ty, #rt::ndr::CallError> {
                #(let mut #idents = #idents;)*
                let args: &[*mut u8] = &[#((&raw mut #idents).cast::<u8>()),*];
                #body
            }
        });
        trait_methods.push(quote! {
            #doc
            unsafe fn #name(&self, #(#idents: #types),*) -> #ret_ty;
        });
        let reads = (0..sig.params.len()).map(|k| {
            let t = &types[k];
            let k = Literal::usize_unsuffixed(k);
            quote! { (args[#k] as *const #t).read() }
        });
        let call = if void {
            quote! { server.#name(#(#reads),*); }
        } else {
            quote! { (ret as *mut #ret_ty).write(server.#name(#(#reads),*)); }
        };
        arms.push(quote! { #i => { #call } });
    }
    let iname = &item.name;
    let client_doc = docs::attrs(&format!(
        "Client stub of RPC interface `{iname}`: each method marshals its `[in]` parameters, \
         hands the request to the channel and unmarshals the reply into the `[out]` memory \
         given, as MIDL's client stub does."
    ));
    let server_doc = docs::attrs(&format!(
        "The operations of RPC interface `{iname}`, for a server to implement; \
         [`{base}_dispatch`] serves requests with it."
    ));
    let dispatch_doc = docs::attrs(&format!(
        "Serves one request for operation `opnum` of `{iname}`: unmarshals it, calls the \
         implementation, marshals the reply (or returns the fault), and frees everything \
         the call allocated, including what the implementation allocated for `[out]` \
         parameters (from the task allocator)."
    ));
    quote! {
        #client_doc
        pub struct #client<C> {
            pub channel: C,
        }
        impl<C: #rt::ndr::Channel> #client<C> {
            pub fn new(channel: C) -> Self {
                Self { channel }
            }
            #(#client_methods)*
        }
        #server_doc
        pub trait #server {
            #(#trait_methods)*
        }
        #dispatch_doc
        // An interface of one operation has one arm.
        #[allow(clippy::single_match)]
        pub fn #dispatch<S: #server + ?Sized>(
            server: &S,
            opnum: u16,
            request: &[u8],
        ) -> ::core::result::Result<::std::vec::Vec<u8>, #rt::ndr::Fault> {
            #rt::ndr::serve(&ndr::#desc, opnum, request, #rt::ndr::Limits::current(), &|index, args, ret| {
                let _ = ret;
                // SAFETY: the engine unmarshalled each parameter into memory of its type
                // and gave room for the return value.
                unsafe {
                    match index {
                        #(#arms)*
                        _ => {}
                    }
                }
            })
        }
    }
}
