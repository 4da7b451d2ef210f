//! The Rust backend: IR → Rust source.
//!
//! One module per emitted kind, each turning one IR item into tokens:
//! [`constants`], [`enums`], [`records`] (structs and unions), [`typedefs`],
//! [`functions`] (free functions), [`interfaces`] (vtable, wrapper, `Interface` impl),
//! [`client`] (the safe methods), [`server`] (the `*_Impl` trait and the vtable that
//! forwards to it), [`classes`] (coclasses, libraries, dispinterfaces), [`winrt`]
//! (parameterized interface instances). [`types`] maps IR types to Rust types, [`shape`]
//! decides how each parameter looks in the safe layer, [`names`] makes identifiers.
//!
//! The generated file holds the main IDL file's items only. Items of imported files are
//! referred to by path ([`Options::imports`]); the types the runtime defines by hand
//! (`GUID`, `HRESULT`, `BSTR`) and the interfaces it owns (`IUnknown`, `IClassFactory`, ...)
//! always resolve to the runtime, so every crate shares one definition of them.

mod classes;
mod client;
mod constants;
pub mod ctypes;
mod docs;
mod enums;
mod functions;
mod interfaces;
pub mod names;
mod ndr;
pub use ndr::{NdrIndex, NdrRecord};
mod pipes;
mod proxy;
mod records;
mod rpc;
mod rpc_safe;
mod server;
mod shape;
mod typedefs;
pub(crate) mod types;
mod winrt;

use std::collections::{BTreeMap, HashMap, HashSet};

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Diagnostic;
use crate::ir::{Guid, Item, ItemId, ItemKind, Model};
use crate::layout::Layouts;
use crate::source::FileId;

use names::ItemNames;

/// What to generate and where the generated code finds what it does not define.
#[derive(Clone, Debug)]
pub struct Options {
    /// The runtime crate's path in generated code: `::comidl_runtime`, or `crate` when the
    /// runtime's own bindings are generated (then the runtime-owned interfaces are emitted).
    pub runtime: String,
    /// Rust paths of imported IDL files, by file stem (matched case-insensitively):
    /// `("objidl", "crate::objidl")`.
    pub imports: Vec<(String, String)>,
    /// Path prefix for imported files not in [`Options::imports`]: `{prefix}::{stem}`.
    pub import_prefix: String,
    /// Emit the safe client methods on interface wrappers.
    pub client: bool,
    /// Emit `*_Impl` traits and vtable constructors for implementing interfaces in Rust.
    pub server: bool,
    /// Emit the marshalling descriptions of the interfaces (`pub mod ndr`), for the
    /// runtime's NDR engine. Off for the runtime's own bindings (the layer under them
    /// cannot name the engine).
    pub marshal: bool,
    /// Routines for types whose memory form differs from their wire form and that the
    /// runtime has no built-in conversion for: `("TypeName", "path::to::ROUTINES")`, a
    /// `static` `ndr::UserRoutines`. `TypeName` is the presented type: the typedef carrying
    /// `[wire_marshal]` / `[transmit_as]`, or the local type `[user_marshal(T)]` /
    /// `[represent_as(T)]` names (or the typedef carrying those).
    pub user_marshal: Vec<(String, String)>,
    /// The Rust path of the module holding the helpers of `[local]` / `[call_as]` method
    /// pairs (MIDL's `IFoo_Method_Proxy` and `IFoo_Method_Stub`): with it, interfaces
    /// with such pairs get proxies and stubs too (see `proxy`).
    pub call_as: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            runtime: "::comidl_runtime".into(),
            imports: Vec::new(),
            import_prefix: "super".into(),
            client: true,
            server: true,
            marshal: true,
            user_marshal: Vec::new(),
            call_as: None,
        }
    }
}

impl Options {
    /// Options for the runtime's own bindings (`runtime/core/src/bindings.rs` and the rest).
    pub fn for_runtime() -> Options {
        Options {
            runtime: "crate".into(),
            marshal: false,
            ..Options::default()
        }
    }

    fn generating_runtime(&self) -> bool {
        self.runtime == "crate"
    }
}

/// Generated Rust source, formatted, with any warnings met on the way.
#[derive(Debug)]
pub struct Generated {
    pub code: String,
    pub diagnostics: Vec<Diagnostic>,
    /// What the `ndr` module holds (empty when [`Options::marshal`] is off).
    pub ndr: NdrIndex,
}

