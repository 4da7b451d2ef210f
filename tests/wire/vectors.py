#!/usr/bin/env python3
"""NDR test vectors made by impacket, judged by Samba's ndrdump.

Run with the venv that tests/wire/setup.sh makes (target/wire/venv):

    python tests/wire/vectors.py encode OUTDIR   # write NAME.in.bin, NAME.out.bin, NAME.json
    python tests/wire/vectors.py check OUTDIR    # judge them with ndrdump
    python tests/wire/vectors.py all OUTDIR      # both
    python tests/wire/vectors.py decode OUTDIR   # read another encoder's bytes with impacket

Each vector is one call of an MS-RPCE interface (see idl/ beside this file): the request
and the reply are built with impacket's own protocol classes (impacket.dcerpc.v5.epm,
wkst, srvs, samr) from fixed values chosen here, and encoded by impacket. Nothing that
impacket produces is committed: the vectors are made at test time.

The check runs `ndrdump PIPE FUNCTION in|out FILE --validate` (with `-c REQUEST` for a
reply) and passes a direction when Samba parses every byte, the values Samba prints are
the ones encoded, and Samba's own re-encoding equals impacket's bytes except in alignment
padding. Padding may hold anything (MS-RPCE 2.2: padding octets may be set to any value
and are ignored by the receiver); impacket fills it with marker bytes (0xaa, 0xab ...)
where Samba writes zeros, so those bytes, and only those, may differ.

Referent IDs are values of our choosing too. impacket draws them at random; here they are
set through impacket's own fields to the numbering that Samba and Windows use, so that the
bytes are reproducible: a unique pointer gets 0x00020000 + 4*n and a full ([ptr]) pointer
gets n + 1, where n counts the non-null pointers already marshalled in the message
(one counter for both kinds, in wire order).

`decode` runs the other way: OUTDIR holds NAME.in.bin / NAME.out.bin that some other
encoder (comidl's stubs, via wire-check) made from the same values, and NAME.json. Each
is parsed with the class the vector's builder uses for that direction, and passes when
impacket reads every byte, what it reads equals the JSON's values (ValueWalk: every JSON
value must have a counterpart; referent IDs are not values), and impacket writes what it
read back as the same bytes except in alignment padding (impacket's fill where OUTDIR's
bytes have zeros), which catches counts that impacket's lenient parser would pass over.
"""

import json
import logging
import os
import re
import socket
import struct
import subprocess
import sys

from impacket.dcerpc.v5 import epm, samr, srvs, wkst
from impacket.dcerpc.v5.dtypes import GUID, RPC_SID, RPC_UNICODE_STRING, WSTR
from impacket.dcerpc.v5.ndr import (NDR, NDRCONSTRUCTEDTYPE, NDRPOINTER, NDRPOINTERNULL,
                                    NDRUNION, NULL, NDRArray)
from impacket.uuid import bin_to_string, string_to_bin

NDR20 = "8a885d04-1ceb-11c9-9fe8-08002b104860"
WKSSVC = "6bffd098-a112-3610-9833-46c3f87e345a"
SRVSVC = "4b324fc8-1670-01d3-1278-5a47bf6ee188"

# Bytes impacket writes into alignment gaps (ndr.py): any of these in impacket's output
# where Samba's re-encoding has a zero is a padding difference, not a disagreement.
IMPACKET_PAD_MARKERS = {0xAA, 0xAB, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF, 0xCA, 0xCB, 0xCC,
                        0xCE, 0xDD, 0xEE, 0xEF}


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------

def utf16z(s):
    """A [string] wchar_t* value as impacket's WSTR takes it: the text and its NUL."""
    return s + "\x00"


def set_handle(parent, key, handle):
    """A context handle (MS-RPCE 2.2.4.2 ndr_context_handle: attributes, UUID)."""
    obj = parent.fields[key]
    raw = struct.pack("<I", handle["attributes"]) + string_to_bin(handle["uuid"])
    if "context_handle_attributes" in obj.fields:      # epm.ept_lookup_handle_t
        obj["context_handle_attributes"] = handle["attributes"]
        obj["context_handle_uuid"] = string_to_bin(handle["uuid"])
    else:                                               # samr.SAMPR_HANDLE: 20 raw bytes
        obj["Data"] = raw


def tower_octets(t):
    """A C706 Appendix L protocol tower built with impacket's floor classes."""
    iface = epm.EPMRPCInterface()
    iface["InterfaceUUID"] = string_to_bin(t["interface"])
    iface["MajorVersion"], iface["MinorVersion"] = t["interface_version"]
    syntax = epm.EPMRPCDataRepresentation()
    syntax["DataRepUuid"] = string_to_bin(t["transfer_syntax"])
    syntax["MajorVersion"], syntax["MinorVersion"] = t["transfer_syntax_version"]
    proto = epm.EPMProtocolIdentifier()
    proto["ProtIdentifier"] = epm.FLOOR_RPCV5_IDENTIFIER   # 0x0b: connection-oriented
    proto["MinorVersion"] = 0
    floors = iface.getData() + syntax.getData() + proto.getData()
    if t["protseq"] == "ncacn_ip_tcp":
        port = epm.EPMPortAddr()
        port["IpPort"] = t["port"]
        host = epm.EPMHostAddr()
        host["Ip4addr"] = socket.inet_aton(t["ip"])
        floors += port.getData() + host.getData()
    elif t["protseq"] == "ncacn_np":
        pipe = epm.EPMPipeName()
        pipe["PipeName"] = t["pipe"].encode() + b"\x00"
        host = epm.EPMHostName()
        host["HostName"] = t["host"].encode() + b"\x00"
        floors += pipe.getData() + host.getData()
    else:
        raise ValueError(t["protseq"])
    tower = epm.EPMTower()
    tower["NumberOfFloors"] = 5
    tower["Floors"] = floors
    return tower.getData()


def fill_twr(twr, t):
    octets = tower_octets(t)
    twr["tower_length"] = len(octets)
    twr["tower_octet_string"] = octets


def tcp_tower(interface, version, port, ip):
    return {"protseq": "ncacn_ip_tcp", "interface": interface, "interface_version": version,
            "transfer_syntax": NDR20, "transfer_syntax_version": [2, 0],
            "port": port, "ip": ip}


def np_tower(interface, version, pipe, host):
    return {"protseq": "ncacn_np", "interface": interface, "interface_version": version,
            "transfer_syntax": NDR20, "transfer_syntax_version": [2, 0],
            "pipe": pipe, "host": host}


def set_sid(sid_obj, text):
    sid_obj.fromCanonical(text)


# ---------------------------------------------------------------------------------------
# The vectors. Each builder returns (request, reply) impacket NDRCALL objects.
# ---------------------------------------------------------------------------------------

VECTORS = []


def vector(name, pipe, function, opnum, full_pointers=False):
    def register(fn):
        VECTORS.append({"name": name, "pipe": pipe, "function": function, "opnum": opnum,
                        "full_pointers": full_pointers, "build": fn})
        return fn
    return register


# --- epmapper (C706 Appendix O, MS-RPCE 2.2.1.2) ---------------------------------------

