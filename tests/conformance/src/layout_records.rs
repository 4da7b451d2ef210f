//! Which records the layout stage compares, decided from comidl's IR: for each struct,
//! union, enum and interface vtable of a file, its Rust type path and field expressions
//! and the C spelling of the same things in widl's header.

use comidl::diag::{Diagnostic, Severity};
use comidl::emit::rust::names::{ItemNames, ident, sanitize};
use comidl::emit::rust::{module_name, runtime_interface};
use comidl::ir::{self, CVisibility, Field, Item, ItemId, ItemKind, Method, Model, Type};
use std::collections::HashMap;
use std::path::Path;

/// One number compared: a field offset, a vtable slot offset or an enumerator value.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The label both probes print (IDL names, `.`-joined through anonymous members).
    pub label: String,
    pub rust: String,
    pub c: String,
    /// For a vtable slot: the method's slot name before widl's disambiguation.
    pub slot: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Record,
    Enum,
    Vtbl,
}

/// A record to compare.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What both sides call it in the report (the C spelling).
    pub key: String,
    pub kind: Kind,
    pub rust_ty: String,
    pub c_ty: String,
    /// Field offsets, slot offsets, or enumerator values.
    pub entries: Vec<Entry>,
}

/// What a file contributes.
#[derive(Debug, Default)]
pub struct FileRecords {
    pub probes: Vec<Probe>,
    /// Records the backend left out (with its warning): failures.
    pub left_out: Vec<(String, String)>,
    /// Records whose packing is tighter than their members need: compared like the others,
    /// against a header whose `#pragma pack` the harness restored (widl drops it), and
    /// counted on their own line.
    pub packed: Vec<String>,
}

/// WinRT names in widl's C header: `__x_ABI_CWindows_CFoundation_CIAsyncAction`.
fn c_name(item: &Item, name: &str) -> String {
    if item.namespace.is_empty() {
        name.to_string()
    } else {
        let mut s = String::from("__x_ABI_C");
        for seg in item.namespace.split('.') {
            s.push_str(seg);
            s.push_str("_C");
        }
        s.push_str(name);
        s
    }
}

struct Ctx<'m> {
    model: &'m Model,
    names: ItemNames,
    /// Rust module path of the file (`crate::objidl`).
    module: String,
    /// C type spellings of records, filled as parents are visited.
    c_types: HashMap<ItemId, String>,
}

impl Ctx<'_> {
    fn rust_path(&self, id: ItemId, suffix: &str) -> String {
        let item = &self.model.items[id.0 as usize];
        let mut p = self.module.clone();
        if !item.namespace.is_empty() {
            for seg in item.namespace.split('.') {
                p.push_str("::");
                p.push_str(&ident(&sanitize(seg)).to_string());
            }
        }
        p.push_str("::");
        p.push_str(&ident(&format!("{}{suffix}", self.names.get(id))).to_string());
        p
    }
}

