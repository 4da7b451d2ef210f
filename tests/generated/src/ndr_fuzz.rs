//! The NDR engine's fuzz harness: the fuzz target `ndr` (fuzz/fuzz_targets/ndr.rs) calls
//! [`run`] on every input, `cargo test` replays the inputs that once failed
//! (tests/ndr_fuzz_regressions.rs), and fuzz/examples/ndr_seeds.rs writes a seed corpus
//! from [`seeds`].
//!
//! The procedures are every procedure of every interface the fixtures describe
//! ([`crate::NDR_INTERFACES`]) and the hand-written ones of [`hand`]. An input is
//!
//! ```text
//! byte 0   the procedure: an index into procs(), modulo its length
//! byte 1   bit 0: 0 = a request (the server's side), 1 = a response (the client's side);
//!          bits 1-4: e, the memory budget (Limits::max_alloc): 16 MiB for 0, else 64 << e
//! byte 2   k: the value of the client's [in] integers (a response's side only)
//! rest     the message (NDR20 stub data)
//! ```
//!
//! A request is decoded with `ServerCall::unmarshal`. When it decodes, what the server
//! holds marshals again (`marshal_request`), that decodes, and marshalling it once more
//! gives the same bytes (a fixed point); then `marshal_response` (of the zeroed `[out]`
//! values the server allocated) and the drop, which frees everything.
//!
//! A response is decoded with `unmarshal_response` into client memory this harness
//! builds from the description: `[in]` and `[in, out]` values valid (every integer `k`,
//! strings "aa", pointers non-NULL to a depth), `[out]`-only memory filled with 0xCC
//! garbage (a caller need not initialise it) and exactly the room the `size_is`
//! correlation gives, evaluated before the call; every block is followed by 32 guard
//! bytes that must be intact afterwards. On failure every fixed-size `[out]` value must
//! be zeroed; on success the `[out]` values marshal again to a fixed point and are freed
//! with `free::free_response`. Procedures whose client memory cannot be sized (a
//! by-value conformant parameter, a room of more than 1 MiB) are skipped on that side.
//!
//! Every input must leave the thread's task-allocator balance where it found it (debug
//! builds count blocks): a leak is a finding, and so is any panic.

pub mod hand;

use std::sync::OnceLock;

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::expr::{Scope, eval};
use comidl_runtime::ndr::free::free_response;
use comidl_runtime::ndr::layout::{conformant_tail, fixed_size, mem_size, tail_offset, write_base};
use comidl_runtime::ndr::{
    Base, Count, Direction, Limits, Marshaller, PointerKind, Proc, Selector, ServerCall, Str,
    Struct, Type, Union, marshal_request, unmarshal_response,
};

/// Every procedure: the fixtures' interfaces in order, then the hand-written ones.
pub fn procs() -> &'static [&'static Proc] {
    static ALL: OnceLock<Vec<&'static Proc>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Proc> = crate::NDR_INTERFACES
            .iter()
            .flat_map(|i| i.procs.iter().copied())
            .collect();
        all.extend(hand::PROCS.iter().copied());
        all
    })
}

/// A procedure's name for files: `Interface.Method.opnum` (a property's get and put share
/// a name).
pub fn key(proc: &Proc) -> String {
    format!("{}.{}", proc.name.replace("::", "."), proc.opnum)
}

/// The index of the procedure whose [`key`] is `key`.
pub fn index_of(key: &str) -> Option<usize> {
    procs().iter().position(|&p| self::key(p) == key)
}

/// One decoded input.
pub struct Input<'a> {
    pub proc: &'static Proc,
    pub response: bool,
    pub limits: Limits,
    pub k: u8,
    pub message: &'a [u8],
}

impl Input<'_> {
    pub fn parse(data: &[u8]) -> Option<Input<'_>> {
        let [p, flags, k, message @ ..] = data else {
            return None;
        };
        let all = procs();
        let proc = all[usize::from(*p) % all.len()];
        let e = (flags >> 1) & 15;
        let max_alloc = if e == 0 { 16 << 20 } else { 64usize << e };
        Some(Input {
            proc,
            response: flags & 1 == 1,
            limits: Limits { max_alloc },
            k: *k,
            message,
        })
    }
}

