//! IR types → Rust types of the raw (ABI) layer.
//!
//! Scalars map per shared/DESIGN.md; a pointer to an interface is `Option<IFoo>` (the
//! wrapper is a non-null pointer, so the option is pointer-sized and `None` is NULL);
//! function pointers are `Option<unsafe extern "system" fn(..)>` for the same reason; every
//! other pointer is a raw pointer. Everything here is `Copy` and valid when zeroed.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Gen, WellKnown};
use crate::ir::{Base, CallConv, ItemId, ItemKind, Signature, Type};

/// What a type is once typedefs are looked through.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Resolved {
    Base(Base),
    Void,
    Interface(ItemId),
    Record(ItemId),
    Enum(ItemId),
    Function,
    Pointer(Box<Type>),
    Array,
    Guid,
    Hresult,
    Bstr,
    /// A coclass, runtimeclass, type parameter or unknown item.
    Opaque,
}

impl Gen<'_> {
    /// Looks through typedefs and `const` (bounded, since sema rejects typedef cycles).
    pub fn resolve(&self, ty: &Type) -> Resolved {
        let mut ty = ty.clone();
        for _ in 0..64 {
            match ty {
                Type::Base(Base::Void) => return Resolved::Void,
                Type::Base(b) => return Resolved::Base(b),
                Type::Const(inner) => ty = *inner,
                Type::Pointer { pointee, .. } => return Resolved::Pointer(pointee),
                Type::Array { .. } => return Resolved::Array,
                Type::Function(_) => return Resolved::Function,
                Type::SafeArray(_) => return Resolved::Pointer(Box::new(Type::Base(Base::Void))),
                Type::Instance { .. } => return Resolved::Interface(ItemId(u32::MAX)),
                Type::Param(_) => return Resolved::Opaque,
                Type::Named(id) => {
                    match self.well_known(id) {
                        Some(WellKnown::Guid) => return Resolved::Guid,
                        Some(WellKnown::Hresult) => return Resolved::Hresult,
                        Some(WellKnown::Bstr) => return Resolved::Bstr,
                        _ => {}
                    }
                    let Some(item) = self.model.item(id) else {
                        return Resolved::Opaque;
                    };
                    match &item.kind {
                        ItemKind::Typedef(inner) => ty = inner.clone(),
                        ItemKind::Interface(_) | ItemKind::Dispinterface(_) => {
                            return Resolved::Interface(id);
                        }
                        ItemKind::Delegate(_) => return Resolved::Interface(id),
                        ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Pipe(_) => {
                            return Resolved::Record(id);
                        }
                        ItemKind::Enum(_) => return Resolved::Enum(id),
                        _ => return Resolved::Opaque,
                    }
                }
            }
        }
        Resolved::Opaque
    }

    /// Whether a pointer to `pointee` is an interface pointer.
    pub fn is_interface(&self, ty: &Type) -> bool {
        matches!(self.resolve(ty), Resolved::Interface(_))
    }

    /// The raw Rust type of an IDL type in a field, typedef or parameter.
    pub fn raw(&mut self, ty: &Type) -> TokenStream {
        match ty {
            Type::Base(b) => base(*b),
            Type::Const(inner) => self.raw(inner),
            Type::Named(id) => self.named(*id),
            Type::Pointer { pointee, .. } => self.pointer(pointee),
            Type::Array { element, len } => {
                let element = self.raw(element);
                let len = proc_macro2::Literal::u64_unsuffixed(len.unwrap_or(0));
                quote! { [#element; #len] }
            }
            Type::Function(sig) => {
                let f = self.fn_pointer(sig);
                quote! { ::core::option::Option<#f> }
            }
            Type::SafeArray(_) => self.safearray(),
            Type::Instance { .. } => quote! { ::core::ffi::c_void },
            Type::Param(_) => quote! { ::core::ffi::c_void },
        }
    }

    /// A struct or union member's raw type: a conformant array (`[size_is(n)] T a[]`) is
    /// `T a[1]` in widl's C header, so it is `[T; 1]` here.
    pub fn raw_field(&mut self, ty: &Type) -> TokenStream {
        match ty {
            Type::Array { element, len: None } => {
                let element = self.raw(element);
                quote! { [#element; 1] }
            }
            other => self.raw(other),
        }
    }

    /// A parameter's raw type: arrays decay to pointers as in C.
    pub fn raw_param(&mut self, ty: &Type) -> TokenStream {
        match ty {
            Type::Array { element, .. } => {
                let element = self.raw(element);
                quote! { *mut #element }
            }
            other => self.raw(other),
        }
    }

    fn named(&mut self, id: ItemId) -> TokenStream {
        match self.well_known(id) {
            Some(WellKnown::Guid) => return self.rt("GUID"),
            Some(WellKnown::Hresult) => return self.rt("HRESULT"),
            Some(WellKnown::Bstr) => return quote! { *mut u16 },
            _ => {}
        }
        match self.model.item(id).map(|i| &i.kind) {
            Some(
                ItemKind::Typedef(_)
                | ItemKind::Struct(_)
                | ItemKind::Union(_)
                | ItemKind::Enum(_)
                | ItemKind::Pipe(_),
            ) => self.path(id),
            // Interfaces and classes by value exist only behind pointers; `void` stands in.
            _ => quote! { ::core::ffi::c_void },
        }
    }

    fn pointer(&mut self, pointee: &Type) -> TokenStream {
        let is_const = matches!(pointee, Type::Const(_));
        match self.resolve(pointee) {
            Resolved::Interface(_) => {
                let wrapper = self.interface_type(pointee);
                return quote! { ::core::option::Option<#wrapper> };
            }
            // A pointer to a function type is the function pointer itself.
            Resolved::Function => return self.raw(pointee),
            _ => {}
        }
        let inner = match self.resolve(pointee) {
            Resolved::Void | Resolved::Opaque => quote! { ::core::ffi::c_void },
            _ => self.raw(pointee),
        };
        if is_const {
            quote! { *const #inner }
        } else {
            quote! { *mut #inner }
        }
    }

    /// The wrapper type of an interface-typed IDL type, as written (typedef names kept).
    pub fn interface_type(&mut self, ty: &Type) -> TokenStream {
        match ty {
            Type::Const(inner) => self.interface_type(inner),
            Type::Named(id) => match self.model.item(*id).map(|i| &i.kind) {
                Some(ItemKind::Typedef(inner)) => {
                    // `typedef IFoo IBar;` is emitted as an alias; follow it by name.
                    if matches!(inner, Type::Named(_) | Type::Const(_)) {
                        self.path(*id)
                    } else {
                        quote! { ::core::ffi::c_void }
                    }
                }
                _ => self.path(*id),
            },
            Type::Instance { .. } => super::winrt::instance_type(self, ty),
            _ => quote! { ::core::ffi::c_void },
        }
    }

    /// `unsafe extern "system" fn(..) -> R` for a signature, with `this` first if asked.
    pub fn fn_pointer(&mut self, sig: &Signature) -> TokenStream {
        let abi = abi(&sig.callconv);
        let params: Vec<TokenStream> = sig.params.iter().map(|p| self.raw_param(&p.ty)).collect();
        let ret = self.ret(&sig.ret);
        if sig.varargs {
            quote! { unsafe extern "C" fn(#(#params,)* ...) #ret }
        } else {
            quote! { unsafe extern #abi fn(#(#params),*) #ret }
        }
    }

    /// ` -> R`, or nothing for `void`.
    pub fn ret(&mut self, ty: &Type) -> TokenStream {
        if self.resolve(ty) == Resolved::Void && !matches!(ty, Type::Pointer { .. }) {
            return TokenStream::new();
        }
        let t = self.raw_param(ty);
        quote! { -> #t }
    }

    fn safearray(&mut self) -> TokenStream {
        match self.model.names.get("SAFEARRAY").copied() {
            Some(id) => {
                let p = self.path(id);
                quote! { *mut #p }
            }
            None => quote! { *mut ::core::ffi::c_void },
        }
    }
}

/// The ABI string for a calling convention.
pub(crate) fn abi(cc: &CallConv) -> &'static str {
    match cc {
        CallConv::Cdecl => "C",
        // stdcall, fastcall, thiscall and pascal differ from C only on 32-bit x86, where
        // COM methods are stdcall: "system" is right wherever Rust accepts it.
        _ => "system",
    }
}

/// The Rust type of a built-in IDL type.
pub(crate) fn base(b: Base) -> TokenStream {
    match b {
        Base::Void => quote! { ::core::ffi::c_void },
        Base::Char { signed: true } | Base::Int8 { signed: true } => quote! { i8 },
        Base::Char { signed: false } | Base::Int8 { signed: false } => quote! { u8 },
        Base::Byte | Base::Boolean => quote! { u8 },
        Base::Int16 { signed: true } => quote! { i16 },
        Base::Int16 { signed: false } | Base::WChar => quote! { u16 },
        Base::Int32 { signed: true } => quote! { i32 },
        Base::Int32 { signed: false } | Base::ErrorStatus => quote! { u32 },
        Base::Int64 { signed: true } => quote! { i64 },
        Base::Int64 { signed: false } => quote! { u64 },
        Base::IntPtr { signed: true } => quote! { isize },
        Base::IntPtr { signed: false } => quote! { usize },
        Base::Float => quote! { f32 },
        Base::Double => quote! { f64 },
        Base::Handle => quote! { *mut ::core::ffi::c_void },
    }
}

/// Width and signedness of an integer-like built-in type.
pub(crate) fn int_kind(b: Base) -> Option<(u32, bool)> {
    Some(match b {
        Base::Char { signed } | Base::Int8 { signed } => (8, signed),
        Base::Byte | Base::Boolean => (8, false),
        Base::Int16 { signed } => (16, signed),
        Base::WChar => (16, false),
        Base::Int32 { signed } => (32, signed),
        Base::ErrorStatus => (32, false),
        Base::Int64 { signed } | Base::IntPtr { signed } => (64, signed),
        _ => return None,
    })
}
