//! Type layout for the target ABI (LP64: Linux x86_64 and aarch64), the way gcc lays out
//! what widl's headers declare: sizes, alignments, field offsets, `#pragma pack`, and
//! bit-field storage (SysV rules: a bit-field never straddles a unit of its declared type,
//! unless packing lets it).
//!
//! Backends use it where the target language cannot express the C layout directly (Rust
//! has no bit-fields), and the conformance harness checks it against gcc.

use std::collections::HashMap;

use crate::ir::{Base, Field, ItemId, ItemKind, Model, Type};

/// Size and alignment in bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub align: u64,
}

impl Layout {
    const fn new(size: u64, align: u64) -> Layout {
        Layout { size, align }
    }
}

/// Where one field of a record sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Offset of the first bit from the start of the record.
    pub bit_offset: u64,
    /// Width in bits (a bit-field's width, or 8 × the field's size).
    pub bit_width: u64,
    /// Layout of the field's declared type.
    pub layout: Layout,
}

/// A struct or union laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordLayout {
    pub layout: Layout,
    /// One entry per field of the IR record (or arm of the union), in order; `None` for an
    /// empty union arm.
    pub fields: Vec<Option<Placement>>,
}

/// Why a type has no layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoLayout {
    /// `void`, an interface or class by value, a function type: nothing C can size.
    Unsized,
    /// A struct or union declared but never defined.
    Incomplete(ItemId),
    /// A record contains itself by value (sema reports this; layout just stops).
    Recursive(ItemId),
    /// A type parameter or an item the model does not have.
    Unknown,
}

/// Computes and caches layouts for one model.
pub struct Layouts<'m> {
    model: &'m Model,
    records: HashMap<ItemId, Result<RecordLayout, NoLayout>>,
    in_progress: Vec<ItemId>,
}

const POINTER: Layout = Layout::new(8, 8);

impl<'m> Layouts<'m> {
    pub fn new(model: &'m Model) -> Layouts<'m> {
        Layouts {
            model,
            records: HashMap::new(),
            in_progress: Vec::new(),
        }
    }

    /// The layout of a type as a field or variable of that type.
    pub fn of(&mut self, ty: &Type) -> Result<Layout, NoLayout> {
        match ty {
            Type::Base(b) => base(*b),
            Type::Pointer { .. }
            | Type::Function(_)
            | Type::SafeArray(_)
            | Type::Instance { .. } => {
                // A function type only appears behind a pointer in a record; as a field,
                // a bare function type is not C, and sema does not produce it.
                Ok(POINTER)
            }
            Type::Const(inner) => self.of(inner),
            Type::Array { element, len } => {
                let e = self.of(element)?;
                // A conformant array member is `T a[1]` in widl's C header.
                let n = len.unwrap_or(1);
                Ok(Layout::new(e.size.saturating_mul(n), e.align))
            }
            Type::Named(id) => self.named(*id),
            Type::Param(_) => Err(NoLayout::Unknown),
        }
    }

    fn named(&mut self, id: ItemId) -> Result<Layout, NoLayout> {
        let Some(item) = self.model.item(id) else {
            return Err(NoLayout::Unknown);
        };
        match &item.kind {
            ItemKind::Typedef(ty) => {
                if self.in_progress.contains(&id) {
                    return Err(NoLayout::Recursive(id));
                }
                self.in_progress.push(id);
                let result = self.of(ty);
                self.in_progress.pop();
                result
            }
            ItemKind::Enum(_) => Ok(Layout::new(4, 4)),
            // A pipe's control record: three callbacks and the state pointer.
            ItemKind::Pipe(_) => Ok(Layout::new(4 * POINTER.size, POINTER.align)),
            ItemKind::Struct(_) | ItemKind::Union(_) => self.record(id).map(|r| r.layout),
            _ => Err(NoLayout::Unsized),
        }
    }

    /// Whether packing `pack` is tighter than some field's natural alignment, i.e. whether
    /// it changes the record's layout at all.
    pub fn packing_tightens<'f>(
        &mut self,
        fields: impl IntoIterator<Item = &'f Field>,
        pack: Option<u32>,
    ) -> bool {
        let Some(pack) = pack else {
            return false;
        };
        fields
            .into_iter()
            .filter_map(|f| f.ty.as_ref())
            .filter_map(|t| self.of(t).ok())
            .any(|l| l.align > u64::from(pack))
    }

