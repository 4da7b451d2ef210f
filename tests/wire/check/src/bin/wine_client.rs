//! `wine-client HOST:PORT`: comidl's generated safe client of tests/wire/idl/wine_constructs.idl,
//! over runtime/rpc's TCP connection, calling a server of that interface (Wine's, in
//! tests/wire/wine/server.c) with the same values as the Wine client (client.c) and
//! checking every answer against the contract the IDL's comments give. Prints `ok NAME` or
//! `FAIL NAME: why` per check, then `N passed, N failed`; exits non-zero on a failure.
//!
//! Wine 8's server answers every request with call_id 1, whatever the request's
//! (shared/ORACLES.md). C706 chapter 12 (a response PDU carries its request's call_id) and
//! MS-RPCE 3.3.2.5.2 (the client matches responses to calls by call_id) make that wrong,
//! and comidl's client refuses such a reply: the `call_ids` check proves it does. So that
//! the NDR can be checked all the same, every other check talks through [`WineCallIds`],
//! a stream that puts the request's call_id back into each reply, and counts every reply
//! it had to correct; the last line before the counts says how many there were.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comidl_runtime::ndr::{CallError, Channel, ContextHandle, Fault, Interface};
use comidl_runtime_rpc::client::{ClientLimits, Connection, PROTOCOL_ERROR};
use wire_check::wine_constructs::{COLOR, ndr::wine_constructs_INTERFACE, owned, wine_constructs};

const TIMEOUT: Duration = Duration::from_secs(10);
/// C706 Appendix E: nca_s_fault_invalid_bound and nca_s_fault_context_mismatch.
const NCA_INVALID_BOUND: u32 = 0x1c00_0007;
const NCA_CONTEXT_MISMATCH: u32 = 0x1c00_001a;

/// The replies whose call_id had to be corrected: (the request's, the reply's).
type Corrections = Arc<Mutex<Vec<(u32, u32)>>>;

/// A TCP stream that gives each reply fragment the call_id of the last request or bind
/// sent, recording each one it changes (see the module's comment).
struct WineCallIds {
    inner: TcpStream,
    sent: Vec<u8>,
    last_call_id: Option<u32>,
    pending: Vec<u8>,
    at: usize,
    corrections: Corrections,
}

impl WineCallIds {
    fn connect(addr: SocketAddr, corrections: &Corrections) -> io::Result<WineCallIds> {
        let inner = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        inner.set_nodelay(true)?;
        inner.set_read_timeout(Some(TIMEOUT))?;
        inner.set_write_timeout(Some(TIMEOUT))?;
        Ok(WineCallIds {
            inner,
            sent: Vec::new(),
            last_call_id: None,
            pending: Vec::new(),
            at: 0,
            corrections: corrections.clone(),
        })
    }
}

/// A PDU header's fragment length (C706 chapter 12), little-endian data
/// representation only (what both sides here use).
fn frag_len(h: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([h[8], h[9]]))
}

