//! The reference side: running widl, judging what it said, and caching its verdicts.
//!
//! widl is the oracle, so a run of it counts only when it clearly said something: it
//! accepts a file when it exits 0 and writes the header, and rejects one when it exits
//! non-zero with an error located in widl's own format (`path:line: error: ...`). Anything
//! else (no header, an exit without a located error, a signal, a timeout, a binary that
//! cannot start) means widl did not really run on that file, and the stage stops instead
//! of comparing comidl with nothing.
//!
//! Verdicts only change when widl, its arguments or the files change, so they are kept in
//! `<target>/conformance/widl-parse.tsv` under a key hashed from all of those and re-used
//! while the key matches. Only real verdicts are stored: a run in which widl failed to
//! run on any file writes no cache, so the next run tries again.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use crate::Fatal;
use crate::corpus::{Setup, list_files};
use crate::process::{Exit, Outcome, ScratchDir, parallel_map, run_with_timeout};

/// widl's flags before the includes: no system includes, a 64-bit target.
pub const WIDL_FLAGS: [&str; 2] = ["--nostdinc", "-m64"];
const CACHE_FILE: &str = "widl-parse.tsv";
/// Changes whenever the cache's lines change meaning, so an old cache is not misread.
const CACHE_FORMAT: &str = "verdicts-2";
/// How many files without a verdict the error names.
const SHOWN_FAILURES: usize = 5;

/// What widl said about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidlVerdict {
    Accepts,
    /// Rejected, with widl's first located error line.
    Rejects(String),
}

impl WidlVerdict {
    pub fn accepts(&self) -> bool {
        *self == WidlVerdict::Accepts
    }
}

/// `widl` (or a tool given widl's command line, such as comidl's widl mode) writing the
/// header of `file` to `header`: `FLAGS -I ... -h -o HEADER FILE`.
///
/// The tool runs in the header's (scratch) directory, because widl creates temporary
/// directories in its working directory and leaves them behind when it is killed; paths
/// are made absolute for that.
pub fn header_command(tool: &Path, setup: &Setup, file: &Path, header: &Path) -> Command {
    let mut cmd = widl_style_command(tool, setup);
    // -h: only the header, the cheapest output that needs a full parse.
    cmd.arg("-h")
        .arg("-o")
        .arg(absolute(header))
        .arg(absolute(file));
    if let Some(dir) = header.parent().filter(|d| !d.as_os_str().is_empty()) {
        cmd.current_dir(absolute(dir));
    }
    cmd
}

/// `TOOL --nostdinc -m64 -I ...` with the run's include directories, absolute: what every
/// stage gives widl (and comidl, which takes widl's command line) before its own flags.
pub fn widl_style_command(tool: &Path, setup: &Setup) -> Command {
    let tool = if tool.components().count() > 1 {
        absolute(tool)
    } else {
        tool.to_path_buf()
    };
    let mut cmd = Command::new(tool);
    cmd.args(WIDL_FLAGS);
    for dir in &setup.includes {
        cmd.arg("-I").arg(absolute(dir));
    }
    cmd
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The command that has widl parse `file` and write its header to `header`.
pub fn widl_command(setup: &Setup, file: &Path, header: &Path) -> Command {
    header_command(&setup.widl, setup, file, header)
}

/// widl's verdict on each file of `setup.files` (same order), from the cache when it is
/// current, else by running widl on `jobs` threads. Fails when widl gave no verdict on
/// some file, or when the corpus pins how many files widl accepts and the count differs.
pub fn widl_verdicts(
    setup: &Setup,
    jobs: usize,
    timeout: Duration,
    scratch: &ScratchDir,
) -> Result<Vec<WidlVerdict>, Fatal> {
    let cache = setup.work_dir.join(CACHE_FILE);
    // An unreadable tree only costs the cache, never the run.
    let key = cache_key(setup).ok();
    let verdicts = match key.and_then(|k| load(&cache, k, &setup.files)) {
        Some(known) => known,
        None => {
            let verdicts = run_widl(setup, jobs, timeout, scratch)?;
            if let Some(Err(err)) = key.map(|k| save(&cache, k, &setup.files, &verdicts)) {
                eprintln!("note: could not write {}: {err}", cache.display());
            }
            verdicts
        }
    };
    let accepted = verdicts.iter().filter(|v| v.accepts()).count();
    out!(
        "widl accepts {accepted} of {} files and rejects {} with a located error",
        verdicts.len(),
        verdicts.len() - accepted
    );
    check_pinned(setup, accepted)?;
    Ok(verdicts)
}

/// The files widl accepts (relative to the corpus root, in order), by [`widl_verdicts`].
pub fn widl_accepted(
    setup: &Setup,
    jobs: usize,
    timeout: Duration,
    scratch: &ScratchDir,
) -> Result<Vec<PathBuf>, Fatal> {
    let verdicts = widl_verdicts(setup, jobs, timeout, scratch)?;
    Ok(setup
        .files
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| verdict.accepts())
        .map(|(f, _)| f.clone())
        .collect())
}

