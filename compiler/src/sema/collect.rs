//! Pass 1: give every named declaration an item and a name, before anything is resolved.
//!
//! Items are created with an empty kind of the right variant (so "is this a type?" can be
//! answered during pass 2) and queued in `pending` with the AST they come from. Packing and
//! cpp_quote'd conditionals ([`CppState`]) are followed here because they depend on
//! statement order.

use super::attributes::Place;
use super::cpp_state::CppState;
use super::{ConstDef, Ctx, Pending, Sema};
use crate::diag::Diagnostic;
use crate::ir::{self, Guid, ItemId, ItemKind, PointerKind};
use crate::source::Span;
use crate::syntax::ast::{self, TypeSpec};

impl<'a> Sema<'a> {
    pub(crate) fn collect_all(&mut self) {
        let files = self.files;
        for parsed in files {
            let Some(ast) = &parsed.ast else { continue };
            let mut ctx = Ctx {
                file: parsed.file,
                ..Ctx::default()
            };
            let mut packs = CppState::default();
            for item in &ast.items {
                self.collect_item(item, &mut ctx, &mut packs);
            }
        }
    }

    fn collect_item(&mut self, item: &'a ast::Item, ctx: &mut Ctx, packs: &mut CppState) {
        ctx.pack = packs.current();
        ctx.c_visibility = packs.visibility();
        match &item.kind {
            ast::ItemKind::Import(_) | ast::ItemKind::MidlPragma(..) | ast::ItemKind::Empty => {}
            ast::ItemKind::ImportLib(s) => {
                self.add_item("", ItemKind::ImportLib(s.value.clone()), item.span, ctx);
            }
            ast::ItemKind::DeclareGuid(name, text, span) => match Guid::parse(text) {
                Some(guid) => {
                    // A file-scope name like a constant's: a second one is an error.
                    self.declare(&name.name, name.span, ItemKind::GuidConst(guid), true, ctx);
                }
                None => {
                    self.error(Diagnostic::error(format!("`{text}` is not a valid GUID")).at(*span))
                }
            },
            ast::ItemKind::CppQuote(s) => {
                packs.cpp_quote(&s.value);
                self.add_item("", ItemKind::CppQuote(s.value.clone()), item.span, ctx);
            }
            ast::ItemKind::Pragma(text) => {
                packs.pragma(text);
                self.add_item("", ItemKind::Pragma(text.clone()), item.span, ctx);
            }
            ast::ItemKind::Interface(i) => self.collect_interface(item, i, ctx, packs),
            ast::ItemKind::Dispinterface(d) => {
                let defined = d.body.is_some();
                let kind = ItemKind::Dispinterface(ir::Dispinterface::default());
                if let Some(id) = self.declare(&d.name.name, d.name.span, kind, defined, ctx) {
                    self.pending
                        .push((id, Pending::Dispinterface(item, d), ctx.clone()));
                }
            }
            ast::ItemKind::Coclass(c) | ast::ItemKind::RuntimeClass(c) => {
                let kind = if matches!(item.kind, ast::ItemKind::Coclass(_)) {
                    ItemKind::Coclass(Vec::new())
                } else {
                    ItemKind::RuntimeClass(Vec::new())
                };
                let (ns, name) = split_qualified(&c.name, ctx);
                let ctx = &Ctx {
                    namespace: ns,
                    ..ctx.clone()
                };
                let defined = c.members.is_some();
                if let Some(id) = self.declare(&name, c.name.span, kind, defined, ctx) {
                    self.pending
                        .push((id, Pending::Class(item, c), ctx.clone()));
                }
            }
            ast::ItemKind::ApiContract(name, defined) => {
                let (ns, simple) = split_qualified(name, ctx);
                let ctx = &Ctx {
                    namespace: ns,
                    ..ctx.clone()
                };
                if let Some(id) =
                    self.declare(&simple, name.span, ItemKind::ApiContract, *defined, ctx)
                {
                    self.pending_attrs
                        .push((id, &item.attrs, Place::ApiContract, ctx.clone()));
                }
            }
            ast::ItemKind::Delegate(d) => {
                let kind = ItemKind::Delegate(ir::Delegate {
                    signature: ir::Signature {
                        ret: ir::Type::Base(ir::Base::Void),
                        params: Vec::new(),
                        varargs: false,
                        callconv: ir::CallConv::Default,
                    },
                    type_params: d.type_params.iter().map(|p| p.name.clone()).collect(),
                });
                if let Some(id) = self.declare(&d.name.name, d.name.span, kind, true, ctx) {
                    self.pending.push((id, Pending::Delegate(d), ctx.clone()));
                    self.pending_attrs
                        .push((id, &item.attrs, Place::Delegate, ctx.clone()));
                }
            }
            ast::ItemKind::Library(c) | ast::ItemKind::Module(c) => {
                let is_library = matches!(item.kind, ast::ItemKind::Library(_));
                let kind = if is_library {
                    ItemKind::Library(Vec::new())
                } else {
                    ItemKind::Module(Vec::new())
                };
                // Library and module names are not types: a coclass may share one (bits.idl).
                let id = self.add_item(&c.name.name, kind, c.name.span, ctx);
                let place = if is_library {
                    Place::Library
                } else {
                    Place::Module
                };
                self.pending_attrs
                    .push((id, &item.attrs, place, ctx.clone()));
                let mut inner = Ctx {
                    parent: Some(id),
                    ..ctx.clone()
                };
                let first = self.model.items.len();
                for child in &c.items {
                    self.collect_item(child, &mut inner, packs);
                }
                let children = self.direct_children(id, first);
                if let Some(ItemKind::Library(items) | ItemKind::Module(items)) =
                    self.item_mut(id).map(|it| &mut it.kind)
                {
                    *items = children;
                }
            }
            ast::ItemKind::Namespace(ns) => {
                let mut inner = ctx.clone();
                let name = ns.name.dotted();
                inner.namespace = if ctx.namespace.is_empty() {
                    name
                } else {
                    format!("{}.{name}", ctx.namespace)
                };
                for child in &ns.items {
                    self.collect_item(child, &mut inner, packs);
                }
            }
            ast::ItemKind::Declare(members) => {
                let id = self.add_item("", ItemKind::Declare(Vec::new()), item.span, ctx);
                self.pending
                    .push((id, Pending::Declare(members), ctx.clone()));
            }
            ast::ItemKind::Typedef(t) => {
                self.collect_spec(&t.spec, ctx);
                if let TypeSpec::Pipe(element) = &t.spec.ty {
                    self.collect_spec(&element.spec, ctx);
                }
                for d in &t.declarators {
                    let Some(name) = &d.name else { continue };
                    // `typedef pipe T NAME`: NAME is the pipe itself; `*PNAME` beside it is
                    // an ordinary typedef of a pointer to the first such pipe.
                    if let (TypeSpec::Pipe(element), true) = (&t.spec.ty, d.ops.is_empty()) {
                        let kind = ItemKind::Pipe(ir::Type::Base(ir::Base::Void));
                        if let Some(id) = self.declare(&name.name, name.span, kind, true, ctx) {
                            self.spec_items.entry(spec_key(&t.spec.ty)).or_insert(id);
                            self.pending
                                .push((id, Pending::Pipe(t, element), ctx.clone()));
                        }
                        continue;
                    }
                    let kind = ItemKind::Typedef(ir::Type::Base(ir::Base::Void));
                    let full = if ctx.namespace.is_empty() {
                        name.name.clone()
                    } else {
                        format!("{}.{}", ctx.namespace, name.name)
                    };
                    let earlier = self.model.names.get(&full).copied().filter(|id| {
                        self.item(*id)
                            .is_some_and(|it| matches!(it.kind, ItemKind::Typedef(_)))
                    });
                    match self.declare(&name.name, name.span, kind, true, ctx) {
                        Some(id) => {
                            self.typedef_asts.insert(id, (&t.spec, &d.ops));
                            self.pending.push((id, Pending::Typedef(t, d), ctx.clone()));
                        }
                        // A repeated typedef: the first stands, and the two are compared
                        // once both can be lowered.
                        None => {
                            if let Some(first) = earlier {
                                self.typedef_repeats.push((
                                    first,
                                    &t.spec,
                                    &d.ops,
                                    name.span,
                                    ctx.clone(),
                                ));
                            }
                        }
                    }
                }
            }
            ast::ItemKind::Const(c) => {
                self.collect_spec(&c.spec, ctx);
                let Some(name) = &c.declarator.name else {
                    return;
                };
                let kind = ItemKind::Const(ir::Const {
                    ty: ir::Type::Base(ir::Base::Void),
                    value: ir::Value::Unevaluated,
                });
                if let Some(id) = self.declare(&name.name, name.span, kind, true, ctx) {
                    self.define_const(&name.name, name.span, ConstDef::Const(id, c));
                    self.pending.push((id, Pending::Const(c), ctx.clone()));
                }
            }
            ast::ItemKind::Declaration(d) => {
                self.collect_spec(&d.spec, ctx);
                for init in &d.declarators {
                    let decl = &init.declarator;
                    let (Some(name), Some(_)) = (&decl.name, decl.function()) else {
                        continue;
                    };
                    // Functions inside an interface are its methods, lowered with it.
                    if self.in_interface(ctx) {
                        continue;
                    }
                    let kind = ItemKind::Function(ir::Function {
                        signature: ir::Signature {
                            ret: ir::Type::Base(ir::Base::Void),
                            params: Vec::new(),
                            varargs: false,
                            callconv: ir::CallConv::Default,
                        },
                    });
                    let id = self.add_item(&name.name, kind, name.span, ctx);
                    self.pending
                        .push((id, Pending::Function(item, &d.spec, decl), ctx.clone()));
                }
            }
        }
    }

