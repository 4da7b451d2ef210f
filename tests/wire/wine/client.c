/* client.c: a client of tests/wire/idl/wine_constructs.idl on Wine's rpcrt4. It calls every
 * operation of a server (Wine's own server.c, or comidl's) with fixed values and checks each
 * answer against what the IDL's comment on that operation requires. Built with mingw-w64
 * against widl's client stub (wine.sh), run under wine64:
 *   client.exe STRING-BINDING     e.g. client.exe "ncacn_ip_tcp:127.0.0.1[4747]"
 *   client.exe --spec-peer STRING-BINDING
 *   client.exe --list             the checks' names, one a line
 * Prints one line per check, "ok NAME" or "FAIL NAME: why", then "N passed, N failed", and
 * exits 1 on a failure. A call that raises (a fault from the server, a transport error) is
 * that check's failure, with the status; the checks after it still run.
 * The checks named wine_bug.* send what Wine's own bugs make of their values (see the IDL):
 * they pass against Wine's server and cannot pass against a server that follows the
 * specifications. --spec-peer is for such a server (comidl's): it runs every other check,
 * and prints "n/a NAME: why" for each wine_bug.* check instead of calling it (neither passed
 * nor failed; a line "N not applicable" precedes the counts). It also expects a [range]
 * violation to be refused as MS-RPCE requires (see ranged_outside), not as Wine does.
 * Written for comidl. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wine_constructs.h"

void __RPC_FAR *__RPC_USER midl_user_allocate(SIZE_T n) { return malloc(n ? n : 1); }
void __RPC_USER midl_user_free(void __RPC_FAR *p) { free(p); }

static handle_t binding;
/* --spec-peer: the server follows C706 and MS-RPCE, not Wine's reading of them. */
static int spec_peer;
static char why[1024];

/* Records why a check failed; the check returns it. */
static const char *failed(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return why;
}

#define EXPECT(cond, ...) do { if (!(cond)) return failed(__VA_ARGS__); } while (0)
#define STATUS(r) EXPECT((r) == 0, "returned %ld, not 0", (long)(r))

/* UTF-16 text as printable ASCII with \uXXXX escapes, for messages. */
static const char *show(const wchar_t *s)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    size_t at = 0;
    if (!s)
        return "NULL";
    b[at++] = '"';
    for (; *s && at < sizeof(buf[0]) - 10; s++) {
        if (*s >= 0x20 && *s < 0x7f)
            b[at++] = (char)*s;
        else
            at += snprintf(b + at, 8, "\\u%04x", (unsigned)*s);
    }
    b[at++] = '"';
    b[at] = 0;
    return b;
}

static int wsame(const wchar_t *a, const wchar_t *b)
{
    if (!a || !b)
        return a == b;
    return wcscmp(a, b) == 0;
}

/* ---- the checks: each calls one operation and returns NULL or why it failed ---- */

static const char *scalars(void)
{
    SCALARS in, out;
    LONG r;
    memset(&in, 0, sizeof(in));
    memset(&out, 0x5a, sizeof(out));
    in.flag = 1;
    in.b = 0xff;
    in.c = 'A';
    in.w = 0x263a;
    in.sh = -32768;
    in.us = 0xffff;
    in.l = (LONG)0x80000000u;
    in.ul = 0xfffffffeu;
    in.h = (hyper)0x8000000000000000ull;
    in.uh = 0x0123456789abcdefull;
    in.f = 1.5f;
    in.d = -0.375;
    in.color = COLOR_BLUE;
    r = WcScalars(binding, &in, &out);
    STATUS(r);
    EXPECT(out.flag == 0, "flag %d", out.flag);
    EXPECT(out.b == 0, "b %u", out.b);
    EXPECT(out.c == 'B', "c %d", out.c);
    EXPECT(out.w == 0x263b, "w %#x", out.w);
    EXPECT(out.sh == 32767, "sh %d", out.sh);
    EXPECT(out.us == 0, "us %u", out.us);
    EXPECT(out.l == 0x7fffffff, "l %ld", (long)out.l);
    EXPECT(out.ul == 0xffffffffu, "ul %lu", (unsigned long)out.ul);
    EXPECT(out.h == 0x7fffffffffffffffll, "h %lld", (long long)out.h);
    EXPECT(out.uh == 0x0123456789abcdf0ull, "uh %#llx", (unsigned long long)out.uh);
    EXPECT(out.f == 3.0f, "f %g", out.f);
    EXPECT(out.d == -0.75, "d %g", out.d);
    EXPECT(out.color == COLOR_RED, "color %d", out.color);
    return NULL;
}

