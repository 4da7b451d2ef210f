#!/usr/bin/env bash
# Builds and runs the calculator example's C client against a temporary class registry:
#   1. builds the Rust side (the runtime's C library, the two server modules) with cargo,
#      unless --no-build is given (then TARGET_DIR must hold them);
#   2. fetches Wine's widl and headers (tests/fetch-wine.sh; nothing is installed) and
#      writes widl's C header of calculator.idl;
#   3. compiles client.c with gcc against that header and libcomidl_runtime_c.so;
#   4. registers the Adder and the Calculator in a new temporary registry and runs the
#      client there (under valgrind's leak check when VALGRIND=1).
# usage: examples/calculator/c-client/run.sh [--no-build]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${TARGET_DIR:-$root/target/debug}

if [[ "${1:-}" != "--no-build" ]]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" -p calculator-client -p comidl-runtime-c
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

wine=$root/target/conformance/wine
bash "$root/tests/fetch-wine.sh" "$wine" >/dev/null
windows=$wine/usr/include/wine/wine/windows
widl=$wine/usr/lib/wine/widl

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# calculator.idl imports comidl_base.idl: for widl, widl/comidl_base.idl stands for it.
for idl in "$here/widl/comidl_base.idl" "$here/../calculator.idl"; do
    (cd "$work" && "$widl" --nostdinc -m64 -I "$here/widl" -I "$windows" -h \
        -o "$work/$(basename "${idl%.idl}").h" "$idl")
done
gcc -std=gnu11 -fshort-wchar -Wall -Werror -I "$work" -isystem "$windows" \
    "$here/client.c" -L "$(dirname "$runtime_lib")" -lcomidl_runtime_c \
    -Wl,-rpath,"$(dirname "$runtime_lib")" -o "$work/calculator-c-client"

export COMIDL_REGISTRY=$work/registry
mkdir -p "$COMIDL_REGISTRY"
"$client" --register-only --servers "$(dirname "$adder")" >/dev/null
[[ $(dirname "$adder") == "$(dirname "$calculator")" ]]

if [[ ${VALGRIND:-0} == 1 ]]; then
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$work/calculator-c-client"
else
    "$work/calculator-c-client"
fi
