//! The benchmark: a pooled connection (`AllocResource` + `FreeResource` through
//! [`ConnectionDispenser::connection`]) against opening and closing a SQLite connection
//! each time, bare and with one small query (`SELECT count(*)`) on the connection.
//!
//! Both sides run in the same process on the same database file, interleaved round by
//! round with the order alternating. Each side's iteration count is calibrated so it takes
//! about [`Plan::target`] per round, and the result is the median over rounds of the
//! per-round ratio (opening's time per operation / pooling's): how many times faster
//! pooling is. No absolute time is a result; the nanoseconds are reported for context.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use comidl_runtime::{E_FAIL, Result};
use rusqlite::{Connection, OpenFlags};

use crate::component::create_schema;
use crate::dispenser::{ConnectionDispenser, Database};
use crate::error::{fail, sqlite_failure};

/// The environment variable that selects the quick run.
pub const QUICK_ENV: &str = "COMIDL_BENCH_QUICK";

/// How long to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Rounds per comparison; each times both sides once.
    pub rounds: usize,
    /// About how long one side runs per round.
    pub target: Duration,
}

impl Plan {
    /// The full run, or the quick one when `COMIDL_BENCH_QUICK` is set (and not `0`).
    pub fn from_env() -> Plan {
        if std::env::var_os(QUICK_ENV).is_some_and(|v| v != "0") {
            Plan::quick()
        } else {
            Plan::full()
        }
    }

    /// The run `cargo bench` makes.
    pub fn full() -> Plan {
        Plan {
            rounds: 21,
            target: Duration::from_millis(50),
        }
    }

    /// A few short rounds: enough to show which side is faster, not to quote a number.
    pub fn quick() -> Plan {
        Plan {
            rounds: 5,
            target: Duration::from_millis(5),
        }
    }
}

/// One comparison of opening a connection each time with pooling.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Median over rounds of (open ns/op ÷ pooled ns/op): how many times faster pooling is.
    pub speedup: f64,
    /// Fastest open round ÷ fastest pooled round (per operation): a second estimator,
    /// less sensitive to bursts of noise.
    pub min_speedup: f64,
    /// Median nanoseconds per operation, for context only.
    pub open_ns: f64,
    pub pooled_ns: f64,
    /// Operations per round on each side.
    pub open_iterations: u64,
    pub pooled_iterations: u64,
}

/// A database in a temporary directory, and a dispenser that pools its connections.
pub struct Fixture {
    path: PathBuf,
    flags: OpenFlags,
    dispenser: ConnectionDispenser,
    database: Database,
    // Last: removed after the dispenser has let go of its connections.
    _dir: tempfile::TempDir,
}

/// How many rows the benchmark's table holds.
pub const ROWS: i64 = 100;

impl Fixture {
    /// A fresh database holding [`ROWS`] items, registered with a new dispenser.
    pub fn new() -> Result<Fixture> {
        let dir = tempfile::tempdir()
            .map_err(|e| fail(E_FAIL, format!("creating a temporary directory: {e}")))?;
        let path = dir.path().join("bench.db");
        let setup = Connection::open(&path)
            .map_err(|e| sqlite_failure(&e, &format!("creating {}", path.display())))?;
        create_schema(&setup)?;
        setup
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
                 INSERT INTO items (name) SELECT 'item ' || i FROM n",
                [ROWS],
            )
            .map_err(|e| sqlite_failure(&e, "filling the items table"))?;
        drop(setup);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let dispenser = ConnectionDispenser::new("sqlite-pool benchmark")?;
        let database = dispenser.add_database(&path, flags);
        Ok(Fixture {
            path,
            flags,
            dispenser,
            database,
            _dir: dir,
        })
    }

    /// The dispenser.
    pub fn dispenser(&self) -> &ConnectionDispenser {
        &self.dispenser
    }

    /// Opens and closes a connection `n` times, counting the rows each time if `query`;
    /// the sum of the counts.
    pub fn open_each_time(&self, n: u64, query: bool) -> Result<i64> {
        let mut total = 0;
        for _ in 0..n {
            let connection = Connection::open_with_flags(&self.path, self.flags)
                .map_err(|e| sqlite_failure(&e, &format!("opening {}", self.path.display())))?;
            if query {
                total += count(&connection)?;
            }
            connection
                .close()
                .map_err(|(_, e)| sqlite_failure(&e, "closing a connection"))?;
        }
        Ok(black_box(total))
    }

    /// Takes a connection from the pool and gives it back `n` times, counting the rows
    /// each time if `query`; the sum of the counts.
    pub fn pooled(&self, n: u64, query: bool) -> Result<i64> {
        let mut total = 0;
        for _ in 0..n {
            let connection = self.dispenser.connection(self.database)?;
            if query {
                total += count(&connection)?;
            }
            connection.release()?;
        }
        Ok(black_box(total))
    }
}

