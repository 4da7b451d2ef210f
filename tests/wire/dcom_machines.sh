#!/usr/bin/env bash
# Remote DCOM between two machines: two network namespaces joined by a veth pair, A
# (10.231.0.1, the client) and B (10.231.0.2, the server), each with its own comidl-dcomd
# on port 135 (ping period 1 s; a users file, minimum level PKT_INTEGRITY: every
# activation, call and ping between the machines is NTLM-signed; sealing between our own
# client and server is left to runtime/rpc/tests/auth.rs, since tshark cannot unseal it:
# sspi's acceptor answers a NEGOTIATE that asks for both LM_KEY and extended session
# security with both, which MS-NLMP 2.2.2.5 forbids, and tshark then derives other keys.
# Sealing with independent peers is proven in samba.sh and dcom.sh) and its own registry and
# ncalrpc directory; the calculator is registered on B only. dumpcap captures B's side.
#   0. a client without credentials is refused (E_ACCESSDENIED), and starts nothing;
#   1. calculator-client --remote 10.231.0.2 on A: the whole example, the fold's observer
#      called back from B to A;
#   1b. the C client (examples/calculator/c-client/run.sh --remote): CoCreateInstanceEx
#      with a COSERVERINFO and two MULTI_QI entries from C, its C observer called back;
#   1c. CLSCTX_REMOTE_SERVER with no machine named: A's registry names B as the class's
#      RemoteServerName (RemoteGetClassObject, then CreateInstance on the class object);
#   2. a client holding its object for 5 s (five ping periods) calls it throughout: its
#      pings keep the object alive;
#   3. the server killed mid-call (the client inside a callback): the client's call fails,
#      within 5 s of the kill;
#   4. a client killed while it holds an object: B's server drops the references after
#      the ping timeout and exits; the time is measured;
#   5. the link cut (A's veth down) for 1.5 s and restored during a held object's calls:
#      a call made while the route is gone may fail at once (the kernel says the network
#      is unreachable), the object survives and the calls after the restore answer;
#   6. 16 clients x 10,000 calls, twice, with the server's memory and descriptors read
#      before and after: 0 errors, descriptors back where they were, memory flat;
#   7. B's DCOM service restarted while its server runs and a client holds an object:
#      the server registers again (a new activation reaches it), the held object lives on;
#   8. tshark over B's capture: 0 malformed frames, 0 expert errors, the activations and
#      the pings (ComplexPing, SimplePing) in it;
#   9. launch and access permissions (the calculator's AppID on B): a user not in
#      LaunchUsers is refused (E_ACCESSDENIED) and nothing starts; a user who may launch
#      but is not in AccessUsers gets the object, and every call on it is refused; in both
#      lists, every call answers.
# Needs root (ip netns); a missing tool is a failure. Prints ok/FAIL lines, the measured
# numbers as `   NAME VALUE`, and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/target/debug"

passed=0; failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
note() { echo "   $*"; }
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
now_ms() { date +%s%3N; }

for tool in ip dumpcap tshark; do
    if command -v "$tool" >/dev/null; then ok "$tool present"
    else fail "$tool is missing (run tests/wire/setup.sh)"; finish; fi
done
if cargo build --quiet -p comidl-dcomd -p calculator-local-server -p calculator-client \
    -p comidl-remote-probe -p comidl-cli -p comidl-runtime-c -p calculator-proxy-stub \
    --manifest-path "$root/Cargo.toml"; then
    ok "the service, the calculator and the probe build"
else fail "the build failed"; finish; fi

A="cdla$$"; B="cdlb$$"; va="cva$$"; vb="cvb$$"
dir="$(mktemp -d)"
chmod 700 "$dir"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in $(servers); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

if ip netns add "$A" && ip netns add "$B" && ip link add "$va" type veth peer name "$vb" \
    && ip link set "$va" netns "$A" && ip link set "$vb" netns "$B" \
    && ip netns exec "$A" ip addr add 10.231.0.1/24 dev "$va" \
    && ip netns exec "$B" ip addr add 10.231.0.2/24 dev "$vb" \
    && ip netns exec "$A" ip link set lo up && ip netns exec "$B" ip link set lo up \
    && ip netns exec "$A" ip link set "$va" up && ip netns exec "$B" ip link set "$vb" up; then
    ok "two machines: $A (10.231.0.1) and $B (10.231.0.2) joined by a veth pair"
