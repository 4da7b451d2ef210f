//! NUL-terminated UTF-16 strings as interfaces pass them: an `[in, string]` argument
//! (`LPCWSTR`) is read where it lies; an `[out, string]` result is a task-allocator block
//! the receiver frees.
//!
//! Layer: core. Uses the core root items only.

use crate::{CoTaskMemAlloc, CoTaskMemFree, E_OUTOFMEMORY, E_POINTER, Result};

/// The code units of the string at `text`, without the NUL; `None` for NULL.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated UTF-16 string that is not written while
/// the slice is used.
pub unsafe fn units<'a>(text: *const u16) -> Option<&'a [u16]> {
    if text.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: every unit up to and including the NUL is readable (caller's contract).
    while unsafe { text.add(len).read() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the NUL are readable and unchanged (caller's contract).
    Some(unsafe { core::slice::from_raw_parts(text, len) })
}

/// The text of an `[in, string]` argument, unpaired surrogates replaced by U+FFFD;
/// E_POINTER for NULL.
///
/// # Safety
/// As for [`units`].
pub unsafe fn read(text: *const u16) -> Result<String> {
    // SAFETY: forwarded caller guarantees.
    let units = unsafe { units(text) }.ok_or(E_POINTER)?;
    Ok(String::from_utf16_lossy(units))
}

/// `text` with a NUL after it, for passing as an `[in, string]` argument.
pub fn nul_terminated(text: &str) -> Vec<u16> {
    text.encode_utf16().chain([0]).collect()
}

/// `text` as a NUL-terminated task-allocator block, which the receiver frees with
/// `CoTaskMemFree` (what an `[out, string]` result hands over).
pub fn to_task_block(text: &str) -> Result<*mut u16> {
    let units = nul_terminated(text);
    let block = CoTaskMemAlloc(units.len() * 2).cast::<u16>();
    if block.is_null() {
        return Err(E_OUTOFMEMORY);
    }
    // SAFETY: the block holds `units.len()` units; no overlap.
    unsafe { core::ptr::copy_nonoverlapping(units.as_ptr(), block, units.len()) };
    Ok(block)
}

/// The text of a task-allocator block an `[out, string]` result handed over, which this
/// frees; `None` for NULL. Unpaired surrogates become U+FFFD.
///
/// # Safety
/// `block` is NULL or a NUL-terminated UTF-16 string allocated with the task allocator
/// and owned by the caller.
pub unsafe fn take_task_block(block: *mut u16) -> Option<String> {
    // SAFETY: NULL or NUL-terminated (caller's contract).
    let text = String::from_utf16_lossy(unsafe { units(block) }?);
    // SAFETY: a task block the caller handed over, freed once.
    unsafe { CoTaskMemFree(block.cast()) };
    Some(text)
}

/// A borrowed NUL-terminated UTF-16 string: what an `[in, string]` wide-string parameter
/// (`LPCWSTR`, `LPCOLESTR`) takes in the safe layer, as `&CStr` is for narrow strings.
///
/// It holds its units *with* the NUL, so [`WStr::as_ptr`] can be handed to C as it is.
/// Make one from a literal with [`w!`](crate::w), from Rust text with [`WString`], or from
/// a pointer a caller passed with [`WStr::from_ptr`].
#[repr(transparent)]
pub struct WStr {
    /// The units, ending with the only NUL.
    units: [u16],
}

/// Why units are not a [`WStr`]: no NUL at the end, or one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NulError {
    /// Where the first NUL is, if there is one before the end.
    pub position: Option<usize>,
}

impl core::fmt::Display for NulError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.position {
            Some(at) => write!(f, "wide string has a NUL at unit {at}, before its end"),
            None => f.write_str("wide string does not end with a NUL"),
        }
    }
}

impl std::error::Error for NulError {}

impl WStr {
    /// `units`, which must end with their only NUL.
    pub fn from_units_with_nul(units: &[u16]) -> core::result::Result<&WStr, NulError> {
        match units.iter().position(|&u| u == 0) {
            Some(at) if at + 1 == units.len() => {
                // SAFETY: the last unit is the only NUL.
                Ok(unsafe { Self::from_units_with_nul_unchecked(units) })
            }
            position => Err(NulError { position }),
        }
    }

    /// `units` as a `WStr` without checking them (for [`w!`](crate::w), which checks at
    /// compile time).
    ///
    /// # Safety
    /// `units` ends with a NUL and holds no other.
    pub const unsafe fn from_units_with_nul_unchecked(units: &[u16]) -> &WStr {
        // SAFETY: `WStr` is a transparent wrapper of `[u16]`, so the fat pointer's
        // metadata (the length) carries over; the NUL invariant is the caller's.
        unsafe { &*(units as *const [u16] as *const WStr) }
    }

