//! Turning written types into IR types: resolving names (with WinRT namespaces and type
//! parameters), applying declarator operations, and deciding pointer kinds.

use super::attributes::Place;
use super::collect::spec_key;
use super::{Ctx, Sema};
use crate::diag::Diagnostic;
use crate::ir::{self, Base, ItemKind, PointerKind, Type};
use crate::syntax::ast::{self, BaseKind, Signedness, TypeOp, TypeSpec};

/// Named types MIDL knows without a declaration.
fn builtin(name: &str) -> Option<Base> {
    match name {
        "handle_t" => Some(Base::Handle),
        "error_status_t" => Some(Base::ErrorStatus),
        _ => None,
    }
}

fn base(kind: BaseKind, sign: Signedness) -> Base {
    let signed = sign != Signedness::Unsigned;
    match kind {
        BaseKind::Void => Base::Void,
        // MIDL's plain `char` is unsigned; `signed char` is the 8-bit signed type.
        BaseKind::Char => Base::Char {
            signed: sign == Signedness::Signed,
        },
        BaseKind::Small | BaseKind::Int8 => Base::Int8 { signed },
        BaseKind::Short | BaseKind::Int16 => Base::Int16 { signed },
        BaseKind::Int | BaseKind::Long | BaseKind::Int32 => Base::Int32 { signed },
        BaseKind::LongLong | BaseKind::Hyper | BaseKind::Int64 => Base::Int64 { signed },
        BaseKind::Int3264 => Base::IntPtr { signed },
        BaseKind::Byte => Base::Byte,
        BaseKind::Boolean => Base::Boolean,
        BaseKind::WChar => Base::WChar,
        BaseKind::Float => Base::Float,
        BaseKind::Double => Base::Double,
    }
}

fn callconv(cc: Option<ast::CallConv>) -> ir::CallConv {
    match cc {
        None => ir::CallConv::Default,
        Some(ast::CallConv::Stdcall) => ir::CallConv::Stdcall,
        Some(ast::CallConv::Cdecl) => ir::CallConv::Cdecl,
        Some(ast::CallConv::Fastcall) => ir::CallConv::Fastcall,
        Some(ast::CallConv::Pascal) => ir::CallConv::Pascal,
        Some(ast::CallConv::Thiscall) => ir::CallConv::Thiscall,
    }
}

/// The pointer kind an attribute list asks for, if any.
pub(crate) fn pointer_attr(attrs: &[ast::Attribute]) -> Option<PointerKind> {
    attrs.iter().find_map(|a| match a.name.name.as_str() {
        "ref" => Some(PointerKind::Ref),
        "unique" => Some(PointerKind::Unique),
        "ptr" => Some(PointerKind::Full),
        _ => None,
    })
}

/// Sets pointer kinds: the outermost pointer gets `top`, every pointer below it `rest`,
/// unless already decided.
pub(crate) fn apply_pointer_kinds(ty: &mut Type, top: PointerKind, rest: PointerKind) {
    match ty {
        Type::Pointer { pointee, kind, .. } => {
            if *kind == PointerKind::Unspecified {
                *kind = top;
            }
            apply_pointer_kinds(pointee, rest, rest);
        }
        Type::Const(inner) => apply_pointer_kinds(inner, top, rest),
        Type::Array { element, .. } => apply_pointer_kinds(element, rest, rest),
        _ => {}
    }
}

impl<'a> Sema<'a> {
    /// The type of a declaration: its specifier with the declarator's operations applied.
    pub(crate) fn lower_type(
        &mut self,
        spec: &'a ast::DeclSpec,
        ops: &'a [TypeOp],
        ctx: &Ctx,
    ) -> Type {
        let mut ty = self.lower_spec(spec, ctx);
        if spec.is_const {
            ty = Type::Const(Box::new(ty));
        }
        for op in ops {
            ty = match op {
                TypeOp::Pointer { is_const, .. } => Type::Pointer {
                    pointee: Box::new(ty),
                    kind: PointerKind::Unspecified,
                    is_const: *is_const,
                },
                TypeOp::Array(None) => Type::Array {
                    element: Box::new(ty),
                    len: None,
                },
                TypeOp::Array(Some(len)) => {
                    let len = self.eval_int(len).and_then(|n| {
                        u64::try_from(n).ok().or_else(|| {
                            self.error(
                                Diagnostic::error(format!("array size {n} is negative"))
                                    .at(len.span),
                            );
                            None
                        })
                    });
                    Type::Array {
                        element: Box::new(ty),
                        len,
                    }
                }
                TypeOp::Function(params, cc) => {
                    let cc = cc.or(spec.callconv);
                    Type::Function(Box::new(self.lower_signature(ty, params, cc, ctx)))
                }
            };
        }
        ty
    }

