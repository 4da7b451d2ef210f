//! The layout stage: do comidl's Rust bindings lay records out as gcc lays out widl's C?
//!
//! For every file widl accepts, comidl (in-process) generates Rust bindings and the list
//! of records to compare ([`crate::layout_records`]). All bindings go into one generated
//! crate whose binary prints, for each record, its size, alignment and every field offset
//! (vtables: every slot's offset; enums: every enumerator's value) as a JSON line. widl
//! writes each file's C header, and a C probe per file prints the same lines from gcc's
//! view. Lines are keyed by (file, record); a record passes if both lines are equal.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Fatal;
use crate::bindings::{self, ProbeCrate, write_if_changed};
use crate::cli::Options;
use crate::corpus::Setup;
use crate::layout_records::{FileRecords, Kind, Probe, records};
use crate::process::{Exit, ScratchDir, parallel_map, run_with_timeout};
use crate::widl::{widl_accepted, widl_command};

/// A module of the probe crate, with the records its file contributes.
type Module = bindings::Module<FileRecords>;

/// Why a record failed before any comparison.
type Failures = BTreeMap<(String, String), String>;

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance-layout")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    let dir = setup.work_dir.join("layout");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Fatal::Setup(format!("cannot create {}: {e}", dir.display())))?;
    out!(
        "layout stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let accepted = widl_accepted(setup, jobs, opts.timeout, &scratch)?;

    let derive = |model: &comidl::ir::Model, generated: Option<&comidl::emit::rust::Generated>| {
        records(model, generated.map_or(&[], |g| &g.diagnostics))
    };
    // The layouts are what this stage measures; the ndr stage compiles the descriptions.
    let modules = bindings::generate_all(
        setup,
        &accepted,
        jobs,
        &bindings::backend_options(false),
        &derive,
    );
    let mut failures: Failures = BTreeMap::new();
    let mut file_failures: Vec<(String, String)> = Vec::new();
    for m in &modules {
        let Some(rel) = &m.rel else { continue };
        let file = rel.display().to_string();
        for (key, why) in &m.info.left_out {
            failures.insert((file.clone(), key.clone()), format!("not generated: {why}"));
        }
        if let Err(e) = &m.code
            && m.info.probes.is_empty()
        {
            file_failures.push((file.clone(), e.clone()));
        }
    }

    let rust_lines = rust_probe(setup, &dir, &modules, &mut failures)?;
    let c_lines = c_probe(setup, &dir, &modules, jobs, opts, &mut failures)?;
    Ok(report(
        &modules,
        &rust_lines,
        &c_lines,
        &failures,
        &file_failures,
        opts.min_pass,
    ))
}

/// A probe line's numbers, by name, in order.
type Numbers = Vec<(String, String)>;
/// Probe output: (file, record) → numbers.
type Lines = HashMap<(String, String), Numbers>;

/// Parses the probes' JSON lines: `{"file":"F","record":"R","size":N,...}`. Labels and
/// names never hold `,"`, so splitting on it is enough for what the probes print.
fn parse_lines(text: &str) -> Lines {
    let mut map = HashMap::new();
    for line in text.lines() {
        let Some(body) = line.strip_prefix('{').and_then(|l| l.strip_suffix('}')) else {
            continue;
        };
        let mut file = String::new();
        let mut record = String::new();
        let mut numbers = Vec::new();
        for part in body.split(",\"") {
            let part = part.trim_start_matches('"');
            let Some((k, v)) = part.split_once("\":") else {
                continue;
            };
            match k {
                "file" => file = v.trim_matches('"').to_string(),
                "record" => record = v.trim_matches('"').to_string(),
                _ => numbers.push((k.to_string(), v.to_string())),
            }
        }
        map.insert((file, record), numbers);
    }
    map
}

fn tag(kind: Kind) -> &'static str {
    match kind {
        Kind::Record => "offset:",
        Kind::Enum => "value:",
        Kind::Vtbl => "slot:",
    }
}

