//! The connection dispenser on comidl's dispenser manager: reuse, the reset that rolls back
//! what a client left open, failures of CreateResource, several databases, threads, the
//! idle timeout and Close.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use comidl_runtime::dispenser::HOLDERSTATISTICS;
use comidl_runtime::host::take_error_message;
use comidl_runtime::{CO_E_RELEASED, E_INVALIDARG};
use rusqlite::{Connection, OpenFlags, ffi};
use sqlite_pool::{
    ConnectionDispenser, DEFAULT_IDLE_TIMEOUT, Database, create_schema, sqlite_code,
};

const FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

/// A new database file with the items table, in `dir`.
fn database_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let setup = Connection::open(&path).unwrap();
    create_schema(&setup).unwrap();
    path
}

/// A dispenser over one fresh database.
fn setup() -> (tempfile::TempDir, PathBuf, ConnectionDispenser, Database) {
    let dir = tempfile::tempdir().unwrap();
    let path = database_file(dir.path(), "test.db");
    let dispenser = ConnectionDispenser::new("test").unwrap();
    let database = dispenser.add_database(&path, FLAGS);
    (dir, path, dispenser, database)
}

/// The counters as a tuple (created, reused, destroyed, in use, idle).
fn counters(s: HOLDERSTATISTICS) -> (u64, u64, u64, u64, u64) {
    (s.created, s.reused, s.destroyed, s.inUse, s.idle)
}

fn stats(dispenser: &ConnectionDispenser) -> (u64, u64, u64, u64, u64) {
    counters(dispenser.statistics().unwrap())
}

