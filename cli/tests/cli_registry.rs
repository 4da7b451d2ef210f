//! `comidl register`, `comidl unregister` and `comidl registry export|import|query`, run as
//! a user would: the real binary, a real server module, a private registry directory.

#[path = "../../compiler/tests/common/mod.rs"]
mod common;
#[path = "../../runtime/tests/common/read_only.rs"]
mod read_only;

use std::path::Path;
use std::process::{Command, Output};

use common::probe_module;
use read_only::ReadOnlyDir;

fn comidl(registry: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comidl"))
        .args(args)
        .arg("--registry")
        .arg(registry)
        // Nothing may fall back to the user's own registry.
        .env("XDG_DATA_HOME", registry.join("not-here"))
        .env_remove("COMIDL_REGISTRY")
        .output()
        .expect("comidl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const PROBE_CLSID: &str = "{3B6F2A10-8C4D-4E7A-9F21-6D5C4B3A2F10}";

#[test]
fn register_query_export_import_unregister() {
    let dir = tempfile::tempdir().unwrap();
    let module = probe_module();
    let module_arg = module.to_str().unwrap();

    let out = comidl(dir.path(), &["register", module_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("registered {module_arg}\n"));
    assert!(
        dir.path().join("user.reg").exists(),
        "written to the user layer"
    );
    assert!(!dir.path().join("machine.reg").exists());

    // query: the class key, its values and subkeys, like `reg query`.
    let key = format!("HKEY_CLASSES_ROOT\\CLSID\\{PROBE_CLSID}\\InprocServer32");
    let out = comidl(dir.path(), &["registry", "query", &key]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{key}\n    (Default)    REG_SZ    {module_arg}\n    ThreadingModel    REG_SZ    Both\n"
        )
    );
    let out = comidl(dir.path(), &["registry", "query", "comidl.probe"]);
    assert!(text(&out.stdout).contains("HKEY_CLASSES_ROOT\\Comidl.Probe\\CurVer"));

    // export -> import into an empty registry -> export: byte-identical.
    let out = comidl(dir.path(), &["registry", "export"]);
    assert!(out.status.success());
    let exported = text(&out.stdout);
    assert!(exported.starts_with("REGEDIT4\n"), "{exported}");
    assert!(exported.contains(&format!("[HKEY_CLASSES_ROOT\\CLSID\\{PROBE_CLSID}]")));
    let file = dir.path().join("all.reg");
    std::fs::write(&file, &exported).unwrap();
    let other = tempfile::tempdir().unwrap();
    let out = comidl(
        other.path(),
        &["registry", "import", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = comidl(other.path(), &["registry", "export"]);
    assert_eq!(text(&again.stdout), exported);

    // export of one key.
    let out = comidl(dir.path(), &["registry", "export", "Comidl.Probe.1"]);
    assert_eq!(
        text(&out.stdout),
        format!(
            "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\Comidl.Probe.1]\n@=\"comidl test probe\"\n\n\
             [HKEY_CLASSES_ROOT\\Comidl.Probe.1\\CLSID]\n@=\"{PROBE_CLSID}\"\n\n"
        )
    );

    // unregister removes the class and its ProgIDs.
    let out = comidl(dir.path(), &["unregister", module_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = comidl(dir.path(), &["registry", "export"]);
    assert!(
        !text(&out.stdout).contains("Probe"),
        "{}",
        text(&out.stdout)
    );

    // --machine writes the machine layer.
    let out = comidl(dir.path(), &["register", "--machine", module_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let machine = std::fs::read_to_string(dir.path().join("machine.reg")).unwrap();
    assert!(machine.contains(PROBE_CLSID));
}

/// Runs comidl expecting exit status 1 and an error containing every one of `words`.
fn fails(registry: &Path, args: &[&str], words: &[&str]) {
    let out = comidl(registry, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    for word in words {
        assert!(stderr.contains(word), "`{stderr}` should mention `{word}`");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path();
    fails(
        reg,
        &["register", "/no/such/module.so"],
        &["/no/such/module.so", "does not exist"],
    );

    // A shared library without the exports.
    let c = dir.path().join("plain.c");
    std::fs::write(&c, "int plain(void) { return 1; }\n").unwrap();
    let so = dir.path().join("libplain.so");
    let gcc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&c)
        .status();
    assert!(gcc.unwrap().success());
    fails(
        reg,
        &["register", so.to_str().unwrap()],
        &["libplain.so", "DllRegisterServer"],
    );
    // A file that is no library at all.
    fails(
        reg,
        &["register", c.to_str().unwrap()],
        &["plain.c", "cannot be loaded"],
    );

    // A malformed .reg file: path, line and column; nothing written.
    let bad = dir.path().join("bad.reg");
    std::fs::write(
        &bad,
        "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\Good]\n@=\"fine\"\n\"v\"=hex:01\n",
    )
    .unwrap();
    fails(
        reg,
        &["registry", "import", bad.to_str().unwrap()],
        &["bad.reg:5:5"],
    );
    assert!(!reg.join("user.reg").exists(), "nothing written");
    let garbage = dir.path().join("garbage.reg");
    std::fs::write(&garbage, [0xffu8, 0xfe, 0x00, 0x41, b'\n', b'[']).unwrap();
    fails(
        reg,
        &["registry", "import", garbage.to_str().unwrap()],
        &["garbage.reg:1:"],
    );
    fails(
        reg,
        &["registry", "import", "/no/such.reg"],
        &["/no/such.reg"],
    );

    // Missing keys.
    fails(
        reg,
        &[
            "registry",
            "query",
            "CLSID\\{00000000-0000-0000-0000-000000000000}",
        ],
        &["does not exist"],
    );
    fails(
        reg,
        &["registry", "export", "NoSuchKey"],
        &["NoSuchKey", "does not exist"],
    );
}

#[test]
fn a_read_only_registry_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.reg");
    std::fs::write(&file, "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\A]\n@=\"x\"\n").unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    // Read-only for root too (a read-only bind mount), so this runs in CI.
    let guard = ReadOnlyDir::new(&ro);
    fails(
        &ro,
        &["registry", "import", file.to_str().unwrap()],
        &["cannot write the class registry", "read-only"],
    );
    assert_eq!(
        std::fs::read_dir(&ro).unwrap().count(),
        0,
        "nothing written"
    );
    drop(guard);
    let out = comidl(&ro, &["registry", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "writable again: {}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = comidl(dir.path(), &["registry", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = comidl(dir.path(), &["register"]);
    assert_eq!(out.status.code(), Some(2));
}
