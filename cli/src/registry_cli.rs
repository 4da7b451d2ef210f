//! The `comidl register`, `comidl unregister` and `comidl registry` subcommands (used by
//! main.rs): regsvr32 and reg.exe for comidl's class registry. They run the server
//! module's own exports and the runtime's registry code, so what they write is exactly
//! what activation reads.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use comidl_runtime::registry::{Registry, RegistryError, Scope, Value};

/// Where the registry is and which layer a write goes to.
#[derive(Args)]
pub struct Location {
    /// Use the class registry in DIR (its machine.reg and user.reg) instead of
    /// $COMIDL_REGISTRY or the XDG locations.
    #[arg(long, value_name = "DIR", global = true)]
    registry: Option<PathBuf>,
    /// Write the machine-wide layer instead of the user's (like an elevated regsvr32).
    #[arg(long, global = true)]
    machine: bool,
}

#[derive(Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    help: crate::HelpFlag,
    #[command(flatten)]
    location: Location,
    /// The in-process server module (a shared library exporting DllRegisterServer).
    module: PathBuf,
}

#[derive(Args)]
pub struct RegistryArgs {
    #[command(flatten)]
    help: crate::HelpFlag,
    #[command(flatten)]
    location: Location,
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Print the registry (or KEY and everything below it) as a REGEDIT4 .reg file.
    Export {
        /// A key path below HKEY_CLASSES_ROOT, e.g. `CLSID\{...}` (default: everything).
        key: Option<String>,
        /// Export only the user layer.
        #[arg(long, conflicts_with = "machine_only")]
        user_only: bool,
        /// Export only the machine layer.
        #[arg(long)]
        machine_only: bool,
    },
    /// Apply a REGEDIT4 .reg file to the user layer (or the machine layer with --machine).
    /// Nothing is written unless the whole file is valid.
    Import {
        /// The .reg file.
        file: PathBuf,
    },
    /// Print a key's values and subkeys, like `reg query`.
    Query {
        /// A key path below HKEY_CLASSES_ROOT, e.g. `Comidl.Calculator\CurVer`.
        key: String,
    },
}

impl Location {
    /// Applies `--registry` for this process and the modules it loads.
    fn apply(&self) {
        if let Some(dir) = &self.registry {
            comidl_runtime::host::set_registry_dir(Some(dir.clone()));
        }
    }

    fn scope(&self) -> Scope {
        if self.machine {
            Scope::Machine
        } else {
            Scope::User
        }
    }

    fn open(&self) -> Result<Registry, RegistryError> {
        self.apply();
        Registry::open_default()
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

/// `comidl register` / `comidl unregister`.
pub fn register(args: &RegisterArgs, register: bool) -> ExitCode {
    args.location.apply();
    if args.location.machine {
        // SAFETY: the CLI has no other thread; the module's DllRegisterServer reads this.
        unsafe { std::env::set_var("COMIDL_REGISTER_SCOPE", "machine") };
    }
    let result = if register {
        comidl_runtime::loader::register_server(&args.module)
    } else {
        comidl_runtime::loader::unregister_server(&args.module)
    };
    match result {
        Ok(()) => {
            let done = if register {
                "registered"
            } else {
                "unregistered"
            };
            println!("{done} {}", args.module.display());
            ExitCode::SUCCESS
        }
        Err(error) => fail(error),
    }
}

/// `comidl registry ...`.
pub fn registry(args: &RegistryArgs) -> ExitCode {
    let registry = match args.location.open() {
        Ok(registry) => registry,
        Err(error) => return fail(error),
    };
    match &args.command {
        RegistryCommand::Export {
            key,
            user_only,
            machine_only,
        } => export(&registry, key.as_deref(), *user_only, *machine_only),
        RegistryCommand::Import { file } => {
            match registry.import_file(args.location.scope(), file) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(error),
            }
        }
        RegistryCommand::Query { key } => query(&registry, key),
    }
}

/// A key path as users write it: with or without a `HKEY_CLASSES_ROOT\` (or `HKCR\`) prefix.
fn key_path(key: &str) -> &str {
    let trimmed = key.trim_matches('\\');
    for root in ["HKEY_CLASSES_ROOT", "HKCR"] {
        let (Some(head), Some(rest)) = (trimmed.get(..root.len()), trimmed.get(root.len()..))
        else {
            continue;
        };
        if head.eq_ignore_ascii_case(root) && (rest.is_empty() || rest.starts_with('\\')) {
            return rest.trim_start_matches('\\');
        }
    }
    trimmed
}

fn export(registry: &Registry, key: Option<&str>, user_only: bool, machine_only: bool) -> ExitCode {
    let tree = if user_only {
        registry.layer(Scope::User)
    } else if machine_only {
        registry.layer(Scope::Machine)
    } else {
        registry.snapshot().map(|s| s.into_tree())
    };
    let tree = match tree {
        Ok(tree) => tree,
        Err(error) => return fail(error),
    };
    let key = key.map(key_path).filter(|k| !k.is_empty());
    if let Some(key) = key
        && !tree.key_exists(key)
    {
        return fail(format!("the key HKEY_CLASSES_ROOT\\{key} does not exist"));
    }
    print!("{}", tree.export(key));
    ExitCode::SUCCESS
}

fn query(registry: &Registry, key: &str) -> ExitCode {
    let snapshot = match registry.snapshot() {
        Ok(snapshot) => snapshot,
        Err(error) => return fail(error),
    };
    let path = key_path(key);
    let Some(found) = snapshot.key(path) else {
        return fail(format!("the key HKEY_CLASSES_ROOT\\{path} does not exist"));
    };
    let shown = snapshot
        .canonical_path(path)
        .unwrap_or_else(|| path.to_string());
    println!("HKEY_CLASSES_ROOT\\{shown}");
    for (name, value) in found.values() {
        let name = if name.is_empty() { "(Default)" } else { name };
        match value {
            Value::String(text) => println!("    {name}    REG_SZ    {text}"),
            Value::Dword(n) => println!("    {name}    REG_DWORD    {n:#x}"),
        }
    }
    for sub in found.subkeys() {
        println!("HKEY_CLASSES_ROOT\\{shown}\\{}", sub.name());
    }
    ExitCode::SUCCESS
}