fn count(connection: &Connection) -> Result<i64> {
    connection
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .map_err(|e| sqlite_failure(&e, "counting the items"))
}

/// Times `f(n)`.
fn timed(f: &mut dyn FnMut(u64) -> Result<()>, n: u64) -> Result<Duration> {
    let start = Instant::now();
    f(n)?;
    Ok(start.elapsed())
}

/// The iteration count that makes `f` take about `target` (running it a few times, which
/// also warms it up).
fn calibrate(target: Duration, f: &mut dyn FnMut(u64) -> Result<()>) -> Result<u64> {
    let mut n = 1u64;
    loop {
        let t = timed(f, n)?;
        if t >= target / 8 || n >= 1 << 30 {
            let scale = target.as_secs_f64() / t.as_secs_f64().max(1e-9);
            return Ok(((n as f64 * scale) as u64).max(1));
        }
        n *= 2;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let m = values.len() / 2;
    match values.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => values[m],
        _ => (values[m - 1] + values[m]) / 2.0,
    }
}

/// Compares `open(n)` with `pooled(n)` over `plan`: each calibrated on its own, then
/// interleaved round by round, alternating which goes first.
pub fn compare(
    plan: Plan,
    open: &mut dyn FnMut(u64) -> Result<()>,
    pooled: &mut dyn FnMut(u64) -> Result<()>,
) -> Result<Comparison> {
    let n_open = calibrate(plan.target, open)?;
    let n_pooled = calibrate(plan.target, pooled)?;
    let rounds = plan.rounds.max(1);
    let mut ratios = Vec::with_capacity(rounds);
    let mut open_ns = Vec::with_capacity(rounds);
    let mut pooled_ns = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (t_open, t_pooled) = if round % 2 == 0 {
            let t_open = timed(open, n_open)?;
            (t_open, timed(pooled, n_pooled)?)
        } else {
            let t_pooled = timed(pooled, n_pooled)?;
            (timed(open, n_open)?, t_pooled)
        };
        let per_open = t_open.as_secs_f64() * 1e9 / n_open as f64;
        let per_pooled = (t_pooled.as_secs_f64() * 1e9 / n_pooled as f64).max(1e-3);
        ratios.push(per_open / per_pooled);
        open_ns.push(per_open);
        pooled_ns.push(per_pooled);
    }
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Comparison {
        speedup: median(&mut ratios),
        min_speedup: min(&open_ns) / min(&pooled_ns),
        open_ns: median(&mut open_ns),
        pooled_ns: median(&mut pooled_ns),
        open_iterations: n_open,
        pooled_iterations: n_pooled,
    })
}

/// Opening a connection each time against `AllocResource` + `FreeResource`, with one
/// `SELECT count(*)` per connection on both sides if `query`.
pub fn bench_connection(plan: Plan, fixture: &Fixture, query: bool) -> Result<Comparison> {
    compare(
        plan,
        &mut |n| fixture.open_each_time(n, query).map(drop),
        &mut |n| fixture.pooled(n, query).map(drop),
    )
}
