//! comidl-dcomd's handlers on hostile requests, as its port and its local socket receive
//! them: byte 0 picks the interface (IObjectExporter: ResolveOxid, pings; the activation
//! interfaces with their property sets; the exporters' registration), byte 1 the opnum,
//! the rest is the request's stub data. No input may panic; the ping sets stay bounded.
//! Unauthenticated access is allowed, so activation requests are decoded all the way
//! (their classes are not registered: the empty registry of a temporary directory).

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use comidl_dcomd::Handlers;
use comidl_dcomd::machine::{Machine, Settings};
use libfuzzer_sys::fuzz_target;

fn handlers() -> &'static Handlers {
    static H: OnceLock<Handlers> = OnceLock::new();
    H.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("comidl-fuzz-dcomd-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        // SAFETY: set once, before any thread of the fuzzed code reads the environment.
        unsafe { std::env::set_var("COMIDL_REGISTRY", &dir) };
        comidl_runtime::dcom::machine::keep_out();
        Handlers::new(Arc::new(Machine::new(Settings {
            names: vec!["10.0.0.2".into(), "host".into()],
            port: 135,
            ping_period: Duration::from_secs(120),
            min_level: comidl_runtime::rpc::auth::AuthnLevel::None,
            security: Vec::new(),
        })))
    })
}

fuzz_target!(|data: &[u8]| {
    let [which, opnum, stub @ ..] = data else {
        return;
    };
    let h = handlers();
    let _ = h.serve(*which, u16::from(*opnum % 8), stub);
    assert!(
        h.machine.set_count() <= 1 << 14,
        "the ping sets grew past their bound"
    );
});
