//! Pinging (MS-DCOM 3.2.6): this process keeps the remote objects it holds alive by
//! pinging their machines' resolvers. One ping set per resolver: the first ping and every
//! change are a ComplexPing with the OIDs added and taken out since; otherwise a
//! SimplePing of the set, once per period. A resolver that forgot the set (it restarted,
//! OR_INVALID_SET) gets a new one with every OID. Objects whose OBJREFs said SORF_NOPING
//! (local exporters, whose references end with their connections) are never pinged.
//!
//! The period is MS-DCOM's 120 s unless `COMIDL_PING_PERIOD_MS` says otherwise; the
//! servers' side drops references after three periods without a ping, so it must not be
//! longer than the servers' period.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use comidl_runtime_rpc::client::Connection;

use crate::bindings::IObjectExporter;

/// OR_INVALID_SET (MS-ERREF): the resolver does not know the set.
const OR_INVALID_SET: u32 = 1911;

/// The most OIDs one ComplexPing adds or removes.
const MAX_CHANGES: usize = 0xFFFF;

/// How long one ping may wait for its answer.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The ping period.
pub fn period() -> Duration {
    std::env::var("COMIDL_PING_PERIOD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(120), |ms| {
            Duration::from_millis(ms.max(50))
        })
}

#[derive(Default)]
struct Set {
    /// How pings to this resolver authenticate.
    auth: Option<comidl_runtime_rpc::auth::ClientAuth>,
    id: u64,
    sequence: u16,
    oids: HashSet<u64>,
    added: Vec<u64>,
    removed: Vec<u64>,
}

fn sets() -> MutexGuard<'static, HashMap<SocketAddr, Set>> {
    static SETS: OnceLock<Mutex<HashMap<SocketAddr, Set>>> = OnceLock::new();
    let m = SETS.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("comidl-pinger".into())
            .spawn(run);
        Mutex::default()
    });
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Object `oid` at resolver `at` is held: ping it from now on (authenticated as `auth`).
pub(crate) fn add(at: SocketAddr, oid: u64, auth: Option<comidl_runtime_rpc::auth::ClientAuth>) {
    let mut s = sets();
    let set = s.entry(at).or_default();
    if auth.is_some() {
        set.auth = auth;
    }
    if set.oids.insert(oid) {
        set.removed.retain(|o| *o != oid);
        set.added.push(oid);
    }
}

/// Object `oid` at resolver `at` was released: stop pinging it.
pub(crate) fn remove(at: SocketAddr, oid: u64) {
    let mut s = sets();
    if let Some(set) = s.get_mut(&at)
        && set.oids.remove(&oid)
    {
        set.added.retain(|o| *o != oid);
        set.removed.push(oid);
    }
}

/// How many pings this process sent (tests watch it).
pub fn pings_sent() -> u64 {
    PINGS.load(std::sync::atomic::Ordering::Relaxed)
}

static PINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One set's ping this period: the resolver, the set, its sequence number, the OIDs
/// added and removed since the last ping.
type Due = (
    SocketAddr,
    u64,
    u16,
    Vec<u64>,
    Vec<u64>,
    Option<comidl_runtime_rpc::auth::ClientAuth>,
);

fn run() {
    let mut connections: HashMap<SocketAddr, Connection<std::net::TcpStream>> = HashMap::new();
    loop {
        std::thread::sleep(period());
        let work: Vec<Due> = {
            let mut s = sets();
            s.retain(|_, set| !set.oids.is_empty() || !set.removed.is_empty() || set.id != 0);
            s.iter_mut()
                .map(|(at, set)| {
                    // A ComplexPing counts its changes in 16 bits: the rest waits.
                    let a = set.added.len().min(MAX_CHANGES);
                    let r = set.removed.len().min(MAX_CHANGES);
                    (
                        *at,
                        set.id,
                        set.sequence,
                        set.added.drain(..a).collect(),
                        set.removed.drain(..r).collect(),
                        set.auth.clone(),
                    )
                })
                .collect()
        };
        for (at, id, sequence, added, removed, auth) in work {
            let outcome = ping(&mut connections, at, auth, id, sequence, &added, &removed);
            let mut s = sets();
            let Some(set) = s.get_mut(&at) else { continue };
            match outcome {
                Ping::Set(new_id) => {
                    set.id = new_id;
                    set.sequence = sequence.wrapping_add(1);
                    if set.oids.is_empty() && set.added.is_empty() {
                        // Nothing left to ping: the set is let go (the resolver drops it
                        // after three periods).
                        s.remove(&at);
                    }
                }
                Ping::Forgotten => {
                    // A new set with every OID held.
                    set.id = 0;
                    set.added = set.oids.iter().copied().collect();
                    set.removed.clear();
                }
                Ping::Failed => {
                    // Try again next period with the same changes.
                    let mut a = added;
                    a.retain(|o| set.oids.contains(o));
                    a.append(&mut set.added);
                    set.added = a;
                    let mut r = removed;
                    r.retain(|o| !set.oids.contains(o));
                    r.append(&mut set.removed);
                    set.removed = r;
                    connections.remove(&at);
                }
            }
        }
    }
}

enum Ping {
    Set(u64),
    Forgotten,
    Failed,
}

fn ping(
    connections: &mut HashMap<SocketAddr, Connection<std::net::TcpStream>>,
    at: SocketAddr,
    auth: Option<comidl_runtime_rpc::auth::ClientAuth>,
    id: u64,
    sequence: u16,
    added: &[u64],
    removed: &[u64],
) -> Ping {
    if let std::collections::hash_map::Entry::Vacant(e) = connections.entry(at) {
        match Connection::tcp(at, PING_TIMEOUT) {
            Ok(c) => {
                e.insert(match auth {
                    Some(a) => c.with_auth(a),
                    None => c,
                });
            }
            Err(_) => return Ping::Failed,
        }
    }
    let Some(conn) = connections.get(&at) else {
        return Ping::Failed;
    };
    let resolver = IObjectExporter::new(conn);
    PINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if id != 0 && added.is_empty() && removed.is_empty() {
        return match resolver.simple_ping(&id) {
            Ok(0) => Ping::Set(id),
            Ok(OR_INVALID_SET) => Ping::Forgotten,
            _ => Ping::Failed,
        };
    }
    let mut set = id;
    match resolver.complex_ping(
        &mut set,
        sequence,
        added.len() as u16,
        removed.len() as u16,
        added,
        removed,
    ) {
        Ok((0, _)) if set != 0 => Ping::Set(set),
        Ok((OR_INVALID_SET, _)) => Ping::Forgotten,
        _ => Ping::Failed,
    }
}
