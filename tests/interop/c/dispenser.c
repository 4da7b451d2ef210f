/*
 * A resource dispenser written in C against Wine's comsvcs.h and mtxdm.h (widl's output
 * for Wine's own comsvcs.idl, not comidl's): a driver whose resources are numbers, and a
 * client that reaches the dispenser manager through GetDispenserManager, registers the
 * driver and allocates from the pool through the IHolder vtable. Between the two sits
 * comidl-runtime's pool, written in Rust: if its IIDs, slot order or parameter types
 * differed from comsvcs', the calls below would land in the wrong slots.
 */
#include "common.h"
/* Defines (rather than declares) the IIDs comsvcs.h names. */
#include <initguid.h>
#include <comsvcs.h>
#include <mtxdm.h>

struct c_driver
{
    IDispenserDriver IDispenserDriver_iface;
    LONG refs;
    RESID next;
    /* What the pool asked for, in order: one letter per call (C create, R rate,
     * E enlist, Z reset, D destroy), for the Rust side to check. */
    char calls[64];
    int ncalls;
};

static struct c_driver *impl_from(IDispenserDriver *iface)
{
    return CONTAINING_RECORD(iface, struct c_driver, IDispenserDriver_iface);
}

static void note(struct c_driver *driver, char call)
{
    if (driver->ncalls < (int)sizeof(driver->calls) - 1)
        driver->calls[driver->ncalls++] = call;
}

static HRESULT STDMETHODCALLTYPE driver_QueryInterface(IDispenserDriver *iface, REFIID riid,
                                                       void **out)
{
    if (IsEqualGUID(riid, &IID_IUnknown) || IsEqualGUID(riid, &IID_IDispenserDriver))
    {
        *out = iface;
        IDispenserDriver_AddRef(iface);
        return S_OK;
    }
    *out = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE driver_AddRef(IDispenserDriver *iface)
{
    return InterlockedIncrement(&impl_from(iface)->refs);
}

static ULONG STDMETHODCALLTYPE driver_Release(IDispenserDriver *iface)
{
    /* The driver is static storage: Release only counts. */
    return InterlockedDecrement(&impl_from(iface)->refs);
}

static HRESULT STDMETHODCALLTYPE driver_CreateResource(IDispenserDriver *iface,
                                                       const RESTYPID type, RESID *id,
                                                       TIMEINSECS *idle_seconds)
{
    struct c_driver *driver = impl_from(iface);
    note(driver, 'C');
    if (type == 666) return E_OUTOFMEMORY;
    *id = driver->next++;
    *idle_seconds = 60;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE driver_RateResource(IDispenserDriver *iface,
                                                     const RESTYPID type, const RESID id,
                                                     const BOOL enlist, RESOURCERATING *rating)
{
    note(impl_from(iface), 'R');
    *rating = enlist ? 0 : 100;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE driver_EnlistResource(IDispenserDriver *iface, const RESID id,
                                                       const TRANSID transaction)
{
    note(impl_from(iface), 'E');
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE driver_ResetResource(IDispenserDriver *iface, const RESID id)
{
    note(impl_from(iface), 'Z');
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE driver_DestroyResource(IDispenserDriver *iface, const RESID id)
{
    note(impl_from(iface), 'D');
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE driver_DestroyResourceS(IDispenserDriver *iface,
                                                         const SRESID id)
{
    note(impl_from(iface), 'S');
    return S_OK;
}

static const IDispenserDriverVtbl driver_vtbl = {
    driver_QueryInterface, driver_AddRef,         driver_Release,
    driver_CreateResource, driver_RateResource,   driver_EnlistResource,
    driver_ResetResource,  driver_DestroyResource, driver_DestroyResourceS,
};

static struct c_driver the_driver = {{&driver_vtbl}, 1, 1000, {0}, 0};

/* The letters of the calls the pool made so far (NUL-terminated). */
const char *c_dispenser_calls(void)
{
    return the_driver.calls;
}

/* The driver's reference count. */
LONG c_dispenser_driver_refs(void)
{
    return the_driver.refs;
}

/* Runs the C client: 0 when every check held, else the number of the first that failed. */
int c_dispenser_exercise(void)
{
    static const WCHAR name[] = {'C',' ','p','o','o','l',0};
    IDispenserManager *manager = NULL;
    IHolder *holder = NULL;
    IUnknown *unknown = NULL;
    INSTID instance = 1;
    TRANSID transaction = 1;
    RESID first = 0, second = 0, third = 0, failed = 77;

    if (GetDispenserManager(&manager) != S_OK || !manager) return 1;
    if (IDispenserManager_GetContext(manager, &instance, &transaction) != S_OK) return 2;
    if (instance != 0 || transaction != 0) return 3;
    if (IDispenserManager_RegisterDispenser(manager, &the_driver.IDispenserDriver_iface, name,
                                            &holder) != S_OK || !holder)
        return 4;
    if (the_driver.refs != 2) return 5; /* the pool holds the driver */
    if (IHolder_QueryInterface(holder, &IID_IHolder, (void **)&unknown) != S_OK) return 6;
    IUnknown_Release(unknown);

    if (IHolder_AllocResource(holder, 7, &first) != S_OK || first != 1000) return 7;
    if (IHolder_FreeResource(holder, first) != S_OK) return 8;
    if (IHolder_AllocResource(holder, 7, &second) != S_OK || second != first) return 9;
    if (IHolder_AllocResource(holder, 7, &third) != S_OK || third != 1001) return 10;
    if (IHolder_AllocResource(holder, 666, &failed) != E_OUTOFMEMORY) return 11;
    if (IHolder_FreeResource(holder, 4242) != E_INVALIDARG) return 12;
    if (IHolder_RequestDestroyResource(holder, third) != S_OK) return 13;
    if (IHolder_FreeResource(holder, third) != S_OK) return 14;
    if (IHolder_FreeResource(holder, second) != S_OK) return 15;
    if (IHolder_Close(holder) != S_OK) return 16;
    if (the_driver.refs != 1) return 17; /* Close let the driver go */
    if (IHolder_AllocResource(holder, 7, &failed) != CO_E_RELEASED) return 18;
    IHolder_Release(holder);
    IDispenserManager_Release(manager);
    return 0;
}
