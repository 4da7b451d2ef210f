//! The `comidl` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use comidl::{Options, diag};

#[derive(Parser)]
#[command(name = "comidl", version, about = "MIDL-dialect IDL compiler for Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an IDL file and everything it imports; print diagnostics, write nothing.
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// Add a directory to the search path for #include and import.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a preprocessor macro: NAME or NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    define: Vec<String>,
    /// Undefine a preprocessor macro.
    #[arg(short = 'U', value_name = "NAME")]
    undefine: Vec<String>,
    /// Print a one-line summary when the file is valid.
    #[arg(short, long)]
    verbose: bool,
    /// The IDL file to check.
    file: PathBuf,
}

impl CheckArgs {
    fn options(&self) -> Options {
        let mut options = Options::default();
        options.preprocess.include_dirs = self.include.clone();
        options.preprocess.defines = self
            .define
            .iter()
            .map(|d| match d.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (d.clone(), None),
            })
            .collect();
        options.preprocess.undefines = self.undefine.clone();
        options
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 2; --help and --version are not errors.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let outcome = comidl::check(&args.file, &args.options());
    let color = if std::io::stderr().is_terminal() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let mut stderr = StandardStream::stderr(color);
    diag::write_to(&outcome.sources, &outcome.diagnostics, &mut stderr);
    if outcome.has_errors() {
        return ExitCode::from(1);
    }
    if args.verbose {
        println!("{}", outcome.summary());
    }
    ExitCode::SUCCESS
}
