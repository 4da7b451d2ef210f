//! The `comidl` command line.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgAction, Args, Parser, Subcommand};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use comidl::{Options, diag};
use outputs::{Kind, Settings};

mod outputs;
mod registry_cli;

const EXIT_CODES: &str = "\
Exit status: 0 when everything was written (warnings are printed), 1 when an IDL file has
errors or an output cannot be written, 2 for a usage error (including -p, not available yet).

widl-compatible mode: `comidl [FLAGS] FILE.idl` with no subcommand takes widl's flags, so a
build script calling `widl -h -o x.h -I inc x.idl` works with `comidl` in its place. With no
output flag it writes the header and the _i.c file, and the .winmd when FILE has a library.";

#[derive(Parser)]
#[command(
    name = "comidl",
    version,
    about = "MIDL-dialect IDL compiler for Rust: Rust bindings, C headers, .winmd type \
             libraries and registration scripts",
    after_help = EXIT_CODES,
    // `-h` is widl's "generate a header"; help is `--help`.
    disable_help_flag = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// Print help (`comidl gen --help` for a subcommand's).
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    #[command(flatten)]
    widl: WidlArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// `-h`/`--help` for the subcommands: disabling clap's help flag at the top level (where
/// `-h` is widl's "header") disables it below too, so each subcommand adds it back.
#[derive(Args)]
pub struct HelpFlag {
    /// Print help.
    #[arg(short = 'h', long, action = ArgAction::Help, global = true)]
    help: Option<bool>,
}

#[derive(Subcommand)]
enum Command {
    /// Check an IDL file and everything it imports; print diagnostics, write nothing.
    Check(CheckArgs),
    /// Generate code from IDL files: one file per IDL file and kind, in one directory.
    Gen(GenArgs),
    /// Register an in-process server module: load it and call its DllRegisterServer.
    Register(registry_cli::RegisterArgs),
    /// Unregister an in-process server module: call its DllUnregisterServer.
    Unregister(registry_cli::RegisterArgs),
    /// Read or change the class registry: export, import, query.
    Registry(registry_cli::RegistryArgs),
}

/// widl's command line (used when no subcommand is given).
#[derive(Args)]
struct WidlArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Generate a C/C++ header (FILE.h).
    #[arg(short = 'h', help_heading = "widl-compatible outputs")]
    header: bool,
    /// Name of the header (implies -h).
    #[arg(
        short = 'H',
        value_name = "FILE",
        help_heading = "widl-compatible outputs"
    )]
    header_name: Option<PathBuf>,
    /// Generate the IID/CLSID/LIBID definitions (FILE_i.c).
    #[arg(short = 'u', help_heading = "widl-compatible outputs")]
    iids: bool,
    /// Generate the type library, as ECMA-335 metadata (FILE.winmd).
    #[arg(short = 't', help_heading = "widl-compatible outputs")]
    typelib: bool,
    /// Name of the type library (implies -t).
    #[arg(
        short = 'T',
        value_name = "FILE",
        help_heading = "widl-compatible outputs"
    )]
    typelib_name: Option<PathBuf>,
    /// Generate a REGEDIT4 registration script (FILE.reg).
    #[arg(short = 'r', help_heading = "widl-compatible outputs")]
    regscript: bool,
    /// Generate proxy/stub code: not available yet (comes with out-of-process COM); exit 2.
    #[arg(short = 'p', help_heading = "widl-compatible outputs")]
    proxy: bool,
    /// Preprocess only: print the file's preprocessed text on standard output, as `widl -E`.
    #[arg(short = 'E', help_heading = "widl-compatible outputs")]
    preprocess_only: bool,
    /// RPC client stubs (widl -c): not available yet (comes with DCE/RPC); exit 2.
    #[arg(short = 'c', help_heading = "widl-compatible outputs")]
    client_stubs: bool,
    /// RPC server stubs (widl -s): not available yet (comes with DCE/RPC); exit 2.
    #[arg(short = 's', help_heading = "widl-compatible outputs")]
    server_stubs: bool,
    /// Generate Rust bindings (FILE.rs): comidl's own addition.
    #[arg(long, help_heading = "widl-compatible outputs")]
    rust: bool,
    /// Output file name; with several outputs, their base name (NAME.h, NAME_i.c, ...).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "NAME",
        help_heading = "widl-compatible outputs"
    )]
    output: Option<PathBuf>,
    /// Accepted for widl compatibility: comidl has no standard include path to skip.
    #[arg(long, help_heading = "widl-compatible outputs")]
    nostdinc: bool,
    #[command(flatten)]
    emit: EmitArgs,
    /// The IDL file.
    file: Option<PathBuf>,
}

