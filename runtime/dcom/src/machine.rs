//! This process and the machine's DCOM service (comidl-dcomd, what rpcss is on Windows).
//!
//! When the service runs (its local socket, [`service_socket`], answers), the exporter
//! joins it as it starts: it listens on TCP on every address of the machine, at a port
//! the system picks, and registers its OXID, its IRemUnknown2 IPID and that port with
//! the service. The service answers with the machine resolver's bindings (the address
//! other machines reach it at, port 135 by default), the ping period and the machine's
//! policy. From then on:
//!
//! - OBJREFs made for another machine (in replies to calls that came over TCP, and
//!   [`IComidlExporterLocal::ExportForRemote`], which the service calls to hand an object
//!   it activated to a remote client) name the machine resolver and ask to be pinged; the
//!   references they carry belong to no connection (a remote client may open a new one
//!   per call) but are kept by the client's pings (MS-DCOM 3.2.6);
//! - calls over TCP pass [`admit`]: refused with E_ACCESSDENIED below the machine's
//!   minimum authentication level; the exporter authenticates them (NTLM) against the
//!   machine's users file ([`users_file`]);
//! - a thread asks the service, once per ping period, which of the remotely held objects
//!   their clients still ping, and re-registers when the service restarted.
//!
//! [`IComidlExporterLocal::ExportForRemote`]: crate::activation::bindings::IComidlExporterLocal_Handler

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use comidl_runtime_core::{E_ACCESSDENIED, GUID};
use comidl_runtime_ndr::Fault;
use comidl_runtime_rpc::Protseq;
use comidl_runtime_rpc::auth::AuthnLevel;
use comidl_runtime_rpc::client::Connection;
use comidl_runtime_rpc::server::context;

use crate::activation::bindings::IComidlMachineResolver;
use crate::activation::props::{bindings_of, owned_guid};
use crate::dualstring::DualStringArray;

/// The service's local socket when `COMIDL_DCOM_SERVICE` does not name another; `off`
/// there keeps this process out of the machine service.
pub const DEFAULT_SERVICE_SOCKET: &str = "/run/comidl/dcom.sock";

/// The users file when `COMIDL_DCOM_USERS` names no other: `name:domain:nthash` lines
/// (see [`comidl_runtime_rpc::auth::parse_users`]).
pub const DEFAULT_USERS_FILE: &str = "/etc/comidl/dcom-users";

/// The machine's users file.
pub fn users_file() -> PathBuf {
    match std::env::var_os("COMIDL_DCOM_USERS") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_USERS_FILE),
    }
}

/// The users NTLM authenticates on this machine (none when the file is missing or bad:
/// then nobody authenticates).
pub fn machine_users() -> Vec<comidl_runtime_rpc::auth::NtlmUser> {
    std::fs::read_to_string(users_file())
        .ok()
        .and_then(|t| comidl_runtime_rpc::auth::parse_users(&t).ok())
        .unwrap_or_default()
}

/// How long this process waits for the service on any one call.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(5);

