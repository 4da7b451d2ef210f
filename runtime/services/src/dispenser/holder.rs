//! The dispenser manager and its pools (the rules are in the module's documentation).
//!
//! Layer: services. Uses `host`, `unknown`, `wide` of the layers below.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use super::reaper;
use super::{
    HOLDERSTATISTICS, IDispenserDriver, IDispenserManager, IDispenserManager_Impl, IHolder,
    IHolder_Impl, IHolderStatistics, IHolderStatistics_Impl, INSTID, RESID, RESOURCERATING,
    RESOURCERATING_PERFECT, RESTYPID, TIMEINSECS, TRANSID, constSRESID,
};
use crate::host::set_error_message;
use crate::unknown::ComPtr;
use crate::{
    BOOL, CO_E_RELEASED, ClassFactory, ComObject, E_INVALIDARG, E_POINTER, E_UNEXPECTED, HRESULT,
    IUnknown, Result, WStr,
};

/// How many idle resources one allocation offers the driver at most before it takes the
/// best so far (bounds the cost of a pool full of poorly rated resources).
const MAX_CANDIDATES: usize = 16;

/// How many shards the resources in use are spread over (a power of two).
const SHARDS: usize = 16;

/// The manager: stateless, every pool lives in its holder.
pub(super) struct DispenserManager;

crate::implement!(DispenserManager: IDispenserManager);

impl IDispenserManager_Impl for DispenserManager {
    fn register_dispenser(
        &self,
        driver: Option<&IDispenserDriver>,
        name: &WStr,
    ) -> Result<Option<ComPtr<IHolder>>> {
        let driver = driver.ok_or(E_POINTER)?;
        let name = name.to_string_lossy();
        let pool = Pool::new(name, Driver(ComPtr::from_borrowed(driver)));
        ComObject::create(Holder { pool }).map(Some)
    }

    fn get_context(&self) -> Result<(INSTID, TRANSID)> {
        // No COM+ contexts or transactions: no instance, no transaction.
        Ok((0, 0))
    }
}

impl crate::Creatable for DispenserManager {
    const CLASS: &'static crate::ClassInfo = &super::CLASS_DispenserManager;
    fn create() -> Result<DispenserManager> {
        Ok(DispenserManager)
    }
}

/// The class object of `CLSID_DispenserManager`.
pub(super) fn manager_class_object() -> ComPtr<IUnknown> {
    ClassFactory::<DispenserManager>::new()
}

/// A dispenser's driver. Dispensers are free-threaded (COM+ calls them from any thread,
/// and so does the pool), which is what makes sending the pointer between threads sound.
#[derive(Clone)]
pub(super) struct Driver(ComPtr<IDispenserDriver>);

// SAFETY: a dispenser driver may be called from any thread (the contract documented in
// the module: resource dispensers are free-threaded, as COM+ requires).
unsafe impl Send for Driver {}
// SAFETY: as above; its methods are called concurrently from several threads.
unsafe impl Sync for Driver {}

