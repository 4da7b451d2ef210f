//! Rust names for IDL names: identifiers that are keywords, anonymous types, snake_case
//! method names, and the names the generated code adds (`IFoo_Vtbl`, `IID_IFoo`, ...).

use std::collections::{HashMap, HashSet};

use heck::ToSnakeCase;
use proc_macro2::{Ident, Span};

use crate::ir::{ItemId, ItemKind, Model, Param, Type};

/// Words Rust reserves; an IDL name equal to one is written as a raw identifier.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: they get a trailing underscore.
const UNRAWABLE: &[&str] = &["self", "Self", "super", "crate", "_"];

/// An identifier for `name`, valid in Rust whatever IDL allowed.
pub fn ident(name: &str) -> Ident {
    let clean = sanitize(name);
    if UNRAWABLE.contains(&clean.as_str()) {
        return Ident::new(&format!("{clean}_"), Span::call_site());
    }
    if KEYWORDS.contains(&clean.as_str()) {
        return Ident::new_raw(&clean, Span::call_site());
    }
    Ident::new(&clean, Span::call_site())
}

/// `name` reduced to `[A-Za-z_][A-Za-z0-9_]*`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The snake_case form used by the safe layer (`GetName` → `get_name`).
pub fn snake(name: &str) -> String {
    let s = name.to_snake_case();
    if s.is_empty() { sanitize(name) } else { s }
}

/// Rust names for every type-like item of a model, including anonymous ones.
pub struct ItemNames {
    names: HashMap<ItemId, String>,
    /// Typedefs that name an anonymous struct, union or enum: the type takes their name,
    /// so they are not emitted as aliases.
    absorbed: HashSet<ItemId>,
}

impl ItemNames {
    pub fn new(model: &Model) -> ItemNames {
        let mut names = HashMap::new();
        let mut absorbed = HashSet::new();
        for (i, item) in model.items.iter().enumerate() {
            if !item.name.is_empty() {
                names.insert(ItemId(i as u32), sanitize(&item.name));
            }
        }
        // `typedef struct { ... } FOO;`: the struct is called FOO.
        for (i, item) in model.items.iter().enumerate() {
            if let ItemKind::Typedef(Type::Named(target)) = &item.kind {
                let Some(t) = model.item(*target) else {
                    continue;
                };
                if t.name.is_empty() && t.file == item.file && !names.contains_key(target) {
                    names.insert(*target, sanitize(&item.name));
                    absorbed.insert(ItemId(i as u32));
                }
            }
        }
        // Anonymous members: `Parent_field`. Repeat until nested ones are named too.
        loop {
            let mut added = false;
            for (i, item) in model.items.iter().enumerate() {
                let Some(parent) = names.get(&ItemId(i as u32)).cloned() else {
                    continue;
                };
                let fields: Vec<_> = match &item.kind {
                    ItemKind::Struct(r) => r.fields.iter().collect(),
                    ItemKind::Union(u) => u.arms.iter().map(|a| &a.field).collect(),
                    _ => continue,
                };
                for (n, f) in fields.iter().enumerate() {
                    let Some(target) = f.ty.as_ref().and_then(innermost_named) else {
                        continue;
                    };
                    if names.contains_key(&target)
                        || model.item(target).is_none_or(|t| !t.name.is_empty())
                    {
                        continue;
                    }
                    let member = if f.name.is_empty() {
                        format!("anon{n}")
                    } else {
                        sanitize(&f.name)
                    };
                    names.insert(target, format!("{parent}_{member}"));
                    added = true;
                }
            }
            if !added {
                break;
            }
        }
        for (i, item) in model.items.iter().enumerate() {
            let id = ItemId(i as u32);
            if item.name.is_empty()
                && matches!(
                    item.kind,
                    ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)
                )
                && !names.contains_key(&id)
            {
                names.insert(id, format!("__Anonymous{i}"));
            }
        }
        ItemNames { names, absorbed }
    }

    /// The Rust name of an item (sanitized, not yet keyword-escaped).
    pub fn get(&self, id: ItemId) -> &str {
        self.names
            .get(&id)
            .map(String::as_str)
            .unwrap_or("__Unnamed")
    }

    /// Whether an item received its name from a typedef (and so is anonymous in IDL).
    pub fn is_absorbed(&self, typedef: ItemId) -> bool {
        self.absorbed.contains(&typedef)
    }
}

/// The named type at the bottom of arrays and pointers.
fn innermost_named(ty: &Type) -> Option<ItemId> {
    match ty {
        Type::Named(id) => Some(*id),
        Type::Pointer { pointee, .. } => innermost_named(pointee),
        Type::Const(inner) => innermost_named(inner),
        Type::Array { element, .. } => innermost_named(element),
        _ => None,
    }
}

/// One distinct name per parameter, spelled by `spell` (`paramN` for unnamed ones).
pub fn param_names(params: &[Param], spell: fn(&str) -> String) -> Vec<String> {
    let mut names: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if p.name.is_empty() {
                format!("param{i}")
            } else {
                spell(&p.name)
            }
        })
        .collect();
    dedup(&mut names);
    names
}

/// Gives each of a list of names a unique spelling by appending `_2`, `_3`, ...
pub fn dedup(names: &mut [String]) {
    let mut seen: HashSet<String> = HashSet::new();
    for name in names.iter_mut() {
        if seen.insert(name.clone()) {
            continue;
        }
        let mut n = 2;
        while !seen.insert(format!("{name}_{n}")) {
            n += 1;
        }
        *name = format!("{name}_{n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_odd_names_become_valid_identifiers() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("_").to_string(), "__");
        assert_eq!(ident("9lives").to_string(), "_9lives");
        assert_eq!(ident("").to_string(), "__");
        assert_eq!(snake("QueryInterface"), "query_interface");
        assert_eq!(snake("get_Name"), "get_name");
    }

    #[test]
    fn dedup_appends_counters() {
        let mut v = vec!["a".to_string(), "a".into(), "b".into(), "a".into()];
        dedup(&mut v);
        assert_eq!(v, ["a", "a_2", "b", "a_3"]);
    }
}