/// The records of the model's main file.
pub fn records(model: &Model, diagnostics: &[Diagnostic]) -> FileRecords {
    let mut out = FileRecords::default();
    let Some(main) = model.files.first() else {
        return out;
    };
    let stem = main
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cx = Ctx {
        model,
        names: ItemNames::new(model),
        module: format!("crate::{}", module_name(&stem)),
        c_types: HashMap::new(),
    };
    // Stand-ins the Rust backend replaces with the runtime's C definitions: their fields
    // are the runtime's (see `c_type_probe`).
    let stand_ins = comidl::emit::rust::ctypes::stand_ins(model, &cx.names);
    // Tags a cpp_quote `#define`s to nothing (objidl's `_STGMEDIUM_UNION`, cordebug's
    // `_COR_IL_MAP`): C sees those records without a tag.
    let defined_away: std::collections::HashSet<&str> = model
        .items_in(main.file)
        .filter_map(|(_, item)| match &item.kind {
            ItemKind::CppQuote(text) => {
                let rest = text.trim().strip_prefix('#')?.trim_start();
                let name = rest.strip_prefix("define")?.trim();
                (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
                    .then_some(name)
            }
            _ => None,
        })
        .collect();
    // C names of named records and of those a typedef names. A stand-in inside
    // `cpp_quote("#if 0")` is compared with the definition C compiles instead (from the
    // header the `#else` branch includes, or the cpp_quote'd C text): the Rust bindings
    // have only the stand-in, so it must agree with what C programs see. That other
    // definition may carry another tag, so C is asked by the first typedef name where there
    // is one; so it is for a record whose tag is defined away.
    let mut by_typedef: std::collections::HashSet<ItemId> = std::collections::HashSet::new();
    for (id, item) in model.items_in(main.file) {
        match &item.kind {
            ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)
                if !item.name.is_empty() && !defined_away.contains(item.name.as_str()) =>
            {
                let tag = match &item.kind {
                    ItemKind::Struct(_) => "struct",
                    ItemKind::Union(u) if u.switch.is_some() => "struct",
                    ItemKind::Union(_) => "union",
                    _ => "enum",
                };
                cx.c_types
                    .entry(id)
                    .or_insert_with(|| format!("{tag} {}", c_name(item, &item.name)));
            }
            ItemKind::Typedef(Type::Named(target)) => {
                let Some(t) = model.item(*target) else {
                    continue;
                };
                let untagged = t.name.is_empty() || defined_away.contains(t.name.as_str());
                if t.file != item.file
                    || !(untagged || t.c_visibility == CVisibility::Never)
                    || !by_typedef.insert(*target)
                {
                    continue;
                }
                cx.c_types.insert(*target, c_name(item, &item.name));
            }
            _ => {}
        }
    }
    // Packing only matters where it is tighter than a member needs.
    let mut layouts = comidl::layout::Layouts::new(model);
    let mut tightens = |fields: &[Field], pack: Option<u32>| layouts.packing_tightens(fields, pack);
    let left_out = |item: &Item| -> Option<String> {
        diagnostics
            .iter()
            .find(|d| {
                d.severity == Severity::Warning
                    && d.primary.as_ref().is_some_and(|l| l.span == item.span)
            })
            .map(|d| d.message.clone())
    };
    // Items in declaration order; anonymous ones follow their users, so parents are named
    // before their anonymous members.
    for (id, item) in model.items_in(main.file) {
        match &item.kind {
            ItemKind::Struct(r) if r.defined => {
                let Some(c_ty) = cx.c_types.get(&id).cloned() else {
                    continue;
                };
                if item.name == "_GUID" || item.name == "GUID" {
                    continue;
                }
                let key = c_ty.clone();
                if let Some(c_name) = stand_ins.get(&id) {
                    out.probes
                        .push(c_type_probe(key, cx.rust_path(id, ""), c_ty, c_name));
                    continue;
                }
                name_anonymous_members(&mut cx, &c_ty, &r.fields);
                if tightens(&r.fields, r.pack) {
                    out.packed.push(key.clone());
                }
                if let Some(why) = left_out(item) {
                    out.left_out.push((key, why));
                    continue;
                }
                let mut entries = Vec::new();
                field_entries(&cx, &r.fields, "", &mut entries);
                out.probes.push(Probe {
                    key,
                    kind: Kind::Record,
                    rust_ty: cx.rust_path(id, ""),
                    c_ty: c_ty.clone(),
                    entries,
                });
                anonymous_switch_unions(&mut cx, &c_ty, &r.fields, &mut out.probes);
            }
            ItemKind::Union(u) if u.defined => {
                let Some(c_ty) = cx.c_types.get(&id).cloned() else {
                    continue;
                };
                let arms: Vec<Field> = u.arms.iter().map(|a| a.field.clone()).collect();
                let key = c_ty.clone();
                if let Some(c_name) = stand_ins.get(&id) {
                    out.probes
                        .push(c_type_probe(key, cx.rust_path(id, ""), c_ty, c_name));
                    continue;
                }
                if tightens(&arms, u.pack) {
                    out.packed.push(key.clone());
                }
                if let Some(why) = left_out(item) {
                    out.left_out.push((key, why));
                    continue;
                }
                let rust_ty = cx.rust_path(id, "");
                if let Some(sw) = &u.switch {
                    // `struct X { d; union {..} u; }` and the inner union.
                    let member = sw.member();
                    let inner_c = format!("__typeof__((({c_ty}*)0)->{member})");
                    out.probes.push(Probe {
                        key: key.clone(),
                        kind: Kind::Record,
                        rust_ty: rust_ty.clone(),
                        c_ty: c_ty.clone(),
                        entries: vec![
                            entry(&sw.name, &ident(&sw.name).to_string(), &sw.name),
                            entry(member, &ident(member).to_string(), member),
                        ],
                    });
                    name_anonymous_members(&mut cx, &inner_c, &arms);
                    let mut entries = Vec::new();
                    field_entries(&cx, &arms, "", &mut entries);
                    out.probes.push(Probe {
                        key: format!("{key}.{member}"),
                        kind: Kind::Record,
                        rust_ty: format!("{rust_ty}_{}", sanitize(member)),
                        c_ty: inner_c,
                        entries,
                    });
                    continue;
                }
                name_anonymous_members(&mut cx, &c_ty, &arms);
                let mut entries = Vec::new();
                field_entries(&cx, &arms, "", &mut entries);
                out.probes.push(Probe {
                    key,
                    kind: Kind::Record,
                    rust_ty,
                    c_ty,
                    entries,
                });
            }
            ItemKind::Enum(e) if e.defined => {
                let Some(c_ty) = cx.c_types.get(&id).cloned() else {
                    // A purely anonymous enum only names constants.
                    continue;
                };
                let key = c_ty.clone();
                if let Some(why) = left_out(item) {
                    out.left_out.push((key, why));
                    continue;
                }
                let rust_ty = cx.rust_path(id, "");
                let enum_name = if item.name.is_empty() {
                    cx.names.get(id).to_string()
                } else {
                    item.name.clone()
                };
                let entries = e
                    .variants
                    .iter()
                    .map(|v| {
                        let c = if item.namespace.is_empty() {
                            v.name.clone()
                        } else {
                            format!("{enum_name}_{}", v.name)
                        };
                        entry(
                            &v.name,
                            &format!("{rust_ty}::{}.0", ident(&v.name)),
                            &format!("(long long)(int)({c})"),
                        )
                    })
                    .collect();
                out.probes.push(Probe {
                    key,
                    kind: Kind::Enum,
                    rust_ty,
                    c_ty,
                    entries,
                });
            }
            ItemKind::Interface(i) if i.defined && i.type_params.is_empty() => {
                if !i.has_vtable(item) {
                    continue;
                }
                let c_ty = format!("{}Vtbl", c_name(item, &item.name));
                if let Some(why) = left_out(item) {
                    out.left_out.push((c_ty, why));
                    continue;
                }
                let mut entries = Vec::new();
                vtbl_entries(&cx, id, "", &mut entries, 0);
                out.probes.push(Probe {
                    key: c_ty.clone(),
                    kind: Kind::Vtbl,
                    rust_ty: vtbl_path(&cx, id),
                    c_ty,
                    entries,
                });
            }
            ItemKind::Delegate(d) if d.type_params.is_empty() => {
                // widl's C name of a WinRT delegate has an `I` prefix.
                let c_ty = format!("{}Vtbl", c_name(item, &format!("I{}", item.name)));
                if let Some(why) = left_out(item) {
                    out.left_out.push((c_ty, why));
                    continue;
                }
                let mut entries: Vec<Entry> = ["QueryInterface", "AddRef", "Release"]
                    .iter()
                    .map(|m| entry(m, &format!("base__.{m}"), m))
                    .collect();
                entries.push(entry("Invoke", "Invoke", "Invoke"));
                out.probes.push(Probe {
                    key: c_ty.clone(),
                    kind: Kind::Vtbl,
                    rust_ty: cx.rust_path(id, "_Vtbl"),
                    c_ty,
                    entries,
                });
            }
            _ => {}
        }
    }
    out
}

