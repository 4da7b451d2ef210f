//! Class identifiers as text and by name: `CoCreateGuid`, `StringFromCLSID`,
//! `StringFromGUID2`, `CLSIDFromString`, `IIDFromString`, `CLSIDFromProgID` (following
//! `CurVer`) and `ProgIDFromCLSID`. Strings crossing the C ABI are UTF-16 (`OLECHAR`),
//! returned ones allocated with the task allocator, as on Windows.
//!
//! Layer: com. Uses `classes`, `host` of this layer and `wide` of the layers below.

use crate::{
    CO_E_CLASSSTRING, CO_E_IIDSTRING, E_INVALIDARG, E_POINTER, GUID, HRESULT, REGDB_E_CLASSNOTREG,
    Result, S_OK,
};

/// `CoCreateGuid`: a new random (version 4) GUID.
pub fn co_create_guid() -> Result<GUID> {
    GUID::try_new_v4()
}

/// `CLSIDFromString`: a braced GUID, or else a ProgID (as Windows accepts both);
/// CO_E_CLASSSTRING when it is neither.
pub fn clsid_from_string(text: &str) -> Result<GUID> {
    if text.starts_with('{') {
        return parse_braced(text).ok_or(CO_E_CLASSSTRING);
    }
    clsid_from_progid(text)
}

/// `IIDFromString`: a braced GUID; CO_E_IIDSTRING otherwise.
pub fn iid_from_string(text: &str) -> Result<GUID> {
    parse_braced(text).ok_or(CO_E_IIDSTRING)
}

/// A GUID written with its braces, as the string functions require.
fn parse_braced(text: &str) -> Option<GUID> {
    let braced = text.starts_with('{') && text.ends_with('}');
    braced.then(|| GUID::parse(text).ok()).flatten()
}

/// `CLSIDFromProgID`: the class a ProgID names, following a version-independent ProgID's
/// `CurVer`; CO_E_CLASSSTRING when no such ProgID is registered.
pub fn clsid_from_progid(progid: &str) -> Result<GUID> {
    let snapshot = crate::classes::registry_view()?;
    snapshot.clsid_from_progid(progid).map_err(|e| {
        crate::host::set_error_message(CO_E_CLASSSTRING, e.to_string());
        CO_E_CLASSSTRING
    })
}

/// `ProgIDFromCLSID`: the class's ProgID; REGDB_E_CLASSNOTREG when it has none.
pub fn progid_from_clsid(clsid: &GUID) -> Result<String> {
    let snapshot = crate::classes::registry_view()?;
    snapshot.progid_from_clsid(clsid).ok_or(REGDB_E_CLASSNOTREG)
}

/// Reads a NUL-terminated UTF-16 string; `None` for NULL or invalid UTF-16.
///
/// # Safety
/// `text` is NULL or NUL-terminated.
unsafe fn read_wide(text: *const u16) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated (caller's contract).
    String::from_utf16(unsafe { crate::wide::units(text) }?).ok()
}

/// Writes `text` to `out` as a task block; E_OUTOFMEMORY if it cannot be allocated.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn write_wide(out: *mut *mut u16, text: &str) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    let (block, hr) = match crate::wide::to_task_block(text) {
        Ok(block) => (block, S_OK),
        Err(hr) => (core::ptr::null_mut(), hr),
    };
    // SAFETY: non-null and writable (caller's contract).
    unsafe { out.write(block) };
    hr
}

/// Reads `text`, turns it into a GUID with `parse` and writes the result (GUID_NULL on
/// failure) to `out`; `unreadable` when the text is not UTF-16.
///
/// # Safety
/// `text` is NULL or NUL-terminated; `out` is writable.
unsafe fn parse_into(
    text: *const u16,
    out: *mut GUID,
    unreadable: HRESULT,
    parse: fn(&str) -> Result<GUID>,
) -> HRESULT {
    // SAFETY: forwarded.
    let result = unsafe { read_wide(text) }
        .ok_or(unreadable)
        .and_then(|t| parse(&t));
    // SAFETY: writable (caller's contract).
    unsafe { out.write(result.unwrap_or(GUID::zeroed())) };
    result.err().unwrap_or(S_OK)
}

