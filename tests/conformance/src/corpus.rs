//! Where the files and tools come from: the Wine corpus (fetched from
//! Debian's packages on first use) or a tree given on the command line.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Fatal;
use crate::cli::Options;

/// The Debian 12 packages holding Wine 8.0's IDL files and widl.
const WINE_PACKAGES: [&str; 2] = ["libwine-dev", "wine64-tools"];
/// Paths inside the extracted packages.
const WIDL: &str = "usr/lib/wine/widl";
const WINE_INCLUDE: &str = "usr/include/wine/wine";
const WINDOWS_INCLUDE: &str = "usr/include/wine/wine/windows";

/// Everything a run needs, resolved to paths that exist.
#[derive(Debug)]
pub struct Setup {
    /// Corpus root; files are checked recursively under it.
    pub root: PathBuf,
    /// Corpus files relative to `root`, sorted.
    pub files: Vec<PathBuf>,
    /// Include directories, passed to both tools in this order.
    pub includes: Vec<PathBuf>,
    pub widl: PathBuf,
    pub comidl: PathBuf,
    /// `<target>/conformance`: the corpus cache and the widl results cache.
    pub work_dir: PathBuf,
}

impl Setup {
    pub fn file_path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }
}

/// Resolves the options into a `Setup`, fetching the Wine corpus if the
/// run needs it (the default corpus, or the default widl).
pub fn resolve(opts: &Options) -> Result<Setup, Fatal> {
    // The harness lives in <target>/<profile>/; comidl is built beside it.
    let exe = std::env::current_exe()
        .map_err(|e| Fatal::Setup(format!("cannot locate this binary: {e}")))?;
    let exe_dir = exe.parent().unwrap_or(Path::new("."));
    let work_dir = exe_dir.parent().unwrap_or(exe_dir).join("conformance");

    let needs_wine = opts.corpus.is_none() || opts.widl.is_none();
    let wine = if needs_wine {
        Some(ensure_wine(&work_dir.join("wine"))?)
    } else {
        None
    };
    let from_wine = |rel: &str| wine.as_ref().map(|dir| dir.join(rel));
    let mut includes: Vec<PathBuf> = match opts.corpus {
        Some(_) => Vec::new(),
        None => [WINDOWS_INCLUDE, WINE_INCLUDE]
            .into_iter()
            .filter_map(from_wine)
            .collect(),
    };
    includes.extend(opts.includes.iter().cloned());
    let root = opts.corpus.clone().or_else(|| from_wine(WINE_INCLUDE));
    let widl = opts.widl.clone().or_else(|| from_wine(WIDL));
    // Both are set: whichever was not given came from the Wine packages.
    let (Some(root), Some(widl)) = (root, widl) else {
        return Err(Fatal::Setup("no corpus or no widl to run".to_string()));
    };

    let root = existing_dir(&root, "corpus")?;
    let includes = includes
        .iter()
        .map(|dir| existing_dir(dir, "include directory"))
        .collect::<Result<Vec<_>, _>>()?;
    let comidl = opts
        .comidl
        .clone()
        .unwrap_or_else(|| exe_dir.join("comidl"));
    check_tool(&widl, "widl", "pass --widl")?;
    check_tool(
        &comidl,
        "comidl",
        "build it with `cargo build --release -p comidl` or pass --comidl",
    )?;

    let files = list_idl_files(&root)
        .map_err(|e| Fatal::Setup(format!("cannot read corpus {}: {e}", root.display())))?;
    if files.is_empty() {
        return Err(Fatal::Setup(format!(
            "no .idl files under {}",
            root.display()
        )));
    }
    Ok(Setup {
        root,
        files,
        includes,
        widl,
        comidl,
        work_dir,
    })
}

fn existing_dir(dir: &Path, what: &str) -> Result<PathBuf, Fatal> {
    // Absolute paths keep diagnostics and cache keys independent of the cwd.
    match dir.canonicalize() {
        Ok(path) if path.is_dir() => Ok(path),
        _ => Err(Fatal::Usage(format!(
            "{what} {} is not a directory",
            dir.display()
        ))),
    }
}

