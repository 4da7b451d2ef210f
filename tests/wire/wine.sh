#!/usr/bin/env bash
# comidl against a second NDR engine, Wine 8's rpcrt4 (shared/ORACLES.md): the interface of
# tests/wire/idl/wine_constructs.idl, whose comments say what a server answers.
#   1. builds Wine's server and client (tests/wire/wine/*.c) with mingw-w64 against widl's
#      -Os stubs, cached under target/wire/wine by the sources' hash;
#   2. starts the server under wine64 (headless, a temporary WINEPREFIX, its own session) on
#      a free loopback port;
#   3. comidl's generated client (target/debug/wine-client) calls every operation of it;
#   4. Wine's client calls Wine's server (the interface's sanity: both ends widl's);
#   5. Wine's client calls comidl's server (target/debug/wire-server, serving the interface
#      with tests/wire/check/src/serve_wine.rs) in its --spec-peer mode: every check but
#      the wine_bug.* ones, which it reports as not applicable (n/a), must pass; the server
#      must then stop cleanly (status 0) when its standard input closes;
#   6. tshark dissects what was captured on each server's port: DCE/RPC frames, no
#      malformed frame, no expert error.
# A missing tool or a failed build is a failed check, never a skip. Prints ok/FAIL per check
# ("comidl->wine NAME", "wine->wine NAME", "wine->comidl NAME"), the n/a lines, and
# "N passed, N failed".
#   tests/wire/wine.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/wire/wine"
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
widl=x86_64-w64-mingw32-widl
cc=x86_64-w64-mingw32-gcc-win32
cflags=(-O1 -Wall -Werror -DUSE_COMPILER_EXCEPTIONS '-D__try=' '-D__finally=' '-D__except(x)=if(0)' -Dsmall=char)

passed=0; failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

tmp="$(mktemp -d)"
export WINEPREFIX="$tmp/prefix" DISPLAY= WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
server_pid=""; capture_pid=""; ours_pid=""; ours_capture_pid=""
cleanup() {
    exec 9>&- 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    [ -n "$ours_pid" ] && kill "$ours_pid" 2>/dev/null
    for c in $capture_pid $ours_capture_pid; do kill -INT "$c" 2>/dev/null; done
    [ -d "$WINEPREFIX" ] && "$wineserver" -k 2>/dev/null
    for c in $capture_pid $ours_capture_pid; do wait "$c" 2>/dev/null; done
    rm -rf "$tmp"
}
# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}
# capture PORT FILE VAR: starts dumpcap on the loopback port, its pid in VAR, and waits
# until it captures.
capture() {
    : >"$2.log"
    dumpcap -q -i lo -f "tcp port $1" -w "$2" >"$2.log" 2>&1 &
    printf -v "$3" '%s' "$!"
    wait_for 15 grep -q "Capturing on" "$2.log" || bad "dumpcap did not start: $(tail -2 "$2.log" | tr '\n' ' ')"
}
trap cleanup EXIT

missing=()
for t in "$wine" "$wineserver" "$(command -v $widl)" "$(command -v $cc)" "$(command -v dumpcap)" "$(command -v tshark)"; do
    [ -x "$t" ] || missing+=("$t")
done
if [ "${#missing[@]}" -gt 0 ]; then
    bad "tools: missing ${missing[*]:-a tool} (tests/wire/setup.sh installs them)"
    finish
fi

# 1. Wine's programs, rebuilt when the IDL, the C or the flags change.
sources=("$root/tests/wire/idl/wine_constructs.idl" "$here/wine/server.c" "$here/wine/client.c")
key="$(cat "${sources[@]}" <(echo "${cflags[*]}") | sha256sum | cut -c1-16)"
if [ "$(cat "$out/key" 2>/dev/null)" != "$key" ] || [ ! -f "$out/server.exe" ] || [ ! -f "$out/client.exe" ]; then
    rm -rf "$out" && mkdir -p "$out"
    if ! (cd "$out" && $widl -Os -m64 -h -H wine_constructs.h -c -C wine_constructs_c.c -s -S wine_constructs_s.c \
            "$root/tests/wire/idl/wine_constructs.idl" &&
          $cc "${cflags[@]}" -I. -o server.exe "$here/wine/server.c" wine_constructs_s.c -lrpcrt4 &&
          $cc "${cflags[@]}" -I. -o client.exe "$here/wine/client.c" wine_constructs_c.c -lrpcrt4) >"$tmp/build.log" 2>&1; then
        bad "build of Wine's server and client: $(tail -5 "$tmp/build.log" | tr '\n' ' ')"
        finish
    fi
    echo "$key" >"$out/key"
fi
ok "build of Wine's server and client (widl -Os, mingw-w64)"
if ! cargo build --quiet -p comidl-wire-check --manifest-path "$root/Cargo.toml" 2>"$tmp/cargo.log"; then
    bad "build of comidl's wine-client and wire-server: $(tail -5 "$tmp/cargo.log" | tr '\n' ' ')"
    finish
fi

# 2. Two free ports (Wine's server, comidl's), a capture on the first, and Wine's server.
ports=()
for p in $(seq 47470 47499); do
    ss -ltn 2>/dev/null | grep -q ":$p " || ports+=("$p")
    [ "${#ports[@]}" -eq 2 ] && break
done
[ "${#ports[@]}" -eq 2 ] || { bad "no two free ports in 47470-47499"; finish; }
port=${ports[0]}; ours_port=${ports[1]}
capture "$port" "$tmp/wine.pcapng" capture_pid
setsid "$wine" "$out/server.exe" "$port" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 1 120); do
    grep -q "^listening" "$tmp/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
done
if ! grep -q "^listening" "$tmp/server.out"; then
    bad "Wine's server did not start: $(tail -3 "$tmp/server.err" | tr '\n' ' ')"
    finish
