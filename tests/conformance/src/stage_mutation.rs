//! The mutation stage: does comidl reject, with a located error, what widl rejects?
//!
//! The parse stage only sees Wine's files, which are nearly all valid; errors need invalid
//! input. So every file widl accepts is broken on purpose, one small edit at a time (see
//! [`crate::mutate`] for the kinds), the mutated copy written under the file's own name
//! into a scratch directory, and both tools run on it with the parse stage's command lines
//! (imports still resolve from the corpus's include directories).
//!
//! widl is the oracle: a mutation counts only when widl rejects it with a located error.
//! A counted mutation passes when comidl exits 1 with an error located (`--> path:line:col`)
//! in the mutated file; whether that location is on the edited lines is reported too.
//! Mutations widl accepts are not errors by its rules: they are counted per kind and listed
//! with `-v`, not judged. Each file is also run unmutated from the scratch directory (the
//! control): widl must accept it there, or its mutations are left out, and comidl must
//! accept it too.
//!
//! widl's verdicts are cached per mutated text in `<target>/conformance/widl-mutation.tsv`,
//! keyed by everything the parse stage's cache key covers plus the file's name and mutated
//! text; only real verdicts are written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::Fatal;
use crate::classify::{abnormal, location};
use crate::cli::Options;
use crate::corpus::Setup;
use crate::mutate::{self, Edit, Kind};
use crate::process::{Outcome, ScratchDir, parallel_map, run_with_timeout};
use crate::stage_parse::comidl_command;
use crate::widl::{WidlVerdict, cache_key, judge, oracle_missing, widl_command, widl_verdicts};

/// At most this many mutations of one kind in one file, so one file cannot fill a kind.
const PER_FILE: usize = 2;
/// At most this many mutations of one kind in all, so a run stays within a couple of
/// minutes on two cores.
const PER_KIND: usize = 30;
/// A run that counts fewer mutations (widl rejects) or fewer kinds fails: the stage must
/// not pass by shrinking.
const MIN_COUNTED: usize = 300;
const MIN_KINDS: usize = 20;
const CACHE_FILE: &str = "widl-mutation.tsv";
/// Changes whenever the cache's lines change meaning.
const CACHE_FORMAT: &str = "mutation-verdicts-1";

/// One run of both tools: a corpus file, mutated (`kind` set) or not (the control).
struct Job {
    file: PathBuf,
    kind: Option<Kind>,
    text: String,
    lines: (usize, usize),
    key: Option<u64>,
}

impl Job {
    fn describe(&self) -> String {
        match self.kind {
            Some(kind) => format!("{}:{} [{}]", self.file.display(), self.lines.0, kind.name),
            None => format!("{} [unmutated copy]", self.file.display()),
        }
    }
}

