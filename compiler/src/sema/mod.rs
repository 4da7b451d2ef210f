//! Semantic analysis: AST → IR.
//!
//! Two passes over every loaded file, so that use before declaration is legal (MIDL allows
//! it; widl does not):
//! 1. [`collect`] creates an item for every named declaration in every file, registers its
//!    name, and notes what must be lowered;
//! 2. [`lower`] turns each noted declaration into its IR form, resolving type names
//!    ([`types`]), evaluating constants ([`consteval`]) and checking attributes ([`attrs`]).

mod attributes;
mod attrs;
mod checks;
mod collect;
pub mod consteval;
mod cpp_state;
mod cycles;
mod loader;
mod lower;
mod pipes;
mod types;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diag::Diagnostic;
use crate::ir::{self, Item, ItemId, ItemKind, Model, PointerKind, Value};
use crate::preprocess::Options;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast;

pub use loader::Parsed;

/// How deep constant definitions may refer to one another (each level recurses through
/// the evaluator). Real IDL needs a handful.
const MAX_CONST_DEPTH: usize = 100;

/// The identity of an enum definition node.
fn enum_key(spec: &ast::EnumSpec) -> usize {
    std::ptr::from_ref(spec) as usize
}

/// Where a declaration stands: what enclosing constructs imply for it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ctx {
    pub file: FileId,
    /// Dotted WinRT namespace ("" outside any).
    pub namespace: String,
    pub parent: Option<ItemId>,
    /// Struct packing in force (`#pragma pack`, `pshpackN.h`).
    pub pack: Option<u32>,
    /// Whether C compiles the declaration (the cpp_quote'd conditionals around it).
    pub c_visibility: ir::CVisibility,
    /// The enclosing interface's `pointer_default`.
    pub pointer_default: Option<PointerKind>,
    /// Type parameters in scope (inside a parameterized interface or delegate).
    pub type_params: Vec<String>,
}

