//! Asking an endpoint mapper: which endpoint serves an interface ([`ept_map`]), what is
//! registered ([`ept_lookup`]), and completing a string binding without an endpoint
//! ([`resolve`]).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{CallError, Channel, ContextHandle};

use super::bindings::{ept, owned};
use super::tower::{Tower, TowerError, Transport};
use super::*;
use crate::binding::{Protseq, StringBinding};
use crate::client::Connection;
use crate::pdu::SyntaxId;

/// Why the mapper gave no answer.
#[derive(Debug)]
pub enum EpmError {
    /// The call failed (transport, fault, or bad stub data).
    Call(CallError),
    /// The mapper answered with this status (e.g. [`EPT_S_NOT_REGISTERED`]).
    Status(u32),
    /// The mapper answered with towers, but none for the requested transport.
    NoTower,
    /// A tower in the answer could not be read.
    Tower(TowerError),
    /// The binding cannot be resolved (what is wrong with it).
    Binding(&'static str),
    /// A lookup returned more elements than the iterator's bound.
    TooMany,
}

impl fmt::Display for EpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpmError::Call(e) => write!(f, "endpoint mapper call failed: {e}"),
            EpmError::Status(s) => write!(f, "endpoint mapper status {s:#010x}"),
            EpmError::NoTower => {
                f.write_str("the endpoint mapper named no endpoint on that transport")
            }
            EpmError::Tower(e) => write!(f, "endpoint mapper answer: {e}"),
            EpmError::Binding(why) => write!(f, "cannot resolve the binding: {why}"),
            EpmError::TooMany => f.write_str("the endpoint mapper returned too many elements"),
        }
    }
}

impl std::error::Error for EpmError {}

impl From<CallError> for EpmError {
    fn from(e: CallError) -> EpmError {
        EpmError::Call(e)
    }
}

/// Whether a status means "nothing (more) registered".
fn is_not_registered(status: u32) -> bool {
    status == EPT_S_NOT_REGISTERED || status == EPT_S_NOT_REGISTERED_WIN32
}

/// The tower a map request sends: the interface over the protocol sequence, with the
/// endpoint and address left empty.
pub fn map_request_tower(interface: SyntaxId, protseq: Protseq) -> Tower {
    Tower::new(
        interface,
        match protseq {
            Protseq::Tcp => Transport::Tcp {
                port: 0,
                addr: Ipv4Addr::UNSPECIFIED,
            },
            Protseq::Local => Transport::Local {
                name: String::new(),
            },
        },
    )
}

/// The most towers one `ept_map` asks for.
const MAP_BATCH: u32 = 4;

/// Asks the mapper behind `channel` for the towers of `interface` (and `object`, if not
/// nil) over `protseq`: those it returns in one call, the ones comidl can read.
pub fn ept_map_towers(
    channel: impl Channel,
    object: Option<GUID>,
    interface: SyntaxId,
    protseq: Protseq,
) -> Result<Vec<Tower>, EpmError> {
    let client = ept::new(channel);
    let request = owned_tower(map_request_tower(interface, protseq).encode());
    let mut handle = ContextHandle::default();
    let (num, towers, status) = client.ept_map(
        &object.map(|g| owned_guid(&g)),
        &Some(request),
        &mut handle,
        MAP_BATCH,
    )?;
    if !handle.is_nil() {
        // One batch is all this asks for; free the cursor (failure here costs nothing).
        let _ = client.ept_lookup_handle_free(&mut handle);
    }
    if status != 0 && (num == 0 || !is_not_registered(status)) {
        return Err(EpmError::Status(status));
    }
    let mut out = Vec::new();
    let mut first_error = None;
    for t in towers.iter().take(num as usize).flatten() {
        match tower_bytes(t)
            .ok_or(TowerError::Truncated("twr_t"))
            .and_then(Tower::decode)
        {
            Ok(t) => out.push(t),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (out.is_empty(), first_error) {
        (true, Some(e)) => Err(EpmError::Tower(e)),
        _ => Ok(out),
    }
}

/// Asks the mapper behind `channel` where `interface` is served over `protseq`: the
/// first matching tower's transport (its port and address, or its local name).
pub fn ept_map(
    channel: impl Channel,
    interface: SyntaxId,
    protseq: Protseq,
) -> Result<Transport, EpmError> {
    ept_map_towers(channel, None, interface, protseq)?
        .into_iter()
        .find(|t| t.interface.uuid == interface.uuid && same_kind(&t.transport, protseq))
        .map(|t| t.transport)
        .ok_or(EpmError::NoTower)
}

fn same_kind(t: &Transport, p: Protseq) -> bool {
    matches!(
        (t, p),
        (Transport::Tcp { .. }, Protseq::Tcp) | (Transport::Local { .. }, Protseq::Local)
    )
}

/// How `ept_lookup` compares an element's interface version with the requested one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersOption {
    /// Any version.
    All,
    /// The same major version and a minor version at least the requested one.
    Compatible,
    /// Exactly the requested version.
    Exact,
    /// The same major version.
    MajorOnly,
    /// Versions up to the requested one.
    UpTo,
}

impl VersOption {
    pub fn value(self) -> u32 {
        match self {
            VersOption::All => RPC_C_VERS_ALL,
            VersOption::Compatible => RPC_C_VERS_COMPATIBLE,
            VersOption::Exact => RPC_C_VERS_EXACT,
            VersOption::MajorOnly => RPC_C_VERS_MAJOR_ONLY,
            VersOption::UpTo => RPC_C_VERS_UPTO,
        }
    }
}

/// What `ept_lookup` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inquiry {
    All,
    Interface(SyntaxId, VersOption),
    Object(GUID),
    Both(GUID, SyntaxId, VersOption),
}

