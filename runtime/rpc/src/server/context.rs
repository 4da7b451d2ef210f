//! Who is calling, and the state a client keeps on the server: context handles.
//!
//! While a server stub runs, [`current`] tells it about the call (transport, peer, the
//! peer's uid on ncalrpc, the object UUID, the association group) — what
//! `RpcServerInqCallAttributes` tells a Windows server.
//!
//! Context handles (C706 and MS-RPCE 3.3.1.4.1: a 20-byte wire form, an attribute and a
//! UUID) belong to the client's association group. A server creates one with [`create`]
//! giving the state it stands for, reaches the state with [`with`], and ends it with
//! [`close`]. When the group's last connection is gone (the client died or hung up), the
//! handles still open are run down: their states are dropped, so a state's `Drop` is its
//! rundown routine. A handle from another group, or one already closed, is refused with
//! nca_s_fault_context_mismatch.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::{ContextHandle, Fault};

use crate::Protseq;

/// nca_s_fault_context_mismatch: the handle is not one this client holds.
pub const CONTEXT_MISMATCH: Fault = Fault(0x1C00_001A);

/// What a server knows about the call it is running.
#[derive(Clone, Debug)]
pub struct CallInfo {
    pub protseq: Protseq,
    /// The peer's address: `ip:port` over TCP; empty over ncalrpc.
    pub peer: String,
    /// Over ncalrpc, the peer process's credentials from the kernel (SO_PEERCRED).
    pub peer_uid: Option<u32>,
    pub peer_pid: Option<i32>,
    /// The object UUID the request named (PFC_OBJECT_UUID).
    pub object: Option<GUID>,
    pub opnum: u16,
    /// The association group the connection belongs to.
    pub assoc_group: u32,
    /// The call's authentication level (`None` when unauthenticated).
    pub authn_level: crate::auth::AuthnLevel,
    /// The user NTLM authenticated, for an authenticated call.
    pub user: Option<String>,
    pub(crate) group: Arc<Group>,
}

impl CallInfo {
    /// A token for the calling client that says, later, whether it is still there (its
    /// association group has a connection), for state a server keeps per client outside
    /// context handles.
    pub fn client(&self) -> ClientRef {
        ClientRef(Arc::downgrade(&self.group))
    }
}

/// See [`CallInfo::client`].
#[derive(Clone, Debug)]
pub struct ClientRef(std::sync::Weak<Group>);

impl ClientRef {
    /// Whether the client's last connection has gone.
    pub fn is_gone(&self) -> bool {
        self.0.strong_count() == 0
    }

    /// Whether both name the same client.
    pub fn same(&self, other: &ClientRef) -> bool {
        std::sync::Weak::ptr_eq(&self.0, &other.0)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<CallInfo>> = const { RefCell::new(None) };
}

/// The call this thread is serving, if any.
pub fn current() -> Option<CallInfo> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `f` of the call this thread is serving, without copying it (for per-call checks).
pub fn with_current<R>(f: impl FnOnce(Option<&CallInfo>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().as_ref()))
}

/// Runs `f` as the call `info` (the worker's side).
pub(crate) fn serving<R>(info: CallInfo, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.borrow_mut().take());
        }
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(info));
    let _reset = Reset;
    f()
}

type State = Arc<Mutex<Box<dyn Any + Send>>>;

/// An association group: the connections one client binds together, and its handles.
#[derive(Debug)]
pub struct Group {
    pub id: u32,
    handles: Mutex<HashMap<[u8; 16], State>>,
    max_handles: usize,
}

impl Group {
    pub(crate) fn new(id: u32, max_handles: usize) -> Group {
        Group {
            id,
            handles: Mutex::new(HashMap::new()),
            max_handles,
        }
    }

    /// How many context handles the group holds open.
    pub fn open_handles(&self) -> usize {
        self.handles.lock().map_or(0, |h| h.len())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Rundown: each state's Drop runs here; one that panics must not take the
        // server's thread with it, nor keep the others from running down.
        let handles = match self.handles.get_mut() {
            Ok(h) => std::mem::take(h),
            Err(p) => std::mem::take(p.into_inner()),
        };
        for (_, state) in handles {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(state)));
        }
    }
}

fn group() -> Result<Arc<Group>, Fault> {
    CURRENT
        .with(|c| c.borrow().as_ref().map(|i| i.group.clone()))
        .ok_or(CONTEXT_MISMATCH)
}

fn key(h: &ContextHandle) -> Result<[u8; 16], Fault> {
    // Bytes 0..4 are the attributes (0 for a live handle), 4..20 the UUID.
    if h.is_nil() || h.0[..4] != [0; 4] {
        return Err(CONTEXT_MISMATCH);
    }
    let mut k = [0u8; 16];
    k.copy_from_slice(&h.0[4..]);
    Ok(k)
}

/// Opens a context handle for the calling client, standing for `state`.
pub fn create<T: Send + 'static>(state: T) -> Result<ContextHandle, Fault> {
    let g = group()?;
    let mut handles = g.handles.lock().map_err(|_| Fault::UNSPECIFIED)?;
    if handles.len() >= g.max_handles {
        return Err(Fault::NO_MEMORY);
    }
    let uuid = loop {
        let u = GUID::try_new_v4()
            .map_err(|_| Fault::UNSPECIFIED)?
            .to_bytes_le();
        if !handles.contains_key(&u) {
            break u;
        }
    };
    handles.insert(uuid, Arc::new(Mutex::new(Box::new(state))));
    let mut h = ContextHandle::default();
    h.0[4..].copy_from_slice(&uuid);
    Ok(h)
}

/// Runs `f` on the state of a handle the calling client holds. Calls on one handle are
/// serialized (MIDL's default for context handles).
pub fn with<T: 'static, R>(h: &ContextHandle, f: impl FnOnce(&mut T) -> R) -> Result<R, Fault> {
    let k = key(h)?;
    let g = group()?;
    let state = {
        let handles = g.handles.lock().map_err(|_| Fault::UNSPECIFIED)?;
        handles.get(&k).cloned().ok_or(CONTEXT_MISMATCH)?
    };
    let mut s = state.lock().map_err(|_| Fault::UNSPECIFIED)?;
    let t = s.downcast_mut::<T>().ok_or(CONTEXT_MISMATCH)?;
    Ok(f(t))
}

/// Closes a handle: its state is returned (dropping it is the rundown), and the nil handle
/// that the client must receive in its place.
pub fn close(h: &ContextHandle) -> Result<(Box<dyn Any + Send>, ContextHandle), Fault> {
    let k = key(h)?;
    let g = group()?;
    let state = g
        .handles
        .lock()
        .map_err(|_| Fault::UNSPECIFIED)?
        .remove(&k)
        .ok_or(CONTEXT_MISMATCH)?;
    // A call still using the state holds a clone; wait for it by taking the lock.
    let boxed = match Arc::try_unwrap(state) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(shared) => {
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *s, Box::new(()))
        }
    };
    Ok((boxed, ContextHandle::default()))
}
