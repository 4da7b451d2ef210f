//! What generated enum newtypes share: `Debug` that prints the constant's name (or, for
//! flag enums, the names of the flags that make up the value), so `{:?}` of a `Shape`
//! says `CIRCLE` instead of `Shape(1)`.
//!
//! Layer: core. Uses nothing else.

use core::fmt;

/// Writes `value` for `Debug`: the name of the first constant in `names` equal to it;
/// otherwise, for a flag enum, `A | B` over the constants that cover its set bits (with any
/// bits no constant names in hex); otherwise `Type(value)`.
pub fn debug(
    f: &mut fmt::Formatter<'_>,
    type_name: &str,
    value: i32,
    names: &[(i32, &str)],
    flags: bool,
) -> fmt::Result {
    if let Some((_, name)) = names.iter().find(|(v, _)| *v == value) {
        return f.write_str(name);
    }
    if flags && value != 0 {
        let mut rest = value as u32;
        let mut parts: Vec<&str> = Vec::new();
        // Widest constants first, so a combined constant (READ_WRITE) names its bits once.
        let mut candidates: Vec<&(i32, &str)> = names.iter().filter(|(v, _)| *v != 0).collect();
        candidates.sort_by_key(|(v, _)| core::cmp::Reverse((*v as u32).count_ones()));
        for (v, name) in candidates {
            let bits = *v as u32;
            if bits & rest == bits {
                parts.push(name);
                rest &= !bits;
            }
        }
        if !parts.is_empty() {
            f.write_str(&parts.join(" | "))?;
            if rest != 0 {
                write!(f, " | {rest:#x}")?;
            }
            return Ok(());
        }
    }
    write!(f, "{type_name}({value})")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Show(i32, bool);

    const NAMES: &[(i32, &str)] = &[
        (0, "NONE"),
        (1, "READ"),
        (2, "WRITE"),
        (3, "READ_WRITE"),
        (8, "EXEC"),
    ];

    impl fmt::Debug for Show {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            debug(f, "Access", self.0, NAMES, self.1)
        }
    }

    #[test]
    fn names_values() {
        assert_eq!(format!("{:?}", Show(1, false)), "READ");
        assert_eq!(format!("{:?}", Show(0, true)), "NONE");
        assert_eq!(format!("{:?}", Show(5, false)), "Access(5)");
        assert_eq!(format!("{:?}", Show(3, true)), "READ_WRITE");
        assert_eq!(format!("{:?}", Show(11, true)), "READ_WRITE | EXEC");
        assert_eq!(format!("{:?}", Show(0x19, true)), "READ | EXEC | 0x10");
        assert_eq!(format!("{:?}", Show(0x10, true)), "Access(16)");
        assert_eq!(format!("{:?}", Show(-1, false)), "Access(-1)");
    }
}
