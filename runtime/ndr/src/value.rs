//! Value trees: the values C memory of a described type holds, as data (records with their
//! field names, unions with their arm, lists, strings), read out of memory the engine
//! unmarshalled, and written into memory the engine then marshals. They serve tools and
//! tests that handle calls without types of their own (comparing with other
//! implementations' decodings, dumping a call), and whatever builds calls at run time.

use comidl_runtime_core::{CoTaskMemAlloc, CoTaskMemFree};

use crate::desc::{Count, Selector, Type, Union};
use crate::error::{NdrError, Result};
use crate::expr::{Scope, eval};
use crate::layout::{conformant_tail, mem_size, read_base, tail_offset, write_base};
use crate::marshal::{arm, string_len};

/// One value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A NULL pointer, a nil context handle, a binding handle, or what the engine cannot
    /// describe.
    Null,
    Int(i64),
    Float(f64),
    /// A `[string]` (wide strings decoded from UTF-16, narrow ones as Latin-1).
    Str(String),
    List(Vec<Value>),
    /// A structure (or an encapsulated union's discriminant and arm): its IDL name and
    /// its fields in order.
    Record(&'static str, Vec<(&'static str, Value)>),
    /// A union's arm: its name (`""` for the default or an empty arm), the discriminant,
    /// and the value (`Null` for an empty arm).
    Union(&'static str, i64, Box<Value>),
    /// A context handle's 20 bytes.
    Handle([u8; 20]),
}