/// Checks a tool given as a path; a bare name is left to the PATH lookup.
fn check_tool(path: &Path, name: &str, hint: &str) -> Result<(), Fatal> {
    let is_bare_name = path.components().count() == 1 && !path.is_absolute();
    if is_bare_name || path.is_file() {
        return Ok(());
    }
    Err(Fatal::Setup(format!(
        "{name} not found at {}: {hint}",
        path.display()
    )))
}

/// Returns the `.idl` files under `root`, relative to it, sorted.
pub fn list_idl_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = list_files(root)?;
    files.retain(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("idl")));
    Ok(files)
}

/// Returns all files under `root`, relative to it, sorted.
/// Symlinked directories are not followed, so a link loop cannot trap us.
pub fn list_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                found.push(rel.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Makes sure the Wine packages are extracted in `dir`, fetching them with
/// `apt-get download` (no install: that would pull in all of Wine).
/// Extraction happens in a sibling directory that is renamed into place at
/// the end, so an interrupted fetch is never mistaken for a cache.
fn ensure_wine(dir: &Path) -> Result<PathBuf, Fatal> {
    if dir.join(WIDL).is_file() && dir.join(WINDOWS_INCLUDE).is_dir() {
        return Ok(dir.to_path_buf());
    }
    eprintln!("fetching Wine's IDL files and widl into {}", dir.display());
    let staging = dir.with_extension("partial");
    let debs = staging.join("debs");
    let tree = staging.join("tree");
    let setup_err = |what: &str, e: std::io::Error| Fatal::Setup(format!("{what}: {e}"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&debs).map_err(|e| setup_err("cannot create staging dir", e))?;

    download_packages(&debs)?;
    for deb in std::fs::read_dir(&debs).map_err(|e| setup_err("cannot list downloads", e))? {
        let deb = deb
            .map_err(|e| setup_err("cannot list downloads", e))?
            .path();
        eprintln!(
            "extracting {}",
            deb.file_name().unwrap_or_default().to_string_lossy()
        );
        let mut dpkg = Command::new("dpkg");
        dpkg.arg("-x").arg(&deb).arg(&tree);
        run_quietly(&mut dpkg, "dpkg -x")?;
    }
    if !(tree.join(WIDL).is_file() && tree.join(WINDOWS_INCLUDE).is_dir()) {
        return Err(Fatal::Setup(format!(
            "the packages {WINE_PACKAGES:?} did not contain {WIDL} and {WINDOWS_INCLUDE}"
        )));
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tree, dir).map_err(|e| setup_err("cannot move the corpus into place", e))?;
    let _ = std::fs::remove_dir_all(&staging);
    Ok(dir.to_path_buf())
}

/// `apt-get download`, retried once after `apt-get update` because a fresh
/// machine has no package lists yet.
fn download_packages(into: &Path) -> Result<(), Fatal> {
    let download = || {
        let mut cmd = Command::new("apt-get");
        cmd.arg("download").args(WINE_PACKAGES).current_dir(into);
        run_quietly(&mut cmd, "apt-get download")
    };
    if download().is_ok() {
        return Ok(());
    }
    eprintln!("apt-get download failed; running apt-get update and retrying");
    run_quietly(Command::new("apt-get").arg("update"), "apt-get update")?;
    download()
}

/// Runs a setup command with its output on our stderr, keeping stdout for
/// the report.
fn run_quietly(cmd: &mut Command, what: &str) -> Result<(), Fatal> {
    let stderr = std::io::stderr().as_fd().try_clone_to_owned();
    let stdout = stderr.map(Stdio::from).unwrap_or_else(|_| Stdio::null());
    match cmd.stdin(Stdio::null()).stdout(stdout).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Fatal::Setup(format!("{what} failed ({status})"))),
        Err(e) => Err(Fatal::Setup(format!("cannot run {what}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_idl_files_recursively_and_sorted() {
        let scratch = crate::process::ScratchDir::new("comidl-conformance-test-list").unwrap();
        let root = scratch.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        for file in ["z.idl", "a.IDL", "b/c/m.idl", "b/notes.txt", "b/k.idl"] {
            std::fs::write(root.join(file), "").unwrap();
        }
        let want: Vec<PathBuf> = ["a.IDL", "b/c/m.idl", "b/k.idl", "z.idl"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(list_idl_files(root).unwrap(), want);
    }
}
