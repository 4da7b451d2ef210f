"""Reads a capture of an ORPC exchange comidl made over loopback TCP and checks it with
impacket, an implementation comidl did not write: every IObjectExporter::ResolveOxid2
response and every IRemUnknown::RemQueryInterface / RemAddRef / RemRelease response in
the capture is decoded with impacket 0.13's classes (impacket.dcerpc.v5.dcomrt), must use
all of its stub data, carry status 0, and name the OXID the client asked the resolver for
(a RemQueryInterface result's STDOBJREF), with at least one public reference and
SORF_NOPING (the exporter answers no pings: references end with connections).

    orpc_capture.py PCAP PORT...

tshark finds the frames (its DCOM dissectors name the interfaces and opnums) and gives
their stub data (with those dissectors off). Prints ok/FAIL lines and "N passed, N failed".
"""
import subprocess
import sys

from impacket.dcerpc.v5 import dcomrt


def tshark(pcap, ports, *args):
    cmd = ["tshark", "-r", pcap]
    for p in ports:
        cmd += ["-d", f"tcp.port=={p},dcerpc"]
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def main():
    pcap, ports = sys.argv[1], sys.argv[2:]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {what}")
        else:
            failed += 1
            print(f"FAIL {what}")

    def frames(filter_):
        return {row[0] for row in tshark(pcap, ports, "-Y", filter_, "-T", "fields", "-e", "frame.number")}

    stubs = {
        row[0]: bytes.fromhex(row[1])
        for row in tshark(
            pcap, ports, "--disable-protocol", "remunk", "--disable-protocol", "remunk2",
            "--disable-protocol", "oxid", "-Y", "dcerpc.pkt_type==2", "-T", "fields",
            "-e", "frame.number", "-e", "dcerpc.stub_data",
        )
        if len(row) == 2
    }
    asked = {int(row[1], 16) for row in tshark(
        pcap, ports, "-Y", "oxid && dcerpc.pkt_type==0 && dcerpc.opnum==4",
        "-T", "fields", "-e", "frame.number", "-e", "oxid.oxid") if len(row) == 2}
    check(len(asked) >= 2, f"the capture resolves OXIDs (client's and server's): {len(asked)}")

    kinds = [
        ("ResolveOxid2", "oxid && dcerpc.pkt_type==2 && dcerpc.opnum==4", dcomrt.ResolveOxid2Response),
        ("RemQueryInterface", "remunk && dcerpc.pkt_type==2 && dcerpc.opnum==3", dcomrt.RemQueryInterfaceResponse),
        ("RemAddRef", "remunk && dcerpc.pkt_type==2 && dcerpc.opnum==4", dcomrt.RemAddRefResponse),
        ("RemRelease", "remunk && dcerpc.pkt_type==2 && dcerpc.opnum==5", dcomrt.RemReleaseResponse),
    ]
    for name, filter_, cls in kinds:
        found = sorted(frames(filter_), key=int)
        check(len(found) > 0, f"{name}: responses in the capture ({len(found)})")
        for f in found:
            stub = stubs.get(f)
            if stub is None:
                check(False, f"{name} frame {f}: no stub data")
                continue
            try:
                r = cls(stub)
            except Exception as e:  # impacket raises what its parser meets
                check(False, f"{name} frame {f}: impacket cannot decode it: {e!r}")
                continue
            used = len(r.getData())
            problems = []
            if used != len(stub):
                problems.append(f"impacket reads {used} of {len(stub)} bytes")
            if r["ErrorCode"] != 0:
                problems.append(f"status {r['ErrorCode']:#x}")
            if name == "ResolveOxid2":
                v = r["pComVersion"]
                if (v["MajorVersion"], v["MinorVersion"]) != (5, 7):
                    problems.append(f"COM version {v['MajorVersion']}.{v['MinorVersion']}")
                units = r["ppdsaOxidBindings"]["aStringArray"]
                text = "".join(chr(u) for u in units)
                if "127.0.0.1[" not in text:
                    problems.append(f"no TCP binding in {text!r}")
            if name == "RemQueryInterface":
                q = r["ppQIResults"]
                if q["hResult"] != 0:
                    problems.append(f"hResult {q['hResult']:#x}")
                if q["std"]["cPublicRefs"] < 1:
                    problems.append("no public reference")
                if q["std"]["flags"] != 0x1000:
                    problems.append(f"flags {q['std']['flags']:#x}, expected SORF_NOPING")
                if q["std"]["oxid"] not in asked:
                    problems.append(f"OXID {q['std']['oxid']:#x} was never resolved")
            check(not problems, f"{name} frame {f}: impacket decodes it" + (": " + "; ".join(problems) if problems else ""))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
