#!/usr/bin/env bash
# COM across processes, judged by peers comidl did not write. The calculator example runs
# as its README says with --local (the client starts calculator-local-server with
# -Embedding through the class registry and the per-user rendezvous, calls it through
# proxies, and the server calls the client's IFoldObserver back), then the C client with
# --local (through the registered proxy/stub module), with the processes'
# object exporters on loopback TCP (COMIDL_DCOM_TCP) so dumpcap can capture the ORPC
# exchange. tshark must dissect it with no malformed frame and no expert error, find
# IObjectExporter and IRemUnknown calls in it, and see every request answered;
# orpc_capture.py decodes the resolver and IRemUnknown responses with impacket's dcomrt
# classes. The server must exit once the client let go. Then the two-process test of
# runtime/dcom (tests/generated/tests/orpc_processes.rs: calls, callbacks, interface
# pointers both ways, object counts back to 0, a server killed mid-call) runs too, and
# tests/generated/tests/local_server.rs (four clients at once start one server).
# A missing peer (dumpcap, tshark, impacket) is a failure, not a skip.
# Prints ok/FAIL lines and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$root/target/wire/venv/bin/python"
pcap="$root/target/wire/orpc.pcap"
dir="$(mktemp -d)"
chmod 700 "$dir"
capture_pid=""
cleanup() {
    [ -n "$capture_pid" ] && kill "$capture_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

passed=0; failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
# add_counts NAME LOG: prints LOG's ok/FAIL lines and adds its "N passed, N failed".
add_counts() {
    printf '%s\n' "$2" | grep -E '^(ok|FAIL)'
    local counts f
    counts="$(printf '%s\n' "$2" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)"
    if [ -z "$counts" ]; then fail "$1: no result"; return; fi
    passed=$((passed + ${counts%% passed*})); f="${counts##*, }"; failed=$((failed + ${f%% failed}))
}
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

if "$py" -c 'import impacket.dcerpc.v5.dcomrt' 2>/dev/null; then ok "impacket importable"
else fail "impacket is not importable from $py (run tests/wire/setup.sh)"; finish; fi
for tool in dumpcap tshark; do
    if command -v "$tool" >/dev/null; then ok "$tool present"
    else fail "$tool is missing (run tests/wire/setup.sh)"; finish; fi
done
if cargo build --quiet -p calculator-client -p calculator-local-server --manifest-path "$root/Cargo.toml"; then
    ok "the calculator client and local server build"
else fail "the calculator does not build"; finish; fi

mkdir -p "$(dirname "$pcap")"
rm -f "$pcap"
dumpcap -q -P -i lo -f "tcp and host 127.0.0.1" -w "$pcap" >"$dir/dumpcap.out" 2>&1 &
capture_pid=$!
if wait_for 15 grep -q "Capturing on" "$dir/dumpcap.out"; then ok "dumpcap captures lo"
else fail "dumpcap did not start: $(cat "$dir/dumpcap.out")"; finish; fi

export COMIDL_RPC_DIR="$dir/rpc"
mkdir -m 700 "$COMIDL_RPC_DIR"
out="$(COMIDL_DCOM_TCP=127.0.0.1 timeout 120 "$root/target/debug/calculator-client" --temp-registry --local 2>&1)"
status=$?
if [ "$status" -eq 0 ]; then ok "calculator-client --temp-registry --local exits 0"
else fail "calculator-client --local exited $status: $out"; fi
for line in "IAdder::Add(40, 2) = 42" "ICalculator::Divide(85, 2) = 42 remainder 1" \
    "ICalculator::Fold(*, [3, 7], from 2) = 42" "  observer: step 2: 20 -> 42" "  = 42" \
    "IAdder and ICalculator are one object: true" \
    "the Calculator lives in another process: true"; do
    if printf '%s\n' "$out" | grep -qxF "$line"; then ok "client: $line"
    else fail "client: missing \"$line\""; fi
done
gone() { ! ls "$COMIDL_RPC_DIR/classes/"*.class >/dev/null 2>&1; }
if wait_for 15 gone; then ok "the server revoked its class objects and left once unused"
else fail "the server's class objects are still published: $(ls "$COMIDL_RPC_DIR/classes")"; fi

# The C client with CLSCTX_LOCAL_SERVER: it links no proxy, so COM finds the calculator's
# proxy/stub module by ProxyStubClsid32 (registered with `comidl register`), and the server
# it starts takes its stubs from the module too; the server calls back the client's
# IFoldObserver, a C object, which the module marshalled through the C library's own
# exporter; in the capture as well.
c_lines=("IAdder::Add(40, 2) = 42" "ICalculator::Divide(85, 2) = 42 remainder 1"
    "ICalculator::Fold(*, [3, 7], from 2) = 42" "ICalculator::Divide(1, 0) fails: 0x80070057"
    "IAdder and ICalculator are one object: true" "  observer: step 2: 20 -> 42"
    "the observer was told 3 steps and holds no reference: true")
out="$(COMIDL_DCOM_TCP=127.0.0.1 timeout 300 bash "$root/examples/calculator/c-client/run.sh" --local 2>&1)"
status=$?
if [ "$status" -eq 0 ]; then ok "c-client/run.sh --local exits 0"
else fail "c-client/run.sh --local exited $status: $(printf '%s\n' "$out" | tail -5)"; fi
for line in "${c_lines[@]}"; do
    if printf '%s\n' "$out" | grep -qxF "$line"; then ok "C client: $line"
    else fail "C client: missing \"$line\""; fi
done
out="$(VALGRIND=1 timeout 300 bash "$root/examples/calculator/c-client/run.sh" --no-build --local 2>&1)"
status=$?
if [ "$status" -eq 0 ]; then ok "the C client under valgrind: no leak, no error"
else fail "the C client under valgrind exited $status: $(printf '%s\n' "$out" | grep -E 'definitely|indirectly|Invalid|ERROR' | head -3)"; fi

sleep 0.5
kill -INT "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; capture_pid=""

# Every listening port of the exchange (SYN destinations) is DCE/RPC.
mapfile -t ports < <(tshark -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null | sort -u)
if [ "${#ports[@]}" -ge 2 ]; then ok "the capture holds ${#ports[@]} exporter ports"
else fail "the capture holds ${#ports[@]} exporter ports, expected the client's and the server's"; finish; fi
decode=()
for p in "${ports[@]}"; do decode+=(-d "tcp.port==$p,dcerpc"); done
dissect() { timeout 120 tshark -r "$pcap" "${decode[@]}" "$@" 2>/dev/null; }
frames="$(dissect | wc -l)"
mapfile -t malformed < <(dissect -Y '_ws.malformed' -T fields -e frame.number)
mapfile -t experts < <(dissect -Y '_ws.expert.severity==error' -T fields -e frame.number)
if [ "${#malformed[@]}" -eq 0 ]; then ok "tshark: 0 malformed frames in $frames"
else fail "tshark: ${#malformed[@]} malformed frames: ${malformed[*]:0:3}"; fi
if [ "${#experts[@]}" -eq 0 ]; then ok "tshark: 0 expert errors in $frames frames"
else fail "tshark: ${#experts[@]} frames with expert errors: ${experts[*]:0:3}"; fi
count() { dissect -Y "$1" -T fields -e frame.number | wc -l; }
for f in "oxid && dcerpc.opnum==4" "remunk && dcerpc.opnum==3" "remunk && dcerpc.opnum==5" \
    "dcerpc.cn_bind_to_uuid == 00000001-0000-0000-c000-000000000046"; do
    n="$(count "$f")"
    if [ "$n" -gt 0 ]; then ok "tshark finds $f ($n frames)"
    else fail "tshark finds no $f"; fi
done
requests="$(count 'dcerpc.pkt_type==0')"; responses="$(count 'dcerpc.pkt_type==2')"
if [ "$requests" -gt 10 ] && [ "$requests" -eq "$responses" ]; then ok "every one of $requests requests answered"
else fail "$requests requests, $responses responses"; fi

add_counts orpc_capture.py "$("$py" "$here/orpc_capture.py" "$pcap" "${ports[@]}" 2>&1)"

# The runtime's own process tests: ORPC between two processes, and local servers started
# by activation (four clients at once start one server).
for t in orpc_processes local_server; do
    add_counts "$t" "$(cd "$root" && timeout 300 cargo test --quiet -p comidl-generated-tests --test "$t" 2>/dev/null)"
done
# The marshalling API (streams, table marshals, CoGetStandardMarshal, CoDisconnectObject,
# custom marshalling) and AgileReference: libtest tests, one ok/FAIL line per test.
for t in marshal_api orpc_agile; do
    out="$(cd "$root" && timeout 300 cargo test -p comidl-generated-tests --test "$t" 2>&1)"
    mapfile -t results < <(printf '%s\n' "$out" | grep -E '^test .* \.\.\. (ok|FAILED)$')
    if [ "${#results[@]}" -eq 0 ]; then fail "$t: no test ran"; continue; fi
    for r in "${results[@]}"; do
        name="${r#test }"; name="${name% ... *}"
        case "$r" in
            *"... ok") ok "$t: $name" ;;
            *) fail "$t: $name" ;;
        esac
    done
done
finish
