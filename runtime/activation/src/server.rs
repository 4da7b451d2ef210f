//! Executable (local) servers, the server's side (SEMANTICS.md, "Executable (local)
//! servers"): class objects registered for CLSCTX_LOCAL_SERVER are published for other
//! processes (dcom's rendezvous), the process-wide server count whose fall to zero
//! suspends them, and [`LocalServer`], which runs a server executable the way COM starts
//! one: `/RegServer`, `/UnregServer`, `-Embedding`, and exit once nothing holds it.
//!
//! These functions stand in front of the com layer's (which keep the in-process class
//! table): they add what crossing a process needs.

use std::collections::HashMap;
use std::ffi::c_void;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use comidl_runtime_com::registry::{ClassEntry, Registry, RegistryError, Scope};
use comidl_runtime_com::{
    CLSCTX_LOCAL_SERVER, COINIT_MULTITHREADED, CoInitializeEx, ComPtr, GUID, HRESULT, IUnknown,
    Interface, REGCLS_MULTI_SEPARATE, REGCLS_MULTIPLEUSE, REGCLS_SUSPENDED, Result, S_OK, lifetime,
};
use comidl_runtime_dcom::local::{Publication, publish, unpublish};

/// A local-server registration of this process.
struct Registered {
    clsid: GUID,
    /// The class object, with a reference held here.
    object: ComPtr<IUnknown>,
    single_use: bool,
    published: Option<Publication>,
}

// SAFETY: class objects registered for other processes are free-threaded (the
// multithreaded apartment); only this table touches the pointer, to publish it.
unsafe impl Send for Registered {}

fn table() -> MutexGuard<'static, HashMap<u32, Registered>> {
    static TABLE: std::sync::OnceLock<Mutex<HashMap<u32, Registered>>> = std::sync::OnceLock::new();
    match TABLE.get_or_init(Mutex::default).lock() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    }
}

/// `CoRegisterClassObject`: the com layer's registration, and for CLSCTX_LOCAL_SERVER
/// the class object published for other processes (unless REGCLS_SUSPENDED, until
/// [`CoResumeClassObjects`]).
///
/// # Safety
/// As for the com layer's `CoRegisterClassObject`.
#[allow(non_snake_case)]
pub unsafe fn CoRegisterClassObject(
    clsid: *const GUID,
    object: *mut c_void,
    context: u32,
    flags: u32,
    cookie: *mut u32,
) -> HRESULT {
    // Marshalling finds proxy/stub modules and custom unmarshallers through this layer.
    crate::activation::register_with_com();
    // SAFETY: forwarded.
    let hr =
        unsafe { comidl_runtime_com::CoRegisterClassObject(clsid, object, context, flags, cookie) };
    if hr.is_err() || context & CLSCTX_LOCAL_SERVER == 0 {
        return hr;
    }
    // SAFETY: the com layer checked the pointers (a registration succeeded).
    let (clsid, id) = unsafe { (*clsid, *cookie) };
    // SAFETY: `object` is a live IUnknown (the caller's contract); the table takes a
    // reference of its own.
    let Some(held) =
        (unsafe { IUnknown::from_raw_borrowed(object) }).map(|u| ComPtr::from_borrowed(&u))
    else {
        return hr;
    };
    let mut r = Registered {
        clsid,
        object: held,
        single_use: flags & (REGCLS_MULTIPLEUSE | REGCLS_MULTI_SEPARATE) == 0,
        published: None,
    };
    if flags & REGCLS_SUSPENDED == 0 {
        match publish_one(&r) {
            Ok(p) => r.published = Some(p),
            Err(e) => {
                let _ = comidl_runtime_com::CoRevokeClassObject(id);
                // SAFETY: `cookie` is writable (checked by the com layer).
                unsafe { cookie.write(0) };
                return e;
            }
        }
    }
    table().insert(id, r);
    hr
}

fn publish_one(r: &Registered) -> Result<Publication> {
    // SAFETY: a live IUnknown held by the registration, of a free-threaded object.
    unsafe { publish(&r.clsid, r.object.as_raw(), r.single_use) }
}

/// `CoRevokeClassObject`: unpublished, then removed from the class table.
#[allow(non_snake_case)]
pub fn CoRevokeClassObject(cookie: u32) -> HRESULT {
    let removed = table().remove(&cookie);
    if let Some(p) = removed.and_then(|r| r.published) {
        unpublish(p);
    }
    comidl_runtime_com::CoRevokeClassObject(cookie)
}

/// `CoResumeClassObjects`: class objects registered suspended (or suspended since) become
/// reachable, in this process and from others.
#[allow(non_snake_case)]
pub fn CoResumeClassObjects() -> HRESULT {
    let hr = comidl_runtime_com::CoResumeClassObjects();
    if hr.is_err() {
        return hr;
    }
    let mut t = table();
    for r in t.values_mut() {
        if r.published.is_none() {
            match publish_one(r) {
                Ok(p) => r.published = Some(p),
                Err(e) => return e,
            }
        }
    }
    S_OK
}

