//! `const` declarations → `#define NAME (value)`, as widl and MIDL write them, so they also
//! work in `#if`.
//!
//! The value is the one sema evaluated, written for the declared type: integers wrapped to
//! its width (`(ULONG)-1` is `0xFFFFFFFFu`), unsigned ones with a `u` suffix, 64-bit ones
//! with `LL`/`ULL`; `float` with an `f`; strings as C string literals, wide ones through
//! `COMIDL_WSTR` so they have the 16-bit `comidl_wchar` type in C and C++.

use super::Gen;
use super::types::Place;
use crate::emit::rust::types::int_kind;
use crate::ir::{Base, Const, Item, Type, Value};
use crate::sema::consteval::wrap;

pub(super) fn emit(g: &mut Gen, item: &Item, c: &Const) {
    let name = super::names::sanitize(&item.name);
    let Some(value) = value(g, &c.ty, &c.value) else {
        g.warn_item(
            item,
            "value",
            "its value is known only to a C compiler (an address, a pointer cast, a float \
             that is not finite); the C header leaves it out",
        );
        return;
    };
    if g.claim_value(&name, item) {
        g.line(&format!("#define {name} ({value})"));
    }
}

/// The C text of a constant's value, if the header can state it.
fn value(g: &mut Gen, ty: &Type, value: &Value) -> Option<String> {
    let resolved = g.model.unalias(ty);
    match (&resolved, value) {
        (Type::Base(Base::Float), Value::Int(v)) => float(*v as f64).map(|f| format!("{f}f")),
        (Type::Base(Base::Float), Value::Float(v)) => float(*v).map(|f| format!("{f}f")),
        (Type::Base(Base::Double), Value::Int(v)) => float(*v as f64),
        (Type::Base(Base::Double), Value::Float(v)) => float(*v),
        (Type::Base(b), Value::Int(v)) => Some(int_literal(*v, *b)),
        (Type::Base(b), Value::Str(s)) if s.chars().count() == 1 => {
            // A character constant: its code.
            let code = s.chars().next().map_or(0, |c| c as i128);
            Some(int_literal(code, *b))
        }
        (Type::Pointer { pointee, .. }, Value::Str(s)) => {
            let wide = matches!(
                g.model.unalias(pointee),
                Type::Base(Base::WChar | Base::Int16 { .. })
            );
            Some(if wide {
                format!("COMIDL_WSTR({})", string_literal(s, true))
            } else {
                string_literal(s, false)
            })
        }
        (Type::Pointer { .. }, Value::Int(v)) => {
            let cast = g.declare(ty, "", Place::Other);
            Some(format!("({cast}){v}"))
        }
        // Enums, HRESULT-like typedefs resolved above; anything else integral: as int.
        (Type::Named(_), Value::Int(v)) => Some(int_literal(*v, Base::Int32 { signed: true })),
        _ => None,
    }
}

/// An integer literal wrapped to the width of `b`, as C converts it.
pub(crate) fn int_literal(v: i128, b: Base) -> String {
    // Non-integral types take C's widest signed integer, as the Rust backend does.
    let (bits, signed) = int_kind(b).unwrap_or((64, true));
    let value = wrap(v, bits, !signed);
    let raw = value as u128;
    if signed {
        let suffix = if bits == 64 { "LL" } else { "" };
        let min = -(1i128 << (bits - 1));
        if value == min && bits >= 32 {
            // `-2147483648` is the negation of a constant too big for `int`.
            return format!("-{}{suffix} - 1", -(min + 1));
        }
        format!("{value}{suffix}")
    } else {
        let suffix = match bits {
            64 => "ULL",
            32 => "u",
            _ => "",
        };
        // Hex where it likely reads as a mask or flag (0xFF00, 0x80000000), else decimal.
        let masky = raw >= 0x100 && matches!(raw & 0xF, 0 | 0xF);
        if raw > 0xFFFF || masky {
            format!("0x{raw:X}{suffix}")
        } else {
            format!("{raw}{suffix}")
        }
    }
}

/// A finite float as a C literal (always with a `.` or an exponent).
fn float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let text = format!("{f:?}");
    Some(if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    })
}

/// A C string literal (quotes included) for `s`: printable ASCII as is, the rest escaped;
/// narrow strings hold UTF-8, wide ones universal character names.
pub(crate) fn string_literal(s: &str, wide: bool) -> String {
    let mut out = String::from("\"");
    let mut prev = '\0';
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            // `??=` and friends are trigraphs under -std=c11.
            '?' if prev == '?' => out.push_str("\\?"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0xA0 => out.push_str(&format!("\\{:03o}", c as u32)),
            c if wide => {
                let code = c as u32;
                if code > 0xFFFF {
                    out.push_str(&format!("\\U{code:08X}"));
                } else {
                    out.push_str(&format!("\\u{code:04X}"));
                }
            }
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:03o}"));
                }
            }
        }
        prev = c;
    }
    out.push('"');
    out
}

/// The text of a C string literal (`"a\"b"` → `a"b`), for `#pragma midl_echo`.
pub(crate) fn unquote(literal: &str) -> Option<String> {
    let inner = literal.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_wrap_to_their_type() {
        assert_eq!(
            int_literal(-1, Base::Int32 { signed: false }),
            "0xFFFFFFFFu"
        );
        assert_eq!(
            int_literal(0x8000_0000, Base::Int32 { signed: true }),
            "-2147483647 - 1"
        );
        assert_eq!(int_literal(-16, Base::Int32 { signed: true }), "-16");
        assert_eq!(int_literal(5, Base::Int32 { signed: false }), "5u");
        assert_eq!(
            int_literal(1 << 40, Base::Int64 { signed: true }),
            "1099511627776LL"
        );
        assert_eq!(int_literal(0x12345, Base::Int16 { signed: true }), "9029");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string_literal("a\"b\\c", false), "\"a\\\"b\\\\c\"");
        assert_eq!(string_literal("é", false), "\"\\303\\251\"");
        assert_eq!(string_literal("é", true), "\"\\u00E9\"");
        assert_eq!(string_literal("??=", false), "\"?\\?=\"");
        assert_eq!(
            unquote("\"typedef int X;\"").as_deref(),
            Some("typedef int X;")
        );
    }
}
