//! The log transport provider (`libcomidl_log_transport.so`): "sends" a message by
//! formatting it as a log line with its `Prefix` and `Level` settings, which it returns as
//! the receipt (the host prints it).

use comidl_runtime::provider::{ProviderContext, task_wide};
use comidl_runtime::{ComObject, ComPtr, LPCWSTR, LPWSTR, Result};

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
    // The generated trait's signature: the caller (COM's contract) guarantees the string.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    fn submit(&self, message: LPCWSTR) -> Result<LPWSTR> {
        // SAFETY: a NULL or NUL-terminated `[in, string]` argument (the IDL's contract).
        let message = unsafe { read_wide(message) }?;
        task_wide(&format!("{}[{}] {message}", self.prefix, self.level))
    }

    fn describe(&self) -> Result<LPWSTR> {
        task_wide(&format!("{}: log at level {}", self.name, self.level))
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
    LogTransportInit => version 1, |ctx| Log::create(ctx);
}