EPM_MAP_VALUES = {
    "in": {
        "obj": None,
        "map_tower": tcp_tower(WKSSVC, [1, 0], 0, "0.0.0.0"),
        "entry_handle": {"attributes": 0, "uuid": "00000000-0000-0000-0000-000000000000"},
        "max_towers": 4,
    },
    "out": {
        "entry_handle": {"attributes": 0, "uuid": "00000000-0000-0000-0000-000000000000"},
        "num_towers": 1,
        "towers": [tcp_tower(WKSSVC, [1, 0], 49152, "127.0.0.1")],
        "status": 0,
    },
}


@vector("epm_map", "epmapper", "epm_Map", 3, full_pointers=True)
def build_epm_map(v):
    req = epm.ept_map()
    req["obj"] = NULL
    fill_twr(req["map_tower"], v["in"]["map_tower"])
    set_handle(req, "entry_handle", v["in"]["entry_handle"])
    req["max_towers"] = v["in"]["max_towers"]

    rep = epm.ept_mapResponse()
    set_handle(rep, "entry_handle", v["out"]["entry_handle"])
    rep["num_towers"] = v["out"]["num_towers"]
    for t in v["out"]["towers"]:
        p = epm.twr_p_t()
        fill_twr(p, t)
        rep["ITowers"].append(p)
    # [size_is(max_towers)]: the conformance is the request's max_towers.
    rep.fields["ITowers"].fields["MaximumCount"] = v["in"]["max_towers"]
    rep["status"] = v["out"]["status"]
    return req, rep


EPM_LOOKUP_VALUES = {
    "in": {
        "inquiry_type": 1,                      # RPC_C_EP_MATCH_BY_IF
        "object": None,
        "Ifid": {"Uuid": WKSSVC, "VersMajor": 1, "VersMinor": 0},
        "vers_option": 1,                       # RPC_C_VERS_ALL
        "entry_handle": {"attributes": 0, "uuid": "00000000-0000-0000-0000-000000000000"},
        "max_ents": 2,
    },
    "out": {
        "entry_handle": {"attributes": 0, "uuid": "5be0e1b2-7f8e-4c3a-9d21-0a1b2c3d4e5f"},
        "num_ents": 2,
        "entries": [
            {"object": "00000000-0000-0000-0000-000000000000",
             "tower": tcp_tower(WKSSVC, [1, 0], 49152, "127.0.0.1"),
             "annotation": "Workstation"},
            {"object": "00000000-0000-0000-0000-000000000000",
             "tower": np_tower(WKSSVC, [1, 0], "\\PIPE\\wkssvc", "\\\\SRV1"),
             "annotation": "Workstation"},
        ],
        "status": 0,
    },
}


@vector("epm_lookup", "epmapper", "epm_Lookup", 2, full_pointers=True)
def build_epm_lookup(v):
    i, o = v["in"], v["out"]
    req = epm.ept_lookup()
    req["inquiry_type"] = i["inquiry_type"]
    req["object"] = NULL
    req["Ifid"]["Uuid"] = string_to_bin(i["Ifid"]["Uuid"])
    req["Ifid"]["VersMajor"] = i["Ifid"]["VersMajor"]
    req["Ifid"]["VersMinor"] = i["Ifid"]["VersMinor"]
    req["vers_option"] = i["vers_option"]
    set_handle(req, "entry_handle", i["entry_handle"])
    req["max_ents"] = i["max_ents"]

    rep = epm.ept_lookupResponse()
    set_handle(rep, "entry_handle", o["entry_handle"])
    rep["num_ents"] = o["num_ents"]
    for e in o["entries"]:
        entry = epm.ept_entry_t()
        entry["object"] = string_to_bin(e["object"])
        fill_twr(entry["tower"], e["tower"])
        # [string] char annotation[64]: a varying array of chars ending in NUL.
        entry["annotation"] = list(e["annotation"].encode() + b"\x00")
        rep["entries"].append(entry)
    rep.fields["entries"].fields["MaximumCount"] = i["max_ents"]
    rep["status"] = o["status"]
    return req, rep


# --- wkssvc (MS-WKST) -------------------------------------------------------------------

WKS_GETINFO100_VALUES = {
    "in": {"ServerName": "\\\\SRV1", "Level": 100},
    "out": {
        "WkstaInfo": {"Level": 100, "WkstaInfo100": {
            "wki100_platform_id": 500,          # PLATFORM_ID_NT
            "wki100_computername": "SRV1",
            "wki100_langroup": "WORKGROUP",
            "wki100_ver_major": 6,
            "wki100_ver_minor": 1,
        }},
        "ReturnValue": 0,
    },
}


@vector("wkssvc_getinfo100", "wkssvc", "wkssvc_NetWkstaGetInfo", 0)
def build_wks_getinfo100(v):
    req = wkst.NetrWkstaGetInfo()
    req["ServerName"] = utf16z(v["in"]["ServerName"])
    req["Level"] = v["in"]["Level"]

    rep = wkst.NetrWkstaGetInfoResponse()
    info = v["out"]["WkstaInfo"]["WkstaInfo100"]
    rep["WkstaInfo"]["tag"] = v["out"]["WkstaInfo"]["Level"]
    arm = rep["WkstaInfo"]["WkstaInfo100"]
    arm["wki100_platform_id"] = info["wki100_platform_id"]
    arm["wki100_computername"] = utf16z(info["wki100_computername"])
    arm["wki100_langroup"] = utf16z(info["wki100_langroup"])
    arm["wki100_ver_major"] = info["wki100_ver_major"]
    arm["wki100_ver_minor"] = info["wki100_ver_minor"]
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


WKS_GETINFO101_VALUES = {
    "in": {"ServerName": None, "Level": 101},
    "out": {
        "WkstaInfo": {"Level": 101, "WkstaInfo101": {
            "wki101_platform_id": 500,
            "wki101_computername": "FILESERVER-02",
            "wki101_langroup": "EXAMPLE",
            "wki101_ver_major": 10,
            "wki101_ver_minor": 0,
            "wki101_lanroot": None,
        }},
        "ReturnValue": 0,
    },
}


@vector("wkssvc_getinfo101", "wkssvc", "wkssvc_NetWkstaGetInfo", 0)
def build_wks_getinfo101(v):
    req = wkst.NetrWkstaGetInfo()
    req["ServerName"] = NULL
    req["Level"] = v["in"]["Level"]

    rep = wkst.NetrWkstaGetInfoResponse()
    info = v["out"]["WkstaInfo"]["WkstaInfo101"]
    rep["WkstaInfo"]["tag"] = v["out"]["WkstaInfo"]["Level"]
    arm = rep["WkstaInfo"]["WkstaInfo101"]
    arm["wki101_platform_id"] = info["wki101_platform_id"]
    arm["wki101_computername"] = utf16z(info["wki101_computername"])
    arm["wki101_langroup"] = utf16z(info["wki101_langroup"])
    arm["wki101_ver_major"] = info["wki101_ver_major"]
    arm["wki101_ver_minor"] = info["wki101_ver_minor"]
    arm["wki101_lanroot"] = NULL
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


