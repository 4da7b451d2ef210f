//! What the layout and ndr stages share: comidl's Rust bindings for every file widl
//! accepts (and for the files those import), generated in-process, and one generated crate
//! holding them all beside a probe per file, built with whatever does not compile left out
//! (and the reason kept).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use comidl::emit::rust::{self as backend, Generated, module_name};
use comidl::ir::Model;

use crate::Fatal;
use crate::corpus::Setup;
use crate::process::parallel_map;

/// One generated module of a probe crate.
pub struct Module<T> {
    /// The corpus file (relative path) it stands for; `None` for a file only generated
    /// because another imports it.
    pub rel: Option<PathBuf>,
    pub path: PathBuf,
    pub name: String,
    /// Module names of every file its model read (imports, transitively).
    pub deps: Vec<String>,
    /// Paths of those files, to generate the ones no corpus file stands for.
    dep_paths: Vec<PathBuf>,
    /// Bindings of imported C headers (`import "d2dbasetypes.h"`), which do not stand
    /// alone: generated from this file's model, by module name.
    headers: Vec<(String, PathBuf, Result<String, String>)>,
    pub code: Result<String, String>,
    /// What the stage takes from the model and the generated bindings.
    pub info: T,
}

impl<T> Module<T> {
    /// The module's file name in the crate (its name without `r#`).
    pub fn file_name(&self) -> String {
        self.name.trim_start_matches("r#").to_string()
    }

    /// The corpus file's relative path as text (empty for an imported-only module).
    pub fn rel_name(&self) -> String {
        self.rel
            .as_ref()
            .map(|r| r.display().to_string())
            .unwrap_or_default()
    }
}

/// What a stage takes from a file's model and its bindings (`None`: the backend failed).
pub type Derive<'a, T> = &'a (dyn Fn(&Model, Option<&Generated>) -> T + Sync);

/// The backend's options for a probe crate: imports resolve through `crate::{module}`.
pub fn backend_options(marshal: bool) -> backend::Options {
    backend::Options {
        runtime: "::comidl_runtime".into(),
        imports: Vec::new(),
        import_prefix: "crate".into(),
        client: true,
        server: true,
        marshal,
        user_marshal: Vec::new(),
        // No program helpers: interfaces with [local]/[call_as] pairs get no proxies.
        call_as: None,
    }
}

/// Runs comidl over every accepted file, then over whatever they import that is not
/// already there.
pub fn generate_all<T: Default + Send>(
    setup: &Setup,
    accepted: &[PathBuf],
    jobs: usize,
    backend: &backend::Options,
    derive: Derive<T>,
) -> Vec<Module<T>> {
    let options = comidl_options(setup);
    let work: Vec<(Option<PathBuf>, PathBuf)> = accepted
        .iter()
        .map(|rel| (Some(rel.clone()), setup.file_path(rel)))
        .collect();
    let mut modules = parallel_map(&work, jobs, |_, (rel, path)| {
        generate_one(rel.clone(), path, &options, backend, derive)
    });
    let mut extra = Vec::new();
    loop {
        let have: BTreeSet<String> = modules.iter().map(|m| m.name.clone()).collect();
        let mut missing: BTreeMap<String, PathBuf> = BTreeMap::new();
        for m in &modules {
            for (dep, path) in m.deps.iter().zip(m.dep_paths.iter().cloned()) {
                if !have.contains(dep) {
                    missing.insert(dep.clone(), path);
                }
            }
        }
        // Imported headers: from an importer's model.
        for m in &modules {
            for (name, path, code) in &m.headers {
                if missing.remove(name).is_some() {
                    extra.push(Module {
                        rel: None,
                        path: path.clone(),
                        name: name.clone(),
                        deps: Vec::new(),
                        dep_paths: Vec::new(),
                        headers: Vec::new(),
                        code: code.clone(),
                        info: T::default(),
                    });
                }
            }
        }
        modules.append(&mut extra);
        if missing.is_empty() {
            break;
        }
        let work: Vec<(Option<PathBuf>, PathBuf)> =
            missing.into_values().map(|p| (None, p)).collect();
        modules.extend(parallel_map(&work, jobs, |_, (rel, path)| {
            generate_one(rel.clone(), path, &options, backend, derive)
        }));
    }
    modules
}

fn comidl_options(setup: &Setup) -> comidl::Options {
    comidl::Options {
        preprocess: comidl::preprocess::Options {
            include_dirs: setup.includes.clone(),
            ..Default::default()
        },
    }
}

/// Generates one module again with other backend options (its imports as before): the
/// bindings alone, where a stage's extra output does not compile.
pub fn regenerate<T: Default>(
    setup: &Setup,
    m: &Module<T>,
    backend: &backend::Options,
) -> Result<String, String> {
    if !m
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("idl"))
    {
        // An imported C header's bindings come from its importer's model.
        return Err("an imported header's bindings cannot be generated alone".into());
    }
    let options = comidl_options(setup);
    generate_one::<()>(m.rel.clone(), &m.path, &options, backend, &|_, _| ()).code
}

