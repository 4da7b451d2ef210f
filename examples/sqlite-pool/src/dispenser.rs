//! A resource dispenser for SQLite connections on comidl's dispenser manager.
//!
//! How the pool's ids map to SQLite:
//! - `RESTYPID` is a [`Database`]: an index into the dispenser's table of registered
//!   databases (a path and the flags to open it with, [`ConnectionDispenser::add_database`]).
//!   Connections of one database are interchangeable; those of two databases never are.
//! - `RESID` is the key of a slot in the dispenser's slot table, which holds the open
//!   [`Connection`] while it is idle. Keys count up from 1 and are never reused, so a
//!   RESID names one connection for the life of the process.
//!
//! The driver ([`IDispenserDriver`]) opens a connection in `CreateResource` (idle timeout:
//! the dispenser's, [`DEFAULT_IDLE_TIMEOUT`] seconds unless configured), rates an idle one
//! `RESOURCERATING_PERFECT` when it belongs to the requested database and is in autocommit
//! mode with no statement running (0 otherwise), rolls back whatever transaction a client
//! left open in `ResetResource`, and closes the connection in `DestroyResource`.
//!
//! Clients call [`ConnectionDispenser::connection`]: `AllocResource` for the database,
//! then the connection is moved out of its slot into the [`Pooled`] guard, so it is used
//! without any lock. Dropping the guard (or [`Pooled::release`]) moves it back and calls
//! `FreeResource`, which resets it and keeps it for the next request.
//!
//! The pool calls the driver from any thread, its timeout thread included: every piece of
//! the driver's state sits behind a mutex or in an atomic, and a connection is only ever
//! used by the one party the pool has given it to (a client between alloc and free, the
//! pool's rate, reset or destroy call while it is idle).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use comidl_runtime::dispenser::{
    self, HOLDERSTATISTICS, IDispenserDriver, IDispenserDriver_Impl, RESID, RESOURCERATING,
    RESOURCERATING_PERFECT, RESOURCERATING_UNUSABLE, RESTYPID, SharedHolder, TIMEINSECS, TRANSID,
    constSRESID,
};
use comidl_runtime::{
    BOOL, ComObject, ComPtr, E_FAIL, E_INVALIDARG, E_NOTIMPL, E_UNEXPECTED, HRESULT, Result,
};
use rusqlite::{Connection, OpenFlags};

use crate::error::{fail, sqlite_failure};

/// How long an idle connection stays open unless configured otherwise, in seconds.
pub const DEFAULT_IDLE_TIMEOUT: TIMEINSECS = 60;

/// A database registered with a [`ConnectionDispenser`]: the pool's resource type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Database(RESTYPID);

impl Database {
    /// The `RESTYPID` the pool knows this database by.
    pub fn type_id(self) -> RESTYPID {
        self.0
    }
}

/// What the driver was asked to do so far (the pool's counters count what the pool did).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverCalls {
    /// Connections opened by `CreateResource`.
    pub opened: u64,
    /// `CreateResource` calls that failed.
    pub open_failures: u64,
    /// `RateResource` calls.
    pub rated: u64,
    /// `ResetResource` calls.
    pub resets: u64,
    /// Transactions `ResetResource` rolled back.
    pub rollbacks: u64,
    /// Connections closed by `DestroyResource`.
    pub closed: u64,
}

/// Where and how to open one database's connections.
struct DatabaseSpec {
    path: PathBuf,
    flags: OpenFlags,
}

/// One connection the driver made: its database, and the connection itself while it is
/// idle (`None` while a client or a driver call has it).
struct Slot {
    database: RESTYPID,
    connection: Option<Connection>,
}

#[derive(Default)]
struct CallCounters {
    opened: AtomicU64,
    open_failures: AtomicU64,
    rated: AtomicU64,
    resets: AtomicU64,
    rollbacks: AtomicU64,
    closed: AtomicU64,
}

/// What the driver and the client side share.
struct State {
    databases: RwLock<Vec<DatabaseSpec>>,
    slots: Mutex<HashMap<RESID, Slot>>,
    next_id: AtomicUsize,
    idle_timeout: AtomicI32,
    calls: CallCounters,
    /// The HRESULT of the last failed `CreateResource` (0: none yet).
    last_open_failure: AtomicI32,
}

