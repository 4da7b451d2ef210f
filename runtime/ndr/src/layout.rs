//! What the engine needs to know of a type beyond its description: its size and alignment
//! in memory and on the wire, the least bytes it can take on the wire (to check counts
//! against what is left of a message), and reading and writing base values in C memory.

use crate::desc::{Array, Base, Count, Expr, Pointer, Selector, Str, Struct, Type};

/// Bytes of a type in memory (a conformant array or string inline: none of its elements;
/// the enclosing structure's size covers C's `T a[1]`).
pub fn mem_size(ty: Type) -> usize {
    match ty {
        Type::Base(b) => b.mem_size(),
        Type::Range(r) => r.base.mem_size(),
        Type::Struct(s) => s.size,
        Type::Union(u) => u.size,
        Type::Array(a) => match a.count {
            Count::Fixed(n) => a.stride.saturating_mul(n as usize),
            Count::Conformant(_) => 0,
        },
        Type::String(s) => s
            .fixed
            .map_or(0, |n| s.char_size.saturating_mul(n as usize)),
        Type::Pointer(_)
        | Type::Ignore
        | Type::ContextHandle
        | Type::Bstr
        | Type::BstrBlob
        | Type::Interface(_)
        | Type::InterfaceData => size_of::<usize>(),
        Type::Unsupported(o) => o.size,
        Type::User(u) => u.size,
        Type::Status(_) => 4,
    }
}

/// The C alignment of a type.
pub fn mem_align(ty: Type) -> usize {
    match ty {
        Type::Base(b) => b.mem_size(),
        Type::Range(r) => r.base.mem_size(),
        Type::Struct(s) => s.align.max(1),
        Type::Union(u) => u.align.max(1),
        Type::Array(a) => mem_align(a.element),
        Type::String(s) => s.char_size,
        Type::Pointer(_)
        | Type::Ignore
        | Type::ContextHandle
        | Type::Bstr
        | Type::BstrBlob
        | Type::Interface(_)
        | Type::InterfaceData => align_of::<usize>(),
        Type::Unsupported(o) => o.align.max(1),
        Type::User(u) => u.align.max(1),
        Type::Status(_) => 4,
    }
}

/// The NDR20 alignment of a type's representation: its largest primitive's, 4 for
/// anything that carries a count or a referent id.
pub fn wire_align(ty: Type) -> usize {
    wire_align_depth(ty, 0)
}

fn wire_align_depth(ty: Type, depth: usize) -> usize {
    if depth > 64 {
        return 8;
    }
    match ty {
        Type::Base(b) => b.wire_size(),
        Type::Range(r) => r.base.wire_size(),
        Type::Struct(s) => {
            let fields = s
                .fields
                .iter()
                .map(|f| wire_align_depth(f.ty, depth + 1))
                .max()
                .unwrap_or(1);
            if conformant_tail(ty).is_some() {
                fields.max(4)
            } else {
                fields
            }
        }
        Type::Union(u) => u
            .arms
            .iter()
            .filter_map(|a| a.ty)
            .chain(u.default.flatten())
            .map(|t| wire_align_depth(t, depth + 1))
            .fold(u.switch.wire_size(), usize::max),
        Type::Array(a) => {
            let e = wire_align_depth(a.element, depth + 1);
            if matches!(a.count, Count::Conformant(_)) || a.varying.is_some() {
                e.max(4)
            } else {
                e
            }
        }
        Type::String(_)
        | Type::Pointer(_)
        | Type::ContextHandle
        | Type::Unsupported(_)
        | Type::Bstr
        | Type::BstrBlob
        | Type::Interface(_)
        | Type::InterfaceData
        | Type::Status(_) => 4,
        Type::User(u) => wire_align_depth(u.wire, depth + 1),
        Type::Ignore => 1,
    }
}

/// The fewest bytes one value of the type takes on the wire (at least 1), so a count of
/// such values can be checked against the bytes left before anything is allocated.
pub fn min_wire(ty: Type) -> usize {
    min_wire_depth(ty, 0).max(1)
}

fn min_wire_depth(ty: Type, depth: usize) -> usize {
    if depth > 64 {
        return 1;
    }
    match ty {
        Type::Base(b) => b.wire_size(),
        Type::Range(r) => r.base.wire_size(),
        Type::Struct(s) => s
            .fields
            .iter()
            .map(|f| min_wire_depth(f.ty, depth + 1))
            .fold(0usize, usize::saturating_add),
        Type::Union(u) => u.switch.wire_size(),
        Type::Array(a) => match a.count {
            Count::Fixed(n) if a.varying.is_none() => {
                min_wire_depth(a.element, depth + 1).saturating_mul(n as usize)
            }
            _ => 4,
        },
        Type::String(s) => {
            if s.fixed.is_some() {
                8
            } else {
                12
            }
        }
        Type::Pointer(_) => 4,
        Type::ContextHandle => 20,
        Type::Ignore => 0,
        Type::Status(_) => 4,
        Type::Unsupported(_) => 1,
        Type::Bstr | Type::Interface(_) => 4,
        Type::BstrBlob => 12,
        Type::InterfaceData => 8,
        Type::User(u) => min_wire_depth(u.wire, depth + 1),
    }
}

