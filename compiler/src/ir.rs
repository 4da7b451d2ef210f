//! The resolved model: what backends read. Names are resolved to [`ItemId`]s, constant
//! expressions are evaluated, attributes are checked, and every item knows the file it was
//! declared in. Nothing here refers to the AST.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::source::{FileId, Span};

/// Index of an item in [`Model::items`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u32);

#[derive(Debug, Default)]
pub struct Model {
    /// Every IDL file read (the main file first), with what it imports.
    pub files: Vec<IdlFile>,
    /// Every declaration from every file. Named declarations of one file are in declaration
    /// order; anonymous structs, unions and enums are added when their user is lowered, so
    /// they follow.
    pub items: Vec<Item>,
    /// Ordinary names (typedefs, interfaces, classes, ...) by full dotted name.
    pub names: HashMap<String, ItemId>,
    /// struct/union/enum tags.
    pub tags: HashMap<String, ItemId>,
}

impl Model {
    pub fn item(&self, id: ItemId) -> Option<&Item> {
        self.items.get(id.0 as usize)
    }

    /// The path of one of the model's IDL files.
    pub fn file_path(&self, file: FileId) -> Option<&Path> {
        self.files
            .iter()
            .find(|f| f.file == file)
            .map(|f| f.path.as_path())
    }

    /// The file stem of one of the model's IDL files (`objidl` for objidl.idl).
    pub fn file_stem(&self, file: FileId) -> Option<String> {
        let stem = self.file_path(file)?.file_stem()?;
        Some(stem.to_string_lossy().into_owned())
    }

    /// The items declared in one file, in order.
    pub fn items_in(&self, file: FileId) -> impl Iterator<Item = (ItemId, &Item)> {
        self.items
            .iter()
            .enumerate()
            .filter(move |(_, it)| it.file == file)
            .map(|(i, it)| (ItemId(i as u32), it))
    }

    /// Looks an ordinary name up (full dotted name for WinRT types).
    pub fn lookup(&self, name: &str) -> Option<&Item> {
        self.names.get(name).and_then(|id| self.item(*id))
    }

    /// `ty` with typedef names and a top-level `const` looked through, down to the first
    /// type that is not an alias (bounded: sema rejects typedef cycles).
    pub fn unalias(&self, ty: &Type) -> Type {
        let mut ty = ty.clone();
        for _ in 0..64 {
            match ty {
                Type::Const(inner) => ty = *inner,
                Type::Named(id) => match self.item(id).map(|i| &i.kind) {
                    Some(ItemKind::Typedef(inner)) => ty = inner.clone(),
                    _ => return Type::Named(id),
                },
                other => return other,
            }
        }
        ty
    }
}

#[derive(Debug)]
pub struct IdlFile {
    pub file: FileId,
    pub path: PathBuf,
    /// Files this one imports (by `import`), as indices into [`Model::files`].
    pub imports: Vec<usize>,
    /// Every file the preprocessor read for it (the file itself and its `#include`s).
    pub read: Vec<FileId>,
}

#[derive(Debug)]
pub struct Item {
    /// The simple name (empty for statements such as cpp_quote).
    pub name: String,
    /// Enclosing WinRT namespace, dotted ("" outside any).
    pub namespace: String,
    pub kind: ItemKind,
    pub attrs: Vec<Attr>,
    /// The library, module or interface this item was declared in, if any.
    pub parent: Option<ItemId>,
    pub file: FileId,
    pub span: Span,
    /// Whether C compiles the declaration in widl's header, as far as the cpp_quote'd
    /// conditionals around it tell: one inside `cpp_quote("#if 0")` is a stand-in only the
    /// IDL compiler sees.
    pub c_visibility: CVisibility,
}

/// What the cpp_quote'd conditionals around a declaration (`#if 0`, `#ifdef _WIN64`,
/// `#ifndef _KS_`) say about whether C compiles it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CVisibility {
    /// Not inside any conditional C might skip.
    #[default]
    Always,
    /// Inside a conditional on macros comidl doesn't know (a C header's include guard).
    Maybe,
    /// Inside a branch C skips for certain (`#if 0`, `#ifndef _WIN64` on 64-bit targets).
    Never,
}

