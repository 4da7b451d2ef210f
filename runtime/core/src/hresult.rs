//! `HRESULT`: the 32-bit status code every COM method returns.
//!
//! Layout of the value, from the most significant bit down:
//!
//! | bits  | meaning                                             |
//! | ----- | --------------------------------------------------- |
//! | 31    | severity: 1 = failure, 0 = success                  |
//! | 29-30 | reserved (bit 29 marks customer-defined codes)      |
//! | 16-28 | facility: which layer produced the code             |
//! | 0-15  | code within that facility                           |
//!
//! Every standard code this crate knows is defined twice — as a module-level
//! constant ([`E_FAIL`]) and as an associated constant ([`HRESULT::E_FAIL`]) —
//! and listed once in [`KNOWN`], which also carries the short description
//! that `Display` prints. Win32 error numbers live in [`KNOWN_WIN32`] and the
//! facility and severity numbers in [`KNOWN_NUMBERS`]. All values equal the
//! ones in Wine 8.0's `winerror.h` (and `olectl.h` for the connection-point
//! and self-registration codes); a test checks every entry against those
//! headers.
//!
//! Layer: core. Uses the core root items only.

use core::fmt;

/// A COM status code. Negative values (bit 31 set) are failures, everything
/// else is success.
///
/// The type is `#[repr(transparent)]` over `i32`, so it can be returned
/// directly from `extern "system"` functions where C expects an `HRESULT`.
#[repr(transparent)]
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct HRESULT(pub i32);

/// The result type of safe COM wrappers: the error is the failing `HRESULT`
/// itself.
pub type Result<T> = core::result::Result<T, HRESULT>;

impl HRESULT {
    /// Builds an `HRESULT` from its unsigned 32-bit pattern.
    #[must_use]
    #[inline]
    pub const fn from_u32(value: u32) -> HRESULT {
        HRESULT(value as i32)
    }

    /// The unsigned 32-bit pattern of this code (as usually written in hex).
    #[must_use]
    #[inline]
    pub const fn to_u32(self) -> u32 {
        self.0 as u32
    }

    /// `SUCCEEDED`: true when the value is zero or positive.
    #[must_use]
    #[inline]
    pub const fn is_ok(self) -> bool {
        self.0 >= 0
    }

    /// `FAILED`: true when the value is negative (severity bit set).
    #[must_use]
    #[inline]
    pub const fn is_err(self) -> bool {
        self.0 < 0
    }

    /// `HRESULT_CODE`: bits 0-15.
    #[must_use]
    #[inline]
    pub const fn code(self) -> u32 {
        self.to_u32() & 0xFFFF
    }

    /// `HRESULT_FACILITY`: bits 16-28.
    #[must_use]
    #[inline]
    pub const fn facility(self) -> u32 {
        (self.to_u32() >> 16) & 0x1FFF
    }

    /// `HRESULT_SEVERITY`: bit 31 (1 for failures).
    #[must_use]
    #[inline]
    pub const fn severity(self) -> u32 {
        self.to_u32() >> 31
    }

    /// `MAKE_HRESULT`: `severity << 31 | facility << 16 | code`.
    ///
    /// Like the C macro, the parts are not masked: out-of-range bits of
    /// `facility` or `code` spill into the neighbouring fields.
    #[must_use]
    #[inline]
    pub const fn make(severity: u32, facility: u32, code: u32) -> HRESULT {
        HRESULT::from_u32((severity << 31) | (facility << 16) | code)
    }

    /// `HRESULT_FROM_WIN32`: turns a Win32 error number into a failure code of
    /// facility [`FACILITY_WIN32`].
    ///
    /// Zero (`ERROR_SUCCESS`) gives `S_OK`, and a value that is already a
    /// failure `HRESULT` (negative as `i32`) is returned unchanged; any other
    /// value becomes `0x8007_0000 | (err & 0xFFFF)`.
    #[must_use]
    #[inline]
    pub const fn from_win32(err: u32) -> HRESULT {
        if err as i32 <= 0 {
            HRESULT(err as i32)
        } else {
            HRESULT::from_u32((err & 0xFFFF) | (FACILITY_WIN32 << 16) | 0x8000_0000)
        }
    }

