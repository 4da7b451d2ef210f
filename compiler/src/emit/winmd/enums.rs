//! Enums → `System.Enum` TypeDefs: the integer field `value__` and one literal field per
//! enumerator. C enums are unscoped (their enumerators are file-scope names); WinRT enums
//! carry `ScopedEnumAttribute`. An anonymous enum's enumerators are `i32` constants.

use windows_metadata::writer::{HasAttribute, HasConstant};
use windows_metadata::{FieldAttributes, Type as MdType, TypeAttributes, Value};

use super::Gen;
use super::attributes::WIN32;
use super::types::Target;
use crate::ir::{Enum, Item, ItemId};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, e: &Enum) {
    match g.target(id) {
        Target::Value => {}
        Target::ConstantsOnly => {
            for n in 0..e.variants.len() {
                g.add_constant(id, Some(n));
            }
            return;
        }
        _ => return,
    }
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "enum") {
        return;
    }
    let def = g.type_def(
        &ns,
        &name,
        Some(("System", "Enum")),
        TypeAttributes::Public | TypeAttributes::Sealed,
    );
    if !item.namespace.is_empty() {
        g.marker(HasAttribute::TypeDef(def), WIN32, "ScopedEnumAttribute");
    }
    let underlying = underlying(e);
    // `Private|SpecialName|RTSpecialName`, as every enum's value field.
    g.file.Field("value__", &underlying, FieldAttributes(0x601));
    let self_ty = MdType::ValueName(g.type_name(id));
    for v in &e.variants {
        let field = g.file.Field(
            &v.name,
            &self_ty,
            FieldAttributes::Public | FieldAttributes::Static | FieldAttributes::Literal,
        );
        g.file
            .Constant(HasConstant::Field(field), &value(&underlying, v.value));
    }
}

/// `u32` when some enumerator needs it and none is negative, else `i32` (enumerators are
/// 32-bit patterns; values outside both wrap as C stores them).
pub(crate) fn underlying(e: &Enum) -> MdType {
    let fits_i32 = e.variants.iter().all(|v| i32::try_from(v.value).is_ok());
    let fits_u32 = e.variants.iter().all(|v| u32::try_from(v.value).is_ok());
    if !fits_i32 && fits_u32 {
        MdType::U32
    } else {
        MdType::I32
    }
}

/// An enumerator's value as the underlying type holds it.
pub(crate) fn value(underlying: &MdType, v: i128) -> Value {
    if *underlying == MdType::U32 {
        Value::U32(v as u32)
    } else {
        Value::I32(v as i32)
    }
}
