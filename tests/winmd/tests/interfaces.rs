//! Every fixture with a callable interface: an object implemented with comidl (through
//! comidl-generated-tests' `*_Impl` traits), called through the interfaces windows-bindgen
//! generated from comidl's .winmd of the same fixture. Each call checks what came back and
//! what the object saw, and each object must be destroyed exactly once.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use comidl_generated_tests as cm;
use comidl_runtime::{ComObject, E_INVALIDARG, E_NOINTERFACE, E_NOTIMPL, HRESULT as CmHresult};
use comidl_winmd_tests as bg;
use windows_core::{HRESULT, Interface as _};

/// The same HRESULT as windows-core spells it.
fn hr(code: CmHresult) -> HRESULT {
    HRESULT(code.0)
}

/// A comidl object as windows-core interface `T`, queried through windows-core.
fn to_windows<T: windows_core::Interface>(
    object: comidl_runtime::ComPtr<comidl_runtime::IUnknown>,
) -> T {
    // SAFETY: `into_raw` gives up an owned IUnknown reference, which `from_raw` takes.
    let unknown = unsafe { windows_core::IUnknown::from_raw(object.into_raw()) };
    unknown.cast().expect("QueryInterface through windows-core")
}

/// Counts destructions: every object of a test carries one, and the test checks the count.
struct Drops(&'static AtomicUsize);

impl Drop for Drops {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A NUL-terminated UTF-16 string that lives for the whole program.
fn wide(text: &str) -> &'static [u16] {
    let mut units: Vec<u16> = text.encode_utf16().collect();
    units.push(0);
    Box::leak(units.into_boxed_slice())
}

/// Reads a NUL-terminated UTF-16 string.
///
/// # Safety
/// `p` points to one.
unsafe fn read_wide(p: *const u16) -> String {
    let units: Vec<u16> = (0..)
        .map(|i| unsafe { *p.add(i) })
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

// ---------------------------------------------------------------------------------------
// interfaces.idl: IDrawable, IShape (derived from it), ICanvas.

mod shapes {
    use super::*;
    use cm::interfaces::{
        DRAW_MODE, ICanvas_Impl, IDrawable_Impl, INeverDefined, IShape, IShape_Impl,
    };
    use cm::structs::{POINT, RECT};

    /// What a Square saw, shared with the test.
    #[derive(Default)]
    pub struct Seen {
        pub mode: AtomicI32,
        pub level: AtomicU32,
        pub filled: AtomicU32,
        pub taken: Mutex<Option<f64>>,
    }

    pub struct Square {
        pub side: f64,
        pub seen: Arc<Seen>,
        pub _drops: Drops,
    }

    comidl_runtime::implement!(Square: cm::interfaces::IShape);

    impl IDrawable_Impl for Square {
        fn draw(&self, mode: DRAW_MODE) -> comidl_runtime::Result<()> {
            self.seen.mode.store(mode.0, Ordering::SeqCst);
            Ok(())
        }
        fn get_name(&self) -> comidl_runtime::Result<cm::base::LPWSTR> {
            Ok(wide("square").as_ptr().cast_mut())
        }
        fn paint(
            &self,
            _context: *mut core::ffi::c_void,
            _flags: cm::base::ULONG,
        ) -> comidl_runtime::Result<()> {
            Err(E_NOTIMPL)
        }
        fn fill(&self, bytes: &[cm::base::BYTE]) -> comidl_runtime::Result<()> {
            // The count windows-rs passed is the slice's length.
            let sum: u32 = bytes.iter().map(|&b| u32::from(b)).sum();
            self.seen.filled.store(sum, Ordering::SeqCst);
            Ok(())
        }
        fn get_grid(
            &self,
            _rows: cm::base::ULONG,
            _columns: &cm::base::ULONG,
            grid: *mut *mut cm::base::LONG,
        ) -> comidl_runtime::Result<()> {
            // SAFETY: `grid` is the caller's writable out pointer.
            unsafe { grid.write(core::ptr::null_mut()) };
            Ok(())
        }
        fn set_level(&self, level: cm::base::ULONG) -> comidl_runtime::Result<()> {
            if level > 10 {
                return Err(E_INVALIDARG);
            }
            self.seen.level.store(level, Ordering::SeqCst);
            Ok(())
        }
        fn create(&self, _riid: &cm::base::IID) -> comidl_runtime::Result<*mut core::ffi::c_void> {
            Err(E_NOINTERFACE)
        }
        fn r#move(&self, r#where: &mut POINT) -> comidl_runtime::Result<()> {
            r#where.x += 1;
            r#where.y -= 1;
            Ok(())
        }
        fn bounds(
            &self,
            clip: Option<&RECT>,
            hint: Option<&POINT>,
        ) -> comidl_runtime::Result<RECT> {
            let side = self.side as i32;
            let origin = hint.copied().unwrap_or(POINT { x: 0, y: 0 });
            let mut rect = RECT {
                topLeft: origin,
                bottomRight: POINT {
                    x: origin.x + side,
                    y: origin.y + side,
                },
            };
            if let Some(clip) = clip {
                rect.bottomRight.x = rect.bottomRight.x.min(clip.bottomRight.x);
                rect.bottomRight.y = rect.bottomRight.y.min(clip.bottomRight.y);
            }
            Ok(rect)
        }
        fn by_id(&self) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn with_custom(&self, value: cm::base::LONG) -> comidl_runtime::Result<()> {
            if value == 12 {
                Ok(())
            } else {
                Err(E_INVALIDARG)
            }
        }
        fn take(&self, shape: Option<&IShape>) -> comidl_runtime::Result<()> {
            // Calls back through comidl's wrapper into whatever object was passed.
            let area = shape.ok_or(E_INVALIDARG)?.area()?;
            *self.seen.taken.lock().expect("not poisoned") = Some(area);
            Ok(())
        }
        fn later(&self, later: Option<&INeverDefined>) -> comidl_runtime::Result<()> {
            if later.is_none() {
                Ok(())
            } else {
                Err(E_INVALIDARG)
            }
        }
    }

    impl IShape_Impl for Square {
        fn area(&self) -> comidl_runtime::Result<f64> {
            Ok(self.side * self.side)
        }
        fn corners(&self) -> comidl_runtime::Result<(cm::base::ULONG, *mut POINT)> {
            Ok((0, core::ptr::null_mut()))
        }
    }

    pub struct Canvas {
        pub total: Mutex<f64>,
        pub count: AtomicU32,
        pub _drops: Drops,
    }

    comidl_runtime::implement!(Canvas: cm::interfaces::ICanvas);

    impl ICanvas_Impl for Canvas {
        fn add_shape(&self, shape: Option<&IShape>) -> comidl_runtime::Result<cm::base::DWORD> {
            let area = shape.ok_or(E_INVALIDARG)?.area()?;
            *self.total.lock().expect("not poisoned") += area;
            Ok(self.count.fetch_add(1, Ordering::SeqCst) + 1)
        }
        fn clear(&self) {
            self.count.store(0, Ordering::SeqCst);
        }
        fn is_empty(&self) -> cm::base::BOOL {
            i32::from(self.count.load(Ordering::SeqCst) == 0)
        }
    }

    pub fn square(side: f64, drops: &'static AtomicUsize) -> (Square, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let square = Square {
            side,
            seen: seen.clone(),
            _drops: Drops(drops),
        };
        (square, seen)
    }
}