WKS_USERENUM1_VALUES = {
    "in": {
        "ServerName": "\\\\SRV1",
        "UserInfo": {"Level": 1, "Level1": {"EntriesRead": 0, "Buffer": None}},
        "PreferredMaximumLength": 0xFFFFFFFF,
        "ResumeHandle": 0,
    },
    "out": {
        "UserInfo": {"Level": 1, "Level1": {"EntriesRead": 2, "Buffer": [
            {"wkui1_username": "alice", "wkui1_logon_domain": "EXAMPLE",
             "wkui1_oth_domains": "", "wkui1_logon_server": "DC1"},
            {"wkui1_username": "svc-backup", "wkui1_logon_domain": "SRV1",
             "wkui1_oth_domains": "LAB", "wkui1_logon_server": "SRV1"},
        ]}},
        "TotalEntries": 2,
        "ResumeHandle": 0,
        "ReturnValue": 0,
    },
}


class NetrWkstaUserEnumResponseSpec(wkst.NetrWkstaUserEnumResponse):
    """impacket's reply class with ResumeHandle as the spec has it.

    MS-WKST 3.2.4.3 declares [in, out, unique] unsigned long *ResumeHandle, so the reply
    carries a referent ID before the value; impacket's NetrWkstaUserEnumResponse declares
    a bare ULONG (4 bytes short). The request class has it right (LPULONG)."""
    structure = (
        ("UserInfo", wkst.WKSTA_USER_ENUM_STRUCT),
        ("TotalEntries", wkst.ULONG),
        ("ResumeHandle", wkst.LPULONG),
        ("ErrorCode", wkst.ULONG),
    )


def fill_user_info_1(item, u):
    for key in ("wkui1_username", "wkui1_logon_domain", "wkui1_oth_domains",
                "wkui1_logon_server"):
        item[key] = utf16z(u[key])


@vector("wkssvc_userenum1", "wkssvc", "wkssvc_NetWkstaEnumUsers", 2)
def build_wks_userenum1(v):
    i, o = v["in"], v["out"]
    req = wkst.NetrWkstaUserEnum()
    req["ServerName"] = utf16z(i["ServerName"])
    req["UserInfo"]["Level"] = i["UserInfo"]["Level"]
    req["UserInfo"]["WkstaUserInfo"]["tag"] = i["UserInfo"]["Level"]
    req["UserInfo"]["WkstaUserInfo"]["Level1"]["EntriesRead"] = 0
    req["UserInfo"]["WkstaUserInfo"]["Level1"]["Buffer"] = NULL
    req["PreferredMaximumLength"] = i["PreferredMaximumLength"]
    req["ResumeHandle"] = i["ResumeHandle"]

    rep = NetrWkstaUserEnumResponseSpec()
    rep["UserInfo"]["Level"] = o["UserInfo"]["Level"]
    rep["UserInfo"]["WkstaUserInfo"]["tag"] = o["UserInfo"]["Level"]
    cont = rep["UserInfo"]["WkstaUserInfo"]["Level1"]
    cont["EntriesRead"] = o["UserInfo"]["Level1"]["EntriesRead"]
    for u in o["UserInfo"]["Level1"]["Buffer"]:
        item = wkst.WKSTA_USER_INFO_1()
        fill_user_info_1(item, u)
        cont["Buffer"].append(item)
    rep["TotalEntries"] = o["TotalEntries"]
    rep["ResumeHandle"] = o["ResumeHandle"]
    rep["ErrorCode"] = o["ReturnValue"]
    return req, rep


# --- srvsvc (MS-SRVS) -------------------------------------------------------------------

SRV_SHAREENUM1_VALUES = {
    "in": {
        "ServerName": "\\\\SRV1",
        "InfoStruct": {"Level": 1, "Level1": {"EntriesRead": 0, "Buffer": None}},
        "PreferedMaximumLength": 0xFFFFFFFF,
        "ResumeHandle": 0,
    },
    "out": {
        "InfoStruct": {"Level": 1, "Level1": {"EntriesRead": 3, "Buffer": [
            {"shi1_netname": "IPC$", "shi1_type": 0x80000003, "shi1_remark": "IPC Service"},
            {"shi1_netname": "data", "shi1_type": 0, "shi1_remark": "Project data"},
            {"shi1_netname": "scans", "shi1_type": 0, "shi1_remark": "Scanner drop box"},
        ]}},
        "TotalEntries": 3,
        "ResumeHandle": 0,
        "ReturnValue": 0,
    },
}


@vector("srvsvc_shareenum1", "srvsvc", "srvsvc_NetShareEnumAll", 15)
def build_srv_shareenum1(v):
    i, o = v["in"], v["out"]
    req = srvs.NetrShareEnum()
    req["ServerName"] = utf16z(i["ServerName"])
    req["InfoStruct"]["Level"] = 1
    req["InfoStruct"]["ShareInfo"]["tag"] = 1
    req["InfoStruct"]["ShareInfo"]["Level1"]["EntriesRead"] = 0
    req["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"] = NULL
    req["PreferedMaximumLength"] = i["PreferedMaximumLength"]
    req["ResumeHandle"] = i["ResumeHandle"]

    rep = srvs.NetrShareEnumResponse()
    rep["InfoStruct"]["Level"] = 1
    rep["InfoStruct"]["ShareInfo"]["tag"] = 1
    cont = rep["InfoStruct"]["ShareInfo"]["Level1"]
    cont["EntriesRead"] = o["InfoStruct"]["Level1"]["EntriesRead"]
    for s in o["InfoStruct"]["Level1"]["Buffer"]:
        item = srvs.SHARE_INFO_1()
        item["shi1_netname"] = utf16z(s["shi1_netname"])
        item["shi1_type"] = s["shi1_type"]
        item["shi1_remark"] = utf16z(s["shi1_remark"])
        cont["Buffer"].append(item)
    rep["TotalEntries"] = o["TotalEntries"]
    rep["ResumeHandle"] = o["ResumeHandle"]
    rep["ErrorCode"] = o["ReturnValue"]
    return req, rep


SRV_SHAREENUM0_VALUES = {
    "in": {
        "ServerName": None,
        "InfoStruct": {"Level": 0, "Level0": {"EntriesRead": 0, "Buffer": None}},
        "PreferedMaximumLength": 4096,
        "ResumeHandle": None,
    },
    "out": {
        "InfoStruct": {"Level": 0, "Level0": {"EntriesRead": 2, "Buffer": [
            {"shi0_netname": "ADMIN$"}, {"shi0_netname": "C$"},
        ]}},
        "TotalEntries": 2,
        "ResumeHandle": None,
        "ReturnValue": 0,
    },
}