/// What comidl did with a mutation widl rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Rejected with an error in the mutated file; `on_line`: on the edited lines.
    Pass {
        on_line: bool,
    },
    Fail(String),
}

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs_n = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance-mutation")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    out!(
        "mutation stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let verdicts = widl_verdicts(setup, jobs_n, opts.timeout, &scratch)?;
    let accepted: Vec<&PathBuf> = setup
        .files
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.accepts())
        .map(|(f, _)| f)
        .collect();
    let base_key = cache_key(setup).ok();
    let jobs = plan(setup, &accepted, base_key);
    let mutations = jobs.iter().filter(|j| j.kind.is_some()).count();
    out!(
        "{mutations} mutations of {} kinds in {} files",
        mutate::ALL.len(),
        jobs.len() - mutations
    );

    // widl first, from the cache where it can.
    let cache_path = setup.work_dir.join(CACHE_FILE);
    let cached = load_cache(&cache_path);
    let widl_runs = parallel_map(&jobs, jobs_n, |worker, job| {
        if let Some(v) = job.key.and_then(|k| cached.get(&k)) {
            return Ok(v.clone());
        }
        let dir = worker_dir(&scratch, worker);
        let file = write_job(&dir, job).map_err(|e| format!("cannot write the copy: {e}"))?;
        let header = dir.join("widl.h");
        let _ = std::fs::remove_file(&header);
        let mut cmd = widl_command(setup, &file, &header);
        let outcome = run_with_timeout(&mut cmd, &dir.join("widl.err"), opts.timeout);
        let wrote_header = std::fs::metadata(&header).is_ok_and(|m| m.len() > 0);
        // The scratch path changes every run (and the worker with it); the cached message
        // must not carry it.
        let prefix = format!("{}/", dir.display());
        judge(&outcome, wrote_header).map(|v| match v {
            WidlVerdict::Rejects(e) => WidlVerdict::Rejects(e.replace(&prefix, "")),
            accepts => accepts,
        })
    });
    let real: Vec<(u64, &WidlVerdict)> = jobs
        .iter()
        .zip(&widl_runs)
        .filter_map(|(j, r)| Some((j.key?, r.as_ref().ok()?)))
        .collect();
    if let Err(err) = save_cache(&cache_path, &real) {
        eprintln!("note: could not write {}: {err}", cache_path.display());
    }
    let failed: Vec<String> = jobs
        .iter()
        .zip(&widl_runs)
        .filter_map(|(j, r)| {
            r.as_ref()
                .err()
                .map(|why| format!("{}: {why}", j.describe()))
        })
        .collect();
    if !failed.is_empty() {
        return Err(oracle_missing(
            "widl",
            &setup.widl,
            &failed,
            jobs.len(),
            "mutated or copied files",
        ));
    }
    let widl: Vec<WidlVerdict> = widl_runs.into_iter().flatten().collect();

    // A file whose unmutated copy widl rejects cannot tell what the mutation broke.
    let mut unusable: Vec<&Path> = Vec::new();
    for (job, verdict) in jobs.iter().zip(&widl) {
        if job.kind.is_none() && !verdict.accepts() {
            unusable.push(&job.file);
        }
    }

    // comidl on the controls and on every mutation widl rejects.
    let to_judge: Vec<usize> = (0..jobs.len())
        .filter(|&i| !unusable.contains(&jobs[i].file.as_path()))
        .filter(|&i| jobs[i].kind.is_none() || !widl[i].accepts())
        .collect();
    let judged = parallel_map(&to_judge, jobs_n, |worker, &index| {
        let job = &jobs[index];
        let dir = worker_dir(&scratch, worker);
        let file = match write_job(&dir, job) {
            Ok(file) => file,
            Err(e) => return Judged::Fail(format!("cannot write the copy: {e}")),
        };
        let mut cmd = comidl_command(setup, &file);
        let outcome = run_with_timeout(&mut cmd, &dir.join("comidl.err"), opts.timeout);
        match job.kind {
            Some(_) => judge_comidl(&outcome, &file, job.lines),
            None => judge_control(&outcome),
        }
    });
    let results: HashMap<usize, Judged> = to_judge.into_iter().zip(judged).collect();
    Ok(report(opts, &jobs, &widl, &results, &unusable))
}

