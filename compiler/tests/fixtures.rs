//! Every `tests/fixtures/*.idl` must be accepted with no diagnostic at all; its IR dump is
//! snapshotted. Targeted assertions below pin the semantics that matter most, so that a
//! wrong value cannot slip in through a carelessly accepted snapshot.

mod common;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use comidl::Outcome;
use comidl::ir::{Item, ItemId, ItemKind, Method, PointerKind, Type, Value};

use common::{assert_clean, check, check_fixture, fixtures_dir, idl_files, stem};

#[test]
fn every_fixture_is_accepted_and_its_ir_matches_the_snapshot() {
    let files = idl_files(&fixtures_dir());
    assert!(
        files.len() >= 15,
        "expected at least 15 fixtures, found {}",
        files.len()
    );

    // First: every fixture is valid. Report all the failures at once, readably.
    let mut rejected = Vec::new();
    let mut outcomes = Vec::new();
    for path in &files {
        let outcome = check(path);
        if !outcome.diagnostics.is_empty() {
            rejected.push(format!(
                "--- {} ---\n{}",
                stem(path),
                common::render(&outcome)
            ));
        }
        outcomes.push((stem(path), outcome));
    }
    assert!(
        rejected.is_empty(),
        "fixtures must be accepted without errors or warnings:\n{}",
        rejected.join("\n")
    );

    // Then: one snapshot per fixture. Every mismatch is collected before failing.
    let mut mismatched = Vec::new();
    for (name, outcome) in &outcomes {
        let main = outcome
            .model
            .files
            .first()
            .expect("a fixture has a main file");
        let dump = comidl::dump::dump(&outcome.model, &outcome.sources, main.file);
        let result = catch_unwind(AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), dump);
        }));
        if result.is_err() {
            mismatched.push(name.clone());
        }
    }
    assert!(
        mismatched.is_empty(),
        "IR dumps differ from their snapshots: {mismatched:?}"
    );
}

#[test]
fn dumps_are_deterministic() {
    for name in ["winrt.idl", "interfaces.idl", "structs.idl"] {
        let dump = || {
            let o = check_fixture(name);
            let main = o.model.files.first().expect("main file").file;
            comidl::dump::dump(&o.model, &o.sources, main)
        };
        assert_eq!(dump(), dump(), "{name}");
    }
}

// ---- Helpers ---------------------------------------------------------------------------

fn clean(relative: &str) -> Outcome {
    let outcome = check_fixture(relative);
    assert_clean(relative, &outcome);
    outcome
}

/// An ordinary name (typedef, interface, constant...) or, failing that, a tag.
fn item<'o>(outcome: &'o Outcome, name: &str) -> &'o Item {
    id_of(outcome, name)
        .and_then(|id| outcome.model.item(id))
        .unwrap_or_else(|| panic!("`{name}` is not declared"))
}

fn id_of(outcome: &Outcome, name: &str) -> Option<ItemId> {
    let model = &outcome.model;
    model
        .names
        .get(name)
        .or_else(|| model.tags.get(name))
        .copied()
}

/// A struct/union/enum by its tag (its full name in a WinRT namespace).
fn tagged<'o>(outcome: &'o Outcome, tag: &str) -> &'o Item {
    outcome
        .model
        .tags
        .get(tag)
        .and_then(|id| outcome.model.item(*id))
        .unwrap_or_else(|| panic!("no struct, union or enum tagged `{tag}`"))
}

fn enum_values(outcome: &Outcome, tag: &str) -> Vec<(String, i128)> {
    match &tagged(outcome, tag).kind {
        ItemKind::Enum(e) => e
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.value))
            .collect(),
        other => panic!("`{tag}` is a {}, not an enum", other.describe()),
    }
}

fn const_value(outcome: &Outcome, name: &str) -> Value {
    match &item(outcome, name).kind {
        ItemKind::Const(c) => c.value.clone(),
        other => panic!("`{name}` is a {}, not a constant", other.describe()),
    }
}

fn pack_of(outcome: &Outcome, tag: &str) -> Option<u32> {
    match &tagged(outcome, tag).kind {
        ItemKind::Struct(r) => r.pack,
        ItemKind::Union(u) => u.pack,
        other => panic!("`{tag}` is a {}, not a struct or union", other.describe()),
    }
}

