//! Structs and unions → `#[repr(C)]` types with the layout gcc gives them.
//!
//! Packing (`#pragma pack`, `pshpackN.h`) becomes `packed(N)`. Rust has no bit-fields, so a
//! run of bit-fields becomes a byte array placed exactly where C puts the run's first byte
//! (with explicit padding before it when C skipped to a new unit), plus accessor methods;
//! zero-sized `[T; 0]` fields at the start give the struct the alignment the bit-fields'
//! declared types give it in C without moving anything.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::types::{Resolved, int_kind};
use super::{Gen, docs, names};
use crate::ir::{Field, Item, ItemId, ItemKind, Type, UnionArm};
use crate::layout::{NoLayout, Placement};

pub(super) fn emit(g: &mut Gen, id: ItemId, item: &Item) -> TokenStream {
    let rust_name = g.names.get(id).to_string();
    let (fields, pack, is_union, defined, switch) = match &item.kind {
        ItemKind::Struct(r) => (
            r.fields.iter().collect::<Vec<_>>(),
            r.pack,
            false,
            r.defined,
            None,
        ),
        ItemKind::Union(u) => (
            u.arms.iter().map(|a: &UnionArm| &a.field).collect(),
            u.pack,
            true,
            u.defined,
            u.switch.as_ref(),
        ),
        _ => return TokenStream::new(),
    };
    if !g.claim_type(&rust_name, item) {
        return TokenStream::new();
    }
    let name = names::ident(&rust_name);
    let doc = if item.name.is_empty() {
        g.anonymous_doc(id, item)
    } else {
        g.item_doc(item)
    };
    if !defined {
        // Only ever named through pointers: an opaque type C code can't size either.
        let doc = docs::attrs(&format!(
            "{doc}\n\nDeclared but not defined: only pointers to it can be used."
        ));
        return quote! {
            #doc
            #[repr(C)]
            pub struct #name { _opaque: [u8; 0] }
        };
    }
    let idl = g.idl();
    let field_docs: Vec<String> = match &item.kind {
        ItemKind::Union(u) => u
            .arms
            .iter()
            .map(|a| docs::with_help(docs::code(&idl.arm(a)), &a.field.attrs))
            .collect(),
        _ => fields
            .iter()
            .map(|f| docs::with_help(docs::code(&idl.field(f)), &f.attrs))
            .collect(),
    };
    if let Some(switch) = switch {
        // An encapsulated union: a struct holding the discriminant and the union.
        let arms_name = format!("{rust_name}_{}", switch.member());
        let arms = names::ident(&arms_name);
        let disc = names::ident(&switch.name);
        let disc_ty = g.raw(&switch.ty);
        let member = names::ident(switch.member());
        let union_doc = docs::attrs(&format!(
            "The arms of {}, selected by {}.",
            docs::code(&idl.item(item)),
            docs::code(&switch.name)
        ));
        let body = union_body(g, &arms, &fields, &field_docs, pack, union_doc);
        let doc = docs::attrs(&doc);
        let disc_doc = docs::attrs(&format!(
            "{}: the discriminant, which selects the arm of {}.",
            docs::code(&idl.declaration(&switch.ty, &switch.name)),
            docs::code(switch.member())
        ));
        let member_doc = docs::attrs(&format!(
            "The union of the arms; {} says which one holds a value.",
            docs::code(&switch.name)
        ));
        let default = zeroed_default(&name);
        return quote! {
            #doc
            #[repr(C)]
            #[derive(Copy, Clone, Debug)]
            pub struct #name { #disc_doc pub #disc: #disc_ty, #member_doc pub #member: #arms }
            #default
            #body
        };
    }
    let doc = docs::attrs(&doc);
    if is_union {
        return union_body(g, &name, &fields, &field_docs, pack, doc);
    }
    struct_body(g, id, &name, &fields, &field_docs, pack, item, doc)
}