/// A corpus with a pinned count (Wine 8's: widl 8.0 accepts 261 of its files) proves that
/// the oracle is the widl the corpus was measured with.
fn check_pinned(setup: &Setup, accepted: usize) -> Result<(), Fatal> {
    match setup.pinned_widl_accepts {
        Some(pinned) if pinned != accepted => Err(Fatal::Oracle(format!(
            "widl accepted {accepted} of the corpus's {} files, but this corpus is pinned at \
             exactly {pinned}: {} is not the widl this corpus was measured with, or did not \
             run as it should",
            setup.files.len(),
            setup.widl.display()
        ))),
        _ => Ok(()),
    }
}

/// Runs widl on every file; an error unless every run gave a verdict.
fn run_widl(
    setup: &Setup,
    jobs: usize,
    timeout: Duration,
    scratch: &ScratchDir,
) -> Result<Vec<WidlVerdict>, Fatal> {
    let judged = parallel_map(&setup.files, jobs, |worker, rel| {
        let header = scratch.path().join(format!("widl-{worker}.h"));
        let stderr = scratch.path().join(format!("widl-{worker}.err"));
        // A header left by the previous file must not count for this one.
        let _ = std::fs::remove_file(&header);
        let mut cmd = widl_command(setup, &setup.file_path(rel), &header);
        let outcome = run_with_timeout(&mut cmd, &stderr, timeout);
        let wrote_header = std::fs::metadata(&header).is_ok_and(|m| m.len() > 0);
        judge(&outcome, wrote_header)
    });
    let failed = no_verdicts(setup, &judged);
    if failed.is_empty() {
        return Ok(judged.into_iter().flatten().collect());
    }
    Err(did_not_run("widl", setup, &failed))
}

/// `file: why` for every file whose run gave no verdict.
pub fn no_verdicts<T>(setup: &Setup, runs: &[Result<T, String>]) -> Vec<String> {
    setup
        .files
        .iter()
        .zip(runs)
        .filter_map(|(file, run)| {
            run.as_ref()
                .err()
                .map(|why| format!("{}: {why}", file.display()))
        })
        .collect()
}

/// The error that stops a stage whose oracle (`what`: `widl`, `widl -E`) gave no verdict
/// on the files in `failed`, naming the first few.
pub fn did_not_run(what: &str, setup: &Setup, failed: &[String]) -> Fatal {
    oracle_missing(what, &setup.widl, failed, setup.files.len(), "files")
}

/// [`did_not_run`] for runs that are not one per corpus file: `failed` of `total` `units`
/// (such as mutations) had no verdict from `widl`.
pub fn oracle_missing(
    what: &str,
    widl: &Path,
    failed: &[String],
    total: usize,
    units: &str,
) -> Fatal {
    let mut message = format!(
        "{what} did not run on {} of {total} {units} ({}), so there is nothing to compare \
         comidl with:",
        failed.len(),
        widl.display()
    );
    for line in failed.iter().take(SHOWN_FAILURES) {
        message.push_str(&format!("\n  {line}"));
    }
    if failed.len() > SHOWN_FAILURES {
        message.push_str(&format!(
            "\n  ... and {} more",
            failed.len() - SHOWN_FAILURES
        ));
    }
    Fatal::Oracle(message)
}

