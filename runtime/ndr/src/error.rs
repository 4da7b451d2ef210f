//! What can go wrong marshalling or unmarshalling, and the status each becomes.

use comidl_runtime_core::HRESULT;

/// An NDR failure. Unmarshalling turns every inconsistency of the received bytes into
/// [`NdrError::BadStubData`] (the fault `nca_s_fault_ndr`, RPC_X_BAD_STUB_DATA): never a
/// panic, never an allocation the message cannot justify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdrError {
    /// The received bytes are not a valid representation (what, and where).
    BadStubData { at: usize, why: &'static str },
    /// A `[ref]` pointer to be marshalled is NULL (RPC_X_NULL_REF_POINTER).
    NullRefPointer,
    /// An enum value does not fit the 16 bits NDR gives it (RPC_X_ENUM_VALUE_OUT_OF_RANGE).
    EnumOutOfRange,
    /// A value outside its `[range]` (RPC_X_INVALID_BOUND on the sending side).
    OutOfRange,
    /// A union's discriminant selects no arm and there is no default (RPC_S_INVALID_TAG).
    InvalidTag,
    /// A correlation (`size_is`, `length_is`, ...) read in memory makes no sense: negative,
    /// larger than the array, or through a NULL pointer (RPC_X_INVALID_BOUND).
    InvalidBound,
    /// A string to be marshalled has no terminator within its array.
    UnterminatedString,
    /// The message asks for more memory than the limits allow (RPC_S_OUT_OF_MEMORY).
    TooLarge,
    /// The allocator failed.
    OutOfMemory,
    /// The description holds a type the engine cannot marshal yet (why).
    Unsupported(&'static str),
    /// The COM library could not marshal or unmarshal an interface pointer (its HRESULT).
    Interface(HRESULT),
}

impl NdrError {
    pub(crate) fn bad(at: usize, why: &'static str) -> NdrError {
        NdrError::BadStubData { at, why }
    }

    /// The Win32 status code of the failure (what a fault PDU carries).
    pub fn status(&self) -> u32 {
        match self {
            NdrError::BadStubData { .. } => 1783, // RPC_X_BAD_STUB_DATA
            NdrError::NullRefPointer => 1780,     // RPC_X_NULL_REF_POINTER
            NdrError::EnumOutOfRange => 1781,     // RPC_X_ENUM_VALUE_OUT_OF_RANGE
            NdrError::OutOfRange => 1734,         // RPC_X_INVALID_BOUND
            NdrError::InvalidTag => 1733,         // RPC_S_INVALID_TAG
            NdrError::InvalidBound => 1734,       // RPC_X_INVALID_BOUND
            NdrError::UnterminatedString => 1783, // RPC_X_BAD_STUB_DATA
            NdrError::TooLarge | NdrError::OutOfMemory => 14, // RPC_S_OUT_OF_MEMORY
            NdrError::Unsupported(_) => 1764,     // RPC_S_CANNOT_SUPPORT
            NdrError::Interface(hr) => hr.0 as u32,
        }
    }

    /// The failure as an HRESULT (`HRESULT_FROM_WIN32(status)`; out of memory is
    /// E_OUTOFMEMORY).
    pub fn hresult(&self) -> HRESULT {
        if let NdrError::Interface(hr) = self {
            return *hr;
        }
        HRESULT::from_win32(self.status())
    }
}

impl std::fmt::Display for NdrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NdrError::BadStubData { at, why } => write!(f, "bad stub data at byte {at}: {why}"),
            NdrError::NullRefPointer => f.write_str("a [ref] pointer is NULL"),
            NdrError::EnumOutOfRange => f.write_str("an enum value does not fit in 16 bits"),
            NdrError::OutOfRange => f.write_str("a value is outside its [range]"),
            NdrError::InvalidTag => f.write_str("a union discriminant selects no arm"),
            NdrError::InvalidBound => f.write_str("an array bound is invalid"),
            NdrError::UnterminatedString => f.write_str("a string has no terminator"),
            NdrError::TooLarge => f.write_str("the message needs more memory than allowed"),
            NdrError::OutOfMemory => f.write_str("out of memory"),
            NdrError::Unsupported(why) => write!(f, "not supported yet: {why}"),
            NdrError::Interface(hr) => write!(f, "an interface pointer could not cross: {hr}"),
        }
    }
}

impl std::error::Error for NdrError {}

/// The engine's result.
pub type Result<T> = std::result::Result<T, NdrError>;
