//! The importing side (MS-DCOM 3.2): one proxy manager per remote object in this process,
//! found again by (OXID, OID) so the same object always has the same proxy identity, with
//! one interface proxy per interface asked for. A proxy's vtable is the generated
//! `IFoo_PROXY_VTBL`, whose methods call [`call`]; its IUnknown slots are
//! [`PROXY_IUNKNOWN_VTBL`]'s, which count references locally: the manager holds public
//! references on the exporter per IPID and gives them back in one RemRelease when the
//! last local reference goes. A QueryInterface for a new interface asks the exporter once
//! (RemQueryInterface) and keeps the answer.
//!
//! OXIDs are resolved the way MS-DCOM says (3.2.4.1.2.2): ResolveOxid2 at the resolver
//! address the OBJREF carries, which gives the exporter's bindings and its IRemUnknown
//! IPID; the answer is kept per OXID with a pool of connections to the exporter.

use std::collections::HashMap;
use std::ffi::c_void;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use comidl_runtime_core::{
    CoTaskMemFree, E_NOINTERFACE, E_POINTER, E_UNEXPECTED, GUID, HRESULT, IID_IUnknown,
    IUnknown_Vtbl, RPC_E_INVALID_OBJREF, RPC_S_SERVER_UNAVAILABLE_HR, Result, S_OK,
};
use comidl_runtime_ndr::{CallError, Interface};
use comidl_runtime_rpc::client::Connection;

use crate::bindings::{self, REMINTERFACEREF, REMQIRESULT};
use crate::call;
use crate::dualstring::DualStringArray;
use crate::exporter::{TOWER_NCALRPC, TOWER_TCP, from_owned_bindings, from_owned_guid};
use crate::interfaces::{self, Marshaler, ModuleInterface, ProxyStub};
use crate::objref::StdObjref;
use crate::psfactory::ChannelState;

/// IID_IProxyManager {00000008-0000-0000-C000-000000000046}: a proxy answers it with its
/// identity, which is how the marshaller tells a proxy from a real object.
pub const IID_IPROXY_MANAGER: GUID = GUID::from_u128(0x0000_0008_0000_0000_c000_0000_0000_0046);

/// How long one call may wait for its reply (a server that dies is noticed at once: its
/// socket closes).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// References a proxy asks for in a RemQueryInterface.
const QI_REFS: u32 = 1;

/// The IUnknown slots of every proxy vtable.
pub const PROXY_IUNKNOWN_VTBL: IUnknown_Vtbl = IUnknown_Vtbl {
    QueryInterface: proxy_query_interface,
    AddRef: proxy_add_ref,
    Release: proxy_release,
};

/// One interface of a remote object, as this process sees it. `this` of every proxy
/// method points here.
#[repr(C)]
pub(crate) struct InterfaceProxy {
    vtbl: *const IUnknown_Vtbl,
    /// The proxy manager, for a proxy this copy of the runtime made; NULL for one a
    /// proxy/stub module made for another copy's channel (then `channel` is set).
    manager: *const Manager,
    /// For a module's proxy: its channel side (IUnknown is the outer's there).
    channel: *const ChannelState,
    iid: GUID,
    ipid: GUID,
    ps: &'static ProxyStub,
    /// Public references this process holds on the IPID.
    remote: AtomicU32,
}

/// One remote object in this process.
pub(crate) struct Manager {
    oxid: Arc<Oxid>,
    oid: u64,
    /// SORF_NOPING: the exporter asked not to be pinged for this object.
    no_ping: bool,
    /// Local references, over all the object's interface proxies.
    refs: AtomicU32,
    /// The identity: an interface proxy of IUnknown with no IPID of its own.
    identity: Box<InterfaceProxy>,
    /// Never shrinks while the manager lives: pointers handed out stay valid.
    #[allow(clippy::vec_box)] // callers hold pointers to the boxes
    interfaces: Mutex<Vec<Box<InterfaceProxy>>>,
    /// Interface proxies proxy/stub modules made (aggregated: their IUnknown is the
    /// identity's); never shrinks while the manager lives either.
    modules: Mutex<Vec<ModuleProxy>>,
}

/// An interface proxy a proxy/stub module made for this manager.
struct ModuleProxy {
    iid: GUID,
    ipid: GUID,
    /// Public references this process holds on the IPID.
    remote: AtomicU32,
    /// The interface pointer handed out (not counted: the buffer keeps it).
    itf: *mut c_void,
    /// The module's IRpcProxyBuffer, with a reference.
    buffer: *mut c_void,
}

impl Drop for Manager {
    fn drop(&mut self) {
        let modules = std::mem::take(match self.modules.get_mut() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        });
        for m in modules {
            // SAFETY: the buffer reference the manager holds; disconnecting lets the
            // proxy's channel (and the exporter connection it keeps) go.
            if let Some(b) = unsafe {
                <crate::bindings::IRpcProxyBuffer as comidl_runtime_core::Interface>::from_raw_borrowed(m.buffer)
            } {
                b.disconnect();
            }
            // SAFETY: as above, given up.
            unsafe { crate::unk::release(m.buffer) };
        }
    }
}

