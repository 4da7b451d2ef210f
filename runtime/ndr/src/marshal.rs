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

use std::cell::Cell;
use std::collections::HashMap;

use comidl_runtime_core::{CoTaskMemAlloc, CoTaskMemFree};

use crate::desc::{Base, Count, PointerKind, Selector, Type, Union, UserType};
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
#[derive(Clone, Copy)]
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
    /// [`Marshaller::struct_form`]'s memory.
    last_struct: Option<(&'static crate::desc::Struct, usize, bool)>,
    /// The referents still to write and the runs of them being written ([`Marshaller::emit`]):
    /// kept per thread between marshallers ([`SCRATCH`]).
    stack: Vec<Deferred>,
    frames: Vec<Frame>,
    /// Wire values of user-marshalled types made for this message ([`Type::User`]):
    /// their referents may be written after the value itself, so they live as long as
    /// the marshaller.
    temps: Vec<(Type, *mut u8)>,
    /// The OBJREFs of the interface pointers sent ([`Type::InterfaceData`]'s referents),
    /// each boxed so the deferred referent's address stays put.
    #[allow(clippy::vec_box)] // the boxes' addresses are the deferred referents'
    objrefs: Vec<Box<Vec<u8>>>,
}

/// A run of referents in [`Marshaller::emit`]: `items[start..end]`, the next to write at
/// `next`.
#[derive(Clone, Copy)]
struct Frame {
    start: usize,
    next: usize,
    end: usize,
}

std::thread_local! {
    /// The deferred-referent vectors of the thread's last marshaller, for the next one: a
    /// message with thousands of embedded pointers then allocates only its bytes, which
    /// can grow in place instead of moving (and faulting in new pages) on every call.
    static SCRATCH: Cell<(Vec<Deferred>, Vec<Frame>)> =
        const { Cell::new((Vec::new(), Vec::new())) };
}

/// Entries of a deferred-referent vector kept for the next marshaller (past it, freed).
const SCRATCH_KEEP: usize = 1 << 16;

impl Drop for Marshaller<'_> {
    fn drop(&mut self) {
        for (ty, tmp) in self.temps.drain(..).rev() {
            // SAFETY: a wire value made by its routines, with the pointers they own.
            unsafe {
                crate::free::free_value(ty, tmp, std::ptr::null(), &[]);
                CoTaskMemFree(tmp.cast());
            }
        }
        let mut stack = std::mem::take(&mut self.stack);
        let mut frames = std::mem::take(&mut self.frames);
        if stack.capacity() <= SCRATCH_KEEP && frames.capacity() <= SCRATCH_KEEP {
            stack.clear();
            frames.clear();
            // During thread teardown the slot may be gone: then the vectors are freed.
            let _ = SCRATCH.try_with(|s| s.set((stack, frames)));
        }
    }
}

