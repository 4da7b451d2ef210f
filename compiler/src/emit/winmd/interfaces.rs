//! Interfaces and dispinterfaces → interface TypeDefs: GUID, base as the one InterfaceImpl
//! row, vtable methods in order with their parameters.

use windows_metadata::writer::{self, HasAttribute};
use windows_metadata::{
    MethodAttributes, MethodCallAttributes, MethodImplAttributes, ParamAttributes, Signature,
    Type as MdType, TypeAttributes, TypeName, Value,
};

use super::Gen;
use super::attributes::{COMIDL, WIN32};
use super::types::{IID_IDISPATCH, Pos, Target, WIN32_NAMESPACE, WellKnown, has_iid};
use crate::ir::{
    AttrValue, Base, Dispinterface, Expr, Interface, Item, ItemId, ItemKind, Method, Param,
    PointerKind, Type, Value as IrValue,
};

/// `Public|Interface|Abstract`.
fn interface_flags() -> TypeAttributes {
    TypeAttributes::Public | TypeAttributes::Interface | TypeAttributes::Abstract
}

/// A vtable method: `Public|Virtual|HideBySig|NewSlot|Abstract`.
fn method_flags() -> MethodAttributes {
    MethodAttributes::Public
        | MethodAttributes::Virtual
        | MethodAttributes::HideBySig
        | MethodAttributes::NewSlot
        | MethodAttributes::Abstract
}

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item, iface: &Interface) {
    match g.target(id) {
        Target::Interface => {}
        // IUnknown and IInspectable are Windows.Win32's.
        Target::WellKnown(_) => return,
        Target::Missing(what) => {
            g.unsupported(item.span, what, &item.full_name());
            return;
        }
        _ => return,
    }
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "interface") {
        return;
    }
    let def = g.type_def(&ns, &name, None, interface_flags());
    if let Some(uuid) = item.uuid() {
        g.guid_attribute(HasAttribute::TypeDef(def), &uuid);
    }
    g.helpstring(HasAttribute::TypeDef(def), &item.attrs);

    match &iface.base {
        Some(base) => match base_type(g, base) {
            Some(base) => {
                g.file.InterfaceImpl(def, &base);
            }
            None => {
                g.flush(item.span, &format!("base of interface `{}`", item.name));
                g.diags.push(
                    crate::diag::Diagnostic::warning(format!(
                        "interface `{}` derives from an interface the .winmd can't name; it is written as deriving from IUnknown",
                        item.name
                    ))
                    .at(item.span),
                );
                g.file.InterfaceImpl(def, &WellKnown::IUnknown.md());
            }
        },
        None if !iface.defined => {
            // Only declared: every COM interface is an IUnknown, which is all that is known.
            g.diags.push(
                crate::diag::Diagnostic::warning(format!(
                    "interface `{}` is declared but never defined; the .winmd has it as an IUnknown with no methods of its own",
                    item.name
                ))
                .at(item.span),
            );
            g.file.InterfaceImpl(def, &WellKnown::IUnknown.md());
        }
        None => {}
    }
    if !iface.requires.is_empty() {
        g.diags.push(
            crate::diag::Diagnostic::warning(format!(
                "the `requires` list of interface `{}` has no representation in a .winmd; it is left out",
                item.name
            ))
            .at(item.span),
        );
    }

    for m in iface.methods.iter().filter(|m| m.has_slot()) {
        method(g, item, m);
    }
}

/// The base interface as an InterfaceImpl type, if the metadata can name it.
pub(super) fn base_type(g: &mut Gen, base: &Type) -> Option<MdType> {
    let mut ty = base;
    while let Type::Const(inner) = ty {
        ty = inner;
    }
    let Type::Named(id) = ty else {
        return None;
    };
    match g.target(*id) {
        Target::WellKnown(known) if known.is_interface() => Some(known.md()),
        Target::Interface => Some(MdType::ClassName(g.type_name(*id))),
        Target::Alias(inner) => {
            let inner = inner.clone();
            base_type(g, &inner)
        }
        _ => None,
    }
}

