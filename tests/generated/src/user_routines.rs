//! Routines for tests/fixtures/user_marshal.idl's `SECONDS` (the snapshot test names
//! `crate::user_routines::SECONDS`): an `f64` of seconds in memory, a `MILLIS` (whole
//! milliseconds) on the wire.

use comidl_runtime::ndr::{NdrError, Result, UserRoutines};

/// The milliseconds a SECONDS may stand for, either way: routines must accept on arrival
/// only what they can send back (the fuzz target `ndr` found the two sides disagreeing).
const MAX_MS: u64 = 9_200_000_000_000_000;

unsafe fn to_wire(mem: *const u8, wire: *mut u8) -> Result<()> {
    // SAFETY: a SECONDS is an f64.
    let s = unsafe { mem.cast::<f64>().read_unaligned() };
    let ms = s * 1000.0;
    if !ms.is_finite() || ms.abs() >= MAX_MS as f64 {
        return Err(NdrError::OutOfRange);
    }
    // SAFETY: a MILLIS is one 64-bit integer.
    unsafe { wire.cast::<i64>().write_unaligned(ms.round() as i64) };
    Ok(())
}

unsafe fn from_wire(wire: *const u8, mem: *mut u8) -> Result<()> {
    // SAFETY: as above.
    let ms = unsafe { wire.cast::<i64>().read_unaligned() };
    if ms.unsigned_abs() >= MAX_MS {
        return Err(NdrError::OutOfRange);
    }
    // SAFETY: as above.
    unsafe { mem.cast::<f64>().write_unaligned(ms as f64 / 1000.0) };
    Ok(())
}

unsafe fn free(_: *mut u8) {}

/// `SECONDS`' conversions.
pub static SECONDS: UserRoutines = UserRoutines {
    to_wire,
    from_wire,
    free,
};