/// The conformant array or string at the end of a structure (through nested structures),
/// whose count NDR hoists to the start of the outermost one.
pub fn conformant_tail(ty: Type) -> Option<Type> {
    let mut ty = ty;
    for _ in 0..64 {
        match ty {
            Type::Struct(Struct { fields, .. }) => ty = fields.last()?.ty,
            Type::Array(Array {
                count: Count::Conformant(_),
                ..
            }) => return Some(ty),
            Type::String(Str { fixed: None, .. }) => return Some(ty),
            _ => return None,
        }
    }
    None
}

/// The memory offset of a structure's conformant tail, through nested structures.
pub fn tail_offset(s: &Struct) -> usize {
    let mut offset = 0usize;
    let mut fields = s.fields;
    for _ in 0..64 {
        let Some(last) = fields.last() else { break };
        offset = offset.saturating_add(last.offset);
        match last.ty {
            Type::Struct(inner) => fields = inner.fields,
            _ => break,
        }
    }
    offset
}

/// Whether an array of this element is a block copy: the same bytes in memory as on the
/// wire (little-endian hosts), no padding between elements.
pub fn is_block(element: Type, stride: usize) -> bool {
    let Type::Base(b) = element else {
        return false;
    };
    cfg!(target_endian = "little")
        && b.mem_size() == b.wire_size()
        && stride == b.wire_size()
        && !matches!(b, Base::Boolean)
}

/// Reads a base value from memory as a 64-bit integer (floats as their bits).
///
/// # Safety
/// `p` points to a readable value of `b`'s memory size (any alignment).
pub unsafe fn read_base(p: *const u8, b: Base) -> i64 {
    // SAFETY: the caller promises `mem_size(b)` readable bytes at `p`; reads are unaligned.
    unsafe {
        match b {
            Base::Boolean | Base::Byte | Base::Char | Base::USmall => i64::from(p.read()),
            Base::Small => i64::from(p.cast::<i8>().read()),
            Base::WChar | Base::UShort => i64::from(p.cast::<u16>().read_unaligned()),
            Base::Short => i64::from(p.cast::<i16>().read_unaligned()),
            Base::Long | Base::Enum16 | Base::Enum32 => i64::from(p.cast::<i32>().read_unaligned()),
            Base::ULong | Base::ErrorStatus | Base::Float => {
                i64::from(p.cast::<u32>().read_unaligned())
            }
            Base::Hyper | Base::UHyper | Base::Double => p.cast::<i64>().read_unaligned(),
            Base::Int3264 => p.cast::<isize>().read_unaligned() as i64,
            Base::UInt3264 => p.cast::<usize>().read_unaligned() as i64,
        }
    }
}

/// Writes a base value (as [`read_base`] gives it) to memory.
///
/// # Safety
/// `p` points to `b`'s memory size of writable bytes (any alignment).
pub unsafe fn write_base(p: *mut u8, b: Base, v: i64) {
    // SAFETY: the caller promises `mem_size(b)` writable bytes at `p`; writes are unaligned.
    unsafe {
        match b {
            Base::Boolean | Base::Byte | Base::Char | Base::USmall | Base::Small => {
                p.write(v as u8)
            }
            Base::WChar | Base::UShort | Base::Short => p.cast::<u16>().write_unaligned(v as u16),
            Base::Long
            | Base::Enum16
            | Base::Enum32
            | Base::ULong
            | Base::ErrorStatus
            | Base::Float => p.cast::<u32>().write_unaligned(v as u32),
            Base::Hyper | Base::UHyper | Base::Double => p.cast::<i64>().write_unaligned(v),
            Base::Int3264 | Base::UInt3264 => p.cast::<isize>().write_unaligned(v as isize),
        }
    }
}

/// Whether a pointer's pointee can be allocated before its wire form is read (no count).
pub fn fixed_size(p: &Pointer) -> Option<usize> {
    match p.pointee {
        Type::Array(Array {
            count: Count::Conformant(_),
            ..
        })
        | Type::String(Str { fixed: None, .. }) => None,
        t if conformant_tail(t).is_some() => None,
        t => Some(mem_size(t)),
    }
}

/// Whether two descriptions describe the same type: the same static, or the same layout
/// and form all the way down (the compiler may emit one type twice). Past a depth of 16
/// they count as different: callers refuse what they cannot prove the same.
pub fn same_type(a: Type, b: Type) -> bool {
    same_depth(a, b, 0)
}