    /// The string a C caller passed, up to its NUL; `None` for NULL.
    ///
    /// # Safety
    /// `text` is NULL or points to a NUL-terminated UTF-16 string that stays unchanged
    /// and alive for `'a`.
    pub unsafe fn from_ptr<'a>(text: *const u16) -> Option<&'a WStr> {
        // SAFETY: forwarded caller guarantees.
        let units = unsafe { units(text) }?;
        // SAFETY: the NUL that ended the scan is readable and follows the units.
        let with_nul = unsafe { core::slice::from_raw_parts(text, units.len() + 1) };
        // SAFETY: the scan stopped at the first NUL, which is the last unit.
        Some(unsafe { Self::from_units_with_nul_unchecked(with_nul) })
    }

    /// The pointer to pass to C: the first unit, NUL-terminated.
    pub const fn as_ptr(&self) -> *const u16 {
        self.units.as_ptr()
    }

    /// The units without the NUL.
    pub fn as_units(&self) -> &[u16] {
        &self.units[..self.units.len() - 1]
    }

    /// The units with the NUL.
    pub fn as_units_with_nul(&self) -> &[u16] {
        &self.units
    }

    /// The number of units before the NUL.
    pub fn len(&self) -> usize {
        self.units.len() - 1
    }

    /// Whether the string is empty (only the NUL).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, unpaired surrogates replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(self.as_units())
    }

    /// The text, or the error naming an unpaired surrogate.
    pub fn try_to_string(&self) -> core::result::Result<String, std::string::FromUtf16Error> {
        String::from_utf16(self.as_units())
    }
}

impl core::fmt::Debug for WStr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl core::fmt::Display for WStr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in char::decode_utf16(self.as_units().iter().copied()) {
            core::fmt::Write::write_char(f, c.unwrap_or(char::REPLACEMENT_CHARACTER))?;
        }
        Ok(())
    }
}

impl PartialEq for WStr {
    fn eq(&self, other: &WStr) -> bool {
        self.units == other.units
    }
}

impl Eq for WStr {}

impl PartialEq<str> for WStr {
    fn eq(&self, other: &str) -> bool {
        self.as_units().iter().copied().eq(other.encode_utf16())
    }
}

impl PartialEq<&str> for WStr {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// An owned NUL-terminated UTF-16 string, borrowed as a [`WStr`].
#[derive(Clone, PartialEq, Eq)]
pub struct WString {
    /// The units, ending with the only NUL.
    units: Vec<u16>,
}

impl WString {
    /// `text` as UTF-16; `Err` if it holds a NUL (C would read it as the end).
    pub fn new(text: &str) -> core::result::Result<WString, NulError> {
        let units = nul_terminated(text);
        WStr::from_units_with_nul(&units)?;
        Ok(WString { units })
    }

    /// `units` (without a NUL) with a NUL added; `Err` if they hold one.
    pub fn from_units(units: &[u16]) -> core::result::Result<WString, NulError> {
        if let Some(at) = units.iter().position(|&u| u == 0) {
            return Err(NulError { position: Some(at) });
        }
        let mut owned = units.to_vec();
        owned.push(0);
        Ok(WString { units: owned })
    }
}

impl core::ops::Deref for WString {
    type Target = WStr;
    fn deref(&self) -> &WStr {
        // SAFETY: `units` always ends with its only NUL (checked where it was made).
        unsafe { WStr::from_units_with_nul_unchecked(&self.units) }
    }
}

impl AsRef<WStr> for WString {
    fn as_ref(&self) -> &WStr {
        self
    }
}

impl core::fmt::Debug for WString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

impl core::fmt::Display for WString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&**self, f)
    }
}

/// How many UTF-16 units `text` takes (for [`w!`](crate::w), at compile time).
#[doc(hidden)]
pub const fn utf16_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut len = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // A 4-byte UTF-8 sequence is a supplementary character: two units.
        let (width, units) = if b < 0x80 {
            (1, 1)
        } else if b < 0xE0 {
            (2, 1)
        } else if b < 0xF0 {
            (3, 1)
        } else {
            (4, 2)
        };
        i += width;
        len += units;
    }
    len
}

