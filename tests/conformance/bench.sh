#!/usr/bin/env bash
# Speed benchmark: release comidl against widl, both writing the C header (`-h -o`), over the files
# widl accepts, one process per file, sequentially, median of 3 rounds each;
# prints both totals and the ratio comidl/widl (the target is <= 0.5).
#   tests/conformance/bench.sh [--repeat N] [--comidl PATH] [--corpus DIR ...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
manifest="$root/Cargo.toml"

cargo build --release --manifest-path "$manifest" -p comidl-cli -p comidl-conformance
exec cargo run --quiet --release --manifest-path "$manifest" -p comidl-conformance -- bench "$@"
