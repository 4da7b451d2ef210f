#!/usr/bin/env bash
# comidl's server called by a client nobody here wrote: target/debug/wire-server serves
# tests/wire/idl/constructs.idl on a free loopback port, impacket_client.py calls every
# operation through impacket (hand-built NDR classes, replies checked against
# tests/wire/check/src/serve.rs's table), dumpcap captures the exchange into
# target/wire/server.pcap, and tshark dissects it as DCE/RPC: no malformed frame, no expert
# error, and the PDUs the client counted (binds, requests, responses, faults, fragments of
# both directions) are all in the capture. The server must then shut down cleanly (exit 0)
# when its standard input closes. Then the example server (examples/rpc-server) runs as its
# README says and impacket calls it through its own endpoint mapper
# (call_with_impacket.py). A missing peer (impacket, dumpcap, tshark) or a server that does
# not start is a failure, not a skip.
# Prints ok/FAIL lines and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$root/target/wire/venv/bin/python"
pcap="$root/target/wire/server.pcap"
dir="$(mktemp -d)"
server_pid=""
capture_pid=""
cleanup() {
    exec 9>&- 2>/dev/null
    for p in $server_pid $capture_pid; do kill "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

passed=0; failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# The peers.
if "$py" -c 'import impacket.dcerpc.v5.transport' 2>/dev/null; then ok "impacket importable"
else fail "impacket is not importable from $py (run tests/wire/setup.sh)"; finish; fi
for tool in dumpcap tshark; do
    if command -v "$tool" >/dev/null; then ok "$tool present"
    else fail "$tool is missing (run tests/wire/setup.sh)"; finish; fi
done
if cargo build --quiet -p comidl-wire-check --manifest-path "$root/Cargo.toml"; then ok "wire-server builds"
else fail "wire-server does not build"; finish; fi

# A free port: the kernel picks one, we release it and use it at once.
port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# The capture first, so that it holds the whole exchange.
mkdir -p "$(dirname "$pcap")"
rm -f "$pcap"
dumpcap -q -P -i lo -f "tcp port $port" -w "$pcap" >"$dir/dumpcap.out" 2>&1 &
capture_pid=$!
if wait_for 15 grep -q "Capturing on" "$dir/dumpcap.out"; then ok "dumpcap captures lo, tcp port $port"
else fail "dumpcap did not start: $(tail -2 "$dir/dumpcap.out")"; finish; fi

# The server, its standard input a fifo that only this shell writes to (fd 9, closed in
# every other child): closing fd 9 is the server's signal to stop.
mkfifo "$dir/stdin"
exec 9<>"$dir/stdin"
"$root/target/debug/wire-server" "$port" <"$dir/stdin" >"$dir/server.out" 2>"$dir/server.err" 9>&- &
server_pid=$!
if wait_for 20 grep -q "^listening ncacn_ip_tcp:127.0.0.1\[$port\]" "$dir/server.out"; then
    ok "wire-server listens on 127.0.0.1[$port]"
else
    fail "wire-server did not start: $(cat "$dir/server.out" "$dir/server.err" | tail -3)"; finish
fi

# The client.
start=$SECONDS
client="$(timeout 300 "$py" "$here/impacket_client.py" "$port" 9>&- 2>&1)"
client_status=$?
printf '%s\n' "$client" | grep -E '^(ok|FAIL) |^    '
counts="$(printf '%s\n' "$client" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)"
if [ -z "$counts" ]; then
    fail "impacket_client.py gave no result (exit $client_status): $(printf '%s\n' "$client" | tail -3)"
else
    passed=$((passed + ${counts%% passed*}))
    f="${counts##*, }"; failed=$((failed + ${f%% failed}))
fi
echo "(the client took $((SECONDS - start)) s)"

# Stop the server: close its standard input; it must exit 0 (a clean shutdown) in time.
exec 9>&-
if wait_for 15 bash -c "! kill -0 $server_pid 2>/dev/null"; then
    wait "$server_pid"; status=$?
    server_pid=""
    if [ "$status" -eq 0 ]; then ok "wire-server shut down cleanly when its stdin closed"
    else fail "wire-server exited with status $status: $(tail -3 "$dir/server.err")"; fi
else
    fail "wire-server still running 15 s after its stdin closed"
fi
if grep -q "panicked" "$dir/server.err"; then fail "wire-server panicked: $(grep -m1 panicked "$dir/server.err")"
else ok "wire-server printed no panic"; fi

# Stop the capture (it flushes on SIGTERM).
sleep 0.5
kill "$capture_pid" 2>/dev/null
wait_for 10 bash -c "! kill -0 $capture_pid 2>/dev/null" || kill -9 "$capture_pid" 2>/dev/null
wait "$capture_pid" 2>/dev/null
capture_pid=""

# Judge the capture.
dissect() { timeout 120 tshark -r "$pcap" -d "tcp.port==$port,dcerpc" "$@" 2>/dev/null; }
if [ ! -s "$pcap" ]; then fail "no capture in $pcap"; finish; fi
frames="$(dissect -T fields -e frame.number | wc -l)"
mapfile -t malformed < <(dissect -Y '_ws.malformed')
mapfile -t experts < <(dissect -Y '_ws.expert.severity == error')
if [ "${#malformed[@]}" -eq 0 ]; then ok "tshark: 0 malformed frames in $frames"
else fail "tshark: ${#malformed[@]} malformed frames: ${malformed[*]:0:3}"; fi
if [ "${#experts[@]}" -eq 0 ]; then ok "tshark: 0 expert errors in $frames frames"
else fail "tshark: ${#experts[@]} frames with expert errors: ${experts[*]:0:3}"; fi

# Every DCE/RPC PDU in the capture: its type and whether it is a last fragment (a frame may
# carry several PDUs).
dissect -T fields -E occurrence=a -E 'aggregator= ' -e dcerpc.pkt_type -e dcerpc.cn_flags.last_frag |
    awk -F'\t' '$1 != "" { n = split($1, t, " "); split($2, f, " ");
        for (i = 1; i <= n; i++) print t[i], f[i] }' >"$dir/pdus"