impl State {
    fn slots(&self) -> MutexGuard<'_, HashMap<RESID, Slot>> {
        // Every critical section leaves the table consistent: keep using it after a panic.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the idle connection of slot `id` out of the table.
    fn take(&self, id: RESID) -> Option<(RESTYPID, Connection)> {
        let mut slots = self.slots();
        let slot = slots.get_mut(&id)?;
        Some((slot.database, slot.connection.take()?))
    }

    /// Puts `connection` back into slot `id`; closes it if the slot is gone.
    fn put_back(&self, id: RESID, connection: Connection) {
        let orphan = {
            let mut slots = self.slots();
            match slots.get_mut(&id) {
                Some(slot) if slot.connection.is_none() => {
                    slot.connection = Some(connection);
                    None
                }
                _ => Some(connection),
            }
        };
        // Closed outside the lock.
        drop(orphan);
    }

    fn open(&self, kind: RESTYPID) -> Result<Connection> {
        let (path, flags) = {
            let databases = self
                .databases
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // RESTYPID is a DWORD_PTR: a usize, the index itself.
            let spec = databases.get(kind).ok_or_else(|| {
                fail(
                    E_INVALIDARG,
                    format!("no database is registered as resource type {kind}"),
                )
            })?;
            (spec.path.clone(), spec.flags)
        };
        Connection::open_with_flags(&path, flags)
            .map_err(|e| sqlite_failure(&e, &format!("opening {}", path.display())))
    }
}

/// The driver the pool calls: a COM object over the shared state.
struct ConnectionDriver(Arc<State>);

comidl_runtime::implement!(ConnectionDriver: IDispenserDriver);

// The pool calls the driver from any thread: keep it free-threaded.
const _: () = {
    const fn free_threaded<T: Send + Sync>() {}
    free_threaded::<ConnectionDriver>();
};

impl IDispenserDriver_Impl for ConnectionDriver {
    fn create_resource(&self, kind: RESTYPID) -> Result<(RESID, TIMEINSECS)> {
        let state = &self.0;
        let connection = match state.open(kind) {
            Ok(connection) => connection,
            Err(hr) => {
                state.calls.open_failures.fetch_add(1, Ordering::Relaxed);
                state.last_open_failure.store(hr.0, Ordering::SeqCst);
                return Err(hr);
            }
        };
        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        state.slots().insert(
            id,
            Slot {
                database: kind,
                connection: Some(connection),
            },
        );
        state.calls.opened.fetch_add(1, Ordering::Relaxed);
        Ok((id, state.idle_timeout.load(Ordering::Relaxed)))
    }

    fn rate_resource(
        &self,
        kind: RESTYPID,
        id: RESID,
        _requires_enlistment: BOOL,
    ) -> Result<RESOURCERATING> {
        let state = &self.0;
        state.calls.rated.fetch_add(1, Ordering::Relaxed);
        let slots = state.slots();
        let usable = slots.get(&id).is_some_and(|slot| {
            slot.database == kind
                && slot
                    .connection
                    .as_ref()
                    .is_some_and(|c| c.is_autocommit() && !c.is_busy())
        });
        Ok(if usable {
            RESOURCERATING_PERFECT
        } else {
            RESOURCERATING_UNUSABLE
        })
    }

    fn enlist_resource(&self, _id: RESID, transaction: TRANSID) -> Result<()> {
        // Distributed transactions are not supported; "no transaction" needs nothing.
        if transaction == 0 {
            Ok(())
        } else {
            Err(E_NOTIMPL)
        }
    }

    fn reset_resource(&self, id: RESID) -> Result<()> {
        let state = &self.0;
        state.calls.resets.fetch_add(1, Ordering::Relaxed);
        let Some((_, connection)) = state.take(id) else {
            return Err(fail(
                E_INVALIDARG,
                format!("connection {id} is not idle in the dispenser"),
            ));
        };
        let mut outcome = Ok(());
        if !connection.is_autocommit() {
            // The client left a transaction open: what it did not commit is undone.
            outcome = connection
                .execute_batch("ROLLBACK")
                .map_err(|e| sqlite_failure(&e, &format!("rolling back connection {id}")));
            if outcome.is_ok() {
                state.calls.rollbacks.fetch_add(1, Ordering::Relaxed);
            }
        }
        if outcome.is_ok() && !connection.is_autocommit() {
            outcome = Err(fail(
                E_FAIL,
                format!("connection {id} is still in a transaction after ROLLBACK"),
            ));
        }
        // Back in its slot either way: on failure the pool destroys it, which closes it.
        state.put_back(id, connection);
        outcome
    }

