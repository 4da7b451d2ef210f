//! The SQLite pool example: a database in a temporary directory, a connection dispenser
//! registered with comidl's dispenser manager, and an inventory component that borrows a
//! connection from it for each call. Shows that the first call opens a connection and
//! every later call reuses it.
//!
//! Run with `cargo run -p sqlite-pool-example`.

use std::process::ExitCode;

use comidl_runtime::dispenser::HOLDERSTATISTICS;
use comidl_runtime::host::describe;
use comidl_runtime::{E_FAIL, HRESULT, Result};
use rusqlite::{Connection, OpenFlags};
use sqlite_pool::{ConnectionDispenser, IConnectionTrace, Inventory, add_item, create_schema};

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(Failure::Com(hr)) => {
            eprintln!("sqlite-pool: failed: {}", describe(hr));
            ExitCode::FAILURE
        }
        Err(Failure::Check(what)) => {
            eprintln!("sqlite-pool: check failed: {what}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    /// A COM call failed.
    Com(HRESULT),
    /// Everything succeeded but the pool did not do what the example shows.
    Check(String),
}

impl From<HRESULT> for Failure {
    fn from(hr: HRESULT) -> Failure {
        Failure::Com(hr)
    }
}

fn counters(s: &HOLDERSTATISTICS) -> String {
    format!(
        "created={} reused={} destroyed={} in_use={} idle={}",
        s.created, s.reused, s.destroyed, s.inUse, s.idle
    )
}

fn run() -> core::result::Result<(), Failure> {
    let dir = tempfile::tempdir().map_err(|e| {
        eprintln!("sqlite-pool: creating a temporary directory: {e}");
        Failure::Com(E_FAIL)
    })?;
    let path = dir.path().join("inventory.db");
    {
        let setup = Connection::open(&path).map_err(|e| {
            eprintln!("sqlite-pool: creating {}: {e}", path.display());
            Failure::Com(E_FAIL)
        })?;
        create_schema(&setup)?;
    }
    println!("database: {}", path.display());

    let dispenser = ConnectionDispenser::new("sqlite-pool example")?;
    // The file exists now: the pool's connections never create it.
    let database = dispenser.add_database(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    );
    println!(
        "dispenser registered: database {} is resource type {}, idle timeout {} s",
        path.display(),
        database.type_id(),
        dispenser.idle_timeout()
    );

    let inventory = Inventory::create(dispenser.clone(), database)?;
    let trace = inventory.cast::<IConnectionTrace>()?;
    let mut used = Vec::new();
    let mut call = |what: &str, result: Result<String>| -> Result<()> {
        let outcome = result?;
        let (resource, handle) = trace.last_connection()?;
        let stats = dispenser.statistics()?;
        println!(
            "call {}: {what} = {outcome}; connection: resource {resource}, handle {handle:#x}; \
             pool: {}",
            used.len() + 1,
            counters(&stats)
        );
        used.push((resource, handle));
        Ok(())
    };
    call(
        "CountItems()",
        inventory.count_items().map(|n| n.to_string()),
    )?;
    call(
        "AddItem(\"widget\")",
        add_item(&inventory, "widget").map(|()| "S_OK".into()),
    )?;
    call(
        "AddItem(\"gadget\")",
        add_item(&inventory, "gadget").map(|()| "S_OK".into()),
    )?;
    let count = inventory.count_items()?;
    call("CountItems()", Ok(count.to_string()))?;

    // A call the component refuses before it takes a connection.
    let refused = add_item(&inventory, "");
    println!(
        "AddItem(\"\") = {}",
        match refused {
            Ok(()) => "S_OK".to_string(),
            Err(hr) => describe(hr),
        }
    );

    let stats = dispenser.statistics()?;
    let calls = dispenser.driver_calls();
    println!("pool: {}", counters(&stats));
    println!(
        "driver: opened={} rated={} resets={} rollbacks={} closed={}",
        calls.opened, calls.rated, calls.resets, calls.rollbacks, calls.closed
    );

    let calls_made = used.len() as u64;
    if refused.is_ok() {
        return Err(Failure::Check("AddItem(\"\") was accepted".into()));
    }
    if count != 2 {
        return Err(Failure::Check(format!("expected 2 items, counted {count}")));
    }
    if stats.created != 1 || stats.reused != calls_made - 1 {
        return Err(Failure::Check(format!(
            "expected created=1 reused={} after {calls_made} calls, got {}",
            calls_made - 1,
            counters(&stats)
        )));
    }
    let Some(&first) = used.first() else {
        return Err(Failure::Check("no call was made".into()));
    };
    if let Some(other) = used.iter().find(|u| **u != first) {
        return Err(Failure::Check(format!(
            "call 1 used resource {} (handle {:#x}) but a later call used resource {} \
             (handle {:#x})",
            first.0, first.1, other.0, other.1
        )));
    }
    println!(
        "the same connection served all {calls_made} calls: resource {}, handle {:#x}",
        first.0, first.1
    );

    drop(trace);
    drop(inventory);
    dispenser.close()?;
    let closed = dispenser.statistics()?;
    println!("after close: {}", counters(&closed));
    if closed.destroyed != 1 || closed.idle != 0 || dispenser.open_connections() != 0 {
        return Err(Failure::Check(format!(
            "close left connections open: {}, {} open",
            counters(&closed),
            dispenser.open_connections()
        )));
    }
    Ok(())
}
