//! `typedef pipe T NAME;` → MIDL's pipe control record, `#[repr(C)]` as the C header
//! writes it: the caller's `pull`, `push` and `alloc` callbacks and its `state` pointer.
//! A client fills it in to stream elements to (`[in]`) or from (`[out]`) the server; the
//! server's stub fills it in for the server. Counts are elements, IDL `unsigned long`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Gen, docs, names};
use crate::ir::{Base, Item, ItemId, PointerKind, Type};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, element: &Type) -> TokenStream {
    let rust_name = g.names.get(id).to_string();
    if rust_name.is_empty() || !g.claim_type(&rust_name, item) {
        return TokenStream::new();
    }
    let name = names::ident(&rust_name);
    let pointer = |t: Type| Type::Pointer {
        pointee: Box::new(t),
        kind: PointerKind::Unspecified,
        is_const: false,
    };
    let state = g.raw(&pointer(Type::Base(Base::Char { signed: false })));
    let buf = g.raw(&pointer(element.clone()));
    let out_buf = g.raw(&pointer(pointer(element.clone())));
    let doc = docs::attrs(&format!(
        "{}\n\nA pipe: the control record MIDL declares for it. `pull` fills `buf` with at \
         most `esize` elements and sets `*ecount` (0 ends the stream), `push` takes \
         `ecount` elements (0 ends the stream), and `alloc` lends a buffer of `bsize` bytes \
         holding `*bcount` elements.",
        g.item_doc(item)
    ));
    quote! {
        #doc
        #[repr(C)]
        #[derive(Clone, Copy, Debug)]
        pub struct #name {
            pub pull: ::core::option::Option<
                unsafe extern "system" fn(state: #state, buf: #buf, esize: u32, ecount: *mut u32),
            >,
            pub push: ::core::option::Option<
                unsafe extern "system" fn(state: #state, buf: #buf, ecount: u32),
            >,
            pub alloc: ::core::option::Option<
                unsafe extern "system" fn(state: #state, bsize: u32, buf: #out_buf, bcount: *mut u32),
            >,
            pub state: #state,
        }
        impl ::core::default::Default for #name {
            /// No callbacks and a null state: what C's `= {0}` gives.
            fn default() -> Self {
                Self {
                    pull: ::core::option::Option::None,
                    push: ::core::option::Option::None,
                    alloc: ::core::option::Option::None,
                    state: ::core::ptr::null_mut(),
                }
            }
        }
    }
}
