#!/usr/bin/env python3
"""impacket's DCOMConnection activates the calculator on comidl's DCOM service and calls it.

Run with the venv tests/wire/setup.sh makes, against comidl-dcomd serving on TARGET's port
135 with the calculator registered (tests/wire/dcom.sh sets all of that up):

    python tests/wire/dcom_impacket.py TARGET LEVEL [USER PASSWORD]

LEVEL is `none` (RPC_C_AUTHN_LEVEL_NONE), `integrity` or `privacy` (NTLM as USER with
PASSWORD: every PDU signed, or signed and sealed), or `denied` (the service refuses:
activation must fail with E_ACCESSDENIED and nothing is started; with USER and PASSWORD,
an NTLM activation at PKT_PRIVACY that must fail, as with a wrong password).

What impacket does (ORACLES.md): RemoteCreateInstance on port 135 with its activation
properties; our reply's PropsOutInfo and ScmReplyInfo are read by position; each call then
connects to the exporter's string binding, binds the IID, and names the IPID as the
object. ICalculator and IAdder are unknown to impacket: their requests and replies are
classes written here from examples/calculator/calculator.idl (opnums from 3, after
IUnknown's). A second IID on the object (RemQueryInterface for IAdder) is called on the
same connection through alter_context; RemRelease gives back the references, and a call
after that fails. Then IActivation::RemoteActivation (what clients before COM 5.6 use)
activates another Calculator, which is called and released.

Prints `ok NAME` / `FAIL NAME: why` and last `N passed, N failed`; exits 1 on a failure.
"""

import sys
import traceback

from impacket.dcerpc.v5.dcomrt import DCOMConnection, DCOMCALL, DCOMANSWER, IActivation
from impacket.dcerpc.v5.dtypes import LONG, ULONG
from impacket.dcerpc.v5.rpcrt import (RPC_C_AUTHN_LEVEL_NONE, RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
                                      RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, DCERPCException)
from impacket.uuid import string_to_bin

CLSID_CALCULATOR = string_to_bin("874a7518-4fe3-4df4-8596-848ad05c5c3d")
IID_ICALCULATOR = string_to_bin("a78d304e-6e93-47f0-88d8-2b1684d08dde")
IID_IADDER = string_to_bin("213e9442-b45b-4459-b00c-43f78df50266")
E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
RPC_S_ACCESS_DENIED = 5


class Subtract(DCOMCALL):
    opnum = 3
    structure = (("a", LONG), ("b", LONG))


class SubtractResponse(DCOMANSWER):
    structure = (("difference", LONG), ("ErrorCode", ULONG))


class Multiply(DCOMCALL):
    opnum = 4
    structure = (("a", LONG), ("b", LONG))


class MultiplyResponse(DCOMANSWER):
    structure = (("product", LONG), ("ErrorCode", ULONG))


class Divide(DCOMCALL):
    opnum = 5
    structure = (("a", LONG), ("b", LONG))


class DivideResponse(DCOMANSWER):
    structure = (("quotient", LONG), ("remainder", LONG), ("ErrorCode", ULONG))


class Add(DCOMCALL):
    opnum = 3
    structure = (("a", LONG), ("b", LONG))


class AddResponse(DCOMANSWER):
    structure = (("sum", LONG), ("ErrorCode", ULONG))


class DCERPCSessionError(DCERPCException):
    """What impacket raises for a reply whose ErrorCode is a failure (it looks the class up
    in the module of the request's class)."""


passed = 0
failed = 0