/* Wine 8 leaves out the alignment gaps inside such a structure (see PADDED in the IDL): a
 * server that follows C706 reads its request differently, and this check fails there. */
static const char *wine_bug_padded(void)
{
    PADDED in, out;
    LONG r;
    memset(&in, 0, sizeof(in));
    memset(&out, 0x5a, sizeof(out));
    in.c = 1;
    in.e = COLOR_GREEN;
    in.l = 3;
    in.c2 = 4;
    in.h = 5;
    r = WcPadded(binding, &in, &out);
    STATUS(r);
    EXPECT(out.c == 2 && out.e == COLOR_BLUE && out.l == 4 && out.c2 == 5 && out.h == 6,
           "out_ {%d, %d, %ld, %d, %lld}", out.c, out.e, (long)out.l, out.c2, (long long)out.h);
    return NULL;
}

/* widl 7 writes this short discriminant as a long (see SHORT_TAGGED in the IDL): a server
 * that follows C706 reads its request differently, and this check fails there. */
static const char *wine_bug_short_tagged(void)
{
    SHORT_TAGGED in, out;
    LONG r;
    memset(&out, 0, sizeof(out));
    in.tag = 1;
    in.choice.one = 41;
    r = WcShortTagged(binding, &in, &out);
    STATUS(r);
    EXPECT(out.tag == 1 && out.choice.one == 42, "out_ {%d, %ld}", out.tag, (long)out.choice.one);
    return NULL;
}

static const char *strings_(const char *narrow, const wchar_t *wide, const wchar_t *want)
{
    wchar_t *joined = NULL;
    LONG r = WcStrings(binding, (char *)narrow, (wchar_t *)wide, &joined);
    STATUS(r);
    EXPECT(wsame(joined, want), "joined %s, expected %s", show(joined), show(want));
    return NULL;
}
static const char *strings(void) { return strings_("abc", L"d\u00e9j\u00e0 vu \u263a", L"abc|d\u00e9j\u00e0 vu \u263a"); }
static const char *strings_null(void) { return strings_("xyz", NULL, L"xyz|(null)"); }
static const char *strings_empty(void) { return strings_("", L"", L"|"); }

static const char *sum(void)
{
    LONG values[] = {1, -2, 3, -4, 2147483647};
    short halves[] = {-32768, 100, 7};
    hyper s = 0;
    /* cb = 7 bytes: cb / 2 = 3 halves. */
    LONG r = WcSum(binding, 5, values, 7, halves, &s);
    STATUS(r);
    EXPECT(s == 2147483645ll - 32661, "sum %lld", (long long)s);
    return NULL;
}

static const char *sum_empty(void)
{
    LONG v = 99;
    short hv = 99;
    hyper s = 1;
    LONG r = WcSum(binding, 0, &v, 1, &hv, &s);
    STATUS(r);
    EXPECT(s == 0, "sum %lld", (long long)s);
    return NULL;
}

static const char *window_(ULONG size, ULONG len)
{
    short items[8] = {10, 20, 30, 40, 50, 60, 70, 80}, back[8];
    ULONG count = 12345, i;
    LONG r;
    memset(back, 0x77, sizeof(back));
    r = WcWindow(binding, size, len, items, &count, back);
    STATUS(r);
    EXPECT(count == len, "count %lu", (unsigned long)count);
    for (i = 0; i < len; i++)
        EXPECT(back[i] == items[len - 1 - i], "back[%lu] = %d", (unsigned long)i, back[i]);
    return NULL;
}
static const char *window(void) { return window_(8, 5); }
static const char *window_empty(void) { return window_(4, 0); }

