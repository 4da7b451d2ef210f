//! Finding `#include`d and `import`ed files on the search path.
//!
//! MIDL runs on a case-insensitive file system, so real IDL often spells a file name in a
//! different case than it has on disk (`import "OAIdl.idl"` for `oaidl.idl`). A name that is
//! not found exactly is therefore looked up again ignoring ASCII case, directory by directory.

use std::path::{Path, PathBuf};

/// Looks `name` up in `first` (the including file's directory, for quoted names) and then in
/// each of `dirs` in order. Absolute names are taken as they are.
pub fn find_file(name: &str, first: Option<&Path>, dirs: &[PathBuf]) -> Option<PathBuf> {
    let wanted = Path::new(name);
    if wanted.is_absolute() {
        return wanted.is_file().then(|| wanted.to_path_buf());
    }
    let candidates = || first.into_iter().chain(dirs.iter().map(PathBuf::as_path));
    for dir in candidates() {
        let path = dir.join(wanted);
        if path.is_file() {
            return Some(path);
        }
    }
    candidates().find_map(|dir| find_ignoring_case(dir, wanted))
}

/// Walks `relative` component by component under `dir`, matching each ignoring ASCII case.
fn find_ignoring_case(dir: &Path, relative: &Path) -> Option<PathBuf> {
    let mut current = dir.to_path_buf();
    for component in relative.components() {
        let part = component.as_os_str().to_str()?;
        if part == "." || part == ".." {
            current.push(part);
            continue;
        }
        let exact = current.join(part);
        if exact.exists() {
            current = exact;
            continue;
        }
        let entry = std::fs::read_dir(&current).ok()?.find_map(|e| {
            let e = e.ok()?;
            let n = e.file_name();
            n.to_str()?.eq_ignore_ascii_case(part).then(|| e.path())
        })?;
        current = entry;
    }
    current.is_file().then_some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_then_case_insensitive() {
        let dir = std::env::temp_dir().join(format!("comidl-search-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub").join("oaidl.idl"), "").unwrap();
        let dirs = vec![dir.clone()];
        assert_eq!(
            find_file("sub/oaidl.idl", None, &dirs),
            Some(dir.join("sub/oaidl.idl"))
        );
        assert_eq!(
            find_file("SUB/OAIdl.idl", None, &dirs),
            Some(dir.join("sub/oaidl.idl"))
        );
        assert_eq!(find_file("missing.idl", None, &dirs), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
