//! Marshalling: C memory → NDR20 bytes. The memory is the caller's and trusted to match
//! the description (as MIDL's stubs trust their caller's arguments); what the description
//! cannot promise (a NULL `[ref]` pointer, a count that is negative or larger than its
//! array, an enum beyond 16 bits, a value outside its `[range]`) is an error before
//! anything is sent.
//!
//! Order (C706 14.3.12): a top-level parameter's referent follows its pointer at once; the
//! referents of embedded pointers follow the complete representation of what embeds
//! them, in the order of the pointers, each referent's own embedded referents right after
//! it (depth first). An explicit stack keeps that order without recursion, so a linked
//! list of any length marshals on a bounded native stack.

use std::collections::HashMap;

use crate::desc::{Base, Count, PointerKind, Selector, Type, Union};
use crate::error::{NdrError, Result};
use crate::expr::{Scope, eval};
use crate::layout::{conformant_tail, is_block, read_base, wire_align};
use crate::wire::Writer;

/// The first referent id of a unique or embedded `[ref]` pointer (then +4 per id handed
/// out). Full pointers number 1, 2, ... on the same count: what Windows sends and Samba
/// re-encodes (any non-zero id is valid NDR; equal ids make byte comparisons possible).
pub const FIRST_REFERENT_ID: u32 = 0x0002_0000;

/// A referent still to be written: its type, its memory and the structure whose fields
/// its correlations name.
struct Deferred {
    ty: Type,
    mem: *const u8,
    base: *const u8,
}

/// Marshals the values of one message.
pub struct Marshaller<'a> {
    w: Writer,
    params: &'a [*mut u8],
    /// Referent ids handed out so far.
    ids: u32,
    /// Full pointers already sent: address → referent id.
    full: HashMap<usize, u32>,
}

