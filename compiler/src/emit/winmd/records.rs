//! Structs and unions → value-type TypeDefs with C's layout: sequential structs, unions
//! with every member at offset 0, packing as ClassLayout, bit-fields as storage fields
//! carrying `NativeBitfieldAttribute`s.

use windows_metadata::writer::HasAttribute;
use windows_metadata::{FieldAttributes, Type as MdType, TypeAttributes, TypeName, Value};

use super::Gen;
use super::attributes::WIN32;
use super::types::{Pos, Target};
use crate::diag::Diagnostic;
use crate::ir::{Field, Item, ItemId, ItemKind};
use crate::layout::NoLayout;

fn struct_flags() -> TypeAttributes {
    TypeAttributes::Public | TypeAttributes::SequentialLayout | TypeAttributes::Sealed
}

fn union_flags() -> TypeAttributes {
    TypeAttributes::Public | TypeAttributes::ExplicitLayout | TypeAttributes::Sealed
}

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item) {
    if !matches!(g.target(id), Target::Value) {
        // `_GUID` is Windows.Win32's GUID.
        return;
    }
    let ns = g.ns_of(id);
    let name = g.name_of(id);
    match &item.kind {
        ItemKind::Struct(r) => {
            if !g.claim(&ns, &name, item.span, "struct") {
                return;
            }
            let def = g.type_def(&ns, &name, Some(("System", "ValueType")), struct_flags());
            if !r.defined {
                // Only named through pointers: no fields, like an opaque C type.
                return;
            }
            let fields: Vec<&Field> = r.fields.iter().collect();
            if fields.iter().any(|f| f.bits.is_some()) {
                bitfield_struct(g, id, item, &fields, r.pack);
            } else {
                if fields.is_empty() {
                    empty_warning(g, item, "struct");
                }
                for (n, f) in fields.iter().enumerate() {
                    plain_field(g, item, f, n);
                }
            }
            pack(g, def, &fields, r.pack);
        }
        ItemKind::Union(u) => {
            let fields: Vec<&Field> = u.arms.iter().map(|a| &a.field).collect();
            match &u.switch {
                Some(switch) => {
                    // An encapsulated union is a struct holding the discriminant and the
                    // union, as widl's header declares it.
                    let member = switch.member().to_string();
                    let arms_name = format!("{name}_{member}");
                    if !g.claim(&ns, &name, item.span, "union") {
                        return;
                    }
                    let claimed = g.claim(&ns, &arms_name, item.span, "union");
                    g.type_def(&ns, &name, Some(("System", "ValueType")), struct_flags());
                    let disc = g.ty(&switch.ty, Pos::Field);
                    g.flush(item.span, &format!("the discriminant of union `{name}`"));
                    g.file.Field(&switch.name, &disc, FieldAttributes::Public);
                    let arms_ty = MdType::ValueName(TypeName::named(&ns, &arms_name));
                    g.file.Field(&member, &arms_ty, FieldAttributes::Public);
                    if claimed {
                        let def = g.type_def(
                            &ns,
                            &arms_name,
                            Some(("System", "ValueType")),
                            union_flags(),
                        );
                        union_fields(g, item, &fields, u.defined);
                        pack(g, def, &fields, u.pack);
                    }
                }
                None => {
                    if !g.claim(&ns, &name, item.span, "union") {
                        return;
                    }
                    let def = g.type_def(&ns, &name, Some(("System", "ValueType")), union_flags());
                    union_fields(g, item, &fields, u.defined);
                    pack(g, def, &fields, u.pack);
                }
            }
        }
        _ => {}
    }
}

fn empty_warning(g: &mut Gen, item: &Item, what: &str) {
    g.diags.push(
        Diagnostic::warning(format!(
            "{what} `{}` has no members: C gives it size 0, but windows-bindgen gives its type one byte",
            item.name
        ))
        .at(item.span),
    );
}

/// A member's name: the declared one, or `anon<N>` for an anonymous member.
fn field_name(f: &Field, n: usize) -> String {
    if f.name.is_empty() {
        format!("anon{n}")
    } else {
        f.name.clone()
    }
}

fn plain_field(
    g: &mut Gen,
    item: &Item,
    f: &Field,
    n: usize,
) -> Option<windows_metadata::writer::Field> {
    let ty = f.ty.as_ref()?;
    let name = field_name(f, n);
    let md = g.ty(ty, Pos::Field);
    g.flush(f.span, &format!("member `{name}` of `{}`", item.name));
    Some(g.file.Field(&name, &md, FieldAttributes::Public))
}

