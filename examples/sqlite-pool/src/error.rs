//! SQLite failures as HRESULTs.
//!
//! A failure SQLite reports with a result code becomes a customer-defined HRESULT of
//! `FACILITY_ITF` whose code is SQLite's *extended* result code: severity 1, the customer
//! bit (29) set so it can never be mistaken for a system code, facility 4, code in the low
//! 16 bits (`0xA004_xxxx`). [`sqlite_code`] gives the SQLite code back. Failures of the
//! Rust wrapper itself (a path that is not valid UTF-8, a value of the wrong type) map to
//! the nearest standard HRESULT. Every mapping also records a message for the calling
//! thread ([`comidl_runtime::host::set_error_message`]), which
//! [`comidl_runtime::host::describe`] prints next to the code.

use comidl_runtime::host::set_error_message;
use comidl_runtime::{E_FAIL, E_INVALIDARG, HRESULT};

/// The high half of every HRESULT made from a SQLite result code.
const SQLITE_HRESULT_BASE: u32 = 0xA004_0000;

/// The HRESULT for SQLite's (extended) result code `code`.
pub const fn sqlite_hresult(code: i32) -> HRESULT {
    HRESULT::from_u32(SQLITE_HRESULT_BASE | (code as u32 & 0xFFFF))
}

/// The SQLite extended result code `hr` carries, if it is one made by [`sqlite_hresult`].
pub const fn sqlite_code(hr: HRESULT) -> Option<i32> {
    if hr.to_u32() & 0xFFFF_0000 == SQLITE_HRESULT_BASE {
        Some((hr.to_u32() & 0xFFFF) as i32)
    } else {
        None
    }
}

/// The HRESULT for `error`, recording `"{what}: {error}"` as the calling thread's message.
pub(crate) fn sqlite_failure(error: &rusqlite::Error, what: &str) -> HRESULT {
    let hr = match error {
        rusqlite::Error::SqliteFailure(failure, _) => sqlite_hresult(failure.extended_code),
        rusqlite::Error::InvalidPath(_)
        | rusqlite::Error::NulError(_)
        | rusqlite::Error::InvalidParameterName(_)
        | rusqlite::Error::InvalidParameterCount(..) => E_INVALIDARG,
        _ => E_FAIL,
    };
    fail(hr, format!("{what}: {error}"))
}

/// Records `message` for `hr` and returns `hr`.
pub(crate) fn fail(hr: HRESULT, message: String) -> HRESULT {
    set_error_message(hr, message);
    hr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_round_trip_and_other_codes_are_not_taken_for_them() {
        let cantopen = sqlite_hresult(rusqlite::ffi::SQLITE_CANTOPEN);
        assert_eq!(cantopen.to_u32(), 0xA004_000E);
        assert!(cantopen.is_err());
        assert_eq!(sqlite_code(cantopen), Some(rusqlite::ffi::SQLITE_CANTOPEN));
        let busy_snapshot = sqlite_hresult(rusqlite::ffi::SQLITE_BUSY_SNAPSHOT);
        assert_eq!(
            sqlite_code(busy_snapshot),
            Some(rusqlite::ffi::SQLITE_BUSY_SNAPSHOT)
        );
        assert_eq!(sqlite_code(E_FAIL), None);
        assert_eq!(sqlite_code(HRESULT::from_u32(0x8004_000E)), None);
    }
}
