//! One call's request and reply through comidl's stubs, with the values given and read as
//! value trees (`ndr::Value`), for both sides: what the wire check and the round-trip
//! tests run. Every function frees what it allocated; [`guarded`] checks that it did.

use comidl_runtime::alloc::task::thread_balance;
use comidl_runtime::ndr::{
    self, Count, Direction, Limits, Param, PointerKind, Proc, ServerCall, Type, Value, free, value,
};

/// Gives the value of a parameter (or `Err` when there is none to give).
pub type Values<'a> = &'a dyn Fn(&Param) -> Result<Value, String>;

/// Parameters' values by name.
pub type Named = Vec<(&'static str, Value)>;

/// What a client reads from a reply: the `[out]` values and the return value.
pub type Reply = (Named, Option<Value>);

/// Runs a check, turning a panic into a failure and a leak of task-allocator blocks
/// into one too.
pub fn guarded<T>(check: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let before = thread_balance();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check))
        .unwrap_or_else(|_| Err("the check panicked".into()));
    match (result, before, thread_balance()) {
        (Ok(_), Some(b), Some(a)) if a != b => {
            Err(format!("{} task-allocator blocks leaked", a - b))
        }
        (r, _, _) => r,
    }
}

/// Zeroed memory for each parameter's value, owned here.
struct Frame {
    slots: Vec<Vec<u64>>,
}

impl Frame {
    fn new(proc: &Proc) -> Frame {
        let slots = proc
            .params
            .iter()
            .map(|p| vec![0u64; ndr::layout::mem_size(p.ty).div_ceil(8).max(1)])
            .collect();
        Frame { slots }
    }

    fn args(&mut self) -> Vec<*mut u8> {
        self.slots
            .iter_mut()
            .map(|s| s.as_mut_ptr().cast())
            .collect()
    }
}

/// The client's request for the `[in]` values given.
pub fn client_request(proc: &'static Proc, ins: Values) -> Result<Vec<u8>, String> {
    let mut frame = Frame::new(proc);
    let args = frame.args();
    let mut result = Ok(());
    for (p, &slot) in proc.params.iter().zip(&args) {
        if p.dir.is_in() {
            let written = ins(p).and_then(|v| {
                // SAFETY: the slot is zeroed memory for the parameter.
                unsafe { value::write(p.ty, &v, slot) }.map_err(|e| format!("{}: {e}", p.name))
            });
            if let Err(e) = written {
                result = Err(e);
                break;
            }
        } else if let Type::Pointer(_) = p.ty {
            // An [out]-only [ref] pointer must not be NULL: any room will do, nothing is sent.
            let buf = comidl_runtime::CoTaskMemAlloc(64).cast::<u8>();
            // SAFETY: a fresh block of 64 bytes; the slot holds a pointer.
            unsafe {
                buf.write_bytes(0, 64);
                slot.cast::<*mut u8>().write(buf);
            }
        }
    }
    let bytes = result.and_then(|()| {
        // SAFETY: the slots hold values of their descriptions.
        unsafe { ndr::marshal_request(proc, &args) }.map_err(|e| format!("marshalling: {e}"))
    });
    for (p, &slot) in proc.params.iter().zip(&args) {
        // SAFETY: everything under the slots was allocated here.
        unsafe {
            if p.dir.is_in() {
                free::free_param(p.ty, slot, &args);
            } else if let Type::Pointer(_) = p.ty {
                let v = slot.cast::<*mut u8>().read();
                comidl_runtime::CoTaskMemFree(v.cast());
            }
        }
    }
    bytes
}

/// The `[in]` values the server stub unmarshals from a request.
pub fn server_values(
    proc: &'static Proc,
    request: &[u8],
) -> Result<Vec<(&'static str, Value)>, String> {
    let call = ServerCall::unmarshal(proc, request, Limits::default())
        .map_err(|e| format!("the server stub refuses the request: {e}"))?;
    let mut out = Vec::new();
    for (p, &slot) in proc.params.iter().zip(call.args()) {
        if p.dir.is_in() {
            // SAFETY: the engine unmarshalled the parameter into the slot.
            let v = unsafe { value::read(p.ty, slot, std::ptr::null(), call.args()) }
                .map_err(|e| format!("{}: {e}", p.name))?;
            out.push((p.name, v));
        }
    }
    Ok(out)
}

/// The server's reply to a request, with the `[out]` values and the return value given.
pub fn server_reply(
    proc: &'static Proc,
    request: &[u8],
    outs: Values,
    ret: Option<Value>,
) -> Result<Vec<u8>, String> {
    let call = ServerCall::unmarshal(proc, request, Limits::default())
        .map_err(|e| format!("the server stub refuses the request: {e}"))?;
    let args = call.args();
    for (p, &slot) in proc.params.iter().zip(args) {
        if !p.dir.is_out() {
            continue;
        }
        let v = outs(p)?;
        // SAFETY: the slots are the call's; the values' memory comes from the task
        // allocator, which the call frees.
        unsafe {
            // An [in, out] value is replaced: free what the request brought first.
            free::free_out_param(p.ty, slot, args);
            match p.ty {
                // The stub allocated the referent of a top-level [ref] pointer: fill it,
                // or give it the room a conformant value needs.
                Type::Pointer(ptr) if ptr.kind == PointerKind::Ref => {
                    let mut referent = slot.cast::<*mut u8>().read();
                    if needs_room(ptr.pointee) {
                        comidl_runtime::CoTaskMemFree(referent.cast());
                        let room = value::room_for(ptr.pointee, &v).max(1);
                        referent = comidl_runtime::CoTaskMemAlloc(room).cast::<u8>();
                        referent.write_bytes(0, room);
                        slot.cast::<*mut u8>().write(referent);
                    }
                    value::write(ptr.pointee, &v, referent)
                }
                t => value::write(t, &v, slot),
            }
            .map_err(|e| format!("{}: {e}", p.name))?;
        }
    }
    if let (Some(t), Some(v)) = (proc.ret, ret) {
        // SAFETY: the return value's memory is the call's.
        unsafe { value::write(t, &v, call.ret()) }.map_err(|e| e.to_string())?;
    }
    // SAFETY: the parameters hold values of their descriptions.
    unsafe { call.marshal_response() }.map_err(|e| format!("marshalling: {e}"))
}

