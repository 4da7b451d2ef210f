//! Shows what an `ndr` input is (procedure, side, budget, k, message) and runs it.
//!
//! `cargo run --example ndr_show -- artifacts/ndr/crash-...`

use comidl_generated_tests::ndr_fuzz::{Input, key, run};

fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).expect("the input is readable");
        let Some(input) = Input::parse(&data) else {
            println!("{path}: shorter than the 3-byte header");
            continue;
        };
        println!(
            "{path}: {} ({}), {}, budget {} bytes, k {}, {} bytes of message:",
            key(input.proc),
            input.proc.name,
            if input.response {
                "response"
            } else {
                "request"
            },
            input.limits.max_alloc,
            input.k,
            input.message.len()
        );
        for line in input.message.chunks(16) {
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            println!("  {}", hex.join(" "));
        }
        println!("{:?}", run(&data));
    }
}
