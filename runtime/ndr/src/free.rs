//! Freeing what unmarshalling (or a server implementation) allocated for a value: every
//! referent of its pointers, depth first, each once (full pointers may alias), from the
//! task allocator. The value's own memory is its owner's to free.

use std::collections::HashSet;

use comidl_runtime_core::{CoTaskMemFree, SysFreeString};

use crate::desc::{Count, Proc, Selector, Type};
use crate::expr::{Scope, eval};
use crate::layout::read_base;
use crate::marshal::arm;

/// The blocks reachable from one or more values, found first and freed at the end, each
/// once: full pointers may alias, within a value and across the parameters of a call, so
/// everything one call owns is freed in one sweep. Pointers are cleared only when every
/// block is found, so a correlation read through a pointer (`size_is(*pn)`) still reads
/// its value while the values are walked.
#[derive(Default)]
pub struct Sweep {
    blocks: Vec<*mut u8>,
    seen: HashSet<usize>,
    /// Where the pointers to the blocks are, to be set to NULL.
    pointers: Vec<*mut *mut u8>,
    /// Presented values of user-marshalled types, freed by their routines first.
    pub(crate) users: Vec<(&'static crate::desc::UserType, *mut u8)>,
    /// Interface pointers, released at the end (each slot once).
    interfaces: Vec<*mut *mut std::ffi::c_void>,
}

impl Sweep {
    pub fn new() -> Sweep {
        Sweep::default()
    }

    /// Adds the referents reachable from a value of `ty` at `mem` (not `mem` itself).
    /// Counts are read from memory as marshalling reads them; a count that cannot be read
    /// frees nothing more below it rather than guess. An explicit stack, so a list of any
    /// length needs no deep native stack.
    ///
    /// # Safety
    /// `mem` holds a value of `ty` whose pointers are NULL or task-allocator blocks owned
    /// by it, with consistent correlations; `params` as for marshalling. The memory stays
    /// as it is until [`Sweep::free`].
    pub unsafe fn value(&mut self, ty: Type, mem: *mut u8, base: *const u8, params: &[*mut u8]) {
        let mut stack = vec![(ty, mem, base)];
        while let Some((ty, mem, base)) = stack.pop() {
            // SAFETY: forwarded; referents pushed are live blocks of their pointee type.
            unsafe { walk(ty, mem, base, params, &mut stack, self, 0) };
        }
    }

    /// Whether a block (or a BSTR) is among those found.
    pub(crate) fn holds(&self, p: usize) -> bool {
        self.seen.contains(&p)
    }

