//! The object exporter of this process (MS-DCOM 3.1.1.1, 3.1.1.5): what serves this
//! process's objects to others. One OXID for the process (the multithreaded apartment),
//! an RPC server listening on a private ncalrpc endpoint, and the tables:
//!
//! - the OID table: one entry per exported object (its identity, the IUnknown, with one
//!   reference held), found again by identity so an object exported twice keeps its OID;
//! - the IPID table: one entry per exported interface of an object (the interface
//!   pointer, one reference held; its proxy/stub; the public references clients hold).
//!
//! An object stays exported while its IPIDs hold public references or a table-strong
//! marshal keeps it; when the last goes, its entries leave the tables and the references
//! the tables held are released (outside the lock: a Release may run any code).
//!
//! The same server answers IRemUnknown2 on the exporter's own IPID (reference counting and
//! QueryInterface for every object, see [`crate::remunknown`]) and IObjectExporter's
//! ResolveOxid2 / ServerAlive2 for its own OXID, so a client resolves the OXID the way
//! MS-DCOM says, at the resolver address the OBJREF names (3.2.4.1.2.2).

use std::collections::{HashMap, HashSet};
use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard, OnceLock};

use comidl_runtime_core::{
    E_INVALIDARG, E_NOINTERFACE, E_UNEXPECTED, GUID, HRESULT, REGDB_E_IIDNOTREG,
    RPC_E_INVALID_IPID, Result,
};
use comidl_runtime_ndr::Fault;
use comidl_runtime_rpc::StringBinding;
use comidl_runtime_rpc::server::context::ClientRef;
use comidl_runtime_rpc::server::{Server, ServerLimits, context};

use crate::bindings::{self, IRpcStubBuffer, owned};
use crate::dualstring::{DualStringArray, StringBinding as WireBinding};
use crate::interfaces::{self, Marshaler, ProxyStub};
use crate::objref::{Objref, ObjrefForm, StdObjref};
use crate::unk;

/// The tower id of ncalrpc in a STRINGBINDING (C706 appendix I; MS-DCOM 2.2.19.3).
pub const TOWER_NCALRPC: u16 = 0x10;
/// The tower id of ncacn_ip_tcp.
pub const TOWER_TCP: u16 = 0x07;

/// Remote references live this many ping periods after the last ping (MS-DCOM 3.2.6).
const PING_PERIODS: u32 = 3;

/// How often the exporter looks for clients that went away.
const SWEEP_PERIOD: std::time::Duration = std::time::Duration::from_millis(250);

/// How a marshal keeps its object (MSHLFLAGS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// MSHLFLAGS_NORMAL: the OBJREF carries public references for one unmarshal.
    Normal,
    /// MSHLFLAGS_TABLESTRONG: the object stays exported until the marshal data is
    /// released; any number of unmarshals.
    TableStrong,
    /// MSHLFLAGS_TABLEWEAK: any number of unmarshals while something else keeps the
    /// object exported.
    TableWeak,
}

pub(crate) struct Exporter {
    pub oxid: u64,
    /// Where the exporter (and its resolver) are reached: OBJREFs carry this. TCP, when
    /// listened on ([`Exporter::listen_tcp`]), comes first.
    bindings: std::sync::RwLock<DualStringArray>,
    /// The IPID of this exporter's IRemUnknown2 (set once it is exported).
    pub rem_unknown: OnceLock<GUID>,
    server: Server,
    tables: Mutex<Tables>,
}

#[derive(Default)]
struct Tables {
    by_identity: HashMap<usize, u64>,
    objects: HashMap<u64, Object>,
    ipids: HashMap<GUID, Ipid>,
    /// The interfaces the RPC server dispatches to this exporter.
    served: HashSet<GUID>,
}

struct Object {
    /// The IUnknown, with one reference the table holds.
    identity: *mut c_void,
    ipids: Vec<GUID>,
    /// Table-strong marshals not yet released.
    strong: u32,
    /// Never unexported (the exporter's own IRemUnknown2).
    pinned: bool,
    /// Clients on other machines hold references: until when, unless they ping it
    /// (MS-DCOM 3.2.6: three ping periods after the last ping).
    remote_until: Option<std::time::Instant>,
}

/// What serves an IPID's calls.
#[derive(Clone, Copy)]
pub(crate) enum Stub {
    /// A linked proxy/stub.
    Linked(&'static ProxyStub),
    /// A proxy/stub module's IRpcStubBuffer (a counted pointer: the table's, or in
    /// [`Exporter::local`]'s answer the caller's).
    Module(*mut c_void),
}

impl Stub {
    /// Gives back the reference [`Exporter::local`] took for a module's stub.
    pub(crate) fn release(self) {
        if let Stub::Module(buffer) = self {
            // SAFETY: the caller's reference.
            unsafe { unk::release(buffer) };
        }
    }

