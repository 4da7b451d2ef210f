//! The endpoint map: the server side of the endpoint mapper.
//!
//! [`EndpointMap`] holds the registered elements (object UUID, tower, annotation) and
//! implements the generated [`ept_Handler`], so a server answers the mapper's interface
//! with `ept_serve(&map, opnum, stub)`. A process registers its own interfaces with
//! [`EndpointMap::register`], or remotely with `ept_insert` when [`MapLimits::updates`]
//! allows it.
//!
//! `ept_lookup` and `ept_map` can span calls: the reply's `entry_handle` is a context
//! handle naming a cursor kept here, keyed by the handle's 20 bytes. A cursor ends when
//! its last element has been returned (the handle comes back nil), when the client calls
//! `ept_lookup_handle_free`, or once the client that opened it is gone (a cursor opened
//! through a server belongs to its client, which alone may go on with it; see
//! [`crate::server::context::ClientRef`]), or by [`EndpointMap::run_down`]. At most
//! [`MapLimits::max_cursors`] are open at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{ContextHandle, Fault};

use super::bindings::{ept_Handler, owned};
use super::tower::{Tower, Transport};
use super::*;
use crate::pdu::SyntaxId;
use crate::server::context::{self, ClientRef};

/// `nca_s_fault_context_mismatch`: a context handle the server does not know.
pub const FAULT_CONTEXT_MISMATCH: Fault = Fault(0x1C00_001A);

/// The longest annotation (bytes, without the NUL): `ept_max_annotation_size` minus one.
pub const MAX_ANNOTATION: usize = 63;

/// Bounds and policy of a map.
#[derive(Clone, Debug)]
pub struct MapLimits {
    /// Registered elements at most; `ept_insert` beyond it fails with
    /// [`EPT_S_CANT_CREATE`].
    pub max_entries: usize,
    /// Open `ept_lookup`/`ept_map` cursors at most; a new one beyond it fails with
    /// [`EPT_S_CANT_PERFORM_OP`] until one ends.
    pub max_cursors: usize,
    /// Who may change the map over RPC (`ept_insert`, `ept_delete`, `ept_mgmt_delete`);
    /// others get [`EPT_S_CANT_PERFORM_OP`].
    pub updates: Updates,
}

/// Who may change the map through `ept_insert` and `ept_delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Updates {
    /// Nobody: only [`EndpointMap::register`] in the serving process.
    Refused,
    /// Processes of this machine running as the map's own user (or root), over ncalrpc,
    /// where the kernel says who the peer is; calls not through a server (the same
    /// process) too. Over TCP, refused.
    LocalSameUser,
    /// Anyone who can reach the mapper.
    Anyone,
}

impl Default for MapLimits {
    fn default() -> MapLimits {
        MapLimits {
            max_entries: 4096,
            max_cursors: 256,
            updates: Updates::LocalSameUser,
        }
    }
}

/// One registered element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub object: GUID,
    pub tower: Tower,
    pub annotation: String,
}

/// What a cursor iterates over.
#[derive(Clone, Debug)]
enum Query {
    Lookup {
        inquiry: u32,
        object: GUID,
        interface: Option<(GUID, u16, u16)>,
        vers: u32,
    },
    Map {
        object: GUID,
        /// Whether elements are matched by `object` (else by the nil object): `ept_map`
        /// falls back to nil-object elements when none carry the requested object.
        by_object: bool,
        tower: Tower,
    },
}

#[derive(Debug)]
struct Cursor {
    query: Query,
    /// The next element key to look at.
    next: u64,
    /// The client that opened it, when it came through a server: only that client may
    /// go on with it, and the cursor is run down once the client is gone.
    owner: Option<ClientRef>,
}

/// The client making the current call, if the call came through a server.
fn caller() -> Option<ClientRef> {
    context::current().map(|c| c.client())
}

#[derive(Default)]
struct Inner {
    /// Elements by insertion key (cursors walk the keys in order, so an element inserted
    /// during a lookup is seen, and a deleted one is skipped).
    entries: BTreeMap<u64, Element>,
    next_key: u64,
    cursors: HashMap<[u8; 20], Cursor>,
}

/// The endpoint map: registered elements and the open cursors.
pub struct EndpointMap {
    inner: Mutex<Inner>,
    limits: MapLimits,
    object: GUID,
}

impl Default for EndpointMap {
    fn default() -> EndpointMap {
        EndpointMap::new()
    }
}