    /// The layout of a struct or union item.
    pub fn record(&mut self, id: ItemId) -> Result<RecordLayout, NoLayout> {
        if let Some(done) = self.records.get(&id) {
            return done.clone();
        }
        if self.in_progress.contains(&id) {
            return Err(NoLayout::Recursive(id));
        }
        self.in_progress.push(id);
        let result = self.compute(id);
        self.in_progress.pop();
        self.records.insert(id, result.clone());
        result
    }

    fn compute(&mut self, id: ItemId) -> Result<RecordLayout, NoLayout> {
        let model = self.model;
        let Some(item) = model.item(id) else {
            return Err(NoLayout::Unknown);
        };
        match &item.kind {
            ItemKind::Struct(r) if r.defined => {
                let fields: Vec<&Field> = r.fields.iter().collect();
                self.structure(&fields, r.pack)
            }
            ItemKind::Union(u) if u.defined => {
                let arms: Vec<&Field> = u.arms.iter().map(|a| &a.field).collect();
                match &u.switch {
                    None => self.union(&arms, u.pack),
                    Some(switch) => {
                        // An encapsulated union is a struct: the discriminant, then the union.
                        let disc = self.of(&switch.ty)?;
                        let body = self.union(&arms, u.pack)?;
                        let cap = u.pack.map_or(u64::MAX, u64::from);
                        let union_align = body.layout.align.min(cap).max(1);
                        let disc_align = disc.align.min(cap).max(1);
                        let offset = align_up(disc.size, union_align);
                        let align = union_align.max(disc_align);
                        Ok(RecordLayout {
                            layout: Layout::new(align_up(offset + body.layout.size, align), align),
                            fields: vec![
                                Some(Placement {
                                    bit_offset: 0,
                                    bit_width: disc.size * 8,
                                    layout: disc,
                                }),
                                Some(Placement {
                                    bit_offset: offset * 8,
                                    bit_width: body.layout.size * 8,
                                    layout: body.layout,
                                }),
                            ],
                        })
                    }
                }
            }
            ItemKind::Struct(_) | ItemKind::Union(_) => Err(NoLayout::Incomplete(id)),
            _ => Err(NoLayout::Unsized),
        }
    }

    fn structure(
        &mut self,
        fields: &[&Field],
        pack: Option<u32>,
    ) -> Result<RecordLayout, NoLayout> {
        let cap = pack.map_or(u64::MAX, u64::from).max(1);
        let mut bit = 0u64;
        let mut align = 1u64;
        let mut placed = Vec::with_capacity(fields.len());
        for f in fields {
            let Some(ty) = &f.ty else {
                placed.push(None);
                continue;
            };
            let t = self.of(ty)?;
            let field_align = t.align.min(cap).max(1);
            match f.bits {
                Some(0) => {
                    // A zero-width bit-field closes the current unit.
                    bit = align_up(bit, t.align.max(1) * 8);
                    placed.push(Some(Placement {
                        bit_offset: bit,
                        bit_width: 0,
                        layout: t,
                    }));
                }
                Some(width) => {
                    let unit = t.size.max(1) * 8;
                    let straddles = bit / unit != (bit + width - 1) / unit;
                    if straddles && (pack.is_none() || cap >= t.align) {
                        bit = align_up(bit, unit);
                    }
                    placed.push(Some(Placement {
                        bit_offset: bit,
                        bit_width: width,
                        layout: t,
                    }));
                    bit += width;
                    if !f.name.is_empty() {
                        align = align.max(field_align);
                    }
                }
                None => {
                    bit = align_up(align_up(bit, 8), field_align * 8);
                    placed.push(Some(Placement {
                        bit_offset: bit,
                        bit_width: t.size * 8,
                        layout: t,
                    }));
                    bit += t.size * 8;
                    align = align.max(field_align);
                }
            }
        }
        let size = align_up(align_up(bit, 8) / 8, align);
        Ok(RecordLayout {
            layout: Layout::new(size, align),
            fields: placed,
        })
    }