/// The Rust side: writes the probe crate, builds it (leaving out what does not compile,
/// with the reason) and runs it.
fn rust_probe(
    setup: &Setup,
    dir: &Path,
    modules: &[Module],
    failures: &mut Failures,
) -> Result<Lines, Fatal> {
    let krate = ProbeCrate {
        dir: dir.join("rs"),
        target: setup.work_dir.join("layout-target"),
        package: "comidl-layout-probe",
        helper: RUST_HELPER,
    };
    let probe = |m: &Module| -> Vec<String> {
        let file = m.rel_name();
        m.info.probes.iter().map(|p| rust_line(&file, p)).collect()
    };
    let built = bindings::build(&krate, modules, &probe, &|_| None)?;
    for m in modules {
        let file = m.rel_name();
        for (i, p) in m.info.probes.iter().enumerate() {
            if let Some(why) = built.line_failure(&m.name, i) {
                failures.entry((file.clone(), p.key.clone())).or_insert(why);
            }
        }
    }
    let Ok(exe) = built.exe else {
        return Ok(Lines::new());
    };
    let output = Command::new(&exe)
        .output()
        .map_err(|e| Fatal::Setup(format!("cannot run {}: {e}", exe.display())))?;
    if !output.status.success() {
        out!("note: the Rust probe exited with {}", output.status);
    }
    Ok(parse_lines(&String::from_utf8_lossy(&output.stdout)))
}

const RUST_HELPER: &str = r#"
fn p(file: &str, record: &str, size: usize, align: usize, tag: &str, entries: &[(&str, i128)]) {
    use std::io::Write as _;
    let mut s = format!("{{\"file\":\"{file}\",\"record\":\"{record}\",\"size\":{size},\"align\":{align}");
    for (label, value) in entries {
        s.push_str(&format!(",\"{tag}{label}\":{value}"));
    }
    s.push('}');
    let _ = writeln!(std::io::stdout(), "{s}");
}
"#;

/// One statement printing a record, on one line.
fn rust_line(file: &str, p: &Probe) -> String {
    let t = &p.rust_ty;
    let entries: Vec<String> = p
        .entries
        .iter()
        .map(|e| match p.kind {
            Kind::Enum => format!("(\"{}\", ({}) as i128)", e.label, e.rust),
            _ => format!(
                "(\"{}\", ::core::mem::offset_of!({t}, {}) as i128)",
                e.label, e.rust
            ),
        })
        .collect();
    format!(
        "crate::p(\"{file}\", \"{}\", ::core::mem::size_of::<{t}>(), ::core::mem::align_of::<{t}>(), \"{}\", &[{}]);",
        p.key,
        tag(p.kind),
        entries.join(", ")
    )
}

/// One C block printing a record, on one line.
fn c_line(file: &str, p: &Probe) -> String {
    let t = &p.c_ty;
    let names: Vec<String> = p
        .entries
        .iter()
        .map(|e| format!("\"{}\"", e.label))
        .collect();
    let values: Vec<String> = p
        .entries
        .iter()
        .map(|e| match p.kind {
            Kind::Enum => e.c.clone(),
            _ => format!("(long long)offsetof({t}, {})", e.c),
        })
        .collect();
    if p.entries.is_empty() {
        return format!(
            "pr(\"{file}\", \"{}\", sizeof({t}), _Alignof({t}), \"\", 0, 0, 0);",
            p.key
        );
    }
    format!(
        "{{ static const char *const n[] = {{{}}}; const long long v[] = {{{}}}; pr(\"{file}\", \"{}\", sizeof({t}), _Alignof({t}), \"{}\", {}, n, v); }}",
        names.join(", "),
        values.join(", "),
        p.key,
        tag(p.kind),
        p.entries.len()
    )
}

const C_HELPER: &str = r#"#include <stdio.h>
void pr(const char *file, const char *record, long long size, long long align,
        const char *tag, int n, const char *const *names, const long long *values)
{
    printf("{\"file\":\"%s\",\"record\":\"%s\",\"size\":%lld,\"align\":%lld", file, record, size, align);
    for (int i = 0; i < n; i++)
        printf(",\"%s%s\":%lld", tag, names[i], values[i]);
    printf("}\n");
}
"#;