#[derive(Args)]
struct GenArgs {
    #[command(flatten)]
    help: HelpFlag,
    #[command(flatten)]
    input: InputArgs,
    /// Generate Rust bindings (`<stem>.rs`).
    #[arg(long)]
    rust: bool,
    /// Generate a C/C++ header (`<stem>.h`).
    #[arg(long)]
    c_header: bool,
    /// Generate the IID/CLSID/LIBID definitions for C (`<stem>_i.c`).
    #[arg(long)]
    iids: bool,
    /// Generate the type library as ECMA-335 metadata (`<stem>.winmd`).
    #[arg(long)]
    winmd: bool,
    /// Generate a REGEDIT4 registration script for the coclasses (`<stem>.reg`).
    #[arg(long)]
    reg: bool,
    /// Generate proxy/stub code: not available yet (comes with out-of-process COM); exit 2.
    #[arg(long)]
    proxy: bool,
    /// Directory for the generated files (created if missing).
    #[arg(short = 'o', long = "out-dir", value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    #[command(flatten)]
    emit: EmitArgs,
    /// The IDL files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Settings of particular outputs, shared by `gen` and the widl-style flags.
#[derive(Args)]
struct EmitArgs {
    /// Path of the runtime crate in generated Rust (`crate` for the runtime's own bindings).
    #[arg(long, value_name = "PATH", default_value = "::comidl_runtime")]
    runtime_path: String,
    /// Namespace of the .winmd's types (default: the library's name, else the file's stem).
    #[arg(long, value_name = "NAME")]
    namespace: Option<String>,
    /// InprocServer32 path written by the registration script (default: %MODULE%).
    #[arg(long, value_name = "PATH")]
    server_path: Option<String>,
    /// Print each file written.
    #[arg(short = 'v', long)]
    verbose: bool,
}

/// Preprocessor and target flags shared by every subcommand that reads IDL.
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
    /// Target 32-bit Windows (also spelled -m32): `_WIN64` is not defined for the IDL's
    /// `#ifdef`s. Generated Rust and C take the pointer width of the target they compile for.
    #[arg(long, conflicts_with = "win64")]
    win32: bool,
    /// Target 64-bit (also spelled -m64): the default.
    #[arg(long)]
    win64: bool,
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
        if self.win32 {
            options.preprocess.undefines.push("_WIN64".into());
        }
        // comidl's own IDL last on the path, as for comidl-build: `import
        // "comidl_base.idl";` works without -I. A directory that cannot be written only
        // costs that fallback.
        if let Some(dir) = builtin_idl_dir() {
            options.preprocess.include_dirs.push(dir);
        }
        options
    }
}

impl EmitArgs {
    fn settings(&self) -> Settings {
        Settings {
            runtime_path: self.runtime_path.clone(),
            namespace: self.namespace.clone(),
            server_path: self.server_path.clone(),
        }
    }
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    help: HelpFlag,
    #[command(flatten)]
    input: InputArgs,
    /// Print a one-line summary when the file is valid.
    #[arg(short, long)]
    verbose: bool,
    /// The IDL file to check.
    file: PathBuf,
}

/// Where this version of comidl keeps its built-in idl/ files: the user's cache directory
/// (`$XDG_CACHE_HOME`, else `~/.cache`), else the temporary directory; written when missing
/// or different.
fn builtin_idl_dir() -> Option<PathBuf> {
    let version = env!("CARGO_PKG_VERSION");
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let candidates = cache
        .map(|c| c.join("comidl").join(format!("idl-{version}")))
        .into_iter()
        .chain([std::env::temp_dir().join(format!("comidl-idl-{version}-{}", std::process::id()))]);
    candidates
        .into_iter()
        .find(|dir| comidl::stdidl::write_to(dir).is_ok())
}