    /// Whether a client bound as interface `iid` may call it.
    fn serves(&self, own: &GUID, iid: &GUID) -> bool {
        match self {
            Stub::Linked(ps) => ps.derives_from(iid),
            Stub::Module(_) => own == iid,
        }
    }
}

struct Ipid {
    oid: u64,
    iid: GUID,
    /// The interface pointer, with one reference the table holds.
    itf: *mut c_void,
    stub: Stub,
    public: u32,
    private: u32,
    /// Of `public`, the references each client holds that got them in a call (a reply's
    /// interface pointers, RemQueryInterface, RemAddRef): dropped when the client's last
    /// connection goes. The rest came in OBJREFs handed over some other way.
    owners: Vec<(ClientRef, u32)>,
}

impl Ipid {
    /// `n` more public references, the calling client's when there is one.
    fn add(&mut self, n: u32, caller: Option<&ClientRef>) {
        self.public = self.public.saturating_add(n);
        if let Some(c) = caller
            && n > 0
        {
            match self.owners.iter_mut().find(|(o, _)| o.same(c)) {
                Some((_, k)) => *k = k.saturating_add(n),
                None => self.owners.push((c.clone(), n)),
            }
        }
    }

    /// `n` fewer: the caller's own first, then those nobody is known to hold, then other
    /// clients' (a reference may be passed on).
    fn take(&mut self, mut n: u32, caller: Option<&ClientRef>) {
        self.public -= n;
        let owned: u32 = self.owners.iter().map(|(_, k)| *k).sum();
        let free = self.public.saturating_add(n).saturating_sub(owned);
        if let Some(c) = caller
            && let Some((_, k)) = self.owners.iter_mut().find(|(o, _)| o.same(c))
        {
            let d = n.min(*k);
            *k -= d;
            n -= d;
        }
        n -= n.min(free);
        for (_, k) in self.owners.iter_mut() {
            let d = n.min(*k);
            *k -= d;
            n -= d;
        }
        self.owners.retain(|(_, k)| *k > 0);
    }

    /// The references nobody is known to hold become the calling client's: the first
    /// client to use an IPID is taken to hold what an OBJREF handed over some other way
    /// (a pipe, a file) carried.
    fn adopt(&mut self, caller: Option<&ClientRef>) {
        let Some(c) = caller else { return };
        let owned: u32 = self.owners.iter().map(|(_, k)| *k).sum();
        let free = self.public.saturating_sub(owned);
        if free > 0 {
            self.public -= free;
            self.add(free, Some(c));
        }
    }

    /// Drops the references of clients that are gone; whether any went.
    fn drop_gone(&mut self) -> bool {
        let before = self.owners.len();
        let mut gone = 0u32;
        self.owners.retain(|(o, k)| {
            if o.is_gone() {
                gone += k;
                false
            } else {
                true
            }
        });
        self.public = self.public.saturating_sub(gone);
        self.owners.len() != before
    }
}

/// The client calling, when this runs inside a call. References given to another
/// machine belong to no connection (a remote client may use a new one per call): its
/// pings keep them instead.
fn caller() -> Option<ClientRef> {
    if crate::machine::for_remote() {
        return None;
    }
    context::current().map(|c| c.client())
}

// SAFETY: the pointers are to objects of the multithreaded apartment, which COM lets any
// thread call; the tables only AddRef and Release them, under the lock or after removing
// them.
unsafe impl Send for Tables {}

/// References to give back, released once the lock is let go.
struct Unexported(Vec<*mut c_void>);

impl Drop for Unexported {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            // SAFETY: each is a reference the tables held and gave up.
            unsafe { unk::release(p) };
        }
    }
}

static EXPORTER: OnceLock<std::result::Result<&'static Exporter, HRESULT>> = OnceLock::new();

/// This process's exporter, started on first use.
pub(crate) fn exporter() -> Result<&'static Exporter> {
    *EXPORTER.get_or_init(|| {
        let e: &'static Exporter = Box::leak(Box::new(Exporter::start()?));
        e.serve_own();
        // COMIDL_DCOM_TCP=ADDRESS: listen on TCP too (tests capture ORPC on loopback).
        if let Ok(address) = std::env::var("COMIDL_DCOM_TCP") {
            e.listen_tcp(&address)?;
        }
        let ru = crate::remunknown::new()?;
        let ipid = e.pin_rem_unknown(ru.as_raw());
        drop(ru);
        let _ = e.rem_unknown.set(ipid?);
        crate::machine::join(e);
        // Clients that die without releasing lose their references: their connections
        // close (a Unix socket at once), and this notices within the period.
        let _ = std::thread::Builder::new()
            .name("comidl-exporter-sweep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(SWEEP_PERIOD);
                    e.sweep();
                }
            });
        Ok(e)
    })
}

/// The exporter if it was started (an OBJREF naming our OXID can only come from it).
pub(crate) fn started() -> Option<&'static Exporter> {
    EXPORTER.get().and_then(|e| e.ok())
}