    /// `Ok(())` for success codes, `Err(self)` for failures; lets callers use
    /// `?` on a raw `HRESULT`.
    #[inline]
    pub const fn ok(self) -> Result<()> {
        if self.is_err() { Err(self) } else { Ok(()) }
    }

    /// The symbolic name of this code (e.g. `"E_NOINTERFACE"`), if it is one
    /// of the codes in [`KNOWN`]. When several names share a value the first
    /// entry of the table wins (`S_OK` over `NOERROR`).
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        lookup(self).map(|(name, _, _)| *name)
    }

    /// A short English description of this code, if it is one of the codes in
    /// [`KNOWN`].
    #[must_use]
    pub fn message(self) -> Option<&'static str> {
        lookup(self).map(|(_, _, message)| *message)
    }

    /// The Win32 error this code wraps, when it is a failure of facility
    /// [`FACILITY_WIN32`] (as made by [`HRESULT::from_win32`]).
    #[must_use]
    pub const fn win32_error(self) -> Option<u32> {
        if self.is_err() && self.facility() == FACILITY_WIN32 {
            Some(self.code())
        } else {
            None
        }
    }
}

fn lookup(hr: HRESULT) -> Option<&'static (&'static str, HRESULT, &'static str)> {
    KNOWN.iter().find(|(_, value, _)| *value == hr)
}

fn lookup_win32(err: u32) -> Option<&'static (&'static str, u32, &'static str)> {
    KNOWN_WIN32.iter().find(|(_, value, _)| *value == err)
}

impl fmt::Display for HRESULT {
    /// Known codes: `NAME (0xXXXXXXXX): description`. Wrapped Win32 errors
    /// that have a name: `HRESULT_FROM_WIN32(ERROR_...) (0x8007XXXX):
    /// description`. Anything else: `0xXXXXXXXX (facility F, code 0xCCCC)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_u32();
        if let Some((name, _, message)) = lookup(*self) {
            return write!(f, "{name} (0x{hex:08X}): {message}");
        }
        if let Some((name, _, message)) = self.win32_error().and_then(lookup_win32) {
            return write!(f, "HRESULT_FROM_WIN32({name}) (0x{hex:08X}): {message}");
        }
        write!(
            f,
            "0x{hex:08X} (facility {}, code 0x{:04X})",
            self.facility(),
            self.code()
        )
    }
}

impl fmt::Debug for HRESULT {
    /// `NAME (0xXXXXXXXX)` for known codes, `HRESULT(0xXXXXXXXX)` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:08X})", self.to_u32()),
            None => write!(f, "HRESULT(0x{:08X})", self.to_u32()),
        }
    }
}

impl fmt::UpperHex for HRESULT {
    /// Formats the unsigned bit pattern.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::UpperHex::fmt(&self.to_u32(), f)
    }
}

impl fmt::LowerHex for HRESULT {
    /// Formats the unsigned bit pattern.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.to_u32(), f)
    }
}

impl std::error::Error for HRESULT {}

impl From<HRESULT> for std::io::Error {
    /// Wraps the code as an `io::Error` of kind `Other`; the `HRESULT` stays
    /// reachable through `get_ref()`/`into_inner()`.
    fn from(hr: HRESULT) -> std::io::Error {
        std::io::Error::other(hr)
    }
}