/// The C side: widl's header per file, a probe object per file (leaving out records gcc
/// rejects, with the reason), linked into one program and run.
fn c_probe(
    setup: &Setup,
    dir: &Path,
    modules: &[Module],
    jobs: usize,
    opts: &Options,
    failures: &mut Failures,
) -> Result<Lines, Fatal> {
    let c_dir = dir.join("c");
    std::fs::create_dir_all(&c_dir)
        .map_err(|e| Fatal::Setup(format!("cannot create {}: {e}", c_dir.display())))?;
    let wanted: Vec<&Module> = modules
        .iter()
        .filter(|m| m.rel.is_some() && !m.info.probes.is_empty())
        .collect();
    // widl's header for each file, in a directory of its own that comes first on the
    // include path: imported headers are the ones Wine ships (some, such as basetsd.h, are
    // not widl's output of the IDL file of that name).
    parallel_map(&wanted, jobs, |worker, m| {
        let stem = m.path.file_stem().unwrap_or_default().to_string_lossy();
        let own = c_dir.join("h").join(m.file_name());
        let _ = std::fs::create_dir_all(&own);
        let header = own.join(format!("{stem}.h"));
        let stderr = c_dir.join(format!("widl-{worker}.err"));
        let source = with_pack_restored(&m.path, &own.join("idl"));
        let mut cmd = widl_command(setup, &source, &header);
        if source != m.path
            && let Some(dir) = m.path.parent()
        {
            cmd.arg("-I").arg(dir);
        }
        run_with_timeout(&mut cmd, &stderr, opts.timeout);
    });
    let results = parallel_map(&wanted, jobs, |worker, m| {
        compile_c_probe(setup, &c_dir, m, worker, opts)
    });
    let mut objects = Vec::new();
    let mut main = String::from(C_HELPER);
    let mut calls = String::new();
    for (m, (object, bad)) in wanted.iter().zip(results) {
        let file = m.rel_name();
        for (i, why) in bad {
            if let Some(p) = m.info.probes.get(i) {
                failures.entry((file.clone(), p.key.clone())).or_insert(why);
            }
        }
        if let Some(o) = object {
            objects.push(o);
            let _ = writeln!(main, "void probe_{}(void);", m.file_name());
            let _ = writeln!(calls, "    probe_{}();", m.file_name());
        }
    }
    let _ = write!(main, "int main(void)\n{{\n{calls}    return 0;\n}}\n");
    let main_c = c_dir.join("main.c");
    write_if_changed(&main_c, &main)?;
    let exe = c_dir.join("probe");
    let output = Command::new("gcc")
        .arg("-o")
        .arg(&exe)
        .arg(&main_c)
        .args(&objects)
        .output()
        .map_err(|e| Fatal::Setup(format!("cannot run gcc: {e}")))?;
    if !output.status.success() {
        return Err(Fatal::Setup(format!(
            "linking the C probe failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let output = Command::new(&exe)
        .output()
        .map_err(|e| Fatal::Setup(format!("cannot run {}: {e}", exe.display())))?;
    Ok(parse_lines(&String::from_utf8_lossy(&output.stdout)))
}

/// The IDL file to give widl for the C side: `idl` itself, or, when its own text sets
/// packing with preprocessor directives (`#pragma pack(...)`, `#include <pshpackN.h>`,
/// `#include <poppack.h>`), a copy in `dir` where each such line is a `cpp_quote` of
/// itself. widl drops `#pragma pack` (MIDL keeps it), so its header would lay those records
/// out unpacked; quoted, the directives reach the header at the same place and gcc applies
/// them. The copy keeps the file name, and the original's directory goes last on the
/// include path (`-I`), so imports and includes resolve as before.
fn with_pack_restored(idl: &Path, dir: &Path) -> PathBuf {
    let Ok(text) = std::fs::read_to_string(idl) else {
        return idl.to_path_buf();
    };
    let Some(patched) = quote_pack_directives(&text) else {
        return idl.to_path_buf();
    };
    let copy = dir.join(idl.file_name().unwrap_or_default());
    let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&copy, patched));
    match written {
        Ok(()) => copy,
        Err(_) => idl.to_path_buf(),
    }
}

/// The text with every packing directive line quoted, or `None` if it has none.
fn quote_pack_directives(text: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let directive = body.trim_start().strip_prefix('#').map(str::trim_start);
        let words: Vec<&str> = directive
            .map(|d| d.split_whitespace().collect())
            .unwrap_or_default();
        let is_pack = match words.as_slice() {
            ["pragma", rest @ ..] => rest.first().is_some_and(|w| w.starts_with("pack")),
            ["include", header, ..] => {
                let name = header.trim_matches(['<', '>', '"']);
                (name.starts_with("pshpack") || name == "poppack.h") && name.ends_with(".h")
            }
            _ => false,
        };
        if is_pack {
            let quoted = format!("#{}", directive.unwrap_or_default()).replace('"', "\\\"");
            out.push_str(&format!("cpp_quote(\"{quoted}\")"));
            out.push_str(&line[body.len()..]);
            changed = true;
        } else {
            out.push_str(line);
        }
    }
    changed.then_some(out)
}

/// Headers included (`gcc -include`) before a widl header that does not compile alone:
/// the first set with which the header compiles is used (the smallest sets come first,
/// because every extra header brings macros and definitions that can clash).
const PRELUDES: &[&[&str]] = &[
    &["windows.h", "ole2.h"],
    &["windows.h", "ole2.h", "cor.h"],
    &["windows.h", "ole2.h", "d3d9.h"],
    &["windows.h", "ole2.h", "strmif.h"],
    &["windows.h", "ole2.h", "commctrl.h"],
    &["windows.h", "ole2.h", "wsdapi.h"],
    &["windows.h", "ole2.h", "mfidl.h"],
    &["windows.h", "ole2.h", "d3d9.h", "strmif.h"],
    // dvdif.h needs IGraphBuilder from strmif.h, but strmif.h redefines dvdif's enums;
    // msxml2.h and msxml6.h keep msxml.h out (see FILE_DEFINES), whose IXMLElement
    // urlmon.h needs.
    &[FORWARD, "windows.h", "ole2.h"],
    &[
        "windows.h",
        "ole2.h",
        "d3d9.h",
        "strmif.h",
        "mfidl.h",
        "commctrl.h",
        "cor.h",
    ],
];

/// Macros some headers need to show their C definitions at all: objidl's context
/// interfaces are behind `USE_COM_CONTEXT_DEF`; rtworkq's struct is C++ unless
/// `__WINESRC__`. msxml2.h and msxml6.h define the DOM interfaces again, but windows.h
/// pulls in msxml.h (through urlmon.h) first, whose include guards then hide the
/// file's own definitions from C; defining msxml.h's guard lets gcc see them.
const FILE_DEFINES: &[(&str, &str)] = &[
    ("objidl", "USE_COM_CONTEXT_DEF"),
    ("objidlbase", "USE_COM_CONTEXT_DEF"),
    ("rtworkq", "__WINESRC__"),
    ("msxml2", "__msxml_h__"),
    ("msxml6", "__msxml_h__"),
];

/// `-D` arguments for one file's probe.
fn file_defines(stem: &str) -> impl Iterator<Item = String> + '_ {
    FILE_DEFINES
        .iter()
        .filter(move |(file, _)| *file == stem)
        .map(|(_, name)| format!("-D{name}"))
}

