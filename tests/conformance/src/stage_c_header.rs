//! The c-header stage: does comidl's C header compile wherever widl's does?
//!
//! For every file widl accepts, both tools write the file's header with widl's command line
//! (`-h -o HEADER FILE`), each into a directory of its own. Each header is then compiled by
//! gcc (`-fsyntax-only`) in four configurations: as C and as C++, each from a translation
//! unit that only includes it and from one that includes `<windows.h>` first. The tool's own
//! directory comes first on the include path, so the header's imports, and the headers
//! `<windows.h>` pulls in, are that tool's; Wine's include directories come after it.
//!
//! (A windows-first unit includes a one-line header holding `#include <windows.h>`, which
//! is precompiled per tool and language: the same text, read once instead of per file.)
//!
//! A configuration counts only where widl's header compiles; there comidl's must compile
//! too. widl's verdicts only change with its headers, the compilers and Wine's headers, so
//! they are cached under a key hashed from those.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use crate::Fatal;
use crate::cli::Options;
use crate::corpus::{Setup, list_files};
use crate::process::{Exit, ScratchDir, parallel_map, run_with_timeout};
use crate::widl::{did_not_run, header_command, widl_verdicts};

const CACHE_FILE: &str = "c-header-widl.tsv";
/// Changes whenever the cache's lines or the compile commands change meaning.
const CACHE_FORMAT: &str = "c-header-2";

/// One way of compiling a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Config {
    name: &'static str,
    compiler: &'static str,
    /// The translation unit's extension, which tells gcc the language.
    ext: &'static str,
    /// Flags before the include directories: `-fshort-wchar` as in the layout stage, with
    /// `WINE_UNICODE_NATIVE`, which tells Wine's headers that `wchar_t` is then their
    /// 16-bit `WCHAR`. Without it C++ takes `char16_t` for `WCHAR`, and widl's headers,
    /// whose default values are `L"..."` literals, do not compile as C++ where they use
    /// one (mshtml.h, msxml2.h, ...).
    flags: &'static [&'static str],
    /// The translation unit includes `<windows.h>` before the header.
    windows_first: bool,
}

const C_FLAGS: &[&str] = &[
    "-std=gnu11",
    "-fshort-wchar",
    "-DWINE_UNICODE_NATIVE",
    "-fsyntax-only",
];
const CXX_FLAGS: &[&str] = &[
    "-std=gnu++17",
    "-fshort-wchar",
    "-DWINE_UNICODE_NATIVE",
    "-fsyntax-only",
];

const CONFIGS: [Config; 4] = [
    Config {
        name: "c",
        compiler: "gcc",
        ext: "c",
        flags: C_FLAGS,
        windows_first: false,
    },
    Config {
        name: "c+windows.h",
        compiler: "gcc",
        ext: "c",
        flags: C_FLAGS,
        windows_first: true,
    },
    Config {
        name: "c++",
        compiler: "g++",
        ext: "cpp",
        flags: CXX_FLAGS,
        windows_first: false,
    },
    Config {
        name: "c++ +windows.h",
        compiler: "g++",
        ext: "cpp",
        flags: CXX_FLAGS,
        windows_first: true,
    },
];

