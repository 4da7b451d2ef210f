#!/usr/bin/env bash
# The wire harness. Installs the oracles (setup.sh, needs root; skipped with --no-setup),
# then:
#   1. impacket encodes the request and reply of each vector call, and Samba's ndrdump
#      judges them (vectors.py all): the vectors themselves are sound;
#   2. comidl's generated stubs (tests/wire/check, from tests/wire/idl) decode impacket's
#      bytes to the vectors' values, and encode the same values (wire-check);
#   3. ndrdump judges comidl's bytes as it judged impacket's (vectors.py check);
#   4. impacket decodes comidl's bytes with the classes that encoded the vectors, to the
#      vectors' values (vectors.py decode);
#   5. tshark dissects comidl's DCE/RPC PDUs (runtime/rpc) with no malformed frame (pdus.sh);
#   6. comidl's generated safe clients call a private Samba over runtime/rpc's TCP
#      connection (ept_map, NetrWkstaGetInfo, NetrShareEnum), answers checked against
#      impacket's and rpcclient's (samba.sh);
#   7. comidl's generated client calls a Wine 8 rpcrt4 server of wine_constructs.idl, Wine's
#      own client calls it too, Wine's client calls comidl's server of it (the wire-server
#      bin, serve_wine.rs; the wine_bug.* checks reported not applicable, every other one
#      passing), and tshark dissects both servers' captures (wine.sh).
#   8. impacket calls comidl's server (runtime/rpc's server, the wire-server bin serving
#      idl/constructs.idl) with hand-built NDR classes for every operation, replies checked
#      against the server's table; the exchange is captured and tshark finds no malformed
#      frame, no expert error, and every PDU the client counted (server.sh).
#   9. ORPC's wire types (runtime/dcom: OBJREF, STDOBJREF, DUALSTRINGARRAY, ORPCTHIS,
#      ORPCTHAT, MInterfacePointer) against impacket's dcomrt classes, both ways (orpc.sh).
#  10. COM across processes: the calculator as a local server (started through the class
#      registry, called through proxies, calling the client back), its ORPC exchange
#      captured on loopback TCP, dissected by tshark and its resolver and IRemUnknown
#      replies decoded by impacket; then runtime/dcom's two-process test (orpc_local.sh).
#  11. Remote DCOM: in a network namespace of its own, comidl-dcomd on port 135; impacket's
#      DCOMConnection activates the calculator and calls it (and is refused when the
#      service does not allow unauthenticated clients); tshark dissects it all (dcom.sh).
#  12. Remote DCOM between two machines (network namespaces joined by veth): our client
#      activates and calls the calculator on the other machine's service, pings, and the
#      fault and load tests (dcom_machines.sh).
# Prints every ok/FAIL line, each part's "N passed, N failed", and last the total
# "N passed, N failed"; exits non-zero on any failure.
#   tests/wire/run.sh [--no-setup]
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ "${1:-}" != "--no-setup" ]; then
    bash "$here/setup.sh" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
py="$root/target/wire/venv/bin/python"
vectors="$root/target/wire/vectors"
ours="$root/target/wire/ours"
rm -rf "$vectors" "$ours"

total_pass=0
total_fail=0
part() {
    local name="$1"; shift
    echo "== $name"
    local log
    log="$("$@" 2>&1)"
    local status=$?
    echo "$log"
    local counts
    counts="$(printf '%s\n' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)"
    if [ -z "$counts" ]; then
        echo "FAIL $name: no result line (exit $status)"
        total_fail=$((total_fail + 1))
        return
    fi
    total_pass=$((total_pass + ${counts%% passed*}))
    local f="${counts##*, }"
    total_fail=$((total_fail + ${f%% failed}))
    if [ "$status" -ne 0 ] && [ "${f%% failed}" = 0 ]; then
        echo "FAIL $name: exit $status"
        total_fail=$((total_fail + 1))
    fi
}

part "impacket's vectors, judged by ndrdump" "$py" "$here/vectors.py" all "$vectors"
if ! cargo build --quiet -p comidl-wire-check --manifest-path "$root/Cargo.toml"; then
    echo "FAIL: the wire check does not build"
    total_fail=$((total_fail + 1))
else
    part "comidl's stubs against the vectors" "$root/target/debug/wire-check" "$vectors" "$ours"
    part "comidl's bytes, judged by ndrdump" "$py" "$here/vectors.py" check "$ours"
    part "comidl's bytes, decoded by impacket" "$py" "$here/vectors.py" decode "$ours"
fi
part "comidl's PDUs, dissected by tshark" bash "$here/pdus.sh"
part "comidl's clients against Samba" bash "$here/samba.sh"
part "comidl's client against Wine's rpcrt4" bash "$here/wine.sh"
part "impacket against comidl's server" bash "$here/server.sh"
part "ORPC's wire types against impacket" bash "$here/orpc.sh"
part "COM across processes, dissected and decoded" bash "$here/orpc_local.sh"
part "remote DCOM: comidl-dcomd, impacket and tshark" bash "$here/dcom.sh"
part "remote DCOM between two machines: faults and load" bash "$here/dcom_machines.sh"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
