//! The windows-bindgen round trip: compiles the calculator's IDL and every fixture (and
//! the files of idl/) to .winmd with comidl's winmd backend, runs windows-bindgen on each
//! (with the winmds of the files it imports), and writes the Rust into OUT_DIR for
//! src/lib.rs to include.
//!
//! This is the test: if comidl fails on an IDL file, if windows-bindgen rejects (panics on)
//! a .winmd, or if the Rust it writes does not compile, the build of this crate fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One IDL file in the round trip.
struct Unit {
    /// The module name in src/lib.rs (and the stem of the files written to OUT_DIR).
    module: &'static str,
    /// The IDL file, relative to the repository root.
    idl: &'static str,
    /// Units whose .winmd this one's types refer to: given to windows-bindgen as input, and
    /// their namespaces generated too (sibling modules), so no method is skipped for want
    /// of a type.
    uses: &'static [&'static str],
    /// Types windows-bindgen is told to leave out. The .winmd still has them (the read-back
    /// test in compiler/tests/winmd.rs checks them); what windows-bindgen makes of them does
    /// not compile here.
    skip: &'static [(&'static str, Why)],
}

/// Why a type is left out of windows-bindgen's output.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Why {
    /// It uses `BSTR`, which is `windows_core::BSTR`, and windows-strings defines that on
    /// Windows only (a BSTR must come from SysAllocString). Skipped on other targets.
    Bstr,
    /// A typedef of a floating-point type: windows-bindgen makes it a newtype deriving `Eq`,
    /// which does not compile (the Win32 metadata has no such typedef to show it).
    FloatTypedef,
}

/// Every fixture of tests/fixtures, the calculator and comidl's own IDL.
const UNITS: &[Unit] = &[
    unit("calculator", "examples/calculator/calculator.idl", &[], &[]),
    unit(
        "comidl_base",
        "idl/comidl_base.idl",
        &[],
        &[("comidl_base.IClassFactory2", Why::Bstr)],
    ),
    unit(
        "base",
        "tests/fixtures/base.idl",
        &[],
        &[("base.DATE", Why::FloatTypedef)],
    ),
    unit("consts", "tests/fixtures/consts.idl", &[], &[]),
    unit("dispatch", "tests/fixtures/dispatch.idl", &[], &[]),
    unit("enums", "tests/fixtures/enums.idl", &[], &[]),
    unit("funcptr", "tests/fixtures/funcptr.idl", &[], &[]),
    unit("structs", "tests/fixtures/structs.idl", &[], &[]),
    unit(
        "interfaces",
        "tests/fixtures/interfaces.idl",
        &["structs"],
        &[],
    ),
    unit(
        "midl_only_annotation",
        "tests/fixtures/midl_only_annotation.idl",
        &[],
        &[],
    ),
    unit(
        "midl_only_forward_typedef",
        "tests/fixtures/midl_only_forward_typedef.idl",
        &[],
        &[],
    ),
    unit(
        "midl_only_import_case",
        "tests/fixtures/midl_only_import_case.idl",
        &["structs", "interfaces"],
        &[],
    ),
    unit(
        "midl_only_late_base",
        "tests/fixtures/midl_only_late_base.idl",
        &[],
        &[],
    ),
    unit("pack", "tests/fixtures/pack.idl", &[], &[]),
    unit("pragmas", "tests/fixtures/pragmas.idl", &[], &[]),
    unit("preproc", "tests/fixtures/preproc.idl", &[], &[]),
    unit("pipes", "tests/fixtures/pipes.idl", &[], &[]),
    unit("rpc", "tests/fixtures/rpc.idl", &[], &[]),
    unit("orpc", "tests/fixtures/orpc.idl", &[], &[]),
    unit("safe_shapes", "tests/fixtures/safe_shapes.idl", &[], &[]),
    unit("comidl_ctypes", "idl/comidl_ctypes.idl", &[], &[]),
    unit(
        "comidl_dispenser",
        "idl/comidl_dispenser.idl",
        &["comidl_base"],
        &[("comidl_base.IClassFactory2", Why::Bstr)],
    ),
    unit(
        "comidl_provider",
        "idl/comidl_provider.idl",
        &["comidl_base"],
        &[("comidl_base.IClassFactory2", Why::Bstr)],
    ),
    // Stand-ins are aliases of idl/comidl_ctypes.idl's C definitions.
    unit(
        "standins",
        "tests/fixtures/standins.idl",
        &["comidl_ctypes"],
        &[],
    ),
    unit("unions", "tests/fixtures/unions.idl", &[], &[]),
    unit(
        "user_marshal",
        "tests/fixtures/user_marshal.idl",
        &[],
        &[
            ("user_marshal.SECONDS", Why::FloatTypedef),
            ("user_marshal.TICKS", Why::FloatTypedef),
        ],
    ),
    unit(
        "ndr_shapes",
        "tests/fixtures/ndr_shapes.idl",
        &["standins", "comidl_ctypes"],
        &[],
    ),
    unit(
        "winrt_base",
        "tests/fixtures/winrt_base.idl",
        &[],
        &[("winrt_base.FLOAT", Why::FloatTypedef)],
    ),
    unit(
        "winrt",
        "tests/fixtures/winrt.idl",
        &["winrt_base"],
        &[("winrt_base.FLOAT", Why::FloatTypedef)],
    ),
    unit(
        "midl_only_winrt",
        "tests/fixtures/midl_only_winrt.idl",
        &["winrt_base"],
        &[("winrt_base.FLOAT", Why::FloatTypedef)],
    ),
];

