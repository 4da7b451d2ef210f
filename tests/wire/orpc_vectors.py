#!/usr/bin/env python3
"""ORPC wire vectors made by impacket's DCOM classes (impacket.dcerpc.v5.dcomrt).

Run with the venv that tests/wire/setup.sh makes (target/wire/venv):

    python tests/wire/orpc_vectors.py encode          # print NAME HEX for every vector
    python tests/wire/orpc_vectors.py decode KIND HEX # parse HEX as KIND, print its fields

`encode` builds fixed values chosen here (the same ones runtime/dcom/tests/vectors.rs
builds) with impacket's classes and prints the bytes impacket makes. Referent IDs are
set through impacket's fields to the numbering comidl's engine, Samba and Windows use
(0x00020000 + 4*n in wire order, see vectors.py); nothing here needs alignment padding,
so impacket's padding markers never appear.

`decode` is the other direction: KIND is one of stdobjref, dualstringarray, objref,
orpcthis, orpcthat, minterfacepointer; HEX is what some other encoder made. impacket
parses it and the script prints the fields it read as one JSON object (GUIDs in their
text form, byte strings in hex), or exits 1 with impacket's complaint. impacket's
parsers are lenient: the caller compares the fields, not just the exit status. Its
WIDESTR finds a string's end by looking for three zero bytes, so an empty principal name
followed by another security binding is misread: values decoded here name every binding.

impacket's DUALSTRINGARRAY class is the NDR (IDL) form, with a conformance count; the
packed form inside an OBJREF (MS-DCOM 2.2.19.1) is built here from impacket's
STRINGBINDING and SECURITYBINDING structures behind DUALSTRINGARRAYPACKED's header.
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from impacket.dcerpc.v5 import dcomrt  # noqa: E402
from impacket.dcerpc.v5.ndr import NULL  # noqa: E402
from impacket.uuid import bin_to_string, string_to_bin  # noqa: E402

from vectors import number_referents  # noqa: E402

IID_IUNKNOWN = "00000000-0000-0000-C000-000000000046"
IPID = "00010203-0405-0607-0809-0A0B0C0D0E0F"
CID = "11111111-2222-3333-4444-555555555555"
CLSID = "A1B2C3D4-1111-2222-3333-444455556666"
EXT1 = "6F7E8D9C-0001-0002-0003-000400050006"
EXT2 = "6F7E8D9C-0001-0002-0003-000400050007"


def stdobjref():
    s = dcomrt.STDOBJREF()
    s["flags"] = 0x1000           # SORF_NOPING
    s["cPublicRefs"] = 5
    s["oxid"] = 0x1122334455667788
    s["oid"] = 0x99AABBCCDDEEFF00
    s["ipid"] = string_to_bin(IPID)
    return s


def dualstringarray():
    """127.0.0.1[49152] over ncacn_ip_tcp, then NTLM (10) and Kerberos (16, "host/x")."""
    units = b""
    for tower, addr in [(7, "127.0.0.1[49152]"), (7, "localhost")]:
        b = dcomrt.STRINGBINDING()
        b["wTowerId"] = tower
        b["aNetworkAddr"] = addr + "\x00"
        units += b.getData()
    units += b"\x00\x00"
    sec = len(units) // 2
    for authn, name in [(10, ""), (16, "host/x")]:
        b = dcomrt.SECURITYBINDING()
        b["wAuthnSvc"] = authn
        b["Reserved"] = 0xFFFF
        b["aPrincName"] = name + "\x00"
        units += b.getData()
    units += b"\x00\x00"
    d = dcomrt.DUALSTRINGARRAYPACKED()
    d["wNumEntries"] = len(units) // 2
    d["wSecurityOffset"] = sec
    d["aStringArray"] = units
    return d.getData()


def objref_standard():
    o = dcomrt.OBJREF_STANDARD()
    o["iid"] = string_to_bin(IID_IUNKNOWN)
    o["std"] = stdobjref()
    o["saResAddr"] = dualstringarray()
    return o.getData()


def objref_handler():
    o = dcomrt.OBJREF_HANDLER()
    o["iid"] = string_to_bin(IID_IUNKNOWN)
    o["std"] = stdobjref()
    o["clsid"] = string_to_bin(CLSID)
    o["saResAddr"] = dualstringarray()
    return o.getData()


def objref_custom():
    o = dcomrt.OBJREF_CUSTOM()
    o["iid"] = string_to_bin(IID_IUNKNOWN)
    o["clsid"] = string_to_bin(CLSID)
    o["cbExtension"] = 0
    o["ObjectReferenceSize"] = 0xDEADBEEF      # MS-DCOM's `reserved`
    o["pObjectData"] = bytes(range(1, 12))
    return o.getData()


def extent(guid, data):
    e = dcomrt.ORPC_EXTENT()
    e["id"] = string_to_bin(guid)
    e["size"] = len(data)
    padded = data + b"\x00" * (-len(data) % 8)
    e["data"] = list(padded[i:i + 1] for i in range(len(padded)))
    return e


def extent_array(extents):
    """An ORPC_EXTENT_ARRAY: `size` extents in (size+1)&~1 slots, the spare one NULL."""
    a = dcomrt.ORPC_EXTENT_ARRAY()
    a["size"] = len(extents)
    a["reserved"] = 0
    slots = []
    for e in extents:
        p = dcomrt.PORPC_EXTENT()
        p["Data"] = e
        slots.append(p)
    if len(slots) % 2:
        slots.append(NULL)
    a["extent"] = slots
    return a


class ThisAlone(dcomrt.DCOMCALL):
    """A request whose stub data is ORPCTHIS and nothing else: impacket writes the
    referents of embedded pointers only for a whole call, not for a lone structure."""
    opnum = 0
    structure = ()


class ThatAlone(dcomrt.DCOMANSWER):
    """A response whose stub data is ORPCTHAT and nothing else."""
    structure = ()


def orpcthis(extents):
    call = ThisAlone()
    t = call["ORPCthis"]
    t["version"]["MajorVersion"] = 5
    t["version"]["MinorVersion"] = 7
    t["flags"] = 0
    t["reserved1"] = 0
    t["cid"] = string_to_bin(CID)
    t["extensions"] = extent_array(extents) if extents else NULL
    return number_referents(call, False)[0]


def orpcthat(extents):
    call = ThatAlone()
    t = call["ORPCthat"]
    t["flags"] = 0
    t["extensions"] = extent_array(extents) if extents else NULL
    return number_referents(call, False)[0]


def minterfacepointer():
    data = objref_standard()
    m = dcomrt.MInterfacePointer()
    m["ulCntData"] = len(data)
    m["abData"] = list(data[i:i + 1] for i in range(len(data)))
    return m.getData()


VECTORS = [
    ("stdobjref", lambda: stdobjref().getData()),
    ("dualstringarray", dualstringarray),
    ("objref_standard", objref_standard),
    ("objref_handler", objref_handler),
    ("objref_custom", objref_custom),
    ("orpcthis_plain", lambda: orpcthis([])),
    ("orpcthis_one_extension", lambda: orpcthis([extent(EXT1, b"hello")])),
    ("orpcthat_plain", lambda: orpcthat([])),
    ("orpcthat_two_extensions",
     lambda: orpcthat([extent(EXT1, b"\x01\x02\x03\x04\x05\x06\x07\x08"),
                       extent(EXT2, b"")])),
    ("minterfacepointer", minterfacepointer),
]


# ---------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------

def guid(b):
    return bin_to_string(b).upper()


def std_fields(s):
    return {"flags": s["flags"], "cPublicRefs": s["cPublicRefs"], "oxid": s["oxid"],
            "oid": s["oid"], "ipid": guid(s["ipid"])}


def split_bindings(units, sec):
    """The packed array's bindings, read with impacket's STRINGBINDING and
    SECURITYBINDING as its DCOMConnection reads them."""
    strings, secs = [], []
    part = units[:sec * 2]
    while part[:2] not in (b"", b"\x00\x00"):
        b = dcomrt.STRINGBINDING(part)
        strings.append([b["wTowerId"], b["aNetworkAddr"].rstrip("\x00")])
        part = part[len(b):]
    part = units[sec * 2:]
    while part[:2] not in (b"", b"\x00\x00"):
        b = dcomrt.SECURITYBINDING(part)
        secs.append([b["wAuthnSvc"], b["Reserved"], b["aPrincName"].rstrip("\x00")])
        part = part[len(b):]
    return {"strings": strings, "security": secs}


def dsa_fields(data):
    d = dcomrt.DUALSTRINGARRAYPACKED(data)
    units = d["aStringArray"]
    out = {"wNumEntries": d["wNumEntries"], "wSecurityOffset": d["wSecurityOffset"]}
    out.update(split_bindings(units, d["wSecurityOffset"]))
    return out, 4 + 2 * d["wNumEntries"]


def extents_fields(p):
    """The fields of an ORPC_EXTENT_ARRAY behind impacket's pointer object `p` (read
    through `.fields`: indexing a pointer reads its referent)."""
    if p.fields["ReferentID"] == 0:
        return None
    a = p.fields["Data"]
    if a.fields["extent"].fields["ReferentID"] == 0:
        return {"size": a["size"], "extent": None}
    slots = []
    for s in a["extent"]:
        if s.fields["ReferentID"] == 0:
            slots.append(None)
            continue
        e = s.fields["Data"]
        slots.append({"id": guid(e["id"]), "size": e["size"],
                      "data": b"".join(e["data"])[:e["size"]].hex()})
    return {"size": a["size"], "extent": slots}


def decode(kind, data):
    if kind == "stdobjref":
        return std_fields(dcomrt.STDOBJREF(data))
    if kind == "dualstringarray":
        out, used = dsa_fields(data)
        out["used"] = used
        return out
    if kind == "objref":
        head = dcomrt.OBJREF(data)
        flags = struct.unpack_from("<I", data, 4)[0]
        out = {"signature": struct.unpack_from("<I", data, 0)[0], "flags": flags}
        if flags == 1:
            o = dcomrt.OBJREF_STANDARD(data)
            out.update(iid=guid(o["iid"]), std=std_fields(o["std"]),
                       saResAddr=dsa_fields(o["saResAddr"])[0])
        elif flags == 2:
            o = dcomrt.OBJREF_HANDLER(data)
            out.update(iid=guid(o["iid"]), std=std_fields(o["std"]),
                       clsid=guid(o["clsid"]), saResAddr=dsa_fields(o["saResAddr"])[0])
        elif flags == 4:
            o = dcomrt.OBJREF_CUSTOM(data)
            out.update(iid=guid(o["iid"]), clsid=guid(o["clsid"]),
                       cbExtension=o["cbExtension"], reserved=o["ObjectReferenceSize"],
                       pObjectData=o["pObjectData"].hex())
        else:
            out.update(iid=guid(head["iid"]))
        return out
    if kind == "orpcthis":
        t = ThisAlone(data)["ORPCthis"]
        return {"version": [t["version"]["MajorVersion"], t["version"]["MinorVersion"]],
                "flags": t["flags"], "reserved1": t["reserved1"], "cid": guid(t["cid"]),
                "extensions": extents_fields(t.fields["extensions"])}
    if kind == "orpcthat":
        t = ThatAlone(data)["ORPCthat"]
        return {"flags": t["flags"], "extensions": extents_fields(t.fields["extensions"])}
    if kind == "minterfacepointer":
        m = dcomrt.MInterfacePointer(data)
        return {"ulCntData": m["ulCntData"], "abData": b"".join(m["abData"]).hex()}
    raise SystemExit("unknown kind %r" % kind)


def main(argv):
    if len(argv) == 2 and argv[1] == "encode":
        for name, build in VECTORS:
            print(name, build().hex())
        return 0
    if len(argv) == 4 and argv[1] == "decode":
        try:
            fields = decode(argv[2], bytes.fromhex(argv[3]))
        except Exception as e:  # impacket refuses with many exception types
            print("impacket could not decode: %r" % (e,), file=sys.stderr)
            return 1
        print(json.dumps(fields, sort_keys=True))
        return 0
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
