//! In-process servers end to end: real server modules (the probe, the calculator example's
//! Adder and Calculator, and gcc-built impostors) registered in a private class registry,
//! loaded by the runtime, attached to it, asked for objects and unloaded.
//!
//! The tests share the process's module cache and registry, so each takes `serial()`.

use std::path::Path;

use comidl_activation_tests::{gcc, is_mapped, module, private_registry, serial};
use comidl_probe::bindings::{CLSID_LicensedProbe, CLSID_Probe, IProbe};
use comidl_runtime::registry::{ClassEntry, Registry, Scope};
use comidl_runtime::{
    BSTR, CLASS_E_NOTLICENSED, CLSCTX_INPROC_SERVER, CO_E_CLASSSTRING, CO_E_ERRORINDLL,
    CoFreeUnusedLibraries, ComInit, GUID, HRESULT, IClassFactory, IClassFactory2, IUnknown,
    Interface, create_instance, get_class_object, host, loader,
};

const PROBE: &str = "libcomidl_probe.so";

/// COM initialised on this thread, the private registry in use, the probe registered.
fn setup() -> ComInit {
    private_registry();
    loader::register_server(&module(PROBE)).expect("the probe registers");
    ComInit::multithreaded().expect("CoInitializeEx")
}

/// Unloads what can be unloaded and checks every load so far was matched by an unload.
fn all_unloaded() {
    CoFreeUnusedLibraries();
    let (loads, unloads) = loader::load_counts();
    assert_eq!(loads, unloads, "every load is matched by an unload");
    assert!(loader::loaded_modules().is_empty());
}

/// Registers a class served by `path` under a fresh CLSID and returns it.
fn register_path(path: &Path) -> GUID {
    let clsid = comidl_runtime::co_create_guid().expect("a GUID");
    let registry = Registry::open_default().expect("the registry opens");
    registry
        .update(Scope::User, |tree| {
            comidl_runtime::registry::register_class(
                tree,
                &ClassEntry {
                    clsid,
                    name: Some("test class".into()),
                    inproc_server: Some(path.to_string_lossy().into_owned()),
                    threading_model: Some("Both".into()),
                    local_server: None,
                    progid: None,
                    vi_progid: None,
                    version: None,
                    typelib: None,
                    app_id: None,
                },
            )
        })
        .expect("the class registers");
    clsid
}

/// Reads a task-allocated, NUL-terminated UTF-16 string and frees it.
fn take_wide(text: *mut u16) -> String {
    // SAFETY: the server returned a NUL-terminated string allocated with CoTaskMemAlloc,
    // which the caller frees (SEMANTICS.md).
    unsafe { comidl_runtime::wide::take_task_block(text) }.expect("a string, not NULL")
}

#[test]
fn registration_writes_the_keys_from_the_idl() {
    let _serial = serial();
    let _com = setup();
    let snapshot = Registry::open_default().unwrap().snapshot().unwrap();
    let server = snapshot
        .inproc_server(&CLSID_Probe)
        .expect("InprocServer32");
    assert_eq!(Path::new(&server.path), module(PROBE));
    assert_eq!(server.threading_model.as_deref(), Some("Both"));
    assert_eq!(
        snapshot.progid_from_clsid(&CLSID_Probe).as_deref(),
        Some("Comidl.Probe.1")
    );
    // The version-independent ProgID leads through CurVer to the class.
    assert_eq!(
        comidl_runtime::clsid_from_progid("Comidl.Probe"),
        Ok(CLSID_Probe)
    );
    assert_eq!(
        comidl_runtime::clsid_from_progid("comidl.probe.1"),
        Ok(CLSID_Probe)
    );
    assert_eq!(
        comidl_runtime::progid_from_clsid(&CLSID_LicensedProbe).as_deref(),
        Ok("Comidl.LicensedProbe.1")
    );
    let licensed = snapshot.inproc_server(&CLSID_LicensedProbe).unwrap();
    assert_eq!(licensed.threading_model.as_deref(), Some("Apartment"));
    assert_eq!(
        comidl_runtime::clsid_from_progid("Comidl.NoSuchClass"),
        Err(CO_E_CLASSSTRING)
    );
}

