/* The entry points of libcomidl_runtime_c.so (runtime/capi) this client calls, and the
 * constants it needs, declared here until the runtime ships a C header of its own. Types
 * come from comidl_base.h, the header comidl writes for idl/comidl_base.idl. The functions
 * use the C calling convention (Rust's extern "system" on Unix), like COM methods. */
#ifndef CALCULATOR_COMIDL_RUNTIME_H
#define CALCULATOR_COMIDL_RUNTIME_H

#include "comidl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COINIT_MULTITHREADED 0x0
#define CLSCTX_INPROC_SERVER 0x1
#define CLSCTX_LOCAL_SERVER 0x4
#define CLSCTX_REMOTE_SERVER 0x10

/* Remote activation (CoCreateInstanceEx with CLSCTX_REMOTE_SERVER): the machine, how to
 * authenticate (NULL pAuthInfo: the process's default), and one entry per interface. */
typedef struct COAUTHIDENTITY {
    unsigned short *User;
    ULONG UserLength;
    unsigned short *Domain;
    ULONG DomainLength;
    unsigned short *Password;
    ULONG PasswordLength;
    ULONG Flags;
} COAUTHIDENTITY;

typedef struct COAUTHINFO {
    DWORD dwAuthnSvc;
    DWORD dwAuthzSvc;
    LPWSTR pwszServerPrincName;
    DWORD dwAuthnLevel;
    DWORD dwImpersonationLevel;
    COAUTHIDENTITY *pAuthIdentityData;
    DWORD dwCapabilities;
} COAUTHINFO;

typedef struct COSERVERINFO {
    DWORD dwReserved1;
    LPWSTR pwszName;
    COAUTHINFO *pAuthInfo;
    DWORD dwReserved2;
} COSERVERINFO;

typedef struct MULTI_QI {
    const IID *pIID;
    IUnknown *pItf;
    HRESULT hr;
} MULTI_QI;

#define SUCCEEDED(hr) ((HRESULT)(hr) >= 0)
#define FAILED(hr) ((HRESULT)(hr) < 0)
#define E_UNEXPECTED ((HRESULT)0x8000FFFF)
#define E_INVALIDARG ((HRESULT)0x80070057)
#define E_NOINTERFACE ((HRESULT)0x80004002)
#define E_POINTER ((HRESULT)0x80004003)
#define S_OK ((HRESULT)0)

HRESULT STDMETHODCALLTYPE CoInitializeEx(void *reserved, DWORD coinit);
void STDMETHODCALLTYPE CoUninitialize(void);
HRESULT STDMETHODCALLTYPE CLSIDFromProgID(LPCWSTR progid, CLSID *clsid);
HRESULT STDMETHODCALLTYPE CoCreateInstance(REFCLSID clsid, IUnknown *outer, DWORD context,
                                           REFIID iid, void **object);
HRESULT STDMETHODCALLTYPE CoCreateInstanceEx(REFCLSID clsid, IUnknown *outer, DWORD context,
                                             COSERVERINFO *server, DWORD count,
                                             MULTI_QI *results);
void STDMETHODCALLTYPE CoFreeUnusedLibraries(void);

#ifdef __cplusplus
}
#endif

#endif
