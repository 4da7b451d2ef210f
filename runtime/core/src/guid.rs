//! `GUID`: the 128-bit identifiers of classes (`CLSID`), interfaces (`IID`)
//! and everything else COM names.
//!
//! In memory a GUID is four fields: a 32-bit integer, two 16-bit integers —
//! all three in the machine's native byte order — and eight bytes. The
//! textual form `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` prints the three
//! integers as numbers, then the eight bytes in order. Throughout this module
//! a `u128` "in textual order" is the number whose 32 hex digits are the
//! textual form without hyphens, e.g. `IUnknown` is
//! `0x00000000_0000_0000_C000_000000000046`.
//!
//! Layer: core. Uses `hresult` of this layer.

use core::fmt;
use core::str::FromStr;

use crate::hresult::{E_FAIL, Result};

/// A globally unique identifier, laid out exactly like the C `GUID`
/// structure (16 bytes, 4-byte alignment).
#[repr(C)]
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct GUID {
    /// First 8 hex digits of the textual form, as a native-endian integer.
    pub data1: u32,
    /// Next 4 hex digits, as a native-endian integer.
    pub data2: u16,
    /// Next 4 hex digits, as a native-endian integer.
    pub data3: u16,
    /// The remaining 16 hex digits as 8 bytes, in textual order.
    pub data4: [u8; 8],
}

/// An interface identifier.
pub type IID = GUID;
/// A class identifier.
pub type CLSID = GUID;

/// The all-zero GUID (`GUID_NULL`, also spelled `IID_NULL` / `CLSID_NULL`).
pub const GUID_NULL: GUID = GUID::zeroed();

/// Why a string could not be parsed as a GUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseGuidError {
    /// The string is not 36 bytes long (or 38 with braces).
    InvalidLength {
        /// The length of the input in bytes.
        len: usize,
    },
    /// The first character that does not belong where it stands.
    InvalidCharacter {
        /// Byte offset of the character in the input.
        index: usize,
        /// The character found there.
        found: char,
        /// What was expected there: `"a hex digit"`, `"'-'"`, `"'{'"` or
        /// `"'}'"`.
        expected: &'static str,
    },
}

impl fmt::Display for ParseGuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseGuidError::InvalidLength { len } => write!(
                f,
                "invalid GUID string length {len}: expected 36 bytes, or 38 with braces"
            ),
            ParseGuidError::InvalidCharacter {
                index,
                found,
                expected,
            } => write!(
                f,
                "invalid character {found:?} at byte {index} of GUID string: expected {expected}"
            ),
        }
    }
}

impl std::error::Error for ParseGuidError {}

/// Parse failure inside the `const` parser, before the offending character is
/// decoded (which `const fn` cannot easily do).
#[derive(Clone, Copy)]
enum RawError {
    Length(usize),
    Char(usize, &'static str),
}

const HEX_DIGIT: &str = "a hex digit";
const HYPHEN: &str = "'-'";
const OPEN_BRACE: &str = "'{'";
const CLOSE_BRACE: &str = "'}'";

/// Value of an ASCII hex digit.
const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses the 36-byte body starting at `start`; errors carry absolute offsets.
const fn parse_body(s: &[u8], start: usize) -> core::result::Result<u128, RawError> {
    let mut value: u128 = 0;
    let mut i = 0;
    while i < 36 {
        let b = s[start + i];
        if i == 8 || i == 13 || i == 18 || i == 23 {
            if b != b'-' {
                return Err(RawError::Char(start + i, HYPHEN));
            }
        } else {
            match hex_value(b) {
                Some(d) => value = (value << 4) | d as u128,
                None => return Err(RawError::Char(start + i, HEX_DIGIT)),
            }
        }
        i += 1;
    }
    Ok(value)
}

/// The whole grammar: 36-byte body, or the body between `{` and `}`.
/// Errors are reported for the first offending byte, left to right.
const fn parse_raw(s: &[u8]) -> core::result::Result<GUID, RawError> {
    let value = match s.len() {
        36 => parse_body(s, 0),
        38 => {
            if s[0] != b'{' {
                return Err(RawError::Char(0, OPEN_BRACE));
            }
            match parse_body(s, 1) {
                Ok(_) if s[37] != b'}' => Err(RawError::Char(37, CLOSE_BRACE)),
                other => other,
            }
        }
        len => Err(RawError::Length(len)),
    };
    match value {
        Ok(v) => Ok(GUID::from_u128(v)),
        Err(e) => Err(e),
    }
}

impl GUID {
    /// The all-zero GUID.
    #[must_use]
    pub const fn zeroed() -> GUID {
        GUID {
            data1: 0,
            data2: 0,
            data3: 0,
            data4: [0; 8],
        }
    }

