//! The Calculator class itself, without the module's exports: shared with the local
//! server (`local-server/`), which links the classes into one executable.

use calculator_bindings::{
    CLASS_Calculator, CLSID_Adder, ICalculator, ICalculator_Impl, IFoldObserver,
};
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

    fn fold_observed(
        &self,
        op: &WStr,
        values: &[i32],
        observer: Option<&IFoldObserver>,
    ) -> Result<i32> {
        let step = Step::named(op)?;
        let mut total = step.identity();
        for (i, &v) in values.iter().enumerate() {
            total = step.apply(total, v).ok_or(E_INVALIDARG)?;
            if let Some(o) = observer {
                o.step(i as u32, v, total)?;
            }
        }
        Ok(total)
    }

    fn fold(&self, op: &WStr, values: &[i32], initial: Option<&i32>) -> Result<i32> {
        let step = Step::named(op)?;
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
    fn named(op: &WStr) -> Result<Step> {
        match op.to_string_lossy().as_str() {
            "+" => Ok(Step::Add),
            "*" => Ok(Step::Multiply),
            _ => Err(E_INVALIDARG),
        }
    }

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
