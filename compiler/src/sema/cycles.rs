//! Definitions that contain themselves: a typedef naming itself through other typedefs, a
//! struct or union holding itself by value (infinitely large), an interface inheriting
//! from itself. Run after lowering, on the IR.

use std::collections::HashSet;

use super::Sema;
use crate::diag::Diagnostic;
use crate::ir::{ItemId, ItemKind, Type};

impl Sema<'_> {
    pub(crate) fn check_cycles(&mut self) {
        let ids: Vec<ItemId> = (0..self.model.items.len())
            .map(|i| ItemId(i as u32))
            .collect();
        for id in ids {
            let Some(item) = self.item(id) else { continue };
            let name = item.full_name();
            let message = match &item.kind {
                ItemKind::Typedef(_) if self.reaches(id, by_typedef) => {
                    format!("typedef `{name}` is defined in terms of itself")
                }
                ItemKind::Struct(_) | ItemKind::Union(_) if self.reaches(id, by_value) => {
                    format!("`{name}` contains itself by value, so it has no finite size")
                }
                ItemKind::Interface(_) if self.reaches(id, by_base) => {
                    format!("interface `{name}` inherits from itself")
                }
                _ => continue,
            };
            let span = item.span;
            self.error(Diagnostic::error(message).at(span));
        }
    }

    /// Whether following `next` from `start` leads back to it (each item visited once).
    fn reaches(&self, start: ItemId, next: fn(&ItemKind, &mut Vec<ItemId>)) -> bool {
        let (from, target) = (start, start);
        let mut seen = HashSet::new();
        let mut stack = Vec::new();
        if let Some(it) = self.item(from) {
            next(&it.kind, &mut stack);
        }
        while let Some(id) = stack.pop() {
            if id == target {
                return true;
            }
            if !seen.insert(id) {
                continue;
            }
            if let Some(it) = self.item(id) {
                next(&it.kind, &mut stack);
            }
        }
        false
    }
}

/// The named type a typedef stands for directly.
fn by_typedef(kind: &ItemKind, out: &mut Vec<ItemId>) {
    if let ItemKind::Typedef(Type::Named(id)) = kind {
        out.push(*id);
    }
}

/// The types a struct or union holds by value (fields, array elements, typedef targets;
/// not what pointers point to).
fn by_value(kind: &ItemKind, out: &mut Vec<ItemId>) {
    match kind {
        ItemKind::Struct(r) => {
            for f in &r.fields {
                f.ty.iter().for_each(|t| held_by_value(t, out));
            }
        }
        ItemKind::Union(u) => {
            for arm in &u.arms {
                arm.field.ty.iter().for_each(|t| held_by_value(t, out));
            }
        }
        ItemKind::Typedef(t) => held_by_value(t, out),
        _ => {}
    }
}

fn held_by_value(ty: &Type, out: &mut Vec<ItemId>) {
    let mut ty = ty;
    loop {
        match ty {
            Type::Named(id) => return out.push(*id),
            Type::Const(inner) => ty = inner,
            Type::Array { element, .. } => ty = element,
            _ => return,
        }
    }
}

/// The interface an interface (or a typedef of one) inherits from.
fn by_base(kind: &ItemKind, out: &mut Vec<ItemId>) {
    match kind {
        ItemKind::Interface(i) => {
            if let Some(Type::Named(id) | Type::Instance { generic: id, .. }) = &i.base {
                out.push(*id);
            }
        }
        ItemKind::Typedef(Type::Named(id)) => out.push(*id),
        _ => {}
    }
}
