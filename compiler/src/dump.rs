//! A stable, readable text dump of the IR, for snapshot tests and for eyeballing what sema
//! made of a file.
//!
//! One block per item declared in a file (not in its imports), in declaration order. Types
//! are written C-ish with every name resolved (`ptr(unique) -> const WCHAR`,
//! `array[4] of int32`, `IVector<HSTRING>`), integers in decimal with hex beside big ones,
//! GUIDs in lowercase, and locations as `name.idl:line:col` with the file *name* only, so
//! the text does not depend on where the repository is checked out. Nothing here iterates
//! a hash map, so the output is deterministic.
//!
//! The same renderer also writes IR back as IDL source ([`Idl`]): declarations as they
//! would be written in an IDL file (`[in] LONG a`, `typedef const WCHAR *LPCWSTR;`), which
//! backends quote in the documentation of what they generate.

use std::fmt::Write as _;

use crate::ir::{
    Attr, AttrValue, Base, CallConv, ClassMember, Expr, Field, Item, ItemId, ItemKind, Method,
    Model, Param, PointerKind, Signature, Type, UnionArm, Value,
};
use crate::source::{FileId, SourceMap, Span};

/// Dumps every item declared in `file` (an IDL file of `model`, with its `#include`s).
pub fn dump(model: &Model, sources: &SourceMap, file: FileId) -> String {
    let d = Dumper::dump(model, sources);
    let mut out = String::new();
    let _ = writeln!(out, "file {}", d.file_name(file));
    if let Some(f) = model.files.iter().find(|f| f.file == file) {
        let imports: Vec<String> = f
            .imports
            .iter()
            .filter_map(|&i| model.files.get(i))
            .map(|imp| d.file_name(imp.file))
            .collect();
        if !imports.is_empty() {
            let _ = writeln!(out, "imports {}", imports.join(", "));
        }
        let included: Vec<String> = f
            .read
            .iter()
            .filter(|&&r| r != file)
            .map(|&r| d.file_name(r))
            .collect();
        if !included.is_empty() {
            let _ = writeln!(out, "includes {}", included.join(", "));
        }
    }
    for (id, item) in model.items_in(file) {
        out.push('\n');
        d.item(&mut out, id, item);
    }
    out
}

/// Renders a type as the dump does, for tests and messages.
pub fn type_to_string(model: &Model, sources: &SourceMap, ty: &Type) -> String {
    Dumper::dump(model, sources).ty(ty)
}

/// Writes IR back as IDL source, one declaration at a time: types in C declarator syntax
/// with every name resolved (`const WCHAR *name`, `BYTE Data4[8]`), attributes as lists
/// (`[in, size_is(count)]`), constants evaluated. Built-in types take one spelling each
/// (`long` for every 32-bit integer, `unsigned __int64`), since the IR does not keep which
/// of MIDL's synonyms the file used. Needs no source map: an anonymous type reads
/// `struct {...}`.
#[derive(Clone, Copy)]
pub struct Idl<'a> {
    d: Dumper<'a>,
}

