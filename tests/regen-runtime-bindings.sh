#!/usr/bin/env bash
# Regenerates comidl-runtime's committed bindings from idl/ (see
# compiler/tests/runtime_bindings.rs, which fails when they are stale).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
gen() { # runtime path, then IDL files
    local rt="$1"
    shift
    cargo run -q --manifest-path "$root/Cargo.toml" -p comidl-cli -- \
        gen --rust --runtime-path "$rt" -I "$root/idl" -o "$out" "$@"
}
# The COM layers' bindings name their own crate as the runtime.
gen crate "$root"/idl/comidl_{base,ctypes,dispenser,provider}.idl
cp "$out/comidl_base.rs" "$root/runtime/core/src/bindings.rs"
cp "$out/comidl_ctypes.rs" "$root/runtime/core/src/ctypes.rs"
cp "$out/comidl_dispenser.rs" "$root/runtime/services/src/dispenser/bindings.rs"
cp "$out/comidl_provider.rs" "$root/runtime/services/src/provider/bindings.rs"
# The rpc layer's endpoint mapper, with marshalling: comidl-runtime-rpc re-exports what
# generated code names under `crate::rt` (the core layer's items and the NDR engine).
gen crate::rt "$root/idl/comidl_epmapper.idl"
cp "$out/comidl_epmapper.rs" "$root/runtime/rpc/src/epm/bindings.rs"
# The dcom layer's ORPC interfaces (IRemUnknown, IRemUnknown2, IObjectExporter), with
# marshalling and proxies: comidl-runtime-dcom re-exports what they name under `crate::rt`.
gen crate::rt "$root/idl/comidl_orpc.idl"
cp "$out/comidl_orpc.rs" "$root/runtime/dcom/src/bindings.rs"
# Remote activation (IRemoteSCMActivator, IActivation, the activation property sets) and
# comidl's own machine-local interfaces: they name the ORPC types as `super::comidl_orpc`,
# which runtime/dcom/src/activation/mod.rs provides.
gen crate::rt "$root/idl/comidl_activation.idl"
cp "$out/comidl_activation.rs" "$root/runtime/dcom/src/activation/bindings.rs"