impl<'a> Marshaller<'a> {
    /// `params`: the call's parameters (pointers to each parameter's value), which
    /// correlation expressions name.
    pub fn new(params: &'a [*mut u8]) -> Marshaller<'a> {
        let (stack, frames) = SCRATCH.try_with(Cell::take).unwrap_or_default();
        Marshaller {
            w: Writer::new(),
            params,
            ids: 0,
            full: HashMap::new(),
            last_struct: None,
            stack,
            frames,
            temps: Vec::new(),
            objrefs: Vec::new(),
        }
    }

    /// A marshaller whose message starts with `head`, bytes already marshalled (DCOM's
    /// ORPCTHIS or ORPCTHAT): alignment counts from the head's first byte.
    pub fn after(params: &'a [*mut u8], head: &[u8]) -> Marshaller<'a> {
        let mut m = Marshaller::new(params);
        m.w.bytes.extend_from_slice(head);
        m
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.w.bytes)
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
        // `items` holds the referents still to write in runs, one per value whose pointers
        // found them, in order; `frames` the runs being written, the innermost last. A
        // referent's own referents form a new run, written before the rest of its run
        // (depth first); a run whose last referent adds one reuses its place, so a list of
        // any length needs no more room than one node's.
        let mut items = std::mem::take(&mut self.stack);
        let mut frames = std::mem::take(&mut self.frames);
        items.clear();
        frames.clear();
        let result = (|| {
            // SAFETY: forwarded.
            unsafe { self.scalars(ty, mem, base, false, &mut items)? };
            if !items.is_empty() {
                frames.push(Frame {
                    start: 0,
                    next: 0,
                    end: items.len(),
                });
            }
            while let Some(top) = frames.last_mut() {
                if top.next == top.end {
                    items.truncate(top.start);
                    frames.pop();
                    continue;
                }
                let d = items[top.next];
                top.next += 1;
                let last = top.next == top.end;
                let before = items.len();
                // SAFETY: a deferred referent is a valid pointee (the caller's contract).
                unsafe { self.value(d.ty, d.mem, d.base, false, &mut items)? };
                let after = items.len();
                if after == before {
                    continue;
                }
                if last {
                    let start = top.start;
                    items.copy_within(before..after, start);
                    items.truncate(start + (after - before));
                    *top = Frame {
                        start,
                        next: start,
                        end: items.len(),
                    };
                } else {
                    frames.push(Frame {
                        start: before,
                        next: before,
                        end: after,
                    });
                }
            }
            Ok(())
        })();
        self.stack = items;
        self.frames = frames;
        result
    }

    #[inline]
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
                // SAFETY: forwarded.
                unsafe { self.string_max(s, len, base) }
            }
            _ => Err(NdrError::InvalidBound),
        }
    }

    /// A conformant string's max count: its `size_is`, which must hold its `len`
    /// characters, or `len`.
    unsafe fn string_max(&self, s: &crate::desc::Str, len: u32, base: *const u8) -> Result<u32> {
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

    /// A structure's wire alignment and whether it ends in a conformant tail, remembered
    /// for the last structure asked about (an array's elements ask again and again).
    fn struct_form(&mut self, s: &'static crate::desc::Struct) -> (usize, bool) {
        if let Some((last, align, tail)) = self.last_struct
            && std::ptr::eq(last, s)
        {
            return (align, tail);
        }
        let ty = Type::Struct(s);
        let form = (wire_align(ty), conformant_tail(ty).is_some());
        self.last_struct = Some((s, form.0, form.1));
        form
    }

    /// [`Marshaller::scalars`], with the commonest shapes (a base type, a pointer, a
    /// string) written here rather than through another call of the whole interpreter: a
    /// structure's fields, an array's elements and deferred referents come through here.
    #[inline(always)]
    unsafe fn value(
        &mut self,
        ty: Type,
        mem: *const u8,
        base: *const u8,
        hoisted: bool,
        deferred: &mut Vec<Deferred>,
    ) -> Result<()> {
        // SAFETY (all arms): forwarded.
        match ty {
            // Four bytes the same in memory as on the wire (little-endian hosts).
            Type::Base(
                Base::Long | Base::ULong | Base::Float | Base::Enum32 | Base::ErrorStatus,
            ) if cfg!(target_endian = "little") => {
                self.w.u32(unsafe { mem.cast::<u32>().read_unaligned() });
                Ok(())
            }
            Type::Base(b) => self.base(b, unsafe { read_base(mem, b) }),
            Type::Pointer(p) => unsafe { self.pointer(p, mem, base, deferred) },
            Type::String(s) => unsafe { self.string(s, mem, base, hoisted) },
            _ => unsafe { self.scalars(ty, mem, base, hoisted, deferred) },
        }
    }

    /// A string (a `[string]` array or pointee): its counts and characters.
    #[inline(always)]
    unsafe fn string(
        &mut self,
        s: &crate::desc::Str,
        mem: *const u8,
        base: *const u8,
        hoisted: bool,
    ) -> Result<()> {
        // SAFETY: `mem` holds a string of the description (the caller's contract).
        let len = unsafe { string_len(mem, s.char_size, s.fixed)? };
        if s.fixed.is_none() && !hoisted {
            // SAFETY: forwarded.
            let max = unsafe { self.string_max(s, len, base)? };
            // Max count, offset 0, actual count.
            self.w.u32x3([max, 0, len]);
        } else {
            // Offset 0, actual count.
            self.w.u32(0);
            self.w.u32(len);
        }
        let bytes = len as usize * s.char_size;
        // SAFETY: `len` characters were scanned at `mem`.
        self.w
            .raw(unsafe { std::slice::from_raw_parts(mem, bytes) });
        Ok(())
    }

    /// A structure's flat part (see [`Marshaller::scalars`]).
    #[inline(always)]
    unsafe fn structure(
        &mut self,
        s: &'static crate::desc::Struct,
        mem: *const u8,
        hoisted: bool,
        deferred: &mut Vec<Deferred>,
    ) -> Result<()> {
        let (align, tail) = self.struct_form(s);
        if tail && !hoisted {
            // SAFETY: `mem` is a structure of `s` (the caller's contract).
            let (t, tmem, tbase) = unsafe { tail_place(s, mem) };
            // SAFETY: forwarded.
            let n = unsafe { self.conformance(t, tmem, tbase)? };
            self.w.u32(n);
        }
        self.w.align(align);
        let last = s.fields.len().saturating_sub(1);
        for (i, f) in s.fields.iter().enumerate() {
            let inner = tail && i == last;
            // SAFETY: the field lies inside the structure.
            unsafe { self.value(f.ty, mem.add(f.offset), mem, inner, deferred)? };
        }
        Ok(())
    }

    /// An embedded pointer: its referent id (or NULL); the referent is deferred.
    #[inline(always)]
    unsafe fn pointer(
        &mut self,
        p: &crate::desc::Pointer,
        mem: *const u8,
        base: *const u8,
        deferred: &mut Vec<Deferred>,
    ) -> Result<()> {
        // SAFETY: `mem` holds a pointer (the caller's contract).
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
            // [comm_status] / [fault_status] only say where a client stores a failure: the
            // value itself travels as the error_status_t it is.
            Type::Status(_) => self.base(Base::ErrorStatus, unsafe {
                read_base(mem, Base::ErrorStatus)
            }),
            Type::Range(r) => {
                let v = unsafe { read_base(mem, r.base) };
                if v < r.min || v > r.max {
                    return Err(NdrError::OutOfRange);
                }
                self.base(r.base, v)
            }
            Type::Struct(s) => unsafe { self.structure(s, mem, hoisted, deferred) },
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
                if let Type::Struct(s) = a.element {
                    // An array of structures: each written here, not through another call
                    // of the whole interpreter.
                    for i in 0..len as usize {
                        let e = unsafe { start.add(i * a.stride) };
                        unsafe { self.structure(s, e, false, deferred)? };
                    }
                    return Ok(());
                }
                for i in 0..len as usize {
                    let e = unsafe { start.add(i * a.stride) };
                    unsafe { self.value(a.element, e, base, false, deferred)? };
                }
                Ok(())
            }
            Type::String(s) => unsafe { self.string(s, mem, base, hoisted) },
            Type::Pointer(p) => unsafe { self.pointer(p, mem, base, deferred) },
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
            Type::Ignore => Ok(()),
            Type::Unsupported(o) => Err(NdrError::Unsupported(o.why)),
            Type::Interface(ip) => unsafe { self.interface(ip, mem, base, deferred) },
            Type::InterfaceData => {
                // SAFETY: the deferred referent of `interface`: one of `objrefs`.
                let objref = unsafe { &*mem.cast::<Vec<u8>>() };
                let n = u32::try_from(objref.len()).map_err(|_| NdrError::TooLarge)?;
                // MInterfacePointer, a conformant structure: the array's size first.
                self.w.align(4);
                self.w.u32(n);
                self.w.u32(n);
                self.w.raw(objref);
                Ok(())
            }
            Type::User(u) => {
                let tmp = unsafe { self.wire_value(u, mem)? };
                // The wire value is a value of its own: its correlations name its fields.
                unsafe { self.scalars(u.wire, tmp, std::ptr::null(), false, deferred) }
            }
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

impl Marshaller<'_> {
    /// An interface pointer: its referent id (or NULL), and the OBJREF the COM library
    /// makes for it, deferred.
    ///
    /// # Safety
    /// `mem` holds an interface pointer (NULL or live); the scope's pointers are valid.
    unsafe fn interface(
        &mut self,
        ip: &'static crate::desc::InterfacePointer,
        mem: *const u8,
        base: *const u8,
        deferred: &mut Vec<Deferred>,
    ) -> Result<()> {
        // SAFETY: an interface pointer's memory is a pointer (the caller's contract).
        let itf = unsafe { mem.cast::<*mut std::ffi::c_void>().read_unaligned() };
        if itf.is_null() {
            self.w.u32(0);
            return Ok(());
        }
        // SAFETY: forwarded.
        let iid = unsafe { crate::interface::iid(ip, self.scope(base))? };
        // SAFETY: `itf` is live, of interface `iid` (the caller's contract).
        let objref = crate::interface::current(|m| unsafe { m.marshal(&iid, itf) })?;
        let objref = Box::new(objref);
        let at = (&raw const *objref).cast::<u8>();
        self.objrefs.push(objref);
        let id = self.refid(PointerKind::Unique);
        self.w.u32(id);
        deferred.push(Deferred {
            ty: Type::InterfaceData,
            mem: at,
            base,
        });
        Ok(())
    }

    /// The wire value of the presented value at `mem`, kept until the marshaller is done.
    ///
    /// # Safety
    /// `mem` holds a presented value of `u`.
    unsafe fn wire_value(&mut self, u: &'static UserType, mem: *const u8) -> Result<*mut u8> {
        let size = crate::layout::mem_size(u.wire).max(1);
        let tmp = CoTaskMemAlloc(size).cast::<u8>();
        if tmp.is_null() {
            return Err(NdrError::OutOfMemory);
        }
        // SAFETY: a fresh block of `size` bytes.
        unsafe { tmp.write_bytes(0, size) };
        // Recorded first: a failed conversion's wire value is freed too.
        self.temps.push((u.wire, tmp));
        // SAFETY: the routines' contract: `tmp` is zeroed memory for the wire value.
        unsafe { (u.routines.to_wire)(mem, tmp)? };
        Ok(tmp)
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
    let mut n = 0usize;
    let limit = match limit {
        // An unbounded string is terminated (the caller's contract): no bound to check.
        None if char_size == 2 => {
            let p = mem.cast::<u16>();
            // SAFETY: every character read is at or before the terminator: each read
            // follows reads of non-zero characters only (unrolled by four, in order).
            unsafe {
                loop {
                    if p.add(n).read_unaligned() == 0 {
                        break;
                    }
                    if p.add(n + 1).read_unaligned() == 0 {
                        n += 1;
                        break;
                    }
                    if p.add(n + 2).read_unaligned() == 0 {
                        n += 2;
                        break;
                    }
                    if p.add(n + 3).read_unaligned() == 0 {
                        n += 3;
                        break;
                    }
                    n += 4;
                }
            }
            usize::MAX
        }
        None => {
            // SAFETY: as above.
            while unsafe { mem.add(n).read() } != 0 {
                n += 1;
            }
            usize::MAX
        }
        Some(l) => {
            let limit = l as usize;
            // SAFETY: the array holds `limit` characters; none is read past it.
            while n < limit && unsafe { read_char(mem, char_size, n) } != 0 {
                n += 1;
            }
            limit
        }
    };
    if n >= limit {
        return Err(NdrError::UnterminatedString);
    }
    u32::try_from(n + 1).map_err(|_| NdrError::UnterminatedString)
}

/// Character `n` of a string of `char_size`-byte characters.
///
/// # Safety
/// The string has more than `n` characters.
#[inline]
unsafe fn read_char(mem: *const u8, char_size: usize, n: usize) -> u16 {
    // SAFETY: the caller's.
    unsafe {
        if char_size == 2 {
            mem.cast::<u16>().add(n).read_unaligned()
        } else {
            u16::from(mem.add(n).read())
        }
    }
}
