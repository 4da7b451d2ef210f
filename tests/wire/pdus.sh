#!/usr/bin/env bash
# comidl's connection-oriented PDUs dissected by tshark: runtime/rpc's pdu_samples example
# prints one PDU of each kind it sends (bind, bind_ack, fault, bind_nak, a request in three
# fragments, a response) as hex dumps; text2pcap wraps them in TCP to port 135; tshark must
# read each as the DCE/RPC PDU it is, with no malformed frame and no expert error.
# Prints ok/FAIL per frame and "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! cargo run --quiet -p comidl-runtime-rpc --example pdu_samples --manifest-path "$root/Cargo.toml" >"$tmp/pdus.txt"; then
    echo "FAIL: the PDU samples do not build"; echo "0 passed, 1 failed"; exit 1
fi
text2pcap -q -T 50000,135 "$tmp/pdus.txt" "$tmp/pdus.pcap" || { echo "FAIL: text2pcap"; echo "0 passed, 1 failed"; exit 1; }
expected=(
    "Bind: call_id: 1, Fragment: Single, 1 context items"
    "Bind_ack: call_id: 1, Fragment: Single"
    "Fault: call_id: 2, Fragment: Single, Ctx: 0, status: nca_op_rng_error"
    "Bind_nak: call_id: 3, Fragment: Single reason: Protocol version not supported"
    "Request: call_id: 4, Fragment: 1st, opnum: 3, Ctx: 1"
    "Request: call_id: 4, Fragment: Mid, opnum: 3, Ctx: 1"
    "Request: call_id: 4, Fragment: Last, opnum: 3, Ctx: 1"
    "Response: call_id: 4, Fragment: Single, Ctx: 1"
)
mapfile -t lines < <(tshark -r "$tmp/pdus.pcap" -d tcp.port==135,dcerpc 2>/dev/null)
mapfile -t bad < <(tshark -r "$tmp/pdus.pcap" -d tcp.port==135,dcerpc -Y '_ws.malformed || _ws.expert.severity==error' -T fields -e frame.number 2>/dev/null)
passed=0; failed=0
for i in "${!expected[@]}"; do
    n=$((i + 1)); line="${lines[$i]:-}"
    if [[ "$line" != *"${expected[$i]}"* ]]; then
        echo "FAIL frame $n: tshark reads \"${line:-nothing}\", expected \"${expected[$i]}\""; failed=$((failed + 1))
    elif printf '%s\n' "${bad[@]}" | grep -qx "$n"; then
        echo "FAIL frame $n: malformed or an expert error: $line"; failed=$((failed + 1))
    else
        echo "ok frame $n: ${expected[$i]}"; passed=$((passed + 1))
    fi
done
if [ "${#lines[@]}" -ne "${#expected[@]}" ]; then
    echo "FAIL: tshark read ${#lines[@]} frames, expected ${#expected[@]}"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
