//! Conformance harness and speed benchmark for comidl, with widl (Wine's IDL
//! compiler) as the reference. See tests/conformance/README.md.

/// `println!` that ignores a closed stdout (`| head`), where `println!`
/// would panic: the run goes on and its exit status still tells the result.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod bindings;
mod classify;
mod cli;
mod corpus;
mod layout_records;
mod mutate;
mod process;
mod stage_c_header;
mod stage_layout;
mod stage_mutation;
mod stage_ndr;
mod stage_parse;
mod stage_preprocess;
mod widl;

use std::process::ExitCode;

use cli::{Mode, Options, Stage};

/// Why a run could not produce a report.
#[derive(Debug)]
pub enum Fatal {
    /// Bad command line or paths: exit status 2.
    Usage(String),
    /// The corpus or a tool could not be had: exit status 3.
    Setup(String),
    /// The oracle (widl) did not really run, or not as the corpus pins it: exit status 4.
    /// Nothing was compared, so nothing passed.
    Oracle(String),
}

fn main() -> ExitCode {
    // Lossy, so an odd argument becomes a usage error instead of a panic.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    ExitCode::from(run(&args))
}

fn run(args: &[String]) -> u8 {
    let opts = match cli::parse(args) {
        Ok(opts) => opts,
        Err(message) => return fatal(Fatal::Usage(message)),
    };
    let result = match opts.mode {
        Mode::Help => {
            out!("{}", cli::USAGE.trim_end());
            Ok(0)
        }
        Mode::Conformance => corpus::resolve(&opts).and_then(|s| match opts.stage {
            Stage::Parse => stage_parse::run(&opts, &s),
            Stage::Preprocess => stage_preprocess::run(&opts, &s),
            Stage::Layout => stage_layout::run(&opts, &s),
            Stage::Mutation => stage_mutation::run(&opts, &s),
            Stage::CHeader => stage_c_header::run(&opts, &s),
            Stage::Ndr => stage_ndr::run(&opts, &s),
        }),
        Mode::Bench => corpus::resolve(&opts).and_then(|s| bench::run(&opts, &s)),
    };
    result.unwrap_or_else(fatal)
}

fn fatal(error: Fatal) -> u8 {
    match error {
        Fatal::Usage(message) => {
            eprintln!("error: {message}\n(see --help)");
            2
        }
        Fatal::Setup(message) => {
            eprintln!("error: {message}");
            3
        }
        Fatal::Oracle(message) => {
            eprintln!("error: {message}");
            4
        }
    }
}

/// Parallel processes to run: `--jobs`, else one per core.
pub fn job_count(opts: &Options) -> usize {
    opts.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}
