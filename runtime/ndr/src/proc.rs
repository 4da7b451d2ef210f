//! Whole calls: a procedure's request and response, for the client (marshal the `[in]`
//! parameters from the caller's arguments, unmarshal the `[out]` ones into them) and for
//! the server (unmarshal the `[in]` parameters into memory it owns, let the implementation
//! run, marshal the `[out]` ones and the return value, free everything).
//!
//! Parameters are addressed as C addresses them: `args[i]` points to parameter `i`'s
//! value (a `long` for `[in] long x`, a pointer for `[out] long *p`), and `ret` to the
//! return value.

use comidl_runtime_core::CoTaskMemFree;

use crate::desc::{Count, Param, PointerKind, Proc, Type};
use crate::error::{NdrError, Result};
use crate::expr::{Scope, eval};
use crate::free::free_call;
use crate::layout::{mem_align, mem_size};
use crate::marshal::Marshaller;
use crate::unmarshal::{Limits, Unmarshaller};

/// The client's request: the `[in]` and `[in, out]` parameters in order.
///
/// # Safety
/// `args` has one valid pointer per parameter, to a value of its description.
pub unsafe fn marshal_request(proc: &Proc, args: &[*mut u8]) -> Result<Vec<u8>> {
    // SAFETY: forwarded.
    unsafe { marshal_request_after(proc, args, &[]) }
}

/// [`marshal_request`] after `head`, bytes the message starts with (DCOM's ORPCTHIS):
/// the parameters are aligned from the head's first byte.
///
/// # Safety
/// As [`marshal_request`].
pub unsafe fn marshal_request_after(proc: &Proc, args: &[*mut u8], head: &[u8]) -> Result<Vec<u8>> {
    check_arity(proc, args)?;
    let mut m = Marshaller::after(args, head);
    for (p, &slot) in proc.params.iter().zip(args) {
        if p.dir.is_in() {
            // SAFETY: forwarded.
            unsafe { m.param(p.ty, slot)? };
        }
    }
    Ok(m.into_bytes())
}

/// The client's side of the response: the `[out]` and `[in, out]` parameters into the
/// caller's memory, then the return value. The caller's `[out]`-only memory need not be
/// initialised: what a fixed-size `[out]` value holds is zeroed first (as MIDL's stubs do),
/// so nothing there is read as a pointer (a context handle the response replaces). On
/// failure everything this allocated is freed and every `[out]` value the caller gave is
/// left zeroed (a pointer NULL), never half filled.
///
/// # Safety
/// As [`marshal_request`], except that `[out]`-only values may be uninitialised; `ret`
/// points to memory for the return value (or is NULL when the procedure returns nothing).
pub unsafe fn unmarshal_response(
    proc: &Proc,
    args: &[*mut u8],
    ret: *mut u8,
    bytes: &[u8],
    limits: Limits,
) -> Result<()> {
    // SAFETY: forwarded.
    unsafe { unmarshal_response_at(proc, args, ret, bytes, 0, limits) }
}

/// [`unmarshal_response`] of a message whose first `start` bytes the caller read itself
/// (DCOM's ORPCTHAT): the values are aligned from the message's first byte.
///
/// # Safety
/// As [`unmarshal_response`].
pub unsafe fn unmarshal_response_at(
    proc: &Proc,
    args: &[*mut u8],
    ret: *mut u8,
    bytes: &[u8],
    start: usize,
    limits: Limits,
) -> Result<()> {
    check_arity(proc, args)?;
    // SAFETY: forwarded.
    unsafe { clear_outs(proc, args) };
    // An [in, out] interface pointer's old reference is the proxy's to release once the
    // response replaced it (COM's rule for [in, out] interface pointers).
    let old_interfaces: Vec<(*mut *mut std::ffi::c_void, *mut std::ffi::c_void)> = proc
        .params
        .iter()
        .zip(args)
        .filter(|(p, _)| p.dir == crate::desc::Direction::InOut)
        .filter_map(|(p, &slot)| match p.ty {
            Type::Pointer(ptr) if matches!(ptr.pointee, Type::Interface(_)) => {
                // SAFETY: a pointer parameter's slot holds the caller's pointer.
                let at = unsafe { slot.cast::<*mut *mut std::ffi::c_void>().read_unaligned() };
                // SAFETY: NULL, or the caller's interface pointer memory.
                (!at.is_null()).then(|| (at, unsafe { at.read_unaligned() }))
            }
            _ => None,
        })
        .collect();
    let mut u = Unmarshaller::new(bytes, args, limits);
    // The caller's buffers hold what the correlations say before the response changes
    // any value they name.
    let rooms: Vec<_> = proc
        .params
        .iter()
        .zip(args)
        // SAFETY: forwarded.
        .map(|(p, &slot)| unsafe { u.room(p.ty, slot) })
        .collect();
    let result = (|| {
        u.skip_to(start)?;
        for ((p, &slot), &room) in proc.params.iter().zip(args).zip(&rooms) {
            if p.dir.is_out() {
                // SAFETY: forwarded; the room was evaluated before anything was read.
                unsafe { u.param_in(p.ty, slot, room)? };
            }
        }
        if let Some(t) = proc.ret {
            if ret.is_null() {
                return Err(NdrError::InvalidBound);
            }
            // SAFETY: forwarded.
            unsafe { u.param(t, ret)? };
        }
        // SAFETY: the arguments are alive.
        unsafe { u.finish() }
    })();
    match result {
        Ok(()) => {
            u.commit();
            for (at, old) in old_interfaces {
                // SAFETY: the caller's memory; `old` was the caller's reference, now
                // replaced.
                if unsafe { at.read_unaligned() } != old {
                    // SAFETY: as above.
                    unsafe { crate::interface::release(old) };
                }
            }
            Ok(())
        }
        Err(e) => {
            u.abort();
            // SAFETY: forwarded.
            unsafe { clear_outs(proc, args) };
            Err(e)
        }
    }
}

