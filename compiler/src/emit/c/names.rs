//! C names: what the header calls each declaration, WinRT's mangled C names, the typedefs
//! that name anonymous structs, and identifiers C or C++ would reject.

use std::collections::{HashMap, HashSet};

use crate::ir::{Item, ItemId, ItemKind, Model, Signature, Type};

/// Names for every item of a model (imports included, since the header refers to them).
pub(crate) struct CNames {
    names: HashMap<ItemId, String>,
    /// Anonymous struct/union/enum → the typedef that names it (and defines it inline).
    absorbers: HashMap<ItemId, ItemId>,
    /// Anonymous structs, unions and enums some declaration uses (and so defines).
    referenced: HashSet<ItemId>,
    /// Named structs and unions the IDL defines inside a member of another record → that
    /// record (see [`CNames::host`]).
    hosts: HashMap<ItemId, ItemId>,
}

impl CNames {
    pub fn new(model: &Model) -> CNames {
        let mut names = HashMap::new();
        for (i, item) in model.items.iter().enumerate() {
            if !item.name.is_empty() {
                names.insert(ItemId(i as u32), c_name(item));
            }
        }
        // `typedef struct { ... } FOO;`: the first typedef naming an anonymous type of its
        // own file directly defines it, and everything else refers to it by that name.
        let mut absorbers = HashMap::new();
        for (i, item) in model.items.iter().enumerate() {
            let ItemKind::Typedef(Type::Named(target)) = &item.kind else {
                continue;
            };
            let Some(t) = model.item(*target) else {
                continue;
            };
            if is_anonymous_type(t) && t.file == item.file && !absorbers.contains_key(target) {
                absorbers.insert(*target, ItemId(i as u32));
            }
        }
        let mut referenced = HashSet::new();
        for item in &model.items {
            for_each_type(&item.kind, &mut |ty| {
                mark_anonymous(model, ty, &mut referenced)
            });
        }
        CNames {
            names,
            absorbers,
            referenced,
            hosts: hosts(model),
        }
    }

    /// The record whose member defines this named struct or union
    /// (`struct outer { union inner { ... } u; }`), if one does. The header defines it in
    /// that member too, as widl does: cpp_quote text around the outer record may rely on
    /// it (objidl's `#define _STGMEDIUM_UNION` turns the member into an anonymous struct,
    /// which only works where the definition is written in the member).
    pub fn host(&self, id: ItemId) -> Option<ItemId> {
        self.hosts.get(&id).copied()
    }

    /// Whether an anonymous struct, union or enum is used by some declaration.
    pub fn is_referenced(&self, id: ItemId) -> bool {
        self.referenced.contains(&id)
    }

    /// The C name of a named item (empty for anonymous ones).
    pub fn get(&self, id: ItemId) -> &str {
        self.names.get(&id).map(String::as_str).unwrap_or("")
    }

    /// The typedef naming an anonymous struct, union or enum, if one does.
    pub fn absorber(&self, id: ItemId) -> Option<ItemId> {
        self.absorbers.get(&id).copied()
    }
}

/// Calls `f` with every type written in a declaration (members, typedef targets, method
/// signatures).
fn for_each_type(kind: &ItemKind, f: &mut dyn FnMut(&Type)) {
    let sig = |s: &Signature, f: &mut dyn FnMut(&Type)| {
        f(&s.ret);
        s.params.iter().for_each(|p| f(&p.ty));
    };
    match kind {
        ItemKind::Typedef(t) | ItemKind::Pipe(t) => f(t),
        ItemKind::Struct(r) => r.fields.iter().filter_map(|x| x.ty.as_ref()).for_each(f),
        ItemKind::Union(u) => {
            if let Some(s) = &u.switch {
                f(&s.ty);
            }
            u.arms
                .iter()
                .filter_map(|a| a.field.ty.as_ref())
                .for_each(f);
        }
        ItemKind::Interface(i) => i.methods.iter().for_each(|m| sig(&m.signature, f)),
        ItemKind::Dispinterface(d) => {
            d.methods.iter().for_each(|m| sig(&m.signature, f));
            d.properties
                .iter()
                .filter_map(|x| x.ty.as_ref())
                .for_each(f);
        }
        ItemKind::Delegate(d) => sig(&d.signature, f),
        ItemKind::Function(func) => sig(&func.signature, f),
        ItemKind::Const(c) => f(&c.ty),
        _ => {}
    }
}