    /// A function's signature; parameters get their attributes checked and pointer kinds set.
    pub(crate) fn lower_signature(
        &mut self,
        ret: Type,
        params: &'a ast::ParamList,
        cc: Option<ast::CallConv>,
        ctx: &Ctx,
    ) -> ir::Signature {
        let names: Vec<String> = params
            .params
            .iter()
            .filter_map(|p| p.declarator.name.as_ref().map(|n| n.name.clone()))
            .collect();
        // `(const char *format, ...)`: the parser records the ellipsis; keep it.
        let varargs = params.varargs;
        let params = params
            .params
            .iter()
            .map(|p| self.lower_param(p, &names, ctx))
            .collect();
        ir::Signature {
            ret,
            params,
            varargs,
            callconv: callconv(cc),
        }
    }

    fn lower_param(&mut self, p: &'a ast::Param, siblings: &[String], ctx: &Ctx) -> ir::Param {
        let mut ty = self.lower_type(&p.spec, &p.declarator.ops, ctx);
        let rest = ctx.pointer_default.unwrap_or(PointerKind::Unspecified);
        // A top-level pointer parameter is [ref] unless it says otherwise.
        let top = pointer_attr(&p.attrs).unwrap_or(PointerKind::Ref);
        apply_pointer_kinds(&mut ty, top, rest);
        ir::Param {
            name: p
                .declarator
                .name
                .as_ref()
                .map(|n| n.name.clone())
                .unwrap_or_default(),
            ty,
            attrs: self.lower_attrs(&p.attrs, Place::Param, siblings, ctx),
            span: p.span,
        }
    }

    /// Struct/union members, with attributes checked against their sibling names.
    pub(crate) fn lower_fields(
        &mut self,
        fields: &'a [ast::Field],
        place: Place,
        ctx: &Ctx,
    ) -> Vec<ir::Field> {
        let names: Vec<String> = fields
            .iter()
            .flat_map(|f| f.declarators.iter())
            .filter_map(|d| d.declarator.as_ref()?.name.as_ref().map(|n| n.name.clone()))
            .collect();
        let mut out = Vec::new();
        for f in fields {
            out.extend(self.lower_field(f, place, &names, ctx));
        }
        out
    }

    pub(crate) fn lower_field(
        &mut self,
        f: &'a ast::Field,
        place: Place,
        siblings: &[String],
        ctx: &Ctx,
    ) -> Vec<ir::Field> {
        let attrs = self.lower_attrs(&f.attrs, place, siblings, ctx);
        let Some(spec) = &f.spec else {
            // An empty union arm.
            return vec![ir::Field {
                name: String::new(),
                ty: None,
                bits: None,
                attrs,
                span: f.span,
            }];
        };
        if f.declarators.is_empty() {
            // An anonymous struct or union member.
            return vec![ir::Field {
                name: String::new(),
                ty: Some(self.lower_type(spec, &[], ctx)),
                bits: None,
                attrs,
                span: f.span,
            }];
        }
        let top = pointer_attr(&f.attrs)
            .or(ctx.pointer_default)
            .unwrap_or(PointerKind::Unspecified);
        let rest = ctx.pointer_default.unwrap_or(PointerKind::Unspecified);
        let mut out = Vec::new();
        for d in &f.declarators {
            let ops = d
                .declarator
                .as_ref()
                .map(|d| d.ops.as_slice())
                .unwrap_or(&[]);
            let mut ty = self.lower_type(spec, ops, ctx);
            apply_pointer_kinds(&mut ty, top, rest);
            let bits = d.bits.as_ref().and_then(|b| {
                let n = self.eval_int(b)?;
                u64::try_from(n).ok().or_else(|| {
                    self.error(
                        Diagnostic::error(format!("bitfield width {n} is negative")).at(b.span),
                    );
                    None
                })
            });
            out.push(ir::Field {
                name: d
                    .declarator
                    .as_ref()
                    .and_then(|d| d.name.as_ref())
                    .map(|n| n.name.clone())
                    .unwrap_or_default(),
                ty: Some(ty),
                bits,
                attrs: attrs.clone(),
                span: d.declarator.as_ref().map(|d| d.span).unwrap_or(f.span),
            });
        }
        out
    }

