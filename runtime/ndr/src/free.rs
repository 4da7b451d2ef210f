//! Freeing what unmarshalling (or a server implementation) allocated for a value: every
//! referent of its pointers, depth first, each once (full pointers may alias), from the
//! task allocator. The value's own memory is its owner's to free.

use std::collections::HashSet;

use comidl_runtime_core::{CoTaskMemFree, SysFreeString};

use crate::desc::{Count, Selector, Type};
use crate::expr::{Scope, eval};
use crate::layout::read_base;
use crate::marshal::arm;

/// Frees the referents reachable from a value of `ty` at `mem` (not `mem` itself).
/// Counts are read from memory as marshalling reads them; a count that cannot be read
/// frees nothing more below it rather than guess. The blocks are found first (an explicit
/// stack, so a list of any length needs no deep native stack) and freed at the end, each
/// once.
///
/// # Safety
/// `mem` holds a value of `ty` whose pointers are NULL or task-allocator blocks owned by
/// it, with consistent correlations; `params` as for marshalling.
pub unsafe fn free_value(ty: Type, mem: *mut u8, base: *const u8, params: &[*mut u8]) {
    let mut blocks = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(ty, mem, base)];
    while let Some((ty, mem, base)) = stack.pop() {
        // SAFETY: forwarded; referents pushed are live blocks of their pointee type.
        unsafe { walk(ty, mem, base, params, &mut stack, &mut seen, &mut blocks, 0) };
    }
    for b in blocks {
        // SAFETY: each block is a task-allocator block owned by the value, listed once.
        unsafe { CoTaskMemFree(b.cast()) };
    }
}

/// Frees a top-level parameter's allocations: for a pointer, its referent tree and the
/// referent itself (the slot is set to NULL); otherwise what the value points to.
///
/// # Safety
/// As [`free_value`], with `slot` the parameter's memory.
pub unsafe fn free_param(ty: Type, slot: *mut u8, params: &[*mut u8]) {
    // SAFETY: forwarded.
    unsafe { free_value(ty, slot, std::ptr::null(), params) };
    if let Type::Pointer(_) = ty {
        // SAFETY: a pointer parameter's slot holds a pointer, now freed.
        unsafe { slot.cast::<*mut u8>().write_unaligned(std::ptr::null_mut()) };
    }
}

/// Frees what unmarshalling a response allocated for a client's `[out]` parameter: under a
/// top-level `[ref]` pointer the caller's own memory holds the value, so only what it
/// points to is freed; any other pointer's referent was allocated, and is freed too.
///
/// # Safety
/// As [`free_value`]; `slot` is the caller's argument for the parameter.
pub unsafe fn free_out_param(ty: Type, slot: *mut u8, params: &[*mut u8]) {
    if let Type::Pointer(p) = ty
        && p.kind == crate::desc::PointerKind::Ref
    {
        // SAFETY: a pointer parameter's slot holds a pointer to the caller's memory.
        let v = unsafe { slot.cast::<*mut u8>().read_unaligned() };
        if !v.is_null() {
            // SAFETY: forwarded.
            unsafe { free_value(p.pointee, v, std::ptr::null(), params) };
        }
        return;
    }
    // SAFETY: forwarded.
    unsafe { free_param(ty, slot, params) };
}

type Work = Vec<(Type, *mut u8, *const u8)>;

#[allow(clippy::too_many_arguments)]
unsafe fn walk(
    ty: Type,
    mem: *mut u8,
    base: *const u8,
    params: &[*mut u8],
    stack: &mut Work,
    seen: &mut HashSet<usize>,
    blocks: &mut Vec<*mut u8>,
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
                unsafe { walk(f.ty, at, mem, params, stack, seen, blocks, depth + 1) };
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
                unsafe { walk(a.element, e, base, params, stack, seen, blocks, depth + 1) };
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
                unsafe { walk(t, arms, arm_base, params, stack, seen, blocks, depth + 1) };
            }
        }
        Type::Bstr => {
            // SAFETY: the memory holds a BSTR, the value's own.
            let b = unsafe { mem.cast::<*mut u16>().read_unaligned() };
            if !b.is_null() {
                unsafe {
                    mem.cast::<*mut u16>().write_unaligned(std::ptr::null_mut());
                    if seen.insert(b as usize) {
                        SysFreeString(b);
                    }
                }
            }
        }
        Type::ContextHandle => {
            // SAFETY: the memory holds a pointer to the handle's block.
            let v = unsafe { mem.cast::<*mut u8>().read_unaligned() };
            if !v.is_null() {
                // SAFETY: as for pointers below.
                unsafe { mem.cast::<*mut u8>().write_unaligned(std::ptr::null_mut()) };
                if seen.insert(v as usize) {
                    blocks.push(v);
                }
            }
        }
        Type::Pointer(p) => {
            // SAFETY: the memory holds a pointer.
            let v = unsafe { mem.cast::<*mut u8>().read_unaligned() };
            if v.is_null() {
                return;
            }
            // SAFETY: the pointer is read; clear it so nothing finds the freed block.
            unsafe { mem.cast::<*mut u8>().write_unaligned(std::ptr::null_mut()) };
            if !seen.insert(v as usize) {
                return;
            }
            blocks.push(v);
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
        Type::Pointer(_) | Type::ContextHandle | Type::Bstr => true,
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
