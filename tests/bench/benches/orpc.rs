//! `cargo bench -p comidl-bench --bench orpc`: the out-of-process COM benchmarks
//! (src/orpc.rs, src/ipc_baselines.rs), each with its baseline in the same run, printed as
//! ratios. The binary runs itself again as the server processes (`orpc-server`, and
//! `grpc-server` and `dbus-server` for the gRPC and D-Bus baselines); the D-Bus baseline
//! also starts a dbus-daemon of its own. `COMIDL_BENCH_QUICK=1` runs them briefly.

use std::path::Path;

use comidl_bench::ipc_baselines::{bench_tonic, bench_zbus, serve_role};
use comidl_bench::orpc::{Remote, bench_clients, bench_megabyte, bench_null, serve};
use comidl_bench::{Comparison, Plan};

/// An IPC baseline of the null call: (plan, the COM server, this binary) -> ours/baseline.
type Baseline = fn(Plan, &Remote, &Path) -> Comparison;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "orpc-server") {
        serve();
        return;
    }
    if serve_role(&args) {
        return;
    }
    let plan = Plan::from_env();
    let quick = plan.rounds < 5;
    let exe = std::env::current_exe().expect("this binary");
    let remote = Remote::start(&exe, "orpc-server");
    let c = bench_null(plan, &remote);
    println!(
        "null call, proxy     ours/raw time = {:.3}  (min-based {:.3}; target <= 1.5: {})   [raw {:.1} us, ours {:.1} us, n = {}]",
        c.time_ratio,
        c.min_ratio,
        if c.time_ratio <= 1.5 { "met" } else { "MISSED" },
        c.c_ns / 1000.0,
        c.rust_ns / 1000.0,
        c.iterations
    );
    let baselines: [(&str, Baseline, f64); 2] =
        [("tonic", bench_tonic, 0.5), ("zbus", bench_zbus, 0.3)];
    for (name, bench, target) in baselines {
        let c = bench(plan, &remote, &exe);
        let verdict = if c.time_ratio <= target {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "null call vs {name:<6}  ours/{name} time = {:.3}  (min-based {:.3}; target <= {target}: {})   [{name} {:.1} us, ours {:.1} us, n = {}]",
            c.time_ratio,
            c.min_ratio,
            verdict,
            c.c_ns / 1000.0,
            c.rust_ns / 1000.0,
            c.iterations
        );
    }
    let (raw, memcpy) = bench_megabyte(plan, &remote);
    println!(
        "1 MiB [size_is]       ours/raw socket time = {:.3} (min-based {:.3}); ours/memcpy time = {:.1}   [raw {:.0} us, memcpy {:.0} us, ours {:.0} us]",
        raw.time_ratio,
        raw.min_ratio,
        memcpy.time_ratio,
        raw.c_ns / 1000.0,
        memcpy.c_ns / 1000.0,
        raw.rust_ns / 1000.0
    );
    let (threads, calls) = if quick { (16, 200) } else { (16, 10_000) };
    let (rate, errors) = bench_clients(&remote, threads, calls);
    println!("{threads} threads x {calls} calls on one proxy   {rate:.0} calls/s, {errors} errors");
    assert_eq!(errors, 0, "calls failed");
}