/// One vtable method: its MethodDef and Param rows.
fn method(g: &mut Gen, owner: &Item, m: &Method) {
    let what = format!("method `{}::{}`", owner.name, m.name);
    let return_type = g.ty(&m.signature.ret, Pos::Param);
    g.flush(m.span, &format!("the return type of {what}"));
    let params = params(g, owner, &m.name, &m.signature.params);
    if m.signature.varargs {
        g.diags.push(
            crate::diag::Diagnostic::warning(format!(
                "{what} is variadic; the .winmd has its fixed parameters only"
            ))
            .at(m.span),
        );
    }
    let signature = Signature {
        flags: MethodCallAttributes::HASTHIS,
        return_type,
        types: params.iter().map(|p| p.ty.clone()).collect(),
    };
    g.file.MethodDef(
        &m.slot_name(),
        &signature,
        method_flags(),
        MethodImplAttributes::default(),
    );
    write_params(g, &params);
}

/// A parameter as it will be written.
pub(super) struct ParamRow {
    pub name: String,
    pub ty: MdType,
    pub flags: ParamAttributes,
    pub retval: bool,
    pub com_out_ptr: bool,
    /// `size_is`/`length_is`: the parameter is an array.
    pub array: Option<ArrayInfo>,
}

/// How long an array parameter is, as `NativeArrayInfoAttribute` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ArrayInfo {
    /// `CountParamIndex`: another (`[in]`, integer) parameter holds the element count.
    Param(i16),
    /// `CountConst`: a constant count.
    Const(i32),
    /// An array whose length metadata can't state (an expression, a second dimension):
    /// the attribute without arguments, so that no reader takes it for one value.
    Unknown,
}

/// Maps parameters (warnings name `owner::method`).
pub(super) fn params(g: &mut Gen, owner: &Item, method: &str, params: &[Param]) -> Vec<ParamRow> {
    // Metadata keeps the IDL's spelling: only unnamed and repeated names change.
    let names = crate::emit::rust::names::param_names(params, str::to_owned);
    params
        .iter()
        .zip(names)
        .map(|(p, name)| {
            let ty = g.ty(&p.ty, Pos::Param);
            g.flush(
                p.span,
                &format!("parameter `{name}` of `{}::{method}`", owner.name),
            );
            let flags = param_flags(p, &ty);
            ParamRow {
                array: array_info(g, params, p, &ty),
                com_out_ptr: p.has_attr("out") && p.has_attr("iid_is"),
                retval: p.has_attr("retval"),
                name,
                ty,
                flags,
            }
        })
        .collect()
}

/// The array length of a `size_is`/`length_is` parameter: one dimension, a single pointer,
/// counted by an `[in]` integer parameter or a constant; anything else is
/// [`ArrayInfo::Unknown`].
fn array_info(g: &Gen, params: &[Param], p: &Param, ty: &MdType) -> Option<ArrayInfo> {
    let attr = p
        .attrs
        .iter()
        .find(|a| a.name == "size_is")
        .or_else(|| p.attrs.iter().find(|a| a.name == "length_is"))?;
    let single =
        matches!(ty, MdType::PtrMut(base, 1) | MdType::PtrConst(base, 1) if **base != MdType::Void);
    if !single || attr.args.len() != 1 {
        return Some(ArrayInfo::Unknown);
    }
    let count = |v: i128| i32::try_from(v).ok().map(ArrayInfo::Const);
    let info = match &attr.args[0] {
        AttrValue::Int(v) | AttrValue::Expr(Expr::Int(v)) => count(*v),
        AttrValue::Expr(Expr::Name(name)) => match params.iter().position(|q| q.name == *name) {
            Some(index) => {
                let q = &params[index];
                let integer = matches!(
                    g.model.unalias(&q.ty),
                    Type::Base(
                        Base::Int8 { .. }
                            | Base::Int16 { .. }
                            | Base::Int32 { .. }
                            | Base::Int64 { .. }
                            | Base::IntPtr { .. }
                            | Base::Char { .. }
                            | Base::Byte
                    )
                );
                (integer && !q.has_attr("out") && !std::ptr::eq(q, p))
                    .then(|| i16::try_from(index).ok().map(ArrayInfo::Param))
                    .flatten()
            }
            None => match g.model.lookup(name).map(|i| &i.kind) {
                Some(ItemKind::Const(c)) => match c.value {
                    IrValue::Int(v) => count(v),
                    _ => None,
                },
                _ => None,
            },
        },
        _ => None,
    };
    Some(info.unwrap_or(ArrayInfo::Unknown))
}

