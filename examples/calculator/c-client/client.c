/* The calculator example's C client: activates the Rust Calculator through the runtime's
 * C entry points (libcomidl_runtime_c.so) and calls it through comidl's C header of
 * calculator.idl, as a C program on Windows would through ole32.
 *
 * With --local it activates the executable server (CLSCTX_LOCAL_SERVER): every call then
 * crosses to the server's process through the proxies of the calculator's proxy/stub
 * module, which COM finds by the interfaces' ProxyStubClsid32 keys.
 *
 * With --remote HOST it activates the Calculator on another machine's DCOM service
 * (CoCreateInstanceEx, CLSCTX_REMOTE_SERVER, a COSERVERINFO naming HOST; credentials from
 * the process's default: COMIDL_DCOM_USER and COMIDL_DCOM_PASSWORD), asking for
 * ICalculator and IAdder in one activation (MULTI_QI).
 *
 * Prints the same results as the Rust client; exit status 0 when every call succeeded. */
#include <stdio.h>
#include <string.h>

/* The C call macros (ICalculator_Add(p, ...)) of the header. */
#define COBJMACROS
#include "calculator.h"
#include "comidl_runtime.h"

static int failed(const char *what, HRESULT hr)
{
    fprintf(stderr, "calculator-c-client: %s failed: 0x%08x\n", what, (unsigned)hr);
    return 1;
}

/* The fold's observer: a COM object written in C, which the Calculator calls back for
 * each step of FoldObserved (from the server's process, with --local). */
typedef struct Observer {
    IFoldObserver iface; /* first: an IFoldObserver pointer is an Observer pointer */
    LONG refs;
    ULONG steps;
} Observer;

