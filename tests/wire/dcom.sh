#!/usr/bin/env bash
# Remote DCOM, judged by impacket and tshark. In a network namespace of its own (so port
# 135 is free; `unshare -n`, as root), comidl-dcomd serves on 127.0.0.1 port 135 with the
# calculator registered as a local server, while dumpcap captures loopback:
#   1. with unauthenticated access allowed, impacket's DCOMConnection (authentication level
#      NONE) activates the calculator (RemoteCreateInstance with its activation
#      properties), calls ICalculator, asks for IAdder (RemQueryInterface) and calls it on
#      the same connection (alter_context), releases both (RemRelease) and finds the
#      object gone; the server process then exits (dcom_impacket.py);
#   2. without that leave, the service refuses impacket's activation with E_ACCESSDENIED
#      and starts nothing;
#   2b. with a users file and --min-level privacy, impacket authenticates with NTLM at
#      PKT_PRIVACY and does all of 1 sealed (the activation on port 135, each call on the
#      exporter's port, and each alter_context its own NTLM exchange); a wrong password
#      and an unauthenticated client are refused, and start nothing;
#   3. tshark dissects the whole capture (port 135 and every exporter port as DCE/RPC)
#      with no malformed frame and no expert error, and finds the activation, the
#      IRemUnknown calls and every request answered.
# A missing peer (unshare, dumpcap, tshark, impacket) is a failure, not a skip.
# Prints ok/FAIL lines and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$root/target/wire/venv/bin/python"

if [ "${1:-}" != "--inside" ]; then
    if ! command -v unshare >/dev/null; then
        echo "FAIL unshare is missing"; echo "0 passed, 1 failed"; exit 1
    fi
    if ! cargo build --quiet -p comidl-dcomd -p calculator-local-server --manifest-path "$root/Cargo.toml"; then
        echo "FAIL comidl-dcomd or the calculator does not build"; echo "0 passed, 1 failed"; exit 1
    fi
    exec unshare -n bash "$0" --inside
fi

pcap="$root/target/wire/dcom.pcap"
mkdir -p "$(dirname "$pcap")"
dir="$(mktemp -d)"
chmod 700 "$dir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in $(servers); do kill "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

passed=0; failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
add_counts() {
    printf '%s\n' "$2" | grep -E '^(ok|FAIL)|^   '
    local counts f
    counts="$(printf '%s\n' "$2" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)"
    if [ -z "$counts" ]; then fail "$1: no result: $(printf '%s\n' "$2" | tail -5)"; return; fi
    passed=$((passed + ${counts%% passed*})); f="${counts##*, }"; failed=$((failed + ${f%% failed}))
}
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
# The calculator servers this run started (their environment names this run's directory).
servers() {
    for e in /proc/[0-9]*/environ; do
        if grep -qa "COMIDL_RPC_DIR=$dir/ncalrpc" "$e" 2>/dev/null \
            && grep -qa calculator-local-server "${e%environ}cmdline" 2>/dev/null; then
            p="${e#/proc/}"; echo "${p%/environ}"
        fi
    done
}

ip link set lo up
if "$py" -c 'import impacket.dcerpc.v5.dcomrt' 2>/dev/null; then ok "impacket importable"
else fail "impacket is not importable from $py (run tests/wire/setup.sh)"; finish; fi
for tool in dumpcap tshark; do
    if command -v "$tool" >/dev/null; then ok "$tool present"
    else fail "$tool is missing (run tests/wire/setup.sh)"; finish; fi
done

export COMIDL_REGISTRY="$dir/registry" COMIDL_RPC_DIR="$dir/ncalrpc"
export COMIDL_DCOM_SERVICE="$dir/dcom.sock"
mkdir -p "$COMIDL_REGISTRY"; mkdir -m 0700 "$COMIDL_RPC_DIR"
if "$root/target/debug/calculator-local-server" /RegServer; then ok "the calculator is registered"
else fail "calculator-local-server /RegServer failed"; finish; fi

dumpcap -q -P -i lo -f "tcp" -w "$pcap" >"$dir/dumpcap.out" 2>&1 &
pids+=($!)
if wait_for 15 grep -q "Capturing on" "$dir/dumpcap.out"; then ok "dumpcap captures lo"
else fail "dumpcap did not start: $(cat "$dir/dumpcap.out")"; finish; fi

# start_service LOG ARGS...: comidl-dcomd on port 135, waiting until it serves.
service_pid=""
start_service() {
    local log="$1"; shift
    "$root/target/debug/comidl-dcomd" --port 135 --socket "$COMIDL_DCOM_SERVICE" \
        --ping-period-ms 1000 "$@" 2>"$log" &
    service_pid=$!
    pids+=("$service_pid")
    wait_for 15 grep -q "serving on port" "$log"
}
stop_service() {
    kill "$service_pid" 2>/dev/null; wait "$service_pid" 2>/dev/null; service_pid=""
}

