/* C baselines for comidl-bench, compiled with gcc -O2 by build.rs.
 *
 * A hand-written COM object implementing ICounter and ISecond (idl/bench.idl), with
 * vtables laid out by hand in the Unix C calling convention (on x86_64 Linux
 * extern "system" is the C ABI): QueryInterface, AddRef, Release, then the methods in
 * IDL order. The reference count is atomic (__atomic builtins, the same orderings as
 * comidl-runtime's ComObject: relaxed increments, release decrement + acquire fence
 * before freeing), so QueryInterface/Release costs compare like with like. The shared
 * object code (obj_*) is inlined into each interface's entries, as the Rust runtime's
 * generic entries are monomorphised per slot; the entries themselves are out of line and
 * only reached through the vtable.
 *
 * The loops here are the C side of each benchmark; the Rust side is in src/lib.rs. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int32_t HRESULT;
#define S_OK ((HRESULT)0)
#define E_NOINTERFACE ((HRESULT)0x80004002u)
#define E_POINTER ((HRESULT)0x80004003u)

typedef struct GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;

static const GUID IID_IUnknown = {
    0x00000000, 0x0000, 0x0000, {0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}};
/* 0d4be66e-7c99-4f56-a719-9beb8364b97e */
static const GUID IID_ICounter = {
    0x0d4be66e, 0x7c99, 0x4f56, {0xa7, 0x19, 0x9b, 0xeb, 0x83, 0x64, 0xb9, 0x7e}};
/* 3bb0d7cf-7de9-4aa6-a10e-b1e96851c029 */
static const GUID IID_ISecond = {
    0x3bb0d7cf, 0x7de9, 0x4aa6, {0xa1, 0x0e, 0xb1, 0xe9, 0x68, 0x51, 0xc0, 0x29}};

typedef struct IUnknownVtbl {
    HRESULT (*QueryInterface)(void *self, const GUID *riid, void **ppv);
    uint32_t (*AddRef)(void *self);
    uint32_t (*Release)(void *self);
} IUnknownVtbl;

typedef struct ICounterVtbl {
    HRESULT (*QueryInterface)(void *self, const GUID *riid, void **ppv);
    uint32_t (*AddRef)(void *self);
    uint32_t (*Release)(void *self);
    HRESULT (*Add)(void *self, int32_t x, int32_t *total);
} ICounterVtbl;

typedef struct ISecondVtbl {
    HRESULT (*QueryInterface)(void *self, const GUID *riid, void **ppv);
    uint32_t (*AddRef)(void *self);
    uint32_t (*Release)(void *self);
    HRESULT (*Ping)(void *self);
} ISecondVtbl;

typedef struct IUnknown {
    const IUnknownVtbl *lpVtbl;
} IUnknown;
typedef struct ICounter {
    const ICounterVtbl *lpVtbl;
} ICounter;

/* Like ComObject: the interface slots first (slot 0 is the identity), then the count. */
typedef struct CObject {
    const ICounterVtbl *counter;
    const ISecondVtbl *second;
    uint32_t refs;
    int32_t total;
} CObject;

static int guid_eq(const GUID *a, const GUID *b) { return memcmp(a, b, sizeof(GUID)) == 0; }

/* The Rust object checks, in order: ICounter (its IID, then its base IUnknown), then
 * ISecond (its IID, then IUnknown). Same order here. */
static inline __attribute__((always_inline)) HRESULT obj_qi(CObject *o, const GUID *riid, void **ppv) {
    if (ppv == NULL)
        return E_POINTER;
    *ppv = NULL;
    if (riid == NULL)
        return E_POINTER;
    void *target;
    if (guid_eq(riid, &IID_ICounter) || guid_eq(riid, &IID_IUnknown))
        target = &o->counter;
    else if (guid_eq(riid, &IID_ISecond))
        target = &o->second;
    else
        return E_NOINTERFACE;
    __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    *ppv = target;
    return S_OK;
}