// SAFETY: the raw pointers inside are to the manager itself and to immutable statics;
// the mutable state is atomic or behind the mutex.
unsafe impl Send for Manager {}
// SAFETY: as above.
unsafe impl Sync for Manager {}

/// An object exporter this process talks to.
pub(crate) struct Oxid {
    pub id: u64,
    /// The resolver bindings the OBJREFs named (passed on when a proxy is marshalled).
    pub resolver: DualStringArray,
    /// Where the resolver was reached (pings go there), when over TCP.
    resolver_at: Option<Address>,
    /// How calls to an exporter on another machine authenticate.
    auth: Option<comidl_runtime_rpc::auth::ClientAuth>,
    at: Address,
    rem_unknown: GUID,
    idle: Mutex<Vec<Conn>>,
    /// The association group this process's connections to the exporter share, so the
    /// exporter sees one client, whose references go when its last connection does.
    group: AtomicU32,
}

/// Where an exporter is reached: the first string binding this process can use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Address {
    Local(String),
    Tcp(std::net::SocketAddr),
}

/// A connection to an exporter.
enum Conn {
    Local(Connection<UnixStream>),
    Tcp(Connection<std::net::TcpStream>),
}

impl Conn {
    /// A connection to `at`; over TCP authenticated as `auth` says (local connections
    /// need none: the kernel says who calls).
    fn open(
        at: &Address,
        auth: Option<&comidl_runtime_rpc::auth::ClientAuth>,
    ) -> std::result::Result<Conn, CallError> {
        match at {
            Address::Local(endpoint) => Connection::local(endpoint, CALL_TIMEOUT).map(Conn::Local),
            Address::Tcp(addr) => {
                let c = Connection::tcp(*addr, CALL_TIMEOUT)?;
                Ok(Conn::Tcp(match auth {
                    Some(a) => c.with_auth(a.clone()),
                    None => c,
                }))
            }
        }
    }

    /// Joins association group `g` (see `Oxid::group`).
    fn in_group(self, g: u32) -> Conn {
        match self {
            Conn::Local(c) => Conn::Local(c.in_group(g)),
            Conn::Tcp(c) => Conn::Tcp(c.in_group(g)),
        }
    }

    fn group(&self) -> u32 {
        match self {
            Conn::Local(c) => c.group(),
            Conn::Tcp(c) => c.group(),
        }
    }

    fn call_object(
        &self,
        syntax: &Interface,
        opnum: u16,
        object: Option<GUID>,
        request: &[u8],
    ) -> std::result::Result<Vec<u8>, CallError> {
        match self {
            Conn::Local(c) => c.call_object(syntax, opnum, object, request),
            Conn::Tcp(c) => c.call_object(syntax, opnum, object, request),
        }
    }
}

impl comidl_runtime_ndr::Channel for Conn {
    fn call(
        &self,
        interface: &Interface,
        opnum: u16,
        request: Vec<u8>,
    ) -> std::result::Result<Vec<u8>, CallError> {
        self.call_object(interface, opnum, None, &request)
    }
}

/// The host part of a string binding's address (`host[endpoint]` or `host`).
fn host_of(network_addr: &str) -> &str {
    network_addr
        .find('[')
        .map_or(network_addr, |open| &network_addr[..open])
}

/// The binding's address, if this process can use it: TCP (`host[port]`, or `host`: the
/// resolver's well-known port 135) or ncalrpc (`host[endpoint]`).
fn usable(b: &crate::dualstring::StringBinding) -> Option<Address> {
    let host = host_of(&b.network_addr);
    let endpoint = match (b.network_addr.find('['), b.network_addr.rfind(']')) {
        (Some(open), Some(close)) if close > open + 1 => Some(&b.network_addr[open + 1..close]),
        (None, None) => None,
        _ => return None,
    };
    match b.tower_id {
        TOWER_NCALRPC => Some(Address::Local(endpoint?.to_string())),
        TOWER_TCP => {
            use std::net::ToSocketAddrs;
            let port: u16 = match endpoint {
                Some(e) => e.parse().ok()?,
                None => comidl_runtime_rpc::epm::EPT_TCP_PORT,
            };
            (host, port)
                .to_socket_addrs()
                .ok()?
                .next()
                .map(Address::Tcp)
        }
        _ => None,
    }
}

/// The binding of `d` to use: the first whose host is `prefer` (the name this process
/// reached the machine by), else the first this process can use.
fn address_preferring(d: &DualStringArray, prefer: Option<&str>) -> Option<Address> {
    if let Some(p) = prefer
        && let Some(a) = d
            .string_bindings
            .iter()
            .filter(|b| host_of(&b.network_addr).eq_ignore_ascii_case(p))
            .find_map(usable)
    {
        return Some(a);
    }
    d.string_bindings.iter().find_map(usable)
}