#[test]
fn interfaces_drawable_shape_and_canvas() {
    use bg::interfaces::interfaces::{ICanvas, IDrawable, IShape};
    use bg::interfaces::structs::{tagPOINT, tagRECT};
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    let (square, seen) = shapes::square(3.0, &DROPS);
    let shape: IShape = to_windows(ComObject::new(square).expect("created"));
    unsafe {
        assert_eq!(shape.Area(), Ok(9.0));
        // IShape derives from IDrawable: its methods through Deref, and the cast.
        assert_eq!(
            shape.Draw(bg::interfaces::interfaces::DRAW_PRETTY),
            HRESULT(0)
        );
        let name = shape.GetName().expect("GetName");
        assert_eq!(read_wide(name.0), "square");
        // `[in, size_is(count)] const BYTE *bytes` is a slice (NativeArrayInfoAttribute).
        assert!(shape.Fill(&[1, 2, 3, 250]).is_ok());
        assert_eq!(shape.SetLevel(11), hr(E_INVALIDARG));
        assert!(shape.SetLevel(7).is_ok());
        assert_eq!(shape.Paint(core::ptr::null(), 0), hr(E_NOTIMPL));
        let mut point = tagPOINT { x: 10, y: 10 };
        assert!(shape.Move(&mut point).is_ok());
        assert_eq!((point.x, point.y), (11, 9));
        let mut rect = tagRECT::default();
        let clip = tagRECT {
            topLeft: tagPOINT { x: 0, y: 0 },
            bottomRight: tagPOINT { x: 100, y: 4 },
        };
        let hint = tagPOINT { x: 1, y: 1 };
        assert!(shape.Bounds(&mut rect, Some(&clip), Some(&hint)).is_ok());
        assert_eq!(
            (rect.topLeft.x, rect.bottomRight.x, rect.bottomRight.y),
            (1, 4, 4)
        );
        assert!(shape.Bounds(&mut rect, None, None).is_ok());
        assert_eq!((rect.topLeft.x, rect.bottomRight.y), (0, 3));
        assert!(shape.WithCustom(12).is_ok());
        assert!(shape.ById().is_ok());
        let columns = 3u32;
        let mut grid = core::ptr::dangling_mut::<i32>();
        assert!(shape.GetGrid(2, &columns, &mut grid).is_ok());
        assert!(grid.is_null());
        let mut count = 5u32;
        let mut points = core::ptr::null_mut();
        assert!(shape.Corners(&mut count, &mut points).is_ok());
        assert_eq!((count, points), (0, core::ptr::null_mut()));
        // `[out, iid_is(riid)] void **`: windows-bindgen's generic query method.
        let created = shape.Create::<IShape>();
        assert_eq!(
            created.map(|_| ()).expect_err("refused").code(),
            hr(E_NOINTERFACE)
        );
        // An interface pointer passed in: comidl's Take calls Area back through it.
        let other: IShape =
            to_windows(ComObject::new(shapes::square(5.0, &DROPS).0).expect("created"));
        assert!(shape.Take(&other).is_ok());
        assert!(
            shape
                .Later(None::<&bg::interfaces::interfaces::INeverDefined>)
                .is_ok()
        );

        let drawable: IDrawable = shape.cast().expect("IDrawable");
        assert_eq!(
            drawable.Draw(bg::interfaces::interfaces::DRAW_FAST),
            HRESULT(0)
        );

        let canvas: ICanvas = to_windows(
            ComObject::new(shapes::Canvas {
                total: Mutex::new(0.0),
                count: AtomicU32::new(0),
                _drops: Drops(&DROPS),
            })
            .expect("created"),
        );
        assert!(canvas.IsEmpty().as_bool());
        assert_eq!(canvas.AddShape(&shape), Ok(1));
        assert_eq!(canvas.AddShape(&other), Ok(2));
        assert!(!canvas.IsEmpty().as_bool());
        canvas.Clear();
        assert!(canvas.IsEmpty().as_bool());
        drop((canvas, other, drawable));
    }
    // What the comidl object saw.
    assert_eq!(seen.filled.load(Ordering::SeqCst), 256);
    assert_eq!(seen.level.load(Ordering::SeqCst), 7);
    assert_eq!(seen.mode.load(Ordering::SeqCst), 0, "DRAW_FAST came last");
    assert_eq!(*seen.taken.lock().expect("not poisoned"), Some(25.0));
    // The same object through comidl's own wrapper.
    let raw = shape.clone().into_raw();
    // SAFETY: an owned IShape reference.
    let ours: comidl_runtime::ComPtr<cm::interfaces::IShape> =
        unsafe { comidl_runtime::ComPtr::from_raw(raw) }.expect("not NULL");
    assert_eq!(ours.area(), Ok(9.0));
    drop(ours);
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        2,
        "the canvas and the other square"
    );
    drop(shape);
    assert_eq!(DROPS.load(Ordering::SeqCst), 3);
}

