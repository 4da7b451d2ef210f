//! The safe layer's reshaped parameters, end to end in one process: a Rust object
//! implements `IShapes_Impl` (tests/fixtures/safe_shapes.idl, through the generated code
//! the snapshot holds), and the client wrapper calls it through the vtable. Each call
//! crosses the C ABI twice — the client turns slices, options and strings into raw
//! arguments, the server thunk turns them back — so what the implementation sees is what
//! a C caller's arguments would become. Raw vtable calls then play a careless C caller.

use std::cell::RefCell;
use std::rc::Rc;

use comidl_generated_tests::safe_shapes::*;
use comidl_runtime::{
    ComObject, ComPtr, E_INVALIDARG, E_POINTER, IUnknown, Interface, Result, S_OK, WString, w,
};

/// What the implementation was given, call by call (shared with the test).
type Seen = Rc<RefCell<Vec<String>>>;

struct Shapes {
    seen: Seen,
}

comidl_runtime::implement!(Shapes: IShapes);

impl Shapes {
    fn note(&self, call: String) {
        self.seen.borrow_mut().push(call);
    }
}

impl IShapes_Impl for Shapes {
    fn sum(&self, values: &[i32]) -> Result<i32> {
        self.note(format!("sum {values:?}"));
        Ok(values.iter().sum())
    }

    fn scale(&self, factor: i32, inout: &mut [i32], scaled: &mut [i32]) -> Result<()> {
        // An [out] buffer arrives zeroed, whatever the caller left in it.
        self.note(format!("scale {factor} {inout:?} {scaled:?}"));
        for (v, s) in inout.iter_mut().zip(scaled.iter_mut()) {
            *s = *v * factor;
            *v += 1;
        }
        Ok(())
    }

    fn fill(&self, points: &mut [POINT2]) -> Result<u32> {
        let filled = points.len().min(2);
        for (i, p) in points.iter_mut().take(filled).enumerate() {
            *p = POINT2 {
                x: i as i32,
                y: -(i as i32),
            };
        }
        Ok(filled as u32)
    }

    fn mark(&self, marks: Option<&[u8]>) -> Result<()> {
        self.note(format!("mark {marks:?}"));
        Ok(())
    }

    fn add_all(&self, items: &[Option<IUnknown>]) -> Result<()> {
        let present = items.iter().filter(|i| i.is_some()).count();
        self.note(format!("add_all {} {present}", items.len()));
        Ok(())
    }

    fn pairs(&self, count: u32, _values: *const i32) -> Result<()> {
        self.note(format!("pairs {count}"));
        Ok(())
    }

    fn corners(&self, corners: &[POINT2; 4], mirrored: &mut [POINT2; 4]) -> Result<()> {
        for (m, c) in mirrored.iter_mut().zip(corners) {
            *m = POINT2 { x: -c.x, y: c.y };
        }
        Ok(())
    }

    fn label(
        &self,
        text: &comidl_runtime::WStr,
        tag: &core::ffi::CStr,
        note: Option<&comidl_runtime::WStr>,
    ) -> Result<()> {
        self.note(format!(
            "label {text} {} {:?}",
            tag.to_string_lossy(),
            note.map(|n| n.to_string_lossy())
        ));
        Ok(())
    }

    fn place(&self, at: Option<&POINT2>, along: Option<&SEGMENT>, origin: &POINT2) -> Result<()> {
        self.note(format!(
            "place {:?} {:?} {:?}",
            at.map(|p| (p.x, p.y)),
            along.map(|s| s.weight),
            (origin.x, origin.y)
        ));
        Ok(())
    }

    fn measure(&self, segment: &SEGMENT) -> Result<(f64, i32)> {
        let dx = f64::from(segment.to.x - segment.from.x);
        let dy = f64::from(segment.to.y - segment.from.y);
        Ok((dx.hypot(dy), 2))
    }

    fn kind(&self, kind: SHAPE_KIND, access: ACCESS_FLAGS, style: STYLE) -> Result<()> {
        self.note(format!("kind {kind:?} {access:?} {style:?}"));
        Ok(())
    }

    // Methods without an HRESULT keep raw parameters on the server side (a failed check
    // would have nothing to report with); the count is the caller's contract.
    fn barrier(&self, count: u32, points: *const POINT2) {
        // SAFETY: `points` holds `count` elements (the IDL's `_In_reads_(count)`).
        let points = unsafe { comidl_runtime::args::in_slice(points, count) }.unwrap_or(&[]);
        self.note(format!("barrier {}", points.len()));
    }

