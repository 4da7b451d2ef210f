//! Checking attribute lists and turning their arguments into IR values.

use super::attributes::{self, Place};
use super::consteval::NameValue;
use super::{Ctx, Sema};
use crate::diag::Diagnostic;
use crate::ir::{self, AttrValue, Guid, Value};
use crate::syntax::ast::{self, AttrArg, ExprKind};

/// How an attribute's arguments are read.
enum ArgKind {
    /// Expressions over sibling fields or parameters, kept symbolic (`size_is(count)`).
    Sizing,
    /// Types (`switch_type(DWORD)`, `wire_marshal(WIRE_X)`).
    Type,
    /// A GUID.
    Guid,
    /// Compile-time constants (`id(5)`, `case(1, 2)`, `defaultvalue(-1)`).
    Constant,
    /// Words and values taken as written (`pointer_default(unique)`, `contract(C, 1.0)`).
    Free,
}

fn arg_kind(name: &str) -> ArgKind {
    match name {
        "size_is" | "length_is" | "first_is" | "last_is" | "max_is" | "min_is" | "switch_is"
        | "iid_is" => ArgKind::Sizing,
        "switch_type" | "transmit_as" | "wire_marshal" | "user_marshal" | "represent_as" => {
            ArgKind::Type
        }
        "uuid" | "async_uuid" => ArgKind::Guid,
        "id" | "helpcontext" | "helpstringcontext" | "lcid" | "case" | "defaultvalue" | "range" => {
            ArgKind::Constant
        }
        _ => ArgKind::Free,
    }
}

impl<'a> Sema<'a> {
    /// Checks an attribute list standing at `place`. `siblings` are the names sizing
    /// attributes may refer to (the other fields or parameters).
    pub(crate) fn lower_attrs(
        &mut self,
        attrs: &'a [ast::Attribute],
        place: Place,
        siblings: &[String],
        ctx: &Ctx,
    ) -> Vec<ir::Attr> {
        let mut out = Vec::new();
        for a in attrs {
            let name = a.name.name.as_str();
            let Some(spec) = attributes::lookup(name) else {
                self.error(
                    Diagnostic::error(format!("unknown attribute `{name}`")).at(a.name.span),
                );
                continue;
            };
            if !spec.allowed(place) {
                self.error(
                    Diagnostic::error(format!(
                        "attribute `{name}` cannot stand on {}",
                        place.describe()
                    ))
                    .at(a.span),
                );
                continue;
            }
            if let Some(message) = spec.check_count(a.args.as_ref().map(Vec::len)) {
                self.error(Diagnostic::error(message).at(a.span));
                continue;
            }
            let args = a
                .args
                .iter()
                .flatten()
                .map(|arg| self.attr_value(name, arg, siblings, ctx))
                .collect::<Option<Vec<_>>>();
            let Some(args) = args else { continue };
            if name == "pointer_default"
                && !matches!(args.first(), Some(AttrValue::Expr(ir::Expr::Name(w))) if matches!(w.as_str(), "ref" | "unique" | "ptr"))
            {
                self.error(
                    Diagnostic::error("`pointer_default` takes `ref`, `unique` or `ptr`")
                        .at(a.span),
                );
                continue;
            }
            out.push(ir::Attr {
                name: name.to_string(),
                args,
                span: a.span,
            });
        }
        out
    }