/// Leaves every `[out]`-only parameter as a failed call leaves it: what a `[ref]`
/// pointer points to zeroed, where its size is known without a count.
///
/// # Safety
/// `args` has one pointer per parameter; an `[out]` parameter's pointer is NULL or points
/// to the caller's memory for a value of its pointee.
pub unsafe fn clear_outs(proc: &Proc, args: &[*mut u8]) {
    for (p, &slot) in proc.params.iter().zip(args) {
        if p.dir == crate::desc::Direction::Out {
            // SAFETY: the caller's [out] memory, for a value of the pointee.
            unsafe { zero_out(p.ty, slot) };
        }
    }
}

/// Zeroes what an `[out]` parameter points to, where its size is known without a count.
unsafe fn zero_out(ty: Type, slot: *mut u8) {
    let Type::Pointer(p) = ty else { return };
    // SAFETY: a pointer parameter's slot holds a pointer.
    let v = unsafe { slot.cast::<*mut u8>().read_unaligned() };
    if v.is_null() || p.kind != PointerKind::Ref {
        return;
    }
    if let Some(size) = crate::layout::fixed_size(p) {
        // SAFETY: the caller's [out] memory holds a value of the pointee.
        unsafe { v.write_bytes(0, size) };
    }
}

fn check_arity(proc: &Proc, args: &[*mut u8]) -> Result<()> {
    if args.len() != proc.params.len() || args.iter().any(|a| a.is_null()) {
        return Err(NdrError::InvalidBound);
    }
    Ok(())
}

/// A call on the server: the parameters unmarshalled from a request into memory this
/// owns, for the implementation to use through [`ServerCall::args`]. Dropping it frees
/// everything: what the request brought, and what the implementation allocated for its
/// `[out]` parameters.
pub struct ServerCall {
    proc: &'static Proc,
    slots: Vec<*mut u8>,
    ret: *mut u8,
}

impl ServerCall {
    /// Unmarshals a request. `[out]`-only parameters get zeroed memory of the size their
    /// correlations give (from the `[in]` values), as MIDL's server stubs allocate them.
    pub fn unmarshal(proc: &'static Proc, bytes: &[u8], limits: Limits) -> Result<ServerCall> {
        ServerCall::unmarshal_at(proc, bytes, 0, limits)
    }

    /// [`ServerCall::unmarshal`] of a request whose first `start` bytes the caller read
    /// itself (DCOM's ORPCTHIS): the values are aligned from the message's first byte.
    pub fn unmarshal_at(
        proc: &'static Proc,
        bytes: &[u8],
        start: usize,
        limits: Limits,
    ) -> Result<ServerCall> {
        let mut call = ServerCall {
            proc,
            slots: Vec::with_capacity(proc.params.len()),
            ret: std::ptr::null_mut(),
        };
        for p in proc.params {
            call.slots.push(slot_for(p.ty)?);
        }
        if let Some(t) = proc.ret {
            call.ret = slot_for(t)?;
        }
        let slots = call.slots.clone();
        let mut u = Unmarshaller::new(bytes, &slots, limits);
        let read = (|| {
            u.skip_to(start)?;
            for (p, &slot) in proc.params.iter().zip(&slots) {
                if p.dir.is_in() {
                    // SAFETY: each slot is zeroed memory for its parameter.
                    unsafe { u.param(p.ty, slot)? };
                }
            }
            // SAFETY: the slots are alive.
            unsafe { u.finish() }
        })();
        if let Err(e) = read {
            // What the slots point to is the unmarshaller's until it commits: freed here,
            // and the slots cleared, so dropping the call frees the slots and nothing twice.
            u.abort();
            for (p, &slot) in proc.params.iter().zip(&slots) {
                // SAFETY: each slot is a block of `slot_size` bytes.
                unsafe { slot.write_bytes(0, slot_size(p.ty)) };
            }
            return Err(e);
        }
        u.commit();
        let budget = limits.max_alloc;
        for (p, &slot) in proc.params.iter().zip(&slots) {
            if p.dir == crate::desc::Direction::Out {
                // SAFETY: the slots hold the [in] values the sizes name.
                unsafe { allocate_out(p, slot, &slots, budget)? };
            }
        }
        Ok(call)
    }

