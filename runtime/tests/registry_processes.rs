//! The registry under real concurrency and real crashes, with real
//! processes: this binary runs without the test harness (`harness = false`)
//! and re-executes itself as the child processes it needs.
//!
//! - `concurrent_writers_lose_nothing`: 8 processes each register 200
//!   classes, one `update` per class, all at once; afterwards all 1600 are
//!   there and the file parses.
//! - `killed_writer_leaves_a_loadable_registry`: a child rewrites a
//!   multi-megabyte layer over and over; the parent kills it with SIGKILL at
//!   varying moments of a write. Every time, the layer parses and is exactly
//!   one of the complete versions; at least one kill lands mid-write (its
//!   temporary file is left behind), and later writes succeed regardless.
//! - `readers_see_whole_versions`: while a child rewrites the layer, every
//!   snapshot a reader takes parses and is one of the written versions.
//! - `open_default_follows_the_environment`: where `Registry::open_default`
//!   puts the layers for various environments.
//!
//! Run with a name fragment as argument to run only matching checks; the
//! process exits non-zero if any check fails.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::panic;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use comidl_runtime::GUID;
use comidl_runtime::registry::{ClassEntry, Registry, Scope, Tree, register_class};
use common::Rng;

/// Environment variable that turns this binary into a child; its value is
/// the child's role.
const ROLE: &str = "COMIDL_REGTEST_ROLE";
const DIR: &str = "COMIDL_REGTEST_DIR";
const WRITER: &str = "COMIDL_REGTEST_WRITER";

const WRITERS: u32 = 8;
const PER_WRITER: u32 = 200;

type Check = fn();

const CHECKS: &[(&str, Check)] = &[
    (
        "concurrent_writers_lose_nothing",
        concurrent_writers_lose_nothing,
    ),
    (
        "killed_writer_leaves_a_loadable_registry",
        killed_writer_leaves_a_loadable_registry,
    ),
    ("readers_see_whole_versions", readers_see_whole_versions),
    (
        "open_default_follows_the_environment",
        open_default_follows_the_environment,
    ),
];

