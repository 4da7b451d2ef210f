/*
 * A C client of an object written in Rust with comidl's server traits, calling it through
 * widl's header the way any C program would. Returns 0, or the number of the first check
 * that failed.
 */
#include "common.h"

static int wide_equals(const WCHAR *wide, const char *ascii)
{
    UINT i;
    for (i = 0; ascii[i]; i++)
        if (wide[i] != (WCHAR)(unsigned char)ascii[i]) return 0;
    return wide[i] == 0;
}

int c_client_exercise(IInteropCalc *calc)
{
    LONG sum = 0, product = 0;
    PAIR pair = { 1, 2 };
    double scaled = 0;
    LPWSTR name = NULL;
    BSTR greeting = NULL, text;
    WCHAR who[8], buffer[8];
    IInteropNamed *named = NULL;
    IInteropCalc *peer = NULL;
    IUnknown *unknown1 = NULL, *unknown2 = NULL;
    void *nothing = (void *)1;
    ULONG length = 0, refs;
    static const IID unknown_iid = { 0x12345678, 0x1234, 0x1234, { 1, 2, 3, 4, 5, 6, 7, 8 } };

    if (IInteropCalc_Add(calc, 2, 3, &sum) != S_OK || sum != 5) return 1;
    if (IInteropCalc_Swap(calc, &pair) != S_OK || pair.a != 2 || pair.b != 1) return 2;
    pair.a = 3; pair.b = 4;
    if (IInteropCalc_Measure(calc, &pair, &sum, &product) != S_OK || sum != 7 || product != 12) return 3;
    pair.a = 1; pair.b = 2;
    if (IInteropCalc_Scale(calc, pair, 1.5, &scaled) != S_OK || scaled != 4.5) return 4;
    if (IInteropCalc_Name(calc, &name) != S_OK || !name || !wide_equals(name, "rust-object")) return 5;
    CoTaskMemFree(name);
    ascii_to_wide("C", who);
    if (IInteropCalc_Greet(calc, who, &greeting) != S_OK || !greeting) return 6;
    if (SysStringLen(greeting) != 9 || !wide_equals(greeting, "Hello, C!")) return 7;
    SysFreeString(greeting);
    if (IInteropCalc_Fail(calc, E_ACCESSDENIED) != E_ACCESSDENIED) return 8;
    /* NULL out pointers are refused, not written through. */
    if (IInteropCalc_Add(calc, 1, 1, NULL) != E_POINTER) return 9;

    if (IInteropCalc_QueryInterface(calc, &IID_IInteropNamed, (void **)&named) != S_OK || !named) return 10;
    text = SysAllocStringLen(buffer, ascii_to_wide("abcd", buffer));
    if (IInteropNamed_SetName(named, text) != S_OK) return 11;
    SysFreeString(text);
    if (IInteropNamed_NameLength(named, &length) != S_OK || length != 4) return 12;
    if (IInteropNamed_Peer(named, &IID_IInteropCalc, (void **)&peer) != S_OK || !peer) return 13;
    /* Identity: IUnknown through either interface is one pointer. */
    if (IInteropCalc_QueryInterface(peer, &IID_IUnknown, (void **)&unknown1) != S_OK) return 14;
    if (IInteropNamed_QueryInterface(named, &IID_IUnknown, (void **)&unknown2) != S_OK) return 15;
    if (unknown1 != unknown2) return 16;
    if (IInteropCalc_QueryInterface(calc, &unknown_iid, &nothing) != E_NOINTERFACE || nothing) return 17;

    refs = IInteropCalc_AddRef(calc);
    if (refs < 2) return 18;
    if (IInteropCalc_Release(calc) != refs - 1) return 19;
    IUnknown_Release(unknown1);
    IUnknown_Release(unknown2);
    IInteropCalc_Release(peer);
    IInteropNamed_Release(named);
    return 0;
}