# count TYPE yes|no|any: PDUs of that type that are (not) last fragments.
count() { awk -v t="$1" -v last="$2" '$1 == t && (last == "any" || (last == "yes") == ($2 == "1")) { n++ }
    END { print n + 0 }' "$dir/pdus"; }
want() { printf '%s\n' "$client" | sed -n "s/^pdus .*$1=\([0-9]*\).*/\1/p"; }
expect_count() { # label, what the capture has, what it must have
    if [ -n "$3" ] && [ "$2" = "$3" ]; then ok "capture: $1: $2"
    else fail "capture: $1: tshark counts $2, the client ${3:-gave no count}"; fi
}
expect_count "bind PDUs" "$(count 11 any)" "$(want binds)"
expect_count "requests (last fragments)" "$(count 0 yes)" "$(want requests)"
expect_count "responses (last fragments)" "$(count 2 yes)" "$(want responses)"
expect_count "faults" "$(count 3 any)" "$(want faults)"
acks="$(( $(count 12 any) + $(count 13 any) ))"
expect_count "bind_ack and bind_nak PDUs" "$acks" "$(want binds)"
more_req="$(count 0 no)"; more_resp="$(count 2 no)"
if [ "$more_req" -gt 0 ] && [ "$more_resp" -gt 0 ]; then
    ok "capture: fragmented calls both ways ($more_req request and $more_resp response fragments before a last one)"
else
    fail "capture: expected fragments before a last one both ways, found $more_req request and $more_resp response fragments"
fi

# The example server (examples/rpc-server), called as its README says: impacket asks its
# endpoint mapper for the notes interface, then adds, lists, walks a cursor, asks who calls.
if cargo build --quiet -p rpc-server-example --manifest-path "$root/Cargo.toml"; then ok "notes-server builds"
else fail "notes-server does not build"; finish; fi
mport="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkfifo "$dir/notes-stdin"
exec 8<>"$dir/notes-stdin"
"$root/target/debug/notes-server" --mapper-port "$mport" --local "notes-test-$$" \
    <"$dir/notes-stdin" >"$dir/notes.out" 2>"$dir/notes.err" 8>&- 9>&- &
server_pid=$!
if wait_for 20 grep -q "^endpoint mapper on ncacn_ip_tcp:127.0.0.1\[$mport\]" "$dir/notes.out"; then
    ok "notes-server runs, its mapper on $mport"
    example="$(timeout 120 "$py" "$root/examples/rpc-server/call_with_impacket.py" 127.0.0.1 "$mport" 8>&- 2>&1)"
    example_status=$?
    printf '%s\n' "$example" | sed 's/^/    /'
    if [ "$example_status" -eq 0 ] && [ "$(printf '%s\n' "$example" | tail -1)" = "ok" ]; then
        ok "impacket calls the example server (call_with_impacket.py)"
    else
        fail "call_with_impacket.py exited $example_status"
    fi
else
    fail "notes-server did not start: $(cat "$dir/notes.out" "$dir/notes.err" | tail -3)"
fi
exec 8>&-
if wait_for 15 bash -c "! kill -0 $server_pid 2>/dev/null"; then
    wait "$server_pid"; status=$?
    server_pid=""
    if [ "$status" -eq 0 ]; then ok "notes-server shut down cleanly"
    else fail "notes-server exited with status $status: $(tail -3 "$dir/notes.err")"; fi
else
    fail "notes-server still running 15 s after its stdin closed"
fi
finish
