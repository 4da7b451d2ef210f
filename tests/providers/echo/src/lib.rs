//! The echo test provider module (`libcomidl_echo_provider.so`). Its entry points:
//!
//! - `EchoProviderInit` (version 1): an echo object that prefixes its `Greeting` setting
//!   and appends its `Suffix` setting (empty when the section has none).
//! - `FutureProviderInit` (version 3): the same, built for a newer provider interface.
//! - `FailingProviderInit`: fails with E_ACCESSDENIED and a recorded message.
//! - `PanickingProviderInit`: panics (the entry point must answer E_UNEXPECTED).
//! - `LiarProviderInit`: written by hand, breaks the contract: succeeds while reporting
//!   version 9 (the host must release the object and refuse it).

use core::ffi::c_void;

use comidl_runtime::provider::{IProviderSupport, ProviderContext};
use comidl_runtime::wide;
use comidl_runtime::{ComObject, ComPtr, E_ACCESSDENIED, HRESULT, LPWSTR, Result, WStr};

comidl_runtime::include_idl!(
    /// The bindings of echo.idl.
    pub mod bindings = "echo"
);

use bindings::{IEcho, IEcho_Impl};

/// An echo provider object.
#[derive(Clone)]
pub struct Echo {
    name: String,
    greeting: String,
    suffix: String,
    host_version: u32,
    version: u32,
}

comidl_runtime::implement!(Echo: IEcho);

impl Echo {
    /// A provider object for the provider the context describes, built for `version`.
    pub fn create(ctx: &ProviderContext, version: u32) -> Result<ComPtr<IEcho>> {
        ComObject::create::<IEcho>(Echo {
            name: ctx.name(),
            greeting: ctx.setting("Greeting").unwrap_or_default(),
            suffix: ctx.setting("Suffix").unwrap_or_default(),
            host_version: ctx.host_version(),
            version,
        })
    }
}

impl IEcho_Impl for Echo {
    fn echo(&self, text: &WStr) -> Result<LPWSTR> {
        wide::to_task_block(&format!("{}{text}{}", self.greeting, self.suffix))
    }

    fn describe(&self) -> Result<LPWSTR> {
        wide::to_task_block(&format!(
            "name={} host={} version={}",
            self.name, self.host_version, self.version
        ))
    }

    fn spawn(&self) -> Result<ComPtr<IEcho>> {
        ComObject::create::<IEcho>(self.clone())
    }
}

fn refuse() -> Result<ComPtr<IEcho>> {
    comidl_runtime::host::set_error_message(E_ACCESSDENIED, "the echo provider is switched off");
    Err(E_ACCESSDENIED)
}

comidl_runtime::provider_module! {
    EchoProviderInit => version 1, |ctx| Echo::create(ctx, 1);
    FutureProviderInit => version 3, |ctx| Echo::create(ctx, 3);
    FailingProviderInit => version 1, |_ctx| refuse();
    PanickingProviderInit => version 1, |_ctx| -> Result<ComPtr<IEcho>> {
        panic!("the panicking provider panics")
    };
}

/// A contract breaker: succeeds, hands out an object, and reports version 9.
///
/// # Safety
/// The host's side of the `LPPROVIDERENTRY` contract.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn LiarProviderInit(
    host_version: u32,
    support: Option<IProviderSupport>,
    riid: *const comidl_runtime::GUID,
    provider_version: *mut u32,
    out: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller guarantees.
    let hr = unsafe {
        comidl_runtime::provider::run_entry(
            1,
            host_version,
            support,
            riid,
            provider_version,
            out,
            |ctx| Echo::create(ctx, 9),
        )
    };
    if !provider_version.is_null() {
        // SAFETY: non-NULL and writable (the caller's contract).
        unsafe { provider_version.write(9) };
    }
    hr
}