/// Whether a pointee's room depends on its value (a conformant array or string).
fn needs_room(ty: Type) -> bool {
    matches!(ty, Type::Array(a) if matches!(a.count, Count::Conformant(_)))
        || matches!(ty, Type::String(s) if s.fixed.is_none())
        || ndr::layout::conformant_tail(ty).is_some()
}

/// What the client reads from a reply: the `[out]` values by name and the return value.
/// `ins` gives the `[in]` values the call was made with (the reply's correlations may
/// name them), `outs` what each `[out]` value is expected to be (to give the caller's
/// memory the room the reply needs, as a real caller sizes its buffers).
pub fn client_values(
    proc: &'static Proc,
    ins: Values,
    outs: Values,
    reply: &[u8],
) -> Result<Reply, String> {
    let mut frame = Frame::new(proc);
    let args = frame.args();
    let mut buffers: Vec<Vec<u64>> = Vec::new();
    let mut setup = Ok(());
    for (p, &slot) in proc.params.iter().zip(&args) {
        if p.dir.is_in() {
            let written = ins(p).and_then(|v| {
                // SAFETY: the slot is zeroed memory for the parameter.
                unsafe { value::write(p.ty, &v, slot) }.map_err(|e| format!("{}: {e}", p.name))
            });
            if let Err(e) = written {
                setup = Err(e);
                break;
            }
            // The reply overwrites an [in, out] value's pointers with what it brings: what
            // the request's values pointed to is the caller's to free first.
            if p.dir == Direction::InOut {
                // SAFETY: allocated just above.
                unsafe { free::free_out_param(p.ty, slot, &args) };
            }
        }
        if let (Direction::Out, Type::Pointer(ptr)) = (p.dir, p.ty)
            && ptr.kind == PointerKind::Ref
        {
            let room = outs(p)
                .map(|v| value::room_for(ptr.pointee, &v))
                .unwrap_or(0)
                .max(ndr::layout::mem_size(ptr.pointee))
                .max(64);
            let mut buf = vec![0u64; room.div_ceil(8)];
            // SAFETY: the slot holds a pointer; the buffer lives as long as the frame.
            unsafe { slot.cast::<*mut u8>().write(buf.as_mut_ptr().cast()) };
            buffers.push(buf);
        }
    }
    let mut ret = [0u64; 1];
    let result = setup.and_then(|()| {
        // SAFETY: the slots hold the caller's values and room for the [out] ones.
        unsafe {
            ndr::unmarshal_response(
                proc,
                &args,
                ret.as_mut_ptr().cast(),
                reply,
                Limits::default(),
            )
        }
        .map_err(|e| format!("the client stub refuses the reply: {e}"))
    });
    let read = || -> Result<Reply, String> {
        result?;
        let mut out = Vec::new();
        for (p, &slot) in proc.params.iter().zip(&args) {
            if p.dir.is_out() {
                // SAFETY: the engine filled the [out] values.
                let v = unsafe { value::read(p.ty, slot, std::ptr::null(), &args) }
                    .map_err(|e| format!("{}: {e}", p.name))?;
                out.push((p.name, v));
            }
        }
        let r = match proc.ret {
            // SAFETY: as above.
            Some(t) => Some(
                unsafe { value::read(t, ret.as_ptr().cast(), std::ptr::null(), &args) }
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        Ok((out, r))
    };
    let values = read();
    for (p, &slot) in proc.params.iter().zip(&args) {
        // SAFETY: what the reply (and our [in] values) allocated under the slots.
        unsafe {
            if p.dir == Direction::Out {
                free::free_out_param(p.ty, slot, &args);
            } else {
                free::free_param(p.ty, slot, &args);
            }
        }
    }
    drop(buffers);
    values
}

/// Whether `got` holds what `want` says: records field by field as far as `want` goes,
/// unions by arm, lists element by element; a nil handle equals NULL.
pub fn same(want: &Value, got: &Value, at: &str) -> Result<(), String> {
    let differ = || Err(format!("{at}: expected {want:?}, got {got:?}"));
    match (want, got) {
        (Value::Record(_, wf), Value::Record(_, gf)) => {
            for (n, wv) in wf {
                if *n == "MaximumLength" {
                    // A counted string's room may differ; its text is compared.
                    continue;
                }
                let gv = gf
                    .iter()
                    .find(|(g, _)| g == n)
                    .map(|(_, v)| v)
                    .unwrap_or(&Value::Null);
                same(wv, gv, &format!("{at}.{n}"))?;
            }
            Ok(())
        }
        (Value::Union(wn, _, wv), Value::Union(gn, _, gv)) => {
            if wn != gn {
                return differ();
            }
            same(wv, gv, &format!("{at}.{wn}"))
        }
        (Value::List(w), Value::List(g)) => {
            if w.len() != g.len() {
                return differ();
            }
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                same(a, b, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Float(a), Value::Float(b)) if (a - b).abs() < 1e-6 => Ok(()),
        (a, b) if a == b => Ok(()),
        (Value::Handle(b), Value::Null) if *b == [0; 20] => Ok(()),
        _ => differ(),
    }
}