impl Inquiry {
    /// (inquiry_type, object, Ifid, vers_option) as the call carries them.
    fn args(&self) -> (u32, Option<owned::GUID>, Option<owned::RPC_IF_ID>, u32) {
        let ifid = |s: &SyntaxId| owned::RPC_IF_ID {
            Uuid: owned_guid(&s.uuid),
            VersMajor: (s.version & 0xffff) as u16,
            VersMinor: (s.version >> 16) as u16,
        };
        match self {
            Inquiry::All => (RPC_C_EP_ALL_ELTS, None, None, 0),
            Inquiry::Interface(s, v) => (RPC_C_EP_MATCH_BY_IF, None, Some(ifid(s)), v.value()),
            Inquiry::Object(g) => (RPC_C_EP_MATCH_BY_OBJ, Some(owned_guid(g)), None, 0),
            Inquiry::Both(g, s, v) => (
                RPC_C_EP_MATCH_BY_BOTH,
                Some(owned_guid(g)),
                Some(ifid(s)),
                v.value(),
            ),
        }
    }
}

/// One element of a lookup's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct LookupEntry {
    pub object: GUID,
    /// The tower's bytes as received (empty for a null tower).
    pub tower_bytes: Vec<u8>,
    /// The tower, if it is one comidl reads (TCP or a local socket).
    pub tower: Option<Tower>,
    pub annotation: String,
}

/// The elements of an `ept_lookup`, fetched `batch` at a time as the iteration needs
/// them (see [`ept_lookup`]). Dropping it before the end frees the mapper's cursor.
pub struct LookupIter<C: Channel> {
    client: ept<C>,
    inquiry: Inquiry,
    batch: u32,
    handle: ContextHandle,
    pending: std::collections::VecDeque<LookupEntry>,
    started: bool,
    done: bool,
    /// Elements still allowed (a mapper that never ends cannot make this loop forever).
    budget: usize,
}

/// The most elements a [`LookupIter`] yields by default.
pub const LOOKUP_MAX_ELEMENTS: usize = 65_536;

/// Starts an `ept_lookup` iteration: `batch` elements per call (1..=500, as MS-RPCE's
/// range allows), at most [`LOOKUP_MAX_ELEMENTS`] in all (then [`EpmError::TooMany`]).
pub fn ept_lookup<C: Channel>(channel: C, inquiry: Inquiry, batch: u32) -> LookupIter<C> {
    LookupIter {
        client: ept::new(channel),
        inquiry,
        batch: batch.clamp(1, 500),
        handle: ContextHandle::default(),
        pending: Default::default(),
        started: false,
        done: false,
        budget: LOOKUP_MAX_ELEMENTS,
    }
}

impl<C: Channel> LookupIter<C> {
    /// Sets the most elements the iteration yields.
    pub fn max_elements(mut self, n: usize) -> Self {
        self.budget = n;
        self
    }

