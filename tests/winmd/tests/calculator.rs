//! The calculator, implemented with comidl (calculator-bindings' `IAdder_Impl` and
//! `ICalculator_Impl`) and called through the interfaces windows-bindgen generated from
//! comidl's calculator.winmd, in process.

use std::sync::atomic::{AtomicUsize, Ordering};

use calculator_bindings::{IAdder_Impl, ICalculator_Impl};
use comidl_runtime::{ComObject, ComPtr, E_INVALIDARG};
use comidl_winmd_tests::calculator::CalculatorLib::{IAdder, ICalculator};
use windows_core::{HRESULT, Interface as _};

/// E_INVALIDARG as windows-core spells it.
const INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);

/// An object with both interfaces that counts how often it is destroyed.
struct Calc {
    drops: &'static AtomicUsize,
}

comidl_runtime::implement!(Calc: calculator_bindings::IAdder, calculator_bindings::ICalculator);

impl IAdder_Impl for Calc {
    fn add(&self, a: i32, b: i32) -> comidl_runtime::Result<i32> {
        a.checked_add(b).ok_or(E_INVALIDARG)
    }
}

impl ICalculator_Impl for Calc {
    fn subtract(&self, a: i32, b: i32) -> comidl_runtime::Result<i32> {
        a.checked_sub(b).ok_or(E_INVALIDARG)
    }

    fn multiply(&self, a: i32, b: i32) -> comidl_runtime::Result<i32> {
        a.checked_mul(b).ok_or(E_INVALIDARG)
    }

    fn divide(&self, a: i32, b: i32) -> comidl_runtime::Result<(i32, i32)> {
        match (a.checked_div(b), a.checked_rem(b)) {
            (Some(q), Some(r)) => Ok((q, r)),
            _ => Err(E_INVALIDARG),
        }
    }

    fn fold(
        &self,
        op: &comidl_runtime::WStr,
        values: &[i32],
        initial: Option<&i32>,
    ) -> comidl_runtime::Result<i32> {
        if *op != "+" {
            return Err(E_INVALIDARG);
        }
        let start = initial.copied().unwrap_or(0);
        values
            .iter()
            .try_fold(start, |acc, &v| acc.checked_add(v))
            .ok_or(E_INVALIDARG)
    }

    fn fold_observed(
        &self,
        op: &comidl_runtime::WStr,
        values: &[i32],
        observer: Option<&calculator_bindings::IFoldObserver>,
    ) -> comidl_runtime::Result<i32> {
        let total = self.fold(op, values, None)?;
        if let Some(o) = observer {
            o.step(0, values.first().copied().unwrap_or(0), total)?;
        }
        Ok(total)
    }
}

