//! The calculator example's client.
//!
//! ```text
//! calculator-client [--temp-registry] [--register] [--servers DIR] [--local]
//! calculator-client --remote HOST[:PORT]
//! ```
//!
//! `--remote HOST` creates the Calculator on another machine, through that machine's
//! DCOM service (comidl-dcomd; CoCreateInstanceEx with CLSCTX_REMOTE_SERVER and a
//! COSERVERINFO naming HOST), with nothing registered here. For the fold's observer to be
//! called back, this machine runs its own service too (this process joins it and can be
//! reached from there).
//!
//! `--local` uses the executable server instead of the modules: it registers
//! `calculator-local-server` (its `/RegServer`) when registering, and creates the
//! Calculator with CLSCTX_LOCAL_SERVER, so every call crosses to the server process
//! through proxies, and the fold's observer (an object of this process) is called back
//! from there.
//!
//! `--temp-registry` works in a new empty registry under the system's temporary directory
//! (removed at exit) and implies `--register`; `--register` registers the Adder and
//! Calculator server modules found in DIR (default: where cargo puts them, this program's
//! directory or its `deps`) by calling their DllRegisterServer, as `comidl register` does;
//! `--register-only` stops after that. Then it creates a Calculator by its ProgID, uses
//! ICalculator and, through QueryInterface, the IAdder the Calculator gets by aggregating
//! the Adder, and prints the results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::sync::atomic::{AtomicU32, Ordering};

use calculator_bindings::{
    CLSID_Calculator, IAdder, IAdder_PROXY_STUB, ICalculator, ICalculator_PROXY_STUB,
    IFoldObserver, IFoldObserver_Impl, IFoldObserver_PROXY_STUB,
};
use comidl_runtime::{
    CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER, ComInit, ComObject, HRESULT, Result as ComResult,
    dcom, host,
};

/// The fold's observer: prints each step it is told.
struct Observer {
    steps: AtomicU32,
}

comidl_runtime::implement!(Observer: IFoldObserver);