static HRESULT STDMETHODCALLTYPE observer_query_interface(IFoldObserver *This, REFIID iid,
                                                          void **out)
{
    if (out == NULL)
        return E_POINTER;
    if (memcmp(iid, &IID_IUnknown, sizeof *iid) == 0 ||
        memcmp(iid, &IID_IFoldObserver, sizeof *iid) == 0) {
        *out = This;
        IFoldObserver_AddRef(This);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE observer_add_ref(IFoldObserver *This)
{
    return (ULONG)__atomic_add_fetch(&((Observer *)This)->refs, 1, __ATOMIC_SEQ_CST);
}

/* The observer lives on main's stack: the last Release frees nothing, and main checks
 * that every reference came back. */
static ULONG STDMETHODCALLTYPE observer_release(IFoldObserver *This)
{
    return (ULONG)__atomic_sub_fetch(&((Observer *)This)->refs, 1, __ATOMIC_SEQ_CST);
}

static HRESULT STDMETHODCALLTYPE observer_step(IFoldObserver *This, ULONG index, LONG value,
                                               LONG total)
{
    __atomic_add_fetch(&((Observer *)This)->steps, 1, __ATOMIC_SEQ_CST);
    printf("  observer: step %u: %d -> %d\n", (unsigned)index, (int)value, (int)total);
    fflush(stdout);
    return S_OK;
}

static IFoldObserverVtbl observer_vtbl = {
    observer_query_interface, observer_add_ref, observer_release, observer_step,
};

int main(int argc, char **argv)
{
    DWORD context = CLSCTX_INPROC_SERVER;
    const char *remote = NULL;
    if (argc == 2 && strcmp(argv[1], "--local") == 0)
        context = CLSCTX_LOCAL_SERVER;
    else if (argc == 3 && strcmp(argv[1], "--remote") == 0) {
        context = CLSCTX_REMOTE_SERVER;
        remote = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: calculator-c-client [--local | --remote HOST]\n");
        return 2;
    }

    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(hr))
        return failed("CoInitializeEx", hr);

    ICalculator *calculator = NULL;
    IAdder *adder = NULL;
    if (remote) {
        /* The machine's name as UTF-16 (an ASCII host name or address). */
        unsigned short name[256];
        size_t n = strlen(remote);
        if (n >= 256)
            return failed("the host name is too long", E_INVALIDARG);
        for (size_t i = 0; i <= n; i++)
            name[i] = (unsigned char)remote[i];
        COSERVERINFO server = {0, (LPWSTR)name, NULL, 0};
        MULTI_QI qi[2] = {{&IID_ICalculator, NULL, S_OK}, {&IID_IAdder, NULL, S_OK}};
        hr = CoCreateInstanceEx(&CLSID_Calculator, NULL, CLSCTX_REMOTE_SERVER, &server, 2, qi);
        if (FAILED(hr))
            return failed("CoCreateInstanceEx(Calculator, CLSCTX_REMOTE_SERVER)", hr);
        if (FAILED(qi[0].hr) || FAILED(qi[1].hr))
            return failed("CoCreateInstanceEx's interfaces", FAILED(qi[0].hr) ? qi[0].hr : qi[1].hr);
        calculator = (ICalculator *)qi[0].pItf;
        adder = (IAdder *)qi[1].pItf;
        printf("created the Calculator on %s\n", remote);
    } else {
        CLSID clsid;
        hr = CLSIDFromProgID(COMIDL_WSTR("Comidl.Calculator"), &clsid);
        if (FAILED(hr))
            return failed("CLSIDFromProgID", hr);
        if (memcmp(&clsid, &CLSID_Calculator, sizeof clsid) != 0)
            return failed("CLSIDFromProgID gave another class", E_UNEXPECTED);

        hr = CoCreateInstance(&clsid, NULL, context, &IID_ICalculator,
                              (void **)&calculator);
        if (FAILED(hr))
            return failed("CoCreateInstance(Calculator)", hr);

        hr = ICalculator_QueryInterface(calculator, &IID_IAdder, (void **)&adder);
        if (FAILED(hr))
            return failed("QueryInterface(IAdder)", hr);
    }

    LONG sum = 0, difference = 0, product = 0, quotient = 0, remainder = 0;
    if (FAILED(hr = IAdder_Add(adder, 40, 2, &sum)))
        return failed("IAdder::Add", hr);
    if (FAILED(hr = ICalculator_Subtract(calculator, 50, 8, &difference)))
        return failed("ICalculator::Subtract", hr);
    if (FAILED(hr = ICalculator_Multiply(calculator, 6, 7, &product)))
        return failed("ICalculator::Multiply", hr);
    if (FAILED(hr = ICalculator_Divide(calculator, 85, 2, &quotient, &remainder)))
        return failed("ICalculator::Divide", hr);
    /* The array with its count, NULL for an optional pointer, a NUL-terminated WCHAR string. */
    static const WCHAR plus[] = {'+', 0}, times[] = {'*', 0};
    const LONG terms[] = {20, 22}, factors[] = {3, 7}, initial = 2;
    LONG folded_sum = 0, folded_product = 0;
    if (FAILED(hr = ICalculator_Fold(calculator, plus, 2, terms, NULL, &folded_sum)))
        return failed("ICalculator::Fold(+)", hr);
    if (FAILED(hr = ICalculator_Fold(calculator, times, 2, factors, &initial, &folded_product)))
        return failed("ICalculator::Fold(*)", hr);
    LONG unused_quotient, unused_remainder;
    HRESULT divide_by_zero =
        ICalculator_Divide(calculator, 1, 0, &unused_quotient, &unused_remainder);
    if (divide_by_zero != E_INVALIDARG)
        return failed("Divide(1, 0) should fail with E_INVALIDARG, but the call", divide_by_zero);

    /* A C object passed to the Calculator, called back during the call. */
    Observer observer = {{&observer_vtbl}, 1, 0};
    static const LONG observed_terms[] = {10, 12, 20};
    LONG observed = 0;
    printf("ICalculator::FoldObserved(+, [10, 12, 20]):\n");
    fflush(stdout);
    if (FAILED(hr = ICalculator_FoldObserved(calculator, plus, 3, observed_terms,
                                             &observer.iface, &observed)))
        return failed("ICalculator::FoldObserved", hr);
    printf("  = %d\n", (int)observed);

    IUnknown *a = NULL, *b = NULL;
    ICalculator_QueryInterface(calculator, &IID_IUnknown, (void **)&a);
    IAdder_QueryInterface(adder, &IID_IUnknown, (void **)&b);
    int same = a != NULL && a == b;
    if (a)
        IUnknown_Release(a);
    if (b)
        IUnknown_Release(b);

    printf("IAdder::Add(40, 2) = %d\n", (int)sum);
    printf("ICalculator::Subtract(50, 8) = %d\n", (int)difference);
    printf("ICalculator::Multiply(6, 7) = %d\n", (int)product);
    printf("ICalculator::Divide(85, 2) = %d remainder %d\n", (int)quotient, (int)remainder);
    printf("ICalculator::Fold(+, [20, 22]) = %d\n", (int)folded_sum);
    printf("ICalculator::Fold(*, [3, 7], from 2) = %d\n", (int)folded_product);
    printf("ICalculator::Divide(1, 0) fails: 0x%08x\n", (unsigned)divide_by_zero);
    printf("IAdder and ICalculator are one object: %s\n", same ? "true" : "false");

    IAdder_Release(adder);
    ICalculator_Release(calculator);
    CoFreeUnusedLibraries();
    /* Every reference the observer handed out came back (the server's too). */
    int observer_ok = observer.steps == 3 && observer.refs == 1;
    printf("the observer was told 3 steps and holds no reference: %s\n",
           observer_ok ? "true" : "false");
    CoUninitialize();
    return same && observer_ok ? 0 : 1;
}