/// Named structs and unions defined inside a member of another record of the same file:
/// the member's type names the record and the record's name is in the member's text.
fn hosts(model: &Model) -> HashMap<ItemId, ItemId> {
    let mut hosts = HashMap::new();
    for (i, item) in model.items.iter().enumerate() {
        let fields: Vec<&crate::ir::Field> = match &item.kind {
            ItemKind::Struct(r) => r.fields.iter().collect(),
            ItemKind::Union(u) => u.arms.iter().map(|a| &a.field).collect(),
            _ => continue,
        };
        // A named member's span is its declarator, so the record's name lies between the
        // previous member and it.
        let mut previous_end = item.span.start;
        for f in fields {
            let start = previous_end;
            previous_end = f.span.end;
            let Some(Type::Named(inner)) = f.ty.as_ref().map(innermost_named) else {
                continue;
            };
            let Some(nested) = model.item(inner) else {
                continue;
            };
            // Defined: a member naming a tag no file defines (`struct _GUID *p`) declares
            // nothing.
            let record = match &nested.kind {
                ItemKind::Struct(r) => r.defined,
                ItemKind::Union(u) => u.defined,
                _ => false,
            };
            let inside = nested.span.file == f.span.file
                && nested.span.file == item.span.file
                && nested.span.start > start
                && nested.span.start < f.span.end;
            if record && !nested.name.is_empty() && nested.file == item.file && inside {
                hosts.insert(inner, ItemId(i as u32));
            }
        }
    }
    hosts
}

/// The type below arrays, pointers and `const`: a member defining a record may declare an
/// array of it or a pointer to it.
fn innermost_named(ty: &Type) -> Type {
    match ty {
        Type::Pointer { pointee, .. } | Type::Const(pointee) => innermost_named(pointee),
        Type::Array { element, .. } => innermost_named(element),
        other => other.clone(),
    }
}

/// Whether an item is a struct, union or enum without a name.
fn is_anonymous_type(item: &Item) -> bool {
    item.name.is_empty()
        && matches!(
            item.kind,
            ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)
        )
}

/// Adds the anonymous struct, union or enum a type uses, if any.
fn mark_anonymous(model: &Model, ty: &Type, out: &mut HashSet<ItemId>) {
    match ty {
        Type::Named(id) if model.item(*id).is_some_and(is_anonymous_type) => {
            out.insert(*id);
        }
        Type::Pointer { pointee, .. } | Type::Const(pointee) => mark_anonymous(model, pointee, out),
        Type::Array { element, .. } => mark_anonymous(model, element, out),
        Type::Function(s) => {
            mark_anonymous(model, &s.ret, out);
            s.params
                .iter()
                .for_each(|p| mark_anonymous(model, &p.ty, out));
        }
        _ => {}
    }
}

/// The C name of one item: its IDL name, or for a declaration inside a WinRT namespace the
/// name widl gives it in C, `__x_ABI_C` + the namespace with `_C` for dots + `_C` + the name
/// (delegates gain an `I`, as their C++ names do).
fn c_name(item: &Item) -> String {
    if item.namespace.is_empty() {
        return sanitize(&item.name);
    }
    let delegate = matches!(item.kind, ItemKind::Delegate(_));
    format!(
        "__x_ABI_C{}_C{}{}",
        item.namespace.replace('.', "_C"),
        if delegate { "I" } else { "" },
        sanitize(&item.name)
    )
}

/// `name` reduced to a C identifier (`[A-Za-z_][A-Za-z0-9_]*`): the same reduction the
/// Rust backend makes.
pub use crate::emit::rust::names::sanitize;

/// Words C or C++ reserve that IDL allows as names.
const KEYWORDS: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "catch",
    "char16_t",
    "char32_t",
    "class",
    "compl",
    "concept",
    "const_cast",
    "constexpr",
    "decltype",
    "delete",
    "dynamic_cast",
    "explicit",
    "export",
    "extern",
    "false",
    "friend",
    "goto",
    "inline",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "restrict",
    "static",
    "static_assert",
    "static_cast",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typeid",
    "typename",
    "using",
    "virtual",
    "volatile",
    "wchar_t",
    "xor",
    "xor_eq",
    // Names the header itself defines or uses as macro parameters.
    "interface",
    "This",
    "lpVtbl",
];

/// Whether C or C++ would reject `name` as an identifier (or the header uses it).
pub fn is_reserved(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// A member or parameter name C and C++ accept: reserved words gain a trailing `_`.
pub fn member(name: &str) -> String {
    let clean = sanitize(name);
    if is_reserved(&clean) {
        format!("{clean}_")
    } else {
        clean
    }
}

/// One distinct identifier per parameter (`paramN` for unnamed ones), none equal to
/// `avoid` (a macro argument named like the slot it calls would replace the slot's name).
pub fn param_names(params: &[crate::ir::Param], avoid: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(params.len());
    for (i, p) in params.iter().enumerate() {
        let mut name = if p.name.is_empty() {
            format!("param{i}")
        } else {
            member(&p.name)
        };
        while name == avoid || out.contains(&name) {
            name.push('_');
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_gain_an_underscore() {
        assert_eq!(member("class"), "class_");
        assert_eq!(member("This"), "This_");
        assert_eq!(member("value"), "value");
        assert_eq!(sanitize("9lives"), "_9lives");
    }
}
