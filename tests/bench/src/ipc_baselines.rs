//! Two more baselines of the out-of-process null COM call (`ISecond::Ping` through a
//! generated proxy, as in [`crate::orpc::bench_null`]), each server in another process
//! (the bench binary run again with a role argument, like `orpc-server`):
//!
//! - gRPC: a unary method with an empty request and an empty response, tonic over a Unix
//!   socket. The service is written by hand against tonic's `server::Grpc` and
//!   `client::Grpc`, its messages prost's empty message `()`, so no `.proto` file and no
//!   `protoc` are involved. The client reuses one `Channel`.
//! - D-Bus: a method without arguments or result, zbus through a `dbus-daemon` of the
//!   benchmark's own (a config file in a temporary directory; never the user's session
//!   bus). The server owns a well-known name; the client reuses one connection and calls
//!   `Connection::call_method`.
//!
//! Runtimes, each the faster of those tried (medians per call of several runs on the
//! two-core benchmark machine, ours alongside):
//! - tonic, client and server: a current-thread tokio runtime. A multi-thread client runtime
//!   was slower (about 140-180 us per call against 95-135 us: the reply hops from a worker
//!   thread to the blocked caller); a multi-thread server made no difference.
//! - zbus, client and server: zbus's own runtime (zruntime), driven by `zbus::block_on` on
//!   the calling thread, which runs the connection in between polls. zbus 6 has no blocking
//!   API any more; on a current-thread tokio runtime instead, calls took about 160-190 us
//!   against 110-150 us.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::{BoxFuture, Context, Poll, Service, http};
use tonic::server::UnaryService;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::orpc::{Remote, null_calls};
use crate::{Comparison, Plan, compare};

/// The role argument of the gRPC server process (then the socket path).
pub const GRPC_SERVER: &str = "grpc-server";
/// The role argument of the D-Bus server process (then the bus address).
pub const DBUS_SERVER: &str = "dbus-server";

/// The gRPC method: service `comidl.bench.Null`, method `Ping`.
const PING_PATH: &str = "/comidl.bench.Null/Ping";

/// The D-Bus server's well-known name, object and interface (its method is `Ping`).
const BUS_NAME: &str = "org.comidl.Bench";
const OBJECT_PATH: &str = "/org/comidl/Bench";
const INTERFACE: &str = "org.comidl.Bench1";

/// Debian's message bus daemon (package dbus-daemon).
const DBUS_DAEMON: &str = "/usr/bin/dbus-daemon";

/// The line a server prints once it serves: the client waits for it before calling.
const READY: &str = "ready";

// ---------------------------------------------------------------------------------------
// The processes.

/// A process this benchmark started, with the first line it printed. Dropping it kills
/// the process by its PID and reaps it, so a panic while benchmarking unwinds into the
/// kill too; the process also gets SIGKILL if this process dies before that (the parent
/// death signal), so neither a daemon nor a server outlives the run.
struct Spawned {
    child: Child,
    first_line: String,
}

impl Spawned {
    /// Starts `cmd` with piped stdin and stdout and waits for its first line of output.
    /// With `log`, its stderr goes to that file (shown if it fails to start) instead of ours.
    fn start(cmd: &mut Command, what: &str, log: Option<&Path>) -> Spawned {
        // SAFETY: the closure runs in the child between fork and exec and makes one
        // prctl system call, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))
                .map_err(Into::into)
            });
        }
        if let Some(log) = log {
            cmd.stderr(std::fs::File::create(log).expect("a log file"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let stdout = child.stdout.take().expect("piped");
        // Own the child before anything can fail, so that a failure still kills it.
        let mut spawned = Spawned {
            child,
            first_line: String::new(),
        };
        let got = BufReader::new(stdout)
            .read_line(&mut spawned.first_line)
            .unwrap_or_else(|e| panic!("{what}: reading its output: {e}"));
        if got == 0 {
            let log = log.map(std::fs::read_to_string);
            panic!("{what} exited before it was ready; its stderr: {log:?}");
        }
        spawned
            .first_line
            .truncate(spawned.first_line.trim_end().len());
        spawned
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of this run's sockets and files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("comidl-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The runtime of the gRPC client and server (see the module documentation).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A server's start: exit once the benchmark closes our stdin (its normal way of ending
/// a server, as for `orpc-server`), then tell the benchmark we serve.
fn server_started() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
}

fn announce_ready() {
    println!("{READY}");
}

// ---------------------------------------------------------------------------------------
// gRPC: tonic over a Unix socket.

/// The whole gRPC server: `Ping` answers an empty message; any other path is unimplemented
/// (what generated code would answer).
#[derive(Clone)]
struct NullService;

/// The `Ping` handler.
struct Ping;

impl UnaryService<()> for Ping {
    type Response = ();
    type Future = Ready<Result<Response<()>, Status>>;

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        ready(Ok(Response::new(())))
    }
}

impl Service<http::Request<tonic::body::Body>> for NullService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        if request.uri().path() != PING_PATH {
            return Box::pin(ready(Ok(
                Status::unimplemented(request.uri().path()).into_http()
            )));
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<(), ()>::default());
            Ok(grpc.unary(Ping, request).await)
        })
    }
}