/// widl and gcc spell the target `-m32`/`-m64`; clap's short flags are one letter, so
/// those two words become `--win32`/`--win64` before parsing.
fn widl_spellings(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for arg in args {
        if !rest && arg == "-m32" {
            out.push("--win32".into());
        } else if !rest && arg == "-m64" {
            out.push("--win64".into());
        } else {
            rest |= arg == "--";
            out.push(arg);
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(widl_spellings(std::env::args_os())) {
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
        Some(Command::Check(args)) => check(&args),
        Some(Command::Gen(args)) => generate(&args),
        Some(Command::Register(args)) => registry_cli::register(&args, true),
        Some(Command::Unregister(args)) => registry_cli::register(&args, false),
        Some(Command::Registry(args)) => registry_cli::registry(&args),
        None => widl(&cli.widl),
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

/// The "not yet" answer to `-p`/`--proxy`.
fn proxy_not_yet() -> ExitCode {
    eprintln!(
        "error: proxy/stub generation (-p, --proxy) is not available yet: it comes with \
         comidl's out-of-process COM (NDR marshalling)"
    );
    ExitCode::from(2)
}

fn generate(args: &GenArgs) -> ExitCode {
    if args.proxy {
        return proxy_not_yet();
    }
    let kinds: Vec<Kind> = [
        (args.rust, Kind::Rust),
        (args.c_header, Kind::Header),
        (args.iids, Kind::Iids),
        (args.winmd, Kind::Winmd),
        (args.reg, Kind::Reg),
    ]
    .into_iter()
    .filter_map(|(on, kind)| on.then_some(kind))
    .collect();
    if kinds.is_empty() {
        eprintln!("error: nothing to generate: pass --rust, --c-header, --iids, --winmd or --reg");
        return ExitCode::from(2);
    }
    let settings = args.emit.settings();
    // One set of options for every file (it writes the built-in IDL directory once).
    let options = args.input.options();
    let mut failed = false;
    for file in &args.files {
        let base = outputs::stem(file);
        let targets: Vec<(Kind, PathBuf)> = kinds
            .iter()
            .map(|&kind| (kind, args.out_dir.join(kind.file_name(&base))))
            .collect();
        failed |= !checked(file, &options)
            .is_some_and(|outcome| write_outputs(&outcome, &settings, &targets, args.emit.verbose));
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// widl-compatible mode: `comidl -h -u -o NAME -I DIR FILE.idl`.
fn widl(args: &WidlArgs) -> ExitCode {
    let Some(file) = &args.file else {
        eprintln!("error: no IDL file given (see comidl --help)");
        return ExitCode::from(2);
    };
    if args.proxy {
        return proxy_not_yet();
    }
    if args.client_stubs || args.server_stubs {
        eprintln!(
            "error: RPC client and server stubs (-c, -s) are not available yet: they come with \
             comidl's DCE/RPC support (NDR marshalling)"
        );
        return ExitCode::from(2);
    }
    // A bare word that is no file is a mistyped subcommand more likely than an IDL file.
    let bare_word = file.extension().is_none() && file.components().count() == 1;
    if bare_word && !file.exists() {
        eprintln!(
            "error: `{}` is neither a subcommand nor an IDL file (see comidl --help)",
            file.display()
        );
        return ExitCode::from(2);
    }
    if args.preprocess_only {
        return preprocess_only(file, &args.input.options());
    }
    let Some(outcome) = checked(file, &args.input.options()) else {
        return ExitCode::from(1);
    };
    let mut kinds: Vec<Kind> = [
        (args.header || args.header_name.is_some(), Kind::Header),
        (args.iids, Kind::Iids),
        (args.typelib || args.typelib_name.is_some(), Kind::Winmd),
        (args.regscript, Kind::Reg),
        (args.rust, Kind::Rust),
    ]
    .into_iter()
    .filter_map(|(on, kind)| on.then_some(kind))
    .collect();
    if kinds.is_empty() {
        // widl with no output flag writes what the file calls for.
        kinds = vec![Kind::Header, Kind::Iids];
        if has_library(&outcome) {
            kinds.push(Kind::Winmd);
        }
    }
    let single = kinds.len() == 1;
    // With one output, -o names it; with several, -o (less any extension) is their base.
    let base = match &args.output {
        Some(o) if !single => o.with_extension(""),
        _ => PathBuf::from(outputs::stem(file)),
    };
    let targets: Vec<(Kind, PathBuf)> = kinds
        .iter()
        .map(|&kind| {
            let named = match kind {
                Kind::Header => args.header_name.clone(),
                Kind::Winmd => args.typelib_name.clone(),
                _ => None,
            };
            let path = named
                .or_else(|| args.output.clone().filter(|_| single))
                .unwrap_or_else(|| with_file_name(&base, kind));
            (kind, path)
        })
        .collect();
    let settings = args.emit.settings();
    if write_outputs(&outcome, &settings, &targets, args.emit.verbose) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `-E`: the preprocessed text on stdout, diagnostics on stderr.
fn preprocess_only(file: &Path, options: &Options) -> ExitCode {
    use std::io::Write as _;
    let done = comidl::preprocess_file(file, options);
    diag::write_to(&done.sources, &done.diagnostics, &mut stderr());
    if done.has_errors() {
        return ExitCode::from(1);
    }
    // Comments are blanked to spaces in the text (so offsets map back to the source);
    // trailing blanks are dropped from the printout.
    let mut printed = String::with_capacity(done.text.len());
    for line in done.text.lines() {
        printed.push_str(line.trim_end());
        printed.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(printed.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("error: cannot write the preprocessed text: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `base` (a path without extension) with `kind`'s file name in place of its last part.
fn with_file_name(base: &Path, kind: Kind) -> PathBuf {
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    base.with_file_name(kind.file_name(&name))
}

fn has_library(outcome: &comidl::Outcome) -> bool {
    let model = &outcome.model;
    model.files.first().is_some_and(|main| {
        model
            .items_in(main.file)
            .any(|(_, item)| matches!(item.kind, comidl::ir::ItemKind::Library(_)))
    })
}

/// Checks `file` and everything it imports, printing the diagnostics; the outcome when
/// there are no errors.
fn checked(file: &Path, options: &Options) -> Option<comidl::Outcome> {
    let outcome = comidl::check(file, options);
    diag::write_to(&outcome.sources, &outcome.diagnostics, &mut stderr());
    (!outcome.has_errors()).then_some(outcome)
}

/// Renders every target before writing any, so a file with an error in one output kind
/// leaves no fresh outputs of the other kinds beside stale ones.
fn write_outputs(
    outcome: &comidl::Outcome,
    settings: &Settings,
    targets: &[(Kind, PathBuf)],
    verbose: bool,
) -> bool {
    let mut err = stderr();
    let mut rendered = Vec::new();
    let mut failed = false;
    for (kind, path) in targets {
        match outputs::render(*kind, outcome, settings) {
            Ok(r) => {
                diag::write_to(&outcome.sources, &r.warnings, &mut err);
                rendered.push((path, r.bytes));
            }
            Err(diagnostics) => {
                diag::write_to(&outcome.sources, &diagnostics, &mut err);
                failed = true;
            }
        }
    }
    if failed {
        return false;
    }
    for (path, bytes) in rendered {
        match outputs::write(path, &bytes) {
            Ok(()) if verbose => println!("wrote {}", path.display()),
            Ok(()) => {}
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                failed = true;
            }
        }
    }
    !failed
}

fn check(args: &CheckArgs) -> ExitCode {
    let Some(outcome) = checked(&args.file, &args.input.options()) else {
        return ExitCode::from(1);
    };
    if args.verbose {
        println!("{}", outcome.summary());
    }
    ExitCode::SUCCESS
}