static const char *scale(void)
{
    POLY *p = malloc(sizeof(POLY) + 3 * sizeof(POINT2)), *out = NULL;
    LONG r;
    p->n = 3;
    p->points[0].x = 1; p->points[0].y = 2;
    p->points[1].x = 3; p->points[1].y = -4;
    p->points[2].x = -5; p->points[2].y = 6;
    r = WcScale(binding, p, -3, &out);
    STATUS(r);
    EXPECT(out, "out_ is NULL");
    EXPECT(out->n == 3, "n %lu", (unsigned long)out->n);
    EXPECT(out->points[0].x == -3 && out->points[0].y == -6, "points[0] (%ld, %ld)", (long)out->points[0].x, (long)out->points[0].y);
    EXPECT(out->points[1].x == -9 && out->points[1].y == 12, "points[1] (%ld, %ld)", (long)out->points[1].x, (long)out->points[1].y);
    EXPECT(out->points[2].x == 15 && out->points[2].y == -18, "points[2] (%ld, %ld)", (long)out->points[2].x, (long)out->points[2].y);
    return NULL;
}

static const char *scale_empty(void)
{
    POLY p, *out = (POLY *)&p;
    LONG r;
    p.n = 0;
    r = WcScale(binding, &p, 2, &out);
    STATUS(r);
    EXPECT(out == NULL, "out_ is not NULL (n %lu)", (unsigned long)out->n);
    return NULL;
}

static const char *upper(void)
{
    const wchar_t *text = L"wine ok\u00e9";
    CVTEXT *t = malloc(sizeof(CVTEXT) + 12 * sizeof(wchar_t)), *out = NULL;
    LONG r;
    t->room = 12;
    t->used = 8;
    memcpy(t->chars, text, 8 * sizeof(wchar_t));
    r = WcUpper(binding, t, &out);
    STATUS(r);
    EXPECT(out, "out_ is NULL");
    EXPECT(out->room == 24, "room %lu", (unsigned long)out->room);
    EXPECT(out->used == 8, "used %lu", (unsigned long)out->used);
    EXPECT(memcmp(out->chars, L"WINE OK\u00e9", 8 * sizeof(wchar_t)) == 0, "chars %.8ls", out->chars);
    return NULL;
}

static const char *fixed(void)
{
    FIXED_ARRAYS in, out;
    int i, j;
    LONG r;
    memset(&in, 0, sizeof(in));
    memset(&out, 0x11, sizeof(out));
    in.three[0] = 1; in.three[1] = -2; in.three[2] = 3;
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            in.grid[i][j] = (short)(i * 3 + j + 1);
    strcpy(in.name, "comidl");
    r = WcFixed(binding, &in, &out);
    STATUS(r);
    EXPECT(out.three[0] == 3 && out.three[1] == -2 && out.three[2] == 1, "three {%ld, %ld, %ld}", (long)out.three[0], (long)out.three[1], (long)out.three[2]);
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            EXPECT(out.grid[i][j] == (i * 3 + j + 1) * 10, "grid[%d][%d] = %d", i, j, out.grid[i][j]);
    EXPECT(strcmp(out.name, "ldimoc") == 0, "name \"%.16s\"", out.name);
    return NULL;
}

static const char *entries(void)
{
    ENTRY items[3] = {
        {L"alpha", 1, L"first"},
        {L"beta", 2, NULL},
        {NULL, 0xffffffffu, L"third \u263a"},
    };
    ENTRIES in = {3, items}, out = {0, NULL};
    ULONG i;
    LONG r = WcEntries(binding, &in, &out);
    STATUS(r);
    EXPECT(out.count == 3, "count %lu", (unsigned long)out.count);
    EXPECT(out.items, "items is NULL");
    for (i = 0; i < 3; i++) {
        EXPECT(wsame(out.items[i].name, items[i].remark), "items[%lu].name %s", (unsigned long)i, show(out.items[i].name));
        EXPECT(wsame(out.items[i].remark, items[i].name), "items[%lu].remark %s", (unsigned long)i, show(out.items[i].remark));
        EXPECT(out.items[i].type == items[i].type + 1, "items[%lu].type %lu", (unsigned long)i, (unsigned long)out.items[i].type);
    }
    return NULL;
}

