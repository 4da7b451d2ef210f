//! The proxy/stub table: for each interface that can cross a process, what its proxy and
//! its stub are made of ([`ProxyStub`]). The compiler emits one per object interface
//! (`IFoo_PROXY_STUB`, beside its NDR description); a program registers those of the
//! interfaces it marshals ([`register`]) or links them through a crate that does.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use comidl_runtime_core::{ComPtr, GUID, IUnknown_Vtbl};
use comidl_runtime_ndr::{Interface, Proc};

use crate::bindings::IPSFactoryBuffer;

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

/// Finds the proxy/stub module of an interface this process has no linked proxy/stub
/// for: the class `Interface\{iid}\ProxyStubClsid32` names, as its IPSFactoryBuffer. The
/// activation layer (which reads the registry and loads modules) hands it in.
pub type FactorySource = fn(&GUID) -> Option<ComPtr<IPSFactoryBuffer>>;

static FACTORY_SOURCE: OnceLock<FactorySource> = OnceLock::new();

/// Sets where proxy/stub modules come from (see [`FactorySource`]); the first call wins.
pub fn set_factory_source(source: FactorySource) {
    let _ = FACTORY_SOURCE.set(source);
}

/// An interface marshalled by a proxy/stub module's factory.
pub(crate) struct ModuleInterface {
    pub iid: GUID,
    /// The factory (an IPSFactoryBuffer pointer with a reference this holds for the
    /// process's life, which keeps the module loaded, as COM keeps proxy/stub modules).
    factory: *mut c_void,
    /// The presentation syntax calls of the interface bind to: its IID, version 0.0.
    pub syntax: &'static Interface,
}

// SAFETY: proxy/stub factories are free-threaded objects (any thread may call them).
unsafe impl Send for ModuleInterface {}
// SAFETY: as above.
unsafe impl Sync for ModuleInterface {}

impl ModuleInterface {
    /// The factory, borrowed.
    pub(crate) fn factory(&self) -> Option<IPSFactoryBuffer> {
        // SAFETY: the reference this holds keeps the pointer live and non-null.
        unsafe {
            <IPSFactoryBuffer as comidl_runtime_core::Interface>::from_raw_borrowed(self.factory)
        }
    }
}

/// How interface `iid` crosses processes here: a linked proxy/stub, or a module's.
#[derive(Clone)]
pub(crate) enum Marshaler {
    Linked(&'static ProxyStub),
    Module(Arc<ModuleInterface>),
}

/// How interface `iid` is marshalled, if it can be: the linked proxy/stub, else the
/// registered proxy/stub module's factory (found once, then kept).
pub(crate) fn resolve(iid: &GUID) -> Option<Marshaler> {
    if let Some(ps) = lookup(iid) {
        return Some(Marshaler::Linked(ps));
    }
    static MODULES: OnceLock<Mutex<HashMap<GUID, Arc<ModuleInterface>>>> = OnceLock::new();
    let modules = MODULES.get_or_init(Mutex::default);
    let lock = || match modules.lock() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    if let Some(m) = lock().get(iid) {
        return Some(Marshaler::Module(m.clone()));
    }
    let factory = (FACTORY_SOURCE.get()?)(iid)?;
    let mut m = lock();
    let entry = m.entry(*iid).or_insert_with(|| {
        Arc::new(ModuleInterface {
            iid: *iid,
            factory: factory.into_raw(),
            syntax: Box::leak(Box::new(Interface {
                name: "(an interface of a proxy/stub module)",
                uuid: *iid,
                version: (0, 0),
                procs: &[],
            })),
        })
    });
    Some(Marshaler::Module(entry.clone()))
}