impl Write for WineCallIds {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sent.extend_from_slice(&buf[..n]);
        while self.sent.len() >= 16 && self.sent.len() >= frag_len(&self.sent) {
            let len = frag_len(&self.sent).max(16);
            self.last_call_id = Some(u32::from_le_bytes(self.sent[12..16].try_into().unwrap()));
            self.sent.drain(..len);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Read for WineCallIds {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            let mut frag = vec![0u8; 16];
            self.inner.read_exact(&mut frag)?;
            frag.resize(frag_len(&frag).max(16), 0);
            self.inner.read_exact(&mut frag[16..])?;
            let got = u32::from_le_bytes(frag[12..16].try_into().unwrap());
            if let Some(want) = self.last_call_id.filter(|w| *w != got) {
                self.corrections.lock().unwrap().push((want, got));
                frag[12..16].copy_from_slice(&want.to_le_bytes());
            }
            self.pending = frag;
            self.at = 0;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

type Client = wine_constructs<Connection<WineCallIds>>;

struct Checks {
    addr: SocketAddr,
    corrections: Corrections,
    passed: u32,
    failed: u32,
}

impl Checks {
    fn client(&self) -> Result<Client, String> {
        let s = WineCallIds::connect(self.addr, &self.corrections)
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        Ok(wine_constructs::new(Connection::new(
            s,
            ClientLimits::default(),
        )))
    }

    /// Runs one check on a connection of its own.
    fn check(&mut self, name: &str, f: impl FnOnce(&Client) -> Result<(), String>) {
        match self.client().and_then(|c| f(&c)) {
            Ok(()) => {
                println!("ok {name}");
                self.passed += 1;
            }
            Err(why) => {
                println!("FAIL {name}: {why}");
                self.failed += 1;
            }
        }
    }
}

fn call<T>(r: Result<T, CallError>) -> Result<T, String> {
    r.map_err(|e| format!("the call failed: {e}"))
}

fn status(r: i32) -> Result<(), String> {
    if r == 0 {
        Ok(())
    } else {
        Err(format!("returned {r}, not 0"))
    }
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what} is {got:?}, expected {want:?}"))
    }
}

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn list(values: &[i32]) -> Option<Box<owned::NODE>> {
    values.iter().rev().fold(None, |next, &value| {
        Some(Box::new(owned::NODE { value, next }))
    })
}

fn run(c: &mut Checks) {
    c.check("scalars", |w| {
        let (r, out) = call(w.wc_scalars(&owned::SCALARS {
            flag: true,
            b: 0xff,
            c: b'A',
            w: 0x263a,
            sh: i16::MIN,
            us: u16::MAX,
            l: i32::MIN,
            ul: 0xffff_fffe,
            h: i64::MIN,
            uh: 0x0123_4567_89ab_cdef,
            f: 1.5,
            d: -0.375,
            color: COLOR::COLOR_BLUE,
        }))?;
        status(r)?;
        same(
            "out_",
            out,
            owned::SCALARS {
                flag: false,
                b: 0,
                c: b'B',
                w: 0x263b,
                sh: i16::MAX,
                us: 0,
                l: i32::MAX,
                ul: 0xffff_ffff,
                h: i64::MAX,
                uh: 0x0123_4567_89ab_cdf0,
                f: 3.0,
                d: -0.75,
                color: COLOR::COLOR_RED,
            },
        )
    });
    // Wine 8's rpcrt4 leaves out the alignment gaps inside a complex structure (C706 14.2.2
    // puts each primitive at a multiple of its size): PADDED {c 1, e GREEN, l 3, c2 4, h 5}
    // is 01 00 0200 03000000 04 + 7 zeros + h by the specification, 01 0200 03000000 04 + h
    // in Wine's hands.
    c.check("wine_bug.padded", |w| {
        wine_bug(
            w,
            19,
            |x| {
                let _ = x.wc_padded(&owned::PADDED {
                    c: 1,
                    e: COLOR::COLOR_GREEN,
                    l: 3,
                    c2: 4,
                    h: 5,
                });
            },
            "010002000300000004000000000000000500000000000000",
            "01020003000000040500000000000000",
            // out_ as Wine packs it, then the return value at offset 16.
            "02ff7f0400000005060000000000000000000000",
        )
    });
    // widl 7 writes a non-encapsulated union's discriminant inside a structure as a long,
    // whatever its switch_type (its format string says "FIXME: always FC_LONG"); C706 14.3.8
    // and MS-RPCE 2.2.4.8 make it the union's first part, of its switch_type: SHORT_TAGGED
    // {tag 1, one 41} is 0100 0100 29000000 by the specification, 0100 0000 01000000
    // 29000000 in Wine's hands.
    c.check("wine_bug.short_tagged", |w| {
        wine_bug(
            w,
            20,
            |x| {
                let _ = x.wc_short_tagged(&owned::SHORT_TAGGED {
                    tag: 1,
                    choice: owned::SHORT_CHOICE::One(41),
                });
            },
            "0100010029000000",
            "010000000100000029000000",
            "01000000010000002a00000000000000",
        )
    });
    for (name, narrow, wide, want) in [
        ("strings", "abc", Some("déjà vu ☺"), "abc|déjà vu ☺"),
        ("strings.null", "xyz", None, "xyz|(null)"),
        ("strings.empty", "", Some(""), "|"),
    ] {
        c.check(name, |w| {
            let (r, joined) = call(w.wc_strings(narrow, wide))?;
            status(r)?;
            same("joined", joined.as_deref(), Some(want))
        });
    }
    c.check("sum", |w| {
        let (r, sum) = call(w.wc_sum(5, &[1, -2, 3, -4, i32::MAX], 7, &[i16::MIN, 100, 7]))?;
        status(r)?;
        same("sum", sum, 2_147_483_645 - 32_661)
    });
    c.check("sum.empty", |w| {
        let (r, sum) = call(w.wc_sum(0, &[], 1, &[]))?;
        status(r)?;
        same("sum", sum, 0)
    });
    for (name, size, len) in [("window", 8u32, 5u32), ("window.empty", 4, 0)] {
        c.check(name, |w| {
            let items: Vec<i16> = (1..=8).map(|i| i * 10).take(size as usize).collect();
            let (r, count, back) = call(w.wc_window(size, len, &items))?;
            status(r)?;
            same("count", count, len)?;
            let want: Vec<i16> = items[..len as usize].iter().rev().copied().collect();
            same("back", back, want)
        });
    }
    c.check("scale", |w| {
        let p = |x, y| owned::POINT2 { x, y };
        let (r, out) = call(w.wc_scale(
            &owned::POLY {
                n: 3,
                points: vec![p(1, 2), p(3, -4), p(-5, 6)],
            },
            -3,
        ))?;
        status(r)?;
        same(
            "out_",
            out,
            Some(Box::new(owned::POLY {
                n: 3,
                points: vec![p(-3, -6), p(-9, 12), p(15, -18)],
            })),
        )
    });
    c.check("scale.empty", |w| {
        let (r, out) = call(w.wc_scale(
            &owned::POLY {
                n: 0,
                points: vec![],
            },
            2,
        ))?;
        status(r)?;
        same("out_", out, None)
    });
    c.check("upper", |w| {
        let (r, out) = call(w.wc_upper(&owned::CVTEXT {
            room: 12,
            used: 8,
            chars: utf16("wine oké"),
        }))?;
        status(r)?;
        same(
            "out_",
            out,
            Some(Box::new(owned::CVTEXT {
                room: 24,
                used: 8,
                chars: utf16("WINE OKé"),
            })),
        )
    });
    c.check("fixed", |w| {
        let (r, out) = call(w.wc_fixed(&owned::FIXED_ARRAYS {
            three: vec![1, -2, 3],
            grid: vec![vec![1, 2, 3], vec![4, 5, 6]],
            name: "comidl".into(),
        }))?;
        status(r)?;
        same(
            "out_",
            out,
            owned::FIXED_ARRAYS {
                three: vec![3, -2, 1],
                grid: vec![vec![10, 20, 30], vec![40, 50, 60]],
                name: "ldimoc".into(),
            },
        )
    });
    c.check("entries", |w| {
        let e = |name: Option<&str>, r#type, remark: Option<&str>| owned::ENTRY {
            name: name.map(Into::into),
            r#type,
            remark: remark.map(Into::into),
        };
        let (r, out) = call(w.wc_entries(&owned::ENTRIES {
            count: 3,
            items: Some(vec![
                e(Some("alpha"), 1, Some("first")),
                e(Some("beta"), 2, None),
                e(None, u32::MAX, Some("third ☺")),
            ]),
        }))?;
        status(r)?;
        same(
            "out_",
            out,
            owned::ENTRIES {
                count: 3,
                items: Some(vec![
                    e(Some("first"), 2, Some("alpha")),
                    e(None, 3, Some("beta")),
                    e(Some("third ☺"), 0, None),
                ]),
            },
        )
    });
    c.check("entries.empty", |w| {
        let (r, out) = call(w.wc_entries(&owned::ENTRIES {
            count: 0,
            items: None,
        }))?;
        status(r)?;
        same(
            "out_",
            out,
            owned::ENTRIES {
                count: 0,
                items: None,
            },
        )
    });
    use owned::CHOICE;
    let point = |x, y| Some(Box::new(owned::POINT2 { x, y }));
    for (name, tag, choice, want) in [
        ("tagged.zero", 0, CHOICE::Zero(41), CHOICE::Zero(42)),
        (
            "tagged.one",
            1,
            CHOICE::One(point(7, -8)),
            CHOICE::One(point(-8, 7)),
        ),
        ("tagged.one_null", 1, CHOICE::One(None), CHOICE::One(None)),
        (
            "tagged.text",
            2,
            CHOICE::Text(Some("stressed☺".into())),
            CHOICE::Text(Some("☺desserts".into())),
        ),
        ("tagged.empty", 3, CHOICE::Case3, CHOICE::Case3),
        (
            "tagged.other",
            -9,
            CHOICE::Default(-9, -1_234_567_890_123),
            CHOICE::Default(-9, -2_469_135_780_246),
        ),
    ] {
        c.check(name, |w| {
            let (r, out) = call(w.wc_tagged(&owned::TAGGED { tag, choice }))?;
            status(r)?;
            same("out_", out, owned::TAGGED { tag, choice: want })
        });
    }
    use owned::NUMBER;
    for (name, kind, n, want) in [
        ("number.i", 1, NUMBER::I(-21), NUMBER::I(-42)),
        ("number.d", 2, NUMBER::D(1.25), NUMBER::D(2.5)),
        (
            "number.h",
            3,
            NUMBER::H(0x1_0000_0001),
            NUMBER::H(0x2_0000_0002),
        ),
        ("number.default", 7, NUMBER::Default(7), NUMBER::Default(7)),
    ] {
        c.check(name, |w| {
            let (r, out) = call(w.wc_number(kind, &n))?;
            status(r)?;
            same("out_", out, want)
        });
    }
    use owned::CAPSULE;
    for (name, n, want) in [
        ("capsule.i", CAPSULE::I(-50), CAPSULE::I(-100)),
        ("capsule.d", CAPSULE::D(0.5), CAPSULE::D(1.0)),
        (
            "capsule.p",
            CAPSULE::P(owned::POINT2 { x: 1, y: 2 }),
            CAPSULE::P(owned::POINT2 { x: 2, y: 1 }),
        ),
        ("capsule.default", CAPSULE::Default(0), CAPSULE::Default(0)),
    ] {
        c.check(name, |w| {
            let (r, out) = call(w.wc_capsule(&n))?;
            status(r)?;
            same("out_", out, want)
        });
    }
    // comidl's safe values cannot make two pointers one (each Option<Box> is its own), so
    // the requests' pointers are all distinct; Wine's replies make out_.a and out_.b one
    // pointer, which comidl's decoder must read as the same value twice.
    let some = |v| Some(Box::new(v));
    for (name, first, a, b, cc, shape, sum) in [
        (
            "aliases.distinct",
            Some(1),
            some(5),
            some(7),
            some(10),
            0,
            23,
        ),
        ("aliases.null_a", Some(1), None, some(10), some(10), 1, 21),
        ("aliases.none", None, None, None, None, 7, 0),
    ] {
        c.check(name, |w| {
            let (r, got_shape, out) = call(w.wc_aliases(
                &first,
                &owned::ALIASES {
                    a: a.clone(),
                    b: b.clone(),
                    c: cc.clone(),
                },
            ))?;
            status(r)?;
            same("shape", got_shape, shape)?;
            same(
                "out_",
                out,
                owned::ALIASES {
                    a: some(sum),
                    b: some(sum),
                    c: None,
                },
            )
        });
    }
    for (name, values) in [("reverse", &[1, -2, 3][..]), ("reverse.one", &[0][..])] {
        c.check(name, |w| {
            let (r, length, out) = call(w.wc_reverse(&list(values).unwrap()))?;
            status(r)?;
            same("length", length, values.len() as i32)?;
            let want: Vec<i32> = values.iter().rev().map(|v| -v).collect();
            same("reversed", out, list(&want))
        });
    }
    for (name, x) in [("ranged.low", -5), ("ranged.high", 5)] {
        c.check(name, |w| {
            let (r, twice) = call(w.wc_ranged(x))?;
            status(r)?;
            same("twice", twice, x * 2)
        });
    }
    // The stub would refuse to send 6 itself: the request is written by hand (a long).
    c.check("ranged.outside", |w| {
        match w
            .channel
            .call(&wine_constructs_INTERFACE, 13, 6i32.to_le_bytes().to_vec())
        {
            Err(CallError::Fault(Fault(NCA_INVALID_BOUND))) => Ok(()),
            Err(e) => Err(format!("refused, but with {e}, not an invalid-bound fault")),
            Ok(reply) => Err(format!("the server answered 6 with {reply:02x?}")),
        }
    });
    c.check("big", |w| {
        let (r, data) = call(w.wc_big(20_000, 3))?;
        status(r)?;
        let want: Vec<u8> = (0..20_000u32).map(|i| (3 + 7 * i) as u8).collect();
        if data == want {
            Ok(())
        } else {
            let at = data.iter().zip(&want).position(|(a, b)| a != b);
            Err(format!("{} bytes, first difference at {at:?}", data.len()))
        }
    });
    c.check("big.empty", |w| {
        let (r, data) = call(w.wc_big(0, 3))?;
        status(r)?;
        same("data", data, vec![])
    });
    c.check("checksum", |w| {
        let data: Vec<u8> = (0..30_000u32).map(|i| (i * 31 + 7) as u8).collect();
        let want = data.iter().enumerate().fold(0u32, |s, (i, &b)| {
            s.wrapping_add(u32::from(b) * (i as u32 + 1))
        });
        let (r, sum) = call(w.wc_checksum(data.len() as u32, &data))?;
        status(r)?;
        same("sum", sum, want)
    });
    c.check("session", |w| {
        let (r, mut s) = call(w.wc_open(100))?;
        status(r)?;
        if s.is_nil() {
            return Err("Open gave the nil handle".into());
        }
        let (r, mut t) = call(w.wc_open(-1000))?;
        status(r)?;
        if t.is_nil() || t == s {
            return Err(format!("the second Open gave {t:?}"));
        }
        for (h, x, want) in [(&s, 5, 105), (&t, 1, -999), (&s, -7, 98)] {
            let (r, total) = call(w.wc_add(h, x))?;
            status(r)?;
            same("Add's total", total, want)?;
        }
        let old = s;
        for (h, want) in [(&mut s, 98), (&mut t, -999)] {
            let (r, fin) = call(w.wc_close(h))?;
            status(r)?;
            same("Close's final", fin, want)?;
            same("the closed handle", *h, ContextHandle::default())?;
        }
        // A handle the server has closed: the server refuses it with
        // nca_s_fault_context_mismatch (C706 Appendix E).
        match w.wc_add(&old, 1) {
            Err(CallError::Fault(Fault(NCA_CONTEXT_MISMATCH))) => Ok(()),
            Err(e) => Err(format!(
                "Add on a closed handle: {e}, not a context mismatch"
            )),
            Ok(r) => Err(format!("Add on a closed handle answered {r:?}")),
        }
    });
}