static const char *entries_empty(void)
{
    ENTRIES in = {0, NULL}, out = {7, (ENTRY *)&in};
    LONG r = WcEntries(binding, &in, &out);
    STATUS(r);
    EXPECT(out.count == 0, "count %lu", (unsigned long)out.count);
    EXPECT(out.items == NULL, "items is not NULL");
    return NULL;
}

static const char *tagged_(TAGGED *in, TAGGED *out)
{
    LONG r;
    memset(out, 0, sizeof(*out));
    out->tag = 0x5555;
    r = WcTagged(binding, in, out);
    STATUS(r);
    EXPECT(out->tag == in->tag, "tag %ld", (long)out->tag);
    return NULL;
}

static const char *tagged_zero(void)
{
    TAGGED in, out;
    const char *e;
    in.tag = 0;
    in.choice.zero = 41;
    if ((e = tagged_(&in, &out)))
        return e;
    EXPECT(out.choice.zero == 42, "zero %ld", (long)out.choice.zero);
    return NULL;
}

static const char *tagged_one(void)
{
    POINT2 p = {7, -8};
    TAGGED in, out;
    const char *e;
    in.tag = 1;
    in.choice.one = &p;
    if ((e = tagged_(&in, &out)))
        return e;
    EXPECT(out.choice.one, "one is NULL");
    EXPECT(out.choice.one->x == -8 && out.choice.one->y == 7, "one (%ld, %ld)", (long)out.choice.one->x, (long)out.choice.one->y);
    return NULL;
}

static const char *tagged_one_null(void)
{
    TAGGED in, out;
    const char *e;
    in.tag = 1;
    in.choice.one = NULL;
    if ((e = tagged_(&in, &out)))
        return e;
    EXPECT(out.choice.one == NULL, "one is not NULL");
    return NULL;
}

static const char *tagged_text(void)
{
    TAGGED in, out;
    const char *e;
    in.tag = 2;
    in.choice.text = L"stressed\u263a";
    if ((e = tagged_(&in, &out)))
        return e;
    EXPECT(wsame(out.choice.text, L"\u263adesserts"), "text %s", show(out.choice.text));
    return NULL;
}

static const char *tagged_empty(void)
{
    TAGGED in, out;
    in.tag = 3;
    in.choice.other = 0;
    return tagged_(&in, &out);
}

static const char *tagged_other(void)
{
    TAGGED in, out;
    const char *e;
    in.tag = -9;
    in.choice.other = -1234567890123ll;
    if ((e = tagged_(&in, &out)))
        return e;
    EXPECT(out.choice.other == -2469135780246ll, "other %lld", (long long)out.choice.other);
    return NULL;
}

static const char *number_(LONG kind, NUMBER *in, NUMBER *out)
{
    LONG r;
    memset(out, 0, sizeof(*out));
    r = WcNumber(binding, kind, in, out);
    STATUS(r);
    return NULL;
}

static const char *number_i(void)
{
    NUMBER in, out;
    const char *e;
    in.i = -21;
    if ((e = number_(1, &in, &out)))
        return e;
    EXPECT(out.i == -42, "i %ld", (long)out.i);
    return NULL;
}

static const char *number_d(void)
{
    NUMBER in, out;
    const char *e;
    in.d = 1.25;
    if ((e = number_(2, &in, &out)))
        return e;
    EXPECT(out.d == 2.5, "d %g", out.d);
    return NULL;
}

static const char *number_h(void)
{
    NUMBER in, out;
    const char *e;
    in.h = 0x100000001ll;
    if ((e = number_(3, &in, &out)))
        return e;
    EXPECT(out.h == 0x200000002ll, "h %#llx", (long long)out.h);
    return NULL;
}

static const char *number_default(void)
{
    NUMBER in, out;
    in.h = 0;
    return number_(7, &in, &out);
}

static const char *capsule_(CAPSULE *in, CAPSULE *out)
{
    LONG r;
    memset(out, 0, sizeof(*out));
    r = WcCapsule(binding, in, out);
    STATUS(r);
    EXPECT(out->kind == in->kind, "kind %ld", (long)out->kind);
    return NULL;
}

