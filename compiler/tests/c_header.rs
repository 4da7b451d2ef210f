//! The C header backend, checked by gcc and g++ on every fixture, on comidl's own IDL and on
//! the calculator example:
//!
//! - each header (with the headers of its imports) compiles as C (`-std=c11 -pedantic-errors
//!   -Wall -Werror`) and as C++ (`-std=c++17 -Wall -Werror`, with and without `CINTERFACE`);
//! - every GUID the headers declare links from a C and a C++ unit against the `_i.c` files
//!   (compiled as C, then as C++), exactly once, with the value the IDL gives it;
//! - gcc's sizeof/alignof/offsetof (and bit positions of bit-fields) of every struct and
//!   union agree with `comidl::layout`;
//! - every interface's C++ class has its virtual functions at the offsets its C vtable
//!   struct has its members, in the order IDL inheritance gives;
//! - a C++ object implementing the calculator's interfaces is called from C through the C
//!   vtables and the COBJMACROS.
//!
//! gcc and g++ must be installed; without them these tests fail and say so.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use comidl::Outcome;
use comidl::emit::c::{self, Options};
use comidl::ir::{CVisibility, ItemId, ItemKind, Model, Type};
use comidl::layout::Layouts;

use common::{check_with_idl, every_idl_file, fixtures_dir, repo_root, stem};

fn check_file(path: &Path) -> Outcome {
    let outcome = check_with_idl(path);
    assert!(
        !outcome.has_errors(),
        "{}: {}",
        path.display(),
        comidl::diag::render(&outcome.sources, &outcome.diagnostics)
    );
    outcome
}

/// Stand-in C headers some fixtures include through cpp_quote (`<mmreg.h>`).
fn stub_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// A file's headers and `_i.c` files (its own and its imports') in a temporary directory.
struct Generated {
    dir: tempfile::TempDir,
    stem: String,
    outcome: Outcome,
    /// The stems of every IDL file involved (the main one first).
    stems: Vec<String>,
    warnings: Vec<String>,
}

fn generate(path: &Path) -> Generated {
    let outcome = check_file(path);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut stems = Vec::new();
    let mut warnings = Vec::new();
    for file in &outcome.model.files {
        let file_outcome = check_file(&file.path);
        let s = stem(&file.path);
        let header = c::header(&file_outcome.model, &Options::default())
            .unwrap_or_else(|d| panic!("{s}: {}", comidl::diag::render(&file_outcome.sources, &d)));
        let iids = c::iids(&file_outcome.model, &Options::default())
            .unwrap_or_else(|d| panic!("{s}: {d:?}"));
        for d in header.diagnostics.iter().chain(&iids.diagnostics) {
            warnings.push(format!("{s}: {}", d.message));
        }
        std::fs::write(dir.path().join(format!("{s}.h")), header.code).unwrap();
        std::fs::write(dir.path().join(format!("{s}_i.c")), iids.code).unwrap();
        if !stems.contains(&s) {
            stems.push(s);
        }
    }
    Generated {
        dir,
        stem: stem(path),
        outcome,
        stems,
        warnings,
    }
}

impl Generated {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs a compiler with the header directories on the include path.
    fn compile(&self, compiler: &str, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(compiler);
        cmd.arg("-I")
            .arg(self.dir.path())
            .arg("-I")
            .arg(stub_dir())
            .args(args)
            .current_dir(self.dir.path());
        run(&mut cmd, compiler)
    }

    fn run_program(&self, exe: &Path) -> Result<String, String> {
        run(&mut Command::new(exe), &exe.display().to_string())
    }

    fn model(&self) -> &Model {
        &self.outcome.model
    }
}