impl<'a> Idl<'a> {
    pub fn new(model: &'a Model) -> Idl<'a> {
        Idl {
            d: Dumper {
                model,
                sources: None,
                style: Style::Idl,
                omit: &[],
            },
        }
    }

    /// The same renderer leaving the named attributes out of every attribute list (a
    /// backend that shows `helpstring` as text rather than as an attribute).
    pub fn omitting(self, attrs: &'a [&'a str]) -> Idl<'a> {
        Idl {
            d: Dumper {
                omit: attrs,
                ..self.d
            },
        }
    }

    /// A type as an abstract declarator: `const WCHAR *`, `IVector<HSTRING> *`.
    pub fn ty(&self, ty: &Type) -> String {
        self.d.ty(ty)
    }

    /// `ty` declaring `name`: `LONG *sum`, `BYTE Data4[8]`, `HRESULT (*callback)(long)`.
    pub fn declaration(&self, ty: &Type, name: &str) -> String {
        self.d.declarator(ty, name)
    }

    /// How a declared item is named in a type: `IFoo`, `struct tagX`, `Windows.Foo.Bar`.
    pub fn name_of(&self, id: ItemId) -> String {
        self.d.name_of(id)
    }

    /// `[in, out] LONG *value`.
    pub fn param(&self, p: &Param) -> String {
        self.d.param(p)
    }

    /// A struct member or dispinterface property: `[string] WCHAR *name`, `ULONG low : 4`.
    pub fn field(&self, f: &Field) -> String {
        self.d.field(f)
    }

    /// A union arm: `case 1: LONG number`, `[case(2, 3)] double real`, `default: `.
    pub fn arm(&self, arm: &UnionArm) -> String {
        self.d.arm(arm)
    }

    /// `[a, b(1)]`, with the omitted attributes left out.
    pub fn attrs(&self, attrs: &[Attr]) -> String {
        self.d.attrs(attrs)
    }

    /// `[a, b] ` before a declaration, or nothing (also when every attribute is omitted).
    pub fn attrs_prefix(&self, attrs: &[Attr]) -> String {
        self.d.attrs_prefix(attrs)
    }

    /// A function or method declared as `name`: `HRESULT Add([in] LONG a, [in] LONG b)`.
    pub fn function(&self, name: &str, sig: &Signature) -> String {
        self.d.idl_function(name, sig)
    }

    /// A method with its attributes: `[propget, id(1)] HRESULT Count([out, retval] LONG *n)`.
    pub fn method(&self, m: &Method) -> String {
        format!(
            "{}{}",
            self.d.attrs_prefix(&m.attrs),
            self.d.idl_function(&m.name, &m.signature)
        )
    }

    /// A constant's value as IDL writes it: `42`, `0xffffffff`, `"text"`, `1.5`.
    pub fn value(&self, v: &Value) -> String {
        self.d.value(v)
    }

    /// An item's declaration without its body: `typedef unsigned long DWORD;`,
    /// `struct _GUID`, `interface IAdder : IUnknown`, `const LONG MAX = 10;`,
    /// `delegate HRESULT Handler([in] IInspectable *sender)`. Only a typedef shows its
    /// attributes (they are part of what it declares: `typedef [unique] IFoo *LPFOO;`);
    /// [`Idl::attrs_prefix`] gives the others'.
    pub fn item(&self, item: &Item) -> String {
        self.d.idl_item(item)
    }
}

/// Which syntax a [`Dumper`] writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// The dump's own: `ptr(unique) -> const WCHAR`, `name: type @ file:line:col`.
    Dump,
    /// IDL source (see [`Idl`]).
    Idl,
}

#[derive(Clone, Copy)]
struct Dumper<'a> {
    model: &'a Model,
    /// Locations need it; only the dump shows them.
    sources: Option<&'a SourceMap>,
    style: Style,
    /// Attributes left out of attribute lists.
    omit: &'a [&'a str],
}

/// Integers in decimal; big ones (which are usually bit patterns) with their hex beside.
fn int(v: i128) -> String {
    if v >= 0x10000 {
        format!("{v} (0x{v:x})")
    } else {
        v.to_string()
    }
}

/// Integers as IDL source writes them: decimal, and hex for big ones.
fn idl_int(v: i128) -> String {
    if v >= 0x10000 {
        format!("0x{v:x}")
    } else {
        v.to_string()
    }
}

/// A string literal with C escapes, so it stays on one line.
fn c_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// IDL's spelling of a built-in type (one of MIDL's synonyms where there are several).
fn idl_base(b: Base) -> &'static str {
    match b {
        Base::Void => "void",
        // Plain `char` is unsigned in MIDL: say so.
        Base::Char { signed: false } => "unsigned char",
        Base::Char { signed: true } => "signed char",
        Base::Int8 { signed: true } => "__int8",
        Base::Int8 { signed: false } => "unsigned __int8",
        Base::Int16 { signed: true } => "short",
        Base::Int16 { signed: false } => "unsigned short",
        Base::Int32 { signed: true } => "long",
        Base::Int32 { signed: false } => "unsigned long",
        Base::Int64 { signed: true } => "__int64",
        Base::Int64 { signed: false } => "unsigned __int64",
        Base::IntPtr { signed: true } => "__int3264",
        Base::IntPtr { signed: false } => "unsigned __int3264",
        Base::Byte => "byte",
        Base::Boolean => "boolean",
        Base::WChar => "wchar_t",
        Base::Float => "float",
        Base::Double => "double",
        Base::Handle => "handle_t",
        Base::ErrorStatus => "error_status_t",
    }
}

