#!/usr/bin/env python3
"""Calls the notes example server (src/main.rs) with impacket, as any DCE/RPC client would:
asks its endpoint mapper where `notes` listens, then adds two notes, lists them, reads them
back through a cursor (a context handle), and asks who the server thinks is calling.

    python3 call_with_impacket.py [HOST] [MAPPER-PORT]      (defaults: 127.0.0.1 1135)

Needs impacket (pip install impacket). Prints what it did; exits 1 on any surprise. The
NDR classes below are notes.idl written in impacket's terms."""

import sys

from impacket.dcerpc.v5 import epm, transport
from impacket.dcerpc.v5.dtypes import LONG, ULONG, LPWSTR, WSTR, NULL
from impacket.dcerpc.v5.ndr import NDRCALL, NDRSTRUCT, NDRUniConformantArray, NDRPOINTER
from impacket.uuid import uuidtup_to_bin

NOTES = uuidtup_to_bin(("8d5e2c1a-4b7f-4e0d-9a63-2f1c7b9e5d40", "1.0"))


class NOTE(NDRSTRUCT):
    structure = (("id", LONG), ("author", LPWSTR), ("text", LPWSTR))


class NOTE_ARRAY(NDRUniConformantArray):
    item = NOTE


class PNOTE_ARRAY(NDRPOINTER):
    referent = (("Data", NOTE_ARRAY),)


class NOTE_LIST(NDRSTRUCT):
    structure = (("count", ULONG), ("items", PNOTE_ARRAY))


class CONTEXT(NDRSTRUCT):
    structure = (("Data", "20s=b''"),)

    def getAlignment(self):
        return 4


class AddNote(NDRCALL):
    opnum = 0
    structure = (("author", WSTR), ("text", WSTR))


class AddNoteResponse(NDRCALL):
    structure = (("id", LONG), ("ErrorCode", ULONG))


class ListNotes(NDRCALL):
    opnum = 1
    structure = ()


class ListNotesResponse(NDRCALL):
    structure = (("list", NOTE_LIST), ("ErrorCode", ULONG))


class WhoAmI(NDRCALL):
    opnum = 2
    structure = ()


class WhoAmIResponse(NDRCALL):
    structure = (("who", LPWSTR), ("ErrorCode", ULONG))


class OpenCursor(NDRCALL):
    opnum = 3
    structure = ()


class OpenCursorResponse(NDRCALL):
    structure = (("cursor", CONTEXT), ("ErrorCode", ULONG))


class Next(NDRCALL):
    opnum = 4
    structure = (("cursor", CONTEXT), ("max", ULONG))


class NextResponse(NDRCALL):
    structure = (("batch", NOTE_LIST), ("ErrorCode", ULONG))


class CloseCursor(NDRCALL):
    opnum = 5
    structure = (("cursor", CONTEXT),)


class CloseCursorResponse(NDRCALL):
    structure = (("cursor", CONTEXT), ("ErrorCode", ULONG))


def notes_of(lst):
    if lst["count"] == 0:
        return []
    # impacket hands a pointer's referent through: the array's items.
    return [(n["id"], n["author"].rstrip("\0"), n["text"].rstrip("\0"))
            for n in lst["items"]]


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    mapper_port = int(sys.argv[2]) if len(sys.argv) > 2 else 1135

    # Where does `notes` listen? Ask the server's endpoint mapper.
    t = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[%d]" % (host, mapper_port))
    dce = t.get_dce_rpc()
    dce.connect()
    binding = epm.hept_map(host, NOTES, protocol="ncacn_ip_tcp", dce=dce)
    dce.disconnect()
    print("the mapper says notes is at", binding)

    dce = transport.DCERPCTransportFactory(binding).get_dce_rpc()
    dce.connect()
    dce.bind(NOTES)

    def call(request, response):
        dce.call(request.opnum, request)
        r = response(dce.recv())
        if r["ErrorCode"] not in (0, 1):
            raise SystemExit("%s returned %d" % (type(request).__name__, r["ErrorCode"]))
        return r

    ids = []
    for author, text in (("ada", "first note\0"), ("grace", "second, with \u00fc\0")):
        req = AddNote()
        req["author"] = author + "\0"
        req["text"] = text
        ids.append(call(req, AddNoteResponse)["id"])
    print("added notes", ids)

    listed = notes_of(call(ListNotes(), ListNotesResponse)["list"])
    print("ListNotes:", listed)

    # A context handle goes back as it came.
    cursor = call(OpenCursor(), OpenCursorResponse)["cursor"]
    seen = []
    while True:
        req = Next()
        req["cursor"] = cursor
        req["max"] = 1
        r = call(req, NextResponse)
        if r["ErrorCode"] == 1:
            break
        seen += notes_of(r["batch"])
    req = CloseCursor()
    req["cursor"] = cursor
    closed = call(req, CloseCursorResponse)["cursor"]
    closed = closed if isinstance(closed, bytes) else closed.getData()
    print("through the cursor:", seen, "; closed:", closed == b"\0" * 20)

    who = call(WhoAmI(), WhoAmIResponse)["who"].rstrip("\0")
    print("the server sees:", who)
    dce.disconnect()

    mine = [n for n in listed if n[0] in ids]
    if len(mine) != 2 or [n[0] for n in seen][-2:] != ids or closed != b"\0" * 20:
        print("FAIL: unexpected answers")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
