//! Turns pest's parse tree into the AST.
//!
//! Every function walks a node's children by rule name rather than by position, so a grammar
//! change that adds or drops a child cannot make this code index out of bounds: at worst a
//! field stays empty. Spans are mapped back to original files through the preprocessor's
//! offset map as each node is built.

use std::cell::RefCell;

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::Rule;
use super::ast::*;
use crate::diag::Diagnostic;
use crate::preprocess::OffsetMap;
use crate::source::Span;

pub(crate) struct Builder<'a> {
    pub map: &'a OffsetMap,
    pratt: PrattParser<Rule>,
    /// Limits the grammar cannot express (see [`MAX_OPERATOR_RUN`]).
    pub errors: RefCell<Vec<Diagnostic>>,
}

/// The longest run of prefix or postfix operators on one operand. Every later stage walks
/// expressions recursively, so an unbounded run (`- - - ... x`) would exhaust the stack.
const MAX_OPERATOR_RUN: usize = 64;

/// The most binary operators one expression may have, for the same reason: real IDL's
/// longest (mshtml's DISPID sums) have about ten.
const MAX_BINARY_OPERATORS: usize = 256;

type P<'i> = Pair<'i, Rule>;

impl<'a> Builder<'a> {
    pub fn new(map: &'a OffsetMap) -> Builder<'a> {
        // Lowest precedence first, as C orders its binary operators.
        let pratt = PrattParser::new()
            .op(Op::infix(Rule::ternary, Assoc::Right))
            .op(Op::infix(Rule::log_or, Assoc::Left))
            .op(Op::infix(Rule::log_and, Assoc::Left))
            .op(Op::infix(Rule::bit_or, Assoc::Left))
            .op(Op::infix(Rule::bit_xor, Assoc::Left))
            .op(Op::infix(Rule::bit_and, Assoc::Left))
            .op(Op::infix(Rule::eq, Assoc::Left) | Op::infix(Rule::ne, Assoc::Left))
            .op(Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left))
            .op(Op::infix(Rule::shl, Assoc::Left) | Op::infix(Rule::shr, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left));
        Builder {
            map,
            pratt,
            errors: RefCell::new(Vec::new()),
        }
    }

    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        // A rule that ends in an optional part (`type_ref`, `enumerator`) also spans the
        // white space pest skipped before trying that part; a caret should not run on to
        // the next line.
        let end = s.start() + s.as_str().trim_end().len();
        self.map.span(s.start(), end)
    }

    fn ident(&self, p: &P) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    fn first_ident(&self, p: &P) -> Option<Ident> {
        p.clone()
            .into_inner()
            .find(|c| c.as_rule() == Rule::ident)
            .map(|c| self.ident(&c))
    }

    fn qualified(&self, p: &P) -> QualifiedName {
        QualifiedName {
            parts: p
                .clone()
                .into_inner()
                .filter(|c| c.as_rule() == Rule::ident)
                .map(|c| self.ident(&c))
                .collect(),
            span: self.span(p),
        }
    }

    fn child<'i>(&self, p: &P<'i>, rule: Rule) -> Option<P<'i>> {
        p.clone().into_inner().find(|c| c.as_rule() == rule)
    }

    fn children<'i>(&self, p: &P<'i>, rule: Rule) -> impl Iterator<Item = P<'i>> + use<'i> {
        p.clone().into_inner().filter(move |c| c.as_rule() == rule)
    }

    // ---- Statements ------------------------------------------------------------------------

    pub fn file(&self, p: P) -> File {
        File {
            items: self.statements(p.into_inner()),
        }
    }

    fn statements(&self, pairs: Pairs<Rule>) -> Vec<Item> {
        pairs.filter_map(|p| self.statement(p)).collect()
    }

    fn statement(&self, p: P) -> Option<Item> {
        let span = self.span(&p);
        let plain = |kind| {
            Some(Item {
                attrs: Vec::new(),
                kind,
                span,
            })
        };
        match p.as_rule() {
            Rule::pragma => {
                let text = self
                    .child(&p, Rule::pragma_text)?
                    .as_str()
                    .trim_end()
                    .to_string();
                plain(ItemKind::Pragma(text))
            }
            Rule::cpp_quote => plain(ItemKind::CppQuote(
                self.strings(&self.child(&p, Rule::strings)?),
            )),
            Rule::import => plain(ItemKind::Import(
                self.children(&p, Rule::strings)
                    .map(|s| self.strings(&s))
                    .collect(),
            )),
            Rule::declare_guid => {
                let name = self.ident(&self.child(&p, Rule::ident)?);
                let value = p
                    .clone()
                    .into_inner()
                    .find(|c| matches!(c.as_rule(), Rule::uuid_lit | Rule::strings))?;
                let span = self.span(&value);
                let text = match value.as_rule() {
                    Rule::strings => self.strings(&value).value,
                    _ => value.as_str().to_string(),
                };
                plain(ItemKind::DeclareGuid(name, text, span))
            }
            Rule::importlib => plain(ItemKind::ImportLib(
                self.strings(&self.child(&p, Rule::strings)?),
            )),
            Rule::midl_pragma => {
                let word = self.child(&p, Rule::any_word)?.as_str().to_string();
                let text = self
                    .child(&p, Rule::pragma_args)
                    .map(|t| t.as_str().trim().to_string())
                    .unwrap_or_default();
                plain(ItemKind::MidlPragma(word, text))
            }
            Rule::namespace => plain(ItemKind::Namespace(Namespace {
                name: self.qualified(&self.child(&p, Rule::qualified_name)?),
                items: self.statements(p.into_inner()),
            })),
            Rule::declare => plain(ItemKind::Declare(
                self.children(&p, Rule::class_member)
                    .map(|m| self.class_member(&m))
                    .collect(),
            )),
            Rule::stray_semicolon => plain(ItemKind::Empty),
            Rule::item => self.item(p),
            _ => None,
        }
    }

    fn item(&self, p: P) -> Option<Item> {
        let span = self.span(&p);
        let mut attrs = Vec::new();
        let mut kind = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::attributes => attrs = self.attributes(&c),
                Rule::interface => kind = Some(ItemKind::Interface(self.interface(&c))),
                Rule::dispinterface => kind = Some(ItemKind::Dispinterface(self.dispinterface(&c))),
                Rule::coclass => {
                    kind = Some(ItemKind::Coclass(self.class(&c, Rule::ident)));
                }
                Rule::runtimeclass => {
                    kind = Some(ItemKind::RuntimeClass(self.class(&c, Rule::qualified_name)));
                }
                Rule::apicontract => {
                    let name = self.child(&c, Rule::qualified_name)?;
                    let defined = self.children(&c, Rule::forward).next().is_none();
                    kind = Some(ItemKind::ApiContract(self.qualified(&name), defined));
                }
                Rule::delegate => kind = self.delegate(&c).map(ItemKind::Delegate),
                Rule::library => kind = self.container(&c).map(ItemKind::Library),
                Rule::module => kind = self.container(&c).map(ItemKind::Module),
                Rule::typedef => kind = self.typedef(&c).map(ItemKind::Typedef),
                Rule::const_decl => kind = self.const_decl(&c).map(ItemKind::Const),
                Rule::declaration => kind = self.declaration(&c).map(ItemKind::Declaration),
                _ => {}
            }
        }
        Some(Item {
            attrs,
            kind: kind?,
            span,
        })
    }

    fn interface(&self, p: &P) -> Interface {
        let name = self
            .child(p, Rule::qualified_name)
            .map(|n| self.qualified(&n))
            .unwrap_or_else(|| self.empty_name(p));
        let type_params = self.type_params(p);
        let body = self.child(p, Rule::interface_body).map(|b| {
            let mut base = None;
            let mut requires = Vec::new();
            let mut members = Vec::new();
            let mut after_requires = false;
            for c in b.into_inner() {
                match c.as_rule() {
                    Rule::kw_requires => after_requires = true,
                    Rule::type_ref if after_requires => requires.push(self.type_ref(&c)),
                    Rule::type_ref => base = Some(self.type_ref(&c)),
                    _ => members.extend(self.statement(c)),
                }
            }
            InterfaceBody {
                base,
                requires,
                members,
            }
        });
        Interface {
            name,
            type_params,
            body,
        }
    }

    fn empty_name(&self, p: &P) -> QualifiedName {
        QualifiedName {
            parts: Vec::new(),
            span: self.span(p),
        }
    }

    fn type_params(&self, p: &P) -> Vec<Ident> {
        self.child(p, Rule::type_params)
            .map(|t| {
                self.children(&t, Rule::ident)
                    .map(|i| self.ident(&i))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn dispinterface(&self, p: &P) -> Dispinterface {
        let name = self.first_ident(p).unwrap_or_else(|| Ident {
            name: String::new(),
            span: self.span(p),
        });
        let body = self.child(p, Rule::dispinterface_body).map(|b| {
            if let Some(form) = self.child(&b, Rule::disp_interface_form)
                && let Some(t) = self.child(&form, Rule::type_ref)
            {
                return DispBody::Interface(self.type_ref(&t));
            }
            let properties = self
                .child(&b, Rule::disp_properties)
                .map(|s| {
                    self.children(&s, Rule::field)
                        .map(|f| self.field(&f))
                        .collect()
                })
                .unwrap_or_default();
            let methods = self
                .child(&b, Rule::disp_methods)
                .map(|s| self.statements(s.into_inner()))
                .unwrap_or_default();
            DispBody::Members {
                properties,
                methods,
            }
        });
        Dispinterface { name, body }
    }

    fn class(&self, p: &P, name_rule: Rule) -> Class {
        let name = match self.child(p, name_rule) {
            Some(n) if name_rule == Rule::ident => {
                let id = self.ident(&n);
                QualifiedName {
                    span: id.span,
                    parts: vec![id],
                }
            }
            Some(n) => self.qualified(&n),
            None => self.empty_name(p),
        };
        let members = self.child(p, Rule::class_body).map(|b| {
            self.children(&b, Rule::class_member)
                .map(|m| self.class_member(&m))
                .collect()
        });
        Class { name, members }
    }

    fn class_member(&self, p: &P) -> ClassMember {
        let mut attrs = Vec::new();
        let mut dispinterface = false;
        let mut ty = None;
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::attributes => attrs = self.attributes(&c),
                Rule::kw_dispinterface => dispinterface = true,
                Rule::type_ref => ty = Some(self.type_ref(&c)),
                _ => {}
            }
        }
        let span = self.span(p);
        ClassMember {
            attrs,
            dispinterface,
            ty: ty.unwrap_or_else(|| self.void_type(span)),
            span,
        }
    }

    fn void_type(&self, span: Span) -> TypeRef {
        TypeRef {
            spec: DeclSpec {
                is_const: false,
                is_volatile: false,
                callconv: None,
                storage: None,
                ty: TypeSpec::Base(BaseKind::Void, Signedness::Default),
                span,
            },
            ops: Vec::new(),
            span,
        }
    }

    fn delegate(&self, p: &P) -> Option<Delegate> {
        Some(Delegate {
            ret: self.decl_spec(&self.child(p, Rule::decl_spec)?),
            name: self.first_ident(p)?,
            type_params: self.type_params(p),
            params: self.param_list(&self.child(p, Rule::param_list)?),
        })
    }

    fn container(&self, p: &P) -> Option<Container> {
        let name = self.first_ident(p)?;
        let items = p
            .clone()
            .into_inner()
            .filter(|c| c.as_rule() != Rule::ident)
            .filter_map(|c| self.statement(c))
            .collect();
        Some(Container { name, items })
    }

    // ---- Declarations ----------------------------------------------------------------------

    fn typedef(&self, p: &P) -> Option<Typedef> {
        Some(Typedef {
            attrs: self
                .child(p, Rule::attributes)
                .map(|a| self.attributes(&a))
                .unwrap_or_default(),
            spec: self.decl_spec(&self.child(p, Rule::decl_spec)?),
            declarators: self
                .children(p, Rule::declarator)
                .map(|d| self.declarator(&d))
                .collect(),
        })
    }

    fn const_decl(&self, p: &P) -> Option<ConstDecl> {
        Some(ConstDecl {
            spec: self.decl_spec(&self.child(p, Rule::decl_spec)?),
            declarator: self.declarator(&self.child(p, Rule::declarator)?),
            value: self.expr(self.child(p, Rule::expr)?),
        })
    }

    fn declaration(&self, p: &P) -> Option<Declaration> {
        let spec = self.decl_spec(&self.child(p, Rule::decl_spec)?);
        let declarators = self
            .children(p, Rule::init_declarator)
            .filter_map(|d| {
                Some(InitDeclarator {
                    declarator: self.declarator(&self.child(&d, Rule::declarator)?),
                    init: self.child(&d, Rule::expr).map(|e| self.expr(e)),
                })
            })
            .collect();
        Some(Declaration { spec, declarators })
    }

    pub(crate) fn decl_spec(&self, p: &P) -> DeclSpec {
        let span = self.span(p);
        let mut spec = DeclSpec {
            is_const: false,
            is_volatile: false,
            callconv: None,
            storage: None,
            ty: TypeSpec::Base(BaseKind::Int, Signedness::Default),
            span,
        };
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::storage => spec.storage = Some(c.as_str().to_string()),
                Rule::qualifier => self.qualifier(
                    &c,
                    &mut spec.is_const,
                    &mut spec.is_volatile,
                    &mut spec.callconv,
                ),
                Rule::type_spec => {
                    if let Some(t) = c.into_inner().next() {
                        spec.ty = self.type_spec(&t);
                    }
                }
                _ => {}
            }
        }
        spec
    }

    fn qualifier(
        &self,
        p: &P,
        is_const: &mut bool,
        is_volatile: &mut bool,
        cc: &mut Option<CallConv>,
    ) {
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::kw_const => *is_const = true,
                Rule::kw_volatile => *is_volatile = true,
                Rule::callconv => *cc = callconv(c.as_str()),
                _ => {}
            }
        }
    }

    fn type_spec(&self, p: &P) -> TypeSpec {
        match p.as_rule() {
            Rule::base_type => base_type(p.as_str()),
            Rule::named_type => {
                let name = self
                    .child(p, Rule::qualified_name)
                    .map(|n| self.qualified(&n))
                    .unwrap_or_else(|| self.empty_name(p));
                let args = self
                    .child(p, Rule::type_args)
                    .map(|a| {
                        self.children(&a, Rule::type_ref)
                            .map(|t| self.type_ref(&t))
                            .collect()
                    })
                    .unwrap_or_default();
                TypeSpec::Named(name, args)
            }
            Rule::struct_spec => TypeSpec::Struct(StructSpec {
                name: self.first_ident(p),
                fields: self.child(p, Rule::struct_body).map(|b| self.fields(&b)),
                span: self.span(p),
            }),
            Rule::union_spec => TypeSpec::Union(self.union_spec(p)),
            Rule::enum_spec => TypeSpec::Enum(EnumSpec {
                name: self.first_ident(p),
                variants: self.child(p, Rule::enum_body).map(|b| {
                    self.children(&b, Rule::enumerator)
                        .filter_map(|e| self.enumerator(&e))
                        .collect()
                }),
                span: self.span(p),
            }),
            Rule::safearray => {
                let inner = self
                    .child(p, Rule::type_ref)
                    .map(|t| self.type_ref(&t))
                    .unwrap_or_else(|| self.void_type(self.span(p)));
                TypeSpec::SafeArray(Box::new(inner))
            }
            Rule::pipe_spec => {
                let inner = self
                    .child(p, Rule::type_ref)
                    .map(|t| self.type_ref(&t))
                    .unwrap_or_else(|| self.void_type(self.span(p)));
                TypeSpec::Pipe(Box::new(inner))
            }
            Rule::interface_ref => {
                let kind = match p.clone().into_inner().next().map(|k| k.as_rule()) {
                    Some(Rule::kw_dispinterface) => TagKind::Dispinterface,
                    Some(Rule::kw_coclass) => TagKind::Coclass,
                    _ => TagKind::Interface,
                };
                let name = self
                    .child(p, Rule::qualified_name)
                    .map(|n| self.qualified(&n))
                    .unwrap_or_else(|| self.empty_name(p));
                TypeSpec::Tagged(kind, name)
            }
            _ => TypeSpec::Base(BaseKind::Int, Signedness::Default),
        }
    }

    fn union_spec(&self, p: &P) -> UnionSpec {
        let name = self.first_ident(p);
        let body = if let Some(sw) = self.child(p, Rule::union_switch) {
            let idents: Vec<Ident> = self
                .children(&sw, Rule::ident)
                .map(|i| self.ident(&i))
                .collect();
            let switch_spec = self
                .child(&sw, Rule::decl_spec)
                .map(|d| self.decl_spec(&d))
                .unwrap_or_else(|| self.void_type(self.span(&sw)).spec);
            let mut idents = idents.into_iter();
            let switch_name = idents.next().unwrap_or_else(|| Ident {
                name: String::new(),
                span: self.span(&sw),
            });
            Some(UnionBody::Encapsulated {
                switch_spec: Box::new(switch_spec),
                switch_name,
                union_name: idents.next(),
                arms: self
                    .children(&sw, Rule::union_case)
                    .map(|c| self.union_arm(&c))
                    .collect(),
            })
        } else {
            self.child(p, Rule::struct_body)
                .map(|b| UnionBody::Plain(self.fields(&b)))
        };
        UnionSpec {
            name,
            body,
            span: self.span(p),
        }
    }

    fn union_arm(&self, p: &P) -> UnionArm {
        let labels = self
            .children(p, Rule::case_label)
            .map(|l| self.child(&l, Rule::expr).map(|e| self.expr(e)))
            .collect();
        UnionArm {
            labels,
            field: self.child(p, Rule::field).map(|f| self.field(&f)),
            span: self.span(p),
        }
    }

    fn fields(&self, p: &P) -> Vec<Field> {
        self.children(p, Rule::field)
            .map(|f| self.field(&f))
            .collect()
    }

    fn field(&self, p: &P) -> Field {
        let attrs = self
            .child(p, Rule::attributes)
            .map(|a| self.attributes(&a))
            .unwrap_or_default();
        let decl = self.child(p, Rule::field_decl);
        let spec = decl
            .as_ref()
            .and_then(|d| self.child(d, Rule::decl_spec))
            .map(|s| self.decl_spec(&s));
        let declarators = decl
            .map(|d| {
                self.children(&d, Rule::field_declarator)
                    .map(|fd| FieldDeclarator {
                        declarator: self
                            .child(&fd, Rule::declarator)
                            .map(|x| self.declarator(&x)),
                        bits: self
                            .child(&fd, Rule::bit_width)
                            .and_then(|b| self.child(&b, Rule::expr))
                            .map(|e| self.expr(e)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Field {
            attrs,
            spec,
            declarators,
            span: self.span(p),
        }
    }

    fn enumerator(&self, p: &P) -> Option<Enumerator> {
        Some(Enumerator {
            attrs: self
                .child(p, Rule::attributes)
                .map(|a| self.attributes(&a))
                .unwrap_or_default(),
            name: self.first_ident(p)?,
            value: self.child(p, Rule::expr).map(|e| self.expr(e)),
            span: self.span(p),
        })
    }

    // ---- Declarators -----------------------------------------------------------------------

    /// Builds a declarator. C reads declarators inside out: pointers on the left wrap the base
    /// type first, then the suffixes (array, call) from right to left, then any parenthesised
    /// inner declarator wraps the result.
    pub(crate) fn declarator(&self, p: &P) -> Declarator {
        let span = self.span(p);
        let mut ops = Vec::new();
        let name = self.declarator_into(p, &mut ops);
        Declarator { name, ops, span }
    }

    fn declarator_into(&self, p: &P, ops: &mut Vec<TypeOp>) -> Option<Ident> {
        let mut pending_cc = None;
        let mut name = None;
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::pointer => ops.push(self.pointer(&c)),
                Rule::callconv => pending_cc = callconv(c.as_str()),
                Rule::direct_declarator | Rule::direct_abstract => {
                    name = self.direct_into(&c, ops, pending_cc.take());
                }
                _ => {}
            }
        }
        // A calling convention with nothing after it to attach to (`HRESULT __stdcall *p`)
        // belongs to the innermost function, if any.
        if let Some(cc) = pending_cc {
            attach_callconv(ops, cc);
        }
        name
    }

    fn direct_into(&self, p: &P, ops: &mut Vec<TypeOp>, cc: Option<CallConv>) -> Option<Ident> {
        let mut name = None;
        let mut inner = None;
        let mut suffixes = Vec::new();
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::ident => name = Some(self.ident(&c)),
                Rule::declarator | Rule::abstract_declarator => inner = Some(c),
                Rule::array_suffix => suffixes.push(TypeOp::Array(
                    self.child(&c, Rule::expr).map(|e| self.expr(e)),
                )),
                Rule::param_list => suffixes.push(TypeOp::Function(self.param_list(&c), None)),
                _ => {}
            }
        }
        let first_suffix = ops.len();
        ops.extend(suffixes.into_iter().rev());
        if let Some(cc) = cc {
            // `HRESULT __stdcall Foo(...)` or `(__stdcall *pfn)(...)`: the convention names
            // the function being declared.
            match ops.get_mut(first_suffix..).and_then(|s| {
                s.iter_mut()
                    .rev()
                    .find(|op| matches!(op, TypeOp::Function(..)))
            }) {
                Some(TypeOp::Function(_, slot)) => *slot = Some(cc),
                _ => attach_callconv(ops, cc),
            }
        }
        if let Some(inner) = inner {
            return self.declarator_into(&inner, ops);
        }
        name
    }

    fn pointer(&self, p: &P) -> TypeOp {
        let (mut is_const, mut is_volatile, mut cc) = (false, false, None);
        for q in self.children(p, Rule::qualifier) {
            self.qualifier(&q, &mut is_const, &mut is_volatile, &mut cc);
        }
        TypeOp::Pointer {
            is_const,
            callconv: cc,
        }
    }

    fn param_list(&self, p: &P) -> ParamList {
        let span = self.span(p);
        let mut list = ParamList {
            params: Vec::new(),
            varargs: false,
            span,
        };
        if let Some(params) = self.child(p, Rule::params) {
            for c in params.into_inner() {
                match c.as_rule() {
                    Rule::param => list.params.push(self.param(&c)),
                    Rule::vararg => list.varargs = true,
                    _ => {}
                }
            }
        }
        list
    }

    fn param(&self, p: &P) -> Param {
        let span = self.span(p);
        let attrs = self
            .child(p, Rule::attributes)
            .map(|a| self.attributes(&a))
            .unwrap_or_default();
        let spec = self
            .child(p, Rule::decl_spec)
            .map(|d| self.decl_spec(&d))
            .unwrap_or_else(|| self.void_type(span).spec);
        let declarator = match self
            .child(p, Rule::declarator)
            .or_else(|| self.child(p, Rule::abstract_declarator))
        {
            Some(d) => self.declarator(&d),
            None => Declarator {
                name: None,
                ops: Vec::new(),
                span,
            },
        };
        Param {
            attrs,
            spec,
            declarator,
            span,
        }
    }

    pub(crate) fn type_ref(&self, p: &P) -> TypeRef {
        let span = self.span(p);
        let spec = self
            .child(p, Rule::decl_spec)
            .map(|d| self.decl_spec(&d))
            .unwrap_or_else(|| self.void_type(span).spec);
        let ops = self
            .child(p, Rule::abstract_declarator)
            .map(|d| self.declarator(&d).ops)
            .unwrap_or_default();
        TypeRef { spec, ops, span }
    }

    // ---- Attributes ------------------------------------------------------------------------

    fn attributes(&self, p: &P) -> Vec<Attribute> {
        self.children(p, Rule::attribute)
            .filter_map(|a| {
                let name = self.ident(&self.child(&a, Rule::any_word)?);
                let args = self.child(&a, Rule::attr_args).map(|args| {
                    self.children(&args, Rule::attr_arg)
                        .map(|arg| self.attr_arg(&arg))
                        .collect()
                });
                Some(Attribute {
                    name,
                    args,
                    span: self.span(&a),
                })
            })
            .collect()
    }

    fn attr_arg(&self, p: &P) -> AttrArg {
        let span = self.span(p);
        let Some(c) = p.clone().into_inner().next() else {
            return AttrArg::Empty(span);
        };
        match c.as_rule() {
            Rule::uuid_lit => AttrArg::Uuid(c.as_str().to_string(), span),
            Rule::version_lit => AttrArg::Version(c.as_str().to_string(), span),
            Rule::strings => AttrArg::Str(self.strings(&c)),
            Rule::expr => AttrArg::Expr(self.expr(c)),
            Rule::type_ref => AttrArg::Type(self.type_ref(&c)),
            Rule::param => AttrArg::Decl(self.param(&c)),
            _ => AttrArg::Empty(span),
        }
    }

    fn strings(&self, p: &P) -> StrLit {
        let mut value = String::new();
        let mut wide = false;
        for s in self.children(p, Rule::string) {
            wide |= s.as_str().starts_with('L');
            if let Some(body) = self.child(&s, Rule::string_body) {
                push_spliced(&mut value, body.as_str());
            }
        }
        StrLit {
            value,
            wide,
            span: self.span(p),
        }
    }

    // ---- Expressions -----------------------------------------------------------------------

    pub(crate) fn expr(&self, p: P) -> Expr {
        let span = self.span(&p);
        // The tree of `a + b + c ...` is as deep as the chain is long, and every later
        // stage walks it recursively.
        let operators = p
            .clone()
            .into_inner()
            .filter(|c| c.as_rule() != Rule::unary)
            .count();
        if operators > MAX_BINARY_OPERATORS {
            self.errors.borrow_mut().push(
                Diagnostic::error(format!(
                    "expression has {operators} binary operators; at most {MAX_BINARY_OPERATORS} are allowed"
                ))
                .at(span),
            );
            return Expr {
                kind: ExprKind::Int {
                    value: 0,
                    unsigned: false,
                    decimal: true,
                },
                span,
            };
        }
        self.pratt
            .map_primary(|unary| self.unary(unary))
            .map_infix(|lhs, op, rhs| {
                let span = lhs.span.to(rhs.span);
                let kind = if op.as_rule() == Rule::ternary {
                    let mid = match self.child(&op, Rule::expr) {
                        Some(e) => self.expr(e),
                        None => lhs.clone(),
                    };
                    ExprKind::Ternary(Box::new(lhs), Box::new(mid), Box::new(rhs))
                } else {
                    ExprKind::Binary(binary_op(op.as_rule()), Box::new(lhs), Box::new(rhs))
                };
                Expr { kind, span }
            })
            .parse(p.into_inner())
            .with_span_if_empty(span)
    }

    /// `prefix* primary postfix*`: postfix operators bind tighter, so they apply first, left
    /// to right; then the prefixes, innermost (rightmost) first.
    fn unary(&self, p: P) -> Expr {
        let span = self.span(&p);
        let mut prefixes = Vec::new();
        let mut operand: Option<Expr> = None;
        let mut postfixes = 0;
        for c in p.into_inner() {
            match (c.as_rule(), operand.take()) {
                (
                    Rule::neg
                    | Rule::plus
                    | Rule::not
                    | Rule::bit_not
                    | Rule::deref
                    | Rule::addr_of
                    | Rule::cast,
                    None,
                ) => prefixes.push(c),
                (Rule::member | Rule::arrow | Rule::index, Some(lhs)) => {
                    postfixes += 1;
                    operand = Some(if postfixes > MAX_OPERATOR_RUN {
                        lhs
                    } else {
                        self.postfix(lhs, c)
                    });
                }
                (_, Some(done)) => operand = Some(done),
                (_, None) => operand = Some(self.primary(c)),
            }
        }
        if prefixes.len() > MAX_OPERATOR_RUN || postfixes > MAX_OPERATOR_RUN {
            self.errors.borrow_mut().push(
                Diagnostic::error(format!(
                    "more than {MAX_OPERATOR_RUN} unary operators on one operand"
                ))
                .at(span),
            );
            prefixes.truncate(MAX_OPERATOR_RUN);
        }
        let mut e = operand.unwrap_or(Expr {
            kind: ExprKind::Int {
                value: 0,
                unsigned: false,
                decimal: true,
            },
            span,
        });
        for op in prefixes.into_iter().rev() {
            let span = self.span(&op).to(e.span);
            let kind = match op.as_rule() {
                Rule::cast => {
                    let ty = self
                        .child(&op, Rule::type_ref)
                        .map(|t| self.type_ref(&t))
                        .unwrap_or_else(|| self.cast_base_type(&op));
                    ExprKind::Cast(Box::new(ty), Box::new(e))
                }
                rule => ExprKind::Unary(unary_op(rule), Box::new(e)),
            };
            e = Expr { kind, span };
        }
        e
    }

    fn postfix(&self, lhs: Expr, op: P) -> Expr {
        let span = lhs.span.to(self.span(&op));
        let kind = match op.as_rule() {
            Rule::index => match self.child(&op, Rule::expr) {
                Some(e) => ExprKind::Index(Box::new(lhs), Box::new(self.expr(e))),
                None => return lhs,
            },
            rule => {
                let Some(name) = self.first_ident(&op) else {
                    return lhs;
                };
                if rule == Rule::arrow {
                    ExprKind::Arrow(Box::new(lhs), name)
                } else {
                    ExprKind::Member(Box::new(lhs), name)
                }
            }
        };
        Expr { kind, span }
    }

    /// The type of the cast forms not written as a `type_ref` (see `cast` in the grammar).
    fn cast_base_type(&self, p: &P) -> TypeRef {
        let span = self.span(p);
        let mut spec = self.void_type(span).spec;
        let mut ops = Vec::new();
        for c in p.clone().into_inner() {
            match c.as_rule() {
                Rule::qualifier => self.qualifier(
                    &c,
                    &mut spec.is_const,
                    &mut spec.is_volatile,
                    &mut spec.callconv,
                ),
                Rule::base_type => spec.ty = base_type(c.as_str()),
                Rule::decl_spec => spec = self.decl_spec(&c),
                Rule::abstract_declarator => ops = self.declarator(&c).ops,
                _ => {}
            }
        }
        TypeRef { spec, ops, span }
    }

    fn primary(&self, p: P) -> Expr {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::hex_int | Rule::dec_int => int_literal(p.as_str()),
            Rule::float_lit => ExprKind::Float(
                p.as_str()
                    .trim_end_matches(['f', 'F', 'l', 'L'])
                    .parse()
                    .unwrap_or(0.0),
            ),
            Rule::char_lit => ExprKind::Char(char_value(p.as_str())),
            Rule::strings => ExprKind::Str(self.strings(&p)),
            Rule::ident => ExprKind::Name(p.as_str().to_string()),
            Rule::paren => match self.child(&p, Rule::expr) {
                Some(e) => return self.expr(e),
                None => ExprKind::Int {
                    value: 0,
                    unsigned: false,
                    decimal: true,
                },
            },
            Rule::sizeof_expr => {
                if let Some(t) = self.child(&p, Rule::type_ref) {
                    ExprKind::SizeofType(Box::new(self.type_ref(&t)))
                } else if let Some(e) = self.child(&p, Rule::expr) {
                    ExprKind::SizeofExpr(Box::new(self.expr(e)))
                } else {
                    ExprKind::Int {
                        value: 0,
                        unsigned: false,
                        decimal: true,
                    }
                }
            }
            _ => ExprKind::Int {
                value: 0,
                unsigned: false,
                decimal: true,
            },
        };
        Expr { kind, span }
    }
}

