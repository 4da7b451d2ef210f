//! The wire harness's server of tests/wire/idl/wine_constructs.idl: what the `wire-server`
//! bin serves to Wine's client (tests/wire/wine/client.c). Each operation answers exactly
//! as the IDL's comment on it says (the contract tests/wire/wine/server.c follows on Wine's
//! rpcrt4), so Wine's client checks comidl's server with the same values and expectations
//! it checks Wine's own server with.
//!
//! Every operation goes through the generated safe handler ([`wine_constructs_Handler`],
//! served by [`wine_constructs_serve`]) except `WcAliases`: its contract is about pointer
//! identity (which full pointers of the request are one pointer, and a reply whose `a` and
//! `b` are one pointer), and the safe values have none (each `Option<Box<i32>>` is its own).
//! It is served by the engine's C-layout form instead ([`serve`] routes opnum 11 to
//! [`aliases`]), where a full pointer is an address as it is in a C server.
//!
//! The session (`WcOpen` / `WcAdd` / `WcClose`) is a real context handle of the server's
//! table (`comidl_runtime::rpc::server::context`): it belongs to the calling client's
//! association group, and a client that goes away has its open sessions run down.

use comidl_runtime::ndr::{ContextHandle, Fault, Limits};
use comidl_runtime::rpc::server::context;

use crate::wine_constructs::owned::{
    self, CAPSULE, CHOICE, CVTEXT, ENTRIES, ENTRY, FIXED_ARRAYS, NODE, NUMBER, PADDED, POINT2,
    POLY, SCALARS, SHORT_CHOICE, SHORT_TAGGED, TAGGED,
};
use crate::wine_constructs::{
    ALIASES, COLOR, ndr::wine_constructs_INTERFACE, wine_constructs_Handler, wine_constructs_serve,
};

/// The handler.
pub struct WineConstructs;

type R<T> = Result<T, Fault>;

/// `WcAliases`' opnum.
const ALIASES_OPNUM: u16 = 11;

/// What an open SESSION stands for: its running total.
struct Session {
    total: i32,
}

/// Serves one request of wine_constructs (the function to register with the server).
pub fn serve(opnum: u16, stub: &[u8]) -> Result<Vec<u8>, Fault> {
    if opnum == ALIASES_OPNUM {
        aliases(stub)
    } else {
        wine_constructs_serve(&WineConstructs, opnum, stub)
    }
}

/// RED -> GREEN -> BLUE -> RED (anything else -> RED, as Wine's server.c does).
fn next_color(c: COLOR) -> COLOR {
    match c {
        COLOR::COLOR_RED => COLOR::COLOR_GREEN,
        COLOR::COLOR_GREEN => COLOR::COLOR_BLUE,
        _ => COLOR::COLOR_RED,
    }
}

fn swap(p: &POINT2) -> POINT2 {
    POINT2 { x: p.y, y: p.x }
}

