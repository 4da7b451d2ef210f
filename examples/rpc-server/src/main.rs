//! `notes-server`: an MS-RPC server written with comidl. It serves `notes.idl` over TCP and
//! over a local socket (ncalrpc), and runs its own endpoint mapper so clients find it by
//! interface, as they find Windows services.
//!
//! ```text
//! cargo run -p rpc-server-example -- [--port P] [--mapper-port M] [--local NAME]
//! ```
//! `--port 0` (the default) takes any free port; the mapper listens on `--mapper-port`
//! (default 1135: port 135 needs privileges) and on `ncalrpc:[epmapper]`. It prints the
//! bindings it serves and runs until its standard input closes (Ctrl-D), then shuts down,
//! finishing the calls in flight. `call_with_impacket.py` beside this file calls it.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comidl_runtime::ndr::{ContextHandle, Fault};
use comidl_runtime::rpc::epm::EndpointMap;
use comidl_runtime::rpc::server::context;
use comidl_runtime::rpc::{Protseq, Server, ServerLimits, StringBinding};

comidl_runtime::include_idl!(mod notes = "notes");

use notes::owned::{NOTE, NOTE_LIST};
use notes::{ndr, notes_Handler, notes_serve};

/// error_status_t values the operations return.
const OK: u32 = 0;
/// Next: the cursor has nothing more.
const NO_MORE: u32 = 1;

/// The service's state: the notes, shared by every client.
#[derive(Default)]
struct Notes {
    all: Mutex<Vec<NOTE>>,
}

/// What a NOTE_CURSOR stands for: the next note to return. Dropping it is its rundown.
struct Cursor {
    next: usize,
}

impl Notes {
    fn list(&self, from: usize, max: usize) -> NOTE_LIST {
        let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        let items: Vec<NOTE> = all.iter().skip(from).take(max).cloned().collect();
        NOTE_LIST {
            count: items.len() as u32,
            items: Some(items),
        }
    }
}

impl notes_Handler for Notes {
    fn add_note(&self, author: String, text: String) -> Result<(u32, i32), Fault> {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        let id = all.len() as i32 + 1;
        all.push(NOTE {
            id,
            author: Some(author),
            text: Some(text),
        });
        Ok((OK, id))
    }

    fn list_notes(&self) -> Result<(u32, NOTE_LIST), Fault> {
        Ok((OK, self.list(0, usize::MAX)))
    }

    fn who_am_i(&self) -> Result<(u32, Option<String>), Fault> {
        let call = context::current().ok_or(Fault::UNSPECIFIED)?;
        let who = match (call.protseq, call.peer_uid) {
            (Protseq::Local, Some(uid)) => format!("uid {uid} over ncalrpc"),
            _ => format!("{} over ncacn_ip_tcp", call.peer),
        };
        Ok((OK, Some(who)))
    }

    fn open_cursor(&self) -> Result<(u32, ContextHandle), Fault> {
        Ok((OK, context::create(Cursor { next: 0 })?))
    }

    fn next(&self, cursor: ContextHandle, max: u32) -> Result<(u32, NOTE_LIST), Fault> {
        let from = context::with(&cursor, |c: &mut Cursor| c.next)?;
        let batch = self.list(from, max as usize);
        context::with(&cursor, |c: &mut Cursor| c.next += batch.count as usize)?;
        Ok((if batch.count == 0 { NO_MORE } else { OK }, batch))
    }

    fn close_cursor(&self, cursor: &mut ContextHandle) -> Result<u32, Fault> {
        *cursor = context::close(cursor)?.1;
        Ok(OK)
    }
}

struct Args {
    port: u16,
    mapper_port: u16,
    local: String,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        mapper_port: 1135,
        local: "notes".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => a.port = value.parse().map_err(|_| "--port: a number")?,
            "--mapper-port" => {
                a.mapper_port = value.parse().map_err(|_| "--mapper-port: a number")?
            }
            "--local" => a.local = value,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

fn run() -> Result<bool, String> {
    let a = args()?;
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let binding = |s: String| StringBinding::parse(&s).map_err(|e| text(&e));

    let server = Server::start(ServerLimits::default()).map_err(|e| text(&e))?;
    let service = Arc::new(Notes::default());
    server.register(&ndr::notes_INTERFACE, move |opnum, stub: &[u8]| {
        notes_serve(&*service, opnum, stub)
    });
    let tcp = server
        .listen(&binding(format!("ncacn_ip_tcp:127.0.0.1[{}]", a.port))?)
        .map_err(|e| text(&e))?;
    let local = server
        .listen(&binding(format!("ncalrpc:[{}]", a.local))?)
        .map_err(|e| text(&e))?;

    // The endpoint mapper: clients that know only the interface find the endpoints here.
    let map = Arc::new(EndpointMap::new());
    for b in [&tcp, &local] {
        map.register_endpoint(&ndr::notes_INTERFACE, b, "comidl notes example")
            .map_err(|s| format!("registering {b}: status {s:#x}"))?;
    }
    server.serve_endpoint_mapper(map);
    let mapper = server
        .listen(&binding(format!(
            "ncacn_ip_tcp:127.0.0.1[{}]",
            a.mapper_port
        ))?)
        .map_err(|e| format!("the mapper's port {}: {e}", a.mapper_port))?;
    // The host's local mapper, if no other process is it.
    let local_mapper = server.listen(&binding("ncalrpc:[epmapper]".into())?).ok();

    println!("notes on {tcp} and {local}");
    println!("endpoint mapper on {mapper}");
    if let Some(m) = local_mapper {
        println!("endpoint mapper on {m}");
    }
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    Ok(server.shutdown(Duration::from_secs(5)))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("notes-server: calls were still running at shutdown");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("notes-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
