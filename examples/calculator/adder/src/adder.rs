//! The Adder class itself, without the module's exports: shared with the local
//! server (`local-server/`), which links the classes into one executable.

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
