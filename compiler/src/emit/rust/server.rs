//! The server side of an interface: a `IFoo_Impl` trait a Rust type implements, and
//! `IFoo_Vtbl::new::<C, K>()`, a vtable whose entries recover the object from the
//! interface pointer and forward to the trait. `K` is the interface's slot in the object
//! (see the runtime's `implement!`); IUnknown's entries come from the runtime, which keeps
//! identity and the atomic reference count. Every entry catches panics: a panic becomes a
//! failure HRESULT (or a zero value for methods that don't return HRESULT), never an unwind
//! into the caller.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::shape::Shape;
use super::{Gen, docs, names};
use crate::ir::Method;

/// A method of the interface being emitted, with its vtable slot name and Rust name.
pub(super) struct Slot<'a> {
    pub method: &'a Method,
    pub slot: Ident,
    pub rust_name: String,
}

/// The trait and the vtable constructor.
pub(super) fn emit(
    g: &mut Gen,
    trait_name: &Ident,
    trait_doc: &str,
    vtbl_name: &Ident,
    base_trait: TokenStream,
    base_vtbl: Option<TokenStream>,
    slots: &[Slot],
) -> TokenStream {
    let mut trait_methods = Vec::new();
    let mut thunks = Vec::new();
    let mut fields = Vec::new();
    for s in slots {
        let (decl, thunk) = method(g, trait_name, s);
        trait_methods.push(decl);
        thunks.push(thunk);
        let slot = &s.slot;
        fields.push(quote! { #slot: #slot::<C, K> });
    }
    let base_field = base_vtbl.map(|b| quote! { base__: #b::new::<C, K>(), });
    let trait_doc = docs::attrs(trait_doc);
    quote! {
        #trait_doc
        pub trait #trait_name: #base_trait {
            #(#trait_methods)*
        }
        impl #vtbl_name {
            /// The vtable of interface slot `K` of a `C` object (see `implement!`).
            pub const fn new<C: #trait_name, const K: usize>() -> Self {
                #(#thunks)*
                Self { #base_field #(#fields),* }
            }
        }
    }
}

/// The IUnknown vtable constructor: identity and reference counting from the runtime.
pub(super) fn unknown_vtable(g: &Gen, vtbl_name: &Ident, slots: &[Ident]) -> TokenStream {
    let rt = &g.rt;
    let [qi, add_ref, release] = slots else {
        return TokenStream::new();
    };
    quote! {
        impl #vtbl_name {
            /// IUnknown for interface slot `K` of a `C` object.
            pub const fn new<C: #rt::Class, const K: usize>() -> Self {
                Self {
                    #qi: #rt::object::query_interface::<C, K>,
                    #add_ref: #rt::object::add_ref::<C, K>,
                    #release: #rt::object::release::<C, K>,
                }
            }
        }
    }
}

