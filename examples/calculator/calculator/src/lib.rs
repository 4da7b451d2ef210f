//! The Calculator in-process server. `Calculator` implements ICalculator itself and gets
//! IAdder by aggregating the Adder class: the runtime creates an Adder (loaded from the
//! class registry like any other class) with the Calculator's controlling unknown, and
//! answers QueryInterface(IAdder) with the Adder's interface. Built as
//! `libcomidl_calculator.so`.

use calculator_bindings::{CLASS_Calculator, CLSID_Adder, ICalculator, ICalculator_Impl};
use comidl_runtime::{Aggregate, ClassInfo, Creatable, E_INVALIDARG, Result, WStr};

/// The Calculator class.
pub struct Calculator {
    adder: Aggregate,
}

comidl_runtime::implement!(Calculator: ICalculator; aggregate adder = CLSID_Adder);

impl ICalculator_Impl for Calculator {
    fn subtract(&self, a: i32, b: i32) -> Result<i32> {
        a.checked_sub(b).ok_or(E_INVALIDARG)
    }

    fn multiply(&self, a: i32, b: i32) -> Result<i32> {
        a.checked_mul(b).ok_or(E_INVALIDARG)
    }

    fn divide(&self, a: i32, b: i32) -> Result<(i32, i32)> {
        match (a.checked_div(b), a.checked_rem(b)) {
            (Some(quotient), Some(remainder)) => Ok((quotient, remainder)),
            _ => Err(E_INVALIDARG),
        }
    }

    fn fold(&self, op: &WStr, values: &[i32], initial: Option<&i32>) -> Result<i32> {
        let step = match op.to_string_lossy().as_str() {
            "+" => Step::Add,
            "*" => Step::Multiply,
            _ => return Err(E_INVALIDARG),
        };
        values
            .iter()
            .try_fold(initial.copied().unwrap_or(step.identity()), |acc, &v| {
                step.apply(acc, v)
            })
            .ok_or(E_INVALIDARG)
    }
}

/// The operations `Fold` knows.
#[derive(Clone, Copy)]
enum Step {
    Add,
    Multiply,
}

impl Step {
    fn identity(self) -> i32 {
        match self {
            Step::Add => 0,
            Step::Multiply => 1,
        }
    }

    /// `None` on overflow.
    fn apply(self, a: i32, b: i32) -> Option<i32> {
        match self {
            Step::Add => a.checked_add(b),
            Step::Multiply => a.checked_mul(b),
        }
    }
}

impl Creatable for Calculator {
    const CLASS: &'static ClassInfo = &CLASS_Calculator;
    fn create() -> Result<Calculator> {
        Ok(Calculator {
            adder: Aggregate::new(),
        })
    }
}

comidl_runtime::inproc_server!(Calculator; type_library = calculator_bindings::TYPE_LIBRARY);
