//! Running tool processes: one with a time limit, many over a worker pool.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How much of a tool's stderr is kept; the diagnostics we look for come first.
const STDERR_CAP: u64 = 1 << 20;

/// How often a running child is polled. Short, because most runs take ~20 ms.
const POLL: Duration = Duration::from_millis(1);

/// How a tool process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut(Duration),
    SpawnFailed(String),
}

impl Exit {
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }

    fn from_status(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            // Neither code nor signal does not happen on Unix; keep it visible.
            (None, None) => Exit::Code(-1),
        }
    }
}

/// A finished tool run: how it ended and the start of its stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub exit: Exit,
    pub stderr: String,
}

/// Runs `cmd` with stdin and stdout closed, stderr captured, killing it after
/// `timeout`. Stderr goes to the file `stderr_path` rather than a pipe so a
/// chatty child cannot block on a full pipe, and a grandchild that keeps the
/// descriptor open cannot make us wait past the kill.
pub fn run_with_timeout(cmd: &mut Command, stderr_path: &Path, timeout: Duration) -> Outcome {
    cmd.stdout(Stdio::null());
    wait_for(cmd, stderr_path, timeout)
}

/// [`run_with_timeout`], with the child's stdout written to the file `stdout_path`.
pub fn run_with_timeout_to(
    cmd: &mut Command,
    stdout_path: &Path,
    stderr_path: &Path,
    timeout: Duration,
) -> Outcome {
    match File::create(stdout_path) {
        Ok(file) => {
            cmd.stdout(file);
            wait_for(cmd, stderr_path, timeout)
        }
        Err(err) => Outcome {
            exit: Exit::SpawnFailed(format!("cannot create {}: {err}", stdout_path.display())),
            stderr: String::new(),
        },
    }
}

fn wait_for(cmd: &mut Command, stderr_path: &Path, timeout: Duration) -> Outcome {
    let exit = match spawn_and_wait(cmd, stderr_path, timeout) {
        Ok(exit) => exit,
        Err(err) => Exit::SpawnFailed(err.to_string()),
    };
    let stderr = read_capped(stderr_path).unwrap_or_default();
    Outcome { exit, stderr }
}

fn spawn_and_wait(
    cmd: &mut Command,
    stderr_path: &Path,
    timeout: Duration,
) -> std::io::Result<Exit> {
    let stderr = File::create(stderr_path)?;
    let mut child = cmd.stdin(Stdio::null()).stderr(stderr).spawn()?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Exit::from_status(status));
        }
        if Instant::now() >= deadline {
            // Our own child, killed through its handle; then reaped.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Exit::TimedOut(timeout));
        }
        thread::sleep(POLL);
    }
}

fn read_capped(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    File::open(path)?.take(STDERR_CAP).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Applies `work` to every item on `jobs` threads, pulling items from a shared
/// counter so slow files do not hold up a fixed share. `work` gets the worker
/// number (for per-worker scratch files) and the item; results keep the order
/// of `items`.
pub fn parallel_map<T, R, F>(items: &[T], jobs: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|worker| {
                let (next, work) = (&next, &work);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else { break };
                        done.push((index, work(worker, item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker only panics on a harness bug; surface it rather than hide it.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

/// A scratch directory for the tools' outputs, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    #[test]
    fn exit_codes_signals_and_stderr() {
        let scratch = ScratchDir::new("comidl-conformance-test-exit").unwrap();
        let err = scratch.path().join("err");
        let second = Duration::from_secs(5);
        let ok = run_with_timeout(&mut sh("echo hi >&2"), &err, second);
        assert_eq!(
            ok,
            Outcome {
                exit: Exit::Code(0),
                stderr: "hi\n".into()
            }
        );
        let code = run_with_timeout(&mut sh("exit 3"), &err, second);
        assert_eq!(code.exit, Exit::Code(3));
        let signal = run_with_timeout(&mut sh("kill -SEGV $$"), &err, second);
        assert_eq!(signal.exit, Exit::Signal(11));
        let missing = run_with_timeout(&mut Command::new("/nonexistent/tool"), &err, second);
        assert!(matches!(missing.exit, Exit::SpawnFailed(_)));
    }

    #[test]
    fn timeout_kills_the_child() {
        let scratch = ScratchDir::new("comidl-conformance-test-timeout").unwrap();
        let limit = Duration::from_millis(200);
        let start = Instant::now();
        let out = run_with_timeout(&mut sh("exec sleep 30"), &scratch.path().join("e"), limit);
        assert_eq!(out.exit, Exit::TimedOut(limit));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u32> = (0..100).collect();
        let doubled = parallel_map(&items, 3, |_, n| n * 2);
        assert_eq!(doubled, (0..100).map(|n| n * 2).collect::<Vec<_>>());
    }
}