fn same_protseq(a: &Transport, b: &Transport) -> bool {
    matches!(
        (a, b),
        (Transport::Tcp { .. }, Transport::Tcp { .. })
            | (Transport::Local { .. }, Transport::Local { .. })
    )
}

fn major(s: &SyntaxId) -> u16 {
    (s.version & 0xffff) as u16
}

fn minor(s: &SyntaxId) -> u16 {
    (s.version >> 16) as u16
}

/// Whether an element's interface version passes `vers_option` against (major, minor).
fn version_matches(e: &SyntaxId, vers: u32, want_major: u16, want_minor: u16) -> Option<bool> {
    let (maj, min) = (major(e), minor(e));
    Some(match vers {
        RPC_C_VERS_ALL => true,
        RPC_C_VERS_COMPATIBLE => maj == want_major && min >= want_minor,
        RPC_C_VERS_EXACT => maj == want_major && min == want_minor,
        RPC_C_VERS_MAJOR_ONLY => maj == want_major,
        RPC_C_VERS_UPTO => (maj, min) <= (want_major, want_minor),
        _ => return None,
    })
}

impl Query {
    fn matches(&self, e: &Element) -> bool {
        match self {
            Query::Lookup {
                inquiry,
                object,
                interface,
                vers,
            } => {
                let by_if = || {
                    interface.is_some_and(|(uuid, maj, min)| {
                        e.tower.interface.uuid == uuid
                            && version_matches(&e.tower.interface, *vers, maj, min) == Some(true)
                    })
                };
                match *inquiry {
                    RPC_C_EP_ALL_ELTS => true,
                    RPC_C_EP_MATCH_BY_IF => by_if(),
                    RPC_C_EP_MATCH_BY_OBJ => e.object == *object,
                    RPC_C_EP_MATCH_BY_BOTH => e.object == *object && by_if(),
                    _ => false,
                }
            }
            Query::Map {
                object,
                by_object,
                tower,
            } => {
                let want = &tower.interface;
                let wanted_object = if *by_object { *object } else { GUID::zeroed() };
                e.object == wanted_object
                    && e.tower.interface.uuid == want.uuid
                    && major(&e.tower.interface) == major(want)
                    && minor(&e.tower.interface) >= minor(want)
                    && e.tower.transfer == tower.transfer
                    && same_protseq(&e.tower.transport, &tower.transport)
            }
        }
    }
}

/// A fresh cursor handle: attributes 0, then a random UUID (a counter if the system's
/// random source fails, so a handle is never nil and never repeats in a process).
fn new_handle() -> [u8; 20] {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let uuid = GUID::try_new_v4().unwrap_or_else(|_| {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        GUID::from_u128(0x636f6d69_646c_4000_8000_000000000000 | n as u128)
    });
    let mut h = [0u8; 20];
    h[4..].copy_from_slice(&uuid.to_bytes_le());
    h
}

impl EndpointMap {
    /// An empty map with the default limits.
    pub fn new() -> EndpointMap {
        EndpointMap::with_limits(MapLimits::default())
    }

    pub fn with_limits(limits: MapLimits) -> EndpointMap {
        EndpointMap {
            inner: Mutex::new(Inner::default()),
            limits,
            object: GUID::zeroed(),
        }
    }

