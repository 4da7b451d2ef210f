//! ORPCTHIS, ORPCTHAT and MInterfacePointer as owned values (MS-DCOM 2.2.11, 2.2.13,
//! 2.2.14), encoded and decoded by the `ndr` engine from the descriptions in
//! [`crate::desc`], through its value trees: the same rules as every other parameter
//! (alignment from the start of the stub data, unique pointers as referent ids, counts
//! checked against their correlations and against the bytes received).
//!
//! ORPC extensions are carried unchanged: every ORPC_EXTENT with its GUID and bytes,
//! known or not. A NULL `extensions` pointer and an empty extent array both read as no
//! extensions; none are written as a NULL pointer. An extent's data is padded with zeros
//! to a multiple of 8 on the wire (2.2.13.1); the padding is not kept. The extent array's
//! `size` must equal its number of non-NULL extents (2.2.13.2); its `reserved` is
//! written 0 and ignored.

use std::ptr;

use comidl_runtime_core::GUID;
use comidl_runtime_ndr::free::free_value;
use comidl_runtime_ndr::layout::mem_size;
use comidl_runtime_ndr::value::{self, Value};
use comidl_runtime_ndr::{Limits, Marshaller, NdrError, Type, Unmarshaller};

use crate::desc::{MINTERFACEPOINTER_TYPE, ORPCTHAT_TYPE, ORPCTHIS_TYPE};
use crate::objref::Objref;
use crate::packed::WireError;

type Result<T> = std::result::Result<T, NdrError>;

fn bad(why: &'static str) -> NdrError {
    NdrError::BadStubData { at: 0, why }
}

/// COMVERSION (2.2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComVersion {
    pub major: u16,
    pub minor: u16,
}

impl ComVersion {
    /// COM_MAJOR_VERSION.
    pub const MAJOR: u16 = 5;
    /// 5.7, the highest version MS-DCOM describes (1.7).
    pub const CURRENT: ComVersion = ComVersion { major: 5, minor: 7 };
}

impl Default for ComVersion {
    fn default() -> ComVersion {
        ComVersion::CURRENT
    }
}

/// ORPC_EXTENT (2.2.13.1): out-of-band data identified by a GUID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrpcExtent {
    pub id: GUID,
    /// The `size` bytes, without the padding to a multiple of 8.
    pub data: Vec<u8>,
}

/// ORPCTHIS (2.2.13.3): the implicit first `[in]` parameter of every ORPC request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrpcThis {
    pub version: ComVersion,
    /// 0 in ORPC calls; any value in activation requests.
    pub flags: u32,
    /// 0 when sent, ignored on receipt (kept as received).
    pub reserved1: u32,
    /// The causality id of the call.
    pub cid: GUID,
    pub extensions: Vec<OrpcExtent>,
}

/// ORPCTHAT (2.2.13.4): the implicit first `[out]` parameter of every ORPC response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrpcThat {
    /// Any value; ignored on receipt (kept as received).
    pub flags: u32,
    pub extensions: Vec<OrpcExtent>,
}

/// MInterfacePointer (2.2.14): an OBJREF's bytes (`ulCntData`, `abData`) as an NDR
/// conformant structure, the form every interface pointer parameter takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MInterfacePointer {
    pub data: Vec<u8>,
}

impl MInterfacePointer {
    pub fn from_objref(o: &Objref) -> std::result::Result<MInterfacePointer, WireError> {
        Ok(MInterfacePointer { data: o.encode()? })
    }

    pub fn objref(&self) -> std::result::Result<Objref, WireError> {
        Objref::decode(&self.data)
    }

    /// The NDR bytes of the structure (conformance, `ulCntData`, `abData`).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let n = u32::try_from(self.data.len()).map_err(|_| NdrError::TooLarge)?;
        let v = Value::Record(
            "MInterfacePointer",
            vec![
                ("ulCntData", Value::Int(i64::from(n))),
                ("abData", bytes_value(&self.data)),
            ],
        );
        encode_value(MINTERFACEPOINTER_TYPE, &v)
    }

    /// Reads the structure at the start of `bytes`: the value and the bytes it took.
    pub fn decode(bytes: &[u8]) -> Result<(MInterfacePointer, usize)> {
        let (v, used) = decode_value(MINTERFACEPOINTER_TYPE, bytes)?;
        let data = bytes_from(v.field("abData"))?;
        Ok((MInterfacePointer { data }, used))
    }
}

