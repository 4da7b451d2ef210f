//! Enums → C enums.
//!
//! Values are written as the 32-bit patterns the IDL gives, read as `int` (`0x80000000` is
//! `(int)0x80000000`, that is `-2147483648`): ISO C allows enumerators only in `int`'s
//! range, and the enum keeps the 4 bytes comidl's layouts give it. Enumerators of a WinRT enum are prefixed with the
//! enum's name (`AsyncStatus_Started`), as widl writes them in C.

use super::Gen;
use super::records::pad;
use crate::ir::{Enum, Item, ItemId};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, e: &Enum) {
    if !e.defined {
        // ISO C has no incomplete enums; the name was only referred to.
        return;
    }
    if item.name.is_empty() && g.names.is_referenced(id) {
        // Defined inside its user.
        return;
    }
    let head = if item.name.is_empty() {
        "enum".to_string()
    } else {
        format!("enum {}", g.names.get(id))
    };
    let text = body(g, &head, item, e);
    g.line(&format!("{text};"));
}

/// `enum tag { A = 0, ... }`, without the `;`.
pub(crate) fn body(g: &mut Gen, head: &str, item: &Item, e: &Enum) -> String {
    let outer = g.indent;
    let inner = pad(outer + 4);
    let mut lines: Vec<String> = Vec::new();
    for v in &e.variants {
        let name = if item.namespace.is_empty() {
            super::names::sanitize(&v.name)
        } else {
            format!("{}_{}", super::names::sanitize(&item.name), v.name)
        };
        if !g.claim_value(&name, item) {
            continue;
        }
        lines.push(format!("{inner}{name} = {}", int32(v.value)));
    }
    if lines.is_empty() {
        g.warn_item(
            item,
            "enum",
            "an enum without enumerators is not C: the header gives it one, `NAME__comidl_empty`",
        );
        // `enum E { }` is not C; an enumerator nothing else uses keeps the type complete.
        lines.push(format!(
            "{inner}{}__comidl_empty = 0",
            super::names::sanitize(&item.name)
        ));
    }
    format!("{head} {{\n{}\n{}}}", lines.join(",\n"), pad(outer))
}

/// A value as the `int` C stores it (the low 32 bits, two's complement): small ones in
/// decimal, big ones as the hex pattern the IDL most likely wrote (`0x40000000`,
/// `(int)0x80000000`).
pub(crate) fn int32(value: i128) -> String {
    let bits = value as u32;
    let v = bits as i32;
    if (-0x10000..=0xFFFF).contains(&v) {
        v.to_string()
    } else if v > 0 {
        format!("0x{bits:X}")
    } else {
        format!("(int)0x{bits:X}")
    }
}