static inline __attribute__((always_inline)) uint32_t obj_addref(CObject *o) { return __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED) + 1; }

static inline __attribute__((always_inline)) uint32_t obj_release(CObject *o) {
    uint32_t before = __atomic_fetch_sub(&o->refs, 1, __ATOMIC_RELEASE);
    if (before != 1)
        return before - 1;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    free(o);
    return 0;
}

#define FROM_COUNTER(p) ((CObject *)((char *)(p) - offsetof(CObject, counter)))
#define FROM_SECOND(p) ((CObject *)((char *)(p) - offsetof(CObject, second)))

__attribute__((noinline)) static HRESULT counter_qi(void *self, const GUID *riid, void **ppv) {
    return obj_qi(FROM_COUNTER(self), riid, ppv);
}
__attribute__((noinline)) static uint32_t counter_addref(void *self) { return obj_addref(FROM_COUNTER(self)); }
__attribute__((noinline)) static uint32_t counter_release(void *self) { return obj_release(FROM_COUNTER(self)); }
__attribute__((noinline)) static HRESULT counter_add(void *self, int32_t x, int32_t *total) {
    CObject *o = FROM_COUNTER(self);
    if (total == NULL)
        return E_POINTER;
    o->total += x;
    *total = o->total;
    return S_OK;
}

__attribute__((noinline)) static HRESULT second_qi(void *self, const GUID *riid, void **ppv) {
    return obj_qi(FROM_SECOND(self), riid, ppv);
}
__attribute__((noinline)) static uint32_t second_addref(void *self) { return obj_addref(FROM_SECOND(self)); }
__attribute__((noinline)) static uint32_t second_release(void *self) { return obj_release(FROM_SECOND(self)); }
__attribute__((noinline)) static HRESULT second_ping(void *self) {
    (void)self;
    return S_OK;
}

static const ICounterVtbl counter_vtbl = {counter_qi, counter_addref, counter_release, counter_add};
static const ISecondVtbl second_vtbl = {second_qi, second_addref, second_release, second_ping};

/* A new C object with one reference, as its ICounter (= IUnknown) pointer; NULL if out of memory. */
ICounter *c_counter_create(void) {
    CObject *o = malloc(sizeof *o);
    if (o == NULL)
        return NULL;
    o->counter = &counter_vtbl;
    o->second = &second_vtbl;
    o->refs = 1;
    o->total = 0;
    return (ICounter *)&o->counter;
}

/* Benchmark 1: Add(1) n times straight through the vtable; the last total (-1 on failure). */
int32_t c_call_loop(ICounter *p, uint64_t n) {
    int32_t last = 0;
    for (uint64_t i = 0; i < n; i++) {
        int32_t total;
        HRESULT hr = p->lpVtbl->Add(p, 1, &total);
        if (hr < 0)
            return -1;
        last = total;
    }
    return last;
}

/* Benchmark 2: QueryInterface(ISecond) (which AddRefs) + Release, n times; the number of
 * successful round trips. Works on any object implementing ISecond (C or Rust). */
uint64_t c_qi_loop(IUnknown *u, uint64_t n) {
    uint64_t ok = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *s;
        HRESULT hr = u->lpVtbl->QueryInterface(u, &IID_ISecond, &s);
        if (hr < 0)
            return ok;
        ((IUnknown *)s)->lpVtbl->Release(s);
        ok++;
    }
    return ok;
}

/* Benchmark 3: malloc(size) + write + free, n times; a checksum of the bytes written
 * (size >= 1). The empty asm with a memory clobber keeps gcc from eliding the pair. */
uint64_t c_malloc_loop(size_t size, uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char *p = malloc(size);
        if (p == NULL)
            return acc;
        p[0] = (unsigned char)i;
        p[size - 1] = (unsigned char)i;
        __asm__ volatile("" : : "r"(p) : "memory");
        acc += p[size - 1];
        free(p);
    }
    return acc;
}
