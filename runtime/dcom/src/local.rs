//! Executable (local) servers without a system daemon: the per-user rendezvous where a
//! running server publishes its class objects, and the client's side that finds one or
//! starts the server (SEMANTICS.md, "Executable (local) servers").
//!
//! The rendezvous is a directory next to the user's ncalrpc endpoints
//! (`<ncalrpc dir>/classes`, mode 0700: only the user's processes see it). A class object
//! registered for CLSCTX_LOCAL_SERVER is marshalled table-strong and its OBJREF written to
//! `{clsid}.class` with the server's pid and whether it serves one activation or many;
//! files are written whole and renamed into place, so a reader never sees half of one.
//!
//! A client reads the entry and unmarshals the class object. An entry whose process is
//! gone (or whose exporter no longer answers) is stale: removed, and the server started
//! again. Starting a server happens under an exclusive lock on `{clsid}.lock`, and the
//! entry is looked for again once the lock is held, so two clients starting the same
//! server at once start it once. A single-use entry is claimed by renaming it away before
//! it is used, so only one client gets it. The server is started with `-Embedding`, and
//! the client waits a bounded time for its entry (CO_E_SERVER_EXEC_FAILURE when it does not
//! come, or at once when the process exits first).

use std::ffi::c_void;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use comidl_runtime_core::{
    CO_E_SERVER_EXEC_FAILURE, E_NOINTERFACE, E_UNEXPECTED, GUID, IID_IClassFactory, IID_IUnknown,
    RPC_E_DISCONNECTED, RPC_S_SERVER_UNAVAILABLE_HR, Result,
};

use crate::marshal::{Keep, marshal_interface, release_marshal_data, unmarshal_interface};
use crate::unk;

/// How long a client waits for a server it started to publish its class object, unless
/// `COMIDL_SERVER_START_TIMEOUT_MS` says otherwise.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

const MAGIC: &str = "comidl-class-object 1";

/// The rendezvous directory, created (0700) if missing.
pub fn rendezvous_dir() -> Result<PathBuf> {
    let base = comidl_runtime_rpc::transport::ncalrpc_dir().map_err(|_| E_UNEXPECTED)?;
    let dir = base.join("classes");
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return Err(E_UNEXPECTED),
    }
    Ok(dir)
}

fn entry_path(dir: &Path, clsid: &GUID) -> PathBuf {
    dir.join(format!("{}.class", clsid.to_string().to_ascii_lowercase()))
}

/// A published class object.
pub struct Publication {
    path: PathBuf,
    text: String,
    objref: Vec<u8>,
}

/// One rendezvous entry, as read.
struct Entry {
    pid: i32,
    single_use: bool,
    objref: Vec<u8>,
    text: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 1 << 16 {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn parse(text: &str) -> Option<Entry> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let pid = lines.next()?.strip_prefix("pid ")?.parse().ok()?;
    let single_use = match lines.next()?.strip_prefix("use ")? {
        "single" => true,
        "multiple" => false,
        _ => return None,
    };
    let objref = unhex(lines.next()?.strip_prefix("objref ")?)?;
    Some(Entry {
        pid,
        single_use,
        objref,
        text: text.to_string(),
    })
}

fn read_entry(path: &Path) -> Option<Entry> {
    let text = std::fs::read_to_string(path).ok()?;
    if text.len() > 1 << 17 {
        return None;
    }
    parse(&text)
}

/// Whether process `pid` exists (ours or another user's).
pub fn alive(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => match rustix::process::test_kill_process(p) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        },
        None => false,
    }
}

/// Removes `path` if it still holds `text` (a stale entry another process may have
/// replaced meanwhile stays).
fn remove_if(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        let _ = std::fs::remove_file(path);
    }
}

/// Publishes `object` (a class object's IUnknown) as the class object of `clsid` for
/// other processes: marshalled table-strong (as IClassFactory when it is one).
///
/// # Safety
/// `object` is a live IUnknown of an object any thread may call.
pub unsafe fn publish(clsid: &GUID, object: *mut c_void, single_use: bool) -> Result<Publication> {
    // SAFETY: the caller's contract.
    let iid = match unsafe { unk::query(object, &IID_IClassFactory) } {
        Ok(f) => {
            // SAFETY: the reference QueryInterface gave.
            unsafe { unk::release(f) };
            IID_IClassFactory
        }
        Err(_) => IID_IUnknown,
    };
    // SAFETY: the caller's contract; `object` is of interface `iid` (asked above).
    let objref = unsafe { marshal_interface(object, &iid, Keep::TableStrong)? };
    let dir = rendezvous_dir()?;
    let path = entry_path(&dir, clsid);
    let text = format!(
        "{MAGIC}\npid {}\nuse {}\nobjref {}\n",
        std::process::id(),
        if single_use { "single" } else { "multiple" },
        hex(&objref)
    );
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        clsid.to_string().to_ascii_lowercase(),
        std::process::id()
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = release_marshal_data(&objref);
        return Err(E_UNEXPECTED);
    }
    Ok(Publication { path, text, objref })
}

/// Takes a publication back: the entry goes (if still ours) and the table-strong
/// marshal is released.
pub fn unpublish(p: Publication) {
    remove_if(&p.path, &p.text);
    let _ = release_marshal_data(&p.objref);
}

