//! The COM keys: classes, ProgIDs and interfaces — what registration writes,
//! what the lookups find, and that unregistration and re-registration leave
//! nothing stale and touch nothing else.

use comidl_runtime::registry::{
    ClassEntry, InprocServer, InterfaceEntry, Registry, RegistryError, Scope, Tree, check_progid,
    register_class, register_interface, unregister_class, unregister_interface,
};
use comidl_runtime::{GUID, guid};

const CLSID: GUID = guid!("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}");
const OTHER: GUID = guid!("{11111111-2222-3333-4444-555555555555}");
const LIBID: GUID = guid!("{DEADBEEF-0000-1111-2222-333344445555}");
const APPID: GUID = guid!("{ABCDEF01-2345-6789-ABCD-EF0123456789}");
const IID: GUID = guid!("{00000001-A0B0-C0D0-E0F0-000000000001}");

fn full_entry() -> ClassEntry {
    ClassEntry {
        clsid: CLSID,
        name: Some("Sample \"Thing\"".into()),
        inproc_server: Some("/opt/sample/lib/libthing.so".into()),
        threading_model: Some("Both".into()),
        local_server: Some("/opt/sample/bin/thing --embedding".into()),
        progid: Some("Sample.Thing.2".into()),
        vi_progid: Some("Sample.Thing".into()),
        version: Some("2.0".into()),
        typelib: Some(LIBID),
        app_id: Some(APPID),
    }
}

#[test]
fn register_class_writes_the_documented_keys() {
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    assert_eq!(
        tree.export(None),
        r#"REGEDIT4

[HKEY_CLASSES_ROOT\CLSID]

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}]
@="Sample \"Thing\""
"AppID"="{ABCDEF01-2345-6789-ABCD-EF0123456789}"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\InprocServer32]
@="/opt/sample/lib/libthing.so"
"ThreadingModel"="Both"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\LocalServer32]
@="/opt/sample/bin/thing --embedding"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\ProgID]
@="Sample.Thing.2"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\TypeLib]
@="{DEADBEEF-0000-1111-2222-333344445555}"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\Version]
@="2.0"

[HKEY_CLASSES_ROOT\CLSID\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}\VersionIndependentProgID]
@="Sample.Thing"

[HKEY_CLASSES_ROOT\Sample.Thing]
@="Sample \"Thing\""

[HKEY_CLASSES_ROOT\Sample.Thing\CLSID]
@="{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"

[HKEY_CLASSES_ROOT\Sample.Thing\CurVer]
@="Sample.Thing.2"

[HKEY_CLASSES_ROOT\Sample.Thing.2]
@="Sample \"Thing\""

[HKEY_CLASSES_ROOT\Sample.Thing.2\CLSID]
@="{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"

"#
    );
    assert_eq!(tree.class(&CLSID), Some(full_entry()));
}

#[test]
fn lookups_find_servers_and_progids() {
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    assert!(tree.class_registered(&CLSID));
    assert!(!tree.class_registered(&OTHER));
    assert_eq!(
        tree.inproc_server(&CLSID),
        Some(InprocServer {
            path: "/opt/sample/lib/libthing.so".into(),
            threading_model: Some("Both".into()),
        })
    );
    assert_eq!(
        tree.local_server(&CLSID).as_deref(),
        Some("/opt/sample/bin/thing --embedding")
    );
    assert_eq!(
        tree.progid_from_clsid(&CLSID).as_deref(),
        Some("Sample.Thing.2")
    );
    for progid in [
        "Sample.Thing.2",
        "sample.thing.2",
        "SAMPLE.THING",
        "Sample.Thing",
    ] {
        assert_eq!(tree.clsid_from_progid(progid).unwrap(), CLSID, "{progid}");
    }
    assert_eq!(tree.inproc_server(&OTHER), None);
    assert_eq!(tree.local_server(&OTHER), None);
    assert_eq!(tree.progid_from_clsid(&OTHER), None);
    let err = tree.clsid_from_progid("No.Such.Thing").unwrap_err();
    assert!(matches!(&err, RegistryError::KeyMissing { key } if key == "No.Such.Thing"));
    for bad in ["", "CLSID\\{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"] {
        assert!(matches!(
            tree.clsid_from_progid(bad),
            Err(RegistryError::InvalidKey { .. })
        ));
    }
    // A class with no in-process server has none, even with a threading
    // model left behind by hand.
    tree.set_value(
        "CLSID\\{11111111-2222-3333-4444-555555555555}\\InprocServer32",
        "ThreadingModel",
        "Apartment",
    )
    .unwrap();
    assert_eq!(tree.inproc_server(&OTHER), None);
}