fn entry(label: &str, rust: &str, c: &str) -> Entry {
    Entry {
        label: label.to_string(),
        rust: rust.to_string(),
        c: c.to_string(),
        slot: String::new(),
    }
}

fn vtbl_path(cx: &Ctx, id: ItemId) -> String {
    let item = &cx.model.items[id.0 as usize];
    match runtime_interface(item) {
        Some(name) => format!("::comidl_runtime::{name}_Vtbl"),
        None => cx.rust_path(id, "_Vtbl"),
    }
}

/// Slots of an interface and its bases, base first; `prefix` is the Rust path to the
/// interface's own vtable inside the outermost one (`base__.base__.`). Returns the C slot
/// names so far: widl names a slot whose method name an ancestor already uses
/// `{Interface}_{Method}` in the flat C vtable.
fn vtbl_entries(cx: &Ctx, id: ItemId, prefix: &str, out: &mut Vec<Entry>, depth: usize) {
    let Some(item) = cx.model.item(id) else {
        return;
    };
    let ItemKind::Interface(iface) = &item.kind else {
        return;
    };
    if depth > 64 {
        return;
    }
    if let Some(b) = iface
        .base
        .as_ref()
        .and_then(|b| base_interface(cx.model, b))
    {
        vtbl_entries(cx, b, &format!("{prefix}base__."), out, depth + 1);
    }
    let inherited: Vec<String> = out.iter().map(|e| e.slot.clone()).collect();
    let methods: Vec<&Method> = iface.methods.iter().filter(|m| m.has_slot()).collect();
    let mut own: Vec<String> = methods.iter().map(|m| m.slot_name()).collect();
    let c_names: Vec<String> = methods
        .iter()
        .map(|m| {
            let name = m.slot_name();
            if inherited.contains(&name) {
                format!("{}_{name}", c_name(item, &item.name))
            } else {
                name
            }
        })
        .collect();
    comidl::emit::rust::names::dedup(&mut own);
    for ((c, rust), m) in c_names.iter().zip(&own).zip(&methods) {
        let mut e = entry(c, &format!("{prefix}{}", ident(rust)), c);
        e.slot = m.slot_name();
        out.push(e);
    }
}

