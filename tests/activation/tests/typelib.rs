//! Type library registration through a real module: the Calculator server carries
//! calculator.winmd (written by comidl-build), its DllRegisterServer registers it, the
//! runtime loads it back by LIBID, and DllUnregisterServer removes it.

use std::path::PathBuf;

use calculator_bindings::{IID_IAdder, IID_ICalculator, LIBID_CalculatorLib, TYPE_LIBRARY};
use comidl_activation_tests::{module, private_registry, serial};
use comidl_runtime::registry::{Registry, Scope};
use comidl_runtime::typelib::{self, LibraryInfo, TYPE_E_CANTLOADLIBRARY, TYPE_E_LIBNOTREGISTERED};
use comidl_runtime::{host, loader};

const CALCULATOR: &str = "libcomidl_calculator.so";

fn snapshot_string(key: &str, name: &str) -> Option<String> {
    let snapshot = Registry::open_default().unwrap().snapshot().unwrap();
    snapshot.tree().string(key, name).map(str::to_string)
}

#[test]
fn the_module_registers_its_type_library_and_unregisters_it() {
    let _serial = serial();
    private_registry();
    let libid = LIBID_CalculatorLib;
    loader::register_server(&module(CALCULATOR)).expect("the Calculator registers");

    // The keys Windows writes, versions in hex.
    let key = format!("TypeLib\\{libid}\\1.0");
    assert_eq!(
        snapshot_string(&key, "").as_deref(),
        Some("comidl calculator example")
    );
    let stored = PathBuf::from(snapshot_string(&format!("{key}\\0\\win64"), "").unwrap());
    assert_eq!(std::fs::read(&stored).unwrap(), TYPE_LIBRARY);
    assert_eq!(
        snapshot_string(&format!("{key}\\FLAGS"), "").as_deref(),
        Some("0")
    );
    for (iid, name) in [(IID_IAdder, "IAdder"), (IID_ICalculator, "ICalculator")] {
        let interface = format!("Interface\\{iid}");
        assert_eq!(snapshot_string(&interface, "").as_deref(), Some(name));
        let back = format!("{interface}\\TypeLib");
        assert_eq!(snapshot_string(&back, ""), Some(libid.to_string()));
        assert_eq!(snapshot_string(&back, "Version").as_deref(), Some("1.0"));
    }

    // Loaded back by LIBID: the library, its interfaces and their methods.
    let library = typelib::load_registered(&libid, 1, 0).expect("the library loads");
    let info = library.info();
    assert_eq!((info.libid, info.major, info.minor), (libid, 1, 0));
    assert_eq!(info.name, "CalculatorLib");
    assert_eq!(
        info.interfaces,
        // In the library's order: first mention first (Adder lists IAdder).
        vec![
            (IID_IAdder, "IAdder".to_string()),
            (IID_ICalculator, "ICalculator".to_string())
        ]
    );
    assert_eq!(library.path(), stored);
    let calculator = library
        .metadata()
        .get(&info.namespace, "ICalculator")
        .next()
        .expect("ICalculator is in the metadata");
    let methods: Vec<&str> = calculator.methods().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        ["Subtract", "Multiply", "Divide", "Fold", "FoldObserved"]
    );

    // Windows's version rule: same major, highest minor at least the one asked for.
    assert_eq!(
        typelib::load_registered(&libid, 2, 0).unwrap_err(),
        TYPE_E_LIBNOTREGISTERED
    );
    assert_eq!(
        typelib::load_registered(&libid, 1, 1).unwrap_err(),
        TYPE_E_LIBNOTREGISTERED
    );
    assert!(
        host::take_error_message()
            .unwrap()
            .1
            .contains("not registered")
    );

    loader::unregister_server(&module(CALCULATOR)).expect("the Calculator unregisters");
    assert_eq!(snapshot_string(&key, ""), None);
    assert_eq!(snapshot_string(&format!("TypeLib\\{libid}"), ""), None);
    assert_eq!(
        snapshot_string(&format!("Interface\\{IID_IAdder}"), ""),
        None
    );
    assert!(!stored.exists(), "the stored .winmd is removed");
    assert_eq!(
        typelib::load_registered(&libid, 1, 0).unwrap_err(),
        TYPE_E_LIBNOTREGISTERED
    );
}

#[test]
fn a_damaged_type_library_is_an_error_not_a_crash() {
    let _serial = serial();
    private_registry();
    let info = typelib::register(TYPE_LIBRARY, Scope::User).unwrap();
    let path = typelib::registered_path(&info.libid, 1, 0).unwrap();

    // Garbage where the library was.
    std::fs::write(&path, b"MZ but not metadata").unwrap();
    assert_eq!(
        typelib::load_registered(&info.libid, 1, 0).unwrap_err(),
        TYPE_E_CANTLOADLIBRARY
    );
    assert!(
        host::take_error_message()
            .unwrap()
            .1
            .contains(&*path.to_string_lossy())
    );
    // The file gone.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        typelib::load_registered(&info.libid, 1, 0).unwrap_err(),
        TYPE_E_CANTLOADLIBRARY
    );
    typelib::unregister(&info.libid, 1, 0, Scope::User).unwrap();
    assert_eq!(
        typelib::unregister(&info.libid, 1, 0, Scope::User).unwrap_err(),
        TYPE_E_LIBNOTREGISTERED
    );

    // A stored file truncated or with one byte changed is refused before it is read.
    let before = Registry::open_default().unwrap().snapshot().unwrap();
    let info = typelib::register(TYPE_LIBRARY, Scope::User).unwrap();
    let path = typelib::registered_path(&info.libid, 1, 0).unwrap();
    for len in [0, 1, TYPE_LIBRARY.len() / 2, TYPE_LIBRARY.len() - 1] {
        std::fs::write(&path, &TYPE_LIBRARY[..len]).unwrap();
        assert_eq!(
            typelib::load_registered(&info.libid, 1, 0).unwrap_err(),
            TYPE_E_CANTLOADLIBRARY
        );
        assert!(host::take_error_message().unwrap().1.contains("SHA-1"));
    }
    for i in (0..TYPE_LIBRARY.len()).step_by(97) {
        let mut bytes = TYPE_LIBRARY.to_vec();
        bytes[i] ^= 0xA5;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            typelib::load_registered(&info.libid, 1, 0).unwrap_err(),
            TYPE_E_CANTLOADLIBRARY
        );
    }
    std::fs::write(&path, TYPE_LIBRARY).unwrap();
    assert!(typelib::load_registered(&info.libid, 1, 0).is_ok());
    typelib::unregister(&info.libid, 1, 0, Scope::User).unwrap();
    // Bytes without a library class are refused and register nothing.
    assert_eq!(
        LibraryInfo::parse(b"not metadata at all").unwrap_err(),
        TYPE_E_CANTLOADLIBRARY
    );
    assert!(typelib::register(b"not metadata at all", Scope::User).is_err());
    let after = Registry::open_default().unwrap().snapshot().unwrap();
    assert_eq!(
        comidl_runtime::registry::format(before.tree(), None),
        comidl_runtime::registry::format(after.tree(), None)
    );
}