else fail "could not make the network namespaces"; finish; fi

for m in a b; do
    mkdir -p "$dir/$m/registry"; mkdir -m 0700 "$dir/$m/ncalrpc"
done
user=comidlwire; password='Two-machines-4'
env_of() {
    echo "COMIDL_REGISTRY=$dir/$1/registry COMIDL_RPC_DIR=$dir/$1/ncalrpc" \
        "COMIDL_DCOM_SERVICE=$dir/$1/dcom.sock COMIDL_PING_PERIOD_MS=1000" \
        "COMIDL_DCOM_USER=$user COMIDL_DCOM_PASSWORD=$password COMIDL_DCOM_USERS=$dir/users" \
        "COMIDL_DCOM_AUTHN_LEVEL=integrity"
}
ns_of() { if [ "$1" = b ]; then echo "$B"; else echo "$A"; fi; }
# on a|b COMMAND...: runs in that machine with its environment.
on() {
    local m="$1"; shift
    # shellcheck disable=SC2046
    ip netns exec "$(ns_of "$m")" env $(env_of "$m") "$@"
}
# bg a|b COMMAND...: the same in the background; `last` is its pid (ip netns exec and
# env exec the command, so it is the command's own).
last=""
bg() {
    local m="$1"; shift
    # shellcheck disable=SC2046
    ip netns exec "$(ns_of "$m")" env $(env_of "$m") "$@" &
    last=$!
}
# The calculator servers running on B (their environment names B's directory).
servers() {
    for e in /proc/[0-9]*/environ; do
        if grep -qa "COMIDL_RPC_DIR=$dir/b/ncalrpc" "$e" 2>/dev/null \
            && grep -qa calculator-local-server "${e%environ}cmdline" 2>/dev/null; then
            p="${e#/proc/}"; echo "${p%/environ}"
        fi
    done
}
no_servers() { [ -z "$(servers)" ]; }
has_servers() { [ -n "$(servers)" ]; }
service_pid_b=""
start_service() { # MACHINE LOG
    bg "$1" "$bin/comidl-dcomd" --socket "$dir/$1/dcom.sock" --ping-period-ms 1000 \
        --users "$dir/users" --min-level integrity 2>"$2"
    local p=$last
    pids+=("$p")
    [ "$1" = b ] && service_pid_b=$p
    wait_for 15 grep -q "serving on port" "$2"
}
field() { printf '%s\n' "$2" | awk -v k="$1" '$1 == k { print $2 }' | tail -1; }

printf '%s::%s\n' "$user" "$(printf '%s\n' "$password" | "$bin/comidl-dcomd" --hash-password)" >"$dir/users"
chmod 600 "$dir/users"
if on b "$bin/calculator-local-server" /RegServer; then ok "the calculator is registered on B"
else fail "calculator-local-server /RegServer failed on B"; finish; fi
pcap="$root/target/wire/dcom_machines.pcap"
mkdir -p "$(dirname "$pcap")"
ip netns exec "$B" dumpcap -q -P -i "$vb" -f tcp -w "$pcap" >"$dir/dumpcap.out" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
if wait_for 15 grep -q "Capturing on" "$dir/dumpcap.out"; then ok "dumpcap captures B's link"
else fail "dumpcap did not start: $(cat "$dir/dumpcap.out")"; finish; fi
if start_service b "$dir/b1.log" && start_service a "$dir/a.log"; then ok "both machines' services run"
else fail "a service did not start: $(cat "$dir/b1.log" "$dir/a.log")"; finish; fi

# 0. No credentials: refused.
out="$(on a env -u COMIDL_DCOM_USER timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
if [ "$status" -ne 0 ] && grep -q "E_ACCESSDENIED" <<<"$out" && no_servers; then
    ok "a client without credentials is refused (E_ACCESSDENIED) and starts nothing"
else fail "a client without credentials: exit $status: $(tail -2 <<<"$out")"; fi

# 1. The example across machines.
out="$(on a timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
if [ "$status" -eq 0 ] && grep -q "ICalculator::Fold(+, \[20, 22\]) = 42" <<<"$out" \
    && grep -q "observer: step 2: 20 -> 42" <<<"$out" \
    && grep -q "IAdder and ICalculator are one object: true" <<<"$out"; then
    ok "calculator-client --remote: every call answered, the observer called back across machines"