/// `CoSuspendClassObjects`: no new activation reaches this process's class objects
/// (they stay registered; [`CoResumeClassObjects`] undoes it).
#[allow(non_snake_case)]
pub fn CoSuspendClassObjects() -> HRESULT {
    let unpublished: Vec<Publication> = table()
        .values_mut()
        .filter_map(|r| r.published.take())
        .collect();
    for p in unpublished {
        unpublish(p);
    }
    comidl_runtime_com::classes::suspend_class_objects_local()
}

static SERVER_REFS: AtomicU32 = AtomicU32::new(0);

/// How long a server started with no client yet waits for one before it leaves (the
/// client's own wait for the server is 30 s).
pub const STARTUP_GRACE: Duration = Duration::from_secs(30);

/// `CoAddRefServerProcess`: one more reason for the server process to live; the new count.
#[allow(non_snake_case)]
pub fn CoAddRefServerProcess() -> u32 {
    SERVER_REFS.fetch_add(1, Ordering::AcqRel).wrapping_add(1)
}

/// `CoReleaseServerProcess`: one reason fewer; when the count falls to zero the class
/// objects are suspended at once, so no activation races the shutdown that follows. The
/// new count.
#[allow(non_snake_case)]
pub fn CoReleaseServerProcess() -> u32 {
    let left = SERVER_REFS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .map_or(0, |n| n - 1);
    if left == 0 {
        let _ = CoSuspendClassObjects();
    }
    left
}

/// The process's server count ([`CoAddRefServerProcess`]).
pub fn server_process_refs() -> u32 {
    SERVER_REFS.load(Ordering::Acquire)
}

/// One class an executable serves.
pub struct LocalClass {
    /// The class identifier.
    pub clsid: GUID,
    /// The class's name (the registry's default value).
    pub name: String,
    /// Its versioned ProgID (`Vendor.Component.1`), if any.
    pub progid: Option<String>,
    /// Its version-independent ProgID (`Vendor.Component`), if any.
    pub vi_progid: Option<String>,
    /// The class object (its IUnknown).
    pub class_object: ComPtr<IUnknown>,
    /// REGCLS_SINGLEUSE: each process serves one activation.
    pub single_use: bool,
}

/// Runs an executable server (`main` of a LocalServer32 program):
///
/// - `/RegServer` (`-RegServer`, any case) writes each class's `LocalServer32` (this
///   executable) and ProgIDs into the user's class registry and exits; `/UnregServer`
///   removes them;
/// - otherwise (`-Embedding` when COM started it) registers the class objects
///   (REGCLS_MULTIPLEUSE, or SINGLEUSE), serves until nothing holds the process (no live
///   object, no LockServer lock, no server-process reference, no reference a client
///   holds, on a class object's proxy too) for `linger` (before its first client,
///   [`STARTUP_GRACE`]), then revokes them and returns.
pub struct LocalServer {
    classes: Vec<LocalClass>,
    linger: Duration,
    scope: Scope,
}

impl Default for LocalServer {
    fn default() -> Self {
        LocalServer::new()
    }
}

/// What the command line asks of a server.
#[derive(Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// `/RegServer`: write the classes' registry keys.
    Register,
    /// `/UnregServer`: remove them.
    Unregister,
    /// Anything else (`-Embedding` when COM starts the server): serve.
    Serve,
}

/// Reads a server's command line: `/RegServer`, `/UnregServer` (with `-` or `/`, any
/// case), anything else serves.
pub fn server_command<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> ServerCommand {
    for a in args {
        let a = a.as_ref();
        let word = a.strip_prefix('/').or_else(|| a.strip_prefix('-'));
        match word.map(str::to_ascii_lowercase).as_deref() {
            Some("regserver") => return ServerCommand::Register,
            Some("unregserver") => return ServerCommand::Unregister,
            _ => {}
        }
    }
    ServerCommand::Serve
}

impl LocalServer {
    /// A server of no class yet.
    pub fn new() -> LocalServer {
        LocalServer {
            classes: Vec::new(),
            linger: Duration::from_secs(2),
            scope: Scope::User,
        }
    }

    /// Adds a class it serves.
    pub fn class(mut self, class: LocalClass) -> LocalServer {
        self.classes.push(class);
        self
    }

    /// How long the server stays once nothing holds it (2 s by default).
    pub fn linger(mut self, linger: Duration) -> LocalServer {
        self.linger = linger;
        self
    }

    /// Registers into the machine-wide layer instead of the user's.
    pub fn machine_wide(mut self) -> LocalServer {
        self.scope = Scope::Machine;
        self
    }

