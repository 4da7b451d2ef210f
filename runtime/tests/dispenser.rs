//! The dispenser manager and its pools, driven through their COM interfaces by a driver
//! that keeps its own books: which resources exist, which are handed out and to whom, and
//! every call the pool made. Each test compares the pool's counters with those books.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use comidl_runtime::dispenser::{
    self, CLSID_DispenserManager, HOLDERSTATISTICS, IDispenserDriver, IDispenserDriver_Impl,
    IDispenserManager, IHolder, RESID, RESOURCERATING, RESOURCERATING_PERFECT, RESTYPID,
    SharedHolder, TIMEINSECS, TRANSID, constSRESID,
};
use comidl_runtime::{
    BOOL, CLSCTX_INPROC_SERVER, CO_E_RELEASED, COINIT_MULTITHREADED, ComObject, ComPtr,
    E_INVALIDARG, E_OUTOFMEMORY, HRESULT, Result,
};

/// What the driver knows about one resource it made.
#[derive(Default)]
struct Resource {
    kind: RESTYPID,
    /// 0 while in the pool (or never handed out), else the holder's token (test thread).
    owner: AtomicUsize,
    destroyed: AtomicBool,
    rating: AtomicU32,
}

/// The driver's books, shared with the test.
struct Books {
    resources: Mutex<HashMap<RESID, Arc<Resource>>>,
    next_id: AtomicUsize,
    timeout: AtomicI32,
    /// CreateResource fails with this HRESULT while it is non-zero.
    fail_create: AtomicU32,
    fail_reset: AtomicBool,
    creates: AtomicUsize,
    rates: AtomicUsize,
    resets: AtomicUsize,
    destroys: AtomicUsize,
    /// Calls that broke a rule: reset or destroyed while someone held the resource,
    /// destroyed twice, or a call for a resource the driver never made.
    violations: Mutex<Vec<String>>,
    driver_released: AtomicBool,
    rating: AtomicU32,
}

impl Books {
    fn new(timeout: TIMEINSECS) -> Arc<Books> {
        Arc::new(Books {
            resources: Mutex::new(HashMap::new()),
            next_id: AtomicUsize::new(100),
            timeout: AtomicI32::new(timeout),
            fail_create: AtomicU32::new(0),
            fail_reset: AtomicBool::new(false),
            creates: AtomicUsize::new(0),
            rates: AtomicUsize::new(0),
            resets: AtomicUsize::new(0),
            destroys: AtomicUsize::new(0),
            violations: Mutex::new(Vec::new()),
            driver_released: AtomicBool::new(false),
            rating: AtomicU32::new(RESOURCERATING_PERFECT),
        })
    }

    fn resource(&self, id: RESID) -> Option<Arc<Resource>> {
        self.resources.lock().unwrap().get(&id).cloned()
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    /// Checks `id` exists, is not destroyed and nobody holds it (for reset and destroy).
    fn check_idle(&self, call: &str, id: RESID) -> Option<Arc<Resource>> {
        let Some(resource) = self.resource(id) else {
            self.violation(format!("{call} of unknown resource {id}"));
            return None;
        };
        if resource.destroyed.load(Ordering::SeqCst) {
            self.violation(format!("{call} of destroyed resource {id}"));
        }
        let owner = resource.owner.load(Ordering::SeqCst);
        if owner != 0 {
            self.violation(format!(
                "{call} of resource {id} while holder {owner} has it"
            ));
        }
        Some(resource)
    }

    /// Resources made and not destroyed.
    fn alive(&self) -> BTreeSet<RESID> {
        let resources = self.resources.lock().unwrap();
        resources
            .iter()
            .filter(|(_, r)| !r.destroyed.load(Ordering::SeqCst))
            .map(|(id, _)| *id)
            .collect()
    }

    fn destroyed(&self) -> BTreeSet<RESID> {
        let resources = self.resources.lock().unwrap();
        resources
            .iter()
            .filter(|(_, r)| r.destroyed.load(Ordering::SeqCst))
            .map(|(id, _)| *id)
            .collect()
    }

    fn assert_no_violations(&self) {
        let violations = self.violations.lock().unwrap();
        assert!(violations.is_empty(), "rules broken: {violations:?}");
    }
}

struct Driver(Arc<Books>);

comidl_runtime::implement!(Driver: IDispenserDriver);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.driver_released.store(true, Ordering::SeqCst);
    }
}