impl Drop for Calc {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A new object, handed to windows-core as its IUnknown (the reference moves along).
fn new_object(drops: &'static AtomicUsize) -> windows_core::IUnknown {
    let unknown = ComObject::new(Calc { drops }).expect("the object is created");
    // SAFETY: `into_raw` gives up an owned IUnknown reference, which `from_raw` takes.
    unsafe { windows_core::IUnknown::from_raw(unknown.into_raw()) }
}

#[test]
fn add_through_windows_bindgen() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let unknown = new_object(&DROPS);
    let adder: IAdder = unknown.cast().expect("QueryInterface(IAdder)");
    // SAFETY: a live IAdder.
    assert_eq!(unsafe { adder.Add(2, 3) }, Ok(5));
    assert_eq!(unsafe { adder.Add(-7, 7) }, Ok(0));
    // An overflow fails with E_INVALIDARG, which windows-core reports as its error.
    let error = unsafe { adder.Add(i32::MAX, 1) }.expect_err("overflow");
    assert_eq!(error.code(), INVALIDARG);
    drop((unknown, adder));
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn divide_returns_quotient_and_remainder_and_fails_on_zero() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let calc: ICalculator = new_object(&DROPS)
        .cast()
        .expect("QueryInterface(ICalculator)");
    let (mut quotient, mut remainder) = (0, 0);
    // SAFETY: a live ICalculator and two writable i32s.
    let hr = unsafe { calc.Divide(17, 5, &mut quotient, &mut remainder) };
    assert_eq!(hr, HRESULT(0));
    assert_eq!((quotient, remainder), (3, 2));
    let hr = unsafe { calc.Divide(-17, 5, &mut quotient, &mut remainder) };
    assert!(hr.is_ok());
    assert_eq!((quotient, remainder), (-3, -2));
    // Division by zero: E_INVALIDARG, as an HRESULT here (Divide has no retval) and as a
    // windows_core::Error through `ok()`.
    let hr = unsafe { calc.Divide(1, 0, &mut quotient, &mut remainder) };
    assert_eq!(hr, INVALIDARG);
    assert_eq!(hr.ok().expect_err("fails").code(), INVALIDARG);
    assert_eq!(unsafe { calc.Subtract(10, 4) }, Ok(6));
    assert_eq!(unsafe { calc.Multiply(6, 7) }, Ok(42));
    let error = unsafe { calc.Multiply(i32::MAX, 2) }.expect_err("overflow");
    assert_eq!(error.code(), INVALIDARG);
    drop(calc);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

/// windows-rs passes a PCWSTR, a pointer with its count and an optional pointer; comidl's
/// server side hands the implementation a `&WStr`, a slice and an `Option`.
#[test]
fn fold_takes_a_string_a_counted_array_and_an_optional_pointer() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let calc: ICalculator = new_object(&DROPS).cast().expect("ICalculator");
    let values = [20, 22];
    let plus = windows_core::w!("+");
    // windows-bindgen read the .winmd's array and count: it takes a slice too.
    // SAFETY: a live ICalculator; the string is NUL-terminated.
    unsafe {
        assert_eq!(calc.Fold(plus, &values, None), Ok(42));
        assert_eq!(calc.Fold(plus, &values[..1], Some(&100)), Ok(120));
        assert_eq!(calc.Fold(plus, &[], None), Ok(0));
        let error = calc
            .Fold(windows_core::w!("-"), &values, None)
            .expect_err("an unknown operation");
        assert_eq!(error.code(), INVALIDARG);
        // A NULL array with a count, as a C caller could pass: comidl's stub refuses it
        // (E_POINTER) before the implementation sees it.
        let mut result = 0;
        let hr = (calc.vtable().Fold)(
            calc.as_raw(),
            plus,
            2,
            core::ptr::null(),
            core::ptr::null(),
            &mut result,
        );
        assert_eq!(hr, HRESULT(0x8000_4003_u32 as i32));
    }
    drop(calc);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn query_interface_works_both_ways_and_references_balance() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let unknown = new_object(&DROPS);
    let adder: IAdder = unknown.cast().expect("IAdder");
    let calc: ICalculator = adder.cast().expect("IAdder -> ICalculator");
    let back: IAdder = calc.cast().expect("ICalculator -> IAdder");
    assert_eq!(unsafe { back.Add(1, 1) }, Ok(2));
    // One identity: the IUnknown of every interface is the same pointer.
    let id1: windows_core::IUnknown = adder.cast().expect("IUnknown");
    let id2: windows_core::IUnknown = calc.cast().expect("IUnknown");
    assert_eq!(id1.as_raw(), id2.as_raw());
    assert_eq!(id1.as_raw(), unknown.as_raw());
    // An interface the object lacks: E_NOINTERFACE.
    let missing = unknown.cast::<comidl_winmd_tests::pragmas::pragmas::IQuoted>();
    assert_eq!(
        missing.map(|_| ()).expect_err("no IQuoted").code(),
        HRESULT(0x8000_4002_u32 as i32)
    );

    // The other way: a windows-core pointer handed to comidl's wrapper, whose safe method
    // calls through the same vtable.
    let raw = calc.clone().into_raw();
    // SAFETY: `into_raw` gave up an owned ICalculator reference.
    let comidl_calc: ComPtr<calculator_bindings::ICalculator> =
        unsafe { ComPtr::from_raw(raw) }.expect("not NULL");
    assert_eq!(comidl_calc.divide(9, 2), Ok((4, 1)));
    let comidl_adder = comidl_calc
        .cast::<calculator_bindings::IAdder>()
        .expect("comidl's QueryInterface");
    assert_eq!(comidl_adder.add(20, 22), Ok(42));

    // Clones AddRef and drops Release: nothing is destroyed while a reference remains,
    // and the object goes exactly once when the last goes.
    let clones: Vec<IAdder> = (0..10).map(|_| adder.clone()).collect();
    drop(clones);
    drop((unknown, adder, calc, back, id1, id2, comidl_calc));
    assert_eq!(
        DROPS.load(Ordering::SeqCst),
        0,
        "comidl_adder still holds it"
    );
    drop(comidl_adder);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn the_raw_reference_count_is_what_comidl_keeps() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let adder: IAdder = new_object(&DROPS).cast().expect("IAdder");
    let vtable = adder.vtable();
    // SAFETY: AddRef/Release on a live pointer, balanced.
    let (up, down) = unsafe {
        let up = (vtable.base__.AddRef)(adder.as_raw());
        let down = (vtable.base__.Release)(adder.as_raw());
        (up, down)
    };
    // `adder` is the only reference (the IUnknown it came from was dropped).
    assert_eq!((up, down), (2, 1));
    drop(adder);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}
