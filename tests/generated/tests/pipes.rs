//! Pipes (tests/fixtures/pipes.idl) as the generated Rust declares them: MIDL's control
//! record with the layout gcc gives the C header's (compiler/tests/c_header.rs measures
//! the C side against the same numbers), and callbacks a stub can drive: here the loops a
//! client stub runs for an `[in]` pipe (pull until a chunk of 0) and an `[out]` pipe
//! (alloc, then push each chunk, then an empty push).

use std::mem::{align_of, offset_of, size_of};

use comidl_generated_tests::pipes::*;

#[test]
fn the_control_record_has_midls_layout() {
    for (size, align, offsets) in [
        (
            size_of::<LONG_PIPE>(),
            align_of::<LONG_PIPE>(),
            [
                offset_of!(LONG_PIPE, pull),
                offset_of!(LONG_PIPE, push),
                offset_of!(LONG_PIPE, alloc),
                offset_of!(LONG_PIPE, state),
            ],
        ),
        (
            size_of::<SAMPLE_PIPE>(),
            align_of::<SAMPLE_PIPE>(),
            [
                offset_of!(SAMPLE_PIPE, pull),
                offset_of!(SAMPLE_PIPE, push),
                offset_of!(SAMPLE_PIPE, alloc),
                offset_of!(SAMPLE_PIPE, state),
            ],
        ),
    ] {
        let p = size_of::<usize>();
        assert_eq!((size, align), (4 * p, p));
        assert_eq!(offsets, [0, p, 2 * p, 3 * p]);
    }
    let empty = LONG_PIPE::default();
    assert!(empty.pull.is_none() && empty.push.is_none() && empty.alloc.is_none());
    assert!(empty.state.is_null());
}

/// The client's side of a pipe of LONG: what it sends, what came back, and a buffer.
struct Numbers {
    to_send: Vec<i32>,
    sent: usize,
    received: Vec<i32>,
    buffer: Vec<i32>,
}

unsafe extern "system" fn pull(state: *mut u8, buf: *mut i32, esize: u32, ecount: *mut u32) {
    // SAFETY: `state` is the `Numbers` the test put there; `buf` holds `esize` elements and
    // `ecount` is writable, as the pipe's contract says.
    let numbers = unsafe { &mut *state.cast::<Numbers>() };
    let n = (numbers.to_send.len() - numbers.sent).min(esize as usize);
    // SAFETY: `n <= esize`, the room `buf` has.
    let out = unsafe { std::slice::from_raw_parts_mut(buf, n) };
    out.copy_from_slice(&numbers.to_send[numbers.sent..numbers.sent + n]);
    numbers.sent += n;
    // SAFETY: see above.
    unsafe { *ecount = n as u32 };
}

unsafe extern "system" fn push(state: *mut u8, buf: *mut i32, ecount: u32) {
    // SAFETY: as in `pull`; `buf` holds `ecount` elements.
    let numbers = unsafe { &mut *state.cast::<Numbers>() };
    if ecount > 0 {
        // SAFETY: see above.
        numbers
            .received
            .extend_from_slice(unsafe { std::slice::from_raw_parts(buf, ecount as usize) });
    }
}

unsafe extern "system" fn alloc(state: *mut u8, bsize: u32, buf: *mut *mut i32, bcount: *mut u32) {
    // SAFETY: as in `pull`; `buf` and `bcount` are writable.
    let numbers = unsafe { &mut *state.cast::<Numbers>() };
    let count = bsize as usize / size_of::<i32>();
    numbers.buffer.resize(count, 0);
    // SAFETY: see above.
    unsafe {
        *buf = numbers.buffer.as_mut_ptr();
        *bcount = count as u32;
    }
}

#[test]
fn a_stub_drives_the_callers_callbacks() {
    let mut numbers = Numbers {
        to_send: (1..=10).collect(),
        sent: 0,
        received: Vec::new(),
        buffer: Vec::new(),
    };
    let pipe = LONG_PIPE {
        pull: Some(pull),
        push: Some(push),
        alloc: Some(alloc),
        state: (&raw mut numbers).cast(),
    };
    // An [in] pipe: the stub pulls chunks of at most 4 until an empty one.
    let mut chunk = [0i32; 4];
    let mut chunks = Vec::new();
    loop {
        let mut got = 0u32;
        // SAFETY: `chunk` holds 4 elements; `state` points at `numbers`, alive here.
        unsafe { (pipe.pull.unwrap())(pipe.state, chunk.as_mut_ptr(), 4, &mut got) };
        if got == 0 {
            break;
        }
        chunks.push(chunk[..got as usize].to_vec());
    }
    assert_eq!(chunks, [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]);
    // An [out] pipe: the stub asks for a buffer, fills it, pushes, and ends with 0.
    for wire_chunk in [&[10, 20, 30][..], &[40][..]] {
        let mut buf = std::ptr::null_mut();
        let mut room = 0u32;
        // SAFETY: as above; `buf` and `room` are written by `alloc`.
        unsafe { (pipe.alloc.unwrap())(pipe.state, 16, &mut buf, &mut room) };
        assert_eq!(room, 4);
        // SAFETY: `alloc` lent `room` elements at `buf`, and the chunk fits in them.
        unsafe {
            std::ptr::copy_nonoverlapping(wire_chunk.as_ptr(), buf, wire_chunk.len());
            (pipe.push.unwrap())(pipe.state, buf, wire_chunk.len() as u32);
        }
    }
    // SAFETY: an empty push reads nothing.
    unsafe { (pipe.push.unwrap())(pipe.state, std::ptr::null_mut(), 0) };
    assert_eq!(numbers.received, [10, 20, 30, 40]);
}