fn union_fields(g: &mut Gen, item: &Item, fields: &[&Field], defined: bool) {
    if !defined {
        return;
    }
    let mut any = false;
    for (n, f) in fields.iter().enumerate() {
        if f.bits.is_some() {
            g.diags.push(
                Diagnostic::warning(format!(
                    "bit-field `{}` of union `{}` is written as a whole member",
                    f.name, item.name
                ))
                .at(f.span),
            );
        }
        if let Some(field) = plain_field(g, item, f, n) {
            g.file.FieldLayout(field, 0);
            any = true;
        }
    }
    if !any {
        empty_warning(g, item, "union");
    }
}

/// A ClassLayout row when `#pragma pack` changes the layout.
fn pack(g: &mut Gen, def: windows_metadata::writer::TypeDef, fields: &[&Field], pack: Option<u32>) {
    let Some(p) = pack else {
        return;
    };
    if g.layouts.packing_tightens(fields.iter().copied(), pack) {
        let p = u16::try_from(p.max(1)).unwrap_or(u16::MAX);
        g.file.ClassLayout(def, p, 0);
    }
}

/// Where one storage unit of bit-fields goes.
struct Store {
    /// Field indices of the bit-fields it holds.
    members: Vec<usize>,
    /// Bytes C gives the members.
    start: u64,
    end: u64,
    /// The aligned unit of the members' declared type (`(offset, size)`), while every
    /// member shares one.
    unit: Option<(u64, u64)>,
    /// What is written: `(offset, type)`, decided once the neighbours are known.
    placed: Option<(u64, MdType)>,
}

