//! Benchmarks 4 and 5: the NDR engine (`comidl_runtime::ndr`) on the descriptions comidl
//! generated for idl/bench.idl's `IBulk`.
//!
//! 4. `PutLongs([in] ULONG n, [in, size_is(n)] LONG *a)` with a 1 MiB array: the client's
//!    `marshal_request` and the server's `ServerCall::unmarshal` (and drop, which frees)
//!    against `memcpy` of the same megabyte into a buffer kept between copies.
//! 5. `PutRecords([in] ULONG n, [in, size_is(n)] BENCH_RECORD *records)` with 1,000 records
//!    (`LONG id; [string] wchar_t *name; [string] wchar_t *comment;`): `marshal_request`
//!    against the same request written with the `ms-ndr` crate's hand-written encoder
//!    (`NdrEncoder`: `u32`, `referent`, `bytes`) from the same data: the same array of C
//!    records, whose strings it measures (a plain loop to the terminator, as C's
//!    `wcslen`) and writes. The setup checks both give the same bytes. Two more variants
//!    are timed for information: `ms-ndr` from UTF-16 slices whose lengths are known
//!    (no measuring), and `ms-ndr`'s own string call (`conformant_varying_wstr(&str)`,
//!    which converts from UTF-8 on every call).

use std::hint::black_box;
use std::sync::Mutex;

use comidl_runtime::ndr::{Limits, Proc, ServerCall, marshal_request};
use ms_ndr::NdrEncoder;

use crate::bindings::{BENCH_RECORD, ndr::IBulk_INTERFACE};
use crate::{Comparison, Plan, compare};

/// LONGs in benchmark 4's array: 1 MiB.
pub const LONGS: usize = 1 << 18;
/// Records in benchmark 5's request.
pub const RECORDS: usize = 1000;

fn proc(name: &str) -> &'static Proc {
    IBulk_INTERFACE
        .procs
        .iter()
        .copied()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("IBulk has {name}"))
}

/// `IBulk::PutLongs`'s description.
pub fn put_longs() -> &'static Proc {
    proc("IBulk::PutLongs")
}

/// `IBulk::PutRecords`'s description.
pub fn put_records() -> &'static Proc {
    proc("IBulk::PutRecords")
}

/// Benchmark 4's data: `n` and the array, as a client holds them.
pub struct Longs {
    pub n: u32,
    pub a: Vec<i32>,
}

impl Longs {
    pub fn new() -> Longs {
        Longs {
            n: LONGS as u32,
            a: (0..LONGS as i32)
                .map(|i| i.wrapping_mul(0x9E37_79B9u32 as i32))
                .collect(),
        }
    }

    /// The request, marshalled by the engine.
    pub fn marshal(&self) -> Vec<u8> {
        let mut n = self.n;
        let mut a = self.a.as_ptr();
        let args = [(&raw mut n).cast::<u8>(), (&raw mut a).cast::<u8>()];
        // SAFETY: the arguments are PutLongs's: a ULONG and a pointer to `n` LONGs, which
        // the engine only reads.
        unsafe { marshal_request(put_longs(), &args) }.expect("PutLongs marshals")
    }

