//! What the service knows of this machine: the object exporters of its COM processes
//! (they register over the local socket, [`IComidlMachineResolver`]), and the ping sets
//! of the clients on other machines (MS-DCOM 3.1.2.5.1.2-3: a set per client, the OIDs it
//! holds, kept alive by SimplePing and changed by ComplexPing).
//!
//! [`IComidlMachineResolver`]: comidl_runtime::dcom::activation::bindings::IComidlMachineResolver_Handler

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use comidl_runtime::GUID;
use comidl_runtime::dcom::activation::bindings::{IComidlMachineResolver_Handler, owned};
use comidl_runtime::dcom::activation::props::{guid_of, owned_bindings};
use comidl_runtime::dcom::{DualStringArray, SecurityBinding, StringBinding};
use comidl_runtime::ndr::Fault;
use comidl_runtime::rpc::Protseq;
use comidl_runtime::rpc::auth::AuthnLevel;
use comidl_runtime::rpc::server::context;

/// ncacn_ip_tcp's tower id.
pub const TOWER_TCP: u16 = 0x07;
/// OR_INVALID_OXID, OR_INVALID_SET (MS-DCOM 2.2.28.1 and MS-ERREF).
pub const OR_INVALID_OXID: u32 = 1910;
pub const OR_INVALID_SET: u32 = 1911;
/// ERROR_OUTOFMEMORY: the service keeps no more sets.
const ERROR_OUTOFMEMORY: u32 = 14;

/// The service's settings that this part needs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The names the machine is reached by (host name, addresses).
    pub names: Vec<String>,
    /// The service's TCP port (135 unless configured).
    pub port: u16,
    pub ping_period: Duration,
    /// The lowest authentication level a client on another machine may use.
    pub min_level: AuthnLevel,
    /// The security bindings OXID bindings carry (the authentication services served).
    pub security: Vec<SecurityBinding>,
}

/// One registered object exporter.
#[derive(Clone, Debug)]
pub struct Exporter {
    pub pid: i32,
    pub rem_unknown: GUID,
    pub port: u16,
}

struct Set {
    oids: HashSet<u64>,
    sequence: u16,
    last: Instant,
}

pub struct Machine {
    pub settings: Settings,
    started: Instant,
    exporters: Mutex<HashMap<u64, Exporter>>,
    sets: Mutex<HashMap<u64, Set>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The most OIDs one ping set may hold, and sets the service keeps: a client cannot make
/// it grow without bound.
const MAX_SET_OIDS: usize = 1 << 16;
const MAX_SETS: usize = 1 << 14;

impl Machine {
    pub fn new(settings: Settings) -> Machine {
        Machine {
            settings,
            started: Instant::now(),
            exporters: Mutex::default(),
            sets: Mutex::default(),
        }
    }

    /// Where the exporter listening on `port` is reached: every machine name with the port.
    pub fn exporter_bindings(&self, port: u16) -> DualStringArray {
        DualStringArray {
            string_bindings: self
                .settings
                .names
                .iter()
                .map(|n| StringBinding {
                    tower_id: TOWER_TCP,
                    network_addr: format!("{n}[{port}]"),
                })
                .collect(),
            security_bindings: self.settings.security.clone(),
        }
    }

    /// Where this resolver is reached: the machine names, with the port when it is not
    /// the well-known 135.
    pub fn resolver_bindings(&self) -> DualStringArray {
        let port = self.settings.port;
        DualStringArray {
            string_bindings: self
                .settings
                .names
                .iter()
                .map(|n| StringBinding {
                    tower_id: TOWER_TCP,
                    network_addr: if port == 135 {
                        n.clone()
                    } else {
                        format!("{n}[{port}]")
                    },
                })
                .collect(),
            security_bindings: self.settings.security.clone(),
        }
    }

    pub fn exporter(&self, oxid: u64) -> Option<Exporter> {
        lock(&self.exporters).get(&oxid).cloned()
    }

    /// Forgets exporters whose process is gone; how many there are now.
    pub fn prune(&self) -> usize {
        let mut e = lock(&self.exporters);
        e.retain(|_, x| comidl_runtime::dcom::local::alive(x.pid));
        e.len()
    }