else fail "calculator-client --remote exited $status: $(tail -3 <<<"$out")"; fi

# 1b. From C.
out="$(on a timeout 120 bash "$root/examples/calculator/c-client/run.sh" --no-build --remote 10.231.0.2 2>&1)"; status=$?
if [ "$status" -eq 0 ] && grep -q "created the Calculator on 10.231.0.2" <<<"$out" \
    && grep -q "observer: step 2: 20 -> 42" <<<"$out"; then
    ok "the C client: CoCreateInstanceEx on the other machine, its C observer called back"
else fail "the C client --remote exited $status: $(tail -3 <<<"$out")"; fi

# 1c. The machine from the registry (AppID RemoteServerName on A).
defaults='{6b1e2b4a-0c1d-4a5e-9f00-0000000fa11b}'
printf 'REGEDIT4\n\n[HKEY_CLASSES_ROOT\\CLSID\\{874a7518-4fe3-4df4-8596-848ad05c5c3d}]\n"AppID"="%s"\n\n[HKEY_CLASSES_ROOT\\AppID\\%s]\n"RemoteServerName"="10.231.0.2"\n' \
    "$defaults" "$defaults" >"$dir/remote-server-name.reg"
if on a "$bin/comidl" registry import "$dir/remote-server-name.reg"; then
    out="$(on a timeout 60 "$bin/remote-probe" default 2>&1)"
    if [ "$(field product "$out")" = 42 ]; then
        ok "CLSCTX_REMOTE_SERVER with the machine from AppID RemoteServerName: Multiply = 42"
    else fail "RemoteServerName: $out"; fi
else fail "comidl registry import on A failed"; fi

# 2. Pings keep a held object alive.
out="$(on a timeout 60 "$bin/remote-probe" hold 10.231.0.2 5 2>&1)"
calls="$(field calls "$out")"; errors="$(field errors "$out")"; pings="$(field pings "$out")"
if [ "${calls:-0}" -gt 20 ] && [ "${errors:-1}" = 0 ] && [ "${pings:-0}" -ge 3 ]; then
    ok "an object held for 5 ping periods answers $calls calls, kept by $pings pings"
else fail "holding an object: $out"; fi

# 3. The server killed mid-call.
bg a timeout 60 "$bin/remote-probe" mid-call 10.231.0.2 >"$dir/midcall.out" 2>&1
probe=$last
if wait_for 20 grep -q in-callback "$dir/midcall.out"; then
    killed="$(now_ms)"
    for p in $(servers); do kill -9 "$p"; done
    wait "$probe"
    ended="$(field ended "$(cat "$dir/midcall.out")")"
    hr="$(field hresult "$(cat "$dir/midcall.out")")"
    if [ -n "$ended" ] && [ -n "$hr" ] && [ $((ended - killed)) -le 5000 ]; then
        ok "a server killed mid-call: the call fails ($hr) $((ended - killed)) ms after the kill"
        note "killed-mid-call-ms $((ended - killed))"
    else fail "a server killed mid-call: $(cat "$dir/midcall.out")"; fi
else fail "the mid-call probe never got its callback: $(cat "$dir/midcall.out")"; kill "$probe" 2>/dev/null; fi
wait_for 10 no_servers

# 4. A client killed while it holds an object.
bg a "$bin/remote-probe" wait 10.231.0.2 >"$dir/wait.out" 2>&1
probe=$last
pids+=("$probe")
if wait_for 30 grep -q "^ready 42" "$dir/wait.out" && [ -n "$(servers)" ]; then
    kill -9 "$probe"
    t0="$(now_ms)"
    wait "$probe" 2>/dev/null
    if wait_for 30 no_servers; then
        gone=$(($(now_ms) - t0))
        # Three missed ping periods (3 s) at least: the references are kept by pings,
        # not by the dead client's connection.
        if [ "$gone" -ge 3000 ]; then
            ok "a killed client's object is dropped after the ping timeout: the server exits $gone ms later"
            note "killed-client-drop-ms $gone"
        else fail "the server exited $gone ms after the client died, before any ping timeout"; fi
    else fail "the server still runs 30 s after its only client was killed"; fi
else fail "the waiting probe did not get its object: $(cat "$dir/wait.out")"; fi

