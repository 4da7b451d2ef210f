//! IR types → metadata types.
//!
//! Typedefs are looked through (except function-pointer typedefs, which are delegates);
//! interface pointers are the interface itself; the types windows-bindgen maps to
//! windows-core are written under their `Windows.Win32` names. See the module docs of
//! [`super`] for the rules.

use windows_metadata::{Type as MdType, TypeName};

use super::Gen;
use crate::ir::{Base, Guid, ItemId, ItemKind, Signature, Type};

/// The namespace the Win32 metadata (as windows-bindgen ships it) puts its types in.
pub const WIN32_NAMESPACE: &str = "Windows.Win32";

/// IUnknown's IID.
const IID_IUNKNOWN: &str = "00000000-0000-0000-c000-000000000046";
/// IInspectable's IID.
const IID_IINSPECTABLE: &str = "af86e2e0-b12d-4c6a-9c5a-d7aa65101e90";
/// IDispatch's IID.
pub(crate) const IID_IDISPATCH: &str = "00020400-0000-0000-c000-000000000046";

/// A type windows-bindgen maps to windows-core, written under its Win32 metadata name.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WellKnown {
    Guid,
    Hresult,
    Bstr,
    Bool,
    Pwstr,
    Pcwstr,
    Pstr,
    Pcstr,
    Hstring,
    IUnknown,
    IInspectable,
}

impl WellKnown {
    /// The metadata type: a `Windows.Win32` value type, or class for the interfaces.
    pub fn md(self) -> MdType {
        let name = match self {
            WellKnown::Guid => "GUID",
            WellKnown::Hresult => "HRESULT",
            WellKnown::Bstr => "BSTR",
            WellKnown::Bool => "BOOL",
            WellKnown::Pwstr => "PWSTR",
            WellKnown::Pcwstr => "PCWSTR",
            WellKnown::Pstr => "PSTR",
            WellKnown::Pcstr => "PCSTR",
            WellKnown::Hstring => "HSTRING",
            WellKnown::IUnknown => "IUnknown",
            WellKnown::IInspectable => "IInspectable",
        };
        if self.is_interface() {
            MdType::ClassName(TypeName::named(WIN32_NAMESPACE, name))
        } else {
            MdType::ValueName(TypeName::named(WIN32_NAMESPACE, name))
        }
    }

    pub fn is_interface(self) -> bool {
        matches!(self, WellKnown::IUnknown | WellKnown::IInspectable)
    }
}

/// The namespace of idl/comidl_ctypes.idl's .winmd, which holds the C definitions of
/// stand-ins (see [`crate::emit::rust::ctypes`]).
pub const CTYPES_NAMESPACE: &str = "comidl_ctypes";

/// What an item is in the metadata.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    WellKnown(WellKnown),
    /// A stand-in for a C definition: idl/comidl_ctypes.idl's type of this name.
    StandIn(&'static str),
    /// A typedef: uses see the aliased type.
    Alias(Type),
    /// A function-pointer (or function) typedef: a delegate TypeDef of the same name.
    /// `pointer` is true for a typedef of a pointer to a function.
    Delegate {
        pointer: bool,
    },
    /// A struct, union or enum TypeDef.
    Value,
    /// An interface or dispinterface TypeDef.
    Interface,
    /// An anonymous enum: its enumerators are `i32` constants.
    ConstantsOnly,
    /// Not representable: a word for what it is.
    Missing(&'static str),
}

/// Where a type is used: parameters decay arrays to pointers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pos {
    Field,
    Param,
}

/// The signature of a typedef that becomes a delegate: a non-variadic function type or
/// pointer to one. `Some((sig, pointer))`.
pub(crate) fn delegate_signature(ty: &Type) -> Option<(&Signature, bool)> {
    let ty = strip_const(ty);
    let (sig, pointer) = match ty {
        Type::Function(sig) => (sig.as_ref(), false),
        Type::Pointer { pointee, .. } => match strip_const(pointee) {
            Type::Function(sig) => (sig.as_ref(), true),
            _ => return None,
        },
        _ => return None,
    };
    (!sig.varargs).then_some((sig, pointer))
}