impl IDispenserDriver_Impl for Driver {
    fn create_resource(&self, kind: RESTYPID) -> Result<(RESID, TIMEINSECS)> {
        let books = &self.0;
        let failure = books.fail_create.load(Ordering::SeqCst);
        if failure != 0 {
            return Err(HRESULT::from_u32(failure));
        }
        books.creates.fetch_add(1, Ordering::SeqCst);
        let id = books.next_id.fetch_add(1, Ordering::SeqCst);
        let resource = Arc::new(Resource {
            kind,
            rating: AtomicU32::new(books.rating.load(Ordering::SeqCst)),
            ..Resource::default()
        });
        books.resources.lock().unwrap().insert(id, resource);
        Ok((id, books.timeout.load(Ordering::SeqCst)))
    }

    fn rate_resource(
        &self,
        kind: RESTYPID,
        id: RESID,
        requires_enlistment: BOOL,
    ) -> Result<RESOURCERATING> {
        let books = &self.0;
        books.rates.fetch_add(1, Ordering::SeqCst);
        if requires_enlistment != 0 {
            books.violation(format!("enlistment asked for resource {id}"));
        }
        let Some(resource) = books.check_idle("RateResource", id) else {
            return Ok(0);
        };
        if resource.kind != kind {
            books.violation(format!("resource {id} offered for type {kind}"));
            return Ok(0);
        }
        Ok(resource.rating.load(Ordering::SeqCst))
    }

    fn enlist_resource(&self, id: RESID, _transaction: TRANSID) -> Result<()> {
        self.0
            .violation(format!("EnlistResource({id}) without transactions"));
        Ok(())
    }

    fn reset_resource(&self, id: RESID) -> Result<()> {
        let books = &self.0;
        books.resets.fetch_add(1, Ordering::SeqCst);
        books.check_idle("ResetResource", id);
        if books.fail_reset.load(Ordering::SeqCst) {
            return Err(E_INVALIDARG);
        }
        Ok(())
    }

