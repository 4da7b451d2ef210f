//! The syntax tree: what the file says, with a span on every node. No name is resolved and
//! no expression evaluated here; that is sema's job.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// `A.B.C` (WinRT namespaces) or a plain name.
#[derive(Clone, Debug, PartialEq)]
pub struct QualifiedName {
    pub parts: Vec<Ident>,
    pub span: Span,
}

impl QualifiedName {
    /// The name as written, parts joined with `.`.
    pub fn dotted(&self) -> String {
        let names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        names.join(".")
    }

    /// The last part: the simple name.
    pub fn last(&self) -> &str {
        self.parts.last().map(|p| p.name.as_str()).unwrap_or("")
    }
}

/// A string literal (adjacent literals already concatenated), escapes kept as written.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub wide: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    /// `None` for `[name]`, `Some` for `[name(...)]` (possibly with empty arguments).
    pub args: Option<Vec<AttrArg>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttrArg {
    /// A missing argument, as in `size_is(, *pcount)`.
    Empty(Span),
    /// An unquoted GUID, as in `uuid(00000000-0000-0000-c000-000000000046)`.
    Uuid(String, Span),
    /// A dotted version such as `1.0` or `5.0.1`.
    Version(String, Span),
    Str(StrLit),
    Expr(Expr),
    Type(TypeRef),
    /// A declaration, as in `implicit_handle(handle_t h)`.
    Decl(Param),
}