fn method<'o>(outcome: &'o Outcome, interface: &str, name: &str) -> &'o Method {
    match &item(outcome, interface).kind {
        ItemKind::Interface(i) => i
            .methods
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("`{interface}` has no method `{name}`")),
        other => panic!("`{interface}` is a {}, not an interface", other.describe()),
    }
}

fn param_type<'o>(outcome: &'o Outcome, interface: &str, m: &str, param: &str) -> &'o Type {
    &method(outcome, interface, m)
        .signature
        .params
        .iter()
        .find(|p| p.name == param)
        .unwrap_or_else(|| panic!("`{interface}::{m}` has no parameter `{param}`"))
        .ty
}

/// The pointer kinds from the outside in: `T **` gives two entries.
fn pointer_kinds(mut ty: &Type) -> Vec<PointerKind> {
    let mut kinds = Vec::new();
    loop {
        match ty {
            Type::Pointer { pointee, kind, .. } => {
                kinds.push(*kind);
                ty = pointee;
            }
            Type::Const(inner) => ty = inner,
            _ => return kinds,
        }
    }
}

fn named(outcome: &Outcome, ty: &Type) -> String {
    match ty {
        Type::Named(id) => outcome
            .model
            .item(*id)
            .map(Item::full_name)
            .unwrap_or_default(),
        other => panic!("expected a named type, found {other:?}"),
    }
}

// ---- Targeted assertions -----------------------------------------------------------------

#[test]
fn enum_values_follow_c_and_midl() {
    let o = clean("enums.idl");
    let color = enum_values(&o, "tagCOLOR");
    assert_eq!(
        color,
        [("COLOR_RED", 0), ("COLOR_GREEN", 1), ("COLOR_BLUE", 2)].map(|(n, v)| (n.to_string(), v))
    );
    let flags = enum_values(&o, "tagFLAGS");
    let value = |name: &str| {
        flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no enumerator {name}"))
    };
    assert_eq!(value("FLAG_TWO"), 2, "FLAG_ONE << 1");
    assert_eq!(value("FLAG_BOTH"), 3, "FLAG_ONE | FLAG_TWO");
    assert_eq!(value("FLAG_NEXT"), 4, "implicit: previous + 1");
    assert_eq!(value("FLAG_FROM_CONST"), 32, "uses a const");
    assert_eq!(value("FLAG_SIGN"), 0x8000_0000);
    assert_eq!(value("FLAG_AFTER_SIGN"), 0x8000_0001);
    assert_eq!(value("FLAG_ALL"), 0xFFFF_FFFF);
    assert_eq!(
        value("FLAG_WRAPPED"),
        0,
        "32-bit enumerators wrap after 0xFFFFFFFF"
    );

    let mixed: Vec<i128> = enum_values(&o, "tagMIXED")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(mixed, [5, 6, 15, 16, -3, -2, 2]);
    assert_eq!(const_value(&o, "COLOR_COUNT"), Value::Int(3));
    // An enumerator used as an array size.
    match &tagged(&o, "tagPALETTE").kind {
        ItemKind::Struct(r) => match &r.fields[0].ty {
            Some(Type::Array { len, .. }) => assert_eq!(*len, Some(3)),
            other => panic!("entries should be an array, found {other:?}"),
        },
        _ => panic!("tagPALETTE should be a struct"),
    }
}

