//! `cargo bench -p comidl-bench`: runs the benchmarks, baseline and Rust interleaved, and
//! prints the ratios. `COMIDL_BENCH_QUICK=1` runs them briefly (proves they run).

use comidl_bench::ndr::{bench_longs, bench_records};
use comidl_bench::{Comparison, Plan, SIZES, bench_alloc, bench_call, bench_qi};

fn line(
    name: &str,
    c: &Comparison,
    what: &str,
    value: f64,
    min_value: f64,
    target: &str,
    met: bool,
) {
    println!(
        "{name:<22} {what} = {value:.3}  (min-based {min_value:.3}; target {target}: {})   \
         [c {:.2} ns/op, rust {:.2} ns/op, n = {}]",
        if met { "met" } else { "MISSED" },
        c.c_ns,
        c.rust_ns,
        c.iterations,
    );
}

/// A line for the NDR benchmarks, whose baselines are not C. `bandwidth`: the ratio is
/// the engine's bandwidth over the baseline's (baseline time / engine time), the target a
/// least; otherwise it is engine time / baseline time, the target a most.
fn ndr_line(name: &str, c: &Comparison, bandwidth: bool, target: f64, baseline: &str) {
    let (what, value, min_value, met, target) = if bandwidth {
        let v = 1.0 / c.time_ratio;
        (
            "bandwidth",
            v,
            1.0 / c.min_ratio,
            v >= target,
            format!(">= {target}"),
        )
    } else {
        let v = c.time_ratio;
        ("time", v, c.min_ratio, v <= target, format!("<= {target}"))
    };
    println!(
        "{name:<22} engine/{baseline} {what} = {value:.3}  (min-based {min_value:.3}; target \
         {target}: {})   [{baseline} {:.1} us/op, engine {:.1} us/op, n = {}]",
        if met { "met" } else { "MISSED" },
        c.c_ns / 1000.0,
        c.rust_ns / 1000.0,
        c.iterations,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; accept and ignore arguments.
    let plan = Plan::from_env();
    println!(
        "comidl-bench: {} rounds per comparison, ~{:?} per side per round; ratios are medians \
         of per-round ratios (C and Rust run back to back, order alternating).",
        plan.rounds, plan.target
    );

    let call = bench_call(plan);
    line(
        "call",
        &call,
        "rust/c time",
        call.time_ratio,
        call.min_ratio,
        "<= 1.05",
        call.time_ratio <= 1.05,
    );

    let qi = bench_qi(plan, true);
    line(
        "qi+release",
        &qi,
        "rust/c time",
        qi.time_ratio,
        qi.min_ratio,
        "<= 1.1",
        qi.time_ratio <= 1.1,
    );
    let qi_loop = bench_qi(plan, false);
    println!(
        "{:<22} rust/c time = {:.3}  (info: the C loop on the Rust object vs the Rust loop on \
         it: isolates the wrapper's share)",
        "  qi, same object", qi_loop.time_ratio
    );

    for threads in [1, 2] {
        for size in SIZES {
            let a = bench_alloc(plan, size, threads);
            let name = format!("alloc {size} B x{threads}t");
            let throughput = 1.0 / a.time_ratio;
            line(
                &name,
                &a,
                "rust/c throughput",
                throughput,
                1.0 / a.min_ratio,
                ">= 0.9",
                throughput >= 0.9,
            );
        }
    }

    let (marshal, unmarshal) = bench_longs(plan);
    ndr_line("ndr 1 MiB marshal", &marshal, true, 0.5, "memcpy");
    ndr_line("ndr 1 MiB unmarshal", &unmarshal, true, 0.5, "memcpy");

    let (same_records, slices, from_str) = bench_records(plan);
    ndr_line("ndr 1000 records", &same_records, false, 1.0, "ms-ndr");
    println!(
        "{:<22} engine/ms-ndr time = {:.3}  (info: ms-ndr from UTF-16 slices of known length, \
         no string measured)",
        "  records, slices", slices.time_ratio
    );
    println!(
        "{:<22} engine/ms-ndr time = {:.3}  (info: ms-ndr's conformant_varying_wstr(&str), \
         which converts from UTF-8 on every call)",
        "  records, from &str", from_str.time_ratio
    );
}
