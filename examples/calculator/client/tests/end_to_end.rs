//! The calculator example end to end, as its README runs it: the Rust client and the C
//! client each activate the Rust Calculator (which aggregates the Adder) from a temporary
//! class registry; both also run under valgrind's leak check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CLIENT: &str = env!("CARGO_BIN_EXE_calculator-client");

/// What both clients print about the calculations.
const RESULTS: &[&str] = &[
    "IAdder::Add(40, 2) = 42",
    "ICalculator::Subtract(50, 8) = 42",
    "ICalculator::Multiply(6, 7) = 42",
    "ICalculator::Divide(85, 2) = 42 remainder 1",
    // A slice and a None, then a Some, with a string literal for the operation.
    "ICalculator::Fold(+, [20, 22]) = 42",
    "ICalculator::Fold(*, [3, 7], from 2) = 42",
    "IAdder and ICalculator are one object: true",
];

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("the program starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn assert_results(stdout: &str) {
    for line in RESULTS {
        assert!(
            stdout.lines().any(|l| l == *line),
            "missing `{line}` in:\n{stdout}"
        );
    }
}

#[test]
fn the_rust_client_runs_in_a_temporary_registry() {
    let (output, stdout) = run(Command::new(CLIENT).arg("--temp-registry"));
    assert_success(&output, "calculator-client --temp-registry");
    assert_results(&stdout);
    assert!(
        stdout.contains("ICalculator::Divide(1, 0) fails:"),
        "{stdout}"
    );
    assert!(stdout.contains("E_INVALIDARG"), "{stdout}");
    // The temporary registry is gone afterwards.
    let line = stdout.lines().next().unwrap_or_default();
    let dir = line.trim_start_matches("using the temporary registry ");
    assert!(line != dir && !Path::new(dir).exists(), "{line}");
}

#[test]
fn without_registration_the_client_says_what_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let (output, stdout) = run(Command::new(CLIENT).env("COMIDL_REGISTRY", empty.path()));
    assert!(!output.status.success(), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CLSIDFromProgID(\"Comidl.Calculator\")"),
        "{stderr}"
    );
    assert!(stderr.contains("CO_E_CLASSSTRING"), "{stderr}");
}

/// The directory cargo built the client (and, in `deps`, the libraries) into.
fn target_dir() -> PathBuf {
    Path::new(CLIENT)
        .parent()
        .expect("a directory")
        .to_path_buf()
}

fn c_client(valgrind: bool) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../c-client/run.sh");
    let mut command = Command::new("bash");
    command
        .arg(script)
        .arg("--no-build")
        .env("TARGET_DIR", target_dir())
        .env("VALGRIND", if valgrind { "1" } else { "0" });
    command
}

#[test]
fn the_c_client_activates_the_rust_calculator() {
    let (output, stdout) = run(&mut c_client(false));
    assert_success(&output, "c-client/run.sh");
    assert_results(&stdout);
    assert!(
        stdout.contains("ICalculator::Divide(1, 0) fails: 0x80070057"),
        "{stdout}"
    );
}

fn valgrind_present() {
    let found = Command::new("valgrind").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "valgrind is needed for the leak checks (apt-get install valgrind)"
    );
}

#[test]
fn no_leak_in_the_rust_client() {
    valgrind_present();
    let (output, stdout) = run(Command::new("valgrind").args([
        "--quiet",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=9",
        CLIENT,
        "--temp-registry",
    ]));
    assert_success(&output, "valgrind calculator-client");
    assert_results(&stdout);
}

#[test]
fn no_leak_in_the_c_client() {
    valgrind_present();
    let (output, stdout) = run(&mut c_client(true));
    assert_success(&output, "VALGRIND=1 c-client/run.sh");
    assert_results(&stdout);
}

/// The executable server, built (by cargo, with this test's profile) if it is not yet.
fn local_server() -> PathBuf {
    let exe = target_dir().join("calculator-local-server");
    let release = target_dir().ends_with("release");
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "-p", "calculator-local-server"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building calculator-local-server failed");
    assert!(exe.exists(), "{} was not built", exe.display());
    exe
}

/// `.class` entries left in a rendezvous directory (`<rpc dir>/classes`).
fn published(rpc_dir: &Path) -> Vec<String> {
    std::fs::read_dir(rpc_dir.join("classes"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".class"))
                .collect()
        })
        .unwrap_or_default()
}

/// A private endpoint directory (mode 0700, as ncalrpc requires) for one test.
fn rpc_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn local_client(rpc_dir: &Path, valgrind: bool) -> Command {
    let mut command = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--quiet",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=9",
            CLIENT,
        ]);
        c
    } else {
        Command::new(CLIENT)
    };
    command
        .args(["--temp-registry", "--local", "--servers"])
        .arg(local_server().parent().expect("a directory"))
        .env("COMIDL_RPC_DIR", rpc_dir);
    command
}

#[test]
fn the_rust_client_uses_the_calculator_as_a_local_server() {
    let rpc = rpc_dir();
    let (output, stdout) = run(&mut local_client(rpc.path(), false));
    assert_success(&output, "calculator-client --temp-registry --local");
    assert_results(&stdout);
    for line in [
        "the Calculator lives in another process: true",
        // The server calls the client's observer back during FoldObserved.
        "  observer: step 0: 10 -> 10",
        "  observer: step 2: 20 -> 42",
        "  = 42",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    // Once the client let go, the server revokes its class objects and exits (after its
    // linger of 2 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !published(rpc.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        published(rpc.path()),
        Vec::<String>::new(),
        "the server stayed"
    );
}

#[test]
fn no_leak_in_the_rust_client_of_the_local_server() {
    valgrind_present();
    let rpc = rpc_dir();
    let (output, stdout) = run(&mut local_client(rpc.path(), true));
    assert_success(&output, "valgrind calculator-client --local");
    assert_results(&stdout);
    assert!(
        stdout.contains("the Calculator lives in another process: true"),
        "{stdout}"
    );
}

#[test]
fn the_c_client_uses_the_local_server_through_the_proxy_stub_module() {
    // What run.sh --local registers and starts, built into this target directory.
    let mut build = Command::new(env!("CARGO"));
    build.args([
        "build",
        "--quiet",
        "-p",
        "calculator-local-server",
        "-p",
        "calculator-proxy-stub",
        "-p",
        "comidl-cli",
    ]);
    if target_dir().ends_with("release") {
        build.arg("--release");
    }
    assert!(
        build.status().expect("cargo runs").success(),
        "building failed"
    );
    let mut command = c_client(false);
    command.arg("--local");
    let (output, stdout) = run(&mut command);
    assert_success(&output, "c-client/run.sh --local");
    assert_results(&stdout);
    for line in [
        "ICalculator::Divide(1, 0) fails: 0x80070057",
        // The server called the C client's observer back, and let it go.
        "  observer: step 2: 20 -> 42",
        "the observer was told 3 steps and holds no reference: true",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
}