/// The class object of `clsid` from a running local server, or from the server
/// `command` starts, as interface `iid` (with a reference).
pub fn class_object(clsid: &GUID, command: &str, iid: &GUID) -> Result<*mut c_void> {
    let dir = rendezvous_dir()?;
    let path = entry_path(&dir, clsid);
    // A server that dies between our reading its entry and using it is started again,
    // once.
    let mut last = CO_E_SERVER_EXEC_FAILURE;
    for _ in 0..2 {
        if let Some(found) = running(&path, iid) {
            return found;
        }
        match start(&dir, &path, clsid, command, iid) {
            Ok(p) => return Ok(p),
            Err(e) if e == RPC_E_DISCONNECTED || e == RPC_S_SERVER_UNAVAILABLE_HR => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The class object of a running server, if its entry is there: `None` when there is
/// none (or it was stale and is gone now).
fn running(path: &Path, iid: &GUID) -> Option<Result<*mut c_void>> {
    let entry = read_entry(path)?;
    if !alive(entry.pid) {
        remove_if(path, &entry.text);
        return None;
    }
    let objref = if entry.single_use {
        // Claim it: whoever renames it away uses it.
        let claimed = path.with_extension(format!("claimed.{}", std::process::id()));
        if std::fs::rename(path, &claimed).is_err() {
            return None;
        }
        let e = read_entry(&claimed);
        let _ = std::fs::remove_file(&claimed);
        e?.objref
    } else {
        entry.objref
    };
    match unmarshal_interface(&objref, iid) {
        Ok(p) => Some(Ok(p)),
        Err(e) if e == E_NOINTERFACE => Some(Err(e)),
        Err(_) => {
            // The exporter does not answer: a server on its way out, or a dead one.
            remove_if(path, &entry.text);
            None
        }
    }
}

fn start_timeout() -> Duration {
    std::env::var("COMIDL_SERVER_START_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(START_TIMEOUT, Duration::from_millis)
}

/// Starts the server under the class's launch lock (unless another client did while we
/// waited for the lock) and waits for its entry.
fn start(dir: &Path, path: &Path, clsid: &GUID, command: &str, iid: &GUID) -> Result<*mut c_void> {
    let deadline = Instant::now() + start_timeout();
    let lock_path = dir.join(format!("{}.lock", clsid.to_string().to_ascii_lowercase()));
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|_| E_UNEXPECTED)?;
    loop {
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return Err(CO_E_SERVER_EXEC_FAILURE),
        }
    }
    // Held until `lock` drops (closing the file releases it).
    if let Some(found) = running(path, iid) {
        return found;
    }
    let exited = launch(command)?;
    loop {
        if let Some(found) = running(path, iid) {
            return found;
        }
        if exited.load(Ordering::Acquire) {
            // One last look: it may have published and exited (a single-use server whose
            // object another client took).
            return running(path, iid).unwrap_or(Err(CO_E_SERVER_EXEC_FAILURE));
        }
        if Instant::now() >= deadline {
            return Err(CO_E_SERVER_EXEC_FAILURE);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Splits a LocalServer32 command line into words: spaces separate, double quotes group.
pub fn split_command(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Starts `command -Embedding`; the flag turns true when the process exits (a thread
/// reaps it).
fn launch(command: &str) -> Result<Arc<AtomicBool>> {
    let words = split_command(command);
    let Some((program, args)) = words.split_first() else {
        return Err(CO_E_SERVER_EXEC_FAILURE);
    };
    let mut child = Command::new(program)
        .args(args)
        .arg("-Embedding")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|_| CO_E_SERVER_EXEC_FAILURE)?;
    let exited = Arc::new(AtomicBool::new(false));
    let flag = exited.clone();
    std::thread::Builder::new()
        .name("comidl-server-reaper".into())
        .spawn(move || {
            let _ = child.wait();
            flag.store(true, Ordering::Release);
        })
        .map_err(|_| CO_E_SERVER_EXEC_FAILURE)?;
    Ok(exited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell_with_quotes() {
        assert_eq!(split_command("/bin/srv"), ["/bin/srv"]);
        assert_eq!(
            split_command("\"/opt/my dir/srv\" --x  y"),
            ["/opt/my dir/srv", "--x", "y"]
        );
        assert_eq!(split_command("a \"\" b"), ["a", "", "b"]);
        assert!(split_command("   ").is_empty());
    }

    #[test]
    fn entries_parse_only_whole() {
        let text = format!("{MAGIC}\npid 42\nuse single\nobjref 4d454f57\n");
        let e = parse(&text).unwrap();
        assert_eq!(
            (e.pid, e.single_use, e.objref),
            (42, true, vec![0x4d, 0x45, 0x4f, 0x57])
        );
        for bad in [
            "".to_string(),
            format!("{MAGIC}\npid x\nuse single\nobjref 00\n"),
            format!("{MAGIC}\npid 1\nuse twice\nobjref 00\n"),
            format!("{MAGIC}\npid 1\nuse single\nobjref 0\n"),
            format!("{MAGIC}\npid 1\nuse single\n"),
            "something else\n".to_string(),
        ] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }
}
