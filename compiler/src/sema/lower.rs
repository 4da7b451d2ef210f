//! Pass 2: lower every declaration noted by the collect pass into its IR form.

use super::attributes::Place;
use super::types::{apply_pointer_kinds, pointer_attr};
use super::{Ctx, Pending, Sema, consteval};
use crate::diag::Diagnostic;
use crate::ir::{self, ItemId, ItemKind, PointerKind, Type};
use crate::syntax::ast::{self, TypeOp, TypeSpec};

impl<'a> Sema<'a> {
    pub(crate) fn lower_all(&mut self) {
        for (id, pending, ctx) in std::mem::take(&mut self.pending) {
            self.lower_pending(id, pending, &ctx);
        }
        for (id, attrs, place, ctx) in std::mem::take(&mut self.pending_attrs) {
            let attrs = self.lower_attrs(attrs, place, &[], &ctx);
            self.set_attrs(id, attrs);
        }
    }

    fn set_kind(&mut self, id: ItemId, kind: ItemKind) {
        if let Some(it) = self.item_mut(id) {
            it.kind = kind;
        }
    }

    fn set_attrs(&mut self, id: ItemId, attrs: Vec<ir::Attr>) {
        if let Some(it) = self.item_mut(id) {
            it.attrs = attrs;
        }
    }

    fn lower_pending(&mut self, id: ItemId, pending: Pending<'a>, ctx: &Ctx) {
        match pending {
            Pending::Interface(item, i) => self.lower_interface(id, item, i, ctx),
            Pending::Dispinterface(item, d) => self.lower_dispinterface(id, item, d, ctx),
            Pending::Class(item, c) => {
                let runtime = matches!(item.kind, ast::ItemKind::RuntimeClass(_));
                let place = if runtime {
                    Place::RuntimeClass
                } else {
                    Place::Coclass
                };
                let attrs = self.lower_attrs(&item.attrs, place, &[], ctx);
                self.set_attrs(id, attrs);
                let members = c
                    .members
                    .iter()
                    .flatten()
                    .map(|m| ir::ClassMember {
                        ty: self.class_member_type(&m.ty, ctx),
                        dispinterface: m.dispinterface,
                        attrs: self.lower_attrs(&m.attrs, Place::ClassMember, &[], ctx),
                    })
                    .collect();
                let kind = if runtime {
                    ItemKind::RuntimeClass(members)
                } else {
                    ItemKind::Coclass(members)
                };
                self.set_kind(id, kind);
            }
            Pending::Delegate(d) => {
                let ctx = &Ctx {
                    type_params: d.type_params.iter().map(|p| p.name.clone()).collect(),
                    ..ctx.clone()
                };
                let ret = self.lower_type(&d.ret, &[], ctx);
                let signature = self.lower_signature(ret, &d.params, d.ret.callconv, ctx);
                self.set_kind(
                    id,
                    ItemKind::Delegate(ir::Delegate {
                        signature,
                        type_params: ctx.type_params.clone(),
                    }),
                );
            }
            Pending::Typedef(t, d) => {
                let attrs = self.lower_attrs(&t.attrs, Place::Type, &[], ctx);
                let mut ty = self.lower_type(&t.spec, &d.ops, ctx);
                let top = pointer_attr(&t.attrs)
                    .or(ctx.pointer_default)
                    .unwrap_or(PointerKind::Unspecified);
                apply_pointer_kinds(
                    &mut ty,
                    top,
                    ctx.pointer_default.unwrap_or(PointerKind::Unspecified),
                );
                self.set_attrs(id, attrs);
                self.set_kind(id, ItemKind::Typedef(ty));
            }
            Pending::Pipe(t, element) => {
                let attrs = self.lower_attrs(&t.attrs, Place::Type, &[], ctx);
                let ty = self.lower_type(&element.spec, &element.ops, ctx);
                self.set_attrs(id, attrs);
                self.set_kind(id, ItemKind::Pipe(ty));
            }
            Pending::Const(c) => {
                let ty = self.lower_type(&c.spec, &c.declarator.ops, ctx);
                // Evaluated (and its errors reported) once, perhaps already by a user.
                let name = c
                    .declarator
                    .name
                    .as_ref()
                    .map(|n| n.name.as_str())
                    .unwrap_or("");
                let value = match self.const_value(name) {
                    consteval::NameValue::Value(v) => v,
                    _ => ir::Value::Unevaluated,
                };
                self.set_kind(id, ItemKind::Const(ir::Const { ty, value }));
            }
            Pending::Function(item, spec, decl) => {
                let attrs = self.lower_attrs(&item.attrs, Place::Method, &[], ctx);
                self.set_attrs(id, attrs);
                if let Some(signature) = self.function_signature(spec, decl, ctx) {
                    self.set_kind(id, ItemKind::Function(ir::Function { signature }));
                }
            }
            Pending::Declare(members) => {
                let types = members
                    .iter()
                    .map(|m| self.class_member_type(&m.ty, ctx))
                    .collect();
                self.set_kind(id, ItemKind::Declare(types));
            }
            Pending::Tagged(spec) => self.lower_tagged(id, spec, ctx),
        }
    }

