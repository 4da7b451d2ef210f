#!/usr/bin/env bash
# Builds and runs the calculator example's C client against a temporary class registry:
#   1. builds the Rust side (the runtime's C library, the two server modules) with cargo,
#      unless --no-build is given (then TARGET_DIR must hold them);
#   2. writes comidl's C headers of comidl_base.idl and calculator.idl and the _i.c files
#      defining their GUIDs (`comidl gen --c-header --iids`); no Windows or Wine headers;
#   3. compiles client.c with gcc against those headers and libcomidl_runtime_c.so;
#   4. registers the Adder and the Calculator in a new temporary registry and runs the
#      client there (under valgrind's leak check when VALGRIND=1).
# With --local, step 4 registers the executable server instead (calculator-local-server
# /RegServer) and the calculator's proxy/stub module (comidl register), and the client
# activates the Calculator with CLSCTX_LOCAL_SERVER: its calls cross processes through
# the module's proxies, which COM finds by the interfaces' ProxyStubClsid32 keys.
# With --remote HOST, step 4 registers only the proxy/stub module, and the client creates
# the Calculator on HOST's DCOM service (comidl-dcomd; credentials from COMIDL_DCOM_USER
# and COMIDL_DCOM_PASSWORD).
# usage: examples/calculator/c-client/run.sh [--no-build] [--local | --remote HOST]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${TARGET_DIR:-$root/target/debug}

build=1 local=0 remote=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --no-build) build=0 ;;
        --local) local=1 ;;
        --remote) remote=${2:?--remote needs a host}; shift ;;
        *) echo "usage: $0 [--no-build] [--local | --remote HOST]" >&2; exit 2 ;;
    esac
    shift
done
if [[ $build == 1 ]]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" -p calculator-client -p comidl-runtime-c \
        -p calculator-local-server -p calculator-proxy-stub -p comidl-cli
fi

# A built artifact: beside the binaries, or in deps when built as a dependency.
artifact() {
    for candidate in "$target/$1" "$target/deps/$1"; do
        if [[ -e $candidate ]]; then echo "$candidate"; return; fi
    done
    echo "error: $1 is not built in $target (run without --no-build)" >&2
    exit 1
}
runtime_lib=$(artifact libcomidl_runtime_c.so)
client=$(artifact calculator-client)
adder=$(artifact libcomidl_adder.so)
calculator=$(artifact libcomidl_calculator.so)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The headers of calculator.idl and of what it imports, and their GUID definitions.
cargo run --quiet --manifest-path "$root/Cargo.toml" -p comidl-cli -- \
    gen --c-header --iids -I "$root/idl" -o "$work" \
    "$root/idl/comidl_base.idl" "$root/examples/calculator/calculator.idl"
gcc -std=c11 -Wall -Wextra -Werror -I "$work" -I "$here" \
    "$here/client.c" "$work/calculator_i.c" "$work/comidl_base_i.c" \
    -L "$(dirname "$runtime_lib")" -lcomidl_runtime_c \
    -Wl,-rpath,"$(dirname "$runtime_lib")" -o "$work/calculator-c-client"

export COMIDL_REGISTRY=$work/registry
mkdir -p "$COMIDL_REGISTRY"
args=()
if [[ -n $remote ]]; then
    # Only the proxies: the Calculator lives on the other machine.
    "$(artifact comidl)" register "$(artifact libcomidl_calculator_ps.so)" >/dev/null
    args=(--remote "$remote")
elif [[ $local == 1 ]]; then
    # Its own ncalrpc directory (mode 0700), where the server publishes its class objects.
    export COMIDL_RPC_DIR=$work/ncalrpc
    mkdir -m 0700 "$COMIDL_RPC_DIR"
    "$(artifact calculator-local-server)" /RegServer
    "$(artifact comidl)" register "$(artifact libcomidl_calculator_ps.so)" >/dev/null
    # The server this client starts marshals through the module too (it inherits this).
    export COMIDL_EXAMPLE_STUBS=registry
    args=(--local)
else
    "$client" --register-only --servers "$(dirname "$adder")" >/dev/null
    [[ $(dirname "$adder") == "$(dirname "$calculator")" ]]
fi

if [[ ${VALGRIND:-0} == 1 ]]; then
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$work/calculator-c-client" "${args[@]}"
else
    "$work/calculator-c-client" "${args[@]}"
fi