/// The IDL files whose items live in the runtime crate, by file stem, with the module of
/// the runtime that holds them (`""`: the crate root).
pub const RUNTIME_IDL: &[(&str, &str)] = &[
    ("comidl_base", ""),
    ("comidl_dispenser", "dispenser"),
    ("comidl_provider", "provider"),
];

/// The runtime module holding the items of the IDL file with this stem, if the runtime
/// owns that file (see [`RUNTIME_IDL`]).
pub fn runtime_module(stem: &str) -> Option<&'static str> {
    RUNTIME_IDL
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(stem))
        .map(|(_, module)| *module)
}

/// Interfaces the runtime defines (generated from our idl/), by IID, with their names.
const RUNTIME_INTERFACES: &[(&str, &str)] = &[
    ("00000000-0000-0000-c000-000000000046", "IUnknown"),
    ("00000001-0000-0000-c000-000000000046", "IClassFactory"),
    ("b196b28f-bab4-101a-b69c-00aa00341d07", "IClassFactory2"),
    ("00000002-0000-0000-c000-000000000046", "IMalloc"),
];

/// The name of the runtime's definition of an interface item, if the runtime owns it
/// (matched by IID, so Wine's unknwn.idl and our idl/ resolve to the same type).
pub fn runtime_interface(item: &Item) -> Option<&'static str> {
    let iid = item.uuid()?.to_string();
    RUNTIME_INTERFACES
        .iter()
        .find(|(g, _)| *g == iid)
        .map(|(_, name)| *name)
}

/// Lint allowances a module including generated code should carry, and why.
pub const ALLOWED_LINTS: &str = "dead_code, non_snake_case, non_camel_case_types, \
     non_upper_case_globals, clippy::too_many_arguments, clippy::type_complexity, \
     clippy::should_implement_trait";

