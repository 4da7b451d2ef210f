//! Records, enums and constants: what windows-bindgen made of comidl's .winmd files against
//! what comidl's own Rust backend made of the same IDL (comidl-generated-tests, whose
//! layouts tests/conformance checks against gcc). Sizes, alignments and field offsets must
//! agree, bit-fields must sit on the same bits, and every enumerator and constant must
//! have the same value.

use core::mem::{align_of, offset_of, size_of};

use comidl_generated_tests as cm;
use comidl_winmd_tests as bg;

/// `(size, align)` of two types must be equal.
macro_rules! same_layout {
    ($($bg:path => $cm:path),+ $(,)?) => {$(
        assert_eq!(
            (size_of::<$bg>(), align_of::<$bg>()),
            (size_of::<$cm>(), align_of::<$cm>()),
            "{} against {}",
            stringify!($bg),
            stringify!($cm),
        );
    )+};
}

#[test]
fn structs_have_comidls_layout() {
    use bg::structs::structs as b;
    use cm::structs as c;
    same_layout!(
        b::tagPOINT => c::tagPOINT,
        b::tagRECT => c::tagRECT,
        b::tagBITS => c::tagBITS,
        b::tagARRAYS => c::tagARRAYS,
        b::tagSIZED => c::tagSIZED,
        b::tagCONFORMANT => c::tagCONFORMANT,
        b::tagCONFORMANT_STAR => c::tagCONFORMANT_STAR,
        b::tagINNER => c::tagINNER,
        b::tagNESTED => c::tagNESTED,
        b::tagNESTED_color => c::tagNESTED_color,
        b::tagUNTYPEDEFED => c::tagUNTYPEDEFED,
    );
    // (tagOPAQUE is never defined: C gives it no size, so there is nothing to compare.)
    assert_eq!(
        offset_of!(b::tagARRAYS, matrix),
        offset_of!(c::tagARRAYS, matrix)
    );
    assert_eq!(
        offset_of!(b::tagARRAYS, corners),
        offset_of!(c::tagARRAYS, corners)
    );
    assert_eq!(
        offset_of!(b::tagARRAYS, cube),
        offset_of!(c::tagARRAYS, cube)
    );
    assert_eq!(
        offset_of!(b::tagNESTED, bounds),
        offset_of!(c::tagNESTED, bounds)
    );
    assert_eq!(
        offset_of!(b::tagNESTED, label),
        offset_of!(c::tagNESTED, label)
    );
    assert_eq!(offset_of!(b::tagSIZED, half), offset_of!(c::tagSIZED, half));
    // The typedefs are aliases of the structs they name.
    let _: b::POINT = b::tagPOINT { x: 1, y: 2 };
    let _: b::PPOINT = core::ptr::null_mut::<b::tagPOINT>();
}

#[test]
fn bit_fields_sit_on_the_same_bits() {
    use bg::structs::structs as b;
    use cm::structs as c;
    // Set through comidl's accessors, read through windows-bindgen's (from the
    // NativeBitfieldAttribute the .winmd carries), and the other way round.
    // SAFETY: both are plain integers/bytes of the same size (checked above), valid when
    // zeroed.
    let mut ours: c::tagBITS = unsafe { core::mem::zeroed() };
    ours.set_low(0x9);
    ours.set_middle(0xabc);
    ours.set_high(0xbeef);
    ours.set_flag(1);
    ours.set_spare(0x55);
    let theirs: b::tagBITS = unsafe { core::mem::transmute(ours) };
    assert_eq!(theirs.low(), 0x9);
    assert_eq!(theirs.middle(), 0xabc);
    assert_eq!(theirs.high(), 0xbeef);
    assert!(theirs.flag());
    assert_eq!(theirs.spare(), 0x55);

    let mut theirs = b::tagBITS::default();
    theirs.set_middle(0x123);
    theirs.set_spare(0x7f);
    theirs.set_flag(false);
    let ours: c::tagBITS = unsafe { core::mem::transmute(theirs) };
    assert_eq!((ours.low(), ours.middle(), ours.high()), (0, 0x123, 0));
    assert_eq!((ours.flag(), ours.spare()), (0, 0x7f));
}

#[test]
fn unions_have_comidls_layout() {
    use bg::unions::unions as b;
    use cm::unions as c;
    same_layout!(
        b::_VALUE => c::_VALUE,
        b::_VALUE_u => c::_VALUE_u,
        b::_SMALL_VALUE => c::_SMALL_VALUE,
        b::_SMALL_VALUE_tagged_union => c::_SMALL_VALUE_tagged_union,
        b::_NE_VALUE => c::_NE_VALUE,
        b::_HOLDER => c::_HOLDER,
        b::_INLINE => c::_INLINE,
    );
    assert_eq!(offset_of!(b::_VALUE, u), offset_of!(c::_VALUE, u));
    assert_eq!(offset_of!(b::_HOLDER, value), offset_of!(c::_HOLDER, value));
    assert_eq!(
        offset_of!(b::_HOLDER, inline_value),
        offset_of!(c::_HOLDER, inline_value)
    );
    assert_eq!(bg::unions::unions::KIND_TEXT, cm::unions::KIND_TEXT);
}

