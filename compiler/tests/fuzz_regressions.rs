//! Every input under `fuzz/regressions/` goes through the front end the way the `frontend`
//! fuzz target runs it (written as `input.idl` into a directory holding the fuzz helper
//! files, which is also the include directory), and must
//! - not panic, overflow the stack or abort;
//! - finish within [`TIME_LIMIT`], or within the limit a `// time-limit: Ns` line in its
//!   first lines sets (for inputs that once took super-linear time);
//! - give every error a location (except "cannot read" the main file, which has none);
//! - render its diagnostics (and dump the IR of every file) without panicking;
//! - when its name ends in `.valid.idl`, produce no error at all; when it ends in
//!   `.invalid.idl`, produce at least one.
//!
//! Each input runs in a child process (this test binary again, running only
//! [`fuzz_regression_child`]), so a stack overflow or a hang fails that input alone and the
//! report names every failing file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child to the input it must run.
const CHILD_ENV: &str = "COMIDL_FUZZ_REGRESSION";

/// Generous: the test profile is unoptimised, and other jobs may share the machine.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// The stack the input runs on: the main thread's, as in the `comidl` command.
const STACK: usize = 8 << 20;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs() -> Vec<PathBuf> {
    let dir = fuzz_dir().join("regressions");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "idl"))
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn fuzz_regressions() {
    let inputs = inputs();
    assert!(!inputs.is_empty(), "no regression inputs found");
    let exe = std::env::current_exe().expect("test binary path");
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.file_name().unwrap_or_default().to_string_lossy();
        let limit = time_limit(input);
        let start = Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "fuzz_regression_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child test");
        // Drain stderr on a thread so a chatty child cannot block on a full pipe.
        let mut stderr = child.stderr.take().expect("child stderr");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
            s
        });
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for child") {
                break Some(status);
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = reader.join().unwrap_or_default();
        let elapsed = start.elapsed();
        match status {
            Some(s) if s.success() => eprintln!("ok    {name} ({elapsed:.2?})"),
            Some(s) => {
                eprintln!("FAIL  {name} ({elapsed:.2?}, {s})");
                failures.push(format!("{name}: {s}\n{}", tail(&output, 25)));
            }
            None => {
                eprintln!("FAIL  {name} (timed out)");
                failures.push(format!("{name}: still running after {limit:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fuzz regression inputs failed:\n\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n\n")
    );
}

/// [`TIME_LIMIT`], or what a `// time-limit: Ns` line among the first five says.
fn time_limit(input: &Path) -> Duration {
    let text = std::fs::read(input).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .take(5)
        .find_map(|l| l.trim().strip_prefix("// time-limit:"))
        .and_then(|v| v.trim().strip_suffix('s')?.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(TIME_LIMIT)
}

/// Runs the input named by [`CHILD_ENV`]; does nothing in a normal test run.
#[test]
fn fuzz_regression_child() {
    let Some(input) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let input = PathBuf::from(input);
    let result = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || run(&input))
        .expect("spawn thread")
        .join();
    if result.is_err() {
        panic!("the front end panicked (message above)");
    }
}

fn run(input: &Path) {
    let bytes = std::fs::read(input).expect("read regression input");
    let text = String::from_utf8_lossy(&bytes);
    let dir = std::env::temp_dir().join(format!("comidl-fuzz-regression-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    for helper in std::fs::read_dir(fuzz_dir().join("helpers")).expect("fuzz/helpers") {
        let helper = helper.expect("directory entry").path();
        std::fs::copy(&helper, dir.join(helper.file_name().unwrap_or_default()))
            .expect("copy helper file");
    }
    let path = dir.join("input.idl");
    std::fs::write(&path, text.as_bytes()).expect("write input.idl");
    let options = comidl::Options {
        preprocess: comidl::preprocess::Options {
            include_dirs: vec![dir.clone()],
            ..Default::default()
        },
    };

    let outcome = comidl::check(&path, &options);
    let rendered = comidl::diag::render(&outcome.sources, &outcome.diagnostics);
    let _ = outcome.summary();
    for f in &outcome.model.files {
        let _ = comidl::dump::dump(&outcome.model, &outcome.sources, f.file);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let unreadable_main = format!("cannot read `{}`", path.display());
    for d in outcome.diagnostics.iter().filter(|d| d.is_error()) {
        if d.message.starts_with(&unreadable_main) {
            continue;
        }
        let primary = d
            .primary
            .as_ref()
            .unwrap_or_else(|| panic!("error without a location: {d:?}"));
        assert!(
            outcome.sources.get(primary.span.file).is_some(),
            "error located in an unknown file: {d:?}"
        );
    }
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    if name.ends_with(".valid.idl") {
        assert!(
            !outcome.has_errors(),
            "a valid input was rejected:\n{}",
            tail(&rendered, 40)
        );
    }
    if name.ends_with(".invalid.idl") {
        assert!(
            outcome.has_errors(),
            "an invalid input was accepted without an error"
        );
    }
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