/// Runs a command; its stdout, or a message with its stderr.
fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let output = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} ({e}): gcc and g++ must be installed for the C header tests")
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs `check` on every case, then fails listing every case that failed.
fn for_every_case(check: impl Fn(&Generated) -> Result<(), String>) {
    let mut failures = Vec::new();
    let cases = every_idl_file();
    for path in &cases {
        let g = generate(path);
        if let Err(e) = check(&g) {
            failures.push(format!("== {} ==\n{e}", g.stem));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn headers_compile_as_c_and_cxx() {
    for_every_case(|g| {
        g.write(
            "tu.c",
            &format!(
                "#include \"{}.h\"\nint main(void) {{ return 0; }}\n",
                g.stem
            ),
        );
        g.compile(
            "gcc",
            &[
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic-errors",
                "-c",
                "tu.c",
                "-o",
                "tu_c.o",
            ],
        )?;
        g.write(
            "tu.cpp",
            &format!("#include \"{}.h\"\nint main() {{ return 0; }}\n", g.stem),
        );
        g.compile(
            "g++",
            &[
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-c",
                "tu.cpp",
                "-o",
                "tu_cxx.o",
            ],
        )?;
        g.compile(
            "g++",
            &[
                "-std=c++17",
                "-Wall",
                "-Werror",
                "-DCINTERFACE",
                "-DCOBJMACROS",
                "-c",
                "tu.cpp",
                "-o",
                "tu_cint.o",
            ],
        )?;
        Ok(())
    });
}

#[test]
fn the_prologue_leaves_the_platforms_com_macros_alone() {
    // What <windows.h>/<objbase.h> define first, spelled differently from the prologue:
    // with -Werror, redefining any of them would fail the compile.
    let g = generate(&repo_root().join("examples/calculator/calculator.idl"));
    let predefined = "#define EXTERN_C extern \"C\" __attribute__(())\n\
                      #define STDMETHODCALLTYPE __attribute__(())\n\
                      #define interface struct __attribute__(())\n\
                      #define BEGIN_INTERFACE static_assert(1, \"platform\");\n\
                      #define END_INTERFACE static_assert(1, \"platform\");\n\
                      #define CONST_VTBL const\n\
                      #define DECLSPEC_UUID(x) __attribute__(())\n\
                      #define DECLSPEC_NOVTABLE __attribute__(())\n\
                      #define MIDL_INTERFACE(x) struct __attribute__(())\n";
    g.write(
        "platform.cpp",
        &format!("{predefined}#include \"calculator.h\"\n#include \"calculator.h\"\n"),
    );
    g.compile(
        "g++",
        &[
            "-std=c++17",
            "-Wall",
            "-Werror",
            "-c",
            "platform.cpp",
            "-o",
            "platform.o",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn every_case_is_generated_without_warnings() {
    let mut warnings = Vec::new();
    for path in every_idl_file() {
        warnings.extend(generate(&path).warnings);
    }
    assert!(
        warnings.is_empty(),
        "unexpected warnings:\n{}",
        warnings.join("\n")
    );
}

#[test]
fn what_c_cannot_say_is_a_warning_naming_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let idl = dir.path().join("odd.idl");
    std::fs::write(
        &idl,
        "import \"base.idl\";\n\
         interface IForward;\n\
         [object, uuid(0b5e7c8a-1d2e-4f30-9a4b-5c6d7e8f9a01)]\n\
         interface IOnForward : IForward { HRESULT M(void); }\n\
         #pragma comidl_unknown(1)\n\
         typedef struct tagKEYWORDS { LONG class; LONG new; } KEYWORDS;\n",
    )
    .unwrap();
    let outcome = check_file(&idl);
    let header = c::header(&outcome.model, &Options::default()).expect("a header, with warnings");
    let messages: Vec<&str> = header
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    let find = |needle: &str| {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "no warning mentioning `{needle}` in {messages:#?}"
        )
    };
    find("interface `IOnForward`: `IForward` is declared but never defined");
    find("pragma: `#pragma comidl_unknown(1)` is left out of the C header");
    find(
        "struct `tagKEYWORDS`: member `class` is a reserved word in C or C++ and is written `class_`",
    );
    // The header still compiles, as C and as C++.
    std::fs::write(dir.path().join("odd.h"), &header.code).unwrap();
    let base = check_file(&fixtures_dir().join("base.idl"));
    let base_h = c::header(&base.model, &Options::default()).unwrap();
    std::fs::write(dir.path().join("base.h"), &base_h.code).unwrap();
    std::fs::write(dir.path().join("tu.c"), "#include \"odd.h\"\nKEYWORDS k;\n").unwrap();
    for (compiler, std) in [("gcc", "-std=c11"), ("g++", "-std=c++17")] {
        let mut cmd = Command::new(compiler);
        cmd.args([
            std,
            "-Wall",
            "-Werror",
            "-x",
            if compiler == "gcc" { "c" } else { "c++" },
            "-c",
            "tu.c",
            "-o",
            "tu.o",
        ])
        .current_dir(dir.path());
        run(&mut cmd, compiler).unwrap_or_else(|e| panic!("{e}\n{}", header.code));
    }
}

#[test]
fn winrt_instances_have_widls_names_and_iids() {
    // What widl 8.0 writes for winrt.idl's instances (names and DEFINE_GUID values).
    let g = generate(&fixtures_dir().join("winrt.idl"));
    let iids = std::fs::read_to_string(g.path("winrt_i.c")).unwrap();
    for (name, iid) in [
        (
            "__x_ABI_CFixture_CFoundation_CCollections_CIIterable_1_HSTRING",
            "{0x354c4f71, 0x61b4, 0x5140, {0xae, 0xae, 0xec, 0x05, 0xd0, 0x3a, 0xc9, 0x27}}",
        ),
        (
            "__x_ABI_CFixture_CFoundation_CCollections_CIVector_1_HSTRING",
            "{0x6bd524f9, 0xed45, 0x5403, {0x83, 0x8d, 0x08, 0x5f, 0x02, 0xdd, 0x23, 0x36}}",
        ),
        (
            "__x_ABI_CFixture_CFoundation_CITypedEventHandler_2_Fixture__CShapes__CCircle_IInspectable",
            "{0xfaf287ef, 0x1d4f, 0x5358, {0x97, 0x2c, 0x0a, 0xf1, 0x93, 0x61, 0x0d, 0xc8}}",
        ),
    ] {
        let line = format!("const IID IID_{name} = {iid};");
        assert!(iids.contains(&line), "missing `{line}` in:\n{iids}");
    }
}

/// The GUID variables a header declares for C, after preprocessing (so declarations in
/// `#if 0` regions are not counted), imports included: name → declared type.
fn declared_guids(g: &Generated) -> Result<BTreeMap<String, String>, String> {
    g.write("guids.c", &format!("#include \"{}.h\"\n", g.stem));
    let text = g.compile("gcc", &["-std=c11", "-E", "-P", "guids.c"])?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("extern const ") else {
            continue;
        };
        let Some(decl) = rest.strip_suffix(';') else {
            continue;
        };
        let Some((ty, name)) = decl.rsplit_once(' ') else {
            continue;
        };
        if ["IID_", "DIID_", "CLSID_", "LIBID_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            out.insert(name.to_string(), ty.to_string());
        }
    }
    Ok(out)
}

/// What each GUID variable must hold, from the IDL: name → canonical text.
fn expected_guids(model: &Model) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (i, item) in model.items.iter().enumerate() {
        let Some(uuid) = item.uuid() else {
            continue;
        };
        let name = c::item_name(model, ItemId(i as u32));
        let prefix = match &item.kind {
            ItemKind::Interface(_) | ItemKind::Delegate(_) => "IID",
            ItemKind::Dispinterface(_) => "DIID",
            ItemKind::Coclass(_) => "CLSID",
            ItemKind::Library(_) => "LIBID",
            _ => continue,
        };
        out.insert(format!("{prefix}_{name}"), uuid.to_string());
    }
    out
}

#[test]
fn guids_link_once_from_c_and_cxx_with_the_idl_values() {
    for_every_case(|g| {
        let declared = declared_guids(g)?;
        let expected = expected_guids(g.model());
        // Every visible interface, coclass and library of the main file has its GUID.
        let main = g.model().files[0].file;
        for (id, item) in g.model().items_in(main) {
            if item.c_visibility == CVisibility::Never || item.uuid().is_none() {
                continue;
            }
            let name = c::item_name(g.model(), id);
            let wanted = match &item.kind {
                ItemKind::Interface(i)
                    if i.defined && i.type_params.is_empty() && i.has_vtable(item) =>
                {
                    format!("IID_{name}")
                }
                ItemKind::Dispinterface(d) if d.defined => format!("DIID_{name}"),
                ItemKind::Coclass(_) => format!("CLSID_{name}"),
                ItemKind::Library(_) => format!("LIBID_{name}"),
                _ => continue,
            };
            if !declared.contains_key(&wanted) {
                return Err(format!("the header does not declare {wanted}"));
            }
        }
        let names: Vec<&String> = declared.keys().collect();
        let refs = |lang: &str| {
            let mut s = format!("#include \"{}.h\"\n", g.stem);
            let _ = writeln!(
                s,
                "{lang} const void *const {}_refs[] = {{",
                if lang.is_empty() { "c" } else { "cxx" }
            );
            for n in &names {
                let _ = writeln!(s, "    &{n},");
            }
            s.push_str("    0\n};\n");
            s
        };
        let mut c_main = refs("");
        c_main.push_str(
            "#include <stdio.h>\n\
             extern const void *const cxx_refs[];\n\
             static const char *const names[] = {\n",
        );
        for n in &names {
            let _ = writeln!(c_main, "    \"{n}\",");
        }
        c_main.push_str(
            "    0\n};\n\
             int main(void) {\n\
             \x20   for (int i = 0; names[i]; i++) {\n\
             \x20       const unsigned char *b = c_refs[i];\n\
             \x20       if (c_refs[i] != cxx_refs[i]) { printf(\"MISMATCH %s\\n\", names[i]); return 1; }\n\
             \x20       printf(\"%s %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\\n\", names[i],\n\
             \x20           b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);\n\
             \x20   }\n\
             \x20   return 0;\n\
             }\n",
        );
        g.write("guid_main.c", &c_main);
        g.write("guid_refs.cpp", &refs("extern \"C\""));
        g.compile(
            "gcc",
            &[
                "-std=c11",
                "-Wall",
                "-Werror",
                "-pedantic-errors",
                "-c",
                "guid_main.c",
                "-o",
                "guid_main.o",
            ],
        )?;
        g.compile(
            "g++",
            &[
                "-std=c++17",
                "-Wall",
                "-Werror",
                "-c",
                "guid_refs.cpp",
                "-o",
                "guid_refs.o",
            ],
        )?;
        // The _i.c files as C, then as C++: each link must resolve every GUID exactly once.
        for (lang, compiler, extra) in [
            ("c", "gcc", vec!["-std=c11", "-pedantic-errors"]),
            ("cxx", "g++", vec!["-x", "c++", "-std=c++17"]),
        ] {
            let mut objects = vec!["guid_main.o".to_string(), "guid_refs.o".to_string()];
            for s in &g.stems {
                let obj = format!("{s}_i_{lang}.o");
                let mut args = extra.clone();
                let src = format!("{s}_i.c");
                args.extend(["-Wall", "-Werror", "-c", src.as_str(), "-o", obj.as_str()]);
                g.compile(compiler, &args)?;
                objects.push(obj);
            }
            let exe = format!("guids_{lang}");
            let mut args: Vec<&str> = objects.iter().map(String::as_str).collect();
            args.extend(["-o", exe.as_str()]);
            g.compile("g++", &args)?;
            let out = g.run_program(&g.path(&exe))?;
            let printed: HashMap<&str, &str> =
                out.lines().filter_map(|l| l.split_once(' ')).collect();
            if printed.len() != names.len() {
                return Err(format!(
                    "{lang}: printed {} GUIDs for {} declared:\n{out}",
                    printed.len(),
                    names.len()
                ));
            }
            for (name, value) in &printed {
                if let Some(want) = expected.get(*name)
                    && want != value
                {
                    return Err(format!("{lang}: {name} is {value}, the IDL says {want}"));
                }
            }
        }
        Ok(())
    });
}

/// How the probe names a record in C, or why it cannot.
fn record_expr(model: &Model, id: ItemId, depth: usize) -> Result<String, String> {
    if let Some(name) = c::type_name(model, &Type::Named(id)) {
        return Ok(name);
    }
    if depth > 8 {
        return Err("nested too deep".into());
    }
    // An anonymous record defined inside a member of another record.
    for (i, item) in model.items.iter().enumerate() {
        let fields: Vec<&comidl::ir::Field> = match &item.kind {
            ItemKind::Struct(r) => r.fields.iter().collect(),
            ItemKind::Union(u) => u.arms.iter().map(|a| &a.field).collect(),
            _ => continue,
        };
        for f in fields {
            let (ty, index) = match &f.ty {
                Some(Type::Named(t)) => (*t, ""),
                Some(Type::Array { element, .. }) if **element == Type::Named(id) => (id, "[0]"),
                _ => continue,
            };
            if ty != id {
                continue;
            }
            if f.name.is_empty() {
                return Err("an anonymous member: C gives its type no name".into());
            }
            let parent = record_expr(model, ItemId(i as u32), depth + 1)?;
            let member = match &item.kind {
                ItemKind::Union(u) if u.switch.is_some() => {
                    format!(
                        "{}.{}",
                        u.switch.as_ref().map(|s| s.member()).unwrap_or(""),
                        f.name
                    )
                }
                _ => f.name.clone(),
            };
            return Ok(format!("__typeof__(((({parent} *)0)->{member}){index})"));
        }
    }
    Err("no C name and no enclosing record".into())
}

/// Whether a record holds (by value) an item C takes from a C header instead of the IDL's
/// stand-in (declared inside a cpp_quote'd `#if 0`).
fn uses_stand_in(model: &Model, ty: &Type, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    match ty {
        Type::Const(t) => uses_stand_in(model, t, depth + 1),
        Type::Array { element, .. } => uses_stand_in(model, element, depth + 1),
        Type::Named(id) => {
            let Some(item) = model.item(*id) else {
                return false;
            };
            if item.c_visibility == CVisibility::Never {
                return true;
            }
            match &item.kind {
                ItemKind::Typedef(t) => uses_stand_in(model, t, depth + 1),
                ItemKind::Struct(r) => r
                    .fields
                    .iter()
                    .filter_map(|f| f.ty.as_ref())
                    .any(|t| uses_stand_in(model, t, depth + 1)),
                ItemKind::Union(u) => u
                    .arms
                    .iter()
                    .filter_map(|a| a.field.ty.as_ref())
                    .any(|t| uses_stand_in(model, t, depth + 1)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// One record the layout probe measures.
struct Probe {
    label: String,
    expr: String,
    size: u64,
    align: u64,
    /// (member path, bit offset, bit width, is a bit-field)
    fields: Vec<(String, u64, u64, bool)>,
}

#[test]
fn record_layouts_match_gcc() {
    let mut excluded: Vec<String> = Vec::new();
    let mut measured = 0usize;
    let mut failures = Vec::new();
    for path in every_idl_file() {
        let g = generate(&path);
        let model = g.model();
        let main = model.files[0].file;
        let mut layouts = Layouts::new(model);
        let mut probes = Vec::new();
        for (id, item) in model.items_in(main) {
            if let ItemKind::Pipe(_) = item.kind {
                // A pipe's control record: MIDL's members, one pointer each, in its order.
                let layout = layouts.of(&Type::Named(id)).expect("a pipe has a layout");
                let fields = ["pull", "push", "alloc", "state"]
                    .iter()
                    .zip(0u64..)
                    .map(|(name, i)| (name.to_string(), i * 64, 0, false))
                    .collect();
                probes.push(Probe {
                    label: format!("{}:{}", g.stem, item.name),
                    expr: item.name.clone(),
                    size: layout.size,
                    align: layout.align,
                    fields,
                });
                continue;
            }
            let (defined, fields, switch) = match &item.kind {
                ItemKind::Struct(r) => (r.defined, r.fields.iter().collect::<Vec<_>>(), None),
                ItemKind::Union(u) => (
                    u.defined,
                    u.arms.iter().map(|a| &a.field).collect(),
                    u.switch.as_ref(),
                ),
                _ => continue,
            };
            if !defined || item.c_visibility == CVisibility::Never {
                continue;
            }
            let label = format!("{}:{}", g.stem, c::item_name(model, id));
            if uses_stand_in(model, &Type::Named(id), 0) {
                excluded.push(format!("{label}: holds a stand-in C takes from a C header"));
                continue;
            }
            let expr = match record_expr(model, id, 0) {
                Ok(e) => e,
                Err(why) => {
                    excluded.push(format!("{label} ({}): {why}", item.span.start));
                    continue;
                }
            };
            let layout = match layouts.record(id) {
                Ok(l) => l,
                Err(why) => {
                    excluded.push(format!("{label}: comidl::layout has no layout ({why:?})"));
                    continue;
                }
            };
            let mut probe = Probe {
                label: if item.name.is_empty() {
                    format!("{}:anonymous@{}", g.stem, item.span.start)
                } else {
                    label
                },
                expr,
                size: layout.layout.size,
                align: layout.layout.align,
                fields: Vec::new(),
            };
            match switch {
                Some(s) => {
                    for (name, p) in [s.name.as_str(), s.member()].iter().zip(&layout.fields) {
                        if let Some(p) = p {
                            probe
                                .fields
                                .push((name.to_string(), p.bit_offset, p.bit_width, false));
                        }
                    }
                }
                None => {
                    for (f, p) in fields.iter().zip(&layout.fields) {
                        let Some(p) = p else { continue };
                        if f.name.is_empty() {
                            continue;
                        }
                        probe.fields.push((
                            f.name.clone(),
                            p.bit_offset,
                            p.bit_width,
                            f.bits.is_some(),
                        ));
                    }
                }
            }
            probes.push(probe);
        }
        if probes.is_empty() {
            continue;
        }
        measured += probes.len();
        let mut src = format!(
            "#include <stdio.h>\n#include <stddef.h>\n#include <string.h>\n#include \"{}.h\"\n\
             static void bits(const char *rec, const char *field, const unsigned char *p, size_t n) {{\n\
             \x20   long first = -1, count = 0;\n\
             \x20   for (size_t i = 0; i < n * 8; i++)\n\
             \x20       if (p[i / 8] >> (i % 8) & 1) {{ if (first < 0) first = (long)i; count++; }}\n\
             \x20   printf(\"B %s %s %ld %ld\\n\", rec, field, first, count);\n\
             }}\n\
             int main(void) {{\n",
            g.stem
        );
        for p in &probes {
            let _ = writeln!(
                src,
                "    printf(\"R %s %zu %zu\\n\", \"{}\", sizeof({e}), _Alignof({e}));",
                p.label,
                e = p.expr
            );
            for (name, _, _, is_bits) in &p.fields {
                if *is_bits {
                    let _ = writeln!(
                        src,
                        "    {{ {e} v; memset(&v, 0, sizeof v); v.{name} = -1; bits(\"{}\", \"{name}\", (const unsigned char *)&v, sizeof v); }}",
                        p.label,
                        e = p.expr
                    );
                } else {
                    let _ = writeln!(
                        src,
                        "    printf(\"F %s %s %zu\\n\", \"{}\", \"{name}\", offsetof({e}, {name}));",
                        p.label,
                        e = p.expr
                    );
                }
            }
        }
        src.push_str("    return 0;\n}\n");
        g.write("layout.c", &src);
        let result = g
            .compile("gcc", &["-std=gnu11", "-w", "layout.c", "-o", "layout"])
            .and_then(|_| g.run_program(&g.path("layout")));
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: the probe failed: {e}", g.stem));
                continue;
            }
        };
        let mut seen: HashMap<(String, String), Vec<u64>> = HashMap::new();
        for line in out.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["R", label, size, align] => {
                    seen.insert(
                        (label.to_string(), String::new()),
                        vec![size.parse().unwrap(), align.parse().unwrap()],
                    );
                }
                ["F", label, field, off] => {
                    seen.insert(
                        (label.to_string(), field.to_string()),
                        vec![off.parse::<u64>().unwrap() * 8],
                    );
                }
                ["B", label, field, first, count] => {
                    seen.insert(
                        (label.to_string(), field.to_string()),
                        vec![first.parse().unwrap(), count.parse().unwrap()],
                    );
                }
                _ => failures.push(format!("{}: odd probe line `{line}`", g.stem)),
            }
        }
        for p in &probes {
            let got = seen.get(&(p.label.clone(), String::new()));
            if got != Some(&vec![p.size, p.align]) {
                failures.push(format!(
                    "{}: gcc says size/align {:?}, comidl::layout {}/{}",
                    p.label, got, p.size, p.align
                ));
            }
            for (name, bit, width, is_bits) in &p.fields {
                let got = seen.get(&(p.label.clone(), name.clone()));
                let want = if *is_bits {
                    vec![*bit, *width]
                } else {
                    vec![*bit]
                };
                if got != Some(&want) {
                    failures.push(format!(
                        "{}.{name}: gcc says {:?}, comidl::layout {:?} (bits)",
                        p.label, got, want
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "layout mismatches:\n{}",
        failures.join("\n")
    );
    println!(
        "{measured} records measured; excluded:\n{}",
        excluded.join("\n")
    );
    // Every record but those listed here is measured; a new exclusion must be looked at.
    assert_eq!(
        excluded.len(),
        2,
        "records left out of the layout check:\n{}",
        excluded.join("\n")
    );
    assert!(measured >= 50, "only {measured} records measured");
}

/// The slot names of an interface in order, worked out from the IDL alone.
fn expected_slots(model: &Model, id: ItemId, depth: usize) -> Option<Vec<String>> {
    if depth > 32 {
        return None;
    }
    let item = model.item(id)?;
    let own = |methods: &[comidl::ir::Method]| -> Vec<String> {
        methods
            .iter()
            .filter(|m| m.has_slot())
            .map(|m| m.slot_name())
            .collect()
    };
    match &item.kind {
        ItemKind::Interface(i) => {
            let mut slots = match &i.base {
                Some(b) => {
                    let Type::Named(bid) = model.unalias(b) else {
                        return None;
                    };
                    expected_slots(model, bid, depth + 1)?
                }
                None => Vec::new(),
            };
            slots.extend(own(&i.methods));
            Some(slots)
        }
        ItemKind::Dispinterface(_) => {
            expected_slots(model, *model.names.get("IDispatch")?, depth + 1)
        }
        ItemKind::Delegate(_) => {
            let mut slots = expected_slots(model, *model.names.get("IUnknown")?, depth + 1)?;
            slots.push("Invoke".into());
            Some(slots)
        }
        _ => None,
    }
}

#[test]
fn cxx_vtables_match_the_c_vtables() {
    for_every_case(|g| {
        let model = g.model();
        let main = model.files[0].file;
        let mut interfaces: Vec<(String, Vec<String>)> = Vec::new();
        for (id, item) in model.items_in(main) {
            if item.c_visibility == CVisibility::Never {
                continue;
            }
            let wanted = match &item.kind {
                ItemKind::Interface(i) => {
                    i.defined && i.type_params.is_empty() && i.has_vtable(item)
                }
                ItemKind::Dispinterface(d) => d.defined,
                ItemKind::Delegate(d) => d.type_params.is_empty(),
                _ => false,
            };
            if !wanted {
                continue;
            }
            let name = c::item_name(model, id);
            let slots = c::vtable_slots(model, id).ok_or_else(|| format!("{name}: no vtable"))?;
            let expected =
                expected_slots(model, id, 0).ok_or_else(|| format!("{name}: no expected slots"))?;
            if slots != expected {
                return Err(format!(
                    "{name}: the header's slots {slots:?}, the IDL's {expected:?}"
                ));
            }
            interfaces.push((name, slots));
        }
        if interfaces.is_empty() {
            return Ok(());
        }
        let mut c_src = format!(
            "#include <stdio.h>\n#include <stddef.h>\n#include \"{}.h\"\nint main(void) {{\n",
            g.stem
        );
        let mut cxx_src = format!(
            "#include <cstdio>\n#include <cstring>\n#include <cstdint>\n#include <cstddef>\n#include \"{}.h\"\n\
             // The vtable offset in a pointer to a virtual member function (Itanium C++ ABI).\n\
             template <typename T> static long slot(T member) {{\n\
             \x20   struct {{ std::uintptr_t ptr; std::ptrdiff_t adj; }} rep;\n\
             \x20   static_assert(sizeof(member) == sizeof(rep), \"Itanium member pointers\");\n\
             \x20   std::memcpy(&rep, &member, sizeof rep);\n\
             #if defined(__aarch64__) || defined(__arm__)\n\
             \x20   return (rep.adj & 1) ? (long)rep.ptr : -1;\n\
             #else\n\
             \x20   return (rep.ptr & 1) ? (long)(rep.ptr - 1) : -1;\n\
             #endif\n\
             }}\n\
             int main() {{\n",
            g.stem
        );
        for (name, slots) in &interfaces {
            for s in slots {
                let _ = writeln!(
                    c_src,
                    "    printf(\"{name} {s} %zu\\n\", offsetof({name}Vtbl, {s}));"
                );
                let _ = writeln!(
                    cxx_src,
                    "    std::printf(\"{name} {s} %ld\\n\", slot(&{name}::{s}));"
                );
            }
        }
        c_src.push_str("    return 0;\n}\n");
        cxx_src.push_str("    return 0;\n}\n");
        g.write("vtbl.c", &c_src);
        g.write("vtbl.cpp", &cxx_src);
        g.compile(
            "gcc",
            &["-std=c11", "-Wall", "-Werror", "vtbl.c", "-o", "vtbl_c"],
        )?;
        g.compile(
            "g++",
            &[
                "-std=c++17",
                "-Wall",
                "-Werror",
                "vtbl.cpp",
                "-o",
                "vtbl_cxx",
            ],
        )?;
        let c_out = g.run_program(&g.path("vtbl_c"))?;
        let cxx_out = g.run_program(&g.path("vtbl_cxx"))?;
        if c_out != cxx_out {
            return Err(format!(
                "C vtable offsets:\n{c_out}C++ vtable offsets:\n{cxx_out}"
            ));
        }
        // And both in IDL order, one pointer apart.
        let mut lines = c_out.lines();
        for (name, slots) in &interfaces {
            for (i, s) in slots.iter().enumerate() {
                let want = format!("{name} {s} {}", i * std::mem::size_of::<usize>());
                if lines.next() != Some(want.as_str()) {
                    return Err(format!("expected `{want}` in:\n{c_out}"));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn a_cxx_object_is_called_from_c_through_the_c_vtable() {
    let g = generate(&repo_root().join("examples/calculator/calculator.idl"));
    let c_dir = stub_dir();
    let objects = [
        (
            "gcc",
            vec!["-std=c11", "-Wall", "-Werror", "-pedantic-errors", "-c"],
            c_dir.join("calculator_calls.c"),
            "calls.o",
        ),
        (
            "g++",
            vec!["-std=c++17", "-Wall", "-Werror", "-c"],
            c_dir.join("calculator_impl.cpp"),
            "impl.o",
        ),
        (
            "gcc",
            vec!["-std=c11", "-Wall", "-Werror", "-c"],
            g.path("calculator_i.c"),
            "calculator_i.o",
        ),
        (
            "gcc",
            vec!["-std=c11", "-Wall", "-Werror", "-c"],
            g.path("comidl_base_i.c"),
            "comidl_base_i.o",
        ),
    ];
    for (compiler, args, src, obj) in &objects {
        let mut args: Vec<&str> = args.clone();
        let src = src.to_str().unwrap();
        args.extend([src, "-o", obj]);
        g.compile(compiler, &args).unwrap_or_else(|e| panic!("{e}"));
    }
    g.compile(
        "g++",
        &[
            "calls.o",
            "impl.o",
            "calculator_i.o",
            "comidl_base_i.o",
            "-o",
            "calc",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = g
        .run_program(&g.path("calc"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "Add 42\nSubtract 42\nMultiply 42\nDivide 42 1\nDivide by zero 0x80070057\nFold 42 120\nQueryInterface 0 -2147467262\nreleased 1\n"
    );
}

/// What widl's headers do and Windows' headers rely on, on a file that needs each of them:
/// a forward-declared interface is written where it is defined (after the cpp_quote'd
/// struct its methods use), a named record defined inside a member is defined there (so
/// a cpp_quote'd `#define` of its tag to nothing makes it an anonymous member), cpp_quote's
/// `\"` and `\\` are C's `"` and `\`, a tag only a typedef names is not declared on its
/// own (C++ rejects `struct FOO;` where the platform made `FOO` a typedef name), and
/// anonymous members are spelled with widl's `__C89_NAMELESS` macros.
#[test]
fn widl_conventions_that_c_relies_on() {
    let dir = tempfile::tempdir().unwrap();
    let idl = dir.path().join("conventions.idl");
    std::fs::write(
        &idl,
        "import \"base.idl\";\n\
         interface IUsesLater;\n\
         cpp_quote(\"#if 0\")\n\
         typedef struct tagLATER { LONG n; } LATER;\n\
         cpp_quote(\"#else\")\n\
         cpp_quote(\"typedef struct tagLATER { int n; } LATER;\")\n\
         cpp_quote(\"#endif\")\n\
         cpp_quote(\"#define LATER_NAME \\\"later\\\"\")\n\
         cpp_quote(\"#define LATER_SUM(a, b) \\\\\")\n\
         cpp_quote(\"    ((a) + (b))\")\n\
         cpp_quote(\"#ifndef __cplusplus\")\n\
         cpp_quote(\"#define _INNER_TAG\")\n\
         cpp_quote(\"#endif\")\n\
         typedef struct tagOUTER {\n\
             struct _INNER_TAG { LONG a; LONG b; } inner_member;\n\
             LONG c;\n\
         } OUTER;\n\
         cpp_quote(\"#ifndef __cplusplus\")\n\
         cpp_quote(\"#undef _INNER_TAG\")\n\
         cpp_quote(\"#endif\")\n\
         typedef struct tagTWO {\n\
             union { LONG a; short b; };\n\
             union { LONG c; short d; };\n\
             struct { LONG e; };\n\
         } TWO;\n\
         cpp_quote(\"#ifndef PLATFORM_DEFINED\")\n\
         typedef struct PLATFORM_TYPE PLATFORM_TYPE;\n\
         cpp_quote(\"#endif\")\n\
         [object, uuid(0b5e7c8a-1d2e-4f30-9a4b-5c6d7e8f9a02)]\n\
         interface IUsesLater : IUnknown {\n\
             HRESULT Get([out] LATER *later, [in] PLATFORM_TYPE *p);\n\
         }\n",
    )
    .unwrap();
    let outcome = check_file(&idl);
    let header = c::header(&outcome.model, &Options::default()).expect("a header");
    let code = &header.code;
    let at = |needle: &str| {
        code.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` is not in the header:\n{code}"))
    };
    assert!(
        at("typedef struct tagLATER { int n; }") < at("IUsesLaterVtbl"),
        "{code}"
    );
    assert!(code.contains("#define LATER_NAME \"later\"\n"), "{code}");
    assert!(code.contains("#define LATER_SUM(a, b) \\\n"), "{code}");
    assert!(
        at("struct tagOUTER {") < at("struct _INNER_TAG {"),
        "the inner struct is defined in its member:\n{code}"
    );
    assert!(!code.contains("struct PLATFORM_TYPE;"), "{code}");
    for member in [
        "} __C89_NAMELESSUNIONNAME1;",
        "} __C89_NAMELESSUNIONNAME2;",
        "} __C89_NAMELESSSTRUCTNAME;",
    ] {
        assert!(code.contains(member), "{member} in:\n{code}");
    }
    // A stand-in for the platform's headers, which define PLATFORM_TYPE as a typedef of
    // another struct (and say so, as <wingdi.h> defines _WINGDI_), included first.
    let dir = dir.path();
    std::fs::write(dir.join("conventions.h"), code).unwrap();
    for file in &outcome.model.files[1..] {
        let imported = check_file(&file.path);
        let h = c::header(&imported.model, &Options::default()).unwrap();
        std::fs::write(dir.join(format!("{}.h", stem(&file.path))), h.code).unwrap();
    }
    let unit = "#define PLATFORM_DEFINED\n\
                typedef struct tagPLATFORM { int x; } PLATFORM_TYPE;\n\
                #include \"conventions.h\"\n\
                int sum(void) { OUTER o; TWO t; t.a = t.c = t.e = 1;\n\
                                o.c = LATER_SUM(1, 2); return o.c + t.a; }\n";
    for (compiler, name, extra) in [
        ("gcc", "unit.c", &["-std=c11"][..]),
        ("g++", "unit.cpp", &["-std=c++17"][..]),
    ] {
        std::fs::write(dir.join(name), unit).unwrap();
        let mut cmd = Command::new(compiler);
        cmd.args(extra)
            .args(["-Wall", "-Werror", "-fsyntax-only", "-I"])
            .arg(dir)
            .arg(dir.join(name));
        run(&mut cmd, compiler).unwrap_or_else(|e| panic!("{e}\n{code}"));
    }
}