/// The base interface item, looking through typedefs.
fn base_interface(model: &Model, ty: &Type) -> Option<ItemId> {
    match model.unalias(ty) {
        Type::Named(id) if matches!(model.item(id)?.kind, ItemKind::Interface(_)) => Some(id),
        _ => None,
    }
}

/// Gives anonymous records used by named fields their C spelling:
/// `__typeof__(((P*)0)->field)`, looking through arrays and pointers.
fn name_anonymous_members(cx: &mut Ctx, parent_c: &str, fields: &[Field]) {
    for f in fields {
        let Some(ty) = &f.ty else { continue };
        if f.name.is_empty() || is_dummy(&f.name) {
            // An anonymous member: its own members are the parent's in C.
            if let Type::Named(t) = ty
                && let Some(ItemKind::Struct(r)) = cx.model.item(*t).map(|i| &i.kind)
            {
                let fields = r.fields.clone();
                name_anonymous_members(cx, parent_c, &fields);
            } else if let Type::Named(t) = ty
                && let Some(ItemKind::Union(u)) = cx.model.item(*t).map(|i| &i.kind)
                && u.switch.is_none()
            {
                let arms: Vec<Field> = u.arms.iter().map(|a| a.field.clone()).collect();
                name_anonymous_members(cx, parent_c, &arms);
            }
            continue;
        }
        let mut expr = format!("(({parent_c}*)0)->{}", f.name);
        let mut ty = ty;
        loop {
            match ty {
                Type::Array { element, .. } => {
                    expr = format!("{expr}[0]");
                    ty = element;
                }
                Type::Pointer { pointee, .. } => {
                    expr = format!("*({expr})");
                    ty = pointee;
                }
                Type::Const(inner) => ty = inner,
                _ => break,
            }
        }
        if let Type::Named(t) = ty
            && let Some(item) = cx.model.item(*t)
            && item.name.is_empty()
            && !cx.c_types.contains_key(t)
            && matches!(
                item.kind,
                ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Enum(_)
            )
        {
            cx.c_types.insert(*t, format!("__typeof__({expr})"));
        }
    }
}

/// Field offsets of a struct or union: named non-bit-field members, and the members of
/// anonymous members (C names them as the parent's; Rust reaches them through `anonN`).
fn field_entries(cx: &Ctx, fields: &[Field], rust_prefix: &str, out: &mut Vec<Entry>) {
    for (n, f) in fields.iter().enumerate() {
        if f.bits.is_some() {
            continue;
        }
        let Some(ty) = &f.ty else { continue };
        if f.name.is_empty() || is_dummy(&f.name) {
            let Type::Named(t) = ty else { continue };
            let member = if f.name.is_empty() {
                format!("anon{n}")
            } else {
                ident(&f.name).to_string()
            };
            let inner: Vec<Field> = match cx.model.item(*t).map(|i| &i.kind) {
                Some(ItemKind::Struct(r)) => r.fields.clone(),
                Some(ItemKind::Union(ir::Union {
                    switch: Some(sw), ..
                })) => {
                    // An encapsulated union is a struct of the discriminant and the union.
                    for m in [sw.name.as_str(), sw.member()] {
                        let rust = format!("{rust_prefix}{member}.{}", ident(m));
                        out.push(entry(&rust.replace("r#", ""), &rust, m));
                    }
                    continue;
                }
                Some(ItemKind::Union(u)) => u.arms.iter().map(|a| a.field.clone()).collect(),
                _ => continue,
            };
            field_entries(cx, &inner, &format!("{rust_prefix}{member}."), out);
            continue;
        }
        let rust = format!("{rust_prefix}{}", ident(&f.name));
        out.push(entry(&rust.replace("r#", ""), &rust, &f.name));
    }
}