    fn destroy_resource(&self, id: RESID) -> Result<()> {
        let books = &self.0;
        books.destroys.fetch_add(1, Ordering::SeqCst);
        if let Some(resource) = books.check_idle("DestroyResource", id) {
            resource.destroyed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn destroy_resource_s(&self, _id: constSRESID) -> Result<()> {
        self.0
            .violation("DestroyResourceS of a numbered pool".into());
        Ok(())
    }
}

/// A pool over a fresh driver whose resources may idle for `timeout` seconds.
fn pool(timeout: TIMEINSECS) -> (SharedHolder, Arc<Books>) {
    let books = Books::new(timeout);
    let driver: ComPtr<IDispenserDriver> = ComObject::create(Driver(books.clone())).unwrap();
    let holder = dispenser::register(&driver, "test pool").unwrap();
    (holder, books)
}

/// Marks `id` as held by `token` in the driver's books; false if someone else held it.
fn take(books: &Books, id: RESID, token: usize) -> bool {
    let resource = books
        .resource(id)
        .expect("the pool handed out a resource it did not get");
    resource
        .owner
        .compare_exchange(0, token, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

fn give_back(books: &Books, id: RESID) {
    books.resource(id).unwrap().owner.store(0, Ordering::SeqCst);
}

fn stats(holder: &SharedHolder) -> HOLDERSTATISTICS {
    holder.statistics().unwrap()
}

/// Waits until `done` holds, for at most `limit`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn the_second_allocation_reuses_the_freed_resource() {
    let (holder, books) = pool(60);
    let first = holder.alloc(7).unwrap();
    assert_eq!(books.creates.load(Ordering::SeqCst), 1);
    holder.free(first).unwrap();
    // COM+ resets a resource as it comes back.
    assert_eq!(books.resets.load(Ordering::SeqCst), 1);
    let second = holder.alloc(7).unwrap();
    assert_eq!(second, first);
    assert_eq!(books.creates.load(Ordering::SeqCst), 1);
    assert_eq!(books.rates.load(Ordering::SeqCst), 1);
    let s = stats(&holder);
    assert_eq!(
        (s.created, s.reused, s.destroyed, s.inUse, s.idle),
        (1, 1, 0, 1, 0)
    );
    // Another type is not served from this one's resources.
    let other = holder.alloc(8).unwrap();
    assert_ne!(other, first);
    assert_eq!(books.creates.load(Ordering::SeqCst), 2);
    holder.free(second).unwrap();
    holder.free(other).unwrap();
    let s = stats(&holder);
    assert_eq!((s.inUse, s.idle), (0, 2));
    books.assert_no_violations();
}

#[test]
fn eight_threads_lose_nothing_and_never_share_a_resource() {
    const THREADS: usize = 8;
    const CYCLES: usize = 10_000;
    let (holder, books) = pool(600);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let holder = &holder;
            let books = &books;
            scope.spawn(move || {
                let token = thread + 1;
                let kind = (thread % 3) as RESTYPID;
                for cycle in 0..CYCLES {
                    let id = holder.alloc(kind).unwrap();
                    assert!(
                        take(books, id, token),
                        "resource {id} handed to thread {token} while another holds it"
                    );
                    assert_eq!(books.resource(id).unwrap().kind, kind);
                    if cycle % 7 == 0 {
                        std::thread::yield_now();
                    }
                    give_back(books, id);
                    holder.free(id).unwrap();
                }
            });
        }
    });
    let s = stats(&holder);
    let created = books.creates.load(Ordering::SeqCst) as u64;
    assert_eq!(s.created, created);
    assert_eq!(s.created + s.reused, (THREADS * CYCLES) as u64);
    assert_eq!(s.inUse, 0);
    assert_eq!(s.destroyed, 0);
    // Every resource made is idle in the pool: none lost, none counted twice.
    assert_eq!(s.idle, created);
    assert_eq!(books.alive().len() as u64, created);
    assert!(
        created <= 3 * THREADS as u64,
        "{created} resources for at most {THREADS} in use at once"
    );
    assert_eq!(
        books.resets.load(Ordering::SeqCst),
        THREADS * CYCLES,
        "every free resets"
    );
    books.assert_no_violations();
    // And Close destroys exactly those.
    holder.close().unwrap();
    assert_eq!(books.destroyed().len() as u64, created);
    assert!(books.alive().is_empty());
    assert!(books.driver_released.load(Ordering::SeqCst));
    books.assert_no_violations();
}

#[test]
fn idle_resources_are_destroyed_after_their_timeout_and_only_they() {
    let (holder, books) = pool(1);
    let ids: Vec<RESID> = (0..5).map(|_| holder.alloc(1).unwrap()).collect();
    let (freed, kept) = ids.split_at(3);
    let freed_at = Instant::now();
    for &id in freed {
        holder.free(id).unwrap();
    }
    assert_eq!(stats(&holder).idle, 3);
    assert!(
        wait_for(Duration::from_secs(10), || stats(&holder).destroyed == 3),
        "the idle resources were not destroyed: {:?}",
        stats(&holder)
    );
    // Not before their second was up.
    assert!(freed_at.elapsed() >= Duration::from_millis(900));
    let expected: BTreeSet<RESID> = freed.iter().copied().collect();
    assert_eq!(books.destroyed(), expected);
    let s = stats(&holder);
    assert_eq!((s.inUse, s.idle, s.destroyed), (2, 0, 3));
    // The ones in use are untouched, however long they are held.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(books.destroyed(), expected);
    for &id in kept {
        holder.free(id).unwrap();
    }
    assert!(wait_for(Duration::from_secs(10), || stats(&holder)
        .destroyed
        == 5));
    assert!(books.alive().is_empty());
    books.assert_no_violations();
}