impl Value {
    /// A record's field by name.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Record(_, fields) => fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads the value of type `ty` at `mem`.
///
/// # Safety
/// `mem` holds a valid value of `ty` whose counts agree with their correlations (what
/// unmarshalling produces); `params` and `base` as for marshalling.
pub unsafe fn read(ty: Type, mem: *const u8, base: *const u8, params: &[*mut u8]) -> Result<Value> {
    // SAFETY: forwarded.
    unsafe { read_depth(ty, mem, base, params, 0) }
}

unsafe fn read_depth(
    ty: Type,
    mem: *const u8,
    base: *const u8,
    params: &[*mut u8],
    depth: usize,
) -> Result<Value> {
    if depth > 256 {
        return Err(NdrError::InvalidBound);
    }
    let scope = Scope { params, base };
    // SAFETY (whole body): `mem` holds a value of `ty`; addresses inside it follow the
    // description; pointers are NULL or valid (the caller's contract).
    unsafe {
        Ok(match ty {
            Type::Base(b) => match b {
                crate::desc::Base::Float => {
                    Value::Float(f64::from(f32::from_bits(read_base(mem, b) as u32)))
                }
                crate::desc::Base::Double => Value::Float(f64::from_bits(read_base(mem, b) as u64)),
                _ => Value::Int(read_base(mem, b)),
            },
            Type::Range(r) => Value::Int(read_base(mem, r.base)),
            Type::Struct(s) => {
                let mut fields = Vec::with_capacity(s.fields.len());
                for f in s.fields {
                    let v = read_depth(f.ty, mem.add(f.offset), mem, params, depth + 1)?;
                    fields.push((f.name, v));
                }
                Value::Record(s.name, fields)
            }
            Type::Union(u) => {
                let (disc, arms, arm_base) = match u.selector {
                    Selector::Encapsulated { arms_offset } => {
                        (read_base(mem, u.switch), mem.add(arms_offset), mem)
                    }
                    Selector::Expr(e) => (eval(e, scope)?, mem, base),
                };
                let (name, t) = union_arm(u, disc).ok_or(NdrError::InvalidTag)?;
                let v = match t {
                    Some(t) => read_depth(t, arms, arm_base, params, depth + 1)?,
                    None => Value::Null,
                };
                Value::Union(name, disc, Box::new(v))
            }
            Type::Array(a) => {
                let count = match a.count {
                    Count::Fixed(n) => i64::from(n),
                    Count::Conformant(e) => eval(e, scope)?,
                };
                let (first, len) = match &a.varying {
                    Some(v) => (
                        match v.first {
                            Some(e) => eval(e, scope)?,
                            None => 0,
                        },
                        eval(v.length, scope)?,
                    ),
                    None => (0, count),
                };
                if first < 0 || len < 0 || first.saturating_add(len) > count || len > 1 << 24 {
                    return Err(NdrError::InvalidBound);
                }
                let mut items = Vec::with_capacity(len as usize);
                for i in first..first + len {
                    let e = mem.add(i as usize * a.stride);
                    items.push(read_depth(a.element, e, base, params, depth + 1)?);
                }
                Value::List(items)
            }
            Type::String(s) => {
                let n = string_len(mem, s.char_size, s.fixed)? as usize;
                let chars = n.saturating_sub(1);
                if s.char_size == 2 {
                    let units = std::slice::from_raw_parts(mem.cast::<u16>(), chars);
                    Value::Str(String::from_utf16_lossy(units))
                } else {
                    let bytes = std::slice::from_raw_parts(mem, chars);
                    Value::Str(bytes.iter().map(|&b| char::from(b)).collect())
                }
            }
            Type::Pointer(p) => {
                let v = mem.cast::<*const u8>().read_unaligned();
                if v.is_null() {
                    Value::Null
                } else {
                    read_depth(p.pointee, v, base, params, depth + 1)?
                }
            }
            Type::ContextHandle => {
                let h = mem.cast::<*const u8>().read_unaligned();
                if h.is_null() {
                    Value::Null
                } else {
                    let mut b = [0u8; 20];
                    std::ptr::copy_nonoverlapping(h, b.as_mut_ptr(), 20);
                    Value::Handle(b)
                }
            }
            Type::Bstr => {
                let b = mem.cast::<*const u16>().read_unaligned();
                if b.is_null() {
                    Value::Null
                } else {
                    let units = b.cast::<u32>().sub(1).read_unaligned() / 2;
                    Value::Str(String::from_utf16_lossy(std::slice::from_raw_parts(
                        b,
                        units as usize,
                    )))
                }
            }
            Type::Status(_) => Value::Int(read_base(mem, crate::desc::Base::ErrorStatus)),
            // A presented value reads as its wire value.
            Type::User(u) => {
                let wire = WireTemp::new(u)?;
                (u.routines.to_wire)(mem, wire.mem)?;
                read_depth(u.wire, wire.mem, std::ptr::null(), params, depth + 1)?
            }
            // A value tree has no objects: an interface pointer reads as NULL or not at all.
            Type::Interface(_) => {
                if mem.cast::<*const u8>().read_unaligned().is_null() {
                    Value::Null
                } else {
                    return Err(NdrError::Unsupported(
                        "an interface pointer in a value tree",
                    ));
                }
            }
            Type::Ignore | Type::Unsupported(_) | Type::BstrBlob | Type::InterfaceData => {
                Value::Null
            }
        })
    }
}

/// A user-marshalled type's wire value, freed when dropped.
struct WireTemp {
    ty: Type,
    mem: *mut u8,
}

impl WireTemp {
    fn new(u: &crate::desc::UserType) -> Result<WireTemp> {
        let size = mem_size(u.wire).max(1);
        let mem = CoTaskMemAlloc(size).cast::<u8>();
        if mem.is_null() {
            return Err(NdrError::OutOfMemory);
        }
        // SAFETY: a fresh block of `size` bytes.
        unsafe { mem.write_bytes(0, size) };
        Ok(WireTemp { ty: u.wire, mem })
    }
}

impl Drop for WireTemp {
    fn drop(&mut self) {
        // SAFETY: a wire value (zeroed, or made by the routines or `write`), whose
        // pointers it owns.
        unsafe {
            crate::free::free_value(self.ty, self.mem, std::ptr::null(), &[]);
            CoTaskMemFree(self.mem.cast());
        }
    }
}

fn union_arm(u: &Union, disc: i64) -> Option<(&'static str, Option<Type>)> {
    match u.arms.iter().find(|a| a.case == disc) {
        Some(a) => Some((a.name, a.ty)),
        None => arm(u, disc).map(|t| ("", t)),
    }
}

/// Writes `value` as a value of `ty` into zeroed memory at `mem`, allocating what its
/// pointers point to from the task allocator (free it with [`crate::free::free_value`]).
/// A list fills a conformant array's room and sets nothing else: the count the
/// correlation names is a value of its own (a field or a parameter), which the value
/// tree gives too.
///
/// # Safety
/// `mem` has room for a value of `ty` (a structure ending in a conformant array: room for
/// the list it is given).
pub unsafe fn write(ty: Type, value: &Value, mem: *mut u8) -> Result<()> {
    // SAFETY: forwarded.
    unsafe { write_depth(ty, value, mem, std::ptr::null(), 0) }
}

/// `base`: the enclosing structure, whose fields a varying array's `first_is` names (they
/// are written before the array, in field order).
unsafe fn write_depth(
    ty: Type,
    value: &Value,
    mem: *mut u8,
    base: *const u8,
    depth: usize,
) -> Result<()> {
    if depth > 256 {
        return Err(NdrError::InvalidBound);
    }
    let mismatch = NdrError::InvalidBound;
    // SAFETY (whole body): `mem` has room for the value (the caller's contract, and the
    // allocations below sized from the value).
    unsafe {
        match (ty, value) {
            (_, Value::Null) => {}
            (Type::Base(b), Value::Int(v)) => write_base(mem, b, *v),
            (Type::Base(b @ crate::desc::Base::Float), Value::Float(f)) => {
                write_base(mem, b, i64::from((*f as f32).to_bits()))
            }
            (Type::Base(b @ crate::desc::Base::Double), Value::Float(f)) => {
                write_base(mem, b, f.to_bits() as i64)
            }
            (Type::Range(r), Value::Int(v)) => write_base(mem, r.base, *v),
            (Type::Struct(s), Value::Record(_, fields)) => {
                for f in s.fields {
                    if let Some((_, v)) = fields.iter().find(|(n, _)| *n == f.name) {
                        write_depth(f.ty, v, mem.add(f.offset), mem, depth + 1)?;
                    }
                }
            }
            (Type::Union(u), Value::Union(name, disc, v)) => {
                let t = match u.arms.iter().find(|a| !name.is_empty() && a.name == *name) {
                    Some(a) => a.ty,
                    None => arm(u, *disc).ok_or(NdrError::InvalidTag)?,
                };
                let case = u
                    .arms
                    .iter()
                    .find(|a| !name.is_empty() && a.name == *name)
                    .map_or(*disc, |a| a.case);
                let arms = match u.selector {
                    Selector::Encapsulated { arms_offset } => {
                        write_base(mem, u.switch, case);
                        mem.add(arms_offset)
                    }
                    Selector::Expr(_) => mem,
                };
                if let Some(t) = t {
                    write_depth(t, v, arms, base, depth + 1)?;
                }
            }
            (Type::Array(a), Value::List(items)) => {
                // A varying array's list is its window, which starts at `first_is` (in a
                // fixed array; a conformant one has only the room its list gives).
                let (first, room) = match a.count {
                    Count::Fixed(n) => {
                        let first = match a.varying.as_ref().and_then(|v| v.first) {
                            Some(e) if !base.is_null() => {
                                let scope = Scope { params: &[], base };
                                usize::try_from(eval(e, scope)?)
                                    .map_err(|_| NdrError::InvalidBound)?
                            }
                            _ => 0,
                        };
                        (first, n as usize)
                    }
                    Count::Conformant(_) => (0, items.len()),
                };
                for (i, item) in items.iter().enumerate() {
                    let at = first.saturating_add(i);
                    if at >= room {
                        break;
                    }
                    write_depth(a.element, item, mem.add(at * a.stride), base, depth + 1)?;
                }
            }
            (Type::String(s), Value::Str(text)) => {
                let room = s.fixed.map_or(usize::MAX, |n| n as usize);
                if s.char_size == 2 {
                    let units: Vec<u16> = text.encode_utf16().collect();
                    let n = units.len().min(room.saturating_sub(1));
                    std::ptr::copy_nonoverlapping(units.as_ptr(), mem.cast::<u16>(), n);
                    mem.cast::<u16>().add(n).write_unaligned(0);
                } else {
                    let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
                    let n = bytes.len().min(room.saturating_sub(1));
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), mem, n);
                    mem.add(n).write(0);
                }
            }
            (Type::Pointer(p), v) => {
                let size = room_for(p.pointee, v);
                let referent = CoTaskMemAlloc(size.max(1)).cast::<u8>();
                if referent.is_null() {
                    return Err(NdrError::OutOfMemory);
                }
                referent.write_bytes(0, size.max(1));
                mem.cast::<*mut u8>().write_unaligned(referent);
                write_depth(p.pointee, v, referent, base, depth + 1)?;
            }
            // A nil handle (20 zeros) is NULL in memory.
            (Type::ContextHandle, Value::Handle(b)) if *b == [0; 20] => {}
            (Type::ContextHandle, Value::Handle(b)) => {
                let h = CoTaskMemAlloc(20).cast::<u8>();
                if h.is_null() {
                    return Err(NdrError::OutOfMemory);
                }
                std::ptr::copy_nonoverlapping(b.as_ptr(), h, 20);
                mem.cast::<*mut u8>().write_unaligned(h);
            }
            (Type::Bstr, Value::Str(text)) => {
                let units: Vec<u16> = text.encode_utf16().collect();
                let b = comidl_runtime_core::SysAllocStringLen(units.as_ptr(), units.len() as u32);
                if b.is_null() {
                    return Err(NdrError::OutOfMemory);
                }
                mem.cast::<*mut u16>().write_unaligned(b);
            }
            (Type::Status(_), Value::Int(v)) => write_base(mem, crate::desc::Base::ErrorStatus, *v),
            // A presented value is written from its wire value.
            (Type::User(u), v) => {
                let wire = WireTemp::new(u)?;
                write_depth(u.wire, v, wire.mem, std::ptr::null(), depth + 1)?;
                (u.routines.from_wire)(wire.mem, mem)?;
            }
            (
                Type::Ignore
                | Type::Unsupported(_)
                | Type::BstrBlob
                | Type::InterfaceData
                | Type::Status(_),
                _,
            ) => {}
            _ => return Err(mismatch),
        }
    }
    Ok(())
}

