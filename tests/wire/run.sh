#!/usr/bin/env bash
# The wire harness's NDR vectors: install the oracles (setup.sh, needs root; skipped with
# --no-setup), make the vectors with impacket and judge them with ndrdump. Prints one
# ok/FAIL line per request or reply and "N passed, N failed"; exits non-zero on a failure.
#   tests/wire/run.sh [--no-setup] [OUTDIR]     (OUTDIR defaults to target/wire/vectors)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

setup=1
if [ "${1:-}" = "--no-setup" ]; then
    setup=0
    shift
fi
out="${1:-$root/target/wire/vectors}"

if [ "$setup" = 1 ]; then
    bash "$here/setup.sh"
fi
exec "$root/target/wire/venv/bin/python" "$here/vectors.py" all "$out"
