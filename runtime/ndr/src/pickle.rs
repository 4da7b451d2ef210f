//! Type serialization (MIDL's `[encode]` / `[decode]` on a type; MS-RPCE 2.2.6, "Type
//! Serialization Version 1"): one value as a self-contained buffer, outside any call. The
//! buffer is an 8-byte common header (version 1, little-endian data representation, the
//! header's length 8, filler 0xCCCCCCCC), an 8-byte private header (the length of the data
//! that follows, a multiple of 8, and 4 zero bytes), then the value's NDR representation
//! (with its embedded referents) padded with zeros to a multiple of 8. Kerberos PACs and
//! other on-disk or in-ticket structures use it.

use comidl_runtime_core::CoTaskMemFree;

use crate::desc::Type;
use crate::error::{NdrError, Result};
use crate::free::free_value;
use crate::marshal::Marshaller;
use crate::unmarshal::{Limits, Unmarshaller};

const COMMON_HEADER: [u8; 8] = [0x01, 0x10, 0x08, 0x00, 0xCC, 0xCC, 0xCC, 0xCC];

/// Serializes the value of `ty` at `mem`.
///
/// # Safety
/// `mem` holds a valid value of `ty` (as for marshalling).
pub unsafe fn encode(ty: Type, mem: *const u8) -> Result<Vec<u8>> {
    let mut m = Marshaller::new(&[]);
    // SAFETY: forwarded; a serialized type is a top-level value.
    unsafe { m.param(ty, mem)? };
    let mut data = m.into_bytes();
    data.resize(data.len().next_multiple_of(8), 0);
    let len = u32::try_from(data.len()).map_err(|_| NdrError::TooLarge)?;
    let mut out = Vec::with_capacity(16 + data.len());
    out.extend_from_slice(&COMMON_HEADER);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&data);
    Ok(out)
}

/// A value of C type `T` decoded from a serialized buffer, in task-allocator memory it
/// owns: dropping it frees the value and everything it points to.
pub struct Decoded<T> {
    ty: Type,
    mem: *mut u8,
    _value: std::marker::PhantomData<T>,
}

impl<T> std::ops::Deref for Decoded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `decode`'s caller promised that `T` is the C type of the description,
        // and the memory holds a value of it for as long as `self` lives.
        unsafe { &*self.mem.cast::<T>() }
    }
}

impl<T> Drop for Decoded<T> {
    fn drop(&mut self) {
        // SAFETY: the memory and its referents were allocated by decoding, owned here.
        unsafe {
            free_value(self.ty, self.mem, std::ptr::null(), &[]);
            CoTaskMemFree(self.mem.cast());
        }
    }
}

/// Decodes a serialized value of `ty`. Every header field is checked, the data length
/// against the buffer, and the value as unmarshalling checks any message.
///
/// # Safety
/// `T` is the C type `ty` describes (generated code pairs them).
pub unsafe fn decode<T>(ty: Type, bytes: &[u8], limits: Limits) -> Result<Decoded<T>> {
    let bad = |at, why| Err(NdrError::BadStubData { at, why });
    if bytes.len() < 16 {
        return bad(0, "a serialized type is shorter than its headers");
    }
    if bytes[0] != 1 {
        return bad(0, "a serialization version other than 1");
    }
    if bytes[1] != 0x10 {
        return bad(1, "big-endian serialized data is not supported");
    }
    if u16::from_le_bytes([bytes[2], bytes[3]]) != 8 {
        return bad(2, "a common header length other than 8");
    }
    let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    if len > bytes.len() - 16 {
        return bad(8, "the data length exceeds the buffer");
    }
    let data = &bytes[16..16 + len];
    let mut slot: *mut u8 = std::ptr::null_mut();
    let mut u = Unmarshaller::new(data, &[], limits);
    // SAFETY: the slot is writable.
    unsafe { u.new_value(ty, &raw mut slot)? };
    // SAFETY: nothing names parameters here.
    unsafe { u.finish()? };
    u.commit();
    Ok(Decoded {
        ty,
        mem: slot,
        _value: std::marker::PhantomData,
    })
}

/// Serializes a value tree of `ty` (what generated owned types give): written into
/// C-layout memory of the task allocator, encoded, and freed again.
pub fn encode_value(ty: Type, value: &crate::value::Value) -> Result<Vec<u8>> {
    let size = crate::layout::mem_size(ty)
        .max(crate::value::room_for(ty, value))
        .max(1);
    let mem = comidl_runtime_core::CoTaskMemAlloc(size).cast::<u8>();
    if mem.is_null() {
        return Err(NdrError::TooLarge);
    }
    // SAFETY: `mem` is `size` writable bytes, zeroed before the value is written (the
    // task allocator's blocks are aligned for any C type).
    let encoded = unsafe {
        std::ptr::write_bytes(mem, 0, size);
        match crate::value::write(ty, value, mem) {
            Ok(()) => encode(ty, mem),
            Err(e) => Err(e),
        }
    };
    // SAFETY: what `write` allocated under `mem` (all of it, also after a failure: the
    // memory was zeroed, so the parts not written are NULL), then `mem` itself.
    unsafe {
        free_value(ty, mem, std::ptr::null(), &[]);
        CoTaskMemFree(mem.cast());
    }
    encoded
}

/// Decodes a serialized value of `ty` into a value tree (for generated owned types).
pub fn decode_value(ty: Type, bytes: &[u8], limits: Limits) -> Result<crate::value::Value> {
    // SAFETY: `u8` stands for the C type: the value is only read through `ty`.
    let decoded = unsafe { decode::<u8>(ty, bytes, limits)? };
    // SAFETY: decoding produced a valid value of `ty` at `mem`.
    unsafe { crate::value::read(ty, decoded.mem, std::ptr::null(), &[]) }
}
