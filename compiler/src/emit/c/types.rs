//! IR types → C declarators, and typedefs.
//!
//! A declaration is built inside out, as C reads it: the declarator grows around the name
//! (`*name`, `name[4]`, `(STDCALL *name)(params)`) while the type is unwrapped, and the
//! specifier (`LONG`, `struct tagPOINT`) comes last.
//!
//! Built-in types per shared/DESIGN.md: `long`/`int` are `int` (C `long` is 64 bits on LP64
//! Linux), `hyper`/`__int64` `long long`, `__int3264` `intptr_t`, `boolean`/`byte`
//! `unsigned char`, `small` `signed char`, `wchar_t` `comidl_wchar` (see [`super::prologue`]),
//! `handle_t` `void *`, `error_status_t` `unsigned int`. IDL's `char` and `unsigned char`
//! are one type in the IR: a pointer to it or an array of it is a C string (`char`), a lone
//! one is `unsigned char` (MIDL's `char` is unsigned).

use super::Gen;
use super::names;
use crate::ir::{Base, CallConv, ItemId, ItemKind, Signature, Type};

/// Where a declarator appears.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// A struct or union member: a conformant array (`[size_is(n)] T a[]`) is `T a[1]`, as
    /// in widl's header (and in comidl's layouts).
    Field,
    /// Anywhere else: a conformant array is `T a[]`.
    Other,
}

/// The C spelling of a built-in type (`Handle` is the `void` of `void *`).
pub(crate) fn base_name(b: Base, text: bool) -> &'static str {
    match b {
        Base::Void | Base::Handle => "void",
        Base::Char { signed: false } if text => "char",
        Base::Char { signed: true } | Base::Int8 { signed: true } => "signed char",
        Base::Char { signed: false } | Base::Int8 { signed: false } | Base::Byte => "unsigned char",
        Base::Boolean => "unsigned char",
        Base::Int16 { signed: true } => "short",
        Base::Int16 { signed: false } => "unsigned short",
        Base::WChar => "comidl_wchar",
        Base::Int32 { signed: true } => "int",
        Base::Int32 { signed: false } | Base::ErrorStatus => "unsigned int",
        Base::Int64 { signed: true } => "long long",
        Base::Int64 { signed: false } => "unsigned long long",
        Base::IntPtr { signed: true } => "intptr_t",
        Base::IntPtr { signed: false } => "uintptr_t",
        Base::Float => "float",
        Base::Double => "double",
    }
}

/// The macro for an explicit calling convention (empty for none).
pub(crate) fn callconv(cc: &CallConv) -> &'static str {
    match cc {
        CallConv::Default => "",
        CallConv::Stdcall => "COMIDL_STDCALL",
        CallConv::Cdecl => "COMIDL_CDECL",
        CallConv::Fastcall => "COMIDL_FASTCALL",
        CallConv::Pascal => "COMIDL_PASCAL",
        CallConv::Thiscall => "COMIDL_THISCALL",
    }
}

fn join(spec: &str, decl: &str) -> String {
    match (spec.is_empty(), decl.is_empty()) {
        (_, true) => spec.to_string(),
        (true, false) => decl.to_string(),
        (false, false) => format!("{spec} {decl}"),
    }
}