impl Item {
    /// Namespace-qualified name (`Windows.Foundation.IAsyncAction`), or the simple name.
    pub fn full_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.namespace, self.name)
        }
    }

    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn has_attr(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// The text of a one-argument attribute: a string (`progid("A.B.1")`), a version
    /// (`version(1.0)`) or a bare word (`threading(both)`).
    pub fn attr_text(&self, name: &str) -> Option<&str> {
        match self.attr(name)?.args.first()? {
            AttrValue::Str(s) | AttrValue::Version(s) => Some(s),
            AttrValue::Expr(Expr::Name(s) | Expr::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The `uuid` attribute's value.
    pub fn uuid(&self) -> Option<Guid> {
        self.attr("uuid").and_then(|a| match a.args.first() {
            Some(AttrValue::Uuid(g)) => Some(*g),
            _ => None,
        })
    }
}

#[derive(Debug)]
pub enum ItemKind {
    Typedef(Type),
    Struct(Record),
    Union(Union),
    Enum(Enum),
    Const(Const),
    Interface(Interface),
    Dispinterface(Dispinterface),
    Coclass(Vec<ClassMember>),
    RuntimeClass(Vec<ClassMember>),
    Delegate(Delegate),
    ApiContract,
    Library(Vec<ItemId>),
    Module(Vec<ItemId>),
    /// A function declared outside an interface (in a module, or a `[local]` top-level one).
    Function(Function),
    CppQuote(String),
    ImportLib(String),
    /// A `#pragma` line's text, kept for backends (`pack`, `midl_echo`, ...).
    Pragma(String),
    /// `declare { ... }`: the parameterized-interface instantiations a WinRT file asks for.
    Declare(Vec<Type>),
    /// `declare_guid(NAME, guid)`: a GUID constant (the item's name is NAME).
    GuidConst(Guid),
    /// `typedef pipe T NAME;`: a stream of `T` elements passed to or from a remote call.
    /// In memory it is MIDL's pipe control record (pull, push and alloc callbacks and the
    /// caller's state pointer); on the wire, chunks of elements ended by an empty chunk.
    Pipe(Type),
}

impl ItemKind {
    /// A word for messages: "interface", "struct", ...
    pub fn describe(&self) -> &'static str {
        match self {
            ItemKind::Typedef(_) => "typedef",
            ItemKind::Struct(_) => "struct",
            ItemKind::Union(_) => "union",
            ItemKind::Enum(_) => "enum",
            ItemKind::Const(_) => "constant",
            ItemKind::Interface(_) => "interface",
            ItemKind::Dispinterface(_) => "dispinterface",
            ItemKind::Coclass(_) => "coclass",
            ItemKind::RuntimeClass(_) => "runtimeclass",
            ItemKind::Delegate(_) => "delegate",
            ItemKind::ApiContract => "apicontract",
            ItemKind::Library(_) => "library",
            ItemKind::Module(_) => "module",
            ItemKind::Function(_) => "function",
            ItemKind::CppQuote(_) => "cpp_quote",
            ItemKind::ImportLib(_) => "importlib",
            ItemKind::Pragma(_) => "pragma",
            ItemKind::Declare(_) => "declare block",
            ItemKind::GuidConst(_) => "declare_guid",
            ItemKind::Pipe(_) => "pipe",
        }
    }

    /// Whether this item names a type that a declaration may use.
    pub fn is_type(&self) -> bool {
        matches!(
            self,
            ItemKind::Typedef(_)
                | ItemKind::Struct(_)
                | ItemKind::Union(_)
                | ItemKind::Enum(_)
                | ItemKind::Interface(_)
                | ItemKind::Dispinterface(_)
                | ItemKind::Coclass(_)
                | ItemKind::RuntimeClass(_)
                | ItemKind::Delegate(_)
                | ItemKind::Pipe(_)
        )
    }
}

/// Built-in scalar types with their IDL meaning; widths per shared/DESIGN.md.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    Void,
    /// `char` (unsigned by default in MIDL, as widl treats plain char: use `signed char` for i8).
    Char {
        signed: bool,
    },
    Int8 {
        signed: bool,
    },
    Int16 {
        signed: bool,
    },
    Int32 {
        signed: bool,
    },
    Int64 {
        signed: bool,
    },
    /// `__int3264`: pointer-sized.
    IntPtr {
        signed: bool,
    },
    Byte,
    Boolean,
    WChar,
    Float,
    Double,
    /// `handle_t`
    Handle,
    /// `error_status_t`
    ErrorStatus,
}

/// How a pointer is treated by the marshaller.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PointerKind {
    /// `[ref]`: never null, no aliasing.
    Ref,
    /// `[unique]`: may be null, no aliasing.
    Unique,
    /// `[ptr]`: full pointer.
    Full,
    /// No attribute and no `pointer_default` applies here; backends pick their default.
    Unspecified,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Base(Base),
    /// A declared type (typedef, struct, union, enum, interface, class, delegate).
    Named(ItemId),
    Pointer {
        pointee: Box<Type>,
        kind: PointerKind,
        /// `T * const`
        is_const: bool,
    },
    /// The pointee is `const` (`const WCHAR *`): recorded on the pointed-to type.
    Const(Box<Type>),
    Array {
        element: Box<Type>,
        /// `None` for a conformant array (`[]`, `[*]`, or sized by `size_is`).
        len: Option<u64>,
    },
    Function(Box<Signature>),
    SafeArray(Box<Type>),
    /// A parameterized WinRT interface or delegate applied to arguments (`IVector<HSTRING>`).
    Instance {
        generic: ItemId,
        args: Vec<Type>,
    },
    /// A type parameter inside a parameterized declaration.
    Param(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallConv {
    /// No keyword: `extern "system"` for COM methods.
    Default,
    Stdcall,
    Cdecl,
    Fastcall,
    Pascal,
    Thiscall,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub ret: Type,
    pub params: Vec<Param>,
    pub varargs: bool,
    pub callconv: CallConv,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

impl Param {
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Empty for an anonymous member or an empty union arm.
    pub name: String,
    pub ty: Option<Type>,
    pub bits: Option<u64>,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

/// A struct.
#[derive(Debug, Default)]
pub struct Record {
    pub fields: Vec<Field>,
    /// `None` for a struct only ever named (`struct tagFOO *`), never defined.
    pub defined: bool,
    /// Packing in force where the struct was defined (`#pragma pack`, `pshpackN.h`).
    pub pack: Option<u32>,
}

#[derive(Debug, Default)]
pub struct Union {
    pub arms: Vec<UnionArm>,
    pub defined: bool,
    pub pack: Option<u32>,
    /// Encapsulated unions carry their discriminant.
    pub switch: Option<UnionSwitch>,
}

#[derive(Debug)]
pub struct UnionSwitch {
    pub ty: Type,
    pub name: String,
    /// The name of the union member inside the generated struct, if given.
    pub union_name: Option<String>,
}

impl UnionSwitch {
    /// The union member's name in the struct: the given one, or widl's `tagged_union`.
    pub fn member(&self) -> &str {
        self.union_name.as_deref().unwrap_or("tagged_union")
    }
}

#[derive(Debug)]
pub struct UnionArm {
    /// The case values (from `case N:` or `[case(N)]`); `None` in the list is `default`.
    pub cases: Vec<Option<i128>>,
    pub field: Field,
}

#[derive(Debug, Default)]
pub struct Enum {
    pub variants: Vec<Variant>,
    pub defined: bool,
}

#[derive(Debug)]
pub struct Variant {
    pub name: String,
    pub value: i128,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Const {
    pub ty: Type,
    pub value: Value,
}

/// A constant's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i128),
    Float(f64),
    Str(String),
    /// Something evaluated only by the C compiler (an address, a cast to a pointer...).
    Unevaluated,
}

#[derive(Debug, Default)]
pub struct Interface {
    pub base: Option<Type>,
    pub requires: Vec<Type>,
    pub type_params: Vec<String>,
    pub methods: Vec<Method>,
    /// Items declared inside the body (typedefs, constants, cpp_quote...).
    pub members: Vec<ItemId>,
    /// False for an interface that is only forward-declared.
    pub defined: bool,
    /// Packing in force where the interface was declared: C compilers apply it to the
    /// vtable struct widl's header declares (`pshpack1.h` around an interface gives its
    /// vtable an alignment of 1).
    pub pack: Option<u32>,
}

impl Interface {
    /// Whether the interface has a vtable (a COM interface) rather than being a set of
    /// DCE RPC operations, which C declares as functions. `item` is the interface's item.
    pub fn has_vtable(&self, item: &Item) -> bool {
        item.has_attr("object")
            || item.has_attr("odl")
            || self.base.is_some()
            || !item.namespace.is_empty()
            || !self.defined
            || self.methods.is_empty() && item.has_attr("uuid") && item.has_attr("local")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    pub name: String,
    pub signature: Signature,
    pub attrs: Vec<Attr>,
    pub span: Span,
}

impl Method {
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.iter().any(|a| a.name == name)
    }

    /// Whether the method has a vtable slot: a `[call_as]` method is the wire form of a
    /// `[local]` one and has none.
    pub fn has_slot(&self) -> bool {
        !self.has_attr("call_as")
    }

    /// The name C gives the method's vtable slot: widl prefixes property and event
    /// accessors (`get_`, `put_`, `putref_`, `add_`, `remove_`).
    pub fn slot_name(&self) -> String {
        let prefix = if self.has_attr("propget") {
            "get_"
        } else if self.has_attr("propputref") {
            "putref_"
        } else if self.has_attr("propput") {
            "put_"
        } else if self.has_attr("eventadd") {
            "add_"
        } else if self.has_attr("eventremove") {
            "remove_"
        } else {
            ""
        };
        format!("{prefix}{}", self.name)
    }
}

#[derive(Debug, Default)]
pub struct Dispinterface {
    pub properties: Vec<Field>,
    pub methods: Vec<Method>,
    /// `dispinterface D { interface I; }`
    pub interface: Option<Type>,
    pub defined: bool,
}

#[derive(Debug)]
pub struct ClassMember {
    pub ty: Type,
    pub dispinterface: bool,
    pub attrs: Vec<Attr>,
}

#[derive(Debug)]
pub struct Delegate {
    pub signature: Signature,
    pub type_params: Vec<String>,
}

#[derive(Debug)]
pub struct Function {
    pub signature: Signature,
}

/// A checked attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub name: String,
    pub args: Vec<AttrValue>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A missing argument (`size_is(, n)`).
    Empty,
    Uuid(Guid),
    Version(String),
    Str(String),
    /// An integer constant.
    Int(i128),
    Float(f64),
    Type(Type),
    /// An expression over fields or parameters (`size_is(count * 2)`), kept symbolic.
    Expr(Expr),
}

/// A GUID in its canonical parts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Guid {
    pub data1: u32,
    pub data2: u16,
    pub data3: u16,
    pub data4: [u8; 8],
}

impl Guid {
    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, with or without braces.
    pub fn parse(text: &str) -> Option<Guid> {
        let t = text.trim().trim_start_matches('{').trim_end_matches('}');
        let parts: Vec<&str> = t.split('-').collect();
        let [a, b, c, d, e] = parts.as_slice() else {
            return None;
        };
        let lens = [a.len(), b.len(), c.len(), d.len(), e.len()];
        if lens != [8, 4, 4, 4, 12] || !t.chars().all(|ch| ch == '-' || ch.is_ascii_hexdigit()) {
            return None;
        }
        let tail = format!("{d}{e}");
        let mut data4 = [0u8; 8];
        for (i, byte) in data4.iter_mut().enumerate() {
            *byte = u8::from_str_radix(tail.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(Guid {
            data1: u32::from_str_radix(a, 16).ok()?,
            data2: u16::from_str_radix(b, 16).ok()?,
            data3: u16::from_str_radix(c, 16).ok()?,
            data4,
        })
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.data4;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            self.data1, self.data2, self.data3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        )
    }
}

/// A symbolic expression (attribute arguments over fields and parameters).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i128),
    Float(f64),
    Str(String),
    /// A field, parameter or constant name.
    Name(String),
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Box<Type>, Box<Expr>),
    SizeOf(Box<Type>),
    Member(Box<Expr>, String),
    Arrow(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trips() {
        let g = Guid::parse("{00000000-0000-0000-C000-000000000046}").unwrap();
        assert_eq!(g.data4, [0xc0, 0, 0, 0, 0, 0, 0, 0x46]);
        assert_eq!(g.to_string(), "00000000-0000-0000-c000-000000000046");
        assert!(Guid::parse("0000-0000").is_none());
        assert!(Guid::parse("0000000g-0000-0000-c000-000000000046").is_none());
    }
}
