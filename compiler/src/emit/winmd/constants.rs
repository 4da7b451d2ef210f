//! Constants and module functions → the namespace's `Apis` class, as the Win32 metadata
//! holds them: literal static fields with a Constant row, and static `PInvokeImpl` methods
//! with an ImplMap row naming the DLL.

use windows_metadata::writer::{HasAttribute, HasConstant};
use windows_metadata::{
    FieldAttributes, MethodAttributes, MethodCallAttributes, MethodImplAttributes,
    PInvokeAttributes, Signature, Type as MdType, TypeAttributes, Value,
};

use super::attributes::WIN32;
use super::interfaces::{params, write_params};
use super::types::{Pos, WIN32_NAMESPACE};
use super::{Apis, Gen};
use crate::diag::Diagnostic;
use crate::ir::{AttrValue, CallConv, ItemId, ItemKind, Type, Value as IrValue};

/// Queues a module function for `Apis`, if it names its DLL.
pub(super) fn function(g: &mut Gen, id: ItemId, item: &crate::ir::Item) {
    if dll_name(g, item).is_some() {
        g.add_function(id);
    } else {
        g.diags.push(
            Diagnostic::warning(format!(
                "function `{}` is not in a module with a `dllname`; a .winmd function needs its DLL, so it is left out",
                item.name
            ))
            .at(item.span),
        );
    }
}