#[test]
fn constants_are_evaluated_with_c_rules() {
    let o = clean("consts.idl");
    let int = |name: &str| match const_value(&o, name) {
        Value::Int(i) => i,
        other => panic!("{name} should be an integer, found {other:?}"),
    };
    assert_eq!(int("ANSWER"), 42);
    assert_eq!(int("MASK"), 0xFF00);
    assert_eq!(int("MINUS_ONE"), -1);
    assert_eq!(int("MINUS_HEX"), -16);
    assert_eq!(int("TWICE"), 84);
    assert_eq!(int("ALL_ONES"), 0xFFFF_FFFF, "(ULONG)-1");
    assert_eq!(int("BIG_HEX"), 0x8000_0000);
    assert_eq!(int("FLAGS_OR"), 0xFF10);
    assert_eq!(int("PICKED"), 1);
    assert_eq!(int("PRECEDENCE"), 12);
    assert_eq!(int("REMAINDER"), 2);
    assert_eq!(int("NOT_ZERO"), -1);
    assert_eq!(int("SMALL_SHORT"), 0x2345, "(short) keeps the low 16 bits");
    assert_eq!(int("YES"), 1);
    assert_eq!(int("CHAR_CODE"), 65);
    assert_eq!(
        const_value(&o, "GREETING"),
        Value::Str("hello, fixture".into())
    );
    assert_eq!(const_value(&o, "RATIO"), Value::Float(3.25));

    let p = clean("preproc.idl");
    let pint = |name: &str| const_value(&p, name);
    assert_eq!(pint("LIMIT"), Value::Int(16));
    assert_eq!(pint("AREA"), Value::Int(289), "SQUARE(MAX_ITEMS + 1)");
    assert_eq!(pint("LEVEL"), Value::Int(2), "the #elif branch");
    assert_eq!(
        pint("PART_VERSION"),
        Value::Int(703),
        "from an #included .idl"
    );
    assert!(p.model.lookup("NEVER").is_none(), "#undef then #ifdef");

    let d = clean("dispatch.idl");
    assert_eq!(const_value(&d, "MIN_LEVEL"), Value::Int(-100));
}

#[test]
fn packing_follows_pragmas_and_pshpack_headers() {
    let o = clean("pack.idl");
    let expected = [
        ("tagDEFAULT_PACK", None),
        ("tagPACK2", Some(2)),
        ("tagPACK1", Some(1)),
        ("tagPACK4_UNION", Some(4)),
        ("tagBACK_TO_2", Some(2)),
        ("tagPOPPED", None),
        ("tagHEADER_PACK2", Some(2)),
        ("tagHEADER_PACK8", Some(8)),
        ("tagHEADER_BACK_TO_2", Some(2)),
        ("tagPACK8", Some(8)),
        ("tagRESET", None),
    ];
    for (tag, pack) in expected {
        assert_eq!(pack_of(&o, tag), pack, "pack of {tag}");
    }
}

#[test]
fn pointer_default_applies_below_the_top_level() {
    use PointerKind::{Full, Ref, Unique, Unspecified};
    let o = clean("interfaces.idl");
    // IDrawable: pointer_default(unique). Top-level parameters are [ref].
    let grid = param_type(&o, "IDrawable", "GetGrid", "grid");
    assert_eq!(pointer_kinds(grid), [Ref, Unique]);
    let obj = param_type(&o, "IDrawable", "Create", "object");
    assert_eq!(pointer_kinds(obj), [Ref, Unique]);
    assert_eq!(
        pointer_kinds(param_type(&o, "IDrawable", "Bounds", "clip")),
        [Unique]
    );
    assert_eq!(
        pointer_kinds(param_type(&o, "IDrawable", "Bounds", "hint")),
        [Full]
    );
    // IShape: pointer_default(ref).
    let points = param_type(&o, "IShape", "Corners", "points");
    assert_eq!(pointer_kinds(points), [Ref, Ref]);
    // A typedef inside an interface with pointer_default takes it.
    match &item(&o, "LPDRAWABLE").kind {
        ItemKind::Typedef(t) => assert_eq!(pointer_kinds(t), [Unique]),
        _ => panic!("LPDRAWABLE should be a typedef"),
    }
    // Outside any interface, nothing applies.
    let s = clean("structs.idl");
    match &item(&s, "PPOINT").kind {
        ItemKind::Typedef(t) => assert_eq!(pointer_kinds(t), [Unspecified]),
        _ => panic!("PPOINT should be a typedef"),
    }
}