@vector("srvsvc_shareenum0", "srvsvc", "srvsvc_NetShareEnumAll", 15)
def build_srv_shareenum0(v):
    i, o = v["in"], v["out"]
    req = srvs.NetrShareEnum()
    req["ServerName"] = NULL
    req["InfoStruct"]["Level"] = 0
    req["InfoStruct"]["ShareInfo"]["tag"] = 0
    req["InfoStruct"]["ShareInfo"]["Level0"]["EntriesRead"] = 0
    req["InfoStruct"]["ShareInfo"]["Level0"]["Buffer"] = NULL
    req["PreferedMaximumLength"] = i["PreferedMaximumLength"]
    req["ResumeHandle"] = NULL

    rep = srvs.NetrShareEnumResponse()
    rep["InfoStruct"]["Level"] = 0
    rep["InfoStruct"]["ShareInfo"]["tag"] = 0
    cont = rep["InfoStruct"]["ShareInfo"]["Level0"]
    cont["EntriesRead"] = o["InfoStruct"]["Level0"]["EntriesRead"]
    for s in o["InfoStruct"]["Level0"]["Buffer"]:
        item = srvs.SHARE_INFO_0()
        item["shi0_netname"] = utf16z(s["shi0_netname"])
        cont["Buffer"].append(item)
    rep["TotalEntries"] = o["TotalEntries"]
    rep["ResumeHandle"] = NULL
    rep["ErrorCode"] = o["ReturnValue"]
    return req, rep


# --- samr (MS-SAMR) ---------------------------------------------------------------------

SERVER_HANDLE = {"attributes": 0, "uuid": "6d4c1b1e-52a3-4bd6-8f3c-11aa22bb33cc"}
DOMAIN_HANDLE = {"attributes": 0, "uuid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}
DOMAIN_SID = "S-1-5-21-2779180621-1458932111-3387051456"

SAMR_CONNECT_VALUES = {
    "in": {"ServerName": "S", "DesiredAccess": 0x00000031},
    "out": {"ServerHandle": SERVER_HANDLE, "ReturnValue": 0},
}


@vector("samr_connect", "samr", "samr_Connect", 0)
def build_samr_connect(v):
    req = samr.SamrConnect()
    # PSAMPR_SERVER_NAME here points to ONE wchar_t (MS-SAMR 3.1.5.1.4: "the first
    # character of the NETBIOS name"). impacket's PSAMPR_SERVER_NAME2 referent is a
    # 4-byte field: the character and the two padding bytes before DesiredAccess.
    req["ServerName"] = v["in"]["ServerName"].encode("utf-16le") + b"\x00\x00"
    req["DesiredAccess"] = v["in"]["DesiredAccess"]
    rep = samr.SamrConnectResponse()
    set_handle(rep, "ServerHandle", v["out"]["ServerHandle"])
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


SAMR_CLOSE_VALUES = {
    "in": {"SamHandle": DOMAIN_HANDLE},
    "out": {"SamHandle": {"attributes": 0, "uuid": "00000000-0000-0000-0000-000000000000"},
            "ReturnValue": 0},
}


class SamrCloseHandleSpec(samr.SamrCloseHandle):
    """impacket's request class with the parameters of MS-SAMR 3.1.5.13.1.

    SamrCloseHandle has one parameter, [in, out] SAMPR_HANDLE *SamHandle; impacket's
    SamrCloseHandle also sends a 'DesiredAccess' LONG that no version of the method has
    (4 bytes too many)."""
    structure = (
        ("SamHandle", samr.SAMPR_HANDLE),
    )


@vector("samr_close", "samr", "samr_Close", 1)
def build_samr_close(v):
    req = SamrCloseHandleSpec()
    set_handle(req, "SamHandle", v["in"]["SamHandle"])
    rep = samr.SamrCloseHandleResponse()
    set_handle(rep, "SamHandle", v["out"]["SamHandle"])
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


SAMR_LOOKUP_VALUES = {
    "in": {"ServerHandle": SERVER_HANDLE, "Name": "SRV1"},
    "out": {"DomainId": DOMAIN_SID, "ReturnValue": 0},
}


@vector("samr_lookupdomain", "samr", "samr_LookupDomain", 5)
def build_samr_lookup(v):
    req = samr.SamrLookupDomainInSamServer()
    set_handle(req, "ServerHandle", v["in"]["ServerHandle"])
    req["Name"] = v["in"]["Name"]
    rep = samr.SamrLookupDomainInSamServerResponse()
    set_sid(rep["DomainId"], v["out"]["DomainId"])
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


SAMR_ENUM_VALUES = {
    "in": {"ServerHandle": SERVER_HANDLE, "EnumerationContext": 0,
           "PreferedMaximumLength": 0xFFFF},
    "out": {
        "EnumerationContext": 2,
        "Buffer": {"EntriesRead": 2, "Buffer": [
            {"RelativeId": 0, "Name": "SRV1"},
            {"RelativeId": 0, "Name": "Builtin"},
        ]},
        "CountReturned": 2,
        "ReturnValue": 0,
    },
}


@vector("samr_enumdomains", "samr", "samr_EnumDomains", 6)
def build_samr_enum(v):
    i, o = v["in"], v["out"]
    req = samr.SamrEnumerateDomainsInSamServer()
    set_handle(req, "ServerHandle", i["ServerHandle"])
    req["EnumerationContext"] = i["EnumerationContext"]
    req["PreferedMaximumLength"] = i["PreferedMaximumLength"]
    rep = samr.SamrEnumerateDomainsInSamServerResponse()
    rep["EnumerationContext"] = o["EnumerationContext"]
    rep["Buffer"]["EntriesRead"] = o["Buffer"]["EntriesRead"]
    for d in o["Buffer"]["Buffer"]:
        item = samr.SAMPR_RID_ENUMERATION()
        item["RelativeId"] = d["RelativeId"]
        item["Name"] = d["Name"]
        rep["Buffer"]["Buffer"].append(item)
    rep["CountReturned"] = o["CountReturned"]
    rep["ErrorCode"] = o["ReturnValue"]
    return req, rep


SAMR_OPEN_VALUES = {
    "in": {"ServerHandle": SERVER_HANDLE, "DesiredAccess": 0x00000305,
           "DomainId": DOMAIN_SID},
    "out": {"DomainHandle": DOMAIN_HANDLE, "ReturnValue": 0},
}


@vector("samr_opendomain", "samr", "samr_OpenDomain", 7)
def build_samr_open(v):
    req = samr.SamrOpenDomain()
    set_handle(req, "ServerHandle", v["in"]["ServerHandle"])
    req["DesiredAccess"] = v["in"]["DesiredAccess"]
    set_sid(req["DomainId"], v["in"]["DomainId"])
    rep = samr.SamrOpenDomainResponse()
    set_handle(rep, "DomainHandle", v["out"]["DomainHandle"])
    rep["ErrorCode"] = v["out"]["ReturnValue"]
    return req, rep


VALUES = {
    "epm_map": EPM_MAP_VALUES,
    "epm_lookup": EPM_LOOKUP_VALUES,
    "wkssvc_getinfo100": WKS_GETINFO100_VALUES,
    "wkssvc_getinfo101": WKS_GETINFO101_VALUES,
    "wkssvc_userenum1": WKS_USERENUM1_VALUES,
    "srvsvc_shareenum1": SRV_SHAREENUM1_VALUES,
    "srvsvc_shareenum0": SRV_SHAREENUM0_VALUES,
    "samr_connect": SAMR_CONNECT_VALUES,
    "samr_close": SAMR_CLOSE_VALUES,
    "samr_lookupdomain": SAMR_LOOKUP_VALUES,
    "samr_enumdomains": SAMR_ENUM_VALUES,
    "samr_opendomain": SAMR_OPEN_VALUES,
}


# ---------------------------------------------------------------------------------------
# Referent IDs
# ---------------------------------------------------------------------------------------

def live_pointers(obj, seen=None):
    """Every non-null pointer object reachable from an impacket NDR object."""
    if seen is None:
        seen = set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, NDRPOINTER) and obj.fields.get("ReferentID", 0) != 0:
        yield obj
    fields = getattr(obj, "fields", None)
    if not isinstance(fields, dict):
        return
    for value in fields.values():
        if isinstance(value, NDR):
            yield from live_pointers(value, seen)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, NDR):
                    yield from live_pointers(item, seen)