static KEEP_OUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps this process out of the machine service (the service itself calls it: its
/// own COM objects are not for other machines). Before the exporter starts.
pub fn keep_out() {
    KEEP_OUT.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The socket of the machine's DCOM service, unless this process keeps out of it.
pub fn service_socket() -> Option<PathBuf> {
    if KEEP_OUT.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    match std::env::var_os("COMIDL_DCOM_SERVICE") {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => Some(PathBuf::from(DEFAULT_SERVICE_SOCKET)),
    }
}

/// What the service told this process when it registered.
#[derive(Clone, Debug)]
pub(crate) struct Joined {
    /// The machine resolver's bindings: OBJREFs for other machines carry them.
    pub resolver: DualStringArray,
    pub ping_period: Duration,
    /// The lowest authentication level a call from another machine may have.
    pub min_level: AuthnLevel,
}

static JOINED: OnceLock<std::sync::RwLock<Option<Joined>>> = OnceLock::new();

fn joined_slot() -> &'static std::sync::RwLock<Option<Joined>> {
    JOINED.get_or_init(|| std::sync::RwLock::new(None))
}

/// What the service said, when this process joined it.
pub(crate) fn joined() -> Option<Joined> {
    with_joined(|j| j.cloned())
}

/// `f` of what the service said, without copying it (the per-call checks).
pub(crate) fn with_joined<R>(f: impl FnOnce(Option<&Joined>) -> R) -> R {
    match joined_slot().read() {
        Ok(j) => f(j.as_ref()),
        Err(p) => f(p.into_inner().as_ref()),
    }
}

fn set_joined(j: Joined) {
    match joined_slot().write() {
        Ok(mut s) => *s = Some(j),
        Err(p) => *p.into_inner() = Some(j),
    }
}

fn connect(
    path: &std::path::Path,
) -> Option<IComidlMachineResolver<Connection<std::os::unix::net::UnixStream>>> {
    Connection::unix(path, SERVICE_TIMEOUT)
        .ok()
        .map(IComidlMachineResolver::new)
}

/// Registers the exporter with the service at `path`: what the service answered.
fn register(path: &std::path::Path, oxid: u64, rem_unknown: &GUID, port: u16) -> Option<Joined> {
    let service = connect(path)?;
    let (status, resolver, ping_ms, policy) = service
        .register_exporter(oxid, &owned_guid(rem_unknown), port)
        .ok()?;
    if status != 0 {
        return None;
    }
    Some(Joined {
        resolver: bindings_of(&*resolver?).ok()?,
        ping_period: Duration::from_millis(u64::from(ping_ms.max(100))),
        // The policy is the minimum level; anything unknown is the strictest.
        min_level: AuthnLevel::from_u8(policy as u8).unwrap_or(AuthnLevel::PktPrivacy),
    })
}

/// Joins the machine's DCOM service if it runs: listens on TCP and registers. Called
/// once, by the exporter as it starts.
pub(crate) fn join(exporter: &'static crate::exporter::Exporter) {
    let Some(path) = service_socket() else { return };
    if !path.exists() {
        return;
    }
    let Some(rem_unknown) = exporter.rem_unknown.get().copied() else {
        return;
    };
    // Remote callers authenticate against the machine's users.
    exporter.set_security(comidl_runtime_rpc::auth::ServerSecurity {
        users: machine_users(),
        min_level: AuthnLevel::None,
    });
    let Ok(port) = exporter.listen_machine() else {
        return;
    };
    if let Some(j) = register(&path, exporter.oxid, &rem_unknown, port) {
        set_joined(j);
    }
    let _ = std::thread::Builder::new()
        .name("comidl-machine".into())
        .spawn(move || keep_in_touch(exporter, &path, rem_unknown, port));
}

/// Once per ping period: the remotely held objects' pings, and registration again when
/// the service forgot this process (it restarted) or was away.
fn keep_in_touch(
    exporter: &'static crate::exporter::Exporter,
    path: &std::path::Path,
    rem_unknown: GUID,
    port: u16,
) {
    let mut service = None;
    loop {
        let period = joined().map_or(Duration::from_secs(1), |j| j.ping_period);
        std::thread::sleep(period);
        if service.is_none() {
            service = connect(path);
        }
        let Some(s) = &service else { continue };
        let oids = exporter.remote_oids();
        match s.pinged_objects(exporter.oxid, oids.len() as u32, &oids) {
            Ok((0, alive)) if alive.len() == oids.len() => {
                let pinged: Vec<u64> = oids
                    .iter()
                    .zip(&alive)
                    .filter(|(_, a)| **a != 0)
                    .map(|(o, _)| *o)
                    .collect();
                exporter.pinged(&pinged, period);
            }
            Ok(_) => {
                // The service does not know this exporter: it restarted.
                if let Some(j) = register(path, exporter.oxid, &rem_unknown, port) {
                    set_joined(j);
                }
            }
            Err(_) => service = None,
        }
    }
}

/// Who a launch or access list (an AppID's `LaunchUsers` / `AccessUsers`) lets in: user
/// names separated by commas or blanks, compared without regard to case; `*` is every
/// authenticated user; an empty list nobody. An unauthenticated caller passes no list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserList {
    any: bool,
    names: Vec<String>,
}

