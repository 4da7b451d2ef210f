/* server.c: a server of tests/wire/idl/wine_constructs.idl on Wine's rpcrt4, for comidl's
 * clients to call. Built with mingw-w64 against widl's server stub (wine.sh), run under
 * wine64:
 *   server.exe PORT
 * listens on ncacn_ip_tcp at PORT, unauthenticated, prints "listening PORT" once it does,
 * and serves until killed. Each operation answers as the IDL's comment on it says.
 * Written for comidl. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wine_constructs.h"

void __RPC_FAR *__RPC_USER midl_user_allocate(SIZE_T n) { return malloc(n ? n : 1); }
void __RPC_USER midl_user_free(void __RPC_FAR *p) { free(p); }

static wchar_t *wdup(const wchar_t *s)
{
    size_t n;
    wchar_t *r;
    if (!s)
        return NULL;
    n = wcslen(s) + 1;
    r = midl_user_allocate(n * sizeof(wchar_t));
    memcpy(r, s, n * sizeof(wchar_t));
    return r;
}

static COLOR next_color(COLOR c)
{
    return c == COLOR_RED ? COLOR_GREEN : c == COLOR_GREEN ? COLOR_BLUE : COLOR_RED;
}

LONG __cdecl WcPadded(handle_t h, PADDED *in_, PADDED *out_)
{
    (void)h;
    out_->c = (char)((unsigned char)in_->c + 1);
    out_->e = next_color(in_->e);
    out_->l = (LONG)((ULONG)in_->l + 1);
    out_->c2 = (char)((unsigned char)in_->c2 + 1);
    out_->h = (hyper)((MIDL_uhyper)in_->h + 1);
    return 0;
}

LONG __cdecl WcShortTagged(handle_t h, SHORT_TAGGED *in_, SHORT_TAGGED *out_)
{
    (void)h;
    out_->tag = in_->tag;
    if (in_->tag == 1)
        out_->choice.one = (LONG)((ULONG)in_->choice.one + 1);
    return 0;
}

LONG __cdecl WcScalars(handle_t h, SCALARS *in_, SCALARS *out_)
{
    (void)h;
    out_->flag = !in_->flag;
    out_->b = (byte)(in_->b + 1);
    out_->c = (char)((unsigned char)in_->c + 1);
    out_->w = (wchar_t)(in_->w + 1);
    out_->sh = (short)(unsigned short)((unsigned short)in_->sh - 1);
    out_->us = (unsigned short)(in_->us + 1);
    out_->l = (LONG)((ULONG)in_->l - 1);
    out_->ul = in_->ul + 1;
    out_->h = (hyper)((MIDL_uhyper)in_->h - 1);
    out_->uh = in_->uh + 1;
    out_->f = in_->f * 2;
    out_->d = in_->d * 2;
    out_->color = next_color(in_->color);
    return 0;
}

LONG __cdecl WcStrings(handle_t h, char *narrow, wchar_t *wide, wchar_t **joined)
{
    const wchar_t *tail = wide ? wide : L"(null)";
    size_t n = strlen(narrow), m = wcslen(tail), i;
    wchar_t *r = midl_user_allocate((n + 1 + m + 1) * sizeof(wchar_t));
    (void)h;
    for (i = 0; i < n; i++)
        r[i] = (unsigned char)narrow[i];
    r[n] = L'|';
    memcpy(r + n + 1, tail, (m + 1) * sizeof(wchar_t));
    *joined = r;
    return 0;
}

LONG __cdecl WcSum(handle_t h, ULONG n, LONG *values, ULONG cb, short *halves, hyper *sum)
{
    hyper s = 0;
    ULONG i;
    (void)h;
    for (i = 0; i < n; i++)
        s += values[i];
    for (i = 0; i < cb / 2; i++)
        s += halves[i];
    *sum = s;
    return 0;
}

LONG __cdecl WcWindow(handle_t h, ULONG size, ULONG len, short *items, ULONG *count, short *back)
{
    ULONG i;
    (void)h;
    (void)size;
    for (i = 0; i < len; i++)
        back[i] = items[len - 1 - i];
    *count = len;
    return 0;
}

LONG __cdecl WcScale(handle_t h, POLY *in_, LONG factor, POLY **out_)
{
    POLY *p;
    ULONG i;
    (void)h;
    if (!in_->n) {
        *out_ = NULL;
        return 0;
    }
    p = midl_user_allocate(sizeof(POLY) + in_->n * sizeof(POINT2));
    p->n = in_->n;
    for (i = 0; i < in_->n; i++) {
        p->points[i].x = in_->points[i].x * factor;
        p->points[i].y = in_->points[i].y * factor;
    }
    *out_ = p;
    return 0;
}

LONG __cdecl WcUpper(handle_t h, CVTEXT *in_, CVTEXT **out_)
{
    ULONG i, room = in_->room * 2;
    CVTEXT *t = midl_user_allocate(sizeof(CVTEXT) + room * sizeof(wchar_t));
    (void)h;
    t->room = room;
    t->used = in_->used;
    for (i = 0; i < in_->used; i++) {
        wchar_t c = in_->chars[i];
        t->chars[i] = (c >= L'a' && c <= L'z') ? c - L'a' + L'A' : c;
    }
    *out_ = t;
    return 0;
}

LONG __cdecl WcFixed(handle_t h, FIXED_ARRAYS *in_, FIXED_ARRAYS *out_)
{
    int i, j;
    size_t n = strnlen(in_->name, sizeof(in_->name) - 1);
    (void)h;
    for (i = 0; i < 3; i++)
        out_->three[i] = in_->three[2 - i];
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            out_->grid[i][j] = (short)(in_->grid[i][j] * 10);
    memset(out_->name, 0, sizeof(out_->name));
    for (i = 0; i < (int)n; i++)
        out_->name[i] = in_->name[n - 1 - i];
    return 0;
}

LONG __cdecl WcEntries(handle_t h, ENTRIES *in_, ENTRIES *out_)
{
    ULONG i;
    (void)h;
    out_->count = in_->count;
    out_->items = NULL;
    if (!in_->count)
        return 0;
    out_->items = midl_user_allocate(in_->count * sizeof(ENTRY));
    for (i = 0; i < in_->count; i++) {
        out_->items[i].name = wdup(in_->items[i].remark);
        out_->items[i].type = in_->items[i].type + 1;
        out_->items[i].remark = wdup(in_->items[i].name);
    }
    return 0;
}

LONG __cdecl WcTagged(handle_t h, TAGGED *in_, TAGGED *out_)
{
    (void)h;
    out_->tag = in_->tag;
    switch (in_->tag) {
    case 0:
        out_->choice.zero = (LONG)((ULONG)in_->choice.zero + 1);
        break;
    case 1:
        out_->choice.one = NULL;
        if (in_->choice.one) {
            out_->choice.one = midl_user_allocate(sizeof(POINT2));
            out_->choice.one->x = in_->choice.one->y;
            out_->choice.one->y = in_->choice.one->x;
        }
        break;
    case 2:
        out_->choice.text = wdup(in_->choice.text);
        if (out_->choice.text) {
            size_t n = wcslen(out_->choice.text), i;
            for (i = 0; i < n / 2; i++) {
                wchar_t c = out_->choice.text[i];
                out_->choice.text[i] = out_->choice.text[n - 1 - i];
                out_->choice.text[n - 1 - i] = c;
            }
        }
        break;
    case 3:
        break;
    default:
        out_->choice.other = (hyper)((MIDL_uhyper)in_->choice.other * 2);
        break;
    }
    return 0;
}

LONG __cdecl WcNumber(handle_t h, LONG kind, NUMBER *in_, NUMBER *out_)
{
    (void)h;
    switch (kind) {
    case 1: out_->i = (LONG)((ULONG)in_->i * 2); break;
    case 2: out_->d = in_->d * 2; break;
    case 3: out_->h = (hyper)((MIDL_uhyper)in_->h * 2); break;
    default: break;
    }
    return 0;
}

LONG __cdecl WcCapsule(handle_t h, CAPSULE *in_, CAPSULE *out_)
{
    (void)h;
    out_->kind = in_->kind;
    switch (in_->kind) {
    case 1: out_->value.i = (LONG)((ULONG)in_->value.i * 2); break;
    case 2: out_->value.d = in_->value.d * 2; break;
    case 3:
        out_->value.p.x = in_->value.p.y;
        out_->value.p.y = in_->value.p.x;
        break;
    default: break;
    }
    return 0;
}

LONG __cdecl WcAliases(handle_t h, LONG *first, ALIASES *in_, LONG *shape, ALIASES *out_)
{
    LONG s = 0;
    LONG *sum;
    (void)h;
    if (!in_->a) s |= 1;
    if (!in_->b) s |= 2;
    if (!in_->c) s |= 4;
    if (in_->a && in_->a == in_->b) s |= 8;
    if (in_->b && in_->b == in_->c) s |= 16;
    if (in_->a && in_->a == in_->c) s |= 32;
    if (first && first == in_->a) s |= 64;
    *shape = s;
    sum = midl_user_allocate(sizeof(LONG));
    *sum = (first ? *first : 0) + (in_->a ? *in_->a : 0) + (in_->b ? *in_->b : 0) + (in_->c ? *in_->c : 0);
    out_->a = sum;
    out_->b = sum;
    out_->c = NULL;
    return 0;
}

LONG __cdecl WcReverse(handle_t h, NODE *list, LONG *length, NODE **reversed)
{
    NODE *r = NULL;
    LONG n = 0;
    (void)h;
    for (; list; list = list->next) {
        NODE *node = midl_user_allocate(sizeof(NODE));
        node->value = (LONG)(0u - (ULONG)list->value);
        node->next = r;
        r = node;
        n++;
    }
    *length = n;
    *reversed = r;
    return 0;
}

LONG __cdecl WcRanged(handle_t h, LONG r, LONG *twice)
{
    (void)h;
    *twice = r * 2;
    return 0;
}

LONG __cdecl WcBig(handle_t h, ULONG n, byte seed, byte *data)
{
    ULONG i;
    (void)h;
    for (i = 0; i < n; i++)
        data[i] = (byte)(seed + 7 * i);
    return 0;
}

LONG __cdecl WcChecksum(handle_t h, ULONG n, byte *data, ULONG *sum)
{
    ULONG i, s = 0;
    (void)h;
    for (i = 0; i < n; i++)
        s += data[i] * (i + 1);
    *sum = s;
    return 0;
}

struct session {
    LONG total;
};

LONG __cdecl WcOpen(handle_t h, LONG start, SESSION *s)
{
    struct session *ss = malloc(sizeof(*ss));
    (void)h;
    ss->total = start;
    *s = ss;
    return 0;
}

LONG __cdecl WcAdd(SESSION s, LONG x, LONG *total)
{
    struct session *ss = s;
    ss->total += x;
    *total = ss->total;
    return 0;
}

LONG __cdecl WcClose(SESSION *s, LONG *final)
{
    struct session *ss = *s;
    *final = ss->total;
    free(ss);
    *s = NULL;
    return 0;
}

void __RPC_USER SESSION_rundown(SESSION s) { free(s); }

int main(int argc, char **argv)
{
    RPC_STATUS st;
    if (argc != 2) {
        fprintf(stderr, "usage: server.exe PORT\n");
        return 2;
    }
    st = RpcServerUseProtseqEpA((RPC_CSTR) "ncacn_ip_tcp", RPC_C_PROTSEQ_MAX_REQS_DEFAULT, (RPC_CSTR)argv[1], NULL);
    if (st) {
        fprintf(stderr, "RpcServerUseProtseqEp: %ld\n", (long)st);
        return 1;
    }
    st = RpcServerRegisterIf(wine_constructs_v1_0_s_ifspec, NULL, NULL);
    if (st) {
        fprintf(stderr, "RpcServerRegisterIf: %ld\n", (long)st);
        return 1;
    }
    printf("listening %s\n", argv[1]);
    fflush(stdout);
    st = RpcServerListen(1, RPC_C_LISTEN_MAX_CALLS_DEFAULT, FALSE);
    fprintf(stderr, "RpcServerListen: %ld\n", (long)st);
    return 1;
}
