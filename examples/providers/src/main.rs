//! `provider-host`: reads a profile (by default examples/providers/profile.ini), opens every
//! provider it names, submits a message to each, prints what they answer, and checks that
//! every module it loaded was unloaded again.
//!
//! ```text
//! cargo run -p provider-example [-- PROFILE]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use comidl_runtime::provider::{Provider, ProviderHost};
use comidl_runtime::wide;

comidl_runtime::include_idl!(
    /// The bindings of transport.idl.
    pub mod transport
);

use transport::ITransport;

/// The version of the provider interface this host speaks.
const HOST_VERSION: u32 = 1;

fn main() -> ExitCode {
    let profile = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/profile.ini")));
    match run(&profile) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("provider-host: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(profile: &std::path::Path) -> Result<(), String> {
    let host = ProviderHost::load(profile, HOST_VERSION).map_err(|e| e.to_string())?;
    println!(
        "profile {} names {} providers; this host speaks provider interface version {HOST_VERSION}",
        profile.display(),
        host.profile().providers().len()
    );
    let mut open: Vec<Provider<ITransport>> = Vec::new();
    for entry in host.profile().providers() {
        let provider = host
            .open::<ITransport>(&entry.name)
            .map_err(|e| e.to_string())?;
        let describe = provider.describe().map_err(|hr| hr.to_string())?;
        println!(
            "opened {} (built for version {}): {}",
            provider.name(),
            provider.version(),
            text(describe)
        );
        open.push(provider);
    }
    let message = comidl_runtime::w!("hello from the provider host");
    for provider in &open {
        let receipt = provider.submit(message).map_err(|hr| hr.to_string())?;
        println!("{}: {}", provider.name(), text(receipt));
    }
    // Releasing the providers unloads their modules.
    drop(open);
    let (loads, unloads) = host.load_counts();
    println!("modules loaded {loads} times, unloaded {unloads} times");
    if loads != unloads {
        return Err(format!(
            "{} module loads were not unloaded",
            loads - unloads
        ));
    }
    Ok(())
}

/// The text of a string a provider returned (a task block this frees).
fn text(block: *mut u16) -> String {
    // SAFETY: an `[out, retval]` string: a task block, ours to free.
    unsafe { wide::take_task_block(block) }.unwrap_or_default()
}
