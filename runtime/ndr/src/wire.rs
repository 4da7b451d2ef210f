//! The byte buffers of NDR20: little-endian values, each aligned to its size counted from
//! the start of the stub data (the buffer's first byte), padding written as zeros.

use crate::error::{NdrError, Result};

/// A growing NDR buffer.
#[derive(Default)]
pub struct Writer {
    pub(crate) bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Pads with zeros to a multiple of `n` (a power of two, at most 8).
    #[inline]
    pub fn align(&mut self, n: usize) {
        let pad = self.bytes.len().wrapping_neg() & n.wrapping_sub(1) & 7;
        if pad != 0 {
            self.bytes.extend_from_slice(&[0; 8][..pad]);
        }
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    #[inline]
    pub fn u16(&mut self, v: u16) {
        self.padded::<2>(v.to_le_bytes());
    }
    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.padded::<4>(v.to_le_bytes());
    }
    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.padded::<8>(v.to_le_bytes());
    }
    #[inline]
    pub fn raw(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    /// Three u32s (aligned to 4), written at once.
    #[inline]
    pub fn u32x3(&mut self, v: [u32; 3]) {
        let len = self.bytes.len();
        let pad = len.wrapping_neg() & 3;
        self.bytes.reserve(16);
        // SAFETY: 16 bytes past the length are reserved: at most 3 of padding and 12.
        unsafe {
            let p = self.bytes.as_mut_ptr().add(len);
            p.cast::<[u8; 4]>().write_unaligned([0; 4]);
            let p = p.add(pad);
            for (i, x) in v.iter().enumerate() {
                p.add(i * 4)
                    .cast::<[u8; 4]>()
                    .write_unaligned(x.to_le_bytes());
            }
            self.bytes.set_len(len + pad + 12);
        }
    }

    /// `N` bytes aligned to `N` (at most 8): the padding and the value written in place.
    #[inline(always)]
    fn padded<const N: usize>(&mut self, v: [u8; N]) {
        let len = self.bytes.len();
        let pad = len.wrapping_neg() & (N - 1);
        self.bytes.reserve(16);
        // SAFETY: 16 bytes past the length are reserved: the 8 zeros (covering the at
        // most 7 bytes of padding) and the `N <= 8` bytes of the value at `pad`.
        unsafe {
            let p = self.bytes.as_mut_ptr().add(len);
            p.cast::<[u8; 8]>().write_unaligned([0; 8]);
            p.add(pad).cast::<[u8; N]>().write_unaligned(v);
            self.bytes.set_len(len + pad + N);
        }
    }
}

/// A cursor over received NDR bytes. Every read is bounds-checked.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn error(&self, why: &'static str) -> NdrError {
        NdrError::bad(self.pos, why)
    }

    /// Skips to a multiple of `n`; the padding must be there.
    pub fn align(&mut self, n: usize) -> Result<()> {
        let to = self.pos.next_multiple_of(n.max(1));
        if to > self.bytes.len() {
            return Err(self.error("the message ends inside alignment padding"));
        }
        self.pos = to;
        Ok(())
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error("the message ends early"));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.align(N)?;
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
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

    /// Reads a u32 without consuming it (after aligning to 4).
    pub fn peek_u32(&mut self) -> Result<u32> {
        self.align(4)?;
        let at = self.pos;
        let v = self.u32()?;
        self.pos = at;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_counts_from_the_start() {
        let mut w = Writer::new();
        w.u8(1);
        w.u32(2);
        w.u16(3);
        w.u64(4);
        assert_eq!(
            w.into_bytes(),
            [
                1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        let mut r = Reader::new(&[1, 0, 0, 0, 2, 0, 0]);
        assert_eq!(r.u8(), Ok(1));
        assert!(r.u32().is_err());
    }
}