impl UserList {
    pub fn parse(text: &str) -> UserList {
        let mut list = UserList {
            any: false,
            names: Vec::new(),
        };
        for name in text.split(|c: char| c == ',' || c.is_whitespace()) {
            match name {
                "" => {}
                "*" => list.any = true,
                n => list.names.push(n.to_ascii_lowercase()),
            }
        }
        list
    }

    /// Whether the caller `user` (`None`: unauthenticated) is let in.
    pub fn allows(&self, user: Option<&str>) -> bool {
        let Some(user) = user else { return false };
        self.any || self.names.iter().any(|n| n.eq_ignore_ascii_case(user))
    }
}

static ACCESS: std::sync::RwLock<Option<UserList>> = std::sync::RwLock::new(None);

/// Who on other machines may call this process's objects (its application's
/// `AccessUsers`; `None`: everyone the machine's minimum level admits). Executable
/// servers set it from the registry as they start.
pub fn set_access(list: Option<UserList>) {
    match ACCESS.write() {
        Ok(mut a) => *a = list,
        Err(p) => *p.into_inner() = list,
    }
}

fn access_allows(user: Option<&str>) -> bool {
    let a = match ACCESS.read() {
        Ok(a) => a,
        Err(p) => p.into_inner(),
    };
    a.as_ref().is_none_or(|l| l.allows(user))
}

thread_local! {
    /// Set while this thread marshals for a client on another machine.
    static FOR_REMOTE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` marshalling for another machine (see [`for_remote`]).
pub(crate) fn marshalling_for_remote<R>(f: impl FnOnce() -> R) -> R {
    let before = FOR_REMOTE.with(|c| c.replace(true));
    let r = f();
    FOR_REMOTE.with(|c| c.set(before));
    r
}

/// Whether what this thread marshals now goes to another machine: inside
/// [`marshalling_for_remote`], or serving a call that came over TCP once the process
/// joined the machine service.
pub(crate) fn for_remote() -> bool {
    FOR_REMOTE.with(|c| c.get())
        || (with_joined(|j| j.is_some())
            && context::with_current(|c| c.is_some_and(|c| c.protseq == Protseq::Tcp)))
}

/// Whether the call running may go on: a call over TCP needs the machine's minimum
/// authentication level and a caller the process's access list lets in; local ones
/// always may.
pub(crate) fn admit() -> Result<(), Fault> {
    context::with_current(|call| {
        let Some(call) = call.filter(|c| c.protseq == Protseq::Tcp) else {
            return Ok(());
        };
        with_joined(|j| match j {
            Some(j) if call.authn_level >= j.min_level && access_allows(call.user.as_deref()) => {
                Ok(())
            }
            // Loopback listening for tests (COMIDL_DCOM_TCP) without the service.
            None => Ok(()),
            Some(_) => Err(Fault(E_ACCESSDENIED.0 as u32)),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::UserList;

    #[test]
    fn user_lists() {
        let l = UserList::parse("Alice, bob  carol");
        assert!(l.allows(Some("alice")) && l.allows(Some("BOB")) && l.allows(Some("carol")));
        assert!(!l.allows(Some("mallory")) && !l.allows(None));
        let any = UserList::parse("*");
        assert!(any.allows(Some("anyone")) && !any.allows(None));
        let nobody = UserList::parse("");
        assert!(!nobody.allows(Some("alice")));
    }
}