/// What gcc said about one header in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Compiled {
    Ok,
    /// gcc's first error line.
    Error(String),
}

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance-c-header")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    out!(
        "c-header stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let verdicts = widl_verdicts(setup, jobs, opts.timeout, &scratch)?;
    let accepted: Vec<PathBuf> = setup
        .files
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.accepts())
        .map(|(f, _)| f.clone())
        .collect();
    let stems = unique_stems(&accepted)?;

    let dir = setup.work_dir.join("c-header");
    let widl_dir = dir.join("widl");
    let comidl_dir = dir.join("comidl");
    let tu_dir = dir.join("tu");
    for d in [&widl_dir, &comidl_dir, &tu_dir] {
        // Headers of an earlier run must not stand in for ones not written this time.
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d)
            .map_err(|e| Fatal::Setup(format!("cannot create {}: {e}", d.display())))?;
    }

    // Both tools write their headers.
    let written = parallel_map(&accepted, jobs, |worker, rel| {
        let file = setup.file_path(rel);
        let stem = &stems[rel];
        let widl = write_header(
            &setup.widl,
            setup,
            &file,
            &widl_dir,
            stem,
            &scratch,
            worker,
            opts.timeout,
        );
        let comidl = write_header(
            &setup.comidl,
            setup,
            &file,
            &comidl_dir,
            stem,
            &scratch,
            worker,
            opts.timeout,
        );
        (widl, comidl)
    });
    let no_header: Vec<String> = accepted
        .iter()
        .zip(&written)
        .filter_map(|(rel, (widl, _))| {
            widl.as_ref()
                .err()
                .map(|why| format!("{}: {why}", rel.display()))
        })
        .collect();
    if !no_header.is_empty() {
        return Err(did_not_run("widl -h", setup, &no_header));
    }
    write_units(&tu_dir, &accepted, &stems)?;

    // widl's side: every header in every configuration, unless cached.
    let pairs: Vec<(usize, usize)> = (0..accepted.len())
        .flat_map(|f| (0..CONFIGS.len()).map(move |c| (f, c)))
        .collect();
    let cache = setup.work_dir.join(CACHE_FILE);
    let key = cache_key(setup, &widl_dir).ok();
    let names: Vec<String> = pairs
        .iter()
        .map(|&(f, c)| format!("{}\t{}", stems[&accepted[f]], CONFIGS[c].name))
        .collect();
    let widl_results = match key.and_then(|k| load(&cache, k, &names)) {
        Some(known) => known,
        None => {
            precompile(setup, &widl_dir, jobs, &scratch, opts);
            let results = parallel_map(&pairs, jobs, |worker, &(f, c)| {
                compile(
                    setup,
                    &widl_dir,
                    &tu_dir,
                    &stems[&accepted[f]],
                    &CONFIGS[c],
                    &scratch,
                    worker,
                    opts,
                )
            });
            let failed: Vec<String> = pairs
                .iter()
                .zip(&results)
                .filter_map(|(&(f, c), r)| {
                    r.as_ref().err().map(|why| {
                        format!("{} ({}): {why}", accepted[f].display(), CONFIGS[c].name)
                    })
                })
                .collect();
            if !failed.is_empty() {
                return Err(did_not_run("gcc on widl's header", setup, &failed));
            }
            let results: Vec<Compiled> = results.into_iter().flatten().collect();
            if let Some(Err(err)) = key.map(|k| save(&cache, k, &names, &results)) {
                eprintln!("note: could not write {}: {err}", cache.display());
            }
            results
        }
    };
    check_enough(&widl_results, &pairs, accepted.len())?;

    // comidl's side: only where widl's header compiles, and only where comidl wrote one.
    let counted: Vec<(usize, usize)> = pairs
        .iter()
        .zip(&widl_results)
        .filter(|(_, r)| **r == Compiled::Ok)
        .map(|(p, _)| *p)
        .collect();
    precompile(setup, &comidl_dir, jobs, &scratch, opts);
    let comidl_results = parallel_map(&counted, jobs, |worker, &(f, c)| {
        if let Err(why) = &written[f].1 {
            return Err(format!("comidl wrote no header: {why}"));
        }
        match compile(
            setup,
            &comidl_dir,
            &tu_dir,
            &stems[&accepted[f]],
            &CONFIGS[c],
            &scratch,
            worker,
            opts,
        ) {
            Ok(Compiled::Ok) => Ok(()),
            Ok(Compiled::Error(line)) => Err(shorten(&line, &comidl_dir)),
            Err(why) => Err(format!("gcc {why}")),
        }
    });

    Ok(report(
        &accepted,
        &counted,
        &comidl_results,
        &widl_results,
        opts.min_pass,
    ))
}

/// The header name of each file: its stem. Two files with one stem would write the same
/// header, and includes could not tell them apart.
fn unique_stems(files: &[PathBuf]) -> Result<HashMap<PathBuf, String>, Fatal> {
    let mut stems: HashMap<PathBuf, String> = HashMap::new();
    let mut seen: HashMap<String, &Path> = HashMap::new();
    for rel in files {
        let stem = rel
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(other) = seen.insert(stem.to_ascii_lowercase(), rel) {
            return Err(Fatal::Setup(format!(
                "{} and {} would both write {stem}.h: the c-header stage needs one header per name",
                other.display(),
                rel.display()
            )));
        }
        stems.insert(rel.clone(), stem);
    }
    Ok(stems)
}