trait WithSpan {
    fn with_span_if_empty(self, span: Span) -> Self;
}

impl WithSpan for Expr {
    /// Widens a degenerate span to the whole expression's text.
    fn with_span_if_empty(mut self, span: Span) -> Expr {
        if self.span.start == self.span.end {
            self.span = span;
        }
        self
    }
}

fn attach_callconv(ops: &mut [TypeOp], cc: CallConv) {
    if let Some(TypeOp::Function(_, slot)) = ops
        .iter_mut()
        .rev()
        .find(|op| matches!(op, TypeOp::Function(..)))
    {
        *slot = Some(cc);
    }
}

fn callconv(text: &str) -> Option<CallConv> {
    Some(match text.trim_start_matches('_') {
        "stdcall" | "STDMETHODCALLTYPE" | "WINAPI" | "CALLBACK" => CallConv::Stdcall,
        "cdecl" => CallConv::Cdecl,
        "fastcall" => CallConv::Fastcall,
        "pascal" => CallConv::Pascal,
        "thiscall" => CallConv::Thiscall,
        _ => return None,
    })
}

/// Reads a base type's words (`unsigned long int`, `__int64`, `long long`).
fn base_type(text: &str) -> TypeSpec {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut sign = Signedness::Default;
    let mut longs = 0;
    let mut kind = None;
    for w in &words {
        match *w {
            "unsigned" => sign = Signedness::Unsigned,
            "signed" => sign = Signedness::Signed,
            "long" => longs += 1,
            "short" => kind = Some(BaseKind::Short),
            "int" => kind = kind.or(Some(BaseKind::Int)),
            "__int8" => kind = Some(BaseKind::Int8),
            "__int16" => kind = Some(BaseKind::Int16),
            "__int32" => kind = Some(BaseKind::Int32),
            "__int64" => kind = Some(BaseKind::Int64),
            "__int3264" => kind = Some(BaseKind::Int3264),
            "hyper" => kind = Some(BaseKind::Hyper),
            "small" => kind = Some(BaseKind::Small),
            "char" => kind = Some(BaseKind::Char),
            "byte" => kind = Some(BaseKind::Byte),
            "boolean" => kind = Some(BaseKind::Boolean),
            "wchar_t" => kind = Some(BaseKind::WChar),
            "float" => kind = Some(BaseKind::Float),
            "double" => kind = Some(BaseKind::Double),
            "void" => kind = Some(BaseKind::Void),
            _ => {}
        }
    }
    let kind = match (longs, kind) {
        (2.., _) => BaseKind::LongLong,
        (1, Some(BaseKind::Double)) => BaseKind::Double,
        (1, _) => BaseKind::Long,
        (_, Some(k)) => k,
        // Bare `unsigned` / `signed` mean int.
        (_, None) => BaseKind::Int,
    };
    TypeSpec::Base(kind, sign)
}

