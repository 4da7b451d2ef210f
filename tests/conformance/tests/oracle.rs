//! The harness itself, run as CI runs it: a stage whose oracle did not really run must fail
//! and say so, and comidl accepting what widl rejects fails unless the file is a listed
//! MIDL-only case. Small corpora and stand-in tools written here keep it fast; the real
//! widl and Wine corpus are CI's conformance steps.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Corpus {
    dir: PathBuf,
}

impl Corpus {
    /// Two small IDL files and a directory for stand-in tools.
    fn new(name: &str) -> Corpus {
        let dir = std::env::temp_dir().join(format!("comidl-oracle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("idl")).unwrap();
        std::fs::write(dir.join("idl/a.idl"), "typedef long A;\n").unwrap();
        std::fs::write(dir.join("idl/b.idl"), "typedef long B;\n").unwrap();
        Corpus { dir }
    }

    /// A shell script standing in for a tool.
    fn tool(&self, name: &str, body: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn run(&self, widl: &Path, comidl: &Path, extra: &[&str]) -> (i32, String, String) {
        self.run_stage("parse", widl, comidl, extra)
    }

    fn run_stage(
        &self,
        stage: &str,
        widl: &Path,
        comidl: &Path,
        extra: &[&str],
    ) -> (i32, String, String) {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_comidl-conformance"))
            .args(["--stage", stage, "--jobs", "2", "--corpus"])
            .arg(self.dir.join("idl"))
            .arg("--widl")
            .arg(widl)
            .arg("--comidl")
            .arg(comidl)
            .args(extra)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }
}

impl Drop for Corpus {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// widl's accepting run: writes the header named after `-o`.
const WIDL_ACCEPTS: &str =
    r#"while [ $# -gt 1 ]; do [ "$1" = -o ] && echo '/* header */' > "$2"; shift; done"#;
/// widl's rejecting run: an error in widl's format, exit 1.
const WIDL_REJECTS: &str =
    r#"for last; do :; done; echo "$last:1: error: syntax error" >&2; exit 1"#;

#[test]
fn a_widl_that_does_not_run_fails_the_stage() {
    let corpus = Corpus::new("false");
    let comidl = corpus.tool("comidl", "exit 0");
    let (code, stdout, stderr) = corpus.run(Path::new("/bin/false"), &comidl, &[]);
    assert_eq!(code, 4, "{stdout}{stderr}");
    assert!(
        stderr.contains("widl did not run on 2 of 2 files"),
        "{stderr}"
    );
    assert!(stderr.contains("without a located error"), "{stderr}");
    assert!(!stdout.contains("passed"), "nothing is compared: {stdout}");

    // Exit 0 without a header is no verdict either.
    let (code, _, stderr) = corpus.run(Path::new("/bin/true"), &comidl, &[]);
    assert_eq!(code, 4);
    assert!(stderr.contains("wrote no header"), "{stderr}");
}

#[test]
fn a_widl_that_times_out_fails_the_stage_and_is_not_cached() {
    let corpus = Corpus::new("slow");
    let comidl = corpus.tool("comidl", "exit 0");
    let slow = corpus.tool("widl", "exec sleep 30");
    for _ in 0..2 {
        // The second run must time out again, not read a cached verdict.
        let (code, _, stderr) = corpus.run(&slow, &comidl, &["--timeout", "1"]);
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("timed out after 1 s"), "{stderr}");
    }
}

#[test]
fn verdicts_from_a_widl_that_runs() {
    let corpus = Corpus::new("runs");
    let accepts = corpus.tool("comidl", "exit 0");
    let widl = corpus.tool("widl", WIDL_ACCEPTS);
    let (code, stdout, _) = corpus.run(&widl, &accepts, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("widl accepts 2 of 2 files and rejects 0"),
        "{stdout}"
    );
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");
}

#[test]
fn accepting_what_widl_rejects_needs_a_listed_reason() {
    let corpus = Corpus::new("beyond");
    let accepts = corpus.tool("comidl", "exit 0");
    let widl = corpus.tool("widl", WIDL_REJECTS);
    let (code, stdout, _) = corpus.run(&widl, &accepts, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAIL a.idl: accepted, but widl rejects it and it is not a listed MIDL-only file: a.idl:1: error: syntax error"), "{stdout}");
    assert!(stdout.ends_with("0 passed, 2 failed\n"), "{stdout}");

    let list = corpus.dir.join("midl-only");
    std::fs::write(&list, "a.idl: MIDL accepts this form\n").unwrap();
    let (code, stdout, _) = corpus.run(
        &widl,
        &accepts,
        &["-v", "--midl-only", list.to_str().unwrap()],
    );
    assert_eq!(code, 1, "b.idl is still unexplained: {stdout}");
    assert!(
        stdout.contains("  a.idl: MIDL accepts this form"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");

    // Rejecting what widl rejects passes only with a located diagnostic.
    let located = corpus.tool(
        "comidl2",
        r#"echo "error: no" >&2; echo " --> x.idl:1:1" >&2; exit 1"#,
    );
    let (code, stdout, _) = corpus.run(&widl, &located, &[]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn the_preprocess_stage_compares_tokens_and_needs_widls_text() {
    let corpus = Corpus::new("preprocess");
    let widl = corpus.tool("widl", r#"printf '# 1 "x.idl"\ntypedef long  A;\n'"#);
    let same = corpus.tool("comidl", r#"printf 'typedef\n  long A ;\n'"#);
    let (code, stdout, _) = corpus.run_stage("preprocess", &widl, &same, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.ends_with("2 passed, 0 failed\n"), "{stdout}");

    let other = corpus.tool("comidl2", r#"printf 'typedef short A;\n'"#);
    let (code, stdout, _) = corpus.run_stage("preprocess", &widl, &other, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL a.idl: token 2 differs: widl has `long`"),
        "{stdout}"
    );

    let (code, _, stderr) = corpus.run_stage("preprocess", Path::new("/bin/false"), &same, &[]);
    assert_eq!(code, 4);
    assert!(
        stderr.contains("widl -E did not run on 2 of 2 files"),
        "{stderr}"
    );
}

#[test]
fn the_speed_benchmark_times_both_tools_writing_the_header() {
    let corpus = Corpus::new("bench");
    let widl = corpus.tool("widl", WIDL_ACCEPTS);
    // A comidl stand-in that exits 0 without writing the header has not done the work.
    let idle = corpus.tool("comidl", "exit 0");
    let out = Command::new(env!("CARGO_BIN_EXE_comidl-conformance"))
        .args(["bench", "--repeat", "1", "--corpus"])
        .arg(corpus.dir.join("idl"))
        .arg("--widl")
        .arg(&widl)
        .arg("--comidl")
        .arg(&idle)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("the 2 files widl accepts"), "{stdout}");
    assert!(
        stdout.contains("note: comidl did not accept 2 of 2 files"),
        "{stdout}"
    );
    assert!(stdout.contains("ratio comidl/widl: "), "{stdout}");
    assert!(stdout.contains("(target <= 0.5: "), "{stdout}");
}

/// A file of each shape the mutation stage edits, so a small corpus yields mutations.
const MUTABLE: &str = "import \"a.idl\";\n\
typedef struct tagS { long n; [size_is(n)] long *p; } S;\n\
[object, uuid(12345678-1234-1234-1234-123456789abc)]\n\
interface IA : IUnknown\n{\n    HRESULT f([in] long n, [in, size_is(n)] long *x);\n}\n";

/// Accepts a file only when it is the corpus's own text: every mutation is rejected,
/// with a located error, as widl would.
fn oracle_by_copy(corpus: &Corpus, name: &str, accept: &str, reject: &str) -> PathBuf {
    let idl = corpus.dir.join("idl");
    corpus.tool(
        name,
        &format!(
            "for last; do :; done\nif cmp -s \"$last\" \"{}/$(basename \"$last\")\"; then {accept}; else {reject}; fi",
            idl.display()
        ),
    )
}

#[test]
fn the_mutation_stage_needs_located_errors_and_enough_mutations() {
    let corpus = Corpus::new("mutation");
    std::fs::write(corpus.dir.join("idl/b.idl"), MUTABLE).unwrap();
    let widl = oracle_by_copy(
        &corpus,
        "widl",
        r#"while [ $# -gt 1 ]; do [ "$1" = -o ] && echo '/* header */' > "$2"; shift; done"#,
        r#"echo "$last:1: error: mutated" >&2; exit 1"#,
    );
    // A comidl that accepts everything fails every mutation widl rejects.
    let (code, stdout, _) = corpus.run_stage("mutation", &widl, Path::new("/bin/true"), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("[out-not-pointer]: accepted; widl: b.idl:1: error: mutated"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 passed, "), "{stdout}");

    // One that rejects each mutation with an error in the mutated file passes them all,
    // but a corpus this small cannot reach the stage's minimum count, so it still fails.
    let located = oracle_by_copy(
        &corpus,
        "comidl",
        "exit 0",
        r#"echo "error: no" >&2; echo "  --> $last:1:1" >&2; exit 1"#,
    );
    let (code, stdout, _) = corpus.run_stage("mutation", &widl, &located, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("at least 300 must"), "{stdout}");
    assert!(
        stdout.ends_with(" failed\n") && stdout.contains(" passed, 0 failed"),
        "{stdout}"
    );

    // An error located in another file is not the mutation's error.
    let elsewhere = oracle_by_copy(
        &corpus,
        "comidl2",
        "exit 0",
        r#"echo "error: no" >&2; echo "  --> /elsewhere.idl:1:1" >&2; exit 1"#,
    );
    let (code, stdout, _) = corpus.run_stage("mutation", &widl, &elsewhere, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("no error is located in the mutated file"),
        "{stdout}"
    );

    // And a widl that does not run stops the stage.
    let (code, _, stderr) = corpus.run_stage("mutation", Path::new("/bin/false"), &located, &[]);
    assert_eq!(code, 4, "{stderr}");
}