    fn union(&mut self, arms: &[&Field], pack: Option<u32>) -> Result<RecordLayout, NoLayout> {
        let cap = pack.map_or(u64::MAX, u64::from).max(1);
        let mut size = 0u64;
        let mut align = 1u64;
        let mut placed = Vec::with_capacity(arms.len());
        for f in arms {
            let Some(ty) = &f.ty else {
                placed.push(None);
                continue;
            };
            let t = self.of(ty)?;
            let width = f.bits.unwrap_or(t.size * 8);
            size = size.max(width.div_ceil(8));
            if f.bits.is_none() || !f.name.is_empty() {
                align = align.max(t.align.min(cap).max(1));
            }
            placed.push(Some(Placement {
                bit_offset: 0,
                bit_width: width,
                layout: t,
            }));
        }
        Ok(RecordLayout {
            layout: Layout::new(align_up(size, align), align),
            fields: placed,
        })
    }
}

/// Layout of a built-in type.
pub fn base(b: Base) -> Result<Layout, NoLayout> {
    Ok(match b {
        Base::Void => return Err(NoLayout::Unsized),
        Base::Char { .. } | Base::Int8 { .. } | Base::Byte | Base::Boolean => Layout::new(1, 1),
        Base::Int16 { .. } | Base::WChar => Layout::new(2, 2),
        Base::Int32 { .. } | Base::Float | Base::ErrorStatus => Layout::new(4, 4),
        Base::Int64 { .. } | Base::Double | Base::IntPtr { .. } | Base::Handle => Layout::new(8, 8),
    })
}

fn align_up(value: u64, align: u64) -> u64 {
    if align <= 1 {
        return value;
    }
    value.div_ceil(align).saturating_mul(align)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn field(name: &str, ty: Type, bits: Option<u64>) -> Field {
        Field {
            name: name.into(),
            ty: Some(ty),
            bits,
            attrs: Vec::new(),
            span: Span::new(Default::default(), 0, 0),
        }
    }

    fn int(signed: bool) -> Type {
        Type::Base(Base::Int32 { signed })
    }

    fn lay(fields: Vec<Field>, pack: Option<u32>) -> RecordLayout {
        let model = Model::default();
        let mut l = Layouts::new(&model);
        let refs: Vec<&Field> = fields.iter().collect();
        l.structure(&refs, pack).unwrap()
    }

    #[test]
    fn plain_struct_pads_to_alignment() {
        let r = lay(
            vec![
                field("a", Type::Base(Base::Byte), None),
                field("b", Type::Base(Base::Double), None),
                field("c", Type::Base(Base::Int16 { signed: true }), None),
            ],
            None,
        );
        assert_eq!(r.layout, Layout::new(24, 8));
        let offsets: Vec<u64> = r
            .fields
            .iter()
            .map(|p| p.as_ref().unwrap().bit_offset / 8)
            .collect();
        assert_eq!(offsets, [0, 8, 16]);
    }

    #[test]
    fn pack_caps_alignment() {
        let r = lay(
            vec![
                field("a", Type::Base(Base::Byte), None),
                field("b", int(true), None),
            ],
            Some(2),
        );
        assert_eq!(r.layout, Layout::new(6, 2));
    }

    #[test]
    fn bitfields_share_a_unit_until_it_is_full() {
        // ULONG low:4, middle:12, high:16; BYTE flag:1, spare:7  -> 5 bytes of bits, size 8.
        let r = lay(
            vec![
                field("low", int(false), Some(4)),
                field("middle", int(false), Some(12)),
                field("high", int(false), Some(16)),
                field("flag", Type::Base(Base::Byte), Some(1)),
                field("spare", Type::Base(Base::Byte), Some(7)),
            ],
            None,
        );
        let bits: Vec<u64> = r
            .fields
            .iter()
            .map(|p| p.as_ref().unwrap().bit_offset)
            .collect();
        assert_eq!(bits, [0, 4, 16, 32, 33]);
        assert_eq!(r.layout, Layout::new(8, 4));
    }

    #[test]
    fn a_bitfield_that_would_straddle_starts_a_new_unit() {
        let r = lay(
            vec![
                field("a", Type::Base(Base::Byte), None),
                field("b", int(false), Some(30)),
            ],
            None,
        );
        assert_eq!(r.fields[1].as_ref().unwrap().bit_offset, 32);
        assert_eq!(r.layout, Layout::new(8, 4));
        let r = lay(
            vec![
                field("a", Type::Base(Base::Byte), None),
                field("b", int(false), Some(20)),
            ],
            None,
        );
        assert_eq!(r.fields[1].as_ref().unwrap().bit_offset, 8);
        assert_eq!(r.layout, Layout::new(4, 4));
    }
}