/// The memory a value of `ty` needs: a conformant array or string as long as the value,
/// a structure with a conformant tail with room for its list.
pub fn room_for(ty: Type, value: &Value) -> usize {
    match (ty, value) {
        (Type::Array(a), Value::List(items)) if matches!(a.count, Count::Conformant(_)) => {
            items.len().saturating_mul(a.stride)
        }
        (Type::String(s), Value::Str(text)) if s.fixed.is_none() => {
            let chars = if s.char_size == 2 {
                text.encode_utf16().count()
            } else {
                text.chars().count()
            };
            (chars + 1).saturating_mul(s.char_size)
        }
        (Type::Struct(s), Value::Record(_, _)) if conformant_tail(ty).is_some() => {
            let tail = tail_value(s, value).map_or(0, |v| match conformant_tail(ty) {
                Some(t) => room_for(t, v),
                None => 0,
            });
            tail_offset(s).saturating_add(tail).max(s.size)
        }
        (t, _) => mem_size(t),
    }
}

/// The value of a structure's last field (through nested structures).
fn tail_value<'v>(s: &crate::desc::Struct, value: &'v Value) -> Option<&'v Value> {
    let last = s.fields.last()?;
    let v = value.field(last.name)?;
    match last.ty {
        Type::Struct(inner) => tail_value(inner, v),
        _ => Some(v),
    }
}