#[test]
fn union_arms_carry_their_case_values() {
    let o = clean("unions.idl");
    let cases = |tag: &str| -> Vec<Vec<Option<i128>>> {
        match &tagged(&o, tag).kind {
            ItemKind::Union(u) => u.arms.iter().map(|a| a.cases.clone()).collect(),
            _ => panic!("{tag} should be a union"),
        }
    };
    assert_eq!(
        cases("_VALUE"),
        [vec![Some(1)], vec![Some(2)], vec![Some(3)], vec![None]],
        "case KIND_TEXT evaluates the constant"
    );
    assert_eq!(cases("_SMALL_VALUE"), [vec![Some(0)], vec![Some(-1)]]);
    assert_eq!(
        cases("_NE_VALUE"),
        [
            vec![Some(1)],
            vec![Some(2), Some(3)],
            vec![Some(4)],
            vec![None]
        ]
    );
    assert_eq!(cases("_INLINE"), [vec![Some(10)], vec![None]]);
    match &tagged(&o, "_VALUE").kind {
        ItemKind::Union(u) => {
            let switch = u.switch.as_ref().expect("encapsulated union has a switch");
            assert_eq!(switch.name, "kind");
            assert_eq!(switch.union_name.as_deref(), Some("u"));
        }
        _ => unreachable!(),
    }
}

#[test]
fn base_interface_defined_later_is_resolved() {
    let o = clean("midl_only_late_base.idl");
    let derived = item(&o, "IDerivedWidget");
    let ItemKind::Interface(i) = &derived.kind else {
        panic!("IDerivedWidget should be an interface");
    };
    let base = i.base.as_ref().expect("IDerivedWidget has a base");
    assert_eq!(named(&o, base), "IBaseWidget");
    let Type::Named(base_id) = base else {
        unreachable!()
    };
    let base_item = o.model.item(*base_id).expect("base item");
    assert!(matches!(&base_item.kind, ItemKind::Interface(b) if b.defined));
    assert_eq!(base_item.file, derived.file);
    assert!(
        base_item.span.start > derived.span.start,
        "the base is defined after the derived interface"
    );

    // And a typedef of an interface pointer written before the interface.
    let f = clean("midl_only_forward_typedef.idl");
    match &item(&f, "LPGADGETQUERY").kind {
        ItemKind::Typedef(Type::Pointer { pointee, .. }) => {
            assert_eq!(named(&f, pointee), "IGadgetQuery");
        }
        other => panic!("LPGADGETQUERY should be a pointer typedef, found {other:?}"),
    }
}