    /// The array's bytes (what memcpy copies).
    pub fn bytes(&self) -> Vec<u8> {
        self.a.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

impl Default for Longs {
    fn default() -> Longs {
        Longs::new()
    }
}

/// The server's side of benchmark 4: unmarshal the request and free it; the first LONG
/// and `n` (so the work is not optimised away, and the setup can check it).
pub fn unmarshal_longs(request: &[u8]) -> (u32, i32) {
    let call = ServerCall::unmarshal(put_longs(), request, Limits::default())
        .expect("PutLongs unmarshals");
    let args = call.args();
    // SAFETY: PutLongs's slots: a ULONG, then a pointer to `n` LONGs.
    unsafe {
        let n = args[0].cast::<u32>().read();
        let a = args[1].cast::<*const i32>().read();
        (n, if n > 0 { a.read() } else { 0 })
    }
}

/// Benchmark 4: (marshal vs memcpy, unmarshal + free vs memcpy). Each comparison's
/// `time_ratio` is engine time / memcpy time, so memcpy's bandwidth over the engine's is
/// its inverse.
pub fn bench_longs(plan: Plan) -> (Comparison, Comparison) {
    let longs = Longs::new();
    let src = longs.bytes();
    let request = longs.marshal();
    // The same bytes: n, the max count, then the array.
    assert_eq!(&request[..4], &(LONGS as u32).to_le_bytes());
    assert_eq!(&request[4..8], &(LONGS as u32).to_le_bytes());
    assert_eq!(&request[8..], &src[..]);
    assert_eq!(unmarshal_longs(&request), (LONGS as u32, longs.a[0]));
    let dst = Mutex::new(vec![0u8; src.len()]);
    let memcpy = |n: u64| {
        let mut dst = dst.lock().expect("not poisoned");
        for _ in 0..n {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut *dst);
        }
    };
    let marshal = compare(plan, 1, &memcpy, &|n| {
        for _ in 0..n {
            black_box(longs.marshal());
        }
    });
    let unmarshal = compare(plan, 1, &memcpy, &|n| {
        for _ in 0..n {
            black_box(unmarshal_longs(black_box(&request)));
        }
    });
    (marshal, unmarshal)
}

/// Benchmark 5's data: the records as a client holds them (`BENCH_RECORD`s pointing to
/// terminated UTF-16 strings), and the same strings as Rust strings.
pub struct Records {
    pub ids: Vec<i32>,
    pub names: Vec<String>,
    pub comments: Vec<String>,
    /// The UTF-16 of each string with its terminator, as C holds it.
    pub wide_names: Vec<Vec<u16>>,
    pub wide_comments: Vec<Vec<u16>>,
    /// The same as little-endian bytes (what an encoder writes).
    pub name_bytes: Vec<Vec<u8>>,
    pub comment_bytes: Vec<Vec<u8>>,
    pub records: Vec<BENCH_RECORD>,
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn le(w: &[u16]) -> Vec<u8> {
    w.iter().flat_map(|c| c.to_le_bytes()).collect()
}

impl Records {
    pub fn new() -> Records {
        let ids: Vec<i32> = (0..RECORDS as i32).map(|i| i * 7 - 3).collect();
        let names: Vec<String> = (0..RECORDS).map(|i| format!("record-{i:04}")).collect();
        let comments: Vec<String> = (0..RECORDS)
            .map(|i| format!("comment on record {i}: {}", "x".repeat(i % 23)))
            .collect();
        let wide_names: Vec<Vec<u16>> = names.iter().map(|s| wide(s)).collect();
        let wide_comments: Vec<Vec<u16>> = comments.iter().map(|s| wide(s)).collect();
        let records = (0..RECORDS)
            .map(|i| BENCH_RECORD {
                id: ids[i],
                name: wide_names[i].as_ptr().cast_mut(),
                comment: wide_comments[i].as_ptr().cast_mut(),
            })
            .collect();
        Records {
            name_bytes: wide_names.iter().map(|w| le(w)).collect(),
            comment_bytes: wide_comments.iter().map(|w| le(w)).collect(),
            ids,
            names,
            comments,
            wide_names,
            wide_comments,
            records,
        }
    }

    /// The request, marshalled by the engine from the C-layout records.
    pub fn marshal(&self) -> Vec<u8> {
        let mut n = self.records.len() as u32;
        let mut a = self.records.as_ptr();
        let args = [(&raw mut n).cast::<u8>(), (&raw mut a).cast::<u8>()];
        // SAFETY: PutRecords's arguments: a ULONG and a pointer to `n` records whose
        // strings are terminated; the engine only reads them.
        unsafe { marshal_request(put_records(), &args) }.expect("PutRecords marshals")
    }