impl AttrArg {
    pub fn span(&self) -> Span {
        match self {
            AttrArg::Empty(s) | AttrArg::Uuid(_, s) | AttrArg::Version(_, s) => *s,
            AttrArg::Str(s) => s.span,
            AttrArg::Expr(e) => e.span,
            AttrArg::Type(t) => t.span,
            AttrArg::Decl(p) => p.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub attrs: Vec<Attribute>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Import(Vec<StrLit>),
    ImportLib(StrLit),
    CppQuote(StrLit),
    /// `declare_guid(NAME, guid)`: the name and the GUID's text with its span.
    DeclareGuid(Ident, String, Span),
    /// The text after `#`, e.g. `pragma pack(push, 8)`.
    Pragma(String),
    /// `midl_pragma warning(disable: 2362)`: the word and the text in parentheses.
    MidlPragma(String, String),
    Interface(Interface),
    Dispinterface(Dispinterface),
    Coclass(Class),
    RuntimeClass(Class),
    /// `apicontract Name;` (a forward declaration: `false`) or `apicontract Name {};`.
    ApiContract(QualifiedName, bool),
    Delegate(Delegate),
    Library(Container),
    Module(Container),
    Namespace(Namespace),
    /// `declare { interface IVector<int>; ... }`
    Declare(Vec<ClassMember>),
    Typedef(Typedef),
    Const(ConstDecl),
    Declaration(Declaration),
    /// A lone `;`.
    Empty,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Interface {
    pub name: QualifiedName,
    pub type_params: Vec<Ident>,
    /// `None` for a forward declaration.
    pub body: Option<InterfaceBody>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InterfaceBody {
    pub base: Option<TypeRef>,
    pub requires: Vec<TypeRef>,
    pub members: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dispinterface {
    pub name: Ident,
    pub body: Option<DispBody>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DispBody {
    /// `dispinterface D { interface I; }`
    Interface(TypeRef),
    Members {
        properties: Vec<Field>,
        methods: Vec<Item>,
    },
}

/// A coclass or runtimeclass.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    pub name: QualifiedName,
    pub members: Option<Vec<ClassMember>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClassMember {
    pub attrs: Vec<Attribute>,
    pub dispinterface: bool,
    pub ty: TypeRef,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delegate {
    pub ret: DeclSpec,
    pub name: Ident,
    pub type_params: Vec<Ident>,
    pub params: ParamList,
}

/// A library or module: a name and the statements inside.
#[derive(Clone, Debug, PartialEq)]
pub struct Container {
    pub name: Ident,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Namespace {
    pub name: QualifiedName,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Typedef {
    pub attrs: Vec<Attribute>,
    pub spec: DeclSpec,
    pub declarators: Vec<Declarator>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConstDecl {
    pub spec: DeclSpec,
    pub declarator: Declarator,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Declaration {
    pub spec: DeclSpec,
    pub declarators: Vec<InitDeclarator>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InitDeclarator {
    pub declarator: Declarator,
    pub init: Option<Expr>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallConv {
    Stdcall,
    Cdecl,
    Fastcall,
    Pascal,
    Thiscall,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeclSpec {
    pub is_const: bool,
    pub is_volatile: bool,
    pub callconv: Option<CallConv>,
    pub storage: Option<String>,
    pub ty: TypeSpec,
    pub span: Span,
}

/// Built-in types, spelled as MIDL spells them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BaseKind {
    Void,
    Char,
    Small,
    Short,
    Int,
    Long,
    LongLong,
    Hyper,
    Int8,
    Int16,
    Int32,
    Int64,
    Int3264,
    Byte,
    Boolean,
    WChar,
    Float,
    Double,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Signedness {
    Default,
    Signed,
    Unsigned,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeSpec {
    Base(BaseKind, Signedness),
    /// A type name, with WinRT type arguments when it names a parameterized interface.
    Named(QualifiedName, Vec<TypeRef>),
    Struct(StructSpec),
    Union(UnionSpec),
    Enum(EnumSpec),
    SafeArray(Box<TypeRef>),
    /// `pipe T`: only in a typedef (`typedef pipe long LONG_PIPE;`), which declares the pipe.
    Pipe(Box<TypeRef>),
    /// `interface IFoo`, `dispinterface D`, `coclass C` used as a type.
    Tagged(TagKind, QualifiedName),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TagKind {
    Interface,
    Dispinterface,
    Coclass,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructSpec {
    pub name: Option<Ident>,
    /// `None` for a reference such as `struct tagFOO *`.
    pub fields: Option<Vec<Field>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnionSpec {
    pub name: Option<Ident>,
    pub body: Option<UnionBody>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UnionBody {
    /// A plain or non-encapsulated union: arms select with `[case(..)]` attributes.
    Plain(Vec<Field>),
    /// `union switch (long kind) u { case 1: ...; default: ...; }`
    Encapsulated {
        switch_spec: Box<DeclSpec>,
        switch_name: Ident,
        union_name: Option<Ident>,
        arms: Vec<UnionArm>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnionArm {
    /// `None` is `default:`.
    pub labels: Vec<Option<Expr>>,
    pub field: Option<Field>,
    pub span: Span,
}

/// A struct or union member; `declarators` is empty for an empty arm (`[default] ;`) and for
/// an anonymous struct/union member.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub attrs: Vec<Attribute>,
    pub spec: Option<DeclSpec>,
    pub declarators: Vec<FieldDeclarator>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldDeclarator {
    /// `None` for an unnamed bitfield (`: 0`).
    pub declarator: Option<Declarator>,
    pub bits: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnumSpec {
    pub name: Option<Ident>,
    pub variants: Option<Vec<Enumerator>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Enumerator {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub value: Option<Expr>,
    pub span: Span,
}

/// A declarator: an optional name and the type operations applied to the declaration's base
/// type, innermost first. `int *a[4]` has ops `[Pointer, Array(4)]`: an array of 4 pointers.
#[derive(Clone, Debug, PartialEq)]
pub struct Declarator {
    pub name: Option<Ident>,
    pub ops: Vec<TypeOp>,
    pub span: Span,
}

impl Declarator {
    /// The parameters when this declares a function (its outermost operation is a call).
    pub fn function(&self) -> Option<&ParamList> {
        match self.ops.last() {
            Some(TypeOp::Function(params, _)) => Some(params),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeOp {
    Pointer {
        is_const: bool,
        callconv: Option<CallConv>,
    },
    /// `[N]` (size), `[]` or `[*]` (conformant: `None`).
    Array(Option<Expr>),
    Function(ParamList, Option<CallConv>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamList {
    pub params: Vec<Param>,
    pub varargs: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub attrs: Vec<Attribute>,
    pub spec: DeclSpec,
    pub declarator: Declarator,
    pub span: Span,
}

/// A type written without a name: `IUnknown *`, `unsigned long`, `IVector<HSTRING>`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeRef {
    pub spec: DeclSpec,
    pub ops: Vec<TypeOp>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
    BitNot,
    Deref,
    AddrOf,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    LogOr,
    LogAnd,
    BitOr,
    BitXor,
    BitAnd,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal; `unsigned` when it had a `u` suffix; `decimal` unless written in
    /// hex or octal (C gives those a different type when they exceed `int`).
    Int {
        value: u64,
        unsigned: bool,
        decimal: bool,
    },
    Float(f64),
    /// A character literal's value.
    Char(u32),
    Str(StrLit),
    Name(String),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Box<TypeRef>, Box<Expr>),
    SizeofType(Box<TypeRef>),
    SizeofExpr(Box<Expr>),
    Member(Box<Expr>, Ident),
    Arrow(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
}