/// WcAliases (opnum 11) on the engine's C-layout memory: the request's full pointers are
/// addresses there (one referent, one address), and a reply whose `a` and `b` hold one
/// address goes out as one referent.
fn aliases(stub: &[u8]) -> Result<Vec<u8>, Fault> {
    comidl_runtime::ndr::serve(
        &wine_constructs_INTERFACE,
        ALIASES_OPNUM,
        stub,
        Limits::current(),
        &|_, args, ret| {
            // SAFETY: the engine unmarshalled WcAliases' parameters into `args` (handle_t
            // h, long *first, ALIASES *in_, long *shape, ALIASES *out_), every pointer
            // valid for its IDL type or NULL where the IDL allows it; `ret` is the long
            // return value. The sum's memory comes from the task allocator, which the
            // engine frees (once, though two pointers hold it) after marshalling.
            unsafe {
                let first = (args[1] as *const *mut i32).read();
                let in_ = &*(args[2] as *const *mut ALIASES).read();
                let shape = (args[3] as *const *mut i32).read();
                let out_ = &mut *(args[4] as *const *mut ALIASES).read();
                let (a, b, c) = (in_.a, in_.b, in_.c);
                let mut s = 0;
                for (bit, yes) in [
                    (1, a.is_null()),
                    (2, b.is_null()),
                    (4, c.is_null()),
                    (8, !a.is_null() && a == b),
                    (16, !b.is_null() && b == c),
                    (32, !a.is_null() && a == c),
                    (64, !first.is_null() && first == a),
                ] {
                    if yes {
                        s |= bit;
                    }
                }
                shape.write(s);
                let value = |p: *mut i32| if p.is_null() { 0 } else { p.read() };
                let sum = comidl_runtime::CoTaskMemAlloc(4).cast::<i32>();
                if sum.is_null() {
                    panic!("out of memory");
                }
                sum.write(
                    value(first)
                        .wrapping_add(value(a))
                        .wrapping_add(value(b))
                        .wrapping_add(value(c)),
                );
                out_.a = sum;
                out_.b = sum;
                out_.c = std::ptr::null_mut();
                (ret as *mut i32).write(0);
            }
        },
    )
}

impl wine_constructs_Handler for WineConstructs {
    // 0. Every field changed: flag negated; b, c, w, us, ul, uh plus 1 (wrapping); sh, l, h
    // minus 1 (wrapping); f and d times 2; color RED -> GREEN -> BLUE -> RED.
    fn wc_scalars(&self, s: SCALARS) -> R<(i32, SCALARS)> {
        Ok((
            0,
            SCALARS {
                flag: !s.flag,
                b: s.b.wrapping_add(1),
                c: s.c.wrapping_add(1),
                w: s.w.wrapping_add(1),
                us: s.us.wrapping_add(1),
                ul: s.ul.wrapping_add(1),
                uh: s.uh.wrapping_add(1),
                sh: s.sh.wrapping_sub(1),
                l: s.l.wrapping_sub(1),
                h: s.h.wrapping_sub(1),
                f: s.f * 2.0,
                d: s.d * 2.0,
                color: next_color(s.color),
            },
        ))
    }

    // 1. joined = narrow, "|", then wide (or "(null)" when wide is NULL), as UTF-16.
    fn wc_strings(&self, narrow: String, wide: Option<String>) -> R<(i32, Option<String>)> {
        let wide = wide.as_deref().unwrap_or("(null)");
        Ok((0, Some(format!("{narrow}|{wide}"))))
    }

    // 2. sum = the sum of values[0..n) plus the sum of halves[0..cb/2), as a hyper.
    fn wc_sum(&self, _n: u32, values: Vec<i32>, _cb: u32, halves: Vec<i16>) -> R<(i32, i64)> {
        let sum = values.iter().map(|&v| i64::from(v)).sum::<i64>()
            + halves.iter().map(|&v| i64::from(v)).sum::<i64>();
        Ok((0, sum))
    }

    // 3. count = len, back[i] = items[len - 1 - i] for i < len.
    fn wc_window(&self, _size: u32, len: u32, items: Vec<i16>) -> R<(i32, u32, Vec<i16>)> {
        let used = items.get(..len as usize).ok_or(Fault::BAD_STUB_DATA)?;
        Ok((0, len, used.iter().rev().copied().collect()))
    }

    // 4. out_ has in_'s n points, each with x and y times factor (out_ NULL when in_.n is 0).
    fn wc_scale(&self, p: POLY, factor: i32) -> R<(i32, Option<Box<POLY>>)> {
        if p.n == 0 {
            return Ok((0, None));
        }
        let points = p
            .points
            .iter()
            .map(|q| POINT2 {
                x: q.x.wrapping_mul(factor),
                y: q.y.wrapping_mul(factor),
            })
            .collect();
        Ok((0, Some(Box::new(POLY { n: p.n, points }))))
    }