/// `text` as UTF-16 units followed by a NUL, in an array of exactly that length (for
/// [`w!`](crate::w)); fails to compile if `text` holds a NUL or `N` is wrong.
#[doc(hidden)]
pub const fn utf16_with_nul<const N: usize>(text: &str) -> [u16; N] {
    let bytes = text.as_bytes();
    let mut out = [0u16; N];
    let mut i = 0;
    let mut o = 0;
    while i < bytes.len() {
        let b = bytes[i] as u32;
        // `text` is a &str, so each sequence is well formed.
        let (c, width) = if b < 0x80 {
            (b, 1)
        } else if b < 0xE0 {
            (((b & 0x1F) << 6) | (bytes[i + 1] as u32 & 0x3F), 2)
        } else if b < 0xF0 {
            (
                ((b & 0x0F) << 12)
                    | ((bytes[i + 1] as u32 & 0x3F) << 6)
                    | (bytes[i + 2] as u32 & 0x3F),
                3,
            )
        } else {
            (
                ((b & 0x07) << 18)
                    | ((bytes[i + 1] as u32 & 0x3F) << 12)
                    | ((bytes[i + 2] as u32 & 0x3F) << 6)
                    | (bytes[i + 3] as u32 & 0x3F),
                4,
            )
        };
        assert!(c != 0, "a wide string literal cannot hold a NUL");
        if c >= 0x10000 {
            let v = c - 0x10000;
            out[o] = 0xD800 | (v >> 10) as u16;
            out[o + 1] = 0xDC00 | (v & 0x3FF) as u16;
            o += 2;
        } else {
            out[o] = c as u16;
            o += 1;
        }
        i += width;
    }
    assert!(o + 1 == N, "wrong length for a wide string literal");
    out
}

/// A `&'static WStr` from a string literal, encoded at compile time: what an `[in, string]`
/// wide-string parameter takes, as `c"..."` is for a narrow one.
///
/// ```
/// let name = comidl_runtime_core::w!("grüß");
/// assert_eq!(name.len(), 4);
/// assert_eq!(*name, "grüß");
/// ```
#[macro_export]
macro_rules! w {
    ($text:literal) => {{
        const TEXT: &str = $text;
        const LEN: usize = $crate::wide::utf16_len(TEXT) + 1;
        static UNITS: [u16; LEN] = $crate::wide::utf16_with_nul::<LEN>(TEXT);
        // SAFETY: `utf16_with_nul` ends the units with a NUL and rejects any other.
        unsafe { $crate::wide::WStr::from_units_with_nul_unchecked(&UNITS) }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_task_blocks() {
        let block = to_task_block("grüß €").unwrap();
        // SAFETY: a fresh NUL-terminated block we own.
        assert_eq!(unsafe { units(block) }.unwrap().len(), 6);
        // SAFETY: as above; taken once.
        assert_eq!(unsafe { take_task_block(block) }.as_deref(), Some("grüß €"));
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { take_task_block(core::ptr::null_mut()) }, None);
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { read(core::ptr::null()) }, Err(E_POINTER));
        let lone = [0xD800u16, b'x' as u16, 0];
        // SAFETY: NUL-terminated.
        assert_eq!(unsafe { read(lone.as_ptr()) }.unwrap(), "\u{FFFD}x");
        assert_eq!(nul_terminated("ab"), [97, 98, 0]);
    }

    #[test]
    fn literals_encode_like_std() {
        for text in ["", "a", "grüß €", "𝄞 clef", "日本語"] {
            let owned = WString::new(text).unwrap();
            let expected: Vec<u16> = text.encode_utf16().chain([0]).collect();
            assert_eq!(owned.as_units_with_nul(), expected);
            assert_eq!(*owned, *text);
            assert_eq!(owned.to_string_lossy(), text);
        }
        let clef = crate::w!("𝄞 clef");
        assert_eq!(
            clef.as_units_with_nul(),
            WString::new("𝄞 clef").unwrap().as_units_with_nul()
        );
        assert_eq!(crate::w!("").len(), 0);
        assert_eq!(format!("{:?}", crate::w!("a\"b")), r#""a\"b""#);
        assert_eq!(crate::w!("ok").try_to_string().unwrap(), "ok");
    }

    #[test]
    fn nul_rules() {
        assert_eq!(WString::new("a\0b"), Err(NulError { position: Some(1) }));
        assert_eq!(
            WStr::from_units_with_nul(&[97, 98]),
            Err(NulError { position: None })
        );
        assert_eq!(
            WStr::from_units_with_nul(&[97, 0, 98, 0])
                .unwrap_err()
                .position,
            Some(1)
        );
        assert_eq!(WStr::from_units_with_nul(&[97, 0]).unwrap().len(), 1);
        assert!(WString::from_units(&[1, 0]).is_err());
        let text = [104u16, 105, 0, 7];
        // SAFETY: NUL-terminated at index 2; the array outlives the borrow.
        let borrowed = unsafe { WStr::from_ptr(text.as_ptr()) }.unwrap();
        assert_eq!(*borrowed, "hi");
        assert_eq!(borrowed.as_ptr(), text.as_ptr());
        // SAFETY: NULL is allowed.
        assert!(unsafe { WStr::from_ptr(core::ptr::null()) }.is_none());
    }
}