impl OrpcThis {
    /// A plain call's ORPCTHIS: the current version, flags 0, this causality id.
    pub fn new(cid: GUID) -> OrpcThis {
        OrpcThis {
            cid,
            ..OrpcThis::default()
        }
    }

    fn to_value(&self) -> Result<Value> {
        Ok(Value::Record(
            "ORPCTHIS",
            vec![
                (
                    "version",
                    Value::Record(
                        "COMVERSION",
                        vec![
                            ("MajorVersion", Value::Int(i64::from(self.version.major))),
                            ("MinorVersion", Value::Int(i64::from(self.version.minor))),
                        ],
                    ),
                ),
                ("flags", Value::Int(i64::from(self.flags))),
                ("reserved1", Value::Int(i64::from(self.reserved1))),
                ("cid", guid_value(&self.cid)),
                ("extensions", extents_value(&self.extensions)?),
            ],
        ))
    }

    /// The NDR bytes, as the first parameter of a request's stub data.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode_value(ORPCTHIS_TYPE, &self.to_value()?)
    }

    /// Reads an ORPCTHIS at the start of a request's stub data: the value and the bytes
    /// it took (the method's parameters follow).
    pub fn decode(bytes: &[u8]) -> Result<(OrpcThis, usize)> {
        let (v, used) = decode_value(ORPCTHIS_TYPE, bytes)?;
        let version = v.field("version");
        let this = OrpcThis {
            version: ComVersion {
                major: int(version.and_then(|v| v.field("MajorVersion")))? as u16,
                minor: int(version.and_then(|v| v.field("MinorVersion")))? as u16,
            },
            flags: int(v.field("flags"))? as u32,
            reserved1: int(v.field("reserved1"))? as u32,
            cid: guid_from(v.field("cid"))?,
            extensions: extents_from(v.field("extensions"))?,
        };
        Ok((this, used))
    }
}

impl OrpcThat {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Record(
            "ORPCTHAT",
            vec![
                ("flags", Value::Int(i64::from(self.flags))),
                ("extensions", extents_value(&self.extensions)?),
            ],
        ))
    }

    /// The NDR bytes, as the first parameter of a response's stub data.
    pub fn encode(&self) -> Result<Vec<u8>> {
        encode_value(ORPCTHAT_TYPE, &self.to_value()?)
    }

    /// Reads an ORPCTHAT at the start of a response's stub data: the value and the
    /// bytes it took.
    pub fn decode(bytes: &[u8]) -> Result<(OrpcThat, usize)> {
        let (v, used) = decode_value(ORPCTHAT_TYPE, bytes)?;
        let that = OrpcThat {
            flags: int(v.field("flags"))? as u32,
            extensions: extents_from(v.field("extensions"))?,
        };
        Ok((that, used))
    }
}

// ---- value trees ----

fn int(v: Option<&Value>) -> Result<i64> {
    match v {
        Some(Value::Int(i)) => Ok(*i),
        _ => Err(bad("a value of another shape than its type")),
    }
}

fn bytes_value(b: &[u8]) -> Value {
    Value::List(b.iter().map(|&x| Value::Int(i64::from(x))).collect())
}

fn bytes_from(v: Option<&Value>) -> Result<Vec<u8>> {
    match v {
        Some(Value::List(items)) => items
            .iter()
            .map(|i| int(Some(i)).map(|x| x as u8))
            .collect(),
        _ => Err(bad("a value of another shape than its type")),
    }
}

fn guid_value(g: &GUID) -> Value {
    Value::Record(
        "GUID",
        vec![
            ("Data1", Value::Int(i64::from(g.data1))),
            ("Data2", Value::Int(i64::from(g.data2))),
            ("Data3", Value::Int(i64::from(g.data3))),
            ("Data4", bytes_value(&g.data4)),
        ],
    )
}

fn guid_from(v: Option<&Value>) -> Result<GUID> {
    let v = v.ok_or(bad("a GUID is missing"))?;
    let data4: [u8; 8] = bytes_from(v.field("Data4"))?
        .try_into()
        .map_err(|_| bad("a GUID's Data4 is not 8 bytes"))?;
    Ok(GUID::from_values(
        int(v.field("Data1"))? as u32,
        int(v.field("Data2"))? as u16,
        int(v.field("Data3"))? as u16,
        data4,
    ))
}

