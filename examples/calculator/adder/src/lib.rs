//! The Adder in-process server. `Adder` implements IAdder and nothing else: the runtime
//! gives it IUnknown, including the non-delegating IUnknown that lets the Calculator
//! aggregate it. Built as `libcomidl_adder.so`, which exports DllGetClassObject and the
//! other server entry points.

use calculator_bindings::{CLASS_Adder, IAdder, IAdder_Impl};
use comidl_runtime::{ClassInfo, Creatable, E_INVALIDARG, Result};

/// The Adder class.
pub struct Adder;

comidl_runtime::implement!(Adder: IAdder);

impl IAdder_Impl for Adder {
    fn add(&self, a: i32, b: i32) -> Result<i32> {
        a.checked_add(b).ok_or(E_INVALIDARG)
    }
}

impl Creatable for Adder {
    const CLASS: &'static ClassInfo = &CLASS_Adder;
    fn create() -> Result<Adder> {
        Ok(Adder)
    }
}

comidl_runtime::inproc_server!(Adder);