    /// The signature of `spec declarator` when the declarator declares a function.
    fn function_signature(
        &mut self,
        spec: &'a ast::DeclSpec,
        decl: &'a ast::Declarator,
        ctx: &Ctx,
    ) -> Option<ir::Signature> {
        let (last, inner) = decl.ops.split_last()?;
        let TypeOp::Function(params, cc) = last else {
            return None;
        };
        let ret = self.lower_type(spec, inner, ctx);
        Some(self.lower_signature(ret, params, cc.or(spec.callconv), ctx))
    }

    /// Methods declared among `items` (an interface body or a dispinterface's methods).
    fn methods(&mut self, items: &'a [ast::Item], ctx: &Ctx) -> Vec<ir::Method> {
        let mut methods = Vec::new();
        for item in items {
            let ast::ItemKind::Declaration(d) = &item.kind else {
                continue;
            };
            for init in &d.declarators {
                let decl = &init.declarator;
                let Some(name) = &decl.name else { continue };
                let Some(signature) = self.function_signature(&d.spec, decl, ctx) else {
                    self.error(
                        Diagnostic::error(format!("`{}` is not a method", name.name)).at_with(
                            name.span,
                            "only methods and type declarations may stand in an interface",
                        ),
                    );
                    continue;
                };
                let attrs = self.lower_attrs(&item.attrs, Place::Method, &[], ctx);
                methods.push(ir::Method {
                    name: name.name.clone(),
                    signature,
                    attrs,
                    span: decl.span,
                });
            }
        }
        methods
    }

    fn lower_interface(
        &mut self,
        id: ItemId,
        item: &'a ast::Item,
        i: &'a ast::Interface,
        ctx: &Ctx,
    ) {
        let attrs = self.lower_attrs(&item.attrs, Place::Interface, &[], ctx);
        self.set_attrs(id, attrs);
        let Some(body) = &i.body else { return };
        let base = body.base.as_ref().map(|b| {
            let ty = self.lower_type(&b.spec, &b.ops, ctx);
            self.expect_interface(&ty, b.span);
            ty
        });
        let requires = body
            .requires
            .iter()
            .map(|r| self.lower_type(&r.spec, &r.ops, ctx))
            .collect();
        let methods = self.methods(&body.members, ctx);
        if let Some(ItemKind::Interface(iface)) = self.item_mut(id).map(|it| &mut it.kind) {
            iface.base = base;
            iface.requires = requires;
            iface.methods = methods;
            iface.defined = true;
        }
    }

    /// Reports a base "interface" that is some other kind of declaration.
    fn expect_interface(&mut self, ty: &Type, span: crate::source::Span) {
        let id = match ty {
            Type::Named(id) | Type::Instance { generic: id, .. } => *id,
            Type::Base(ir::Base::Void) => return, // already reported as unknown
            _ => {
                self.error(
                    Diagnostic::error("an interface can only inherit from an interface").at(span),
                );
                return;
            }
        };
        let Some(it) = self.item(id) else { return };
        if !matches!(it.kind, ItemKind::Interface(_)) {
            let (what, decl) = (it.kind.describe(), it.span);
            self.error(
                Diagnostic::error(format!(
                    "an interface can only inherit from an interface, not a {what}"
                ))
                .at(span)
                .also(decl, "declared here"),
            );
        }
    }