    /// Builds a GUID from its four fields.
    #[must_use]
    pub const fn from_values(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> GUID {
        GUID {
            data1,
            data2,
            data3,
            data4,
        }
    }

    /// Builds a GUID from a `u128` in textual order:
    /// `GUID::from_u128(0x00000000_0000_0000_C000_000000000046)` is the IID of
    /// `IUnknown`.
    #[must_use]
    pub const fn from_u128(value: u128) -> GUID {
        GUID {
            data1: (value >> 96) as u32,
            data2: (value >> 80) as u16,
            data3: (value >> 64) as u16,
            data4: (value as u64).to_be_bytes(),
        }
    }

    /// The GUID as a `u128` in textual order (inverse of
    /// [`GUID::from_u128`]).
    #[must_use]
    pub const fn to_u128(&self) -> u128 {
        ((self.data1 as u128) << 96)
            | ((self.data2 as u128) << 80)
            | ((self.data3 as u128) << 64)
            | u64::from_be_bytes(self.data4) as u128
    }

    /// The 16 bytes of the little-endian memory image (what a little-endian
    /// machine stores, and what NDR puts on the wire).
    #[must_use]
    pub const fn to_bytes_le(&self) -> [u8; 16] {
        let a = self.data1.to_le_bytes();
        let b = self.data2.to_le_bytes();
        let c = self.data3.to_le_bytes();
        let d = self.data4;
        [
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5],
            d[6], d[7],
        ]
    }

    /// Builds a GUID from its little-endian memory image (inverse of
    /// [`GUID::to_bytes_le`]).
    #[must_use]
    pub const fn from_bytes_le(b: [u8; 16]) -> GUID {
        GUID {
            data1: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            data2: u16::from_le_bytes([b[4], b[5]]),
            data3: u16::from_le_bytes([b[6], b[7]]),
            data4: [b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]],
        }
    }