fn count(connection: &Connection) -> i64 {
    connection
        .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn the_second_allocation_reuses_the_connection() {
    let (_dir, _path, dispenser, database) = setup();
    assert_eq!(dispenser.idle_timeout(), DEFAULT_IDLE_TIMEOUT);
    let first = dispenser.connection(database).unwrap();
    let (id, handle) = (first.resource_id(), first.handle_address());
    assert_ne!(handle, 0);
    assert_eq!(first.database(), database);
    assert_eq!(stats(&dispenser), (1, 0, 0, 1, 0));
    first
        .execute("INSERT INTO items (name) VALUES ('one')", [])
        .unwrap();
    first.release().unwrap();
    assert_eq!(stats(&dispenser), (1, 0, 0, 0, 1));

    let second = dispenser.connection(database).unwrap();
    assert_eq!(second.resource_id(), id);
    assert_eq!(second.handle_address(), handle);
    assert_eq!(count(&second), 1);
    drop(second);
    assert_eq!(stats(&dispenser), (1, 1, 0, 0, 1));
    let calls = dispenser.driver_calls();
    assert_eq!(
        (calls.opened, calls.rated, calls.resets, calls.closed),
        (1, 1, 2, 0)
    );
    assert_eq!(dispenser.open_connections(), 1);
}

#[test]
fn a_transaction_left_open_is_rolled_back_before_the_connection_is_reused() {
    let (_dir, path, dispenser, database) = setup();
    let client = dispenser.connection(database).unwrap();
    let id = client.resource_id();
    client
        .execute_batch("BEGIN; INSERT INTO items (name) VALUES ('not committed');")
        .unwrap();
    assert!(!client.is_autocommit());
    assert_eq!(count(&client), 1);
    // The client goes without COMMIT or ROLLBACK.
    drop(client);
    assert_eq!(dispenser.driver_calls().rollbacks, 1);

    // The write lock went with the transaction: another connection writes at once.
    let other = Connection::open(&path).unwrap();
    other.busy_timeout(Duration::ZERO).unwrap();
    assert_eq!(count(&other), 0);
    other
        .execute(
            "INSERT INTO items (name) VALUES ('committed elsewhere')",
            [],
        )
        .unwrap();

    let next = dispenser.connection(database).unwrap();
    assert_eq!(next.resource_id(), id, "the same connection, reset");
    assert!(next.is_autocommit());
    let names: Vec<String> = next
        .prepare("SELECT name FROM items ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["committed elsewhere"]);
    // What a client commits stays.
    next.execute_batch("BEGIN; INSERT INTO items (name) VALUES ('kept'); COMMIT;")
        .unwrap();
    drop(next);
    assert_eq!(dispenser.driver_calls().rollbacks, 1);
    assert_eq!(count(&other), 2);
    assert_eq!(stats(&dispenser), (1, 1, 0, 0, 1));
}

#[test]
fn a_failing_open_reaches_the_caller_as_the_drivers_hresult_and_changes_no_counter() {
    let (dir, _path, dispenser, good) = setup();
    // A directory that does not exist, and flags that forbid creating the file.
    let missing = dir.path().join("no such directory").join("test.db");
    let bad = dispenser.add_database(&missing, FLAGS);
    assert_ne!(bad, good);

    // Some history first, so "unchanged" is not just "all zero".
    drop(dispenser.connection(good).unwrap());
    let before = stats(&dispenser);
    let calls_before = dispenser.driver_calls();
    assert_eq!(dispenser.last_open_failure(), None);

    let hr = dispenser.connection(bad).unwrap_err();
    assert_eq!(
        Some(hr),
        dispenser.last_open_failure(),
        "the driver's HRESULT"
    );
    assert_eq!(
        sqlite_code(hr).map(|code| code & 0xFF),
        Some(ffi::SQLITE_CANTOPEN),
        "{hr:?}"
    );
    let (recorded, message) = take_error_message().expect("a message for the failure");
    assert_eq!(recorded, hr);
    assert!(message.contains("no such directory"), "{message}");

    assert_eq!(stats(&dispenser), before);
    let calls = dispenser.driver_calls();
    assert_eq!(calls.open_failures, calls_before.open_failures + 1);
    assert_eq!(calls.opened, calls_before.opened);
    assert_eq!(dispenser.open_connections(), 1);

    // Again, and the good database is still served from the pool.
    assert_eq!(dispenser.connection(bad).unwrap_err(), hr);
    assert_eq!(stats(&dispenser), before);
    drop(dispenser.connection(good).unwrap());
    assert_eq!(stats(&dispenser), (1, 1, 0, 0, 1));
}

#[test]
fn each_database_gets_its_own_connections() {
    let (dir, _path, dispenser, first) = setup();
    let other_path = database_file(dir.path(), "other.db");
    let second = dispenser.add_database(&other_path, FLAGS);
    assert_ne!(first.type_id(), second.type_id());

    let a = dispenser.connection(first).unwrap();
    a.execute("INSERT INTO items (name) VALUES ('in first')", [])
        .unwrap();
    let a_id = a.resource_id();
    drop(a);
    // The idle connection of the first database does not serve the second.
    let b = dispenser.connection(second).unwrap();
    assert_ne!(b.resource_id(), a_id);
    assert_eq!(count(&b), 0);
    drop(b);
    assert_eq!(stats(&dispenser), (2, 0, 0, 0, 2));
    let a = dispenser.connection(first).unwrap();
    assert_eq!(a.resource_id(), a_id);
    assert_eq!(count(&a), 1);
    drop(a);
    assert_eq!(stats(&dispenser), (2, 1, 0, 0, 2));
}

#[test]
fn connections_in_use_at_once_are_distinct_and_both_come_back() {
    let (_dir, _path, dispenser, database) = setup();
    let a = dispenser.connection(database).unwrap();
    let b = dispenser.connection(database).unwrap();
    assert_ne!(a.resource_id(), b.resource_id());
    assert_ne!(a.handle_address(), b.handle_address());
    assert_eq!(stats(&dispenser), (2, 0, 0, 2, 0));
    let ids: HashSet<_> = [a.resource_id(), b.resource_id()].into();
    drop(a);
    drop(b);
    assert_eq!(stats(&dispenser), (2, 0, 0, 0, 2));
    let c = dispenser.connection(database).unwrap();
    assert!(ids.contains(&c.resource_id()));
    assert_eq!(stats(&dispenser), (2, 1, 0, 1, 1));
}

#[test]
fn threads_share_the_pool_and_never_share_a_connection() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 50;
    let (_dir, _path, dispenser, database) = setup();
    let held: Arc<Mutex<HashSet<usize>>> = Arc::default();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (dispenser, held) = (dispenser.clone(), held.clone());
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let connection = dispenser.connection(database).unwrap();
                    let id = connection.resource_id();
                    assert!(
                        held.lock().unwrap().insert(id),
                        "connection {id} lent twice"
                    );
                    connection.busy_timeout(Duration::from_secs(10)).unwrap();
                    connection
                        .execute("INSERT INTO items (name) VALUES (?1)", [format!("{t}/{i}")])
                        .unwrap();
                    assert!(held.lock().unwrap().remove(&id));
                    connection.release().unwrap();
                }
            });
        }
    });
    let (created, reused, destroyed, in_use, idle) = stats(&dispenser);
    assert!((1..=THREADS as u64).contains(&created), "created {created}");
    assert_eq!(created + reused, (THREADS * ROUNDS) as u64);
    assert_eq!((destroyed, in_use, idle), (0, 0, created));
    assert_eq!(dispenser.open_connections() as u64, created);
    let check = dispenser.connection(database).unwrap();
    assert_eq!(count(&check), (THREADS * ROUNDS) as i64);
}

