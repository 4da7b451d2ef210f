//! Structs and unions → C definitions.
//!
//! A tagged record is defined at file scope (`struct tagPOINT { ... };`, then its typedefs
//! refer to it); an anonymous one is defined where it is used: inside the typedef that
//! names it, or inside the member declaration of its enclosing record. An encapsulated
//! union (`union U switch (long kind) u { ... }`) is the struct MIDL makes of it: the
//! discriminant, then the union as member `u` (or `tagged_union`). Empty union arms have no
//! member. Bit-fields keep their declared type, which decides their storage unit; ISO C
//! allows only `int` ones, so others are marked `COMIDL_EXTENSION` (GCC's `__extension__`).

use super::Gen;
use super::names;
use super::types::{Place, keyword};
use crate::ir::{Base, CVisibility, Field, Item, ItemId, ItemKind, Type};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item) {
    if item.name.is_empty() || g.names.host(id).is_some() {
        // Defined inside its user (or, when named, in the member of its host that defines
        // it); one with no user declares nothing C can name.
        return;
    }
    let defined = match &item.kind {
        ItemKind::Struct(r) => r.defined,
        ItemKind::Union(u) => u.defined,
        _ => return,
    };
    if !defined {
        // Only ever named (`struct tagFOO *`): declaring the tag at file scope keeps a
        // later prototype from declaring it inside its parameter list only. Not when a
        // typedef of this file names it (`typedef struct FOO FOO;`), which declares the tag
        // already, where the IDL put it: that may be inside a cpp_quote'd conditional
        // (`#ifndef _WINGDI_`) because the platform's headers define it, and there C++
        // rejects `struct FOO;` where `FOO` is already a typedef name.
        if item.c_visibility != CVisibility::Always || named_by_typedef(g, id) {
            return;
        }
        let kw = keyword(&item.kind);
        let name = g.names.get(id).to_string();
        g.line(&format!("{kw} {name};"));
        return;
    }
    let body = body(g, id);
    let prefix = if is_empty(g, id) {
        "COMIDL_EXTENSION "
    } else {
        ""
    };
    g.line(&format!("{prefix}{body};"));
}

/// Whether a typedef of the main file names the record directly.
fn named_by_typedef(g: &Gen, id: ItemId) -> bool {
    g.model
        .items_in(g.main)
        .any(|(_, it)| matches!(&it.kind, ItemKind::Typedef(Type::Named(target)) if *target == id))
}

/// Whether a record has no member C declares (`struct S {}` is a GNU extension).
pub(crate) fn is_empty(g: &Gen, id: ItemId) -> bool {
    match g.model.item(id).map(|i| &i.kind) {
        Some(ItemKind::Struct(r)) => r.fields.iter().all(|f| f.ty.is_none()),
        Some(ItemKind::Union(u)) => {
            u.switch.is_none() && u.arms.iter().all(|a| a.field.ty.is_none())
        }
        _ => false,
    }
}

/// `struct tag { ... }` (or `struct { ... }`, `enum { ... }`), indented for the current
/// nesting, without a trailing `;`.
pub(crate) fn body(g: &mut Gen, id: ItemId) -> String {
    let model = g.model;
    let Some(item) = model.item(id) else {
        return "void".into();
    };
    let kw = keyword(&item.kind);
    let head = if item.name.is_empty() {
        kw.to_string()
    } else {
        format!("{kw} {}", g.names.get(id))
    };
    if let ItemKind::Enum(e) = &item.kind {
        return super::enums::body(g, &head, item, e);
    }
    let outer = g.indent;
    g.indent += 4;
    g.writing.push(id);
    let mut lines: Vec<String> = Vec::new();
    let fields: Vec<&Field> = match &item.kind {
        ItemKind::Struct(r) => r.fields.iter().collect(),
        ItemKind::Union(u) => u.arms.iter().map(|a| &a.field).collect(),
        _ => Vec::new(),
    };
    let mut nameless = Nameless::count(g, &fields);
    match &item.kind {
        ItemKind::Struct(r) => {
            for f in &r.fields {
                if let Some(l) = member(g, item, f, &mut nameless) {
                    lines.push(l);
                }
            }
        }
        ItemKind::Union(u) => match &u.switch {
            None => {
                for a in &u.arms {
                    if let Some(l) = member(g, item, &a.field, &mut nameless) {
                        lines.push(l);
                    }
                }
            }
            Some(switch) => {
                let disc = g.declare(&switch.ty, &names::member(&switch.name), Place::Field);
                lines.push(format!("{}{disc};", pad(g.indent)));
                let union_indent = g.indent;
                g.indent += 4;
                let mut arms: Vec<String> = Vec::new();
                for a in &u.arms {
                    if let Some(l) = member(g, item, &a.field, &mut nameless) {
                        arms.push(l);
                    }
                }
                g.indent = union_indent;
                let ext = if arms.is_empty() {
                    "COMIDL_EXTENSION "
                } else {
                    ""
                };
                let mut text = format!("{}{ext}union {{\n", pad(union_indent));
                for a in arms {
                    text.push_str(&a);
                    text.push('\n');
                }
                text.push_str(&format!(
                    "{}}} {};",
                    pad(union_indent),
                    names::member(switch.member())
                ));
                lines.push(text);
            }
        },
        _ => {}
    }
    g.writing.pop();
    g.indent = outer;
    let mut text = format!("{head} {{\n");
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    text.push_str(&pad(outer));
    text.push('}');
    text
}

