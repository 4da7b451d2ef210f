/*
 * A COM object written in C against widl's header for interop.idl: IInteropCalc and
 * IInteropNamed on one object, with a reference count the Rust tests can read.
 */
#define INITGUID
#include "common.h"
#include <stdlib.h>

typedef struct
{
    IInteropCalc calc;   /* the identity: IUnknown is answered with this one */
    IInteropNamed named;
    LONG refs;
    ULONG name_length;
} CObject;

static int objects_alive;

static CObject *from_calc(IInteropCalc *iface) { return (CObject *)((char *)iface - offsetof(CObject, calc)); }
static CObject *from_named(IInteropNamed *iface) { return (CObject *)((char *)iface - offsetof(CObject, named)); }

static HRESULT query(CObject *obj, REFIID riid, void **out)
{
    if (!out) return E_POINTER;
    *out = NULL;
    if (IsEqualGUID(riid, &IID_IUnknown) || IsEqualGUID(riid, &IID_IInteropCalc))
        *out = &obj->calc;
    else if (IsEqualGUID(riid, &IID_IInteropNamed))
        *out = &obj->named;
    else
        return E_NOINTERFACE;
    __atomic_add_fetch(&obj->refs, 1, __ATOMIC_RELAXED);
    return S_OK;
}

static ULONG add_ref(CObject *obj) { return (ULONG)__atomic_add_fetch(&obj->refs, 1, __ATOMIC_RELAXED); }

static ULONG release(CObject *obj)
{
    LONG left = __atomic_sub_fetch(&obj->refs, 1, __ATOMIC_ACQ_REL);
    if (left == 0)
    {
        objects_alive--;
        free(obj);
    }
    return (ULONG)left;
}

static HRESULT STDMETHODCALLTYPE calc_QueryInterface(IInteropCalc *This, REFIID riid, void **out) { return query(from_calc(This), riid, out); }
static ULONG STDMETHODCALLTYPE calc_AddRef(IInteropCalc *This) { return add_ref(from_calc(This)); }
static ULONG STDMETHODCALLTYPE calc_Release(IInteropCalc *This) { return release(from_calc(This)); }

static HRESULT STDMETHODCALLTYPE calc_Add(IInteropCalc *This, LONG a, LONG b, LONG *sum)
{
    if (!sum) return E_POINTER;
    *sum = a + b;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_Swap(IInteropCalc *This, PAIR *pair)
{
    LONG t;
    if (!pair) return E_POINTER;
    t = pair->a;
    pair->a = pair->b;
    pair->b = t;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_Measure(IInteropCalc *This, const PAIR *pair, LONG *sum, LONG *product)
{
    if (!pair || !sum || !product) return E_POINTER;
    *sum = pair->a + pair->b;
    *product = pair->a * pair->b;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_Scale(IInteropCalc *This, PAIR pair, double factor, double *result)
{
    if (!result) return E_POINTER;
    *result = (pair.a + pair.b) * factor;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_Name(IInteropCalc *This, LPWSTR *name)
{
    WCHAR *text;
    if (!name) return E_POINTER;
    text = CoTaskMemAlloc(sizeof(WCHAR) * 16);
    if (!text) return E_OUTOFMEMORY;
    ascii_to_wide("c-object", text);
    *name = text;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_Greet(IInteropCalc *This, LPCWSTR who, BSTR *greeting)
{
    WCHAR buffer[128];
    UINT n = ascii_to_wide("Hello, ", buffer), i;
    if (!who || !greeting) return E_POINTER;
    for (i = 0; who[i] && n < 120; i++) buffer[n++] = who[i];
    buffer[n++] = '!';
    *greeting = SysAllocStringLen(buffer, n);
    return *greeting ? S_OK : E_OUTOFMEMORY;
}

static HRESULT STDMETHODCALLTYPE calc_Fail(IInteropCalc *This, HRESULT code) { return code; }

static const IInteropCalcVtbl calc_vtbl = {
    calc_QueryInterface, calc_AddRef, calc_Release,
    calc_Add, calc_Swap, calc_Measure, calc_Scale, calc_Name, calc_Greet, calc_Fail,
};

static HRESULT STDMETHODCALLTYPE named_QueryInterface(IInteropNamed *This, REFIID riid, void **out) { return query(from_named(This), riid, out); }
static ULONG STDMETHODCALLTYPE named_AddRef(IInteropNamed *This) { return add_ref(from_named(This)); }
static ULONG STDMETHODCALLTYPE named_Release(IInteropNamed *This) { return release(from_named(This)); }

static HRESULT STDMETHODCALLTYPE named_SetName(IInteropNamed *This, BSTR name)
{
    from_named(This)->name_length = SysStringLen(name);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE named_NameLength(IInteropNamed *This, ULONG *length)
{
    if (!length) return E_POINTER;
    *length = from_named(This)->name_length;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE named_Peer(IInteropNamed *This, REFIID riid, void **peer)
{
    return query(from_named(This), riid, peer);
}

static const IInteropNamedVtbl named_vtbl = {
    named_QueryInterface, named_AddRef, named_Release,
    named_SetName, named_NameLength, named_Peer,
};

/* A new object, returned as IInteropCalc with one reference for the caller. */
HRESULT c_object_create(IInteropCalc **out)
{
    CObject *obj = calloc(1, sizeof(*obj));
    if (!out) return E_POINTER;
    if (!obj) return E_OUTOFMEMORY;
    obj->calc.lpVtbl = (IInteropCalcVtbl *)&calc_vtbl;
    obj->named.lpVtbl = (IInteropNamedVtbl *)&named_vtbl;
    obj->refs = 1;
    objects_alive++;
    *out = &obj->calc;
    return S_OK;
}

/* The object's current reference count (for the tests only). */
LONG c_object_refs(IInteropCalc *iface) { return __atomic_load_n(&from_calc(iface)->refs, __ATOMIC_RELAXED); }

/* How many C objects are alive. */
int c_objects_alive(void) { return objects_alive; }
