//! The calculator example's client.
//!
//! ```text
//! calculator-client [--temp-registry] [--register] [--servers DIR]
//! ```
//!
//! `--temp-registry` works in a new empty registry under the system's temporary directory
//! (removed at exit) and implies `--register`; `--register` registers the Adder and
//! Calculator server modules found in DIR (default: the directory of this program, where
//! cargo puts them) by calling their DllRegisterServer, as `comidl register` does. Then it
//! creates a Calculator by its ProgID, uses ICalculator and, through QueryInterface, the
//! IAdder the Calculator gets by aggregating the Adder, and prints the results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use calculator_bindings::{IAdder, ICalculator};
use comidl_runtime::{CLSCTX_INPROC_SERVER, ComInit, HRESULT, host};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("calculator-client: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A failure as a message naming the step and the HRESULT (with the runtime's detail).
fn failed(step: &str, hr: HRESULT) -> String {
    format!("{step}: {}", host::describe(hr))
}

fn run() -> Result<(), String> {
    let mut temp_registry = false;
    let mut register = false;
    let mut servers: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--temp-registry" => temp_registry = true,
            "--register" => register = true,
            "--servers" => servers = Some(args.next().ok_or("--servers needs a directory")?.into()),
            "-h" | "--help" => {
                println!("usage: calculator-client [--temp-registry] [--register] [--servers DIR]");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    let _temp = if temp_registry {
        let dir = std::env::temp_dir().join(format!("comidl-calculator-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("COMIDL_REGISTRY", &dir) };
        println!("using the temporary registry {}", dir.display());
        register = true;
        Some(RemoveOnDrop(dir))
    } else {
        None
    };
    let servers = match servers {
        Some(dir) => dir,
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .ok_or("cannot find this program's directory; pass --servers DIR")?,
    };
    if register {
        for module in ["libcomidl_adder.so", "libcomidl_calculator.so"] {
            let path = servers.join(module);
            comidl_runtime::loader::register_server(&path)
                .map_err(|e| format!("registering {}: {e}", path.display()))?;
            println!("registered {}", path.display());
        }
    }

    let _com = ComInit::multithreaded().map_err(|hr| failed("CoInitializeEx", hr))?;
    let clsid = comidl_runtime::clsid_from_progid("Comidl.Calculator")
        .map_err(|hr| failed("CLSIDFromProgID(\"Comidl.Calculator\")", hr))?;
    println!("Comidl.Calculator is {}", comidl_runtime::clsid::guid_text(&clsid));
    let calculator = comidl_runtime::create_instance::<ICalculator>(&clsid, CLSCTX_INPROC_SERVER)
        .map_err(|hr| failed("CoCreateInstance(Calculator)", hr))?;
    let adder = calculator
        .cast::<IAdder>()
        .map_err(|hr| failed("QueryInterface(IAdder)", hr))?;
    let same_object = calculator.identity().ok() == adder.identity().ok();

    let sum = adder.add(40, 2).map_err(|hr| failed("IAdder::Add", hr))?;
    let difference = calculator.subtract(50, 8).map_err(|hr| failed("Subtract", hr))?;
    let product = calculator.multiply(6, 7).map_err(|hr| failed("Multiply", hr))?;
    let (quotient, remainder) = calculator.divide(85, 2).map_err(|hr| failed("Divide", hr))?;
    println!("IAdder::Add(40, 2) = {sum}");
    println!("ICalculator::Subtract(50, 8) = {difference}");
    println!("ICalculator::Multiply(6, 7) = {product}");
    println!("ICalculator::Divide(85, 2) = {quotient} remainder {remainder}");
    match calculator.divide(1, 0) {
        Ok(_) => return Err("Divide(1, 0) succeeded".into()),
        Err(hr) => println!("ICalculator::Divide(1, 0) fails: {}", host::describe(hr)),
    }
    println!("IAdder and ICalculator are one object: {same_object}");
    drop((adder, calculator));
    comidl_runtime::CoFreeUnusedLibraries();
    Ok(())
}

/// Removes the temporary registry at exit.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