/// Has `tool` (widl's command line) write `dir/STEM.h`; the first stderr line when it did
/// not.
#[allow(clippy::too_many_arguments)]
fn write_header(
    tool: &Path,
    setup: &Setup,
    file: &Path,
    dir: &Path,
    stem: &str,
    scratch: &ScratchDir,
    worker: usize,
    timeout: Duration,
) -> Result<(), String> {
    let header = dir.join(format!("{stem}.h"));
    let label = tool.file_name().unwrap_or_default().to_string_lossy();
    let stderr = scratch.path().join(format!("{label}-{worker}.err"));
    let mut cmd = header_command(tool, setup, file, &header);
    let outcome = run_with_timeout(&mut cmd, &stderr, timeout);
    let wrote = std::fs::metadata(&header).is_ok_and(|m| m.len() > 0);
    match (&outcome.exit, wrote) {
        (Exit::Code(0), true) => Ok(()),
        (exit, _) => {
            let how = match exit {
                Exit::Code(0) => "exited 0 without a header".to_string(),
                Exit::Code(code) => format!("exited with code {code}"),
                other => crate::widl::not_run(other).unwrap_or_default(),
            };
            let first = outcome
                .stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no message");
            Err(format!("{how}: {first}"))
        }
    }
}

/// The header a windows-first unit includes first: `#include <windows.h>` and nothing
/// else, precompiled per tool and language (see [`precompile`]).
const WINDOWS_FIRST: &str = "comidl_windows_first.h";

