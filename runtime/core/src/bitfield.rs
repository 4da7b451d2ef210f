//! Bit-field access for generated structs: Rust has no bit-fields, so the backend stores a
//! run of them as the bytes C uses and reads and writes bits here. Bit 0 is the least
//! significant bit of the first byte, as gcc allocates them on little-endian targets.
//!
//! Layer: core. Uses the core root items only.

/// Reads `width` bits (at most 64) starting at bit `bit` of `bytes`, zero-extended.
/// Bits past the end of `bytes` read as zero.
pub fn get(bytes: &[u8], bit: u32, width: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..width.min(64) {
        let at = bit + i;
        let byte = bytes.get((at / 8) as usize).copied().unwrap_or(0);
        if byte >> (at % 8) & 1 == 1 {
            value |= 1 << i;
        }
    }
    value
}

/// Reads `width` bits and sign-extends them.
pub fn get_signed(bytes: &[u8], bit: u32, width: u32) -> i64 {
    let raw = get(bytes, bit, width);
    if width == 0 || width >= 64 {
        return raw as i64;
    }
    let shift = 64 - width;
    ((raw << shift) as i64) >> shift
}

/// Writes the low `width` bits of `value` at bit `bit`; bits past the end are dropped.
pub fn set(bytes: &mut [u8], bit: u32, width: u32, value: u64) {
    for i in 0..width.min(64) {
        let at = bit + i;
        if let Some(byte) = bytes.get_mut((at / 8) as usize) {
            let mask = 1u8 << (at % 8);
            if value >> i & 1 == 1 {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_byte_boundaries() {
        let mut b = [0u8; 4];
        set(&mut b, 4, 12, 0xABC);
        assert_eq!(b, [0xC0, 0xAB, 0, 0]);
        assert_eq!(get(&b, 4, 12), 0xABC);
        set(&mut b, 16, 16, 0xFFFF);
        assert_eq!(get(&b, 16, 16), 0xFFFF);
        assert_eq!(get(&b, 4, 12), 0xABC);
    }

    #[test]
    fn signed_fields_sign_extend() {
        let mut b = [0u8; 1];
        set(&mut b, 1, 3, (-3i64) as u64);
        assert_eq!(get_signed(&b, 1, 3), -3);
        assert_eq!(get(&b, 1, 3), 0b101);
    }

    #[test]
    fn out_of_range_bits_are_ignored() {
        let mut b = [0u8; 1];
        set(&mut b, 6, 8, 0xFF);
        assert_eq!(b, [0xC0]);
        assert_eq!(get(&b, 6, 8), 0b11);
    }
}