def number_referents(call, full_pointers):
    """Give the message's pointers the referent IDs Samba and Windows would: first mark
    each with a unique sentinel to learn the order impacket puts them on the wire, then
    number them in that order. Returns the encoding and [(offset, id)] of each pointer."""
    pointers = list(live_pointers(call))
    sentinels = {}
    for k, p in enumerate(pointers):
        value = 0x5EC00000 + 4 * k
        p.fields["ReferentID"] = value
        sentinels[value] = p
    data = call.getData()
    found = []
    for value, p in sentinels.items():
        needle = struct.pack("<I", value)
        hits = [m.start() for m in re.finditer(re.escape(needle), data) if m.start() % 4 == 0]
        if len(hits) > 1:
            raise RuntimeError("sentinel %#x found %d times" % (value, len(hits)))
        if hits:
            found.append((hits[0], p))
        else:
            p.fields["ReferentID"] = 0xDEAD      # in a union arm not marshalled: unused
    found.sort(key=lambda hit: hit[0])
    layout = []
    for n, (offset, p) in enumerate(found):
        ref = (n + 1) if full_pointers else (0x00020000 + 4 * n)
        p.fields["ReferentID"] = ref
        layout.append([offset, ref])
    final = call.getData()
    for offset, ref in layout:
        if struct.unpack_from("<I", final, offset)[0] != ref:
            raise RuntimeError("referent at %d moved" % offset)
    return final, layout


# ---------------------------------------------------------------------------------------
# encode
# ---------------------------------------------------------------------------------------

def encode(outdir):
    os.makedirs(outdir, exist_ok=True)
    for vec in VECTORS:
        name = vec["name"]
        values = VALUES[name]
        req, rep = vec["build"](values)
        req_bytes, req_refs = number_referents(req, vec["full_pointers"])
        rep_bytes, rep_refs = number_referents(rep, vec["full_pointers"])
        with open(os.path.join(outdir, name + ".in.bin"), "wb") as f:
            f.write(req_bytes)
        with open(os.path.join(outdir, name + ".out.bin"), "wb") as f:
            f.write(rep_bytes)
        doc = {
            "name": name,
            "pipe": vec["pipe"],
            "function": vec["function"],
            "opnum": vec["opnum"],
            "in": values["in"],
            "out": values["out"],
            "referents": {"in": req_refs, "out": rep_refs},
            "hex": {"in": req_bytes.hex(), "out": rep_bytes.hex()},
        }
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    print("encoded %d vectors into %s" % (len(VECTORS), outdir))


# ---------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------

DIFF_LINE = re.compile(r"^([-+ ])\[([0-9A-Fa-f]{4,})\]((?: {1,3}[0-9A-Fa-f]{2})+)")


def parse_validate_diff(text):
    """Rebuild (original, re-encoded) from ndrdump's --validate hex diff."""
    orig, new = {}, {}
    for line in text.splitlines():
        m = DIFF_LINE.match(line)
        if not m:
            continue
        side, offset = m.group(1), int(m.group(2), 16)
        octets = [int(x, 16) for x in m.group(3).split()]
        targets = {"-": [orig], "+": [new], " ": [orig, new]}[side]
        for t in targets:
            for k, b in enumerate(octets):
                t[offset + k] = b
    # ndrdump leaves out lines that are zero on both sides ("skipping zero buffer
    # bytes"); only then may the rebuilt buffers have holes, and the holes are zeros.
    zero_gaps = "skipping zero buffer bytes" in text
    def flat(d):
        if not d:
            return b""
        n = max(d) + 1
        if len(d) != n and not zero_gaps:
            raise ValueError("hex diff has holes")
        return bytes(d.get(k, 0) for k in range(n))
    return flat(orig), flat(new)


def differing_runs(a, b):
    """[start, end) ranges where two equal-length buffers differ."""
    runs, start = [], None
    for k in range(len(a) + 1):
        same = k == len(a) or a[k] == b[k]
        if not same and start is None:
            start = k
        elif same and start is not None:
            runs.append((start, k))
            start = None
    return runs


def is_padding(orig, new, start, end):
    """An alignment gap: impacket wrote one marker byte throughout, Samba zeros, and the
    run is shorter than some alignment (2, 4 or 8) that its end lands on."""
    run = orig[start:end]
    if any(x != 0 for x in new[start:end]) or run[0] not in IMPACKET_PAD_MARKERS:
        return False
    if run != bytes([run[0]]) * len(run):
        return False
    return any(len(run) < align and end % align == 0 for align in (2, 4, 8))


def leaf_expectations(values, key=""):
    """The values encoded, as (key, value) leaves: each text and number."""
    if isinstance(values, dict):
        for k, v in values.items():
            yield from leaf_expectations(v, k)
    elif isinstance(values, list):
        if key in ("interface_version", "transfer_syntax_version"):
            return
        for v in values:
            yield from leaf_expectations(v, key)
    elif isinstance(values, bool) or values is None:
        return
    elif isinstance(values, (int, str)):
        if key in ("protseq", "transfer_syntax") or values == "":
            return
        yield (key, values)


def value_patterns(key, v):
    """How ndrdump may print a value: numbers as "0x.. (N)", "(0x..)" for some enums,
    "(case N)" for union arms, status 0 as WERR_OK/NT_STATUS_OK; a single character as its
    code; a tower's interface UUID as the hex of its floor; other text as itself."""
    if isinstance(v, int):
        pats = [r"\(%d\)" % v, r"\(%#x\)" % v, r"case %d\)" % v, r":\s+%d\b" % v]
        if v == 0 and key in ("ReturnValue", "ErrorCode", "status"):
            pats += [r"\bWERR_OK\b", r"\bNT_STATUS_OK\b"]
        return pats
    if key == "interface":
        octets = " ".join("%02X" % b for b in string_to_bin(v)[:8])
        return [re.escape(octets)]
    if len(v) == 1:
        return [r"\(%d\)" % ord(v)]
    text = v.lower() if re.fullmatch(r"[0-9A-Fa-f-]{36}", v) else v
    return [r"(?<![\w$-])%s(?![\w$-])" % re.escape(text)]


def missing_values(dump, values):
    """The values not found in Samba's dump, searched in order: each value must be printed
    after the one before it (the JSON lists them in marshalling order), so a number is not
    satisfied by some other field that happens to hold it earlier."""
    missing, pos = [], 0
    for key, v in leaf_expectations(values):
        hits = [m for p in value_patterns(key, v) for m in [re.compile(p).search(dump, pos)] if m]
        if not hits:
            missing.append("%s=%r" % (key, v))
            continue
        pos = min(hits, key=lambda m: m.start()).end()
    return missing