fn random_u64() -> u64 {
    let g = GUID::try_new_v4().unwrap_or_default();
    (g.to_u128() as u64) ^ ((g.to_u128() >> 64) as u64)
}

impl Exporter {
    fn start() -> Result<Exporter> {
        let limits = ServerLimits {
            // Connections belong to client processes, which close them when they go.
            idle_timeout: None,
            // Local clients offer large fragments (comidl_runtime_rpc::client::LOCAL_MAX_FRAG);
            // TCP peers negotiate their own down.
            max_frag: comidl_runtime_rpc::client::LOCAL_MAX_FRAG,
            ..ServerLimits::default()
        };
        remove_dead_endpoints();
        let server = Server::start(limits).map_err(|_| E_UNEXPECTED)?;
        let endpoint = format!(
            "{ENDPOINT_PREFIX}{}-{:08x}",
            std::process::id(),
            random_u64() as u32
        );
        let binding =
            StringBinding::parse(&format!("ncalrpc:[{endpoint}]")).map_err(|_| E_UNEXPECTED)?;
        server.listen(&binding).map_err(|_| E_UNEXPECTED)?;
        let host = hostname();
        let bindings = DualStringArray {
            string_bindings: vec![WireBinding {
                tower_id: TOWER_NCALRPC,
                network_addr: format!("{host}[{endpoint}]"),
            }],
            security_bindings: Vec::new(),
        };
        let exporter = Exporter {
            oxid: random_u64() | 1,
            bindings: std::sync::RwLock::new(bindings),
            rem_unknown: OnceLock::new(),
            server,
            tables: Mutex::new(Tables::default()),
        };
        Ok(exporter)
    }