impl IFoldObserver_Impl for Observer {
    fn step(&self, index: u32, value: i32, total: i32) -> ComResult<()> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        println!("  observer: step {index}: {value} -> {total}");
        Ok(())
    }
}

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
    let mut register_only = false;
    let mut servers: Option<PathBuf> = None;
    let mut local = false;
    let mut remote: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--temp-registry" => temp_registry = true,
            "--register" => register = true,
            "--register-only" => (register, register_only) = (true, true),
            "--servers" => servers = Some(args.next().ok_or("--servers needs a directory")?.into()),
            "--local" => local = true,
            "--remote" => remote = Some(args.next().ok_or("--remote needs a host")?),
            "-h" | "--help" => {
                println!(
                    "usage: calculator-client [--temp-registry] [--register | --register-only] \
                     [--servers DIR] [--local] | --remote HOST[:PORT]"
                );
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
    if register && local {
        let server = find_server(servers.as_deref(), "calculator-local-server")?;
        let status = std::process::Command::new(&server)
            .arg("/RegServer")
            .status()
            .map_err(|e| format!("running {}: {e}", server.display()))?;
        if !status.success() {
            return Err(format!("{} /RegServer failed: {status}", server.display()));
        }
        println!("registered {} (LocalServer32)", server.display());
        if register_only {
            return Ok(());
        }
    } else if register {
        for module in ["libcomidl_adder.so", "libcomidl_calculator.so"] {
            let path = find_server(servers.as_deref(), module)?;
            comidl_runtime::loader::register_server(&path)
                .map_err(|e| format!("registering {}: {e}", path.display()))?;
            println!("registered {}", path.display());
        }
        if register_only {
            return Ok(());
        }
    }

    let _com = ComInit::multithreaded().map_err(|hr| failed("CoInitializeEx", hr))?;
    // The proxies and stubs of the interfaces that cross to the local server.
    dcom::register(&[
        &IAdder_PROXY_STUB,
        &ICalculator_PROXY_STUB,
        &IFoldObserver_PROXY_STUB,
    ]);
    let context = if local {
        CLSCTX_LOCAL_SERVER
    } else {
        CLSCTX_INPROC_SERVER
    };
    let calculator = match &remote {
        Some(host) => {
            println!("creating the Calculator on {host}");
            comidl_runtime::create_instance_on::<ICalculator>(&CLSID_Calculator, host)
                .map_err(|hr| failed("CoCreateInstanceEx(Calculator, CLSCTX_REMOTE_SERVER)", hr))?
        }
        None => {
            let clsid = comidl_runtime::clsid_from_progid("Comidl.Calculator")
                .map_err(|hr| failed("CLSIDFromProgID(\"Comidl.Calculator\")", hr))?;
            println!("Comidl.Calculator is {}", clsid);
            comidl_runtime::create_instance::<ICalculator>(&clsid, context)
                .map_err(|hr| failed("CoCreateInstance(Calculator)", hr))?
        }
    };
    let adder = calculator
        .cast::<IAdder>()
        .map_err(|hr| failed("QueryInterface(IAdder)", hr))?;
    let same_object = calculator.identity().ok() == adder.identity().ok();

    let sum = adder.add(40, 2).map_err(|hr| failed("IAdder::Add", hr))?;
    let difference = calculator
        .subtract(50, 8)
        .map_err(|hr| failed("Subtract", hr))?;
    let product = calculator
        .multiply(6, 7)
        .map_err(|hr| failed("Multiply", hr))?;
    let (quotient, remainder) = calculator
        .divide(85, 2)
        .map_err(|hr| failed("Divide", hr))?;
    println!("IAdder::Add(40, 2) = {sum}");
    println!("ICalculator::Subtract(50, 8) = {difference}");
    println!("ICalculator::Multiply(6, 7) = {product}");
    let folded_sum = calculator
        .fold(comidl_runtime::w!("+"), &[20, 22], None)
        .map_err(|hr| failed("Fold", hr))?;
    let folded_product = calculator
        .fold(comidl_runtime::w!("*"), &[3, 7], Some(&2))
        .map_err(|hr| failed("Fold", hr))?;
    println!("ICalculator::Divide(85, 2) = {quotient} remainder {remainder}");
    println!("ICalculator::Fold(+, [20, 22]) = {folded_sum}");
    println!("ICalculator::Fold(*, [3, 7], from 2) = {folded_product}");
    match calculator.divide(1, 0) {
        Ok(_) => return Err("Divide(1, 0) succeeded".into()),
        Err(hr) => println!("ICalculator::Divide(1, 0) fails: {}", host::describe(hr)),
    }
    let observer = ComObject::create::<IFoldObserver>(Observer {
        steps: AtomicU32::new(0),
    })
    .map_err(|hr| failed("creating the observer", hr))?;
    println!("ICalculator::FoldObserved(+, [10, 12, 20]):");
    let observed = calculator
        .fold_observed(comidl_runtime::w!("+"), &[10, 12, 20], &observer)
        .map_err(|hr| failed("FoldObserved", hr))?;
    println!("  = {observed}");
    drop(observer);
    println!("IAdder and ICalculator are one object: {same_object}");
    let proxy = dcom::proxy::is_proxy(&*calculator);
    println!("the Calculator lives in another process: {proxy}");
    drop((adder, calculator));
    comidl_runtime::CoFreeUnusedLibraries();
    Ok(())
}

/// The server module `file` in `dir`, or where cargo puts it: beside this program, or in
/// `deps` below it when cargo built the module as a dependency.
fn find_server(dir: Option<&Path>, file: &str) -> Result<PathBuf, String> {
    if let Some(dir) = dir {
        return Ok(dir.join(file));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let here = exe.parent().ok_or("cannot find this program's directory")?;
    [here.join(file), here.join("deps").join(file)]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!(
                "{file} is not built; run `cargo build -p calculator-client` or pass --servers DIR"
            )
        })
}

/// Removes the temporary registry at exit.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