    fn destroy_resource(&self, id: RESID) -> Result<()> {
        let state = &self.0;
        let Some(slot) = state.slots().remove(&id) else {
            return Err(fail(
                E_INVALIDARG,
                format!("the dispenser has no connection {id}"),
            ));
        };
        let Some(connection) = slot.connection else {
            // Someone still uses it; it is closed when they put it back (no slot any more).
            return Err(fail(
                E_UNEXPECTED,
                format!("connection {id} was destroyed while in use"),
            ));
        };
        state.calls.closed.fetch_add(1, Ordering::Relaxed);
        // On failure rusqlite hands the connection back; dropping it closes it anyway.
        connection
            .close()
            .map_err(|(_, e)| sqlite_failure(&e, &format!("closing connection {id}")))
    }

    fn destroy_resource_s(&self, _id: constSRESID) -> Result<()> {
        // Connections are numbered, never named.
        Err(E_NOTIMPL)
    }
}

/// What a dispenser and its guards share: the driver's state and the pool.
struct Inner {
    state: Arc<State>,
    holder: SharedHolder,
}

/// The SQLite connection dispenser: a pool of connections per registered database.
/// Cheap to clone (clones share the pool) and usable from any thread.
#[derive(Clone)]
pub struct ConnectionDispenser {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for ConnectionDispenser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectionDispenser")
            .field("statistics", &self.statistics().ok())
            .field("calls", &self.driver_calls())
            .finish()
    }
}

impl ConnectionDispenser {
    /// A dispenser registered with the process's dispenser manager as `name`, whose idle
    /// connections stay open for [`DEFAULT_IDLE_TIMEOUT`] seconds.
    pub fn new(name: &str) -> Result<ConnectionDispenser> {
        ConnectionDispenser::with_idle_timeout(name, DEFAULT_IDLE_TIMEOUT)
    }

    /// A dispenser whose idle connections stay open for `seconds` (0: closed as soon as
    /// the pool's timeout thread sees them; negative values are refused).
    pub fn with_idle_timeout(name: &str, seconds: TIMEINSECS) -> Result<ConnectionDispenser> {
        check_timeout(seconds)?;
        let state = Arc::new(State {
            databases: RwLock::new(Vec::new()),
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicUsize::new(1),
            idle_timeout: AtomicI32::new(seconds),
            calls: CallCounters::default(),
            last_open_failure: AtomicI32::new(0),
        });
        let driver: ComPtr<IDispenserDriver> = ComObject::create(ConnectionDriver(state.clone()))?;
        let holder = dispenser::register(&driver, name)?;
        Ok(ConnectionDispenser {
            inner: Arc::new(Inner { state, holder }),
        })
    }

    /// Sets the idle timeout of the connections opened from now on.
    pub fn set_idle_timeout(&self, seconds: TIMEINSECS) -> Result<()> {
        check_timeout(seconds)?;
        self.inner
            .state
            .idle_timeout
            .store(seconds, Ordering::Relaxed);
        Ok(())
    }

    /// The idle timeout of new connections, in seconds.
    pub fn idle_timeout(&self) -> TIMEINSECS {
        self.inner.state.idle_timeout.load(Ordering::Relaxed)
    }

    /// Registers a database: its connections are opened from `path` with `flags`. Nothing
    /// is opened yet.
    pub fn add_database(&self, path: impl AsRef<Path>, flags: OpenFlags) -> Database {
        let mut databases = self
            .inner
            .state
            .databases
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        databases.push(DatabaseSpec {
            path: path.as_ref().to_path_buf(),
            flags,
        });
        Database(databases.len() - 1)
    }