/// The input for procedure `index`, a side, `k` and a message (budget: 16 MiB).
pub fn encode(index: usize, response: bool, k: u8, message: &[u8]) -> Vec<u8> {
    let mut v = vec![index as u8, u8::from(response), k];
    v.extend_from_slice(message);
    v
}

fn balance() -> isize {
    thread_balance().expect("debug builds (and fuzz builds) count task-allocator blocks")
}

/// What became of an input the harness ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Shorter than the header.
    Short,
    /// The engine refused the message.
    Refused,
    /// The engine accepted the message (and everything after it held).
    Accepted,
    /// A response for a procedure whose client memory the harness cannot build.
    Skipped,
}

/// Runs one input; panics on a finding.
pub fn run(data: &[u8]) -> Outcome {
    let Some(input) = Input::parse(data) else {
        return Outcome::Short;
    };
    let before = balance();
    let outcome = if input.response {
        response(&input)
    } else {
        request(&input)
    };
    assert_eq!(
        balance(),
        before,
        "{}: task-allocator blocks not freed (or freed twice)",
        input.proc.name
    );
    outcome
}

fn request(input: &Input) -> Outcome {
    let proc = input.proc;
    let Ok(call) = ServerCall::unmarshal(proc, input.message, input.limits) else {
        return Outcome::Refused;
    };
    // SAFETY: the server's arguments hold what the engine unmarshalled for the description.
    let again = unsafe { marshal_request(proc, call.args()) }.unwrap_or_else(|e| {
        panic!(
            "{}: an accepted request does not marshal again: {e}",
            proc.name
        )
    });
    {
        let call2 = ServerCall::unmarshal(proc, &again, input.limits)
            .unwrap_or_else(|e| panic!("{}: a re-marshalled request is refused: {e}", proc.name));
        // SAFETY: as above.
        let third = unsafe { marshal_request(proc, call2.args()) }
            .unwrap_or_else(|e| panic!("{}: the second round does not marshal: {e}", proc.name));
        assert_eq!(
            third, again,
            "{}: marshalling is not a fixed point",
            proc.name
        );
    }
    // The stub's zeroed [out] values: marshalled or refused, then everything freed.
    // SAFETY: the [out] memory is what the engine allocated for the description.
    let _ = unsafe { call.marshal_response() };
    drop(call);
    Outcome::Accepted
}

fn response(input: &Input) -> Outcome {
    let proc = input.proc;
    let Some(client) = Builder::build(proc, input.k, Mode::Client) else {
        return Outcome::Skipped;
    };
    // SAFETY: the client memory is built for the description, with the room the
    // correlations give.
    let result = unsafe {
        unmarshal_response(
            proc,
            &client.params,
            client.ret,
            input.message,
            input.limits,
        )
    };
    client.arena.check_guards(proc);
    if result.is_err() {
        client.check_outs_zeroed(proc);
        return Outcome::Refused;
    }
    // SAFETY: the [out] values are the engine's, for the description.
    let bytes = unsafe { marshal_out(proc, &client.params, client.ret) }.unwrap_or_else(|e| {
        panic!(
            "{}: an accepted response does not marshal again: {e}",
            proc.name
        )
    });
    if let Some(second) = Builder::build(proc, input.k, Mode::Client) {
        // The rooms are those before the call: the first response may have grown a count
        // an [in, out] buffer's room depends on, so the second may be refused.
        // SAFETY: as above.
        let ok =
            unsafe { unmarshal_response(proc, &second.params, second.ret, &bytes, input.limits) };
        second.arena.check_guards(proc);
        if ok.is_ok() {
            // SAFETY: as above.
            let third =
                unsafe { marshal_out(proc, &second.params, second.ret) }.unwrap_or_else(|e| {
                    panic!("{}: the second round does not marshal: {e}", proc.name)
                });
            assert_eq!(
                third, bytes,
                "{}: marshalling is not a fixed point",
                proc.name
            );
            second.free_outs(proc);
        }
    }
    client.free_outs(proc);
    Outcome::Accepted
}