    /// Does what the process's command line asks; the exit code to return from `main`.
    pub fn run(self) -> ExitCode {
        match server_command(std::env::args().skip(1)) {
            ServerCommand::Register => report(self.register(true)),
            ServerCommand::Unregister => report(self.register(false)),
            ServerCommand::Serve => match self.serve() {
                Ok(()) => ExitCode::SUCCESS,
                Err(hr) => {
                    eprintln!("the server failed: {hr}");
                    ExitCode::FAILURE
                }
            },
        }
    }

    /// Writes (or removes) the classes' keys.
    pub fn register(&self, register: bool) -> std::result::Result<(), RegistryError> {
        let exe = std::env::current_exe()
            .map_err(|e| RegistryError::Io {
                path: "current_exe".into(),
                action: comidl_runtime_com::registry::IoAction::Read,
                source: e,
            })?
            .display()
            .to_string();
        let registry = Registry::open_default()?;
        registry.update(self.scope, |tree| {
            for c in &self.classes {
                if register {
                    let entry = ClassEntry {
                        clsid: c.clsid,
                        name: Some(c.name.clone()),
                        local_server: Some(format!("\"{exe}\"")),
                        progid: c.progid.clone(),
                        vi_progid: c.vi_progid.clone(),
                        ..ClassEntry::default()
                    };
                    comidl_runtime_com::registry::register_class(tree, &entry)?;
                } else {
                    comidl_runtime_com::registry::unregister_class(tree, &c.clsid)?;
                }
            }
            Ok(())
        })
    }

    /// Serves until nothing holds the process.
    pub fn serve(self) -> Result<()> {
        let _ = CoInitializeEx(std::ptr::null_mut(), COINIT_MULTITHREADED);
        // Who on other machines may call this process: its application's AccessUsers
        // (the first of its classes that names an application with one).
        if let Ok(snapshot) = crate::registry_view() {
            let access = self
                .classes
                .iter()
                .find_map(|c| snapshot.app_value(&c.clsid, "AccessUsers"));
            comidl_runtime_dcom::machine::set_access(
                access.map(|a| comidl_runtime_dcom::machine::UserList::parse(&a)),
            );
        }
        let mut cookies = Vec::new();
        let result = (|| {
            for c in &self.classes {
                let flags = if c.single_use { 0 } else { REGCLS_MULTIPLEUSE } | REGCLS_SUSPENDED;
                let mut cookie = 0;
                // SAFETY: valid pointers; a live class object.
                unsafe {
                    CoRegisterClassObject(
                        &c.clsid,
                        c.class_object.as_raw(),
                        CLSCTX_LOCAL_SERVER,
                        flags,
                        &mut cookie,
                    )
                }
                .ok()?;
                cookies.push(cookie);
            }
            CoResumeClassObjects().ok()?;
            self.wait_until_unused();
            Ok(())
        })();
        let _ = CoSuspendClassObjects();
        for c in cookies {
            let _ = CoRevokeClassObject(c);
        }
        result
    }

    /// Waits until no object, lock, server-process reference or client's reference
    /// (a class object's proxy too) has held the process for `linger`; then the class
    /// objects are suspended (no new activation). Until the first client comes, the
    /// wait is [`STARTUP_GRACE`] instead: the client that started the server may take a
    /// while to reach it.
    fn wait_until_unused(&self) {
        let started = Instant::now();
        let mut served = false;
        let mut idle_since: Option<Instant> = None;
        let held = || {
            lifetime::object_count() > 0
                || lifetime::lock_count() > 0
                || server_process_refs() > 0
                || comidl_runtime_dcom::remote_references() > 0
        };
        loop {
            let busy = held();
            // Any call served counts, however short: a client can come and go between
            // two looks.
            served |= busy || comidl_runtime_dcom::calls_served() > 0;
            let wait = if served { self.linger } else { STARTUP_GRACE };
            match (busy, idle_since) {
                (true, _) => idle_since = None,
                (false, None) => idle_since = Some(if served { Instant::now() } else { started }),
                (false, Some(t)) if t.elapsed() >= wait => {
                    let _ = CoSuspendClassObjects();
                    // An activation that got in before the suspension keeps us.
                    if !held() {
                        return;
                    }
                    let _ = CoResumeClassObjects();
                    idle_since = None;
                }
                (false, Some(_)) => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn report(r: std::result::Result<(), RegistryError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_switches_in_any_case_with_either_prefix() {
        assert_eq!(server_command(["/RegServer"]), ServerCommand::Register);
        assert_eq!(server_command(["-regserver"]), ServerCommand::Register);
        assert_eq!(server_command(["/UNREGSERVER"]), ServerCommand::Unregister);
        assert_eq!(server_command(["-Embedding"]), ServerCommand::Serve);
        assert_eq!(server_command(Vec::<String>::new()), ServerCommand::Serve);
        assert_eq!(server_command(["regserver"]), ServerCommand::Serve);
    }
}
