//! Unmarshalling: NDR20 bytes → C memory from the task allocator. Nothing received is
//! trusted: every read is bounds-checked; a count is checked against the bytes left (a
//! conformant array of N elements needs at least N times its element's least wire size)
//! and against the memory budget before anything is allocated; offsets and lengths are
//! checked against the counts; correlations (`size_is(n)`, `switch_is(k)`, ...) are
//! checked against the received fields and parameters once the message is read; a
//! discriminant must select an arm. Memory is allocated zeroed (but for a conformant array
//! of plain values, which the message fills whole) and recorded, so a message that fails
//! half-way frees all it got ([`Unmarshaller::abort`]).

use std::collections::HashMap;

use comidl_runtime_core::{CoTaskMemAlloc, CoTaskMemFree, SysAllocStringByteLen, SysFreeString};

use crate::desc::{Base, Count, Expr, PointerKind, Selector, Type, UserType};
use crate::error::{NdrError, Result};
use crate::expr::{Scope, eval};
use crate::layout::{
    conformant_tail, is_block, mem_size, min_wire, same_type, tail_offset, wire_align, write_base,
};
use crate::marshal::{arm, tail_place};
use crate::wire::Reader;

/// Bounds on what one message may make the engine allocate.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes of memory, all allocations of one message together.
    pub max_alloc: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_alloc: 64 << 20,
        }
    }
}

std::thread_local! {
    static SERVING: std::cell::Cell<Option<Limits>> = const { std::cell::Cell::new(None) };
}

impl Limits {
    /// The limits of the call this thread serves: what a server set with
    /// [`Limits::serving`], else the defaults. Generated server stubs unmarshal with these,
    /// so a server's per-call memory limit reaches them without changing their signature.
    pub fn current() -> Limits {
        SERVING.with(|s| s.get()).unwrap_or_default()
    }

    /// Runs `f` (which serves one call) under these limits.
    pub fn serving<R>(self, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Limits>);
        impl Drop for Restore {
            fn drop(&mut self) {
                SERVING.with(|s| s.set(self.0));
            }
        }
        let _restore = Restore(SERVING.with(|s| s.replace(Some(self))));
        f()
    }
}

/// What a caller's buffer for a top-level `[ref]` parameter holds ([`Unmarshaller::room`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// Nothing to check: a fixed size, or memory the engine allocates.
    Any,
    /// At most this many elements (of the conformant array or string, or of the
    /// structure's conformant tail).
    Elements(i64),
    /// The size cannot be known: anything arriving there is refused (why).
    Unknown(&'static str),
}

struct Deferred {
    ty: Type,
    slot: *mut *mut u8,
    base: *const u8,
    /// For a full pointer: its referent id, so aliases waiting for it are filled in.
    full: Option<u32>,
}

/// A full pointer's referent, by referent id: its pointee type and the structure its
/// first pointer sits in (whose fields the referent's correlations name), so an alias is
/// held to the same type and the same correlations.
struct Full {
    ty: Type,
    base: *const u8,
    state: FullState,
}

enum FullState {
    /// The referent is still to come; these slots wait for its address.
    Pending(Vec<*mut *mut u8>),
    Done(*mut u8),
}

struct Check {
    expr: &'static Expr,
    base: *const u8,
    want: Want,
    at: usize,
}

enum Want {
    /// The value the message gave (a count, an offset, a discriminant).
    Value(i64),
    /// The value the expression has for another structure: an alias of a full pointer
    /// must describe its referent as the first pointer did.
    SameAs(*const u8),
}

/// Unmarshals the values of one message.
pub struct Unmarshaller<'a> {
    r: Reader<'a>,
    params: &'a [*mut u8],
    allocs: Vec<*mut u8>,
    budget: usize,
    full: HashMap<u32, Full>,
    checks: Vec<Check>,
    /// BSTRs made so far (freed with SysFreeString on failure).
    bstrs: Vec<*mut u16>,
    /// Wire values of user-marshalled types read so far, converted by [`Unmarshaller::finish`].
    wires: Vec<Wire>,
    /// Presented values converted so far (freed by their routines on failure).
    made: Vec<(&'static UserType, *mut u8)>,
    /// Interface pointers read so far, imported by [`Unmarshaller::finish`].
    objrefs: Vec<Objref>,
    /// Interface pointers imported so far (released on failure).
    imported: Vec<*mut *mut std::ffi::c_void>,
}

/// An interface pointer as read: where it goes, the structure holding it (whose fields an
/// `[iid_is]` names), and its OBJREF (`None` for NULL); `pending` until the referent
/// holding the OBJREF is read.
struct Objref {
    ip: &'static crate::desc::InterfacePointer,
    slot: *mut *mut std::ffi::c_void,
    base: *const u8,
    bytes: Option<Vec<u8>>,
    pending: bool,
}

/// A user-marshalled value read in its wire form: the wire value (a block of its own,
/// whose referents are among the message's allocations) and where the presented value
/// goes.
struct Wire {
    user: &'static UserType,
    wire: *mut u8,
    mem: *mut u8,
}

