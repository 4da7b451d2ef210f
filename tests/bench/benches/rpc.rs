//! `cargo bench -p comidl-bench --bench rpc`: the RPC benchmarks (src/rpc.rs), each with its
//! baseline in the same run, printed as ratios. `COMIDL_BENCH_QUICK=1` runs them briefly.

use comidl_bench::Plan;
use comidl_bench::rpc::{Ours, Raw, bench_clients, bench_idle, bench_null_call};

fn main() {
    let plan = Plan::from_env();
    let quick = plan.rounds < 5;
    let ours = Ours::start();
    let raw = Raw::start();
    for (name, unix) in [("null call, TCP", false), ("null call, Unix", true)] {
        let c = bench_null_call(plan, &ours, &raw, unix);
        println!(
            "{name:<22} ours/raw time = {:.3}  (min-based {:.3}; target <= 1.5: {})   [raw {:.1} us, ours {:.1} us, n = {}]",
            c.time_ratio,
            c.min_ratio,
            if c.time_ratio <= 1.5 { "met" } else { "MISSED" },
            c.c_ns / 1000.0,
            c.rust_ns / 1000.0,
            c.iterations
        );
    }
    let (clients, calls, rounds) = if quick { (16, 200, 1) } else { (16, 10_000, 3) };
    let t = bench_clients(&ours, &raw, clients, calls, rounds);
    println!(
        "{clients} clients x {calls}   ours/raw throughput = {:.3}  [ours {:.0} calls/s, raw {:.0} calls/s; {} errors; fds {} -> {}, RSS {} -> {} KiB]",
        t.ratio,
        t.ours_calls_per_sec,
        t.raw_calls_per_sec,
        t.errors,
        t.before.fds,
        t.after.fds,
        t.before.rss_kib,
        t.after.rss_kib
    );
    let n = if quick { 100 } else { 1000 };
    let idle = bench_idle(&ours, n);
    println!(
        "{n} idle connections    server threads = {} (they take turns at the reactor and run the calls); process threads {} -> {}; RSS {} -> {} KiB ({:.1} KiB per connection, client side included)",
        idle.server_threads,
        idle.before.threads,
        idle.held.threads,
        idle.before.rss_kib,
        idle.held.rss_kib,
        (idle.held.rss_kib as f64 - idle.before.rss_kib as f64) / n as f64
    );
}