    fn collect_interface(
        &mut self,
        item: &'a ast::Item,
        i: &'a ast::Interface,
        ctx: &mut Ctx,
        packs: &mut CppState,
    ) {
        let (ns, name) = split_qualified(&i.name, ctx);
        let outer = Ctx {
            namespace: ns,
            ..ctx.clone()
        };
        let type_params: Vec<String> = i.type_params.iter().map(|p| p.name.clone()).collect();
        let kind = ItemKind::Interface(ir::Interface {
            type_params: type_params.clone(),
            pack: ctx.pack,
            ..ir::Interface::default()
        });
        let defined = i.body.is_some();
        let Some(id) = self.declare(&name, i.name.span, kind, defined, &outer) else {
            return;
        };
        let Some(body) = &i.body else { return };
        let mut inner = Ctx {
            parent: Some(id),
            pointer_default: pointer_default(&item.attrs),
            type_params,
            ..outer.clone()
        };
        self.pending
            .push((id, Pending::Interface(item, i), inner.clone()));
        let first = self.model.items.len();
        for member in &body.members {
            // An interface body holds methods, types and constants; interfaces, classes
            // and libraries are declared outside it (MIDL and widl refuse them there).
            let nested = match &member.kind {
                ast::ItemKind::Interface(_) | ast::ItemKind::Dispinterface(_) => "an interface",
                ast::ItemKind::Coclass(_) | ast::ItemKind::RuntimeClass(_) => "a class",
                ast::ItemKind::Library(..) => "a library",
                _ => "",
            };
            if !nested.is_empty() {
                self.error(
                    Diagnostic::error(format!("{nested} cannot be declared inside an interface"))
                        .at_with(member.span, "move it out of the interface body"),
                );
                continue;
            }
            self.collect_item(member, &mut inner, packs);
        }
        let members = self.direct_children(id, first);
        if let Some(ItemKind::Interface(iface)) = self.item_mut(id).map(|it| &mut it.kind) {
            iface.members = members;
        }
    }

