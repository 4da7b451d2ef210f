//! The Rust backend on every fixture: generation succeeds without warnings, the output is
//! snapshotted, and the snapshots are compiled by the `comidl-generated-tests` crate
//! (tests/generated), so a snapshot that does not compile fails the build. Targeted
//! assertions pin the shapes that matter, so a wrong shape can't slip in through a
//! carelessly accepted snapshot.

mod common;

use comidl::emit::rust::{Options, generate};

use common::{assert_clean, check, check_fixture, fixtures_dir, idl_files, stem};

/// The options of the fixtures' snapshots: tests/fixtures/user_marshal.idl's `SECONDS` has
/// its routines in tests/generated (the crate that compiles the snapshots).
fn fixture_options() -> Options {
    Options {
        user_marshal: vec![("SECONDS".into(), "crate::user_routines::SECONDS".into())],
        call_as: Some("crate::call_as_helpers".into()),
        ..Options::default()
    }
}

fn rust_for(relative: &str) -> String {
    let outcome = check_fixture(relative);
    assert_clean(relative, &outcome);
    let generated = generate(&outcome.model, &fixture_options())
        .unwrap_or_else(|d| panic!("{relative}: {d:?}"));
    assert!(
        generated.diagnostics.is_empty(),
        "{relative}: {:?}",
        generated.diagnostics
    );
    generated.code
}

#[test]
fn every_fixture_generates_rust_matching_its_snapshot() {
    let files = idl_files(&fixtures_dir());
    assert!(files.len() >= 15);
    for path in &files {
        let outcome = check(path);
        assert_clean(&stem(path), &outcome);
        let generated = match generate(&outcome.model, &fixture_options()) {
            Ok(g) => g,
            Err(d) => panic!(
                "{}: {}",
                stem(path),
                comidl::diag::render(&outcome.sources, &d)
            ),
        };
        assert!(
            generated.diagnostics.is_empty(),
            "{}: {}",
            stem(path),
            comidl::diag::render(&outcome.sources, &generated.diagnostics)
        );
        insta::assert_snapshot!(stem(path), generated.code);
    }
}

/// The examples' IDL, as their build scripts generate it (comidl's own IDL resolves to the
/// runtime): the snapshots show what a user's first bindings look like, and tests/generated
/// compiles them like the fixtures'.
#[test]
fn examples_generate_rust_matching_their_snapshots() {
    let root = common::repo_root();
    for (name, idl) in [
        ("example_calculator", "examples/calculator/calculator.idl"),
        ("example_minimal", "examples/minimal/counter.idl"),
    ] {
        let outcome = common::check_with_idl(&root.join(idl));
        assert_clean(name, &outcome);
        let generated = generate(&outcome.model, &Options::default())
            .unwrap_or_else(|d| panic!("{name}: {}", comidl::diag::render(&outcome.sources, &d)));
        assert!(generated.diagnostics.is_empty(), "{name}");
        insta::assert_snapshot!(name, generated.code);
    }
    // The calculator's Fold: a string literal, a slice (its count derived) and an Option.
    let code = flat(
        &std::fs::read_to_string(
            root.join("compiler/tests/snapshots/rust_backend__example_calculator.snap"),
        )
        .expect("the snapshot exists"),
    );
    assert!(
        code.contains(
            "pub fn fold(&self, op: &::comidl_runtime::WStr, values: &[::comidl_runtime::LONG], initial: ::core::option::Option<&::comidl_runtime::LONG>) -> ::comidl_runtime::Result<::comidl_runtime::LONG>"
        ),
        "{code}"
    );
}

#[test]
fn interfaces_have_vtables_in_slot_order_with_the_base_first() {
    let code = rust_for("interfaces.idl");
    let vtbl = code
        .split("pub struct IDrawable_Vtbl {")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("IDrawable_Vtbl");
    let slots: Vec<&str> = vtbl
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split(':').next())
        .collect();
    // RemotePaint is the [call_as] wire form of Paint: no slot of its own.
    assert_eq!(
        slots,
        [
            "base__",
            "Draw",
            "GetName",
            "Paint",
            "Fill",
            "GetGrid",
            "SetLevel",
            "Create",
            "Move",
            "Bounds",
            "ById",
            "WithCustom",
            "Take",
            "Later"
        ]
    );
    assert!(code.contains("pub base__: ::comidl_runtime::IUnknown_Vtbl"));
    assert!(code.contains(
        "pub struct IShape_Vtbl {\n    /// The slots of `IDrawable`, the base interface.\n    pub base__: IDrawable_Vtbl,"
    ));
}

/// The code with every run of white space made one space, and none after `(` or before
/// `)`/`,`, so assertions don't depend on line breaking.
fn flat(code: &str) -> String {
    let words: Vec<&str> = code.split_whitespace().collect();
    words
        .join(" ")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(", )", ")")
        .replace(",)", ")")
}