/// The first binding of `d` this process can use.
fn address(d: &DualStringArray) -> Option<Address> {
    address_preferring(d, None)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Oxid {
    /// Whether the exporter is reached over TCP (another machine, as far as marshalling
    /// contexts go).
    pub(crate) fn is_remote(&self) -> bool {
        matches!(self.at, Address::Tcp(_))
    }

    fn connect(&self) -> std::result::Result<Conn, CallError> {
        Ok(Conn::open(&self.at, self.auth.as_ref())?.in_group(self.group.load(Ordering::Acquire)))
    }

    /// Notes the group a bound connection got (the first one names it for the rest).
    fn note_group(&self, c: &Conn) {
        let g = c.group();
        if g != 0 {
            let _ = self
                .group
                .compare_exchange(0, g, Ordering::AcqRel, Ordering::Acquire);
        }
    }
}

impl call::Transport for Oxid {
    fn remote(&self) -> bool {
        self.is_remote()
    }

    fn send(
        &self,
        syntax: &Interface,
        opnum: u16,
        ipid: GUID,
        request: &[u8],
    ) -> std::result::Result<Vec<u8>, CallError> {
        let pooled = lock(&self.idle).pop();
        let (conn, reused) = match pooled {
            Some(c) => (c, true),
            None => (self.connect()?, false),
        };
        let mut result = conn.call_object(syntax, opnum, Some(ipid), request);
        let mut conn = conn;
        // An idle connection the exporter closed: the request did not leave (1727), so
        // one more try on a new connection cannot run the call twice.
        if reused && matches!(result, Err(CallError::Transport(1727 | 1722))) {
            conn = self.connect()?;
            result = conn.call_object(syntax, opnum, Some(ipid), request);
        }
        if !matches!(result, Err(CallError::Transport(_))) {
            self.note_group(&conn);
            lock(&self.idle).push(conn);
        }
        result
    }
}

/// The OXIDs resolved, and the remote objects imported.
#[derive(Default)]
struct Imports {
    oxids: HashMap<u64, Arc<Oxid>>,
    objects: HashMap<(u64, u64), Arc<Manager>>,
}

fn imports() -> MutexGuard<'static, Imports> {
    static IMPORTS: OnceLock<Mutex<Imports>> = OnceLock::new();
    lock(IMPORTS.get_or_init(Mutex::default))
}

/// The exporter `oxid`, resolved at `resolver` if not known yet.
fn oxid(id: u64, resolver: &DualStringArray) -> Result<Arc<Oxid>> {
    if let Some(o) = imports().oxids.get(&id) {
        return Ok(o.clone());
    }
    // Inside a call from another machine, its OBJREFs' resolver is best reached at the
    // address the call came from.
    let peer = comidl_runtime_rpc::server::context::current()
        .filter(|c| c.protseq == comidl_runtime_rpc::Protseq::Tcp)
        .and_then(|c| c.peer.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.ip().to_string());
    let at = address_preferring(resolver, peer.as_deref()).ok_or(RPC_E_INVALID_OBJREF)?;
    let auth = crate::remote::default_auth();
    let conn = Conn::open(&at, auth.as_ref()).map_err(|e| call::hresult_of(&e))?;
    let client = bindings::IObjectExporter::new(&conn);
    let (status, bindings, ipid, _hint, _version) = client
        .resolve_oxid2(&id, 2, &[TOWER_TCP, TOWER_NCALRPC])
        .map_err(|e| call::hresult_of(&e))?;
    if status != 0 {
        return Err(RPC_S_SERVER_UNAVAILABLE_HR);
    }
    let bindings = bindings
        .as_deref()
        .and_then(from_owned_bindings)
        .ok_or(RPC_E_INVALID_OBJREF)?;
    let exporter_at = address(&bindings).ok_or(RPC_E_INVALID_OBJREF)?;
    let rem_unknown = from_owned_guid(&ipid).ok_or(RPC_E_INVALID_OBJREF)?;
    // The resolver's connection serves the exporter too when they are one address.
    let idle = if exporter_at == at {
        vec![conn]
    } else {
        Vec::new()
    };
    let resolver_at = matches!(at, Address::Tcp(_)).then(|| at.clone());
    let o = Arc::new(Oxid {
        id,
        resolver: resolver.clone(),
        resolver_at,
        auth,
        at: exporter_at,
        rem_unknown,
        idle: Mutex::new(idle),
        group: AtomicU32::new(0),
    });
    if let Some(c) = lock(&o.idle).first() {
        o.note_group(c);
    }
    Ok(imports().oxids.entry(id).or_insert(o).clone())
}