fn strip_const(ty: &Type) -> &Type {
    let mut ty = ty;
    while let Type::Const(inner) = ty {
        ty = inner;
    }
    ty
}

/// Whether an IDL interface's uuid is `iid`.
pub(crate) fn has_iid(uuid: Option<Guid>, iid: &str) -> bool {
    uuid.is_some_and(|g| g.to_string() == iid)
}

/// The metadata type of a built-in IDL type.
pub(crate) fn base(b: Base) -> MdType {
    match b {
        Base::Void => MdType::Void,
        Base::Char { signed: true } | Base::Int8 { signed: true } => MdType::I8,
        Base::Char { signed: false } | Base::Int8 { signed: false } => MdType::U8,
        Base::Byte | Base::Boolean => MdType::U8,
        Base::Int16 { signed: true } => MdType::I16,
        Base::Int16 { signed: false } | Base::WChar => MdType::U16,
        Base::Int32 { signed: true } => MdType::I32,
        Base::Int32 { signed: false } | Base::ErrorStatus => MdType::U32,
        Base::Int64 { signed: true } => MdType::I64,
        Base::Int64 { signed: false } => MdType::U64,
        Base::IntPtr { signed: true } => MdType::ISize,
        Base::IntPtr { signed: false } => MdType::USize,
        Base::Float => MdType::F32,
        Base::Double => MdType::F64,
        Base::Handle => MdType::PtrMut(Box::new(MdType::Void), 1),
    }
}

/// The largest array length the metadata's compressed integers hold.
const MAX_LEN: u64 = 0x1FFF_FFFF;

/// How deep typedef chains and nested types may go before the mapping gives up (sema
/// rejects cycles; this only bounds the work on a hostile model).
const MAX_DEPTH: u32 = 64;