#[test]
fn a_failing_create_resource_gives_its_hresult_and_leaves_the_pool_as_it_was() {
    let (holder, books) = pool(60);
    let kept = holder.alloc(1).unwrap();
    let idle = holder.alloc(2).unwrap();
    holder.free(idle).unwrap();
    let before = stats(&holder);
    let custom = HRESULT::from_u32(0x8004_0A01);
    for failure in [E_OUTOFMEMORY, custom] {
        books.fail_create.store(failure.to_u32(), Ordering::SeqCst);
        assert_eq!(holder.alloc(1), Err(failure));
        assert_eq!(holder.alloc(3), Err(failure));
    }
    let after = stats(&holder);
    assert_eq!(
        (
            after.created,
            after.reused,
            after.destroyed,
            after.inUse,
            after.idle
        ),
        (
            before.created,
            before.reused,
            before.destroyed,
            before.inUse,
            before.idle
        )
    );
    // An idle resource of the asked type is still served while creation fails.
    assert_eq!(holder.alloc(2), Ok(idle));
    books.fail_create.store(0, Ordering::SeqCst);
    let fresh = holder.alloc(1).unwrap();
    for id in [kept, idle, fresh] {
        holder.free(id).unwrap();
    }
    assert_eq!(stats(&holder).inUse, 0);
    books.assert_no_violations();
}

#[test]
fn the_driver_rates_the_candidates_and_the_best_usable_one_is_taken() {
    let (holder, books) = pool(60);
    let ids: Vec<RESID> = (0..3).map(|_| holder.alloc(5).unwrap()).collect();
    for (&id, rating) in ids.iter().zip([1, 2, 0]) {
        books
            .resource(id)
            .unwrap()
            .rating
            .store(rating, Ordering::SeqCst);
        holder.free(id).unwrap();
    }
    // Rated 2 beats rated 1; rated 0 is never taken.
    assert_eq!(holder.alloc(5), Ok(ids[1]));
    assert_eq!(holder.alloc(5), Ok(ids[0]));
    let third = holder.alloc(5).unwrap();
    assert!(!ids.contains(&third), "a resource rated 0 was handed out");
    let s = stats(&holder);
    assert_eq!((s.created, s.reused, s.idle), (4, 2, 1));
    // A perfect rating ends the search: the most recently freed perfect one is taken.
    books
        .resource(ids[0])
        .unwrap()
        .rating
        .store(100, Ordering::SeqCst);
    books
        .resource(ids[1])
        .unwrap()
        .rating
        .store(100, Ordering::SeqCst);
    holder.free(ids[0]).unwrap();
    holder.free(ids[1]).unwrap();
    let rates = books.rates.load(Ordering::SeqCst);
    assert_eq!(holder.alloc(5), Ok(ids[1]));
    assert_eq!(books.rates.load(Ordering::SeqCst), rates + 1);
    books.assert_no_violations();
}

#[test]
fn close_destroys_the_idle_resources_and_the_rest_as_they_come_back() {
    let (holder, books) = pool(60);
    let in_use = holder.alloc(1).unwrap();
    let idle = holder.alloc(1).unwrap();
    holder.free(idle).unwrap();
    holder.close().unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([idle]));
    assert_eq!(holder.alloc(1), Err(CO_E_RELEASED));
    // The driver stays while a resource is out; it goes when that one comes back.
    assert!(!books.driver_released.load(Ordering::SeqCst));
    holder.free(in_use).unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([idle, in_use]));
    assert!(books.driver_released.load(Ordering::SeqCst));
    assert_eq!(holder.close(), Ok(()), "Close twice is harmless");
    let s = stats(&holder);
    assert_eq!((s.inUse, s.idle, s.destroyed), (0, 0, 2));
    books.assert_no_violations();
}

#[test]
fn releasing_the_holder_without_close_closes_it() {
    let (holder, books) = pool(60);
    let id = holder.alloc(1).unwrap();
    holder.free(id).unwrap();
    drop(holder);
    assert_eq!(books.destroyed(), BTreeSet::from([id]));
    assert!(books.driver_released.load(Ordering::SeqCst));
}

#[test]
fn a_resource_that_fails_its_reset_or_is_marked_is_destroyed_not_pooled() {
    let (holder, books) = pool(60);
    let a = holder.alloc(1).unwrap();
    let b = holder.alloc(1).unwrap();
    books.fail_reset.store(true, Ordering::SeqCst);
    holder.free(a).unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([a]));
    books.fail_reset.store(false, Ordering::SeqCst);
    holder.holder().request_destroy_resource(b).unwrap();
    holder.free(b).unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([a, b]));
    // An idle resource asked to go goes at once.
    let c = holder.alloc(1).unwrap();
    holder.free(c).unwrap();
    holder.holder().request_destroy_resource(c).unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([a, b, c]));
    let s = stats(&holder);
    assert_eq!((s.created, s.destroyed, s.idle, s.inUse), (3, 3, 0, 0));
    books.assert_no_violations();
}