#[test]
fn packing_survives() {
    use bg::pack::pack as b;
    use cm::pack as c;
    same_layout!(
        b::tagDEFAULT_PACK => c::tagDEFAULT_PACK,
        b::tagPACK2 => c::tagPACK2,
        b::tagPACK1 => c::tagPACK1,
        b::tagPACK4_UNION => c::tagPACK4_UNION,
        b::tagBACK_TO_2 => c::tagBACK_TO_2,
        b::tagPOPPED => c::tagPOPPED,
        b::tagHEADER_PACK2 => c::tagHEADER_PACK2,
        b::tagHEADER_PACK8 => c::tagHEADER_PACK8,
        b::tagHEADER_BACK_TO_2 => c::tagHEADER_BACK_TO_2,
        b::tagPACK8 => c::tagPACK8,
        b::tagRESET => c::tagRESET,
        b::tagTARGET_PACK => c::tagTARGET_PACK,
    );
    assert_eq!(offset_of!(b::tagPACK1, l), 1);
    assert_eq!(offset_of!(b::tagPACK2, l), 2);
    assert_eq!(offset_of!(b::tagPOPPED, q), 8);
}

#[test]
fn other_records_have_comidls_layout() {
    same_layout!(
        bg::enums::enums::tagPALETTE => cm::enums::tagPALETTE,
        bg::funcptr::funcptr::tagCALLBACKS => cm::funcptr::tagCALLBACKS,
        bg::pragmas::pragmas::tagQUOTED => cm::pragmas::tagQUOTED,
        bg::midl_only_annotation::midl_only_annotation::tagANNOTATED_BUFFER
            => cm::midl_only_annotation::tagANNOTATED_BUFFER,
        bg::midl_only_forward_typedef::midl_only_forward_typedef::tagGADGET_RESULT
            => cm::midl_only_forward_typedef::tagGADGET_RESULT,
        bg::preproc::preproc::tagFRAGMENT_SIZE => cm::preproc::tagFRAGMENT_SIZE,
        bg::preproc::preproc::HWIDGET__ => cm::preproc::HWIDGET__,
        bg::rpc::rpc::tagCOUNTER_INFO => cm::rpc::tagCOUNTER_INFO,
        bg::winrt_base::winrt_base::EventRegistrationToken
            => cm::winrt_base::EventRegistrationToken,
        bg::winrt::Fixture::Shapes::Size => cm::winrt::Fixture::Shapes::Size,
    );
    assert_eq!(
        offset_of!(bg::enums::enums::tagPALETTE, mixed),
        offset_of!(cm::enums::tagPALETTE, mixed)
    );
}

#[test]
fn stand_ins_are_the_c_definitions() {
    // The stand-ins are aliases of idl/comidl_ctypes.idl's types, as in comidl's Rust, so
    // the struct using them has C's layout, not the stand-ins'.
    same_layout!(
        bg::standins::standins::WAVEFORMATEX => cm::standins::WAVEFORMATEX,
        bg::standins::standins::AM_MEDIA_TYPE => cm::standins::AM_MEDIA_TYPE,
        bg::standins::standins::D2D1_PIXEL_FORMAT => cm::standins::D2D1_PIXEL_FORMAT,
        bg::standins::standins::tagUSES_STAND_INS => cm::standins::tagUSES_STAND_INS,
        bg::standins::standins::tagDDCOLORKEY_USER => cm::standins::DDCOLORKEY,
    );
    assert_eq!(size_of::<bg::standins::standins::WAVEFORMATEX>(), 18);
    assert_eq!(
        offset_of!(bg::standins::standins::tagUSES_STAND_INS, pixels),
        offset_of!(cm::standins::tagUSES_STAND_INS, pixels)
    );
}