    /// A connection to `database`: an idle one from the pool, or a new one. The failure of
    /// opening a new one comes back as the HRESULT the driver gave the pool.
    pub fn connection(&self, database: Database) -> Result<Pooled> {
        let inner = &self.inner;
        let id = inner.holder.alloc(database.0)?;
        match inner.state.take(id) {
            Some((kind, connection)) if kind == database.0 => Ok(Pooled {
                connection: Some(connection),
                id,
                database,
                inner: inner.clone(),
            }),
            taken => {
                if let Some((_, connection)) = taken {
                    inner.state.put_back(id, connection);
                }
                // Handed back: its reset finds no idle connection and the pool destroys it.
                let _ = inner.holder.free(id);
                Err(fail(
                    E_UNEXPECTED,
                    format!(
                        "the pool handed out connection {id}, which is not an idle \
                         connection of database {}",
                        database.0
                    ),
                ))
            }
        }
    }

    /// The pool's counters.
    pub fn statistics(&self) -> Result<HOLDERSTATISTICS> {
        self.inner.holder.statistics()
    }

    /// What the driver was asked to do so far.
    pub fn driver_calls(&self) -> DriverCalls {
        let c = &self.inner.state.calls;
        DriverCalls {
            opened: c.opened.load(Ordering::Relaxed),
            open_failures: c.open_failures.load(Ordering::Relaxed),
            rated: c.rated.load(Ordering::Relaxed),
            resets: c.resets.load(Ordering::Relaxed),
            rollbacks: c.rollbacks.load(Ordering::Relaxed),
            closed: c.closed.load(Ordering::Relaxed),
        }
    }

    /// The HRESULT the driver's last failed `CreateResource` returned, if one failed.
    pub fn last_open_failure(&self) -> Option<HRESULT> {
        match self.inner.state.last_open_failure.load(Ordering::SeqCst) {
            0 => None,
            hr => Some(HRESULT(hr)),
        }
    }

    /// How many connections the driver has open (idle or in use).
    pub fn open_connections(&self) -> usize {
        self.inner.state.slots().len()
    }

    /// The pool.
    pub fn holder(&self) -> &SharedHolder {
        &self.inner.holder
    }

    /// Closes the pool: idle connections are closed now, those in use when they come back,
    /// and further requests fail with `CO_E_RELEASED`.
    pub fn close(&self) -> Result<()> {
        self.inner.holder.close()
    }
}

fn check_timeout(seconds: TIMEINSECS) -> Result<()> {
    if seconds < 0 {
        return Err(fail(
            E_INVALIDARG,
            format!("an idle timeout of {seconds} seconds is negative"),
        ));
    }
    Ok(())
}

/// A connection lent by the pool: derefs to the [`Connection`]; dropping it gives the
/// connection back (reset, then kept for the next request).
pub struct Pooled {
    /// `Some` for the guard's whole life; taken only when it is given back.
    connection: Option<Connection>,
    id: RESID,
    database: Database,
    inner: Arc<Inner>,
}

impl Pooled {
    /// The pool's id of this connection (its slot in the dispenser).
    pub fn resource_id(&self) -> RESID {
        self.id
    }

    /// The database it is connected to.
    pub fn database(&self) -> Database {
        self.database
    }

    /// The address of SQLite's connection handle (`sqlite3 *`): the same for as long as
    /// the connection stays open.
    pub fn handle_address(&self) -> usize {
        match &self.connection {
            // SAFETY: the handle is only read as a number, never used.
            Some(connection) => (unsafe { connection.handle() }) as usize,
            None => 0,
        }
    }

    /// Gives the connection back now, reporting what `FreeResource` answered (dropping
    /// the guard does the same and ignores the answer).
    pub fn release(mut self) -> Result<()> {
        self.give_back()
    }

    fn give_back(&mut self) -> Result<()> {
        let Some(connection) = self.connection.take() else {
            return Ok(());
        };
        self.inner.state.put_back(self.id, connection);
        self.inner.holder.free(self.id)
    }
}

impl Deref for Pooled {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match &self.connection {
            Some(connection) => connection,
            None => unreachable!("a Pooled guard holds its connection until it is dropped"),
        }
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut self.connection {
            Some(connection) => connection,
            None => unreachable!("a Pooled guard holds its connection until it is dropped"),
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let _ = self.give_back();
    }
}

impl core::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pooled")
            .field("resource_id", &self.id)
            .field("database", &self.database)
            .field("handle", &format_args!("{:#x}", self.handle_address()))
            .finish()
    }
}