fn generate_one<T: Default>(
    rel: Option<PathBuf>,
    path: &Path,
    options: &comidl::Options,
    backend: &backend::Options,
    derive: Derive<T>,
) -> Module<T> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = module_name(&stem);
    let outcome = comidl::check(path, options);
    let mut m = Module {
        rel,
        path: path.to_path_buf(),
        name,
        deps: Vec::new(),
        dep_paths: Vec::new(),
        headers: Vec::new(),
        code: Err(String::new()),
        info: T::default(),
    };
    if outcome.has_errors() {
        m.code = Err(format!(
            "comidl rejects the file: {}",
            comidl::diag::render(&outcome.sources, &outcome.diagnostics)
                .lines()
                .next()
                .unwrap_or("")
        ));
        return m;
    }
    let mut paths = Vec::new();
    for f in outcome.model.files.iter().skip(1) {
        let Some(stem) = f.path.file_stem() else {
            continue;
        };
        let stem = stem.to_string_lossy();
        if backend::runtime_module(&stem).is_some() {
            continue;
        }
        m.deps.push(module_name(&stem));
        paths.push(f.path.clone());
    }
    match backend::generate(&outcome.model, backend) {
        Ok(generated) => {
            m.info = derive(&outcome.model, Some(&generated));
            m.code = Ok(generated.code);
        }
        Err(diags) => {
            m.code = Err(format!(
                "the Rust backend failed: {}",
                comidl::diag::render(&outcome.sources, &diags)
                    .lines()
                    .next()
                    .unwrap_or("")
            ));
            m.info = derive(&outcome.model, None);
        }
    }
    let mut model = outcome.model;
    for i in 1..model.files.len() {
        let path = model.files[i].path.clone();
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("idl"))
        {
            continue;
        }
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        // The backend generates the first file's items: put the header first.
        model.files.swap(0, i);
        let code = backend::generate(&model, backend)
            .map(|g| g.code)
            .map_err(|_| format!("the Rust backend failed on {}", path.display()));
        model.files.swap(0, i);
        m.headers.push((module_name(&stem), path, code));
    }
    m.dep_paths = paths;
    m
}

/// Writes `path` only if its content changes, so cargo's and our caches stay warm.
pub fn write_if_changed(path: &Path, text: &str) -> Result<(), Fatal> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Fatal::Setup(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|e| Fatal::Setup(format!("cannot write {}: {e}", path.display())))
}

/// Marks modules whose dependencies are excluded as excluded too, until nothing changes.
fn propagate<T>(modules: &[Module<T>], excluded: &mut BTreeMap<String, String>) {
    loop {
        let mut added = false;
        for m in modules {
            if excluded.contains_key(&m.name) {
                continue;
            }
            if let Some(dep) = m.deps.iter().find(|d| excluded.contains_key(*d)) {
                let why = format!("it imports `{dep}`, whose Rust bindings failed");
                excluded.insert(m.name.clone(), why);
                added = true;
            }
        }
        if !added {
            break;
        }
    }
}

/// A generated crate of every module's bindings and a probe per corpus file.
pub struct ProbeCrate<'a> {
    /// The crate's directory.
    pub dir: PathBuf,
    /// Its `CARGO_TARGET_DIR`, kept between runs so rebuilds are cached.
    pub target: PathBuf,
    /// The package (and binary) name.
    pub package: &'a str,
    /// Items added to `src/main.rs` for the probes to call.
    pub helper: &'a str,
}

/// A module's code again, for when its code does not compile (`None`: no other code).
pub type Replace<'a, T> = &'a dyn Fn(&Module<T>) -> Option<Result<String, String>>;

/// What building a probe crate left out.
pub struct Built {
    /// Modules left out, by name, with the reason.
    pub excluded: BTreeMap<String, String>,
    /// Probe lines left out, by (module name, line index), with the reason.
    pub bad_lines: BTreeMap<(String, usize), String>,
    /// Modules whose code did not compile and was replaced, by name, with the error.
    pub replaced: BTreeMap<String, String>,
    /// The binary, when the crate built; else the errors no module explains.
    pub exe: Result<PathBuf, String>,
}

impl Built {
    /// Why a module's probe line did not run, if it did not.
    pub fn line_failure(&self, module: &str, line: usize) -> Option<String> {
        self.excluded
            .get(module)
            .or_else(|| self.bad_lines.get(&(module.to_string(), line)))
            .cloned()
            .or_else(|| {
                self.exe
                    .as_ref()
                    .err()
                    .map(|e| format!("the probe crate failed: {e}"))
            })
    }
}

