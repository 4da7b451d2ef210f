#!/usr/bin/env bash
# comidl against a second NDR engine, Wine 8's rpcrt4 (shared/ORACLES.md): the interface of
# tests/wire/idl/wine_constructs.idl, whose comments say what a server answers.
#   1. builds Wine's server and client (tests/wire/wine/*.c) with mingw-w64 against widl's
#      -Os stubs, cached under target/wire/wine by the sources' hash;
#   2. starts the server under wine64 (headless, a temporary WINEPREFIX, its own session) on
#      a free loopback port;
#   3. comidl's generated client (target/debug/wine-client) calls every operation of it;
#   4. Wine's client calls Wine's server (the interface's sanity: both ends widl's);
#   5. tshark dissects everything captured on the port: no malformed frame, no expert error.
# A missing tool or a failed build is a failed check, never a skip. Prints ok/FAIL per check
# ("comidl->wine NAME", "wine->wine NAME") and "N passed, N failed".
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
server_pid=""; capture_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    [ -n "$capture_pid" ] && kill -INT "$capture_pid" 2>/dev/null
    [ -d "$WINEPREFIX" ] && "$wineserver" -k 2>/dev/null
    [ -n "$capture_pid" ] && wait "$capture_pid" 2>/dev/null
    rm -rf "$tmp"
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
    bad "build of comidl's wine-client: $(tail -5 "$tmp/cargo.log" | tr '\n' ' ')"
    finish
fi

# 2. A free port, a capture on it, and Wine's server.
port=""
for p in $(seq 47470 47499); do
    ss -ltn 2>/dev/null | grep -q ":$p " || { port=$p; break; }
done
[ -n "$port" ] || { bad "no free port in 47470-47499"; finish; }
dumpcap -q -i lo -f "tcp port $port" -w "$tmp/wine.pcapng" >"$tmp/dumpcap.log" 2>&1 &
capture_pid=$!
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

# 5. What tshark makes of all of it.
sleep 0.5
kill -INT "$capture_pid" 2>/dev/null
wait "$capture_pid" 2>/dev/null
capture_pid=""
# One pass: each frame's protocols (a malformed one ends in _ws.malformed) and the
# severities of its expert items (0x800000 is an error).
read -r frames malformed errors < <(tshark -r "$tmp/wine.pcapng" -d "tcp.port==$port,dcerpc" \
    -T fields -E occurrence=a -E separator='|' -e frame.protocols -e _ws.expert.severity 2>/dev/null |
    awk -F'|' '$1 ~ /dcerpc/ {d++} $1 ~ /_ws\.malformed/ {m++} $2 ~ /8388608/ {e++} END {print d+0, m+0, e+0}')
if [ "$frames" -gt 100 ]; then ok "tshark dissects $frames DCE/RPC frames"; else bad "tshark dissects only $frames DCE/RPC frames ($(head -2 "$tmp/dumpcap.log"))"; fi
if [ "$malformed" -eq 0 ]; then ok "tshark: no malformed frame"; else bad "tshark: $malformed malformed frames"; fi
if [ "$errors" -eq 0 ]; then ok "tshark: no expert error"; else bad "tshark: $errors frames with an expert error"; fi
finish
