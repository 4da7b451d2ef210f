//! The exporter's IRemUnknown2 object (MS-DCOM 3.1.1.5.6): QueryInterface and reference
//! counting for every object of the exporter, called by clients' proxy managers. It is an
//! ordinary COM object served through the generated stub of IRemUnknown2, on an IPID the
//! exporter pins (ResolveOxid2 names it).
//!
//! Also the built-in proxy/stubs: IUnknown's (no methods: a proxy for an object of which
//! only its identity is known) and IRemUnknown / IRemUnknown2.

use std::ffi::c_void;

use comidl_runtime_core::{
    CoTaskMemAlloc, ComObject, ComPtr, E_INVALIDARG, E_OUTOFMEMORY, GUID, HRESULT, IID_IUnknown,
    RPC_E_INVALID_IPID, Result, S_OK,
};
use comidl_runtime_ndr::Interface;

use crate::bindings::{
    IPID, IRemUnknown_Impl, IRemUnknown2, IRemUnknown2_Impl, PMInterfacePointer, REMINTERFACEREF,
    REMQIRESULT, STDOBJREF,
};
use crate::exporter::{Keep, started};
use crate::interfaces::{ProxyStub, Vtbl};
use crate::unk;

/// The description of IUnknown for ORPC: no methods of its own (its three are local to
/// the proxy manager, and IRemUnknown stands for them on the wire).
static IUNKNOWN_INTERFACE: Interface = Interface {
    name: "IUnknown",
    uuid: IID_IUnknown,
    version: (0, 0),
    procs: &[],
};

unsafe fn no_methods(_itf: *mut c_void, _opnum: u16, _args: &[*mut u8], _ret: *mut u8) -> bool {
    false
}

/// IUnknown's proxy/stub.
pub static IUNKNOWN_PROXY_STUB: ProxyStub = ProxyStub {
    iid: IID_IUnknown,
    interface: &IUNKNOWN_INTERFACE,
    base: None,
    vtbl: Vtbl(&crate::proxy::PROXY_IUNKNOWN_VTBL),
    invoke: no_methods,
};

/// The proxy/stubs every process has.
pub(crate) static BUILT_IN: &[&ProxyStub] = &[
    &IUNKNOWN_PROXY_STUB,
    &crate::classfactory::ICLASSFACTORY_PROXY_STUB,
    &crate::bindings::IRemUnknown_PROXY_STUB,
    &crate::bindings::IRemUnknown2_PROXY_STUB,
];

struct RemUnknown;

comidl_runtime_core::implement!(RemUnknown: IRemUnknown2);

/// A new IRemUnknown2 object. Like a class object, it does not count among the module's
/// objects: the runtime's own, it must not keep a server process alive.
pub(crate) fn new() -> Result<ComPtr<IRemUnknown2>> {
    ComObject::new_class_object(RemUnknown).cast::<IRemUnknown2>()
}

/// The object `ripid` names: its identity, with a reference.
fn identity(ripid: &IPID) -> Result<Identity> {
    let e = started().ok_or(RPC_E_INVALID_IPID)?;
    e.identity_of(ripid).map(Identity).ok_or(RPC_E_INVALID_IPID)
}

/// An identity reference, released when dropped.
struct Identity(*mut c_void);

impl Drop for Identity {
    fn drop(&mut self) {
        // SAFETY: a reference `identity_of` gave us.
        unsafe { unk::release(self.0) };
    }
}

/// `n` elements of `T` from the task allocator, zeroed (the stub frees them).
fn alloc_array<T>(n: usize) -> Result<*mut T> {
    let size = n.checked_mul(size_of::<T>()).ok_or(E_OUTOFMEMORY)?;
    let p = CoTaskMemAlloc(size.max(1)).cast::<T>();
    if p.is_null() {
        return Err(E_OUTOFMEMORY);
    }
    // SAFETY: a fresh block of at least `size` bytes.
    unsafe { p.cast::<u8>().write_bytes(0, size.max(1)) };
    Ok(p)
}

/// The IIDs the engine unmarshalled.
///
/// # Safety
/// `iids` points to `n` IIDs (or `n` is 0).
unsafe fn iid_slice<'a>(iids: *const GUID, n: u16) -> &'a [GUID] {
    if n == 0 || iids.is_null() {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(iids, usize::from(n)) }
}