/// A declaration noted by the collect pass, lowered by the lower pass.
pub(crate) enum Pending<'a> {
    Interface(&'a ast::Item, &'a ast::Interface),
    Dispinterface(&'a ast::Item, &'a ast::Dispinterface),
    Class(&'a ast::Item, &'a ast::Class),
    Delegate(&'a ast::Delegate),
    Typedef(&'a ast::Typedef, &'a ast::Declarator),
    /// `typedef pipe T NAME`: the typedef and its element type.
    Pipe(&'a ast::Typedef, &'a ast::TypeRef),
    Const(&'a ast::ConstDecl),
    Function(&'a ast::Item, &'a ast::DeclSpec, &'a ast::Declarator),
    Declare(&'a [ast::ClassMember]),
    /// A named struct, union or enum defined inside some declaration.
    Tagged(&'a ast::DeclSpec),
}

/// A typedef name declared again (see [`Sema::typedef_repeats`]).
pub(crate) type TypedefRepeat<'a> = (ItemId, &'a ast::DeclSpec, &'a [ast::TypeOp], Span, Ctx);

/// Where a constant's value comes from.
#[derive(Clone)]
pub(crate) enum ConstDef<'a> {
    Const(ItemId, &'a ast::ConstDecl),
    Enumerator(&'a ast::EnumSpec, usize),
}

pub(crate) struct Sema<'a> {
    pub files: &'a [Parsed],
    pub model: Model,
    pub diags: Vec<Diagnostic>,
    pub pending: Vec<(ItemId, Pending<'a>, Ctx)>,
    /// Struct/union/enum definitions already given an item, by AST node address.
    pub spec_items: HashMap<usize, ItemId>,
    pub consts: HashMap<String, ConstDef<'a>>,
    /// The written type of every typedef, for casts evaluated before typedefs are lowered.
    pub typedef_asts: HashMap<ItemId, (&'a ast::DeclSpec, &'a [ast::TypeOp])>,
    /// Items that have a definition (not only a forward declaration).
    pub defined: HashSet<ItemId>,
    /// Typedef names declared again: the first typedef, the repeated type and where; the
    /// two types are compared once everything is lowered.
    pub typedef_repeats: Vec<TypedefRepeat<'a>>,
    /// Attribute lists lowered in pass 2 for items that have no other pending work.
    pub pending_attrs: Vec<(ItemId, &'a [ast::Attribute], attributes::Place, Ctx)>,
    const_values: HashMap<String, Value>,
    const_in_progress: HashSet<String>,
    /// How many constant definitions are being evaluated, one inside another.
    const_depth: usize,
    /// Evaluated enums, and those being evaluated, by AST node address.
    enum_memo: HashMap<usize, Vec<i128>>,
    enums_in_progress: HashSet<usize>,
}

/// Looks `name` up in `map` from inside `namespace`: a dotted name as written, or the
/// innermost enclosing namespace that declares it.
fn lookup_scoped(map: &HashMap<String, ItemId>, name: &str, namespace: &str) -> Option<ItemId> {
    let mut ns = namespace;
    loop {
        let full = if ns.is_empty() {
            name.to_string()
        } else {
            format!("{ns}.{name}")
        };
        if let Some(id) = map.get(&full) {
            return Some(*id);
        }
        if ns.is_empty() {
            return None;
        }
        ns = ns.rsplit_once('.').map(|(outer, _)| outer).unwrap_or("");
    }
}

/// The result of analysing a file and its imports.
pub struct Analysis {
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads, preprocesses, parses and analyses `path` and everything it imports.
pub fn analyze(sources: &mut SourceMap, path: &Path, options: &Options) -> Analysis {
    let mut diagnostics = Vec::new();
    let parsed = {
        let mut loader = loader::Loader::new(sources, options, &mut diagnostics);
        if loader.load_main(path).is_none() {
            return Analysis {
                model: Model::default(),
                diagnostics,
            };
        }
        loader.parsed
    };
    let mut sema = Sema::new(&parsed);
    sema.collect_all();
    sema.lower_all();
    sema.check_cycles();
    sema.check_declarations();
    sema.check_pipes();
    diagnostics.append(&mut sema.diags);
    Analysis {
        model: sema.model,
        diagnostics,
    }
}

impl<'a> Sema<'a> {
    fn new(files: &'a [Parsed]) -> Sema<'a> {
        let model = Model {
            files: files
                .iter()
                .map(|p| ir::IdlFile {
                    file: p.file,
                    path: p.path.clone(),
                    imports: p.imports.clone(),
                    read: p.read.clone(),
                })
                .collect(),
            ..Model::default()
        };
        Sema {
            files,
            model,
            diags: Vec::new(),
            pending: Vec::new(),
            spec_items: HashMap::new(),
            consts: HashMap::new(),
            typedef_asts: HashMap::new(),
            defined: HashSet::new(),
            typedef_repeats: Vec::new(),
            pending_attrs: Vec::new(),
            const_values: HashMap::new(),
            const_in_progress: HashSet::new(),
            const_depth: 0,
            enum_memo: HashMap::new(),
            enums_in_progress: HashSet::new(),
        }
    }

    pub fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Adds an item and returns its id.
    pub fn add_item(&mut self, name: &str, kind: ItemKind, span: Span, ctx: &Ctx) -> ItemId {
        let id = ItemId(u32::try_from(self.model.items.len()).unwrap_or(u32::MAX));
        self.model.items.push(Item {
            name: name.to_string(),
            namespace: ctx.namespace.clone(),
            kind,
            attrs: Vec::new(),
            parent: ctx.parent,
            file: ctx.file,
            span,
            c_visibility: ctx.c_visibility,
        });
        id
    }

    pub fn item(&self, id: ItemId) -> Option<&Item> {
        self.model.items.get(id.0 as usize)
    }

    pub fn item_mut(&mut self, id: ItemId) -> Option<&mut Item> {
        self.model.items.get_mut(id.0 as usize)
    }

    /// Finds an ordinary name as C++/WinRT would from inside `namespace`: a dotted name
    /// as written, or the innermost enclosing namespace that declares it.
    pub fn lookup_name(&self, name: &str, namespace: &str) -> Option<ItemId> {
        lookup_scoped(&self.model.names, name, namespace)
    }

    /// Finds a struct/union/enum tag the same way: tags declared in a WinRT namespace are
    /// registered under their full name.
    pub fn lookup_tag(&self, name: &str, namespace: &str) -> Option<ItemId> {
        lookup_scoped(&self.model.tags, name, namespace)
    }

    /// The value of a named constant, evaluating it (and what it depends on) on demand.
    ///
    /// Each constant is evaluated once: its value is cached and its errors are reported
    /// then, wherever the first use happens to be. A constant that needs itself is a cycle;
    /// chains of constants deeper than [`MAX_CONST_DEPTH`] are refused, so the recursion
    /// through the evaluator stays bounded.
    pub fn const_value(&mut self, name: &str) -> consteval::NameValue {
        use consteval::NameValue;
        if let Some(v) = self.const_values.get(name) {
            return NameValue::Value(v.clone());
        }
        let Some(def) = self.consts.get(name).cloned() else {
            if let Some(id) = self.lookup_name(name, "")
                && self.item(id).is_some_and(|it| it.kind.is_type())
            {
                return NameValue::Type(self.integer_typedef(id));
            }
            // widl and MIDL know these without a declaration.
            return match name {
                "TRUE" => NameValue::Value(Value::Int(1)),
                "FALSE" | "NULL" => NameValue::Value(Value::Int(0)),
                _ => NameValue::Unknown,
            };
        };
        if self.const_depth >= MAX_CONST_DEPTH {
            return NameValue::TooDeep;
        }
        let value = match def {
            ConstDef::Const(_, decl) => {
                if !self.const_in_progress.insert(name.to_string()) {
                    return NameValue::Cycle;
                }
                self.const_depth += 1;
                let result = self.eval(&decl.value);
                self.const_depth -= 1;
                self.const_in_progress.remove(name);
                result.unwrap_or_else(|d| {
                    self.error(d);
                    Value::Unevaluated
                })
            }
            ConstDef::Enumerator(spec, index) => {
                if self.enums_in_progress.contains(&enum_key(spec)) {
                    // Its enum is being evaluated and has not reached it: C scopes an
                    // enumerator from its own definition on.
                    return NameValue::NotYet;
                }
                self.const_depth += 1;
                let values = self.enum_values(spec);
                self.const_depth -= 1;
                values
                    .get(index)
                    .map(|v| Value::Int(*v))
                    .unwrap_or(Value::Unevaluated)
            }
        };
        self.const_values.insert(name.to_string(), value.clone());
        NameValue::Value(value)
    }

    /// Width and signedness of a typedef that names an integer type (`ULONG`), following
    /// typedef chains in the AST, since the typedef may not be lowered yet.
    fn integer_typedef(&self, mut id: ItemId) -> Option<(u32, bool)> {
        for _ in 0..32 {
            let (spec, ops) = self.typedef_asts.get(&id)?;
            if !ops.is_empty() {
                return None;
            }
            match &spec.ty {
                ast::TypeSpec::Named(name, args) if args.is_empty() => {
                    id = self.lookup_name(&name.dotted(), "")?;
                }
                other => return consteval::integer_type(other),
            }
        }
        None
    }

    /// Evaluates a constant expression against the declared constants.
    pub fn eval(&mut self, e: &ast::Expr) -> Result<Value, Diagnostic> {
        let mut names = |n: &str| self.const_value(n);
        consteval::Evaluator { names: &mut names }.eval(e)
    }

    /// Evaluates an expression that must be an integer constant; reports and returns `None`
    /// otherwise.
    pub fn eval_int(&mut self, e: &ast::Expr) -> Option<i128> {
        let result = {
            let mut names = |n: &str| self.const_value(n);
            consteval::Evaluator { names: &mut names }.eval_int(e)
        };
        result.map_err(|d| self.error(d)).ok()
    }

    /// The values of an enum's enumerators: each is its expression, or one more than the
    /// previous. Evaluated once per enum, in order; each value is published as soon as it is
    /// known, so `X = PREV + 1` chains cost nothing extra. Problems are reported then.
    pub fn enum_values(&mut self, spec: &ast::EnumSpec) -> Vec<i128> {
        let key = enum_key(spec);
        if let Some(values) = self.enum_memo.get(&key) {
            return values.clone();
        }
        self.enums_in_progress.insert(key);
        let mut values = Vec::new();
        let mut next: i128 = 0;
        for (index, e) in spec.variants.iter().flatten().enumerate() {
            let value = match &e.value {
                // A value that cannot be evaluated is reported, and counting goes on.
                Some(expr) => self.eval_int(expr).unwrap_or(next),
                None => next,
            };
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&value) {
                self.error(
                    Diagnostic::error(format!("enum value {value} does not fit in 32 bits"))
                        .at(e.span),
                );
            }
            values.push(value);
            let registered = matches!(self.consts.get(&e.name.name),
                Some(ConstDef::Enumerator(s, i)) if enum_key(s) == key && *i == index);
            if registered {
                self.const_values
                    .insert(e.name.name.clone(), Value::Int(value));
            }
            // Enumerators are 32 bits wide: the one after 0xFFFFFFFF is 0, as MIDL and widl
            // count, not 0x100000000.
            next = if value == i128::from(u32::MAX) {
                0
            } else {
                value.wrapping_add(1)
            };
        }
        self.enums_in_progress.remove(&key);
        self.enum_memo.insert(key, values.clone());
        values
    }
}
