//! The registry on disk: the two layers and their merge, all-or-nothing
//! imports, refused writes, corrupt files, leftovers of killed writers, and
//! the error type's messages and HRESULTs.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use comidl_runtime::registry::{IoAction, Registry, RegistryError, Scope, Tree, Value};
use comidl_runtime::{
    E_ACCESSDENIED, E_INVALIDARG, REGDB_E_INVALIDVALUE, REGDB_E_KEYMISSING, REGDB_E_READREGDB,
    REGDB_E_WRITEREGDB,
};
use common::read_only::ReadOnlyDir;

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    (dir, registry)
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn missing_files_are_empty_layers() {
    let (dir, registry) = registry();
    assert!(registry.snapshot().unwrap().is_empty());
    assert!(registry.layer(Scope::Machine).unwrap().is_empty());
    assert_eq!(registry.path(Scope::User), dir.path().join("user.reg"));
    assert_eq!(
        registry.path(Scope::Machine),
        dir.path().join("machine.reg")
    );
    // Reading creates nothing, and neither does an update that changes
    // nothing.
    registry.update(Scope::User, |_| Ok(())).unwrap();
    assert!(dir_listing(dir.path()).iter().all(|n| !n.ends_with(".reg")));
    // A zero-length file is empty too.
    fs::write(registry.path(Scope::User), b"").unwrap();
    assert!(registry.snapshot().unwrap().is_empty());
}

#[test]
fn user_layer_overrides_machine_and_keys_merge() {
    let (_dir, registry) = registry();
    registry
        .import(
            Scope::Machine,
            "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\Shared]\n@=\"machine default\"\n\"Both\"=\"machine\"\n\"MachineOnly\"=dword:1\n\n[HKEY_CLASSES_ROOT\\Shared\\FromMachine]\n\n[HKEY_CLASSES_ROOT\\MachineKey]\n",
        )
        .unwrap();
    let machine_bytes = fs::read(registry.path(Scope::Machine)).unwrap();
    registry
        .import(
            Scope::User,
            "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\shared]\n\"BOTH\"=\"user\"\n\n[HKEY_CLASSES_ROOT\\Shared\\FromUser]\n\n[HKEY_CLASSES_ROOT\\UserKey]\n@=\"u\"\n",
        )
        .unwrap();
    // Writes went to the user layer only.
    assert_eq!(
        fs::read(registry.path(Scope::Machine)).unwrap(),
        machine_bytes
    );
    let user = registry.layer(Scope::User).unwrap();
    assert!(!user.key_exists("MachineKey"));
    assert_eq!(user.value("Shared", "MachineOnly"), None);
    let machine = registry.layer(Scope::Machine).unwrap();
    assert!(!machine.key_exists("UserKey"));

    let view = registry.snapshot().unwrap();
    assert_eq!(view.string("Shared", "Both"), Some("user"));
    assert_eq!(view.string("Shared", ""), Some("machine default"));
    assert_eq!(view.dword("Shared", "MachineOnly"), Some(1));
    assert!(view.key_exists("MachineKey"));
    assert!(view.key_exists("UserKey"));
    assert_eq!(view.subkeys("shared"), ["FromMachine", "FromUser"]);
    // Merged export: machine spelling of the key, user spelling and data of
    // the overridden value.
    let text = view.export(Some("Shared"));
    assert!(
        text.contains("[HKEY_CLASSES_ROOT\\Shared]\n@=\"machine default\"\n\"BOTH\"=\"user\"\n"),
        "{text}"
    );
}

#[test]
fn user_layer_cannot_hide_machine_keys() {
    let (_dir, registry) = registry();
    registry
        .import(Scope::Machine, "REGEDIT4\n[HKCR\\Kept]\n@=\"m\"\n")
        .unwrap();
    registry
        .import(
            Scope::User,
            "REGEDIT4\n[HKCR\\Kept]\n@=\"u\"\n[-HKCR\\Kept]\n",
        )
        .unwrap();
    assert!(!registry.layer(Scope::User).unwrap().key_exists("Kept"));
    assert_eq!(registry.snapshot().unwrap().string("Kept", ""), Some("m"));
}