/// The gRPC server role: serves `Ping` on the Unix socket `socket` until stdin closes.
pub fn serve_grpc(socket: &Path) {
    server_started();
    runtime().block_on(async {
        let listener = tokio::net::UnixListener::bind(socket).expect("the socket binds");
        announce_ready();
        tonic::transport::Server::builder()
            .serve_with_incoming(
                NullService,
                tokio_stream::wrappers::UnixListenerStream::new(listener),
            )
            .await
            .expect("the gRPC server serves");
    });
}

/// The null call through the proxy against the unary gRPC call, interleaved by `compare`
/// (the gRPC side is the baseline). `exe` is this bench binary, run again as the server.
pub fn bench_tonic(plan: Plan, remote: &Remote, exe: &Path) -> Comparison {
    let dir = TempDir::new("grpc");
    let socket = dir.0.join("grpc.sock");
    let server = Spawned::start(
        Command::new(exe).arg(GRPC_SERVER).arg(&socket),
        "the gRPC server",
        None,
    );
    assert_eq!(server.first_line, READY, "the gRPC server's first line");
    let rt = runtime();
    let uri = format!("unix:{}", socket.to_str().expect("a UTF-8 temporary path"));
    let client = rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(uri)
            .expect("a unix: endpoint")
            .connect()
            .await
            .expect("connects to the gRPC server");
        tonic::client::Grpc::new(channel)
    });
    let errors = AtomicU64::new(0);
    let grpc = |n: u64| {
        rt.block_on(async {
            // A clone shares the one channel (and its connection).
            let mut client = client.clone();
            for _ in 0..n {
                let ok = client.ready().await.is_ok()
                    && client
                        .unary::<(), (), _>(
                            Request::new(()),
                            PathAndQuery::from_static(PING_PATH),
                            ProstCodec::default(),
                        )
                        .await
                        .is_ok();
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    };
    let ours = null_calls(remote, &errors);
    let r = compare(plan, 1, &grpc, &ours);
    assert_eq!(errors.load(Ordering::Relaxed), 0, "calls failed");
    // The channel's tasks live on `rt`: let it go there.
    rt.block_on(async move { drop(client) });
    r
}

// ---------------------------------------------------------------------------------------
// D-Bus: zbus through a private dbus-daemon.

/// The D-Bus object: `Ping` takes nothing and returns nothing. Its interface is `INTERFACE`
/// (the attribute takes only a literal).
struct NullObject;

#[zbus::interface(name = "org.comidl.Bench1")]
impl NullObject {
    fn ping(&self) {}
}

/// The D-Bus server role: owns `BUS_NAME` on the bus at `address` and serves `NullObject`
/// at `OBJECT_PATH` until stdin closes.
pub fn serve_dbus(address: &str) {
    server_started();
    zbus::block_on(async {
        let _connection = zbus::connection::Builder::address(address)
            .name(BUS_NAME)
            .serve_at(OBJECT_PATH, NullObject)
            .build()
            .await
            .expect("the D-Bus server is on the bus, owning its name");
        announce_ready();
        std::future::pending::<()>().await;
    });
}

/// A bus of our own: a session-type bus listening only on `socket`, with the policy that
/// lets its one server own a name and its one client call it.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// The null call through the proxy against the D-Bus method call, interleaved by `compare`
/// (the D-Bus side is the baseline). Starts the bus and `exe` (this bench binary) as the
/// server; both are killed on return.
pub fn bench_zbus(plan: Plan, remote: &Remote, exe: &Path) -> Comparison {
    let dir = TempDir::new("dbus");
    let config = dir.0.join("bus.conf");
    std::fs::write(&config, bus_config(&dir.0.join("bus"))).expect("the bus config is written");
    // The daemon prints its address once it listens. Its stderr goes to a log: run as
    // root without CAP_SYS_RESOURCE (a container) it warns that it cannot raise its fd
    // limit, which is harmless for one client and one server.
    let daemon = Spawned::start(
        Command::new(DBUS_DAEMON)
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"]),
        "dbus-daemon (Debian package dbus-daemon)",
        Some(&dir.0.join("dbus-daemon.log")),
    );
    let address = daemon.first_line.as_str();
    let server = Spawned::start(
        Command::new(exe).arg(DBUS_SERVER).arg(address),
        "the D-Bus server",
        None,
    );
    assert_eq!(server.first_line, READY, "the D-Bus server's first line");
    let connection = zbus::block_on(async {
        zbus::connection::Builder::address(address)
            .build()
            .await
            .expect("connects to the bus")
    });
    let errors = AtomicU64::new(0);
    let dbus = |n: u64| {
        zbus::block_on(async {
            for _ in 0..n {
                let reply = connection
                    .call_method(Some(BUS_NAME), OBJECT_PATH, Some(INTERFACE), "Ping", &())
                    .await;
                if reply.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    };
    let ours = null_calls(remote, &errors);
    let r = compare(plan, 1, &dbus, &ours);
    assert_eq!(errors.load(Ordering::Relaxed), 0, "calls failed");
    // Off the bus in order: our connection, the server, then the bus itself.
    drop(connection);
    drop(server);
    drop(daemon);
    r
}

/// Runs a server role if `args` (this binary's arguments) name one; false otherwise.
pub fn serve_role(args: &[String]) -> bool {
    let role = args
        .iter()
        .position(|a| a == GRPC_SERVER || a == DBUS_SERVER);
    let Some(i) = role else {
        return false;
    };
    let operand = args.get(i + 1).expect("the server role's operand");
    if args[i] == GRPC_SERVER {
        serve_grpc(Path::new(operand));
    } else {
        serve_dbus(operand);
    }
    true
}