    /// Clears every pointer found and frees every block.
    ///
    /// # Safety
    /// The values added are still alive, and their blocks are theirs to free.
    pub unsafe fn free(self) {
        for slot in self.interfaces {
            // SAFETY: an interface pointer inside a live value, owning one reference.
            unsafe {
                let itf = slot.read_unaligned();
                slot.write_unaligned(std::ptr::null_mut());
                crate::interface::release(itf);
            }
        }
        for &(u, mem) in self.users.iter().rev() {
            // SAFETY: a presented value inside a live value or block (freed below).
            unsafe { (u.routines.free)(mem) };
        }
        for p in self.pointers {
            // SAFETY: each is a pointer inside a live value or block (freed just below).
            unsafe { p.write_unaligned(std::ptr::null_mut()) };
        }
        for b in self.blocks {
            // SAFETY: each block is a task-allocator block owned by the values, listed once.
            unsafe { CoTaskMemFree(b.cast()) };
        }
    }
}

/// Frees the referents reachable from a value of `ty` at `mem` (not `mem` itself), and
/// sets the pointers to them to NULL. See [`Sweep::value`].
///
/// # Safety
/// As [`Sweep::value`].
pub unsafe fn free_value(ty: Type, mem: *mut u8, base: *const u8, params: &[*mut u8]) {
    let mut sweep = Sweep::new();
    // SAFETY: forwarded.
    unsafe {
        sweep.value(ty, mem, base, params);
        sweep.free();
    }
}

/// Frees a top-level parameter's allocations: for a pointer, its referent tree and the
/// referent itself (the slot is set to NULL); otherwise what the value points to. A call's
/// parameters may share referents (full pointers): free them together with
/// [`free_call`] or [`free_response`].
///
/// # Safety
/// As [`free_value`], with `slot` the parameter's memory.
pub unsafe fn free_param(ty: Type, slot: *mut u8, params: &[*mut u8]) {
    // SAFETY: forwarded.
    unsafe { free_value(ty, slot, std::ptr::null(), params) };
}

/// Frees what unmarshalling a response allocated for a client's `[out]` parameter: under a
/// top-level `[ref]` pointer the caller's own memory holds the value, so only what it
/// points to is freed; any other pointer's referent was allocated, and is freed too. A
/// call's parameters may share referents (full pointers): free them together with
/// [`free_response`].
///
/// # Safety
/// As [`free_value`]; `slot` is the caller's argument for the parameter.
pub unsafe fn free_out_param(ty: Type, slot: *mut u8, params: &[*mut u8]) {
    let mut sweep = Sweep::new();
    // SAFETY: forwarded.
    unsafe {
        out_param(&mut sweep, ty, slot, params);
        sweep.free();
    }
}

unsafe fn out_param(sweep: &mut Sweep, ty: Type, slot: *mut u8, params: &[*mut u8]) {
    if let Type::Pointer(p) = ty
        && p.kind == crate::desc::PointerKind::Ref
    {
        // SAFETY: a pointer parameter's slot holds a pointer to the caller's memory.
        let v = unsafe { slot.cast::<*mut u8>().read_unaligned() };
        if !v.is_null() {
            // SAFETY: forwarded.
            unsafe { sweep.value(p.pointee, v, std::ptr::null(), params) };
        }
        return;
    }
    // SAFETY: forwarded.
    unsafe { sweep.value(ty, slot, std::ptr::null(), params) };
}

/// Frees everything a server call's parameters and return value own (what unmarshalling
/// the request allocated and what the implementation allocated for its `[out]` values),
/// in one sweep; pointer slots are set to NULL. The slots themselves stay.
///
/// # Safety
/// As [`free_value`] for each parameter (`slots[i]`, the `i`th parameter's memory) and
/// for the return value at `ret` (NULL for none).
pub unsafe fn free_call(proc: &Proc, slots: &[*mut u8], ret: *mut u8) {
    let mut sweep = Sweep::new();
    // SAFETY: forwarded.
    unsafe {
        for (p, &slot) in proc.params.iter().zip(slots) {
            sweep.value(p.ty, slot, std::ptr::null(), slots);
        }
        if let (Some(t), false) = (proc.ret, ret.is_null()) {
            sweep.value(t, ret, std::ptr::null(), slots);
        }
        sweep.free();
    }
}

/// Frees what unmarshalling a response allocated for a client (every `[out]` and
/// `[in, out]` parameter as [`free_out_param`] frees it, and the return value), in one
/// sweep: aliases across parameters are freed once.
///
/// # Safety
/// As [`free_out_param`] for each `[out]` parameter (`args`, the caller's arguments) and
/// as [`free_value`] for the return value at `ret` (NULL for none).
pub unsafe fn free_response(proc: &Proc, args: &[*mut u8], ret: *mut u8) {
    let mut sweep = Sweep::new();
    // SAFETY: forwarded.
    unsafe {
        for (p, &slot) in proc.params.iter().zip(args) {
            if p.dir.is_out() {
                out_param(&mut sweep, p.ty, slot, args);
            }
        }
        if let (Some(t), false) = (proc.ret, ret.is_null()) {
            sweep.value(t, ret, std::ptr::null(), args);
        }
        sweep.free();
    }
}

type Work = Vec<(Type, *mut u8, *const u8)>;

unsafe fn walk(
    ty: Type,
    mem: *mut u8,
    base: *const u8,
    params: &[*mut u8],
    stack: &mut Work,
    sweep: &mut Sweep,
    depth: usize,
) {
    if depth > 64 || mem.is_null() || !has_pointers(ty, 0) {
        return;
    }
    let scope = |base| Scope { params, base };
    match ty {
        Type::Struct(s) => {
            for f in s.fields {
                // SAFETY: fields lie inside the structure.
                let at = unsafe { mem.add(f.offset) };
                unsafe { walk(f.ty, at, mem, params, stack, sweep, depth + 1) };
            }
        }
        Type::Array(a) => {
            let count = match a.count {
                Count::Fixed(n) => Some(i64::from(n)),
                // SAFETY: the correlation names live memory (the caller's contract).
                Count::Conformant(e) => unsafe { eval(e, scope(base)) }.ok(),
            };
            let window = match &a.varying {
                // SAFETY: as above.
                Some(v) => (|| unsafe {
                    let first = match v.first {
                        Some(e) => eval(e, scope(base)).ok()?,
                        None => 0,
                    };
                    Some((first, eval(v.length, scope(base)).ok()?))
                })(),
                None => count.map(|c| (0, c)),
            };
            let (Some(count), Some((first, len))) = (count, window) else {
                return;
            };
            if first < 0 || len < 0 || first.saturating_add(len) > count {
                return;
            }
            for i in first..first + len {
                // SAFETY: the element lies inside the array.
                let e = unsafe { mem.add(i as usize * a.stride) };
                unsafe { walk(a.element, e, base, params, stack, sweep, depth + 1) };
            }
        }
        Type::Union(u) => {
            let (disc, arms, arm_base) = match u.selector {
                // SAFETY: an encapsulated union starts with its discriminant.
                Selector::Encapsulated { arms_offset } => (
                    Some(unsafe { read_base(mem, u.switch) }),
                    unsafe { mem.add(arms_offset) },
                    mem.cast_const(),
                ),
                // SAFETY: as above.
                Selector::Expr(e) => (unsafe { eval(e, scope(base)) }.ok(), mem, base),
            };
            if let Some(Some(Some(t))) = disc.map(|d| arm(u, d)) {
                unsafe { walk(t, arms, arm_base, params, stack, sweep, depth + 1) };
            }
        }
        Type::Bstr => {
            // SAFETY: the memory holds a BSTR, the value's own.
            let b = unsafe { mem.cast::<*mut u16>().read_unaligned() };
            if !b.is_null() {
                unsafe {
                    mem.cast::<*mut u16>().write_unaligned(std::ptr::null_mut());
                    if sweep.seen.insert(b as usize) {
                        SysFreeString(b);
                    }
                }
            }
        }
        // The routines free what a presented value owns (at the end, with the blocks).
        Type::User(u) => sweep.users.push((u, mem)),
        // Released at the end: the reference is the value's.
        // (The slot's address may be a block's too, in `seen`: a pointer's referent.)
        Type::Interface(_) if !sweep.interfaces.contains(&mem.cast()) => {
            sweep.interfaces.push(mem.cast());
        }
        Type::ContextHandle => {
            // SAFETY: the memory holds a pointer to the handle's block.
            let v = unsafe { mem.cast::<*mut u8>().read_unaligned() };
            if !v.is_null() {
                sweep.pointers.push(mem.cast());
                if sweep.seen.insert(v as usize) {
                    sweep.blocks.push(v);
                }
            }
        }
        Type::Pointer(p) => {
            // SAFETY: the memory holds a pointer.
            let v = unsafe { mem.cast::<*mut u8>().read_unaligned() };
            if v.is_null() {
                return;
            }
            // Cleared at the end, so nothing finds the freed block.
            sweep.pointers.push(mem.cast());
            if !sweep.seen.insert(v as usize) {
                return;
            }
            sweep.blocks.push(v);
            stack.push((p.pointee, v, base));
        }
        _ => {}
    }
}

/// Whether a value of `ty` can hold a pointer (else freeing has nothing to walk).
pub fn has_pointers(ty: Type, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    match ty {
        Type::Pointer(_)
        | Type::ContextHandle
        | Type::Bstr
        | Type::User(_)
        | Type::Interface(_) => true,
        Type::Struct(s) => s.fields.iter().any(|f| has_pointers(f.ty, depth + 1)),
        Type::Array(a) => has_pointers(a.element, depth + 1),
        Type::Union(u) => u
            .arms
            .iter()
            .filter_map(|a| a.ty)
            .chain(u.default.flatten())
            .any(|t| has_pointers(t, depth + 1)),
        _ => false,
    }
}
