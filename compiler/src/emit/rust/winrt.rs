//! WinRT: delegates (interfaces with one `Invoke` method) and the instances of
//! parameterized interfaces a file uses.

use proc_macro2::TokenStream;
use quote::quote;

use super::interfaces::{Definition, object};
use super::{Gen, guid_tokens, uuid_of};
use crate::ir::{Delegate, Item, ItemId, Method, Type};

pub(super) fn delegate(g: &mut Gen, id: ItemId, item: &Item, d: &Delegate) -> TokenStream {
    if !d.type_params.is_empty() {
        return TokenStream::new();
    }
    let iunknown = g.model.names.get("IUnknown").copied();
    let def = Definition {
        rust_name: g.names.get(id).to_string(),
        base: iunknown.map(Type::Named),
        methods: vec![Method {
            name: "Invoke".into(),
            signature: d.signature.clone(),
            attrs: Vec::new(),
            span: item.span,
        }],
        iid: uuid_of(item).map(|u| guid_tokens(g, &u)),
        is_unknown: false,
        defined: true,
    };
    object(g, item, &def)
}

/// The instances of parameterized interfaces, per namespace module. Not yet emitted:
/// references to them use an opaque pointer (see [`instance_type`]).
pub(super) fn instances(_g: &mut Gen) -> Vec<(Vec<String>, TokenStream)> {
    Vec::new()
}

/// The Rust type of a parameterized interface instance.
pub(super) fn instance_type(_g: &mut Gen, _ty: &Type) -> TokenStream {
    quote! { ::core::ptr::NonNull<::core::ffi::c_void> }
}