# 1. Unauthenticated access allowed.
if start_service "$dir/dcomd1.log" --allow-unauthenticated; then ok "comidl-dcomd serves on port 135"
else fail "comidl-dcomd did not start: $(cat "$dir/dcomd1.log")"; finish; fi
add_counts "impacket, level NONE" "$(timeout 120 "$py" "$here/dcom_impacket.py" 127.0.0.1 none 2>&1)"
no_servers() { [ -z "$(servers)" ]; }
if wait_for 15 no_servers; then ok "the calculator server exits once impacket released the object"
else fail "the calculator server still runs after RemRelease: $(servers)"; fi
stop_service

# 2b. NTLM at PKT_PRIVACY, as a user of the machine's users file.
user=comidlwire; password='Dcom-wire-9'
printf '%s::%s\n' "$user" "$(printf '%s\n' "$password" | "$root/target/debug/comidl-dcomd" --hash-password)" >"$dir/users"
chmod 600 "$dir/users"
if start_service "$dir/dcomd3.log" --users "$dir/users" --min-level privacy; then ok "comidl-dcomd serves with a users file, minimum level privacy"
else fail "comidl-dcomd did not start: $(cat "$dir/dcomd3.log")"; finish; fi
add_counts "impacket, NTLM at PKT_PRIVACY" "$(timeout 120 "$py" "$here/dcom_impacket.py" 127.0.0.1 privacy "$user" "$password" 2>&1)"
if wait_for 15 no_servers; then ok "the calculator server exits once impacket released the sealed object"
else fail "the calculator server still runs after the sealed RemRelease: $(servers)"; fi
add_counts "impacket, a wrong password" "$(timeout 120 "$py" "$here/dcom_impacket.py" 127.0.0.1 denied "$user" not-the-password 2>&1)"
add_counts "impacket, unauthenticated where privacy is the minimum" "$(timeout 120 "$py" "$here/dcom_impacket.py" 127.0.0.1 denied 2>&1)"
if [ -z "$(servers)" ]; then ok "refused activations start no server"
else fail "a refused activation started a server: $(servers)"; fi
stop_service

# 2. No leave for unauthenticated clients: refused, nothing started.
if start_service "$dir/dcomd2.log"; then ok "comidl-dcomd serves without unauthenticated access"
else fail "comidl-dcomd did not start: $(cat "$dir/dcomd2.log")"; finish; fi
add_counts "impacket, refused" "$(timeout 120 "$py" "$here/dcom_impacket.py" 127.0.0.1 denied 2>&1)"
if [ -z "$(servers)" ]; then ok "a refused activation starts no server"
else fail "a refused activation started a server: $(servers)"; fi
stop_service

sleep 0.5
kill -INT "${pids[0]}" 2>/dev/null; wait "${pids[0]}" 2>/dev/null

# 3. tshark over all of it: port 135 and every exporter port as DCE/RPC.
mapfile -t ports < <(tshark -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null | sort -u)
if [ "${#ports[@]}" -ge 2 ]; then ok "the capture holds port 135 and $((${#ports[@]} - 1)) exporter port(s)"
else fail "the capture holds ports ${ports[*]}: expected 135 and the server's"; fi
decode=()
for p in "${ports[@]}"; do decode+=(-d "tcp.port==$p,dcerpc"); done
dissect() { timeout 120 tshark -r "$pcap" "${decode[@]}" -o "ntlmssp.nt_password:$password" "$@" 2>/dev/null; }
frames="$(dissect | wc -l)"
mapfile -t malformed < <(dissect -Y '_ws.malformed' -T fields -e frame.number)
mapfile -t experts < <(dissect -Y '_ws.expert.severity==error' -T fields -e frame.number)
if [ "${#malformed[@]}" -eq 0 ]; then ok "tshark: 0 malformed frames in $frames"
else fail "tshark: ${#malformed[@]} malformed frames: ${malformed[*]:0:3}"; fi
if [ "${#experts[@]}" -eq 0 ]; then ok "tshark: 0 expert errors in $frames frames"
else fail "tshark: ${#experts[@]} frames with expert errors: ${experts[*]:0:3}"; fi
count() { dissect -Y "$1" -T fields -e frame.number | wc -l; }
for f in "isystemactivator && dcerpc.pkt_type==0" "isystemactivator && dcerpc.pkt_type==2" \
    "remunk && dcerpc.opnum==3" "remunk && dcerpc.opnum==5" \
    "dcerpc.auth_level == 6 && remunk && dcerpc.opnum==5" \
    "dcerpc.auth_level == 6 && isystemactivator && dcerpc.pkt_type==2" \
    "dcerpc.cn_bind_to_uuid == a78d304e-6e93-47f0-88d8-2b1684d08dde" \
    "dcerpc.pkt_type==14 && dcerpc.cn_bind_to_uuid == 213e9442-b45b-4459-b00c-43f78df50266"; do
    n="$(count "$f")"
    if [ "$n" -gt 0 ]; then ok "tshark finds $f ($n frames)"
    else fail "tshark finds no $f"; fi
done
requests="$(count 'dcerpc.pkt_type==0')"; responses="$(count 'dcerpc.pkt_type==2 || dcerpc.pkt_type==3')"
if [ "$requests" -gt 5 ] && [ "$requests" -eq "$responses" ]; then ok "every one of $requests requests answered"
else fail "$requests requests, $responses responses or faults"; fi
finish