#[test]
fn curver_is_followed_and_a_loop_is_an_error() {
    // Another class's CLSID sits on the version-independent key: CurVer wins.
    let text = "REGEDIT4
[HKCR\\App.Doc]
[HKCR\\App.Doc\\CLSID]
@=\"{11111111-2222-3333-4444-555555555555}\"
[HKCR\\App.Doc\\CurVer]
@=\"app.doc.3\"
[HKCR\\App.Doc.3\\CLSID]
@=\"{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}\"
[HKCR\\Loop.A\\CurVer]
@=\"Loop.B\"
[HKCR\\Loop.B\\CurVer]
@=\"loop.a\"
[HKCR\\Self\\CurVer]
@=\"SELF\"
[HKCR\\Dangling\\CurVer]
@=\"Not.There\"
[HKCR\\NoClsid]
@=\"x\"
[HKCR\\BadClsid\\CLSID]
@=\"{not-a-guid}\"
";
    let mut tree = Tree::parse(text.as_bytes()).unwrap();
    // Lower-case GUID text is read like upper-case.
    assert_eq!(tree.clsid_from_progid("App.Doc").unwrap(), CLSID);
    for progid in ["Loop.A", "loop.b", "Self"] {
        let err = tree.clsid_from_progid(progid).unwrap_err();
        match &err {
            RegistryError::InvalidValue { message, .. } => {
                assert!(message.contains("CurVer loop"), "{err}");
            }
            other => panic!("{progid}: expected a loop error, got {other:?}"),
        }
        assert_eq!(err.hresult(), comidl_runtime::REGDB_E_INVALIDVALUE);
    }
    assert!(matches!(
        tree.clsid_from_progid("Dangling"),
        Err(RegistryError::KeyMissing { key }) if key == "Not.There"
    ));
    assert!(matches!(
        tree.clsid_from_progid("NoClsid"),
        Err(RegistryError::KeyMissing { key }) if key == "NoClsid\\CLSID"
    ));
    assert!(matches!(
        tree.clsid_from_progid("BadClsid"),
        Err(RegistryError::InvalidValue { .. })
    ));
    // A long chain without a loop ends with an error, not a long walk.
    for i in 0..20 {
        tree.set_value(
            &format!("Chain.{i}\\CurVer"),
            "",
            format!("Chain.{}", i + 1),
        )
        .unwrap();
    }
    tree.set_value("Chain.20\\CLSID", "", CLSID.to_string())
        .unwrap();
    assert_eq!(tree.clsid_from_progid("Chain.14").unwrap(), CLSID);
    let err = tree.clsid_from_progid("Chain.0").unwrap_err();
    assert!(err.to_string().contains("too many CurVer links"), "{err}");
}

