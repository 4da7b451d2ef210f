//! Packed structs, checked against layouts computed by hand from MIDL's rules (widl drops
//! `#pragma pack`, so gcc on widl's headers can't be the reference for them; the layout
//! conformance stage lists them as skipped and this is where they are checked).
//! The structs are tests/fixtures/pack.idl's, through the generated Rust the snapshot
//! holds; each expected number is worked out in the comment beside it.

use core::mem::{align_of, offset_of, size_of};

use comidl_generated_tests::pack::*;

/// (size, align) of a type.
fn shape<T>() -> (usize, usize) {
    (size_of::<T>(), align_of::<T>())
}

#[test]
fn pragma_pack_caps_member_alignment() {
    // No packing: ULONG aligned to 4 after one byte.
    assert_eq!(shape::<tagDEFAULT_PACK>(), (8, 4));
    assert_eq!(offset_of!(tagDEFAULT_PACK, l), 4);
    // pack(push, 2): ULONG at 2, size 1 + 1 pad + 4.
    assert_eq!(shape::<tagPACK2>(), (6, 2));
    assert_eq!(offset_of!(tagPACK2, l), 2);
    // pack(push, outer, 1): no padding at all.
    assert_eq!(shape::<tagPACK1>(), (5, 1));
    assert_eq!(offset_of!(tagPACK1, l), 1);
    // pack(4): a union of a byte and a 64-bit integer is 8 bytes, aligned to 4.
    assert_eq!(shape::<tagPACK4_UNION>(), (8, 4));
}

#[test]
fn pops_restore_the_packing_below() {
    // pack(pop, outer) pops back past pack(4) and pack(1) to pack(2): WORD at 2.
    assert_eq!(shape::<tagBACK_TO_2>(), (4, 2));
    assert_eq!(offset_of!(tagBACK_TO_2, w), 2);
    // pack(pop): the default again; ULONGLONG at 8.
    assert_eq!(shape::<tagPOPPED>(), (16, 8));
    assert_eq!(offset_of!(tagPOPPED, q), 8);
    // pack(8) and pack(): nothing to cap for a lone byte.
    assert_eq!(shape::<tagPACK8>(), (1, 1));
    assert_eq!(shape::<tagRESET>(), (1, 1));
}

#[test]
fn pshpack_headers_pack_like_the_pragma() {
    // pshpack2.h: DWORD at 2.
    assert_eq!(shape::<tagHEADER_PACK2>(), (6, 2));
    assert_eq!(offset_of!(tagHEADER_PACK2, d), 2);
    // pshpack8.h inside it: ULONGLONG at 8 again.
    assert_eq!(shape::<tagHEADER_PACK8>(), (16, 8));
    assert_eq!(offset_of!(tagHEADER_PACK8, q), 8);
    // One poppack.h: back to 2 for a lone WORD (no change).
    assert_eq!(shape::<tagHEADER_BACK_TO_2>(), (2, 2));
}

#[test]
fn packing_under_target_conditionals_follows_win64() {
    // `#ifdef _WIN64` pshpack8.h `#else` pshpack2.h: 8 on our targets, ULONGLONG at 8.
    assert_eq!(shape::<tagTARGET_PACK>(), (16, 8));
    assert_eq!(offset_of!(tagTARGET_PACK, q), 8);
}

#[test]
fn vtables_declared_under_pshpack4_have_its_alignment() {
    // Four pointers (IUnknown's three and Ping), aligned to 4 as gcc packs widl's struct.
    assert_eq!(shape::<IPacked_Vtbl>(), (32, 4));
    assert_eq!(offset_of!(IPacked_Vtbl, Ping), 24);
}

#[test]
fn the_compilers_layout_model_agrees_with_the_generated_rust() {
    // The same numbers from comidl's own layout module (what the backend uses for
    // bit-fields), so the two cannot drift apart.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut options = comidl::Options::default();
    options.preprocess.include_dirs.push(root.clone());
    let outcome = comidl::check(&root.join("pack.idl"), &options);
    assert!(!outcome.has_errors());
    let model = &outcome.model;
    let mut layouts = comidl::layout::Layouts::new(model);
    let expect = [
        ("tagDEFAULT_PACK", shape::<tagDEFAULT_PACK>()),
        ("tagPACK2", shape::<tagPACK2>()),
        ("tagPACK1", shape::<tagPACK1>()),
        ("tagPACK4_UNION", shape::<tagPACK4_UNION>()),
        ("tagBACK_TO_2", shape::<tagBACK_TO_2>()),
        ("tagPOPPED", shape::<tagPOPPED>()),
        ("tagHEADER_PACK2", shape::<tagHEADER_PACK2>()),
        ("tagHEADER_PACK8", shape::<tagHEADER_PACK8>()),
    ];
    for (tag, (size, align)) in expect {
        let id = model.tags[tag];
        let layout = layouts.record(id).unwrap().layout;
        assert_eq!(
            (layout.size as usize, layout.align as usize),
            (size, align),
            "{tag}"
        );
    }
}

#[test]
fn stand_ins_take_the_c_definitions_layout() {
    use comidl_generated_tests::standins::*;
    // mmreg.h's WAVEFORMATEX is packed to 1 byte: 18 bytes, not the stand-in's 20.
    assert_eq!(shape::<WAVEFORMATEX>(), (18, 1));
    // strmif.h's AM_MEDIA_TYPE, not `{ char dummy; }`: 88 bytes on LP64.
    assert_eq!(shape::<AM_MEDIA_TYPE>(), (88, 8));
    assert_eq!(offset_of!(AM_MEDIA_TYPE, pbFormat), 80);
    // dcommon.h's D2D1_PIXEL_FORMAT is two 32-bit enumerations, not a pointer.
    assert_eq!(shape::<D2D1_PIXEL_FORMAT>(), (8, 4));
    // A same-named type outside any conditional stays the file's own.
    assert_eq!(shape::<DDCOLORKEY>(), (4, 4));
    // b at 0, format at 1 (align 1), pixels at 20 (align 4), key at 28.
    assert_eq!(shape::<tagUSES_STAND_INS>(), (32, 4));
    assert_eq!(offset_of!(tagUSES_STAND_INS, format), 1);
    assert_eq!(offset_of!(tagUSES_STAND_INS, pixels), 20);
    assert_eq!(offset_of!(tagUSES_STAND_INS, key), 28);
}