/// A proxy for the interface an OBJREF names, taking over the references it carries:
/// the object's proxy manager (found again, or new), and its interface proxy for `std`'s
/// IPID, returned with one local reference.
pub(crate) fn import(
    iid: &GUID,
    std: &StdObjref,
    resolver: &DualStringArray,
) -> Result<*mut c_void> {
    let marshaler = interfaces::resolve(iid);
    let ox = oxid(std.oxid, resolver)?;
    let refs = if std.public_refs == 0 {
        // A table marshal carries no references: ask for one.
        remote_add_ref(&ox, std.ipid, 1)?;
        1
    } else {
        std.public_refs
    };
    let Some(marshaler) = marshaler else {
        remote_release(&ox, &[(std.ipid, refs)]);
        return Err(comidl_runtime_core::REGDB_E_IIDNOTREG);
    };
    let manager = {
        let mut im = imports();
        let key = (std.oxid, std.oid);
        let live = im.objects.get(&key).cloned();
        match live {
            // A manager whose last reference went is being torn down: a new one.
            Some(m) if m.refs.fetch_add(1, Ordering::AcqRel) > 0 => m,
            _ => {
                let m = Manager::new(ox.clone(), std.oid, std.no_ping());
                im.objects.insert(key, m.clone());
                if let (false, Some(Address::Tcp(at))) = (m.no_ping, &ox.resolver_at) {
                    crate::pinger::add(*at, std.oid, ox.auth.clone());
                }
                m
            }
        }
    };
    // The manager has one local reference for us now.
    match manager.adopt(*iid, std.ipid, &marshaler, refs) {
        Ok(p) => Ok(p),
        Err(e) => {
            remote_release(&ox, &[(std.ipid, refs)]);
            // SAFETY: the identity is live while the manager is; our reference goes.
            unsafe { proxy_release((&raw const *manager.identity).cast_mut().cast()) };
            Err(e)
        }
    }
}

impl Manager {
    fn new(oxid: Arc<Oxid>, oid: u64, no_ping: bool) -> Arc<Manager> {
        Arc::new_cyclic(|me: &std::sync::Weak<Manager>| Manager {
            oxid,
            oid,
            no_ping,
            refs: AtomicU32::new(1),
            identity: Box::new(InterfaceProxy {
                vtbl: &PROXY_IUNKNOWN_VTBL,
                manager: me.as_ptr(),
                channel: std::ptr::null(),
                iid: IID_IUnknown,
                ipid: GUID::default(),
                ps: &crate::remunknown::IUNKNOWN_PROXY_STUB,
                remote: AtomicU32::new(0),
            }),
            interfaces: Mutex::new(Vec::new()),
            modules: Mutex::new(Vec::new()),
        })
    }

    /// Records `refs` references on `ipid` (interface `iid`); the interface proxy, which
    /// the caller's local reference (already counted) comes with.
    fn adopt(&self, iid: GUID, ipid: GUID, m: &Marshaler, refs: u32) -> Result<*mut c_void> {
        match m {
            Marshaler::Linked(ps) => Ok(self.adopt_linked(iid, ipid, ps, refs)),
            Marshaler::Module(module) => self.adopt_module(iid, ipid, module, refs),
        }
    }

    fn adopt_module(
        &self,
        iid: GUID,
        ipid: GUID,
        module: &ModuleInterface,
        refs: u32,
    ) -> Result<*mut c_void> {
        if let Some(p) = lock(&self.modules).iter().find(|p| p.ipid == ipid) {
            p.remote.fetch_add(refs, Ordering::AcqRel);
            return Ok(p.itf);
        }
        let factory = module
            .factory()
            .ok_or(comidl_runtime_core::REGDB_E_IIDNOTREG)?;
        // SAFETY: the identity is a live IUnknown while the manager is.
        let outer = unsafe {
            <comidl_runtime_core::IUnknown as comidl_runtime_core::Interface>::from_raw_borrowed(
                (&raw const *self.identity).cast_mut().cast(),
            )
        }
        .ok_or(E_UNEXPECTED)?;
        let (buffer, itf) = factory.create_proxy(&outer, &iid)?;
        let buffer = buffer.ok_or(E_NOINTERFACE)?;
        if itf.is_null() {
            return Err(E_NOINTERFACE);
        }
        // The proxy's interface pointer came with a reference on us, its outer; the
        // caller's is counted already.
        self.refs.fetch_sub(1, Ordering::AcqRel);
        let channel = crate::channel::client(self.oxid.clone(), ipid, module.syntax)?;
        buffer.connect(Some(&*channel))?;
        let mut list = lock(&self.modules);
        if let Some(p) = list.iter().find(|p| p.ipid == ipid) {
            // Another thread made one meanwhile: keep that one.
            p.remote.fetch_add(refs, Ordering::AcqRel);
            buffer.disconnect();
            return Ok(p.itf);
        }
        list.push(ModuleProxy {
            iid,
            ipid,
            remote: AtomicU32::new(refs),
            itf,
            buffer: buffer.into_raw(),
        });
        Ok(itf)
    }