#[test]
fn imports_resolve_ignoring_case_and_each_file_is_parsed_once() {
    let o = clean("midl_only_import_case.idl");
    // "Structs.IDL" found structs.idl; its types are visible.
    let names: Vec<String> = o
        .model
        .files
        .iter()
        .map(|f| {
            f.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert!(
        names.contains(&"structs.idl".to_string()),
        "files: {names:?}"
    );
    assert!(o.model.lookup("RECT").is_some());

    // base.idl is imported directly, as "./base.idl", and through structs.idl and
    // interfaces.idl: still one file, read once.
    let canonical: Vec<_> = o
        .model
        .files
        .iter()
        .map(|f| std::fs::canonicalize(&f.path).expect("imported files exist"))
        .collect();
    let unique: HashSet<_> = canonical.iter().collect();
    assert_eq!(unique.len(), canonical.len(), "duplicate files: {names:?}");
    assert_eq!(
        names.iter().filter(|n| *n == "base.idl").count(),
        1,
        "{names:?}"
    );
    let base_sources = o
        .sources
        .iter()
        .filter(|(_, f)| f.path.file_name().is_some_and(|n| n == "base.idl"))
        .count();
    assert_eq!(base_sources, 1, "base.idl read once");
    // The items of base.idl exist once.
    let unknowns = o
        .model
        .items
        .iter()
        .filter(|it| it.name == "IUnknown")
        .count();
    assert_eq!(unknowns, 1);
    // The main file's imports: base.idl twice (two spellings), structs, interfaces.
    let main = &o.model.files[0];
    let imported: Vec<&str> = main.imports.iter().map(|&i| names[i].as_str()).collect();
    assert_eq!(
        imported,
        ["base.idl", "structs.idl", "base.idl", "interfaces.idl"]
    );
}

#[test]
fn includes_are_part_of_the_including_file() {
    let o = clean("preproc.idl");
    let main = &o.model.files[0];
    assert_eq!(main.read.len(), 3, "preproc.idl and its two #includes");
    let size = item(&o, "FRAGMENT_SIZE");
    assert_eq!(
        size.file, main.file,
        "an #included item belongs to the IDL file"
    );
    assert_ne!(size.span.file, main.file, "but its span is in the header");
    assert!(o.sources.path(size.span.file).ends_with("preproc_types.h"));
}

#[test]
fn winrt_names_are_scoped_by_namespace() {
    let o = clean("midl_only_winrt.idl");
    let core = id_of(&o, "Gadgets.Core.Mode").expect("Gadgets.Core.Mode");
    let sensors = id_of(&o, "Gadgets.Core.Sensors.Mode").expect("Gadgets.Core.Sensors.Mode");
    // The names are typedefs of two different enums.
    let target = |id: ItemId| match &o.model.item(id).map(|i| &i.kind) {
        Some(ItemKind::Typedef(t)) => named(&o, t),
        other => panic!("expected a typedef, found {other:?}"),
    };
    assert_eq!(target(core), "Gadgets.Core.Mode");
    assert_eq!(target(sensors), "Gadgets.Core.Sensors.Mode");
    assert_ne!(
        o.model.tags.get("Gadgets.Core.Mode"),
        o.model.tags.get("Gadgets.Core.Sensors.Mode")
    );
    assert_eq!(
        enum_values(&o, "Gadgets.Core.Sensors.Mode")
            .last()
            .map(|(_, v)| *v),
        Some(0x20)
    );
    // `Mode` inside Sensors is the inner one.
    let mode = param_type(
        &o,
        "Gadgets.Core.Sensors.IThermometer",
        "SensorMode",
        "mode",
    );
    let Type::Pointer { pointee, .. } = mode else {
        panic!("SensorMode takes a pointer")
    };
    assert_eq!(named(&o, pointee), "Gadgets.Core.Sensors.Mode");

    // Parameterized interfaces and their instantiations.
    let w = clean("winrt.idl");
    let declare = w
        .model
        .items
        .iter()
        .find_map(|it| match &it.kind {
            ItemKind::Declare(types) => Some(types),
            _ => None,
        })
        .expect("a declare block");
    assert_eq!(declare.len(), 5);
    match &declare[3] {
        Type::Instance { generic, args } => {
            let g = w.model.item(*generic).expect("generic");
            assert_eq!(g.full_name(), "Fixture.Foundation.Collections.IVector");
            assert!(matches!(&g.kind, ItemKind::Interface(i) if i.type_params == ["T"]));
            assert_eq!(args.len(), 1);
            assert_eq!(named(&w, &args[0]), "HSTRING");
        }
        other => panic!("expected IVector<HSTRING>, found {other:?}"),
    }
    match &item(&w, "Fixture.Foundation.Collections.IVector").kind {
        ItemKind::Interface(i) => {
            assert_eq!(i.requires.len(), 1);
            assert!(matches!(&i.requires[0], Type::Instance { args, .. }
                if args == &[Type::Param("T".into())]));
        }
        _ => panic!("IVector should be an interface"),
    }
}

#[test]
fn function_pointers_keep_convention_and_varargs() {
    let o = clean("funcptr.idl");
    let signature = |name: &str| match &item(&o, name).kind {
        ItemKind::Typedef(Type::Pointer { pointee, .. }) => match pointee.as_ref() {
            Type::Function(sig) => sig.as_ref().clone(),
            other => panic!("{name} should point to a function, found {other:?}"),
        },
        other => panic!("{name} should be a pointer typedef, found {other:?}"),
    };
    use comidl::ir::CallConv;
    let callback = signature("PFN_CALLBACK");
    assert_eq!(callback.callconv, CallConv::Stdcall);
    assert_eq!(callback.params.len(), 2);
    assert!(!callback.varargs);
    let log = signature("PFN_LOG");
    assert_eq!(log.callconv, CallConv::Cdecl);
    assert!(log.varargs, "`...` is kept");
    assert_eq!(signature("PFN_ADD").callconv, CallConv::Fastcall);
    assert_eq!(signature("PFN_PLAIN").callconv, CallConv::Default);
}