    /// Items created since `first` whose parent is `parent`.
    fn direct_children(&self, parent: ItemId, first: usize) -> Vec<ItemId> {
        (first..self.model.items.len())
            .filter(|&i| self.model.items.get(i).and_then(|it| it.parent) == Some(parent))
            .map(|i| ItemId(i as u32))
            .collect()
    }

    fn in_interface(&self, ctx: &Ctx) -> bool {
        ctx.parent.and_then(|p| self.item(p)).is_some_and(|it| {
            matches!(it.kind, ItemKind::Interface(_) | ItemKind::Dispinterface(_))
        })
    }

    /// Registers an ordinary name. A forward declaration and a definition share one item; a
    /// second definition is an error (reported, and `None` returned so it is not lowered).
    pub(crate) fn declare(
        &mut self,
        name: &str,
        span: Span,
        kind: ItemKind,
        defined: bool,
        ctx: &Ctx,
    ) -> Option<ItemId> {
        let full = if ctx.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", ctx.namespace)
        };
        let Some(&existing) = self.model.names.get(&full) else {
            let id = self.add_item(name, kind, span, ctx);
            self.model.names.insert(full, id);
            if defined {
                self.defined.insert(id);
            }
            return Some(id);
        };
        let (old_kind, old_span) = match self.item(existing) {
            Some(it) => (std::mem::discriminant(&it.kind), it.span),
            None => return None,
        };
        // A forward `interface X;` may be defined as a dispinterface and the other way
        // round (MIDL accepts both; only one definition may follow).
        let interfaces =
            |k: &ItemKind| matches!(k, ItemKind::Interface(_) | ItemKind::Dispinterface(_));
        let both_interfaces =
            self.item(existing).is_some_and(|it| interfaces(&it.kind)) && interfaces(&kind);
        let same_kind = old_kind == std::mem::discriminant(&kind) || both_interfaces;
        if same_kind && !defined {
            // A forward declaration of something already known.
            return None;
        }
        if same_kind && !self.defined.contains(&existing) {
            // The definition of something forward-declared: it takes over the item.
            self.defined.insert(existing);
            if let Some(it) = self.item_mut(existing) {
                it.span = span;
                it.file = ctx.file;
                it.parent = ctx.parent;
                it.kind = kind;
            }
            return Some(existing);
        }
        if same_kind && matches!(kind, ItemKind::Typedef(_)) {
            // C11 allows a typedef to be repeated; real headers do it. The first one stands.
            return None;
        }
        let what = self
            .item(existing)
            .map(|it| it.kind.describe())
            .unwrap_or("item");
        self.error(
            Diagnostic::error(format!("`{full}` is defined more than once"))
                .at_with(span, "redefined here")
                .also(old_span, format!("first defined here as {what}")),
        );
        None
    }

    fn define_const(&mut self, name: &str, span: Span, def: ConstDef<'a>) {
        if self.consts.contains_key(name) {
            let first = match self.consts.get(name) {
                Some(ConstDef::Const(id, _)) => self.item(*id).map(|it| it.span),
                Some(ConstDef::Enumerator(spec, i)) => spec
                    .variants
                    .as_ref()
                    .and_then(|v| v.get(*i))
                    .map(|e| e.span),
                None => None,
            };
            let mut d = Diagnostic::error(format!("constant `{name}` is defined more than once"))
                .at_with(span, "redefined here");
            if let Some(first) = first {
                d = d.also(first, "first defined here");
            }
            self.error(d);
            return;
        }
        self.consts.insert(name.to_string(), def);
    }

    /// Registers the tagged struct/union/enum definitions and the enumerators inside a
    /// declaration's type, at any depth.
    pub(crate) fn collect_spec(&mut self, spec: &'a ast::DeclSpec, ctx: &Ctx) {
        match &spec.ty {
            TypeSpec::Struct(s) => {
                let Some(fields) = &s.fields else { return };
                if let Some(name) = &s.name {
                    let kind = ItemKind::Struct(ir::Record::default());
                    self.declare_tag(&name.name, name.span, kind, spec, ctx);
                }
                self.collect_fields(fields, ctx);
            }
            TypeSpec::Union(u) => {
                let Some(body) = &u.body else { return };
                if let Some(name) = &u.name {
                    let kind = ItemKind::Union(ir::Union::default());
                    self.declare_tag(&name.name, name.span, kind, spec, ctx);
                }
                match body {
                    ast::UnionBody::Plain(fields) => self.collect_fields(fields, ctx),
                    ast::UnionBody::Encapsulated { arms, .. } => {
                        for arm in arms {
                            if let Some(f) = &arm.field {
                                self.collect_fields(std::slice::from_ref(f), ctx);
                            }
                        }
                    }
                }
            }
            TypeSpec::Enum(e) => {
                let Some(variants) = &e.variants else { return };
                if let Some(name) = &e.name {
                    let kind = ItemKind::Enum(ir::Enum::default());
                    self.declare_tag(&name.name, name.span, kind, spec, ctx);
                }
                // WinRT enums (inside a namespace) are scoped: their enumerators are not
                // global names, and two enums may both have `Default`.
                if ctx.namespace.is_empty() {
                    for (i, v) in variants.iter().enumerate() {
                        self.define_const(&v.name.name, v.name.span, ConstDef::Enumerator(e, i));
                    }
                }
            }
            _ => {}
        }
    }

    fn collect_fields(&mut self, fields: &'a [ast::Field], ctx: &Ctx) {
        for f in fields {
            if let Some(spec) = &f.spec {
                self.collect_spec(spec, ctx);
            }
        }
    }

    fn declare_tag(
        &mut self,
        name: &str,
        span: Span,
        kind: ItemKind,
        spec: &'a ast::DeclSpec,
        ctx: &Ctx,
    ) {
        let key = spec_key(&spec.ty);
        // WinRT structs and enums are scoped by their namespace, like other WinRT names:
        // `A.Mode` and `A.B.Mode` are two enums.
        let full = if ctx.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", ctx.namespace)
        };
        if let Some(&existing) = self.model.tags.get(&full) {
            if self.defined.contains(&existing) {
                let old = self.item(existing).map(|it| it.span);
                let mut d = Diagnostic::error(format!("`{name}` is defined more than once"))
                    .at_with(span, "redefined here");
                if let Some(old) = old {
                    d = d.also(old, "first defined here");
                }
                self.error(d);
                return;
            }
            // Referenced before (as `struct tag *`), defined now.
            self.defined.insert(existing);
            if let Some(it) = self.item_mut(existing) {
                it.span = span;
                it.file = ctx.file;
                it.kind = kind;
            }
            self.spec_items.insert(key, existing);
            self.pending
                .push((existing, Pending::Tagged(spec), ctx.clone()));
            return;
        }
        let id = self.add_item(name, kind, span, ctx);
        self.model.tags.insert(full, id);
        self.defined.insert(id);
        self.spec_items.insert(key, id);
        self.pending.push((id, Pending::Tagged(spec), ctx.clone()));
    }
}