    /// The limits this map enforces.
    pub fn limits(&self) -> &MapLimits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data (every update
        // is a single insert or remove): keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an element (what `ept_insert` does for each entry). With `replace`,
    /// elements of the same object, interface UUID and major version over the same
    /// protocol sequence are removed first (C706: a server re-registering replaces its
    /// old endpoints); without it an identical element only gets the new annotation.
    /// Fails with [`EPT_S_INVALID_ENTRY`] for an annotation longer than 63 bytes and
    /// [`EPT_S_CANT_CREATE`] when the map is full.
    pub fn register(
        &self,
        object: GUID,
        tower: &Tower,
        annotation: &str,
        replace: bool,
    ) -> Result<(), u32> {
        if annotation.len() > MAX_ANNOTATION || annotation.contains('\0') {
            return Err(EPT_S_INVALID_ENTRY);
        }
        let mut inner = self.lock();
        if replace {
            inner.entries.retain(|_, e| {
                !(e.object == object
                    && e.tower.interface.uuid == tower.interface.uuid
                    && major(&e.tower.interface) == major(&tower.interface)
                    && same_protseq(&e.tower.transport, &tower.transport))
            });
        }
        if let Some(e) = inner
            .entries
            .values_mut()
            .find(|e| e.object == object && e.tower == *tower)
        {
            e.annotation = annotation.to_string();
            return Ok(());
        }
        if inner.entries.len() >= self.limits.max_entries {
            return Err(EPT_S_CANT_CREATE);
        }
        let key = inner.next_key;
        inner.next_key += 1;
        inner.entries.insert(
            key,
            Element {
                object,
                tower: tower.clone(),
                annotation: annotation.to_string(),
            },
        );
        Ok(())
    }

    /// Removes the element of this object and tower; [`EPT_S_NOT_REGISTERED`] if there is
    /// none.
    pub fn unregister(&self, object: GUID, tower: &Tower) -> Result<(), u32> {
        let mut inner = self.lock();
        let before = inner.entries.len();
        inner
            .entries
            .retain(|_, e| !(e.object == object && e.tower == *tower));
        if inner.entries.len() == before {
            Err(EPT_S_NOT_REGISTERED)
        } else {
            Ok(())
        }
    }

    /// The registered elements, in registration order.
    pub fn elements(&self) -> Vec<Element> {
        self.lock().entries.values().cloned().collect()
    }

    /// Registers where a server listens for `interface`: the binding [`crate::Server::listen`]
    /// returned (a TCP port on an IPv4 address, or an ncalrpc endpoint), under the nil
    /// object. A TCP listener on every address is registered as 0.0.0.0, which clients
    /// read as "the host you asked".
    pub fn register_endpoint(
        &self,
        interface: &comidl_runtime_ndr::Interface,
        binding: &crate::StringBinding,
        annotation: &str,
    ) -> Result<(), u32> {
        let syntax = SyntaxId::new(interface.uuid, interface.version.0, interface.version.1);
        let transport = match binding.protseq {
            crate::Protseq::Tcp => Transport::Tcp {
                port: binding
                    .endpoint
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .ok_or(EPT_S_INVALID_ENTRY)?,
                addr: match binding.network_address.as_str() {
                    "" => std::net::Ipv4Addr::UNSPECIFIED,
                    a => a.parse().map_err(|_| EPT_S_INVALID_ENTRY)?,
                },
            },
            crate::Protseq::Local => Transport::Local {
                name: binding.endpoint.clone().ok_or(EPT_S_INVALID_ENTRY)?,
            },
        };
        self.register(
            binding.object.unwrap_or_else(GUID::zeroed),
            &Tower::new(syntax, transport),
            annotation,
            true,
        )
    }

    /// How many cursors are open.
    pub fn open_cursors(&self) -> usize {
        self.lock().cursors.len()
    }

    /// Ends the cursor behind a context handle, if it is one of this map's; true if it was.
    pub fn forget(&self, handle: &ContextHandle) -> bool {
        self.lock().cursors.remove(&handle.0).is_some()
    }

    /// Ends the cursors of a connection that died (its context handles' rundown).
    pub fn run_down<'a>(&self, handles: impl IntoIterator<Item = &'a ContextHandle>) {
        let mut inner = self.lock();
        for h in handles {
            inner.cursors.remove(&h.0);
        }
    }