#[test]
fn unknown_resources_are_refused_with_e_invalidarg() {
    let (holder, books) = pool(60);
    assert_eq!(holder.free(12345), Err(E_INVALIDARG));
    let id = holder.alloc(1).unwrap();
    holder.free(id).unwrap();
    assert_eq!(holder.free(id), Err(E_INVALIDARG), "freed twice");
    assert_eq!(
        holder.holder().request_destroy_resource(999),
        Err(E_INVALIDARG)
    );
    let s = stats(&holder);
    assert_eq!((s.inUse, s.idle), (0, 1));
    books.assert_no_violations();
}

#[test]
fn tracked_resources_count_as_in_use_until_untracked_or_freed() {
    let (holder, books) = pool(60);
    let pool = holder.holder();
    pool.track_resource(500).unwrap();
    assert_eq!(pool.track_resource(500), Err(E_INVALIDARG));
    assert_eq!(stats(&holder).inUse, 1);
    pool.untrack_resource(500, 1).unwrap();
    assert_eq!(stats(&holder).inUse, 0);
    assert_eq!(pool.untrack_resource(500, 1), Err(E_INVALIDARG));
    // Freeing a tracked resource destroys it: the pool cannot tell what type it is.
    let made = holder.alloc(1).unwrap();
    holder.free(made).unwrap();
    let tracked = holder.alloc(1).unwrap();
    assert_eq!(tracked, made);
    pool.untrack_resource(tracked, 1).unwrap();
    pool.track_resource(tracked).unwrap();
    holder.free(tracked).unwrap();
    assert_eq!(books.destroyed(), BTreeSet::from([tracked]));
    // Named resources.
    let name: Vec<u16> = "conn-1".encode_utf16().chain([0]).collect();
    // SAFETY: a NUL-terminated string that outlives the calls.
    unsafe {
        pool.track_resource_s(name.as_ptr()).unwrap();
        assert_eq!(pool.track_resource_s(name.as_ptr()), Err(E_INVALIDARG));
        pool.untrack_resource_s(name.as_ptr(), 1).unwrap();
        assert_eq!(pool.untrack_resource_s(name.as_ptr(), 1), Err(E_INVALIDARG));
    }
    books.assert_no_violations();
}

#[test]
fn the_manager_is_a_class_and_every_registration_gets_its_own_pool() {
    let _com = comidl_runtime::ComInit::new(COINIT_MULTITHREADED).unwrap();
    let manager: ComPtr<IDispenserManager> =
        comidl_runtime::create_instance(&CLSID_DispenserManager, CLSCTX_INPROC_SERVER).unwrap();
    assert_eq!(manager.get_context(), Ok((0, 0)));
    let books = Books::new(60);
    let driver: ComPtr<IDispenserDriver> = ComObject::create(Driver(books.clone())).unwrap();
    let name = comidl_runtime::w!("SC.Pool 0 0");
    let (first, second): (ComPtr<IHolder>, ComPtr<IHolder>) = {
        (
            manager.register_dispenser(&driver, name).unwrap().unwrap(),
            manager.register_dispenser(&driver, name).unwrap().unwrap(),
        )
    };
    assert_ne!(first.as_raw(), second.as_raw());
    let a = first.alloc_resource(1).unwrap();
    first.free_resource(a).unwrap();
    // The second pool does not see the first one's idle resource.
    let b = second.alloc_resource(1).unwrap();
    assert_ne!(a, b);
    assert_eq!(second.free_resource(a), Err(E_INVALIDARG));
    second.free_resource(b).unwrap();
    first.close().unwrap();
    second.close().unwrap();
    drop(driver);
    assert!(books.driver_released.load(Ordering::SeqCst));
    assert_eq!(books.alive(), BTreeSet::new());
    books.assert_no_violations();
}