impl<'a> Unmarshaller<'a> {
    pub fn new(bytes: &'a [u8], params: &'a [*mut u8], limits: Limits) -> Unmarshaller<'a> {
        Unmarshaller {
            r: Reader::new(bytes),
            params,
            allocs: Vec::new(),
            budget: limits.max_alloc,
            full: HashMap::new(),
            checks: Vec::new(),
            bstrs: Vec::new(),
            wires: Vec::new(),
            made: Vec::new(),
            objrefs: Vec::new(),
            imported: Vec::new(),
        }
    }

    /// Goes on reading at `pos`, where a prefix the caller read itself ends (DCOM's
    /// ORPCTHIS or ORPCTHAT); alignment still counts from the message's first byte.
    pub fn skip_to(&mut self, pos: usize) -> Result<()> {
        if pos < self.r.pos() {
            return Err(self.bad("a prefix ends before the reader's position"));
        }
        self.r.take(pos - self.r.pos()).map(|_| ())
    }

    /// The bytes read so far: where the next value starts (a caller that reads a prefix
    /// of the stub data, as DCOM's ORPCTHIS, goes on from here).
    pub fn position(&self) -> usize {
        self.r.pos()
    }

    fn bad(&self, why: &'static str) -> NdrError {
        self.r.error(why)
    }

    /// Zeroed memory from the task allocator, counted against the budget and recorded.
    pub(crate) fn alloc(&mut self, size: usize) -> Result<*mut u8> {
        self.alloc_with(size, true)
    }

    /// Memory from the task allocator, counted against the budget and recorded; zeroed
    /// unless `zero` is false, which only a block the message then fills whole may ask
    /// (nothing reads it before, and a failure frees it unread).
    fn alloc_with(&mut self, size: usize, zero: bool) -> Result<*mut u8> {
        if size > self.budget {
            return Err(NdrError::TooLarge);
        }
        self.budget -= size;
        let p = CoTaskMemAlloc(size.max(1)).cast::<u8>();
        if p.is_null() {
            return Err(NdrError::OutOfMemory);
        }
        if zero {
            // SAFETY: `p` is a fresh block of at least `size` bytes.
            unsafe { p.write_bytes(0, size.max(1)) };
        }
        self.allocs.push(p);
        Ok(p)
    }

    /// Frees everything allocated so far (after a failure).
    pub fn abort(&mut self) {
        for slot in self.imported.drain(..).rev() {
            // SAFETY: an interface pointer this message imported into live memory, its
            // reference this message's; cleared so nothing uses it.
            unsafe {
                let itf = slot.read_unaligned();
                slot.write_unaligned(std::ptr::null_mut());
                crate::interface::release(itf);
            }
        }
        self.objrefs.clear();
        for (u, mem) in self.made.drain(..).rev() {
            // SAFETY: a presented value the routines made, inside memory freed below or
            // the caller's; freed once.
            unsafe { (u.routines.free)(mem) };
        }
        for w in self.wires.drain(..) {
            // SAFETY: the wire value's own block (its referents are in `allocs`).
            unsafe { CoTaskMemFree(w.wire.cast()) };
        }
        for p in self.allocs.drain(..).rev() {
            // SAFETY: every recorded block came from CoTaskMemAlloc and is freed once.
            unsafe { CoTaskMemFree(p.cast()) };
        }
        for b in self.bstrs.drain(..) {
            // SAFETY: every recorded BSTR came from SysAllocStringByteLen, freed once.
            unsafe { SysFreeString(b) };
        }
    }

    /// Hands the memory over to its owner (after success): nothing is freed by `abort`.
    pub fn commit(&mut self) {
        // Wire values are converted by `finish`; any left (no `finish`) are dropped.
        for w in self.wires.drain(..) {
            // SAFETY: the wire value's own block.
            unsafe { CoTaskMemFree(w.wire.cast()) };
        }
        self.made.clear();
        self.imported.clear();
        self.objrefs.clear();
        self.allocs.clear();
        self.bstrs.clear();
    }

    /// Checks the correlations recorded while reading, now that every value is in memory.
    ///
    /// # Safety
    /// The parameters and structures the checks name are still alive.
    pub unsafe fn finish(&mut self) -> Result<()> {
        for c in std::mem::take(&mut self.checks) {
            let scope = Scope {
                params: self.params,
                base: c.base,
            };
            // SAFETY: forwarded.
            let got = unsafe { eval(c.expr, scope) };
            let want = match c.want {
                Want::Value(v) => Ok(v),
                // SAFETY: forwarded: the other structure is alive too.
                Want::SameAs(other) => unsafe {
                    eval(
                        c.expr,
                        Scope {
                            params: self.params,
                            base: other,
                        },
                    )
                },
            };
            if got.is_err() || got != want {
                return Err(NdrError::bad(
                    c.at,
                    "a count or discriminant disagrees with the value it correlates with",
                ));
            }
        }
        // SAFETY: forwarded: the wire values are checked now.
        unsafe { self.convert()? };
        // SAFETY: forwarded: the whole message is read and checked.
        unsafe { self.import() }
    }

    /// Imports the interface pointers read, in order: each OBJREF becomes a pointer (a
    /// proxy, or the object itself when it lives here) in its slot. What the slot held is
    /// not read: an `[out]` slot may hold anything (the caller's memory), and the old value
    /// of an `[in, out]` parameter is released by [`crate::proc::unmarshal_response_at`].
    ///
    /// # Safety
    /// The slots, and the parameters and structures an `[iid_is]` names, are alive.
    unsafe fn import(&mut self) -> Result<()> {
        for o in std::mem::take(&mut self.objrefs) {
            let new = match &o.bytes {
                None => std::ptr::null_mut(),
                Some(bytes) => {
                    let scope = Scope {
                        params: self.params,
                        base: o.base,
                    };
                    // SAFETY: forwarded.
                    let iid = unsafe { crate::interface::iid(o.ip, scope)? };
                    crate::interface::current(|m| m.unmarshal(&iid, bytes))?
                }
            };
            // SAFETY: the slot is an interface pointer's memory.
            unsafe { o.slot.write_unaligned(new) };
            if !new.is_null() {
                self.imported.push(o.slot);
            }
        }
        Ok(())
    }

    /// Converts the wire values read into their presented values, the last read first (a
    /// wire value holding another user-marshalled value needs that one converted), and
    /// frees the wire values.
    ///
    /// # Safety
    /// The memory the presented values go to is alive.
    unsafe fn convert(&mut self) -> Result<()> {
        if self.wires.is_empty() {
            return Ok(());
        }
        let mut result = Ok(());
        while let Some(w) = self.wires.pop() {
            if result.is_ok() {
                // SAFETY: the presented value's memory is zeroed or holds the caller's
                // old value (an [in, out] parameter's), which is replaced.
                unsafe {
                    (w.user.routines.free)(w.mem);
                    w.mem.write_bytes(0, w.user.size);
                }
                // SAFETY: the wire value is complete and checked.
                result = unsafe { (w.user.routines.from_wire)(w.wire, w.mem) };
                if result.is_ok() {
                    self.made.push((w.user, w.mem));
                }
            }
            // The wire value and what it points to go: out of the message's allocations
            // (and any presented value inside it out of `made`).
            let mut sweep = crate::free::Sweep::new();
            // SAFETY: the wire value's pointers are NULL or this message's blocks.
            unsafe { sweep.value(w.user.wire, w.wire, std::ptr::null(), &[]) };
            for &(_, mem) in &sweep.users {
                self.made.retain(|&(_, m)| m != mem);
            }
            self.allocs.retain(|&p| !sweep.holds(p as usize));
            self.bstrs.retain(|&b| !sweep.holds(b as usize));
            // SAFETY: the blocks found are the wire value's, now no one else's.
            unsafe {
                sweep.free();
                CoTaskMemFree(w.wire.cast());
            }
        }
        result
    }

    fn check(&mut self, expr: &'static Expr, base: *const u8, want: i64) {
        self.checks.push(Check {
            expr,
            base,
            want: Want::Value(want),
            at: self.r.pos(),
        });
    }

    /// A full pointer with referent id `id` to a `ty` from the structure at `base`, whose
    /// value goes to `slot`. `Ok(true)`: an alias of a referent already read or being read
    /// (the slot is or will be filled in); `Ok(false)`: the first pointer with this id,
    /// whose referent the caller reads next. An alias must point to the same type, and the
    /// correlations that describe its referent from outside (`size_is`, `length_is`,
    /// `switch_is`) must agree with the first pointer's.
    fn full_pointer(
        &mut self,
        id: u32,
        ty: Type,
        base: *const u8,
        slot: *mut *mut u8,
    ) -> Result<bool> {
        let at = self.r.pos();
        let Some(first) = self.full.get_mut(&id) else {
            self.full.insert(
                id,
                Full {
                    ty,
                    base,
                    state: FullState::Pending(Vec::new()),
                },
            );
            return Ok(false);
        };
        if !same_type(first.ty, ty) {
            return Err(NdrError::bad(
                at,
                "a full pointer aliases a referent of another type",
            ));
        }
        match &mut first.state {
            // SAFETY: the slot is a pointer in memory this message allocated or the
            // caller's parameter.
            FullState::Done(mem) => unsafe { slot.write_unaligned(*mem) },
            FullState::Pending(waiting) => waiting.push(slot),
        }
        let first_base = first.base;
        if first_base != base {
            let mut exprs = Vec::new();
            outer_exprs(ty, &mut exprs, 0);
            for expr in exprs {
                self.checks.push(Check {
                    expr,
                    base,
                    want: Want::SameAs(first_base),
                    at,
                });
            }
        }
        Ok(true)
    }

    /// Unmarshals one top-level parameter into `slot`. A top-level `[ref]` pointer whose
    /// slot already holds an address (the client's `[out]` buffer) is filled in place,
    /// after checking that what arrives fits what the caller's correlation gives it;
    /// otherwise its referent is allocated.
    ///
    /// # Safety
    /// `slot` holds writable memory for a value of `ty`; a non-NULL top-level `[ref]`
    /// pointer in it points to a value of its pointee (with the room its correlations say).
    pub unsafe fn param(&mut self, ty: Type, slot: *mut u8) -> Result<()> {
        // SAFETY: forwarded.
        let room = unsafe { self.room(ty, slot) };
        // SAFETY: forwarded.
        unsafe { self.param_in(ty, slot, room) }
    }

    /// What the caller's memory under a top-level `[ref]` parameter at `slot` holds, from
    /// the caller's correlation as it is now. A client evaluates every parameter's room
    /// before it reads any of the response: a value the response brings (`[in, out]
    /// *pcb`) must not size the buffer the caller gave for the old one.
    ///
    /// # Safety
    /// As [`Unmarshaller::param`].
    pub unsafe fn room(&self, ty: Type, slot: *mut u8) -> Room {
        let Type::Pointer(p) = ty else {
            return Room::Any;
        };
        if p.kind != PointerKind::Ref {
            return Room::Any;
        }
        // SAFETY: a pointer parameter's slot holds a pointer.
        let mem = unsafe { slot.cast::<*mut u8>().read_unaligned() };
        if mem.is_null() {
            return Room::Any;
        }
        let ty = p.pointee;
        let (tail, base) = match ty {
            // SAFETY: `mem` is a structure of `s` (the caller's contract).
            Type::Struct(s) if conformant_tail(ty).is_some() => {
                let (t, _, b) = unsafe { tail_place(s, mem) };
                (t, b)
            }
            Type::Array(_) | Type::String(_) => (ty, std::ptr::null()),
            _ => return Room::Any,
        };
        let e = match tail {
            Type::Array(a) => match a.count {
                Count::Conformant(e) => e,
                Count::Fixed(_) => return Room::Any,
            },
            Type::String(s) if s.fixed.is_none() => match s.size {
                Some(e) => e,
                None => return Room::Unknown("a string without a size arrives in caller memory"),
            },
            _ => return Room::Any,
        };
        let scope = Scope {
            params: self.params,
            base,
        };
        // SAFETY: forwarded.
        match unsafe { eval(e, scope) } {
            Ok(n) => Room::Elements(n),
            Err(_) => Room::Unknown("the receiving buffer's size is unknown"),
        }
    }

    /// [`Unmarshaller::param`] with the room of the caller's buffer evaluated before (see
    /// [`Unmarshaller::room`]).
    ///
    /// # Safety
    /// As [`Unmarshaller::param`]; `room` is what [`Unmarshaller::room`] gave for this
    /// parameter before anything it depends on changed.
    pub unsafe fn param_in(&mut self, ty: Type, slot: *mut u8, room: Room) -> Result<()> {
        let Type::Pointer(p) = ty else {
            // SAFETY: forwarded.
            return unsafe { self.absorb(ty, slot, std::ptr::null(), None) };
        };
        let slot = slot.cast::<*mut u8>();
        if p.kind == PointerKind::Ref {
            // SAFETY: a pointer parameter's slot holds a pointer.
            let cur = unsafe { slot.read_unaligned() };
            if cur.is_null() {
                // SAFETY: forwarded.
                return unsafe { self.referents(p.pointee, slot, std::ptr::null(), None) };
            }
            // `cur` has room for what the caller's correlation said.
            self.check_room(room)?;
            let pointee = p.pointee;
            let hoisted = if is_conformant(pointee) || conformant_tail(pointee).is_some() {
                Some(self.r.u32()?)
            } else {
                None
            };
            // SAFETY: forwarded.
            return unsafe { self.absorb(pointee, cur, std::ptr::null(), hoisted) };
        }
        let id = self.r.u32()?;
        if id == 0 {
            // SAFETY: the slot holds a pointer.
            unsafe { slot.write_unaligned(std::ptr::null_mut()) };
            return Ok(());
        }
        let full = (p.kind == PointerKind::Full).then_some(id);
        if let Some(id) = full {
            if let Some(Full {
                state: FullState::Pending(_),
                ..
            }) = self.full.get(&id)
            {
                return Err(self.bad("a full pointer refers to a referent still being read"));
            }
            if self.full_pointer(id, p.pointee, std::ptr::null(), slot)? {
                return Ok(());
            }
        }
        // SAFETY: forwarded.
        unsafe { self.referents(p.pointee, slot, std::ptr::null(), full) }
    }

    /// Unmarshals a value of `ty` into new memory (sized by the counts it arrives with),
    /// whose address goes to `slot`: a serialized type's top-level value.
    ///
    /// # Safety
    /// `slot` is writable.
    pub unsafe fn new_value(&mut self, ty: Type, slot: *mut *mut u8) -> Result<()> {
        // SAFETY: forwarded.
        unsafe { self.referents(ty, slot, std::ptr::null(), None) }
    }

    /// For a value the caller's memory receives in place: a conformant array or string (or
    /// a structure ending in one) must not carry more elements than the caller's buffer
    /// holds.
    fn check_room(&mut self, room: Room) -> Result<()> {
        match room {
            Room::Any => Ok(()),
            Room::Unknown(why) => Err(self.bad(why)),
            Room::Elements(room) => {
                let n = i64::from(self.r.peek_u32()?);
                if n > room {
                    return Err(self.bad("more elements arrive than the receiving buffer holds"));
                }
                Ok(())
            }
        }
    }

    /// A value in existing memory and then the referents of its embedded pointers;
    /// `hoisted`: the count of its conformant part, read already.
    unsafe fn absorb(
        &mut self,
        ty: Type,
        mem: *mut u8,
        base: *const u8,
        hoisted: Option<u32>,
    ) -> Result<()> {
        let mut found = Vec::new();
        // SAFETY: forwarded.
        unsafe { self.scalars(ty, mem, base, hoisted, &mut found)? };
        // SAFETY: forwarded.
        unsafe { self.drain(found) }
    }

    /// A referent allocated here (its slot filled in) and then its own referents.
    unsafe fn referents(
        &mut self,
        ty: Type,
        slot: *mut *mut u8,
        base: *const u8,
        full: Option<u32>,
    ) -> Result<()> {
        let first = Deferred {
            ty,
            slot,
            base,
            full,
        };
        // SAFETY: forwarded.
        unsafe { self.drain(vec![first]) }
    }

    unsafe fn drain(&mut self, first: Vec<Deferred>) -> Result<()> {
        let mut stack: Vec<Deferred> = first.into_iter().rev().collect();
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            // SAFETY: the slot is a pointer inside memory this message allocated or the
            // caller's parameter.
            unsafe { self.referent(d, &mut found)? };
            stack.extend(found.drain(..).rev());
        }
        Ok(())
    }

    /// Allocates a referent (reading first the count that sizes it) and reads it.
    unsafe fn referent(&mut self, d: Deferred, found: &mut Vec<Deferred>) -> Result<()> {
        if let Type::BstrBlob = d.ty {
            // SAFETY: the slot is a BSTR's memory.
            return unsafe { self.bstr_blob(d.slot.cast()) };
        }
        if let Type::InterfaceData = d.ty {
            return self.interface_data(d.slot.cast());
        }
        // A conformant array or string is its own tail.
        let (size, hoisted) = match conformant_tail(d.ty) {
            Some(tail @ (Type::Array(_) | Type::String(_))) if is_conformant(tail) => {
                let n = self.r.u32()?;
                let (stride, least) = match tail {
                    Type::Array(a) => (a.stride, min_wire(a.element)),
                    Type::String(s) => (s.char_size, 0),
                    _ => (1, 1),
                };
                let varying = match tail {
                    Type::Array(a) => a.varying.is_some(),
                    _ => true,
                };
                // A conformant array sends all its elements: they must be in the message.
                // A varying one may announce more room than it sends; the budget bounds it.
                if !varying && (n as usize).saturating_mul(least) > self.r.remaining() {
                    return Err(self.bad("an array count exceeds the bytes left in the message"));
                }
                let elements = (n as usize).saturating_mul(stride);
                let size = match d.ty {
                    Type::Struct(s) => (tail_offset(s).saturating_add(elements)).max(s.size),
                    _ => elements,
                };
                (size, Some(n))
            }
            _ => (mem_size(d.ty), None),
        };
        // A conformant array of a block type is copied whole from the message: no need to
        // zero it first (the unmarshalling bandwidth of a large array is memcpy's).
        let fills_all = matches!(d.ty, Type::Array(a)
            if a.varying.is_none()
                && matches!(a.count, Count::Conformant(_))
                && is_block(a.element, a.stride));
        let mem = self.alloc_with(size, !fills_all)?;
        // SAFETY: the slot is a writable pointer (see `drain`).
        unsafe { d.slot.write_unaligned(mem) };
        if let Some(id) = d.full
            && let Some(full) = self.full.get_mut(&id)
            && let FullState::Pending(waiting) =
                std::mem::replace(&mut full.state, FullState::Done(mem))
        {
            for w in waiting {
                // SAFETY: each waiting slot is a pointer inside this message's memory.
                unsafe { w.write_unaligned(mem) };
            }
        }
        // SAFETY: `mem` has room for the value as its count says.
        unsafe { self.scalars(d.ty, mem, d.base, hoisted, found) }
    }

    /// An MInterfacePointer (MS-DCOM 2.2.14): the OBJREF's bytes, kept for
    /// [`Unmarshaller::import`] with the interface pointer whose referent it is.
    fn interface_data(&mut self, slot: *mut *mut std::ffi::c_void) -> Result<()> {
        let at = self.r.pos();
        self.r.align(4)?;
        let max = self.r.u32()?;
        let n = self.r.u32()?;
        if n != max {
            return Err(self.bad("an MInterfacePointer's size disagrees with its conformance"));
        }
        let n = n as usize;
        if n > self.r.remaining() {
            return Err(self.bad("an OBJREF longer than the bytes left in the message"));
        }
        if n > self.budget {
            return Err(NdrError::TooLarge);
        }
        self.budget -= n;
        let bytes = self.r.take(n)?.to_vec();
        match self
            .objrefs
            .iter_mut()
            .rev()
            .find(|o| o.slot == slot && o.pending)
        {
            Some(o) => {
                o.bytes = Some(bytes);
                o.pending = false;
                Ok(())
            }
            None => Err(NdrError::bad(at, "an OBJREF with no interface pointer")),
        }
    }

    /// A FLAGGED_WORD_BLOB into a new BSTR at `slot` (MS-OAUT 2.2.23.2).
    unsafe fn bstr_blob(&mut self, slot: *mut *mut u16) -> Result<()> {
        let max = self.r.u32()?;
        let bytes = self.r.u32()?;
        let units = self.r.u32()?;
        if units != max {
            return Err(self.bad("a BSTR's count disagrees with its conformance"));
        }
        if bytes == u32::MAX {
            if units != 0 {
                return Err(self.bad("a NULL BSTR carries characters"));
            }
            // SAFETY: the slot holds a BSTR pointer.
            unsafe { slot.write_unaligned(std::ptr::null_mut()) };
            return Ok(());
        }
        if units != bytes.div_ceil(2) {
            return Err(self.bad("a BSTR's byte count disagrees with its characters"));
        }
        let data = self.r.take(units as usize * 2)?;
        if bytes as usize > self.budget {
            return Err(NdrError::TooLarge);
        }
        self.budget -= bytes as usize;
        // SAFETY: `data` holds at least `bytes` bytes.
        let b = unsafe { SysAllocStringByteLen(data.as_ptr(), bytes) };
        if b.is_null() {
            return Err(NdrError::OutOfMemory);
        }
        self.bstrs.push(b);
        // SAFETY: the slot holds a BSTR pointer.
        unsafe { slot.write_unaligned(b) };
        Ok(())
    }

    fn base_value(&mut self, b: Base) -> Result<i64> {
        Ok(match b {
            Base::Boolean => i64::from(self.r.u8()? != 0),
            Base::Byte | Base::Char | Base::USmall => i64::from(self.r.u8()?),
            Base::Small => i64::from(self.r.u8()? as i8),
            Base::WChar | Base::UShort => i64::from(self.r.u16()?),
            Base::Short => i64::from(self.r.u16()? as i16),
            Base::Enum16 => {
                let v = self.r.u16()?;
                if v > 0x7FFF {
                    return Err(self.bad("an enum value beyond 16 bits"));
                }
                i64::from(v)
            }
            Base::Long | Base::Enum32 | Base::Int3264 => i64::from(self.r.u32()? as i32),
            Base::ULong | Base::ErrorStatus | Base::Float | Base::UInt3264 => {
                i64::from(self.r.u32()?)
            }
            Base::Hyper | Base::UHyper | Base::Double => self.r.u64()? as i64,
        })
    }

    /// The flat part of a value into `mem`; referents of embedded pointers go on
    /// `found`. `hoisted`: the count of this value's conformant tail, already read.
    unsafe fn scalars(
        &mut self,
        ty: Type,
        mem: *mut u8,
        base: *const u8,
        hoisted: Option<u32>,
        found: &mut Vec<Deferred>,
    ) -> Result<()> {
        match ty {
            // SAFETY (all arms): `mem` has room for a value of `ty` (allocated from its
            // description and counts, or the caller's checked memory); field, element and
            // arm addresses stay inside it.
            Type::Base(b) => {
                let v = self.base_value(b)?;
                unsafe { write_base(mem, b, v) };
                Ok(())
            }
            Type::Status(_) => {
                let v = self.base_value(Base::ErrorStatus)?;
                unsafe { write_base(mem, Base::ErrorStatus, v) };
                Ok(())
            }
            Type::Range(r) => {
                let v = self.base_value(r.base)?;
                if v < r.min || v > r.max {
                    return Err(self.bad("a value outside its [range]"));
                }
                unsafe { write_base(mem, r.base, v) };
                Ok(())
            }
            Type::Struct(s) => {
                let tail = conformant_tail(ty);
                let n = match (tail, hoisted) {
                    (Some(_), Some(n)) => Some(n),
                    (Some(_), None) => return Err(NdrError::Unsupported(UNSIZED)),
                    (None, _) => None,
                };
                self.r.align(wire_align(ty))?;
                let last = s.fields.len().saturating_sub(1);
                for (i, f) in s.fields.iter().enumerate() {
                    let inner = if i == last { n } else { None };
                    unsafe { self.scalars(f.ty, mem.add(f.offset), mem, inner, found)? };
                }
                Ok(())
            }
            Type::Array(a) => {
                let count = match a.count {
                    Count::Fixed(n) => n,
                    Count::Conformant(e) => {
                        let n = match hoisted {
                            Some(n) => n,
                            None => return Err(NdrError::Unsupported(UNSIZED)),
                        };
                        self.check(e, base, i64::from(n));
                        n
                    }
                };
                let (first, len) = match &a.varying {
                    Some(v) => {
                        let first = self.r.u32()?;
                        let len = self.r.u32()?;
                        if u64::from(first) + u64::from(len) > u64::from(count) {
                            return Err(self.bad("a varying array's window exceeds the array"));
                        }
                        if let Some(e) = v.first {
                            self.check(e, base, i64::from(first));
                        } else if first != 0 {
                            return Err(self.bad("a varying array starts past 0 without first_is"));
                        }
                        self.check(v.length, base, i64::from(len));
                        (first, len)
                    }
                    None => (0, count),
                };
                if (len as usize).saturating_mul(min_wire(a.element)) > self.r.remaining() {
                    return Err(self.bad("an array length exceeds the bytes left in the message"));
                }
                let start = unsafe { mem.add(first as usize * a.stride) };
                self.r.align(wire_align(a.element))?;
                if is_block(a.element, a.stride) {
                    let bytes = self.r.take(len as usize * a.stride)?;
                    // SAFETY: the window lies inside the array's memory.
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), start, bytes.len()) };
                    return Ok(());
                }
                for i in 0..len as usize {
                    let e = unsafe { start.add(i * a.stride) };
                    unsafe { self.scalars(a.element, e, base, None, found)? };
                }
                Ok(())
            }
            Type::String(s) => {
                let room = match s.fixed {
                    Some(n) => n,
                    None => {
                        let max = match hoisted {
                            Some(n) => n,
                            None => return Err(NdrError::Unsupported(UNSIZED)),
                        };
                        if let Some(e) = s.size {
                            self.check(e, base, i64::from(max));
                        }
                        max
                    }
                };
                let offset = self.r.u32()?;
                let len = self.r.u32()?;
                if offset != 0 {
                    return Err(self.bad("a string's offset is not 0"));
                }
                if len > room {
                    return Err(self.bad("a string is longer than its array"));
                }
                let bytes = self.r.take(len as usize * s.char_size)?;
                // A string's actual count includes its terminator: an empty one has none
                // (and would leave whatever the memory held, a caller's old characters).
                let ends_in_zero = match len {
                    0 => false,
                    _ => bytes[bytes.len() - s.char_size..].iter().all(|&b| b == 0),
                };
                if !ends_in_zero {
                    return Err(self.bad("a string does not end in its terminator"));
                }
                // SAFETY: `len <= room` characters fit the string's memory.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), mem, bytes.len()) };
                Ok(())
            }
            Type::Pointer(p) => {
                let slot = mem.cast::<*mut u8>();
                let id = self.r.u32()?;
                if id == 0 {
                    if p.kind == PointerKind::Ref {
                        return Err(self.bad("a [ref] pointer is NULL"));
                    }
                    unsafe { slot.write_unaligned(std::ptr::null_mut()) };
                    return Ok(());
                }
                let mut full = None;
                if p.kind == PointerKind::Full {
                    if self.full_pointer(id, p.pointee, base, slot)? {
                        return Ok(());
                    }
                    full = Some(id);
                }
                found.push(Deferred {
                    ty: p.pointee,
                    slot,
                    base,
                    full,
                });
                Ok(())
            }
            Type::Union(u) => {
                let disc = self.base_value(u.switch)?;
                let (arms, arm_base) = match u.selector {
                    Selector::Encapsulated { arms_offset } => {
                        unsafe { write_base(mem, u.switch, disc) };
                        (unsafe { mem.add(arms_offset) }, mem.cast_const())
                    }
                    Selector::Expr(e) => {
                        self.check(e, base, disc);
                        (mem, base)
                    }
                };
                match arm(u, disc) {
                    None => Err(self.bad("a union discriminant selects no arm")),
                    Some(None) => Ok(()),
                    Some(Some(t)) => unsafe { self.scalars(t, arms, arm_base, None, found) },
                }
            }
            Type::ContextHandle => {
                self.r.align(4)?;
                let bytes = self.r.take(20)?;
                let slot = mem.cast::<*mut u8>();
                // A handle the slot held (the client's, for [in, out]) is replaced.
                let old = unsafe { slot.read_unaligned() };
                if !old.is_null() {
                    // SAFETY: a context handle's block is the slot's, from the task allocator.
                    unsafe { CoTaskMemFree(old.cast()) };
                    unsafe { slot.write_unaligned(std::ptr::null_mut()) };
                }
                if bytes.iter().any(|&b| b != 0) {
                    let h = self.alloc(20)?;
                    // SAFETY: `h` has 20 bytes; the slot holds a pointer.
                    unsafe {
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), h, 20);
                        slot.write_unaligned(h);
                    }
                }
                Ok(())
            }
            Type::Ignore => Ok(()),
            Type::Unsupported(o) => Err(NdrError::Unsupported(o.why)),
            Type::User(u) => {
                if has_full(u.wire, &mut Vec::new()) {
                    return Err(NdrError::Unsupported(
                        "a full pointer in a user-marshalled type's wire form",
                    ));
                }
                let size = mem_size(u.wire).max(1);
                if size > self.budget {
                    return Err(NdrError::TooLarge);
                }
                self.budget -= size;
                let wire = CoTaskMemAlloc(size).cast::<u8>();
                if wire.is_null() {
                    return Err(NdrError::OutOfMemory);
                }
                // SAFETY: a fresh block of `size` bytes.
                unsafe { wire.write_bytes(0, size) };
                self.wires.push(Wire { user: u, wire, mem });
                // The wire value is a value of its own: its correlations name its fields.
                unsafe { self.scalars(u.wire, wire, std::ptr::null(), None, found) }
            }
            Type::Bstr => {
                let slot = mem.cast::<*mut u8>();
                // A BSTR the slot held (the client's, for [in, out]) is replaced.
                let old = unsafe { slot.read_unaligned() };
                if !old.is_null() {
                    // SAFETY: a BSTR in the slot is the slot's, from SysAllocString.
                    unsafe { SysFreeString(old.cast()) };
                    unsafe { slot.write_unaligned(std::ptr::null_mut()) };
                }
                if self.r.u32()? != 0 {
                    found.push(Deferred {
                        ty: Type::BstrBlob,
                        slot,
                        base,
                        full: None,
                    });
                }
                Ok(())
            }
            Type::BstrBlob => Err(self.bad("a BSTR blob out of place")),
            Type::Interface(ip) => {
                let slot = mem.cast::<*mut std::ffi::c_void>();
                let id = self.r.u32()?;
                // The OBJREF arrives as the deferred referent; a NULL has none.
                self.objrefs.push(Objref {
                    ip,
                    slot,
                    base,
                    bytes: None,
                    pending: id != 0,
                });
                if id != 0 {
                    found.push(Deferred {
                        ty: Type::InterfaceData,
                        slot: mem.cast(),
                        base,
                        full: None,
                    });
                }
                Ok(())
            }
            Type::InterfaceData => Err(self.bad("an MInterfacePointer out of place")),
        }
    }
}

