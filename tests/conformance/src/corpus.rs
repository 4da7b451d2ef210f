//! Where the files and tools come from: the Wine corpus (fetched from
//! Debian's packages on first use) or a tree given on the command line.

use std::collections::BTreeMap;
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
/// How many of Wine 8.0's 309 IDL files widl 8.0 accepts: a run of the default corpus in
/// which widl accepts another number did not run the oracle it claims to.
const WINE8_WIDL_ACCEPTS: usize = 261;
/// The files of Wine 8.0's corpus that comidl may accept although widl rejects them.
const WINE8_MIDL_ONLY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wine8-midl-only");

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
    /// How many files widl must accept, when the corpus pins it (the Wine corpus does).
    pub pinned_widl_accepts: Option<usize>,
    /// Files comidl may accept although widl rejects them, each with the reason (MIDL
    /// accepts them), from `--midl-only` or the Wine corpus's list.
    pub midl_only: BTreeMap<PathBuf, String>,
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
        "build it with `cargo build --release -p comidl-cli` or pass --comidl",
    )?;

    let files = list_idl_files(&root)
        .map_err(|e| Fatal::Setup(format!("cannot read corpus {}: {e}", root.display())))?;
    if files.is_empty() {
        return Err(Fatal::Setup(format!(
            "no .idl files under {}",
            root.display()
        )));
    }
    let default_corpus = opts.corpus.is_none();
    let midl_only = match (&opts.midl_only, default_corpus) {
        (Some(list), _) => read_midl_only(list)?,
        (None, true) => read_midl_only(Path::new(WINE8_MIDL_ONLY))?,
        (None, false) => BTreeMap::new(),
    };
    Ok(Setup {
        root,
        files,
        includes,
        widl,
        comidl,
        work_dir,
        pinned_widl_accepts: default_corpus.then_some(WINE8_WIDL_ACCEPTS),
        midl_only,
    })
}

/// Reads a list of MIDL-only files: `path: reason` lines (paths relative to the corpus
/// root), `#` comments and blank lines. A file without a reason is an error: the list is
/// where each exception to widl's verdict is explained.
fn read_midl_only(list: &Path) -> Result<BTreeMap<PathBuf, String>, Fatal> {
    let text = std::fs::read_to_string(list)
        .map_err(|e| Fatal::Setup(format!("cannot read {}: {e}", list.display())))?;
    parse_midl_only(&text)
        .map_err(|(line, why)| Fatal::Usage(format!("{}:{line}: {why}", list.display())))
}

fn parse_midl_only(text: &str) -> Result<BTreeMap<PathBuf, String>, (usize, String)> {
    let mut files = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reason = line.split_once(": ").map(|(p, r)| (p.trim(), r.trim()));
        let Some((path, reason)) = reason.filter(|(p, r)| !p.is_empty() && !r.is_empty()) else {
            return Err((
                index + 1,
                "expected `path: why MIDL accepts it`".to_string(),
            ));
        };
        if files
            .insert(PathBuf::from(path), reason.to_string())
            .is_some()
        {
            return Err((index + 1, format!("{path} is listed twice")));
        }
    }
    Ok(files)
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
    fn midl_only_lists_need_a_reason_for_each_file() {
        let list = "# comment\n\nwindows/a.idl: MIDL takes forward use\nb.idl:  why\n";
        let files = parse_midl_only(list).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[Path::new("windows/a.idl")], "MIDL takes forward use");
        assert_eq!(parse_midl_only("a.idl\n").unwrap_err().0, 1);
        assert_eq!(parse_midl_only("x.idl: y\na.idl: \n").unwrap_err().0, 2);
        assert!(
            parse_midl_only("a.idl: y\na.idl: z\n")
                .unwrap_err()
                .1
                .contains("twice")
        );
        // The Wine corpus's own list parses.
        read_midl_only(Path::new(WINE8_MIDL_ONLY)).unwrap();
    }

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
