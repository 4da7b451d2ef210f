//! The out-of-process COM benchmarks (issue 19 item 8), each against a baseline in the
//! same run:
//!
//! - a null method call (`ISecond::Ping`) through a generated proxy to an object in
//!   another process (the bench binary run again as the server), against a raw Unix-socket
//!   ping-pong of the same number of bytes each way (a request with its object UUID and
//!   ORPCTHIS, a response with ORPCTHAT and the HRESULT) with a blocking thread;
//! - `IBlob::Put` of 1 MiB through the proxy, against the raw socket moving the same
//!   megabyte and a reply, and against memcpy of the megabyte;
//! - 16 threads x N calls on one proxy at once: throughput and errors.
//!
//! The null call's IPC baselines, a gRPC call (tonic) and a D-Bus call (zbus), are in
//! [`crate::ipc_baselines`].

use std::ffi::c_void;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use comidl_runtime::dcom::{self, Keep};
use comidl_runtime::{ComObject, ComPtr, Result};

use crate::bindings::{
    IBlob, IBlob_Impl, IBlob_PROXY_STUB, ISecond, ISecond_Impl, ISecond_PROXY_STUB,
};
use crate::{Comparison, Plan, compare};

/// The server's object: Ping does nothing, Put answers the length (neither does work the
/// raw baseline would not).
struct Target;

comidl_runtime::implement!(Target: ISecond, IBlob);

impl ISecond_Impl for Target {
    fn ping(&self) -> Result<()> {
        Ok(())
    }
}

impl IBlob_Impl for Target {
    fn put(&self, data: &[u8]) -> Result<u32> {
        Ok(data.len() as u32)
    }
}

/// Registers the proxies and stubs the benchmarks use (both processes).
pub fn register() {
    dcom::register(&[&ISecond_PROXY_STUB, &IBlob_PROXY_STUB]);
}

/// The server role: prints the object's OBJREF and serves until stdin closes.
pub fn serve() {
    register();
    let target = ComObject::create::<ISecond>(Target).expect("the object");
    let objref = dcom::marshal::marshal(&*target, Keep::Normal).expect("marshalled");
    drop(target);
    let hex: String = objref.iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}");
    let _ = std::io::stdout().flush();
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
}

/// The server process and a proxy of its object.
pub struct Remote {
    child: Child,
    pub second: ComPtr<ISecond>,
    pub blob: ComPtr<IBlob>,
}