impl IRemUnknown_Impl for RemUnknown {
    fn rem_query_interface(
        &self,
        ripid: &IPID,
        c_refs: u32,
        c_iids: u16,
        iids: *mut GUID,
    ) -> Result<*mut REMQIRESULT> {
        if c_refs == 0 {
            return Err(E_INVALIDARG);
        }
        let e = started().ok_or(RPC_E_INVALID_IPID)?;
        let id = identity(ripid)?;
        // SAFETY: the stub unmarshalled `c_iids` IIDs there.
        let iids = unsafe { iid_slice(iids, c_iids) };
        let out = alloc_array::<REMQIRESULT>(iids.len())?;
        for (k, iid) in iids.iter().enumerate() {
            // SAFETY: `id` is a live identity pointer; objects served here are
            // free-threaded.
            let r = match unsafe { e.export(id.0, iid, c_refs, Keep::Normal) } {
                Ok(std) => REMQIRESULT {
                    hResult: S_OK,
                    std: STDOBJREF {
                        flags: std.flags,
                        cPublicRefs: std.public_refs,
                        oxid: std.oxid,
                        oid: std.oid,
                        ipid: std.ipid,
                    },
                },
                Err(hr) => REMQIRESULT {
                    hResult: hr,
                    std: STDOBJREF::default(),
                },
            };
            // SAFETY: `out` holds `iids.len()` elements.
            unsafe { out.add(k).write(r) };
        }
        Ok(out)
    }

    fn rem_add_ref(
        &self,
        interface_refs: &[REMINTERFACEREF],
        p_results: &mut [HRESULT],
    ) -> Result<()> {
        let e = started().ok_or(RPC_E_INVALID_IPID)?;
        let mut all = S_OK;
        for (r, out) in interface_refs.iter().zip(p_results.iter_mut()) {
            *out = e.add_refs(&r.ipid, r.cPublicRefs, r.cPrivateRefs);
            if out.is_err() {
                all = *out;
            }
        }
        all.ok()
    }

    fn rem_release(&self, interface_refs: &[REMINTERFACEREF]) -> Result<()> {
        let e = started().ok_or(RPC_E_INVALID_IPID)?;
        let mut all = S_OK;
        for r in interface_refs {
            let hr = e.release_refs(&r.ipid, r.cPublicRefs, r.cPrivateRefs);
            if hr.is_err() {
                all = hr;
            }
        }
        all.ok()
    }
}

impl IRemUnknown2_Impl for RemUnknown {
    fn rem_query_interface2(
        &self,
        ripid: &IPID,
        c_iids: u16,
        iids: *mut GUID,
        phr: *mut HRESULT,
        pp_mif: *mut PMInterfacePointer,
    ) -> Result<()> {
        let e = started().ok_or(RPC_E_INVALID_IPID)?;
        let id = identity(ripid)?;
        // SAFETY: the stub unmarshalled `c_iids` IIDs there and gave [out] arrays as long.
        let iids = unsafe { iid_slice(iids, c_iids) };
        for (k, iid) in iids.iter().enumerate() {
            // SAFETY: as in `rem_query_interface`.
            let made = unsafe { e.export(id.0, iid, 1, Keep::Normal) }.and_then(|std| {
                let bytes = e.objref(*iid, std).encode().map_err(|_| E_OUTOFMEMORY)?;
                let mip = alloc_array::<u8>(4 + bytes.len())?;
                // SAFETY: a block of 4 + len bytes: the count, then the OBJREF.
                unsafe {
                    mip.cast::<u32>().write_unaligned(bytes.len() as u32);
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), mip.add(4), bytes.len());
                }
                Ok(mip.cast())
            });
            // SAFETY: `phr` and `pp_mif` hold `c_iids` elements.
            unsafe {
                match made {
                    Ok(p) => {
                        phr.add(k).write(S_OK);
                        pp_mif.add(k).write(p);
                    }
                    Err(hr) => {
                        phr.add(k).write(hr);
                        pp_mif.add(k).write(std::ptr::null_mut());
                    }
                }
            }
        }
        Ok(())
    }
}
