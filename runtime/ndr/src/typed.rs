//! Safe calls with owned values: what generated safe client methods and server handlers
//! run. Values cross as [`Value`] trees: [`NdrValue`] converts the generated owned types
//! (and Rust's own: integers, `bool`, `String`, `Vec`, `Option`, `Box`) to and from them,
//! and [`call`] / [`serve`] convert the trees to and from C memory around the engine. No
//! memory of the engine outlives a call: what comes back is plain owned Rust data.

use comidl_runtime_core::{CoTaskMemAlloc, CoTaskMemFree};

use crate::call::{CallError, Channel, Fault};
use crate::desc::{Direction, Interface, Param, PointerKind, Proc, Type};
use crate::error::NdrError;
use crate::free::{free_out_param, free_param};
use crate::proc::{ServerCall, allocate_out, marshal_request, unmarshal_response};
use crate::unmarshal::Limits;
use crate::value::{self, Value};

/// A Rust value that has an NDR value tree.
pub trait NdrValue: Sized {
    fn to_value(&self) -> Value;
    fn from_value(v: &Value) -> Result<Self, NdrError>;
}

fn mismatch() -> NdrError {
    NdrError::BadStubData {
        at: 0,
        why: "a value of another shape than its type",
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl NdrValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
            fn from_value(v: &Value) -> Result<Self, NdrError> {
                match v {
                    Value::Int(i) => Ok(*i as $t),
                    _ => Err(mismatch()),
                }
            }
        }
    )*};
}
integers!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize);

impl NdrValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Int(i) => Ok(*i != 0),
            _ => Err(mismatch()),
        }
    }
}

impl NdrValue for f32 {
    fn to_value(&self) -> Value {
        Value::Float(f64::from(*self))
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Float(f) => Ok(*f as f32),
            _ => Err(mismatch()),
        }
    }
}

impl NdrValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Float(f) => Ok(*f),
            _ => Err(mismatch()),
        }
    }
}

impl NdrValue for String {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            // A string a server left NULL where one is required reads as empty.
            Value::Null => Ok(String::new()),
            _ => Err(mismatch()),
        }
    }
}

impl<T: NdrValue> NdrValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: NdrValue> NdrValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        T::from_value(v).map(Box::new)
    }
}

impl<T: NdrValue> NdrValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(T::to_value).collect())
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::List(items) => items.iter().map(T::from_value).collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(mismatch()),
        }
    }
}

/// A value tree stands for itself: what the safe layer gives a user-marshalled type
/// (`[wire_marshal]` and the like), whose tree is its wire value's.
impl NdrValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        Ok(v.clone())
    }
}

impl NdrValue for () {
    fn to_value(&self) -> Value {
        Value::Null
    }
    fn from_value(_: &Value) -> Result<Self, NdrError> {
        Ok(())
    }
}

/// A context handle as it travels: 20 bytes (attributes, then a UUID); all zeros is the
/// nil handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ContextHandle(pub [u8; 20]);

impl ContextHandle {
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 20]
    }
}

impl NdrValue for ContextHandle {
    fn to_value(&self) -> Value {
        Value::Handle(self.0)
    }
    fn from_value(v: &Value) -> Result<Self, NdrError> {
        match v {
            Value::Handle(b) => Ok(ContextHandle(*b)),
            Value::Null => Ok(ContextHandle::default()),
            _ => Err(mismatch()),
        }
    }
}