    fn adopt_linked(
        &self,
        iid: GUID,
        ipid: GUID,
        ps: &'static ProxyStub,
        refs: u32,
    ) -> *mut c_void {
        let mut list = lock(&self.interfaces);
        if let Some(p) = list.iter().find(|p| p.ipid == ipid) {
            p.remote.fetch_add(refs, Ordering::AcqRel);
            return (&raw const **p).cast_mut().cast();
        }
        list.push(Box::new(InterfaceProxy {
            vtbl: ps.vtbl.0,
            manager: self,
            channel: std::ptr::null(),
            iid,
            ipid,
            ps,
            remote: AtomicU32::new(refs),
        }));
        let p = list.last().map_or(std::ptr::null(), |p| &raw const **p);
        p.cast_mut().cast()
    }

    /// QueryInterface: a cached interface proxy, or one the exporter gives.
    fn query(&self, iid: &GUID) -> Result<*mut c_void> {
        if *iid == IID_IUnknown || *iid == IID_IPROXY_MANAGER {
            self.refs.fetch_add(1, Ordering::AcqRel);
            return Ok((&raw const *self.identity).cast_mut().cast());
        }
        let known = {
            let list = lock(&self.interfaces);
            let modules = lock(&self.modules);
            let found = list
                .iter()
                .find(|p| p.iid == *iid)
                .map(|p| (&raw const **p).cast_mut().cast::<c_void>())
                .or_else(|| modules.iter().find(|p| p.iid == *iid).map(|p| p.itf));
            let any = list
                .first()
                .map(|p| p.ipid)
                .or_else(|| modules.first().map(|p| p.ipid));
            (found, any)
        };
        if let (Some(p), _) = known {
            self.refs.fetch_add(1, Ordering::AcqRel);
            return Ok(p);
        }
        let Some(any) = known.1 else {
            return Err(E_UNEXPECTED);
        };
        let Some(marshaler) = interfaces::resolve(iid) else {
            return Err(E_NOINTERFACE);
        };
        let std = rem_query_interface(&self.oxid, any, iid)?;
        self.refs.fetch_add(1, Ordering::AcqRel);
        match self.adopt(*iid, std.ipid, &marshaler, std.public_refs) {
            Ok(p) => Ok(p),
            Err(e) => {
                remote_release(&self.oxid, &[(std.ipid, std.public_refs)]);
                self.refs.fetch_sub(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    /// A reference for marshalling the object onward: one more public reference on the
    /// IPID of interface `iid` (asked for first if needed), and the STDOBJREF for it.
    pub(crate) fn marshal_ref(&self, iid: &GUID) -> Result<(StdObjref, DualStringArray)> {
        let p = self.query(iid)?;
        let ipid = self.ipid_of(iid);
        let added = ipid
            .ok_or(E_UNEXPECTED)
            .and_then(|ipid| remote_add_ref(&self.oxid, ipid, 1));
        // SAFETY: the reference `query` gave.
        unsafe { proxy_release(p) };
        added?;
        Ok((
            StdObjref {
                ipid: ipid.unwrap_or_default(),
                flags: if self.no_ping {
                    crate::objref::SORF_NOPING
                } else {
                    0
                },
                public_refs: 1,
                oxid: self.oxid.id,
                oid: self.oid,
            },
            self.oxid.resolver.clone(),
        ))
    }

    /// The resolver bindings the object's OBJREFs name.
    pub(crate) fn resolver(&self) -> DualStringArray {
        self.oxid.resolver.clone()
    }

    /// The IPID of the interface proxy for `iid`, if there is one.
    fn ipid_of(&self, iid: &GUID) -> Option<GUID> {
        let linked = lock(&self.interfaces)
            .iter()
            .find(|p| p.iid == *iid)
            .map(|p| p.ipid);
        linked.or_else(|| {
            lock(&self.modules)
                .iter()
                .find(|p| p.iid == *iid)
                .map(|p| p.ipid)
        })
    }

    /// The last local reference went: out of the import table, and the references held
    /// on the exporter given back in one RemRelease.
    fn finish(&self) {
        let key = (self.oxid.id, self.oid);
        let me: *const Manager = self;
        let removed = {
            let mut im = imports();
            match im.objects.get(&key) {
                Some(m)
                    if std::ptr::eq(Arc::as_ptr(m), me) && m.refs.load(Ordering::Acquire) == 0 =>
                {
                    im.objects.remove(&key)
                }
                _ => None,
            }
        };
        let Some(manager) = removed else { return };
        let mut refs: Vec<(GUID, u32)> = lock(&manager.interfaces)
            .iter()
            .map(|p| (p.ipid, p.remote.swap(0, Ordering::AcqRel)))
            .filter(|&(_, n)| n > 0)
            .collect();
        refs.extend(
            lock(&manager.modules)
                .iter()
                .map(|p| (p.ipid, p.remote.swap(0, Ordering::AcqRel)))
                .filter(|&(_, n)| n > 0),
        );
        remote_release(&manager.oxid, &refs);
        if let (false, Some(Address::Tcp(at))) = (manager.no_ping, &manager.oxid.resolver_at) {
            crate::pinger::remove(*at, manager.oid);
        }
        // `manager` (the table's Arc) drops here, and with it every interface proxy.
    }
}

/// The outer unknown of a module's proxy (made for another copy's channel); `None` for
/// a proxy of this copy's manager.
///
/// # Safety
/// `this` is an interface proxy.
unsafe fn outer_of(this: *mut c_void) -> Option<*mut c_void> {
    // SAFETY: the caller's contract; the channel state lives as long as the proxy.
    let channel = unsafe { (*this.cast::<InterfaceProxy>()).channel.as_ref() }?;
    Some(channel.outer())
}

impl InterfaceProxy {
    /// A module's interface proxy of `ps`'s interface, whose calls go through `channel`.
    pub(crate) fn on_channel(ps: &'static ProxyStub, channel: &ChannelState) -> InterfaceProxy {
        InterfaceProxy {
            vtbl: ps.vtbl.0,
            manager: std::ptr::null(),
            channel,
            iid: ps.iid,
            ipid: GUID::default(),
            ps,
            remote: AtomicU32::new(0),
        }
    }
}

/// The manager of a proxy.
///
/// # Safety
/// `this` is an interface proxy (a pointer only proxies' vtables receive).
unsafe fn manager_of<'a>(this: *mut c_void) -> &'a Manager {
    // SAFETY: the caller's contract; a proxy's manager lives while it has references.
    unsafe { &*(*this.cast::<InterfaceProxy>()).manager }
}

unsafe extern "system" fn proxy_query_interface(
    this: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: `out` is the caller's.
    unsafe { out.write(std::ptr::null_mut()) };
    if iid.is_null() {
        return E_POINTER;
    }
    // SAFETY: COM's contract: `this` is a live proxy.
    if let Some(outer) = unsafe { outer_of(this) } {
        // SAFETY: a module's proxy delegates to its live outer unknown.
        return unsafe { (crate::unk::vtbl(outer).QueryInterface)(outer, iid, out) };
    }
    // SAFETY: COM's contract: `this` is a live proxy, `iid` points to an IID.
    let (m, iid) = unsafe { (manager_of(this), &*iid) };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.query(iid))) {
        Ok(Ok(p)) => {
            // SAFETY: as above.
            unsafe { out.write(p) };
            S_OK
        }
        Ok(Err(hr)) => hr,
        Err(_) => E_UNEXPECTED,
    }
}

unsafe extern "system" fn proxy_add_ref(this: *mut c_void) -> u32 {
    // SAFETY: COM's contract: `this` is a live proxy.
    if let Some(outer) = unsafe { outer_of(this) } {
        // SAFETY: a module's proxy delegates to its live outer unknown.
        return unsafe { (crate::unk::vtbl(outer).AddRef)(outer) };
    }
    // SAFETY: COM's contract: `this` is a live proxy.
    let m = unsafe { manager_of(this) };
    m.refs.fetch_add(1, Ordering::AcqRel).wrapping_add(1)
}

unsafe extern "system" fn proxy_release(this: *mut c_void) -> u32 {
    // SAFETY: COM's contract: `this` is a live proxy.
    if let Some(outer) = unsafe { outer_of(this) } {
        // SAFETY: a module's proxy delegates to its live outer unknown.
        return unsafe { (crate::unk::vtbl(outer).Release)(outer) };
    }
    // SAFETY: COM's contract: `this` is a live proxy whose reference the caller gives up.
    let m = unsafe { manager_of(this) };
    let left = m.refs.fetch_sub(1, Ordering::AcqRel).wrapping_sub(1);
    if left == 0 {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.finish()));
    }
    left
}

