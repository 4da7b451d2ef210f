#!/usr/bin/env bash
# comidl's generated clients against a real DCE/RPC server: a private Samba (ORACLES.md's
# recipe: samba-dcerpcd and smbd on 127.0.0.1, state in a temporary directory) answers
# ept_map, NetrWkstaGetInfo(100) and NetrShareEnum(1) from target/debug/samba-client,
# unauthenticated over ncacn_ip_tcp; the same questions go to impacket (wkssvc) and to
# Samba's own rpcclient (shares), and the answers must agree. Then the same calls
# authenticated with NTLM as a Samba user (smbpasswd), at PKT_INTEGRITY (every PDU
# signed) and PKT_PRIVACY (signed and sealed), give the same answers; a wrong password
# is refused; tshark, given the password, dissects the sealed calls too. The runtime's map-request
# tower must also be byte for byte the one impacket's floor classes build. Needs port 135 free. The
# daemons run in a session of their own: at shutdown they signal their process group.
# Prints ok/FAIL per value and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$root/target/wire/venv/bin/python"
dir="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }

if ss -ltn 2>/dev/null | grep -q '127.0.0.1:135 \|0.0.0.0:135 \|\*:135 '; then
    fail "port 135 is taken: run this where it is free (or in unshare -n)"
fi
mkdir -p "$dir"/{lock,state,cache,pid,private,ncalrpc,log}
cat >"$dir/smb.conf" <<CONF
[global]
server role = standalone server
interfaces = 127.0.0.1/8
bind interfaces only = yes
rpc start on demand helpers = no
lock directory = $dir/lock
state directory = $dir/state
cache directory = $dir/cache
pid directory = $dir/pid
private dir = $dir/private
ncalrpc dir = $dir/ncalrpc
log file = $dir/log/%m.log
passdb backend = tdbsam:$dir/private/passdb.tdb
CONF
# A Samba user for the NTLM calls (a Unix account of the same name must exist).
user=comidlwire
password='Wire-test-7'
id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user" || fail "useradd $user"
printf '%s\n%s\n' "$password" "$password" | smbpasswd -c "$dir/smb.conf" -s -a "$user" >/dev/null \
    || fail "smbpasswd -a $user"
setsid /usr/libexec/samba/samba-dcerpcd -F --no-process-group -s "$dir/smb.conf" --libexec-rpcds >"$dir/dcerpcd.out" 2>&1 &
pids+=($!)
setsid smbd -F --no-process-group -s "$dir/smb.conf" >"$dir/smbd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    ss -ltn 2>/dev/null | grep -q '127.0.0.1:135 ' && break
    sleep 0.5
done
ss -ltn 2>/dev/null | grep -q '127.0.0.1:135 ' || fail "Samba did not start: $(tail -3 "$dir/dcerpcd.out")"
sleep 1

cargo build --quiet -p comidl-wire-check --manifest-path "$root/Cargo.toml" || fail "the wire check does not build"
cargo build --quiet -p rpc-client-example --manifest-path "$root/Cargo.toml" || fail "share-list does not build"

# Everything from here is captured (the mapper's port and Samba's dynamic RPC ports) for
# tshark to judge at the end.
pcap="$root/target/wire/samba.pcap"
mkdir -p "$(dirname "$pcap")"; rm -f "$pcap"
dumpcap -q -P -i lo -f "tcp port 135 or tcp portrange 49152-65535" -w "$pcap" >"$dir/dumpcap.out" 2>&1 &
capture_pid=$!
pids+=("$capture_pid")
for _ in $(seq 1 100); do grep -q "Capturing on" "$dir/dumpcap.out" && break; sleep 0.1; done
grep -q "Capturing on" "$dir/dumpcap.out" || fail "dumpcap did not start: $(tail -2 "$dir/dumpcap.out")"

ours="$("$root/target/debug/samba-client" 127.0.0.1 2>&1)" || fail "samba-client: $ours"

theirs="$(WIRE_DIR="$here" "$py" - <<'PY' 2>&1
import os, sys
from impacket.dcerpc.v5 import epm, transport, wkst
sys.path.insert(0, os.environ["WIRE_DIR"])
from vectors import WKSSVC, tcp_tower, tower_octets
# The map request's tower (port and address 0), built with impacket's floor classes.
print("epm.tower.wkssvc=%s" % tower_octets(tcp_tower(WKSSVC, [1, 0], 0, "0.0.0.0")).hex())
binding = epm.hept_map("127.0.0.1", wkst.MSRPC_UUID_WKST, protocol="ncacn_ip_tcp")
t = transport.DCERPCTransportFactory(binding)
dce = t.get_dce_rpc()
dce.connect()
dce.bind(wkst.MSRPC_UUID_WKST)
r = wkst.hNetrWkstaGetInfo(dce, 100)["WkstaInfo"]["WkstaInfo100"]
print("epm.wkssvc.port=%s" % binding.split("[")[1].rstrip("]"))
print("wkssvc.platform_id=%d" % r["wki100_platform_id"])
print("wkssvc.computername=%s" % r["wki100_computername"][:-1])
print("wkssvc.langroup=%s" % r["wki100_langroup"][:-1])
print("wkssvc.version=%d.%d" % (r["wki100_ver_major"], r["wki100_ver_minor"]))
PY
)" || fail "impacket: $theirs"
shares="$(timeout 30 rpcclient -U% 'ncacn_ip_tcp:127.0.0.1' -c 'netshareenumall 1' 2>&1)" || fail "rpcclient: $shares"