impl Gen<'_> {
    /// `ty name` as a C declaration (without the `;`); `name` may be empty (an abstract
    /// declarator, for casts and `sizeof`).
    pub fn declare(&mut self, ty: &Type, name: &str, place: Place) -> String {
        let (spec, decl) = self.split(ty, name.to_string(), place, false, false);
        join(&spec, &decl)
    }

    /// The parameter list of a function type: `void`, or `T a, U b` (names where given).
    pub fn param_list(&mut self, sig: &Signature, with_names: bool) -> String {
        if sig.params.is_empty() {
            return if sig.varargs { "..." } else { "void" }.to_string();
        }
        let names = names::param_names(&sig.params, "");
        let mut parts: Vec<String> = sig
            .params
            .iter()
            .zip(&names)
            .map(|(p, n)| {
                let n = if with_names { n.as_str() } else { "" };
                self.declare(&p.ty, n, Place::Other)
            })
            .collect();
        if sig.varargs {
            parts.push("...".into());
        }
        parts.join(", ")
    }

    /// Splits a declaration into specifier and declarator. `cc_done`: a function type's
    /// calling convention was already written beside the `*` of its pointer. `text`: the
    /// type is pointed to or an array element, where IDL `char` is a C string's `char`.
    fn split(
        &mut self,
        ty: &Type,
        inner: String,
        place: Place,
        cc_done: bool,
        text: bool,
    ) -> (String, String) {
        match ty {
            Type::Base(Base::Handle) => ("void".into(), format!("*{inner}")),
            Type::Base(b) => (base_name(*b, text).into(), inner),
            Type::Named(id) => (self.spec(*id), inner),
            Type::Const(t) => match t.as_ref() {
                Type::Pointer { pointee, kind, .. } => {
                    let p = Type::Pointer {
                        pointee: pointee.clone(),
                        kind: *kind,
                        is_const: true,
                    };
                    self.split(&p, inner, place, cc_done, text)
                }
                Type::Array { element, len } => {
                    let a = Type::Array {
                        element: Box::new(Type::Const(element.clone())),
                        len: *len,
                    };
                    self.split(&a, inner, place, cc_done, text)
                }
                Type::Base(Base::Handle) => ("void".into(), join("*const", &inner)),
                Type::Const(_) => self.split(t, inner, place, cc_done, text),
                _ => {
                    let (s, d) = self.split(t, inner, place, cc_done, text);
                    (format!("const {s}"), d)
                }
            },
            Type::Pointer {
                pointee, is_const, ..
            } => {
                let star = if *is_const {
                    join("*const", &inner)
                } else {
                    format!("*{inner}")
                };
                match pointee.as_ref() {
                    Type::Array { .. } => {
                        self.split(pointee, format!("({star})"), Place::Other, false, true)
                    }
                    Type::Function(sig) => {
                        let cc = callconv(&sig.callconv);
                        let wrapped = if cc.is_empty() {
                            format!("({star})")
                        } else {
                            format!("({cc} {star})")
                        };
                        self.split(pointee, wrapped, Place::Other, true, false)
                    }
                    _ => self.split(pointee, star, Place::Other, false, true),
                }
            }
            Type::Array { element, len } => {
                let dim = match (len, place) {
                    (Some(n), _) => format!("[{n}]"),
                    (None, Place::Field) => "[1]".into(),
                    (None, Place::Other) => "[]".into(),
                };
                self.split(
                    element,
                    format!("{inner}{dim}"),
                    Place::Other,
                    cc_done,
                    true,
                )
            }
            Type::Function(sig) => {
                let cc = if cc_done { "" } else { callconv(&sig.callconv) };
                let params = self.param_list(sig, true);
                let named = join(cc, &inner);
                self.split(
                    &sig.ret,
                    format!("{named}({params})"),
                    Place::Other,
                    false,
                    false,
                )
            }
            Type::SafeArray(_) => {
                let spec = match self.model.names.get("SAFEARRAY") {
                    Some(id) => self.names.get(*id).to_string(),
                    None => "struct tagSAFEARRAY".into(),
                };
                (spec, format!("*{inner}"))
            }
            Type::Instance { .. } => (super::winrt::instance_name(self, ty), inner),
            Type::Param(p) => {
                self.diags.push(crate::diag::Diagnostic::warning(format!(
                    "type parameter `{p}` outside a parameterized declaration: written as `void` in the C header"
                )));
                ("void".into(), inner)
            }
        }
    }

    /// The type specifier of a declared item.
    fn spec(&mut self, id: ItemId) -> String {
        let model = self.model;
        let Some(item) = model.item(id) else {
            return "void".into();
        };
        match &item.kind {
            ItemKind::Typedef(_)
            | ItemKind::Pipe(_)
            | ItemKind::Interface(_)
            | ItemKind::Dispinterface(_)
            | ItemKind::Delegate(_)
            | ItemKind::Coclass(_) => self.names.get(id).to_string(),
            ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_) => {
                if !item.name.is_empty() {
                    if self.names.host(id).is_some()
                        && self.names.host(id) == self.writing.last().copied()
                        && self.take_definition(id)
                    {
                        // Defined by the member being written, as in the IDL.
                        return super::records::body(self, id);
                    }
                    return format!("{} {}", keyword(&item.kind), self.names.get(id));
                }
                match self.names.absorber(id) {
                    Some(t) => self.names.get(t).to_string(),
                    // Anonymous and unnamed: defined right here.
                    None => super::records::body(self, id),
                }
            }
            ItemKind::RuntimeClass(members) => {
                // A runtime class is used through its default interface.
                let default = members
                    .iter()
                    .find(|m| m.attrs.iter().any(|a| a.name == "default"))
                    .or(members.first());
                match default {
                    Some(m) => self.declare(&m.ty.clone(), "", Place::Other),
                    None => "IInspectable".into(),
                }
            }
            _ => {
                self.warn_item(
                    item,
                    "type",
                    &format!(
                        "a {} used as a type is written `void` in the C header",
                        item.kind.describe()
                    ),
                );
                "void".into()
            }
        }
    }
}

/// `struct`, `union` or `enum` for a record or enum item (an encapsulated union is a
/// struct holding the discriminant and the union).
pub(crate) fn keyword(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Union(u) if u.switch.is_none() => "union",
        ItemKind::Enum(_) => "enum",
        _ => "struct",
    }
}

/// `typedef T NAME;`. A typedef naming an anonymous struct, union or enum defines it here.
pub(super) fn typedef(g: &mut Gen, id: ItemId, ty: &Type) {
    let name = g.names.get(id).to_string();
    if name.is_empty() {
        return;
    }
    if let Type::Named(target) = ty
        && g.names.absorber(*target) == Some(id)
    {
        let body = super::records::body(g, *target);
        let ext = if super::records::is_empty(g, *target) {
            "COMIDL_EXTENSION "
        } else {
            ""
        };
        g.line(&format!("{ext}typedef {body} {name};"));
        g.mark_emitted(*target);
        return;
    }
    let decl = g.declare(ty, &name, Place::Other);
    g.line(&format!("typedef {decl};"));
}
