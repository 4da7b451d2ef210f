//! The C header backend: IR → `<stem>.h` (widl's `-h`) and `<stem>_i.c` (widl's `-u`).
//!
//! The header declares the main IDL file's items for C and C++, in declaration order, the
//! way widl and MIDL lay such headers out: the platform's RPC and COM headers where there
//! are such ([`prologue::PLATFORM`]), an include guard, a small [`prologue`] of the
//! macros COM headers rely on (each defined only if nothing defined it first, so the header
//! coexists with `<windows.h>` and with other comidl headers), forward declarations of the
//! interfaces, `#include "<stem>.h"` for every imported IDL file (the caller generates those
//! headers too), then the items: typedefs, [`enums`], [`records`] (structs, unions,
//! encapsulated unions, bit-fields), [`constants`] as `#define`s, cpp_quote text verbatim,
//! [`interfaces`] (the C++ class, the C vtable struct and the COBJMACROS call macros; DCE
//! RPC interfaces as function prototypes), [`classes`] (coclasses, libraries, modules,
//! runtime classes) and the WinRT instances of parameterized interfaces ([`winrt`]).
//! [`iids`] writes the definitions of the GUIDs the header declares.
//!
//! C spellings ([`types`]): IDL `long` and `int` are C `int` (32 bits on every target; C
//! `long` is 64 bits on LP64 Linux), `hyper`/`__int64` are `long long`, `__int3264` is
//! `intptr_t`, `boolean`/`byte` are `unsigned char`, and `wchar_t` is the prologue's
//! `comidl_wchar`: `unsigned short` in C and `char16_t` in C++ (or `wchar_t` where that is
//! 16 bits: Windows, `-fshort-wchar`), so C and C++ agree on 16 bits without compiler flags.
//! COM methods use `STDMETHODCALLTYPE`: nothing on Unix (the C convention, which is what
//! Rust's `extern "system"` is there) and `__stdcall` on Windows.
//!
//! Packing is written as MIDL writes it: `#pragma pack` lines of the IDL are kept, and the
//! `pshpackN.h`/`poppack.h` includes of cpp_quote are written as the `#pragma pack(push, N)`
//! and `#pragma pack(pop)` those headers hold, so the header needs no Windows headers.
//! Other cpp_quote text is verbatim, except that conditionals on `_WIN64` test
//! `COMIDL_WIN64` (any 64-bit target), the branch comidl's layouts take.
//!
//! Declarations are written before their first use even where the IDL uses a name before
//! declaring it (MIDL allows that): an item's dependencies in the same file are written
//! first, except items inside cpp_quote'd conditionals, which stay where they are. A
//! forward-declared interface is written where it is defined, after the cpp_quote'd C its
//! methods may use; a named record defined inside a member of another is defined there.
//! Anonymous members are spelled with widl's `__C89_NAMELESS` macros.

mod classes;
mod constants;
mod enums;
mod iids;
mod interfaces;
mod names;
mod pipes;
mod prologue;
mod records;
mod types;
mod winrt;

use std::collections::HashSet;

use crate::diag::Diagnostic;
use crate::ir::{CVisibility, Item, ItemId, ItemKind, Model, Type};
use crate::source::{FileId, Span};

pub use iids::iids;

use names::CNames;

/// What the C backend is told.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Header names for imported IDL files, by file stem (matched case-insensitively), as
    /// written after `#include`: `("unknwn", "<unknwn.h>")`. An import not listed becomes
    /// `#include "<stem>.h"`, the header comidl writes for it.
    ///
    /// There is no pointer-width setting: the header spells pointer-sized integers
    /// `intptr_t`/`uintptr_t`, so it adapts to the compiler's target by itself.
    pub imports: Vec<(String, String)>,
}

/// A generated C file, with any warnings met on the way.
#[derive(Debug)]
pub struct Generated {
    /// The file's text.
    pub code: String,
    /// Warnings: what the header could not express, each naming the item.
    pub diagnostics: Vec<Diagnostic>,
}