/// A header of forward declarations the harness writes, for widl headers that use an
/// interface from a header they can't be compiled with.
const FORWARD: &str = "comidl_forward.h";

/// The `-include` argument for a prelude header.
fn prelude_arg(c_dir: &Path, header: &str) -> PathBuf {
    if header == FORWARD {
        let path = c_dir.join(FORWARD);
        let _ = std::fs::write(
            &path,
            "typedef struct IGraphBuilder IGraphBuilder;\n\
             typedef struct IXMLElement IXMLElement;\n",
        );
        path
    } else {
        PathBuf::from(header)
    }
}

/// `gcc -c` for one file's C sources: widl's header directory first, the corpus includes,
/// the prelude headers and the file's macros (add `-o` and the source).
fn gcc_compile(setup: &Setup, c_dir: &Path, fname: &str, stem: &str, prelude: &[&str]) -> Command {
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=gnu11", "-fshort-wchar", "-w", "-c"])
        .arg("-I")
        .arg(c_dir.join("h").join(fname));
    for inc in &setup.includes {
        cmd.arg("-isystem").arg(inc);
    }
    for h in prelude {
        cmd.arg("-include").arg(prelude_arg(c_dir, h));
    }
    cmd.args(file_defines(stem));
    cmd
}

/// The first prelude with which `stem.h` compiles on its own, if any does.
fn find_prelude(
    setup: &Setup,
    c_dir: &Path,
    fname: &str,
    stem: &str,
    worker: usize,
    opts: &Options,
) -> Option<&'static [&'static str]> {
    let source = c_dir.join(format!("prelude_{fname}.c"));
    let object = c_dir.join(format!("prelude_{fname}.o"));
    let stderr_path = c_dir.join(format!("prelude-{worker}.err"));
    std::fs::write(&source, format!("#include \"{stem}.h\"\n")).ok()?;
    for prelude in PRELUDES {
        let mut cmd = gcc_compile(setup, c_dir, fname, stem, prelude);
        cmd.arg("-o").arg(&object).arg(&source);
        if run_with_timeout(&mut cmd, &stderr_path, opts.timeout).exit == Exit::Code(0) {
            return Some(prelude);
        }
    }
    None
}

