//! Interface pointers across processes, through the generated proxies and stubs of
//! tests/fixtures/orpc.idl and runtime/dcom: this binary runs itself as the server
//! process (`server` argument), which marshals an IOrpcTest object and prints its OBJREF;
//! the client unmarshals it to a proxy and calls every kind of method: scalars, arrays,
//! strings, a callback into the client during the call, an object handed back, `[iid_is]`,
//! QueryInterface for a derived interface, failures, a panic in the server. Then it checks
//! that both processes hold nothing (object counts 0 on both sides, no live object), and
//! that a server killed mid-call gives the caller RPC_E_DISCONNECTED within 5 s with its
//! `[out]` left zero, and that a client killed while holding a proxy loses its references
//! (the object is released) within 5 s.
//!
//! `harness = false`: it has its own `main`, prints "ok"/"FAIL" lines and exits non-zero
//! on a failure.

mod common;

use common::Report;
use std::ffi::c_void;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use comidl_generated_tests::orpc::{
    IOrpcEnum, IOrpcEnum_Impl, IOrpcEnum_PROXY_STUB, IOrpcSink, IOrpcSink_Impl,
    IOrpcSink_PROXY_STUB, IOrpcTest, IOrpcTest_Impl, IOrpcTest_PROXY_STUB, IOrpcTest2,
    IOrpcTest2_Impl, IOrpcTest2_PROXY_STUB,
};
use comidl_runtime::dcom::{self, Keep, marshal};
use comidl_runtime::{
    ComObject, ComPtr, E_ACCESSDENIED, E_INVALIDARG, HRESULT, IUnknown, Interface,
    RPC_E_DISCONNECTED, RPC_S_SERVER_UNAVAILABLE_HR, Result, WStr,
};

/// Objects alive in this process (both roles).
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Test;
struct Sink {
    bias: i32,
}