def check_direction(vec, outdir, direction):
    name = vec["name"]
    path = os.path.join(outdir, "%s.%s.bin" % (name, direction))
    data = open(path, "rb").read()
    cmd = ["ndrdump", vec["pipe"], vec["function"], direction, path, "--validate"]
    if direction == "out":
        cmd[5:5] = ["-c", os.path.join(outdir, name + ".in.bin")]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60)
    text = proc.stdout
    if proc.returncode != 0:
        return "ndrdump exited %d: %s" % (proc.returncode, text.strip().splitlines()[-1:])
    for step in ("pull", "push"):
        results = re.findall(r"^%s returned (\S+)" % step, text, re.M)
        if not results or any(r != "Success" for r in results):
            return "%s returned %s" % (step, results)
    m = re.search(r"WARNING! (\d+) unread bytes", text)
    if m:
        return "%s bytes Samba did not read" % m.group(1)
    if "WARNING! orig bytes" in text:
        return "Samba re-encodes to another length: " + re.search(
            r"WARNING! orig bytes.*", text).group(0)
    if re.search(r"print after (pull|validate)|differs", text):
        return "the values Samba prints change on re-encoding"
    note = ""
    if "orig and validated differ" in text:
        try:
            orig, new = parse_validate_diff(text)
        except ValueError as e:
            return "cannot read ndrdump's diff: %s" % e
        if orig != data:
            return "ndrdump's diff does not show the bytes given"
        if len(new) != len(orig):
            return "re-encoding has another length"
        pads = 0
        for start, end in differing_runs(orig, new):
            if not is_padding(orig, new, start, end):
                return "bytes %#x..%#x: impacket %s, Samba %s" % (
                    start, end - 1, orig[start:end].hex(), new[start:end].hex())
            pads += end - start
        note = " (%d padding byte%s differ: impacket's fill vs Samba's zeros)" % (
            pads, "" if pads == 1 else "s")
    values = json.load(open(os.path.join(outdir, name + ".json")))[direction]
    # The dump Samba prints after pulling: before "push returned".
    dump = text.split("push returned")[0]
    missing = missing_values(dump, values)
    if missing:
        return "Samba's dump lacks %s" % missing
    return "ok" + note


def check(outdir):
    passed = failed = 0
    for vec in VECTORS:
        for direction in ("in", "out"):
            label = "%s.%s" % (vec["name"], direction)
            try:
                result = check_direction(vec, outdir, direction)
            except Exception as e:                      # a broken check is a failure
                result = "%s: %s" % (type(e).__name__, e)
            if result.startswith("ok"):
                passed += 1
                print("ok %s%s" % (label, result[2:]))
            else:
                failed += 1
                print("FAIL %s: %s" % (label, result))
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0


# ---------------------------------------------------------------------------------------
# decode: bytes from elsewhere (comidl's), read back with impacket's classes
# ---------------------------------------------------------------------------------------

# The JSON names fields as the IDL does; where impacket's class spells one otherwise.
IMPACKET_FIELD = {"ReturnValue": "ErrorCode", "towers": "ITowers"}