/// `#[repr(C, packed(N))]` when the packing is tighter than some field needs.
fn repr(g: &mut Gen, fields: &[&Field], pack: Option<u32>) -> TokenStream {
    match pack {
        Some(p) if g.layouts.packing_tightens(fields.iter().copied(), pack) => packed_repr(p),
        _ => quote! { #[repr(C)] },
    }
}

/// `#[repr(C, packed(N))]` (`pack(0)` reads as 1).
pub(super) fn packed_repr(pack: u32) -> TokenStream {
    let p = Literal::u32_unsuffixed(pack.max(1));
    quote! { #[repr(C, packed(#p))] }
}

fn union_body(
    g: &mut Gen,
    name: &proc_macro2::Ident,
    fields: &[&Field],
    field_docs: &[String],
    pack: Option<u32>,
    doc: TokenStream,
) -> TokenStream {
    let repr = repr(g, fields, pack);
    let members = plain_members(g, fields, field_docs);
    if members.is_empty() {
        // An empty union (only empty arms) still has a size of zero in C with gcc.
        return quote! {
            #doc #repr #[derive(Copy, Clone, Debug, PartialEq, Default)]
            pub struct #name { _empty: [u8; 0] }
        };
    }
    let default = zeroed_default(name);
    let label = name.to_string();
    quote! {
        #doc
        #repr
        #[derive(Copy, Clone)]
        pub union #name { #(#members),* }
        #default
        /// Which arm holds a value is known only to the code that wrote it, so `Debug`
        /// shows none of them.
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#label).finish_non_exhaustive()
            }
        }
    }
}

/// `Default` as C's `= {0}`: every raw type the backend emits is valid when all-zero
/// (numbers, raw pointers, `Option`s of interfaces and function pointers), and raw
/// pointers have no `Default` to derive.
fn zeroed_default(name: &proc_macro2::Ident) -> TokenStream {
    quote! {
        impl ::core::default::Default for #name {
            fn default() -> Self {
                unsafe { ::core::mem::zeroed() }
            }
        }
    }
}