/// Writes each file's translation units: `STEM.EXT` includes the header alone,
/// `STEM.win.EXT` includes `<windows.h>` first (through [`WINDOWS_FIRST`]).
fn write_units(
    tu_dir: &Path,
    files: &[PathBuf],
    stems: &HashMap<PathBuf, String>,
) -> Result<(), Fatal> {
    for rel in files {
        let stem = &stems[rel];
        for config in CONFIGS {
            let path = unit_path(tu_dir, stem, &config);
            let first = if config.windows_first {
                format!("#include \"{WINDOWS_FIRST}\"\n")
            } else {
                String::new()
            };
            std::fs::write(&path, format!("{first}#include \"{stem}.h\"\n"))
                .map_err(|e| Fatal::Setup(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

fn unit_path(tu_dir: &Path, stem: &str, config: &Config) -> PathBuf {
    let win = if config.windows_first { ".win" } else { "" };
    tu_dir.join(format!("{stem}{win}.{}", config.ext))
}

/// Where the precompiled [`WINDOWS_FIRST`] of one header directory and language is.
fn pch_dir(header_dir: &Path, config: &Config) -> PathBuf {
    let tool = header_dir.file_name().unwrap_or_default().to_string_lossy();
    let parent = header_dir.parent().unwrap_or(header_dir);
    parent.join("pch").join(format!("{tool}-{}", config.ext))
}

/// Precompiles `<windows.h>` with one tool's headers for C and for C++, so that the
/// windows-first units read it once instead of once per file: the same text through
/// [`WINDOWS_FIRST`], parsed ten times faster. Where `<windows.h>` does not compile with
/// that tool's headers, no precompiled header is written and each unit includes it as
/// text, failing as it should.
fn precompile(setup: &Setup, header_dir: &Path, jobs: usize, scratch: &ScratchDir, opts: &Options) {
    let configs: Vec<Config> = CONFIGS.into_iter().filter(|c| c.windows_first).collect();
    parallel_map(&configs, jobs, |worker, config| {
        let dir = pch_dir(header_dir, config);
        let header = dir.join(WINDOWS_FIRST);
        let pch = dir.join(format!("{WINDOWS_FIRST}.gch"));
        let _ = std::fs::remove_dir_all(&dir);
        if std::fs::create_dir_all(&dir).is_err()
            || std::fs::write(&header, "#include <windows.h>\n").is_err()
        {
            return;
        }
        let language = if config.ext == "c" {
            "c-header"
        } else {
            "c++-header"
        };
        let mut cmd = Command::new(config.compiler);
        cmd.args(config.flags.iter().filter(|f| **f != "-fsyntax-only"))
            .arg("-I")
            .arg(header_dir);
        for inc in &setup.includes {
            cmd.arg("-I").arg(inc);
        }
        cmd.args(["-x", language, "-o"]).arg(&pch).arg(&header);
        let stderr = scratch.path().join(format!("pch-{worker}.err"));
        if !run_with_timeout(&mut cmd, &stderr, opts.timeout)
            .exit
            .success()
        {
            let _ = std::fs::remove_file(&pch);
        }
    });
}

/// The compiler command for one header directory and configuration (add the unit).
fn compiler_command(setup: &Setup, header_dir: &Path, config: &Config) -> Command {
    let mut cmd = Command::new(config.compiler);
    cmd.args(config.flags);
    if config.windows_first {
        // Holds only WINDOWS_FIRST and its precompiled form.
        cmd.arg("-I").arg(pch_dir(header_dir, config));
    }
    cmd.arg("-I").arg(header_dir);
    for inc in &setup.includes {
        cmd.arg("-I").arg(inc);
    }
    cmd
}

/// Compiles one header in one configuration: gcc's verdict, or why it gave none (a
/// timeout, a signal, a compiler that could not start).
#[allow(clippy::too_many_arguments)]
fn compile(
    setup: &Setup,
    header_dir: &Path,
    tu_dir: &Path,
    stem: &str,
    config: &Config,
    scratch: &ScratchDir,
    worker: usize,
    opts: &Options,
) -> Result<Compiled, String> {
    let mut cmd = compiler_command(setup, header_dir, config);
    cmd.arg(unit_path(tu_dir, stem, config));
    let stderr = scratch.path().join(format!("cc-{worker}.err"));
    let outcome = run_with_timeout(&mut cmd, &stderr, opts.timeout);
    match outcome.exit {
        Exit::Code(0) => Ok(Compiled::Ok),
        Exit::Code(_) => Ok(Compiled::Error(first_error(&outcome.stderr))),
        exit => Err(crate::widl::not_run(&exit).unwrap_or_default()),
    }
}

/// gcc's first error line (its first line when none says `error`).
fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("error"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// A gcc line with the header directory left out of paths, to keep FAIL lines short.
fn shorten(line: &str, dir: &Path) -> String {
    line.replace(&format!("{}/", dir.display()), "")
}

/// Stops the stage when widl's headers compile in fewer than half the files of some
/// configuration: then the setup (compiler, flags, Wine's headers) is broken, and comidl
/// would pass vacuously wherever widl's header fails.
fn check_enough(results: &[Compiled], pairs: &[(usize, usize)], files: usize) -> Result<(), Fatal> {
    for (c, config) in CONFIGS.iter().enumerate() {
        let ok = pairs
            .iter()
            .zip(results)
            .filter(|((_, pc), r)| *pc == c && **r == Compiled::Ok)
            .count();
        if ok * 2 < files {
            let example = pairs
                .iter()
                .zip(results)
                .find_map(|((_, pc), r)| match r {
                    Compiled::Error(line) if *pc == c => Some(line.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            return Err(Fatal::Oracle(format!(
                "widl's headers compile in only {ok} of {files} files as {} ({}): the \
                 compiler setup is broken, so there is nothing to hold comidl to (first \
                 error: {example})",
                config.name, config.compiler
            )));
        }
    }
    Ok(())
}

/// Prints the per-configuration counts, every failure and the closing line; the exit
/// status.
fn report(
    files: &[PathBuf],
    counted: &[(usize, usize)],
    comidl: &[Result<(), String>],
    widl: &[Compiled],
    min_pass: Option<usize>,
) -> u8 {
    for ((f, c), result) in counted.iter().zip(comidl) {
        if let Err(why) = result {
            out!("FAIL {} ({}): {why}", files[*f].display(), CONFIGS[*c].name);
        }
    }
    for (c, config) in CONFIGS.iter().enumerate() {
        let widl_ok = widl
            .iter()
            .enumerate()
            .filter(|(i, r)| i % CONFIGS.len() == c && **r == Compiled::Ok)
            .count();
        let (mut passed, mut failed) = (0, 0);
        for ((_, pc), result) in counted.iter().zip(comidl) {
            if *pc == c {
                match result {
                    Ok(()) => passed += 1,
                    Err(_) => failed += 1,
                }
            }
        }
        out!(
            "{}: widl's header compiles for {widl_ok} of {} files ({} not counted); comidl's: {passed} pass, {failed} fail",
            config.name,
            files.len(),
            files.len() - widl_ok
        );
    }
    let passed = comidl.iter().filter(|r| r.is_ok()).count();
    let failed = comidl.len() - passed;
    let ok = match min_pass {
        Some(min) => {
            if passed < min {
                out!("error: only {passed} pass, fewer than the baseline {min}");
            } else if passed > min {
                out!(
                    "note: {passed} pass, more than the baseline {min}: tests/conformance/c-header-baseline can be raised to {passed}"
                );
            }
            passed >= min
        }
        None => failed == 0,
    };
    out!("{passed} passed, {failed} failed");
    if ok { 0 } else { 1 }
}

/// Hashes the cache format, the compilers' versions, the configurations, widl's headers
/// (names and contents) and the name, size and mtime of every file in the include
/// directories.
fn cache_key(setup: &Setup, widl_dir: &Path) -> std::io::Result<u64> {
    let mut hasher = DefaultHasher::new();
    CACHE_FORMAT.hash(&mut hasher);
    for compiler in ["gcc", "g++"] {
        let version = Command::new(compiler).arg("--version").output()?;
        version.stdout.hash(&mut hasher);
    }
    for config in CONFIGS {
        (
            config.name,
            config.compiler,
            config.flags,
            config.windows_first,
        )
            .hash(&mut hasher);
    }
    for rel in list_files(widl_dir)? {
        rel.hash(&mut hasher);
        std::fs::read(widl_dir.join(&rel))?.hash(&mut hasher);
    }
    setup.includes.hash(&mut hasher);
    for dir in &setup.includes {
        for rel in list_files(dir)? {
            let meta = std::fs::metadata(dir.join(&rel))?;
            let mtime = meta
                .modified()?
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            (rel, meta.len(), mtime).hash(&mut hasher);
        }
    }
    Ok(hasher.finish())
}

/// Reads the cache: `# key HEX`, then `STEM<TAB>CONFIG<TAB>ok` or `...<TAB>error<TAB>LINE`.
/// `None` unless the key matches and every pair has a verdict.
fn load(path: &Path, key: u64, names: &[String]) -> Option<Vec<Compiled>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != format!("# key {key:016x}") {
        return None;
    }
    let mut known: BTreeMap<String, Compiled> = BTreeMap::new();
    for line in lines {
        let mut parts = line.splitn(4, '\t');
        let (Some(stem), Some(config), Some(verdict)) = (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let compiled = match (verdict, parts.next()) {
            ("ok", None) => Compiled::Ok,
            ("error", Some(line)) => Compiled::Error(line.to_string()),
            _ => return None,
        };
        known.insert(format!("{stem}\t{config}"), compiled);
    }
    names.iter().map(|n| known.get(n).cloned()).collect()
}

fn save(path: &Path, key: u64, names: &[String], results: &[Compiled]) -> std::io::Result<()> {
    let mut text = format!("# key {key:016x}\n");
    for (name, result) in names.iter().zip(results) {
        match result {
            Compiled::Ok => text.push_str(&format!("{name}\tok\n")),
            Compiled::Error(line) => {
                text.push_str(&format!("{name}\terror\t{}\n", line.replace('\t', " ")))
            }
        }
    }
    // Write then rename, so a concurrent reader never sees half a file.
    let partial = path.with_extension("tsv.partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(partial, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trip_and_mismatch() {
        let scratch = ScratchDir::new("comidl-conformance-test-c-header-cache").unwrap();
        let path = scratch.path().join("c.tsv");
        let names = vec!["a\tc".to_string(), "a\tc++".to_string()];
        let results = vec![Compiled::Ok, Compiled::Error("a.h:1:2: error: x\ty".into())];
        save(&path, 5, &names, &results).unwrap();
        assert_eq!(
            load(&path, 5, &names),
            Some(vec![
                Compiled::Ok,
                Compiled::Error("a.h:1:2: error: x y".into())
            ])
        );
        assert_eq!(load(&path, 6, &names), None);
        assert_eq!(load(&path, 5, &["b\tc".to_string()]), None);
    }

    #[test]
    fn too_few_widl_passes_stop_the_stage() {
        let pairs: Vec<(usize, usize)> = (0..4)
            .flat_map(|f| (0..CONFIGS.len()).map(move |c| (f, c)))
            .collect();
        let all_ok = vec![Compiled::Ok; pairs.len()];
        assert!(check_enough(&all_ok, &pairs, 4).is_ok());
        // One configuration where only one of four files compiles.
        let mut few = all_ok.clone();
        for (i, (f, c)) in pairs.iter().enumerate() {
            if *c == 2 && *f > 0 {
                few[i] = Compiled::Error("x.h:1:1: error: no".into());
            }
        }
        let Err(Fatal::Oracle(why)) = check_enough(&few, &pairs, 4) else {
            panic!("one file in four must stop the stage");
        };
        assert!(why.contains("only 1 of 4 files as c++"), "{why}");
    }

    #[test]
    fn first_error_lines() {
        let stderr = "In file included from a.c:1:\n/d/x.h:3:1: error: unknown type name 'BYTE'\n/d/x.h:4:1: error: other\n";
        assert_eq!(
            first_error(stderr),
            "/d/x.h:3:1: error: unknown type name 'BYTE'"
        );
        assert_eq!(
            shorten(&first_error(stderr), Path::new("/d")),
            "x.h:3:1: error: unknown type name 'BYTE'"
        );
        assert_eq!(first_error(""), "no message");
    }
}