static const char *capsule_i(void)
{
    CAPSULE in, out;
    const char *e;
    in.kind = 1;
    in.value.i = -50;
    if ((e = capsule_(&in, &out)))
        return e;
    EXPECT(out.value.i == -100, "i %ld", (long)out.value.i);
    return NULL;
}

static const char *capsule_d(void)
{
    CAPSULE in, out;
    const char *e;
    in.kind = 2;
    in.value.d = 0.5;
    if ((e = capsule_(&in, &out)))
        return e;
    EXPECT(out.value.d == 1.0, "d %g", out.value.d);
    return NULL;
}

static const char *capsule_p(void)
{
    CAPSULE in, out;
    const char *e;
    in.kind = 3;
    in.value.p.x = 1;
    in.value.p.y = 2;
    if ((e = capsule_(&in, &out)))
        return e;
    EXPECT(out.value.p.x == 2 && out.value.p.y == 1, "p (%ld, %ld)", (long)out.value.p.x, (long)out.value.p.y);
    return NULL;
}

static const char *capsule_default(void)
{
    CAPSULE in, out;
    in.kind = 0;
    in.value.d = 0;
    return capsule_(&in, &out);
}

static const char *aliases_(LONG *first, LONG *a, LONG *b, LONG *c, LONG want_shape, LONG want_sum)
{
    ALIASES in = {a, b, c}, out = {NULL, NULL, NULL};
    LONG shape = -1;
    LONG r = WcAliases(binding, first, &in, &shape, &out);
    STATUS(r);
    EXPECT(shape == want_shape, "shape %#lx, expected %#lx", (long)shape, (long)want_shape);
    EXPECT(out.a && out.b, "out_.a or out_.b is NULL");
    EXPECT(out.a == out.b, "out_.a and out_.b are two pointers, not one");
    EXPECT(*out.a == want_sum, "*out_.a %ld, expected %ld", (long)*out.a, (long)want_sum);
    EXPECT(out.c == NULL, "out_.c is not NULL");
    return NULL;
}
static LONG five = 5, seven = 7, ten = 10, one = 1;
static const char *aliases_ab(void) { return aliases_(NULL, &five, &five, &seven, 8, 17); }
static const char *aliases_bc(void) { return aliases_(&one, NULL, &ten, &ten, 1 | 16, 21); }
static const char *aliases_ac(void) { return aliases_(&seven, &seven, NULL, &seven, 2 | 32 | 64, 21); }
static const char *aliases_distinct(void) { return aliases_(&one, &five, &seven, &ten, 0, 23); }
static const char *aliases_none(void) { return aliases_(NULL, NULL, NULL, NULL, 7, 0); }

static const char *reverse_(NODE *list, LONG n, const LONG *want)
{
    NODE *out = (NODE *)list;
    LONG length = -1, i;
    LONG r = WcReverse(binding, list, &length, &out);
    STATUS(r);
    EXPECT(length == n, "length %ld", (long)length);
    for (i = 0; i < n; i++, out = out->next) {
        EXPECT(out, "node %ld is missing", (long)i);
        EXPECT(out->value == want[i], "node %ld is %ld", (long)i, (long)out->value);
    }
    EXPECT(!out, "more than %ld nodes", (long)n);
    return NULL;
}

static const char *reverse(void)
{
    NODE c = {3, NULL}, b = {-2, &c}, a = {1, &b};
    LONG want[] = {-3, 2, -1};
    return reverse_(&a, 3, want);
}

static const char *reverse_one(void)
{
    NODE a = {0, NULL};
    LONG want[] = {0};
    return reverse_(&a, 1, want);
}

static const char *ranged_(LONG x)
{
    LONG twice = 99;
    LONG r = WcRanged(binding, x, &twice);
    STATUS(r);
    EXPECT(twice == x * 2, "twice %ld", (long)twice);
    return NULL;
}
static const char *ranged_low(void) { return ranged_(-5); }
static const char *ranged_high(void) { return ranged_(5); }

/* The code a check expects its call to raise (0: none). */
static DWORD expect_raise;

