//! The byte layout of hand-marshalled DCOM structures (OBJREF and what it holds,
//! MS-DCOM 2.2.18 and 2.2.19): little-endian integers one after the other, with no
//! alignment padding, unlike NDR.

use comidl_runtime_core::{GUID, HRESULT};

/// RPC_E_INVALID_OBJREF: what MS-DCOM 3.2.4.1.2 has a client return for an OBJREF it
/// cannot accept.
pub const RPC_E_INVALID_OBJREF: HRESULT = HRESULT::from_u32(0x8001_011D);

/// A hand-marshalled structure that cannot be read or written: where (a byte offset into
/// the input, 0 when encoding) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireError {
    pub at: usize,
    pub why: &'static str,
}

impl WireError {
    pub(crate) fn new(at: usize, why: &'static str) -> WireError {
        WireError { at, why }
    }

    /// The failure as an HRESULT (RPC_E_INVALID_OBJREF).
    pub fn hresult(&self) -> HRESULT {
        RPC_E_INVALID_OBJREF
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid DCOM structure at byte {}: {}",
            self.at, self.why
        )
    }
}

impl std::error::Error for WireError {}

pub type Result<T> = std::result::Result<T, WireError>;

/// A bounds-checked cursor over received bytes.
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn error(&self, why: &'static str) -> WireError {
        WireError::new(self.pos, why)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error("the structure ends early"));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        s
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn guid(&mut self) -> Result<GUID> {
        self.array().map(GUID::from_bytes_le)
    }
}

/// Appends little-endian values to a byte vector.
pub trait Put {
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_guid(&mut self, g: &GUID);
}

impl Put for Vec<u8> {
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_guid(&mut self, g: &GUID) {
        self.extend_from_slice(&g.to_bytes_le());
    }
}