    // 5. out_: room = in_.room * 2, used = in_.used, chars = in_'s used characters with
    // ASCII a-z made upper case.
    fn wc_upper(&self, t: CVTEXT) -> R<(i32, Option<Box<CVTEXT>>)> {
        let chars = t
            .chars
            .iter()
            .take(t.used as usize)
            .map(|&c| {
                if (u16::from(b'a')..=u16::from(b'z')).contains(&c) {
                    c - 0x20
                } else {
                    c
                }
            })
            .collect();
        Ok((
            0,
            Some(Box::new(CVTEXT {
                room: t.room.wrapping_mul(2),
                used: t.used,
                chars,
            })),
        ))
    }

    // 6. out_.three = in_.three reversed; out_.grid[i][j] = in_.grid[i][j] * 10; out_.name =
    // in_.name reversed.
    fn wc_fixed(&self, f: FIXED_ARRAYS) -> R<(i32, FIXED_ARRAYS)> {
        Ok((
            0,
            FIXED_ARRAYS {
                three: f.three.iter().rev().copied().collect(),
                grid: f
                    .grid
                    .iter()
                    .map(|row| row.iter().map(|v| v.wrapping_mul(10)).collect())
                    .collect(),
                name: f.name.chars().rev().collect(),
            },
        ))
    }

    // 7. out_ has in_'s count entries, each with name and remark swapped (NULL stays NULL)
    // and type plus 1; out_.items is NULL when count is 0.
    fn wc_entries(&self, e: ENTRIES) -> R<(i32, ENTRIES)> {
        let items = match e.items {
            Some(items) if e.count > 0 => Some(
                items
                    .into_iter()
                    .map(|i| ENTRY {
                        name: i.remark,
                        r#type: i.r#type.wrapping_add(1),
                        remark: i.name,
                    })
                    .collect(),
            ),
            _ => None,
        };
        Ok((
            0,
            ENTRIES {
                count: e.count,
                items,
            },
        ))
    }

    // 8. out_.tag = in_.tag; the arm: zero plus 1; one with x and y swapped (NULL stays
    // NULL); text reversed (NULL stays NULL); 3 empty; other times 2.
    fn wc_tagged(&self, t: TAGGED) -> R<(i32, TAGGED)> {
        let choice = match t.choice {
            CHOICE::Zero(v) => CHOICE::Zero(v.wrapping_add(1)),
            CHOICE::One(p) => CHOICE::One(p.map(|p| Box::new(swap(&p)))),
            CHOICE::Text(s) => CHOICE::Text(s.map(|s| reverse_utf16(&s))),
            CHOICE::Case3 => CHOICE::Case3,
            CHOICE::Default(d, v) => CHOICE::Default(d, v.wrapping_mul(2)),
        };
        Ok((0, TAGGED { tag: t.tag, choice }))
    }

    // 9. out_ is in_'s arm times 2 (the default arm is empty).
    fn wc_number(&self, _kind: i32, n: NUMBER) -> R<(i32, NUMBER)> {
        Ok((
            0,
            match n {
                NUMBER::I(v) => NUMBER::I(v.wrapping_mul(2)),
                NUMBER::D(v) => NUMBER::D(v * 2.0),
                NUMBER::H(v) => NUMBER::H(v.wrapping_mul(2)),
                NUMBER::Default(d) => NUMBER::Default(d),
            },
        ))
    }

    // 10. out_.kind = in_.kind; i and d times 2, p with x and y swapped.
    fn wc_capsule(&self, c: CAPSULE) -> R<(i32, CAPSULE)> {
        Ok((
            0,
            match c {
                CAPSULE::I(v) => CAPSULE::I(v.wrapping_mul(2)),
                CAPSULE::D(v) => CAPSULE::D(v * 2.0),
                CAPSULE::P(p) => CAPSULE::P(swap(&p)),
                CAPSULE::Default(d) => CAPSULE::Default(d),
            },
        ))
    }

