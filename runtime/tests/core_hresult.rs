//! HRESULT helpers, constants, formatting and error-trait behaviour.

use comidl_runtime::*;

#[test]
fn layout_is_a_plain_i32() {
    assert_eq!(size_of::<HRESULT>(), 4);
    assert_eq!(align_of::<HRESULT>(), 4);
    assert_eq!(HRESULT::default(), S_OK);
}

#[test]
fn succeeded_and_failed() {
    assert!(S_OK.is_ok() && !S_OK.is_err());
    assert!(S_FALSE.is_ok() && !S_FALSE.is_err());
    assert!(HRESULT(i32::MAX).is_ok());
    assert!(E_FAIL.is_err() && !E_FAIL.is_ok());
    assert!(HRESULT(i32::MIN).is_err());
    assert_eq!(S_FALSE.ok(), Ok(()));
    assert_eq!(E_POINTER.ok(), Err(E_POINTER));
}

#[test]
fn code_facility_severity() {
    let hr = HRESULT::from_u32(0x8007_0057);
    assert_eq!(hr, E_INVALIDARG);
    assert_eq!(hr.code(), 0x57);
    assert_eq!(hr.facility(), FACILITY_WIN32);
    assert_eq!(hr.severity(), SEVERITY_ERROR);
    assert_eq!(hr.to_u32(), 0x8007_0057);

    // Facility is 13 bits: bits 29-30 (reserved / customer) are not part of it.
    let odd = HRESULT::from_u32(0xE123_4567);
    assert_eq!(odd.facility(), 0x0123);
    assert_eq!(odd.code(), 0x4567);
    assert_eq!(odd.severity(), 1);
    assert_eq!(HRESULT::from_u32(0x1FFF_0000).facility(), 0x1FFF);

    assert_eq!(S_FALSE.code(), 1);
    assert_eq!(S_FALSE.facility(), FACILITY_NULL);
    assert_eq!(S_FALSE.severity(), SEVERITY_SUCCESS);
}

#[test]
fn make_hresult() {
    assert_eq!(
        HRESULT::make(SEVERITY_ERROR, FACILITY_NULL, 0x4002),
        E_NOINTERFACE
    );
    assert_eq!(
        HRESULT::make(SEVERITY_ERROR, FACILITY_ITF, 0x200),
        CONNECT_E_NOCONNECTION
    );
    assert_eq!(HRESULT::make(SEVERITY_SUCCESS, FACILITY_NULL, 1), S_FALSE);
    assert_eq!(HRESULT::make(0, 0, 0), S_OK);
    const MADE: HRESULT = HRESULT::make(1, FACILITY_RPC, 0x108);
    assert_eq!(MADE, RPC_E_DISCONNECTED);
    // Round trip through the parts.
    for hr in KNOWN.iter().map(|(_, hr, _)| *hr) {
        if hr.to_u32() & 0x6000_0000 == 0 {
            assert_eq!(HRESULT::make(hr.severity(), hr.facility(), hr.code()), hr);
        }
    }
}

#[test]
fn from_win32() {
    assert_eq!(HRESULT::from_win32(ERROR_SUCCESS), S_OK);
    assert_eq!(HRESULT::from_win32(ERROR_ACCESS_DENIED), E_ACCESSDENIED);
    assert_eq!(HRESULT::from_win32(ERROR_INVALID_HANDLE), E_HANDLE);
    assert_eq!(HRESULT::from_win32(ERROR_OUTOFMEMORY), E_OUTOFMEMORY);
    assert_eq!(HRESULT::from_win32(ERROR_INVALID_PARAMETER), E_INVALIDARG);
    assert_eq!(
        HRESULT::from_win32(RPC_S_SERVER_UNAVAILABLE),
        RPC_S_SERVER_UNAVAILABLE_HR
    );
    assert_eq!(RPC_S_SERVER_UNAVAILABLE_HR.to_u32(), 0x8007_06BA);
    // Values already negative as i32 pass through unchanged.
    assert_eq!(HRESULT::from_win32(0x8007_0005), E_ACCESSDENIED);
    assert_eq!(HRESULT::from_win32(E_FAIL.to_u32()), E_FAIL);
    assert_eq!(HRESULT::from_win32(u32::MAX), HRESULT(-1));
    // Positive values keep only their low 16 bits.
    assert_eq!(HRESULT::from_win32(0x0001_2345).to_u32(), 0x8007_2345);
    assert_eq!(HRESULT::from_win32(0x7FFF_FFFF).to_u32(), 0x8007_FFFF);
    assert_eq!(E_ACCESSDENIED.win32_error(), Some(ERROR_ACCESS_DENIED));
    assert_eq!(E_FAIL.win32_error(), None);
    assert_eq!(S_OK.win32_error(), None);
}