impl Remote {
    /// Starts `exe server-arg` and imports its object.
    pub fn start(exe: &std::path::Path, arg: &str) -> Remote {
        register();
        let mut child = Command::new(exe)
            .arg(arg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the OBJREF");
        let bytes: Vec<u8> = (0..line.trim().len() / 2)
            .map(|i| u8::from_str_radix(&line.trim()[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        let second: ComPtr<ISecond> = dcom::marshal::unmarshal(&bytes).expect("a proxy");
        assert!(dcom::proxy::is_proxy(&*second), "the object must be remote");
        let blob = second.cast::<IBlob>().expect("IBlob");
        Remote {
            child,
            second,
            blob,
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A raw Unix-socket ping-pong server: reads `req` bytes, writes `resp` bytes, per
/// connection on a thread.
pub struct RawSized {
    path: std::path::PathBuf,
}

impl RawSized {
    pub fn start(name: &str, req: usize, resp: usize) -> RawSized {
        let path = std::env::temp_dir().join(format!("comidl-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).expect("binds");
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut buf = vec![0u8; req];
                    let out = vec![0u8; resp];
                    while s.read_exact(&mut buf).is_ok() {
                        if s.write_all(&out).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        RawSized { path }
    }

    pub fn client(&self) -> UnixStream {
        UnixStream::connect(&self.path).expect("connects")
    }
}

/// The bytes a null ORPC call moves: request = PDU header (16) + request header (8) +
/// object UUID (16) + ORPCTHIS (32); response = 16 + 8 + ORPCTHAT (8) + HRESULT (4).
pub const NULL_REQUEST: usize = 16 + 8 + 16 + 32;
pub const NULL_RESPONSE: usize = 16 + 8 + 8 + 4;

fn raw_round(s: &Mutex<UnixStream>, req: &[u8], resp: &mut [u8]) -> bool {
    let mut s = match s.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    s.write_all(req).is_ok() && s.read_exact(resp).is_ok()
}

use std::sync::Mutex;

/// Null call through the proxy over the raw ping-pong of the same bytes.
pub fn bench_null(plan: Plan, remote: &Remote) -> Comparison {
    let raw = RawSized::start("orpc-null", NULL_REQUEST, NULL_RESPONSE);
    let stream = Mutex::new(raw.client());
    let req = vec![0u8; NULL_REQUEST];
    let errors = AtomicU64::new(0);
    let c = comp_raw(&stream, &req, NULL_RESPONSE, &errors);
    let ours = null_calls(remote, &errors);
    let r = compare(plan, 1, &c, &ours);
    assert_eq!(errors.load(Ordering::Relaxed), 0, "calls failed");
    r
}

/// The "ours" side of the null-call comparisons (this one and the IPC baselines'):
/// `n` calls of `ISecond::Ping` through the proxy, failures counted in `errors`.
pub fn null_calls<'a>(remote: &'a Remote, errors: &'a AtomicU64) -> impl Fn(u64) + Sync + 'a {
    // The proxy as an address: ComPtr is not Sync (proxies are free-threaded).
    let proxy = remote.second.as_raw() as usize;
    move |n: u64| {
        // SAFETY: the proxy lives as long as `remote`.
        let p = unsafe {
            <ISecond as comidl_runtime::Interface>::from_raw_borrowed(proxy as *mut c_void)
        }
        .expect("non-null");
        for _ in 0..n {
            if p.ping().is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn comp_raw<'a>(
    stream: &'a Mutex<UnixStream>,
    req: &'a [u8],
    resp_len: usize,
    errors: &'a AtomicU64,
) -> impl Fn(u64) + Sync + 'a {
    move |n: u64| {
        let mut resp = vec![0u8; resp_len];
        for _ in 0..n {
            if !raw_round(stream, req, &mut resp) {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The megabyte benchmark: the proxy's Put against the raw socket moving the same bytes
/// (request: headers, ORPCTHIS, count, conformance, data; response: ORPCTHAT, sum,
/// HRESULT), and against memcpy of the megabyte.
pub fn bench_megabyte(plan: Plan, remote: &Remote) -> (Comparison, Comparison) {
    const MIB: usize = 1 << 20;
    let data: Vec<u8> = (0..MIB).map(|i| i as u8).collect();
    let req_len = 16 + 8 + 16 + 32 + 4 + 4 + MIB;
    let raw = RawSized::start("orpc-mib", req_len, 16 + 8 + 8 + 4 + 4);
    let stream = Mutex::new(raw.client());
    let req = vec![0u8; req_len];
    let errors = AtomicU64::new(0);
    let proxy = remote.blob.as_raw() as usize;
    let ours = |n: u64| {
        // SAFETY: the proxy lives as long as `remote`.
        let p = unsafe {
            <IBlob as comidl_runtime::Interface>::from_raw_borrowed(proxy as *mut c_void)
        }
        .expect("non-null");
        for _ in 0..n {
            if p.put(&data).is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    let c = comp_raw(&stream, &req, 16 + 8 + 8 + 4 + 4, &errors);
    let vs_raw = compare(plan, 1, &c, &ours);
    let mut dst = vec![0u8; MIB];
    let dst_ptr = dst.as_mut_ptr() as usize;
    let copy = |n: u64| {
        for _ in 0..n {
            // SAFETY: two distinct buffers of MIB bytes; only this closure writes `dst`
            // (one thread).
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), dst_ptr as *mut u8, MIB);
            }
            std::hint::black_box(dst_ptr);
        }
    };
    let vs_memcpy = compare(plan, 1, &copy, &ours);
    assert_eq!(errors.load(Ordering::Relaxed), 0, "calls failed");
    drop(dst);
    (vs_raw, vs_memcpy)
}

/// `threads` threads making `calls` null calls each on one proxy at once: calls per
/// second and errors.
pub fn bench_clients(remote: &Remote, threads: usize, calls: u64) -> (f64, u64) {
    let errors = AtomicU64::new(0);
    let proxy = remote.second.as_raw() as usize;
    let t = crate::timed(threads, calls, &|n| {
        // SAFETY: the proxy lives as long as `remote`; proxies are free-threaded.
        let p = unsafe {
            <ISecond as comidl_runtime::Interface>::from_raw_borrowed(proxy as *mut c_void)
        }
        .expect("non-null");
        for _ in 0..n {
            if p.ping().is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let total = threads as f64 * calls as f64;
    (total / t.as_secs_f64(), errors.load(Ordering::Relaxed))
}