/// A method call through a proxy: what the generated proxy vtables call, with the
/// description of the interface the method belongs to and its slot.
///
/// # Safety
/// `this` is a proxy of an interface deriving from `interface` (the generated vtables
/// are only ever proxies'); `args` and `ret` are valid for slot `opnum`'s description
/// as [`comidl_runtime_ndr::call`] requires.
pub unsafe fn call(
    this: *mut c_void,
    interface: &'static Interface,
    opnum: u16,
    args: &[*mut u8],
    ret: *mut u8,
) -> HRESULT {
    // SAFETY: the caller's contract.
    let ip = unsafe { &*this.cast::<InterfaceProxy>() };
    let Some(proc) = interface.procs.iter().find(|p| p.opnum == opnum) else {
        return E_UNEXPECTED;
    };
    // SAFETY: a module's proxy's channel state lives as long as the proxy.
    if let Some(channel) = unsafe { ip.channel.as_ref() } {
        // SAFETY: forwarded.
        return unsafe { channel.call(proc, args, ret) };
    }
    // SAFETY: as above; not a module's proxy, so it has a manager.
    let m = unsafe { manager_of(this) };
    // SAFETY: forwarded.
    unsafe { call::client(&*m.oxid, ip.ps.interface, ip.ipid, proc, args, ret) }
}