    /// The exporter's bindings now.
    pub(crate) fn bindings(&self) -> DualStringArray {
        match self.bindings.read() {
            Ok(b) => b.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Listens on TCP too (`address`, port 0 for any): the bindings of OBJREFs made from
    /// now on name it first, so clients of this exporter connect over TCP. The port.
    pub(crate) fn listen_tcp(&self, address: &str) -> Result<u16> {
        // Remote callers need authentication (not there yet): loopback only.
        let loopback = address
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
        if !loopback {
            return Err(comidl_runtime_core::E_ACCESSDENIED);
        }
        let binding = StringBinding::parse(&format!("ncacn_ip_tcp:{address}[0]"))
            .map_err(|_| E_INVALIDARG)?;
        let bound = self.server.listen(&binding).map_err(|_| E_UNEXPECTED)?;
        let port: u16 = bound
            .endpoint
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or(E_UNEXPECTED)?;
        let mut b = match self.bindings.write() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        b.string_bindings.insert(
            0,
            WireBinding {
                tower_id: TOWER_TCP,
                network_addr: format!("{address}[{port}]"),
            },
        );
        Ok(port)
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        match self.tables.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        }
    }

    /// Serves the exporter's own interfaces: called once, right after `start`, with the
    /// exporter at its final address.
    pub(crate) fn serve_own(&'static self) {
        self.server.register(
            &bindings::ndr::IObjectExporter_INTERFACE,
            move |opnum: u16, stub: &[u8]| {
                bindings::IObjectExporter_serve(&Resolver(self), opnum, stub)
            },
        );
        self.server.register(
            &crate::activation::bindings::ndr::IComidlExporterLocal_INTERFACE,
            move |opnum: u16, stub: &[u8]| {
                crate::activation::bindings::IComidlExporterLocal_serve(
                    &LocalPort(self),
                    opnum,
                    stub,
                )
            },
        );
    }

    /// Exports `itf` (an interface pointer of interface `iid`) with `refs` public
    /// references, or finds it exported: the STDOBJREF naming it.
    ///
    /// # Safety
    /// `itf` is a live interface pointer of interface `iid`, of an object that any thread
    /// may call.
    pub(crate) unsafe fn export(
        &'static self,
        itf: *mut c_void,
        iid: &GUID,
        refs: u32,
        keep: Keep,
    ) -> Result<StdObjref> {
        let marshaler = interfaces::resolve(iid).ok_or(REGDB_E_IIDNOTREG)?;
        // SAFETY: the caller's contract.
        let identity = unsafe { unk::identity(itf)? };
        let mut drop_after = Unexported(vec![identity]);
        let mut t = self.tables();
        let oid = match t.by_identity.get(&(identity as usize)) {
            Some(&oid) => oid,
            None => {
                let oid = random_u64();
                t.by_identity.insert(identity as usize, oid);
                t.objects.insert(
                    oid,
                    Object {
                        identity,
                        ipids: Vec::new(),
                        strong: 0,
                        pinned: false,
                        remote_until: None,
                    },
                );
                // The table keeps this reference.
                drop_after.0.clear();
                oid
            }
        };
        let existing = t.objects.get(&oid).and_then(|o| {
            o.ipids
                .iter()
                .find(|i| t.ipids.get(i).is_some_and(|e| e.iid == *iid))
                .copied()
        });
        let ipid = match existing {
            Some(ipid) => ipid,
            None => {
                // SAFETY: `identity` is live (the table holds it).
                let p = match unsafe { unk::query(identity, iid) } {
                    Ok(p) => p,
                    Err(e) => {
                        let dead = self.forget_if_unused(&mut t, oid);
                        drop(t);
                        drop(dead);
                        return Err(if e == E_NOINTERFACE { e } else { E_NOINTERFACE });
                    }
                };
                let stub = match new_stub(&marshaler, iid, p) {
                    Ok(stub) => stub,
                    Err(e) => {
                        let dead = self.forget_if_unused(&mut t, oid);
                        drop(t);
                        drop(dead);
                        // SAFETY: the reference `query` gave.
                        unsafe { unk::release(p) };
                        return Err(e);
                    }
                };
                let ipid = GUID::try_new_v4()?;
                t.ipids.insert(
                    ipid,
                    Ipid {
                        oid,
                        iid: *iid,
                        itf: p,
                        stub,
                        public: 0,
                        private: 0,
                        owners: Vec::new(),
                    },
                );
                if let Some(o) = t.objects.get_mut(&oid) {
                    o.ipids.push(ipid);
                }
                ipid
            }
        };
        if let Some(e) = t.ipids.get_mut(&ipid) {
            e.add(refs, caller().as_ref());
        }
        if keep == Keep::TableStrong
            && let Some(o) = t.objects.get_mut(&oid)
        {
            o.strong += 1;
        }
        let remote = crate::machine::for_remote();
        if remote
            && refs > 0
            && let (Some(o), Some(period)) = (
                t.objects.get_mut(&oid),
                crate::machine::with_joined(|j| j.map(|j| j.ping_period)),
            )
        {
            let until = std::time::Instant::now() + period * PING_PERIODS;
            o.remote_until = Some(o.remote_until.map_or(until, |u| u.max(until)));
        }
        // The RPC server dispatches binds to the interface and to each of its bases (a
        // client may bind any of them to call the IPID's inherited methods).
        let mut fresh: Vec<&'static comidl_runtime_ndr::Interface> = Vec::new();
        match &marshaler {
            Marshaler::Linked(ps) => {
                let mut p = Some(*ps);
                while let Some(q) = p {
                    if t.served.insert(q.iid) {
                        fresh.push(q.interface);
                    }
                    p = q.base;
                }
            }
            Marshaler::Module(m) => {
                if t.served.insert(m.iid) {
                    fresh.push(m.syntax);
                }
            }
        }
        drop(t);
        for syntax in fresh {
            let iid = syntax.uuid;
            self.server
                .register(syntax, move |opnum: u16, stub: &[u8]| {
                    exporter_serve(iid, opnum, stub)
                });
        }
        Ok(StdObjref {
            // Local clients' references end with their connections, so they are told
            // not to ping (MS-DCOM 2.2.18.2); another machine's clients ping the machine
            // resolver.
            flags: if remote {
                0
            } else {
                crate::objref::SORF_NOPING
            },
            public_refs: refs,
            oxid: self.oxid,
            oid,
            ipid,
        })
    }

    /// The OBJREF of an exported interface.
    pub(crate) fn objref(&self, iid: GUID, std: StdObjref) -> Objref {
        // Only an OBJREF for another machine names the machine's resolver.
        let remote = crate::machine::for_remote()
            .then(|| crate::machine::with_joined(|j| j.map(|j| j.resolver.clone())))
            .flatten();
        let res_addr = remote.unwrap_or_else(|| self.bindings());
        Objref {
            iid,
            form: ObjrefForm::Standard { std, res_addr },
        }
    }

    /// Listens on TCP on every address of the machine, at a port the system picks, for
    /// clients on other machines (the machine service admits them, see
    /// [`crate::machine`]): the port.
    pub(crate) fn listen_machine(&self) -> Result<u16> {
        let binding = StringBinding::parse("ncacn_ip_tcp:0.0.0.0[0]").map_err(|_| E_UNEXPECTED)?;
        let bound = self.server.listen(&binding).map_err(|_| E_UNEXPECTED)?;
        bound
            .endpoint
            .as_deref()
            .and_then(|p| p.parse().ok())
            .ok_or(E_UNEXPECTED)
    }

    /// Authenticates callers that ask for it (NTLM) against `security`'s users.
    pub(crate) fn set_security(&self, security: comidl_runtime_rpc::auth::ServerSecurity) {
        self.server.set_security(security);
    }

    /// The objects clients on other machines hold references on.
    pub(crate) fn remote_oids(&self) -> Vec<u64> {
        let t = self.tables();
        t.objects
            .iter()
            .filter(|(_, o)| o.remote_until.is_some())
            .map(|(&oid, _)| oid)
            .collect()
    }

    /// The machine service says remote clients pinged `oids` within the last ping
    /// period: they live three periods more. Objects whose time ran out lose the
    /// references remote clients held (a crashed client's, MS-DCOM 3.1.1.5.6.1).
    pub(crate) fn pinged(&self, oids: &[u64], period: std::time::Duration) {
        let now = std::time::Instant::now();
        let mut t = self.tables();
        for oid in oids {
            if let Some(o) = t.objects.get_mut(oid) {
                o.remote_until = Some(now + period * PING_PERIODS);
            }
        }
        let expired: Vec<u64> = t
            .objects
            .iter()
            .filter(|(_, o)| o.remote_until.is_some_and(|u| u <= now))
            .map(|(&oid, _)| oid)
            .collect();
        let mut dead = Unexported(Vec::new());
        for oid in expired {
            let ipids = match t.objects.get_mut(&oid) {
                Some(o) => {
                    o.remote_until = None;
                    o.ipids.clone()
                }
                None => continue,
            };
            for i in ipids {
                if let Some(e) = t.ipids.get_mut(&i) {
                    // The references no local client is known to hold: the remote ones.
                    let owned: u32 = e.owners.iter().map(|(_, k)| *k).sum();
                    e.public = owned.min(e.public);
                }
            }
            dead.0.append(&mut self.forget_if_unused(&mut t, oid).0);
        }
        drop(t);
        drop(dead);
    }

    /// The interface pointer behind `ipid`, with a reference for the caller (and, for a
    /// call from `caller`, the IPID's references nobody is known to hold become its).
    pub(crate) fn local(
        &self,
        ipid: &GUID,
        caller: Option<&ClientRef>,
    ) -> Option<(*mut c_void, GUID, Stub)> {
        let mut t = self.tables();
        let e = t.ipids.get_mut(ipid)?;
        e.adopt(caller);
        // SAFETY: the table holds a reference, so the pointer is live.
        unsafe { unk::add_ref(e.itf) };
        if let Stub::Module(buffer) = e.stub {
            // SAFETY: as above; the caller's reference.
            unsafe { unk::add_ref(buffer) };
        }
        Some((e.itf, e.iid, e.stub))
    }

    /// The object `ipid` belongs to: its identity, with a reference for the caller.
    pub(crate) fn identity_of(&self, ipid: &GUID) -> Option<*mut c_void> {
        let t = self.tables();
        let oid = t.ipids.get(ipid)?.oid;
        let id = t.objects.get(&oid)?.identity;
        // SAFETY: the table holds a reference.
        unsafe { unk::add_ref(id) };
        Some(id)
    }

    /// RemAddRef for one interface.
    pub(crate) fn add_refs(&self, ipid: &GUID, public: u32, private: u32) -> HRESULT {
        let mut t = self.tables();
        match t.ipids.get_mut(ipid) {
            Some(e) => {
                let c = caller();
                e.adopt(c.as_ref());
                e.add(public, c.as_ref());
                e.private = e.private.saturating_add(private);
                comidl_runtime_core::S_OK
            }
            None => RPC_E_INVALID_IPID,
        }
    }

    /// RemRelease for one interface: fewer references, and the object unexported when
    /// none is left. More references than held is refused (nothing changes).
    pub(crate) fn release_refs(&self, ipid: &GUID, public: u32, private: u32) -> HRESULT {
        let mut t = self.tables();
        let Some(e) = t.ipids.get_mut(ipid) else {
            return RPC_E_INVALID_IPID;
        };
        if public > e.public || private > e.private {
            return E_INVALIDARG;
        }
        let c = caller();
        e.adopt(c.as_ref());
        e.take(public, c.as_ref());
        e.private -= private;
        let oid = e.oid;
        let dead = self.forget_if_unused(&mut t, oid);
        drop(t);
        drop(dead);
        comidl_runtime_core::S_OK
    }

    /// Drops the references of clients whose last connection went (a crashed client's),
    /// unexporting what nothing else holds.
    pub(crate) fn sweep(&self) {
        let mut t = self.tables();
        let touched: Vec<u64> = t
            .ipids
            .values_mut()
            .filter_map(|e| e.drop_gone().then_some(e.oid))
            .collect();
        let mut dead = Unexported(Vec::new());
        for oid in touched {
            dead.0.append(&mut self.forget_if_unused(&mut t, oid).0);
        }
        drop(t);
        drop(dead);
    }

    /// CoDisconnectObject for every object: the tables let go of all but the exporter's
    /// own (calls on them fail with RPC_E_DISCONNECTED from now on).
    pub(crate) fn disconnect_all(&self) {
        let mut t = self.tables();
        let oids: Vec<u64> = t
            .objects
            .iter()
            .filter(|(_, o)| !o.pinned)
            .map(|(&oid, _)| oid)
            .collect();
        let mut dead = Unexported(Vec::new());
        for oid in oids {
            dead.0.append(&mut self.disconnect_locked(&mut t, oid).0);
        }
        drop(t);
        drop(dead);
    }

    /// CoDisconnectObject: the object `identity` leaves the tables whatever references
    /// clients hold (their calls fail with RPC_E_DISCONNECTED); whether it was exported.
    pub(crate) fn disconnect(&self, identity: *mut c_void) -> bool {
        let mut t = self.tables();
        let Some(&oid) = t.by_identity.get(&(identity as usize)) else {
            return false;
        };
        if t.objects.get(&oid).is_some_and(|o| o.pinned) {
            return false;
        }
        let dead = self.disconnect_locked(&mut t, oid);
        drop(t);
        drop(dead);
        true
    }

    /// Drops every reference on object `oid` and unexports it.
    fn disconnect_locked(&self, t: &mut Tables, oid: u64) -> Unexported {
        if let Some(o) = t.objects.get_mut(&oid) {
            o.strong = 0;
        }
        let ipids = t
            .objects
            .get(&oid)
            .map(|o| o.ipids.clone())
            .unwrap_or_default();
        for i in ipids {
            if let Some(e) = t.ipids.get_mut(&i) {
                e.public = 0;
                e.private = 0;
                e.owners.clear();
            }
        }
        self.forget_if_unused(t, oid)
    }

    /// CoReleaseMarshalData of a table-strong marshal.
    pub(crate) fn release_strong(&self, oid: u64) {
        let mut t = self.tables();
        if let Some(o) = t.objects.get_mut(&oid) {
            o.strong = o.strong.saturating_sub(1);
        }
        let dead = self.forget_if_unused(&mut t, oid);
        drop(t);
        drop(dead);
    }

    /// Takes object `oid` out of the tables when nothing keeps it exported; the
    /// references to release (after the lock) come back.
    fn forget_if_unused(&self, t: &mut Tables, oid: u64) -> Unexported {
        let mut out = Unexported(Vec::new());
        let Some(o) = t.objects.get(&oid) else {
            return out;
        };
        let held = o.pinned
            || o.strong > 0
            || o.ipids
                .iter()
                .any(|i| t.ipids.get(i).is_some_and(|e| e.public + e.private > 0));
        if held {
            return out;
        }
        if let Some(o) = t.objects.remove(&oid) {
            for i in &o.ipids {
                if let Some(e) = t.ipids.remove(i) {
                    if let Stub::Module(buffer) = e.stub {
                        out.0.push(buffer);
                    }
                    out.0.push(e.itf);
                }
            }
            t.by_identity.remove(&(o.identity as usize));
            out.0.push(o.identity);
        }
        out
    }

    /// Exports the exporter's own IRemUnknown2 object, pinned, and records its IPID.
    pub(crate) fn pin_rem_unknown(&'static self, itf: *mut c_void) -> Result<GUID> {
        // SAFETY: `itf` is the exporter's IRemUnknown2 object, free-threaded.
        let std = unsafe { self.export(itf, &bindings::IID_IRemUnknown2, 0, Keep::Normal)? };
        let mut t = self.tables();
        if let Some(o) = t.objects.get_mut(&std.oid) {
            o.pinned = true;
        }
        Ok(std.ipid)
    }

    /// The references clients hold on this process's objects (the exporter's own
    /// IRemUnknown2 not counted): what keeps an executable server alive besides its own
    /// objects and locks, its class objects' proxies included.
    pub(crate) fn remote_references(&self) -> u64 {
        let t = self.tables();
        t.ipids
            .values()
            .filter(|e| t.objects.get(&e.oid).is_some_and(|o| !o.pinned))
            .map(|e| u64::from(e.public) + u64::from(e.private))
            .sum()
    }

    /// Counts, for tests and for the server's lifetime: exported objects and IPIDs
    /// (the exporter's own IRemUnknown2 not counted).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let t = self.tables();
        let pinned: usize = t.objects.values().filter(|o| o.pinned).count();
        let pinned_ipids: usize = t
            .objects
            .values()
            .filter(|o| o.pinned)
            .map(|o| o.ipids.len())
            .sum();
        (t.objects.len() - pinned, t.ipids.len() - pinned_ipids)
    }
}

