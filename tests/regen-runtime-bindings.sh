#!/usr/bin/env bash
# Regenerates comidl-runtime's committed bindings from idl/ (see
# compiler/tests/runtime_bindings.rs, which fails when they are stale).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run -q --manifest-path "$root/Cargo.toml" -p comidl-cli -- \
    gen --rust --runtime-path crate -I "$root/idl" -o "$out" "$root"/idl/*.idl
cp "$out/comidl_base.rs" "$root/runtime/core/src/bindings.rs"
cp "$out/comidl_ctypes.rs" "$root/runtime/core/src/ctypes.rs"
cp "$out/comidl_dispenser.rs" "$root/runtime/services/src/dispenser/bindings.rs"
cp "$out/comidl_provider.rs" "$root/runtime/services/src/provider/bindings.rs"