/// Defines each standard code as a module-level constant and an associated
/// constant of `HRESULT`, and lists them all in `KNOWN`.
macro_rules! known_hresults {
    ($($name:ident = $value:expr => $message:literal;)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`: ", $message, ".")]
            pub const $name: HRESULT = HRESULT::from_u32($value);
        )*

        impl HRESULT {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $message, ".")]
                pub const $name: HRESULT = $name;
            )*
        }

        /// Every standard `HRESULT` this crate defines: `(name, value,
        /// description)`. Names that share a value appear in the order their
        /// preferred spelling wins for `Display`.
        pub const KNOWN: &[(&str, HRESULT, &str)] = &[
            $((stringify!($name), $name, $message),)*
        ];
    };
}

/// Defines plain `u32` constants with a description and lists them in the
/// given table.
macro_rules! known_win32 {
    ($($name:ident = $value:expr => $message:literal;)*) => {
        $(
            #[doc = concat!("Win32 error `", stringify!($name), "`: ", $message, ".")]
            pub const $name: u32 = $value;
        )*

        /// The Win32 error numbers this crate defines: `(name, value,
        /// description)`.
        pub const KNOWN_WIN32: &[(&str, u32, &str)] = &[
            $((stringify!($name), $name, $message),)*
        ];
    };
}

/// Defines facility and severity numbers and lists them in `KNOWN_NUMBERS`.
macro_rules! known_numbers {
    ($($name:ident = $value:expr => $doc:literal;)*) => {
        $(
            #[doc = $doc]
            pub const $name: u32 = $value;
        )*

        /// The facility and severity numbers this crate defines: `(name,
        /// value)`.
        pub const KNOWN_NUMBERS: &[(&str, u32)] = &[
            $((stringify!($name), $name),)*
        ];
    };
}

known_numbers! {
    SEVERITY_SUCCESS = 0 => "Severity bit value of success codes.";
    SEVERITY_ERROR = 1 => "Severity bit value of failure codes.";
    FACILITY_NULL = 0 => "Facility of general-purpose codes such as `E_FAIL` and `E_NOINTERFACE`.";
    FACILITY_RPC = 1 => "Facility of remote procedure call errors.";
    FACILITY_DISPATCH = 2 => "Facility of late-binding (`IDispatch`) errors.";
    FACILITY_STORAGE = 3 => "Facility of structured storage errors.";
    FACILITY_ITF = 4 => "Facility of codes whose meaning depends on the interface.";
    FACILITY_WIN32 = 7 => "Facility of wrapped Win32 error numbers.";
    FACILITY_WINDOWS = 8 => "Facility of Windows subsystem errors.";
    FACILITY_SSPI = 9 => "Facility of security support provider errors.";
    FACILITY_SECURITY = 9 => "Alias of `FACILITY_SSPI`.";
    FACILITY_CONTROL = 10 => "Facility of control (OLE control) errors.";
    FACILITY_CERT = 11 => "Facility of certificate errors.";
    FACILITY_INTERNET = 12 => "Facility of internet (WinINet/URL moniker) errors.";
    FACILITY_MEDIASERVER = 13 => "Facility of media server errors.";
    FACILITY_MSMQ = 14 => "Facility of message queue errors.";
    FACILITY_SETUPAPI = 15 => "Facility of setup API errors.";
    FACILITY_SCARD = 16 => "Facility of smart card errors.";
    FACILITY_COMPLUS = 17 => "Facility of COM+ errors.";
    FACILITY_AAF = 18 => "Facility of advanced authoring format errors.";
    FACILITY_URT = 19 => "Facility of .NET runtime errors.";
    FACILITY_ACS = 20 => "Facility of audit collection errors.";
    FACILITY_DPLAY = 21 => "Facility of DirectPlay errors.";
    FACILITY_UMI = 22 => "Facility of UMI errors.";
    FACILITY_SXS = 23 => "Facility of side-by-side assembly errors.";
    FACILITY_WINDOWS_CE = 24 => "Facility of Windows CE errors.";
    FACILITY_HTTP = 25 => "Facility of HTTP errors.";
    FACILITY_COMMONLOG = 26 => "Facility of common log file system errors.";
    FACILITY_USERMODE_FILTER_MANAGER = 31 => "Facility of user-mode filter manager errors.";
    FACILITY_BACKGROUNDCOPY = 32 => "Facility of background transfer errors.";
    FACILITY_CONFIGURATION = 33 => "Facility of configuration errors.";
    FACILITY_STATE_MANAGEMENT = 34 => "Facility of state management errors.";
    FACILITY_METADIRECTORY = 35 => "Facility of metadirectory errors.";
    FACILITY_WINDOWSUPDATE = 36 => "Facility of Windows Update errors.";
    FACILITY_DIRECTORYSERVICE = 37 => "Facility of directory service errors.";
    FACILITY_GRAPHICS = 38 => "Facility of graphics errors.";
    FACILITY_SHELL = 39 => "Facility of shell errors.";
    FACILITY_TPM_SERVICES = 40 => "Facility of TPM base services errors.";
    FACILITY_TPM_SOFTWARE = 41 => "Facility of TPM software stack errors.";
    FACILITY_PLA = 48 => "Facility of performance logs and alerts errors.";
    FACILITY_FVE = 49 => "Facility of full-volume encryption errors.";
    FACILITY_WINDOWS_DEFENDER = 80 => "Facility of Windows Defender errors.";
    FACILITY_OPC = 81 => "Facility of open packaging conventions errors.";
    FACILITY_DIRECT3D11 = 0x87C => "Facility of Direct3D 11 errors.";
    FACILITY_AUDCLNT = 0x889 => "Facility of audio client errors.";
}

known_win32! {
    ERROR_SUCCESS = 0 => "the operation completed successfully";
    ERROR_FILE_NOT_FOUND = 2 => "the file was not found";
    ERROR_PATH_NOT_FOUND = 3 => "the path was not found";
    ERROR_ACCESS_DENIED = 5 => "access is denied";
    ERROR_INVALID_HANDLE = 6 => "the handle is not valid";
    ERROR_NOT_ENOUGH_MEMORY = 8 => "not enough memory to complete the operation";
    ERROR_BAD_FORMAT = 11 => "the program or library has a bad format";
    ERROR_INVALID_DATA = 13 => "the data is not valid";
    ERROR_OUTOFMEMORY = 14 => "not enough memory";
    ERROR_NOT_SUPPORTED = 50 => "the request is not supported";
    ERROR_FILE_EXISTS = 80 => "the file already exists";
    ERROR_INVALID_PARAMETER = 87 => "a parameter is not valid";
    ERROR_CALL_NOT_IMPLEMENTED = 120 => "this function is not implemented";
    ERROR_INSUFFICIENT_BUFFER = 122 => "the buffer is too small";
    ERROR_MOD_NOT_FOUND = 126 => "the module (library) was not found";
    ERROR_PROC_NOT_FOUND = 127 => "the procedure (entry point) was not found";
    ERROR_ALREADY_EXISTS = 183 => "the object already exists";
    ERROR_MORE_DATA = 234 => "more data is available";
    ERROR_NO_MORE_ITEMS = 259 => "no more items";
    ERROR_DLL_INIT_FAILED = 1114 => "a library failed to initialise";
    ERROR_NOT_FOUND = 1168 => "the element was not found";
    ERROR_CANCELLED = 1223 => "the operation was cancelled";
    ERROR_TIMEOUT = 1460 => "the operation timed out";
    RPC_S_SERVER_UNAVAILABLE = 1722 => "the RPC server is unavailable";
    ERROR_INVALID_STATE = 5023 => "the object is in the wrong state for this operation";
}

known_hresults! {
    S_OK = 0 => "success";
    NOERROR = 0 => "success (alias of S_OK)";
    S_FALSE = 1 => "success, with a negative or partial answer";
    E_PENDING = 0x8000_000A => "the data is not available yet";
    E_BOUNDS = 0x8000_000B => "an index is out of range";
    E_CHANGED_STATE = 0x8000_000C => "the collection changed while being used";
    E_ILLEGAL_METHOD_CALL = 0x8000_000E => "the method may not be called in the current state";
    E_NOT_SUFFICIENT_BUFFER = HRESULT::from_win32(ERROR_INSUFFICIENT_BUFFER).to_u32()
        => "the buffer is too small";
    E_NOT_VALID_STATE = HRESULT::from_win32(ERROR_INVALID_STATE).to_u32()
        => "the object is in the wrong state for this operation";
    E_NOTIMPL = 0x8000_4001 => "not implemented";
    E_NOINTERFACE = 0x8000_4002 => "no such interface supported";
    E_POINTER = 0x8000_4003 => "a required pointer is NULL or invalid";
    E_ABORT = 0x8000_4004 => "the operation was aborted";
    E_FAIL = 0x8000_4005 => "unspecified failure";
    CO_E_WRONG_SERVER_IDENTITY = 0x8000_4015 => "the server runs under a different identity than required";
    CO_E_NOT_SUPPORTED = 0x8000_4021 => "the operation is not supported";
    E_UNEXPECTED = 0x8000_FFFF => "unexpected failure";
    RPC_E_CALL_REJECTED = 0x8001_0001 => "the callee rejected the call";
    RPC_E_CALL_CANCELED = 0x8001_0002 => "the call was cancelled";
    RPC_E_INVALID_DATA = 0x8001_000F => "the received call data is not valid";
    RPC_E_SERVERFAULT = 0x8001_0105 => "the server raised a fault while executing the call";
    RPC_E_CHANGED_MODE = 0x8001_0106 => "the thread's concurrency model cannot be changed";
    RPC_E_DISCONNECTED = 0x8001_0108 => "the object disconnected from its clients";
    RPC_E_CANTCALLOUT_ININPUTSYNCCALL = 0x8001_010D
        => "no outgoing call is allowed during an input-synchronous call";
    RPC_E_WRONG_THREAD = 0x8001_010E => "the interface was marshalled for a different thread";
    RPC_E_VERSION_MISMATCH = 0x8001_0110 => "the caller's COM version is not supported";
    RPC_E_INVALID_IPID = 0x8001_0113 => "the interface identifier (IPID) names no interface here";
    RPC_E_INVALID_OBJREF = 0x8001_011D => "the object reference is not valid";
    RPC_E_TOO_LATE = 0x8001_0119 => "too late to change this setting";
    RPC_E_TIMEOUT = 0x8001_011F => "the call timed out";
    DISP_E_UNKNOWNINTERFACE = 0x8002_0001 => "unknown interface";
    DISP_E_MEMBERNOTFOUND = 0x8002_0003 => "member not found";
    DISP_E_PARAMNOTFOUND = 0x8002_0004 => "parameter not found";
    DISP_E_TYPEMISMATCH = 0x8002_0005 => "type mismatch";
    DISP_E_UNKNOWNNAME = 0x8002_0006 => "unknown name";
    DISP_E_NONAMEDARGS = 0x8002_0007 => "named arguments are not supported";
    DISP_E_BADVARTYPE = 0x8002_0008 => "bad variant type";
    DISP_E_EXCEPTION = 0x8002_0009 => "the member raised an exception";
    DISP_E_OVERFLOW = 0x8002_000A => "value out of range";
    DISP_E_BADINDEX = 0x8002_000B => "index out of range";
    DISP_E_BADPARAMCOUNT = 0x8002_000E => "wrong number of parameters";
    DISP_E_PARAMNOTOPTIONAL = 0x8002_000F => "a required parameter is missing";
    TYPE_E_LIBNOTREGISTERED = 0x8002_801D => "the type library is not registered";
    TYPE_E_ELEMENTNOTFOUND = 0x8002_802B => "element not found in the type library";
    TYPE_E_CANTLOADLIBRARY = 0x8002_9C4A => "the type library could not be loaded";
    STG_E_FILENOTFOUND = 0x8003_0002 => "storage file not found";
    STG_E_ACCESSDENIED = 0x8003_0005 => "storage access denied";
    STG_E_INVALIDPOINTER = 0x8003_0009 => "invalid pointer passed to storage";
    STG_E_MEDIUMFULL = 0x8003_0070 => "the storage medium is full";
    OLE_E_NOCONNECTION = 0x8004_0004 => "there is no advisory connection with that cookie";
    CLASS_E_NOAGGREGATION = 0x8004_0110 => "the class does not support aggregation";
    CLASS_E_CLASSNOTAVAILABLE = 0x8004_0111 => "the class object does not provide this class";
    CLASS_E_NOTLICENSED = 0x8004_0112 => "the class is not licensed for use";
    REGDB_E_READREGDB = 0x8004_0150 => "could not read the class registry";
    REGDB_E_WRITEREGDB = 0x8004_0151 => "could not write the class registry";
    REGDB_E_KEYMISSING = 0x8004_0152 => "a registry key is missing";
    REGDB_E_INVALIDVALUE = 0x8004_0153 => "a registry value is not valid";
    REGDB_E_CLASSNOTREG = 0x8004_0154 => "class not registered";
    REGDB_E_IIDNOTREG = 0x8004_0155 => "interface not registered";
    CO_E_NOTINITIALIZED = 0x8004_01F0 => "COM is not initialised on this thread";
    CO_E_ALREADYINITIALIZED = 0x8004_01F1 => "COM is already initialised on this thread";
    CO_E_CANTDETERMINECLASS = 0x8004_01F2 => "the class could not be determined";
    CO_E_CLASSSTRING = 0x8004_01F3 => "the class string is not valid";
    CO_E_IIDSTRING = 0x8004_01F4 => "the interface string is not valid";
    CO_E_APPNOTFOUND = 0x8004_01F5 => "the application was not found";
    CO_E_DLLNOTFOUND = 0x8004_01F8 => "the server library was not found";
    CO_E_ERRORINDLL = 0x8004_01F9 => "the server library is broken or has the wrong format";
    CO_E_OBJNOTREG = 0x8004_01FB => "the object is not registered";
    CO_E_APPDIDNTREG = 0x8004_01FE => "the server did not register its class objects";
    CO_E_RELEASED = 0x8004_01FF => "the object has been released";
    CONNECT_E_NOCONNECTION = 0x8004_0200 => "no connection for this cookie";
    CONNECT_E_ADVISELIMIT = 0x8004_0201 => "the connection limit has been reached";
    CONNECT_E_CANNOTCONNECT = 0x8004_0202 => "the sink does not support the required interface";
    SELFREG_E_TYPELIB = 0x8004_0200 => "the type library could not be registered";
    SELFREG_E_CLASS = 0x8004_0201 => "the classes could not be registered";
    E_ACCESSDENIED = 0x8007_0005 => "access denied";
    E_HANDLE = 0x8007_0006 => "invalid handle";
    E_OUTOFMEMORY = 0x8007_000E => "out of memory";
    E_INVALIDARG = 0x8007_0057 => "one or more arguments are not valid";
    RPC_S_SERVER_UNAVAILABLE_HR = 0x8007_06BA => "the RPC server is unavailable";
    CO_E_CLASS_CREATE_FAILED = 0x8008_0001 => "the server could not create the class object";
    CO_E_SERVER_EXEC_FAILURE = 0x8008_0005 => "the server process could not be started";
    CO_E_SERVER_STOPPING = 0x8008_0008 => "the server is shutting down";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(E_NOINTERFACE.code(), 0x4002);
        assert_eq!(E_NOINTERFACE.facility(), FACILITY_NULL);
        assert_eq!(E_NOINTERFACE.severity(), SEVERITY_ERROR);
        assert_eq!(S_FALSE.severity(), SEVERITY_SUCCESS);
        assert_eq!(
            HRESULT::make(SEVERITY_ERROR, FACILITY_WIN32, 5),
            E_ACCESSDENIED
        );
    }

    #[test]
    fn table_names_match_constants() {
        assert_eq!(HRESULT::E_FAIL, E_FAIL);
        assert_eq!(S_OK.name(), Some("S_OK"));
        assert_eq!(
            CONNECT_E_NOCONNECTION.name(),
            Some("CONNECT_E_NOCONNECTION")
        );
        let mut names: Vec<_> = KNOWN.iter().map(|(n, _, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN.len());
    }

    #[test]
    fn wrapped_win32_display() {
        let hr = HRESULT::from_win32(ERROR_FILE_NOT_FOUND);
        assert_eq!(hr.win32_error(), Some(2));
        assert_eq!(
            hr.to_string(),
            "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) (0x80070002): the file was not found"
        );
    }
}
