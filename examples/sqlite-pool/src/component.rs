//! The client component: an inventory kept in a SQLite database, a COM object implementing
//! `IInventory` and `IConnectionTrace` (inventory.idl). Every call borrows a connection
//! from the [`ConnectionDispenser`], runs one statement and gives the connection back.

use std::sync::Mutex;

use comidl_runtime::{
    ComObject, ComPtr, DISP_E_OVERFLOW, E_INVALIDARG, LONG, Result, WStr, WString,
};
use rusqlite::Connection;

use crate::dispenser::{ConnectionDispenser, Database, Pooled};
use crate::error::{fail, sqlite_failure};
use crate::inventory::{IConnectionTrace_Impl, IInventory, IInventory_Impl};

/// The table the component keeps its items in.
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)";

/// Creates the component's table in `connection`'s database if it is not there.
pub fn create_schema(connection: &Connection) -> Result<()> {
    connection
        .execute_batch(SCHEMA)
        .map_err(|e| sqlite_failure(&e, "creating the items table"))
}

/// The inventory component.
pub struct Inventory {
    dispenser: ConnectionDispenser,
    database: Database,
    /// The resource id and handle address of the connection that served the last call.
    last: Mutex<(u64, u64)>,
}

comidl_runtime::implement!(Inventory: IInventory, crate::inventory::IConnectionTrace);

impl Inventory {
    /// A new inventory object over `database`, as its `IInventory`.
    pub fn create(
        dispenser: ConnectionDispenser,
        database: Database,
    ) -> Result<ComPtr<IInventory>> {
        ComObject::create(Inventory {
            dispenser,
            database,
            last: Mutex::new((0, 0)),
        })
    }

    /// A connection for one call, recorded as the last one used.
    fn connection(&self) -> Result<Pooled> {
        let connection = self.dispenser.connection(self.database)?;
        let used = (
            connection.resource_id() as u64,
            connection.handle_address() as u64,
        );
        *self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = used;
        Ok(connection)
    }
}

impl IInventory_Impl for Inventory {
    fn count_items(&self) -> Result<LONG> {
        let connection = self.connection()?;
        let count: i64 = connection
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .map_err(|e| sqlite_failure(&e, "counting the items"))?;
        connection.release()?;
        LONG::try_from(count)
            .map_err(|_| fail(DISP_E_OVERFLOW, format!("{count} items do not fit a LONG")))
    }

    fn add_item(&self, name: &WStr) -> Result<()> {
        // Checked before a connection is taken: bad input never reaches the pool. (A NULL
        // name never gets here: the generated stub answers E_POINTER.)
        let name = name
            .try_to_string()
            .map_err(|_| fail(E_INVALIDARG, "the item name is not valid UTF-16".into()))?;
        if name.trim().is_empty() {
            return Err(fail(E_INVALIDARG, "an item name cannot be empty".into()));
        }
        let connection = self.connection()?;
        connection
            .execute("INSERT INTO items (name) VALUES (?1)", [&name])
            .map_err(|e| sqlite_failure(&e, &format!("adding item `{name}`")))?;
        connection.release()
    }
}

impl IConnectionTrace_Impl for Inventory {
    fn last_connection(&self) -> Result<(u64, u64)> {
        Ok(*self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Calls `IInventory::AddItem` with `name`.
pub fn add_item(inventory: &IInventory, name: &str) -> Result<()> {
    let name = WString::new(name).map_err(|_| E_INVALIDARG)?;
    inventory.add_item(&name)
}
