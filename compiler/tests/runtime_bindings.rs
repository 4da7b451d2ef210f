//! comidl-runtime's bindings are generated from our IDL and committed, so the runtime builds
//! without the compiler (the table `COMMITTED` below says which file comes from which).
//! This test regenerates each and fails on any difference.
//!
//! To refresh after changing the IDL or the backend: `tests/regen-runtime-bindings.sh`
//! (it generates each file with `comidl gen --rust --runtime-path PATH`, `crate` or the
//! path `COMMITTED` gives, and copies it to the file `COMMITTED` names for it).

mod common;

use comidl::emit::rust::{Options, ctypes, generate};
use comidl::ir::ItemKind;

fn check(idl: &str) -> comidl::Outcome {
    let root = common::repo_root();
    let mut options = comidl::Options::default();
    options.preprocess.include_dirs.push(root.join("idl"));
    let outcome = comidl::check(&root.join("idl").join(idl), &options);
    common::assert_clean(idl, &outcome);
    outcome
}

fn assert_committed(idl: &str, committed: &str, runtime: Runtime) {
    let outcome = check(idl);
    let options = match runtime {
        Runtime::Crate => Options::for_runtime(),
        // What `comidl gen --rust --runtime-path PATH` generates: marshalling included.
        Runtime::At(path) => Options {
            runtime: path.into(),
            ..Options::default()
        },
    };
    let fresh = generate(&outcome.model, &options)
        .unwrap_or_else(|d| panic!("{}", comidl::diag::render(&outcome.sources, &d)))
        .code;
    let path = common::repo_root().join(committed);
    let committed_text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", path.display()));
    if fresh != committed_text {
        let first = fresh
            .lines()
            .zip(committed_text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(fresh.lines().count().min(committed_text.lines().count()));
        panic!(
            "{committed} is stale (first difference at line {}); regenerate it as this file's \
             header says",
            first + 1
        );
    }
}

/// Where a committed generation finds the runtime.
#[derive(Clone, Copy)]
enum Runtime {
    /// The crate holding the file is the runtime (`--runtime-path crate`).
    Crate,
    /// A path in the holding crate that re-exports what generated code names (a layer
    /// below the facade: comidl-runtime-rpc's `crate::rt`); marshalling is on.
    At(&'static str),
}

/// Every committed generation: (IDL file in idl/, generated file, runtime path).
const COMMITTED: &[(&str, &str, Runtime)] = &[
    (
        "comidl_base.idl",
        "runtime/core/src/bindings.rs",
        Runtime::Crate,
    ),
    (
        "comidl_ctypes.idl",
        "runtime/core/src/ctypes.rs",
        Runtime::Crate,
    ),
    (
        "comidl_dispenser.idl",
        "runtime/services/src/dispenser/bindings.rs",
        Runtime::Crate,
    ),
    (
        "comidl_provider.idl",
        "runtime/services/src/provider/bindings.rs",
        Runtime::Crate,
    ),
    (
        "comidl_epmapper.idl",
        "runtime/rpc/src/epm/bindings.rs",
        Runtime::At("crate::rt"),
    ),
    (
        "comidl_orpc.idl",
        "runtime/dcom/src/bindings.rs",
        Runtime::At("crate::rt"),
    ),
    (
        "comidl_activation.idl",
        "runtime/dcom/src/activation/bindings.rs",
        Runtime::At("crate::rt"),
    ),
];

#[test]
fn committed_runtime_bindings_match_a_fresh_generation() {
    for (idl, committed, runtime) in COMMITTED {
        assert_committed(idl, committed, *runtime);
    }
}

#[test]
fn every_idl_file_has_committed_bindings() {
    let dir = common::repo_root().join("idl");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".idl") {
            assert!(
                COMMITTED.iter().any(|(idl, _, _)| *idl == name),
                "idl/{name} has no committed bindings in the runtime; add it to COMMITTED"
            );
        }
    }
}

#[test]
fn every_c_type_a_stand_in_may_name_is_defined_in_the_idl() {
    // The backend's list of names and the IDL file must agree: a name without a
    // definition would make generated code refer to a type the runtime lacks.
    let outcome = check("comidl_ctypes.idl");
    let model = &outcome.model;
    let main = model.files[0].file;
    let defined: Vec<String> = model
        .items_in(main)
        .filter(|(_, item)| {
            matches!(
                item.kind,
                ItemKind::Struct(_) | ItemKind::Union(_) | ItemKind::Typedef(_)
            )
        })
        .map(|(_, item)| item.name.clone())
        .collect();
    for name in ctypes::C_TYPES {
        assert!(
            defined.iter().any(|d| d == name),
            "C_TYPES names {name}, which idl/comidl_ctypes.idl does not define"
        );
    }
    // And every record or typedef there except the helpers they use is listed.
    for name in &defined {
        let helper = name.is_empty() || name.starts_with('_') || name == "FILETIME";
        assert!(
            helper || ctypes::C_TYPES.contains(&name.as_str()),
            "idl/comidl_ctypes.idl defines {name}, which C_TYPES does not list"
        );
    }
}