#[test]
fn safe_methods_take_references_and_return_results() {
    let code = flat(&rust_for("interfaces.idl"));
    let has = |pattern: &str| {
        assert!(code.contains(pattern), "missing `{pattern}` in:\n{code}");
    };
    // [out, retval] string pointer: the returned value.
    has("pub fn get_name(&self) -> ::comidl_runtime::Result<super::base::LPWSTR>");
    // [in] REFIID + [out, iid_is] void**: generic over the interface.
    has(
        "pub fn create<T: ::comidl_runtime::Interface>(&self) -> ::comidl_runtime::Result<::comidl_runtime::ComPtr<T>>",
    );
    // [in, out] POINT*: a mutable reference.
    has(
        "pub fn r#move(&self, r#where: &mut super::structs::POINT) -> ::comidl_runtime::Result<()>",
    );
    // [out] RECT*, [in, unique] RECT*, [in, ptr] POINT*.
    has(
        "pub fn bounds(&self, clip: ::core::option::Option<&super::structs::RECT>, hint: ::core::option::Option<&super::structs::POINT>) -> ::comidl_runtime::Result<super::structs::RECT>",
    );
    // A counted array is a slice; its count is the slice's length.
    has("pub fn fill(&self, bytes: &[super::base::BYTE]) -> ::comidl_runtime::Result<()>");
    // An interface [in] parameter without [unique] is a plain reference.
    has("pub fn take(&self, shape: &IShape) -> ::comidl_runtime::Result<()>");
    // A method that doesn't return HRESULT keeps its raw signature.
    has("pub fn is_empty(&self) -> super::base::BOOL");
}

#[test]
fn server_traits_mirror_the_client_shapes() {
    let code = rust_for("interfaces.idl");
    let code = flat(&code);
    for pattern in [
        "pub trait IDrawable_Impl: ::comidl_runtime::Class {",
        "pub trait IShape_Impl: IDrawable_Impl {",
        "fn area(&self) -> ::comidl_runtime::Result<f64>;",
        "::comidl_runtime::object::guard(||",
    ] {
        assert!(code.contains(pattern), "missing `{pattern}` in:\n{code}");
    }
}

#[test]
fn enums_are_newtypes_with_associated_constants() {
    let code = rust_for("enums.idl");
    // Every enumerator of tests/fixtures/enums.idl with the value C gives it, worked out by
    // hand from the IDL: implicit values count on from the previous one, 32-bit patterns
    // keep their bits in the i32 (0x80000000 is i32::MIN, 0xFFFFFFFF is -1) and the value
    // after 0xFFFFFFFF wraps to 0.
    let enums: [(&str, &[(&str, i32)]); 4] = [
        (
            "tagCOLOR",
            &[("COLOR_RED", 0), ("COLOR_GREEN", 1), ("COLOR_BLUE", 2)],
        ),
        (
            "tagFLAGS",
            &[
                ("FLAG_NONE", 0),
                ("FLAG_ONE", 1),
                ("FLAG_TWO", 2),
                ("FLAG_BOTH", 3),
                ("FLAG_NEXT", 4),
                ("FLAG_FROM_CONST", 32),
                ("FLAG_HIGH", 0x4000_0000),
                ("FLAG_SIGN", i32::MIN),
                ("FLAG_AFTER_SIGN", i32::MIN + 1),
                ("FLAG_ALL", -1),
                ("FLAG_WRAPPED", 0),
            ],
        ),
        (
            "tagMIXED",
            &[
                ("MIXED_A", 5),
                ("MIXED_B", 6),
                ("MIXED_C", 15),
                ("MIXED_D", 16),
                ("MIXED_NEG", -3),
                ("MIXED_AFTER_NEG", -2),
                ("MIXED_LAST_COLOR", 2),
            ],
        ),
        ("ANON_ENUM", &[("ANON_FIRST", 7), ("ANON_SECOND", 8)]),
    ];
    for (name, enumerators) in enums {
        // A transparent newtype over i32 (any value is legal, no UB)...
        let declared = format!("pub struct {name}(pub i32);");
        let at = code
            .find(&declared)
            .unwrap_or_else(|| panic!("{declared:?} missing:\n{code}"));
        let attributes = code[..at].rsplit("///").next().unwrap_or_default();
        assert!(
            attributes.contains("#[repr(transparent)]"),
            "{name} is not repr(transparent):{attributes}"
        );
        // ...whose impl holds every enumerator as an associated constant with its value,
        // each also a module-level constant of the enum's type.
        let body = &code[at..];
        let body = &body[..body.find("\n}\n").expect("the impl ends")];
        for (enumerator, value) in enumerators {
            let associated = format!("pub const {enumerator}: Self = Self({value});");
            assert!(
                body.contains(&associated),
                "{associated:?} missing in {name}:\n{body}"
            );
            let module = format!("pub const {enumerator}: {name} = {name}::{enumerator};");
            assert!(code.contains(&module), "{module:?} missing");
        }
        let count = body.matches(": Self = Self(").count();
        assert_eq!(
            count,
            enumerators.len(),
            "{name} has other constants:\n{body}"
        );
    }
}