    // 11. Served by `aliases` (see the module's comment); never reached.
    fn wc_aliases(
        &self,
        _first: Option<i32>,
        _in: owned::ALIASES,
    ) -> R<(i32, i32, owned::ALIASES)> {
        Err(Fault::UNSPECIFIED)
    }

    // 12. reversed = list in the opposite order, each value negated; length = its number
    // of nodes.
    fn wc_reverse(&self, list: NODE) -> R<(i32, i32, Option<Box<NODE>>)> {
        let mut reversed = None;
        let mut length = 0i32;
        let mut at = Some(&list);
        while let Some(n) = at {
            reversed = Some(Box::new(NODE {
                value: n.value.wrapping_neg(),
                next: reversed,
            }));
            length += 1;
            at = n.next.as_deref();
        }
        Ok((0, length, reversed))
    }

    // 13. twice = r * 2 (a value outside the range never gets here: the stub refuses it).
    fn wc_ranged(&self, r: i32) -> R<(i32, i32)> {
        Ok((0, r.wrapping_mul(2)))
    }

    // 14. data[i] = (seed + 7 * i) mod 256.
    fn wc_big(&self, n: u32, seed: u8) -> R<(i32, Vec<u8>)> {
        Ok((
            0,
            (0..n)
                .map(|i| seed.wrapping_add((i.wrapping_mul(7)) as u8))
                .collect(),
        ))
    }

    // 15. sum = the sum of data[i] * (i + 1) mod 2^32.
    fn wc_checksum(&self, _n: u32, data: Vec<u8>) -> R<(i32, u32)> {
        let sum = data.iter().enumerate().fold(0u32, |s, (i, &b)| {
            s.wrapping_add(u32::from(b).wrapping_mul(i as u32 + 1))
        });
        Ok((0, sum))
    }

    // 16. A session holding a running total, starting at start; s a new context handle.
    fn wc_open(&self, start: i32) -> R<(i32, ContextHandle)> {
        Ok((0, context::create(Session { total: start })?))
    }

    // 17. total = the session's total plus x, kept as its new total.
    fn wc_add(&self, s: ContextHandle, x: i32) -> R<(i32, i32)> {
        let total = context::with(&s, |session: &mut Session| {
            session.total = session.total.wrapping_add(x);
            session.total
        })?;
        Ok((0, total))
    }

    // 18. final = the session's total; the session ends and s comes back NULL.
    fn wc_close(&self, s: &mut ContextHandle) -> R<(i32, i32)> {
        let (state, nil) = context::close(s)?;
        let session = state
            .downcast::<Session>()
            .map_err(|_| context::CONTEXT_MISMATCH)?;
        *s = nil;
        Ok((0, session.total))
    }

    // 19. out_: c, l, c2 and h plus 1; e RED -> GREEN -> BLUE -> RED.
    fn wc_padded(&self, p: PADDED) -> R<(i32, PADDED)> {
        Ok((
            0,
            PADDED {
                c: p.c.wrapping_add(1),
                e: next_color(p.e),
                l: p.l.wrapping_add(1),
                c2: p.c2.wrapping_add(1),
                h: p.h.wrapping_add(1),
            },
        ))
    }

    // 20. out_.tag = in_.tag; the arm one plus 1 (the default arm is empty).
    fn wc_short_tagged(&self, t: SHORT_TAGGED) -> R<(i32, SHORT_TAGGED)> {
        let choice = match t.choice {
            SHORT_CHOICE::One(v) => SHORT_CHOICE::One(v.wrapping_add(1)),
            other => other,
        };
        Ok((0, SHORT_TAGGED { tag: t.tag, choice }))
    }
}

/// `s` with its UTF-16 code units in the opposite order, as the C server reverses a
/// `wchar_t` string (a surrogate pair would come out swapped; the checks use none).
fn reverse_utf16(s: &str) -> String {
    let mut units: Vec<u16> = s.encode_utf16().collect();
    units.reverse();
    String::from_utf16_lossy(&units)
}
