//! The RPC server's fuzz harness (src/rpc_fuzz.rs, fuzz target `rpc_server`) under
//! `cargo test`: every seed (a valid conversation per interface) and every input in
//! rpc_regressions/ (each once made the server fail) must run clean, and the seeds must
//! really reach the calls: the server answers most of them with responses.

use std::path::Path;

use comidl_generated_tests::rpc_fuzz::{answers, run, seeds};
use comidl_runtime::rpc::Body;

#[test]
fn every_seed_runs_clean_and_reaches_the_calls() {
    let seeds = seeds();
    assert!(seeds.len() > 10, "{} seeds", seeds.len());
    let (mut responses, mut faults) = (0, 0);
    for (name, input) in &seeds {
        run(input);
        let pdus = answers(input);
        assert!(
            matches!(pdus.first().map(|p| &p.body), Some(Body::BindAck(a)) if a.results[0].result == 0),
            "{name}: the bind is not accepted"
        );
        for p in &pdus[1..] {
            match p.body {
                Body::Response { .. } => responses += 1,
                Body::Fault { .. } => faults += 1,
                _ => panic!("{name}: unexpected {p:?}"),
            }
        }
    }
    // Requests the NDR seeds made valid decode; the implementation does nothing, so some
    // replies ([ref] [out] values left NULL) cannot be marshalled and fault.
    assert!(responses > faults, "{responses} responses, {faults} faults");
}

#[test]
fn every_regression_runs_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rpc_regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/rpc_regressions exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    for path in files {
        let input = std::fs::read(&path).expect("a regression input");
        run(&input);
    }
}