impl Drop for Unmarshaller<'_> {
    /// Whatever was neither committed nor aborted is freed: a failure that returned early
    /// leaks nothing.
    fn drop(&mut self) {
        self.abort();
    }
}

/// The correlations a value of `ty` is read with from the structure holding its pointer
/// (not from a structure of its own): an array's count and window, a string's size, a
/// non-encapsulated union's discriminant, through arrays, pointers and such unions.
fn outer_exprs(ty: Type, out: &mut Vec<&'static Expr>, depth: usize) {
    if depth > 64 {
        return;
    }
    match ty {
        Type::Array(a) => {
            if let Count::Conformant(e) = a.count {
                out.push(e);
            }
            if let Some(v) = &a.varying {
                out.extend(v.first);
                out.push(v.length);
            }
            outer_exprs(a.element, out, depth + 1);
        }
        Type::String(s) => out.extend(s.size),
        Type::Union(u) => {
            if let Selector::Expr(e) = u.selector {
                out.push(e);
                for t in u
                    .arms
                    .iter()
                    .filter_map(|a| a.ty)
                    .chain(u.default.flatten())
                {
                    outer_exprs(t, out, depth + 1);
                }
            }
        }
        Type::Pointer(p) => outer_exprs(p.pointee, out, depth + 1),
        _ => {}
    }
}

