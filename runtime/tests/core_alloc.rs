//! The task allocator: C API semantics, the block header, `IMalloc`-style
//! queries and use from many threads.

use core::ffi::c_void;
use core::ptr;
use std::sync::mpsc;
use std::thread;

use comidl_runtime::{CoTaskMemAlloc, CoTaskMemFree, CoTaskMemRealloc, HEADER_SIZE, task};

mod common;
use common::{Rng, balance_since};

fn fill(p: *mut u8, n: usize, seed: u8) {
    for i in 0..n {
        // SAFETY: callers pass live blocks of at least `n` bytes.
        unsafe { p.add(i).write(seed.wrapping_add(i as u8).wrapping_mul(31)) };
    }
}

fn check(p: *const u8, n: usize, seed: u8) {
    for i in 0..n {
        // SAFETY: callers pass live blocks of at least `n` bytes.
        let got = unsafe { p.add(i).read() };
        assert_eq!(
            got,
            seed.wrapping_add(i as u8).wrapping_mul(31),
            "byte {i} of {n}"
        );
    }
}

#[test]
fn header_size_is_16() {
    assert_eq!(HEADER_SIZE, 16);
}

#[test]
fn zero_bytes_gives_a_unique_valid_pointer() {
    let start = task::thread_balance();
    let a = CoTaskMemAlloc(0);
    let b = CoTaskMemAlloc(0);
    assert!(!a.is_null() && !b.is_null());
    assert_ne!(a, b);
    // SAFETY: a and b are live task blocks.
    unsafe {
        assert_eq!(task::size(a.cast()), 0);
        assert_eq!(task::did_alloc(a.cast()), 1);
        CoTaskMemFree(a);
        CoTaskMemFree(b);
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn every_size_up_to_64k() {
    let start = task::thread_balance();
    let sizes = (0..=1024)
        .chain((1025..=65536).step_by(997))
        .chain([4095, 4096, 4097, 65536]);
    for (k, n) in sizes.enumerate() {
        let p = CoTaskMemAlloc(n).cast::<u8>();
        assert!(!p.is_null(), "size {n}");
        assert_eq!(p as usize % 16, 0, "alignment of a {n}-byte block");
        fill(p, n, k as u8);
        // SAFETY: p is a live block of n bytes.
        unsafe {
            assert_eq!(task::size(p), n);
            assert_eq!(task::did_alloc(p), 1);
            check(p, n, k as u8);
            CoTaskMemFree(p.cast());
        }
    }
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn realloc_keeps_contents() {
    let start = task::thread_balance();
    let mut p = CoTaskMemAlloc(10).cast::<u8>();
    fill(p, 10, 7);
    let mut kept = 10;
    for n in [100, 5000, 70_000, 3, 1, 64, 200_000, 17] {
        // SAFETY: p is a live block.
        let q = unsafe { CoTaskMemRealloc(p.cast(), n) }.cast::<u8>();
        assert!(!q.is_null());
        kept = kept.min(n);
        check(q, kept, 7);
        // SAFETY: q is a live block of n bytes.
        assert_eq!(unsafe { task::size(q) }, n);
        assert_eq!(q as usize % 16, 0);
        fill(q, n, 7);
        kept = n;
        p = q;
    }
    // SAFETY: p is live.
    unsafe { CoTaskMemFree(p.cast()) };
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn realloc_null_allocates_and_zero_frees() {
    let start = task::thread_balance();
    // SAFETY: NULL is allowed.
    let p = unsafe { CoTaskMemRealloc(ptr::null_mut(), 40) };
    assert!(!p.is_null());
    // SAFETY: p is live.
    assert_eq!(unsafe { task::size(p.cast()) }, 40);
    assert_eq!(balance_since(start).unwrap_or(1), 1);
    // SAFETY: p is live; realloc to 0 frees it.
    let q = unsafe { CoTaskMemRealloc(p, 0) };
    assert!(q.is_null());
    assert_eq!(balance_since(start).unwrap_or(0), 0);
    // NULL with size 0 is an allocation of 0 bytes, as with CoTaskMemAlloc(0).
    // SAFETY: NULL is allowed.
    let z = unsafe { CoTaskMemRealloc(ptr::null_mut(), 0) };
    assert!(!z.is_null());
    // SAFETY: z is live.
    unsafe { CoTaskMemFree(z) };
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn failures_return_null_and_keep_the_old_block() {
    let start = task::thread_balance();
    assert!(CoTaskMemAlloc(usize::MAX).is_null());
    assert!(CoTaskMemAlloc(usize::MAX - 15).is_null());
    assert!(CoTaskMemAlloc(isize::MAX as usize).is_null());
    let p = CoTaskMemAlloc(32).cast::<u8>();
    fill(p, 32, 3);
    for huge in [
        usize::MAX,
        usize::MAX - 15,
        isize::MAX as usize,
        isize::MAX as usize / 2,
    ] {
        // SAFETY: p is live.
        let q = unsafe { CoTaskMemRealloc(p.cast(), huge) };
        assert!(q.is_null(), "realloc to {huge} must fail");
        // SAFETY: p is still live after a failed realloc.
        unsafe {
            assert_eq!(task::did_alloc(p), 1);
            assert_eq!(task::size(p), 32);
        }
        check(p, 32, 3);
    }
    // SAFETY: p is live.
    unsafe { CoTaskMemFree(p.cast()) };
    assert_eq!(balance_since(start).unwrap_or(0), 0);
}

#[test]
fn null_handling() {
    // SAFETY: NULL is allowed everywhere.
    unsafe {
        CoTaskMemFree(ptr::null_mut());
        task::free(ptr::null_mut());
        assert_eq!(task::size(ptr::null()), usize::MAX);
        assert_eq!(task::did_alloc(ptr::null()), -1);
    }
}

#[test]
fn did_alloc_tells_foreign_blocks_apart() {
    // A plain malloc block: pointers 16+ bytes into it have readable headers.
    // SAFETY: plain malloc; checked for NULL.
    let raw = unsafe { libc::malloc(256) }.cast::<u8>();
    assert!(!raw.is_null());
    // SAFETY: raw is valid for 256 bytes.
    unsafe { ptr::write_bytes(raw, 0, 256) };
    for offset in [16, 17, 24, 32, 100] {
        let p = raw.wrapping_add(offset);
        // SAFETY: 16 readable bytes precede p.
        unsafe {
            assert_eq!(task::did_alloc(p), 0, "offset {offset}");
            assert_eq!(task::size(p), usize::MAX);
            // Not ours: freeing and reallocating leave it alone.
            task::free(p);
            assert!(task::realloc(p, 8).is_null());
        }
    }
    // SAFETY: raw came from libc::malloc.
    unsafe { libc::free(raw.cast()) };

    let stack = [0u64; 8];
    let p = stack.as_ptr().wrapping_add(2).cast::<u8>();
    // SAFETY: 16 readable bytes precede p (two u64 of the array).
    assert_eq!(unsafe { task::did_alloc(p) }, 0);

    let ours = task::alloc(8);
    // SAFETY: ours is live.
    unsafe {
        assert_eq!(task::did_alloc(ours), 1);
        assert_eq!(task::did_alloc(ours.add(8)), 0);
        task::free(ours);
    }
}

#[test]
fn header_is_the_documented_format() {
    let p = task::alloc(77);
    // SAFETY: p is live with a 16-byte header.
    unsafe {
        assert_eq!(p.sub(16).cast::<usize>().read(), 77);
        assert_eq!(
            p.sub(8).cast::<usize>().read(),
            p as usize ^ comidl_runtime::TAG_KEY
        );
        task::free(p);
    }
}

#[test]
fn heap_minimize_is_harmless() {
    let p = task::alloc(1 << 20);
    task::heap_minimize();
    // SAFETY: p is live.
    unsafe {
        assert_eq!(task::size(p), 1 << 20);
        task::free(p);
    }
    task::heap_minimize();
}

#[test]
fn freed_on_another_thread() {
    let start = task::thread_balance();
    let blocks: Vec<usize> = (0..100)
        .map(|i| {
            let p = CoTaskMemAlloc(i * 10).cast::<u8>();
            fill(p, i * 10, i as u8);
            p as usize
        })
        .collect();
    assert_eq!(balance_since(start).unwrap_or(100), 100);
    let freed = thread::spawn(move || {
        let start = task::thread_balance();
        for (i, p) in blocks.into_iter().enumerate() {
            let p = p as *mut u8;
            check(p, i * 10, i as u8);
            // SAFETY: p is a live block handed over from the other thread.
            unsafe { CoTaskMemFree(p.cast()) };
        }
        balance_since(start)
    })
    .join()
    .expect("freeing thread panicked");
    assert_eq!(freed.unwrap_or(-100), -100);
}

/// A block handed between threads: address, size, fill seed.
struct Block(usize, usize, u8);

/// A block size: mostly up to 4 KiB, one in 50 up to 64 KiB.
fn random_size(rng: &mut Rng) -> usize {
    if rng.below(50) == 0 {
        rng.below(65_537)
    } else {
        rng.below(4097)
    }
}

#[test]
fn eight_threads_of_random_work() {
    const THREADS: usize = 8;
    const OPS: usize = 10_000;
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Block>()).unzip();
    let mut handles = Vec::new();
    for (t, inbox) in receivers.into_iter().enumerate() {
        let next = senders[(t + 1) % THREADS].clone();
        handles.push(thread::spawn(move || {
            let mut rng = Rng(0x1234_5678_9ABC_DEF1 ^ (t as u64 + 1).wrapping_mul(0x9E37));
            let mut live: Vec<Block> = Vec::new();
            for op in 0..OPS {
                // Adopt blocks other threads handed over.
                while let Ok(b) = inbox.try_recv() {
                    check(b.0 as *const u8, b.1, b.2);
                    live.push(b);
                }
                let seed = op as u8;
                match rng.below(10) {
                    0..=3 => {
                        let n = random_size(&mut rng);
                        let p = CoTaskMemAlloc(n).cast::<u8>();
                        assert!(!p.is_null());
                        fill(p, n, seed);
                        live.push(Block(p as usize, n, seed));
                    }
                    4..=5 if !live.is_empty() => {
                        let i = rng.below(live.len());
                        let Block(p, old, old_seed) = live.swap_remove(i);
                        let n = random_size(&mut rng);
                        // SAFETY: p is a live block this thread owns.
                        let q = unsafe { CoTaskMemRealloc(p as *mut c_void, n) }.cast::<u8>();
                        if n == 0 {
                            assert!(q.is_null());
                            continue;
                        }
                        assert!(!q.is_null());
                        check(q, old.min(n), old_seed);
                        fill(q, n, seed);
                        live.push(Block(q as usize, n, seed));
                    }
                    6..=8 if !live.is_empty() => {
                        let i = rng.below(live.len());
                        let Block(p, n, s) = live.swap_remove(i);
                        check(p as *const u8, n, s);
                        // SAFETY: p is a live block this thread owns.
                        unsafe {
                            assert_eq!(task::size(p as *const u8), n);
                            CoTaskMemFree(p as *mut c_void);
                        }
                    }
                    _ if !live.is_empty() => {
                        let i = rng.below(live.len());
                        // The receiver may have finished; then keep the block.
                        if let Err(mpsc::SendError(b)) = next.send(live.swap_remove(i)) {
                            live.push(b);
                        }
                    }
                    _ => {}
                }
            }
            drop(next);
            // Drain what is still coming, then free everything.
            for b in live.into_iter().chain(inbox.try_iter()) {
                check(b.0 as *const u8, b.1, b.2);
                // SAFETY: every block left is live and owned here now.
                unsafe { CoTaskMemFree(b.0 as *mut c_void) };
            }
            inbox
        }));
    }
    drop(senders);
    // Blocks sent to a thread after it drained its inbox are freed here, once
    // every worker (and so every sender) is gone.
    let inboxes: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("worker panicked"))
        .collect();
    for inbox in inboxes {
        for b in inbox.try_iter() {
            check(b.0 as *const u8, b.1, b.2);
            // SAFETY: live block, now owned by this thread.
            unsafe { CoTaskMemFree(b.0 as *mut c_void) };
        }
    }
}
