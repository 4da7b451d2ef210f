//! Writes the `orpc_stub` target's seeds (tests/generated/src/orpc_fuzz.rs) into a corpus
//! directory: `cargo run --example orpc_stub_seeds -- corpus/orpc_stub`.

fn main() {
    let dir = std::env::args().nth(1).expect("a corpus directory");
    std::fs::create_dir_all(&dir).expect("the directory");
    for (name, bytes) in comidl_generated_tests::orpc_fuzz::seeds() {
        std::fs::write(
            std::path::Path::new(&dir).join(format!("seed-{name}")),
            bytes,
        )
        .expect("written");
    }
}
