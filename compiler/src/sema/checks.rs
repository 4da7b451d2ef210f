//! Rules that need the whole model lowered, so that type names resolve through typedefs
//! declared anywhere: what MIDL and widl refuse although each declaration parsed.
//!
//! - An `[out]` parameter is a pointer (or an array, which C passes as one): the callee
//!   writes its result through it. `[out] LONG dy` would leave nowhere to write. An error
//!   where the call is marshalled (a method of an interface that is not `[local]` and not
//!   declared inside a library), as widl has it; a warning elsewhere (local interfaces,
//!   library interfaces, dispinterfaces, functions: Wine's own mshtml.idl and msctf.idl
//!   have one each, and nothing is marshalled there).
//! - `[string]`, `size_is` and `length_is` stand on a pointer or an array (directly or
//!   through typedefs): they describe the elements an address holds.
//! - A parameter with a name is not of type `void`: no value has that type.
//! - Where a call is marshalled, sizing attributes (`size_is`, `length_is`, `iid_is`,
//!   `switch_is`, ...) name parameters, fields or constants that exist, and `size_is` /
//!   `length_is` name integers: the stub reads the count from them. This holds for the
//!   parameters of marshalled methods and for the fields of every struct and union those
//!   parameters reach. (Elsewhere an unknown name stays a warning: wmsdkidl.idl sizes by a
//!   parameter that does not exist, in a local interface.)
//! - A typedef name is defined once in a file, or again as the same type (C11 allows
//!   repeating a typedef; a different type would give C two meanings for one name). Across
//!   files a later definition is let pass, as widl does (Wine's dcommon.idl redefines
//!   POINT, msctf.idl HKL).
//! - Every enumerator's value is evaluated, even in an enum nothing uses: `enum { A = 1/0 };`
//!   is an error whether or not `A` is used.
//! - An `[object]` interface has a `uuid`: QueryInterface knows it by nothing else. (A
//!   warning: widl accepts it.)
//! - One interface does not declare two methods of one name, unless they are the property
//!   accessors of one property (`[propget]`, `[propput]`, `[propputref]`) or WinRT
//!   overloads (`[overload]`): C would get two vtable slots of one name.
//!
//! Run after lowering, on the IR.

use std::collections::HashSet;

use super::{ConstDef, Sema};
use crate::diag::{Diagnostic, Severity};
use crate::ir::{
    self, AttrValue, Base, Expr, ItemId, ItemKind, Method, PointerKind, Signature, Type,
};
use crate::source::Span;

/// Attributes whose arguments name the parameters or fields the marshaller reads.
const SIZING: [&str; 8] = [
    "size_is",
    "length_is",
    "first_is",
    "last_is",
    "max_is",
    "min_is",
    "switch_is",
    "iid_is",
];

/// Sizing attributes that count elements: they stand on addresses and read integers.
const COUNTS: [&str; 2] = ["size_is", "length_is"];

/// A parameter or field as the checks see it.
struct Member<'m> {
    name: &'m str,
    ty: &'m Type,
    attrs: &'m [ir::Attr],
    span: Span,
}