fi
ok "Wine's server listens on 127.0.0.1:$port"

# Counts a client's ok/FAIL lines under a prefix; its own count line must agree.
tally() { # prefix, output, status
    local line
    while IFS= read -r line; do
        case "$line" in
            "ok "*) ok "$1 ${line#ok }" ;;
            "FAIL "*) bad "$1 ${line#FAIL }" ;;
            "n/a "*) echo "n/a $1 ${line#n/a }" ;;
            *" passed, "*" failed") ;;
            *) echo "$line" ;;
        esac
    done <<<"$2"
    printf '%s\n' "$2" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' ||
        bad "$1: no result line (exit $3)"
}

# 3. comidl's client against Wine's server.
ours="$(timeout 120 "$root/target/debug/wine-client" "127.0.0.1:$port" 2>&1)"
tally "comidl->wine" "$ours" $?

# 4. Wine's client against Wine's server: every check it lists must report.
theirs="$(timeout 120 "$wine" "$out/client.exe" "ncacn_ip_tcp:127.0.0.1[$port]" 2>&1 | tr -d '\r')"
status=$?
tally "wine->wine" "$theirs" "$status"
mapfile -t names < <(timeout 60 "$wine" "$out/client.exe" --list 2>/dev/null | tr -d '\r')
for n in "${names[@]}"; do
    printf '%s\n' "$theirs" | grep -qE "^(ok|FAIL) $n(:|$)" || bad "wine->wine $n: no result (the client stopped?)"
done
[ "${#names[@]}" -gt 0 ] || bad "wine->wine: client.exe --list printed nothing"

# 5. Wine's client against comidl's server, whose standard input is a fifo that only this
# shell writes to (fd 9; closing it stops the server).
capture "$ours_port" "$tmp/ours.pcapng" ours_capture_pid
: >"$tmp/ours.out"
mkfifo "$tmp/ours.stdin"
exec 9<>"$tmp/ours.stdin"
"$root/target/debug/wire-server" "$ours_port" <"$tmp/ours.stdin" >"$tmp/ours.out" 2>"$tmp/ours.err" 9>&- &
ours_pid=$!
if wait_for 20 grep -q "^listening ncacn_ip_tcp:127.0.0.1\[$ours_port\]" "$tmp/ours.out"; then
    ok "comidl's wire-server listens on 127.0.0.1:$ours_port"
    # The wine_bug.* checks send what Wine's bugs make of their values: --spec-peer reports
    # them as not applicable (n/a, neither passed nor failed) and runs every other check.
    against="$(timeout 120 "$wine" "$out/client.exe" --spec-peer "ncacn_ip_tcp:127.0.0.1[$ours_port]" 2>&1 | tr -d '\r')"
    status=$?
    tally "wine->comidl" "$against" "$status"
    for n in "${names[@]}"; do
        case "$n" in
            wine_bug.*) printf '%s\n' "$against" | grep -qE "^n/a $n: " ||
                bad "wine->comidl $n: not reported as not applicable" ;;
            *) printf '%s\n' "$against" | grep -qE "^(ok|FAIL) $n(:|$)" ||
                bad "wine->comidl $n: no result (the client stopped?)" ;;
        esac
    done
else
    bad "comidl's wire-server did not start: $(cat "$tmp/ours.out" "$tmp/ours.err" | tail -3 | tr '\n' ' ')"
fi
exec 9>&-
if wait_for 15 bash -c "! kill -0 $ours_pid 2>/dev/null"; then
    wait "$ours_pid"; status=$?
    if [ "$status" -eq 0 ]; then ok "comidl's wire-server stopped cleanly when its stdin closed"
    else bad "comidl's wire-server exited with status $status: $(tail -3 "$tmp/ours.err" | tr '\n' ' ')"; fi
else
    bad "comidl's wire-server still running 15 s after its stdin closed"
fi
ours_pid=""
if grep -q "panicked" "$tmp/ours.err"; then bad "comidl's wire-server panicked: $(grep -m1 panicked "$tmp/ours.err")"; fi

# 6. What tshark makes of each capture.
sleep 0.5
for c in $capture_pid $ours_capture_pid; do kill -INT "$c" 2>/dev/null; done
for c in $capture_pid $ours_capture_pid; do wait "$c" 2>/dev/null; done
capture_pid=""; ours_capture_pid=""
# judge LABEL FILE PORT MIN: in one pass, each frame's protocols (a malformed one ends in
# _ws.malformed) and the severities of its expert items (0x800000 is an error).
judge() {
    local frames malformed errors
    read -r frames malformed errors < <(tshark -r "$2" -d "tcp.port==$3,dcerpc" \
        -T fields -E occurrence=a -E separator='|' -e frame.protocols -e _ws.expert.severity 2>/dev/null |
        awk -F'|' '$1 ~ /dcerpc/ {d++} $1 ~ /_ws\.malformed/ {m++} $2 ~ /8388608/ {e++} END {print d+0, m+0, e+0}')
    if [ "$frames" -gt "$4" ]; then ok "tshark ($1): dissects $frames DCE/RPC frames"
    else bad "tshark ($1): dissects only $frames DCE/RPC frames ($(head -2 "$2.log" | tr '\n' ' '))"; fi
    if [ "$malformed" -eq 0 ]; then ok "tshark ($1): no malformed frame"; else bad "tshark ($1): $malformed malformed frames"; fi
    if [ "$errors" -eq 0 ]; then ok "tshark ($1): no expert error"; else bad "tshark ($1): $errors frames with an expert error"; fi
}
judge "Wine's server" "$tmp/wine.pcapng" "$port" 100
judge "comidl's server" "$tmp/ours.pcapng" "$ours_port" 50
finish
