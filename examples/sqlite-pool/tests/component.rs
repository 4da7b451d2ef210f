//! The inventory component through its COM interfaces: every call borrows a pooled
//! connection, bad input is refused before a connection is taken, and a database that
//! cannot be opened reaches the component's caller as the driver's HRESULT.

use comidl_runtime::{E_INVALIDARG, E_POINTER, Interface, WString};
use rusqlite::{Connection, OpenFlags, ffi};
use sqlite_pool::{
    ConnectionDispenser, IConnectionTrace, Inventory, add_item, create_schema, sqlite_code,
};

const FLAGS: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

#[test]
fn calls_count_and_add_items_on_one_reused_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    create_schema(&Connection::open(&path).unwrap()).unwrap();
    let dispenser = ConnectionDispenser::new("component test").unwrap();
    let database = dispenser.add_database(&path, FLAGS);
    let inventory = Inventory::create(dispenser.clone(), database).unwrap();
    let trace = inventory.cast::<IConnectionTrace>().unwrap();
    assert_eq!(trace.last_connection().unwrap(), (0, 0));

    assert_eq!(inventory.count_items().unwrap(), 0);
    let first = trace.last_connection().unwrap();
    assert_ne!(first.1, 0);
    add_item(&inventory, "widget").unwrap();
    add_item(&inventory, "Zahnrad ⚙").unwrap();
    assert_eq!(inventory.count_items().unwrap(), 2);
    assert_eq!(trace.last_connection().unwrap(), first);
    let s = dispenser.statistics().unwrap();
    assert_eq!((s.created, s.reused, s.inUse, s.idle), (1, 3, 0, 1));

    // The names arrived intact.
    let check = Connection::open(&path).unwrap();
    let names: Vec<String> = check
        .prepare("SELECT name FROM items ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["widget", "Zahnrad ⚙"]);
}

#[test]
fn bad_names_are_refused_before_a_connection_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.db");
    create_schema(&Connection::open(&path).unwrap()).unwrap();
    let dispenser = ConnectionDispenser::new("component input test").unwrap();
    let database = dispenser.add_database(&path, FLAGS);
    let inventory = Inventory::create(dispenser.clone(), database).unwrap();

    // The safe method cannot pass NULL; a C caller can, through the vtable.
    let raw_add = |name: *const u16| {
        // SAFETY: a live IInventory; the name is NULL or NUL-terminated.
        unsafe { (Interface::vtable(&*inventory).AddItem)(Interface::as_raw(&*inventory), name) }
    };
    assert_eq!(raw_add(core::ptr::null()), E_POINTER);
    assert_eq!(add_item(&inventory, "").unwrap_err(), E_INVALIDARG);
    assert_eq!(add_item(&inventory, "   ").unwrap_err(), E_INVALIDARG);
    let lone_surrogate = WString::from_units(&[0xD800]).unwrap();
    assert_eq!(
        inventory.add_item(&lone_surrogate).unwrap_err(),
        E_INVALIDARG
    );
    let s = dispenser.statistics().unwrap();
    assert_eq!((s.created, s.reused, s.inUse), (0, 0, 0));
    assert_eq!(inventory.count_items().unwrap(), 0);
}

#[test]
fn a_database_that_cannot_be_opened_fails_the_call_with_the_drivers_hresult() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent").join("inventory.db");
    let dispenser = ConnectionDispenser::new("component failure test").unwrap();
    let database = dispenser.add_database(&missing, FLAGS);
    let inventory = Inventory::create(dispenser.clone(), database).unwrap();
    let hr = inventory.count_items().unwrap_err();
    assert_eq!(Some(hr), dispenser.last_open_failure());
    assert_eq!(
        sqlite_code(hr).map(|c| c & 0xFF),
        Some(ffi::SQLITE_CANTOPEN)
    );
    assert_eq!(add_item(&inventory, "widget").unwrap_err(), hr);
    let s = dispenser.statistics().unwrap();
    assert_eq!((s.created, s.reused, s.inUse, s.idle), (0, 0, 0, 0));
}

#[test]
fn a_missing_table_is_a_sqlite_error_and_the_connection_still_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    drop(Connection::open(&path).unwrap());
    let dispenser = ConnectionDispenser::new("component schema test").unwrap();
    let database = dispenser.add_database(&path, FLAGS);
    let inventory = Inventory::create(dispenser.clone(), database).unwrap();
    let hr = inventory.count_items().unwrap_err();
    assert_eq!(sqlite_code(hr), Some(ffi::SQLITE_ERROR), "{hr:?}");
    let s = dispenser.statistics().unwrap();
    assert_eq!((s.created, s.inUse, s.idle), (1, 0, 1));
}
