//! Runs the example binary and checks what it printed and how it exited.

use std::process::Command;

/// The `resource N, handle 0x...` pairs the lines starting with `call ` name.
fn connections(stdout: &str) -> Vec<(u64, String)> {
    stdout
        .lines()
        .filter(|line| line.starts_with("call "))
        .filter_map(|line| {
            let rest = line.split("connection: resource ").nth(1)?;
            let (resource, rest) = rest.split_once(", handle ")?;
            let handle = rest.split(';').next()?;
            Some((resource.parse().ok()?, handle.to_string()))
        })
        .collect()
}

#[test]
fn the_example_reuses_one_connection_for_every_call_and_exits_0() {
    let output = Command::new(env!("CARGO_BIN_EXE_sqlite-pool"))
        .output()
        .expect("the example binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "unexpected stderr:\n{stderr}");

    // Four calls, all on one connection: the first one's.
    let used = connections(&stdout);
    assert_eq!(used.len(), 4, "stdout:\n{stdout}");
    assert!(used[0].0 >= 1, "resource ids start at 1: {used:?}");
    assert!(
        used[0].1.starts_with("0x") && used[0].1 != "0x0",
        "a real handle address: {used:?}"
    );
    assert!(used.iter().all(|u| *u == used[0]), "{used:?}");

    // The counters after the first call and at the end.
    assert!(
        stdout.contains("call 1: CountItems() = 0;")
            && stdout.contains("pool: created=1 reused=0 destroyed=0 in_use=0 idle=1\n"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("call 4: CountItems() = 2;"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("\npool: created=1 reused=3 destroyed=0 in_use=0 idle=1\n"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("driver: opened=1 rated=3 resets=4 rollbacks=0 closed=0\n"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("AddItem(\"\") = an item name cannot be empty [0x80070057 (E_INVALIDARG)]"),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "the same connection served all 4 calls: resource {}, handle {}\n",
            used[0].0, used[0].1
        )),
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.ends_with("after close: created=1 reused=3 destroyed=1 in_use=0 idle=0\nok\n"),
        "stdout:\n{stdout}"
    );
}