/// A channel that keeps the request it is given and answers nothing: comidl's own bytes.
#[derive(Default)]
struct Capture(Mutex<Vec<u8>>);

impl Channel for Capture {
    fn call(&self, _: &Interface, _: u16, request: Vec<u8>) -> Result<Vec<u8>, CallError> {
        *self.0.lock().unwrap() = request;
        Err(CallError::Transport(0))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A construct Wine encodes against the specification. The check pins both sides: comidl's
/// request is the specification's bytes, and Wine, given the request as Wine itself encodes
/// it, answers with exactly the bytes its bug predicts.
fn wine_bug(
    w: &Client,
    opnum: u16,
    ours: impl FnOnce(&wine_constructs<Capture>),
    spec_request: &str,
    wine_request: &str,
    wine_reply: &str,
) -> Result<(), String> {
    let capture = wine_constructs::new(Capture::default());
    ours(&capture);
    let got = hex(&capture.channel.0.lock().unwrap());
    if got != spec_request {
        return Err(format!(
            "comidl's request is {got}, the specification's {spec_request}"
        ));
    }
    let request: Vec<u8> = (0..wine_request.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&wine_request[i..i + 2], 16).unwrap())
        .collect();
    let reply = hex(&call(w.channel.call(
        &wine_constructs_INTERFACE,
        opnum,
        request,
    ))?);
    if reply != wine_reply {
        return Err(format!(
            "Wine answered {reply}, not {wine_reply}: has its bug changed? (then this check)"
        ));
    }
    Ok(())
}

/// comidl's client, unmodified, must refuse a reply whose call_id is not its request's.
fn strict_call_ids(addr: SocketAddr) -> Result<String, String> {
    let conn = Connection::tcp(addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    let w = wine_constructs::new(conn);
    match w.wc_ranged(1) {
        Ok(_) => Ok("the server answered with the request's call_id".into()),
        Err(CallError::Transport(PROTOCOL_ERROR)) => Ok(
            "comidl's client refuses the server's reply to call_id 2 (Wine's call_id 1 bug)".into(),
        ),
        Err(e) => Err(format!(
            "neither an answer nor a refusal of the call_id: {e}"
        )),
    }
}

fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1).and_then(|a| a.parse().ok()) else {
        eprintln!("usage: wine-client HOST:PORT");
        return ExitCode::from(2);
    };
    let mut c = Checks {
        addr,
        corrections: Arc::default(),
        passed: 0,
        failed: 0,
    };
    match strict_call_ids(addr) {
        Ok(how) => {
            println!("ok call_ids: {how}");
            c.passed += 1;
        }
        Err(why) => {
            println!("FAIL call_ids: {why}");
            c.failed += 1;
        }
    }
    run(&mut c);
    let fixed = c.corrections.lock().unwrap().clone();
    if !fixed.is_empty() {
        let mut got: Vec<u32> = fixed.iter().map(|f| f.1).collect();
        got.sort_unstable();
        got.dedup();
        println!(
            "note: {} reply fragments carried call_id {got:?} instead of their request's (a \
             Wine bug: C706 chapter 12, MS-RPCE 3.3.2.5.2); this test's stream corrected them",
            fixed.len()
        );
    }
    println!("{} passed, {} failed", c.passed, c.failed);
    if c.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