/// Whether `itf` is a proxy: its manager, with a reference on it (the identity's).
///
/// # Safety
/// `itf` is a live interface pointer.
pub(crate) unsafe fn as_proxy<'a>(itf: *mut c_void) -> Option<(&'a Manager, *mut c_void)> {
    // SAFETY: the caller's contract.
    let id = unsafe { crate::unk::query(itf, &IID_IPROXY_MANAGER) }.ok()?;
    // SAFETY: only proxies answer IID_IProxyManager, with their identity.
    Some((unsafe { manager_of(id) }, id))
}

/// A call of IRemUnknown's method `index` (0 RemQueryInterface, 1 RemAddRef, 2
/// RemRelease) on the exporter's IRemUnknown: the call's failure or the method's HRESULT.
fn rem_unknown(ox: &Oxid, index: usize, args: &[*mut u8]) -> Result<()> {
    let proc = bindings::ndr::IRemUnknown_INTERFACE.procs[index];
    let mut hr = S_OK;
    // SAFETY: the callers pass the method's arguments, as its description says.
    let sent = unsafe {
        call::client(
            ox,
            &bindings::ndr::IRemUnknown_INTERFACE,
            ox.rem_unknown,
            proc,
            args,
            (&raw mut hr).cast(),
        )
    };
    sent.ok()?;
    hr.ok()
}

/// IRemUnknown::RemQueryInterface for one interface of the object `any` belongs to.
fn rem_query_interface(ox: &Oxid, any: GUID, iid: &GUID) -> Result<StdObjref> {
    let mut ripid: *const GUID = &any;
    let mut c_refs: u32 = QI_REFS;
    let mut c_iids: u16 = 1;
    let mut iids: *const GUID = iid;
    let mut results: *mut REMQIRESULT = std::ptr::null_mut();
    let mut pp: *mut *mut REMQIRESULT = &mut results;
    let args: [*mut u8; 5] = [
        (&raw mut ripid).cast(),
        (&raw mut c_refs).cast(),
        (&raw mut c_iids).cast(),
        (&raw mut iids).cast(),
        (&raw mut pp).cast(),
    ];
    rem_unknown(ox, 0, &args)?;
    if results.is_null() {
        return Err(RPC_E_INVALID_OBJREF);
    }
    // SAFETY: one REMQIRESULT the engine allocated from the task allocator.
    let r = unsafe { results.read() };
    // SAFETY: as above; ours to free.
    unsafe { CoTaskMemFree(results.cast()) };
    r.hResult.ok()?;
    Ok(StdObjref {
        flags: r.std.flags,
        public_refs: r.std.cPublicRefs,
        oxid: r.std.oxid,
        oid: r.std.oid,
        ipid: r.std.ipid,
    })
}

/// IRemUnknown::RemAddRef of `n` public references on one IPID.
fn remote_add_ref(ox: &Oxid, ipid: GUID, n: u32) -> Result<()> {
    let mut refs = [REMINTERFACEREF {
        ipid,
        cPublicRefs: n,
        cPrivateRefs: 0,
    }];
    let mut count: u16 = 1;
    let mut refs_ptr: *mut REMINTERFACEREF = refs.as_mut_ptr();
    let mut results = [S_OK];
    let mut results_ptr: *mut HRESULT = results.as_mut_ptr();
    let args: [*mut u8; 3] = [
        (&raw mut count).cast(),
        (&raw mut refs_ptr).cast(),
        (&raw mut results_ptr).cast(),
    ];
    rem_unknown(ox, 1, &args)?;
    results[0].ok()
}

/// IRemUnknown::RemRelease of public references, in one call; failures are ignored (an
/// exporter that is gone has released everything already).
fn remote_release(ox: &Oxid, refs: &[(GUID, u32)]) {
    if refs.is_empty() {
        return;
    }
    for chunk in refs.chunks(usize::from(u16::MAX)) {
        let mut list: Vec<REMINTERFACEREF> = chunk
            .iter()
            .map(|&(ipid, n)| REMINTERFACEREF {
                ipid,
                cPublicRefs: n,
                cPrivateRefs: 0,
            })
            .collect();
        let mut count = list.len() as u16;
        let mut ptr = list.as_mut_ptr();
        let args: [*mut u8; 2] = [(&raw mut count).cast(), (&raw mut ptr).cast()];
        let _ = rem_unknown(ox, 2, &args);
    }
}

