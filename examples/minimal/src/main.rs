//! The smallest comidl project: bindings generated from counter.idl by build.rs, an
//! object implemented in Rust, and a client calling it through its interface.
//!
//! Run with `cargo run -p minimal-example`.

use std::cell::Cell;

use comidl_runtime::{ComObject, E_INVALIDARG, Result};

comidl_runtime::include_idl!(mod counter);

use counter::{ICounter, ICounter_Impl};

/// A counter object: ICounter, plus the IUnknown the runtime gives every object.
struct Counter {
    count: Cell<i32>,
}

comidl_runtime::implement!(Counter: ICounter);

impl ICounter_Impl for Counter {
    fn add(&self, step: i32) -> Result<i32> {
        let count = self.count.get().checked_add(step).ok_or(E_INVALIDARG)?;
        self.count.set(count);
        Ok(count)
    }

    fn reset(&self) -> Result<()> {
        self.count.set(0);
        Ok(())
    }
}

fn main() -> Result<()> {
    let counter = ComObject::create::<ICounter>(Counter {
        count: Cell::new(0),
    })?;
    counter.add(2)?;
    let count = counter.add(40)?;
    println!("count = {count}");
    // An overflow comes back as the HRESULT the object returned.
    let overflow = counter.add(i32::MAX);
    println!("add(i32::MAX) = {overflow:?}");
    counter.reset()?;
    println!("after reset: {}", counter.add(1)?);
    Ok(())
}
