//! comidl-dcomd: the machine's DCOM service, what rpcss is on Windows. One per machine:
//!
//! - on TCP (port 135 unless `--port` says otherwise): the endpoint mapper, IObjectExporter
//!   (the OXID resolver of every COM process of the machine, and the pings of clients on
//!   other machines), IRemoteSCMActivator and IActivation (remote activation, which
//!   starts LocalServer32 servers as local activation does);
//! - on a local socket (`--socket`, /run/comidl/dcom.sock by default): the COM processes
//!   of the machine register their object exporters (IComidlMachineResolver).
//!
//! ```text
//! comidl-dcomd [--port N] [--address IP]... [--socket PATH] [--ping-period-ms N]
//!              [--allow-unauthenticated]
//! ```
//!
//! COM processes find the service at `COMIDL_DCOM_SERVICE` (the socket's path) or the
//! default; the servers the service starts inherit its environment.

use comidl_dcomd::{activator, addresses, machine, resolver};

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use comidl_runtime::dcom::activation::bindings as act;
use comidl_runtime::rpc::epm::EndpointMap;
use comidl_runtime::rpc::{Server, ServerLimits, StringBinding};

#[derive(Parser, Debug)]
#[command(name = "comidl-dcomd", version, about = "The machine's DCOM service")]
struct Args {
    /// The TCP port of the endpoint mapper, the OXID resolver and remote activation.
    #[arg(long, default_value_t = 135)]
    port: u16,
    /// Addresses to listen on and to name in OXID bindings (default: every address).
    #[arg(long = "address")]
    addresses: Vec<IpAddr>,
    /// The local socket COM processes register at.
    #[arg(long, default_value = comidl_runtime::dcom::machine::DEFAULT_SERVICE_SOCKET)]
    socket: PathBuf,
    /// The ping period (MS-DCOM's is 120 s); references of clients that miss three are
    /// dropped.
    #[arg(long, default_value_t = 120_000)]
    ping_period_ms: u64,
    /// Let clients on other machines activate and call without authenticating.
    #[arg(long)]
    allow_unauthenticated: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("comidl-dcomd: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    // The service's own objects are not for other machines.
    comidl_runtime::dcom::machine::keep_out();
    // The service's threads activate classes: they are the multithreaded apartment's.
    let _com = comidl_runtime::ComInit::multithreaded()
        .map_err(|e| format!("COM initialisation failed: {e}"))?;
    let ping_period = Duration::from_millis(args.ping_period_ms.max(100));
    let settings = machine::Settings {
        names: addresses::machine_names(&args.addresses),
        port: args.port,
        ping_period,
        policy: if args.allow_unauthenticated {
            comidl_runtime::dcom::machine::POLICY_ALLOW_UNAUTHENTICATED
        } else {
            0
        },
        security: Vec::new(),
    };
    let m = Arc::new(machine::Machine::new(settings));

    let network = Server::start(ServerLimits::default()).map_err(|e| e.to_string())?;
    network.serve_endpoint_mapper(Arc::new(EndpointMap::new()));
    let r = Arc::new(resolver::Resolver(m.clone()));
    network.register(
        &comidl_runtime::dcom::bindings::ndr::IObjectExporter_INTERFACE,
        move |opnum: u16, stub: &[u8]| {
            comidl_runtime::dcom::bindings::IObjectExporter_serve(&*r, opnum, stub)
        },
    );
    let a = Arc::new(activator::Activator(m.clone()));
    let a2 = a.clone();
    network.register(
        &act::ndr::IRemoteSCMActivator_INTERFACE,
        move |opnum: u16, stub: &[u8]| act::IRemoteSCMActivator_serve(&*a, opnum, stub),
    );
    network.register(
        &act::ndr::IActivation_INTERFACE,
        move |opnum: u16, stub: &[u8]| act::IActivation_serve(&*a2, opnum, stub),
    );
    let listen_on: Vec<String> = if args.addresses.is_empty() {
        vec!["0.0.0.0".into()]
    } else {
        args.addresses.iter().map(|a| a.to_string()).collect()
    };
    for address in &listen_on {
        let binding = StringBinding::parse(&format!("ncacn_ip_tcp:{address}[{}]", args.port))
            .map_err(|e| e.to_string())?;
        network
            .listen(&binding)
            .map_err(|e| format!("listening on {address} port {}: {e}", args.port))?;
    }

    let local = Server::start(ServerLimits {
        idle_timeout: None,
        ..ServerLimits::default()
    })
    .map_err(|e| e.to_string())?;
    let m2 = m.clone();
    local.register(
        &act::ndr::IComidlMachineResolver_INTERFACE,
        move |opnum: u16, stub: &[u8]| act::IComidlMachineResolver_serve(&*m2, opnum, stub),
    );
    if let Some(dir) = args.socket.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    local
        .listen_unix(&args.socket, 0o666)
        .map_err(|e| format!("{}: {e}", args.socket.display()))?;

    eprintln!(
        "comidl-dcomd: serving on port {} ({}), local socket {}",
        args.port,
        m.settings.names.join(", "),
        args.socket.display()
    );
    loop {
        std::thread::sleep(ping_period);
        m.expire_sets();
        m.prune();
    }
}
