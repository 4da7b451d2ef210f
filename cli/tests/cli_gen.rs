//! `comidl gen` and the widl-compatible flags, run as a build script would: the real
//! binary, real files. The registration script is checked against what the server
//! module's own DllRegisterServer writes, and a class registered from it is activated.

#[path = "../../compiler/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::probe_module;

use comidl_probe::bindings::{CLSID_Probe, IProbe};
use comidl_runtime::{CLSCTX_INPROC_SERVER, ComInit, create_instance, host};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn probe_idl() -> PathBuf {
    repo().join("tests/activation/probe/probe.idl")
}

fn calculator_idl() -> PathBuf {
    repo().join("examples/calculator/calculator.idl")
}

/// Runs comidl in `dir` with a registry that cannot be the user's own.
fn comidl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comidl"))
        .current_dir(dir)
        .args(args)
        .env("XDG_DATA_HOME", dir.join("no-user-registry"))
        .env_remove("COMIDL_REGISTRY")
        .output()
        .expect("comidl runs")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "comidl failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn idl_dir() -> String {
    repo().join("idl").display().to_string()
}

#[test]
fn registration_script_registers_what_the_module_registers() {
    let dir = tempfile::tempdir().unwrap();
    let module = probe_module();
    let module = module.to_str().unwrap();
    let idl = probe_idl();
    let script = dir.path().join("probe.reg");
    ok(&comidl(
        dir.path(),
        &[
            "-r",
            "--server-path",
            module,
            "-I",
            &idl_dir(),
            "-o",
            script.to_str().unwrap(),
            idl.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("REGEDIT4\n"), "{text}");
    assert!(text.contains("\"ThreadingModel\"=\"Both\""), "{text}");

    // One registry from the script, one from DllRegisterServer: the same keys and values.
    let from_script = dir.path().join("from-script");
    let from_module = dir.path().join("from-module");
    for d in [&from_script, &from_module] {
        std::fs::create_dir_all(d).unwrap();
    }
    let registry = |d: &Path| d.to_str().unwrap().to_string();
    ok(&comidl(
        dir.path(),
        &[
            "registry",
            "import",
            script.to_str().unwrap(),
            "--registry",
            &registry(&from_script),
        ],
    ));
    ok(&comidl(
        dir.path(),
        &["register", module, "--registry", &registry(&from_module)],
    ));
    let export = |d: &Path| {
        let out = comidl(
            dir.path(),
            &["registry", "export", "--registry", &registry(d)],
        );
        ok(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let (a, b) = (export(&from_script), export(&from_module));
    assert!(a.contains("Comidl.Probe.1"), "{a}");
    assert_eq!(a, b, "the script and DllRegisterServer disagree");

    // A class registered from the script activates and answers.
    host::set_registry_dir(Some(from_script.clone()));
    let _com = ComInit::multithreaded().unwrap();
    let probe = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER).unwrap();
    let text = probe.text().unwrap();
    assert!(!text.is_null());
    // SAFETY: the server returned a task-allocated string, ours to free.
    unsafe { comidl_runtime::CoTaskMemFree(text.cast()) };
    drop(probe);
    host::set_registry_dir(None);
}

#[test]
fn registration_script_without_a_path_has_the_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let out = comidl(
        dir.path(),
        &[
            "gen",
            "--reg",
            "-I",
            &idl_dir(),
            "-o",
            "out",
            calculator_idl().to_str().unwrap(),
        ],
    );
    ok(&out);
    let text = std::fs::read_to_string(dir.path().join("out/calculator.reg")).unwrap();
    assert_eq!(text.matches("@=\"%MODULE%\"").count(), 2, "{text}");
    assert!(
        text.contains("[HKEY_CLASSES_ROOT\\Comidl.Calculator\\CurVer]\n@=\"Comidl.Calculator.1\"")
    );
}

#[test]
fn widl_output_names() {
    let dir = tempfile::tempdir().unwrap();
    let idl = calculator_idl();
    let idl = idl.to_str().unwrap();
    let idl_dir = idl_dir();
    // One output: -o is its file name.
    ok(&comidl(
        dir.path(),
        &["-r", "-o", "one/x.reg", "-I", &idl_dir, idl],
    ));
    assert!(dir.path().join("one/x.reg").is_file());
    // Several outputs: -o is their base name, less its extension.
    ok(&comidl(
        dir.path(),
        &["-r", "--rust", "-o", "two/calc.out", "-I", &idl_dir, idl],
    ));
    assert!(dir.path().join("two/calc.reg").is_file());
    assert!(dir.path().join("two/calc.rs").is_file());
    // No -o: the input's stem, in the current directory.
    ok(&comidl(
        dir.path(),
        &["--rust", "-m64", "-I", &idl_dir, idl],
    ));
    assert!(dir.path().join("calculator.rs").is_file());
}

#[test]
fn usage_errors_exit_2_and_compile_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let idl = calculator_idl();
    let idl = idl.to_str().unwrap();
    let code = |args: &[&str]| comidl(dir.path(), args).status.code();
    let out = comidl(dir.path(), &["-p", "-I", &idl_dir(), idl]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not available yet"));
    assert_eq!(code(&["gen", "--proxy", idl]), Some(2));
    assert_eq!(code(&["gen", "-o", "x", idl]), Some(2), "no output kind");
    assert_eq!(code(&["--win32", "--win64", idl]), Some(2));
    assert_eq!(code(&["--no-such-flag", idl]), Some(2));
    assert_eq!(code(&[]), Some(2));
    // An IDL error (an import that exists nowhere): a located error, exit 1, and nothing
    // written. (comidl_base.idl itself is built in, so it no longer needs -I.)
    let broken = dir.path().join("broken.idl");
    std::fs::write(&broken, "import \"no_such_file.idl\";\ncoclass C { };\n").unwrap();
    let out = comidl(dir.path(), &["-r", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.idl:1:"));
    assert!(!dir.path().join("broken.reg").exists());
    // The calculator, which imports comidl_base.idl, builds without -I.
    assert_eq!(code(&["-r", idl]), Some(0));
    assert!(dir.path().join("calculator.reg").exists());
    assert_eq!(code(&["--help"]), Some(0));
    assert_eq!(code(&["gen", "--help"]), Some(0));
}

#[test]
fn preprocess_only_prints_the_expanded_text() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo().join("tests/fixtures");
    let file = fixtures.join("preproc.idl");
    let out = comidl(
        dir.path(),
        &[
            "-E",
            "-I",
            fixtures.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
    );
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    // Macros expanded, conditionals decided, directives and comments gone; imports stay.
    assert!(text.contains("import \"base.idl\";"), "{text}");
    assert!(text.contains("const ULONG LIMIT = 16;"), "{text}");
    assert!(
        text.contains("const ULONG AREA = ((16 + 1) * (16 + 1));"),
        "{text}"
    );
    assert!(
        !text.contains("#define") && !text.contains("MAX_ITEMS"),
        "{text}"
    );
    assert!(
        !text.contains("preproc.idl: the preprocessor"),
        "comments are blanked"
    );
    assert!(
        text.lines().all(|l| l == l.trim_end()),
        "no trailing blanks"
    );
    // Nothing is written besides stdout.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A preprocessor error is located and exits 1, with nothing on stdout.
    let bad = dir.path().join("bad.idl");
    std::fs::write(&bad, "#if 1\ntypedef long A;\n").unwrap();
    let out = comidl(dir.path(), &["-E", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.idl:1:"));
}

#[test]
fn builtin_idl_rpc_stub_flags_and_verbose_writes() {
    let dir = tempfile::tempdir().unwrap();
    let idl = dir.path().join("uses_base.idl");
    std::fs::write(
        &idl,
        "import \"comidl_base.idl\";\n[object, uuid(6d5b0d3a-6c31-4e52-9a39-1b7c2e9f4a09)]\n\
         interface IUses : IUnknown { HRESULT Ping(); }\n",
    )
    .unwrap();
    // comidl's own IDL is built in: no -I needed (a cache directory of the test's own).
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_comidl"))
            .current_dir(dir.path())
            .args(args)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .output()
            .expect("comidl runs")
    };
    let out = run(&["check", "uses_base.idl"]);
    ok(&out);
    // -v names every file written.
    let out = run(&[
        "gen",
        "--rust",
        "--c-header",
        "-v",
        "-o",
        "out",
        "uses_base.idl",
    ]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("wrote out/uses_base.rs"), "{stdout}");
    assert!(stdout.contains("wrote out/uses_base.h"), "{stdout}");
    // widl's RPC stub flags: a clear message and exit 2, nothing written.
    for flag in ["-c", "-s"] {
        let out = run(&[flag, "uses_base.idl"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("RPC client and server stubs (-c, -s) are not available yet"),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("uses_base.h").exists());
}