/// Compiles one file's C probe, retrying without the records gcc rejects. Returns the
/// object (if any compiled) and the rejected records with gcc's message.
fn compile_c_probe(
    setup: &Setup,
    c_dir: &Path,
    m: &Module,
    worker: usize,
    opts: &Options,
) -> (Option<PathBuf>, Vec<(usize, String)>) {
    let fname = m.file_name();
    let stem = m.path.file_stem().unwrap_or_default().to_string_lossy();
    let file = m.rel_name();
    let source = c_dir.join(format!("probe_{fname}.c"));
    let object = c_dir.join(format!("probe_{fname}.o"));
    let stderr_path = c_dir.join(format!("gcc-{worker}.err"));
    let mut bad: BTreeMap<usize, String> = BTreeMap::new();
    // Lines before the first record: see the header written below.
    const FIRST: usize = 6;
    let mut prelude: Option<&[&str]> = None;
    let mut tried_prelude = false;
    for _round in 0..8 {
        // windows.h (in some preludes) maps API names to their A/W forms, which also
        // renames vtable members spelled the same; widl's header undefines the ones it
        // knows, and the probe undefines them again after everything is included.
        // (A wrapper header keeps the probe's line numbers, which attribute gcc's errors.)
        let included = if stem == "urlmon" {
            let wrapper = c_dir.join(format!("probe_{fname}_header.h"));
            let _ = std::fs::write(&wrapper, format!("#include \"{stem}.h\"\n#undef SetPort\n"));
            wrapper.display().to_string()
        } else {
            format!("{stem}.h")
        };
        let mut text = format!(
            "#include <stddef.h>\n#include \"{included}\"\nvoid pr(const char *, const char *, long long, long long,\n        const char *, int, const char *const *, const long long *);\nvoid probe_{fname}(void) {{\n"
        );
        for (i, p) in m.info.probes.iter().enumerate() {
            if bad.contains_key(&i) {
                text.push_str("/* left out */\n");
            } else {
                text.push_str(&c_line(&file, p));
                text.push('\n');
            }
        }
        text.push_str("}\n");
        if std::fs::write(&source, &text).is_err() {
            break;
        }
        let mut cmd = gcc_compile(setup, c_dir, &fname, &stem, prelude.unwrap_or(&[]));
        cmd.arg("-fmax-errors=0")
            .arg("-o")
            .arg(&object)
            .arg(&source);
        let outcome = run_with_timeout(&mut cmd, &stderr_path, opts.timeout);
        if outcome.exit == Exit::Code(0) {
            return (Some(object), bad.into_iter().collect());
        }
        let mut attributed = false;
        let mut header_error = None;
        let prefix = format!("probe_{fname}.c:");
        for line in outcome.stderr.lines().filter(|l| l.contains("error")) {
            if let Some(at) = line.find(&prefix) {
                let rest = &line[at + prefix.len()..];
                if let Some(n) = rest.split(':').next().and_then(|n| n.parse::<usize>().ok())
                    && n >= FIRST
                    && n - FIRST < m.info.probes.len()
                {
                    bad.entry(n - FIRST)
                        .or_insert_with(|| format!("the C probe does not compile: {line}"));
                    attributed = true;
                    continue;
                }
            }
            header_error.get_or_insert_with(|| line.to_string());
        }
        // An error inside the header (an unknown type drops a member from its struct,
        // so probe lines fail too): find a prelude first, then judge the probe lines.
        if header_error.is_some() && !tried_prelude {
            tried_prelude = true;
            prelude = find_prelude(setup, c_dir, &fname, &stem, worker, opts);
            if prelude.is_some() {
                bad.clear();
                continue;
            }
        }
        if !attributed && !tried_prelude {
            // Some headers expect their user to include others first (d3d9.h, strmif.h...).
            tried_prelude = true;
            prelude = find_prelude(setup, c_dir, &fname, &stem, worker, opts);
            if prelude.is_some() {
                continue;
            }
        }
        if !attributed {
            let why = format!(
                "widl's header does not compile: {}",
                header_error.unwrap_or_else(|| outcome.stderr.lines().take(3).collect())
            );
            let all = (0..m.info.probes.len()).map(|i| (i, why.clone())).collect();
            return (None, all);
        }
    }
    let all = (0..m.info.probes.len())
        .map(|i| (i, "the C probe does not compile".to_string()))
        .collect();
    (None, all)
}