fn main() -> ExitCode {
    if let Ok(role) = std::env::var(ROLE) {
        return child(&role);
    }
    // The libtest options that matter here: name filters, `--exact`,
    // `--skip NAME`, `--list`, `--ignored` (none of these checks is
    // ignored); options with a separate value are stepped over.
    let mut args = std::env::args().skip(1);
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let (mut exact, mut list, mut ignored_only) = (false, false, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--ignored" => ignored_only = true,
            "--skip" => skips.extend(args.next()),
            "--test-threads" | "--format" | "--color" | "--logfile" | "--shuffle-seed" | "-Z" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            _ => filters.push(arg),
        }
    }
    let matches = |name: &str, pattern: &String| {
        if exact {
            name == pattern
        } else {
            name.contains(pattern.as_str())
        }
    };
    let selected: Vec<&(&str, Check)> = CHECKS
        .iter()
        .filter(|_| !ignored_only)
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| matches(name, f)))
        .filter(|(name, _)| !skips.iter().any(|s| matches(name, s)))
        .collect();
    if list {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    let all = Instant::now();
    for (name, check) in selected {
        let start = Instant::now();
        let outcome = panic::catch_unwind(check);
        let took = start.elapsed();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({took:.2?})"),
            Err(_) => {
                println!("test {name} ... FAILED ({took:.2?})");
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        println!("\ntest result: ok. finished in {:.2?}\n", all.elapsed());
        ExitCode::SUCCESS
    } else {
        println!("\ntest result: FAILED: {}\n", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// Runs as a child process; the parent reads the exit status.
fn child(role: &str) -> ExitCode {
    let result = panic::catch_unwind(|| match role {
        "register" => child_register(),
        "rewrite" => child_rewrite(),
        "paths" => child_paths(),
        other => panic!("unknown child role {other:?}"),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("child needs {name}"))
}

// ----- concurrent writers -------------------------------------------------

fn class_of(writer: u32, index: u32) -> ClassEntry {
    ClassEntry {
        clsid: GUID::from_values(
            0xC0C0_0000 | writer,
            index as u16,
            0x4000,
            [0x80, 0, 0, 0, 0, 0, writer as u8, index as u8],
        ),
        name: Some(format!("Writer {writer} class {index}")),
        inproc_server: Some(format!("/usr/lib/w{writer}/c{index}.so")),
        threading_model: Some("Both".into()),
        ..ClassEntry::default()
    }
}

fn child_register() {
    let registry = Registry::in_dir(env(DIR));
    let writer: u32 = env(WRITER).parse().unwrap();
    for index in 0..PER_WRITER {
        registry
            .update(Scope::User, |tree| {
                register_class(tree, &class_of(writer, index))
            })
            .unwrap_or_else(|e| panic!("writer {writer}, class {index}: {e}"));
    }
}

fn spawn(role: &str, dir: &Path, extra: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(ROLE, role).env(DIR, dir).stdin(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    let start = Instant::now();
    let children: Vec<Child> = (0..WRITERS)
        .map(|w| spawn("register", dir.path(), &[(WRITER, w.to_string())]))
        .collect();
    for (w, child) in children.into_iter().enumerate() {
        let status = child.wait_with_output().unwrap().status;
        assert!(status.success(), "writer {w} failed: {status}");
    }
    let took = start.elapsed();
    let text = fs::read(registry.path(Scope::User)).unwrap();
    let tree = Tree::parse(&text).unwrap_or_else(|e| panic!("the result does not parse: {e}"));
    let classes = tree.subkeys("CLSID");
    let mut missing = Vec::new();
    for w in 0..WRITERS {
        for i in 0..PER_WRITER {
            let expected = class_of(w, i);
            if tree.class(&expected.clsid).as_ref() != Some(&expected) {
                missing.push(expected.clsid);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} registrations lost, e.g. {:?}",
        missing.len(),
        WRITERS * PER_WRITER,
        missing.first()
    );
    assert_eq!(classes.len(), (WRITERS * PER_WRITER) as usize);
    println!(
        "    {} registrations by {WRITERS} processes in {took:.2?} ({} KB file)",
        WRITERS * PER_WRITER,
        text.len() / 1024
    );
}

// ----- rewriting writers: crashes and readers ----------------------------

/// One of two big versions of a layer (`which` is 0 or 1), `keys` keys of
/// roughly 160 bytes each.
fn version(which: u32, keys: u32) -> Tree {
    let mut tree = Tree::new();
    for i in 0..keys {
        let path = format!(
            "Bulk\\Key{i:06}\\{}",
            if which == 0 { "Even" } else { "Odd" }
        );
        tree.set_value(
            &path,
            "",
            format!("version {which} of key {i}, with some text to make it longer"),
        )
        .unwrap();
        tree.set_value(&path, "n", i ^ which).unwrap();
    }
    tree
}

/// Rewrites the user layer until killed, flipping between the two versions.
fn child_rewrite() {
    let registry = Registry::in_dir(env(DIR));
    let keys: u32 = env("COMIDL_REGTEST_KEYS").parse().unwrap();
    let versions = [version(0, keys), version(1, keys)];
    let mut done = 0u64;
    loop {
        registry
            .update(Scope::User, |tree| {
                *tree = if *tree == versions[0] {
                    versions[1].clone()
                } else {
                    versions[0].clone()
                };
                Ok(())
            })
            .unwrap_or_else(|e| panic!("rewrite {done}: {e}"));
        done += 1;
    }
}

/// Identity of a file version: a new temporary file differs from a leftover
/// one in inode or modification time.
fn identity(path: &Path) -> Option<(u64, i64, i64)> {
    fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec()))
}

fn killed_writer_leaves_a_loadable_registry() {
    const KEYS: u32 = 24_000;
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    let versions = [version(0, KEYS), version(1, KEYS)];
    let texts = [versions[0].export(None), versions[1].export(None)];
    assert!(texts[0].len() > 3_000_000, "{} bytes", texts[0].len());
    registry
        .update(Scope::User, |t| {
            *t = versions[0].clone();
            Ok(())
        })
        .unwrap();
    let layer = registry.path(Scope::User).to_path_buf();
    let tmp = registry.temp_path(Scope::User);
    // Milliseconds to wait, once the child's temporary file has appeared,
    // before killing it. 0 kills at once (mid-write); the long waits let
    // writes complete (the kill then lands in a later read or write).
    let delays = [0, 1, 3, 8, 20, 400, 0, 900, 2, 0];
    let mut rng = Rng(0xC0FF_EE00_D15C_0001);
    let (mut mid_write, mut seen) = (0, [false, false]);
    let start = Instant::now();
    for (round, &delay) in delays.iter().enumerate() {
        let leftover = identity(&tmp);
        let mut child = spawn(
            "rewrite",
            dir.path(),
            &[("COMIDL_REGTEST_KEYS", KEYS.to_string())],
        );
        // Wait for the child's own temporary file (not a leftover one).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = identity(&tmp);
            if now.is_some() && now != leftover {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: rewriter exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: rewriter never wrote"
            );
            thread::sleep(Duration::from_micros(200));
        }
        // Jitter the delay a little so rounds land at different offsets.
        let micros = delay * 1000 + rng.below(500) as u64 * u64::from(delay > 0);
        thread::sleep(Duration::from_micros(micros));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if tmp.exists() {
            mid_write += 1;
        }
        let bytes = fs::read(&layer).unwrap();
        let which = texts
            .iter()
            .position(|t| t.as_bytes() == bytes)
            .unwrap_or_else(|| {
                let parsed = Tree::parse(&bytes).map(|_| "parses");
                panic!(
                    "round {round}: layer is neither complete version ({} bytes; {parsed:?})",
                    bytes.len()
                )
            });
        seen[which] = true;
        assert_eq!(registry.layer(Scope::User).unwrap(), versions[which]);
    }
    assert!(
        mid_write >= 1,
        "no kill landed mid-write, so the test proved nothing"
    );
    assert!(
        seen[1],
        "no write ever completed, so the test proved nothing"
    );
    // A later update works whatever was left behind, and cleans up. (The
    // last round kills at once, so a partial temporary file is normally
    // there; make sure of it.)
    let leftover = tmp.exists();
    if !leftover {
        fs::write(&tmp, &texts[1].as_bytes()[..texts[1].len() / 2]).unwrap();
    }
    registry
        .update(Scope::User, |t| t.set_value("After", "", "crash"))
        .unwrap();
    assert!(!tmp.exists());
    let tree = registry.layer(Scope::User).unwrap();
    assert_eq!(tree.string("After", ""), Some("crash"));
    println!(
        "    {} rounds in {:.2?}: {mid_write} killed mid-write, last round left its temp file: {leftover}, {} MB layer",
        delays.len(),
        start.elapsed(),
        texts[0].len() / 1_000_000
    );
}

fn readers_see_whole_versions() {
    const KEYS: u32 = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::in_dir(dir.path());
    let versions = [version(0, KEYS), version(1, KEYS)];
    registry
        .update(Scope::User, |t| {
            *t = versions[0].clone();
            Ok(())
        })
        .unwrap();
    let mut child = spawn(
        "rewrite",
        dir.path(),
        &[("COMIDL_REGTEST_KEYS", KEYS.to_string())],
    );
    let start = Instant::now();
    let (mut reads, mut changes, mut last) = (0u32, 0u32, 0usize);
    // Read for at least two seconds and until the version changed a few
    // times under the reader.
    while start.elapsed() < Duration::from_secs(2) || changes < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the writer made only {changes} changes in a minute"
        );
        let snapshot = registry
            .snapshot()
            .unwrap_or_else(|e| panic!("read {reads}: snapshot failed: {e}"));
        let which = versions
            .iter()
            .position(|v| v == snapshot.tree())
            .unwrap_or_else(|| panic!("read {reads}: not one of the written versions"));
        if which != last {
            changes += 1;
            last = which;
        }
        reads += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    println!("    {reads} snapshots, {changes} version changes seen, all whole");
}

// ----- default location --------------------------------------------------

fn child_paths() {
    let out = match Registry::open_default() {
        Ok(r) => format!(
            "{}\n{}\n",
            r.path(Scope::Machine).display(),
            r.path(Scope::User).display()
        ),
        Err(e) => format!("error: {e}\n"),
    };
    std::io::stdout().write_all(out.as_bytes()).unwrap();
}

fn paths_for(vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env_clear().env(ROLE, "paths");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn open_default_follows_the_environment() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("COMIDL_REGISTRY", "/srv/reg"), ("HOME", "/home/u")],
            "/srv/reg/machine.reg\n/srv/reg/user.reg\n",
        ),
        (
            &[("HOME", "/home/u")],
            "/usr/local/share/comidl/machine.reg\n/home/u/.local/share/comidl/user.reg\n",
        ),
        (
            &[
                ("COMIDL_REGISTRY", ""),
                ("XDG_DATA_DIRS", "relative/dir:/opt/share:/usr/share"),
                ("XDG_DATA_HOME", "/data/home"),
                ("HOME", "/home/u"),
            ],
            "/opt/share/comidl/machine.reg\n/data/home/comidl/user.reg\n",
        ),
        (
            &[("XDG_DATA_HOME", "not/absolute"), ("HOME", "/home/u")],
            "/usr/local/share/comidl/machine.reg\n/home/u/.local/share/comidl/user.reg\n",
        ),
        (
            &[],
            "error: cannot read $HOME/.local/share/comidl/user.reg: neither XDG_DATA_HOME nor HOME is set\n",
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(paths_for(vars), *expected, "environment {vars:?}");
    }
}
