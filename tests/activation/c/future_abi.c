/* A server module built for a runtime ABI this runtime does not speak (99). Compiled with
 * -DCLAIMS_SUCCESS it accepts the host's table anyway, to check the loader refuses it on
 * the version it reports, not on its say-so. */
#include <stdint.h>

typedef int32_t HRESULT;

HRESULT comidl_module_attach(const void *host, uint32_t *module_abi)
{
    (void)host;
    if (module_abi)
        *module_abi = 99;
#ifdef CLAIMS_SUCCESS
    return 0;
#else
    return (HRESULT)0x8007051A; /* HRESULT_FROM_WIN32(ERROR_REVISION_MISMATCH) */
#endif
}

/* Must never be reached: the loader refuses the module first. Crashes loudly if it is. */
HRESULT DllGetClassObject(const void *clsid, const void *iid, void **out)
{
    (void)clsid;
    (void)iid;
    (void)out;
    __builtin_trap();
}

HRESULT DllCanUnloadNow(void)
{
    return 0;
}