fn same_depth(a: Type, b: Type, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    let same = |x: Type, y: Type| same_depth(x, y, depth + 1);
    let same_opt = |x: Option<Type>, y: Option<Type>| match (x, y) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    };
    match (a, b) {
        (Type::Base(x), Type::Base(y)) => x == y,
        (Type::Range(x), Type::Range(y)) => {
            std::ptr::eq(x, y) || (x.base == y.base && x.min == y.min && x.max == y.max)
        }
        (Type::Struct(x), Type::Struct(y)) => {
            std::ptr::eq(x, y)
                || (x.size == y.size
                    && x.align == y.align
                    && x.fields.len() == y.fields.len()
                    && x.fields
                        .iter()
                        .zip(y.fields)
                        .all(|(f, g)| f.offset == g.offset && same(f.ty, g.ty)))
        }
        (Type::Union(x), Type::Union(y)) => {
            std::ptr::eq(x, y)
                || (x.switch == y.switch
                    && x.size == y.size
                    && x.align == y.align
                    && match (&x.selector, &y.selector) {
                        (
                            Selector::Encapsulated { arms_offset: o },
                            Selector::Encapsulated { arms_offset: p },
                        ) => o == p,
                        (Selector::Expr(e), Selector::Expr(f)) => same_expr(e, f, 0),
                        _ => false,
                    }
                    && x.arms.len() == y.arms.len()
                    && x.arms
                        .iter()
                        .zip(y.arms)
                        .all(|(m, n)| m.case == n.case && same_opt(m.ty, n.ty))
                    && match (x.default, y.default) {
                        (Some(m), Some(n)) => same_opt(m, n),
                        (None, None) => true,
                        _ => false,
                    })
        }
        (Type::Array(x), Type::Array(y)) => {
            std::ptr::eq(x, y)
                || (x.stride == y.stride
                    && match (&x.count, &y.count) {
                        (Count::Fixed(m), Count::Fixed(n)) => m == n,
                        (Count::Conformant(e), Count::Conformant(f)) => same_expr(e, f, 0),
                        _ => false,
                    }
                    && match (&x.varying, &y.varying) {
                        (Some(v), Some(w)) => {
                            same_expr(v.length, w.length, 0)
                                && match (v.first, w.first) {
                                    (Some(e), Some(f)) => same_expr(e, f, 0),
                                    (None, None) => true,
                                    _ => false,
                                }
                        }
                        (None, None) => true,
                        _ => false,
                    }
                    && same(x.element, y.element))
        }
        (Type::String(x), Type::String(y)) => {
            std::ptr::eq(x, y)
                || (x.char_size == y.char_size
                    && x.fixed == y.fixed
                    && match (x.size, y.size) {
                        (Some(e), Some(f)) => same_expr(e, f, 0),
                        (None, None) => true,
                        _ => false,
                    })
        }
        (Type::Pointer(x), Type::Pointer(y)) => {
            std::ptr::eq(x, y) || (x.kind == y.kind && same(x.pointee, y.pointee))
        }
        (Type::ContextHandle, Type::ContextHandle) | (Type::Ignore, Type::Ignore) => true,
        (Type::Unsupported(x), Type::Unsupported(y)) => std::ptr::eq(x, y),
        (Type::Interface(x), Type::Interface(y)) => std::ptr::eq(x, y),
        (Type::User(x), Type::User(y)) => {
            std::ptr::eq(x, y)
                || (std::ptr::eq(x.routines, y.routines)
                    && x.size == y.size
                    && x.align == y.align
                    && same(x.wire, y.wire))
        }
        _ => false,
    }
}

fn same_expr(a: &Expr, b: &Expr, depth: usize) -> bool {
    if std::ptr::eq(a, b) {
        return true;
    }
    if depth > 64 {
        return false;
    }
    let same = |x: &Expr, y: &Expr| same_expr(x, y, depth + 1);
    match (a, b) {
        (Expr::Const(x), Expr::Const(y)) => x == y,
        (
            Expr::Param {
                index: i,
                derefs: d,
                ty: t,
            },
            Expr::Param {
                index: j,
                derefs: e,
                ty: u,
            },
        ) => i == j && d == e && t == u,
        (
            Expr::Field {
                offset: o,
                derefs: d,
                ty: t,
            },
            Expr::Field {
                offset: p,
                derefs: e,
                ty: u,
            },
        ) => o == p && d == e && t == u,
        (Expr::Unary(o, x), Expr::Unary(p, y)) => o == p && same(x, y),
        (Expr::Binary(o, x, y), Expr::Binary(p, z, w)) => o == p && same(x, z) && same(y, w),
        (Expr::Cond(c, x, y), Expr::Cond(d, z, w)) => same(c, d) && same(x, z) && same(y, w),
        _ => false,
    }
}