    /// One argument; `None` after reporting a problem.
    fn attr_value(
        &mut self,
        attr: &str,
        arg: &'a AttrArg,
        siblings: &[String],
        ctx: &Ctx,
    ) -> Option<AttrValue> {
        if let AttrArg::Empty(_) = arg {
            return Some(AttrValue::Empty);
        }
        match arg_kind(attr) {
            ArgKind::Guid => match arg {
                AttrArg::Uuid(text, span)
                | AttrArg::Str(ast::StrLit {
                    value: text, span, ..
                }) => match Guid::parse(text) {
                    Some(g) => Some(AttrValue::Uuid(g)),
                    None => {
                        self.error(
                            Diagnostic::error(format!("`{text}` is not a valid GUID")).at(*span),
                        );
                        None
                    }
                },
                other => {
                    self.error(Diagnostic::error("expected a GUID").at(other.span()));
                    None
                }
            },
            ArgKind::Type => match arg {
                AttrArg::Type(t) => Some(AttrValue::Type(self.lower_type(&t.spec, &t.ops, ctx))),
                AttrArg::Expr(e) => match &e.kind {
                    ExprKind::Name(n) => {
                        let name = ast::QualifiedName {
                            parts: vec![ast::Ident {
                                name: n.clone(),
                                span: e.span,
                            }],
                            span: e.span,
                        };
                        Some(AttrValue::Type(self.resolve_named(&name, &[], ctx)))
                    }
                    _ => {
                        self.error(Diagnostic::error("expected a type").at(e.span));
                        None
                    }
                },
                other => {
                    self.error(Diagnostic::error("expected a type").at(other.span()));
                    None
                }
            },
            ArgKind::Sizing => match arg {
                AttrArg::Expr(e) => {
                    self.check_names(e, siblings);
                    Some(AttrValue::Expr(self.symbolic(e, ctx)))
                }
                other => {
                    self.error(Diagnostic::error("expected an expression").at(other.span()));
                    None
                }
            },
            ArgKind::Constant => match arg {
                AttrArg::Expr(e) => match self.eval(e) {
                    Ok(v) => Some(value_to_attr(v)),
                    Err(d) => {
                        self.error(d);
                        None
                    }
                },
                AttrArg::Str(s) => Some(AttrValue::Str(s.value.clone())),
                other => Some(self.free_value(other, ctx)),
            },
            ArgKind::Free => Some(self.free_value(arg, ctx)),
        }
    }

    fn free_value(&mut self, arg: &'a AttrArg, ctx: &Ctx) -> AttrValue {
        match arg {
            AttrArg::Empty(_) => AttrValue::Empty,
            AttrArg::Uuid(text, _) => Guid::parse(text)
                .map(AttrValue::Uuid)
                .unwrap_or(AttrValue::Str(text.clone())),
            AttrArg::Version(v, _) => AttrValue::Version(v.clone()),
            AttrArg::Str(s) => AttrValue::Str(s.value.clone()),
            AttrArg::Expr(e) => {
                // A word such as `unique` or a WinRT type name is not a constant; keep it.
                if let ExprKind::Name(_) | ExprKind::Member(..) = e.kind {
                    return AttrValue::Expr(self.symbolic(e, ctx));
                }
                let before = self.diags.len();
                match self.eval(e) {
                    Ok(Value::Unevaluated) | Err(_) => {
                        self.diags.truncate(before);
                        AttrValue::Expr(self.symbolic(e, ctx))
                    }
                    Ok(v) => value_to_attr(v),
                }
            }
            AttrArg::Type(t) => AttrValue::Type(self.lower_type(&t.spec, &t.ops, ctx)),
            AttrArg::Decl(p) => AttrValue::Type(self.lower_type(&p.spec, &p.declarator.ops, ctx)),
        }
    }

    /// Names in a sizing expression should be sibling fields/parameters, constants or (in a
    /// cast) types. widl does not check, and real files get it wrong (wmsdkidl.idl sizes by
    /// a parameter that does not exist), so an unknown name is a warning: the file is
    /// valid, but the marshaller will not be able to size that argument.
    fn check_names(&mut self, e: &ast::Expr, siblings: &[String]) {
        let mut others = Vec::new();
        visit_names(e, &mut |name, span| {
            if !siblings.iter().any(|s| s == name) {
                others.push((name.to_string(), span));
            }
        });
        for (name, span) in others {
            if let NameValue::Unknown | NameValue::NotConstant = self.const_value(&name) {
                self.error(
                    Diagnostic::warning(format!("unknown name `{name}` in a sizing attribute"))
                        .at_with(span, "not a parameter, field, constant or type in scope"),
                );
            }
        }
    }