/// The mutations to run, and one control per file that has any: at most [`PER_FILE`]
/// sites of a kind per file and [`PER_KIND`] of a kind in all, chosen by a hash of the
/// kind, file and site so the choice is spread over the corpus but the same every run.
fn plan(setup: &Setup, accepted: &[&PathBuf], base_key: Option<u64>) -> Vec<Job> {
    // Edits first, texts only for the chosen ones: a copy of every file per site would
    // not fit in memory.
    let mut by_kind: BTreeMap<&'static str, Vec<(u64, &PathBuf, Kind, Edit)>> = BTreeMap::new();
    let mut texts: BTreeMap<&PathBuf, String> = BTreeMap::new();
    for &file in accepted {
        // A file that cannot be read as text offers no sites.
        let Ok(text) = std::fs::read_to_string(setup.file_path(file)) else {
            continue;
        };
        for (kind, edits) in mutate::sites(&text) {
            let mut ranked: Vec<(u64, Edit)> = edits
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let hash = fnv(&[kind.name.as_bytes(), path_bytes(file), &i.to_le_bytes()]);
                    (hash, e)
                })
                .collect();
            ranked.sort_by_key(|(h, _)| *h);
            let list = by_kind.entry(kind.name).or_default();
            for (hash, edit) in ranked.into_iter().take(PER_FILE) {
                list.push((hash, file, kind, edit));
            }
        }
        texts.insert(file, text);
    }
    let mut jobs = Vec::new();
    for (_, mut list) in by_kind {
        list.sort_by_key(|(h, ..)| *h);
        for (_, file, kind, edit) in list.into_iter().take(PER_KIND) {
            let Some(m) = texts.get(file).and_then(|t| edit.apply(kind, t)) else {
                continue;
            };
            jobs.push(Job {
                file: file.clone(),
                kind: Some(kind),
                key: base_key.map(|b| job_key(b, file, &m.text)),
                text: m.text,
                lines: m.lines,
            });
        }
    }
    // Report order: by kind as listed in `mutate::ALL`, then file and line.
    let rank = |k: Option<Kind>| k.and_then(|k| mutate::ALL.iter().position(|a| *a == k));
    jobs.sort_by(|a, b| (rank(a.kind), &a.file, a.lines).cmp(&(rank(b.kind), &b.file, b.lines)));
    let mut used: Vec<PathBuf> = jobs.iter().map(|j| j.file.clone()).collect();
    used.dedup();
    used.sort();
    used.dedup();
    for file in used {
        if let Some(text) = texts.remove(&file) {
            let key = base_key.map(|b| job_key(b, &file, &text));
            jobs.push(Job {
                file,
                kind: None,
                text,
                lines: (0, 0),
                key,
            });
        }
    }
    jobs
}

fn worker_dir(scratch: &ScratchDir, worker: usize) -> PathBuf {
    scratch.path().join(format!("w{worker}"))
}

/// Writes the job's text under the file's own name into `dir`, emptied first, returning
/// its path. Both tools look for imports beside the file first: a copy left by an earlier
/// job would stand in for the real file.
fn write_job(dir: &Path, job: &Job) -> std::io::Result<PathBuf> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(dir)?;
    let name = job.file.file_name().unwrap_or(job.file.as_os_str());
    let path = dir.join(name);
    std::fs::write(&path, &job.text)?;
    Ok(path)
}

/// A mutation widl rejects: comidl must exit 1 with an error located in `file`.
pub fn judge_comidl(outcome: &Outcome, file: &Path, lines: (usize, usize)) -> Judged {
    if let Some(reason) = abnormal(outcome) {
        return Judged::Fail(reason);
    }
    if outcome.exit.success() {
        return Judged::Fail("accepted".to_string());
    }
    let errors = error_locations(&outcome.stderr);
    let in_file: Vec<usize> = errors
        .iter()
        .filter(|(path, _)| same_file(path, file))
        .map(|(_, line)| *line)
        .collect();
    if in_file.is_empty() {
        let first = match errors.first() {
            Some((path, line)) => format!("the first is at {path}:{line}"),
            None => "no error has a location".to_string(),
        };
        return Judged::Fail(format!(
            "rejected, but no error is located in the mutated file ({first})"
        ));
    }
    let on_line = in_file.iter().any(|l| (lines.0..=lines.1).contains(l));
    Judged::Pass { on_line }
}

/// The unmutated copy widl accepts: comidl must accept it too.
fn judge_control(outcome: &Outcome) -> Judged {
    if let Some(reason) = abnormal(outcome) {
        return Judged::Fail(reason);
    }
    if outcome.exit.success() {
        return Judged::Pass { on_line: false };
    }
    let first = error_locations(&outcome.stderr)
        .first()
        .map(|(p, l)| format!(" at {p}:{l}"))
        .unwrap_or_default();
    Judged::Fail(format!("rejected the unmutated copy{first}"))
}

/// The primary location (`--> path:line:col`, the first after the header) of every error
/// diagnostic on comidl's stderr; warnings and notes are skipped.
fn error_locations(stderr: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut in_error = false;
    for line in stderr.lines() {
        if line.starts_with("error") {
            in_error = true;
        } else if line.starts_with("warning") || line.starts_with("note") {
            in_error = false;
        } else if in_error && let Some(loc) = location(line) {
            in_error = false;
            let mut parts = loc.rsplitn(3, ':');
            let _col = parts.next();
            let row = parts.next().and_then(|r| r.parse().ok()).unwrap_or(0);
            let path = parts.next().unwrap_or("").to_string();
            found.push((path, row));
        }
    }
    found
}

