//! Command-line parsing. Hand-rolled so the harness needs no dependencies.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: comidl-conformance [--stage STAGE] [OPTIONS]   compare comidl with widl
       comidl-conformance bench [OPTIONS]             time comidl against widl

options:
  --stage STAGE     what to compare: `parse` (default: does comidl accept what
                    widl accepts?), `preprocess` (does `comidl -E` print the
                    tokens `widl -E` prints?), `layout` (do the Rust bindings
                    lay out every record as gcc lays out widl's C header?),
                    `mutation` (does comidl reject, with a located error, the
                    broken copies of Wine's files that widl rejects?),
                    `c-header` (does comidl's C header compile, as C and C++,
                    wherever widl's does?) or `ndr` (do the marshalling
                    descriptions compile, hold together and match the Rust
                    types, for every file widl accepts?)
  --corpus DIR      check every .idl file under DIR (default: Wine 8.0's IDL,
                    fetched from Debian's packages into <target>/conformance)
  --include DIR     add an include directory for both tools (repeatable;
                    default with the Wine corpus: its windows and wine dirs)
  --widl PATH       widl binary (default: the one from the Wine packages)
  --comidl PATH     comidl binary (default: the comidl next to this binary)
  --midl-only FILE  files comidl may accept though widl rejects them, as
                    `path: reason` lines (default with the Wine corpus:
                    tests/conformance/wine8-midl-only; otherwise none)
  --min-pass N      ratchet: parse, c-header, ndr: exit 0 iff at least N files
                    (c-header: file and configuration pairs) pass; layout: also
                    fail if fewer than N records pass
  --jobs N          parallel processes (default: number of cores)
  --timeout SECS    limit per tool process (default: 60)
  --repeat N        bench only: timed rounds per tool, median taken (default: 3)
  -v, --verbose     also list the files comidl accepts beyond widl (mutation:
                    the mutations widl accepts; ndr: each interface and method
                    left out, each procedure reaching an unsupported type)
  -h, --help        show this help
";

/// What the invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Classify every corpus file by comparing widl's and comidl's verdicts.
    Conformance,
    /// Time both tools over the files widl accepts.
    Bench,
    /// Print the usage text.
    Help,
}

/// Which comparison a conformance run makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Parse,
    Preprocess,
    Layout,
    Mutation,
    CHeader,
    Ndr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub stage: Stage,
    pub corpus: Option<PathBuf>,
    pub includes: Vec<PathBuf>,
    pub widl: Option<PathBuf>,
    pub comidl: Option<PathBuf>,
    pub midl_only: Option<PathBuf>,
    pub min_pass: Option<usize>,
    pub jobs: Option<usize>,
    pub timeout: Duration,
    pub repeat: usize,
    pub verbose: bool,
}

impl Options {
    fn new(mode: Mode) -> Self {
        Options {
            mode,
            stage: Stage::Parse,
            corpus: None,
            includes: Vec::new(),
            widl: None,
            comidl: None,
            midl_only: None,
            min_pass: None,
            jobs: None,
            timeout: Duration::from_secs(60),
            repeat: 3,
            verbose: false,
        }
    }
}

/// Parses the arguments after the program name. An `Err` is a usage error.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let (mode, rest) = match args.first().map(String::as_str) {
        Some("bench") => (Mode::Bench, &args[1..]),
        _ => (Mode::Conformance, args),
    };
    let mut opts = Options::new(mode);
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        // Accept both `--opt value` and `--opt=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| iter.next().cloned())
                .ok_or_else(|| format!("option `{name}` needs a value"))
        };
        match name {
            "-h" | "--help" => opts.mode = Mode::Help,
            "-v" | "--verbose" => opts.verbose = true,
            "--stage" => opts.stage = check_stage(&value()?)?,
            "--corpus" => opts.corpus = Some(PathBuf::from(value()?)),
            "--include" | "-I" => opts.includes.push(PathBuf::from(value()?)),
            "--widl" => opts.widl = Some(PathBuf::from(value()?)),
            "--comidl" => opts.comidl = Some(PathBuf::from(value()?)),
            "--midl-only" => opts.midl_only = Some(PathBuf::from(value()?)),
            "--min-pass" => opts.min_pass = Some(number(name, &value()?)?),
            "--jobs" => opts.jobs = Some(positive(name, &value()?)?),
            "--timeout" => opts.timeout = Duration::from_secs(positive(name, &value()?)? as u64),
            "--repeat" => opts.repeat = positive(name, &value()?)?,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    check_mode_options(&opts)?;
    Ok(opts)
}

/// The stages that exist; others are announced, not silently run.
fn check_stage(stage: &str) -> Result<Stage, String> {
    match stage {
        "parse" => Ok(Stage::Parse),
        "preprocess" => Ok(Stage::Preprocess),
        "layout" => Ok(Stage::Layout),
        "mutation" => Ok(Stage::Mutation),
        "c-header" => Ok(Stage::CHeader),
        "ndr" => Ok(Stage::Ndr),
        other => Err(format!("stage `{other}` is not implemented yet")),
    }
}

/// Rejects options that mean nothing in the chosen mode, so typos surface.
fn check_mode_options(opts: &Options) -> Result<(), String> {
    if opts.mode == Mode::Bench && opts.min_pass.is_some() {
        return Err("`--min-pass` does not apply to bench".to_string());
    }
    Ok(())
}

fn number(name: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("option `{name}` needs a whole number, got `{text}`"))
}

fn positive(name: &str, text: &str) -> Result<usize, String> {
    match number(name, text)? {
        0 => Err(format!("option `{name}` must be at least 1")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_stage_with_ratchet() {
        let opts = parse(&args(&["--stage", "parse", "--min-pass=12", "-v"])).unwrap();
        assert_eq!(opts.mode, Mode::Conformance);
        assert_eq!(opts.min_pass, Some(12));
        assert!(opts.verbose);
    }

    #[test]
    fn other_stages_are_usage_errors() {
        let err = parse(&args(&["--stage", "codegen"])).unwrap_err();
        assert_eq!(err, "stage `codegen` is not implemented yet");
        let opts = parse(&args(&["--stage", "layout"])).unwrap();
        assert_eq!(opts.stage, Stage::Layout);
        let opts = parse(&args(&["--stage", "c-header", "--min-pass", "3"])).unwrap();
        assert_eq!(opts.stage, Stage::CHeader);
        let opts = parse(&args(&["--stage", "ndr", "--min-pass", "235"])).unwrap();
        assert_eq!((opts.stage, opts.min_pass), (Stage::Ndr, Some(235)));
    }

    #[test]
    fn repeated_includes_keep_order() {
        let opts = parse(&args(&["--corpus", "c", "--include", "a", "--include=b"])).unwrap();
        assert_eq!(opts.corpus, Some(PathBuf::from("c")));
        assert_eq!(opts.includes, vec![PathBuf::from("a"), PathBuf::from("b")]);
    }

    #[test]
    fn bench_mode_and_its_options() {
        let opts = parse(&args(&["bench", "--repeat", "5"])).unwrap();
        assert_eq!(opts.mode, Mode::Bench);
        assert_eq!(opts.repeat, 5);
        assert!(parse(&args(&["bench", "--min-pass", "1"])).is_err());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(parse(&args(&["--min-pass", "x"])).is_err());
        assert!(parse(&args(&["--jobs", "0"])).is_err());
        assert!(parse(&args(&["--corpus"])).is_err());
        assert!(parse(&args(&["--frobnicate"])).is_err());
    }
}
