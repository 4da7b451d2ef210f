//! comidl's own IDL files (the repository's `idl/`), built into the compiler so a driver
//! finds them wherever it runs: `comidl-build` writes them to a directory it adds to the
//! include path, so `import "comidl_base.idl";` works in any crate, and the Rust backend
//! maps their items to the runtime's types.

use std::path::Path;

/// Every file of `idl/`: (file name, text).
pub const FILES: &[(&str, &str)] = &[
    ("comidl_base.idl", include_str!("../../idl/comidl_base.idl")),
    (
        "comidl_ctypes.idl",
        include_str!("../../idl/comidl_ctypes.idl"),
    ),
    (
        "comidl_dispenser.idl",
        include_str!("../../idl/comidl_dispenser.idl"),
    ),
    (
        "comidl_provider.idl",
        include_str!("../../idl/comidl_provider.idl"),
    ),
    (
        "comidl_epmapper.idl",
        include_str!("../../idl/comidl_epmapper.idl"),
    ),
    ("comidl_orpc.idl", include_str!("../../idl/comidl_orpc.idl")),
    (
        "comidl_activation.idl",
        include_str!("../../idl/comidl_activation.idl"),
    ),
];

/// Writes [`FILES`] into `dir` (created if missing). A file already holding the same text
/// is left untouched, so its modification time stays put and nothing watching it rebuilds.
pub fn write_to(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in FILES {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            std::fs::write(&path, text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_idl_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".idl"))
            .collect();
        on_disk.sort();
        let mut built_in: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        built_in.sort();
        assert_eq!(on_disk, built_in);
        for (name, text) in FILES {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), *text);
        }
    }

    #[test]
    fn writing_twice_keeps_the_files() {
        let dir = std::env::temp_dir().join(format!("comidl-stdidl-{}", std::process::id()));
        write_to(&dir).unwrap();
        let path = dir.join(FILES[0].0);
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_to(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILES[0].1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
