//! The proxy/stub table: for each interface that can cross a process, what its proxy and
//! its stub are made of ([`ProxyStub`]). The compiler emits one per object interface
//! (`IFoo_PROXY_STUB`, beside its NDR description); a program registers those of the
//! interfaces it marshals ([`register`]) or links them through a crate that does.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{OnceLock, RwLock};

use comidl_runtime_core::{GUID, IUnknown_Vtbl};
use comidl_runtime_ndr::{Interface, Proc};

/// What marshalling one object interface takes.
pub struct ProxyStub {
    pub iid: GUID,
    /// The interface's own methods (opnums are vtable slots, from the first after its
    /// base's), without ORPCTHIS / ORPCTHAT, which the proxy and stub add.
    pub interface: &'static Interface,
    /// The base interface's, for inherited methods; `None` when the base is IUnknown.
    pub base: Option<&'static ProxyStub>,
    /// The proxy's vtable: every slot calls the engine, IUnknown's go to the proxy
    /// manager ([`crate::proxy::PROXY_IUNKNOWN_VTBL`]).
    pub vtbl: Vtbl,
    /// The stub's side: calls slot `opnum` of `itf` with the arguments the engine
    /// unmarshalled (`args[i]` points to parameter `i`), the return value into `ret`;
    /// `false` when the interface itself has no such slot (an inherited one).
    pub invoke: unsafe fn(itf: *mut c_void, opnum: u16, args: &[*mut u8], ret: *mut u8) -> bool,
}

/// A pointer to a proxy vtable (a `static` of the interface's `_Vtbl` type, whose first
/// part is an `IUnknown_Vtbl`).
#[derive(Clone, Copy)]
pub struct Vtbl(pub *const IUnknown_Vtbl);

// SAFETY: a proxy vtable is an immutable static of function pointers.
unsafe impl Sync for Vtbl {}
// SAFETY: as above.
unsafe impl Send for Vtbl {}

impl ProxyStub {
    /// The procedure for slot `opnum`, here or in a base interface, with the table that
    /// owns it.
    pub fn proc(&'static self, opnum: u16) -> Option<(&'static ProxyStub, &'static Proc)> {
        let mut ps = Some(self);
        for _ in 0..64 {
            let p = ps?;
            if let Some(proc) = p.interface.procs.iter().find(|q| q.opnum == opnum) {
                return Some((p, proc));
            }
            ps = p.base;
        }
        None
    }

    /// Whether this interface is `iid` or derives from it.
    pub fn derives_from(&'static self, iid: &GUID) -> bool {
        let mut ps = Some(self);
        for _ in 0..64 {
            match ps {
                Some(p) if p.iid == *iid => return true,
                Some(p) => ps = p.base,
                None => return false,
            }
        }
        false
    }
}

fn table() -> &'static RwLock<HashMap<GUID, &'static ProxyStub>> {
    static TABLE: OnceLock<RwLock<HashMap<GUID, &'static ProxyStub>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for ps in crate::remunknown::BUILT_IN {
            m.insert(ps.iid, *ps);
        }
        RwLock::new(m)
    })
}

/// Makes interfaces marshallable in this process: their proxies and stubs (with their
/// base interfaces'). Registering one twice is harmless.
pub fn register(interfaces: &[&'static ProxyStub]) {
    let mut t = match table().write() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    for &ps in interfaces {
        let mut p = Some(ps);
        for _ in 0..64 {
            let Some(q) = p else { break };
            t.entry(q.iid).or_insert(q);
            p = q.base;
        }
    }
}

/// The proxy/stub of interface `iid`, if registered.
pub fn lookup(iid: &GUID) -> Option<&'static ProxyStub> {
    let t = match table().read() {
        Ok(t) => t,
        Err(p) => p.into_inner(),
    };
    t.get(iid).copied()
}