/// Generates the C/C++ header (`<stem>.h`) of the main file of `model`.
pub fn header(model: &Model, options: &Options) -> Result<Generated, Vec<Diagnostic>> {
    let main = main_file(model)?;
    let mut g = Gen::new(model, options, main);
    let code = g.header();
    if g.diags.iter().any(Diagnostic::is_error) {
        return Err(g.diags);
    }
    Ok(Generated {
        code,
        diagnostics: g.diags,
    })
}

/// How the header spells a type as an abstract declarator (`struct tagPOINT`, `LONG *`,
/// `__x_ABI_CFoo_CIBar *`), or `None` for a struct, union or enum the header defines inside
/// its user and never names. Probes and tests use it to refer to the header's types.
pub fn type_name(model: &Model, ty: &Type) -> Option<String> {
    let main = model.files.first().map(|f| f.file)?;
    let options = Options::default();
    let mut g = Gen::new(model, &options, main);
    let inline = innermost(ty).is_some_and(|id| g.is_inline_only(id));
    (!inline).then(|| g.declare(ty, "", types::Place::Other))
}

/// The C name the header gives a declared item: the IDL name, or for WinRT declarations the
/// mangled name widl gives them in C (`__x_ABI_CFoo_CIBar`).
pub fn item_name(model: &Model, id: ItemId) -> String {
    CNames::new(model).get(id).to_string()
}

/// The names of an interface's C vtable slots in order, inherited ones first (`IFooVtbl`'s
/// members), or `None` when the interface has no complete vtable.
pub fn vtable_slots(model: &Model, id: ItemId) -> Option<Vec<String>> {
    let main = model.files.first().map(|f| f.file)?;
    let options = Options::default();
    let g = Gen::new(model, &options, main);
    let item = model.item(id)?;
    let groups = interfaces::slot_groups(&g, id, item).ok()?;
    Some(
        groups
            .into_iter()
            .flat_map(|grp| grp.slots.into_iter().map(|s| s.name))
            .collect(),
    )
}

fn main_file(model: &Model) -> Result<FileId, Vec<Diagnostic>> {
    model
        .files
        .first()
        .map(|f| f.file)
        .ok_or_else(|| vec![Diagnostic::error("nothing to generate: the model is empty")])
}

/// The named item at the bottom of pointers, arrays and `const`.
fn innermost(ty: &Type) -> Option<ItemId> {
    match ty {
        Type::Named(id) => Some(*id),
        Type::Pointer { pointee, .. } | Type::Const(pointee) => innermost(pointee),
        Type::Array { element, .. } => innermost(element),
        _ => None,
    }
}

/// The state of one generation.
pub(crate) struct Gen<'m> {
    pub model: &'m Model,
    pub opts: &'m Options,
    pub main: FileId,
    pub names: CNames,
    pub diags: Vec<Diagnostic>,
    /// The text written so far.
    pub out: String,
    /// Indentation of the record body being written (inline definitions nest).
    pub indent: usize,
    emitted: HashSet<ItemId>,
    in_progress: HashSet<ItemId>,
    /// The records whose bodies are being written, innermost last: a named record whose
    /// host (see [`CNames::host`]) is the innermost is defined in place.
    pub writing: Vec<ItemId>,
    /// File-scope value names written (enumerators, macros), to report clashes.
    values: HashSet<String>,
    /// Items a warning was already given for (one warning per item and subject).
    warned: HashSet<(Span, String, &'static str)>,
}