# A reply's arrays whose conformance is an [in] parameter ([size_is(max_towers)] and
# [size_is(max_ents)], C706 Appendix O): the JSON's "out" has no key for it.
SIZE_IS = {"epm_Map": {"out.towers": "max_towers"},
           "epm_Lookup": {"out.entries": "max_ents"}}
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def short(v):
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class ValueWalk:
    """Walks what impacket parsed beside the JSON's values and records every difference.

    The walk is generic over impacket's NDR objects: a pointer is NULL (the JSON's null)
    or its referent (the referent ID itself is not a value: any non-zero one will do); a
    primitive is its number; a structure or a call is a dict whose every JSON key must
    name one of its fields (IMPACKET_FIELD maps a few names), and whose every field must
    be named by the JSON; a union is its discriminant ("Level" in the JSON, impacket's
    "tag") and its arm; an array is a list. A non-encapsulated union inside a structure
    (WKSTA_USER_ENUM_STRUCT, SHARE_ENUM_STRUCT) appears in the JSON as the structure's
    "Level" plus the arm's key, so its arm is looked up in the union and its discriminant
    compared with "Level" too. Types whose JSON form is not their structure go through an
    adapter (ADAPTERS): [string] wchar_t* (WSTR), RPC_UNICODE_STRING, RPC_SID, GUID,
    context handles, protocol towers, and [string] char arrays."""

    def __init__(self, size_is=None):
        self.problems = []
        self.size_is = size_is or {}       # JSON path of an array -> its maximum count

    def fail(self, path, why):
        self.problems.append("%s: %s" % (path, why))

    # -- generic -------------------------------------------------------------------------

    def compare(self, want, got, path):
        if isinstance(got, NDRPOINTERNULL) or (
                isinstance(got, NDRPOINTER) and got.fields.get("ReferentID") == 0):
            if want is not None:
                self.fail(path, "impacket reads a NULL pointer, the JSON has %s" % short(want))
            return
        if isinstance(got, NDRPOINTER):
            target = got.fields["Data"]
            raw = RAW_REFERENTS.get(type(got))
            if raw is not None:
                return raw(self, want, target, path)
            if not isinstance(target, NDR):
                return self.fail(path, "%s points to raw %s: no adapter" % (
                    type(got).__name__, short(target)))
            return self.compare(want, target, path)
        if want is None:
            return self.fail(path, "the JSON has null (a NULL pointer), impacket reads %s"
                             % type(got).__name__)
        for cls, adapter in ADAPTERS:
            if isinstance(got, cls):
                return adapter(self, want, got, path)
        if isinstance(got, NDRArray):
            return self.array(want, got, path)
        if isinstance(got, NDRCONSTRUCTEDTYPE):          # structures, unions, calls
            return self.struct(want, got, path)
        if isinstance(got, NDR):                         # NDRULONG, NDRSMALL ...
            return self.plain(want, got.fields["Data"], path)
        return self.plain(want, got, path)

    def struct(self, want, got, path):
        fields = got.fields
        if not isinstance(want, dict):
            # A structure around one NDR value (wkst's WKSSVC_IDENTIFY_HANDLE holds a WSTR).
            if list(fields) == ["Data"] and isinstance(fields["Data"], NDR):
                return self.compare(want, fields["Data"], path)
            return self.fail(path, "the JSON has %s, impacket a %s" % (
                short(want), type(got).__name__))
        is_union = isinstance(got, NDRUNION)
        named, flattened = set(), set()
        for key, value in want.items():
            at = "%s.%s" % (path, key)
            if is_union and key == "Level":
                name = "tag"
            elif key in fields and not (is_union and key == "tag"):
                name = key
            else:
                name = IMPACKET_FIELD.get(key)
            if name in fields:
                named.add(name)
                self.compare(value, fields[name], at)
                continue
            unions = [n for n, f in fields.items()
                      if isinstance(f, NDRUNION) and key in f.fields and key != "tag"]
            if unions:
                flattened.add(unions[0])
                self.compare(value, fields[unions[0]].fields[key], at)
                continue
            self.fail(at, "no counterpart in impacket's %s (fields %s)" % (
                type(got).__name__, ", ".join(fields)))
        for n in sorted(flattened):
            at = "%s.%s.tag" % (path, n)
            if "Level" not in want:
                self.fail(at, "the union's discriminant has no Level in the JSON")
            else:
                self.compare(want["Level"], fields[n].fields["tag"], at)
        for n in fields:
            if n not in named and n not in flattened:
                self.fail("%s.%s" % (path, n), "impacket reads a field the JSON lacks")

    def array(self, want, got, path):
        items = got.fields["Data"]
        if path in self.size_is and got.fields.get("MaximumCount") != self.size_is[path]:
            self.fail(path, "maximum count %s, the request's size_is value %d" % (
                got.fields.get("MaximumCount"), self.size_is[path]))
        if got.fields.get("Offset", 0) != 0:
            self.fail(path, "the varying array's offset is %d, not 0" % got.fields["Offset"])
        if isinstance(want, str):                       # [string] char name[N]
            if not all(isinstance(x, bytes) and len(x) == 1 for x in items):
                return self.fail(path, "the JSON has text, impacket an array of %s" % (
                    ", ".join(sorted({type(x).__name__ for x in items})) or "nothing"))
            raw = b"".join(items)
            if not raw.endswith(b"\x00") or b"\x00" in raw[:-1]:
                return self.fail(path, "a [string] of %r: not one terminating NUL" % raw)
            return self.plain(want, raw[:-1].decode("latin-1"), path)
        if not isinstance(want, list):
            return self.fail(path, "the JSON has %s, impacket an array" % short(want))
        if len(items) != len(want):
            return self.fail(path, "impacket reads %d elements, the JSON has %d"
                             % (len(items), len(want)))
        for k, (w, g) in enumerate(zip(want, items)):
            self.compare(w, g, "%s[%d]" % (path, k))

    def plain(self, want, got, path):
        """Values already in the JSON's form (numbers, text, and adapters' dicts)."""
        if isinstance(want, dict):
            if not isinstance(got, dict):
                return self.fail(path, "the JSON has %s, impacket %s" % (short(want), short(got)))
            for key in want:
                if key not in got:
                    self.fail("%s.%s" % (path, key), "no counterpart in what impacket reads")
                else:
                    self.plain(want[key], got[key], "%s.%s" % (path, key))
            for key in got:
                if key not in want:
                    self.fail("%s.%s" % (path, key), "impacket reads %s, the JSON lacks it"
                              % short(got[key]))
        elif isinstance(want, list):
            if not isinstance(got, list) or len(got) != len(want):
                return self.fail(path, "impacket reads %s, the JSON has %s" % (
                    short(got), short(want)))
            for k, (w, g) in enumerate(zip(want, got)):
                self.plain(w, g, "%s[%d]" % (path, k))
        elif want is None or isinstance(want, (int, str)) and not isinstance(want, bool):
            same = type(got) is type(want) and got == want
            if isinstance(want, str) and isinstance(got, str) and UUID_TEXT.match(want):
                same = got.lower() == want.lower()
            if not same:
                self.fail(path, "impacket reads %s, the JSON has %s" % (short(got), short(want)))
        else:
            self.fail(path, "a JSON value of type %s" % type(want).__name__)

    # -- adapters ------------------------------------------------------------------------

    def wstr(self, want, got, path):
        """[string] wchar_t*: an NDR conformant varying string whose counts include the
        terminating NUL; without size_is the maximum count is the actual count (as
        MIDL, Samba and impacket marshal one)."""
        f = got.fields
        if f["Offset"] != 0:
            self.fail(path, "offset %d, not 0" % f["Offset"])
        if f["MaximumCount"] != f["ActualCount"]:
            self.fail(path, "maximum count %d, actual count %d" % (
                f["MaximumCount"], f["ActualCount"]))
        text = f["Data"].decode("utf-16le")
        if not text.endswith("\x00") or "\x00" in text[:-1]:
            return self.fail(path, "%r: not one terminating NUL" % text)
        self.plain(want, text[:-1], path)

    def unicode_string(self, want, got, path):
        """RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and MaximumLength in bytes, the
        buffer size_is(MaximumLength/2) length_is(Length/2), no terminator."""
        f = got.fields
        buf = f["Data"]
        if isinstance(buf, NDRPOINTERNULL) or buf.fields.get("ReferentID") == 0:
            if want != "" or f["Length"] != 0:
                self.fail(path, "impacket reads a NULL buffer, the JSON has %s" % short(want))
            return
        w = buf.fields["Data"].fields
        text = w["Data"].decode("utf-16le")
        for why, bad in (
                ("Length %d is not twice the %d characters" % (f["Length"], len(text)),
                 f["Length"] != 2 * len(text)),
                ("MaximumLength %d < Length %d" % (f["MaximumLength"], f["Length"]),
                 f["MaximumLength"] < f["Length"]),
                ("maximum count %d is not MaximumLength/2" % w["MaximumCount"],
                 2 * w["MaximumCount"] != f["MaximumLength"]),
                ("offset %d, not 0" % w["Offset"], w["Offset"] != 0)):
            if bad:
                self.fail(path, why)
        self.plain(want, text, path)

    def sid(self, want, got, path):
        """RPC_SID (MS-DTYP 2.4.2.3) as impacket's formatCanonical prints it. That reads
        only the authority's last octet, so the other five must be zero for the text to be
        the whole value (the JSON's authorities are all below 256)."""
        authority = got["IdentifierAuthority"]
        if authority[:5] != b"\x00" * 5:
            self.fail(path, "identifier authority %s" % authority.hex())
        if got["SubAuthorityCount"] != len(got["SubAuthority"]):
            self.fail(path, "SubAuthorityCount %d, %d sub-authorities" % (
                got["SubAuthorityCount"], len(got["SubAuthority"])))
        try:
            text = got.formatCanonical()
        except (IndexError, TypeError) as e:
            return self.fail(path, "formatCanonical: %s" % e)
        self.plain(want, text, path)

    def guid(self, want, got, path):
        self.plain(want, bin_to_string(got.fields["Data"]).lower(), path)

    def handle(self, want, got, path):
        """A context handle (MS-RPCE 2.2.4.2): attributes, then the UUID."""
        if isinstance(got, samr.SAMPR_HANDLE):       # impacket keeps the 20 octets raw
            raw = got.fields["Data"]
            attributes, uuid = struct.unpack("<I", raw[:4])[0], raw[4:]
        else:                                        # epm.ept_lookup_handle_t
            attributes = got.fields["context_handle_attributes"].fields["Data"]
            uuid = got.fields["context_handle_uuid"].fields["Data"]
        self.plain(want, {"attributes": attributes, "uuid": bin_to_string(uuid).lower()}, path)

    def tower(self, want, got, path):
        """twr_t: tower_length and [size_is(tower_length)] octets holding the floors."""
        length = got.fields["tower_length"].fields["Data"]
        octets = b"".join(got.fields["tower_octet_string"].fields["Data"])
        if len(octets) != length:
            self.fail(path, "tower_length %d, %d octets" % (length, len(octets)))
        try:
            values = tower_values(octets)
        except Exception as e:                          # impacket's floor classes raise
            return self.fail(path, "the floors: %s: %s" % (type(e).__name__, e))
        self.plain(want, values, path)

    def server_name2(self, want, raw, path):
        """samr's PSAMPR_SERVER_NAME2 points to one wchar_t (MS-SAMR 3.1.5.1.4); impacket's
        referent is 4 octets: the character and the 2 bytes of padding before the next
        parameter (a ULONG), which may hold anything."""
        self.plain(want, raw[:2].decode("utf-16le"), path)