#[test]
fn enumerators_have_comidls_values() {
    use bg::enums::enums as b;
    use cm::enums as c;
    assert_eq!(
        [b::COLOR_RED, b::COLOR_GREEN, b::COLOR_BLUE],
        [c::COLOR_RED.0, c::COLOR_GREEN.0, c::COLOR_BLUE.0]
    );
    // FLAGS needs u32 in metadata (0x80000000 and up); comidl keeps the bit patterns in i32.
    let flags = [
        (b::FLAG_NONE, c::FLAG_NONE.0),
        (b::FLAG_ONE, c::FLAG_ONE.0),
        (b::FLAG_TWO, c::FLAG_TWO.0),
        (b::FLAG_BOTH, c::FLAG_BOTH.0),
        (b::FLAG_NEXT, c::FLAG_NEXT.0),
        (b::FLAG_FROM_CONST, c::FLAG_FROM_CONST.0),
        (b::FLAG_HIGH, c::FLAG_HIGH.0),
        (b::FLAG_SIGN, c::FLAG_SIGN.0),
        (b::FLAG_AFTER_SIGN, c::FLAG_AFTER_SIGN.0),
        (b::FLAG_ALL, c::FLAG_ALL.0),
        (b::FLAG_WRAPPED, c::FLAG_WRAPPED.0),
    ];
    for (theirs, ours) in flags {
        assert_eq!(theirs as i32, ours);
    }
    assert_eq!(b::FLAG_SIGN, 0x8000_0000);
    assert_eq!(
        [
            b::MIXED_A,
            b::MIXED_B,
            b::MIXED_C,
            b::MIXED_D,
            b::MIXED_NEG,
            b::MIXED_AFTER_NEG
        ],
        [
            c::MIXED_A.0,
            c::MIXED_B.0,
            c::MIXED_C.0,
            c::MIXED_D.0,
            c::MIXED_NEG.0,
            c::MIXED_AFTER_NEG.0
        ]
    );
    assert_eq!(b::MIXED_LAST_COLOR, c::MIXED_LAST_COLOR.0);
    assert_eq!(
        [b::ANON_FIRST, b::ANON_SECOND],
        [c::ANON_FIRST.0, c::ANON_SECOND.0]
    );
    assert_eq!(b::COLOR_COUNT, c::COLOR_COUNT);
    assert_eq!(b::FLAG_BASE, c::FLAG_BASE);
    assert_eq!(size_of::<b::tagCOLOR>(), size_of::<c::tagCOLOR>());
    assert_eq!(
        bg::interfaces::interfaces::DRAW_PRETTY,
        cm::interfaces::DRAW_PRETTY.0
    );
    // WinRT enums are scoped: their values are associated constants.
    assert_eq!(
        bg::winrt::Fixture::Shapes::ShapeKind::Other.0,
        cm::winrt::Fixture::Shapes::ShapeKind::Other.0
    );
    assert_eq!(
        bg::midl_only_winrt::Gadgets::Core::Sensors::Mode::Streaming.0,
        cm::midl_only_winrt::Gadgets::Core::Sensors::Mode::Streaming.0
    );
}

#[test]
fn constants_have_comidls_values() {
    use bg::consts::consts as b;
    use cm::consts as c;
    assert_eq!(b::ANSWER, c::ANSWER);
    assert_eq!(b::MASK, c::MASK);
    assert_eq!(b::MINUS_ONE, c::MINUS_ONE);
    assert_eq!(b::MINUS_HEX, c::MINUS_HEX);
    assert_eq!(b::TWICE, c::TWICE);
    assert_eq!(b::ALL_ONES, c::ALL_ONES);
    assert_eq!(b::BIG_HEX, c::BIG_HEX);
    assert_eq!(b::FLAGS_OR, c::FLAGS_OR);
    assert_eq!(b::PICKED, c::PICKED);
    assert_eq!(b::PRECEDENCE, c::PRECEDENCE);
    assert_eq!(b::REMAINDER, c::REMAINDER);
    assert_eq!(b::NOT_ZERO, c::NOT_ZERO);
    assert_eq!(b::SMALL_SHORT, c::SMALL_SHORT);
    assert_eq!(b::RATIO, c::RATIO);
    assert_eq!(b::YES, c::YES);
    assert_eq!(b::CHAR_CODE, c::CHAR_CODE);
    // SAFETY: windows-core's s!/w! literals are NUL-terminated.
    let greeting = unsafe { b::GREETING.as_bytes() };
    assert_eq!(greeting, c::GREETING.to_bytes());
    // (Read up to the NUL here: windows-strings' `as_wide` counts with the C library's
    // wcslen, whose wchar_t is 32 bits wide on Linux.)
    let wide: Vec<u16> = (0..)
        .map(|i| unsafe { *b::WIDE_GREETING.0.add(i) })
        .take_while(|&unit| unit != 0)
        .collect();
    assert_eq!(
        wide,
        c::WIDE_GREETING
            .strip_suffix(&[0])
            .unwrap_or(c::WIDE_GREETING)
    );
    assert_eq!(bg::dispatch::GaugeLib::MAX_LEVEL, cm::dispatch::MAX_LEVEL);
    assert_eq!(bg::dispatch::GaugeLib::MIN_LEVEL, cm::dispatch::MIN_LEVEL);
    assert_eq!(bg::preproc::preproc::AREA, cm::preproc::AREA);
    assert_eq!(bg::preproc::preproc::LEVEL, cm::preproc::LEVEL);
    assert_eq!(bg::rpc::rpc::MAX_COUNTER_NAME, cm::rpc::MAX_COUNTER_NAME);
}
