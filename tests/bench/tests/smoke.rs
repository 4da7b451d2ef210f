//! Proves every benchmark runs, and that the C and Rust sides compute the same results.
//! Never asserts on timing.

use comidl_bench::{
    ISecond, Plan, SIZES, bench_alloc, bench_call, bench_qi, c_call, c_counter, c_malloc, c_qi,
    ref_count, rust_call, rust_cotaskmem, rust_counter, rust_qi,
};

const N: u64 = 1000;

#[test]
fn call_loops_agree() {
    let (a, b) = (c_counter(), c_counter());
    assert_eq!(c_call(&a, N), N as i32);
    assert_eq!(rust_call(&b, N), N as i32);
    // Both continue from the same state.
    assert_eq!(c_call(&b, 1), rust_call(&a, 1));
    // The wrapper on the Rust object computes the same too.
    let r = rust_counter();
    assert_eq!(rust_call(&r, N), N as i32);
    assert_eq!(c_call(&r, N), 2 * N as i32);
}

#[test]
fn qi_loops_agree_and_balance_references() {
    for obj in [c_counter(), rust_counter()] {
        assert_eq!(ref_count(&obj), 1);
        assert_eq!(c_qi(&obj, N), N);
        assert_eq!(rust_qi(&obj, N), N);
        assert_eq!(ref_count(&obj), 1);
        let second = obj.cast::<ISecond>().expect("implements ISecond");
        second.ping().expect("ping");
        assert_eq!(ref_count(&obj), 2);
        drop(second);
        assert_eq!(ref_count(&obj), 1);
    }
}

#[test]
fn alloc_loops_agree() {
    for size in SIZES {
        assert_eq!(c_malloc(size, N), rust_cotaskmem(size, N), "size {size}");
    }
}

#[test]
fn every_benchmark_runs_quickly() {
    let plan = Plan {
        rounds: 1,
        target: std::time::Duration::from_micros(200),
    };
    for c in [
        bench_call(plan),
        bench_qi(plan, true),
        bench_qi(plan, false),
    ] {
        assert!(c.iterations > 0 && c.time_ratio.is_finite());
    }
    for threads in [1, 2] {
        for size in SIZES {
            let c = bench_alloc(plan, size, threads);
            assert!(c.iterations > 0 && c.time_ratio.is_finite());
        }
    }
}

#[test]
fn ndr_benchmarks_compare_the_same_bytes() {
    use comidl_bench::ndr::{LONGS, Longs, RECORDS, Records, unmarshal_longs};
    let longs = Longs::new();
    let request = longs.marshal();
    assert_eq!(request.len(), 8 + LONGS * 4);
    assert_eq!(&request[8..], &longs.bytes()[..]);
    assert_eq!(unmarshal_longs(&request), (LONGS as u32, longs.a[0]));
    let r = Records::new();
    assert_eq!(r.records.len(), RECORDS);
    let ours = r.marshal();
    assert_eq!(ours, r.ms_ndr_c());
    assert_eq!(ours, r.ms_ndr());
    assert_eq!(ours, r.ms_ndr_str());
}