#[test]
fn memory_from_the_module_is_freed_by_the_client() {
    let _serial = serial();
    let _com = setup();
    let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    for _ in 0..100 {
        assert_eq!(take_wide(probe.text().unwrap()), comidl_probe::TEXT);
    }
    drop(probe);
    all_unloaded();
}

#[test]
fn the_module_sees_the_hosts_initialisation() {
    let _serial = serial();
    let _com = setup();
    let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    // This thread joined the MTA through the host's runtime; the module's copy asks it.
    assert_eq!(probe.apartment(), Ok(2));
    // Another thread in a single-threaded apartment: the module sees that thread's state.
    let raw = probe.as_raw() as usize;
    let seen = std::thread::spawn(move || {
        let _sta = ComInit::apartment_threaded().unwrap();
        // SAFETY: the object is free-threaded (ThreadingModel Both) and alive: the main
        // thread holds its reference until after join.
        let probe = unsafe { IProbe::from_raw_borrowed(raw as *mut _) }.unwrap();
        probe.apartment()
    })
    .join()
    .unwrap();
    assert_eq!(seen, Ok(1));
    drop(probe);
    all_unloaded();
}

#[test]
fn a_server_method_can_activate_classes() {
    let _serial = serial();
    let _com = setup();
    let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    let expected = comidl_probe::TEXT.encode_utf16().count() as i32;
    assert_eq!(probe.nested(), Ok(expected));
    drop(probe);
    all_unloaded();
}

#[test]
fn the_module_unloads_exactly_when_no_object_and_no_lock_remains() {
    let _serial = serial();
    let _com = setup();
    let path = module(PROBE);
    all_unloaded();
    assert!(!is_mapped(&path), "the probe is not loaded before the test");
    let (loads_before, _) = loader::load_counts();

    // Two objects: the module stays until both are gone, in either order.
    let first = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    let second = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    assert_eq!(
        loader::load_counts().0,
        loads_before + 1,
        "one load serves both"
    );
    CoFreeUnusedLibraries();
    assert_eq!(loader::loaded_modules(), vec![path.clone()]);
    drop(second);
    CoFreeUnusedLibraries();
    assert!(is_mapped(&path), "one object still lives");
    drop(first);
    CoFreeUnusedLibraries();
    assert!(loader::loaded_modules().is_empty());
    assert!(!is_mapped(&path), "unloaded once no object remains");

    // A lock keeps the module without any object; the class object itself does not.
    let factory = get_class_object::<IClassFactory>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    factory.lock_server(1).unwrap();
    drop(factory);
    CoFreeUnusedLibraries();
    assert!(is_mapped(&path), "a LockServer lock keeps the module");
    // The lock lives in the module: a new class object unlocks it.
    let factory = get_class_object::<IClassFactory>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    factory.lock_server(0).unwrap();
    // A class object alone does not keep the module (SEMANTICS.md), so release it before
    // asking: unloading under a live pointer is the caller's mistake, as on Windows.
    drop(factory);
    CoFreeUnusedLibraries();
    assert!(!is_mapped(&path), "unloaded once the lock is gone");

    // Loaded again after an unload, and again: each load matched by an unload.
    for _ in 0..3 {
        let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
        assert_eq!(take_wide(probe.text().unwrap()), comidl_probe::TEXT);
        drop(probe);
        CoFreeUnusedLibraries();
        assert!(!is_mapped(&path));
    }
    assert_eq!(loader::load_counts().0, loads_before + 5);
    all_unloaded();
}