#[test]
fn reregistering_replaces_the_class_without_stale_keys() {
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    // Extra keys someone else might have put under the class go too.
    tree.set_value(
        &format!("CLSID\\{CLSID}\\Implemented Categories\\{{X}}"),
        "",
        "",
    )
    .unwrap();
    let v3 = ClassEntry {
        clsid: CLSID,
        name: Some("Thing v3".into()),
        local_server: Some("/usr/bin/thing3".into()),
        progid: Some("Sample.Thing.3".into()),
        vi_progid: Some("Sample.Thing".into()),
        ..ClassEntry::default()
    };
    register_class(&mut tree, &v3).unwrap();
    let mut fresh = Tree::new();
    register_class(&mut fresh, &v3).unwrap();
    assert_eq!(tree, fresh, "no stale key survives re-registration");
    assert!(!tree.key_exists("Sample.Thing.2"));
    assert_eq!(
        tree.string("Sample.Thing\\CurVer", ""),
        Some("Sample.Thing.3")
    );
    assert_eq!(tree.inproc_server(&CLSID), None);
    assert_eq!(tree.class(&CLSID), Some(v3));
}

#[test]
fn unregister_removes_only_this_class() {
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    let other = ClassEntry {
        clsid: OTHER,
        name: Some("Other".into()),
        inproc_server: Some("/lib/other.so".into()),
        progid: Some("Other.Thing.1".into()),
        vi_progid: Some("Other.Thing".into()),
        ..ClassEntry::default()
    };
    register_class(&mut tree, &other).unwrap();
    let mut only_other = Tree::new();
    register_class(&mut only_other, &other).unwrap();

    assert!(unregister_class(&mut tree, &CLSID).unwrap());
    assert!(!unregister_class(&mut tree, &CLSID).unwrap());
    assert_eq!(tree, only_other, "the other class is untouched");

    // A ProgID since taken over by another class survives unregistration.
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    let thief = ClassEntry {
        clsid: OTHER,
        progid: Some("Sample.Thing.2".into()),
        ..ClassEntry::default()
    };
    register_class(&mut tree, &thief).unwrap();
    assert_eq!(tree.clsid_from_progid("Sample.Thing.2").unwrap(), OTHER);
    unregister_class(&mut tree, &CLSID).unwrap();
    assert_eq!(tree.clsid_from_progid("Sample.Thing.2").unwrap(), OTHER);
    assert!(!tree.key_exists("Sample.Thing"), "its own VI ProgID went");
    assert!(!tree.class_registered(&CLSID));
}

#[test]
fn invalid_entries_are_refused_without_changes() {
    let mut tree = Tree::new();
    register_class(&mut tree, &full_entry()).unwrap();
    let before = tree.clone();
    let bad_progids = [
        "CLSID",
        "interface",
        "1Thing",
        ".ext",
        "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}",
        "Has\\Backslash",
        "Has Space",
        "",
        "A.Very.Long.ProgID.That.Goes.On.And.On.X",
    ];
    for progid in bad_progids {
        assert!(check_progid(progid).is_err(), "{progid}");
        let entry = ClassEntry {
            clsid: CLSID,
            progid: Some(progid.into()),
            ..ClassEntry::default()
        };
        let err = register_class(&mut tree, &entry).unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidValue { .. }),
            "{progid}: {err}"
        );
        assert_eq!(tree, before, "{progid}");
    }
    assert!(check_progid("Vendor.Component_2-x.39").is_ok());
    let refused = [
        ClassEntry {
            clsid: CLSID,
            progid: Some("Same.Name".into()),
            vi_progid: Some("same.name".into()),
            ..ClassEntry::default()
        },
        ClassEntry {
            clsid: CLSID,
            threading_model: Some("Both".into()),
            ..ClassEntry::default()
        },
        ClassEntry {
            clsid: CLSID,
            name: Some("line\nbreak".into()),
            ..ClassEntry::default()
        },
    ];
    for entry in refused {
        assert!(register_class(&mut tree, &entry).is_err(), "{entry:?}");
        assert_eq!(tree, before);
    }
}