    /// Pointers to each parameter's value, as C's stub would pass them.
    pub fn args(&self) -> &[*mut u8] {
        &self.slots
    }

    /// The return value's memory (NULL for `void`).
    pub fn ret(&self) -> *mut u8 {
        self.ret
    }

    pub fn proc(&self) -> &'static Proc {
        self.proc
    }

    /// The response: the `[out]` and `[in, out]` parameters, then the return value.
    ///
    /// # Safety
    /// The implementation left every parameter valid for its description.
    pub unsafe fn marshal_response(&self) -> Result<Vec<u8>> {
        // SAFETY: forwarded.
        unsafe { self.marshal_response_after(&[]) }
    }

    /// [`ServerCall::marshal_response`] after `head`, bytes the reply starts with (DCOM's
    /// ORPCTHAT).
    ///
    /// # Safety
    /// As [`ServerCall::marshal_response`].
    pub unsafe fn marshal_response_after(&self, head: &[u8]) -> Result<Vec<u8>> {
        let mut m = Marshaller::after(&self.slots, head);
        for (p, &slot) in self.proc.params.iter().zip(&self.slots) {
            if p.dir.is_out() {
                // SAFETY: forwarded.
                unsafe { m.param(p.ty, slot)? };
            }
        }
        if let Some(t) = self.proc.ret {
            // SAFETY: forwarded.
            unsafe { m.param(t, self.ret)? };
        }
        Ok(m.into_bytes())
    }
}

impl Drop for ServerCall {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        // SAFETY: every slot is this call's, and what it points to was allocated by the
        // unmarshaller or the implementation from the task allocator; parameters that
        // share a referent (full pointers) are freed in one sweep.
        unsafe { free_call(self.proc, &slots, self.ret) };
        for s in slots
            .into_iter()
            .chain((!self.ret.is_null()).then_some(self.ret))
        {
            // SAFETY: the slots are task-allocator blocks of this call.
            unsafe { CoTaskMemFree(s.cast()) };
        }
    }
}

/// The bytes of one parameter's slot.
fn slot_size(ty: Type) -> usize {
    mem_size(ty).max(mem_align(ty)).max(8)
}

/// Zeroed memory for one parameter's value.
pub(crate) fn slot_for(ty: Type) -> Result<*mut u8> {
    let size = slot_size(ty);
    let p = comidl_runtime_core::CoTaskMemAlloc(size).cast::<u8>();
    if p.is_null() {
        return Err(NdrError::OutOfMemory);
    }
    // SAFETY: a fresh block of `size` bytes.
    unsafe { p.write_bytes(0, size) };
    Ok(p)
}

/// The referent of an `[out]`-only top-level `[ref]` pointer, sized from the `[in]` values.
pub(crate) unsafe fn allocate_out(
    p: &Param,
    slot: *mut u8,
    params: &[*mut u8],
    budget: usize,
) -> Result<()> {
    let Type::Pointer(ptr) = p.ty else {
        return Ok(());
    };
    if ptr.kind != PointerKind::Ref {
        return Ok(());
    }
    let scope = Scope {
        params,
        base: std::ptr::null(),
    };
    let size = match ptr.pointee {
        Type::Array(a) => match a.count {
            Count::Fixed(n) => a.stride.saturating_mul(n as usize),
            // SAFETY: the [in] parameters are unmarshalled.
            Count::Conformant(e) => {
                let n = unsafe { eval(e, scope)? };
                let n = usize::try_from(n).map_err(|_| NdrError::InvalidBound)?;
                n.checked_mul(a.stride).ok_or(NdrError::TooLarge)?
            }
        },
        Type::String(s) => match (s.fixed, s.size) {
            (Some(n), _) => s.char_size * n as usize,
            (None, Some(e)) => {
                // SAFETY: as above.
                let n = unsafe { eval(e, scope)? };
                let n = usize::try_from(n).map_err(|_| NdrError::InvalidBound)?;
                n.checked_mul(s.char_size).ok_or(NdrError::TooLarge)?
            }
            (None, None) => return Err(NdrError::InvalidBound),
        },
        t => mem_size(t),
    };
    if size > budget {
        return Err(NdrError::TooLarge);
    }
    let mem = comidl_runtime_core::CoTaskMemAlloc(size.max(1)).cast::<u8>();
    if mem.is_null() {
        return Err(NdrError::OutOfMemory);
    }
    // SAFETY: a fresh block; the slot holds a pointer.
    unsafe {
        mem.write_bytes(0, size.max(1));
        slot.cast::<*mut u8>().write_unaligned(mem);
    }
    Ok(())
}