/// Writes the crate and builds it, leaving out what does not compile: a module whose
/// bindings fail (and whatever imports it), a probe line that fails. `probe` gives each
/// corpus module's probe lines (statements of its `run()`); `replace` may give a module's
/// code again for when it fails (its first error is kept in [`Built::replaced`]).
pub fn build<T>(
    krate: &ProbeCrate,
    modules: &[Module<T>],
    probe: &dyn Fn(&Module<T>) -> Vec<String>,
    replace: Replace<T>,
) -> Result<Built, Fatal> {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime");
    let runtime = runtime.canonicalize().unwrap_or(runtime);
    write_if_changed(
        &krate.dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[dependencies]\ncomidl-runtime = {{ path = {:?} }}\n\n\
             [profile.dev]\ndebug = 0\nincremental = false\n\n[workspace]\n",
            krate.package,
            runtime.display().to_string()
        ),
    )?;
    let mut built = Built {
        excluded: BTreeMap::new(),
        bad_lines: BTreeMap::new(),
        replaced: BTreeMap::new(),
        exe: Err(String::new()),
    };
    for m in modules {
        if let Err(e) = &m.code {
            built.excluded.insert(m.name.clone(), e.clone());
        }
    }
    let probes: Vec<Vec<String>> = modules
        .iter()
        .map(|m| {
            if m.rel.is_some() {
                probe(m)
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut codes: HashMap<String, String> = HashMap::new();
    for _round in 0..12 {
        propagate(modules, &mut built.excluded);
        let mut main = format!(
            "// Generated by comidl-conformance ({}).\n#![allow(warnings)]\n\n",
            krate.package
        );
        let mut calls = String::new();
        for (m, lines) in modules.iter().zip(&probes) {
            if built.excluded.contains_key(&m.name) {
                continue;
            }
            let Some(code) = codes.get(&m.name).or(m.code.as_ref().ok()) else {
                continue;
            };
            let fname = m.file_name();
            write_if_changed(&krate.dir.join(format!("src/gen/{fname}.rs")), code)?;
            let _ = writeln!(main, "#[path = \"gen/{fname}.rs\"]\npub mod {};", m.name);
            if m.rel.is_none() {
                continue;
            }
            let mut text = String::from("pub fn run() {\n");
            for (i, line) in lines.iter().enumerate() {
                if built.bad_lines.contains_key(&(m.name.clone(), i)) {
                    text.push_str("// left out\n");
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            text.push_str("}\n");
            write_if_changed(&krate.dir.join(format!("src/probe/{fname}.rs")), &text)?;
            let _ = writeln!(main, "#[path = \"probe/{fname}.rs\"]\nmod probe_{fname};");
            let _ = writeln!(calls, "    probe_{fname}::run();");
        }
        main.push_str(krate.helper);
        let _ = write!(main, "\nfn main() {{\n{calls}}}\n");
        write_if_changed(&krate.dir.join("src/main.rs"), &main)?;
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "build",
                "--quiet",
                "--message-format=short",
                "--manifest-path",
            ])
            .arg(krate.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &krate.target)
            .output()
            .map_err(|e| Fatal::Setup(format!("cannot run cargo: {e}")))?;
        if output.status.success() {
            built.exe = Ok(krate.target.join("debug").join(krate.package));
            return Ok(built);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut attributed = false;
        for line in stderr.lines() {
            if !line.contains(": error") {
                continue;
            }
            if let Some((fname, _)) = error_location(line, "src/gen/") {
                let Some(m) = modules.iter().find(|m| m.file_name() == fname) else {
                    continue;
                };
                attributed = true;
                if built.excluded.contains_key(&m.name) {
                    continue;
                }
                if !built.replaced.contains_key(&m.name)
                    && let Some(code) = replace(m)
                {
                    built.replaced.insert(m.name.clone(), line.to_string());
                    match code {
                        Ok(code) => {
                            codes.insert(m.name.clone(), code);
                        }
                        Err(e) => {
                            built.excluded.insert(m.name.clone(), e);
                        }
                    }
                    continue;
                }
                built.excluded.insert(
                    m.name.clone(),
                    format!("its Rust bindings do not compile: {line}"),
                );
            } else if let Some((fname, line_no)) = error_location(line, "src/probe/") {
                // Line 1 is `pub fn run() {`; probe line i is on line i + 2.
                let Some(m) = modules.iter().find(|m| m.file_name() == fname) else {
                    continue;
                };
                if let Some(i) = line_no.checked_sub(2) {
                    built
                        .bad_lines
                        .entry((m.name.clone(), i))
                        .or_insert_with(|| format!("the probe does not compile: {line}"));
                    attributed = true;
                }
            }
        }
        if !attributed {
            built.exe = Err(stderr.lines().take(20).collect::<Vec<_>>().join("\n"));
            return Ok(built);
        }
    }
    built.exe = Err("still failing after 12 rounds of leaving out what failed".into());
    Ok(built)
}

/// `src/gen/NAME.rs:LINE:COL: error...` → (NAME, LINE).
fn error_location(line: &str, dir: &str) -> Option<(String, usize)> {
    let at = line.find(dir)?;
    let rest = &line[at + dir.len()..];
    let (name, rest) = rest.split_once(".rs:")?;
    let line_no = rest.split(':').next()?.parse().ok()?;
    Some((name.to_string(), line_no))
}