/// `#[derive(Copy, Clone, Debug, PartialEq)]` for a struct, without `PartialEq` when some
/// field cannot be compared.
fn struct_derives(g: &Gen, fields: &[&Field]) -> TokenStream {
    let mut seen = Vec::new();
    if fields
        .iter()
        .all(|f| f.ty.as_ref().is_none_or(|t| comparable(g, t, &mut seen)))
    {
        quote! { #[derive(Copy, Clone, Debug, PartialEq)] }
    } else {
        quote! { #[derive(Copy, Clone, Debug)] }
    }
}

/// Whether `==` can be derived for a value of this type. Not through a union (which arm is
/// live is not recorded), a function pointer (its address says nothing reliable; rustc
/// warns), or a stand-in aliased to the runtime's C definition (decided by that definition,
/// not the IDL's placeholder).
fn comparable(g: &Gen, ty: &Type, seen: &mut Vec<ItemId>) -> bool {
    match ty {
        Type::Function(_) => false,
        Type::Pointer { pointee, .. } => g.resolve(pointee) != Resolved::Function,
        Type::Array { element, .. } => comparable(g, element, seen),
        Type::Const(inner) => comparable(g, inner, seen),
        Type::Base(_) | Type::SafeArray(_) | Type::Instance { .. } | Type::Param(_) => true,
        Type::Named(id) => {
            if g.stand_ins.contains_key(id) {
                return false;
            }
            if g.well_known(*id).is_some() || seen.contains(id) {
                return true;
            }
            seen.push(*id);
            match g.model.item(*id).map(|i| &i.kind) {
                Some(ItemKind::Typedef(inner)) => comparable(g, inner, seen),
                Some(ItemKind::Struct(r)) => r
                    .fields
                    .iter()
                    .all(|f| f.ty.as_ref().is_none_or(|t| comparable(g, t, seen))),
                Some(ItemKind::Union(_)) => false,
                _ => true,
            }
        }
    }
}

/// `pub name: Type` for each field that has a type (empty union arms have none), with its
/// doc.
fn plain_members(g: &mut Gen, fields: &[&Field], field_docs: &[String]) -> Vec<TokenStream> {
    fields
        .iter()
        .zip(field_docs)
        .enumerate()
        .filter_map(|(n, (f, doc))| {
            let ty = f.ty.as_ref()?;
            let fname = field_name(f, n);
            let t = g.raw_field(ty);
            let doc = docs::attrs(doc);
            Some(quote! { #doc pub #fname: #t })
        })
        .collect()
}

pub(super) fn field_name(f: &Field, n: usize) -> proc_macro2::Ident {
    if f.name.is_empty() {
        names::ident(&format!("anon{n}"))
    } else {
        names::ident(&f.name)
    }
}

/// A run of consecutive bit-fields and where C put it.
struct Run {
    /// Field indices in the run.
    members: Vec<usize>,
    start_byte: u64,
    end_byte: u64,
}

#[allow(clippy::too_many_arguments)]
fn struct_body(
    g: &mut Gen,
    id: ItemId,
    name: &proc_macro2::Ident,
    fields: &[&Field],
    field_docs: &[String],
    pack: Option<u32>,
    item: &Item,
    doc: TokenStream,
) -> TokenStream {
    let repr = repr(g, fields, pack);
    let has_bits = fields.iter().any(|f| f.bits.is_some());
    let derives = struct_derives(g, fields);
    let default = zeroed_default(name);
    if !has_bits {
        let members = plain_members(g, fields, field_docs);
        return quote! {
            #doc
            #repr
            #derives
            pub struct #name { #(#members),* }
            #default
        };
    }
    let placements = match g.layouts.record(id) {
        Ok(r) => r.fields,
        Err(why) => {
            g.unsupported(
                format!(
                    "the layout of `{}` can't be computed ({})",
                    item.name,
                    describe(&why)
                ),
                item,
            );
            return TokenStream::new();
        }
    };
    // Group bit-fields into runs; note each run's byte span.
    let mut runs: Vec<Run> = Vec::new();
    let mut prev_bitfield = false;
    for (n, f) in fields.iter().enumerate() {
        let Some(Some(p)) = placements.get(n) else {
            prev_bitfield = false;
            continue;
        };
        if f.bits.is_some() {
            let end = (p.bit_offset + p.bit_width).div_ceil(8);
            if prev_bitfield && let Some(run) = runs.last_mut() {
                run.members.push(n);
                run.end_byte = run.end_byte.max(end);
            } else {
                runs.push(Run {
                    members: vec![n],
                    start_byte: p.bit_offset / 8,
                    end_byte: end.max(p.bit_offset / 8),
                });
            }
            prev_bitfield = true;
        } else {
            prev_bitfield = false;
        }
    }
    let idl = g.idl();
    let mut members: Vec<TokenStream> = Vec::new();
    // Alignment the bit-fields' declared types give the struct, from offset 0.
    let mut aligners: Vec<i64> = Vec::new();
    for (n, f) in fields.iter().enumerate() {
        if f.bits.is_some()
            && !f.name.is_empty()
            && let Some(Some(p)) = placements.get(n)
            && !aligners.contains(&(p.layout.align as i64))
        {
            aligners.push(p.layout.align as i64);
        }
    }
    for a in &aligners {
        let marker = names::ident(&format!("_bitfield_align_{a}"));
        let t = match a {
            1 => quote! { u8 },
            2 => quote! { u16 },
            4 => quote! { u32 },
            _ => quote! { u64 },
        };
        members.push(quote! {
            /// Zero-sized: gives the struct the alignment C gives it for its bit-fields'
            /// declared types.
            pub #marker: [#t; 0]
        });
    }
    let mut accessors: Vec<TokenStream> = Vec::new();
    let mut end_byte = 0u64;
    let mut run_index = 0usize;
    let mut n = 0usize;
    while n < fields.len() {
        let f = fields[n];
        let Some(Some(p)) = placements.get(n).cloned() else {
            n += 1;
            continue;
        };
        if f.bits.is_none() {
            let fname = field_name(f, n);
            let t = g.raw_field(f.ty.as_ref().unwrap_or(&Type::Base(crate::ir::Base::Byte)));
            let doc = docs::attrs(&field_docs[n]);
            members.push(quote! { #doc pub #fname: #t });
            end_byte = p.bit_offset / 8 + p.layout.size;
            n += 1;
            continue;
        }
        let Some(run) = runs.get(run_index) else {
            break;
        };
        run_index += 1;
        if run.start_byte > end_byte {
            let pad = names::ident(&format!("_bitfield_pad_{run_index}"));
            let len = Literal::u64_unsuffixed(run.start_byte - end_byte);
            members.push(quote! {
                /// Padding: C starts the next bit-fields in a new unit of their type.
                pub #pad: [u8; #len]
            });
        }
        let storage = names::ident(&format!("_bitfield_{run_index}"));
        let len = Literal::u64_unsuffixed(run.end_byte - run.start_byte);
        let held: Vec<String> = run
            .members
            .iter()
            .map(|&m| docs::code(&idl.field(fields[m])))
            .collect();
        let storage_doc = docs::attrs(&format!(
            "The bytes of bit-fields {} (read and written by the accessors of their names).",
            held.join(", ")
        ));
        members.push(quote! { #storage_doc pub #storage: [u8; #len] });
        for &m in &run.members {
            if let Some(acc) = accessor(
                g,
                fields[m],
                &field_docs[m],
                placements[m].as_ref(),
                &storage,
                run.start_byte,
            ) {
                accessors.push(acc);
            }
        }
        end_byte = run.end_byte;
        n = run.members.last().map_or(n + 1, |last| last + 1);
    }
    quote! {
        #doc
        #repr
        #derives
        pub struct #name { #(#members),* }
        #default
        impl #name { #(#accessors)* }
    }
}

/// Getter and setter for one named bit-field.
fn accessor(
    g: &mut Gen,
    f: &Field,
    doc: &str,
    p: Option<&Placement>,
    storage: &proc_macro2::Ident,
    run_start: u64,
) -> Option<TokenStream> {
    let p = p?;
    if f.name.is_empty() || p.bit_width == 0 {
        return None;
    }
    let ty = f.ty.as_ref()?;
    let rt = g.rt.clone();
    let bit = Literal::u64_unsuffixed(p.bit_offset - run_start * 8);
    let width = Literal::u64_unsuffixed(p.bit_width);
    let getter = names::ident(&f.name);
    let setter = names::ident(&format!("set_{}", f.name));
    let (t, read, write) = match g.resolve(ty) {
        Resolved::Base(b) => {
            let (_, signed) = int_kind(b)?;
            let t = g.raw(ty);
            let read = if signed {
                quote! { #rt::bitfield::get_signed(&self.#storage, #bit, #width) as #t }
            } else {
                quote! { #rt::bitfield::get(&self.#storage, #bit, #width) as #t }
            };
            (t, read, quote! { value as u64 })
        }
        Resolved::Enum(_) => {
            let t = g.raw(ty);
            let read =
                quote! { #t(#rt::bitfield::get_signed(&self.#storage, #bit, #width) as i32) };
            (t, read, quote! { value.0 as u64 })
        }
        _ => return None,
    };
    let get_doc = docs::attrs(&format!("Reads bit-field {doc}"));
    let set_doc = docs::attrs(&format!("Writes bit-field {doc}"));
    Some(quote! {
        #get_doc
        pub fn #getter(&self) -> #t { #read }
        #set_doc
        pub fn #setter(&mut self, value: #t) {
            #rt::bitfield::set(&mut self.#storage, #bit, #width, #write)
        }
    })
}

fn describe(why: &NoLayout) -> &'static str {
    match why {
        NoLayout::Unsized => "a member has no size",
        NoLayout::Incomplete(_) => "a member's type is declared but never defined",
        NoLayout::Recursive(_) => "it contains itself",
        NoLayout::Unknown => "a member's type is unknown",
    }
}
