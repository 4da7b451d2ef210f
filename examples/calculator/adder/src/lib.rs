//! The Adder in-process server. `Adder` implements IAdder and nothing else: the runtime
//! gives it IUnknown, including the non-delegating IUnknown that lets the Calculator
//! aggregate it. Built as `libcomidl_adder.so`, which exports DllGetClassObject and the
//! other server entry points.

mod adder;

pub use adder::Adder;

comidl_runtime::inproc_server!(Adder);