#[test]
fn associated_and_module_constants_agree() {
    assert_eq!(HRESULT::S_OK, S_OK);
    assert_eq!(HRESULT::E_NOINTERFACE, E_NOINTERFACE);
    assert_eq!(HRESULT::CO_E_SERVER_EXEC_FAILURE, CO_E_SERVER_EXEC_FAILURE);
    assert_eq!(
        HRESULT::RPC_S_SERVER_UNAVAILABLE_HR,
        RPC_S_SERVER_UNAVAILABLE_HR
    );
}

#[test]
fn well_known_values() {
    let expect: &[(HRESULT, u32)] = &[
        (S_OK, 0),
        (S_FALSE, 1),
        (E_NOTIMPL, 0x8000_4001),
        (E_NOINTERFACE, 0x8000_4002),
        (E_POINTER, 0x8000_4003),
        (E_ABORT, 0x8000_4004),
        (E_FAIL, 0x8000_4005),
        (E_UNEXPECTED, 0x8000_FFFF),
        (E_ACCESSDENIED, 0x8007_0005),
        (E_HANDLE, 0x8007_0006),
        (E_OUTOFMEMORY, 0x8007_000E),
        (E_INVALIDARG, 0x8007_0057),
        (CLASS_E_NOAGGREGATION, 0x8004_0110),
        (CLASS_E_CLASSNOTAVAILABLE, 0x8004_0111),
        (CLASS_E_NOTLICENSED, 0x8004_0112),
        (REGDB_E_CLASSNOTREG, 0x8004_0154),
        (CO_E_NOTINITIALIZED, 0x8004_01F0),
        (RPC_E_DISCONNECTED, 0x8001_0108),
        (RPC_E_SERVERFAULT, 0x8001_0105),
        (CO_E_SERVER_EXEC_FAILURE, 0x8008_0005),
        (RPC_S_SERVER_UNAVAILABLE_HR, 0x8007_06BA),
    ];
    for (hr, value) in expect {
        assert_eq!(hr.to_u32(), *value, "{hr:?}");
    }
}

#[test]
fn every_requested_name_is_in_the_table() {
    let names = [
        "S_OK",
        "S_FALSE",
        "E_NOTIMPL",
        "E_NOINTERFACE",
        "E_POINTER",
        "E_ABORT",
        "E_FAIL",
        "E_UNEXPECTED",
        "E_ACCESSDENIED",
        "E_HANDLE",
        "E_OUTOFMEMORY",
        "E_INVALIDARG",
        "E_PENDING",
        "E_BOUNDS",
        "E_CHANGED_STATE",
        "E_ILLEGAL_METHOD_CALL",
        "CLASS_E_NOAGGREGATION",
        "CLASS_E_CLASSNOTAVAILABLE",
        "CLASS_E_NOTLICENSED",
        "REGDB_E_CLASSNOTREG",
        "REGDB_E_READREGDB",
        "REGDB_E_WRITEREGDB",
        "REGDB_E_KEYMISSING",
        "REGDB_E_IIDNOTREG",
        "CO_E_NOTINITIALIZED",
        "CO_E_ALREADYINITIALIZED",
        "CO_E_CLASSSTRING",
        "CO_E_DLLNOTFOUND",
        "CO_E_ERRORINDLL",
        "CO_E_APPNOTFOUND",
        "CO_E_OBJNOTREG",
        "CO_E_IIDSTRING",
        "CO_E_SERVER_EXEC_FAILURE",
        "CO_E_WRONG_SERVER_IDENTITY",
        "CO_E_SERVER_STOPPING",
        "CO_E_CLASS_CREATE_FAILED",
        "RPC_E_CHANGED_MODE",
        "RPC_E_DISCONNECTED",
        "RPC_E_SERVERFAULT",
        "RPC_E_CALL_REJECTED",
        "RPC_E_WRONG_THREAD",
        "RPC_E_INVALID_DATA",
        "RPC_E_CANTCALLOUT_ININPUTSYNCCALL",
        "RPC_S_SERVER_UNAVAILABLE_HR",
        "DISP_E_MEMBERNOTFOUND",
        "DISP_E_UNKNOWNNAME",
        "DISP_E_TYPEMISMATCH",
        "DISP_E_BADPARAMCOUNT",
        "DISP_E_EXCEPTION",
        "TYPE_E_ELEMENTNOTFOUND",
        "TYPE_E_LIBNOTREGISTERED",
        "TYPE_E_CANTLOADLIBRARY",
        "STG_E_FILENOTFOUND",
        "STG_E_ACCESSDENIED",
        "STG_E_INVALIDPOINTER",
        "STG_E_MEDIUMFULL",
        "CONNECT_E_NOCONNECTION",
        "CONNECT_E_ADVISELIMIT",
        "CONNECT_E_CANNOTCONNECT",
        "SELFREG_E_CLASS",
        "SELFREG_E_TYPELIB",
        "OLE_E_NOCONNECTION",
        "CO_E_NOT_SUPPORTED",
    ];
    for name in names {
        assert!(
            KNOWN.iter().any(|(n, _, _)| *n == name),
            "{name} missing from KNOWN"
        );
    }
    let win32 = [
        "ERROR_SUCCESS",
        "ERROR_FILE_NOT_FOUND",
        "ERROR_PATH_NOT_FOUND",
        "ERROR_ACCESS_DENIED",
        "ERROR_INVALID_HANDLE",
        "ERROR_NOT_ENOUGH_MEMORY",
        "ERROR_OUTOFMEMORY",
        "ERROR_INVALID_PARAMETER",
        "ERROR_MOD_NOT_FOUND",
        "ERROR_PROC_NOT_FOUND",
        "ERROR_ALREADY_EXISTS",
        "ERROR_FILE_EXISTS",
        "ERROR_BAD_FORMAT",
        "ERROR_NOT_SUPPORTED",
        "RPC_S_SERVER_UNAVAILABLE",
    ];
    for name in win32 {
        assert!(
            KNOWN_WIN32.iter().any(|(n, _, _)| *n == name),
            "{name} missing from KNOWN_WIN32"
        );
    }
    for name in ["FACILITY_NULL", "FACILITY_WINDOWS_CE", "SEVERITY_ERROR"] {
        assert!(KNOWN_NUMBERS.iter().any(|(n, _)| *n == name));
    }
    assert_eq!(FACILITY_WINDOWS_CE, 24);
    assert_eq!(FACILITY_CONTROL, 10);
}