/// ORPC requests served so far (IRemUnknown's included).
pub(crate) static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One ORPC request for an IPID bound as interface `iid`.
fn exporter_serve(iid: GUID, opnum: u16, stub: &[u8]) -> std::result::Result<Vec<u8>, Fault> {
    CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::machine::admit()?;
    let Some(exporter) = started() else {
        return Err(Fault(RPC_E_INVALID_IPID.0 as u32));
    };
    // The call's information once: the IPID it names and the client making it.
    let Some((ipid, client)) = context::current().and_then(|c| Some((c.object?, c.client())))
    else {
        return Err(Fault(RPC_E_INVALID_IPID.0 as u32));
    };
    // Another machine's client holds its references by pinging, not by this connection
    // (it may use a new one per call): they are not made its connection's.
    let client = (!crate::machine::for_remote()).then_some(client);
    // A reference for the call's length: a RemRelease meanwhile cannot free the object.
    let Some((itf, own, served_by)) = exporter.local(&ipid, client.as_ref()) else {
        return Err(Fault(RPC_E_INVALID_IPID.0 as u32));
    };
    let mut held = Unexported(vec![itf]);
    if let Stub::Module(buffer) = served_by {
        held.0.push(buffer);
    }
    if !served_by.serves(&own, &iid) {
        drop(held);
        return Err(Fault(RPC_E_INVALID_IPID.0 as u32));
    }
    let reply = match served_by {
        Stub::Linked(ps) => crate::call::serve(ps, itf, opnum, stub),
        Stub::Module(buffer) => {
            // SAFETY: `buffer` is an IRpcStubBuffer with the reference `held` keeps.
            match unsafe {
                <IRpcStubBuffer as comidl_runtime_core::Interface>::from_raw_borrowed(buffer)
            } {
                Some(b) => crate::channel::serve(&b, opnum, stub),
                None => Err(Fault(RPC_E_INVALID_IPID.0 as u32)),
            }
        }
    };
    drop(held);
    reply
}

