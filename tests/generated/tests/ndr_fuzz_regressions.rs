//! The NDR fuzz harness (src/ndr_fuzz.rs, fuzz target `ndr`) under `cargo test`: every input
//! in ndr_regressions/ (each once made the engine fail: a crash, a leak, memory written
//! past a caller's buffer) and every seed must now run clean.
//!
//! A regression file is named `<procedure>--<what>.bin`, the procedure as
//! `ndr_fuzz::key` gives it (`Interface.Method.opnum`): its first byte (the procedure's
//! index) is set from the name, so the file stays valid when fixtures add procedures.
//! `<what>.refused.bin` must be refused, `<what>.accepted.bin` accepted; others either.

use std::path::Path;

use comidl_generated_tests::ndr_fuzz::{self, Outcome, index_of, key, procs, run};

#[test]
fn procedure_keys_are_unique() {
    let mut names: Vec<_> = procs().iter().map(|&p| key(p)).collect();
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all, "two procedures share a name");
    assert!(
        all <= 256,
        "byte 0 of an input picks one of at most 256 procedures"
    );
}

#[test]
fn every_regression_runs_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ndr_regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/ndr_regressions exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name");
        let proc = file
            .split_once("--")
            .map(|(p, _)| p.to_string())
            .unwrap_or_else(|| panic!("{file}: not named <procedure>--<what>.bin"));
        let index = index_of(&proc).unwrap_or_else(|| panic!("{file}: no procedure {proc}"));
        let mut input = std::fs::read(&path).expect("readable");
        assert!(input.len() >= 3, "{file}: shorter than the header");
        input[0] = index as u8;
        eprintln!("{file}");
        let outcome = run(&input);
        if file.ends_with(".refused.bin") {
            assert_eq!(outcome, Outcome::Refused, "{file}");
        } else if file.ends_with(".accepted.bin") {
            assert_eq!(outcome, Outcome::Accepted, "{file}");
        }
    }
}

#[test]
fn every_seed_runs_clean() {
    let seeds = ndr_fuzz::seeds();
    // Most procedures give at least a request.
    assert!(seeds.len() > procs().len(), "{} seeds", seeds.len());
    for (name, input) in seeds {
        eprintln!("{name}");
        run(&input);
    }
}