/// The union inside an encapsulated union that C sees only as an anonymous member of
/// `parent_c` (objidl's `_STGMEDIUM_UNION`, whose tag is defined away): C reaches it
/// through the parent, as `__typeof__(((parent*)0)->u)`.
fn anonymous_switch_unions(cx: &mut Ctx, parent_c: &str, fields: &[Field], out: &mut Vec<Probe>) {
    for f in fields {
        if !(f.name.is_empty() || is_dummy(&f.name)) {
            continue;
        }
        let Some(Type::Named(t)) = &f.ty else {
            continue;
        };
        if cx.c_types.contains_key(t) {
            continue;
        }
        let Some(ItemKind::Union(u)) = cx.model.item(*t).map(|i| &i.kind) else {
            continue;
        };
        let Some(member) = u.switch.as_ref().map(|sw| sw.member().to_string()) else {
            continue;
        };
        let arms: Vec<Field> = u.arms.iter().map(|a| a.field.clone()).collect();
        let inner_c = format!("__typeof__((({parent_c}*)0)->{member})");
        name_anonymous_members(cx, &inner_c, &arms);
        let mut entries = Vec::new();
        field_entries(cx, &arms, "", &mut entries);
        out.push(Probe {
            key: format!("{parent_c}.{member}"),
            kind: Kind::Record,
            rust_ty: format!("{}_{}", cx.rust_path(*t, ""), sanitize(&member)),
            c_ty: inner_c,
            entries,
        });
    }
}

/// idl/comidl_ctypes.idl's model, read once: the runtime's C definitions of stand-ins.
fn c_types_model() -> Option<&'static Model> {
    static MODEL: std::sync::OnceLock<Option<Model>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let idl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../idl");
            let mut options = comidl::Options::default();
            options.preprocess.include_dirs.push(idl.clone());
            let outcome = comidl::check(&idl.join("comidl_ctypes.idl"), &options);
            (!outcome.has_errors()).then_some(outcome.model)
        })
        .as_ref()
}

/// The probe of a stand-in the backend aliases to `comidl_runtime::ctypes::{c_name}`: the
/// fields are the runtime definition's, which is what the Rust type has and what C's
/// definition should have too.
fn c_type_probe(key: String, rust_ty: String, c_ty: String, c_name: &str) -> Probe {
    let mut entries = Vec::new();
    if let Some(model) = c_types_model() {
        let cx = Ctx {
            model,
            names: ItemNames::new(model),
            module: "::comidl_runtime::ctypes".to_string(),
            c_types: HashMap::new(),
        };
        let mut id = model.names.get(c_name).copied();
        // Through typedefs to the record, if there is one.
        while let Some(ItemKind::Typedef(Type::Named(t))) =
            id.and_then(|i| model.item(i)).map(|i| &i.kind)
        {
            id = Some(*t);
        }
        let fields: Vec<Field> = match id.and_then(|i| model.item(i)).map(|i| &i.kind) {
            Some(ItemKind::Struct(r)) => r.fields.clone(),
            Some(ItemKind::Union(u)) => u.arms.iter().map(|a| a.field.clone()).collect(),
            _ => Vec::new(),
        };
        field_entries(&cx, &fields, "", &mut entries);
    } else {
        // Without the definitions the record cannot agree: an entry neither side has.
        entries.push(entry("idl/comidl_ctypes.idl unreadable", "_", "_"));
    }
    Probe {
        key,
        kind: Kind::Record,
        rust_ty,
        c_ty,
        entries,
    }
}

/// Member names Wine's headers define away (`#define DUMMYUNIONNAME` with nameless unions),
/// so the member is anonymous in C.
fn is_dummy(name: &str) -> bool {
    ["DUMMYUNIONNAME", "DUMMYSTRUCTNAME"].iter().any(|d| {
        name.strip_prefix(d)
            .is_some_and(|rest| rest.len() <= 1 && rest.chars().all(|c| c.is_ascii_digit()))
    })
}