impl Test {
    fn new() -> Test {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Test
    }
}
impl Drop for Test {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}
impl Sink {
    fn new(bias: i32) -> Sink {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Sink { bias }
    }
}
impl Drop for Sink {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

comidl_runtime::implement!(Test: IOrpcTest2, IOrpcEnum);

impl IOrpcEnum_Impl for Test {
    /// Three items at most: 0, 10, 20; S_FALSE when fewer than asked.
    fn next(&self, items: &mut [i32]) -> Result<u32> {
        let n = items.len().min(3);
        for (i, v) in items.iter_mut().take(n).enumerate() {
            *v = 10 * i as i32;
        }
        Ok(n as u32)
    }
}
comidl_runtime::implement!(Sink: IOrpcSink);

impl IOrpcSink_Impl for Sink {
    fn notify(&self, value: i32) -> Result<i32> {
        Ok(value + self.bias)
    }
}

impl IOrpcTest_Impl for Test {
    fn add(&self, a: i32, b: i32) -> Result<i32> {
        a.checked_add(b).ok_or(E_INVALIDARG)
    }
    fn sum(&self, values: &[i32]) -> Result<i64> {
        Ok(values.iter().map(|&v| i64::from(v)).sum())
    }
    fn fill(&self, bytes: &mut [u8]) -> Result<()> {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        Ok(())
    }
    fn echo(&self, text: &WStr) -> Result<*mut u16> {
        comidl_runtime::wide::to_task_block(&format!("echo: {}", text.to_string_lossy()))
    }
    fn call_back(&self, sink: Option<&IOrpcSink>, value: i32) -> Result<i32> {
        let sink = sink.ok_or(E_INVALIDARG)?;
        Ok(sink.notify(value)? + 1)
    }
    fn make_sink(&self, bias: i32) -> Result<Option<ComPtr<IOrpcSink>>> {
        Ok(Some(ComObject::create::<IOrpcSink>(Sink::new(bias))?))
    }
    fn query(&self, riid: &comidl_runtime::GUID) -> Result<*mut c_void> {
        // A new reference to this same object, as `riid`.
        // SAFETY: `self` is the value of a live object (a method called through it).
        unsafe { ComObject::query_value(self, riid) }
    }
    fn fail(&self, hr: HRESULT) -> Result<()> {
        Err(hr)
    }
    fn crash(&self) -> Result<()> {
        panic!("a method that panics (the test wants this)");
    }
    fn wait(&self, ms: u32) -> Result<()> {
        std::thread::sleep(Duration::from_millis(u64::from(ms)));
        Ok(())
    }
}

impl IOrpcTest2_Impl for Test {
    fn twice(&self, value: i32) -> Result<i32> {
        value.checked_mul(2).ok_or(E_INVALIDARG)
    }
}

fn register() {
    dcom::register(&[
        &IOrpcEnum_PROXY_STUB,
        &IOrpcTest2_PROXY_STUB,
        &IOrpcTest_PROXY_STUB,
        &IOrpcSink_PROXY_STUB,
    ]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// The server role: marshals one IOrpcTest object, prints its OBJREF, and answers
/// "counts" with its object counts until stdin closes.
fn server() {
    register();
    let test = ComObject::create::<IOrpcTest>(Test::new()).expect("create the test object");
    let objref = marshal::marshal(&*test, Keep::Normal).expect("marshal the test object");
    drop(test);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", hex(&objref)).expect("stdout");
    out.flush().expect("stdout");
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "counts" {
            let (exported, imported) = dcom::object_counts();
            writeln!(out, "{exported} {imported} {}", LIVE.load(Ordering::SeqCst)).expect("stdout");
            out.flush().expect("stdout");
        }
    }
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start() -> (Server, Vec<u8>) {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the server's OBJREF");
        (
            Server {
                child,
                stdin,
                stdout,
            },
            unhex(line.trim()),
        )
    }

    /// The server's (exported objects, imported objects, live objects).
    fn counts(&mut self) -> (usize, usize, isize) {
        writeln!(self.stdin, "counts").expect("server stdin");
        self.stdin.flush().expect("server stdin");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("counts");
        let v: Vec<i64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        match v.as_slice() {
            [a, b, c] => (*a as usize, *b as usize, *c as isize),
            _ => panic!("bad counts line {line:?}"),
        }
    }

    /// Counts once they settle (a RemRelease is sent as the last reference goes, and the
    /// server handles it on its own threads).
    fn settled_counts(&mut self, want: (usize, usize, isize)) -> (usize, usize, isize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let c = self.counts();
            if c == want || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A wide string from the task allocator, as a String; the block is freed.
fn take_string(p: *mut u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut n = 0;
    // SAFETY: a NUL-terminated string the proxy unmarshalled.
    while unsafe { p.add(n).read() } != 0 {
        n += 1;
    }
    // SAFETY: as above: `n` units before the terminator.
    let s = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) });
    // SAFETY: the [out] string is the caller's to free, from the task allocator.
    unsafe { comidl_runtime::CoTaskMemFree(p.cast()) };
    s
}

fn identity<I: Interface>(p: &ComPtr<I>) -> *mut c_void {
    p.cast::<IUnknown>()
        .map_or(std::ptr::null_mut(), |u| u.as_raw())
}

fn calls(r: &mut Report) {
    let (mut server, objref) = Server::start();
    let test: ComPtr<IOrpcTest> = match dcom::marshal::unmarshal(&objref) {
        Ok(t) => t,
        Err(e) => {
            r.check("unmarshal the server's OBJREF", false, e);
            return;
        }
    };
    r.check("a proxy from another process's OBJREF", true, ());
    let got = test.add(2, 40);
    r.check("scalars in and out", got == Ok(42), got);
    let values: Vec<i32> = (1..=1000).collect();
    let got = test.sum(&values);
    r.check("a [size_is] array in", got == Ok(500_500), got);
    let mut bytes = vec![0xEEu8; 4096];
    let got = test.fill(&mut bytes);
    let want: Vec<u8> = (0..4096).map(|i| i as u8).collect();
    r.check("a [size_is] array out", got.is_ok() && bytes == want, got);
    let text = comidl_runtime::WString::new("héllo").expect("no NUL");
    let got = test.echo(&text).map(take_string);
    r.check(
        "strings both ways",
        got.as_deref() == Ok("echo: héllo"),
        got,
    );

    // The server calls back into this process during the call.
    let sink = ComObject::create::<IOrpcSink>(Sink::new(100)).expect("a local sink");
    let got = test.call_back(&sink, 7);
    r.check(
        "a callback into the client during the call",
        got == Ok(108),
        got,
    );
    drop(sink);

    // An object made in the server, handed back.
    let got = test.make_sink(5).and_then(|s| {
        let s = s.ok_or(E_INVALIDARG)?;
        s.notify(1)
    });
    r.check("an interface pointer out", got == Ok(6), got);

    // QueryInterface through the proxy: the exporter is asked (RemQueryInterface).
    let t2 = test.cast::<IOrpcTest2>();
    let got = t2.as_ref().map_err(|e| *e).and_then(|t2| t2.twice(21));
    r.check("QueryInterface for a derived interface", got == Ok(42), got);
    let same = t2.as_ref().is_ok_and(|t2| identity(t2) == identity(&test));
    r.check("one proxy identity per remote object", same, ());
    let inherited = t2.as_ref().map_err(|e| *e).and_then(|t2| t2.add(1, 1));
    r.check(
        "an inherited method through the derived proxy",
        inherited == Ok(2),
        inherited,
    );
    drop(t2);

    // [iid_is]: the server hands out its own object again; the import finds the same
    // proxy manager.
    let got = test
        .query::<IOrpcTest2>()
        .and_then(|t2| Ok((t2.twice(5)?, identity(&t2) == identity(&test))));
    r.check(
        "an [iid_is] interface pointer out",
        got == Ok((10, true)),
        got,
    );

    // A [local] method with its [call_as] remote form: the proxy calls the program's
    // IOrpcEnum_Next_Proxy helper, the stub its IOrpcEnum_Next_Stub.
    let got = test.cast::<IOrpcEnum>().and_then(|e| {
        let mut items = [-1; 5];
        let n = e.next(&mut items)?;
        Ok((n, items))
    });
    r.check(
        "a [local] method through its [call_as] form and the helpers",
        got == Ok((3, [0, 10, 20, -1, -1])),
        got,
    );

    let got = test.fail(E_ACCESSDENIED);
    r.check(
        "the server's HRESULT comes back",
        got == Err(E_ACCESSDENIED),
        got,
    );
    let got = test.crash();
    r.check("a panic in the server is a failure", got.is_err(), got);
    let got = test.add(1, 2);
    r.check("the server lives on after a panic", got == Ok(3), got);

    let (exported, imported) = dcom::object_counts();
    r.check(
        "the client imports one object while it holds it",
        imported == 1,
        (exported, imported),
    );
    drop(test);
    let c = server.settled_counts((0, 0, 0));
    r.check(
        "the server holds nothing once the client let go",
        c == (0, 0, 0),
        c,
    );
    let (exported, imported) = dcom::object_counts();
    r.check(
        "the client holds nothing either",
        exported == 0 && imported == 0 && LIVE.load(Ordering::SeqCst) == 0,
        (exported, imported, LIVE.load(Ordering::SeqCst)),
    );
}

fn killed_mid_call(r: &mut Report) {
    let (mut server, objref) = Server::start();
    let test: ComPtr<IOrpcTest> = match dcom::marshal::unmarshal(&objref) {
        Ok(t) => t,
        Err(e) => {
            r.check("unmarshal (kill test)", false, e);
            return;
        }
    };
    let raw = test.as_raw() as usize;
    let caller = std::thread::spawn(move || {
        // SAFETY: the proxy lives until `test` is dropped, after this thread is joined.
        let t = unsafe { IOrpcTest::from_raw_borrowed(raw as *mut c_void) }.expect("non-null");
        let started = Instant::now();
        let got = t.wait(30_000);
        (got, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let _ = server.child.kill();
    let (got, took) = caller.join().expect("the caller thread");
    let expected = got == Err(RPC_E_DISCONNECTED) || got == Err(RPC_S_SERVER_UNAVAILABLE_HR);
    r.check(
        "a server killed mid-call: RPC_E_DISCONNECTED within 5 s",
        expected && took < Duration::from_secs(5),
        (got, took),
    );
    let mut sum = 99i32;
    // SAFETY: a live proxy and a valid [out] pointer.
    let got = unsafe { (test.vtable().Add)(test.as_raw(), 1, 2, &mut sum) };
    r.check(
        "a call on a proxy whose server is gone fails, its [out] zero",
        got.is_err() && sum == 0,
        (got, sum),
    );
    drop(test);
    let (_, imported) = dcom::object_counts();
    r.check("the dead server's proxy is gone", imported == 0, imported);
}

/// The client role: imports the OBJREF on stdin, makes a call, says "ready", and waits
/// to be killed while holding the proxy.
fn client() {
    register();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("an OBJREF");
    let test: ComPtr<IOrpcTest> = marshal::unmarshal(&unhex(line.trim())).expect("a proxy");
    let sum = test.add(1, 2).expect("a call");
    println!("ready {sum}");
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs(60));
    drop(test);
}

fn client_killed(r: &mut Report) {
    let before = LIVE.load(Ordering::SeqCst);
    let test = ComObject::create::<IOrpcTest>(Test::new()).expect("the test object");
    let objref = marshal::marshal(&*test, Keep::Normal).expect("marshalled");
    drop(test);
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .arg("client")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the client process");
    let mut stdin = child.stdin.take().expect("piped");
    writeln!(stdin, "{}", hex(&objref)).expect("the client's stdin");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the client's answer");
    r.check(
        "a client in another process calls our object",
        line.trim() == "ready 3",
        &line,
    );
    let held = dcom::object_counts().0;
    r.check(
        "while it holds a proxy, the object stays exported",
        held == 1,
        held,
    );
    let _ = child.kill();
    let _ = child.wait();
    let started = Instant::now();
    while (dcom::object_counts().0 > 0 || LIVE.load(Ordering::SeqCst) > before)
        && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (exported, _) = dcom::object_counts();
    let live = LIVE.load(Ordering::SeqCst) - before;
    r.check(
        "a client killed while holding a proxy: its references go within 5 s",
        exported == 0 && live == 0,
        (exported, live, started.elapsed()),
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("server") => return server(),
        Some("client") => return client(),
        _ => {}
    }
    register();
    let mut r = Report::new();
    calls(&mut r);
    killed_mid_call(&mut r);
    client_killed(&mut r);
    r.finish();
}
