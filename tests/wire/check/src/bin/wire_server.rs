//! `wire-server PORT`: serves tests/wire/idl/constructs.idl (see `wire_check::serve`, for
//! impacket: server.sh), tests/wire/idl/wine_constructs.idl (see
//! `wire_check::serve_wine`, for Wine's client: wine.sh) and the endpoint mapper (runtime's
//! `epm::EndpointMap`, both interfaces registered at PORT) over TCP on 127.0.0.1:PORT, until
//! its standard input closes. Prints `listening ncacn_ip_tcp:127.0.0.1[PORT]` when ready;
//! exits 0 when the shutdown was clean.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use comidl_runtime::rpc::StringBinding;
use comidl_runtime::rpc::epm::EndpointMap;
use comidl_runtime::rpc::server::{Server, ServerLimits};
use wire_check::constructs::{constructs_serve, ndr};
use wire_check::serve::Constructs;
use wire_check::serve_wine;
use wire_check::wine_constructs::ndr::wine_constructs_INTERFACE;

fn main() -> ExitCode {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(p)) => p,
        _ => {
            eprintln!("usage: wire-server PORT");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(ServerLimits::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wire-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    server.register(&ndr::constructs_INTERFACE, |opnum, stub: &[u8]| {
        constructs_serve(&Constructs, opnum, stub)
    });
    server.register(&wine_constructs_INTERFACE, serve_wine::serve);
    let binding = match StringBinding::parse(&format!("ncacn_ip_tcp:127.0.0.1[{port}]"))
        .map_err(|e| e.to_string())
        .and_then(|b| server.listen(&b).map_err(|e| e.to_string()))
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("wire-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let map = Arc::new(EndpointMap::new());
    for (i, note) in [
        (&ndr::constructs_INTERFACE, "comidl constructs"),
        (&wine_constructs_INTERFACE, "comidl wine_constructs"),
    ] {
        if let Err(status) = map.register_endpoint(i, &binding, note) {
            eprintln!("wire-server: registering {}: status {status:#x}", i.name);
            return ExitCode::FAILURE;
        }
    }
    server.serve_endpoint_mapper(map);
    println!("listening {binding}");
    // Serve until the harness closes our standard input (or the process is killed).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    let clean = server.shutdown(Duration::from_secs(5));
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