fn int_literal(text: &str) -> ExprKind {
    let unsigned = text.contains(['u', 'U']);
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let decimal = !(digits.len() > 1 && digits.starts_with('0'));
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(digits.get(1..).unwrap_or("0"), 8)
    } else {
        digits.parse()
    };
    // An out-of-range literal saturates; sema reports values that do not fit their type.
    ExprKind::Int {
        value: value.unwrap_or(u64::MAX),
        unsigned,
        decimal,
    }
}

/// The value of a character literal such as `'a'`, `'\n'`, `'\x41'` or `L'\0'`, decoded as
/// the preprocessor decodes them in `#if` (the last code unit of a multi-character one).
fn char_value(text: &str) -> u32 {
    let wide = text.starts_with('L');
    let body = text
        .trim_start_matches('L')
        .strip_prefix('\'')
        .and_then(|b| b.strip_suffix('\''))
        .unwrap_or("");
    crate::preprocess::char_units(body, wide)
        .ok()
        .and_then(|units| units.last().copied())
        .unwrap_or(0)
}

fn unary_op(rule: Rule) -> UnaryOp {
    match rule {
        Rule::neg => UnaryOp::Neg,
        Rule::not => UnaryOp::Not,
        Rule::bit_not => UnaryOp::BitNot,
        Rule::deref => UnaryOp::Deref,
        Rule::addr_of => UnaryOp::AddrOf,
        _ => UnaryOp::Plus,
    }
}