/* 6 is outside [range(-5, 5)]: the server's stub must refuse it. Wine's server faults with
 * nca_s_fault_invalid_bound (C706 Appendix E), which the call raises as RPC_X_INVALID_BOUND
 * (1734). MS-RPCE makes [range] part of its strict consistency checks (2.2.4.14, 3.1.1.5.3)
 * and a server that finds the octet stream invalid answer 0x6f7 (3.1.3.5.2), which the call
 * raises as RPC_X_BAD_STUB_DATA (1783): what --spec-peer expects. */
static const char *ranged_outside(void)
{
    LONG twice = 99;
    LONG r;
    expect_raise = spec_peer ? RPC_X_BAD_STUB_DATA : RPC_X_INVALID_BOUND;
    r = WcRanged(binding, 6, &twice);
    return failed("the server answered (returned %ld, twice %ld) instead of refusing 6", (long)r, (long)twice);
}

static const char *big(void)
{
    ULONG n = 20000, i;
    byte *data = malloc(n);
    LONG r;
    memset(data, 0xee, n);
    r = WcBig(binding, n, 3, data);
    STATUS(r);
    for (i = 0; i < n; i++)
        EXPECT(data[i] == (byte)(3 + 7 * i), "data[%lu] = %u", (unsigned long)i, data[i]);
    free(data);
    return NULL;
}

static const char *big_empty(void)
{
    byte data = 0xee;
    LONG r = WcBig(binding, 0, 3, &data);
    STATUS(r);
    EXPECT(data == 0xee, "a byte was written");
    return NULL;
}

static const char *checksum(void)
{
    ULONG n = 30000, i, s = 0, got = 0;
    byte *data = malloc(n);
    LONG r;
    for (i = 0; i < n; i++) {
        data[i] = (byte)(i * 31 + 7);
        s += data[i] * (i + 1);
    }
    r = WcChecksum(binding, n, data, &got);
    STATUS(r);
    EXPECT(got == s, "sum %lu, expected %lu", (unsigned long)got, (unsigned long)s);
    free(data);
    return NULL;
}

static const char *session(void)
{
    SESSION s = NULL, t = NULL;
    LONG total = 0, final = 0, r;
    r = WcOpen(binding, 100, &s);
    STATUS(r);
    EXPECT(s, "Open gave a NULL handle");
    r = WcOpen(binding, -1000, &t);
    STATUS(r);
    EXPECT(t && t != s, "the second Open gave %s handle", t ? "the same" : "a NULL");
    r = WcAdd(s, 5, &total);
    STATUS(r);
    EXPECT(total == 105, "Add(s, 5): total %ld", (long)total);
    r = WcAdd(t, 1, &total);
    STATUS(r);
    EXPECT(total == -999, "Add(t, 1): total %ld", (long)total);
    r = WcAdd(s, -7, &total);
    STATUS(r);
    EXPECT(total == 98, "Add(s, -7): total %ld", (long)total);
    r = WcClose(&s, &final);
    STATUS(r);
    EXPECT(final == 98, "Close(s): final %ld", (long)final);
    EXPECT(s == NULL, "Close(s) left the handle non-NULL");
    r = WcClose(&t, &final);
    STATUS(r);
    EXPECT(final == -999, "Close(t): final %ld", (long)final);
    EXPECT(t == NULL, "Close(t) left the handle non-NULL");
    return NULL;
}

/* ---- running them ---- */

/* Why a wine_bug.* check cannot pass against a server that follows the specifications. */
static const char padded_na[] =
    "Wine 8's rpcrt4 sends PADDED {1, GREEN, 3, 4, 5} without the alignment gaps C706 14.2.2 "
    "requires (01 0200 03000000 04 0500000000000000, not 01 00 0200 03000000 04 + 7 zero bytes "
    "+ 0500000000000000), so such a server reads other values or refuses the request";
static const char short_tagged_na[] =
    "widl 7 sends SHORT_TAGGED's short discriminant as a long (0100 0000 01000000 29000000, "
    "not 0100 0100 29000000: C706 14.3.8, MS-RPCE 2.2.4.8), so such a server reads other "
    "values or refuses the request";