/// Why a run that neither exited nor was judged by its output gave no verdict (a signal,
/// a timeout, a binary that could not start); `None` for an exit code.
pub fn not_run(exit: &Exit) -> Option<String> {
    match exit {
        Exit::Code(_) => None,
        Exit::Signal(signal) => Some(format!("was killed by signal {signal}")),
        Exit::TimedOut(limit) => Some(format!("timed out after {} s", limit.as_secs())),
        Exit::SpawnFailed(err) => Some(format!("could not be started: {err}")),
    }
}

/// What one widl run said, or why it said nothing: accepted means exit 0 and a header
/// written; rejected means a non-zero exit and an error line in widl's format.
pub fn judge(outcome: &Outcome, wrote_header: bool) -> Result<WidlVerdict, String> {
    match &outcome.exit {
        Exit::Code(0) if wrote_header => Ok(WidlVerdict::Accepts),
        Exit::Code(0) => Err("exited 0 but wrote no header".to_string()),
        Exit::Code(code) => match outcome.stderr.lines().find(|l| is_widl_error(l)) {
            Some(line) => Ok(WidlVerdict::Rejects(line.trim().to_string())),
            None => Err(format!(
                "exited with code {code} without a located error (stderr: {})",
                first_line(&outcome.stderr)
            )),
        },
        exit => Err(not_run(exit).unwrap_or_default()),
    }
}

/// widl's error lines: `path:line: error: message`.
fn is_widl_error(line: &str) -> bool {
    let Some((place, _)) = line.split_once(": error: ") else {
        return false;
    };
    let Some((path, row)) = place.rsplit_once(':') else {
        return false;
    };
    !path.is_empty() && !row.is_empty() && row.bytes().all(|b| b.is_ascii_digit())
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("empty")
}

/// Hashes the cache format, widl's bytes, its arguments, and the name, size and mtime of
/// every file in the corpus and include directories (imports can be anywhere there).
pub fn cache_key(setup: &Setup) -> std::io::Result<u64> {
    let mut hasher = DefaultHasher::new();
    CACHE_FORMAT.hash(&mut hasher);
    std::fs::read(resolve_on_path(&setup.widl))?.hash(&mut hasher);
    WIDL_FLAGS.hash(&mut hasher);
    setup.includes.hash(&mut hasher);
    setup.root.hash(&mut hasher);
    for dir in std::iter::once(&setup.root).chain(&setup.includes) {
        for rel in list_files(dir)? {
            let meta = std::fs::metadata(dir.join(&rel))?;
            let mtime = meta
                .modified()?
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            (dir, rel, meta.len(), mtime).hash(&mut hasher);
        }
    }
    Ok(hasher.finish())
}

/// A tool named without a directory is looked up on PATH, as `Command` does.
fn resolve_on_path(tool: &Path) -> PathBuf {
    if tool.components().count() > 1 || tool.is_absolute() {
        return tool.to_path_buf();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| tool.to_path_buf())
}

/// Reads the cache: `# key HEX` then `file<TAB>accepts` or `file<TAB>rejects<TAB>error`
/// lines. Returns `None` unless the key matches and every file has a verdict.
fn load(path: &Path, key: u64, files: &[PathBuf]) -> Option<Vec<WidlVerdict>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != format!("# key {key:016x}") {
        return None;
    }
    let known: HashMap<&str, &str> = lines.filter_map(|l| l.split_once('\t')).collect();
    files
        .iter()
        .map(|f| {
            let entry = *known.get(f.to_str()?)?;
            match entry.split_once('\t') {
                Some(("rejects", error)) => Some(WidlVerdict::Rejects(error.to_string())),
                None if entry == "accepts" => Some(WidlVerdict::Accepts),
                _ => None,
            }
        })
        .collect()
}