/// How many remote objects this process holds proxies for (for tests and leak checks).
pub fn imported_objects() -> usize {
    imports().objects.len()
}

/// Gives back the references a marshal of a remote object holds (CoReleaseMarshalData of
/// a proxy's marshal); failures are ignored, as in [`remote_release`].
pub(crate) fn release_remote(std: &StdObjref, resolver: &DualStringArray) {
    if std.public_refs == 0 {
        return;
    }
    if let Ok(ox) = oxid(std.oxid, resolver) {
        remote_release(&ox, &[(std.ipid, std.public_refs)]);
    }
}

/// Whether `itf` is a proxy (its object lives in another process) rather than the object
/// itself.
pub fn is_proxy<I: comidl_runtime_core::Interface>(itf: &I) -> bool {
    // SAFETY: an `I` is a live interface pointer.
    match unsafe { as_proxy(itf.as_raw()) } {
        Some((_, identity)) => {
            // SAFETY: the identity reference `as_proxy` took.
            unsafe { crate::unk::release(identity) };
            true
        }
        None => false,
    }
}

/// One interface handed to another machine: its HRESULT, and its OBJREF for a success.
pub type Handed = (HRESULT, Option<Vec<u8>>);

/// The machine's DCOM service hands the object behind proxy `itf` to a client on another
/// machine: its exporter (a process of this machine, reached over ncalrpc) makes OBJREFs
/// for `iids` whose references the remote client holds (see [`crate::machine`]). The
/// object's OXID, and per interface its HRESULT and OBJREF.
///
/// # Safety
/// `itf` is a live interface pointer.
pub unsafe fn export_for_remote(itf: *mut c_void, iids: &[GUID]) -> Result<(u64, Vec<Handed>)> {
    use crate::activation::bindings::{IComidlExporterLocal, owned};
    // SAFETY: the caller's contract.
    let (manager, identity) = unsafe { as_proxy(itf) }.ok_or(E_NOINTERFACE)?;
    let result = (|| {
        if manager.oxid.is_remote() {
            // Only this machine's exporters hand objects on.
            return Err(E_UNEXPECTED);
        }
        let any = lock(&manager.interfaces)
            .iter()
            .map(|p| p.ipid)
            .chain(lock(&manager.modules).iter().map(|p| p.ipid))
            .find(|i| !i.is_zero())
            .ok_or(E_UNEXPECTED)?;
        let g = |g: &GUID| owned::GUID {
            Data1: g.data1,
            Data2: g.data2,
            Data3: g.data3,
            Data4: g.data4.to_vec(),
        };
        let conn = manager.oxid.connect().map_err(|e| call::hresult_of(&e))?;
        let wanted: Vec<owned::GUID> = iids.iter().map(g).collect();
        let (status, hrs, objrefs) = IComidlExporterLocal::new(&conn)
            .export_for_remote(&g(&any), wanted.len() as u16, &wanted)
            .map_err(|e| call::hresult_of(&e))?;
        if hrs.len() != iids.len() || objrefs.len() != iids.len() {
            return Err(RPC_E_INVALID_OBJREF);
        }
        if status < 0 && hrs.iter().all(|h| *h < 0) {
            return Err(HRESULT(status));
        }
        let results = hrs
            .into_iter()
            .zip(objrefs)
            .map(|(hr, o)| (HRESULT(hr), o.map(|m| m.abData)))
            .collect();
        Ok((manager.oxid.id, results))
    })();
    // SAFETY: the identity reference `as_proxy` took.
    unsafe { crate::unk::release(identity) };
    result
}

/// Records what a remote activation said of exporter `id` (MS-DCOM 3.2.4.1.1.2: the
/// ScmReplyInfo's bindings and IRemUnknown IPID), so the OBJREFs that came with it need
/// no ResolveOxid: `bindings` are the exporter's, `prefer` the host the client used,
/// `resolver` where the activation was served (the machine's resolver, pinged there).
pub(crate) fn seed_oxid(
    id: u64,
    bindings: &DualStringArray,
    rem_unknown: GUID,
    prefer: &str,
    resolver: std::net::SocketAddr,
    auth: Option<comidl_runtime_rpc::auth::ClientAuth>,
) -> Result<()> {
    if imports().oxids.contains_key(&id) {
        return Ok(());
    }
    let at = address_preferring(bindings, Some(prefer)).ok_or(RPC_E_INVALID_OBJREF)?;
    let o = Arc::new(Oxid {
        id,
        resolver: bindings.clone(),
        resolver_at: Some(Address::Tcp(resolver)),
        auth,
        at,
        rem_unknown,
        idle: Mutex::new(Vec::new()),
        group: AtomicU32::new(0),
    });
    imports().oxids.entry(id).or_insert(o);
    Ok(())
}