    /// Opens a cursor (`handle` nil) or continues one, and takes up to `max` matching
    /// elements. The handle comes back nil when the cursor has ended. Errors: a fault for
    /// a handle this map does not know, or a status.
    fn next_batch(
        &self,
        handle: &mut ContextHandle,
        query: impl FnOnce(&Inner) -> Result<Query, u32>,
        is_lookup: bool,
        max: u32,
    ) -> Result<Result<Vec<Element>, u32>, Fault> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let (query, start) = if handle.is_nil() {
            match query(inner) {
                Ok(q) => (q, 0),
                Err(status) => return Ok(Err(status)),
            }
        } else {
            let me = caller();
            match inner.cursors.get(&handle.0) {
                Some(c)
                    if matches!(c.query, Query::Lookup { .. }) == is_lookup
                        && match (&c.owner, &me) {
                            (None, None) => true,
                            (Some(a), Some(b)) => a.same(b),
                            _ => false,
                        } =>
                {
                    (c.query.clone(), c.next)
                }
                _ => return Err(FAULT_CONTEXT_MISMATCH),
            }
        };
        let mut out = Vec::new();
        let mut next = start;
        let mut more = false;
        for (key, e) in inner.entries.range(start..) {
            if !query.matches(e) {
                continue;
            }
            if out.len() as u32 >= max {
                more = true;
                break;
            }
            out.push(e.clone());
            next = key + 1;
        }
        if more {
            if handle.is_nil() {
                // The cursors of clients that are gone are run down first.
                inner
                    .cursors
                    .retain(|_, c| !c.owner.as_ref().is_some_and(ClientRef::is_gone));
                if inner.cursors.len() >= self.limits.max_cursors {
                    return Ok(Err(EPT_S_CANT_PERFORM_OP));
                }
                let mut h = new_handle();
                while inner.cursors.contains_key(&h) {
                    h = new_handle();
                }
                handle.0 = h;
            }
            let owner = caller();
            inner
                .cursors
                .insert(handle.0, Cursor { query, next, owner });
        } else {
            inner.cursors.remove(&handle.0);
            *handle = ContextHandle::default();
        }
        Ok(Ok(out))
    }

    fn check_updates(&self) -> Result<(), u32> {
        let allowed = match self.limits.updates {
            Updates::Refused => false,
            Updates::Anyone => true,
            Updates::LocalSameUser => match context::current() {
                None => true,
                Some(call) => {
                    let me = rustix::process::getuid().as_raw();
                    call.protseq == crate::Protseq::Local
                        && call.peer_uid.is_some_and(|u| u == me || u == 0)
                }
            },
        };
        if allowed {
            Ok(())
        } else {
            Err(EPT_S_CANT_PERFORM_OP)
        }
    }

    /// The (object, tower) of a received entry, or [`EPT_S_INVALID_ENTRY`].
    fn read_entry(e: &owned::ept_entry_t) -> Result<(GUID, Tower), u32> {
        let object = guid_of(&e.object).ok_or(EPT_S_INVALID_ENTRY)?;
        let tower = e
            .tower
            .as_deref()
            .and_then(tower_bytes)
            .ok_or(EPT_S_INVALID_ENTRY)?;
        let tower = Tower::decode(tower).map_err(|_| EPT_S_INVALID_ENTRY)?;
        Ok((object, tower))
    }
}

fn status(r: Result<(), u32>) -> u32 {
    r.err().unwrap_or(0)
}

fn wire_entry(e: &Element) -> owned::ept_entry_t {
    owned::ept_entry_t {
        object: owned_guid(&e.object),
        tower: Some(Box::new(owned_tower(e.tower.encode()))),
        annotation: e.annotation.clone(),
    }
}

impl ept_Handler for EndpointMap {
    fn ept_insert(
        &self,
        _num_ents: u32,
        entries: Vec<owned::ept_entry_t>,
        replace: u32,
    ) -> Result<u32, Fault> {
        Ok(status((|| {
            self.check_updates()?;
            // All entries are read before any is registered: a bad one changes nothing.
            let read = entries
                .iter()
                .map(|e| Ok((EndpointMap::read_entry(e)?, e.annotation.as_str())))
                .collect::<Result<Vec<_>, u32>>()?;
            for ((object, tower), annotation) in read {
                self.register(object, &tower, annotation, replace != 0)?;
            }
            Ok(())
        })()))
    }

    fn ept_delete(&self, _num_ents: u32, entries: Vec<owned::ept_entry_t>) -> Result<u32, Fault> {
        Ok(status((|| {
            self.check_updates()?;
            let read = entries
                .iter()
                .map(EndpointMap::read_entry)
                .collect::<Result<Vec<_>, u32>>()?;
            // All or nothing: every element must be registered.
            {
                let inner = self.lock();
                for (object, tower) in &read {
                    if !inner
                        .entries
                        .values()
                        .any(|e| e.object == *object && e.tower == *tower)
                    {
                        return Err(EPT_S_NOT_REGISTERED);
                    }
                }
            }
            for (object, tower) in read {
                let _ = self.unregister(object, &tower);
            }
            Ok(())
        })()))
    }

