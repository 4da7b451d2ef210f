//! Typedefs → `pub type` aliases, keeping the IDL's names (`LPWSTR`, `REFIID`, ...).

use proc_macro2::TokenStream;
use quote::quote;

use super::{Gen, docs, names};
use crate::ir::{Item, ItemId, ItemKind, Type};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, ty: &Type) -> TokenStream {
    if g.names.is_absorbed(id) || item.name.is_empty() {
        // The anonymous struct, union or enum it names is emitted under this name.
        return TokenStream::new();
    }
    if let Type::Named(target) = ty {
        // `typedef struct FOO FOO;`: the alias would name itself.
        if g.names.get(*target) == names::sanitize(&item.name)
            && g.model.item(*target).map(|t| t.file) == Some(item.file)
        {
            return TokenStream::new();
        }
        if let Some(ItemKind::Typedef(_)) = g.model.item(*target).map(|t| &t.kind)
            && g.names.get(*target) == names::sanitize(&item.name)
        {
            return TokenStream::new();
        }
    }
    let rust_name = names::sanitize(&item.name);
    if !g.claim_type(&rust_name, item) {
        return TokenStream::new();
    }
    let name = names::ident(&item.name);
    let target = match ty {
        // `typedef IFoo IBar;`: the wrapper type under a second name.
        _ if g.is_interface(ty) && !matches!(ty, Type::Pointer { .. }) => g.interface_type(ty),
        _ => g.raw(ty),
    };
    let doc = docs::attrs(&g.item_doc(item));
    quote! { #doc pub type #name = #target; }
}
