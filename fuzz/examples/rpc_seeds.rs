//! Writes the `rpc_server` target's seed corpus: per interface of the fixtures, a bind and
//! a valid request of each procedure (`rpc_fuzz::seeds`).
//!
//! `cargo run --release --example rpc_seeds -- corpus/rpc_server`

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus/rpc_server".to_string());
    std::fs::create_dir_all(&dir).expect("the corpus directory can be created");
    let seeds = comidl_generated_tests::rpc_fuzz::seeds();
    for (name, input) in &seeds {
        // Each seed runs clean before it is written.
        comidl_generated_tests::rpc_fuzz::run(input);
        std::fs::write(format!("{dir}/{name}"), input).expect("the seed can be written");
    }
    println!("{} seeds in {dir}", seeds.len());
}