static const struct {
    const char *name;
    const char *(*run)(void);
    /* For a wine_bug.* check: why --spec-peer does not run it. */
    const char *not_for_spec_peer;
} checks[] = {
    {"scalars", scalars},
    {"wine_bug.padded", wine_bug_padded, padded_na},
    {"wine_bug.short_tagged", wine_bug_short_tagged, short_tagged_na},
    {"strings", strings},
    {"strings.null", strings_null},
    {"strings.empty", strings_empty},
    {"sum", sum},
    {"sum.empty", sum_empty},
    {"window", window},
    {"window.empty", window_empty},
    {"scale", scale},
    {"scale.empty", scale_empty},
    {"upper", upper},
    {"fixed", fixed},
    {"entries", entries},
    {"entries.empty", entries_empty},
    {"tagged.zero", tagged_zero},
    {"tagged.one", tagged_one},
    {"tagged.one_null", tagged_one_null},
    {"tagged.text", tagged_text},
    {"tagged.empty", tagged_empty},
    {"tagged.other", tagged_other},
    {"number.i", number_i},
    {"number.d", number_d},
    {"number.h", number_h},
    {"number.default", number_default},
    {"capsule.i", capsule_i},
    {"capsule.d", capsule_d},
    {"capsule.p", capsule_p},
    {"capsule.default", capsule_default},
    {"aliases.ab", aliases_ab},
    {"aliases.bc", aliases_bc},
    {"aliases.ac", aliases_ac},
    {"aliases.distinct", aliases_distinct},
    {"aliases.none", aliases_none},
    {"reverse", reverse},
    {"reverse.one", reverse_one},
    {"ranged.low", ranged_low},
    {"ranged.high", ranged_high},
    {"ranged.outside", ranged_outside},
    {"big", big},
    {"big.empty", big_empty},
    {"checksum", checksum},
    {"session", session},
};

/* An RPC call reports a fault or a transport error by raising an exception. mingw's gcc
 * has no __try, so a vectored handler jumps back to the check's runner with the code. */
static void *jump[5];
static volatile int armed;
static volatile DWORD raised;

static LONG WINAPI on_exception(EXCEPTION_POINTERS *e)
{
    if (!armed)
        return EXCEPTION_CONTINUE_SEARCH;
    armed = 0;
    raised = e->ExceptionRecord->ExceptionCode;
    __builtin_longjmp(jump, 1);
}

static const char *run(const char *(*check)(void))
{
    const char *result;
    expect_raise = 0;
    armed = 1;
    if (__builtin_setjmp(jump)) {
        if (expect_raise && raised == expect_raise)
            return NULL;
        snprintf(why, sizeof(why), "the call raised %lu (%#lx)", (unsigned long)raised, (unsigned long)raised);
        return why;
    }
    result = check();
    armed = 0;
    return result;
}

int main(int argc, char **argv)
{
    size_t i;
    int passed = 0, failures = 0, not_applicable = 0;
    const char *peer;
    RPC_STATUS st;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
            printf("%s\n", checks[i].name);
        return 0;
    }
    spec_peer = argc == 3 && strcmp(argv[1], "--spec-peer") == 0;
    if (argc != 2 + spec_peer) {
        fprintf(stderr, "usage: client.exe [--spec-peer] STRING-BINDING | --list\n");
        return 2;
    }
    peer = argv[1 + spec_peer];
    st = RpcBindingFromStringBindingA((RPC_CSTR)peer, &binding);
    if (st) {
        printf("FAIL binding: RpcBindingFromStringBinding(%s) returned %ld\n", peer, (long)st);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    AddVectoredExceptionHandler(1, on_exception);
    for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const char *e;
        if (spec_peer && checks[i].not_for_spec_peer) {
            printf("n/a %s: not applicable to a server that follows the specifications: %s\n",
                   checks[i].name, checks[i].not_for_spec_peer);
            not_applicable++;
            continue;
        }
        e = run(checks[i].run);
        if (e) {
            printf("FAIL %s: %s\n", checks[i].name, e);
            failures++;
        } else {
            printf("ok %s\n", checks[i].name);
            passed++;
        }
    }
    if (spec_peer)
        printf("%d not applicable\n", not_applicable);
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