# 5. The link cut and restored while a client holds and calls an object.
bg a timeout 60 "$bin/remote-probe" hold 10.231.0.2 6 >"$dir/cut.out" 2>&1
probe=$last
sleep 2
ip netns exec "$A" ip link set "$va" down
sleep 1.5
ip netns exec "$A" ip link set "$va" up
wait "$probe"
calls="$(field calls "$(cat "$dir/cut.out")")"; errors="$(field errors "$(cat "$dir/cut.out")")"
if [ "${calls:-0}" -gt 20 ] && [ "${errors:-99}" -le 15 ] && [ "$(field last_ok "$(cat "$dir/cut.out")")" = 1 ]; then
    ok "the link down for 1.5 s and back: $calls calls answered, $errors failed during the cut, the object lived"
    note "link-cut-calls $calls failed $errors"
else fail "the link cut: $(cat "$dir/cut.out")"; fi

# 7. B's service restarted while its server runs and a client holds an object.
bg a timeout 60 "$bin/remote-probe" hold 10.231.0.2 8 >"$dir/restart.out" 2>&1
probe=$last
sleep 1.5
kill "$service_pid_b"; wait "$service_pid_b" 2>/dev/null
sleep 1
if start_service b "$dir/b2.log"; then ok "B's service restarted"
else fail "B's service did not restart: $(cat "$dir/b2.log")"; fi
sleep 2.5
out="$(on a timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
if [ "$status" -eq 0 ] && grep -q "= 42" <<<"$out"; then
    ok "after the restart the running server is registered again: a new activation reaches it"
else fail "activation after the service restarted: $(tail -3 <<<"$out")"; fi
wait "$probe"
calls="$(field calls "$(cat "$dir/restart.out")")"; errors="$(field errors "$(cat "$dir/restart.out")")"
if [ "${calls:-0}" -gt 20 ] && [ "${errors:-1}" = 0 ]; then
    ok "an object held across the service's restart: $calls calls, none failed"
else fail "the held object across the restart: $(cat "$dir/restart.out")"; fi

# 9. Launch and access permissions in the calculator's AppID key on B.
appid='{6b1e2b4a-0c1d-4a5e-9f00-00000000c0de}'
permissions() { # LAUNCH ACCESS
    printf 'REGEDIT4\n\n[HKEY_CLASSES_ROOT\\CLSID\\{874a7518-4fe3-4df4-8596-848ad05c5c3d}]\n"AppID"="%s"\n\n[HKEY_CLASSES_ROOT\\AppID\\%s]\n"LaunchUsers"="%s"\n"AccessUsers"="%s"\n' \
        "$appid" "$appid" "$1" "$2" >"$dir/perm.reg"
    on b "$bin/comidl" registry import "$dir/perm.reg"
}
wait_for 30 no_servers
if permissions "someone-else" "*"; then
    out="$(on a timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
    if [ "$status" -ne 0 ] && grep -q "E_ACCESSDENIED" <<<"$out" && no_servers; then
        ok "a user not in LaunchUsers is refused (E_ACCESSDENIED) and nothing starts"
    else fail "LaunchUsers: exit $status, servers '$(servers)': $(tail -2 <<<"$out")"; fi
else fail "comidl registry import of the launch permissions failed"; fi
if permissions "$user, someone-else" "someone-else"; then
    out="$(on a timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
    if [ "$status" -ne 0 ] && grep -q "E_ACCESSDENIED" <<<"$out" && grep -q "^creating the Calculator" <<<"$out" \
        && ! grep -q "= 42" <<<"$out"; then
        ok "a user in LaunchUsers but not in AccessUsers gets the object and its calls are refused"
    else fail "AccessUsers: exit $status: $(tail -3 <<<"$out")"; fi
else fail "comidl registry import of the access permissions failed"; fi
wait_for 30 no_servers
if permissions "$user" "*"; then
    out="$(on a timeout 60 "$bin/calculator-client" --remote 10.231.0.2 2>&1)"; status=$?
    if [ "$status" -eq 0 ] && grep -q "observer: step 2: 20 -> 42" <<<"$out"; then
        ok "a user in both lists: every call answers"
    else fail "both lists: exit $status: $(tail -3 <<<"$out")"; fi
else fail "comidl registry import of the permissions failed"; fi