/// Compares, prints every failure, the skip line and the closing counts.
fn report(
    modules: &[Module],
    rust: &Lines,
    c: &Lines,
    failures: &Failures,
    file_failures: &[(String, String)],
    min_pass: Option<usize>,
) -> u8 {
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut packed = 0usize;
    let mut packed_names: Vec<String> = Vec::new();
    for (file, why) in file_failures {
        out!("FAIL {file}: {why}");
        failed += 1;
    }
    for m in modules {
        if m.rel.is_none() {
            continue;
        }
        let file = m.rel_name();
        packed += m.info.packed.len();
        packed_names.extend(m.info.packed.iter().map(|k| format!("{file}: {k}")));
        for (key, why) in &m.info.left_out {
            out!("FAIL {file}: {key}: not generated: {why}");
            failed += 1;
        }
        for p in &m.info.probes {
            let k = (file.clone(), p.key.clone());
            if let Some(why) = failures.get(&k) {
                out!("FAIL {file}: {}: {why}", p.key);
                failed += 1;
                continue;
            }
            let (Some(r), Some(cv)) = (rust.get(&k), c.get(&k)) else {
                let side = if rust.contains_key(&k) { "C" } else { "Rust" };
                out!("FAIL {file}: {}: no output from the {side} probe", p.key);
                failed += 1;
                continue;
            };
            if r == cv {
                passed += 1;
                continue;
            }
            failed += 1;
            let mut diffs = Vec::new();
            let cmap: HashMap<&str, &str> =
                cv.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            for (name, value) in r {
                let other = cmap.get(name.as_str()).copied().unwrap_or("missing");
                if other != value {
                    diffs.push(format!("{name}: rust {value}, c {other}"));
                }
            }
            if diffs.is_empty() {
                diffs.push("entries differ in order or number".to_string());
            }
            out!("MISMATCH {file}: {}: {}", p.key, diffs.join("; "));
        }
    }
    out!(
        "{packed} of them packed (#pragma pack / pshpackN.h in force; the C side is gcc on widl's header with the IDL's pack directives restored): {}",
        packed_names.join(", ")
    );
    if let Some(min) = min_pass {
        if passed < min {
            out!("ratchet: {passed} records pass, fewer than the baseline {min}");
        } else if failed > 0 {
            out!("ratchet: {passed} records pass (baseline {min}); {failed} still fail");
        }
    }
    out!("{passed} passed, {failed} failed");
    // No failure at all; with `--min-pass`, also no fewer passes than that baseline (so a
    // change that silently stops generating records is caught too).
    let ok = failed == 0 && min_pass.is_none_or(|min| passed >= min);
    if ok { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_directives_become_quoted_for_the_header() {
        let idl = "import \"a.idl\";\r\n#include <pshpack2.h>\r\ntypedef struct s { char c; long l; } S;\n  #  pragma pack(push, 8)\n#include <poppack.h>\n#include \"other.h\"\ncpp_quote(\"#pragma pack(1)\")\n";
        let quoted = quote_pack_directives(idl).unwrap();
        assert_eq!(
            quoted,
            "import \"a.idl\";\r\ncpp_quote(\"#include <pshpack2.h>\")\r\ntypedef struct s { char c; long l; } S;\ncpp_quote(\"#pragma pack(push, 8)\")\ncpp_quote(\"#include <poppack.h>\")\n#include \"other.h\"\ncpp_quote(\"#pragma pack(1)\")\n"
        );
        assert_eq!(
            quote_pack_directives("#include <pshpack.txt>\n#pragma once\n"),
            None
        );
    }
}
