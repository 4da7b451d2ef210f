//! `cargo bench -p sqlite-pool-example`: a pooled SQLite connection (AllocResource +
//! FreeResource) against opening and closing one each time, bare and with one small query,
//! interleaved in the same run; prints how many times faster pooling is.
//! `COMIDL_BENCH_QUICK=1` makes a short run (shows it works, quotes nothing).

use std::process::ExitCode;

use comidl_runtime::host::describe;
use sqlite_pool::bench::{Comparison, Fixture, Plan, bench_connection};

fn line(name: &str, c: &Comparison) {
    println!(
        "{name:<28} open/pooled = {:>7.1}x  (min-based {:>7.1}x)   [open {:.0} ns/op, pooled \
         {:.0} ns/op; n = {} / {}]",
        c.speedup, c.min_speedup, c.open_ns, c.pooled_ns, c.open_iterations, c.pooled_iterations,
    );
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; arguments are ignored.
    let plan = Plan::from_env();
    println!(
        "sqlite-pool benchmark: {} rounds per comparison, ~{:?} per side per round; ratios are \
         medians of per-round ratios (both sides back to back, order alternating).",
        plan.rounds, plan.target
    );
    let fixture = match Fixture::new() {
        Ok(fixture) => fixture,
        Err(hr) => {
            eprintln!("sqlite-pool benchmark: setting up: {}", describe(hr));
            return ExitCode::FAILURE;
        }
    };
    for (name, query) in [
        ("connection", false),
        ("connection + SELECT count(*)", true),
    ] {
        match bench_connection(plan, &fixture, query) {
            Ok(c) => line(name, &c),
            Err(hr) => {
                eprintln!("sqlite-pool benchmark: {name}: {}", describe(hr));
                return ExitCode::FAILURE;
            }
        }
    }
    match fixture.dispenser().statistics() {
        Ok(s) => println!(
            "pool after the run: created={} reused={} destroyed={} in_use={} idle={}",
            s.created, s.reused, s.destroyed, s.inUse, s.idle
        ),
        Err(hr) => {
            eprintln!("sqlite-pool benchmark: statistics: {}", describe(hr));
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
