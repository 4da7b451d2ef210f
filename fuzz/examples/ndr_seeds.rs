//! Writes the `ndr` target's seed corpus: a valid request and response of every procedure,
//! for a few values of every integer, marshalled by the engine (`ndr_fuzz::seeds`).
//!
//! `cargo run --release --example ndr_seeds -- corpus/ndr`

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus/ndr".to_string());
    std::fs::create_dir_all(&dir).expect("the corpus directory can be created");
    let seeds = comidl_generated_tests::ndr_fuzz::seeds();
    for (name, input) in &seeds {
        // Each seed runs clean before it is written.
        comidl_generated_tests::ndr_fuzz::run(input);
        std::fs::write(format!("{dir}/{name}"), input).expect("the seed can be written");
    }
    println!("{} seeds in {dir}", seeds.len());
}