impl Driver {
    /// Destroys `id`, ignoring what the driver answers: the resource is gone from the pool
    /// either way, as COM+ does.
    fn destroy(&self, pool: &Pool, id: RESID) {
        let _ = self.0.destroy_resource(id);
        pool.counters.destroyed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The COM object: IHolder and comidl's IHolderStatistics over one pool.
struct Holder {
    pool: Arc<Pool>,
}

crate::implement!(Holder: IHolder, IHolderStatistics);

impl Drop for Holder {
    fn drop(&mut self) {
        // The last reference went without Close: close now, so the driver is released and
        // no idle resource outlives its pool.
        self.pool.close();
    }
}

/// A resource waiting in the pool.
struct IdleResource {
    id: RESID,
    timeout: Duration,
    deadline: Instant,
}

/// A resource in use.
struct Lease {
    /// Its type; `None` for a tracked resource, whose type the pool does not know.
    kind: Option<RESTYPID>,
    timeout: Duration,
    destroy_on_free: bool,
    /// The driver that made it: kept until the resource is freed, even past Close.
    driver: Driver,
}

/// The idle resources of one type, most recently freed last.
#[derive(Default)]
struct IdleList(Mutex<Vec<IdleResource>>);

/// The list changes together with the pool's idle counter, under the list's lock, so the
/// counter never runs below what the lists hold.
impl IdleList {
    fn lock(&self) -> MutexGuard<'_, Vec<IdleResource>> {
        relock(&self.0)
    }

    /// Adds `resources`, the last one on top.
    fn push(&self, count: &AtomicU64, resources: impl IntoIterator<Item = IdleResource>) {
        let mut idle = self.lock();
        let before = idle.len();
        idle.extend(resources);
        count.fetch_add((idle.len() - before) as u64, Ordering::Relaxed);
    }

    /// The most recently freed resource.
    fn pop(&self, count: &AtomicU64) -> Option<IdleResource> {
        let top = self.lock().pop()?;
        count.fetch_sub(1, Ordering::Relaxed);
        Some(top)
    }

    /// Takes out every resource `goes` picks.
    fn take(
        &self,
        count: &AtomicU64,
        mut goes: impl FnMut(&IdleResource) -> bool,
    ) -> Vec<IdleResource> {
        let mut idle = self.lock();
        let (gone, kept): (Vec<_>, Vec<_>) = idle.drain(..).partition(|r| goes(r));
        *idle = kept;
        count.fetch_sub(gone.len() as u64, Ordering::Relaxed);
        gone
    }
}

#[derive(Default)]
struct Counters {
    created: AtomicU64,
    reused: AtomicU64,
    destroyed: AtomicU64,
    in_use: AtomicU64,
    idle: AtomicU64,
}

/// One dispenser's pool.
pub(super) struct Pool {
    name: String,
    /// `None` once closed and nothing is in use.
    driver: RwLock<Option<Driver>>,
    closed: AtomicBool,
    idle: RwLock<HashMap<RESTYPID, Arc<IdleList>>>,
    in_use: [Mutex<HashMap<RESID, Lease>>; SHARDS],
    tracked_names: Mutex<HashSet<Vec<u16>>>,
    counters: Counters,
    /// Whether the timeout thread knows this pool.
    pub(super) watched: AtomicBool,
}

fn relock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent: keep using it after a panic.
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long `CreateResource` said a resource may stay idle (a negative answer is 0).
fn idle_timeout(seconds: TIMEINSECS) -> Duration {
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

impl Pool {
    fn new(name: String, driver: Driver) -> Arc<Pool> {
        Arc::new(Pool {
            name,
            driver: RwLock::new(Some(driver)),
            closed: AtomicBool::new(false),
            idle: RwLock::new(HashMap::new()),
            in_use: Default::default(),
            tracked_names: Mutex::new(HashSet::new()),
            counters: Counters::default(),
            watched: AtomicBool::new(false),
        })
    }

    /// The driver, or CO_E_RELEASED once the pool is closed.
    fn driver(&self) -> Result<Driver> {
        let driver = self
            .driver
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match driver {
            Some(driver) if !self.closed.load(Ordering::SeqCst) => Ok(driver),
            _ => Err(self.fail(CO_E_RELEASED, "is closed".into())),
        }
    }

    /// Records a message for `hr` naming this pool, and returns `hr`.
    fn fail(&self, hr: HRESULT, what: String) -> HRESULT {
        set_error_message(hr, format!("resource pool `{}` {what}", self.name));
        hr
    }

    fn shard(&self, id: RESID) -> MutexGuard<'_, HashMap<RESID, Lease>> {
        // Fibonacci hashing spreads sequential and pointer-like ids over the shards alike.
        let hash = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60;
        relock(&self.in_use[hash as usize % SHARDS])
    }

    /// Records `id` as in use; false if it already is (the driver handed out one id twice).
    fn lend(&self, id: RESID, lease: Lease) -> bool {
        let mut shard = self.shard(id);
        if shard.contains_key(&id) {
            return false;
        }
        shard.insert(id, lease);
        self.counters.in_use.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// The idle list of `kind`, if one was ever made.
    fn idle_list(&self, kind: RESTYPID) -> Option<Arc<IdleList>> {
        let lists = self.idle.read().unwrap_or_else(|p| p.into_inner());
        lists.get(&kind).cloned()
    }

    fn idle_list_or_new(&self, kind: RESTYPID) -> Arc<IdleList> {
        if let Some(list) = self.idle_list(kind) {
            return list;
        }
        let mut lists = self.idle.write().unwrap_or_else(|p| p.into_inner());
        lists.entry(kind).or_default().clone()
    }

    fn alloc(&self, kind: RESTYPID) -> Result<RESID> {
        let driver = self.driver()?;
        let (id, timeout, reused) = match self.best_idle(&driver, kind) {
            Some(idle) => (idle.id, idle.timeout, true),
            None => {
                // A failure here leaves nothing behind: the caller gets the driver's HRESULT.
                let (id, seconds) = driver.0.create_resource(kind)?;
                self.counters.created.fetch_add(1, Ordering::Relaxed);
                (id, idle_timeout(seconds), false)
            }
        };
        let lease = Lease {
            kind: Some(kind),
            timeout,
            destroy_on_free: false,
            driver,
        };
        if !self.lend(id, lease) {
            // Not destroyed: the id names a resource someone is using.
            return Err(self.fail(
                E_UNEXPECTED,
                if reused {
                    format!("holds resource {id:#x} both idle and in use")
                } else {
                    format!("was given resource {id:#x} by CreateResource while it is in use")
                },
            ));
        }
        if reused {
            self.counters.reused.fetch_add(1, Ordering::Relaxed);
        }
        Ok(id)
    }

    /// Takes the idle resource of `kind` the driver rates best, if one is usable; destroys
    /// the candidates found past their deadline on the way.
    fn best_idle(&self, driver: &Driver, kind: RESTYPID) -> Option<IdleResource> {
        let list = self.idle_list(kind)?;
        let now = Instant::now();
        let mut best: Option<(IdleResource, RESOURCERATING)> = None;
        let mut passed_over = Vec::new();
        let mut expired = Vec::new();
        for _ in 0..MAX_CANDIDATES {
            let Some(candidate) = list.pop(&self.counters.idle) else {
                break;
            };
            if candidate.deadline <= now {
                expired.push(candidate.id);
                continue;
            }
            // A rating that fails counts as "unusable", like a rating of 0.
            let rating = driver.0.rate_resource(kind, candidate.id, 0).unwrap_or(0);
            if rating == 0 {
                passed_over.push(candidate);
                continue;
            }
            match &best {
                Some((_, best_rating)) if *best_rating >= rating => passed_over.push(candidate),
                _ => {
                    if let Some((previous, _)) = best.replace((candidate, rating)) {
                        passed_over.push(previous);
                    }
                }
            }
            if rating >= RESOURCERATING_PERFECT {
                break;
            }
        }
        // Back in the order they were taken out, most recently freed on top.
        list.push(&self.counters.idle, passed_over.into_iter().rev());
        for id in expired {
            driver.destroy(self, id);
        }
        best.map(|(chosen, _)| chosen)
    }

    fn free(self: &Arc<Self>, id: RESID) -> Result<()> {
        let Lease {
            kind,
            timeout,
            destroy_on_free,
            driver,
        } = self
            .shard(id)
            .remove(&id)
            .ok_or_else(|| self.fail(E_INVALIDARG, format!("has no resource {id:#x} in use")))?;
        let keep = match kind {
            Some(kind) if !destroy_on_free && !self.closed.load(Ordering::SeqCst) => {
                // A resource that cannot be made ready again is not pooled.
                driver.0.reset_resource(id).is_ok().then_some(kind)
            }
            _ => None,
        };
        let pooled_until = match keep {
            Some(kind) => {
                let deadline = Instant::now() + timeout;
                let list = self.idle_list_or_new(kind);
                list.push(
                    &self.counters.idle,
                    [IdleResource {
                        id,
                        timeout,
                        deadline,
                    }],
                );
                Some(deadline)
            }
            None => {
                driver.destroy(self, id);
                None
            }
        };
        self.counters.in_use.fetch_sub(1, Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            // Close ran meanwhile: whatever this put in the pool goes, and the driver with
            // it once nothing is in use.
            self.drain(&driver);
            self.release_driver_if_unused();
        } else if let Some(deadline) = pooled_until {
            reaper::watch(self, deadline);
        }
        Ok(())
    }

    fn request_destroy(&self, id: RESID) -> Result<()> {
        if let Some(lease) = self.shard(id).get_mut(&id) {
            lease.destroy_on_free = true;
            return Ok(());
        }
        let driver = self.driver()?;
        for list in self.idle_lists() {
            let found = list.take(&self.counters.idle, |r| r.id == id);
            if !found.is_empty() {
                driver.destroy(self, id);
                return Ok(());
            }
        }
        Err(self.fail(E_INVALIDARG, format!("has no resource {id:#x}")))
    }

    fn track(&self, id: RESID) -> Result<()> {
        let lease = Lease {
            kind: None,
            timeout: Duration::ZERO,
            destroy_on_free: false,
            driver: self.driver()?,
        };
        if self.lend(id, lease) {
            Ok(())
        } else {
            Err(self.fail(E_INVALIDARG, format!("already has resource {id:#x} in use")))
        }
    }

    fn untrack(&self, id: RESID) -> Result<()> {
        let lease = self.shard(id).remove(&id);
        if lease.is_none() {
            return Err(self.fail(E_INVALIDARG, format!("has no resource {id:#x} in use")));
        }
        drop(lease);
        self.counters.in_use.fetch_sub(1, Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            self.release_driver_if_unused();
        }
        Ok(())
    }

    fn tracked_name(&self, name: constSRESID, track: bool) -> Result<()> {
        // SAFETY: a non-null `[in]` string argument is NUL-terminated (COM's contract).
        let name = unsafe { crate::wide::units(name) }
            .ok_or(E_POINTER)?
            .to_vec();
        let mut names = relock(&self.tracked_names);
        let changed = if track {
            names.insert(name.clone())
        } else {
            names.remove(&name)
        };
        if changed {
            return Ok(());
        }
        let shown = String::from_utf16_lossy(&name);
        Err(self.fail(
            E_INVALIDARG,
            if track {
                format!("already tracks resource `{shown}`")
            } else {
                format!("does not track resource `{shown}`")
            },
        ))
    }

    /// Closes the pool: no more allocations, idle resources destroyed, the driver released
    /// once nothing is in use. Idempotent.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let driver = self
            .driver
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(driver) = driver {
            self.drain(&driver);
        }
        self.release_driver_if_unused();
    }

    /// Destroys every idle resource.
    fn drain(&self, driver: &Driver) {
        for list in self.idle_lists() {
            for resource in list.take(&self.counters.idle, |_| true) {
                driver.destroy(self, resource.id);
            }
        }
    }

    /// Every idle list, at this moment.
    fn idle_lists(&self) -> Vec<Arc<IdleList>> {
        let lists = self.idle.read().unwrap_or_else(|p| p.into_inner());
        lists.values().cloned().collect()
    }

    /// After Close: lets the driver go once no resource is in use. Close and the last free
    /// may both get here; only one finds the driver.
    fn release_driver_if_unused(&self) {
        if self.counters.in_use.load(Ordering::SeqCst) != 0 {
            return;
        }
        let driver = self
            .driver
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        // Released outside the lock: the driver's destructor may call back into the pool.
        drop(driver);
    }

    /// Destroys the idle resources whose deadline is `now` or earlier; answers the next
    /// deadline of those left (the timeout thread's work).
    pub(super) fn expire(&self, now: Instant) -> Option<Instant> {
        let driver = self
            .driver
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        // Closed: whatever is still idle belongs to a free that is draining it.
        let driver = driver?;
        let mut next: Option<Instant> = None;
        for list in self.idle_lists() {
            let expired = list.take(&self.counters.idle, |resource| {
                let due = resource.deadline <= now;
                if !due {
                    next = Some(next.map_or(resource.deadline, |n| n.min(resource.deadline)));
                }
                due
            });
            for resource in expired {
                driver.destroy(self, resource.id);
            }
        }
        next
    }

    fn statistics(&self) -> HOLDERSTATISTICS {
        let c = &self.counters;
        HOLDERSTATISTICS {
            created: c.created.load(Ordering::Relaxed),
            reused: c.reused.load(Ordering::Relaxed),
            destroyed: c.destroyed.load(Ordering::Relaxed),
            inUse: c.in_use.load(Ordering::SeqCst),
            idle: c.idle.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.watched.load(Ordering::SeqCst) {
            reaper::forget();
        }
    }
}

impl IHolder_Impl for Holder {
    fn alloc_resource(&self, kind: RESTYPID) -> Result<RESID> {
        self.pool.alloc(kind)
    }

    fn free_resource(&self, id: RESID) -> Result<()> {
        self.pool.free(id)
    }

    fn track_resource(&self, id: RESID) -> Result<()> {
        self.pool.track(id)
    }

    fn track_resource_s(&self, name: constSRESID) -> Result<()> {
        self.pool.tracked_name(name, true)
    }

    fn untrack_resource(&self, id: RESID, _work_completed: BOOL) -> Result<()> {
        self.pool.untrack(id)
    }

    fn untrack_resource_s(&self, name: constSRESID, _work_completed: BOOL) -> Result<()> {
        self.pool.tracked_name(name, false)
    }

    fn close(&self) -> Result<()> {
        self.pool.close();
        Ok(())
    }

    fn request_destroy_resource(&self, id: RESID) -> Result<()> {
        self.pool.request_destroy(id)
    }
}

impl IHolderStatistics_Impl for Holder {
    fn get_statistics(&self) -> Result<HOLDERSTATISTICS> {
        Ok(self.pool.statistics())
    }
}