/// The `extensions` pointer's value: NULL for none, else an ORPC_EXTENT_ARRAY whose
/// array has room for `size` rounded up to even, the last slot NULL when `size` is odd.
fn extents_value(extents: &[OrpcExtent]) -> Result<Value> {
    if extents.is_empty() {
        return Ok(Value::Null);
    }
    let size = u32::try_from(extents.len()).map_err(|_| NdrError::TooLarge)?;
    let mut slots = Vec::with_capacity(extents.len() + 1);
    for e in extents {
        // The size is the unpadded length; (size + 7) & ~7 must not wrap in 32 bits.
        let n = u32::try_from(e.data.len())
            .ok()
            .filter(|n| *n <= u32::MAX - 7)
            .ok_or(NdrError::TooLarge)?;
        let mut data = e.data.clone();
        data.resize(e.data.len().next_multiple_of(8), 0);
        slots.push(Value::Record(
            "ORPC_EXTENT",
            vec![
                ("id", guid_value(&e.id)),
                ("size", Value::Int(i64::from(n))),
                ("data", bytes_value(&data)),
            ],
        ));
    }
    if slots.len() % 2 == 1 {
        slots.push(Value::Null);
    }
    Ok(Value::Record(
        "ORPC_EXTENT_ARRAY",
        vec![
            ("size", Value::Int(i64::from(size))),
            ("reserved", Value::Int(0)),
            ("extent", Value::List(slots)),
        ],
    ))
}

fn extents_from(v: Option<&Value>) -> Result<Vec<OrpcExtent>> {
    let array = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(a) => a,
    };
    let size = int(array.field("size"))?;
    let slots: &[Value] = match array.field("extent") {
        Some(Value::List(items)) => items,
        _ => &[],
    };
    let mut out = Vec::new();
    for slot in slots {
        if matches!(slot, Value::Null) {
            continue;
        }
        let n = int(slot.field("size"))?;
        let mut data = bytes_from(slot.field("data"))?;
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= data.len())
            .ok_or(bad("an ORPC_EXTENT's size exceeds its data"))?;
        data.truncate(n);
        out.push(OrpcExtent {
            id: guid_from(slot.field("id"))?,
            data,
        });
    }
    if i64::try_from(out.len()) != Ok(size) {
        return Err(bad(
            "an ORPC_EXTENT_ARRAY's size is not its number of non-NULL extents",
        ));
    }
    Ok(out)
}

// ---- the engine ----

/// Marshals the value tree `v` of `ty` as a top-level value (what a `[ref]` pointer
/// parameter to it puts on the wire), from stub data offset 0.
fn encode_value(ty: Type, v: &Value) -> Result<Vec<u8>> {
    let room = value::room_for(ty, v).max(mem_size(ty)).max(1);
    let mut mem = vec![0u64; room.div_ceil(8)];
    let p = mem.as_mut_ptr().cast::<u8>();
    // SAFETY: `p` is zeroed memory of `room` bytes, 8-aligned: room for the value of
    // `ty` that `v` describes (room_for), which value::write fills with pointers it
    // allocates; the marshaller reads that value; free_value frees what write allocated
    // (it leaves a value it can free on failure too) and not `mem` itself.
    unsafe {
        let written = value::write(ty, v, p).and_then(|()| {
            let mut m = Marshaller::new(&[]);
            m.param(ty, p)?;
            Ok(m.into_bytes())
        });
        free_value(ty, p, ptr::null(), &[]);
        written
    }
}

/// Unmarshals a top-level value of `ty` from the start of `bytes`: its value tree and
/// the bytes it took. The engine checks every count before allocating; everything it
/// allocated is freed when the unmarshaller is dropped (nothing is committed).
fn decode_value(ty: Type, bytes: &[u8]) -> Result<(Value, usize)> {
    let mut slot: *mut u8 = ptr::null_mut();
    let mut u = Unmarshaller::new(bytes, &[], Limits::default());
    // SAFETY: the slot is writable; the value it receives lives in the unmarshaller's
    // allocations until `u` is dropped, after value::read copied it out; no correlation
    // names a parameter (there are none).
    let v = unsafe {
        u.new_value(ty, &raw mut slot)?;
        u.finish()?;
        value::read(ty, slot, ptr::null(), &[])?
    };
    Ok((v, u.position()))
}