/// The `[out]` and `[in, out]` values and the return value, as a server marshals them.
///
/// # Safety
/// `params` and `ret` hold valid values of the description.
pub unsafe fn marshal_out(
    proc: &Proc,
    params: &[*mut u8],
    ret: *mut u8,
) -> comidl_runtime::ndr::Result<Vec<u8>> {
    let mut m = Marshaller::new(params);
    for (p, &slot) in proc.params.iter().zip(params) {
        if p.dir.is_out() {
            // SAFETY: forwarded.
            unsafe { m.param(p.ty, slot)? };
        }
    }
    if let Some(t) = proc.ret {
        // SAFETY: forwarded.
        unsafe { m.param(t, ret)? };
    }
    Ok(m.into_bytes())
}

/// Valid requests and responses for every procedure, marshalled by the engine from memory
/// the builder fills (every integer `k`, for a few `k`): (file name, input).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, proc) in procs().iter().enumerate() {
        for k in [1u8, 2, 3, 100] {
            let Some(b) = Builder::build(proc, k, Mode::Seed) else {
                continue;
            };
            let name = key(proc);
            // SAFETY: the builder made valid values of the description.
            if let Ok(req) = unsafe { marshal_request(proc, &b.params) } {
                out.push((format!("{i:03}-{name}-req-k{k}"), encode(i, false, k, &req)));
            }
            // SAFETY: as above.
            if let Ok(resp) = unsafe { marshal_out(proc, &b.params, b.ret) } {
                out.push((
                    format!("{i:03}-{name}-resp-k{k}"),
                    encode(i, true, k, &resp),
                ));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(_, v)| seen.insert(v.clone()));
    out
}

// ---------------------------------------------------------------------------------------
// Client memory.

const GUARD: usize = 32;
const GUARD_BYTE: u8 = 0xA5;
const GARBAGE: u8 = 0xCC;
/// Most bytes one builder allocates.
const MAX_ARENA: usize = 1 << 20;

/// Blocks owned by the harness (not the task allocator), each followed by guard bytes.
#[derive(Default)]
struct Arena {
    blocks: Vec<(Box<[u64]>, usize)>,
    total: usize,
}

impl Arena {
    fn alloc(&mut self, size: usize, fill: u8) -> Option<*mut u8> {
        self.total = self.total.checked_add(size)?;
        if self.total > MAX_ARENA {
            return None;
        }
        let words = (size + GUARD).div_ceil(8);
        let mut block = vec![0u64; words].into_boxed_slice();
        let p = block.as_mut_ptr().cast::<u8>();
        // SAFETY: the block has `words * 8 >= size + GUARD` bytes.
        unsafe {
            p.write_bytes(fill, size);
            p.add(size).write_bytes(GUARD_BYTE, words * 8 - size);
        }
        self.blocks.push((block, size));
        Some(p)
    }

