//! tests/fixtures/ndr_shapes.idl's descriptions through the engine: what C passes for an array
//! parameter (a pointer) and a length that tests a pointer for NULL are marshalled as MIDL's
//! stubs marshal them.

use comidl_generated_tests::ndr_shapes::ndr::NdrShapes_INTERFACE;
use comidl_runtime::ndr;

fn arg<T>(v: &mut T) -> *mut u8 {
    (v as *mut T).cast()
}

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn an_array_parameter_is_read_through_the_pointer_c_passes() {
    let fixed = NdrShapes_INTERFACE.procs[0];
    let mut values: [i32; 4] = [1, -2, 3, -4];
    // C's `LONG values[4]` parameter is `LONG *values`: the argument holds the pointer.
    let mut p: *mut i32 = values.as_mut_ptr();
    let request = unsafe { ndr::marshal_request(fixed, &[arg(&mut p)]) }.unwrap();
    assert_eq!(words(&request), [1, (-2i32) as u32, 3, (-4i32) as u32]);
}

#[test]
fn a_length_that_tests_a_pointer_for_null() {
    // Fetch([in] ULONG max, [out, size_is(max), length_is(fetched ? *fetched : max)]
    //       LONG *items, [in, out, unique] ULONG *fetched): the server's reply.
    let fetch = NdrShapes_INTERFACE.procs[3];
    let mut max: u32 = 3;
    let mut items: [i32; 3] = [7, 8, 9];
    let mut p_items: *mut i32 = items.as_mut_ptr();
    let mut count: u32 = 2;
    let mut p_count: *mut u32 = &mut count;
    let args = [arg(&mut max), arg(&mut p_items), arg(&mut p_count)];
    let mut reply = ndr::Marshaller::new(&args);
    for (p, &slot) in fetch.params.iter().zip(&args) {
        if p.dir.is_out() {
            unsafe { reply.param(p.ty, slot) }.unwrap();
        }
    }
    // Conformance 3, offset 0, length 2 (from *fetched), two elements, then `fetched`'s
    // referent id (MIDL's first, 0x20000) and *fetched.
    assert_eq!(words(&reply.into_bytes()), [3, 0, 2, 7, 8, 0x2_0000, 2]);

    let mut none: *mut u32 = std::ptr::null_mut();
    let args = [arg(&mut max), arg(&mut p_items), arg(&mut none)];
    let mut reply = ndr::Marshaller::new(&args);
    for (p, &slot) in fetch.params.iter().zip(&args) {
        if p.dir.is_out() {
            unsafe { reply.param(p.ty, slot) }.unwrap();
        }
    }
    // No `fetched`: the length is `max`; the NULL unique pointer is a zero referent id.
    assert_eq!(words(&reply.into_bytes()), [3, 0, 3, 7, 8, 9, 0]);
}