impl<'a> Marshaller<'a> {
    /// `params`: the call's parameters (pointers to each parameter's value), which
    /// correlation expressions name.
    pub fn new(params: &'a [*mut u8]) -> Marshaller<'a> {
        Marshaller {
            w: Writer::new(),
            params,
            ids: 0,
            full: HashMap::new(),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_bytes()
    }

    fn scope(&self, base: *const u8) -> Scope<'a> {
        Scope {
            params: self.params,
            base,
        }
    }

    fn refid(&mut self, kind: PointerKind) -> u32 {
        let n = self.ids;
        self.ids = self.ids.wrapping_add(1);
        match kind {
            PointerKind::Full => n.wrapping_add(1),
            _ => FIRST_REFERENT_ID.wrapping_add(n.wrapping_mul(4)),
        }
    }

    /// Marshals one top-level parameter (or return value) whose value is at `slot`.
    ///
    /// # Safety
    /// `slot` points to a value of `ty` in C layout, every pointer in it (and in the
    /// parameters) is NULL or points to a valid value of its description.
    pub unsafe fn param(&mut self, ty: Type, slot: *const u8) -> Result<()> {
        let Type::Pointer(p) = ty else {
            // SAFETY: forwarded.
            return unsafe { self.emit(ty, slot, std::ptr::null()) };
        };
        // SAFETY: a pointer parameter's slot holds a pointer.
        let v = unsafe { slot.cast::<*const u8>().read_unaligned() };
        match (p.kind, v.is_null()) {
            (PointerKind::Ref, true) => Err(NdrError::NullRefPointer),
            // A top-level [ref] pointer has no representation of its own.
            // SAFETY: forwarded; `v` is a valid pointee.
            (PointerKind::Ref, false) => unsafe { self.emit(p.pointee, v, std::ptr::null()) },
            (_, true) => {
                self.w.u32(0);
                Ok(())
            }
            (kind, false) => {
                if kind == PointerKind::Full
                    && let Some(&id) = self.full.get(&(v as usize))
                {
                    self.w.u32(id);
                    return Ok(());
                }
                let id = self.refid(kind);
                if kind == PointerKind::Full {
                    self.full.insert(v as usize, id);
                }
                self.w.u32(id);
                // SAFETY: forwarded.
                unsafe { self.emit(p.pointee, v, std::ptr::null()) }
            }
        }
    }

    /// A value and, after it, the referents of its embedded pointers.
    unsafe fn emit(&mut self, ty: Type, mem: *const u8, base: *const u8) -> Result<()> {
        let mut stack = Vec::new();
        let mut found = Vec::new();
        // SAFETY: forwarded.
        unsafe { self.scalars(ty, mem, base, false, &mut found)? };
        stack.extend(found.drain(..).rev());
        while let Some(d) = stack.pop() {
            // SAFETY: a deferred referent is a valid pointee (the caller's contract).
            unsafe { self.scalars(d.ty, d.mem, d.base, false, &mut found)? };
            stack.extend(found.drain(..).rev());
        }
        Ok(())
    }

    fn base(&mut self, b: Base, v: i64) -> Result<()> {
        match b {
            Base::Boolean => self.w.u8(u8::from(v != 0)),
            Base::Byte | Base::Char | Base::Small | Base::USmall => self.w.u8(v as u8),
            Base::WChar | Base::Short | Base::UShort => self.w.u16(v as u16),
            Base::Enum16 => {
                if !(0..=0x7FFF).contains(&v) {
                    return Err(NdrError::EnumOutOfRange);
                }
                self.w.u16(v as u16)
            }
            Base::Long | Base::ULong | Base::Float | Base::Enum32 | Base::ErrorStatus => {
                self.w.u32(v as u32)
            }
            Base::Int3264 => self
                .w
                .u32(i32::try_from(v).map_err(|_| NdrError::OutOfRange)? as u32),
            Base::UInt3264 => self
                .w
                .u32(u32::try_from(v).map_err(|_| NdrError::OutOfRange)?),
            Base::Hyper | Base::UHyper | Base::Double => self.w.u64(v as u64),
        }
        Ok(())
    }

    /// A count read from memory: 0..=u32::MAX.
    unsafe fn count(&self, e: &crate::desc::Expr, base: *const u8) -> Result<u32> {
        // SAFETY: forwarded.
        let v = unsafe { eval(e, self.scope(base))? };
        u32::try_from(v).map_err(|_| NdrError::InvalidBound)
    }

    /// The element count of a conformant array or string, as its max count says it.
    unsafe fn conformance(&self, ty: Type, mem: *const u8, base: *const u8) -> Result<u32> {
        match ty {
            Type::Array(a) => match a.count {
                Count::Fixed(n) => Ok(n),
                // SAFETY: forwarded.
                Count::Conformant(e) => unsafe { self.count(e, base) },
            },
            Type::String(s) => {
                // SAFETY: forwarded: a string is terminated within its bound.
                let len = unsafe { string_len(mem, s.char_size, s.fixed)? };
                match s.size {
                    Some(e) => {
                        // SAFETY: forwarded.
                        let max = unsafe { self.count(e, base)? };
                        if max < len {
                            return Err(NdrError::InvalidBound);
                        }
                        Ok(max)
                    }
                    None => Ok(len),
                }
            }
            _ => Err(NdrError::InvalidBound),
        }
    }

    /// The flat part of a value: everything but the referents of embedded pointers, which
    /// are pushed on `deferred` in order. `hoisted`: an enclosing structure wrote this
    /// conformant array's count already.
    unsafe fn scalars(
        &mut self,
        ty: Type,
        mem: *const u8,
        base: *const u8,
        hoisted: bool,
        deferred: &mut Vec<Deferred>,
    ) -> Result<()> {
        match ty {
            // SAFETY (all arms): `mem` holds a value of `ty` (the caller's contract); field,
            // element and arm addresses are inside it by the description.
            Type::Base(b) => self.base(b, unsafe { read_base(mem, b) }),
            Type::Range(r) => {
                let v = unsafe { read_base(mem, r.base) };
                if v < r.min || v > r.max {
                    return Err(NdrError::OutOfRange);
                }
                self.base(r.base, v)
            }
            Type::Struct(s) => {
                let tail = conformant_tail(ty);
                if tail.is_some() && !hoisted {
                    let (t, tmem, tbase) = unsafe { tail_place(s, mem) };
                    let n = unsafe { self.conformance(t, tmem, tbase)? };
                    self.w.u32(n);
                }
                self.w.align(wire_align(ty));
                let last = s.fields.len().saturating_sub(1);
                for (i, f) in s.fields.iter().enumerate() {
                    let inner = tail.is_some() && i == last;
                    unsafe { self.scalars(f.ty, mem.add(f.offset), mem, inner, deferred)? };
                }
                Ok(())
            }
            Type::Array(a) => {
                let count = match a.count {
                    Count::Fixed(n) => n,
                    Count::Conformant(e) => {
                        let n = unsafe { self.count(e, base)? };
                        if !hoisted {
                            self.w.u32(n);
                        }
                        n
                    }
                };
                let (first, len) = match &a.varying {
                    Some(v) => {
                        let first = match v.first {
                            Some(e) => unsafe { self.count(e, base)? },
                            None => 0,
                        };
                        let len = unsafe { self.count(v.length, base)? };
                        if u64::from(first) + u64::from(len) > u64::from(count) {
                            return Err(NdrError::InvalidBound);
                        }
                        self.w.u32(first);
                        self.w.u32(len);
                        (first, len)
                    }
                    None => (0, count),
                };
                let start = unsafe { mem.add(first as usize * a.stride) };
                self.w.align(wire_align(a.element));
                if is_block(a.element, a.stride) {
                    let bytes = len as usize * a.stride;
                    // SAFETY: the window lies inside the array the caller gave.
                    self.w
                        .raw(unsafe { std::slice::from_raw_parts(start, bytes) });
                    return Ok(());
                }
                for i in 0..len as usize {
                    let e = unsafe { start.add(i * a.stride) };
                    unsafe { self.scalars(a.element, e, base, false, deferred)? };
                }
                Ok(())
            }
            Type::String(s) => {
                let len = unsafe { string_len(mem, s.char_size, s.fixed)? };
                if s.fixed.is_none() && !hoisted {
                    let max = unsafe { self.conformance(ty, mem, base)? };
                    self.w.u32(max);
                }
                self.w.u32(0);
                self.w.u32(len);
                let bytes = len as usize * s.char_size;
                // SAFETY: `len` characters were scanned at `mem`.
                self.w
                    .raw(unsafe { std::slice::from_raw_parts(mem, bytes) });
                Ok(())
            }
            Type::Pointer(p) => {
                let v = unsafe { mem.cast::<*const u8>().read_unaligned() };
                if v.is_null() {
                    if p.kind == PointerKind::Ref {
                        return Err(NdrError::NullRefPointer);
                    }
                    self.w.u32(0);
                    return Ok(());
                }
                if p.kind == PointerKind::Full
                    && let Some(&id) = self.full.get(&(v as usize))
                {
                    self.w.u32(id);
                    return Ok(());
                }
                let id = self.refid(p.kind);
                if p.kind == PointerKind::Full {
                    self.full.insert(v as usize, id);
                }
                self.w.u32(id);
                deferred.push(Deferred {
                    ty: p.pointee,
                    mem: v,
                    base,
                });
                Ok(())
            }
            Type::Union(u) => {
                let (disc, arms, arm_base) = match u.selector {
                    Selector::Encapsulated { arms_offset } => (
                        unsafe { read_base(mem, u.switch) },
                        unsafe { mem.add(arms_offset) },
                        mem,
                    ),
                    Selector::Expr(e) => (unsafe { eval(e, self.scope(base))? }, mem, base),
                };
                self.base(u.switch, disc)?;
                match arm(u, disc) {
                    None => Err(NdrError::InvalidTag),
                    Some(None) => Ok(()),
                    Some(Some(t)) => unsafe { self.scalars(t, arms, arm_base, false, deferred) },
                }
            }
            Type::ContextHandle => {
                self.w.align(4);
                let h = unsafe { mem.cast::<*const u8>().read_unaligned() };
                if h.is_null() {
                    self.w.raw(&[0; 20]);
                } else {
                    // SAFETY: a non-NULL context handle points to its 20 wire bytes.
                    self.w.raw(unsafe { std::slice::from_raw_parts(h, 20) });
                }
                Ok(())
            }
            Type::Ignore | Type::Status(_) => Ok(()),
            Type::Unsupported(o) => Err(NdrError::Unsupported(o.why)),
            Type::Bstr => {
                // Always a referent: a NULL BSTR travels as a blob that says so.
                let id = self.refid(PointerKind::Unique);
                self.w.u32(id);
                deferred.push(Deferred {
                    ty: Type::BstrBlob,
                    mem,
                    base,
                });
                Ok(())
            }
            Type::BstrBlob => {
                let b = unsafe { mem.cast::<*const u16>().read_unaligned() };
                let (bytes, units) = if b.is_null() {
                    (u32::MAX, 0u32)
                } else {
                    // SAFETY: a BSTR's byte length sits in the 4 bytes before it.
                    let bytes = unsafe { b.cast::<u32>().sub(1).read_unaligned() };
                    (bytes, bytes.div_ceil(2))
                };
                self.w.u32(units);
                self.w.u32(bytes);
                self.w.u32(units);
                if units > 0 {
                    // SAFETY: the BSTR holds `bytes` bytes (rounded up to whole units, as
                    // SysAllocString's allocation always is).
                    let data =
                        unsafe { std::slice::from_raw_parts(b.cast::<u8>(), units as usize * 2) };
                    self.w.raw(data);
                }
                Ok(())
            }
        }
    }
}

/// The arm a discriminant selects: `Some(None)` an empty arm, `None` no arm at all.
pub(crate) fn arm(u: &Union, disc: i64) -> Option<Option<Type>> {
    u.arms
        .iter()
        .find(|a| a.case == disc)
        .map(|a| a.ty)
        .or(u.default)
}

/// A structure's conformant tail: its type, its address and the address of the innermost
/// structure holding it (whose fields its correlation names).
///
/// # Safety
/// `mem` is a structure of description `s`.
pub(crate) unsafe fn tail_place(
    s: &'static crate::desc::Struct,
    mem: *const u8,
) -> (Type, *const u8, *const u8) {
    let mut s = s;
    let mut base = mem;
    for _ in 0..64 {
        let Some(last) = s.fields.last() else { break };
        // SAFETY: field offsets lie inside the structure.
        let at = unsafe { base.add(last.offset) };
        match last.ty {
            Type::Struct(inner) => {
                s = inner;
                base = at;
            }
            t => return (t, at, base),
        }
    }
    (Type::Ignore, mem, mem)
}

/// Characters up to and including the terminator, within `limit` when the array is fixed.
///
/// # Safety
/// `mem` holds a terminated string of `char_size` characters (or `limit` characters).
pub(crate) unsafe fn string_len(
    mem: *const u8,
    char_size: usize,
    limit: Option<u32>,
) -> Result<u32> {
    if mem.is_null() {
        return Err(NdrError::NullRefPointer);
    }
    let limit = limit.unwrap_or(u32::MAX);
    let mut n: u32 = 0;
    while n < limit {
        // SAFETY: the string is terminated, and characters before the terminator exist.
        let c = unsafe {
            if char_size == 2 {
                u32::from(mem.add(n as usize * 2).cast::<u16>().read_unaligned())
            } else {
                u32::from(mem.add(n as usize).read())
            }
        };
        n += 1;
        if c == 0 {
            return Ok(n);
        }
    }
    Err(NdrError::UnterminatedString)
}
