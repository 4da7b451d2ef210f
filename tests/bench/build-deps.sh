#!/usr/bin/env bash
# What a new user's first `cargo build` costs: a fresh crate with one IDL file, comidl-build
# in its build script and comidl-runtime for the generated code, against the same-sized
# crate with one .proto file, prost-build in its build script and prost for the generated
# code. Each is built from an empty target directory after its sources are fetched (download
# time is not counted); both are timed in the same run, alternating, and the script prints
# both times, the ratio comidl/prost, and both crate counts.
#   tests/bench/build-deps.sh [--rounds N]     (default 1 round; the median is taken)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds=1
if [[ ${1:-} == --rounds ]]; then rounds=${2:?--rounds needs a number}; fi

# protoc, which prost-build runs, from Debian.
if ! command -v protoc >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends protobuf-compiler >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends protobuf-compiler >/dev/null; }
fi
command -v protoc >/dev/null || { echo "error: protoc is missing" >&2; exit 3; }

work=$(mktemp -d /tmp/comidl-build-deps.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The IDL crate: examples/minimal as a user would write it outside this workspace.
idl="$work/idl-app"
mkdir -p "$idl/src"
cat >"$idl/Cargo.toml" <<TOML
[package]
name = "idl-app"
version = "0.1.0"
edition = "2024"

[dependencies]
comidl-runtime = { path = "$root/runtime" }

[build-dependencies]
comidl-build = { path = "$root/build-support" }

[workspace]
TOML
cp "$root/examples/minimal/counter.idl" "$root/examples/minimal/build.rs" "$idl/"
cp "$root/examples/minimal/src/main.rs" "$idl/src/main.rs"

# The .proto crate: the same counter as a message, encoded and decoded.
proto="$work/proto-app"
mkdir -p "$proto/src"
cat >"$proto/Cargo.toml" <<'TOML'
[package]
name = "proto-app"
version = "0.1.0"
edition = "2024"

[dependencies]
prost = "0.14"

[build-dependencies]
prost-build = "0.14"

[workspace]
TOML
cat >"$proto/counter.proto" <<'PROTO'
syntax = "proto3";
package counter;

// A counter and the two operations on it, as messages.
message Counter { int32 count = 1; }
message Add { int32 step = 1; }
message Reset {}
PROTO
cat >"$proto/build.rs" <<'RS'
// The whole build script: counter.proto becomes $OUT_DIR/counter.rs.
fn main() -> std::io::Result<()> {
    prost_build::compile_protos(&["counter.proto"], &["."])
}
RS
cat >"$proto/src/main.rs" <<'RS'
//! The counter as protobuf messages: add a step, reset, encode and decode.
use prost::Message;

mod counter {
    include!(concat!(env!("OUT_DIR"), "/counter.rs"));
}

fn main() {
    let mut counter = counter::Counter::default();
    for step in [1, 2, 3] {
        let add = counter::Add { step };
        counter.count += add.step;
    }
    let _ = counter::Reset {};
    let bytes = counter.encode_to_vec();
    let back = counter::Counter::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(back.count, 6);
    println!("count = {}", back.count);
}
RS

# Sources first, untimed.
for dir in "$idl" "$proto"; do
    (cd "$dir" && cargo generate-lockfile --quiet && cargo fetch --quiet)
done

# One build from an empty target directory: prints "seconds crates".
build() {
    local dir=$1 target
    target=$(mktemp -d "$work/target.XXXXXX")
    local start end log
    log="$target.log"
    start=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$target" cargo build --offline --color never >"$log" 2>&1) ||
        { cat "$log" >&2; echo "error: building $dir failed" >&2; exit 1; }
    end=$(date +%s.%N)
    local crates
    crates=$(grep -c '^ *Compiling ' "$log")
    rm -rf "$target"
    echo "$(echo "$end - $start" | bc -l) $crates"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

idl_times=() proto_times=()
for ((r = 1; r <= rounds; r++)); do
    # Alternate which goes first, so neither always meets a cold disk cache.
    if ((r % 2)); then
        read -r t idl_crates < <(build "$idl"); idl_times+=("$t")
        read -r t proto_crates < <(build "$proto"); proto_times+=("$t")
    else
        read -r t proto_crates < <(build "$proto"); proto_times+=("$t")
        read -r t idl_crates < <(build "$idl"); idl_times+=("$t")
    fi
done
idl_s=$(printf '%s\n' "${idl_times[@]}" | median)
proto_s=$(printf '%s\n' "${proto_times[@]}" | median)
# The ratio is the median of each round's ratio: both builds of a round ran back to back,
# so a round's noise touches both.
ratio=$(for ((i = 0; i < rounds; i++)); do echo "${idl_times[i]} / ${proto_times[i]}" | bc -l; done | median)
verdict() { if (($(echo "$1 <= $2" | bc -l))); then echo met; else echo missed; fi; }
printf 'first build from an empty target directory, %d round(s), medians; %s cores\n' "$rounds" "$(nproc)"
printf 'comidl-build + comidl-runtime, one .idl:   %6.1f s, %3d crates compiled\n' "$idl_s" "$idl_crates"
printf 'prost-build + prost, one .proto:          %6.1f s, %3d crates compiled\n' "$proto_s" "$proto_crates"
printf 'ratio comidl/prost time (median of the rounds'"'"' ratios): %.2f (target <= 1.0: %s)\n' "$ratio" "$(verdict "$ratio" 1.0)"
printf 'crates: %d vs %d (target: no more than prost: %s)\n' "$idl_crates" "$proto_crates" \
    "$(verdict "$idl_crates" "$proto_crates")"