    fn lower_dispinterface(
        &mut self,
        id: ItemId,
        item: &'a ast::Item,
        d: &'a ast::Dispinterface,
        ctx: &Ctx,
    ) {
        let attrs = self.lower_attrs(&item.attrs, Place::Dispinterface, &[], ctx);
        self.set_attrs(id, attrs);
        let mut out = ir::Dispinterface {
            defined: d.body.is_some(),
            ..ir::Dispinterface::default()
        };
        match &d.body {
            None => return,
            Some(ast::DispBody::Interface(t)) => {
                let ty = self.lower_type(&t.spec, &t.ops, ctx);
                self.expect_interface(&ty, t.span);
                out.interface = Some(ty);
            }
            Some(ast::DispBody::Members {
                properties,
                methods,
            }) => {
                out.properties = self.lower_fields(properties, Place::Field, ctx);
                out.methods = self.methods(methods, ctx);
            }
        }
        self.set_kind(id, ItemKind::Dispinterface(out));
    }

    /// Fills in a struct, union or enum from its definition.
    pub(crate) fn lower_tagged(&mut self, id: ItemId, spec: &'a ast::DeclSpec, ctx: &Ctx) {
        let kind = match &spec.ty {
            TypeSpec::Struct(s) => ItemKind::Struct(ir::Record {
                fields: self.lower_fields(s.fields.as_deref().unwrap_or(&[]), Place::Field, ctx),
                defined: true,
                pack: ctx.pack,
            }),
            TypeSpec::Union(u) => ItemKind::Union(self.lower_union(u, ctx)),
            TypeSpec::Enum(e) => {
                let values = self.enum_values(e);
                let variants = e
                    .variants
                    .iter()
                    .flatten()
                    .zip(values)
                    .map(|(v, value)| ir::Variant {
                        name: v.name.name.clone(),
                        value,
                        attrs: self.lower_attrs(&v.attrs, Place::Enumerator, &[], ctx),
                        span: v.span,
                    })
                    .collect();
                ItemKind::Enum(ir::Enum {
                    variants,
                    defined: true,
                })
            }
            _ => return,
        };
        self.set_kind(id, kind);
    }

    fn lower_union(&mut self, u: &'a ast::UnionSpec, ctx: &Ctx) -> ir::Union {
        let mut out = ir::Union {
            defined: u.body.is_some(),
            pack: ctx.pack,
            ..ir::Union::default()
        };
        match &u.body {
            None => {}
            Some(ast::UnionBody::Plain(fields)) => {
                let lowered = self.lower_fields(fields, Place::Field, ctx);
                out.arms = lowered
                    .into_iter()
                    .map(|field| ir::UnionArm {
                        cases: case_values(&field),
                        field,
                    })
                    .collect();
            }
            Some(ast::UnionBody::Encapsulated {
                switch_spec,
                switch_name,
                union_name,
                arms,
            }) => {
                out.switch = Some(ir::UnionSwitch {
                    ty: self.lower_type(switch_spec, &[], ctx),
                    name: switch_name.name.clone(),
                    union_name: union_name.as_ref().map(|n| n.name.clone()),
                });
                for arm in arms {
                    let cases: Vec<Option<i128>> = arm
                        .labels
                        .iter()
                        .map(|l| l.as_ref().and_then(|e| self.eval_int(e)))
                        .collect();
                    let fields = match &arm.field {
                        Some(f) => self.lower_field(f, Place::Field, &[], ctx),
                        None => Vec::new(),
                    };
                    if fields.is_empty() {
                        out.arms.push(ir::UnionArm {
                            cases: cases.clone(),
                            field: ir::Field {
                                name: String::new(),
                                ty: None,
                                bits: None,
                                attrs: Vec::new(),
                                span: arm.span,
                            },
                        });
                    }
                    for field in fields {
                        out.arms.push(ir::UnionArm {
                            cases: cases.clone(),
                            field,
                        });
                    }
                }
            }
        }
        out
    }
}

/// The `[case(..)]` / `[default]` values on a non-encapsulated union arm.
fn case_values(field: &ir::Field) -> Vec<Option<i128>> {
    let mut cases = Vec::new();
    for a in &field.attrs {
        match a.name.as_str() {
            "case" => cases.extend(a.args.iter().map(|v| match v {
                ir::AttrValue::Int(i) => Some(*i),
                _ => None,
            })),
            "default" => cases.push(None),
            _ => {}
        }
    }
    cases
}