    fn lower_spec(&mut self, spec: &'a ast::DeclSpec, ctx: &Ctx) -> Type {
        match &spec.ty {
            TypeSpec::Base(kind, sign) => Type::Base(base(*kind, *sign)),
            TypeSpec::Named(name, args) => self.resolve_named(name, args, ctx),
            TypeSpec::SafeArray(inner) => {
                Type::SafeArray(Box::new(self.lower_type(&inner.spec, &inner.ops, ctx)))
            }
            TypeSpec::Pipe(_) => match self.spec_items.get(&spec_key(&spec.ty)) {
                Some(&id) => Type::Named(id),
                None => {
                    self.error(
                        Diagnostic::error(
                            "a pipe type is declared by a typedef that names it: \
                             `typedef pipe T NAME;`",
                        )
                        .at(spec.span),
                    );
                    Type::Base(Base::Void)
                }
            },
            TypeSpec::Tagged(kind, name) => self.resolve_tagged(*kind, name, ctx),
            TypeSpec::Struct(s) => {
                self.tagged_type(&spec.ty, s.name.as_ref(), s.fields.is_some(), spec, ctx)
            }
            TypeSpec::Union(u) => {
                self.tagged_type(&spec.ty, u.name.as_ref(), u.body.is_some(), spec, ctx)
            }
            TypeSpec::Enum(e) => {
                self.tagged_type(&spec.ty, e.name.as_ref(), e.variants.is_some(), spec, ctx)
            }
        }
    }

    /// `struct tag { ... }`, `struct tag`, or an anonymous `struct { ... }`.
    fn tagged_type(
        &mut self,
        ty: &'a TypeSpec,
        name: Option<&ast::Ident>,
        has_body: bool,
        spec: &'a ast::DeclSpec,
        ctx: &Ctx,
    ) -> Type {
        if let Some(&id) = self.spec_items.get(&spec_key(ty)) {
            return Type::Named(id);
        }
        if has_body {
            // Anonymous (tagged ones were registered by the collect pass): lower it now.
            let (kind, span) = empty_tagged(ty);
            let id = self.add_item("", kind, span, ctx);
            self.spec_items.insert(spec_key(ty), id);
            self.lower_tagged(id, spec, ctx);
            return Type::Named(id);
        }
        let Some(name) = name else {
            return Type::Base(Base::Void);
        };
        if let Some(id) = self.lookup_tag(&name.name, &ctx.namespace) {
            return Type::Named(id);
        }
        // `struct tagFOO *` naming a struct defined nowhere: legal C, an incomplete type.
        let (kind, _) = empty_tagged(ty);
        let id = self.add_item(&name.name, kind, name.span, ctx);
        let full = if ctx.namespace.is_empty() {
            name.name.clone()
        } else {
            format!("{}.{}", ctx.namespace, name.name)
        };
        self.model.tags.insert(full, id);
        Type::Named(id)
    }