passed=0; failed=0
check() { # label, ours, theirs
    if [ -n "$2" ] && [ "$2" = "$3" ]; then echo "ok $1: $2"; passed=$((passed + 1));
    else echo "FAIL $1: comidl says '$2', the oracle '$3'"; failed=$((failed + 1)); fi
}
value() { printf '%s\n' "$1" | grep -m1 "^$2=" | cut -d= -f2-; }
for k in epm.tower.wkssvc epm.wkssvc.port wkssvc.platform_id wkssvc.computername wkssvc.langroup wkssvc.version; do
    check "$k (against impacket)" "$(value "$ours" "$k")" "$(value "$theirs" "$k")"
done
check "wkssvc.status" "$(value "$ours" wkssvc.status)" 0
check "srvsvc.status" "$(value "$ours" srvsvc.status)" 0
# rpcclient prints each share as "netname: X" then "remark: Y".
mapfile -t names < <(printf '%s\n' "$shares" | sed -n 's/^netname: *//p')
mapfile -t remarks < <(printf '%s\n' "$shares" | sed -n 's/^[[:space:]]*remark:[[:space:]]*//p')
mapfile -t ours_shares < <(printf '%s\n' "$ours" | sed -n 's/^srvsvc.share=//p')
check "srvsvc share count (against rpcclient)" "${#ours_shares[@]}" "${#names[@]}"
for i in "${!names[@]}"; do
    o="${ours_shares[$i]:-}"
    check "srvsvc share $i name (against rpcclient)" "${o%%|*}" "${names[$i]}"
    check "srvsvc share $i remark (against rpcclient)" "${o##*|}" "${remarks[$i]:-}"
done
# The example client (examples/rpc-client), run as its README says, names the same host
# and shares.
example="$(timeout 60 "$root/target/debug/share-list" 127.0.0.1 2>&1)"; status=$?
printf '%s\n' "$example" | sed 's/^/    /'
check "share-list exit status" "$status" 0
check "share-list names the computer (against impacket)" \
    "$(printf '%s\n' "$example" | head -1 | cut -d' ' -f1)" "$(value "$theirs" wkssvc.computername)"
check "share-list share count (against rpcclient)" \
    "$(printf '%s\n' "$example" | sed -n 's/^\([0-9]*\) shares:$/\1/p')" "${#names[@]}"

# NTLM: the same calls signed (PKT_INTEGRITY) and sealed (PKT_PRIVACY).
for level in integrity privacy; do
    auth="$(timeout 60 "$root/target/debug/samba-client" 127.0.0.1 "$user" "$password" "$level" 2>&1)"
    check "NTLM $level: the calls succeed" "$?" 0
    check "NTLM $level: wkssvc.status" "$(value "$auth" wkssvc.status)" 0
    check "NTLM $level: the computer name (against the unauthenticated call)" \
        "$(value "$auth" wkssvc.computername)" "$(value "$ours" wkssvc.computername)"
    check "NTLM $level: srvsvc.status" "$(value "$auth" srvsvc.status)" 0
    check "NTLM $level: the shares (against the unauthenticated call)" \
        "$(printf '%s\n' "$auth" | grep '^srvsvc.share=' | tr '\n' ' ')" \
        "$(printf '%s\n' "$ours" | grep '^srvsvc.share=' | tr '\n' ' ')"
done
wrong="$(timeout 60 "$root/target/debug/samba-client" 127.0.0.1 "$user" not-the-password integrity 2>&1)"
if [ $? -ne 0 ] && ! printf '%s\n' "$wrong" | grep -q '^wkssvc.status='; then
    echo "ok NTLM: a wrong password is refused ($(printf '%s\n' "$wrong" | tail -1))"; passed=$((passed + 1))
else echo "FAIL NTLM: a wrong password was not refused: $wrong"; failed=$((failed + 1)); fi

# tshark over the whole capture: comidl's, impacket's, rpcclient's and Samba's PDUs, the
# sealed ones decrypted with the user's password.
sleep 0.5
kill "$capture_pid" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "$capture_pid" 2>/dev/null || break; sleep 0.1; done
dissect() { timeout 120 tshark -r "$pcap" -d tcp.port==135,dcerpc -o "ntlmssp.nt_password:$password" "$@" 2>/dev/null; }
for lv in 5 6; do
    n="$(dissect -Y "dcerpc.auth_level == $lv && dcerpc.pkt_type == 0" -T fields -e frame.number | wc -l)"
    if [ "$n" -ge 2 ]; then echo "ok capture: $n requests at authentication level $lv"; passed=$((passed + 1))
    else echo "FAIL capture: $n requests at authentication level $lv"; failed=$((failed + 1)); fi
done
n="$(dissect -Y 'dcerpc.auth_level == 6 && wkssvc.opnum == 0' -T fields -e frame.number | wc -l)"
if [ "$n" -ge 2 ]; then echo "ok capture: tshark unseals the sealed NetrWkstaGetInfo ($n frames)"; passed=$((passed + 1))
else echo "FAIL capture: tshark does not unseal the sealed NetrWkstaGetInfo ($n frames)"; failed=$((failed + 1)); fi
rpc_frames="$(dissect -Y dcerpc -T fields -e frame.number | wc -l)"
bad="$(dissect -Y '_ws.malformed || _ws.expert.severity == error' -T fields -e frame.number | wc -l)"
if [ "$rpc_frames" -gt 0 ]; then echo "ok capture: $rpc_frames DCE/RPC frames"; passed=$((passed + 1))
else echo "FAIL capture: no DCE/RPC frame in $pcap"; failed=$((failed + 1)); fi
check "capture: malformed frames and expert errors" "$bad" 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