#[test]
fn table_is_consistent() {
    for (name, hr, message) in KNOWN {
        assert!(!message.is_empty(), "{name}");
        // The first entry with a value names it; later aliases defer to it.
        let first = KNOWN.iter().find(|(_, v, _)| v == hr).map(|(n, _, _)| *n);
        assert_eq!(hr.name(), first);
    }
    assert_eq!(S_OK.name(), Some("S_OK"));
    assert_eq!(NOERROR, S_OK);
    assert_eq!(SELFREG_E_TYPELIB, CONNECT_E_NOCONNECTION);
}

#[test]
fn display_known_codes() {
    assert_eq!(
        E_NOINTERFACE.to_string(),
        "E_NOINTERFACE (0x80004002): no such interface supported"
    );
    assert_eq!(S_OK.to_string(), "S_OK (0x00000000): success");
    assert_eq!(
        RPC_S_SERVER_UNAVAILABLE_HR.to_string(),
        "RPC_S_SERVER_UNAVAILABLE_HR (0x800706BA): the RPC server is unavailable"
    );
    for (name, hr, message) in KNOWN {
        let text = hr.to_string();
        assert!(text.contains(&format!("(0x{:08X})", hr.to_u32())), "{text}");
        if hr.name() == Some(*name) {
            assert_eq!(text, format!("{name} (0x{:08X}): {message}", hr.to_u32()));
        }
    }
}

#[test]
fn display_unknown_codes() {
    assert_eq!(
        HRESULT::from_u32(0x8004_1234).to_string(),
        "0x80041234 (facility 4, code 0x1234)"
    );
    assert_eq!(
        HRESULT(2).to_string(),
        "0x00000002 (facility 0, code 0x0002)"
    );
    assert_eq!(
        HRESULT::from_win32(ERROR_MOD_NOT_FOUND).to_string(),
        "HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND) (0x8007007E): the module (library) was not found"
    );
    // A Win32 number we have no name for.
    assert_eq!(
        HRESULT::from_win32(9999).to_string(),
        "0x8007270F (facility 7, code 0x270F)"
    );
}

#[test]
fn debug_and_hex() {
    assert_eq!(format!("{E_FAIL:?}"), "E_FAIL (0x80004005)");
    assert_eq!(
        format!("{:?}", HRESULT::from_u32(0x8004_1234)),
        "HRESULT(0x80041234)"
    );
    assert_eq!(format!("{E_FAIL:X}"), "80004005");
    assert_eq!(format!("{E_FAIL:#010x}"), "0x80004005");
    assert_eq!(E_FAIL.message(), Some("unspecified failure"));
    assert_eq!(HRESULT(5).message(), None);
}

#[test]
fn error_trait_and_question_mark() {
    fn fails() -> Result<u32> {
        E_ACCESSDENIED.ok()?;
        Ok(1)
    }
    fn boxed() -> core::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        fails()?;
        Ok(())
    }
    assert_eq!(fails(), Err(E_ACCESSDENIED));
    let err = boxed().expect_err("must fail");
    assert_eq!(err.downcast_ref::<HRESULT>(), Some(&E_ACCESSDENIED));
    assert!(err.to_string().starts_with("E_ACCESSDENIED (0x80070005)"));

    let io: std::io::Error = E_OUTOFMEMORY.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert_eq!(
        io.get_ref().and_then(|e| e.downcast_ref::<HRESULT>()),
        Some(&E_OUTOFMEMORY)
    );
}