impl<'m> Gen<'m> {
    fn new(model: &'m Model, opts: &'m Options, main: FileId) -> Gen<'m> {
        Gen {
            model,
            opts,
            main,
            names: CNames::new(model),
            diags: Vec::new(),
            out: String::new(),
            indent: 0,
            emitted: HashSet::new(),
            in_progress: HashSet::new(),
            writing: Vec::new(),
            values: HashSet::new(),
            warned: HashSet::new(),
        }
    }

    fn header(&mut self) -> String {
        let stem = self.stem(self.main);
        let guard = format!("__{}_h__", names::sanitize(&stem));
        self.line(&format!(
            "/* Generated by comidl {} from {}. Do not edit. */",
            env!("CARGO_PKG_VERSION"),
            self.file_name(self.main)
        ));
        self.line("");
        self.out.push_str(prologue::PLATFORM);
        self.line("");
        self.line(&format!("#ifndef {guard}"));
        self.line(&format!("#define {guard}"));
        self.line("");
        self.out.push_str(prologue::TEXT);
        self.line("");
        interfaces::forward_declarations(self);
        self.imports();
        self.line("#ifdef __cplusplus");
        self.line("extern \"C\" {");
        self.line("#endif");
        self.line("");
        for id in self.definition_order() {
            if self.is_interface_member(id) {
                // Written inside its interface's block.
                continue;
            }
            self.ensure(id, false);
        }
        winrt::emit_instances(self);
        self.line("#ifdef __cplusplus");
        self.line("}");
        self.line("#endif");
        self.line("");
        self.line(&format!("#endif /* {guard} */"));
        std::mem::take(&mut self.out)
    }

    /// The main file's items in the order the IDL defines them. The model keeps an item
    /// where its name first appeared, which for a forward-declared interface (or
    /// dispinterface, coclass, delegate) is the forward declaration
    /// (`interface IDispatch;` at the top of oaidl.idl); written
    /// there, its methods would use types a later cpp_quote defines (`EXCEPINFO`). So such
    /// an item moves to just before the first later item that the IDL's text has after its
    /// definition; the others keep their places.
    fn definition_order(&self) -> Vec<ItemId> {
        let items: Vec<(ItemId, Span, bool)> = self
            .model
            .items_in(self.main)
            .map(|(id, it)| {
                // What IDL declares forward (`interface X;`, `coclass X;`). Other items
                // are where they are defined, or near enough: a typedef may come before
                // the anonymous struct it names, whose span starts first.
                let forward = matches!(
                    it.kind,
                    ItemKind::Interface(_)
                        | ItemKind::Dispinterface(_)
                        | ItemKind::Coclass(_)
                        | ItemKind::Delegate(_)
                );
                (id, it.span, forward)
            })
            .collect();
        let after = |a: Span, b: Span| a.file == b.file && a.start > b.start;
        let mut order: Vec<(ItemId, Span)> = Vec::with_capacity(items.len());
        let mut moved: Vec<(ItemId, Span)> = Vec::new();
        for (i, &(id, span, forward)) in items.iter().enumerate() {
            // Defined later than a later item is declared: its definition is further on.
            if forward && items[i + 1..].iter().any(|&(_, s, _)| after(span, s)) {
                moved.push((id, span));
                continue;
            }
            // Items moved here whose definition comes before this item's.
            let (mut due, waiting): (Vec<_>, Vec<_>) =
                moved.into_iter().partition(|&(_, m)| after(span, m));
            moved = waiting;
            due.sort_by_key(|&(_, m)| m.start);
            order.extend(due);
            order.push((id, span));
        }
        order.extend(moved);
        order.into_iter().map(|(id, _)| id).collect()
    }

    /// `#include` lines for the imported files.
    fn imports(&mut self) {
        let Some(main) = self.model.files.first() else {
            return;
        };
        let mut lines: Vec<String> = Vec::new();
        for &index in &main.imports {
            let Some(file) = self.model.files.get(index) else {
                continue;
            };
            let stem = file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let header = self
                .opts
                .imports
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(&stem))
                .map(|(_, h)| h.clone())
                .unwrap_or_else(|| format!("\"{stem}.h\""));
            let line = format!("#include {header}");
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        if lines.is_empty() {
            return;
        }
        self.line("/* Headers for imported files */");
        for l in lines {
            self.line(&l);
        }
        self.line("");
    }

    /// The file name of an IDL file of the model (`foo.idl`).
    fn file_name(&self, file: FileId) -> String {
        self.model
            .file_path(file)
            .and_then(|path| path.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("{}.idl", self.stem(file)))
    }

    /// The file stem of an IDL file of the model.
    fn stem(&self, file: FileId) -> String {
        self.model.file_stem(file).unwrap_or_else(|| "idl".into())
    }

    pub fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn is_interface_member(&self, id: ItemId) -> bool {
        self.model
            .item(id)
            .and_then(|it| it.parent)
            .and_then(|p| self.model.item(p))
            .is_some_and(|p| matches!(p.kind, ItemKind::Interface(_)))
    }

    /// Writes an item of the main file unless it was written already, after the items of
    /// the same file it needs. `hoist` is true when another item needs it: an item inside
    /// a cpp_quote'd conditional is then left where it is.
    pub fn ensure(&mut self, id: ItemId, hoist: bool) {
        if self.emitted.contains(&id) || self.in_progress.contains(&id) {
            return;
        }
        let model = self.model;
        let Some(item) = model.item(id) else {
            return;
        };
        if item.file != self.main {
            return;
        }
        if hoist && item.c_visibility != CVisibility::Always {
            return;
        }
        if let Some(host) = self.names.host(id) {
            // Defined inside its host's member: what it needs goes before the host, and
            // the host (which writes it) before whatever needs it.
            self.in_progress.insert(id);
            let mut deps = Vec::new();
            self.record_deps(id, &mut deps);
            for dep in deps {
                if dep != id {
                    self.ensure(dep, true);
                }
            }
            self.in_progress.remove(&id);
            self.ensure(host, hoist);
            return;
        }
        self.in_progress.insert(id);
        for dep in self.dependencies(id, item) {
            self.ensure(dep, true);
        }
        self.item(id, item);
        self.in_progress.remove(&id);
        self.emitted.insert(id);
    }

    /// Marks an item as written without writing it (its text went out with another one).
    pub fn mark_emitted(&mut self, id: ItemId) {
        self.emitted.insert(id);
    }

    /// Marks an item as written by the caller, who writes it now: false when it was
    /// written already.
    pub fn take_definition(&mut self, id: ItemId) -> bool {
        self.emitted.insert(id)
    }

    fn item(&mut self, id: ItemId, item: &'m Item) {
        match &item.kind {
            ItemKind::Typedef(ty) => types::typedef(self, id, ty),
            ItemKind::Struct(_) | ItemKind::Union(_) => records::emit(self, id, item),
            ItemKind::Enum(e) => enums::emit(self, id, item, e),
            ItemKind::Const(c) => constants::emit(self, item, c),
            ItemKind::Interface(i) => interfaces::emit(self, id, item, i),
            ItemKind::Dispinterface(d) => interfaces::dispinterface(self, id, item, d),
            ItemKind::Delegate(d) => interfaces::delegate(self, id, item, d),
            ItemKind::Coclass(_) => classes::coclass(self, id, item),
            ItemKind::RuntimeClass(members) => classes::runtimeclass(self, item, members),
            ItemKind::Library(_) => classes::library(self, item),
            ItemKind::Module(_) => classes::module(self, item),
            ItemKind::ApiContract => classes::apicontract(self, item),
            ItemKind::Function(f) => classes::function(self, item, f),
            ItemKind::CppQuote(text) => self.cpp_quote(text),
            ItemKind::GuidConst(guid) => self.guid_const(item, guid),
            ItemKind::Pipe(element) => pipes::emit(self, id, item, element),
            ItemKind::Pragma(text) => self.pragma(item, text),
            ItemKind::ImportLib(_) | ItemKind::Declare(_) => {}
        }
    }

    /// `declare_guid(NAME, guid)`: `EXTERN_GUID(NAME, 0x..., ...);`, as MIDL writes it. Where
    /// no Windows header defines EXTERN_GUID, it declares the GUID, which `_i.c` defines.
    fn guid_const(&mut self, item: &Item, guid: &crate::ir::Guid) {
        let ty = self.guid_type("GUID");
        self.line("#ifndef EXTERN_GUID");
        self.line(&format!(
            "#define EXTERN_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \\
    EXTERN_C const {ty} name"
        ));
        self.line("#endif");
        let d4: Vec<String> = guid.data4.iter().map(|b| format!("0x{b:02x}")).collect();
        self.line(&format!(
            "EXTERN_GUID({}, 0x{:08x}, 0x{:04x}, 0x{:04x}, {});",
            item.name,
            guid.data1,
            guid.data2,
            guid.data3,
            d4.join(", ")
        ));
    }

    /// cpp_quote text, verbatim, except the `pshpackN.h`/`poppack.h` includes, written as
    /// the pragmas those Windows headers hold.
    fn cpp_quote(&mut self, text: &str) {
        let text = cpp_quote_text(text);
        for line in text.lines() {
            match pack_header(line) {
                Some(Some(n)) => self.line(&format!("#pragma pack(push, {n})")),
                Some(None) => self.line("#pragma pack(pop)"),
                None => self.line(&target_conditional(line)),
            }
        }
    }

    /// `#pragma pack` is kept (MIDL keeps it); `midl_echo` text is written out; the pragmas
    /// only MIDL or MSVC understand are dropped, as widl drops them.
    fn pragma(&mut self, item: &Item, text: &str) {
        let body = text.trim_start_matches('#').trim();
        let body = body.strip_prefix("pragma").unwrap_or(body).trim();
        let word: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        match word.as_str() {
            "pack" => self.line(&format!("#pragma {body}")),
            "midl_echo" => {
                let arg = body["midl_echo".len()..].trim();
                let arg = arg.strip_prefix('(').and_then(|a| a.strip_suffix(')'));
                match arg.and_then(constants::unquote) {
                    Some(echo) => self.line(&echo),
                    None => self.warn_item(
                        item,
                        "pragma",
                        "a midl_echo pragma without a string is left out of the C header",
                    ),
                }
            }
            "warning" | "winrt" | "midl_pragma" | "once" => {}
            _ => self.warn_item(
                item,
                "pragma",
                &format!("`#pragma {body}` is left out of the C header"),
            ),
        }
    }

    /// A warning about an item, given once per item and subject.
    pub fn warn_item(&mut self, item: &Item, subject: &'static str, message: &str) {
        if !self.warned.insert((item.span, item.full_name(), subject)) {
            return;
        }
        let name = if item.name.is_empty() {
            item.kind.describe().to_string()
        } else {
            format!("{} `{}`", item.kind.describe(), item.full_name())
        };
        self.diags
            .push(Diagnostic::warning(format!("{name}: {message}")).at(item.span));
    }

    /// Reserves a file-scope value name; false (with a warning) when the header already
    /// defines one so named.
    pub fn claim_value(&mut self, name: &str, item: &Item) -> bool {
        if self.values.insert(name.to_string()) {
            return true;
        }
        self.diags.push(
            Diagnostic::warning(format!(
                "`{name}` is already defined in this C header; the second definition (in {} `{}`) is left out",
                item.kind.describe(),
                item.full_name()
            ))
            .at(item.span),
        );
        false
    }

    /// The dependencies of an item in the main file that must be declared before it.
    fn dependencies(&self, id: ItemId, item: &Item) -> Vec<ItemId> {
        let mut deps = Vec::new();
        match &item.kind {
            ItemKind::Typedef(ty) => self.walk(ty, false, &mut deps),
            ItemKind::Pipe(element) => self.walk(element, false, &mut deps),
            ItemKind::Struct(_) | ItemKind::Union(_) => self.record_deps(id, &mut deps),
            ItemKind::Interface(i) => {
                if let Some(base) = &i.base {
                    self.walk(base, true, &mut deps);
                }
                for m in &i.methods {
                    self.walk_signature(&m.signature, &mut deps);
                }
                // Its body's declarations are written inside its block.
                deps.retain(|d| !i.members.contains(d));
            }
            ItemKind::Dispinterface(d) => {
                if let Some(&idispatch) = self.model.names.get("IDispatch") {
                    deps.push(idispatch);
                }
                if let Some(t) = &d.interface {
                    self.walk(t, true, &mut deps);
                }
            }
            ItemKind::Delegate(d) if d.type_params.is_empty() => {
                self.walk_signature(&d.signature, &mut deps)
            }
            ItemKind::Function(f) => self.walk_signature(&f.signature, &mut deps),
            _ => {}
        }
        deps.retain(|d| *d != id);
        deps
    }

    fn record_deps(&self, id: ItemId, deps: &mut Vec<ItemId>) {
        let Some(item) = self.model.item(id) else {
            return;
        };
        match &item.kind {
            ItemKind::Struct(r) => {
                for f in &r.fields {
                    if let Some(t) = &f.ty {
                        self.walk(t, true, deps);
                    }
                }
            }
            ItemKind::Union(u) => {
                if let Some(s) = &u.switch {
                    self.walk(&s.ty, true, deps);
                }
                for a in &u.arms {
                    if let Some(t) = &a.field.ty {
                        self.walk(t, true, deps);
                    }
                }
            }
            _ => {}
        }
    }

    fn walk_signature(&self, sig: &crate::ir::Signature, deps: &mut Vec<ItemId>) {
        self.walk(&sig.ret, false, deps);
        for p in &sig.params {
            self.walk(&p.ty, false, deps);
        }
    }

    /// Collects what a use of `ty` needs declared first: typedef names and enums always,
    /// structs and unions when used by value, anonymous ones through their definition.
    fn walk(&self, ty: &Type, by_value: bool, deps: &mut Vec<ItemId>) {
        match ty {
            Type::Named(id) => {
                let Some(item) = self.model.item(*id) else {
                    return;
                };
                match &item.kind {
                    ItemKind::Typedef(inner) => {
                        deps.push(*id);
                        if by_value {
                            self.walk(inner, true, deps);
                        }
                    }
                    ItemKind::Pipe(_) => deps.push(*id),
                    ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_) => {
                        if item.name.is_empty() {
                            match self.names.absorber(*id) {
                                Some(t) => deps.push(t),
                                None => self.record_deps(*id, deps),
                            }
                            if by_value {
                                self.record_deps(*id, deps);
                            }
                        } else if by_value || matches!(item.kind, ItemKind::Enum(_)) {
                            deps.push(*id);
                        }
                    }
                    ItemKind::Interface(_) | ItemKind::Dispinterface(_) if by_value => {
                        deps.push(*id)
                    }
                    _ => {}
                }
            }
            Type::Pointer { pointee, .. } => self.walk(pointee, false, deps),
            Type::Const(inner) => self.walk(inner, by_value, deps),
            Type::Array { element, .. } => self.walk(element, by_value, deps),
            Type::Function(sig) => self.walk_signature(sig, deps),
            Type::Instance { args, .. } => {
                for a in args {
                    self.walk(a, false, deps);
                }
            }
            Type::Base(_) | Type::SafeArray(_) | Type::Param(_) => {}
        }
    }

    /// Whether a struct, union or enum has no name in C: anonymous and not named by a
    /// typedef, so the header defines it where it is used.
    pub fn is_inline_only(&self, id: ItemId) -> bool {
        self.model.item(id).is_some_and(|it| {
            it.name.is_empty()
                && matches!(
                    it.kind,
                    ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)
                )
                && self.names.absorber(id).is_none()
        })
    }

    /// The C type to declare GUID variables with: `IID`/`CLSID` when the IDL defines that
    /// name, else `GUID`, else `struct _GUID` (which the `_i.c` file then defines).
    pub fn guid_type(&self, preferred: &str) -> String {
        for name in [preferred, "IID", "GUID"] {
            if let Some(item) = self.model.lookup(name)
                && matches!(item.kind, ItemKind::Typedef(_) | ItemKind::Struct(_))
                && item.c_visibility != CVisibility::Never
            {
                return name.to_string();
            }
        }
        "struct _GUID".to_string()
    }
}

