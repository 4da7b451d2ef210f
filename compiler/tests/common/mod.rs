//! Helpers shared by the integration tests: where the fixtures are, checking one the way
//! `comidl check -I tests/fixtures` does, and rendering diagnostics without
//! machine-specific paths.

#![allow(dead_code)] // Each test crate uses its own subset.

use std::path::{Path, PathBuf};

use comidl::{Options, Outcome};

/// The repository root (the workspace directory above `compiler/`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(manifest);
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// `tests/fixtures` at the repository root.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests").join("fixtures")
}

/// The `.idl` files directly in `dir`, sorted by name.
pub fn idl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "idl"))
        .collect();
    files.sort();
    files
}

/// The file name without `.idl`.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Checks a file with `-I tests/fixtures` and nothing else on the search path.
pub fn check(path: &Path) -> Outcome {
    let mut options = Options::default();
    options.preprocess.include_dirs.push(fixtures_dir());
    comidl::check(path, &options)
}

/// Checks a file the way the build scripts see it: tests/fixtures and idl/ on the search
/// path.
pub fn check_with_idl(path: &Path) -> Outcome {
    let mut options = Options::default();
    options.preprocess.include_dirs.push(fixtures_dir());
    options
        .preprocess
        .include_dirs
        .push(repo_root().join("idl"));
    comidl::check(path, &options)
}

/// Every IDL file the backends are checked on: the fixtures, idl/'s files and the
/// calculator's.
pub fn every_idl_file() -> Vec<PathBuf> {
    let mut files = idl_files(&fixtures_dir());
    assert!(files.len() >= 15, "the fixtures are missing");
    files.extend(idl_files(&repo_root().join("idl")));
    files.push(repo_root().join("examples/calculator/calculator.idl"));
    files
}

/// Checks `tests/fixtures/<relative>`.
pub fn check_fixture(relative: &str) -> Outcome {
    check(&fixtures_dir().join(relative))
}

/// The rendered diagnostics with the repository root cut from every path, so the text is
/// the same on every machine (`tests/fixtures/errors/x.idl:3:5`).
pub fn render(outcome: &Outcome) -> String {
    let text = comidl::diag::render(&outcome.sources, &outcome.diagnostics);
    let root = repo_root().display().to_string();
    let text = text
        .replace(&format!("{root}/"), "")
        .replace(&format!("{root}\\"), "")
        .replace(&root, ".");
    // Windows separators, only where paths are printed (not in quoted source lines).
    text.lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with("-->") || t.starts_with("= ") {
                line.replace('\\', "/")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

/// Panics with the rendered diagnostics unless the outcome has none at all.
pub fn assert_clean(name: &str, outcome: &Outcome) {
    assert!(
        outcome.diagnostics.is_empty(),
        "{name} should be accepted without errors or warnings, but got:\n{}",
        render(outcome)
    );
}

/// The probe server module cargo built for these tests (tests/activation/probe).
pub fn probe_module() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [
        deps.join("libcomidl_probe.so"),
        deps.join("../libcomidl_probe.so"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("cargo built libcomidl_probe.so")
    .canonicalize()
    .unwrap()
}