    /// An expression kept as a tree, for attributes evaluated at run time by marshalling code.
    fn symbolic(&mut self, e: &'a ast::Expr, ctx: &Ctx) -> ir::Expr {
        use ast::{BinaryOp as B, UnaryOp as U};
        let sub = |s: &mut Self, x: &'a ast::Expr| Box::new(s.symbolic(x, ctx));
        match &e.kind {
            ExprKind::Int { value, .. } => ir::Expr::Int(i128::from(*value)),
            ExprKind::Float(f) => ir::Expr::Float(*f),
            ExprKind::Char(c) => ir::Expr::Int(i128::from(*c)),
            ExprKind::Str(s) => ir::Expr::Str(s.value.clone()),
            ExprKind::Name(n) => ir::Expr::Name(n.clone()),
            ExprKind::Unary(op, x) => {
                let op = match op {
                    U::Neg => "-",
                    U::Plus => "+",
                    U::Not => "!",
                    U::BitNot => "~",
                    U::Deref => "*",
                    U::AddrOf => "&",
                };
                ir::Expr::Unary(op, sub(self, x))
            }
            ExprKind::Binary(op, a, b) => {
                let op = match op {
                    B::LogOr => "||",
                    B::LogAnd => "&&",
                    B::BitOr => "|",
                    B::BitXor => "^",
                    B::BitAnd => "&",
                    B::Eq => "==",
                    B::Ne => "!=",
                    B::Lt => "<",
                    B::Gt => ">",
                    B::Le => "<=",
                    B::Ge => ">=",
                    B::Shl => "<<",
                    B::Shr => ">>",
                    B::Add => "+",
                    B::Sub => "-",
                    B::Mul => "*",
                    B::Div => "/",
                    B::Rem => "%",
                };
                ir::Expr::Binary(op, sub(self, a), sub(self, b))
            }
            ExprKind::Ternary(c, a, b) => {
                ir::Expr::Ternary(sub(self, c), sub(self, a), sub(self, b))
            }
            ExprKind::Cast(t, x) => {
                let ty = self.lower_type(&t.spec, &t.ops, ctx);
                ir::Expr::Cast(Box::new(ty), sub(self, x))
            }
            ExprKind::SizeofType(t) => {
                ir::Expr::SizeOf(Box::new(self.lower_type(&t.spec, &t.ops, ctx)))
            }
            ExprKind::SizeofExpr(x) => ir::Expr::Unary("sizeof", sub(self, x)),
            ExprKind::Member(x, n) => ir::Expr::Member(sub(self, x), n.name.clone()),
            ExprKind::Arrow(x, n) => ir::Expr::Arrow(sub(self, x), n.name.clone()),
            ExprKind::Index(x, i) => ir::Expr::Index(sub(self, x), sub(self, i)),
        }
    }
}

fn value_to_attr(v: Value) -> AttrValue {
    match v {
        Value::Int(i) => AttrValue::Int(i),
        Value::Float(f) => AttrValue::Float(f),
        Value::Str(s) => AttrValue::Str(s),
        Value::Unevaluated => AttrValue::Empty,
    }
}

/// Calls `f` for every free name in an expression (not member names after `.`/`->`).
fn visit_names(e: &ast::Expr, f: &mut dyn FnMut(&str, crate::source::Span)) {
    match &e.kind {
        ExprKind::Name(n) => f(n, e.span),
        ExprKind::Unary(_, x) | ExprKind::SizeofExpr(x) | ExprKind::Cast(_, x) => visit_names(x, f),
        ExprKind::Member(x, _) | ExprKind::Arrow(x, _) => visit_names(x, f),
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
            visit_names(a, f);
            visit_names(b, f);
        }
        ExprKind::Ternary(c, a, b) => {
            visit_names(c, f);
            visit_names(a, f);
            visit_names(b, f);
        }
        ExprKind::Int { .. }
        | ExprKind::Float(_)
        | ExprKind::Char(_)
        | ExprKind::Str(_)
        | ExprKind::SizeofType(_) => {}
    }
}
