//! `comidl check` and the exit codes of the `comidl` binary, run as a user would.

#[path = "../../compiler/tests/common/mod.rs"]
mod common;

use std::process::Command;

use common::repo_root;

fn comidl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_comidl"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("comidl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn cli_accepts_a_valid_file_silently() {
    let out = comidl(&[
        "check",
        "-I",
        "tests/fixtures",
        "tests/fixtures/interfaces.idl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert!(out.stderr.is_empty(), "stderr: {}", text(&out.stderr));
}

#[test]
fn cli_verbose_prints_a_summary() {
    let out = comidl(&[
        "check",
        "-v",
        "-I",
        "tests/fixtures",
        "tests/fixtures/preproc.idl",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(stdout.contains("tests/fixtures/preproc.idl"), "{stdout}");
}

#[test]
fn cli_defines_reach_the_preprocessor() {
    // preproc.idl has `#ifdef FIXTURE_FORCE_ERROR` / `#error`.
    let path = "tests/fixtures/preproc.idl";
    let plain = comidl(&["check", "-I", "tests/fixtures", path]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let out = comidl(&[
        "check",
        "-I",
        "tests/fixtures",
        "-D",
        "FIXTURE_FORCE_ERROR",
        path,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: #error FIXTURE_FORCE_ERROR was defined"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--> tests/fixtures/preproc.idl:"),
        "{stderr}"
    );
}

#[test]
fn cli_reports_errors_with_exit_code_1() {
    let out = comidl(&[
        "check",
        "-I",
        "tests/fixtures",
        "tests/fixtures/errors/unknown_type.idl",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: unknown type `WIDGET`"), "{stderr}");
    assert!(
        stderr.contains("--> tests/fixtures/errors/unknown_type.idl:6:5"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let missing = comidl(&["check", "tests/fixtures/no_such_file.idl"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot read"));
}

#[test]
fn cli_usage_errors_exit_with_2() {
    for args in [
        &["check", "--no-such-flag", "tests/fixtures/base.idl"][..],
        &["check"][..],
        &["frobnicate"][..],
        &[][..],
    ] {
        let out = comidl(args);
        assert_eq!(out.status.code(), Some(2), "comidl {args:?}");
        assert!(!out.stderr.is_empty(), "comidl {args:?} explains itself");
    }
    let help = comidl(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
}
