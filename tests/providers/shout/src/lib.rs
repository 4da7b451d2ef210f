//! The shout test provider module (`libcomidl_shout_provider.so`), a second module for the
//! same profile. `ShoutProviderInit` (version 2) makes objects that answer with the text in
//! capitals, repeated `Repeat` times (a setting; 1 when absent).
//!
//! The module is also an in-process server for the class ShoutServer (the same object,
//! named "ShoutServer"): one `provider_module!` with an `inproc_server` clause makes both.

use comidl_runtime::provider::ProviderContext;
use comidl_runtime::wide;
use comidl_runtime::{ClassInfo, ComObject, ComPtr, Creatable, E_INVALIDARG, LPWSTR, Result, WStr};

comidl_runtime::include_idl!(
    /// The bindings of echo.idl.
    pub mod bindings = "echo"
);

use bindings::{CLASS_ShoutServer, IEcho, IEcho_Impl};

/// A shout provider object.
#[derive(Clone)]
pub struct Shout {
    name: String,
    repeat: usize,
    host_version: u32,
}

comidl_runtime::implement!(Shout: IEcho);

impl Shout {
    /// A provider object for the provider the context describes.
    pub fn provider(ctx: &ProviderContext) -> Result<ComPtr<IEcho>> {
        let repeat = match ctx.setting("Repeat") {
            Some(text) => text.parse().map_err(|_| E_INVALIDARG)?,
            None => 1,
        };
        ComObject::create::<IEcho>(Shout {
            name: ctx.name(),
            repeat,
            host_version: ctx.host_version(),
        })
    }
}

impl IEcho_Impl for Shout {
    fn echo(&self, text: &WStr) -> Result<LPWSTR> {
        let loud = text.to_string_lossy().to_uppercase();
        wide::to_task_block(&vec![loud; self.repeat].join(" "))
    }

    fn describe(&self) -> Result<LPWSTR> {
        wide::to_task_block(&format!(
            "name={} host={} version=2",
            self.name, self.host_version
        ))
    }

    fn spawn(&self) -> Result<ComPtr<IEcho>> {
        ComObject::create::<IEcho>(self.clone())
    }
}

impl Creatable for Shout {
    const CLASS: &'static ClassInfo = &CLASS_ShoutServer;
    fn create() -> Result<Shout> {
        Ok(Shout {
            name: "ShoutServer".into(),
            repeat: 1,
            host_version: 0,
        })
    }
}

comidl_runtime::provider_module! {
    inproc_server(Shout);
    ShoutProviderInit => version 2, |ctx| Shout::provider(ctx);
}