/// `In`, `Out`, and `Optional` for an `[in]` pointer that may be NULL.
pub(super) fn param_flags(p: &Param, ty: &MdType) -> ParamAttributes {
    let is_in = p.has_attr("in");
    let is_out = p.has_attr("out");
    let mut flags = ParamAttributes::default();
    if is_in || !is_out {
        flags |= ParamAttributes::In;
    }
    if is_out {
        flags |= ParamAttributes::Out;
    }
    let pointer_like = matches!(
        ty,
        MdType::PtrMut(..) | MdType::PtrConst(..) | MdType::ClassName(_)
    );
    let nullable = matches!(
        &p.ty,
        Type::Pointer {
            kind: PointerKind::Unique | PointerKind::Full,
            ..
        }
    ) || p.has_attr("unique")
        || p.has_attr("ptr")
        || p.has_attr("optional");
    if pointer_like && nullable && !is_out {
        flags |= ParamAttributes::Optional;
    }
    flags
}

/// Writes the Param rows of the MethodDef just written.
pub(super) fn write_params(g: &mut Gen, params: &[ParamRow]) {
    for (i, p) in params.iter().enumerate() {
        let Ok(sequence) = u16::try_from(i + 1) else {
            break;
        };
        let row: writer::Param = g.file.Param(&p.name, sequence, p.flags);
        if p.retval {
            g.marker(HasAttribute::Param(row), WIN32, "RetValAttribute");
        }
        if p.com_out_ptr {
            g.marker(HasAttribute::Param(row), WIN32, "ComOutPtrAttribute");
        }
        if let Some(array) = p.array {
            let named = match array {
                ArrayInfo::Param(index) => vec![("CountParamIndex".to_string(), Value::I16(index))],
                ArrayInfo::Const(count) => vec![("CountConst".to_string(), Value::I32(count))],
                ArrayInfo::Unknown => Vec::new(),
            };
            g.named_attribute(
                HasAttribute::Param(row),
                WIN32,
                "NativeArrayInfoAttribute",
                named,
            );
        }
    }
}

/// A dispinterface: an interface deriving from IDispatch with IDispatch's vtable.
pub(super) fn dispinterface(g: &mut Gen, id: ItemId, item: &Item, d: &Dispinterface) {
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    if !g.claim(&ns, &name, item.span, "dispinterface") {
        return;
    }
    let def = g.type_def(&ns, &name, None, interface_flags());
    if let Some(uuid) = item.uuid() {
        g.guid_attribute(HasAttribute::TypeDef(def), &uuid);
    }
    g.helpstring(HasAttribute::TypeDef(def), &item.attrs);
    g.marker(HasAttribute::TypeDef(def), COMIDL, "DispInterfaceAttribute");
    let idispatch = idispatch(g);
    g.file.InterfaceImpl(def, &idispatch);
    if !d.properties.is_empty() || !d.methods.is_empty() || d.interface.is_some() {
        g.diags.push(
            crate::diag::Diagnostic::warning(format!(
                "the dispatch members of dispinterface `{}` have no representation in a .winmd (its vtable is IDispatch's); they are left out",
                item.name
            ))
            .at(item.span),
        );
    }
}

/// IDispatch: the model's interface with IDispatch's IID if it has one, else the Win32
/// metadata's.
fn idispatch(g: &Gen) -> MdType {
    let found = g.model.items.iter().enumerate().find(|(_, it)| {
        matches!(it.kind, ItemKind::Interface(_)) && has_iid(it.uuid(), IID_IDISPATCH)
    });
    match found {
        Some((i, _)) => MdType::ClassName(g.type_name(ItemId(i as u32))),
        None => MdType::ClassName(TypeName::named(WIN32_NAMESPACE, "IDispatch")),
    }
}