fn method(g: &mut Gen, trait_name: &Ident, s: &Slot) -> (TokenStream, TokenStream) {
    let shape = super::shape::method(g, &s.method.signature, true);
    let rt = g.rt.clone();
    let name = names::ident(&s.rust_name);
    let slot = &s.slot;
    let raw_params: Vec<TokenStream> = shape
        .params
        .iter()
        .map(|p| {
            let n = &p.name;
            let t = &p.raw;
            quote! { #n: #t }
        })
        .collect();
    let raw_ret = &shape.raw_ret;
    let doc = docs::attrs(&super::interfaces::method_doc(g, s.method));
    if !shape.hresult {
        let params: Vec<TokenStream> = raw_params.clone();
        let args = shape.params.iter().map(|p| &p.name);
        let decl = quote! { #doc fn #name(&self, #(#params),*) #raw_ret; };
        let thunk = quote! {
            unsafe extern "system" fn #slot<C: #trait_name, const K: usize>(
                this__: *mut ::core::ffi::c_void, #(#raw_params),*
            ) #raw_ret {
                #rt::object::guard_or_zeroed(|| {
                    let object__ = unsafe { #rt::object::object_of::<C, K>(this__) };
                    <C as #trait_name>::#name(object__, #(#args),*)
                })
            }
        };
        return (decl, thunk);
    }
    let mut params = Vec::new();
    let mut checks = Vec::new();
    let mut args = Vec::new();
    let mut outs = Vec::new();
    let mut out_types = Vec::new();
    let mut writes = Vec::new();
    let mut clears = Vec::new();
    for p in &shape.params {
        let n = &p.name;
        let raw = &p.raw;
        // The value the implementation returned for this output.
        let v = names::ident(&format!("{}_value", n.to_string().trim_start_matches("r#")));
        match &p.shape {
            Shape::Raw { .. } | Shape::IidSource | Shape::OutQuery => {
                params.push(quote! { #n: #raw });
                args.push(quote! { #n });
            }
            Shape::InInterface { wrapper, .. } => {
                params.push(quote! { #n: ::core::option::Option<&#wrapper> });
                args.push(quote! { #n.as_ref() });
            }
            Shape::InRef {
                pointee,
                optional,
                mutable,
            } => {
                let (ty, conv) = if *mutable {
                    (quote! { &mut #pointee }, quote! { unsafe { #n.as_mut() } })
                } else {
                    (quote! { &#pointee }, quote! { unsafe { #n.as_ref() } })
                };
                if *optional {
                    params.push(quote! { #n: ::core::option::Option<#ty> });
                    args.push(conv);
                } else {
                    params.push(quote! { #n: #ty });
                    checks.push(quote! {
                        let ::core::option::Option::Some(#n) = (#conv) else { return #rt::E_POINTER; };
                    });
                    args.push(quote! { #n });
                }
            }
            Shape::InBstr => {
                params.push(quote! { #n: &#rt::BSTR });
                args.push(quote! { unsafe { #rt::BSTR::from_abi_ref(&#n) } });
            }
            Shape::Out { .. } | Shape::OutInterface { .. } | Shape::OutBstr => {
                let (ty, value, cleared) = match &p.shape {
                    Shape::Out { ty } => {
                        (ty.clone(), quote! { #v }, quote! { ::core::mem::zeroed() })
                    }
                    Shape::OutInterface {
                        wrapper,
                        retval: true,
                    } => (
                        quote! { #rt::ComPtr<#wrapper> },
                        quote! { ::core::option::Option::Some(#v.into_interface()) },
                        quote! { ::core::option::Option::None },
                    ),
                    Shape::OutInterface { wrapper, .. } => (
                        quote! { ::core::option::Option<#rt::ComPtr<#wrapper>> },
                        quote! { #v.map(#rt::ComPtr::into_interface) },
                        quote! { ::core::option::Option::None },
                    ),
                    _ => (
                        quote! { #rt::BSTR },
                        quote! { #v.into_raw() },
                        quote! { ::core::ptr::null_mut() },
                    ),
                };
                out_types.push(ty);
                outs.push(v.clone());
                if p.optional {
                    // The caller may pass NULL for a result it does not want.
                    writes.push(quote! { if !#n.is_null() { unsafe { #n.write(#value) } } });
                    clears.push(quote! { if !#n.is_null() { unsafe { #n.write(#cleared) } } });
                } else {
                    checks.push(quote! { if #n.is_null() { return #rt::E_POINTER; } });
                    writes.push(quote! { unsafe { #n.write(#value) } });
                    clears.push(quote! { unsafe { #n.write(#cleared) } });
                }
            }
            Shape::Count { .. } => {}
            Shape::Slice {
                element,
                count,
                optional,
                mutable,
                out,
            } => {
                let c = &shape.params[*count].name;
                let (ty, make) = match (mutable, out) {
                    (false, _) => (quote! { &[#element] }, quote! { in_slice }),
                    (true, false) => (quote! { &mut [#element] }, quote! { in_out_slice }),
                    (true, true) => (quote! { &mut [#element] }, quote! { out_slice }),
                };
                let convert = quote! { unsafe { #rt::args::#make(#n, #c) } };
                borrow(
                    n,
                    ty,
                    convert,
                    *optional,
                    &mut params,
                    &mut checks,
                    &mut args,
                );
            }
            Shape::FixedArray {
                element,
                len,
                mutable,
                out,
            } => {
                let len = proc_macro2::Literal::u64_unsuffixed(*len);
                let (ty, make) = match (mutable, out) {
                    (false, _) => (quote! { &[#element; #len] }, quote! { in_array }),
                    (true, false) => (quote! { &mut [#element; #len] }, quote! { in_out_array }),
                    (true, true) => (quote! { &mut [#element; #len] }, quote! { out_array }),
                };
                let convert = quote! { unsafe { #rt::args::#make::<_, #len>(#n) } };
                borrow(n, ty, convert, false, &mut params, &mut checks, &mut args);
            }
            Shape::InStr { wide, optional, .. } => {
                let (ty, convert) = if *wide {
                    (
                        quote! { &#rt::WStr },
                        quote! { unsafe { #rt::args::wide_str(#n.cast::<u16>()) } },
                    )
                } else {
                    (
                        quote! { &::core::ffi::CStr },
                        quote! { unsafe { #rt::args::narrow_str(#n.cast::<::core::ffi::c_char>()) } },
                    )
                };
                borrow(
                    n,
                    ty,
                    convert,
                    *optional,
                    &mut params,
                    &mut checks,
                    &mut args,
                );
            }
        }
    }
    let values = outs;
    let ret_ty = match out_types.len() {
        0 => quote! { () },
        1 => out_types[0].clone(),
        _ => quote! { (#(#out_types),*) },
    };
    let pattern = match values.len() {
        0 => quote! { () },
        1 => {
            let v = &values[0];
            quote! { #v }
        }
        _ => quote! { (#(#values),*) },
    };
    let decl = quote! { #doc fn #name(&self, #(#params),*) -> #rt::Result<#ret_ty>; };
    let thunk = quote! {
        unsafe extern "system" fn #slot<C: #trait_name, const K: usize>(
            this__: *mut ::core::ffi::c_void, #(#raw_params),*
        ) -> #rt::HRESULT {
            #rt::object::guard(|| {
                let object__ = unsafe { #rt::object::object_of::<C, K>(this__) };
                #(#checks)*
                match <C as #trait_name>::#name(object__, #(#args),*) {
                    ::core::result::Result::Ok(#pattern) => {
                        #(#writes;)*
                        #rt::S_OK
                    }
                    ::core::result::Result::Err(error__) => {
                        #(#clears;)*
                        if error__.is_ok() { #rt::E_FAIL } else { error__ }
                    }
                }
            })
        }
    };
    (decl, thunk)
}

/// A parameter the thunk lends to the implementation as `ty`, made by `convert` (a
/// `Result` from the runtime's `args`); its error is returned to the caller. `optional`:
/// NULL becomes `None` instead of reaching `convert`.
fn borrow(
    n: &Ident,
    ty: TokenStream,
    convert: TokenStream,
    optional: bool,
    params: &mut Vec<TokenStream>,
    checks: &mut Vec<TokenStream>,
    args: &mut Vec<TokenStream>,
) {
    if optional {
        params.push(quote! { #n: ::core::option::Option<#ty> });
        checks.push(quote! {
            let #n = if #n.is_null() {
                ::core::option::Option::None
            } else {
                match #convert {
                    ::core::result::Result::Ok(v) => ::core::option::Option::Some(v),
                    ::core::result::Result::Err(e) => return e,
                }
            };
        });
    } else {
        params.push(quote! { #n: #ty });
        checks.push(quote! {
            let #n = match #convert {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(e) => return e,
            };
        });
    }
    args.push(quote! { #n });
}