/// The `dllname` of the module a function is declared in.
fn dll_name(g: &Gen, item: &crate::ir::Item) -> Option<String> {
    let module = g.model.item(item.parent?)?;
    if !matches!(module.kind, ItemKind::Module(_)) {
        return None;
    }
    match module.attr("dllname")?.args.first()? {
        AttrValue::Str(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The name a function is imported by: its `entry` (`#N` for an ordinal), else its name.
fn entry_name(item: &crate::ir::Item) -> String {
    match item.attr("entry").and_then(|a| a.args.first()) {
        Some(AttrValue::Str(s)) => s.clone(),
        Some(AttrValue::Int(n)) => format!("#{n}"),
        _ => item.name.clone(),
    }
}

/// Writes one namespace's `Apis` class: its constants, then its functions.
pub(super) fn apis(g: &mut Gen, ns: &str, apis: &Apis) {
    let Some(first) = apis
        .constants
        .iter()
        .map(|(id, _)| *id)
        .chain(apis.functions.iter().copied())
        .next()
    else {
        return;
    };
    let Some(span) = g.model.item(first).map(|i| i.span) else {
        return;
    };
    if !g.claim(ns, "Apis", span, "set of constants") {
        return;
    }
    g.type_def(
        ns,
        "Apis",
        Some(("System", "Object")),
        TypeAttributes::Public | TypeAttributes::Sealed,
    );
    let mut names = std::collections::HashSet::new();
    for &(id, variant) in &apis.constants {
        constant(g, id, variant, &mut names);
    }
    for &id in &apis.functions {
        function_row(g, id);
    }
}

fn literal() -> FieldAttributes {
    FieldAttributes::Public | FieldAttributes::Static | FieldAttributes::Literal
}

fn constant(
    g: &mut Gen,
    id: ItemId,
    variant: Option<usize>,
    names: &mut std::collections::HashSet<String>,
) {
    let Some(item) = g.model.item(id) else {
        return;
    };
    match (&item.kind, variant) {
        // An enumerator of an anonymous enum: an `i32` constant.
        (ItemKind::Enum(e), Some(n)) => {
            let Some(v) = e.variants.get(n) else {
                return;
            };
            if !names.insert(v.name.clone()) {
                return;
            }
            let field = g.file.Field(&v.name, &MdType::I32, literal());
            g.file
                .Constant(HasConstant::Field(field), &Value::I32(v.value as i32));
        }
        (ItemKind::Const(c), None) => {
            if !names.insert(item.name.clone()) {
                return;
            }
            let md = g.ty(&c.ty, Pos::Field);
            g.flush(item.span, &format!("constant `{}`", item.name));
            let enum_underlying = match g.model.unalias(&c.ty) {
                Type::Named(target) => match g.model.item(target).map(|i| &i.kind) {
                    Some(ItemKind::Enum(e)) => Some(super::enums::underlying(e)),
                    _ => None,
                },
                _ => None,
            };
            match typed_value(&md, enum_underlying.as_ref(), &c.value) {
                Some((ty, value, encoding)) => {
                    let field = g.file.Field(&item.name, &ty, literal());
                    g.file.Constant(HasConstant::Field(field), &value);
                    if let Some(encoding) = encoding {
                        g.string_attribute(
                            HasAttribute::Field(field),
                            WIN32,
                            "NativeEncodingAttribute",
                            encoding.to_string(),
                        );
                    }
                }
                None => g.diags.push(
                    Diagnostic::warning(format!(
                        "the value of constant `{}` can't be stated in a .winmd; it is left out",
                        item.name
                    ))
                    .at(item.span),
                ),
            }
        }
        _ => {}
    }
}

/// The field type, Constant value and string encoding of a constant, if metadata can hold
/// it. Integers are converted to the constant's type as C converts them.
pub(crate) fn typed_value(
    md: &MdType,
    enum_underlying: Option<&MdType>,
    value: &IrValue,
) -> Option<(MdType, Value, Option<&'static str>)> {
    let int = match value {
        IrValue::Int(v) => Some(*v),
        IrValue::Float(f) if f.is_finite() => Some(*f as i128),
        _ => None,
    };
    let float = match value {
        IrValue::Int(v) => Some(*v as f64),
        IrValue::Float(f) => Some(*f),
        _ => None,
    };
    let v = match md {
        MdType::I8 => Value::I8(int? as i8),
        MdType::U8 => Value::U8(int? as u8),
        MdType::I16 => Value::I16(int? as i16),
        MdType::U16 => Value::U16(int? as u16),
        MdType::I32 => Value::I32(int? as i32),
        MdType::U32 => Value::U32(int? as u32),
        MdType::I64 => Value::I64(int? as i64),
        MdType::U64 => Value::U64(int? as u64),
        MdType::ISize => Value::ISize(int? as i64),
        MdType::USize => Value::USize(int? as u64),
        MdType::F32 => Value::F32(float? as f32),
        MdType::F64 => Value::F64(float?),
        MdType::ValueName(tn)
            if tn.namespace == WIN32_NAMESPACE && (tn.name == "HRESULT" || tn.name == "BOOL") =>
        {
            Value::I32(int? as i32)
        }
        MdType::ValueName(tn) if tn.namespace != WIN32_NAMESPACE => match enum_underlying? {
            MdType::U32 => Value::U32(int? as u32),
            _ => Value::I32(int? as i32),
        },
        _ => {
            let IrValue::Str(s) = value else {
                return None;
            };
            let encoding = string_encoding(md)?;
            return Some((MdType::String, Value::Utf16(s.clone()), Some(encoding)));
        }
    };
    Some((md.clone(), v, None))
}

/// `"ansi"` or `"utf-16"` for a pointer to 8- or 16-bit characters.
fn string_encoding(md: &MdType) -> Option<&'static str> {
    match md {
        MdType::PtrMut(base, 1) | MdType::PtrConst(base, 1) => match base.as_ref() {
            MdType::U8 | MdType::I8 => Some("ansi"),
            MdType::U16 | MdType::I16 => Some("utf-16"),
            _ => None,
        },
        MdType::ValueName(tn) if tn.namespace == WIN32_NAMESPACE => match tn.name.as_str() {
            "PSTR" | "PCSTR" => Some("ansi"),
            "PWSTR" | "PCWSTR" => Some("utf-16"),
            _ => None,
        },
        _ => None,
    }
}

/// A module function: a static `PInvokeImpl` method with its ImplMap row.
fn function_row(g: &mut Gen, id: ItemId) {
    let Some(item) = g.model.item(id) else {
        return;
    };
    let ItemKind::Function(f) = &item.kind else {
        return;
    };
    let Some(dll) = dll_name(g, item) else {
        return;
    };
    let sig = &f.signature;
    let return_type = g.ty(&sig.ret, Pos::Param);
    g.flush(
        item.span,
        &format!("the return type of function `{}`", item.name),
    );
    let rows = params(g, item, &item.name, &sig.params);
    let signature = Signature {
        flags: if sig.varargs {
            MethodCallAttributes::VARARG
        } else {
            MethodCallAttributes(0)
        },
        return_type,
        types: rows.iter().map(|p| p.ty.clone()).collect(),
    };
    let method = g.file.MethodDef(
        &item.name,
        &signature,
        MethodAttributes::Public
            | MethodAttributes::Static
            | MethodAttributes::HideBySig
            | MethodAttributes::PInvokeImpl,
        MethodImplAttributes::default(),
    );
    write_params(g, &rows);
    let callconv = match sig.callconv {
        CallConv::Cdecl => PInvokeAttributes::CallConvCdecl,
        _ => PInvokeAttributes::CallConvPlatformapi,
    };
    g.file.ImplMap(
        method,
        PInvokeAttributes::NoMangle | callconv,
        &entry_name(item),
        &dll,
    );
}