fn same_file(printed: &str, file: &Path) -> bool {
    let printed = Path::new(printed);
    printed == file
        || matches!((printed.canonicalize(), file.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Per-kind counts, failures, and the closing `N passed, N failed` line. Returns the exit
/// status.
fn report(
    opts: &Options,
    jobs: &[Job],
    widl: &[WidlVerdict],
    results: &HashMap<usize, Judged>,
    unusable: &[&Path],
) -> u8 {
    #[derive(Default)]
    struct Count {
        counted: usize,
        passed: usize,
        on_line: usize,
        widl_accepts: usize,
    }
    let mut counts: BTreeMap<usize, Count> = BTreeMap::new();
    let (mut passed, mut failed, mut on_line) = (0, 0, 0);
    let mut control_failures = 0;
    for (index, job) in jobs.iter().enumerate() {
        let Some(kind) = job.kind else {
            if let Some(Judged::Fail(why)) = results.get(&index) {
                control_failures += 1;
                out!("FAIL {}: {why}", job.describe());
            }
            continue;
        };
        let rank = mutate::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let count = counts.entry(rank).or_default();
        if unusable.contains(&job.file.as_path()) {
            continue;
        }
        if widl[index].accepts() {
            count.widl_accepts += 1;
            continue;
        }
        count.counted += 1;
        match results.get(&index) {
            Some(Judged::Pass { on_line: exact }) => {
                count.passed += 1;
                passed += 1;
                if *exact {
                    count.on_line += 1;
                    on_line += 1;
                }
            }
            Some(Judged::Fail(why)) => {
                failed += 1;
                let WidlVerdict::Rejects(error) = &widl[index] else {
                    continue;
                };
                out!("FAIL {}: {why}; widl: {error}", job.describe());
            }
            None => {}
        }
    }
    out!("per kind: counted (widl rejects), passed, on the edited line; widl accepts");
    for (rank, c) in &counts {
        let name = mutate::ALL.get(*rank).map_or("?", |k| k.name);
        out!(
            "  {name:<30} {:>3} counted, {:>3} passed, {:>3} on the line; {:>3} widl accepts",
            c.counted,
            c.passed,
            c.on_line,
            c.widl_accepts
        );
    }
    if opts.verbose {
        out!("mutations widl accepts (not counted):");
        for (job, verdict) in jobs.iter().zip(widl) {
            if job.kind.is_some() && verdict.accepts() {
                out!("  {}", job.describe());
            }
        }
    }
    if !unusable.is_empty() {
        out!(
            "note: {} files left out: widl rejects their unmutated copy in a scratch directory",
            unusable.len()
        );
    }
    let counted = passed + failed;
    let kinds = counts.values().filter(|c| c.counted > 0).count();
    out!("{on_line} of {passed} passing mutations are located on the edited lines");
    let mut short = false;
    if counted < MIN_COUNTED {
        short = true;
        out!(
            "error: only {counted} mutations count (widl rejects them); at least {MIN_COUNTED} must"
        );
    }
    if kinds < MIN_KINDS {
        short = true;
        out!("error: only {kinds} kinds have a mutation widl rejects; at least {MIN_KINDS} must");
    }
    if control_failures > 0 {
        out!("error: comidl rejects {control_failures} unmutated copies that widl accepts");
    }
    out!("{passed} passed, {failed} failed");
    if failed == 0 && control_failures == 0 && !short {
        0
    } else {
        1
    }
}

/// FNV-1a over the parts, each followed by a 0 byte: a hash that is the same on every
/// build, unlike std's, so the choice of sites never changes under a new Rust.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0u8]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn path_bytes(path: &Path) -> &[u8] {
    path.to_str().map_or(&[], str::as_bytes)
}

fn job_key(base: u64, file: &Path, text: &str) -> u64 {
    fnv(&[
        CACHE_FORMAT.as_bytes(),
        &base.to_le_bytes(),
        path_bytes(file),
        text.as_bytes(),
    ])
}

/// `HEX<TAB>accepts` or `HEX<TAB>rejects<TAB>error` lines, after a format line.
fn load_cache(path: &Path) -> HashMap<u64, WidlVerdict> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    let mut lines = text.lines();
    if lines.next() != Some(&format!("# {CACHE_FORMAT}")) {
        return HashMap::new();
    }
    lines
        .filter_map(|line| {
            let (key, verdict) = line.split_once('\t')?;
            let key = u64::from_str_radix(key, 16).ok()?;
            let verdict = match verdict.split_once('\t') {
                Some(("rejects", error)) => WidlVerdict::Rejects(error.to_string()),
                None if verdict == "accepts" => WidlVerdict::Accepts,
                _ => return None,
            };
            Some((key, verdict))
        })
        .collect()
}

fn save_cache(path: &Path, verdicts: &[(u64, &WidlVerdict)]) -> std::io::Result<()> {
    let mut text = format!("# {CACHE_FORMAT}\n");
    for (key, verdict) in verdicts {
        let verdict = match verdict {
            WidlVerdict::Accepts => "accepts".to_string(),
            WidlVerdict::Rejects(e) => format!("rejects\t{}", e.replace(['\t', '\n'], " ")),
        };
        text.push_str(&format!("{key:016x}\t{verdict}\n"));
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    // Write then rename, so a concurrent reader never sees half a file.
    let partial = path.with_extension("tsv.partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Exit;

    fn out(code: i32, stderr: &str) -> Outcome {
        Outcome {
            exit: Exit::Code(code),
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn a_pass_needs_an_error_located_in_the_mutated_file() {
        let file = Path::new("/s/w0/a.idl");
        let here = "warning: w\n  --> /s/w0/a.idl:3:1\nerror: e\n  --> /s/w0/a.idl:7:2\n";
        assert_eq!(
            judge_comidl(&out(1, here), file, (7, 7)),
            Judged::Pass { on_line: true }
        );
        assert_eq!(
            judge_comidl(&out(1, here), file, (3, 4)),
            Judged::Pass { on_line: false },
            "the warning's line does not count"
        );
        let elsewhere = "error: e\n  --> /inc/b.idl:7:2\n";
        assert!(matches!(
            judge_comidl(&out(1, elsewhere), file, (7, 7)),
            Judged::Fail(why) if why.contains("the first is at /inc/b.idl:7")
        ));
        let only_warning = "warning: w\n  --> /s/w0/a.idl:3:1\n";
        assert!(matches!(
            judge_comidl(&out(1, only_warning), file, (3, 3)),
            Judged::Fail(_)
        ));
        assert_eq!(
            judge_comidl(&out(0, ""), file, (1, 1)),
            Judged::Fail("accepted".into())
        );
        assert!(matches!(
            judge_comidl(&out(2, here), file, (7, 7)),
            Judged::Fail(_)
        ));
        let panic = "thread 'main' panicked at x.rs:1:1\nerror: e\n  --> /s/w0/a.idl:7:2\n";
        assert!(matches!(
            judge_comidl(&out(1, panic), file, (7, 7)),
            Judged::Fail(_)
        ));
    }

    #[test]
    fn cache_round_trip() {
        let scratch = ScratchDir::new("comidl-conformance-test-mutcache").unwrap();
        let path = scratch.path().join("m.tsv");
        let rejects = WidlVerdict::Rejects("a.idl:3: error: x\ty".into());
        save_cache(&path, &[(1, &WidlVerdict::Accepts), (0xabc, &rejects)]).unwrap();
        let loaded = load_cache(&path);
        assert_eq!(loaded[&1], WidlVerdict::Accepts);
        assert_eq!(
            loaded[&0xabc],
            WidlVerdict::Rejects("a.idl:3: error: x y".into())
        );
    }

    #[test]
    fn the_hash_is_fixed() {
        // FNV-1a of "a\0": the choice of sites must not change between builds.
        assert_eq!(fnv(&[b"a"]), 0x89be207b544f1e4);
        assert_ne!(fnv(&[b"ab", b"c"]), fnv(&[b"a", b"bc"]));
    }
}