impl Gen<'_> {
    /// The well-known type an item stands for, if any.
    pub fn well_known(&self, id: ItemId) -> Option<WellKnown> {
        let item = self.model.item(id)?;
        match &item.kind {
            ItemKind::Typedef(ty) => match item.name.as_str() {
                "HRESULT" => Some(WellKnown::Hresult),
                "GUID" => Some(WellKnown::Guid),
                "BSTR" => Some(WellKnown::Bstr),
                "HSTRING" => Some(WellKnown::Hstring),
                "BOOL" => matches!(
                    self.model.unalias(ty),
                    Type::Base(Base::Int32 { signed: true })
                )
                .then_some(WellKnown::Bool),
                "LPWSTR" | "PWSTR" => self.string_pointer(ty, 16, false, WellKnown::Pwstr),
                "LPCWSTR" | "PCWSTR" => self.string_pointer(ty, 16, true, WellKnown::Pcwstr),
                "LPSTR" | "PSTR" => self.string_pointer(ty, 8, false, WellKnown::Pstr),
                "LPCSTR" | "PCSTR" => self.string_pointer(ty, 8, true, WellKnown::Pcstr),
                _ => None,
            },
            ItemKind::Struct(_) if item.name == "_GUID" || item.name == "GUID" => {
                Some(WellKnown::Guid)
            }
            ItemKind::Interface(_) => {
                if has_iid(item.uuid(), IID_IUNKNOWN) {
                    Some(WellKnown::IUnknown)
                } else if has_iid(item.uuid(), IID_IINSPECTABLE) {
                    Some(WellKnown::IInspectable)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// `Some(known)` if `ty` is a pointer to `bits`-wide characters, `const` or not as
    /// asked.
    fn string_pointer(
        &self,
        ty: &Type,
        bits: u32,
        want_const: bool,
        known: WellKnown,
    ) -> Option<WellKnown> {
        let Type::Pointer { pointee, .. } = self.model.unalias(ty) else {
            return None;
        };
        let is_const = matches!(*pointee, Type::Const(_));
        let width = match self.model.unalias(&pointee) {
            Type::Base(Base::WChar | Base::Int16 { .. }) => 16,
            Type::Base(Base::Char { .. } | Base::Int8 { .. } | Base::Byte) => 8,
            _ => return None,
        };
        (width == bits && is_const == want_const).then_some(known)
    }

    /// What an item is in the metadata (the same answer for the main file's items, which
    /// are written, and imported ones, which are referred to).
    pub fn target(&self, id: ItemId) -> Target {
        if let Some(known) = self.well_known(id) {
            return Target::WellKnown(known);
        }
        if let Some(c_name) = self.stand_ins.get(&id) {
            return Target::StandIn(c_name);
        }
        let Some(item) = self.model.item(id) else {
            return Target::Missing("unknown item");
        };
        match &item.kind {
            ItemKind::Typedef(ty) => match delegate_signature(ty) {
                Some((_, pointer)) => Target::Delegate { pointer },
                None => Target::Alias(ty.clone()),
            },
            ItemKind::Struct(_) | ItemKind::Union(_) => Target::Value,
            ItemKind::Enum(_) => {
                if item.name.is_empty() && self.names.get(id).starts_with("__Anonymous") {
                    Target::ConstantsOnly
                } else {
                    Target::Value
                }
            }
            ItemKind::Interface(i) => {
                if !i.type_params.is_empty() {
                    Target::Missing("generic interface")
                } else if !i.has_vtable(item) {
                    Target::Missing("RPC interface")
                } else {
                    Target::Interface
                }
            }
            ItemKind::Dispinterface(_) => Target::Interface,
            ItemKind::Coclass(_) => Target::Missing("coclass"),
            ItemKind::RuntimeClass(_) => Target::Missing("runtimeclass"),
            ItemKind::Delegate(_) => Target::Missing("WinRT delegate"),
            other => Target::Missing(other.describe()),
        }
    }

    /// The metadata type of an IDL type used at `pos`.
    pub fn ty(&mut self, ty: &Type, pos: Pos) -> MdType {
        self.ty_at(ty, pos, 0)
    }

    fn ty_at(&mut self, ty: &Type, pos: Pos, depth: u32) -> MdType {
        if depth > MAX_DEPTH {
            self.problem("the type nests too deeply; written as void".into());
            return MdType::Void;
        }
        match ty {
            Type::Base(b) => base(*b),
            Type::Const(inner) => self.ty_at(inner, pos, depth + 1),
            Type::Named(id) => self.named(*id, pos, depth),
            Type::Pointer { pointee, .. } => self.pointer(pointee, depth),
            Type::Array { element, len } => {
                if pos == Pos::Param {
                    return self.pointer(element, depth);
                }
                let element = self.ty_at(element, Pos::Field, depth + 1);
                let len = len.unwrap_or(1);
                if len > MAX_LEN {
                    self.problem(format!(
                        "an array of {len} elements is longer than metadata can state; written as one element"
                    ));
                    return MdType::ArrayFixed(Box::new(element), 1);
                }
                MdType::ArrayFixed(Box::new(element), len as usize)
            }
            Type::Function(sig) => {
                if pos == Pos::Param {
                    // A parameter of function type is a function pointer, as in C.
                    return self.function_pointer(sig);
                }
                self.problem("a function type by value has no size; written as void".into());
                MdType::Void
            }
            Type::SafeArray(_) => {
                let target = self.model.names.get("SAFEARRAY").copied();
                let inner = match target {
                    Some(id) => self.named(id, Pos::Field, depth + 1),
                    None => MdType::Void,
                };
                MdType::PtrMut(Box::new(inner), 1)
            }
            Type::Instance { .. } => {
                self.problem(
                    "a WinRT generic instance has no representation; written as void".into(),
                );
                MdType::Void
            }
            Type::Param(name) => {
                self.problem(format!(
                    "type parameter `{name}` has no representation; written as void"
                ));
                MdType::Void
            }
        }
    }

    fn named(&mut self, id: ItemId, pos: Pos, depth: u32) -> MdType {
        match self.target(id) {
            Target::WellKnown(known) => known.md(),
            Target::StandIn(c_name) => MdType::ValueName(TypeName::named(CTYPES_NAMESPACE, c_name)),
            Target::Alias(inner) => self.ty_at(&inner, pos, depth + 1),
            Target::Delegate { .. } | Target::Interface => MdType::ClassName(self.type_name(id)),
            Target::Value => MdType::ValueName(self.type_name(id)),
            Target::ConstantsOnly => MdType::I32,
            Target::Missing(what) => {
                let name = self
                    .model
                    .item(id)
                    .map(|i| i.full_name())
                    .unwrap_or_default();
                self.problem(format!(
                    "{what} `{name}` is not in the .winmd; written as void"
                ));
                MdType::Void
            }
        }
    }

    /// A pointer to `pointee`.
    fn pointer(&mut self, pointee: &Type, depth: u32) -> MdType {
        if let Some(absorbed) = self.absorbed(pointee) {
            return absorbed;
        }
        let is_const = matches!(pointee, Type::Const(_));
        match self.ty_at(pointee, Pos::Field, depth + 1) {
            MdType::PtrMut(base, n) if is_const => MdType::PtrConst(base, n + 1),
            MdType::PtrMut(base, n) => MdType::PtrMut(base, n + 1),
            MdType::PtrConst(base, n) => MdType::PtrConst(base, n + 1),
            other if is_const => MdType::PtrConst(Box::new(other), 1),
            other => MdType::PtrMut(Box::new(other), 1),
        }
    }

    /// The type of a pointer to `pointee` when the pointer is part of what the pointee is
    /// in metadata: interfaces (`IFoo*` is `IFoo`), function types (the delegate), and
    /// things written as `void*`.
    fn absorbed(&mut self, pointee: &Type) -> Option<MdType> {
        let mut ty = strip_const(pointee).clone();
        for _ in 0..MAX_DEPTH {
            match ty {
                Type::Function(ref sig) => return Some(self.function_pointer(sig)),
                Type::Instance { .. } => {
                    self.problem(
                        "a WinRT generic instance has no representation; written as void*".into(),
                    );
                    return Some(void_ptr());
                }
                Type::Named(id) => match self.target(id) {
                    Target::WellKnown(known) if known.is_interface() => return Some(known.md()),
                    Target::Interface => return Some(MdType::ClassName(self.type_name(id))),
                    Target::Delegate { pointer: false } => {
                        return Some(MdType::ClassName(self.type_name(id)));
                    }
                    Target::Alias(inner) => match strip_const(&inner) {
                        // `typedef IFoo IBar;`: a pointer to IBar is an IFoo pointer.
                        next @ (Type::Named(_) | Type::Function(_) | Type::Instance { .. }) => {
                            ty = next.clone();
                        }
                        _ => return None,
                    },
                    Target::Missing(what) => {
                        let name = self
                            .model
                            .item(id)
                            .map(|i| i.full_name())
                            .unwrap_or_default();
                        self.problem(format!(
                            "{what} `{name}` is not in the .winmd; a pointer to it is written as void*"
                        ));
                        return Some(void_ptr());
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// A pointer to an anonymous function type: the metadata has only named delegates.
    fn function_pointer(&mut self, sig: &Signature) -> MdType {
        let what = if sig.varargs {
            "a variadic function pointer"
        } else {
            "an anonymous function pointer (only typedef'd ones become delegates)"
        };
        self.problem(format!("{what} is written as void*"));
        void_ptr()
    }
}

/// `void*`.
pub(crate) fn void_ptr() -> MdType {
    MdType::PtrMut(Box::new(MdType::Void), 1)
}