#[test]
fn failed_import_leaves_the_file_byte_identical() {
    let (dir, registry) = registry();
    registry
        .import(Scope::User, "REGEDIT4\n[HKCR\\Existing]\n@=\"old\"\n")
        .unwrap();
    let before = fs::read(registry.path(Scope::User)).unwrap();
    let listing = dir_listing(dir.path());
    // Many good lines, then an error on the very last line.
    let mut text = String::from("REGEDIT4\n\n[-HKCR\\Existing]\n");
    for i in 0..50 {
        text.push_str(&format!("[HKCR\\New{i}]\n@=\"value {i}\"\n"));
    }
    text.push_str("\"bad\"=hex:00");
    let last_line = text.lines().count();
    let err = registry.import(Scope::User, &text).unwrap_err();
    match &err {
        RegistryError::Parse {
            path: None,
            line,
            column,
            message,
        } => {
            assert_eq!((*line, *column), (last_line, 7));
            assert!(message.contains("hex"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert_eq!(err.hresult(), REGDB_E_READREGDB);
    assert_eq!(fs::read(registry.path(Scope::User)).unwrap(), before);
    assert_eq!(dir_listing(dir.path()), listing);

    // From a file, the error names it, compiler style.
    let bad = dir.path().join("bad.reg");
    fs::write(&bad, "REGEDIT4\n[HKCR\\A]\n@=\"unterminated\n").unwrap();
    let err = registry.import_file(Scope::User, &bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:3: unterminated string: no closing '\"' on this line",
            bad.display()
        )
    );
    assert_eq!(fs::read(registry.path(Scope::User)).unwrap(), before);
    // A file that does not exist is a read error naming it.
    let missing = dir.path().join("missing.reg");
    let err = registry.import_file(Scope::User, &missing).unwrap_err();
    assert!(matches!(
        &err,
        RegistryError::Io { path, action: IoAction::Read, .. } if *path == missing
    ));
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}", missing.display()))
    );
}

#[test]
fn failed_update_closure_writes_nothing() {
    let (_dir, registry) = registry();
    registry
        .update(Scope::User, |t| t.set_value("A", "", "1"))
        .unwrap();
    let before = fs::read(registry.path(Scope::User)).unwrap();
    let err = registry
        .update(Scope::User, |t| {
            t.set_value("A", "", "2")?;
            t.create_key("B")?;
            Err::<(), _>(RegistryError::KeyMissing { key: "C".into() })
        })
        .unwrap_err();
    assert!(matches!(err, RegistryError::KeyMissing { .. }));
    assert_eq!(fs::read(registry.path(Scope::User)).unwrap(), before);
    // The closure's value comes back on success.
    let n = registry
        .update(Scope::User, |t| {
            t.set_value("A", "n", 7u32)?;
            Ok(t.subkeys("").len())
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(registry.snapshot().unwrap().dword("a", "N"), Some(7));
}

#[test]
fn corrupt_layer_is_a_located_error_not_a_panic() {
    let (_dir, registry) = registry();
    let user = registry.path(Scope::User).to_path_buf();
    for (bytes, line, column) in [
        (&b"REGEDIT4\n[HKCR\\A]\n@=\"ok\"\n\"x\"=oops\n"[..], 4, 5),
        (&b"not a registry"[..], 1, 1),
        (&b"REGEDIT4\n[HKCR\\\xFF]\n"[..], 2, 7),
    ] {
        fs::write(&user, bytes).unwrap();
        let err = registry.snapshot().unwrap_err();
        match &err {
            RegistryError::Parse {
                path: Some(path),
                line: l,
                column: c,
                ..
            } => {
                assert_eq!(path, &user);
                assert_eq!((*l, *c), (line, column), "{err}");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("{}:{line}:{column}: ", user.display())),
            "{err}"
        );
        // Writers refuse to build on it, and leave it for a person to fix.
        let update = registry.update(Scope::User, |t| t.create_key("B"));
        assert!(matches!(update, Err(RegistryError::Parse { .. })));
        assert_eq!(fs::read(&user).unwrap(), bytes);
    }
}

#[test]
fn leftover_temp_file_breaks_nothing() {
    let (dir, registry) = registry();
    registry
        .import(Scope::User, "REGEDIT4\n[HKCR\\A]\n@=\"1\"\n")
        .unwrap();
    let tmp = registry.temp_path(Scope::User);
    assert_eq!(tmp, dir.path().join("user.reg.tmp"));
    fs::write(&tmp, b"REGEDIT4\n[HKCR\\Half").unwrap();
    assert_eq!(registry.snapshot().unwrap().string("A", ""), Some("1"));
    registry
        .update(Scope::User, |t| t.set_value("A", "", "2"))
        .unwrap();
    assert!(!tmp.exists());
    assert_eq!(registry.snapshot().unwrap().string("A", ""), Some("2"));
    assert_eq!(
        dir_listing(dir.path()),
        ["user.reg", "user.reg.lock"],
        "only the layer and its lock file remain"
    );
}

#[test]
fn update_creates_the_directory_and_keeps_the_file_mode() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/comidl");
    let registry = Registry::with_files(nested.join("m.reg"), nested.join("u.reg"));
    registry
        .update(Scope::Machine, |t| t.set_value("K", "", "v"))
        .unwrap();
    let machine = registry.path(Scope::Machine);
    assert_eq!(
        fs::read_to_string(machine).unwrap(),
        "REGEDIT4\n\n[HKEY_CLASSES_ROOT\\K]\n@=\"v\"\n\n"
    );
    fs::set_permissions(machine, fs::Permissions::from_mode(0o600)).unwrap();
    registry
        .update(Scope::Machine, |t| t.set_value("K", "", "w"))
        .unwrap();
    assert_eq!(
        fs::metadata(machine).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!registry.path(Scope::User).exists());
}

#[test]
fn read_only_registry_gives_a_clear_error_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    let registry = Registry::in_dir(&ro);
    registry
        .import(Scope::User, "REGEDIT4\n[HKCR\\A]\n@=\"before\"\n")
        .unwrap();
    let before = fs::read(registry.path(Scope::User)).unwrap();
    {
        // Read-only for root too (a read-only bind mount), so this runs in CI.
        let _read_only = ReadOnlyDir::new(&ro);
        let listing = dir_listing(&ro);
        let err = registry
            .update(Scope::User, |t| t.set_value("A", "", "after"))
            .unwrap_err();
        assert_read_only(&err, registry.path(Scope::User));
        assert_eq!(fs::read(registry.path(Scope::User)).unwrap(), before);
        assert_eq!(dir_listing(&ro), listing, "no temporary file left");
        // Reading still works.
        assert_eq!(registry.snapshot().unwrap().string("A", ""), Some("before"));
    }
    // Writable again once the guard is gone.
    registry
        .update(Scope::User, |t| t.set_value("A", "", "after"))
        .unwrap();

    // Whoever runs the test: a layer whose "directory" is a regular file
    // cannot be written either, and the error names the path.
    let file = dir.path().join("plain-file");
    fs::write(&file, b"not a directory").unwrap();
    let layer = file.join("comidl").join("user.reg");
    let registry = Registry::with_files(dir.path().join("m.reg"), &layer);
    let err = registry
        .update(Scope::User, |t| t.set_value("A", "", "after"))
        .unwrap_err();
    match &err {
        RegistryError::Io {
            path,
            action: IoAction::Write,
            ..
        } => assert!(layer.starts_with(path), "{err}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(err.to_string().starts_with("cannot write "), "{err}");
    assert!(err.to_string().contains(&*file.to_string_lossy()), "{err}");
    assert_eq!(err.hresult(), REGDB_E_WRITEREGDB);
    assert_eq!(fs::read(&file).unwrap(), b"not a directory");
}

fn assert_read_only(err: &RegistryError, layer: &Path) {
    match err {
        RegistryError::ReadOnly { path } => assert_eq!(path, layer),
        other => panic!("expected ReadOnly, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write the class registry {}: permission denied or read-only file system",
            layer.display()
        )
    );
    assert_eq!(err.hresult(), E_ACCESSDENIED);
}

#[test]
fn errors_map_to_hresults_and_read_well() {
    let cases: Vec<(RegistryError, _, &str)> = vec![
        (
            RegistryError::KeyMissing {
                key: "Foo.Bar".into(),
            },
            REGDB_E_KEYMISSING,
            "registry key HKEY_CLASSES_ROOT\\Foo.Bar does not exist",
        ),
        (
            RegistryError::InvalidValue {
                key: "A".into(),
                name: String::new(),
                message: "bad".into(),
            },
            REGDB_E_INVALIDVALUE,
            "invalid default value of registry key HKEY_CLASSES_ROOT\\A: bad",
        ),
        (
            RegistryError::InvalidValue {
                key: "A".into(),
                name: "N".into(),
                message: "bad".into(),
            },
            REGDB_E_INVALIDVALUE,
            "invalid value \"N\" of registry key HKEY_CLASSES_ROOT\\A: bad",
        ),
        (
            RegistryError::InvalidKey {
                key: "A\\\\B".into(),
                message: "a key name cannot be empty".into(),
            },
            E_INVALIDARG,
            "invalid registry key \"A\\\\\\\\B\": a key name cannot be empty",
        ),
        (
            RegistryError::Parse {
                path: Some(PathBuf::from("/x/user.reg")),
                line: 3,
                column: 9,
                message: "oops".into(),
            },
            REGDB_E_READREGDB,
            "/x/user.reg:3:9: oops",
        ),
        (
            RegistryError::Parse {
                path: None,
                line: 3,
                column: 9,
                message: "oops".into(),
            },
            REGDB_E_READREGDB,
            "line 3, column 9: oops",
        ),
    ];
    for (err, hr, text) in cases {
        assert_eq!(err.hresult(), hr, "{err}");
        assert_eq!(err.to_string(), text);
        assert_eq!(comidl_runtime::HRESULT::from(err), hr);
    }
}

#[test]
fn tree_values_survive_the_store() {
    let (_dir, registry) = registry();
    registry
        .update(Scope::User, |t| {
            t.set_value("K", "s", "text")?;
            t.set_value("K", "d", 0xDEAD_BEEFu32)?;
            Ok(())
        })
        .unwrap();
    let layer = registry.layer(Scope::User).unwrap();
    assert_eq!(layer.value("K", "s"), Some(&Value::String("text".into())));
    assert_eq!(layer.value("K", "d"), Some(&Value::Dword(0xDEAD_BEEF)));
    let mut expected = Tree::new();
    expected.set_value("K", "d", 0xDEAD_BEEFu32).unwrap();
    expected.set_value("K", "s", "text").unwrap();
    assert_eq!(layer, expected);
}

#[test]
fn the_shared_snapshot_is_read_again_only_after_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    let empty = registry.shared_snapshot().unwrap();
    assert!(empty.is_empty());
    registry
        .update(Scope::User, |t| t.set_value("A", "", "one"))
        .unwrap();
    let first = registry.shared_snapshot().unwrap();
    assert_eq!(first.string("A", ""), Some("one"));
    let again = registry.shared_snapshot().unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "unchanged files are not re-read"
    );
    registry
        .update(Scope::Machine, |t| t.set_value("B", "", "two"))
        .unwrap();
    let second = registry.shared_snapshot().unwrap();
    assert_eq!(second.string("B", ""), Some("two"));
    assert_eq!(second.string("A", ""), Some("one"));
    fs::remove_file(registry.path(Scope::User)).unwrap();
    let third = registry.shared_snapshot().unwrap();
    assert_eq!(third.string("A", ""), None, "a removed layer is seen");
    // Another registry's files are not confused with these.
    let other = tempfile::tempdir().unwrap();
    assert!(
        Registry::in_dir(other.path())
            .shared_snapshot()
            .unwrap()
            .is_empty()
    );
}