/// Whether a value of `ty` holds a full pointer: a wire value's blocks are freed when it
/// is converted, so none may be shared with the rest of the message.
fn has_full(ty: Type, seen: &mut Vec<usize>) -> bool {
    // Each structure and union once: recursive types end, and none is walked twice.
    let mut key = |p: usize| {
        if seen.contains(&p) || seen.len() > 256 {
            return false;
        }
        seen.push(p);
        true
    };
    match ty {
        Type::Pointer(p) => p.kind == PointerKind::Full || has_full(p.pointee, seen),
        Type::Struct(s) => {
            key(std::ptr::from_ref(s) as usize) && s.fields.iter().any(|f| has_full(f.ty, seen))
        }
        Type::Array(a) => has_full(a.element, seen),
        Type::Union(u) => {
            key(std::ptr::from_ref(u) as usize)
                && u.arms
                    .iter()
                    .filter_map(|a| a.ty)
                    .chain(u.default.flatten())
                    .any(|t| has_full(t, seen))
        }
        Type::User(u) => key(std::ptr::from_ref(u) as usize) && has_full(u.wire, seen),
        _ => false,
    }
}

/// Why a conformant array, string or structure cannot be unmarshalled where it is: not
/// behind a pointer (whose referent is allocated for its count), nor a caller's buffer
/// sized by its correlation, it has only the memory of its fixed part (a parameter or
/// return value by value, an array element, a union arm, a field before the last).
const UNSIZED: &str = "a conformant array, string or structure not behind a pointer";

fn is_conformant(ty: Type) -> bool {
    match ty {
        Type::Array(a) => matches!(a.count, Count::Conformant(_)),
        Type::String(s) => s.fixed.is_none(),
        _ => false,
    }
}