def check(name, cond, why=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def call(iface, cls, iid, **fields):
    req = cls()
    for k, v in fields.items():
        req[k] = v
    return iface.request(req, iid=iid, uuid=iface.get_iPid())


def error_code(e):
    code = getattr(e, "error_code", None)
    if code is None:
        code = getattr(e, "get_error_code", lambda: None)()
    return code


def main():
    target, level = sys.argv[1], sys.argv[2]
    user = sys.argv[3] if len(sys.argv) > 3 else ""
    password = sys.argv[4] if len(sys.argv) > 4 else ""
    auth = {
        "none": RPC_C_AUTHN_LEVEL_NONE,
        "denied": RPC_C_AUTHN_LEVEL_PKT_PRIVACY if user else RPC_C_AUTHN_LEVEL_NONE,
        "integrity": RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
        "privacy": RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    }[level]
    dcom = DCOMConnection(target, username=user, password=password, authLevel=auth)
    try:
        if level == "denied":
            try:
                dcom.CoCreateInstanceEx(CLSID_CALCULATOR, IID_ICALCULATOR)
                check("activation refused", False, "the service activated the calculator")
            except DCERPCException as e:
                # Unauthenticated: the activation's HRESULT; a failed NTLM
                # authentication: the call's fault (rpc_s_access_denied).
                check("activation refused",
                      error_code(e) in (E_ACCESSDENIED, RPC_S_ACCESS_DENIED)
                      or "rpc_s_access_denied" in str(e),
                      f"error {error_code(e)!r}: {e}")
            return

        calc = dcom.CoCreateInstanceEx(CLSID_CALCULATOR, IID_ICALCULATOR)
        check("activation gives an interface", calc.get_iPid() is not None)

        r = call(calc, Subtract, IID_ICALCULATOR, a=50, b=8)
        check("Subtract(50, 8) = 42", r["difference"] == 42 and r["ErrorCode"] == 0,
              f"{r['difference']}, hr {r['ErrorCode']:#x}")
        r = call(calc, Multiply, IID_ICALCULATOR, a=-6, b=7)
        check("Multiply(-6, 7) = -42", r["product"] == -42, str(r["product"]))
        r = call(calc, Divide, IID_ICALCULATOR, a=47, b=5)
        check("Divide(47, 5) = 9 r 2", (r["quotient"], r["remainder"]) == (9, 2),
              f"{r['quotient']} r {r['remainder']}")
        try:
            r = call(calc, Divide, IID_ICALCULATOR, a=1, b=0)
            check("Divide by zero fails with E_INVALIDARG", r["ErrorCode"] == E_INVALIDARG,
                  f"hr {r['ErrorCode']:#x}")
        except DCERPCException as e:
            check("Divide by zero fails with E_INVALIDARG", error_code(e) == E_INVALIDARG,
                  f"error {error_code(e)!r}: {e}")

        # A second interface of the same object: RemQueryInterface, then a call bound
        # to IAdder on the exporter's connection (alter_context).
        adder = calc.RemQueryInterface(1, (IID_IADDER,))
        check("RemQueryInterface(IAdder) gives another IPID",
              adder.get_iPid() != calc.get_iPid())
        r = call(adder, Add, IID_IADDER, a=40, b=2)
        check("IAdder::Add(40, 2) = 42 on the same object", r["sum"] == 42, str(r["sum"]))
        r = call(calc, Subtract, IID_ICALCULATOR, a=1, b=2)
        check("ICalculator again after IAdder", r["difference"] == -1, str(r["difference"]))

        adder.RemRelease()
        calc.RemRelease()
        try:
            call(calc, Subtract, IID_ICALCULATOR, a=1, b=1)
            check("a call after RemRelease fails", False, "the object still answers")
        except Exception as e:  # a fault (RPC_E_DISCONNECTED, invalid IPID) or a closed link
            check("a call after RemRelease fails", True)
            print(f"   (the call after RemRelease: {e})")

        # The older activation interface (IActivation::RemoteActivation, COM before 5.6),
        # on a connection of its own (impacket binds it with a second bind otherwise).
        dcom.disconnect()
        dcom = DCOMConnection(target, username=user, password=password, authLevel=auth)
        older = IActivation(dcom.get_dce_rpc()).RemoteActivation(CLSID_CALCULATOR,
                                                                  IID_ICALCULATOR)
        # impacket's RemoteActivation leaves the object's calls at its default level
        # (PKT_PRIVACY): they are made at the level asked for here.
        older.get_cinstance().set_auth_level(auth)
        r = call(older, Multiply, IID_ICALCULATOR, a=6, b=7)
        check("IActivation::RemoteActivation gives a Calculator: Multiply(6, 7) = 42",
              r["product"] == 42, str(r["product"]))
        older.RemRelease()
    finally:
        dcom.disconnect()


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        traceback.print_exc()
        check("the DCOM exchange", False, f"{type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
