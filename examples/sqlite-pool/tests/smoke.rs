//! The benchmark in its quick mode: both sides compute the same thing, and pooling comes
//! out faster than opening a connection each time by a wide margin (the full run measures
//! tens of times; this debug build about 6 and 4.5 times). The assertions use the
//! estimator least sensitive to bursts of load (fastest round against fastest round) and
//! thresholds far below what an idle machine measures: a busy CI machine must not fail it.

use sqlite_pool::bench::{Fixture, Plan, ROWS, bench_connection};

#[test]
fn both_sides_count_the_same_rows() {
    let fixture = Fixture::new().unwrap();
    assert_eq!(fixture.open_each_time(3, true).unwrap(), 3 * ROWS);
    assert_eq!(fixture.pooled(3, true).unwrap(), 3 * ROWS);
    assert_eq!(fixture.open_each_time(2, false).unwrap(), 0);
    assert_eq!(fixture.pooled(2, false).unwrap(), 0);
    // The pooled side opened one connection and reused it.
    let s = fixture.dispenser().statistics().unwrap();
    assert_eq!((s.created, s.reused), (1, 4));
}

#[test]
fn the_quick_benchmark_shows_pooling_faster_than_opening() {
    let fixture = Fixture::new().unwrap();
    let plan = Plan::quick();
    let bare = bench_connection(plan, &fixture, false).unwrap();
    assert!(bare.speedup.is_finite() && bare.open_iterations > 0 && bare.pooled_iterations > 0);
    assert!(
        bare.min_speedup > 2.0,
        "pooling should beat opening a connection by far: {bare:?}"
    );
    let query = bench_connection(plan, &fixture, true).unwrap();
    assert!(
        query.min_speedup > 1.2,
        "pooling should beat opening a connection, with a query too: {query:?}"
    );
}
