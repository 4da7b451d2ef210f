//! The parse stage: does comidl accept and reject what widl does?

use std::path::Path;
use std::process::Command;

use crate::Fatal;
use crate::classify::{Verdict, classify};
use crate::cli::Options;
use crate::corpus::Setup;
use crate::process::{ScratchDir, parallel_map, run_with_timeout};
use crate::widl::widl_verdicts;

/// Where CI keeps the ratchet's number; named in the note that asks to raise it.
const BASELINE_FILE: &str = "tests/conformance/baseline-parse";

/// `comidl check` with the run's include directories.
pub fn comidl_command(setup: &Setup, file: &Path) -> Command {
    let mut cmd = Command::new(&setup.comidl);
    cmd.arg("check");
    for dir in &setup.includes {
        cmd.arg("-I").arg(dir);
    }
    cmd.arg(file);
    cmd
}

/// Runs both tools over the corpus, prints the report and returns the exit
/// status.
pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    out!(
        "parse stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let widl = widl_verdicts(setup, jobs, opts.timeout, &scratch)?;
    let outcomes = parallel_map(&setup.files, jobs, |worker, rel| {
        let stderr = scratch.path().join(format!("comidl-{worker}.err"));
        let mut cmd = comidl_command(setup, &setup.file_path(rel));
        run_with_timeout(&mut cmd, &stderr, opts.timeout)
    });
    let root = setup.root.to_string_lossy();
    let verdicts: Vec<Verdict> = setup
        .files
        .iter()
        .zip(widl.iter().zip(&outcomes))
        .map(|(file, (widl, outcome))| {
            let midl_only = setup.midl_only.get(file).map(String::as_str);
            classify(widl, midl_only, outcome, &root)
        })
        .collect();
    Ok(report(opts, setup, &verdicts))
}

/// Counts of a run.
#[derive(Debug, PartialEq, Eq)]
struct Tally {
    passed: usize,
    failed: usize,
    beyond: usize,
}

fn tally(verdicts: &[Verdict]) -> Tally {
    let count = |pred: fn(&Verdict) -> bool| verdicts.iter().filter(|v| pred(v)).count();
    Tally {
        passed: count(|v| !matches!(v, Verdict::Fail(_))),
        failed: count(|v| matches!(v, Verdict::Fail(_))),
        beyond: count(|v| *v == Verdict::AcceptedBeyondWidl),
    }
}

/// Prints failures, the beyond-widl count, ratchet notes and the closing
/// `N passed, N failed` line (last, as CI reads it). Returns the exit status.
fn report(opts: &Options, setup: &Setup, verdicts: &[Verdict]) -> u8 {
    for (file, verdict) in setup.files.iter().zip(verdicts) {
        if let Verdict::Fail(reason) = verdict {
            out!("FAIL {}: {reason}", file.display());
        }
    }
    let counts = tally(verdicts);
    let hint = if opts.verbose || counts.beyond == 0 {
        ""
    } else {
        " (-v lists them)"
    };
    let files = if counts.beyond == 1 { "file" } else { "files" };
    out!(
        "{} {files} accepted beyond widl as listed MIDL-only cases{hint}",
        counts.beyond
    );
    if opts.verbose {
        for (file, verdict) in setup.files.iter().zip(verdicts) {
            if *verdict == Verdict::AcceptedBeyondWidl {
                let why = setup.midl_only.get(file).map(String::as_str).unwrap_or("");
                out!("  {}: {why}", file.display());
            }
        }
    }
    if let Some(note) = ratchet_note(&counts, opts.min_pass) {
        out!("{note}");
    }
    out!("{} passed, {} failed", counts.passed, counts.failed);
    exit_status(&counts, opts.min_pass)
}

fn ratchet_note(counts: &Tally, min_pass: Option<usize>) -> Option<String> {
    let min = min_pass?;
    let passed = counts.passed;
    if passed > min {
        Some(format!(
            "note: {passed} files pass, more than the baseline {min}: \
             {BASELINE_FILE} can be raised to {passed}"
        ))
    } else if passed < min {
        Some(format!(
            "error: only {passed} files pass, fewer than the baseline {min}"
        ))
    } else {
        None
    }
}

/// With a ratchet, success means no fewer passes than the baseline;
/// without one, it means no failure at all.
fn exit_status(counts: &Tally, min_pass: Option<usize>) -> u8 {
    let ok = match min_pass {
        Some(min) => counts.passed >= min,
        None => counts.failed == 0,
    };
    if ok { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Verdict> {
        vec![
            Verdict::Pass,
            Verdict::AcceptedBeyondWidl,
            Verdict::Fail("x".into()),
            Verdict::Pass,
        ]
    }

    #[test]
    fn beyond_widl_counts_as_passed() {
        let counts = tally(&sample());
        assert_eq!(
            counts,
            Tally {
                passed: 3,
                failed: 1,
                beyond: 1
            }
        );
    }

    #[test]
    fn ratchet_and_plain_exit_status() {
        let counts = tally(&sample());
        assert_eq!(exit_status(&counts, None), 1);
        assert_eq!(exit_status(&counts, Some(3)), 0);
        assert_eq!(exit_status(&counts, Some(2)), 0);
        assert_eq!(exit_status(&counts, Some(4)), 1);
        assert!(ratchet_note(&counts, Some(3)).is_none());
        assert!(
            ratchet_note(&counts, Some(2))
                .unwrap()
                .contains("raised to 3")
        );
        assert!(ratchet_note(&counts, Some(4)).unwrap().starts_with("error"));
        let clean = tally(&[Verdict::Pass]);
        assert_eq!(exit_status(&clean, None), 0);
    }
}