    /// True for the all-zero GUID.
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.to_u128() == 0
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, with or without
    /// surrounding braces, hex digits in either case, in a `const` context.
    ///
    /// # Panics
    ///
    /// Panics on malformed input. In a `const` item (or through the
    /// [`guid!`](crate::guid!) macro) that panic is a compile-time error, so
    /// a typo in a GUID literal never reaches run time. Use
    /// [`GUID::parse`] for strings that come from outside the program.
    ///
    /// ```
    /// use comidl_runtime_core::GUID;
    /// const IID_IUNKNOWN: GUID = GUID::from_str_const("{00000000-0000-0000-C000-000000000046}");
    /// assert_eq!(IID_IUNKNOWN.data4[0], 0xC0);
    /// ```
    ///
    /// ```compile_fail
    /// use comidl_runtime_core::GUID;
    /// const BAD: GUID = GUID::from_str_const("00000000-0000-0000-C000-00000000004G");
    /// ```
    #[must_use]
    pub const fn from_str_const(s: &str) -> GUID {
        match parse_raw(s.as_bytes()) {
            Ok(guid) => guid,
            Err(RawError::Length(_)) => {
                panic!("malformed GUID string: must be 36 characters, or 38 with braces")
            }
            Err(RawError::Char(..)) => {
                panic!("malformed GUID string: unexpected character (hex digits, '-' and braces)")
            }
        }
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, with or without
    /// surrounding braces, hex digits in either case. Never panics; the error
    /// names the wrong length or the first offending character.
    pub fn parse(s: &str) -> core::result::Result<GUID, ParseGuidError> {
        parse_raw(s.as_bytes()).map_err(|e| match e {
            RawError::Length(len) => ParseGuidError::InvalidLength { len },
            RawError::Char(index, expected) => ParseGuidError::InvalidCharacter {
                index,
                // Every byte before `index` was ASCII, so `index` is a char
                // boundary; the fallback only guards against future changes.
                found: s
                    .get(index..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
                expected,
            },
        })
    }

    /// The textual form without braces, upper-case:
    /// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`.
    #[must_use]
    pub fn to_string_no_braces(&self) -> String {
        let mut out = String::with_capacity(36);
        // Writing into a String cannot fail.
        let _ = write_body(self, &mut out);
        out
    }

    /// A fresh random (version 4) GUID, as `CoCreateGuid` makes.
    ///
    /// # Panics
    ///
    /// Panics if the operating system's random number generator fails; use
    /// [`GUID::try_new_v4`] to get an error instead.
    #[must_use]
    pub fn new_v4() -> GUID {
        match GUID::try_new_v4() {
            Ok(guid) => guid,
            Err(hr) => panic!("cannot create a random GUID: {hr}"),
        }
    }

    /// A fresh random (version 4) GUID, or `E_FAIL` when the operating
    /// system's random number generator fails.
    pub fn try_new_v4() -> Result<GUID> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| E_FAIL)?;
        // RFC 9562's version 4: the version nibble is 4, the variant bits are 10.
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        Ok(GUID::from_u128(u128::from_be_bytes(bytes)))
    }
}

fn write_body(g: &GUID, f: &mut impl fmt::Write) -> fmt::Result {
    let d = &g.data4;
    write!(
        f,
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        g.data1, g.data2, g.data3, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
    )
}

impl fmt::Display for GUID {
    /// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper-case, with braces (the
    /// form `StringFromGUID2` produces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        write_body(self, f)?;
        f.write_str("}")
    }
}

impl fmt::Debug for GUID {
    /// Same as `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for GUID {
    type Err = ParseGuidError;

    /// Same as [`GUID::parse`].
    fn from_str(s: &str) -> core::result::Result<GUID, ParseGuidError> {
        GUID::parse(s)
    }
}

#[cfg(feature = "uuid")]
impl From<uuid::Uuid> for GUID {
    /// Same identifier: the textual forms agree.
    fn from(u: uuid::Uuid) -> GUID {
        GUID::from_u128(u.as_u128())
    }
}

#[cfg(feature = "uuid")]
impl From<GUID> for uuid::Uuid {
    /// Same identifier: the textual forms agree.
    fn from(g: GUID) -> uuid::Uuid {
        uuid::Uuid::from_u128(g.to_u128())
    }
}

/// A [`GUID`] from a string literal, parsed at compile time:
/// `guid!("00000000-0000-0000-C000-000000000046")`. Braces are optional. A
/// malformed literal is a compile-time error.
///
/// ```
/// let iid = comidl_runtime_core::guid!("00000001-0000-0000-C000-000000000046");
/// assert_eq!(iid.data1, 1);
/// ```
///
/// ```compile_fail
/// let iid = comidl_runtime_core::guid!("00000001-0000-0000-C000");
/// ```
#[macro_export]
macro_rules! guid {
    ($s:expr) => {{
        const G: $crate::GUID = $crate::GUID::from_str_const($s);
        G
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_positions() {
        assert_eq!(
            GUID::parse("0000000000000-0000-C000-000000000046"),
            Err(ParseGuidError::InvalidCharacter {
                index: 8,
                found: '0',
                expected: HYPHEN
            })
        );
        assert_eq!(
            GUID::parse("{00000000-0000-0000-C000-000000000046)"),
            Err(ParseGuidError::InvalidCharacter {
                index: 37,
                found: ')',
                expected: CLOSE_BRACE
            })
        );
        assert_eq!(
            GUID::parse(""),
            Err(ParseGuidError::InvalidLength { len: 0 })
        );
    }
}
