//! The mail transport provider (`libcomidl_mail_transport.so`): "sends" a message by
//! queueing it for the server its `Server` setting names, from its `From` setting.

use comidl_runtime::provider::ProviderContext;
use comidl_runtime::wide;
use comidl_runtime::{ComObject, ComPtr, E_INVALIDARG, LPWSTR, Result, WStr};

comidl_runtime::include_idl!(
    /// The bindings of transport.idl.
    pub mod transport
);

use transport::{ITransport, ITransport_Impl};

/// A mail transport object.
pub struct Mail {
    name: String,
    server: String,
    from: String,
    queued: std::sync::atomic::AtomicUsize,
}

comidl_runtime::implement!(Mail: ITransport);

impl Mail {
    /// The transport for the provider the context describes; it needs a `Server`.
    pub fn create(ctx: &ProviderContext) -> Result<ComPtr<ITransport>> {
        let Some(server) = ctx.setting("Server") else {
            comidl_runtime::host::set_error_message(E_INVALIDARG, "the profile sets no `Server`");
            return Err(E_INVALIDARG);
        };
        ComObject::create::<ITransport>(Mail {
            name: ctx.name(),
            server,
            from: ctx.setting("From").unwrap_or_else(|| "nobody".into()),
            queued: Default::default(),
        })
    }
}

impl ITransport_Impl for Mail {
    // The generated trait's signature: the caller (COM's contract) guarantees the string.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    fn submit(&self, message: &WStr) -> Result<LPWSTR> {
        let message = message.to_string_lossy();
        let n = self
            .queued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        wide::to_task_block(&format!(
            "message {n} queued for {} from {}: {message:?}",
            self.server, self.from
        ))
    }

    fn describe(&self) -> Result<LPWSTR> {
        wide::to_task_block(&format!("{}: mail via {}", self.name, self.server))
    }
}

comidl_runtime::provider_module! {
    MailTransportInit => version 1, |ctx| Mail::create(ctx);
}