/// Parameters' values by name.
pub type Named = Vec<(&'static str, Value)>;

/// What a call gives back: the `[out]` values by name and the return value.
pub type Reply = (Named, Option<Value>);

/// A server's handling of one call: the procedure's index and its `[in]` values in, the
/// reply (or a fault) out.
pub type Handler<'a> = &'a dyn Fn(usize, &Named) -> Result<Reply, Fault>;

/// One call with value trees: the `[in]` values (by parameter name; missing ones are
/// NULL) go out, the `[out]` values and the return value come back. `[out]` buffers the
/// caller would size are sized from the `[in]` values' correlations, as a server stub
/// sizes them.
pub fn call(
    channel: &dyn Channel,
    interface: &Interface,
    proc: &'static Proc,
    ins: &[(&str, Value)],
) -> Result<Reply, CallError> {
    let given = |p: &Param| {
        ins.iter()
            .find(|(n, _)| *n == p.name)
            .map_or(Value::Null, |(_, v)| v.clone())
    };
    let mut slots: Vec<Vec<u64>> = proc
        .params
        .iter()
        .map(|p| vec![0u64; crate::layout::mem_size(p.ty).div_ceil(8).max(1)])
        .collect();
    let args: Vec<*mut u8> = slots.iter_mut().map(|s| s.as_mut_ptr().cast()).collect();
    let mut ret = [0u64; 1];
    let mut owned_out: Vec<*mut u8> = Vec::new();
    let result = (|| -> Result<Reply, CallError> {
        for (p, &slot) in proc.params.iter().zip(&args) {
            if p.dir.is_in() {
                // SAFETY: the slot is zeroed memory for the parameter.
                unsafe { value::write(p.ty, &given(p), slot)? };
            }
        }
        for (p, &slot) in proc.params.iter().zip(&args) {
            if p.dir == Direction::Out
                && let Type::Pointer(ptr) = p.ty
                && ptr.kind == PointerKind::Ref
            {
                // SAFETY: the [in] values are written; the slot holds a pointer.
                unsafe { allocate_out(p, slot, &args, Limits::default().max_alloc)? };
                // SAFETY: as above.
                owned_out.push(unsafe { slot.cast::<*mut u8>().read() });
            }
        }
        // SAFETY: the slots hold values of their descriptions.
        let request = unsafe { marshal_request(proc, &args)? };
        let reply = channel.call(interface, proc.opnum, request)?;
        let ret_slot = if proc.ret.is_some() {
            ret.as_mut_ptr().cast()
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: the [out] memory was allocated for the values' correlations.
        unsafe { unmarshal_response(proc, &args, ret_slot, &reply, Limits::default())? };
        let mut outs = Vec::new();
        for (p, &slot) in proc.params.iter().zip(&args) {
            if p.dir.is_out() {
                // SAFETY: the engine filled the [out] values.
                outs.push((p.name, unsafe {
                    value::read(p.ty, slot, std::ptr::null(), &args)?
                }));
            }
        }
        let r = match proc.ret {
            // SAFETY: as above.
            Some(t) => Some(unsafe { value::read(t, ret_slot, std::ptr::null(), &args)? }),
            None => None,
        };
        Ok((outs, r))
    })();
    for (p, &slot) in proc.params.iter().zip(&args) {
        // SAFETY: everything under the slots is this call's.
        unsafe {
            if p.dir == Direction::Out {
                free_out_param(p.ty, slot, &args);
            } else {
                free_param(p.ty, slot, &args);
            }
        }
    }
    for p in owned_out {
        // SAFETY: the [out] buffers allocated above.
        unsafe { CoTaskMemFree(p.cast()) };
    }
    drop(slots);
    result
}

/// Serves one request with value trees: `handle` gets the procedure's index and its
/// `[in]` values, and gives the `[out]` values and the return value (or a fault).
pub fn serve(
    interface: &'static Interface,
    opnum: u16,
    request: &[u8],
    handle: Handler,
) -> Result<Vec<u8>, Fault> {
    let Some(index) = interface.procs.iter().position(|p| p.opnum == opnum) else {
        return Err(Fault::OP_RANGE);
    };
    let proc = interface.procs[index];
    let call = ServerCall::unmarshal(proc, request, Limits::current())
        .map_err(|_| Fault::BAD_STUB_DATA)?;
    let args = call.args();
    let mut ins = Vec::new();
    for (p, &slot) in proc.params.iter().zip(args) {
        if p.dir.is_in() {
            // SAFETY: the engine unmarshalled the parameter.
            let v = unsafe { value::read(p.ty, slot, std::ptr::null(), args) }
                .map_err(|_| Fault::BAD_STUB_DATA)?;
            ins.push((p.name, v));
        }
    }
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(index, &ins)));
    let (outs, ret) = match ran {
        Ok(r) => r?,
        Err(_) => return Err(Fault::UNSPECIFIED),
    };
    for (p, &slot) in proc.params.iter().zip(args) {
        if !p.dir.is_out() {
            continue;
        }
        let v = outs
            .iter()
            .find(|(n, _)| *n == p.name)
            .map_or(Value::Null, |(_, v)| v.clone());
        // SAFETY: the call's memory; values written into task-allocator memory it frees.
        unsafe {
            free_out_param(p.ty, slot, args);
            let written = match p.ty {
                Type::Pointer(ptr) if ptr.kind == PointerKind::Ref => {
                    let room = value::room_for(ptr.pointee, &v)
                        .max(crate::layout::mem_size(ptr.pointee))
                        .max(1);
                    let old = slot.cast::<*mut u8>().read();
                    CoTaskMemFree(old.cast());
                    let fresh = CoTaskMemAlloc(room).cast::<u8>();
                    if fresh.is_null() {
                        return Err(Fault::NO_MEMORY);
                    }
                    fresh.write_bytes(0, room);
                    slot.cast::<*mut u8>().write(fresh);
                    value::write(ptr.pointee, &v, fresh)
                }
                t => value::write(t, &v, slot),
            };
            written.map_err(|_| Fault::UNSPECIFIED)?;
        }
    }
    if let (Some(t), Some(v)) = (proc.ret, ret) {
        // SAFETY: the return value's memory is the call's.
        unsafe { value::write(t, &v, call.ret()) }.map_err(|_| Fault::UNSPECIFIED)?;
    }
    // SAFETY: the parameters hold the values written.
    unsafe { call.marshal_response() }.map_err(|_| Fault::UNSPECIFIED)
}
