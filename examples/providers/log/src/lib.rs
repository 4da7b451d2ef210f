//! The log transport provider (`libcomidl_log_transport.so`): "sends" a message by
//! formatting it as a log line with its `Prefix` and `Level` settings, which it returns as
//! the receipt (the host prints it).

use comidl_runtime::provider::ProviderContext;
use comidl_runtime::wide;
use comidl_runtime::{ComObject, ComPtr, LPWSTR, Result, WStr};

comidl_runtime::include_idl!(
    /// The bindings of transport.idl.
    pub mod transport
);

use transport::{ITransport, ITransport_Impl};

/// A log transport object.
pub struct Log {
    name: String,
    prefix: String,
    level: String,
}

comidl_runtime::implement!(Log: ITransport);

impl Log {
    /// The transport for the provider the context describes.
    pub fn create(ctx: &ProviderContext) -> Result<ComPtr<ITransport>> {
        ComObject::create::<ITransport>(Log {
            name: ctx.name(),
            prefix: ctx.setting("Prefix").unwrap_or_default(),
            level: ctx.setting("Level").unwrap_or_else(|| "info".into()),
        })
    }
}

impl ITransport_Impl for Log {
    fn submit(&self, message: &WStr) -> Result<LPWSTR> {
        wide::to_task_block(&format!("{}[{}] {message}", self.prefix, self.level))
    }

    fn describe(&self) -> Result<LPWSTR> {
        wide::to_task_block(&format!("{}: log at level {}", self.name, self.level))
    }
}

comidl_runtime::provider_module! {
    LogTransportInit => version 1, |ctx| Log::create(ctx);
}
