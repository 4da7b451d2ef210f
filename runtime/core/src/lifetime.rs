//! This module's lifetime counters (SEMANTICS.md, "Server lifetime"): its live objects
//! (every [`ComObject`](crate::ComObject) except class objects) and its `LockServer` locks,
//! which `DllCanUnloadNow` (com layer) reads. Objects count themselves here, in the layer
//! that creates them. Each copy of the runtime (the host and each server module) has its
//! own. Updates are atomic.
//!
//! Layer: core. Uses nothing else.

use core::sync::atomic::{AtomicUsize, Ordering};

static OBJECTS: AtomicUsize = AtomicUsize::new(0);
static LOCKS: AtomicUsize = AtomicUsize::new(0);

#[doc(hidden)]
pub fn object_created() {
    OBJECTS.fetch_add(1, Ordering::AcqRel);
}

#[doc(hidden)]
pub fn object_destroyed() {
    OBJECTS.fetch_sub(1, Ordering::AcqRel);
}

/// `IClassFactory::LockServer`: counts locks up (`true`) and down; an unlock without a
/// lock is ignored.
pub fn lock_server(lock: bool) {
    if lock {
        LOCKS.fetch_add(1, Ordering::AcqRel);
    } else {
        let _ = LOCKS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}

/// This module's live objects (class objects excluded).
pub fn object_count() -> usize {
    OBJECTS.load(Ordering::Acquire)
}

/// This module's `LockServer` locks.
pub fn lock_count() -> usize {
    LOCKS.load(Ordering::Acquire)
}
