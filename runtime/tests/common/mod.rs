//! Helpers shared by the runtime's integration tests.

#![allow(dead_code)] // Each test crate uses its own subset.

pub mod read_only;

/// A tiny deterministic generator (xorshift64*), so failures reproduce from the seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Task-allocator blocks allocated minus blocks freed by this thread since `start`, when
/// the build counts them (debug builds); `None` otherwise.
pub fn balance_since(start: Option<isize>) -> Option<isize> {
    Some(comidl_runtime::task::thread_balance()? - start?)
}

std::thread_local! {
    static LIVE: std::cell::RefCell<std::collections::HashMap<&'static str, isize>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The live objects of class `name` on this thread (see [`Tracker`]).
pub fn live(name: &'static str) -> isize {
    LIVE.with(|live| live.borrow().get(name).copied().unwrap_or(0))
}

/// A field that counts its object as live from creation to drop.
pub struct Tracker(&'static str);

impl Tracker {
    pub fn new(name: &'static str) -> Tracker {
        LIVE.with(|live| *live.borrow_mut().entry(name).or_insert(0) += 1);
        Tracker(name)
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        LIVE.with(|live| *live.borrow_mut().entry(self.0).or_insert(0) -= 1);
    }
}

/// Makes the process use an empty class registry directory of its own, named after the test
/// file (emptied the first time this binary asks, the same directory afterwards).
pub fn use_empty_registry(name: &str) {
    static EMPTY_REGISTRY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = EMPTY_REGISTRY.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-empty-registry"));
        std::fs::create_dir_all(&dir).expect("create the registry directory");
        for file in [
            comidl_runtime::registry::MACHINE_FILE,
            comidl_runtime::registry::USER_FILE,
        ] {
            let _ = std::fs::remove_file(dir.join(file));
        }
        dir
    });
    comidl_runtime::host::set_registry_dir(Some(dir.clone()));
}
