//! The safe client methods on an interface wrapper: Rust-named, taking references and
//! returning `Result`, calling through the vtable.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::shape::{MethodShape, Shape};
use super::{Gen, docs, names};
use crate::ir::Method;

/// One safe method. `slot` is the vtable field, `rust_name` the snake_case method name,
/// `doc` what the method's doc says before any safety section.
pub(super) fn method(
    g: &mut Gen,
    m: &Method,
    slot: &Ident,
    rust_name: &str,
    doc: &str,
) -> TokenStream {
    let shape = super::shape::method(g, &m.signature, false);
    let rt = g.rt.clone();
    let name = names::ident(rust_name);
    let mut params = Vec::new();
    let mut prepare = Vec::new();
    let mut args = Vec::new();
    let mut results = Vec::new();
    let mut result_types = Vec::new();
    for p in &shape.params {
        let n = &p.name;
        let raw = &p.raw;
        match &p.shape {
            Shape::Raw { .. } => {
                params.push(quote! { #n: #raw });
                args.push(quote! { #n });
            }
            Shape::InInterface {
                wrapper,
                optional: false,
            } => {
                params.push(quote! { #n: &#wrapper });
                args.push(quote! { ::core::option::Option::Some(*#n) });
            }
            Shape::InInterface {
                wrapper,
                optional: true,
            } => {
                params.push(quote! { #n: ::core::option::Option<&#wrapper> });
                args.push(quote! { #n.copied() });
            }
            Shape::InRef {
                pointee,
                optional,
                mutable,
            } => {
                let (param_ty, arg) = match (optional, mutable) {
                    (false, false) => (
                        quote! { &#pointee },
                        quote! { ::core::ptr::from_ref(#n).cast_mut() },
                    ),
                    (true, false) => (
                        quote! { ::core::option::Option<&#pointee> },
                        quote! { #n.map_or(::core::ptr::null_mut(), |r| ::core::ptr::from_ref(r).cast_mut()) },
                    ),
                    (false, true) => (
                        quote! { &mut #pointee },
                        quote! { ::core::ptr::from_mut(#n) },
                    ),
                    (true, true) => (
                        quote! { ::core::option::Option<&mut #pointee> },
                        quote! { #n.map_or(::core::ptr::null_mut(), ::core::ptr::from_mut) },
                    ),
                };
                params.push(quote! { #n: #param_ty });
                args.push(arg);
            }
            Shape::InBstr => {
                params.push(quote! { #n: &#rt::BSTR });
                args.push(quote! { #n.as_ptr().cast_mut() });
            }
            Shape::Out { ty } => {
                // SAFETY (of the zeroed value): every raw type the backend emits is valid
                // when all-zero (integers, raw pointers, Option-wrapped pointers).
                prepare.push(quote! { let mut #n: #ty = unsafe { ::core::mem::zeroed() }; });
                args.push(quote! { &mut #n });
                results.push((quote! { #n }, false));
                result_types.push(ty.clone());
            }
            Shape::OutInterface { wrapper, retval } => {
                prepare.push(quote! { let mut #n: ::core::option::Option<#wrapper> = ::core::option::Option::None; });
                args.push(quote! { &mut #n });
                if *retval {
                    results.push((
                        quote! { unsafe { #rt::ComPtr::from_option(#n) }.ok_or(#rt::E_POINTER) },
                        true,
                    ));
                    result_types.push(quote! { #rt::ComPtr<#wrapper> });
                } else {
                    results.push((
                        quote! { #n.map(|p| unsafe { #rt::ComPtr::from_interface(p) }) },
                        false,
                    ));
                    result_types.push(quote! { ::core::option::Option<#rt::ComPtr<#wrapper>> });
                }
            }
            Shape::OutBstr => {
                prepare.push(quote! { let mut #n: *mut u16 = ::core::ptr::null_mut(); });
                args.push(quote! { &mut #n });
                results.push((quote! { unsafe { #rt::BSTR::from_raw(#n) } }, false));
                result_types.push(quote! { #rt::BSTR });
            }
            Shape::IidSource => {
                // `.cast_mut()`: REFIID is `*mut` in some IDL (Wine's wtypes.idl), `*const` in others.
                args.push(quote! { ::core::ptr::from_ref(&<T as #rt::Interface>::IID).cast_mut() });
            }
            Shape::Count { arrays } => {
                // The count is the slices' length; slices sharing it must agree.
                let len = |i: usize| {
                    let a = &shape.params[i].name;
                    match &shape.params[i].shape {
                        Shape::Slice { optional: true, .. } => {
                            quote! { #a.as_ref().map_or(0, |s| s.len()) }
                        }
                        _ => quote! { #a.len() },
                    }
                };
                let Some((first, rest)) = arrays.split_first() else {
                    continue;
                };
                let first_len = len(*first);
                if !shape.hresult {
                    // No HRESULT to fail with: the count is the shortest slice's length,
                    // capped at what the count's type holds, so the callee never reads or
                    // writes past any slice.
                    let shortest = if rest.is_empty() {
                        first_len
                    } else {
                        let lens: Vec<TokenStream> = arrays.iter().map(|&i| len(i)).collect();
                        quote! { [#(#lens),*].into_iter().min().unwrap_or(0) }
                    };
                    prepare.push(quote! {
                        #[allow(clippy::useless_conversion)]
                        let #n = <#raw as ::core::convert::TryFrom<usize>>::try_from(#shortest)
                            .unwrap_or(<#raw>::MAX);
                    });
                    args.push(quote! { #n });
                    continue;
                }
                prepare.push(quote! {
                    #[allow(clippy::useless_conversion)]
                    let #n = <#raw as ::core::convert::TryFrom<usize>>::try_from(#first_len)
                        .map_err(|_| #rt::E_INVALIDARG)?;
                });
                for other in rest {
                    let other_len = len(*other);
                    prepare.push(quote! {
                        if #other_len != #first_len {
                            return ::core::result::Result::Err(#rt::E_INVALIDARG);
                        }
                    });
                }
                args.push(quote! { #n });
            }
            Shape::Slice {
                element,
                optional,
                mutable,
                ..
            } => {
                let (ty, ptr) = if *mutable {
                    (quote! { &mut [#element] }, quote! { as_mut_ptr() })
                } else {
                    (quote! { &[#element] }, quote! { as_ptr().cast_mut() })
                };
                if *optional {
                    params.push(quote! { #n: ::core::option::Option<#ty> });
                    args.push(quote! { #n.map_or(::core::ptr::null_mut(), |s| s.#ptr) });
                } else {
                    params.push(quote! { #n: #ty });
                    args.push(quote! { #n.#ptr });
                }
            }
            Shape::FixedArray {
                element,
                len,
                mutable,
                ..
            } => {
                let len = proc_macro2::Literal::u64_unsuffixed(*len);
                if *mutable {
                    params.push(quote! { #n: &mut [#element; #len] });
                    args.push(quote! { #n.as_mut_ptr() });
                } else {
                    params.push(quote! { #n: &[#element; #len] });
                    args.push(quote! { #n.as_ptr().cast_mut() });
                }
            }
            Shape::InStr {
                wide,
                optional,
                element,
            } => {
                let ty = if *wide {
                    quote! { &#rt::WStr }
                } else {
                    quote! { &::core::ffi::CStr }
                };
                if *optional {
                    params.push(quote! { #n: ::core::option::Option<#ty> });
                    args.push(quote! {
                        #n.map_or(::core::ptr::null_mut(), |s| s.as_ptr().cast::<#element>().cast_mut())
                    });
                } else {
                    params.push(quote! { #n: #ty });
                    args.push(quote! { #n.as_ptr().cast::<#element>().cast_mut() });
                }
            }
            Shape::OutQuery => {
                prepare.push(
                    quote! { let mut #n: *mut ::core::ffi::c_void = ::core::ptr::null_mut(); },
                );
                args.push(quote! { &mut #n });
                results.push((
                    quote! { unsafe { #rt::ComPtr::<T>::from_raw(#n) }.ok_or(#rt::E_POINTER) },
                    true,
                ));
                result_types.push(quote! { #rt::ComPtr<T> });
            }
        }
    }
    let call = quote! {
        (#rt::Interface::vtable(self).#slot)(#rt::Interface::as_raw(self), #(#args),*)
    };
    let generics = if shape.query {
        quote! { <T: #rt::Interface> }
    } else {
        TokenStream::new()
    };
    let (unsafety, doc) = safety(&shape, doc);
    if !shape.hresult {
        let ret = &shape.raw_ret;
        return quote! {
            #doc
            pub #unsafety fn #name #generics(&self, #(#params),*) #ret {
                #(#prepare)*
                unsafe { #call }
            }
        };
    }
    // Each result is a value, or a `Result` (`fallible`) unwrapped with `?`; a lone fallible
    // result is returned as it is.
    let values = results.iter().map(|(expr, fallible)| {
        if *fallible {
            quote! { #expr? }
        } else {
            expr.clone()
        }
    });
    let (ret_ty, body) = match results.as_slice() {
        [] => (quote! { () }, quote! { ::core::result::Result::Ok(()) }),
        [(expr, true)] => (result_types[0].clone(), expr.clone()),
        [(expr, false)] => (
            result_types[0].clone(),
            quote! { ::core::result::Result::Ok(#expr) },
        ),
        _ => (
            quote! { (#(#result_types),*) },
            quote! { ::core::result::Result::Ok((#(#values),*)) },
        ),
    };
    quote! {
        #doc
        pub #unsafety fn #name #generics(&self, #(#params),*) -> #rt::Result<#ret_ty> {
            #(#prepare)*
            let hr__ = unsafe { #call };
            hr__.ok()?;
            #body
        }
    }
}

/// The method's `unsafe`, and its doc: `doc`, then a safety section if it is unsafe.
fn safety(shape: &MethodShape, doc: &str) -> (TokenStream, TokenStream) {
    if shape.is_unsafe {
        let doc = docs::attrs(doc);
        (
            quote! { unsafe },
            quote! {
                #doc
                ///
                /// # Safety
                /// Raw pointer arguments must be valid for what the IDL declares: arrays
                /// as long as their size attributes say, strings NUL-terminated.
            },
        )
    } else {
        (TokenStream::new(), docs::attrs(doc))
    }
}