#[test]
fn a_module_opened_twice_is_released_twice() {
    let _serial = serial();
    let _com = setup();
    let path = module(PROBE);
    // The program opens the module itself too (dlopen counts references).
    // SAFETY: loading the probe runs only Rust static initialisers.
    let own = unsafe { libloading::Library::new(&path) }.unwrap();
    let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    drop(probe);
    CoFreeUnusedLibraries();
    assert!(
        loader::loaded_modules().is_empty(),
        "the runtime let its load go"
    );
    assert!(is_mapped(&path), "the program's own load keeps it mapped");
    drop(own);
    assert!(!is_mapped(&path), "unmapped after the second release");
    all_unloaded();
}

/// The probe's `probe_set_machine_licensed` export, on the copy the runtime loaded.
fn set_machine_licensed(licensed: bool) {
    // SAFETY: the probe is loaded already, so this finds the same copy (same statics).
    let library = unsafe { libloading::Library::new(module(PROBE)) }.unwrap();
    // SAFETY: the export's signature.
    let set: libloading::Symbol<extern "C" fn(i32)> =
        unsafe { library.get(b"probe_set_machine_licensed\0") }.unwrap();
    set(i32::from(licensed));
}

#[test]
fn a_licensed_class_needs_a_licensed_machine_or_the_key() {
    let _serial = serial();
    let _com = setup();
    let factory =
        get_class_object::<IClassFactory2>(&CLSID_LicensedProbe, CLSCTX_INPROC_SERVER).unwrap();
    set_machine_licensed(false);
    assert_eq!(
        create_instance::<IProbe>(&CLSID_LicensedProbe, CLSCTX_INPROC_SERVER).err(),
        Some(CLASS_E_NOTLICENSED)
    );
    let info = factory.get_lic_info().unwrap();
    assert_eq!((info.fRuntimeKeyAvail, info.fLicVerified), (0, 0));
    assert_eq!(factory.request_lic_key(0).err(), Some(CLASS_E_NOTLICENSED));
    let wrong = BSTR::from("not the key");
    assert_eq!(
        factory
            .create_instance_lic::<IProbe>(None, None, &wrong)
            .err(),
        Some(CLASS_E_NOTLICENSED)
    );
    let key = BSTR::from(comidl_probe::KEY);
    let probe = factory
        .create_instance_lic::<IProbe>(None, None, &key)
        .unwrap();
    assert_eq!(probe.apartment(), Ok(2));

    set_machine_licensed(true);
    let info = factory.get_lic_info().unwrap();
    assert_eq!((info.fRuntimeKeyAvail, info.fLicVerified), (1, 1));
    assert_eq!(factory.request_lic_key(0).unwrap(), comidl_probe::KEY);
    let created = create_instance::<IProbe>(&CLSID_LicensedProbe, CLSCTX_INPROC_SERVER).unwrap();
    set_machine_licensed(false);

    // The unlicensed Probe's class object has no IClassFactory2.
    let plain = get_class_object::<IUnknown>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    assert_eq!(
        plain.cast::<IClassFactory2>().err(),
        Some(comidl_runtime::E_NOINTERFACE)
    );
    drop((factory, probe, created, plain));
    all_unloaded();
}

/// Expects activation of `clsid` to fail with `hr` and a message containing every one of
/// `words`; nothing stays loaded.
fn refused(clsid: &GUID, hr: HRESULT, words: &[&str]) {
    let result = create_instance::<IUnknown>(clsid, CLSCTX_INPROC_SERVER);
    assert_eq!(result.err(), Some(hr));
    let (recorded, message) = host::take_error_message().expect("a message says why");
    assert_eq!(recorded, hr);
    for word in words {
        assert!(
            message.contains(word),
            "`{message}` should mention `{word}`"
        );
    }
    all_unloaded();
}