    fn copy(&self, n: u32, dst: *mut i32, src: *const i32) -> u32 {
        // SAFETY: both hold `n` elements (`_Out_writes_(n)`, `_In_reads_(n)`), apart.
        let (Ok(dst), Ok(src)) = (unsafe { comidl_runtime::args::out_slice(dst, n) }, unsafe {
            comidl_runtime::args::in_slice(src, n)
        }) else {
            return 0;
        };
        dst.copy_from_slice(src);
        n
    }

    fn gather(&self, dst: Option<&mut [i32]>) -> Result<()> {
        self.note(format!("gather {:?}", dst.as_ref().map(|d| d.len())));
        if let Some(dst) = dst {
            dst.fill(7);
        }
        Ok(())
    }
}

fn shapes() -> (ComPtr<IShapes>, Seen) {
    let seen = Seen::default();
    let shapes = ComObject::create::<IShapes>(Shapes { seen: seen.clone() }).expect("created");
    (shapes, seen)
}

fn last(seen: &Seen) -> String {
    seen.borrow().last().cloned().unwrap_or_default()
}

#[test]
fn slices_cross_both_ways() {
    let (shapes, seen) = shapes();
    assert_eq!(shapes.sum(&[1, 2, 3, 4]).unwrap(), 10);
    assert_eq!(last(&seen), "sum [1, 2, 3, 4]");
    assert_eq!(shapes.sum(&[]).unwrap(), 0);
    assert_eq!(last(&seen), "sum []");

    let mut inout = [1, 2, 3];
    let mut scaled = [99, 99, 99];
    shapes.scale(10, &mut inout, &mut scaled).unwrap();
    assert_eq!(last(&seen), "scale 10 [1, 2, 3] [0, 0, 0]");
    assert_eq!((inout, scaled), ([2, 3, 4], [10, 20, 30]));
    // Slices sharing one count must agree: refused before the call.
    let calls = seen.borrow().len();
    assert_eq!(
        shapes.scale(1, &mut [1, 2], &mut [0]).unwrap_err(),
        E_INVALIDARG
    );
    assert_eq!(seen.borrow().len(), calls);

    let mut points = [POINT2::default(); 5];
    assert_eq!(shapes.fill(&mut points).unwrap(), 2);
    assert_eq!(points[1], POINT2 { x: 1, y: -1 });
    assert_eq!(points[4], POINT2::default());

    shapes.mark(Some(&[7, 8])).unwrap();
    assert_eq!(last(&seen), "mark Some([7, 8])");
    shapes.mark(None).unwrap();
    assert_eq!(last(&seen), "mark None");

    let unknown: ComPtr<IUnknown> = shapes.cast().unwrap();
    shapes.add_all(&[Some(*unknown), None]).unwrap();
    assert_eq!(last(&seen), "add_all 2 1");

    let corners = [
        POINT2 { x: 1, y: 1 },
        POINT2 { x: 2, y: 1 },
        POINT2 { x: 2, y: 2 },
        POINT2 { x: 1, y: 2 },
    ];
    let mut mirrored = [POINT2::default(); 4];
    shapes.corners(&corners, &mut mirrored).unwrap();
    assert_eq!(mirrored[2], POINT2 { x: -2, y: 2 });
}

#[test]
fn sal_counts_and_methods_without_hresult_take_slices() {
    let (shapes, seen) = shapes();
    shapes.barrier(&[POINT2::default(); 3]);
    assert_eq!(last(&seen), "barrier 3");
    // No HRESULT to refuse mismatched slices with: the shorter length is passed.
    let mut dst = [0; 4];
    assert_eq!(shapes.copy(&mut dst, &[1, 2, 3]), 3);
    assert_eq!(dst, [1, 2, 3, 0]);
    let mut buffer = [0; 2];
    shapes.gather(Some(&mut buffer)).unwrap();
    assert_eq!(buffer, [7, 7]);
    shapes.gather(None).unwrap();
    assert_eq!(last(&seen), "gather None");
}