#[test]
fn idle_connections_are_closed_by_the_timeout_thread_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_file(dir.path(), "timeout.db");
    let dispenser = ConnectionDispenser::with_idle_timeout("timeout test", 1).unwrap();
    let database = dispenser.add_database(&path, FLAGS);
    drop(dispenser.connection(database).unwrap());
    assert_eq!(dispenser.open_connections(), 1);
    let start = Instant::now();
    while dispenser.open_connections() != 0 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dispenser.open_connections(), 0, "still open after 10 s");
    assert!(start.elapsed() >= Duration::from_millis(500));
    assert_eq!(dispenser.driver_calls().closed, 1);
    assert_eq!(stats(&dispenser), (1, 0, 1, 0, 0));
    // The next request opens a new connection, with a new id.
    let next = dispenser.connection(database).unwrap();
    assert_eq!(next.resource_id(), 2);
    assert_eq!(stats(&dispenser), (2, 0, 1, 1, 0));
}

#[test]
fn close_closes_idle_connections_now_the_others_as_they_come_back_and_refuses_requests() {
    let (_dir, _path, dispenser, database) = setup();
    let held = dispenser.connection(database).unwrap();
    drop(dispenser.connection(database).unwrap());
    assert_eq!(stats(&dispenser), (2, 0, 0, 1, 1));
    dispenser.close().unwrap();
    assert_eq!(stats(&dispenser), (2, 0, 1, 1, 0));
    assert_eq!(dispenser.open_connections(), 1);
    assert_eq!(dispenser.connection(database).unwrap_err(), CO_E_RELEASED);
    // Still usable until given back, then closed.
    assert_eq!(count(&held), 0);
    held.release().unwrap();
    assert_eq!(stats(&dispenser), (2, 0, 2, 0, 0));
    assert_eq!(dispenser.open_connections(), 0);
    assert_eq!(dispenser.driver_calls().closed, 2);
}

#[test]
fn bad_requests_are_refused_with_e_invalidarg() {
    let (_dir, _path, dispenser, _database) = setup();
    // A resource type no database was registered as, straight through the pool.
    assert_eq!(dispenser.holder().alloc(42).unwrap_err(), E_INVALIDARG);
    let (recorded, message) = take_error_message().unwrap();
    assert_eq!(recorded, E_INVALIDARG);
    assert!(message.contains("resource type 42"), "{message}");
    assert_eq!(stats(&dispenser), (0, 0, 0, 0, 0));
    // A resource the pool never lent.
    assert_eq!(dispenser.holder().free(7).unwrap_err(), E_INVALIDARG);
    // A negative idle timeout.
    assert_eq!(
        ConnectionDispenser::with_idle_timeout("negative", -1).unwrap_err(),
        E_INVALIDARG
    );
    assert_eq!(dispenser.set_idle_timeout(-5).unwrap_err(), E_INVALIDARG);
    dispenser.set_idle_timeout(5).unwrap();
    assert_eq!(dispenser.idle_timeout(), 5);
}
