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
//!              [--users FILE] [--min-level none|connect|integrity|privacy]
//!              [--allow-unauthenticated]
//! comidl-dcomd --hash-password      (a password on standard input -> its NT hash)
//! ```
//!
//! Clients on other machines authenticate with NTLM as a user of the users file
//! (`name:domain:nthash` lines, `--users`, else `COMIDL_DCOM_USERS`, else
//! /etc/comidl/dcom-users); activation and every call from another machine are refused
//! (E_ACCESSDENIED) below the minimum level, `connect` unless `--min-level` (or
//! `--allow-unauthenticated`, which is `--min-level none`) says otherwise.
//!
//! COM processes find the service at `COMIDL_DCOM_SERVICE` (the socket's path) or the
//! default; the servers the service starts inherit its environment.

use comidl_dcomd::{Handlers, INTERFACES, NETWORK_INTERFACES, addresses, machine};

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use comidl_runtime::rpc::auth::AuthnLevel;
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
    /// Let clients on other machines activate and call without authenticating
    /// (`--min-level none`).
    #[arg(long)]
    allow_unauthenticated: bool,
    /// The users NTLM authenticates (`name:domain:nthash` lines); the servers the service
    /// starts read the same file (COMIDL_DCOM_USERS).
    #[arg(long)]
    users: Option<PathBuf>,
    /// The lowest authentication level of a client on another machine.
    #[arg(long, default_value = "connect")]
    min_level: String,
    /// Read a password from standard input and print its NT hash, for the users file.
    #[arg(long)]
    hash_password: bool,
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
    if args.hash_password {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .map_err(|e| e.to_string())?;
        let password = password.trim_end_matches(['\n', '\r']);
        println!("{}", comidl_runtime::rpc::auth::nt_hash_hex(password));
        return Ok(());
    }
    let min_level = if args.allow_unauthenticated {
        AuthnLevel::None
    } else {
        AuthnLevel::parse(&args.min_level).ok_or_else(|| {
            format!(
                "--min-level {}: none, connect, integrity or privacy",
                args.min_level
            )
        })?
    };
    if let Some(path) = &args.users {
        // SAFETY: no other thread runs yet; the servers the service starts inherit it.
        unsafe { std::env::set_var("COMIDL_DCOM_USERS", path) };
    }
    let users_path = comidl_runtime::dcom::machine::users_file();
    let users = match std::fs::read_to_string(&users_path) {
        Ok(text) => comidl_runtime::rpc::auth::parse_users(&text)
            .map_err(|e| format!("{}: {e}", users_path.display()))?,
        Err(_) if args.users.is_none() => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", users_path.display())),
    };
    if users.is_empty() && min_level > AuthnLevel::None {
        eprintln!(
            "comidl-dcomd: no users ({}): clients on other machines cannot authenticate",
            users_path.display()
        );
    }
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
        min_level,
        // NTLM, when there is anyone to authenticate.
        security: if users.is_empty() {
            Vec::new()
        } else {
            vec![comidl_runtime::dcom::SecurityBinding::new(
                u16::from(comidl_runtime::rpc::auth::AUTHN_WINNT),
                "",
            )]
        },
    };
    let m = Arc::new(machine::Machine::new(settings));

    let network = Server::start(ServerLimits::default()).map_err(|e| e.to_string())?;
    // The exporters' registrations, on the local socket.
    let local = Server::start(ServerLimits {
        idle_timeout: None,
        ..ServerLimits::default()
    })
    .map_err(|e| e.to_string())?;
    // Authentication for everything on the port; the activator (and the exporters)
    // decide what a call's level allows.
    network.set_security(comidl_runtime::rpc::auth::ServerSecurity {
        users,
        min_level: AuthnLevel::None,
    });
    network.serve_endpoint_mapper(Arc::new(EndpointMap::new()));
    let handlers = Arc::new(Handlers::new(m.clone()));
    for (which, interface) in INTERFACES.iter().enumerate() {
        let h = handlers.clone();
        let serve = move |opnum: u16, stub: &[u8]| h.serve(which as u8, opnum, stub);
        if which < NETWORK_INTERFACES {
            network.register(interface, serve);
        } else {
            local.register(interface, serve);
        }
    }
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
