//! Runs the example host as a user would (`cargo run -p provider-example`): it loads both
//! providers its profile names, each reads its own settings, and every load is matched by
//! an unload. A profile naming a provider built for a newer interface, or a module that
//! is not there, makes it fail with the profile's file and line.

use std::process::{Command, Output};

fn host(profile: Option<&std::path::Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provider-host"));
    if let Some(profile) = profile {
        command.arg(profile);
    }
    command.output().expect("the example host runs")
}

#[test]
fn the_host_opens_and_calls_both_providers_of_its_profile() {
    let out = host(None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    for line in [
        "names 2 providers; this host speaks provider interface version 1",
        "opened Mail (built for version 1): Mail: mail via smtp.example.org",
        "opened Log (built for version 1): Log: log at level info",
        "Mail: message 1 queued for smtp.example.org from Example Host <host@example.org>: \"hello from the provider host\"",
        "Log: log: [info] hello from the provider host",
        "modules loaded 2 times, unloaded 2 times",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
}

#[test]
fn a_broken_profile_fails_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("broken.ini");
    std::fs::write(
        &profile,
        "[Mail]\nLibrary = libcomidl_mail_transport.so\nEntryPoint = NoSuchEntry\n",
    )
    .unwrap();
    let out = host(Some(&profile));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!("{}:3: provider `Mail`", profile.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("NoSuchEntry"), "{stderr}");

    std::fs::write(&profile, "[Mail]\nLibrary = ./missing.so\nEntryPoint = X\n").unwrap();
    let out = host(Some(&profile));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2: provider `Mail`", profile.display())),
        "{stderr}"
    );
}