/// A struct with bit-fields: each run of bit-fields sharing a storage unit becomes one
/// storage field where gcc puts it, with plain fields between, as laid out by
/// [`crate::layout`].
fn bitfield_struct(g: &mut Gen, id: ItemId, item: &Item, fields: &[&Field], pack: Option<u32>) {
    let layout = match g.layouts.record(id) {
        Ok(r) => r,
        Err(why) => {
            g.diags.push(
                Diagnostic::warning(format!(
                    "the layout of `{}` can't be computed ({}); its bit-fields are written as whole members",
                    item.name,
                    describe(&why)
                ))
                .at(item.span),
            );
            for (n, f) in fields.iter().enumerate() {
                plain_field(g, item, f, n);
            }
            return;
        }
    };
    let placements = layout.fields;

    // Group the bit-fields: consecutive members of one declared-type unit share a store;
    // members of different units that share a byte are merged into one (byte) store.
    let mut stores: Vec<Store> = Vec::new();
    // For each field: the store it starts, if any.
    let mut starts: Vec<Option<usize>> = vec![None; fields.len()];
    let mut prev_bitfield = false;
    for (n, f) in fields.iter().enumerate() {
        let Some(Some(p)) = placements.get(n) else {
            prev_bitfield = false;
            continue;
        };
        if f.bits.is_none() {
            prev_bitfield = false;
            continue;
        }
        if p.bit_width == 0 {
            // `T : 0` only moves what follows to a new unit.
            prev_bitfield = false;
            continue;
        }
        let start = p.bit_offset / 8;
        let end = (p.bit_offset + p.bit_width).div_ceil(8).max(start);
        let size = p.layout.size;
        let unit = matches!(size, 1 | 2 | 4 | 8).then(|| (start / size * size, size));
        if prev_bitfield && let Some(last) = stores.last_mut() {
            if last.unit == unit && unit.is_some() {
                last.members.push(n);
                last.end = last.end.max(end);
                continue;
            }
            if start < last.end {
                last.members.push(n);
                last.end = last.end.max(end);
                last.unit = None;
                continue;
            }
        }
        prev_bitfield = true;
        starts[n] = Some(stores.len());
        stores.push(Store {
            members: vec![n],
            start,
            end,
            unit,
            placed: None,
        });
    }

    // Place each store: its unit as an unsigned integer when that overlaps nothing else
    // (and packing does not misplace it), else the bytes C uses.
    let struct_size = layout.layout.size;
    let mut prev_end = 0u64;
    for n in 0..fields.len() {
        let Some(Some(p)) = placements.get(n) else {
            continue;
        };
        if fields[n].bits.is_none() {
            prev_end = prev_end.max(p.bit_offset / 8 + p.layout.size);
            continue;
        }
        let Some(s) = starts[n] else {
            continue;
        };
        // The first byte of what follows this store.
        let store_last = stores[s].members.last().copied().unwrap_or(n);
        let next_plain = (store_last + 1..fields.len())
            .filter(|&m| fields[m].bits.is_none())
            .filter_map(|m| placements.get(m).and_then(|p| p.as_ref()))
            .map(|p| p.bit_offset / 8)
            .next();
        let next_store = stores.get(s + 1).map(|st| st.start);
        let limit = [next_plain, next_store, Some(struct_size)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(struct_size);
        let store = &mut stores[s];
        let int = store.unit.and_then(|(offset, size)| {
            let fits = offset >= prev_end
                && offset + size <= limit
                && pack.is_none_or(|p| size <= u64::from(p.max(1)));
            let ty = match size {
                1 => MdType::U8,
                2 => MdType::U16,
                4 => MdType::U32,
                _ => MdType::U64,
            };
            fits.then_some((offset, ty))
        });
        let placed = int.unwrap_or_else(|| {
            let len = (store.end - store.start) as usize;
            (store.start, MdType::ArrayFixed(Box::new(MdType::U8), len))
        });
        prev_end = placed.0 + storage_size(&placed.1);
        store.placed = Some(placed);
    }

    // The alignment the written fields give the struct, against C's: a zero-length array
    // of the right width makes up the difference without moving anything.
    let mut natural = 1u64;
    for (n, f) in fields.iter().enumerate() {
        if f.bits.is_none()
            && let Some(Some(p)) = placements.get(n)
        {
            natural = natural.max(p.layout.align);
        }
    }
    for store in &stores {
        if let Some((_, ty)) = &store.placed {
            natural = natural.max(match ty {
                MdType::ArrayFixed(..) => 1,
                other => storage_size(other),
            });
        }
    }
    let c_align = layout.layout.align;
    if c_align > natural {
        let unit = match c_align {
            2 => MdType::U16,
            4 => MdType::U32,
            _ => MdType::U64,
        };
        g.file.Field(
            "_bitfield_align",
            &MdType::ArrayFixed(Box::new(unit), 0),
            FieldAttributes::Public,
        );
    }

    // Write the fields in order.
    let mut end_byte = 0u64;
    for (n, f) in fields.iter().enumerate() {
        let Some(Some(p)) = placements.get(n) else {
            continue;
        };
        if f.bits.is_none() {
            plain_field(g, item, f, n);
            end_byte = p.bit_offset / 8 + p.layout.size;
            continue;
        }
        let Some(s) = starts[n] else {
            continue;
        };
        let Some((offset, ty)) = stores[s].placed.clone() else {
            continue;
        };
        let number = s + 1;
        if offset > end_byte {
            g.file.Field(
                &format!("_bitfield_pad{number}"),
                &MdType::ArrayFixed(Box::new(MdType::U8), (offset - end_byte) as usize),
                FieldAttributes::Public,
            );
        }
        let field = g
            .file
            .Field(&format!("_bitfield{number}"), &ty, FieldAttributes::Public);
        if matches!(ty, MdType::ArrayFixed(..)) {
            g.diags.push(
                Diagnostic::warning(format!(
                    "the bit-fields of `{}` at bytes {}..{} share no integer C stores them in; they are written as a byte array `_bitfield{number}`, which windows-bindgen gives no accessors",
                    item.name, stores[s].start, stores[s].end
                ))
                .at(f.span),
            );
        }
        for &m in &stores[s].members {
            let (Some(member), Some(Some(mp))) = (fields.get(m), placements.get(m)) else {
                continue;
            };
            if member.name.is_empty() || mp.bit_width == 0 {
                continue;
            }
            let bit = (mp.bit_offset - offset * 8) as i64;
            g.attribute(
                HasAttribute::Field(field),
                WIN32,
                "NativeBitfieldAttribute",
                vec![
                    (MdType::String, Value::Utf8(member.name.clone())),
                    (MdType::I64, Value::I64(bit)),
                    (MdType::I64, Value::I64(mp.bit_width as i64)),
                ],
            );
        }
        end_byte = offset + storage_size(&ty);
    }
}

/// Bytes a storage field takes.
fn storage_size(ty: &MdType) -> u64 {
    match ty {
        MdType::U8 => 1,
        MdType::U16 => 2,
        MdType::U32 => 4,
        MdType::U64 => 8,
        MdType::ArrayFixed(_, len) => *len as u64,
        _ => 0,
    }
}

fn describe(why: &NoLayout) -> &'static str {
    match why {
        NoLayout::Unsized => "a member has no size",
        NoLayout::Incomplete(_) => "a member's type is declared but never defined",
        NoLayout::Recursive(_) => "it contains itself",
        NoLayout::Unknown => "a member's type is unknown",
    }
}
