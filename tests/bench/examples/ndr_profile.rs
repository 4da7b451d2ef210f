//! Runs one NDR benchmark body in a loop, for a profiler:
//! `cargo build --release -p comidl-bench --example ndr_profile` then
//! `perf record target/release/examples/ndr_profile records 3000`.

use std::hint::black_box;

use comidl_bench::ndr::{Longs, Records, unmarshal_longs};

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "records".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    match what.as_str() {
        "records" => {
            let r = Records::new();
            for _ in 0..n {
                black_box(r.marshal());
            }
        }
        "ms-ndr" => {
            let r = Records::new();
            for _ in 0..n {
                black_box(r.ms_ndr_c());
            }
        }
        "both" => {
            // Rounds of each side in turn, as the benchmark runs them.
            let r = Records::new();
            for _ in 0..5 {
                let t = std::time::Instant::now();
                for _ in 0..n {
                    black_box(r.ms_ndr_c());
                }
                let a = t.elapsed();
                let t = std::time::Instant::now();
                for _ in 0..n {
                    black_box(r.marshal());
                }
                let b = t.elapsed();
                println!("ms-ndr {:?}/op, engine {:?}/op", a / n as u32, b / n as u32);
            }
        }
        "ms-ndr-slices" => {
            let r = Records::new();
            for _ in 0..n {
                black_box(r.ms_ndr());
            }
        }
        "marshal" => {
            let l = Longs::new();
            for _ in 0..n {
                black_box(l.marshal());
            }
        }
        "unmarshal" => {
            let request = Longs::new().marshal();
            for _ in 0..n {
                black_box(unmarshal_longs(&request));
            }
        }
        other => {
            panic!("unknown benchmark {other}: records, ms-ndr, ms-ndr-slices, marshal, unmarshal")
        }
    }
}