/// interfaces.idl's IDrawable as midl_only_import_case.idl extends it (imported through a
/// file name in another case).
#[test]
fn midl_only_import_case_importer() {
    use cm::interfaces::{DRAW_MODE, IDrawable_Impl, INeverDefined, IShape};
    use cm::midl_only_import_case::IImporter_Impl;
    use cm::structs::{POINT, RECT};
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    struct Importer {
        _drops: Drops,
    }
    comidl_runtime::implement!(Importer: cm::midl_only_import_case::IImporter);
    impl IDrawable_Impl for Importer {
        fn draw(&self, _mode: DRAW_MODE) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn get_name(&self) -> comidl_runtime::Result<cm::base::LPWSTR> {
            Ok(wide("importer").as_ptr().cast_mut())
        }
        fn paint(
            &self,
            _: *mut core::ffi::c_void,
            _: cm::base::ULONG,
        ) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn fill(&self, _: &[cm::base::BYTE]) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn get_grid(
            &self,
            _: cm::base::ULONG,
            _: &cm::base::ULONG,
            _: *mut *mut cm::base::LONG,
        ) -> comidl_runtime::Result<()> {
            Err(E_NOTIMPL)
        }
        fn set_level(&self, _: cm::base::ULONG) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn create(&self, _: &cm::base::IID) -> comidl_runtime::Result<*mut core::ffi::c_void> {
            Err(E_NOINTERFACE)
        }
        fn r#move(&self, _: &mut POINT) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn bounds(&self, _: Option<&RECT>, _: Option<&POINT>) -> comidl_runtime::Result<RECT> {
            Err(E_NOTIMPL)
        }
        fn by_id(&self) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn with_custom(&self, _: cm::base::LONG) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn take(&self, _: Option<&IShape>) -> comidl_runtime::Result<()> {
            Ok(())
        }
        fn later(&self, _: Option<&INeverDefined>) -> comidl_runtime::Result<()> {
            Ok(())
        }
    }
    impl IImporter_Impl for Importer {
        fn outline(&self, bounds: &RECT) -> comidl_runtime::Result<POINT> {
            Ok(POINT {
                x: (bounds.topLeft.x + bounds.bottomRight.x) / 2,
                y: (bounds.topLeft.y + bounds.bottomRight.y) / 2,
            })
        }
    }

    use bg::midl_only_import_case::structs::{tagPOINT, tagRECT};
    let importer: bg::midl_only_import_case::midl_only_import_case::IImporter = to_windows(
        ComObject::new(Importer {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    let rect = tagRECT {
        topLeft: tagPOINT { x: 0, y: 2 },
        bottomRight: tagPOINT { x: 10, y: 8 },
    };
    unsafe {
        let center = importer.Outline(&rect).expect("Outline");
        assert_eq!((center.x, center.y), (5, 5));
        let name = importer.GetName().expect("GetName, inherited");
        assert_eq!(read_wide(name.0), "importer");
    }
    drop(importer);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------
// The other fixtures, one object each.

#[test]
fn unions_value_store() {
    use cm::unions::{IValueStore_Impl, NE_VALUE, VALUE};
    static DROPS: AtomicUsize = AtomicUsize::new(0);

    struct Store {
        last: Mutex<(u32, f64)>,
        _drops: Drops,
    }
    comidl_runtime::implement!(Store: cm::unions::IValueStore);
    impl IValueStore_Impl for Store {
        fn put(&self, tag: cm::base::DWORD, value: &NE_VALUE) -> comidl_runtime::Result<()> {
            // SAFETY: the tag says which arm the caller wrote.
            let real = match tag {
                1 => f64::from(unsafe { value.number }),
                2 | 3 => unsafe { value.real },
                _ => return Err(E_INVALIDARG),
            };
            *self.last.lock().expect("not poisoned") = (tag, real);
            Ok(())
        }
        fn get(&self) -> comidl_runtime::Result<VALUE> {
            let (tag, real) = *self.last.lock().expect("not poisoned");
            // SAFETY: all-zero is a valid VALUE.
            let mut value: VALUE = unsafe { core::mem::zeroed() };
            value.kind = 3;
            value.u.real = real + f64::from(tag);
            Ok(value)
        }
    }

    use bg::unions::unions::{_NE_VALUE, IValueStore};
    let store: IValueStore = to_windows(
        ComObject::new(Store {
            last: Mutex::new((0, 0.0)),
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        let value = _NE_VALUE { real: 2.5 };
        assert!(store.Put(2, &value).is_ok());
        let got = store.Get().expect("Get");
        assert_eq!(got.kind, 3);
        assert_eq!(got.u.real, 4.5);
        let value = _NE_VALUE { number: 40 };
        assert!(store.Put(1, &value).is_ok());
        assert_eq!(store.Get().expect("Get").u.real, 41.0);
        assert_eq!(store.Put(9, &value), hr(E_INVALIDARG));
    }
    drop(store);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn pragmas_quoted() {
    use cm::pragmas::{IQuoted_Impl, QUOTED};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Quoted {
        _drops: Drops,
    }
    comidl_runtime::implement!(Quoted: cm::pragmas::IQuoted);
    impl IQuoted_Impl for Quoted {
        fn get(&self) -> comidl_runtime::Result<QUOTED> {
            Ok(QUOTED { value: 0xC0FFEE })
        }
    }
    let quoted: bg::pragmas::pragmas::IQuoted = to_windows(
        ComObject::new(Quoted {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    assert_eq!(unsafe { quoted.Get() }.expect("Get").value, 0xC0FFEE);
    drop(quoted);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn midl_only_late_base_widgets() {
    use cm::midl_only_late_base::{IBaseWidget_Impl, IDerivedWidget_Impl};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Widget {
        total: AtomicI32,
        _drops: Drops,
    }
    comidl_runtime::implement!(Widget: cm::midl_only_late_base::IDerivedWidget);
    impl IBaseWidget_Impl for Widget {
        fn basic(&self) -> comidl_runtime::Result<()> {
            self.total.fetch_add(100, Ordering::SeqCst);
            Ok(())
        }
    }
    impl IDerivedWidget_Impl for Widget {
        fn extra(&self, amount: cm::base::LONG) -> comidl_runtime::Result<()> {
            if amount < 0 {
                return Err(E_INVALIDARG);
            }
            self.total.fetch_add(amount, Ordering::SeqCst);
            Ok(())
        }
    }
    use bg::midl_only_late_base::midl_only_late_base::{IBaseWidget, IDerivedWidget};
    let derived: IDerivedWidget = to_windows(
        ComObject::new(Widget {
            total: AtomicI32::new(0),
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        assert!(derived.Extra(5).is_ok());
        assert_eq!(derived.Extra(-1), hr(E_INVALIDARG));
        // The base's method through the derived interface (its vtable starts with the
        // base's) and through the base interface.
        assert!(derived.Basic().is_ok());
        let base: IBaseWidget = derived.cast().expect("IBaseWidget");
        assert!(base.Basic().is_ok());
    }
    drop(derived);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn dispatch_gauge() {
    use cm::dispatch::{DISPID, IDispatch_Impl, IGauge_Impl};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Gauge {
        level: AtomicI32,
        _drops: Drops,
    }
    comidl_runtime::implement!(Gauge: cm::dispatch::IGauge);
    impl IDispatch_Impl for Gauge {
        fn get_type_info_count(&self) -> comidl_runtime::Result<cm::base::ULONG> {
            Ok(0)
        }
        fn get_dispatch_id(&self, name: &comidl_runtime::WStr) -> comidl_runtime::Result<DISPID> {
            match name.to_string_lossy().as_str() {
                "Level" => Ok(1),
                "Reset" => Ok(2),
                _ => Err(E_INVALIDARG),
            }
        }
    }
    impl IGauge_Impl for Gauge {
        fn get_level(&self) -> comidl_runtime::Result<cm::base::LONG> {
            Ok(self.level.load(Ordering::SeqCst))
        }
        fn put_level(&self, level: cm::base::LONG) -> comidl_runtime::Result<()> {
            if !(0..=cm::dispatch::MAX_LEVEL).contains(&level) {
                return Err(E_INVALIDARG);
            }
            self.level.store(level, Ordering::SeqCst);
            Ok(())
        }
        fn reset(&self) -> comidl_runtime::Result<()> {
            self.level.store(0, Ordering::SeqCst);
            Ok(())
        }
    }
    use bg::dispatch::GaugeLib::{IDispatch, IGauge, MAX_LEVEL};
    let gauge: IGauge = to_windows(
        ComObject::new(Gauge {
            level: AtomicI32::new(0),
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        assert!(gauge.put_Level(42).is_ok());
        assert_eq!(gauge.get_Level(), Ok(42));
        assert_eq!(gauge.put_Level(MAX_LEVEL + 1), hr(E_INVALIDARG));
        assert!(gauge.Reset().is_ok());
        assert_eq!(gauge.get_Level(), Ok(0));
        // The fixture's own IDispatch (two methods) is the base.
        assert_eq!(gauge.GetTypeInfoCount(), Ok(0));
        let dispatch: IDispatch = gauge.cast().expect("IDispatch");
        let name = wide("Reset");
        assert_eq!(
            dispatch.GetDispatchId(windows_core::PCWSTR(name.as_ptr())),
            Ok(2)
        );
    }
    drop(gauge);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn funcptr_callback_host() {
    use cm::funcptr::{ICallbackHost_Impl, PFN_CALLBACK};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Host {
        _drops: Drops,
    }
    comidl_runtime::implement!(Host: cm::funcptr::ICallbackHost);
    impl ICallbackHost_Impl for Host {
        fn register(
            &self,
            callback: PFN_CALLBACK,
            context: *mut core::ffi::c_void,
        ) -> comidl_runtime::Result<()> {
            let callback = callback.ok_or(E_INVALIDARG)?;
            // SAFETY: the caller's callback takes its context and a code.
            unsafe { callback(context, 7) }.ok()
        }
        fn register_raw(
            &self,
            raw: Option<unsafe extern "system" fn(*mut core::ffi::c_void) -> CmHresult>,
        ) -> comidl_runtime::Result<()> {
            let raw = raw.ok_or(E_INVALIDARG)?;
            // SAFETY: a callback taking its context.
            unsafe { raw(core::ptr::null_mut()) }.ok()
        }
        fn explicit(&self) -> comidl_runtime::Result<()> {
            Ok(())
        }
    }
    // The callback windows-bindgen's PFN_CALLBACK type describes.
    unsafe extern "system" fn on_event(context: *const core::ffi::c_void, code: u32) -> HRESULT {
        // SAFETY: the test passes a pointer to an AtomicU32.
        let seen = unsafe { &*(context as *const AtomicU32) };
        seen.store(code, Ordering::SeqCst);
        HRESULT(0)
    }
    let host: bg::funcptr::funcptr::ICallbackHost = to_windows(
        ComObject::new(Host {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    let seen = AtomicU32::new(0);
    let callback: bg::funcptr::funcptr::PFN_CALLBACK = Some(on_event);
    unsafe {
        assert!(
            host.Register(callback, (&seen as *const AtomicU32).cast())
                .is_ok()
        );
        assert_eq!(seen.load(Ordering::SeqCst), 7);
        assert_eq!(host.Register(None, core::ptr::null()), hr(E_INVALIDARG));
        assert!(host.Explicit().is_ok());
    }
    drop(host);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn midl_only_forward_typedef_gadget_query() {
    use cm::midl_only_forward_typedef::{GADGET_RESULT, IGadgetQuery_Impl, LPGADGETQUERY};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Query {
        _drops: Drops,
    }
    comidl_runtime::implement!(Query: cm::midl_only_forward_typedef::IGadgetQuery);
    impl IGadgetQuery_Impl for Query {
        fn next(
            &self,
            count: cm::base::ULONG,
            found: *mut LPGADGETQUERY,
        ) -> comidl_runtime::Result<()> {
            // SAFETY: `found` has room for `count` pointers.
            for i in 0..count as usize {
                unsafe { found.add(i).write(None) };
            }
            Ok(())
        }
        fn result(&self) -> comidl_runtime::Result<GADGET_RESULT> {
            Ok(GADGET_RESULT {
                source: None,
                status: comidl_runtime::S_FALSE,
            })
        }
    }
    let query: bg::midl_only_forward_typedef::midl_only_forward_typedef::IGadgetQuery = to_windows(
        ComObject::new(Query {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        let result = query.Result().expect("Result");
        assert_eq!(result.status, HRESULT(1));
        assert!(result.source.is_none());
        // `[out, size_is(count)]`: an array the caller provides (NativeArrayInfoAttribute
        // keeps windows-bindgen from taking it for a single return value).
        let mut found: [Option<
            bg::midl_only_forward_typedef::midl_only_forward_typedef::IGadgetQuery,
        >; 3] = Default::default();
        assert!(query.Next(3, found.as_mut_ptr()).is_ok());
        assert!(found.iter().all(Option::is_none));
    }
    drop(query);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn midl_only_annotation_annotated() {
    use cm::midl_only_annotation::{ANNOTATED_BUFFER, IAnnotated_Impl};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Annotated {
        _drops: Drops,
    }
    comidl_runtime::implement!(Annotated: cm::midl_only_annotation::IAnnotated);
    impl IAnnotated_Impl for Annotated {
        fn read(&self, buffer: &mut [cm::base::BYTE]) -> comidl_runtime::Result<()> {
            for (i, b) in buffer.iter_mut().enumerate() {
                *b = i as u8 * 2;
            }
            Ok(())
        }
        fn fill(&self, buffer: &ANNOTATED_BUFFER) -> comidl_runtime::Result<()> {
            if buffer.size == 4 {
                Ok(())
            } else {
                Err(E_INVALIDARG)
            }
        }
    }
    use bg::midl_only_annotation::midl_only_annotation::{IAnnotated, tagANNOTATED_BUFFER};
    let annotated: IAnnotated = to_windows(
        ComObject::new(Annotated {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        let mut bytes = [0u8; 5];
        assert!(annotated.Read(5, bytes.as_mut_ptr()).is_ok());
        assert_eq!(bytes, [0, 2, 4, 6, 8]);
        let mut data = [1u8, 2, 3, 4];
        let buffer = tagANNOTATED_BUFFER {
            size: 4,
            data: data.as_mut_ptr(),
        };
        assert!(annotated.Fill(&buffer).is_ok());
    }
    drop(annotated);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn preproc_macro_user() {
    use cm::preproc::{FRAGMENT_SIZE, HWIDGET__, IMacroUser_Impl};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct User {
        area: AtomicI32,
        _drops: Drops,
    }
    comidl_runtime::implement!(User: cm::preproc::IMacroUser);
    impl IMacroUser_Impl for User {
        fn set_size(&self, value: FRAGMENT_SIZE) -> comidl_runtime::Result<()> {
            self.area.store(value.cx * value.cy, Ordering::SeqCst);
            Ok(())
        }
        fn set_widget(&self, value: &HWIDGET__) -> comidl_runtime::Result<()> {
            self.area.store(value.unused, Ordering::SeqCst);
            Ok(())
        }
        fn get_items(&self, items: *mut cm::base::DWORD) -> comidl_runtime::Result<()> {
            for i in 0..cm::preproc::LIMIT as usize {
                // SAFETY: the caller provides LIMIT items.
                unsafe { items.add(i).write(i as u32) };
            }
            Ok(())
        }
    }
    use bg::preproc::preproc::{HWIDGET__ as Widget, IMacroUser, LIMIT, tagFRAGMENT_SIZE};
    let user: IMacroUser = to_windows(
        ComObject::new(User {
            area: AtomicI32::new(0),
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        assert!(user.SetSize(tagFRAGMENT_SIZE { cx: 6, cy: 7 }).is_ok());
        assert!(user.SetWidget(&Widget { unused: 3 }).is_ok());
        let mut items = [u32::MAX; LIMIT as usize];
        assert!(user.GetItems(items.as_mut_ptr()).is_ok());
        assert_eq!(items[15], 15);
    }
    drop(user);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn pack_packed_vtable() {
    use cm::pack::IPacked_Impl;
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static PINGED: AtomicU32 = AtomicU32::new(0);
    struct Packed {
        _drops: Drops,
    }
    comidl_runtime::implement!(Packed: cm::pack::IPacked);
    impl IPacked_Impl for Packed {
        fn ping(&self, b: cm::base::BYTE) -> comidl_runtime::Result<()> {
            PINGED.store(u32::from(b), Ordering::SeqCst);
            Ok(())
        }
    }
    let packed: bg::pack::pack::IPacked = to_windows(
        ComObject::new(Packed {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    assert!(unsafe { packed.Ping(0xAB) }.is_ok());
    assert_eq!(PINGED.load(Ordering::SeqCst), 0xAB);
    drop(packed);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

/// WinRT interfaces derive from IInspectable, which windows-bindgen maps to windows-core's.
#[test]
fn winrt_circle() {
    use cm::winrt::Fixture::Shapes::{ICircle_Impl, ShapeKind, Size};
    use cm::winrt_base::{EventRegistrationToken, FLOAT, HSTRING, IInspectable_Impl, TrustLevel};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Circle {
        radius: Mutex<f32>,
        _drops: Drops,
    }
    comidl_runtime::implement!(Circle: cm::winrt::Fixture::Shapes::ICircle);
    impl IInspectable_Impl for Circle {
        fn get_iids(&self) -> comidl_runtime::Result<(cm::base::ULONG, *mut cm::base::IID)> {
            Ok((0, core::ptr::null_mut()))
        }
        fn get_runtime_class_name(&self) -> comidl_runtime::Result<HSTRING> {
            Ok(core::ptr::null_mut())
        }
        fn get_trust_level(&self) -> comidl_runtime::Result<TrustLevel> {
            Ok(cm::winrt_base::FullTrust)
        }
    }
    impl ICircle_Impl for Circle {
        fn get_radius(&self) -> comidl_runtime::Result<FLOAT> {
            Ok(*self.radius.lock().expect("not poisoned"))
        }
        fn put_radius(&self, value: FLOAT) -> comidl_runtime::Result<()> {
            if value < 0.0 {
                return Err(E_INVALIDARG);
            }
            *self.radius.lock().expect("not poisoned") = value;
            Ok(())
        }
        fn get_kind(&self) -> comidl_runtime::Result<ShapeKind> {
            Ok(ShapeKind::Round)
        }
        fn get_bounds(&self) -> comidl_runtime::Result<Size> {
            let d = 2.0 * *self.radius.lock().expect("not poisoned");
            Ok(Size {
                Width: d,
                Height: d,
            })
        }
        fn add_changed(
            &self,
            _handler: Option<
                &cm::winrt::__FTypedEventHandler_2_Fixture__CShapes__CCircle_IInspectable,
            >,
        ) -> comidl_runtime::Result<EventRegistrationToken> {
            Ok(EventRegistrationToken { value: 77 })
        }
        fn remove_changed(&self, token: EventRegistrationToken) -> comidl_runtime::Result<()> {
            if token.value == 77 {
                Ok(())
            } else {
                Err(E_INVALIDARG)
            }
        }
        fn names(
            &self,
        ) -> comidl_runtime::Result<comidl_runtime::ComPtr<cm::winrt::__FIVector_1_HSTRING>>
        {
            Err(E_NOTIMPL)
        }
    }
    use bg::winrt::Fixture::Shapes::{ICircle, ShapeKind as BgShapeKind};
    use bg::winrt::winrt_base::EventRegistrationToken as BgToken;
    let circle: ICircle = to_windows(
        ComObject::new(Circle {
            radius: Mutex::new(1.0),
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        assert!(circle.put_Radius(2.5).is_ok());
        assert_eq!(circle.get_Radius(), Ok(2.5));
        assert_eq!(circle.put_Radius(-1.0), hr(E_INVALIDARG));
        assert_eq!(circle.get_Kind(), Ok(BgShapeKind::Round));
        let bounds = circle.get_Bounds().expect("Bounds");
        assert_eq!((bounds.Width, bounds.Height), (5.0, 5.0));
        let token = circle.add_Changed(core::ptr::null()).expect("add_Changed");
        assert_eq!(token.value, 77);
        assert!(circle.remove_Changed(BgToken { value: 77 }).is_ok());
        let error = circle.Names().expect_err("E_NOTIMPL");
        assert_eq!(error.code(), hr(E_NOTIMPL));
    }
    // windows-core's IInspectable is the base: the cast works.
    let inspectable: windows_core::IInspectable = circle.cast().expect("IInspectable");
    drop((circle, inspectable));
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn midl_only_winrt_thermometer() {
    use cm::midl_only_winrt::Gadgets::Core::Mode as CoreMode;
    use cm::midl_only_winrt::Gadgets::Core::Sensors::{IThermometer_Impl, Mode};
    use cm::winrt_base::{EventRegistrationToken, HSTRING, IInspectable_Impl, INT32, TrustLevel};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct Thermometer {
        _drops: Drops,
    }
    comidl_runtime::implement!(Thermometer: cm::midl_only_winrt::Gadgets::Core::Sensors::IThermometer);
    impl IInspectable_Impl for Thermometer {
        fn get_iids(&self) -> comidl_runtime::Result<(cm::base::ULONG, *mut cm::base::IID)> {
            Ok((0, core::ptr::null_mut()))
        }
        fn get_runtime_class_name(&self) -> comidl_runtime::Result<HSTRING> {
            Ok(core::ptr::null_mut())
        }
        fn get_trust_level(&self) -> comidl_runtime::Result<TrustLevel> {
            Ok(cm::winrt_base::BaseTrust)
        }
    }
    impl IThermometer_Impl for Thermometer {
        fn get_sensor_mode(&self) -> comidl_runtime::Result<Mode> {
            Ok(Mode::Streaming)
        }
        fn get_core_mode(&self) -> comidl_runtime::Result<CoreMode> {
            Ok(CoreMode::Broken)
        }
        fn add_changed(
            &self,
            _handler: Option<&cm::midl_only_winrt::__FValueChangedHandler_1_FLOAT>,
        ) -> comidl_runtime::Result<EventRegistrationToken> {
            Err(E_NOTIMPL)
        }
        fn remove_changed(&self, _token: EventRegistrationToken) -> comidl_runtime::Result<()> {
            Err(E_NOTIMPL)
        }
        fn legacy_mode(&self) -> comidl_runtime::Result<INT32> {
            Ok(-5)
        }
    }
    use bg::midl_only_winrt::Gadgets::Core::Sensors::IThermometer;
    let thermometer: IThermometer = to_windows(
        ComObject::new(Thermometer {
            _drops: Drops(&DROPS),
        })
        .expect("created"),
    );
    unsafe {
        assert_eq!(
            thermometer.get_SensorMode().map(|m| m.0),
            Ok(Mode::Streaming.0)
        );
        assert_eq!(
            thermometer.get_CoreMode().map(|m| m.0),
            Ok(CoreMode::Broken.0)
        );
        assert_eq!(thermometer.LegacyMode(), Ok(-5));
    }
    drop(thermometer);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

/// idl/comidl_base.idl: the runtime's task allocator, through windows-bindgen's IMalloc.
#[test]
fn comidl_base_task_allocator() {
    let malloc: bg::comidl_base::comidl_base::IMalloc = to_windows(
        comidl_runtime::co_get_malloc()
            .cast::<comidl_runtime::IUnknown>()
            .expect("IUnknown"),
    );
    unsafe {
        let block = malloc.Alloc(48);
        assert!(!block.is_null());
        assert!(malloc.GetSize(block) >= 48);
        assert_eq!(malloc.DidAlloc(block), 1);
        let block = malloc.Realloc(block, 96);
        assert!(!block.is_null());
        assert!(malloc.GetSize(block) >= 96);
        malloc.Free(block);
        malloc.HeapMinimize();
    }
}