    fn check_guards(&self, proc: &Proc) {
        for (block, size) in &self.blocks {
            let bytes = block.len() * 8;
            // SAFETY: reading the block's own bytes.
            let all = unsafe { std::slice::from_raw_parts(block.as_ptr().cast::<u8>(), bytes) };
            assert!(
                all[*size..].iter().all(|&b| b == GUARD_BYTE),
                "{}: the engine wrote past the caller's memory (a block of {size} bytes)",
                proc.name
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Everything valid: what a client sends (seeds).
    Seed,
    /// A client about to receive a response: `[out]`-only memory is garbage, context
    /// handles NULL (the engine frees a handle it replaces).
    Client,
}

/// Client memory for one call, built from the description.
struct Builder {
    arena: Arena,
    params: Vec<*mut u8>,
    ret: *mut u8,
    k: i64,
    mode: Mode,
}

/// The most elements of one array the builder makes.
const MAX_ELEMENTS: i64 = 1 << 16;

impl Builder {
    fn build(proc: &Proc, k: u8, mode: Mode) -> Option<Builder> {
        let mut b = Builder {
            arena: Arena::default(),
            params: Vec::new(),
            ret: std::ptr::null_mut(),
            k: i64::from(k),
            mode,
        };
        for p in proc.params {
            if !matches!(p.ty, Type::Pointer(_)) && unbounded(p.ty) {
                return None;
            }
            let slot = b.arena.alloc(mem_size(p.ty).max(8), 0)?;
            b.params.push(slot);
        }
        b.ret = match proc.ret {
            Some(t) if unbounded(t) => return None,
            Some(t) => b.arena.alloc(mem_size(t).max(8), 0)?,
            None => std::ptr::null_mut(),
        };
        let params = b.params.clone();
        // Values first, so the counts that size the rest can be read: plain values, then
        // pointers to fixed-size values, then the rest.
        for pass in 0..3 {
            for (p, &slot) in proc.params.iter().zip(&params) {
                let this_pass = match p.ty {
                    Type::Pointer(ptr) if fixed_size(ptr).is_some() => 1,
                    Type::Pointer(_) => 2,
                    _ => 0,
                };
                if this_pass != pass {
                    continue;
                }
                let out_only = p.dir == Direction::Out && mode == Mode::Client;
                match p.ty {
                    Type::Pointer(ptr) if out_only && ptr.kind == PointerKind::Ref => {
                        // Garbage, with exactly the room the correlations give.
                        let mem = b.pointee(ptr.pointee, std::ptr::null(), 0, true)?;
                        // SAFETY: the slot holds a pointer.
                        unsafe { slot.cast::<*mut u8>().write_unaligned(mem) };
                    }
                    // SAFETY: the slot has room for a value of the type.
                    ty => unsafe { b.fill(ty, slot, std::ptr::null(), 0)? },
                }
            }
        }
        if let (Some(t), Mode::Seed) = (proc.ret, mode) {
            // SAFETY: the return slot has room for a value of the type.
            unsafe { b.fill(t, b.ret, std::ptr::null(), 0)? };
        }
        Some(b)
    }

    fn scope(&self, base: *const u8) -> Scope<'_> {
        Scope {
            params: &self.params,
            base,
        }
    }

    /// A count read from memory as the engine reads it.
    fn count(&self, e: &comidl_runtime::ndr::Expr, base: *const u8) -> Option<usize> {
        // SAFETY: the parameters and `base` are memory this builder filled.
        let n = unsafe { eval(e, self.scope(base)) }.ok()?;
        if !(0..=MAX_ELEMENTS).contains(&n) {
            return None;
        }
        Some(n as usize)
    }

    /// The characters a conformant string gets: its `size_is`, or "aa" and a terminator.
    fn string_room(&self, s: &Str, base: *const u8) -> Option<usize> {
        match (s.fixed, s.size) {
            (Some(n), _) => Some(n as usize),
            (None, Some(e)) => self.count(e, base),
            (None, None) => Some(3),
        }
    }

    /// Elements of a conformant tail (array or string) as its correlation says.
    fn tail_elements(&self, tail: Type, base: *const u8) -> Option<(usize, usize)> {
        match tail {
            Type::Array(a) => match a.count {
                Count::Fixed(n) => Some((n as usize, a.stride)),
                Count::Conformant(e) => Some((self.count(e, base)?, a.stride)),
            },
            Type::String(s) => Some((self.string_room(s, base)?, s.char_size)),
            _ => None,
        }
    }

    /// New memory for a pointee (filled, or garbage), sized as its correlations say.
    fn pointee(
        &mut self,
        ty: Type,
        base: *const u8,
        depth: usize,
        garbage: bool,
    ) -> Option<*mut u8> {
        match ty {
            Type::Struct(s) if conformant_tail(ty).is_some() => {
                // The fields first in a scratch block, then the tail's count from them.
                let scratch = self.arena.alloc(s.size, 0)?;
                // SAFETY: `scratch` holds the structure without its tail.
                unsafe { self.fill_struct(s, scratch, depth, false)? };
                let (tail, inner) = tail_place(s, 0)?;
                // SAFETY: `inner` is an offset inside the structure.
                let (n, stride) = self.tail_elements(tail, unsafe { scratch.add(inner) })?;
                let size = tail_offset(s)
                    .checked_add(n.checked_mul(stride)?)?
                    .max(s.size);
                let mem = self.arena.alloc(size, 0)?;
                // SAFETY: both blocks have at least `s.size` bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(scratch, mem, s.size);
                    let tail_base = mem.add(inner);
                    self.fill(tail, mem.add(tail_offset(s)), tail_base, depth)?;
                }
                Some(mem)
            }
            Type::Array(a) => {
                let n = match a.count {
                    Count::Fixed(n) => n as usize,
                    Count::Conformant(e) => self.count(e, base)?,
                };
                let size = n.checked_mul(a.stride)?;
                let mem = self.arena.alloc(size, if garbage { GARBAGE } else { 0 })?;
                if !garbage {
                    for i in 0..n {
                        // SAFETY: element `i` lies inside the block.
                        unsafe { self.fill(a.element, mem.add(i * a.stride), base, depth)? };
                    }
                }
                Some(mem)
            }
            Type::String(s) => {
                let room = self.string_room(s, base)?;
                let mem = self.arena.alloc(
                    room.checked_mul(s.char_size)?,
                    if garbage { GARBAGE } else { 0 },
                )?;
                if !garbage {
                    // SAFETY: the block has `room` characters.
                    unsafe { fill_string(mem, s.char_size, room) };
                }
                Some(mem)
            }
            _ => {
                let mem = self
                    .arena
                    .alloc(mem_size(ty).max(1), if garbage { GARBAGE } else { 0 })?;
                if !garbage {
                    // SAFETY: the block has room for a value of the type.
                    unsafe { self.fill(ty, mem, base, depth)? };
                }
                Some(mem)
            }
        }
    }

    /// A structure's fields: plain ones, then the ones whose counts or arms other fields
    /// give; the conformant tail only when `tail`.
    unsafe fn fill_struct(
        &mut self,
        s: &'static Struct,
        mem: *mut u8,
        depth: usize,
        tail: bool,
    ) -> Option<()> {
        let last = s.fields.len().saturating_sub(1);
        let has_tail = conformant_tail(Type::Struct(s)).is_some();
        for pass in 0..2 {
            for (i, f) in s.fields.iter().enumerate() {
                if has_tail && i == last {
                    if tail && pass == 1 {
                        // SAFETY: the caller sized the structure for its tail.
                        unsafe { self.fill(f.ty, mem.add(f.offset), mem, depth)? };
                    } else if let (false, 1, Type::Struct(inner)) = (tail, pass, f.ty) {
                        // SAFETY: the nested structure's fixed part is inside.
                        unsafe { self.fill_struct(inner, mem.add(f.offset), depth, false)? };
                    }
                    continue;
                }
                let late = matches!(f.ty, Type::Pointer(_) | Type::Union(_) | Type::Array(_));
                if late == (pass == 1) {
                    // SAFETY: the field lies inside the structure.
                    unsafe { self.fill(f.ty, mem.add(f.offset), mem, depth)? };
                }
            }
        }
        Some(())
    }

    /// A valid value of `ty` at `mem` (which has room for it).
    unsafe fn fill(&mut self, ty: Type, mem: *mut u8, base: *const u8, depth: usize) -> Option<()> {
        let k = self.k;
        // SAFETY (all arms): `mem` has room for a value of `ty`.
        match ty {
            Type::Base(b) => unsafe { write_base(mem, b, base_value(b, k)) },
            Type::Range(r) => unsafe { write_base(mem, r.base, k.clamp(r.min, r.max)) },
            Type::Struct(s) => unsafe { self.fill_struct(s, mem, depth, true)? },
            Type::Array(a) => {
                let n = match a.count {
                    Count::Fixed(n) => n as usize,
                    Count::Conformant(e) => self.count(e, base)?,
                };
                for i in 0..n {
                    unsafe { self.fill(a.element, mem.add(i * a.stride), base, depth)? };
                }
            }
            Type::String(s) => {
                let room = self.string_room(s, base)?;
                unsafe { fill_string(mem, s.char_size, room) };
            }
            Type::Pointer(p) => {
                let slot = mem.cast::<*mut u8>();
                let target = if (p.kind != PointerKind::Ref && depth >= 3) || depth >= 8 {
                    std::ptr::null_mut()
                } else {
                    self.pointee(p.pointee, base, depth + 1, false)?
                };
                unsafe { slot.write_unaligned(target) };
            }
            Type::Union(u) => unsafe { self.fill_union(u, mem, base, depth)? },
            Type::ContextHandle => {
                let h = match self.mode {
                    Mode::Seed => self.arena.alloc(20, k as u8)?,
                    Mode::Client => std::ptr::null_mut(),
                };
                unsafe { mem.cast::<*mut u8>().write_unaligned(h) };
            }
            // A user-marshalled value stays zeroed: an empty value of every built-in
            // (a NULL handle, format 0), which its routines still convert. An interface
            // pointer stays NULL: objects need the COM library, which this harness
            // leaves out (a non-NULL one arriving is refused without a marshaller).
            Type::Ignore
            | Type::Unsupported(_)
            | Type::Bstr
            | Type::BstrBlob
            | Type::Status(_)
            | Type::User(_)
            | Type::Interface(_)
            | Type::InterfaceData => {}
        }
        Some(())
    }

    unsafe fn fill_union(
        &mut self,
        u: &Union,
        mem: *mut u8,
        base: *const u8,
        depth: usize,
    ) -> Option<()> {
        let (disc, arms, arm_base) = match u.selector {
            Selector::Encapsulated { arms_offset } => {
                let disc = match u.arms.len() {
                    0 => 0,
                    n => u.arms[self.k as usize % n].case,
                };
                // SAFETY: an encapsulated union starts with its discriminant.
                unsafe { write_base(mem, u.switch, disc) };
                (disc, unsafe { mem.add(arms_offset) }, mem.cast_const())
            }
            // SAFETY: the memory the expression names is filled.
            Selector::Expr(e) => (unsafe { eval(e, self.scope(base)) }.ok()?, mem, base),
        };
        let arm = u
            .arms
            .iter()
            .find(|a| a.case == disc)
            .map(|a| a.ty)
            .or(u.default)?;
        if let Some(t) = arm {
            // SAFETY: the arms have room for any arm.
            unsafe { self.fill(t, arms, arm_base, depth)? };
        }
        Some(())
    }

    /// After a refused response: every fixed-size `[out]` value is zeroed.
    fn check_outs_zeroed(&self, proc: &Proc) {
        for (p, &slot) in proc.params.iter().zip(&self.params) {
            let Type::Pointer(ptr) = p.ty else { continue };
            if p.dir != Direction::Out || ptr.kind != PointerKind::Ref {
                continue;
            }
            let Some(size) = fixed_size(ptr) else {
                continue;
            };
            // SAFETY: the slot holds the pointer this builder put there, to `size` bytes.
            let bytes = unsafe {
                std::slice::from_raw_parts(slot.cast::<*const u8>().read_unaligned(), size)
            };
            assert!(
                bytes.iter().all(|&b| b == 0),
                "{}: [out] {} is not zeroed after a refused response",
                proc.name,
                p.name
            );
        }
    }

    /// Frees what a response gave the client.
    fn free_outs(&self, proc: &Proc) {
        // SAFETY: the [out] values are the engine's, for the description.
        unsafe { free_response(proc, &self.params, self.ret) };
    }
}

/// The conformant tail of a structure and the offset of the structure holding it.
fn tail_place(s: &Struct, at: usize) -> Option<(Type, usize)> {
    let last = s.fields.last()?;
    match last.ty {
        Type::Struct(inner) => tail_place(inner, at + last.offset),
        t => Some((t, at)),
    }
}

/// Whether a value of the type has no size of its own (a conformant array, string or
/// structure): it can only be a pointee.
fn unbounded(ty: Type) -> bool {
    conformant_tail(ty).is_some()
        || matches!(ty, Type::Array(a) if matches!(a.count, Count::Conformant(_)))
        || matches!(ty, Type::String(s) if s.fixed.is_none())
}

fn base_value(b: Base, k: i64) -> i64 {
    match b {
        Base::Boolean => k & 1,
        Base::Enum16 => k & 0x7FFF,
        _ => k,
    }
}

/// "aa" and a terminator, within `room` characters.
///
/// # Safety
/// `mem` has `room` characters of `char_size` bytes.
unsafe fn fill_string(mem: *mut u8, char_size: usize, room: usize) {
    if room == 0 {
        return;
    }
    let chars = (room - 1).min(2);
    // SAFETY: `chars + 1 <= room` characters.
    unsafe {
        mem.write_bytes(0, room * char_size);
        for i in 0..chars {
            mem.add(i * char_size).write(b'a');
        }
    }
}