    /// ComplexPing: the set `set` (0: a new one) with `add` added and `del` taken out;
    /// the set's id, or a status.
    pub fn complex_ping(
        &self,
        set: u64,
        sequence: u16,
        add: &[u64],
        del: &[u64],
    ) -> Result<u64, u32> {
        let mut sets = lock(&self.sets);
        let id = if set == 0 {
            if sets.len() >= MAX_SETS {
                return Err(ERROR_OUTOFMEMORY);
            }
            let mut id;
            loop {
                id = (GUID::new_v4().to_u128() as u64) | 1;
                if !sets.contains_key(&id) {
                    break;
                }
            }
            sets.insert(
                id,
                Set {
                    oids: HashSet::new(),
                    sequence,
                    last: Instant::now(),
                },
            );
            id
        } else {
            set
        };
        let s = sets.get_mut(&id).ok_or(OR_INVALID_SET)?;
        // A repeated or older sequence number changes nothing (3.1.2.5.1.3).
        if set == 0 || sequence != s.sequence {
            for o in del {
                s.oids.remove(o);
            }
            for o in add {
                if s.oids.len() >= MAX_SET_OIDS {
                    break;
                }
                s.oids.insert(*o);
            }
            s.sequence = sequence;
        }
        s.last = Instant::now();
        Ok(id)
    }

    /// How many ping sets the service keeps now.
    pub fn set_count(&self) -> usize {
        lock(&self.sets).len()
    }

    /// SimplePing: the set lives on.
    pub fn simple_ping(&self, set: u64) -> u32 {
        match lock(&self.sets).get_mut(&set) {
            Some(s) => {
                s.last = Instant::now();
                0
            }
            None => OR_INVALID_SET,
        }
    }

    /// Drops the sets not pinged for three periods (their clients are gone).
    pub fn expire_sets(&self) {
        let limit = self.settings.ping_period * 3;
        lock(&self.sets).retain(|_, s| s.last.elapsed() < limit);
    }

    /// Whether a client pinged `oid` in the last period (with some slack). While the
    /// service is younger than three periods, every object counts as pinged: the sets of
    /// a service that restarted are lost, and their clients re-send them.
    fn pinged(&self, sets: &HashMap<u64, Set>, oid: u64) -> bool {
        let period = self.settings.ping_period;
        if self.started.elapsed() < period * 3 {
            return true;
        }
        sets.values()
            .any(|s| s.last.elapsed() < period * 2 && s.oids.contains(&oid))
    }
}

/// Who calls on the local socket: only local processes, by their kernel credentials.
fn local_caller() -> Option<(u32, i32)> {
    let c = context::current()?;
    if c.protseq != Protseq::Local {
        return None;
    }
    Some((c.peer_uid?, c.peer_pid?))
}

/// RPC_S_ACCESS_DENIED.
const ACCESS_DENIED: u32 = 5;

impl IComidlMachineResolver_Handler for Machine {
    fn register_exporter(
        &self,
        oxid: u64,
        ipid_rem_unknown: owned::GUID,
        tcp_port: u16,
    ) -> Result<(u32, Option<Box<owned::DUALSTRINGARRAY>>, u32, u32), Fault> {
        let Some((_uid, pid)) = local_caller() else {
            return Ok((ACCESS_DENIED, None, 0, 0));
        };
        let Ok(rem_unknown) = guid_of(&ipid_rem_unknown) else {
            return Err(Fault::BAD_STUB_DATA);
        };
        {
            let mut e = lock(&self.exporters);
            // An OXID another process registered stays theirs.
            if e.get(&oxid).is_some_and(|x| x.pid != pid) {
                return Ok((ACCESS_DENIED, None, 0, 0));
            }
            e.insert(
                oxid,
                Exporter {
                    pid,
                    rem_unknown,
                    port: tcp_port,
                },
            );
        }
        let period = u32::try_from(self.settings.ping_period.as_millis()).unwrap_or(u32::MAX);
        Ok((
            0,
            owned_bindings(&self.resolver_bindings()).ok().map(Box::new),
            period,
            self.settings.min_level as u32,
        ))
    }

    fn unregister_exporter(&self, oxid: u64) -> Result<u32, Fault> {
        let Some((_, pid)) = local_caller() else {
            return Ok(ACCESS_DENIED);
        };
        let mut e = lock(&self.exporters);
        match e.get(&oxid) {
            Some(x) if x.pid == pid => {
                e.remove(&oxid);
                Ok(0)
            }
            Some(_) => Ok(ACCESS_DENIED),
            None => Ok(OR_INVALID_OXID),
        }
    }

    fn pinged_objects(
        &self,
        oxid: u64,
        _c_oids: u32,
        oids: Vec<u64>,
    ) -> Result<(u32, Vec<u8>), Fault> {
        let Some((_, pid)) = local_caller() else {
            return Ok((ACCESS_DENIED, Vec::new()));
        };
        if self.exporter(oxid).is_none_or(|x| x.pid != pid) {
            return Ok((OR_INVALID_OXID, Vec::new()));
        }
        let sets = lock(&self.sets);
        let alive = oids
            .iter()
            .map(|o| u8::from(self.pinged(&sets, *o)))
            .collect();
        Ok((0, alive))
    }
}
