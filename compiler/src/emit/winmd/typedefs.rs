//! Typedefs → `NativeTypedef` structs holding the aliased type in a field `Value` (the Win32
//! metadata's form), or, for function pointers, delegates with an `Invoke` method.

use windows_metadata::writer::HasAttribute;
use windows_metadata::{
    FieldAttributes, MethodAttributes, MethodCallAttributes, MethodImplAttributes, Signature,
    Type as MdType, TypeAttributes, TypeName, Value,
};

use super::Gen;
use super::attributes::{WIN32, calling_convention_type};
use super::interfaces::{params, write_params};
use super::types::{CTYPES_NAMESPACE, Pos, Target, delegate_signature};
use crate::emit::rust::names::sanitize;
use crate::ir::{CallConv, Item, ItemId, ItemKind, Type};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, ty: &Type) {
    if item.name.is_empty() || g.names.is_absorbed(id) {
        // The anonymous struct, union or enum it names carries the name.
        return;
    }
    match g.target(id) {
        Target::Delegate { .. } => delegate(g, id, item, ty),
        Target::Alias(_) => alias(g, id, item, ty),
        // Well-known types are Windows.Win32's.
        _ => {}
    }
}

/// Whether `typedef X NAME;` only repeats the name of what it aliases
/// (`typedef struct FOO FOO;`, `typedef enum Mode Mode;`).
fn names_itself(g: &Gen, id: ItemId, item: &Item, ty: &Type) -> bool {
    let mut ty = ty;
    while let Type::Const(inner) = ty {
        ty = inner;
    }
    let Type::Named(target) = ty else {
        return false;
    };
    let Some(t) = g.model.item(*target) else {
        return false;
    };
    matches!(
        t.kind,
        ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_) | ItemKind::Typedef(_)
    ) && g.name_of(*target) == sanitize(&item.name)
        && g.ns_of(*target) == g.ns_of(id)
}

/// A stand-in (a type declared only for the IDL compiler; C takes another definition): an
/// alias of idl/comidl_ctypes.idl's definition, as the Rust backend makes it.
pub(super) fn stand_in(g: &mut Gen, id: ItemId, item: &Item, c_name: &str) {
    if matches!(item.kind, ItemKind::Typedef(_)) && g.names.is_absorbed(id) {
        return;
    }
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, item.kind.describe()) {
        return;
    }
    native_typedef(g, &ns, &name, |_| {
        MdType::ValueName(TypeName::named(CTYPES_NAMESPACE, c_name))
    });
}

fn alias(g: &mut Gen, id: ItemId, item: &Item, ty: &Type) {
    if names_itself(g, id, item, ty) {
        return;
    }
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "typedef") {
        return;
    }
    native_typedef(g, &ns, &name, |g| {
        let md = g.ty(ty, Pos::Field);
        g.flush(item.span, &format!("typedef `{}`", item.name));
        md
    });
}

/// A typedef as the Win32 metadata writes one: a sealed struct with the single field
/// `Value`, of the type `value` maps (after the TypeDef row exists, so the field is its),
/// marked `NativeTypedefAttribute`.
fn native_typedef(g: &mut Gen, ns: &str, name: &str, value: impl FnOnce(&mut Gen) -> MdType) {
    let def = g.type_def(
        ns,
        name,
        Some(("System", "ValueType")),
        TypeAttributes::Public | TypeAttributes::SequentialLayout | TypeAttributes::Sealed,
    );
    let md = value(g);
    g.file.Field("Value", &md, FieldAttributes::Public);
    g.marker(HasAttribute::TypeDef(def), WIN32, "NativeTypedefAttribute");
}

/// A function-pointer typedef: a delegate whose `Invoke` has the function's signature.
fn delegate(g: &mut Gen, id: ItemId, item: &Item, ty: &Type) {
    let Some((sig, _)) = delegate_signature(ty) else {
        return;
    };
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "typedef") {
        return;
    }
    let def = g.type_def(
        &ns,
        &name,
        Some(("System", "MulticastDelegate")),
        TypeAttributes::Public | TypeAttributes::Sealed,
    );
    // System.Runtime.InteropServices.CallingConvention: Winapi (the platform's "system"),
    // Cdecl, FastCall. windows-bindgen knows no other.
    let convention = match sig.callconv {
        CallConv::Cdecl => 2,
        CallConv::Fastcall => 5,
        _ => 1,
    };
    let cc_type = calling_convention_type();
    let MdType::ValueName(cc_name) = cc_type.clone() else {
        return;
    };
    g.attribute(
        HasAttribute::TypeDef(def),
        "System.Runtime.InteropServices",
        "UnmanagedFunctionPointerAttribute",
        vec![(
            cc_type,
            Value::EnumValue(cc_name, Box::new(Value::I32(convention))),
        )],
    );
    let return_type = g.ty(&sig.ret, Pos::Param);
    g.flush(item.span, &format!("the return type of `{}`", item.name));
    let rows = params(g, item, "Invoke", &sig.params);
    let signature = Signature {
        flags: MethodCallAttributes(0),
        return_type,
        types: rows.iter().map(|p| p.ty.clone()).collect(),
    };
    g.file.MethodDef(
        "Invoke",
        &signature,
        MethodAttributes::Public
            | MethodAttributes::Virtual
            | MethodAttributes::HideBySig
            | MethodAttributes::NewSlot
            | MethodAttributes::Abstract,
        MethodImplAttributes::default(),
    );
    write_params(g, &rows);
}