#[test]
fn interfaces_register_and_unregister() {
    let mut tree = Tree::new();
    let entry = InterfaceEntry {
        iid: IID,
        name: "ISample".into(),
        proxy_stub_clsid: Some(OTHER),
        typelib: Some((LIBID, "1.0".into())),
        num_methods: Some(7),
    };
    register_interface(&mut tree, &entry).unwrap();
    assert_eq!(
        tree.export(None),
        r#"REGEDIT4

[HKEY_CLASSES_ROOT\Interface]

[HKEY_CLASSES_ROOT\Interface\{00000001-A0B0-C0D0-E0F0-000000000001}]
@="ISample"

[HKEY_CLASSES_ROOT\Interface\{00000001-A0B0-C0D0-E0F0-000000000001}\NumMethods]
@="7"

[HKEY_CLASSES_ROOT\Interface\{00000001-A0B0-C0D0-E0F0-000000000001}\ProxyStubClsid32]
@="{11111111-2222-3333-4444-555555555555}"

[HKEY_CLASSES_ROOT\Interface\{00000001-A0B0-C0D0-E0F0-000000000001}\TypeLib]
@="{DEADBEEF-0000-1111-2222-333344445555}"
"Version"="1.0"

"#
    );
    assert_eq!(tree.interface(&IID), Some(entry.clone()));
    assert_eq!(tree.proxy_stub_clsid(&IID), Some(OTHER));
    // Re-registering with less leaves nothing stale.
    let small = InterfaceEntry {
        iid: IID,
        name: "ISample2".into(),
        ..InterfaceEntry::default()
    };
    register_interface(&mut tree, &small).unwrap();
    assert_eq!(tree.interface(&IID), Some(small));
    assert_eq!(
        tree.subkeys(&format!("Interface\\{IID}")),
        Vec::<String>::new()
    );
    register_class(&mut tree, &full_entry()).unwrap();
    assert!(unregister_interface(&mut tree, &IID).unwrap());
    assert!(!unregister_interface(&mut tree, &IID).unwrap());
    assert_eq!(tree.interface(&IID), None);
    assert!(tree.class_registered(&CLSID), "classes are untouched");
}

#[test]
fn lookups_are_case_insensitive_on_guid_keys() {
    let text = "REGEDIT4
[HKCR\\clsid\\{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}\\inprocserver32]
@=\"/lib/lower.so\"
\"threadingmodel\"=\"Apartment\"
[HKCR\\clsid\\{0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9}\\progid]
@=\"Lower.Case.1\"
";
    let tree = Tree::parse(text.as_bytes()).unwrap();
    assert!(tree.class_registered(&CLSID));
    assert_eq!(
        tree.inproc_server(&CLSID),
        Some(InprocServer {
            path: "/lib/lower.so".into(),
            threading_model: Some("Apartment".into()),
        })
    );
    assert_eq!(
        tree.progid_from_clsid(&CLSID).as_deref(),
        Some("Lower.Case.1")
    );
}

#[test]
fn registration_through_the_layers() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    registry
        .update(Scope::Machine, |t| register_class(t, &full_entry()))
        .unwrap();
    // The user points the class at their own build of the library.
    registry
        .update(Scope::User, |t| {
            t.set_value(
                &format!("CLSID\\{CLSID}\\InprocServer32"),
                "",
                "/home/me/build/libthing.so",
            )
        })
        .unwrap();
    let view = registry.snapshot().unwrap();
    assert_eq!(
        view.inproc_server(&CLSID),
        Some(InprocServer {
            path: "/home/me/build/libthing.so".into(),
            threading_model: Some("Both".into()),
        })
    );
    assert_eq!(view.clsid_from_progid("Sample.Thing").unwrap(), CLSID);
    // Unregistering in the machine layer leaves the user's override only.
    registry
        .update(Scope::Machine, |t| unregister_class(t, &CLSID))
        .unwrap();
    let view = registry.snapshot().unwrap();
    assert!(view.clsid_from_progid("Sample.Thing").is_err());
    assert_eq!(
        view.inproc_server(&CLSID).map(|s| s.path),
        Some("/home/me/build/libthing.so".into())
    );
}