#[test]
fn a_module_built_for_another_runtime_abi_is_refused() {
    let _serial = serial();
    let _com = setup();
    let abi = comidl_runtime::host::ABI_VERSION.to_string();
    for (name, defines) in [
        ("libfuture.so", &[][..]),
        ("libfuture_claims_success.so", &["-DCLAIMS_SUCCESS"][..]),
    ] {
        let mut args = vec!["-shared", "-fPIC"];
        args.extend_from_slice(defines);
        let path = gcc(&["future_abi.c"], name, &args);
        let clsid = register_path(&path);
        refused(
            &clsid,
            comidl_runtime::host::E_REVISION_MISMATCH,
            &[name, "ABI version 99", &format!("ABI version {abi}")],
        );
        assert!(!is_mapped(&path), "the refused module was unloaded");
    }
}

#[test]
fn bad_servers_are_clear_errors() {
    let _serial = serial();
    let _com = setup();
    let not_a_server = gcc(
        &["not_a_server.c"],
        "libnot_a_server.so",
        &["-shared", "-fPIC"],
    );
    refused(
        &register_path(&not_a_server),
        CO_E_ERRORINDLL,
        &["libnot_a_server.so", "DllGetClassObject"],
    );

    let garbage = comidl_activation_tests::scratch().join("libgarbage.so");
    std::fs::write(&garbage, "this is not an ELF file").unwrap();
    refused(
        &register_path(&garbage),
        loader::E_BAD_EXE_FORMAT,
        &["libgarbage.so", "cannot be loaded"],
    );

    let missing = comidl_activation_tests::scratch().join("no/such/libmodule.so");
    refused(
        &register_path(&missing),
        loader::E_MOD_NOT_FOUND,
        &["no/such/libmodule.so"],
    );

    // regsvr32's errors: a missing file, a library without the export.
    let error = loader::register_server(&missing).unwrap_err();
    assert_eq!(error.hr, loader::E_MOD_NOT_FOUND);
    let error = loader::register_server(&not_a_server).unwrap_err();
    assert_eq!(error.hr, CO_E_ERRORINDLL);
    assert!(error.to_string().contains("DllRegisterServer"), "{error}");
    all_unloaded();
}

#[test]
fn the_calculator_aggregates_the_adder_across_modules() {
    use calculator_bindings::{CLSID_Adder, CLSID_Calculator, IAdder, ICalculator};
    let _serial = serial();
    let _com = setup();
    for file in ["libcomidl_adder.so", "libcomidl_calculator.so"] {
        loader::register_server(&module(file)).unwrap();
    }
    let calculator =
        create_instance::<ICalculator>(&CLSID_Calculator, CLSCTX_INPROC_SERVER).unwrap();
    let adder = calculator.cast::<IAdder>().unwrap();
    assert_eq!(adder.add(2, 3), Ok(5));
    assert_eq!(calculator.divide(7, 2), Ok((3, 1)));
    // One identity, and QI works both ways across the two modules' objects.
    assert_eq!(calculator.identity().unwrap(), adder.identity().unwrap());
    assert_eq!(adder.cast::<ICalculator>().unwrap().multiply(6, 7), Ok(42));
    // The Adder asked for directly is a separate, stand-alone object.
    let alone = create_instance::<IAdder>(&CLSID_Adder, CLSCTX_INPROC_SERVER).unwrap();
    assert_ne!(alone.identity().unwrap(), adder.identity().unwrap());
    assert!(alone.cast::<ICalculator>().is_err());
    drop((calculator, alone));
    CoFreeUnusedLibraries();
    assert_eq!(
        loader::loaded_modules().len(),
        2,
        "the aggregate still holds both modules"
    );
    drop(adder);
    all_unloaded();
}

#[test]
fn a_plain_c_host_uses_a_server_module_stand_alone() {
    let host = gcc(&["plain_host.c"], "plain_host", &["-ldl"]);
    let output = std::process::Command::new(host)
        .arg(module("libcomidl_adder.so"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "plain_host failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "plain_host: ok\n");
}
