//! The mail transport provider (`libcomidl_mail_transport.so`): "sends" a message by
//! queueing it for the server its `Server` setting names, from its `From` setting.

use comidl_runtime::provider::{ProviderContext, task_wide};
use comidl_runtime::{ComObject, ComPtr, E_INVALIDARG, LPCWSTR, LPWSTR, Result};

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
    fn submit(&self, message: LPCWSTR) -> Result<LPWSTR> {
        // SAFETY: a NULL or NUL-terminated `[in, string]` argument (the IDL's contract).
        let message = unsafe { read_wide(message) }?;
        let n = self
            .queued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        task_wide(&format!(
            "message {n} queued for {} from {}: {message:?}",
            self.server, self.from
        ))
    }

    fn describe(&self) -> Result<LPWSTR> {
        task_wide(&format!("{}: mail via {}", self.name, self.server))
    }
}

/// The text of a NUL-terminated UTF-16 `[in, string]` argument.
///
/// # Safety
/// `text` is NULL or NUL-terminated.
unsafe fn read_wide(text: LPCWSTR) -> Result<String> {
    if text.is_null() {
        return Err(comidl_runtime::E_POINTER);
    }
    let mut len = 0;
    // SAFETY: every unit up to the NUL is readable (the caller's contract).
    while unsafe { *text.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units were just read.
    Ok(String::from_utf16_lossy(unsafe {
        core::slice::from_raw_parts(text, len)
    }))
}

comidl_runtime::provider_module! {
    MailTransportInit => version 1, |ctx| Mail::create(ctx);
}