impl Sema<'_> {
    pub(crate) fn check_declarations(&mut self) {
        self.evaluate_all_enums();
        self.check_typedef_repeats();
        // A uuid that did not parse was reported already; a second message about the
        // missing IID would only repeat it.
        let had_errors = self.diags.iter().any(Diagnostic::is_error);
        let mut found = Vec::new();
        // Spans of sizing attributes where an unknown name is an error, not a warning.
        let mut strict = Vec::new();
        let mut remoted_types = HashSet::new();
        for item in &self.model.items {
            match &item.kind {
                ItemKind::Interface(i) => {
                    if !had_errors && i.defined && item.has_attr("object") && item.uuid().is_none()
                    {
                        found.push(
                            // A warning, not an error: widl accepts it (d3dcommon.idl's
                            // ID3DInclude is one), and C code may still use the vtable.
                            Diagnostic::warning(format!(
                                "object interface `{}` has no uuid: it gets no IID, so no \
                                 QueryInterface can ask for it",
                                item.full_name()
                            ))
                            .at_with(item.span, "add `uuid(...)`"),
                        );
                    }
                    // widl marshals neither [local] interfaces nor those declared inside a
                    // library (Wine's mshtml.idl has a non-pointer [out] in one).
                    let local = item.has_attr("local") || self.in_library(item);
                    for method in &i.methods {
                        let remoted = !local && !method.has_attr("local");
                        self.check_signature(&method.signature, remoted, &mut found, &mut strict);
                        if remoted {
                            for p in &method.signature.params {
                                self.reach(&p.ty, &mut remoted_types);
                            }
                        }
                    }
                    self.check_methods(&item.full_name(), &i.methods, &mut found);
                }
                ItemKind::Dispinterface(d) => {
                    for method in &d.methods {
                        self.check_signature(&method.signature, false, &mut found, &mut strict);
                    }
                    self.check_methods(&item.full_name(), &d.methods, &mut found);
                }
                ItemKind::Function(f) => {
                    self.check_signature(&f.signature, false, &mut found, &mut strict)
                }
                ItemKind::Delegate(d) => {
                    self.check_signature(&d.signature, false, &mut found, &mut strict)
                }
                ItemKind::Typedef(ty) => {
                    if let Some(a) = item.attr("string")
                        && !self.passes_by_address(ty)
                    {
                        found.push(not_an_address("string", &item.name, a.span));
                    }
                }
                _ => {}
            }
        }
        for (index, item) in self.model.items.iter().enumerate() {
            let id = ItemId(u32::try_from(index).unwrap_or(u32::MAX));
            let fields: Vec<&ir::Field> = match &item.kind {
                ItemKind::Struct(r) => r.fields.iter().collect(),
                ItemKind::Union(u) => u.arms.iter().map(|a| &a.field).collect(),
                _ => continue,
            };
            let members: Vec<Member> = fields
                .iter()
                .filter_map(|f| {
                    Some(Member {
                        name: &f.name,
                        ty: f.ty.as_ref()?,
                        attrs: &f.attrs,
                        span: f.span,
                    })
                })
                .collect();
            let remoted = remoted_types.contains(&id);
            self.check_members(&members, remoted, &mut found, &mut strict);
        }
        // An unknown name in a sizing attribute was reported as a warning while the
        // attribute was lowered; where the call is marshalled it is an error.
        for d in &mut self.diags {
            let within = |s: &Span| {
                d.primary.as_ref().is_some_and(|p| {
                    p.span.file == s.file && p.span.start >= s.start && p.span.end <= s.end
                })
            };
            if d.severity == Severity::Warning
                && d.message.starts_with("unknown name `")
                && strict.iter().any(within)
            {
                d.severity = Severity::Error;
                d.notes
                    .push("the call is marshalled, and the stub must read this value".to_string());
            }
        }
        self.diags.append(&mut found);
    }

    fn check_signature(
        &self,
        signature: &Signature,
        remoted: bool,
        found: &mut Vec<Diagnostic>,
        strict: &mut Vec<Span>,
    ) {
        for p in &signature.params {
            if p.has_attr("out") && !self.passes_by_address(&p.ty) {
                let message = format!(
                    "[out] parameter `{}` is not a pointer: no value can come back through it",
                    p.name
                );
                let label = "the callee has nowhere to write its result";
                found.push(if remoted {
                    Diagnostic::error(message)
                        .at_with(p.span, label)
                        .note("the method is marshalled (its interface is not [local])")
                } else {
                    // A warning, not an error: nothing is marshalled here, and widl accepts
                    // it (Wine's own mshtml.idl and msctf.idl have one each).
                    Diagnostic::warning(message).at_with(p.span, label)
                });
            }
            // A type that failed to resolve is lowered as void: that was reported already.
            if !p.name.is_empty() && self.is_void(&p.ty) && !self.error_within(p.span) {
                found.push(
                    Diagnostic::error(format!("parameter `{}` has type void", p.name))
                        .at_with(p.span, "no value has type void"),
                );
            }
        }
        let members: Vec<Member> = signature
            .params
            .iter()
            .map(|p| Member {
                name: &p.name,
                ty: &p.ty,
                attrs: &p.attrs,
                span: p.span,
            })
            .collect();
        self.check_members(&members, remoted, found, strict);
    }

    /// Checks the attributes on the parameters of one signature or the fields of one
    /// record; `remoted` when they are marshalled.
    fn check_members(
        &self,
        members: &[Member],
        remoted: bool,
        found: &mut Vec<Diagnostic>,
        strict: &mut Vec<Span>,
    ) {
        for m in members {
            for a in m.attrs {
                let name = a.name.as_str();
                if (name == "string" || COUNTS.contains(&name)) && !self.passes_by_address(m.ty) {
                    found.push(not_an_address(name, m.name, a.span));
                }
                if !remoted || !SIZING.contains(&name) {
                    continue;
                }
                strict.push(a.span);
                if !COUNTS.contains(&name) {
                    continue;
                }
                for arg in &a.args {
                    let AttrValue::Expr(e) = arg else { continue };
                    if let Some(ty) = expr_type(e, members)
                        && self.not_integer(&ty)
                    {
                        found.push(
                            Diagnostic::error(format!(
                                "`{name}` of `{}` does not name an integer",
                                m.name
                            ))
                            .at_with(a.span, "the stub reads an element count here")
                            .also(m.span, "on this declaration"),
                        );
                    }
                }
            }
        }
    }

    /// Marks every struct and union that a value of type `ty` contains or points to.
    fn reach(&self, ty: &Type, seen: &mut HashSet<ItemId>) {
        match ty {
            Type::Pointer { pointee: t, .. }
            | Type::Const(t)
            | Type::Array { element: t, .. }
            | Type::SafeArray(t) => self.reach(t, seen),
            Type::Named(id) => {
                if !seen.insert(*id) {
                    return;
                }
                match self.item(*id).map(|it| &it.kind) {
                    Some(ItemKind::Typedef(t)) => self.reach(t, seen),
                    Some(ItemKind::Struct(r)) => {
                        for t in r.fields.iter().filter_map(|f| f.ty.as_ref()) {
                            self.reach(t, seen);
                        }
                    }
                    Some(ItemKind::Union(u)) => {
                        for t in u.arms.iter().filter_map(|a| a.field.ty.as_ref()) {
                            self.reach(t, seen);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The type behind typedefs and `const`.
    pub(super) fn resolved<'t>(&'t self, mut ty: &'t Type) -> &'t Type {
        // Typedef chains are acyclic once `check_cycles` passed; the bound keeps a broken
        // model from looping.
        for _ in 0..64 {
            match ty {
                Type::Const(inner) => ty = inner,
                Type::Named(id) => match self.item(*id).map(|it| &it.kind) {
                    Some(ItemKind::Typedef(target)) => ty = target,
                    _ => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// Whether an error was already reported inside `span`.
    fn error_within(&self, span: Span) -> bool {
        self.diags.iter().any(|d| {
            d.is_error()
                && d.primary.as_ref().is_some_and(|p| {
                    p.span.file == span.file && p.span.start >= span.start && p.span.end <= span.end
                })
        })
    }

    /// Whether `item` is declared inside a library block.
    fn in_library(&self, item: &ir::Item) -> bool {
        let mut parent = item.parent;
        // Nesting is shallow; the bound keeps a broken model from looping.
        for _ in 0..64 {
            let Some(p) = parent.and_then(|id| self.item(id)) else {
                return false;
            };
            if matches!(p.kind, ItemKind::Library(_)) {
                return true;
            }
            parent = p.parent;
        }
        false
    }

    fn is_void(&self, ty: &Type) -> bool {
        matches!(self.resolved(ty), Type::Base(Base::Void))
    }

    /// A type that certainly is no integer (a pointer, a float, a record...); unknown
    /// shapes are given the benefit of the doubt.
    fn not_integer(&self, ty: &Type) -> bool {
        match self.resolved(ty) {
            Type::Pointer { .. } | Type::Array { .. } | Type::Function(_) => true,
            Type::Base(b) => matches!(b, Base::Float | Base::Double | Base::Void),
            Type::Named(id) => matches!(
                self.item(*id).map(|it| &it.kind),
                Some(
                    ItemKind::Struct(_)
                        | ItemKind::Union(_)
                        | ItemKind::Interface(_)
                        | ItemKind::Dispinterface(_)
                )
            ),
            _ => false,
        }
    }

    /// Evaluates every enum that has not been, so an error in an enum nothing refers to is
    /// still reported (values are otherwise computed on first use).
    fn evaluate_all_enums(&mut self) {
        let mut specs: Vec<_> = self
            .consts
            .values()
            .filter_map(|def| match def {
                ConstDef::Enumerator(spec, _) => Some(*spec),
                ConstDef::Const(..) => None,
            })
            .collect();
        // In source order, so diagnostics come out the same every run.
        specs.sort_by_key(|s| (s.span.file, s.span.start));
        specs.dedup_by_key(|s| std::ptr::from_ref(*s));
        for spec in specs {
            self.enum_values(spec);
        }
    }

    /// A typedef name declared again must name the same type.
    fn check_typedef_repeats(&mut self) {
        for (id, spec, ops, span, ctx) in std::mem::take(&mut self.typedef_repeats) {
            let again = self.lower_type(spec, ops, &ctx);
            let Some(first) = self.item(id) else { continue };
            let ItemKind::Typedef(before) = &first.kind else {
                continue;
            };
            // Across files widl lets the later typedef pass (dcommon.idl redefines
            // wtypes.idl's POINT, msctf.idl its HKL); within one file it is an error.
            if first.span.file == span.file
                && strip_pointer_kinds(before) != strip_pointer_kinds(&again)
            {
                let d = Diagnostic::error(format!(
                    "typedef `{}` is defined again as a different type",
                    first.name
                ))
                .at_with(span, "redefined here")
                .also(first.span, "first defined here");
                self.error(d);
            }
        }
    }

    fn check_methods(&self, interface: &str, methods: &[Method], found: &mut Vec<Diagnostic>) {
        for (index, method) in methods.iter().enumerate() {
            let earlier = methods[..index]
                .iter()
                .find(|m| m.name == method.name && !distinct_accessors(m, method));
            if let Some(earlier) = earlier {
                found.push(
                    Diagnostic::error(format!(
                        "interface `{interface}` declares method `{}` twice",
                        method.name
                    ))
                    .at_with(method.span, "declared again here")
                    .also(earlier.span, "first declared here"),
                );
            }
        }
    }

    /// Whether a parameter of type `ty` reaches the callee as an address: a pointer or an
    /// array, directly or through typedefs. A type parameter of a WinRT generic is given
    /// the benefit of the doubt (its instances are checked where they are used).
    fn passes_by_address(&self, ty: &Type) -> bool {
        let mut ty = ty;
        // Typedef chains are acyclic once `check_cycles` passed; the bound keeps a broken
        // model from looping.
        for _ in 0..64 {
            match ty {
                Type::Pointer { .. } | Type::Array { .. } | Type::Param(_) => return true,
                Type::Const(inner) => ty = inner,
                Type::Named(id) => match self.item(*id).map(|it| &it.kind) {
                    Some(ItemKind::Typedef(target)) => ty = target,
                    _ => return false,
                },
                _ => return false,
            }
        }
        true
    }
}

/// Two methods of one name that C and the type library keep apart: different property
/// accessors, or WinRT overloads.
fn distinct_accessors(a: &Method, b: &Method) -> bool {
    let kind = |m: &Method| {
        [
            "propget",
            "propput",
            "propputref",
            "eventadd",
            "eventremove",
        ]
        .into_iter()
        .find(|k| m.has_attr(k))
    };
    let overloads = a.has_attr("overload") || b.has_attr("overload");
    // A plain method beside a [propput] one of its name is how some type libraries spell
    // a property's getter (wmp.idl's `currentItem`).
    overloads || kind(a) != kind(b)
}

fn not_an_address(attr: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(format!(
        "[{attr}] on `{name}`, which is neither a pointer nor an array"
    ))
    .at_with(
        span,
        "this attribute describes the elements an address holds",
    )
}

/// The type of a sizing expression over `members`, as far as it can be told: a member
/// named directly, dereferenced, or cast. `None` when it cannot (constants, arithmetic,
/// member access), which the checks take as fine.
fn expr_type(e: &Expr, members: &[Member]) -> Option<Type> {
    match e {
        Expr::Name(n) => members.iter().find(|m| m.name == n).map(|m| m.ty.clone()),
        Expr::Unary("*", inner) => match expr_type(inner, members)? {
            Type::Pointer { pointee, .. } => Some(*pointee),
            // Through a typedef'd pointer: not followed here.
            _ => None,
        },
        Expr::Cast(ty, _) => Some((**ty).clone()),
        _ => None,
    }
}

/// `ty` with every pointer's kind forgotten: `[unique]` on a repeated typedef belongs to
/// the declaration, it does not make the type another.
fn strip_pointer_kinds(ty: &Type) -> Type {
    match ty {
        Type::Pointer {
            pointee, is_const, ..
        } => Type::Pointer {
            pointee: Box::new(strip_pointer_kinds(pointee)),
            kind: PointerKind::Unspecified,
            is_const: *is_const,
        },
        Type::Const(t) => Type::Const(Box::new(strip_pointer_kinds(t))),
        Type::Array { element, len } => Type::Array {
            element: Box::new(strip_pointer_kinds(element)),
            len: *len,
        },
        other => other.clone(),
    }
}