#[test]
fn winrt_instances_are_concrete_interfaces_with_derived_iids() {
    let code = flat(&rust_for("winrt.idl"));
    // Every instance the file declares becomes a concrete interface...
    for name in [
        "__FIIterable_1_HSTRING",
        "__FIIterator_1_HSTRING",
        "__FIVectorView_1_HSTRING",
        "__FIVector_1_HSTRING",
        "__FTypedEventHandler_2_Fixture__CShapes__CCircle_IInspectable",
    ] {
        assert!(
            code.contains(&format!("pub struct {name} {{")),
            "{name} missing"
        );
        assert!(code.contains(&format!(
            "unsafe impl ::comidl_runtime::Interface for {name} {{"
        )));
    }
    // ...whose IID is the one widl 8.0 computes for IIterable<HSTRING> in this file
    // (DEFINE_GUID in widl's header for tests/fixtures/winrt.idl).
    assert!(code.contains(
        "pub const IID___FIIterable_1_HSTRING: ::comidl_runtime::GUID = ::comidl_runtime::GUID::from_u128(0x354c4f7161b45140aeaeec05d03ac927);"
    ), "{code}");
    // Type arguments are substituted: IIterator<HSTRING>::Current returns an HSTRING.
    assert!(
        code.contains(
            "pub fn get_current(&self) -> ::comidl_runtime::Result<super::winrt_base::HSTRING>"
        ),
        "{code}"
    );
}

#[test]
fn marshalling_descriptions_read_what_c_passes() {
    // (Generic arguments as prettyplease breaks them: `size_of::< T, >()`.)
    let code = flat(&rust_for("ndr_shapes.idl"))
        .replace("::< ", "::<")
        .replace(", >", ">");
    let has = |pattern: &str| {
        assert!(code.contains(pattern), "missing `{pattern}` in:\n{code}");
    };
    // An array parameter is a pointer to its elements, as C passes it.
    has(
        "Param { name: \"values\", ty: Type::Pointer(&Pointer { kind: PointerKind::Ref, pointee: Type::Array(&Array { element: Type::Base(Base::Long), stride: 4usize, count: Count::Fixed(4u32)",
    );
    has(
        "Param { name: \"name\", ty: Type::Pointer(&Pointer { kind: PointerKind::Ref, pointee: Type::String(",
    );
    // size_is(cbSize - sizeof(LONG)): sizeof is a constant.
    has(
        "Count::Conformant(&Expr::Binary(BinOp::Sub, &Expr::Field { offset: 0u32, derefs: 0u8, ty: Base::ULong, }, &Expr::Const(4i64)))",
    );
    // length_is(fetched ? *fetched : max): the pointer is read as an address, then through.
    has(
        "&Expr::Cond(&Expr::Param { index: 2u16, derefs: 0u8, ty: Base::UInt3264, }, &Expr::Param { index: 2u16, derefs: 1u8, ty: Base::ULong, }",
    );
    // size_is(, (ULONG)*count): a cast of `*count`, not `ULONG` times `count`.
    has("Count::Conformant(&Expr::Param { index: 0u16, derefs: 1u8, ty: Base::UInt3264, })");
    // size_is(, n) on a BYTE_BUFFER *: n sizes the typedef's pointer.
    has(
        "pointee: Type::Pointer(&Pointer { kind: PointerKind::Unique, pointee: Type::Array(&Array { element: Type::Base(Base::Char), stride: 1usize, count: Count::Conformant(&Expr::Param { index: 0u16",
    );
    // Stand-ins take the layout of the runtime's C definition, never the IDL's.
    has(
        "size: ::core::mem::size_of::<::comidl_runtime::ctypes::WAVEFORMATEX>(), align: ::core::mem::align_of::<::comidl_runtime::ctypes::WAVEFORMATEX>(), why: \"a C type the IDL only stands in for: not described yet\"",
    );
    has("why: \"a record holding a C type the IDL only stands in for: not described yet\"");
    has("stride: ::core::mem::size_of::<super::super::standins::WAVEFORMATEX>()");
    // What cannot be read (a member through `->`) leaves the pointee unsupported.
    has(
        "Param { name: \"values\", ty: Type::Pointer(&Pointer { kind: PointerKind::Ref, pointee: Type::Unsupported(&Opaque { size: 4usize, align: 4usize, why: \"a size, length or switch expression over what is not an integer in scope\"",
    );
    assert!(!code.contains("Expr::Const(-1)"), "{code}");
}
