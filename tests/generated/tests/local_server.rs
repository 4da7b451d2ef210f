//! Executable servers started by activation, with real processes: this binary is the
//! server (`server`: a `LocalServer` of one class, which appends its pid to the file
//! `LAUNCHES` names), the clients (`client`: CoCreateInstance with CLSCTX_LOCAL_SERVER,
//! one call through the proxy) and the judge. Four clients start at once against a class
//! no server runs yet: the launch lock must start the server once, all four must be
//! served by it, and it must leave once they are done. Then a client after it left
//! starts it again (an entry of a dead server is no obstacle).
//!
//! `harness = false`: it has its own `main`, prints "ok"/"FAIL" lines and exits non-zero
//! on a failure.

mod common;

use common::Report;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use comidl_generated_tests::orpc::{IOrpcSink, IOrpcSink_Impl, IOrpcSink_PROXY_STUB};
use comidl_runtime::registry::{ClassEntry, Registry, Scope, register_class};
use comidl_runtime::{
    CLSCTX_LOCAL_SERVER, ClassFactory, ClassInfo, ComInit, Creatable, GUID, LocalClass,
    LocalServer, Result, dcom,
};

const CLSID: GUID = GUID::from_u128(0x5e1f_0c2a_9b3d_4f71_8a60_2c4e_6d8f_a017);

struct Sink;

comidl_runtime::implement!(Sink: IOrpcSink);

impl IOrpcSink_Impl for Sink {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value + 1000)
    }
}

static CLASS: ClassInfo = ClassInfo::new(CLSID, "comidl test local sink");

impl Creatable for Sink {
    const CLASS: &'static ClassInfo = &CLASS;
    fn create() -> Result<Sink> {
        Ok(Sink)
    }
}

fn server() {
    dcom::register(&[&IOrpcSink_PROXY_STUB]);
    if let Some(path) = std::env::var_os("LAUNCHES") {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .expect("the launches file");
        writeln!(f, "{}", std::process::id()).expect("written");
    }
    let code = LocalServer::new()
        .linger(Duration::from_millis(500))
        .class(LocalClass {
            clsid: CLSID,
            name: "comidl test local sink".into(),
            progid: None,
            vi_progid: None,
            class_object: ClassFactory::<Sink>::new(),
            single_use: false,
        })
        .run();
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

fn client() {
    dcom::register(&[&IOrpcSink_PROXY_STUB]);
    let _com = ComInit::multithreaded().expect("COM");
    match comidl_runtime::create_instance::<IOrpcSink>(&CLSID, CLSCTX_LOCAL_SERVER)
        .and_then(|s| s.notify(1))
    {
        Ok(v) => println!("served {v}"),
        Err(hr) => println!("failed {hr}"),
    }
}

fn launches(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn published(rpc: &std::path::Path) -> usize {
    std::fs::read_dir(rpc.join("classes")).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".class"))
            .count()
    })
}

fn wait_unpublished(rpc: &std::path::Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while published(rpc) > 0 {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Registers the class with `command` as its LocalServer32.
fn register(command: &str) {
    Registry::open_default()
        .and_then(|r| {
            r.update(Scope::User, |tree| {
                register_class(
                    tree,
                    &ClassEntry {
                        clsid: CLSID,
                        name: Some("comidl test local sink".into()),
                        local_server: Some(command.to_string()),
                        ..ClassEntry::default()
                    },
                )
            })
        })
        .expect("the class registered");
}

/// Whether the last server launched has exited.
fn server_gone(launched: &[String]) -> bool {
    launched
        .last()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("server") => return server(),
        Some("client") => return client(),
        _ => {}
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("comidl-local-server-{}", std::process::id()));
    let rpc = dir.join("rpc");
    let registry = dir.join("registry");
    std::fs::create_dir_all(&rpc).expect("a directory");
    std::fs::create_dir_all(&registry).expect("a directory");
    std::fs::set_permissions(&rpc, std::fs::Permissions::from_mode(0o700)).expect("0700");
    let launch_file = dir.join("launches");
    // SAFETY: no other thread runs yet.
    unsafe {
        std::env::set_var("COMIDL_RPC_DIR", &rpc);
        std::env::set_var("COMIDL_REGISTRY", &registry);
        std::env::set_var("LAUNCHES", &launch_file);
    }
    let exe = std::env::current_exe().expect("this binary");
    register(&format!("\"{}\" server", exe.display()));
    let mut r = Report::new();

    let clients: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .arg("client")
                .stdout(Stdio::piped())
                .spawn()
                .expect("a client starts")
        })
        .collect();
    let answers: Vec<String> = clients
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("the client ends");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    r.check(
        "four clients at once are all served",
        answers.iter().all(|a| a == "served 1001"),
        &answers,
    );
    let started = launches(&launch_file);
    r.check("the server was started once", started.len() == 1, &started);
    r.check(
        "the server leaves once its clients are done",
        wait_unpublished(&rpc),
        published(&rpc),
    );

    let again = Command::new(&exe).arg("client").output().expect("a client");
    let answer = String::from_utf8_lossy(&again.stdout).trim().to_string();
    r.check(
        "a later client starts the server again",
        answer == "served 1001" && launches(&launch_file).len() == 2,
        (&answer, launches(&launch_file)),
    );
    r.check(
        "and it leaves again",
        wait_unpublished(&rpc),
        published(&rpc),
    );

    // The server under valgrind's leak check: LocalServer32 runs it through valgrind,
    // which writes only what it finds (--quiet) to a log read once the server left.
    let log = dir.join("valgrind.log");
    register(&format!(
        "valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
         --show-leak-kinds=definite,indirect --log-file={} \"{}\" server",
        log.display(),
        exe.display()
    ));
    let t = Command::new(&exe).arg("client").output().expect("a client");
    let answer = String::from_utf8_lossy(&t.stdout).trim().to_string();
    r.check(
        "a client of the server under valgrind is served",
        answer == "served 1001",
        &answer,
    );
    let left = wait_unpublished(&rpc);
    // valgrind writes its report as the process ends, after the entry went.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server_gone(&launches(&launch_file)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    r.check(
        "the server, under valgrind, leaves and leaks nothing",
        left && launches(&launch_file).len() == 3 && log.exists() && report.trim().is_empty(),
        (left, launches(&launch_file).len(), log.exists(), &report),
    );
    let _ = std::fs::remove_dir_all(&dir);
    r.finish();
}