    /// What MIDL accepts for an unknown type name, with a warning naming the assumption:
    /// `bool` is the one-byte `boolean`, and a name differing from one type's only in case
    /// (`Long` for `LONG`) is that type. `None` when neither applies (or the case-blind
    /// match is ambiguous), so the caller reports the unknown type.
    fn lenient_type(&mut self, name: &str, span: crate::source::Span, ctx: &Ctx) -> Option<Type> {
        if name == "bool" {
            self.error(
                Diagnostic::warning(
                    "`bool` is not an IDL type; taken as `boolean` (one byte, as MIDL does)",
                )
                .at(span),
            );
            return Some(Type::Base(Base::Boolean));
        }
        let full = if ctx.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", ctx.namespace)
        };
        let mut matches = self.model.names.iter().filter(|(known, id)| {
            (known.eq_ignore_ascii_case(name) || known.eq_ignore_ascii_case(&full))
                && self.item(**id).is_some_and(|it| it.kind.is_type())
        });
        let (known, id) = matches.next()?;
        if matches.next().is_some() {
            return None;
        }
        let (known, id) = (known.clone(), *id);
        self.error(
            Diagnostic::warning(format!(
                "unknown type `{name}`; taken as `{known}`, which differs only in case (MIDL's matching)"
            ))
            .at(span),
        );
        Some(Type::Named(id))
    }

    pub(crate) fn resolve_named(
        &mut self,
        name: &ast::QualifiedName,
        args: &'a [ast::TypeRef],
        ctx: &Ctx,
    ) -> Type {
        let dotted = name.dotted();
        if args.is_empty() && ctx.type_params.contains(&dotted) {
            return Type::Param(dotted);
        }
        let Some(id) = self.lookup_name(&dotted, &ctx.namespace) else {
            if let Some(b) = builtin(&dotted) {
                return Type::Base(b);
            }
            if let Some(t) = self.lenient_type(&dotted, name.span, ctx) {
                return t;
            }
            self.error(
                Diagnostic::error(format!("unknown type `{dotted}`")).at_with(
                    name.span,
                    "not declared in this file or any file it imports",
                ),
            );
            return Type::Base(Base::Void);
        };
        let (is_type, params, what) = match self.item(id) {
            Some(it) => (
                it.kind.is_type(),
                generic_params(&it.kind),
                it.kind.describe(),
            ),
            None => (false, 0, "item"),
        };
        if !is_type {
            let decl = self.item(id).map(|it| it.span);
            let mut d =
                Diagnostic::error(format!("`{dotted}` is a {what}, not a type")).at(name.span);
            if let Some(decl) = decl {
                d = d.also(decl, "declared here");
            }
            self.error(d);
            return Type::Base(Base::Void);
        }
        if args.is_empty() {
            return Type::Named(id);
        }
        if params != args.len() {
            self.error(
                Diagnostic::error(format!(
                    "`{dotted}` takes {params} type argument{}, found {}",
                    if params == 1 { "" } else { "s" },
                    args.len()
                ))
                .at(name.span),
            );
        }
        let args = args
            .iter()
            .map(|a| self.lower_type(&a.spec, &a.ops, ctx))
            .collect();
        Type::Instance { generic: id, args }
    }

    /// `interface IFoo` used as a type. widl declares an unknown name on the spot, and so do we.
    fn resolve_tagged(&mut self, kind: ast::TagKind, name: &ast::QualifiedName, ctx: &Ctx) -> Type {
        let dotted = name.dotted();
        if let Some(id) = self.lookup_name(&dotted, &ctx.namespace) {
            return Type::Named(id);
        }
        let item_kind = match kind {
            ast::TagKind::Interface => ItemKind::Interface(ir::Interface::default()),
            ast::TagKind::Dispinterface => ItemKind::Dispinterface(ir::Dispinterface::default()),
            ast::TagKind::Coclass => ItemKind::Coclass(Vec::new()),
        };
        let id = self.add_item(name.last(), item_kind, name.span, ctx);
        self.model.names.insert(dotted, id);
        Type::Named(id)
    }

    /// A reference to an interface from a coclass, runtimeclass, `declare` block or
    /// `requires`: unknown names are declared implicitly only where widl does so.
    pub(crate) fn class_member_type(&mut self, ty: &'a ast::TypeRef, ctx: &Ctx) -> Type {
        if let TypeSpec::Named(name, args) = &ty.spec.ty
            && args.is_empty()
            && ty.ops.is_empty()
            && self.lookup_name(&name.dotted(), &ctx.namespace).is_none()
        {
            return self.resolve_tagged(ast::TagKind::Interface, name, ctx);
        }
        self.lower_type(&ty.spec, &ty.ops, ctx)
    }
}

fn generic_params(kind: &ItemKind) -> usize {
    match kind {
        ItemKind::Interface(i) => i.type_params.len(),
        ItemKind::Delegate(d) => d.type_params.len(),
        _ => 0,
    }
}

fn empty_tagged(ty: &TypeSpec) -> (ItemKind, crate::source::Span) {
    match ty {
        TypeSpec::Union(u) => (ItemKind::Union(ir::Union::default()), u.span),
        TypeSpec::Enum(e) => (ItemKind::Enum(ir::Enum::default()), e.span),
        TypeSpec::Struct(s) => (ItemKind::Struct(ir::Record::default()), s.span),
        _ => (
            ItemKind::Struct(ir::Record::default()),
            crate::source::Span::new(crate::source::FileId(0), 0, 0),
        ),
    }
}
