/*
 * What both C files need: Wine's headers with the Unix calling convention (the vtable
 * slots in widl's headers are __stdcall, which Wine maps to ms_abi on x86_64; comidl's
 * vtables are extern "system", the C convention on Unix), widl's header for interop.idl,
 * and the runtime functions comidl-runtime exports for C (its `c-api` feature).
 */
#ifndef INTEROP_COMMON_H
#define INTEROP_COMMON_H

#define COBJMACROS /* the IFoo_Method(obj, ...) call macros */
#include <windef.h>
#undef __stdcall
#define __stdcall
#include <stddef.h>
#include <string.h>
#include "interop.h"

void *CoTaskMemAlloc(size_t size);
void CoTaskMemFree(void *block);
BSTR SysAllocStringLen(const OLECHAR *text, UINT length);
void SysFreeString(BSTR text);
UINT SysStringLen(BSTR text);

/* `text` as UTF-16 into `out` (ASCII only), NUL-terminated; returns the length. */
static inline UINT ascii_to_wide(const char *text, WCHAR *out)
{
    UINT n = 0;
    for (; text[n]; n++) out[n] = (WCHAR)(unsigned char)text[n];
    out[n] = 0;
    return n;
}

#endif