def tower_values(octets):
    """The JSON's form of a tower (C706 Appendix L), from impacket's floor classes:
    EPMTower splits the floors; the protocol identifiers are C706 Appendix I's."""
    tower = epm.EPMTower(octets)
    floors = tower["Floors"]
    if len(floors) != 5:
        raise ValueError("%d floors, not 5" % len(floors))
    used = 2 + sum(len(f.getData()) for f in floors)
    if used != len(octets):
        raise ValueError("the floors take %d of %d octets" % (used, len(octets)))
    values = {}
    for f, ident, uuid, key in ((floors[0], "InterfaceIdent", "InterfaceUUID", "interface"),
                                (floors[1], "DrepIdentifier", "DataRepUuid",
                                 "transfer_syntax")):
        if (f["LHSByteCount"], f[ident], f["RHSByteCount"]) != (19, 0x0D, 2):
            raise ValueError("%s floor: LHS %d octets, id %#x, RHS %d octets" % (
                key, f["LHSByteCount"], f[ident], f["RHSByteCount"]))
        values[key] = bin_to_string(f[uuid]).lower()
        values[key + "_version"] = [f["MajorVersion"], f["MinorVersion"]]
    for k, f in enumerate(floors[2:], 3):
        # impacket's EPMFloor takes what octets remain when a count runs past them.
        if (len(f["ProtocolData"]), len(f["RelatedData"])) != (f["LHSByteCount"],
                                                               f["RHSByteCount"]):
            raise ValueError("floor %d: LHS %d octets for %d, RHS %d octets for %d" % (
                k, len(f["ProtocolData"]), f["LHSByteCount"], len(f["RelatedData"]),
                f["RHSByteCount"]))
    ids = [f["ProtocolData"] for f in floors[2:]]
    rhs = [f["RelatedData"] for f in floors[2:]]
    if rhs[0] != b"\x00\x00":                           # 0x0b's RHS: minor version 0
        raise ValueError("the RPC protocol floor's RHS is %s" % rhs[0].hex())

    def text(octets):
        if not octets.endswith(b"\x00") or b"\x00" in octets[:-1]:
            raise ValueError("%r is not NUL-terminated text" % octets)
        return octets[:-1].decode("ascii")

    if ids == [b"\x0b", b"\x07", b"\x09"] and len(rhs[1]) == 2 and len(rhs[2]) == 4:
        values.update(protseq="ncacn_ip_tcp", port=struct.unpack(">H", rhs[1])[0],
                      ip=socket.inet_ntoa(rhs[2]))
    elif ids == [b"\x0b", b"\x0f", b"\x11"]:
        values.update(protseq="ncacn_np", pipe=text(rhs[1]), host=text(rhs[2]))
    else:
        raise ValueError("protocol floors %s with RHS %s" % (
            [i.hex() for i in ids], [r.hex() for r in rhs]))
    return values


ADAPTERS = [
    (RPC_UNICODE_STRING, ValueWalk.unicode_string),
    (WSTR, ValueWalk.wstr),
    (RPC_SID, ValueWalk.sid),
    (GUID, ValueWalk.guid),
    (epm.ept_lookup_handle_t, ValueWalk.handle),
    (samr.SAMPR_HANDLE, ValueWalk.handle),
    (epm.twr_t, ValueWalk.tower),
]

# Pointers whose referent impacket keeps as raw octets, not as an NDR object.
RAW_REFERENTS = {samr.PSAMPR_SERVER_NAME2: ValueWalk.server_name2}


def decode_direction(vec, outdir, direction):
    """Parse OUTDIR/NAME.DIRECTION.bin with the class the vector's builder uses for that
    direction; impacket must read every byte, find the values of NAME.json (or, without
    it, of VALUES), and write what it read back as the same bytes but for padding."""
    name = vec["name"]
    path = os.path.join(outdir, "%s.%s.bin" % (name, direction))
    if not os.path.exists(path):
        return "no %s in %s" % (os.path.basename(path), outdir)
    data = open(path, "rb").read()
    json_path = os.path.join(outdir, name + ".json")
    doc = json.load(open(json_path)) if os.path.exists(json_path) else VALUES[name]
    req, rep = vec["build"](VALUES[name])
    call = type(req if direction == "in" else rep)()
    try:
        used = call.fromString(data)
    except Exception as e:
        return "impacket's %s cannot parse it: %s: %s" % (type(call).__name__,
                                                         type(e).__name__, e)
    if used != len(data):
        return "impacket's %s reads %d of the %d bytes" % (type(call).__name__, used, len(data))
    size_is = {}
    if direction == "out":
        size_is = {k: doc["in"][v] for k, v in SIZE_IS.get(vec["function"], {}).items()}
    walk = ValueWalk(size_is)
    walk.compare(doc[direction], call, direction)
    if walk.problems:
        shown = walk.problems[:4]
        more = len(walk.problems) - len(shown)
        return "; ".join(shown) + (" (and %d more)" % more if more else "")
    # impacket's parser is lenient (an array whose count runs past the data gets the
    # elements there are), so it must also write back what it read as the same bytes,
    # but for its fill in alignment gaps where ours has zeros (see is_padding).
    again = call.getData()
    if len(again) != len(data):
        return "impacket re-encodes what it read to %d bytes, not %d" % (len(again), len(data))
    for start, end in differing_runs(again, data):
        if not is_padding(again, data, start, end):
            return "bytes %#x..%#x: ours %s, impacket re-encodes what it read as %s" % (
                start, end - 1, data[start:end].hex(), again[start:end].hex())
    return "ok"


def decode(outdir):
    # impacket logs a parse error before raising it; the FAIL line says it already.
    logging.getLogger("impacket").setLevel(logging.CRITICAL)
    passed = failed = 0
    for vec in VECTORS:
        for direction in ("in", "out"):
            label = "%s.%s" % (vec["name"], direction)
            try:
                result = decode_direction(vec, outdir, direction)
            except Exception as e:                      # a broken check is a failure
                result = "%s: %s" % (type(e).__name__, e)
            if result == "ok":
                passed += 1
                print("ok %s" % label)
            else:
                failed += 1
                print("FAIL %s: %s" % (label, result))
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("encode", "check", "all", "decode"):
        print("\n\n".join(__doc__.strip().split("\n\n")[1:3]), file=sys.stderr)
        return 2
    mode, outdir = argv[1], argv[2]
    if mode in ("encode", "all"):
        encode(outdir)
    if mode in ("check", "all"):
        return 0 if check(outdir) else 1
    if mode == "decode":
        return 0 if decode(outdir) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