/// A cpp_quote'd conditional on `_WIN64` tests `COMIDL_WIN64` instead, which the prologue
/// defines on every 64-bit target: IDL files use `_WIN64` to pick 64-bit layouts
/// (`#ifdef _WIN64` / `pshpack8.h`), and comidl's model (the Rust bindings, the layouts)
/// takes that branch on 64-bit Linux too, where C compilers do not define `_WIN64`.
fn target_conditional(line: &str) -> String {
    let trimmed = line.trim_start();
    let Some(directive) = trimmed.strip_prefix('#') else {
        return line.to_string();
    };
    let word: String = directive
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    if !matches!(word.as_str(), "if" | "ifdef" | "ifndef" | "elif") {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(at) = rest.find("_WIN64") {
        let before = rest[..at].chars().next_back();
        let after = rest[at + 6..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        if ident(before) || ident(after) {
            out.push_str("_WIN64");
        } else {
            out.push_str("COMIDL_WIN64");
        }
        rest = &rest[at + 6..];
    }
    out.push_str(rest);
    out
}

/// The C text of a cpp_quote string as the IDL spells it: `\"` is a quote and `\\` a
/// backslash (`cpp_quote("#include \"d3d10misc.h\"")`, macro bodies continued with a
/// backslash). Other escapes are left as written: the text is C, and a `\n` inside it
/// means what C makes of it.
fn cpp_quote_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(q @ ('"' | '\\' | '\'')) => out.push(q),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `Some(Some(n))` for a line including `pshpackN.h`, `Some(None)` for `poppack.h`.
fn pack_header(line: &str) -> Option<Option<u32>> {
    let rest = line.trim().strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("include")?.trim();
    let name = rest
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')))?;
    let name = name.trim().to_ascii_lowercase();
    if name == "poppack.h" {
        return Some(None);
    }
    let n = name.strip_prefix("pshpack")?.strip_suffix(".h")?;
    n.parse().ok().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win64_conditionals_test_the_target() {
        assert_eq!(target_conditional("#ifdef _WIN64"), "#ifdef COMIDL_WIN64");
        assert_eq!(
            target_conditional("# if !defined(_WIN64) && _WIN64X"),
            "# if !defined(COMIDL_WIN64) && _WIN64X"
        );
        assert_eq!(
            target_conditional("#include <_WIN64.h>"),
            "#include <_WIN64.h>"
        );
        assert_eq!(
            target_conditional("typedef int _WIN64;"),
            "typedef int _WIN64;"
        );
    }

    #[test]
    fn cpp_quote_escapes() {
        assert_eq!(
            cpp_quote_text(r#"#include \"d3d10misc.h\""#),
            "#include \"d3d10misc.h\""
        );
        assert_eq!(cpp_quote_text(r"#define A (B | \\"), r"#define A (B | \");
        assert_eq!(cpp_quote_text(r"a\nb\"), r"a\nb\");
    }

    #[test]
    fn pack_headers_become_pragmas() {
        assert_eq!(pack_header("#include <pshpack2.h>"), Some(Some(2)));
        assert_eq!(pack_header("  #  include \"PshPack8.h\""), Some(Some(8)));
        assert_eq!(pack_header("#include <poppack.h>"), Some(None));
        assert_eq!(pack_header("#include <mmreg.h>"), None);
        assert_eq!(pack_header("#ifdef _WIN64"), None);
    }
}