/// The stub of a new IPID for interface pointer `itf` of interface `iid`.
fn new_stub(marshaler: &Marshaler, iid: &GUID, itf: *mut c_void) -> Result<Stub> {
    match marshaler {
        Marshaler::Linked(ps) => Ok(Stub::Linked(ps)),
        Marshaler::Module(m) => {
            let factory = m.factory().ok_or(REGDB_E_IIDNOTREG)?;
            // SAFETY: `itf` is live (the caller holds it); every interface is an IUnknown.
            let server = unsafe {
                <comidl_runtime_core::IUnknown as comidl_runtime_core::Interface>::from_raw_borrowed(
                    itf,
                )
            };
            let stub = factory.create_stub(iid, server.as_ref())?;
            stub.map(|s| Stub::Module(s.into_raw()))
                .ok_or(E_NOINTERFACE)
        }
    }
}

/// The endpoint name prefix of exporters: `comidl-com-<pid>-<random>`.
const ENDPOINT_PREFIX: &str = "comidl-com-";

/// Removes the sockets exporters of processes that are gone left behind (a process ends
/// without taking its exporter down).
fn remove_dead_endpoints() {
    let Ok(dir) = comidl_runtime_rpc::transport::ncalrpc_dir() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(ENDPOINT_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !crate::local::alive(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The exporter's IObjectExporter: it resolves its own OXID.
struct Resolver(&'static Exporter);

/// OR_INVALID_OXID (MS-DCOM 3.1.2.5.1.1).
const OR_INVALID_OXID: u32 = 1910;

pub fn to_owned_bindings(d: &DualStringArray) -> Option<Box<owned::DUALSTRINGARRAY>> {
    let (n, sec, units) = d.to_units().ok()?;
    Some(Box::new(owned::DUALSTRINGARRAY {
        wNumEntries: n,
        wSecurityOffset: sec,
        aStringArray: units,
    }))
}

pub(crate) fn from_owned_bindings(o: &owned::DUALSTRINGARRAY) -> Option<DualStringArray> {
    DualStringArray::from_units(o.wNumEntries, o.wSecurityOffset, &o.aStringArray).ok()
}

pub fn to_owned_guid(g: &GUID) -> owned::GUID {
    owned::GUID {
        Data1: g.data1,
        Data2: g.data2,
        Data3: g.data3,
        Data4: g.data4.to_vec(),
    }
}

pub(crate) fn from_owned_guid(g: &owned::GUID) -> Option<GUID> {
    Some(GUID {
        data1: g.Data1,
        data2: g.Data2,
        data3: g.Data3,
        data4: g.Data4.as_slice().try_into().ok()?,
    })
}

fn version() -> owned::COMVERSION {
    owned::COMVERSION {
        MajorVersion: crate::call::COM_VERSION.major,
        MinorVersion: crate::call::COM_VERSION.minor,
    }
}

type Resolved = (u32, Option<Box<owned::DUALSTRINGARRAY>>, owned::GUID, u32);

impl Resolver {
    fn resolve(&self, oxid: u64) -> Resolved {
        if oxid != self.0.oxid {
            return (OR_INVALID_OXID, None, to_owned_guid(&GUID::default()), 0);
        }
        (
            0,
            to_owned_bindings(&self.0.bindings()),
            to_owned_guid(self.0.rem_unknown.get().unwrap_or(&GUID::default())),
            // RPC_C_AUTHN_LEVEL_NONE: local calls need no authentication level.
            1,
        )
    }
}

/// RPC_S_CANNOT_SUPPORT: pinging comes with remote clients (issue 20); a local client's
/// references end with its connection.
const CANNOT_SUPPORT: u32 = 1764;

impl bindings::IObjectExporter_Handler for Resolver {
    fn resolve_oxid(
        &self,
        p_oxid: u64,
        _c: u16,
        _protseqs: Vec<u16>,
    ) -> std::result::Result<Resolved, Fault> {
        Ok(self.resolve(p_oxid))
    }

    fn simple_ping(&self, _set: u64) -> std::result::Result<u32, Fault> {
        Ok(CANNOT_SUPPORT)
    }

    fn complex_ping(
        &self,
        _set: &mut u64,
        _seq: u16,
        _adds: u16,
        _dels: u16,
        _add: Vec<u64>,
        _del: Vec<u64>,
    ) -> std::result::Result<(u32, u16), Fault> {
        Ok((CANNOT_SUPPORT, 0))
    }

    fn server_alive(&self) -> std::result::Result<u32, Fault> {
        Ok(0)
    }

    #[allow(clippy::type_complexity)]
    fn resolve_oxid2(
        &self,
        p_oxid: u64,
        _c: u16,
        _protseqs: Vec<u16>,
    ) -> std::result::Result<
        (
            u32,
            Option<Box<owned::DUALSTRINGARRAY>>,
            owned::GUID,
            u32,
            owned::COMVERSION,
        ),
        Fault,
    > {
        let (status, bindings, ipid, hint) = self.resolve(p_oxid);
        Ok((status, bindings, ipid, hint, version()))
    }

    #[allow(clippy::type_complexity)]
    fn server_alive2(
        &self,
    ) -> std::result::Result<
        (
            u32,
            owned::COMVERSION,
            Option<Box<owned::DUALSTRINGARRAY>>,
            u32,
        ),
        Fault,
    > {
        Ok((0, version(), to_owned_bindings(&self.0.bindings()), 0))
    }
}

/// Whether `oxid` is this process's exporter's.
pub(crate) fn is_ours(oxid: u64) -> bool {
    started().is_some_and(|e| e.oxid == oxid)
}

/// The exporter's side of the machine service: it hands objects the service activated to
/// clients on other machines.
struct LocalPort(&'static Exporter);

/// The public references an OBJREF for another machine carries: one, so a client that
/// releases one (impacket) ends its hold, and pinging covers clients that never do.
const REMOTE_REFS: u32 = 1;

type Exported = (
    i32,
    Vec<i32>,
    Vec<Option<Box<crate::activation::bindings::owned::MInterfacePointer>>>,
);

impl crate::activation::bindings::IComidlExporterLocal_Handler for LocalPort {
    fn export_for_remote(
        &self,
        ipid: crate::activation::bindings::owned::GUID,
        _c_iids: u16,
        iids: Vec<crate::activation::bindings::owned::GUID>,
    ) -> std::result::Result<Exported, Fault> {
        // Only this user's processes (and root's, the service's) reach the ncalrpc
        // endpoint; refuse anything else that got here.
        let me = rustix::process::getuid().as_raw();
        let local = context::current().is_some_and(|c| {
            c.protseq == comidl_runtime_rpc::Protseq::Local
                && c.peer_uid.is_some_and(|u| u == me || u == 0)
        });
        if !local {
            return Err(Fault(comidl_runtime_core::E_ACCESSDENIED.0 as u32));
        }
        let guid = |g: &crate::activation::bindings::owned::GUID| {
            crate::activation::props::guid_of(g).ok()
        };
        let n = iids.len();
        let Some(identity) = guid(&ipid).and_then(|i| self.0.identity_of(&i)) else {
            return Ok((
                RPC_E_INVALID_IPID.0,
                vec![RPC_E_INVALID_IPID.0; n],
                vec![None; n],
            ));
        };
        let held = Unexported(vec![identity]);
        let mut hrs = Vec::with_capacity(n);
        let mut objrefs = Vec::with_capacity(n);
        for iid in &iids {
            let made = guid(iid).ok_or(E_INVALIDARG).and_then(|iid| {
                crate::machine::marshalling_for_remote(|| {
                    // SAFETY: `identity` is live (`held`); exported objects are
                    // free-threaded.
                    let std = unsafe { self.0.export(identity, &iid, REMOTE_REFS, Keep::Normal)? };
                    self.0.objref(iid, std).encode().map_err(|_| E_UNEXPECTED)
                })
            });
            match made {
                Ok(bytes) => {
                    hrs.push(0);
                    objrefs.push(Some(Box::new(
                        crate::activation::bindings::owned::MInterfacePointer {
                            ulCntData: bytes.len() as u32,
                            abData: bytes,
                        },
                    )));
                }
                Err(hr) => {
                    hrs.push(hr.0);
                    objrefs.push(None);
                }
            }
        }
        drop(held);
        let status = if hrs.iter().all(|h| *h < 0) {
            hrs.first().copied().unwrap_or(E_INVALIDARG.0)
        } else {
            0
        };
        Ok((status, hrs, objrefs))
    }
}