sleep 0.5
kill -INT "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null

# 8. tshark over B's side of it all.
mapfile -t ports < <(tshark -r "$pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null | sort -u)
decode=()
for p in "${ports[@]}"; do decode+=(-d "tcp.port==$p,dcerpc"); done
dissect() { timeout 300 tshark -r "$pcap" "${decode[@]}" -o "ntlmssp.nt_password:$password" "$@" 2>/dev/null; }
frames="$(dissect | wc -l)"
mapfile -t malformed < <(dissect -Y '_ws.malformed' -T fields -e frame.number)
mapfile -t experts < <(dissect -Y '_ws.expert.severity==error' -T fields -e frame.number)
if [ "$frames" -gt 100 ] && [ "${#malformed[@]}" -eq 0 ]; then ok "tshark: 0 malformed frames in $frames"
else fail "tshark: ${#malformed[@]} malformed frames of $frames: ${malformed[*]:0:3}"; fi
if [ "${#experts[@]}" -eq 0 ]; then ok "tshark: 0 expert errors in $frames frames"
else fail "tshark: ${#experts[@]} frames with expert errors: ${experts[*]:0:3}"; fi
count() { dissect -Y "$1" -T fields -e frame.number | wc -l; }
for f in "isystemactivator && dcerpc.pkt_type==0" "oxid && dcerpc.opnum==2" \
    "oxid && dcerpc.opnum==1" "remunk && dcerpc.opnum==5" \
    "dcerpc.auth_level == 5 && oxid && dcerpc.opnum==1" \
    "dcerpc.auth_level == 5 && remunk && dcerpc.opnum==5"; do
    n="$(count "$f")"
    if [ "$n" -gt 0 ]; then ok "tshark finds $f ($n frames)"
    else fail "tshark finds no $f"; fi
done

# 6. Load (after the capture, which it would swell to a million frames): 16 clients x
# 10,000 calls, twice; the server's memory and descriptors.
bg a timeout 300 "$bin/remote-probe" hold 10.231.0.2 200 >"$dir/keep.out" 2>&1
keeper=$last
pids+=("$keeper")
wait_for 20 has_servers
sleep 1
server="$(servers | head -1)"
stat_of() { echo "$(awk '/^VmRSS/ {print $2}' "/proc/$server/status") $(ls "/proc/$server/fd" | wc -l)"; }
out="$(on a timeout 300 "$bin/remote-probe" load 10.231.0.2 16 1000 2>&1)"
read -r rss0 fd0 <<<"$(stat_of)"
out1="$(on a timeout 600 "$bin/remote-probe" load 10.231.0.2 16 10000 2>&1)"
sleep 2
read -r rss1 fd1 <<<"$(stat_of)"
out2="$(on a timeout 600 "$bin/remote-probe" load 10.231.0.2 16 10000 2>&1)"
sleep 2
read -r rss2 fd2 <<<"$(stat_of)"
c1="$(field calls "$out1")"; e1="$(field errors "$out1")"; ms1="$(field ms "$out1")"
c2="$(field calls "$out2")"; e2="$(field errors "$out2")"; ms2="$(field ms "$out2")"
if [ "$c1" = 160000 ] && [ "$e1" = 0 ] && [ "$c2" = 160000 ] && [ "$e2" = 0 ]; then
    ok "16 clients x 10,000 calls, twice: 320,000 calls, 0 errors ($ms1 ms, $ms2 ms)"
    note "load-calls-per-s $((160000 * 1000 / ms1)) $((160000 * 1000 / ms2))"
else fail "load: $out1 / $out2"; fi
note "server-rss-kb $rss0 $rss1 $rss2"
note "server-fds $fd0 $fd1 $fd2"
if [ "$fd2" -le $((fd0 + 2)) ] && [ "$fd1" -le $((fd0 + 2)) ]; then
    ok "the server's descriptors stay flat: $fd0, $fd1, $fd2"
else fail "the server's descriptors grew: $fd0, $fd1, $fd2"; fi
if [ "$rss2" -le $((rss1 + rss1 / 10 + 1024)) ]; then
    ok "the server's memory stays flat over the second 160,000 calls: $rss0, $rss1, $rss2 kB"
else fail "the server's memory grew over the second run: $rss0, $rss1, $rss2 kB"; fi

kill "$keeper" 2>/dev/null
finish
