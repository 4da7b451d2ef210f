#!/usr/bin/env bash
# Conformance run: comidl against widl over Wine 8.0's IDL files (fetched
# from Debian's packages on first use) or any tree given with --corpus.
#   tests/conformance/run.sh --stage parse [--min-pass N] [-v] [--corpus DIR ...]
# See tests/conformance/README.md; `run.sh --help` lists every option.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
manifest="$root/Cargo.toml"

# Release builds: the comidl that ships, and much faster over 309 files.
cargo build --release --manifest-path "$manifest" -p comidl-cli -p comidl-conformance
# `cargo run` finds the binary wherever CARGO_TARGET_DIR puts it; the
# harness then finds comidl beside itself.
exec cargo run --quiet --release --manifest-path "$manifest" -p comidl-conformance -- "$@"