fn save(path: &Path, key: u64, files: &[PathBuf], verdicts: &[WidlVerdict]) -> std::io::Result<()> {
    let mut text = format!("# key {key:016x}\n");
    for (file, verdict) in files.iter().zip(verdicts) {
        let verdict = match verdict {
            WidlVerdict::Accepts => "accepts".to_string(),
            WidlVerdict::Rejects(error) => format!("rejects\t{}", error.replace(['\t', '\n'], " ")),
        };
        text.push_str(&format!("{}\t{verdict}\n", file.display()));
    }
    // Write then rename, so a concurrent reader never sees half a file.
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let partial = path.with_extension("tsv.partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(exit: Exit, stderr: &str) -> Outcome {
        Outcome {
            exit,
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn cache_round_trip_and_mismatch() {
        let scratch = ScratchDir::new("comidl-conformance-test-cache").unwrap();
        let path = scratch.path().join("c.tsv");
        let files = vec![PathBuf::from("a.idl"), PathBuf::from("d/b.idl")];
        let rejected = WidlVerdict::Rejects("d/b.idl:3: error: no\tway".into());
        save(&path, 7, &files, &[WidlVerdict::Accepts, rejected]).unwrap();
        assert_eq!(
            load(&path, 7, &files),
            Some(vec![
                WidlVerdict::Accepts,
                WidlVerdict::Rejects("d/b.idl:3: error: no way".into())
            ])
        );
        assert_eq!(load(&path, 8, &files), None);
        let more = vec![PathBuf::from("a.idl"), PathBuf::from("c.idl")];
        assert_eq!(load(&path, 7, &more), None);
    }

    #[test]
    fn a_verdict_needs_a_header_or_a_located_error() {
        let error = "/w/a.idl:29: error: type 'IUnknown' not found in global namespace\n";
        assert_eq!(
            judge(&out(Exit::Code(0), ""), true),
            Ok(WidlVerdict::Accepts)
        );
        assert_eq!(
            judge(&out(Exit::Code(1), error), false),
            Ok(WidlVerdict::Rejects(error.trim().to_string()))
        );
        // /bin/true, /bin/false, a crash, a hang, a missing binary: no verdict at all.
        let none = [
            (out(Exit::Code(0), ""), false, "wrote no header"),
            (out(Exit::Code(1), ""), false, "without a located error"),
            (
                out(Exit::Code(1), "widl: error: oops\n"),
                false,
                "without a located error",
            ),
            (out(Exit::Signal(11), error), false, "signal 11"),
            (
                out(Exit::TimedOut(Duration::from_secs(60)), ""),
                false,
                "timed out after 60 s",
            ),
            (
                out(Exit::SpawnFailed("gone".into()), ""),
                false,
                "could not be started",
            ),
        ];
        for (outcome, header, why) in none {
            let err = judge(&outcome, header).unwrap_err();
            assert!(err.contains(why), "{err:?} should say {why:?}");
        }
    }

    #[test]
    fn a_pinned_corpus_needs_exactly_its_count() {
        let mut setup = Setup {
            root: PathBuf::from("/c"),
            files: vec![PathBuf::from("a.idl"); 309],
            includes: Vec::new(),
            widl: PathBuf::from("widl"),
            comidl: PathBuf::from("comidl"),
            work_dir: PathBuf::from("/w"),
            pinned_widl_accepts: Some(261),
            midl_only: Default::default(),
        };
        assert!(check_pinned(&setup, 261).is_ok());
        for wrong in [0, 260, 262, 309] {
            let Err(Fatal::Oracle(why)) = check_pinned(&setup, wrong) else {
                panic!("{wrong} accepted files must fail a corpus pinned at 261");
            };
            assert!(why.contains(&format!("widl accepted {wrong} of")), "{why}");
        }
        setup.pinned_widl_accepts = None;
        assert!(check_pinned(&setup, 3).is_ok());
    }

    #[test]
    fn widl_error_lines() {
        assert!(is_widl_error("a.idl:3: error: syntax error"));
        assert!(is_widl_error("/x/y z.idl:120: error: x"));
        assert!(!is_widl_error("a.idl: error: x"));
        assert!(!is_widl_error("a.idl:3: warning: x"));
        assert!(!is_widl_error(":3: error: x"));
        assert!(!is_widl_error("a.idl:3x: error: x"));
    }
}
