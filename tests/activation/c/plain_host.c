/* A plain C host: loads a comidl server module with dlopen, never attaches it to any
 * runtime, and uses it through DllGetClassObject alone, as a C program on Windows could
 * with LoadLibrary. The module must work stand-alone.
 *
 * usage: plain_host MODULE.so   (the calculator example's Adder)
 * Exit status 0 when every check passes; a message on stderr otherwise. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int32_t HRESULT;
typedef struct { uint32_t d1; uint16_t d2, d3; uint8_t d4[8]; } GUID;

/* Slot orders are IUnknown's, IClassFactory's and IAdder's (calculator.idl). */
typedef struct Unknown Unknown;
typedef struct {
    HRESULT (*QueryInterface)(Unknown *, const GUID *, void **);
    uint32_t (*AddRef)(Unknown *);
    uint32_t (*Release)(Unknown *);
    HRESULT (*CreateInstance)(Unknown *, Unknown *, const GUID *, void **);
    HRESULT (*LockServer)(Unknown *, int32_t);
} FactoryVtbl;
typedef struct {
    HRESULT (*QueryInterface)(Unknown *, const GUID *, void **);
    uint32_t (*AddRef)(Unknown *);
    uint32_t (*Release)(Unknown *);
    HRESULT (*Add)(Unknown *, int32_t, int32_t, int32_t *);
} AdderVtbl;
struct Unknown { const void *vtbl; };

static const GUID IID_IClassFactory = {0x00000001, 0x0000, 0x0000, {0xc0, 0, 0, 0, 0, 0, 0, 0x46}};
static const GUID IID_IAdder = {0x213e9442, 0xb45b, 0x4459, {0xb0, 0x0c, 0x43, 0xf7, 0x8d, 0xf5, 0x02, 0x66}};
static const GUID CLSID_Adder = {0x5f0b7d8e, 0x3c1a, 0x4e6b, {0x9d, 0x2f, 0x8a, 0x4c, 0x6e, 0x0b, 0x1d, 0x37}};
static const GUID CLSID_Unknown = {0x12345678, 0, 0, {0}};

#define CHECK(cond, what) do { if (!(cond)) { fprintf(stderr, "plain_host: %s\n", what); return 1; } } while (0)

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: plain_host MODULE.so");
    void *module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(module != NULL, dlerror());
    HRESULT (*get)(const GUID *, const GUID *, void **) =
        (HRESULT (*)(const GUID *, const GUID *, void **))dlsym(module, "DllGetClassObject");
    HRESULT (*can_unload)(void) = (HRESULT (*)(void))dlsym(module, "DllCanUnloadNow");
    CHECK(get && can_unload, "the module lacks DllGetClassObject or DllCanUnloadNow");

    void *out = (void *)1;
    CHECK(get(&CLSID_Unknown, &IID_IClassFactory, &out) == (HRESULT)0x80040111 && out == NULL,
          "an unknown CLSID must give CLASS_E_CLASSNOTAVAILABLE and NULL");

    Unknown *factory = NULL;
    CHECK(get(&CLSID_Adder, &IID_IClassFactory, (void **)&factory) == 0 && factory,
          "DllGetClassObject(CLSID_Adder) failed");
    const FactoryVtbl *fv = factory->vtbl;
    Unknown *adder = NULL;
    CHECK(fv->CreateInstance(factory, NULL, &IID_IAdder, (void **)&adder) == 0 && adder,
          "CreateInstance(IAdder) failed");
    fv->Release(factory);
    CHECK(can_unload() == 1, "DllCanUnloadNow must say S_FALSE while an object lives");

    const AdderVtbl *av = adder->vtbl;
    int32_t sum = 0;
    CHECK(av->Add(adder, 40, 2, &sum) == 0 && sum == 42, "Add(40, 2) != 42");
    CHECK(av->Add(adder, INT32_MAX, 1, &sum) == (HRESULT)0x80070057, "overflow must be E_INVALIDARG");
    av->Release(adder);
    CHECK(can_unload() == 0, "DllCanUnloadNow must say S_OK once the object is gone");
    CHECK(dlclose(module) == 0, "dlclose failed");
    printf("plain_host: ok\n");
    return 0;
}
