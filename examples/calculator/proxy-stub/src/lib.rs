//! The calculator example's proxy/stub module (`libcomidl_calculator_ps.so`): the
//! generated proxies and stubs of calculator.idl's interfaces behind an IPSFactoryBuffer.
//! `comidl register` writes `Interface\{iid}\ProxyStubClsid32` for each, naming this
//! module's class (whose CLSID is IAdder's IID, MIDL's default), so a process that does
//! not link the interfaces' proxies — the C client — marshals them through it.

use calculator_bindings::{IAdder_PROXY_STUB, ICalculator_PROXY_STUB, IFoldObserver_PROXY_STUB};

comidl_runtime::proxy_stub_module!(
    IAdder_PROXY_STUB,
    ICalculator_PROXY_STUB,
    IFoldObserver_PROXY_STUB
);