#[test]
fn strings_and_options() {
    let (shapes, seen) = shapes();
    shapes.label(w!("grüß"), c"tag", None).unwrap();
    assert_eq!(last(&seen), "label grüß tag None");
    let owned = WString::new("noted").unwrap();
    shapes.label(w!(""), c"", Some(&owned)).unwrap();
    assert_eq!(last(&seen), r#"label   Some("noted")"#);

    let origin = POINT2 { x: 5, y: 6 };
    shapes.place(None, None, &origin).unwrap();
    assert_eq!(last(&seen), "place None None (5, 6)");
    let segment = SEGMENT {
        weight: 0.5,
        ..SEGMENT::default()
    };
    shapes
        .place(Some(&POINT2 { x: 1, y: 2 }), Some(&segment), &origin)
        .unwrap();
    assert_eq!(last(&seen), "place Some((1, 2)) Some(0.5) (5, 6)");

    let segment = SEGMENT {
        from: POINT2 { x: 0, y: 0 },
        to: POINT2 { x: 3, y: 4 },
        ..SEGMENT::default()
    };
    assert_eq!(shapes.measure(&segment).unwrap(), (5.0, 2));
}

/// A C caller can pass what the safe layer cannot: the server thunk answers with an
/// HRESULT, never undefined behaviour in the implementation.
#[test]
fn careless_callers_get_failure_codes() {
    let (shapes, seen) = shapes();
    let vtbl = Interface::vtable(&*shapes);
    let this = Interface::as_raw(&*shapes);
    let mut total = 0i32;
    // SAFETY (each call): a live object; every pointer is NULL or valid for what is passed.
    unsafe {
        // NULL with a positive count: E_POINTER, the implementation is not called.
        assert_eq!(
            (vtbl.Sum)(this, 3, core::ptr::null(), &mut total),
            E_POINTER
        );
        // NULL with a zero count is an empty slice.
        assert_eq!((vtbl.Sum)(this, 0, core::ptr::null(), &mut total), S_OK);
        assert_eq!(last(&seen), "sum []");
        // A NULL string where one is required.
        assert_eq!(
            (vtbl.Label)(
                this,
                core::ptr::null(),
                c"t".as_ptr().cast(),
                core::ptr::null()
            ),
            E_POINTER
        );
        // A NULL fixed array.
        let mut mirrored = [POINT2::default(); 4];
        assert_eq!(
            (vtbl.Corners)(this, core::ptr::null_mut(), mirrored.as_mut_ptr()),
            E_POINTER
        );
        // `_Out_opt_` may be NULL: the other result is still written.
        let segment = SEGMENT::default();
        let mut count = 0;
        assert_eq!(
            (vtbl.Measure)(this, &segment, core::ptr::null_mut(), &mut count),
            S_OK
        );
        assert_eq!(count, 2);
        // A required [out] may not.
        let mut length = 0.0;
        assert_eq!(
            (vtbl.Measure)(this, &segment, &mut length, core::ptr::null_mut()),
            E_POINTER
        );
    }
    assert!(!seen.borrow().iter().any(|c| c.starts_with("label")));
}

#[test]
fn records_and_enums_read_like_rust() {
    // Debug prints constant names; flags print their parts; unknown values the number.
    assert_eq!(format!("{SHAPE_CIRCLE:?}"), "SHAPE_CIRCLE");
    assert_eq!(format!("{:?}", tagSHAPE_KIND(7)), "tagSHAPE_KIND(7)");
    assert_eq!(
        format!("{:?}", ACCESS_READ | ACCESS_WRITE),
        "ACCESS_READ_WRITE"
    );
    assert_eq!(format!("{:?}", STYLE_BOLD), "STYLE_BOLD");
    assert_eq!(
        format!("{:?}", STYLE_BOLD | STYLE_ITALIC),
        "STYLE_BOLD | STYLE_ITALIC"
    );
    let mut style = STYLE_BOLD;
    style |= STYLE_ITALIC;
    assert_eq!(style & !STYLE_BOLD, STYLE_ITALIC);
    assert_eq!((style ^ STYLE_ITALIC).0, 1);

    // Records: Default is C's `= {0}`, == compares fields, Debug names them.
    let segment = SEGMENT::default();
    assert_eq!(segment.label, core::ptr::null_mut());
    assert_eq!(segment, SEGMENT::default());
    assert_ne!(
        segment,
        SEGMENT {
            weight: 1.0,
            ..segment
        }
    );
    assert!(format!("{:?}", POINT2 { x: 1, y: 2 }).contains("x: 1, y: 2"));
    // A union cannot say which arm is live; a record holding one still prints.
    assert_eq!(format!("{:?}", NUMBER::default()), "tagNUMBER { .. }");
    let tagged = TAGGED::default();
    assert!(format!("{tagged:?}").contains("callback: None"));

    let (shapes, seen) = shapes();
    shapes
        .kind(SHAPE_SQUARE, ACCESS_READ_WRITE, STYLE_ITALIC)
        .unwrap();
    assert_eq!(
        last(&seen),
        "kind SHAPE_SQUARE ACCESS_READ_WRITE STYLE_ITALIC"
    );
}