    fn ept_lookup(
        &self,
        inquiry_type: u32,
        object: Option<owned::GUID>,
        ifid: Option<owned::RPC_IF_ID>,
        vers_option: u32,
        entry_handle: &mut ContextHandle,
        max_ents: u32,
    ) -> Result<(u32, Vec<owned::ept_entry_t>, u32), Fault> {
        let query = |_: &Inner| {
            let object = match &object {
                Some(g) => guid_of(g).ok_or(EPT_S_CANT_PERFORM_OP)?,
                None => GUID::zeroed(),
            };
            let interface = match &ifid {
                Some(i) => Some((
                    guid_of(&i.Uuid).ok_or(EPT_S_CANT_PERFORM_OP)?,
                    i.VersMajor,
                    i.VersMinor,
                )),
                None => None,
            };
            let by_if = matches!(inquiry_type, RPC_C_EP_MATCH_BY_IF | RPC_C_EP_MATCH_BY_BOTH);
            let vers_known = (RPC_C_VERS_ALL..=RPC_C_VERS_UPTO).contains(&vers_option);
            if inquiry_type > RPC_C_EP_MATCH_BY_BOTH
                || (by_if && (interface.is_none() || !vers_known))
            {
                return Err(EPT_S_CANT_PERFORM_OP);
            }
            Ok(Query::Lookup {
                inquiry: inquiry_type,
                object,
                interface,
                vers: vers_option,
            })
        };
        match self.next_batch(entry_handle, query, true, max_ents)? {
            Err(status) => Ok((0, Vec::new(), status)),
            Ok(found) if found.is_empty() && max_ents > 0 => {
                Ok((0, Vec::new(), EPT_S_NOT_REGISTERED))
            }
            Ok(found) => Ok((
                found.len() as u32,
                found.iter().map(wire_entry).collect(),
                0,
            )),
        }
    }

    fn ept_map(
        &self,
        obj: Option<owned::GUID>,
        map_tower: Option<owned::twr_t>,
        entry_handle: &mut ContextHandle,
        max_towers: u32,
    ) -> Result<(u32, Vec<Option<Box<owned::twr_t>>>, u32), Fault> {
        let query = |inner: &Inner| {
            let object = match &obj {
                Some(g) => guid_of(g).ok_or(EPT_S_NOT_REGISTERED)?,
                None => GUID::zeroed(),
            };
            let tower = map_tower
                .as_ref()
                .and_then(tower_bytes)
                .and_then(|b| Tower::decode(b).ok())
                .ok_or(EPT_S_NOT_REGISTERED)?;
            // C706: elements of the requested object first; when there are none, the
            // interface's elements registered without an object.
            let by_object = object != GUID::zeroed() && {
                let q = Query::Map {
                    object,
                    by_object: true,
                    tower: tower.clone(),
                };
                inner.entries.values().any(|e| q.matches(e))
            };
            Ok(Query::Map {
                object,
                by_object,
                tower,
            })
        };
        match self.next_batch(entry_handle, query, false, max_towers)? {
            Err(status) => Ok((0, Vec::new(), status)),
            Ok(found) if found.is_empty() && max_towers > 0 => {
                Ok((0, Vec::new(), EPT_S_NOT_REGISTERED))
            }
            Ok(found) => Ok((
                found.len() as u32,
                found
                    .iter()
                    .map(|e| Some(Box::new(owned_tower(e.tower.encode()))))
                    .collect(),
                0,
            )),
        }
    }

    fn ept_lookup_handle_free(&self, entry_handle: &mut ContextHandle) -> Result<u32, Fault> {
        if !entry_handle.is_nil() && !self.forget(entry_handle) {
            return Err(FAULT_CONTEXT_MISMATCH);
        }
        *entry_handle = ContextHandle::default();
        Ok(0)
    }

    fn ept_inq_object(&self) -> Result<(owned::GUID, u32), Fault> {
        Ok((owned_guid(&self.object), 0))
    }

    fn ept_mgmt_delete(
        &self,
        object_speced: u32,
        object: Option<owned::GUID>,
        tower: Option<owned::twr_t>,
    ) -> Result<u32, Fault> {
        Ok(status((|| {
            self.check_updates()?;
            let tower = tower
                .as_ref()
                .and_then(tower_bytes)
                .and_then(|b| Tower::decode(b).ok())
                .ok_or(EPT_S_INVALID_ENTRY)?;
            let object = match (&object, object_speced) {
                (_, 0) => None,
                (Some(g), _) => Some(guid_of(g).ok_or(EPT_S_INVALID_ENTRY)?),
                (None, _) => Some(GUID::zeroed()),
            };
            let mut inner = self.lock();
            let before = inner.entries.len();
            inner
                .entries
                .retain(|_, e| !(e.tower == tower && object.is_none_or(|o| e.object == o)));
            if inner.entries.len() == before {
                Err(EPT_S_NOT_REGISTERED)
            } else {
                Ok(())
            }
        })()))
    }
}
