//! The calculator example as an executable server (LocalServer32): the Adder and the
//! Calculator classes in one process, which clients reach with CLSCTX_LOCAL_SERVER
//! through proxies.
//!
//! ```text
//! calculator-local-server /RegServer     register both classes (LocalServer32 = this file)
//! calculator-local-server /UnregServer   remove them
//! calculator-local-server -Embedding     serve (how COM starts it), until no client holds it
//! ```
//!
//! The classes are the in-process servers' own code (the modules' exports left out);
//! the Calculator aggregates the Adder inside this process as it does in-process.

use std::process::ExitCode;

use calculator_bindings::{
    CLSID_Adder, CLSID_Calculator, IAdder_PROXY_STUB, ICalculator_PROXY_STUB,
    IFoldObserver_PROXY_STUB,
};
use comidl_runtime::{ClassFactory, LocalClass, LocalServer, dcom};

#[path = "../../adder/src/adder.rs"]
mod adder;
#[path = "../../calculator/src/calculator.rs"]
mod calculator;

fn main() -> ExitCode {
    // The interfaces this process marshals: its own objects' and the observers clients
    // pass in. With COMIDL_EXAMPLE_STUBS=registry (the C client's run.sh sets it, and the
    // server started for a client inherits it) it links none, and COM marshals them
    // through the registered proxy/stub module instead, as a server that ships its
    // proxies in a module of their own does.
    if std::env::var("COMIDL_EXAMPLE_STUBS").as_deref() != Ok("registry") {
        dcom::register(&[
            &IAdder_PROXY_STUB,
            &ICalculator_PROXY_STUB,
            &IFoldObserver_PROXY_STUB,
        ]);
    }
    LocalServer::new()
        .class(LocalClass {
            clsid: CLSID_Adder,
            name: "comidl example Adder".into(),
            progid: Some("Comidl.Adder.1".into()),
            vi_progid: Some("Comidl.Adder".into()),
            class_object: ClassFactory::<adder::Adder>::new(),
            single_use: false,
        })
        .class(LocalClass {
            clsid: CLSID_Calculator,
            name: "comidl example Calculator".into(),
            progid: Some("Comidl.Calculator.1".into()),
            vi_progid: Some("Comidl.Calculator".into()),
            class_object: ClassFactory::<calculator::Calculator>::new(),
            single_use: false,
        })
        .run()
}