    /// The same request written by hand with `ms-ndr` from the same C records: `n`, the
    /// array's max count (the top-level `[ref]` pointer has no wire form), each record's
    /// id and two referent ids, then the strings in pointer order (max count, offset 0,
    /// actual count, characters with the terminator), each measured to its terminator.
    pub fn ms_ndr_c(&self) -> Vec<u8> {
        let n = self.records.len() as u32;
        let mut e = NdrEncoder::new();
        e.u32(n);
        e.u32(n);
        for r in &self.records {
            e.u32(r.id as u32);
            e.referent();
            e.referent();
        }
        for r in &self.records {
            for s in [r.name, r.comment] {
                // SAFETY: the records' strings are terminated UTF-16 (`Records::new`).
                let chars = unsafe {
                    let mut len = 0;
                    while *s.add(len) != 0 {
                        len += 1;
                    }
                    std::slice::from_raw_parts(s.cast::<u8>(), (len + 1) * 2)
                };
                let count = (chars.len() / 2) as u32;
                e.u32(count);
                e.u32(0);
                e.u32(count);
                e.bytes(chars);
            }
        }
        e.into_bytes()
    }

    /// The same request written by hand with `ms-ndr` from the UTF-16 bytes: `n`, the
    /// array's max count (the top-level `[ref]` pointer has no wire form), each record's
    /// id and two referent ids, then the strings in pointer order (max count, offset 0,
    /// actual count, characters with the terminator).
    pub fn ms_ndr(&self) -> Vec<u8> {
        let n = self.ids.len() as u32;
        let mut e = NdrEncoder::new();
        e.u32(n);
        e.u32(n);
        for &id in &self.ids {
            e.u32(id as u32);
            e.referent();
            e.referent();
        }
        for (name, comment) in self.name_bytes.iter().zip(&self.comment_bytes) {
            for s in [name, comment] {
                let chars = (s.len() / 2) as u32;
                e.u32(chars);
                e.u32(0);
                e.u32(chars);
                e.bytes(s);
            }
        }
        e.into_bytes()
    }

    /// The same with `ms-ndr`'s string call, from the Rust strings (UTF-8, converted on
    /// every call).
    pub fn ms_ndr_str(&self) -> Vec<u8> {
        let n = self.ids.len() as u32;
        let mut e = NdrEncoder::new();
        e.u32(n);
        e.u32(n);
        for &id in &self.ids {
            e.u32(id as u32);
            e.referent();
            e.referent();
        }
        for (name, comment) in self.names.iter().zip(&self.comments) {
            e.conformant_varying_wstr(name);
            e.conformant_varying_wstr(comment);
        }
        e.into_bytes()
    }
}

// SAFETY: the records' pointers point into the struct's own vectors, which nothing writes
// after `Records::new`; the benchmarks only read them.
unsafe impl Sync for Records {}
// SAFETY: as above: the pointed-to vectors move with the struct (their heap blocks stay).
unsafe impl Send for Records {}

impl Default for Records {
    fn default() -> Records {
        Records::new()
    }
}

/// Benchmark 5: engine vs ms-ndr from the same C records, from UTF-16 slices of known
/// length, and from `&str`. Each `time_ratio` is engine time / ms-ndr time.
pub fn bench_records(plan: Plan) -> (Comparison, Comparison, Comparison) {
    let r = Records::new();
    let ours = r.marshal();
    assert_eq!(
        ours,
        r.ms_ndr_c(),
        "the engine and ms-ndr write the same bytes"
    );
    assert_eq!(ours, r.ms_ndr(), "also from the UTF-16 slices");
    assert_eq!(ours, r.ms_ndr_str(), "also through ms-ndr's string call");
    let engine = |n: u64| {
        for _ in 0..n {
            black_box(r.marshal());
        }
    };
    let same_records = compare(
        plan,
        1,
        &|n| {
            for _ in 0..n {
                black_box(black_box(&r).ms_ndr_c());
            }
        },
        &engine,
    );
    let slices = compare(
        plan,
        1,
        &|n| {
            for _ in 0..n {
                black_box(black_box(&r).ms_ndr());
            }
        },
        &engine,
    );
    let from_str = compare(
        plan,
        1,
        &|n| {
            for _ in 0..n {
                black_box(black_box(&r).ms_ndr_str());
            }
        },
        &engine,
    );
    (same_records, slices, from_str)
}
