//! The timeout thread: destroys idle resources whose time is up. One thread serves every
//! pool of the process; it sleeps until the earliest deadline it knows, and exits when no
//! pool it watches is alive any more (it is started again when needed).
//!
//! Freeing a resource tells the thread about its deadline only when that deadline is
//! earlier than the thread's next wake-up, or the pool is new to it: otherwise the thread
//! finds the resource on its next pass anyway. So the common free touches one atomic here,
//! not a lock.
//!
//! Layer: services. Uses the other parts of its module and the root items of the layers below (status codes, GUIDs, interface pointers).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use super::holder::Pool;

struct State {
    pools: Vec<Weak<Pool>>,
    /// When the thread is to wake next; `None`: no deadline known.
    next: Option<Instant>,
    running: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    pools: Vec::new(),
    next: None,
    running: false,
});
static WAKE: Condvar = Condvar::new();
/// `STATE.next` in nanoseconds since [`epoch`], `u64::MAX` for none: read without the lock.
static NEXT_WAKE: AtomicU64 = AtomicU64::new(u64::MAX);

fn state() -> MutexGuard<'static, State> {
    // Every critical section leaves the state consistent: keep using it after a panic.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX - 1)
}

fn set_next(state: &mut State, next: Option<Instant>) {
    state.next = next;
    NEXT_WAKE.store(next.map_or(u64::MAX, nanos), Ordering::SeqCst);
}

/// Makes sure the thread will look at `pool` at `deadline` or earlier.
pub(super) fn watch(pool: &Arc<Pool>, deadline: Instant) {
    let at = nanos(deadline);
    if pool.watched.load(Ordering::SeqCst) && at >= NEXT_WAKE.load(Ordering::SeqCst) {
        return;
    }
    let mut state = state();
    if !pool.watched.swap(true, Ordering::SeqCst) {
        state.pools.push(Arc::downgrade(pool));
    }
    if state.next.is_none_or(|next| deadline < next) {
        set_next(&mut state, Some(deadline));
    }
    if state.running {
        WAKE.notify_one();
        return;
    }
    let started = std::thread::Builder::new()
        .name("comidl-dispenser-timeouts".into())
        .spawn(run);
    // Without the thread, idle resources still go: an allocation destroys those past their
    // deadline, and Close destroys the rest.
    state.running = started.is_ok();
}

/// A watched pool went away: the thread may be able to exit.
pub(super) fn forget() {
    let _state = state();
    WAKE.notify_one();
}

fn run() {
    let mut state = state();
    loop {
        let now = Instant::now();
        match state.next {
            Some(next) if next > now => {
                state = WAKE
                    .wait_timeout(state, next - now)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
                continue;
            }
            None => {
                state.pools.retain(|pool| pool.strong_count() > 0);
                if state.pools.is_empty() {
                    state.running = false;
                    return;
                }
                state = WAKE
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            Some(_) => {}
        }
        // Due. Deadlines added from now on land in `state.next`, merged below.
        set_next(&mut state, None);
        let pools: Vec<Arc<Pool>> = state.pools.iter().filter_map(Weak::upgrade).collect();
        drop(state);
        let mut next: Option<Instant> = None;
        for pool in pools {
            if let Some(deadline) = pool.expire(now) {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        state = self::state();
        if let Some(deadline) = next
            && state.next.is_none_or(|n| deadline < n)
        {
            set_next(&mut state, Some(deadline));
        }
    }
}