/// Generates Rust for the main file of `model`.
pub fn generate(model: &Model, options: &Options) -> Result<Generated, Vec<Diagnostic>> {
    let Some(main) = model.files.first().map(|f| f.file) else {
        return Err(vec![Diagnostic::error(
            "nothing to generate: the model is empty",
        )]);
    };
    let mut g = Gen::new(model, options, main);
    for (id, item) in model.items_in(main) {
        let tokens = g.item(id, item);
        if !tokens.is_empty() {
            let ns = namespace_path(&item.namespace);
            g.modules.entry(ns).or_default().push(tokens);
        }
    }
    for (ns, tokens) in winrt::instances(&mut g) {
        g.modules.entry(ns).or_default().push(tokens);
    }
    let mut ndr_index = NdrIndex::default();
    if options.marshal {
        let (tokens, index) = ndr::emit(&mut g);
        ndr_index = index;
        if !tokens.is_empty() {
            g.modules.entry(Vec::new()).or_default().push(tokens);
        }
        let tokens = rpc_safe::emit(&mut g);
        if !tokens.is_empty() {
            g.modules.entry(Vec::new()).or_default().push(tokens);
        }
    }
    let tokens = assemble(&g.modules, &[]);
    if g.diags.iter().any(Diagnostic::is_error) {
        return Err(g.diags);
    }
    if let Some(dump) = std::env::var_os("COMIDL_DUMP_TOKENS") {
        // A debugging aid for this backend: the unformatted tokens.
        let _ = std::fs::write(dump, tokens.to_string());
    }
    let file: syn::File = match syn::parse2(tokens) {
        Ok(file) => file,
        Err(e) => {
            // A bug of ours, not the user's: say so plainly rather than panic.
            g.diags.push(Diagnostic::error(format!(
                "internal error: the Rust backend produced invalid tokens: {e}"
            )));
            return Err(g.diags);
        }
    };
    let header = format!(
        "// Generated by comidl {} from {}. Do not edit.\n// Include with #[allow({ALLOWED_LINTS})].\n\n",
        env!("CARGO_PKG_VERSION"),
        model.files[0]
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    Ok(Generated {
        code: header + &prettyplease::unparse(&file),
        diagnostics: g.diags,
        ndr: ndr_index,
    })
}

fn namespace_path(ns: &str) -> Vec<String> {
    if ns.is_empty() {
        Vec::new()
    } else {
        ns.split('.').map(names::sanitize).collect()
    }
}

/// Nests the per-namespace item lists into `pub mod` blocks.
fn assemble(modules: &BTreeMap<Vec<String>, Vec<TokenStream>>, at: &[String]) -> TokenStream {
    let own = modules.get(at).map(|v| v.as_slice()).unwrap_or(&[]);
    let mut children: Vec<&String> = modules
        .keys()
        .filter(|k| k.len() > at.len() && k.starts_with(at))
        .map(|k| &k[at.len()])
        .collect();
    children.dedup();
    let nested = children.into_iter().map(|child| {
        let mut path = at.to_vec();
        path.push(child.clone());
        let body = assemble(modules, &path);
        let name = names::ident(child);
        let doc = docs::attrs(&format!("Namespace {}.", docs::code(&path.join("."))));
        quote! { #doc pub mod #name { #body } }
    });
    quote! { #(#own)* #(#nested)* }
}

/// What an item resolves to when the runtime defines it by hand.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WellKnown {
    Guid,
    Hresult,
    /// `BSTR`: `*mut u16` in raw positions, the runtime's owned `BSTR` in safe ones.
    Bstr,
    /// An interface the runtime's bindings define.
    RuntimeInterface(&'static str),
}

/// The state of one generation.
pub(crate) struct Gen<'m> {
    pub model: &'m Model,
    pub opts: &'m Options,
    pub main: FileId,
    pub names: ItemNames,
    pub layouts: Layouts<'m>,
    pub diags: Vec<Diagnostic>,
    /// The runtime path as tokens.
    pub rt: TokenStream,
    /// The namespace module being written (for relative paths).
    pub ns: Vec<String>,
    pub modules: BTreeMap<Vec<String>, Vec<TokenStream>>,
    /// Names already used in each module, per namespace: types, then values.
    used_types: HashSet<(Vec<String>, String)>,
    used_values: HashSet<(Vec<String>, String)>,
    /// Stand-ins for C definitions the runtime provides (see [`ctypes`]).
    stand_ins: HashMap<ItemId, &'static str>,
    /// Enums a `cpp_quote("DEFINE_ENUM_FLAG_OPERATORS(NAME)")` names (directly or through
    /// a typedef).
    flag_enums: HashSet<ItemId>,
}

impl<'m> Gen<'m> {
    fn new(model: &'m Model, opts: &'m Options, main: FileId) -> Gen<'m> {
        let names = ItemNames::new(model);
        let stand_ins = if opts.generating_runtime() {
            HashMap::new()
        } else {
            ctypes::stand_ins(model, &names)
        };
        Gen {
            model,
            opts,
            main,
            names,
            layouts: Layouts::new(model),
            diags: Vec::new(),
            rt: path_tokens(&opts.runtime),
            ns: Vec::new(),
            modules: BTreeMap::new(),
            used_types: HashSet::new(),
            used_values: HashSet::new(),
            stand_ins,
            flag_enums: flag_enums(model),
        }
    }

    fn item(&mut self, id: ItemId, item: &'m Item) -> TokenStream {
        self.ns = namespace_path(&item.namespace);
        if self.well_known(id).is_some() && !self.emits_runtime_item(id) {
            return TokenStream::new();
        }
        if let Some(c_name) = self.stand_ins.get(&id).copied() {
            return self.c_type_alias(id, item, c_name);
        }
        match &item.kind {
            ItemKind::Typedef(ty) => typedefs::emit(self, id, item, ty),
            ItemKind::Struct(_) | ItemKind::Union(_) => records::emit(self, id, item),
            ItemKind::Enum(e) => enums::emit(self, id, item, e),
            ItemKind::Const(c) => constants::emit(self, item, c),
            ItemKind::Interface(i) => interfaces::emit(self, id, item, i),
            ItemKind::Dispinterface(d) => classes::dispinterface(self, id, item, d),
            ItemKind::Coclass(_) => classes::coclass(self, item),
            ItemKind::RuntimeClass(_) => classes::runtimeclass(self, item),
            ItemKind::Library(_) => classes::library(self, item),
            ItemKind::Delegate(d) => winrt::delegate(self, id, item, d),
            ItemKind::Function(f) => functions::emit(self, item, f),
            ItemKind::GuidConst(guid) => constants::guid(self, item, guid),
            ItemKind::Pipe(element) => pipes::emit(self, id, item, element),
            ItemKind::Module(_)
            | ItemKind::ApiContract
            | ItemKind::CppQuote(_)
            | ItemKind::ImportLib(_)
            | ItemKind::Pragma(_)
            | ItemKind::Declare(_) => TokenStream::new(),
        }
    }

    /// Whether a runtime-owned item is emitted here (only when generating the runtime).
    fn emits_runtime_item(&self, id: ItemId) -> bool {
        matches!(self.well_known(id), Some(WellKnown::RuntimeInterface(_)))
            && self.opts.generating_runtime()
    }

    pub fn well_known(&self, id: ItemId) -> Option<WellKnown> {
        let item = self.model.item(id)?;
        match &item.kind {
            ItemKind::Typedef(_) => match item.name.as_str() {
                "HRESULT" => Some(WellKnown::Hresult),
                "GUID" => Some(WellKnown::Guid),
                "BSTR" => Some(WellKnown::Bstr),
                _ => None,
            },
            ItemKind::Struct(_) if item.name == "_GUID" || item.name == "GUID" => {
                Some(WellKnown::Guid)
            }
            ItemKind::Interface(_) => runtime_interface(item).map(WellKnown::RuntimeInterface),
            _ => None,
        }
    }

    /// `pub type NAME = runtime::ctypes::C_NAME;` for a stand-in (see [`ctypes`]).
    fn c_type_alias(&mut self, id: ItemId, item: &Item, c_name: &str) -> TokenStream {
        let rust_name = match &item.kind {
            ItemKind::Typedef(_) => names::sanitize(&item.name),
            _ => self.names.get(id).to_string(),
        };
        if !self.claim_type(&rust_name, item) {
            return TokenStream::new();
        }
        let name = names::ident(&rust_name);
        let module = names::ident(ctypes::MODULE);
        let target = names::ident(c_name);
        let rt = &self.rt;
        let doc = docs::attrs(&format!(
            "{} ({}) is declared for the IDL compiler only: C takes its definition from a C \
             header, and so does this alias ({}).",
            docs::code(&rust_name),
            self.file_name(item),
            docs::code(&format!("{}::{c_name}", ctypes::MODULE))
        ));
        quote! { #doc pub type #name = #rt::#module::#target; }
    }

    /// Reserves a type name in the current module; false (with a warning) if taken.
    pub fn claim_type(&mut self, name: &str, item: &Item) -> bool {
        let key = (self.ns.clone(), name.to_string());
        if self.used_types.insert(key) {
            return true;
        }
        self.diags.push(
            Diagnostic::warning(format!(
                "`{name}` is already defined in this module of the generated Rust; this {} is left out",
                item.kind.describe()
            ))
            .at(item.span),
        );
        false
    }

    /// Reserves a value name (constant, function, tuple-struct constructor); false if taken.
    pub fn claim_value(&mut self, name: &str) -> bool {
        self.used_values.insert((self.ns.clone(), name.to_string()))
    }

    pub fn unsupported(&mut self, what: impl Into<String>, item: &Item) {
        self.diags.push(
            Diagnostic::warning(format!("{}; the Rust backend leaves it out", what.into()))
                .at(item.span),
        );
    }

    /// `#rt::name`.
    pub fn rt(&self, name: &str) -> TokenStream {
        let rt = &self.rt;
        let name = names::ident(name);
        quote! { #rt::#name }
    }

    /// The path to a declared item from the module being written.
    pub fn path(&self, id: ItemId) -> TokenStream {
        self.path_with_suffix(id, "")
    }

    /// The path to `{item name}{suffix}` (`IFoo_Vtbl`, `IFoo_Impl`) next to an item.
    pub fn path_with_suffix(&self, id: ItemId, suffix: &str) -> TokenStream {
        let Some(item) = self.model.item(id) else {
            return quote! { ::core::ffi::c_void };
        };
        if let Some(WellKnown::RuntimeInterface(name)) = self.well_known(id)
            && !self.opts.generating_runtime()
        {
            return self.rt(&format!("{name}{suffix}"));
        }
        let name = names::ident(&format!("{}{suffix}", self.names.get(id)));
        let target_ns = namespace_path(&item.namespace);
        let mut segments: Vec<TokenStream> = Vec::new();
        let file_prefix = if item.file == self.main {
            None
        } else {
            Some(self.file_path(item.file))
        };
        let relative = file_prefix
            .as_ref()
            .is_none_or(|p| !(p.starts_with("::") || p.starts_with("crate")));
        if relative {
            for _ in 0..self.ns.len() {
                segments.push(quote! { super });
            }
        }
        if let Some(prefix) = file_prefix {
            segments.push(path_tokens(&prefix));
        }
        if item.file == self.main && target_ns == self.ns && segments.is_empty() {
            return quote! { #name };
        }
        for seg in &target_ns {
            let seg = names::ident(seg);
            segments.push(quote! { #seg });
        }
        segments.push(quote! { #name });
        quote! { #(#segments)::* }
    }

    /// The Rust path of an imported file's generated module.
    fn file_path(&self, file: FileId) -> String {
        let stem = self.model.file_stem(file).unwrap_or_default();
        if let Some((_, path)) = self
            .opts
            .imports
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(&stem))
        {
            return path.clone();
        }
        if let Some(module) = runtime_module(&stem) {
            return match module {
                "" => self.opts.runtime.clone(),
                module => format!("{}::{module}", self.opts.runtime),
            };
        }
        format!("{}::{}", self.opts.import_prefix, module_name(&stem))
    }
}

/// The module name conventionally used for an IDL file's generated code.
pub fn module_name(stem: &str) -> String {
    let snake = names::sanitize(&stem.to_ascii_lowercase());
    names::ident(&snake).to_string()
}

/// Tokens for a path written as text (`::comidl_runtime`, `crate::objidl`, `super::base`).
pub(crate) fn path_tokens(path: &str) -> TokenStream {
    let absolute = path.starts_with("::");
    let segments = path.split("::").filter(|s| !s.is_empty()).map(|s| match s {
        "crate" => quote! { crate },
        "super" => quote! { super },
        "self" => quote! { self },
        other => {
            let id = names::ident(other);
            quote! { #id }
        }
    });
    if absolute {
        quote! { #(::#segments)* }
    } else {
        quote! { #(#segments)::* }
    }
}

/// `GUID::from_u128(0x...)` for a GUID.
pub(crate) fn guid_tokens(g: &Gen, guid: &Guid) -> TokenStream {
    let rt = &g.rt;
    let mut value: u128 =
        u128::from(guid.data1) << 96 | u128::from(guid.data2) << 80 | u128::from(guid.data3) << 64;
    for (i, b) in guid.data4.iter().enumerate() {
        value |= u128::from(*b) << (56 - 8 * i);
    }
    let lit = proc_macro2::Literal::u128_unsuffixed(value);
    let text: TokenStream = format!("0x{value:032x}")
        .parse()
        .unwrap_or_else(|_| quote! { #lit });
    quote! { #rt::GUID::from_u128(#text) }
}

/// The enums `DEFINE_ENUM_FLAG_OPERATORS(NAME)` is applied to in the model's cpp_quotes;
/// NAME is usually the typedef, so typedefs are followed to the enum.
fn flag_enums(model: &Model) -> HashSet<ItemId> {
    const MACRO: &str = "DEFINE_ENUM_FLAG_OPERATORS";
    let mut out = HashSet::new();
    for item in &model.items {
        let ItemKind::CppQuote(text) = &item.kind else {
            continue;
        };
        let mut rest = text.as_str();
        while let Some(at) = rest.find(MACRO) {
            rest = rest[at + MACRO.len()..].trim_start();
            let Some(args) = rest.strip_prefix('(') else {
                continue;
            };
            if let Some(end) = args.find(')')
                && let Some(id) = model.names.get(args[..end].trim()).copied()
            {
                out.insert(enum_behind(model, id));
            }
            rest = args;
        }
    }
    out
}

/// The item a chain of `typedef X Y;` ends at (bounded: sema rejects typedef cycles).
fn enum_behind(model: &Model, mut id: ItemId) -> ItemId {
    for _ in 0..64 {
        match model.item(id).map(|i| &i.kind) {
            Some(ItemKind::Typedef(crate::ir::Type::Named(next))) => id = *next,
            _ => break,
        }
    }
    id
}