/// The identity of a struct/union/enum definition node.
pub(crate) fn spec_key(ty: &TypeSpec) -> usize {
    match ty {
        TypeSpec::Struct(s) => std::ptr::from_ref(s) as usize,
        TypeSpec::Union(u) => std::ptr::from_ref(u) as usize,
        TypeSpec::Enum(e) => std::ptr::from_ref(e) as usize,
        other => std::ptr::from_ref(other) as usize,
    }
}

/// Splits `A.B.Name` into the namespace it adds to the current one and the simple name.
fn split_qualified(name: &ast::QualifiedName, ctx: &Ctx) -> (String, String) {
    let dotted = name.dotted();
    match dotted.rsplit_once('.') {
        // A dotted name at a definition is already fully qualified.
        Some((ns, simple)) => (ns.to_string(), simple.to_string()),
        None => (ctx.namespace.clone(), dotted),
    }
}

fn pointer_default(attrs: &[ast::Attribute]) -> Option<PointerKind> {
    let attr = attrs.iter().find(|a| a.name.name == "pointer_default")?;
    let arg = attr.args.as_ref()?.first()?;
    let word = match arg {
        ast::AttrArg::Expr(ast::Expr {
            kind: ast::ExprKind::Name(n),
            ..
        }) => n.as_str(),
        _ => return None,
    };
    match word {
        "ref" => Some(PointerKind::Ref),
        "unique" => Some(PointerKind::Unique),
        "ptr" => Some(PointerKind::Full),
        _ => None,
    }
}