const fn unit(
    module: &'static str,
    idl: &'static str,
    uses: &'static [&'static str],
    skip: &'static [(&'static str, Why)],
) -> Unit {
    Unit {
        module,
        idl,
        uses,
        skip,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let windows_target = std::env::var_os("CARGO_CFG_WINDOWS").is_some();

    // Every fixture must be in the round trip: a new one is added here, with its imports.
    let fixtures = root.join("tests/fixtures");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&fixtures).expect("tests/fixtures exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "idl") {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if !UNITS.iter().any(|u| u.module == stem) {
                missing.push(stem.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fixtures missing from tests/winmd/build.rs: {missing:?}"
    );

    // First every .winmd, so a unit can use another's.
    let vtables: Vec<Vtables> = UNITS
        .iter()
        .map(|unit| compile(&root, &root.join(unit.idl), &winmd_path(&out, unit.module)))
        .collect();

    let mut all = String::new();
    let mut slots = String::new();
    for (unit, vtables) in UNITS.iter().zip(&vtables) {
        vtable_checks(&mut slots, unit, vtables, &winmd_path(&out, unit.module));
        let mut bindgen = windows_bindgen::builder();
        let winmd = winmd_path(&out, unit.module);
        bindgen
            .input(&winmd)
            .output(out.join(format!("{}.rs", unit.module)));
        // Every namespace the file defines types in (WinRT items have their own).
        for ns in namespaces_in(&winmd) {
            bindgen.filter(&ns);
        }
        for used in unit.uses {
            let used = winmd_path(&out, used);
            bindgen.input(&used);
            for ns in namespaces_in(&used) {
                bindgen.filter(&ns);
            }
        }
        for (name, why) in unit.skip {
            if *why == Why::FloatTypedef || !windows_target {
                bindgen.filter(&format!("!{name}"));
            }
        }
        bindgen.write();
        writeln!(
            all,
            "/// windows-bindgen's bindings of `{}`.\npub mod {} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{}.rs\"));\n}}",
            unit.idl, unit.module, unit.module
        )
        .expect("writing to a String");
    }
    std::fs::write(out.join("all.rs"), all).expect("OUT_DIR is writable");
    // One block, so the test can `include!` it as a single expression.
    std::fs::write(out.join("vtable_slots.rs"), format!("{{\n{slots}}}\n"))
        .expect("OUT_DIR is writable");
}

/// Where comidl's own Rust for a unit lives, as tests/vtables.rs names it: the runtime's
/// module for our idl/ files, the calculator's bindings crate, else the fixture's module of
/// comidl-generated-tests.
fn comidl_module(unit: &Unit) -> String {
    if unit.module == "calculator" {
        return "calculator_bindings".to_string();
    }
    match comidl::emit::rust::runtime_module(unit.module) {
        Some("") => "comidl_runtime".to_string(),
        Some(module) => format!("comidl_runtime::{module}"),
        None => format!("comidl_generated_tests::{}", unit.module),
    }
}

/// The items of a file that comidl gives a vtable, by name, with their WinRT namespace
/// ("" outside any): defined interfaces that have one, dispinterfaces, WinRT delegates.
type Vtables = std::collections::BTreeMap<String, String>;

fn vtables_of(model: &comidl::ir::Model) -> Vtables {
    use comidl::ir::ItemKind;
    let Some(main) = model.files.first() else {
        return Vtables::new();
    };
    model
        .items_in(main.file)
        .filter(|(_, item)| match &item.kind {
            ItemKind::Interface(i) => i.defined && i.has_vtable(item),
            ItemKind::Dispinterface(_) | ItemKind::Delegate(_) => true,
            _ => false,
        })
        .map(|(_, item)| (item.name.clone(), item.namespace.clone()))
        .collect()
}

/// One `check!` line per vtable windows-bindgen writes for the unit's own .winmd: every
/// interface and delegate that is not generic, with its methods in slot order, for
/// tests/vtables.rs to compare slot by slot with comidl's vtable of the same name. A type
/// with no vtable in comidl's IR (a function-pointer typedef, which metadata spells as a
/// delegate; an interface only forward-declared) gets a `no_vtable!` line instead, which
/// the test lists.
fn vtable_checks(out: &mut String, unit: &Unit, vtables: &Vtables, winmd: &Path) {
    use windows_metadata::reader::TypeCategory;
    let index = windows_metadata::reader::Index::read(winmd)
        .unwrap_or_else(|| panic!("{} is not a readable .winmd", winmd.display()));
    let ours = comidl_module(unit);
    for (namespace, name, def) in index.iter() {
        let category = def.category();
        let vtable = matches!(category, TypeCategory::Interface | TypeCategory::Delegate);
        let skipped = unit
            .skip
            .iter()
            .any(|(s, _)| *s == format!("{namespace}.{name}"));
        if !vtable || skipped || def.generic_params().next().is_some() {
            continue;
        }
        let Some(idl_namespace) = vtables.get(name) else {
            writeln!(out, "no_vtable!(\"{}\", \"{namespace}.{name}\");", unit.idl)
                .expect("writing to a String");
            continue;
        };
        let theirs = format!(
            "comidl_winmd_tests::{}::{}::{name}_Vtbl",
            unit.module,
            namespace.replace('.', "::")
        );
        // Items of a WinRT namespace live in that namespace's module in comidl's Rust.
        let mine = match idl_namespace.as_str() {
            "" => format!("{ours}::{name}_Vtbl"),
            ns => format!("{ours}::{}::{name}_Vtbl", ns.replace('.', "::")),
        };
        let methods: Vec<&str> = def
            .methods()
            .map(|m| m.name())
            .filter(|m| !m.starts_with('.'))
            .collect();
        writeln!(out, "check!({theirs} => {mine}; {});", methods.join(", "))
            .expect("writing to a String");
    }
}

fn winmd_path(out: &Path, module: &str) -> PathBuf {
    out.join(format!("{module}.winmd"))
}

/// The namespaces a .winmd defines types in (interfaces, structs, enums, delegates and
/// `Apis`; not the library's and coclasses' classes, which windows-bindgen ignores), read
/// back with windows-metadata.
fn namespaces_in(winmd: &Path) -> Vec<String> {
    let index = windows_metadata::reader::Index::read(winmd)
        .unwrap_or_else(|| panic!("{} is not a readable .winmd", winmd.display()));
    let mut namespaces: Vec<String> = index
        .iter()
        .filter(|(_, name, def)| {
            def.category() != windows_metadata::reader::TypeCategory::Class || *name == "Apis"
        })
        .map(|(ns, _, _)| ns.to_string())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces
}

/// Compiles one IDL file to a .winmd and returns the file's vtables. Panics (failing the
/// build) on any error; warnings are expected for what metadata cannot hold and are not
/// shown.
fn compile(root: &Path, idl: &Path, winmd: &Path) -> Vtables {
    let mut options = comidl::Options::default();
    options
        .preprocess
        .include_dirs
        .push(root.join("tests/fixtures"));
    options.preprocess.include_dirs.push(root.join("idl"));
    let outcome = comidl::check(idl, &options);
    for f in &outcome.model.files {
        println!("cargo:rerun-if-changed={}", f.path.display());
    }
    if outcome.has_errors() {
        panic!(
            "comidl rejected {}:\n{}",
            idl.display(),
            comidl::diag::render(&outcome.sources, &outcome.diagnostics)
        );
    }
    let options = comidl::emit::winmd::Options::default();
    let generated = comidl::emit::winmd::generate(&outcome.model, &options).unwrap_or_else(|d| {
        panic!(
            "the winmd backend failed on {}:\n{}",
            idl.display(),
            comidl::diag::render(&outcome.sources, &d)
        )
    });
    std::fs::write(winmd, &generated.bytes).expect("OUT_DIR is writable");
    vtables_of(&outcome.model)
}