fn binary_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::log_or => BinaryOp::LogOr,
        Rule::log_and => BinaryOp::LogAnd,
        Rule::bit_or => BinaryOp::BitOr,
        Rule::bit_xor => BinaryOp::BitXor,
        Rule::bit_and => BinaryOp::BitAnd,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::lt => BinaryOp::Lt,
        Rule::gt => BinaryOp::Gt,
        Rule::le => BinaryOp::Le,
        Rule::ge => BinaryOp::Ge,
        Rule::shl => BinaryOp::Shl,
        Rule::shr => BinaryOp::Shr,
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        Rule::div => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

/// Appends a string literal's body with its line splices (a backslash, blanks, a newline)
/// removed, as C joins the lines before it reads the literal.
fn push_spliced(value: &mut String, body: &str) {
    let mut rest = body;
    while let Some(at) = rest.find('\\') {
        let after = &rest[at + 1..];
        let blanks = after.len() - after.trim_start_matches([' ', '\t', '\r']).len();
        if after[blanks..].starts_with('\n') {
            value.push_str(&rest[..at]);
            rest = &after[blanks + 1..];
        } else {
            // An escape: keep it, with the character it escapes.
            let escaped = after.chars().next().map_or(0, char::len_utf8);
            value.push_str(&rest[..at + 1 + escaped]);
            rest = &after[escaped..];
        }
    }
    value.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::char_value;

    #[test]
    fn character_literals_decode_like_the_preprocessor() {
        assert_eq!(char_value("'a'"), 97);
        assert_eq!(char_value(r"'\n'"), 10);
        assert_eq!(char_value(r"'\x41'"), 0x41);
        assert_eq!(char_value(r"'\101'"), 0o101);
        assert_eq!(char_value(r"L'\0'"), 0);
        assert_eq!(char_value("'"), 0, "malformed input gives 0, never a panic");
    }
}
