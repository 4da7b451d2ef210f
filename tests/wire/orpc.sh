#!/usr/bin/env bash
# ORPC's wire types against impacket: runtime/dcom's byte-exact vectors (recorded from
# impacket 0.13.1's dcomrt classes) in both directions, and impacket's classes decoding the
# OBJREFs, ORPCTHIS/ORPCTHAT and MInterfacePointer our encoders write now (the test that
# `cargo test` leaves to this harness because it needs the venv's impacket).
# Prints an ok/FAIL line per test and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export COMIDL_WIRE_PYTHON="$root/target/wire/venv/bin/python"
pass=0
fail=0
if [ ! -x "$COMIDL_WIRE_PYTHON" ]; then
    echo "FAIL no wire venv at $COMIDL_WIRE_PYTHON (setup.sh makes it)"
    echo "0 passed, 1 failed"
    exit 1
fi
log="$(cargo test --quiet --manifest-path "$root/Cargo.toml" -p comidl-runtime-dcom \
    --test vectors -- --include-ignored --test-threads 2 2>&1)"
status=$?
# libtest prints "test NAME ... ok" / "... FAILED" per test without --quiet's dots; ask
# for the list and run each by name so every line is ours.
names="$(cargo test --quiet --manifest-path "$root/Cargo.toml" -p comidl-runtime-dcom \
    --test vectors -- --include-ignored --list 2>/dev/null | sed -n 's/: test$//p')"
for n in $names; do
    if printf '%s\n' "$log" | grep -q "^test $n \.\.\. FAILED" \
        || printf '%s\n' "$log" | grep -qE "^    $n\$"; then
        echo "FAIL $n"
        fail=$((fail + 1))
    else
        echo "ok   $n"
        pass=$((pass + 1))
    fi
done
if [ "$status" -ne 0 ]; then
    printf '%s\n' "$log" | tail -40
    [ "$fail" -eq 0 ] && { echo "FAIL cargo test exited $status"; fail=$((fail + 1)); }
fi
if [ -z "$names" ]; then
    echo "FAIL no tests listed"
    fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