    fn fetch(&mut self) -> Result<(), EpmError> {
        let (inquiry, object, ifid, vers) = self.inquiry.args();
        let (num, entries, status) =
            self.client
                .ept_lookup(inquiry, &object, &ifid, vers, &mut self.handle, self.batch)?;
        self.started = true;
        // The last batch comes with status 0 and a nil handle (Windows) or with
        // ept_s_not_registered (Samba); an empty answer ends it either way.
        if status != 0 && !is_not_registered(status) {
            self.done = true;
            return Err(EpmError::Status(status));
        }
        if self.handle.is_nil() || is_not_registered(status) || num == 0 {
            self.done = true;
        }
        for e in entries.into_iter().take(num as usize) {
            let tower_bytes = e
                .tower
                .as_deref()
                .and_then(tower_bytes)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            self.pending.push_back(LookupEntry {
                object: guid_of(&e.object).unwrap_or_default(),
                tower: Tower::decode(&tower_bytes).ok(),
                tower_bytes,
                annotation: e.annotation,
            });
        }
        Ok(())
    }
}

impl<C: Channel> Iterator for LookupIter<C> {
    type Item = Result<LookupEntry, EpmError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                return Some(Err(e));
            }
        }
        let e = self.pending.pop_front()?;
        if self.budget == 0 {
            self.done = true;
            self.pending.clear();
            return Some(Err(EpmError::TooMany));
        }
        self.budget -= 1;
        Some(Ok(e))
    }
}

impl<C: Channel> Drop for LookupIter<C> {
    fn drop(&mut self) {
        if self.started && !self.handle.is_nil() {
            let _ = self.client.ept_lookup_handle_free(&mut self.handle);
        }
    }
}

/// Where [`resolve`] finds the mapper.
#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// The mapper's TCP port on the binding's host (135).
    pub mapper_port: u16,
    /// The bound on connecting and on every wait for the mapper.
    pub timeout: Duration,
    /// The local mapper's ncalrpc endpoint name, for ncalrpc bindings (Windows's is
    /// `epmapper` too).
    pub local_mapper: String,
}

impl Default for ResolveOptions {
    fn default() -> ResolveOptions {
        ResolveOptions {
            mapper_port: EPT_TCP_PORT,
            timeout: Duration::from_secs(10),
            local_mapper: "epmapper".to_string(),
        }
    }
}

/// Completes `binding` for `interface` with the endpoint the mapper behind `channel`
/// names; a binding that has an endpoint comes back unchanged (without a call).
pub fn resolve_with(
    channel: impl Channel,
    binding: &StringBinding,
    interface: SyntaxId,
) -> Result<StringBinding, EpmError> {
    if binding.endpoint.is_some() {
        return Ok(binding.clone());
    }
    let towers = ept_map_towers(channel, binding.object, interface, binding.protseq)?;
    let t = towers
        .into_iter()
        .find(|t| same_kind(&t.transport, binding.protseq))
        .ok_or(EpmError::NoTower)?;
    let mut out = binding.clone();
    out.endpoint = Some(t.endpoint());
    Ok(out)
}

/// Completes `binding` for `interface`: connects to the mapper of the binding's host (TCP
/// port [`ResolveOptions::mapper_port`], or the local mapper's socket for ncalrpc) and
/// asks it. A binding that has an endpoint comes back unchanged.
pub fn resolve(
    binding: &StringBinding,
    interface: SyntaxId,
    options: &ResolveOptions,
) -> Result<StringBinding, EpmError> {
    if binding.endpoint.is_some() {
        return Ok(binding.clone());
    }
    match binding.protseq {
        Protseq::Tcp => {
            let host = match binding.network_address.as_str() {
                "" => "127.0.0.1",
                h => h,
            };
            let addr: SocketAddr = (host, options.mapper_port)
                .to_socket_addrs()
                .map_err(|_| EpmError::Binding("the host name does not resolve"))?
                .next()
                .ok_or(EpmError::Binding("the host name has no address"))?;
            let conn = Connection::tcp(addr, options.timeout)?;
            resolve_with(&conn, binding, interface)
        }
        Protseq::Local => {
            let conn = Connection::local(&options.local_mapper, options.timeout)?;
            resolve_with(&conn, binding, interface)
        }
    }
}