fn base(b: Base) -> &'static str {
    match b {
        Base::Void => "void",
        // MIDL's plain char is unsigned; the IR does not tell it from `unsigned char`.
        Base::Char { signed: false } => "char",
        Base::Char { signed: true } => "signed char",
        Base::Int8 { signed: true } => "int8",
        Base::Int8 { signed: false } => "uint8",
        Base::Int16 { signed: true } => "int16",
        Base::Int16 { signed: false } => "uint16",
        Base::Int32 { signed: true } => "int32",
        Base::Int32 { signed: false } => "uint32",
        Base::Int64 { signed: true } => "int64",
        Base::Int64 { signed: false } => "uint64",
        Base::IntPtr { signed: true } => "int3264",
        Base::IntPtr { signed: false } => "uint3264",
        Base::Byte => "byte",
        Base::Boolean => "boolean",
        Base::WChar => "wchar_t",
        Base::Float => "float",
        Base::Double => "double",
        Base::Handle => "handle_t",
        Base::ErrorStatus => "error_status_t",
    }
}

fn pointer_kind(k: PointerKind) -> &'static str {
    match k {
        PointerKind::Ref => "ref",
        PointerKind::Unique => "unique",
        PointerKind::Full => "full",
        PointerKind::Unspecified => "unspecified",
    }
}

/// A calling convention keyword before a declarator (`__stdcall `), or nothing.
fn idl_callconv(c: &CallConv) -> String {
    callconv(c).map(|c| format!("__{c} ")).unwrap_or_default()
}

fn callconv(c: &CallConv) -> Option<&'static str> {
    match c {
        CallConv::Default => None,
        CallConv::Stdcall => Some("stdcall"),
        CallConv::Cdecl => Some("cdecl"),
        CallConv::Fastcall => Some("fastcall"),
        CallConv::Pascal => Some("pascal"),
        CallConv::Thiscall => Some("thiscall"),
    }
}

/// `kind name` as the item is referred to: `struct tagX`, `IFoo`, `Windows.Foo.Bar`.
fn tag_prefix(kind: &ItemKind) -> &'static str {
    match kind {
        ItemKind::Struct(_) => "struct ",
        ItemKind::Union(_) => "union ",
        ItemKind::Enum(_) => "enum ",
        _ => "",
    }
}