/// The anonymous struct and union members of one record, spelled as widl spells them:
/// `__C89_NAMELESS union { ... } __C89_NAMELESSUNIONNAME;`. Where the compiler has
/// anonymous members, the platform's headers (or the prologue) define `__C89_NAMELESS`
/// as `__extension__` and the names as nothing; a program that defines
/// `WINE_NO_NAMELESS_EXTENSION` or `NONAMELESSUNION` gets named members
/// (`DUMMYUNIONNAME`) instead, as with widl's headers. A record with more than one of a
/// kind numbers them from 1 (`__C89_NAMELESSUNIONNAME1`, ...), as widl does.
struct Nameless {
    structs: usize,
    unions: usize,
    next_struct: usize,
    next_union: usize,
}

impl Nameless {
    fn count(g: &Gen, fields: &[&Field]) -> Nameless {
        let mut n = Nameless {
            structs: 0,
            unions: 0,
            next_struct: 0,
            next_union: 0,
        };
        for f in fields {
            match f.ty.as_ref().map(|t| nameless_kind(g, f, t)) {
                Some(Some(true)) => n.unions += 1,
                Some(Some(false)) => n.structs += 1,
                _ => {}
            }
        }
        n
    }

    /// The member name macro for the next anonymous union (`true`) or struct.
    fn next(&mut self, union: bool) -> String {
        let (total, next, word) = if union {
            (self.unions, &mut self.next_union, "UNION")
        } else {
            (self.structs, &mut self.next_struct, "STRUCT")
        };
        *next += 1;
        if total > 1 {
            format!("__C89_NAMELESS{word}NAME{next}")
        } else {
            format!("__C89_NAMELESS{word}NAME")
        }
    }
}

/// `Some(true)` for an anonymous union member defined in place, `Some(false)` for such a
/// struct, `None` for any other member.
fn nameless_kind(g: &Gen, f: &Field, ty: &Type) -> Option<bool> {
    if !f.name.is_empty() || f.bits.is_some() || !anonymous_record(g, ty) {
        return None;
    }
    let Type::Named(id) = ty else { return None };
    match g.model.item(*id).map(|i| &i.kind) {
        Some(kind @ ItemKind::Union(_)) => Some(keyword(kind) == "union"),
        Some(ItemKind::Struct(_)) => Some(false),
        _ => None,
    }
}

/// One member declaration with its indentation and `;`, or `None` for an empty arm.
fn member(g: &mut Gen, record: &Item, f: &Field, nameless: &mut Nameless) -> Option<String> {
    let ty = f.ty.as_ref()?;
    let name = if f.name.is_empty() {
        String::new()
    } else {
        let n = names::member(&f.name);
        if n != f.name {
            g.warn_item(
                record,
                "member name",
                &format!(
                    "member `{}` is a reserved word in C or C++ and is written `{n}`",
                    f.name
                ),
            );
        }
        n
    };
    if name.is_empty() && f.bits.is_none() && !anonymous_record(g, ty) {
        // `struct tagX;` as a member declares nothing in ISO C (MSVC's anonymous member).
        g.warn_item(
            record,
            "anonymous member",
            "an unnamed member of a named struct or union type is a Microsoft extension C \
             compilers ignore; the C header leaves it out",
        );
        return None;
    }
    let indent = pad(g.indent);
    if let Some(union) = nameless_kind(g, f, ty) {
        let decl = g.declare(ty, "", Place::Field);
        let macro_name = nameless.next(union);
        return Some(format!("{indent}__C89_NAMELESS {decl} {macro_name};"));
    }
    let decl = g.declare(ty, &name, Place::Field);
    Some(match f.bits {
        Some(bits) => {
            let ext = if int_bitfield(g, ty) {
                ""
            } else {
                "COMIDL_EXTENSION "
            };
            format!("{indent}{ext}{decl} : {bits};")
        }
        None => format!("{indent}{decl};"),
    })
}

/// Whether a member's type is an anonymous struct or union defined in place (a C11
/// anonymous member when the member has no name).
fn anonymous_record(g: &Gen, ty: &Type) -> bool {
    matches!(ty, Type::Named(id) if g.is_inline_only(*id)
        && matches!(g.model.item(*id).map(|i| &i.kind), Some(ItemKind::Struct(_) | ItemKind::Union(_))))
}

/// Whether a bit-field's type is one ISO C allows (`int`, `unsigned int`).
fn int_bitfield(g: &Gen, ty: &Type) -> bool {
    matches!(
        g.model.unalias(ty),
        Type::Base(Base::Int32 { .. } | Base::ErrorStatus)
    )
}

pub(crate) fn pad(n: usize) -> String {
    " ".repeat(n)
}
