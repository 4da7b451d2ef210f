//! Vtables: windows-bindgen's vtable for every interface and delegate of comidl's .winmd
//! files against comidl's own vtable of the same IDL, slot by slot. The list is written by
//! build.rs from the .winmd files themselves (`vtable_slots.rs`), so a new interface in a
//! fixture is checked without being named here.

use core::mem::{offset_of, size_of};

/// Both vtables: the same size, the base's slots first, and every method in the same slot,
/// one pointer after the other up to the end. Returns the number of slots compared.
macro_rules! slots {
    ($bg:path => $cm:path; $($method:ident),* $(,)?) => {{
        let size = size_of::<$cm>();
        assert_eq!(size_of::<$bg>(), size, "size of {} against {}", stringify!($bg), stringify!($cm));
        assert_eq!(offset_of!($bg, base__), 0, "{}: base first", stringify!($bg));
        assert_eq!(offset_of!($cm, base__), 0, "{}: base first", stringify!($cm));
        let pointer = size_of::<usize>();
        let slots: Vec<(&str, usize)> = vec![$({
            let theirs = offset_of!($bg, $method);
            let ours = offset_of!($cm, $method);
            assert_eq!(theirs, ours, "slot of {}::{}", stringify!($cm), stringify!($method));
            (stringify!($method), ours)
        }),*];
        // The own slots are the last ones, one pointer each, in declaration order: the
        // first sits where the base's vtable ends and the last ends the vtable.
        let base_end = size - slots.len() * pointer;
        assert!(base_end >= 3 * pointer, "{}: IUnknown's slots come first", stringify!($cm));
        for (index, (method, offset)) in slots.iter().enumerate() {
            assert_eq!(*offset, base_end + index * pointer, "slot of {}::{method}", stringify!($cm));
        }
        slots.len()
    }};
}

#[test]
fn every_vtable_has_comidls_slot_offsets() {
    let mut vtables = 0usize;
    let mut methods = 0usize;
    // One `check!` per vtable, written by build.rs.
    macro_rules! check {
        ($($t:tt)*) => {{
            methods += slots!($($t)*);
            vtables += 1;
        }};
    }
    // Types of the metadata that have no vtable in comidl's IR.
    let mut without: Vec<String> = Vec::new();
    macro_rules! no_vtable {
        ($idl:literal, $name:literal) => {
            without.push(format!("{} ({})", $name, $idl))
        };
    }
    include!(concat!(env!("OUT_DIR"), "/vtable_slots.rs"));
    println!("{vtables} vtables, {methods} slots compared");
    println!("no vtable in comidl's Rust: {}", without.join(", "));
    assert!(
        vtables >= 34,
        "only {vtables} vtables found in the .winmd files"
    );
    // Function-pointer typedefs (delegates in metadata: `Invoke` is no slot of anything)
    // and an interface only forward-declared, which neither side gives a vtable.
    without.sort();
    assert_eq!(
        without,
        [
            "comidl_provider.LPPROVIDERENTRY (idl/comidl_provider.idl)",
            "funcptr.FN_TYPE (tests/fixtures/funcptr.idl)",
            "funcptr.PFN_ADD (tests/fixtures/funcptr.idl)",
            "funcptr.PFN_CALLBACK (tests/fixtures/funcptr.idl)",
            "funcptr.PFN_PLAIN (tests/fixtures/funcptr.idl)",
            "funcptr.PFN_PREDICATE (tests/fixtures/funcptr.idl)",
            "interfaces.INeverDefined (tests/fixtures/interfaces.idl)",
            "safe_shapes.SHAPE_CALLBACK (tests/fixtures/safe_shapes.idl)",
        ]
    );
}
