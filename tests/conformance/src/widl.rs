//! The reference side: running widl and caching which files it accepts.
//!
//! widl's verdicts only change when widl, its arguments or the files change,
//! so they are kept in `<target>/conformance/widl-parse.tsv` under a key
//! hashed from all of those, and re-used while the key matches.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use crate::corpus::{Setup, list_files};
use crate::process::{Exit, ScratchDir, parallel_map, run_with_timeout};

/// widl's flags before the includes: no system includes, a 64-bit target.
const WIDL_FLAGS: [&str; 2] = ["--nostdinc", "-m64"];
const CACHE_FILE: &str = "widl-parse.tsv";

/// The command that has widl parse `file` and write its header to `header`.
///
/// widl runs in the header's (scratch) directory, because it creates temporary
/// directories in its working directory and leaves them behind when it is killed;
/// paths are made absolute for that.
pub fn widl_command(setup: &Setup, file: &Path, header: &Path) -> Command {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut cmd = Command::new(absolute(&setup.widl));
    cmd.args(WIDL_FLAGS);
    for dir in &setup.includes {
        cmd.arg("-I").arg(absolute(dir));
    }
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

/// Whether widl accepts each file of `setup.files` (same order), from the
/// cache when it is current, else by running widl on `jobs` threads.
pub fn widl_accepts(
    setup: &Setup,
    jobs: usize,
    timeout: Duration,
    scratch: &ScratchDir,
) -> Vec<bool> {
    let cache = setup.work_dir.join(CACHE_FILE);
    // An unreadable tree only costs the cache, never the run.
    let key = cache_key(setup).ok();
    if let Some(known) = key.and_then(|k| load(&cache, k, &setup.files)) {
        return known;
    }
    let exits = parallel_map(&setup.files, jobs, |worker, rel| {
        let header = scratch.path().join(format!("widl-{worker}.h"));
        let stderr = scratch.path().join(format!("widl-{worker}.err"));
        let mut cmd = widl_command(setup, &setup.file_path(rel), &header);
        run_with_timeout(&mut cmd, &stderr, timeout).exit
    });
    if let Some(Err(err)) = key.map(|k| save(&cache, k, &setup.files, &exits)) {
        eprintln!("note: could not write {}: {err}", cache.display());
    }
    exits.iter().map(Exit::success).collect()
}

/// Hashes widl's bytes, its arguments, and the name, size and mtime of every
/// file in the corpus and include directories (imports can be anywhere there).
fn cache_key(setup: &Setup) -> std::io::Result<u64> {
    let mut hasher = DefaultHasher::new();
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

/// Reads the cache: `# key HEX` then `file<TAB>exit` lines. Returns `None`
/// unless the key matches and every file has an entry.
fn load(path: &Path, key: u64, files: &[PathBuf]) -> Option<Vec<bool>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != format!("# key {key:016x}") {
        return None;
    }
    let known: HashMap<&str, &str> = lines.filter_map(|l| l.split_once('\t')).collect();
    files
        .iter()
        .map(|f| known.get(f.to_str()?).map(|exit| *exit == "0"))
        .collect()
}

fn save(path: &Path, key: u64, files: &[PathBuf], exits: &[Exit]) -> std::io::Result<()> {
    let mut text = format!("# key {key:016x}\n");
    for (file, exit) in files.iter().zip(exits) {
        let exit = match exit {
            Exit::Code(code) => code.to_string(),
            Exit::Signal(signal) => format!("signal {signal}"),
            Exit::TimedOut(_) => "timeout".to_string(),
            // Not worth remembering: the next run should try again.
            Exit::SpawnFailed(_) => return Ok(()),
        };
        text.push_str(&format!("{}\t{exit}\n", file.display()));
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

    #[test]
    fn cache_round_trip_and_mismatch() {
        let scratch = ScratchDir::new("comidl-conformance-test-cache").unwrap();
        let path = scratch.path().join("c.tsv");
        let files = vec![PathBuf::from("a.idl"), PathBuf::from("d/b.idl")];
        let exits = [Exit::Code(0), Exit::Signal(11)];
        save(&path, 7, &files, &exits).unwrap();
        assert_eq!(load(&path, 7, &files), Some(vec![true, false]));
        assert_eq!(load(&path, 8, &files), None);
        let more = vec![PathBuf::from("a.idl"), PathBuf::from("c.idl")];
        assert_eq!(load(&path, 7, &more), None);
    }
}
