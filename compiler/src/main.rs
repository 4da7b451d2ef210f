//! The `comidl` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use comidl::{Options, diag};

mod registry_cli;

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
    /// Generate code from IDL files (one output file per IDL file and kind).
    Gen(GenArgs),
    /// Register an in-process server module: load it and call its DllRegisterServer.
    Register(registry_cli::RegisterArgs),
    /// Unregister an in-process server module: call its DllUnregisterServer.
    Unregister(registry_cli::RegisterArgs),
    /// Read or change the class registry: export, import, query.
    Registry(registry_cli::RegistryArgs),
}

#[derive(Args)]
struct GenArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Generate Rust bindings (`<stem>.rs`).
    #[arg(long)]
    rust: bool,
    /// Directory for the generated files.
    #[arg(short = 'o', long = "out-dir", value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    /// Path of the runtime crate in generated Rust (`crate` for the runtime's own bindings).
    #[arg(long, value_name = "PATH", default_value = "::comidl_runtime")]
    runtime_path: String,
    /// The IDL files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Preprocessor flags shared by every subcommand that reads IDL.
#[derive(Args)]
struct InputArgs {
    /// Add a directory to the search path for #include and import.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a preprocessor macro: NAME or NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    define: Vec<String>,
    /// Undefine a preprocessor macro.
    #[arg(short = 'U', value_name = "NAME")]
    undefine: Vec<String>,
}

impl InputArgs {
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

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print a one-line summary when the file is valid.
    #[arg(short, long)]
    verbose: bool,
    /// The IDL file to check.
    file: PathBuf,
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
        Command::Gen(args) => generate(&args),
        Command::Register(args) => registry_cli::register(&args, true),
        Command::Unregister(args) => registry_cli::register(&args, false),
        Command::Registry(args) => registry_cli::registry(&args),
    }
}

fn stderr() -> StandardStream {
    let color = if std::io::stderr().is_terminal() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    StandardStream::stderr(color)
}

fn generate(args: &GenArgs) -> ExitCode {
    if !args.rust {
        eprintln!("error: nothing to generate: pass --rust");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for file in &args.files {
        let outcome = comidl::check(file, &args.input.options());
        let mut err = stderr();
        diag::write_to(&outcome.sources, &outcome.diagnostics, &mut err);
        if outcome.has_errors() {
            failed = true;
            continue;
        }
        let options = comidl::emit::rust::Options {
            runtime: args.runtime_path.clone(),
            ..Default::default()
        };
        let generated = match comidl::emit::rust::generate(&outcome.model, &options) {
            Ok(g) => g,
            Err(diagnostics) => {
                diag::write_to(&outcome.sources, &diagnostics, &mut err);
                failed = true;
                continue;
            }
        };
        diag::write_to(&outcome.sources, &generated.diagnostics, &mut err);
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = args.out_dir.join(format!("{stem}.rs"));
        // Like widl and MIDL, a missing output directory is created.
        let written = std::fs::create_dir_all(&args.out_dir)
            .and_then(|()| std::fs::write(&out, generated.code));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", out.display());
            failed = true;
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let outcome = comidl::check(&args.file, &args.input.options());
    diag::write_to(&outcome.sources, &outcome.diagnostics, &mut stderr());
    if outcome.has_errors() {
        return ExitCode::from(1);
    }
    if args.verbose {
        println!("{}", outcome.summary());
    }
    ExitCode::SUCCESS
}