/// The C entry points. They need no initialisation, as on Windows.
pub mod raw {
    use super::*;

    /// `CoCreateGuid`.
    ///
    /// # Safety
    /// `out` is NULL or writable.
    #[allow(non_snake_case)]
    pub unsafe fn CoCreateGuid(out: *mut GUID) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        match co_create_guid() {
            // SAFETY: non-null and writable.
            Ok(guid) => unsafe { out.write(guid) },
            Err(hr) => return hr,
        }
        S_OK
    }

    /// `StringFromCLSID` (also `StringFromIID`): the braced text in a task block.
    ///
    /// # Safety
    /// `guid` is NULL or valid; `out` NULL or writable.
    #[allow(non_snake_case)]
    pub unsafe fn StringFromCLSID(guid: *const GUID, out: *mut *mut u16) -> HRESULT {
        // SAFETY: NULL or valid.
        let Some(guid) = (unsafe { guid.as_ref() }) else {
            return E_INVALIDARG;
        };
        // SAFETY: forwarded.
        unsafe { write_wide(out, &guid.to_string()) }
    }

    /// `StringFromGUID2`: writes the braced text and its NUL into `buffer` of `capacity`
    /// units; returns the units written including the NUL, or 0 if it does not fit.
    ///
    /// # Safety
    /// `guid` is NULL or valid; `buffer` NULL or `capacity` writable units.
    #[allow(non_snake_case)]
    pub unsafe fn StringFromGUID2(guid: *const GUID, buffer: *mut u16, capacity: i32) -> i32 {
        // SAFETY: NULL or valid.
        let Some(guid) = (unsafe { guid.as_ref() }) else {
            return 0;
        };
        let units: Vec<u16> = guid.to_string().encode_utf16().chain(Some(0)).collect();
        if buffer.is_null() || capacity < 0 || (capacity as usize) < units.len() {
            return 0;
        }
        // SAFETY: `capacity` >= units.len() writable units.
        unsafe { core::ptr::copy_nonoverlapping(units.as_ptr(), buffer, units.len()) };
        units.len() as i32
    }

    /// `CLSIDFromString`. A NULL string is CLSID_NULL, as on Windows.
    ///
    /// # Safety
    /// `text` is NULL or NUL-terminated; `out` NULL or writable.
    #[allow(non_snake_case)]
    pub unsafe fn CLSIDFromString(text: *const u16, out: *mut GUID) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        if text.is_null() {
            // SAFETY: non-null and writable.
            unsafe { out.write(GUID::zeroed()) };
            return S_OK;
        }
        // SAFETY: forwarded.
        unsafe { parse_into(text, out, CO_E_CLASSSTRING, clsid_from_string) }
    }

    /// `IIDFromString`.
    ///
    /// # Safety
    /// As for [`CLSIDFromString`].
    #[allow(non_snake_case)]
    pub unsafe fn IIDFromString(text: *const u16, out: *mut GUID) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: forwarded.
        unsafe { parse_into(text, out, CO_E_IIDSTRING, iid_from_string) }
    }

    /// `CLSIDFromProgID`.
    ///
    /// # Safety
    /// As for [`CLSIDFromString`].
    #[allow(non_snake_case)]
    pub unsafe fn CLSIDFromProgID(progid: *const u16, out: *mut GUID) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: forwarded.
        unsafe { parse_into(progid, out, CO_E_CLASSSTRING, clsid_from_progid) }
    }

    /// `ProgIDFromCLSID`: the ProgID in a task block.
    ///
    /// # Safety
    /// `clsid` is NULL or valid; `out` NULL or writable.
    #[allow(non_snake_case)]
    pub unsafe fn ProgIDFromCLSID(clsid: *const GUID, out: *mut *mut u16) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: non-null and writable.
        unsafe { out.write(core::ptr::null_mut()) };
        // SAFETY: NULL or valid.
        let Some(clsid) = (unsafe { clsid.as_ref() }) else {
            return E_INVALIDARG;
        };
        match progid_from_clsid(clsid) {
            // SAFETY: forwarded.
            Ok(progid) => unsafe { write_wide(out, &progid) },
            Err(hr) => hr,
        }
    }
}