impl<'a> Dumper<'a> {
    fn dump(model: &'a Model, sources: &'a SourceMap) -> Dumper<'a> {
        Dumper {
            model,
            sources: Some(sources),
            style: Style::Dump,
            omit: &[],
        }
    }

    fn file_name(&self, file: FileId) -> String {
        let path = match self.sources {
            Some(sources) => sources.path(file),
            None => match self.model.file_path(file) {
                Some(path) => path,
                None => return "<unknown>".to_string(),
            },
        };
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    }

    fn loc(&self, span: Span) -> String {
        let (line, col) = self
            .sources
            .and_then(|s| s.get(span.file))
            .map(|f| f.line_col(span.start as usize))
            .unwrap_or((0, 0));
        format!("{}:{line}:{col}", self.file_name(span.file))
    }

    fn int(&self, v: i128) -> String {
        match self.style {
            Style::Dump => int(v),
            Style::Idl => idl_int(v),
        }
    }

    fn value(&self, v: &Value) -> String {
        match (v, self.style) {
            (Value::Int(i), _) => self.int(*i),
            (Value::Float(f), _) => format!("{f:?}"),
            (Value::Str(s), Style::Dump) => format!("\"{s}\""),
            (Value::Str(s), Style::Idl) => c_string(s),
            (Value::Unevaluated, _) => "<unevaluated>".to_string(),
        }
    }

    /// How a declared item is named inside a type or a reference.
    fn name_of(&self, id: ItemId) -> String {
        match self.model.item(id) {
            Some(it) if it.name.is_empty() && self.style == Style::Idl => {
                format!("{}{{...}}", tag_prefix(&it.kind))
            }
            Some(it) if it.name.is_empty() => {
                format!("{}<anonymous@{}>", tag_prefix(&it.kind), self.loc(it.span))
            }
            Some(it) => format!("{}{}", tag_prefix(&it.kind), it.full_name()),
            None => format!("<missing item {}>", id.0),
        }
    }

    fn ty(&self, t: &Type) -> String {
        if self.style == Style::Idl {
            return self.declarator(t, "");
        }
        match t {
            Type::Base(b) => base(*b).to_string(),
            Type::Named(id) => self.name_of(*id),
            Type::Pointer {
                pointee,
                kind,
                is_const,
            } => format!(
                "{}ptr({}) -> {}",
                if *is_const { "const " } else { "" },
                pointer_kind(*kind),
                self.ty(pointee)
            ),
            Type::Const(inner) => format!("const {}", self.ty(inner)),
            Type::Array { element, len } => match len {
                Some(n) => format!("array[{n}] of {}", self.ty(element)),
                None => format!("array[] of {}", self.ty(element)),
            },
            Type::Function(sig) => self.inline_signature(sig),
            Type::SafeArray(inner) => format!("SAFEARRAY({})", self.ty(inner)),
            Type::Instance { generic, args } => {
                let args: Vec<String> = args.iter().map(|a| self.ty(a)).collect();
                format!("{}<{}>", self.name_of(*generic), args.join(", "))
            }
            Type::Param(name) => name.clone(),
        }
    }

    fn inline_signature(&self, sig: &Signature) -> String {
        let mut params: Vec<String> = sig.params.iter().map(|p| self.param(p)).collect();
        if sig.varargs {
            params.push("...".to_string());
        }
        let cc = callconv(&sig.callconv)
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        format!("fn{cc}({}) -> {}", params.join(", "), self.ty(&sig.ret))
    }

    fn param(&self, p: &Param) -> String {
        if self.style == Style::Idl {
            return format!(
                "{}{}",
                self.attrs_prefix(&p.attrs),
                self.declarator(&p.ty, &p.name)
            );
        }
        let name = if p.name.is_empty() { "_" } else { &p.name };
        format!("{}{name}: {}", self.attrs_prefix(&p.attrs), self.ty(&p.ty))
    }

    /// `ty` in C declarator syntax around `inner` (a name, or what is already built of the
    /// declarator): pointers prefix it, arrays and parameter lists suffix it, and a pointer
    /// to an array or a function is parenthesized.
    fn declarator(&self, t: &Type, inner: &str) -> String {
        match t {
            Type::Pointer {
                pointee, is_const, ..
            } => {
                let mut d = String::from("*");
                if *is_const {
                    d.push_str(if inner.is_empty() { "const" } else { "const " });
                }
                d.push_str(inner);
                match &**pointee {
                    Type::Array { .. } => self.declarator(pointee, &format!("({d})")),
                    // The calling convention goes inside: `HRESULT (__stdcall *pfn)(void)`.
                    Type::Function(sig) => {
                        let cc = idl_callconv(&sig.callconv);
                        self.function_declarator(sig, &format!("({cc}{d})"))
                    }
                    _ => self.declarator(pointee, &d),
                }
            }
            Type::Array { element, len } => {
                let len = len.map(|n| n.to_string()).unwrap_or_default();
                self.declarator(element, &format!("{inner}[{len}]"))
            }
            Type::Function(sig) => {
                let cc = idl_callconv(&sig.callconv);
                self.function_declarator(sig, &format!("{cc}{inner}"))
            }
            // `const` on a pointer: the pointer itself is constant.
            Type::Const(inner_ty) if matches!(**inner_ty, Type::Pointer { .. }) => {
                let d = if inner.is_empty() {
                    "const".to_string()
                } else {
                    format!("const {inner}")
                };
                self.declarator(inner_ty, &d)
            }
            Type::Const(inner_ty) => format!("const {}", self.declarator(inner_ty, inner)),
            _ => {
                let spec = self.specifier(t);
                if inner.is_empty() {
                    spec
                } else {
                    format!("{spec} {inner}")
                }
            }
        }
    }

    /// A type that is not built by a declarator: a built-in or declared type, an instance.
    fn specifier(&self, t: &Type) -> String {
        match t {
            Type::Base(b) => idl_base(*b).to_string(),
            Type::Named(id) => self.name_of(*id),
            Type::SafeArray(inner) => format!("SAFEARRAY({})", self.ty(inner)),
            Type::Instance { generic, args } => {
                let args: Vec<String> = args.iter().map(|a| self.ty(a)).collect();
                format!("{}<{}>", self.name_of(*generic), args.join(", "))
            }
            Type::Param(name) => name.clone(),
            other => self.declarator(other, ""),
        }
    }

    /// `ret {inner}(params)`.
    fn function_declarator(&self, sig: &Signature, inner: &str) -> String {
        self.declarator(&sig.ret, &format!("{inner}({})", self.params(sig)))
    }

    /// An IDL parameter list, without its parentheses.
    fn params(&self, sig: &Signature) -> String {
        let mut params: Vec<String> = sig.params.iter().map(|p| self.param(p)).collect();
        if sig.varargs {
            params.push("...".to_string());
        }
        params.join(", ")
    }

    /// `HRESULT Name(params)`, with the calling convention if one was written.
    fn idl_function(&self, name: &str, sig: &Signature) -> String {
        let cc = idl_callconv(&sig.callconv);
        self.declarator(&sig.ret, &format!("{cc}{name}({})", self.params(sig)))
    }

    fn arm(&self, arm: &UnionArm) -> String {
        let labelled = arm
            .field
            .attrs
            .iter()
            .any(|a| a.name == "case" || a.name == "default");
        let mut label = String::new();
        if !labelled {
            for c in &arm.cases {
                match c {
                    Some(v) => {
                        let _ = write!(label, "case {}: ", self.int(*v));
                    }
                    None => label.push_str("default: "),
                }
            }
        }
        format!("{label}{}", self.field(&arm.field))
    }

    fn idl_item(&self, item: &Item) -> String {
        let name = item.full_name();
        match &item.kind {
            ItemKind::Typedef(t) => format!(
                "typedef {}{};",
                self.attrs_prefix(&item.attrs),
                self.declarator(t, &name)
            ),
            ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_) if name.is_empty() => {
                format!("{}{{...}}", tag_prefix(&item.kind))
            }
            ItemKind::Union(u) => match &u.switch {
                Some(s) => {
                    let member = s
                        .union_name
                        .as_ref()
                        .map(|n| format!(" {n}"))
                        .unwrap_or_default();
                    format!(
                        "union {name} switch ({}){member}",
                        self.declarator(&s.ty, &s.name)
                    )
                }
                None => format!("union {name}"),
            },
            ItemKind::Const(c) => format!(
                "const {} = {};",
                self.declarator(&c.ty, &name),
                self.value(&c.value)
            ),
            ItemKind::Interface(i) => {
                let mut out = format!("interface {name}");
                if !i.type_params.is_empty() {
                    let _ = write!(out, "<{}>", i.type_params.join(", "));
                }
                if let Some(b) = &i.base {
                    let _ = write!(out, " : {}", self.ty(b));
                }
                if !i.requires.is_empty() {
                    let req: Vec<String> = i.requires.iter().map(|r| self.ty(r)).collect();
                    let _ = write!(out, " requires {}", req.join(", "));
                }
                out
            }
            ItemKind::Delegate(d) => {
                let params = if d.type_params.is_empty() {
                    String::new()
                } else {
                    format!("<{}>", d.type_params.join(", "))
                };
                format!(
                    "delegate {}",
                    self.idl_function(&format!("{name}{params}"), &d.signature)
                )
            }
            ItemKind::Function(f) => self.idl_function(&name, &f.signature),
            ItemKind::CppQuote(text) => format!("cpp_quote({})", c_string(text)),
            ItemKind::ImportLib(text) => format!("importlib({})", c_string(text)),
            ItemKind::Pragma(text) => format!("#pragma {text}"),
            ItemKind::Declare(_) => "declare".to_string(),
            ItemKind::GuidConst(g) => format!("declare_guid({name}, {g})"),
            ItemKind::Pipe(t) => format!("typedef pipe {} {name}", self.ty(t)),
            // The rest are written `keyword name`.
            kind => format!("{} {name}", kind.describe()),
        }
    }

    fn expr(&self, e: &Expr) -> String {
        // Operands that are themselves operations get parentheses, so precedence never
        // has to be guessed when reading the dump.
        let sub = |x: &Expr| match x {
            Expr::Binary(..) | Expr::Ternary(..) | Expr::Cast(..) => format!("({})", self.expr(x)),
            _ => self.expr(x),
        };
        match e {
            Expr::Int(i) => self.int(*i),
            Expr::Float(f) => format!("{f:?}"),
            Expr::Str(s) if self.style == Style::Idl => c_string(s),
            Expr::Str(s) => format!("\"{s}\""),
            Expr::Name(n) => n.clone(),
            Expr::Unary("sizeof", x) => format!("sizeof({})", self.expr(x)),
            Expr::Unary(op, x) => format!("{op}{}", sub(x)),
            Expr::Binary(op, a, b) => format!("{} {op} {}", sub(a), sub(b)),
            Expr::Ternary(c, a, b) => format!("{} ? {} : {}", sub(c), sub(a), sub(b)),
            Expr::Cast(t, x) => format!("({}){}", self.ty(t), sub(x)),
            Expr::SizeOf(t) => format!("sizeof({})", self.ty(t)),
            Expr::Member(x, n) => format!("{}.{n}", sub(x)),
            Expr::Arrow(x, n) => format!("{}->{n}", sub(x)),
            Expr::Index(x, i) => format!("{}[{}]", sub(x), self.expr(i)),
        }
    }

    fn attr_value(&self, v: &AttrValue) -> String {
        match v {
            AttrValue::Empty => String::new(),
            AttrValue::Uuid(g) => g.to_string(),
            AttrValue::Version(v) => v.clone(),
            AttrValue::Str(s) if self.style == Style::Idl => c_string(s),
            AttrValue::Str(s) => format!("\"{s}\""),
            AttrValue::Int(i) => self.int(*i),
            AttrValue::Float(f) => format!("{f:?}"),
            AttrValue::Type(t) => self.ty(t),
            AttrValue::Expr(e) => self.expr(e),
        }
    }

    fn attr(&self, a: &Attr) -> String {
        // `[in]` and `[in()]` mean the same; only arguments are shown.
        if a.args.is_empty() {
            return a.name.clone();
        }
        let args: Vec<String> = a.args.iter().map(|v| self.attr_value(v)).collect();
        format!("{}({})", a.name, args.join(", "))
    }

    fn shown<'b>(&self, attrs: &'b [Attr]) -> impl Iterator<Item = &'b Attr> + use<'b, '_> {
        attrs
            .iter()
            .filter(|a| !self.omit.contains(&a.name.as_str()))
    }

    fn attrs(&self, attrs: &[Attr]) -> String {
        let list: Vec<String> = self.shown(attrs).map(|a| self.attr(a)).collect();
        format!("[{}]", list.join(", "))
    }

    /// `[a, b] ` before a name, or nothing.
    fn attrs_prefix(&self, attrs: &[Attr]) -> String {
        if self.shown(attrs).next().is_none() {
            String::new()
        } else {
            format!("{} ", self.attrs(attrs))
        }
    }

    fn field(&self, f: &Field) -> String {
        if self.style == Style::Idl {
            let decl = match &f.ty {
                Some(t) => self.declarator(t, &f.name),
                None => String::new(),
            };
            let bits = f.bits.map(|b| format!(" : {b}")).unwrap_or_default();
            return format!("{}{decl}{bits}", self.attrs_prefix(&f.attrs));
        }
        let name = if f.name.is_empty() {
            "<unnamed>"
        } else {
            &f.name
        };
        let ty = match &f.ty {
            Some(t) => format!(": {}", self.ty(t)),
            None => " (empty)".to_string(),
        };
        let bits = f.bits.map(|b| format!(" : {b} bits")).unwrap_or_default();
        format!(
            "{}{name}{ty}{bits} @ {}",
            self.attrs_prefix(&f.attrs),
            self.loc(f.span)
        )
    }

    fn signature(&self, out: &mut String, indent: &str, sig: &Signature) {
        if let Some(cc) = callconv(&sig.callconv) {
            let _ = writeln!(out, "{indent}callconv {cc}");
        }
        let _ = writeln!(out, "{indent}returns {}", self.ty(&sig.ret));
        for p in &sig.params {
            let _ = writeln!(out, "{indent}param {}", self.param(p));
        }
        if sig.varargs {
            let _ = writeln!(out, "{indent}param ...");
        }
    }

    fn method(&self, out: &mut String, m: &Method) {
        let _ = writeln!(out, "  method {} @ {}", m.name, self.loc(m.span));
        if !m.attrs.is_empty() {
            let _ = writeln!(out, "    attrs {}", self.attrs(&m.attrs));
        }
        self.signature(out, "    ", &m.signature);
    }

    fn class_member(&self, m: &ClassMember) -> String {
        format!(
            "{}{} {}",
            self.attrs_prefix(&m.attrs),
            if m.dispinterface {
                "dispinterface"
            } else {
                "interface"
            },
            self.ty(&m.ty)
        )
    }

    fn children(&self, ids: &[ItemId]) -> String {
        let names: Vec<String> = ids
            .iter()
            .map(|&id| match self.model.item(id) {
                Some(it) if it.name.is_empty() => it.kind.describe().to_string(),
                Some(it) => format!("{} {}", it.kind.describe(), it.full_name()),
                None => format!("<missing item {}>", id.0),
            })
            .collect();
        names.join(", ")
    }

    fn item(&self, out: &mut String, id: ItemId, item: &Item) {
        let name = if item.name.is_empty() {
            String::new()
        } else {
            format!(" {}", item.full_name())
        };
        let forward = match &item.kind {
            ItemKind::Struct(r) if !r.defined => " (not defined)",
            ItemKind::Union(u) if !u.defined => " (not defined)",
            ItemKind::Enum(e) if !e.defined => " (not defined)",
            ItemKind::Interface(i) if !i.defined => " (not defined)",
            ItemKind::Dispinterface(d) if !d.defined => " (not defined)",
            _ => "",
        };
        let _ = writeln!(
            out,
            "{}{name}{forward} @ {}",
            item.kind.describe(),
            self.loc(item.span)
        );
        if item.name.is_empty() && item.kind.is_type() {
            let _ = writeln!(out, "  referred to as {}", self.name_of(id));
        }
        if let Some(parent) = item.parent.and_then(|p| self.model.item(p)) {
            let _ = writeln!(
                out,
                "  parent {} {}",
                parent.kind.describe(),
                parent.full_name()
            );
        }
        if !item.attrs.is_empty() {
            let _ = writeln!(out, "  attrs {}", self.attrs(&item.attrs));
        }
        match &item.kind {
            ItemKind::Typedef(t) => {
                let _ = writeln!(out, "  type {}", self.ty(t));
            }
            ItemKind::Pipe(t) => {
                let _ = writeln!(out, "  pipe of {}", self.ty(t));
            }
            ItemKind::Struct(r) => {
                if let Some(p) = r.pack {
                    let _ = writeln!(out, "  pack {p}");
                }
                for f in &r.fields {
                    let _ = writeln!(out, "  field {}", self.field(f));
                }
            }
            ItemKind::Union(u) => {
                if let Some(p) = u.pack {
                    let _ = writeln!(out, "  pack {p}");
                }
                if let Some(s) = &u.switch {
                    let union_name = s
                        .union_name
                        .as_ref()
                        .map(|n| format!(", union member {n}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "  switch {}: {}{union_name}", s.name, self.ty(&s.ty));
                }
                for arm in &u.arms {
                    let cases: Vec<String> = arm
                        .cases
                        .iter()
                        .map(|c| match c {
                            Some(v) => format!("case {}", int(*v)),
                            None => "default".to_string(),
                        })
                        .collect();
                    let label = if cases.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", cases.join(", "))
                    };
                    let _ = writeln!(out, "  arm{label}: {}", self.field(&arm.field));
                }
            }
            ItemKind::Enum(e) => {
                for v in &e.variants {
                    let _ = writeln!(
                        out,
                        "  variant {}{} = {} @ {}",
                        self.attrs_prefix(&v.attrs),
                        v.name,
                        int(v.value),
                        self.loc(v.span)
                    );
                }
            }
            ItemKind::Const(c) => {
                let _ = writeln!(out, "  type {}", self.ty(&c.ty));
                let _ = writeln!(out, "  value {}", self.value(&c.value));
            }
            ItemKind::Interface(i) => {
                if !i.type_params.is_empty() {
                    let _ = writeln!(out, "  type params <{}>", i.type_params.join(", "));
                }
                if let Some(b) = &i.base {
                    let _ = writeln!(out, "  base {}", self.ty(b));
                }
                for r in &i.requires {
                    let _ = writeln!(out, "  requires {}", self.ty(r));
                }
                if !i.members.is_empty() {
                    let _ = writeln!(out, "  members {}", self.children(&i.members));
                }
                for m in &i.methods {
                    self.method(out, m);
                }
            }
            ItemKind::Dispinterface(d) => {
                if let Some(t) = &d.interface {
                    let _ = writeln!(out, "  interface {}", self.ty(t));
                }
                for p in &d.properties {
                    let _ = writeln!(out, "  property {}", self.field(p));
                }
                for m in &d.methods {
                    self.method(out, m);
                }
            }
            ItemKind::Coclass(members) | ItemKind::RuntimeClass(members) => {
                for m in members {
                    let _ = writeln!(out, "  member {}", self.class_member(m));
                }
            }
            ItemKind::Delegate(dg) => {
                if !dg.type_params.is_empty() {
                    let _ = writeln!(out, "  type params <{}>", dg.type_params.join(", "));
                }
                self.signature(out, "  ", &dg.signature);
            }
            ItemKind::ApiContract => {}
            ItemKind::Library(items) | ItemKind::Module(items) => {
                if !items.is_empty() {
                    let _ = writeln!(out, "  items {}", self.children(items));
                }
            }
            ItemKind::Function(f) => self.signature(out, "  ", &f.signature),
            ItemKind::CppQuote(text) | ItemKind::ImportLib(text) | ItemKind::Pragma(text) => {
                let _ = writeln!(out, "  text \"{text}\"");
            }
            ItemKind::Declare(types) => {
                for t in types {
                    let _ = writeln!(out, "  instance {}", self.ty(t));
                }
            }
            ItemKind::GuidConst(g) => {
                let _ = writeln!(out, "  guid {g}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Base, CallConv, Item, Param, PointerKind, Signature, Type, Value};

    fn model_with(items: Vec<Item>) -> Model {
        Model {
            items,
            ..Model::default()
        }
    }

    fn item(name: &str, kind: ItemKind, span: Span) -> Item {
        Item {
            name: name.to_string(),
            namespace: String::new(),
            kind,
            attrs: Vec::new(),
            parent: None,
            file: span.file,
            span,
            c_visibility: Default::default(),
        }
    }

    #[test]
    fn types_read_like_c() {
        let mut sources = SourceMap::new();
        let f = sources.add("/some/where/t.idl", "typedef wchar_t WCHAR;\n");
        let model = model_with(vec![item(
            "WCHAR",
            ItemKind::Typedef(Type::Base(Base::WChar)),
            Span::new(f, 16, 21),
        )]);
        let ty = Type::Array {
            element: Box::new(Type::Pointer {
                pointee: Box::new(Type::Const(Box::new(Type::Named(ItemId(0))))),
                kind: PointerKind::Unique,
                is_const: false,
            }),
            len: Some(4),
        };
        assert_eq!(
            type_to_string(&model, &sources, &ty),
            "array[4] of ptr(unique) -> const WCHAR"
        );
        let text = dump(&model, &sources, f);
        assert!(text.starts_with("file t.idl\n"), "{text}");
        assert!(
            text.contains("typedef WCHAR @ t.idl:1:17\n  type wchar_t\n"),
            "{text}"
        );
    }

    #[test]
    fn idl_declarators_read_like_idl() {
        let mut sources = SourceMap::new();
        let f = sources.add("/some/where/t.idl", "typedef wchar_t WCHAR;\n");
        let model = model_with(vec![item(
            "WCHAR",
            ItemKind::Typedef(Type::Base(Base::WChar)),
            Span::new(f, 16, 21),
        )]);
        let idl = Idl::new(&model);
        let ptr = |t: Type| Type::Pointer {
            pointee: Box::new(t),
            kind: PointerKind::Unique,
            is_const: false,
        };
        let wchar = Type::Named(ItemId(0));
        let long = Type::Base(Base::Int32 { signed: true });
        assert_eq!(
            idl.declaration(&ptr(Type::Const(Box::new(wchar.clone()))), "name"),
            "const WCHAR *name"
        );
        assert_eq!(idl.ty(&ptr(ptr(Type::Base(Base::Void)))), "void **");
        let array = Type::Array {
            element: Box::new(ptr(wchar.clone())),
            len: Some(4),
        };
        assert_eq!(idl.declaration(&array, "names"), "WCHAR *names[4]");
        assert_eq!(idl.declaration(&ptr(array), "table"), "WCHAR *(*table)[4]");
        let sig = Signature {
            ret: long.clone(),
            params: vec![Param {
                name: "x".into(),
                ty: long.clone(),
                attrs: Vec::new(),
                span: Span::new(f, 0, 0),
            }],
            varargs: true,
            callconv: CallConv::Stdcall,
        };
        assert_eq!(
            idl.declaration(&ptr(Type::Function(Box::new(sig.clone()))), "pfn"),
            "long (__stdcall *pfn)(long x, ...)"
        );
        assert_eq!(idl.function("F", &sig), "long __stdcall F(long x, ...)");
        assert_eq!(idl.value(&Value::Int(0xFFFF_FFFF)), "0xffffffff");
        assert_eq!(idl.value(&Value::Str("a\"b\n".into())), "\"a\\\"b\\n\"");
        assert_eq!(idl.item(&model.items[0]), "typedef wchar_t WCHAR;");
    }

    #[test]
    fn big_integers_show_hex() {
        assert_eq!(int(7), "7");
        assert_eq!(int(-1), "-1");
        assert_eq!(int(0xFFFF_FFFF), "4294967295 (0xffffffff)");
    }
}
