//! The two sides of the entry-point call: the support object the host hands a provider
//! ([`Support`], implementing `IProviderSupport`), and what a provider module's entry
//! point runs ([`run_entry`], which [`provider_module!`](crate::provider_module)
//! generates a call to) with the [`ProviderContext`] it gives the provider's code.
//!
//! Layer: services. Uses `host`, `object`, `unknown`, `wide` of the layers below.

use core::ffi::c_void;

use super::bindings::{IProviderSupport, IProviderSupport_Impl};
use crate::host::E_REVISION_MISMATCH;
use crate::unknown::{ComPtr, Interface};
use crate::wide::{take_task_block, to_task_block};
use crate::{E_POINTER, GUID, HRESULT, LPWSTR, Result, S_OK, ULONG};
use crate::{WStr, WString};

/// `HRESULT_FROM_WIN32(ERROR_NOT_FOUND)`: what `GetSetting` answers for a setting the
/// provider's section does not have.
pub const E_SETTING_NOT_FOUND: HRESULT = HRESULT::from_win32(1168);

/// The host's support object for one provider: its name, its settings and the version of
/// the provider interface the host speaks.
pub(crate) struct Support {
    pub(crate) name: String,
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) host_version: u32,
}

crate::implement!(Support: IProviderSupport);

impl IProviderSupport_Impl for Support {
    fn get_host_version(&self) -> Result<ULONG> {
        Ok(self.host_version)
    }

    fn get_provider_name(&self) -> Result<LPWSTR> {
        to_task_block(&self.name)
    }

    fn get_setting(&self, name: &WStr) -> Result<LPWSTR> {
        let name = name.to_string_lossy();
        let value = self
            .settings
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(&name))
            .map(|(_, value)| value.as_str());
        match value {
            Some(value) => to_task_block(value),
            None => Err(E_SETTING_NOT_FOUND),
        }
    }
}

/// What a provider's code sees while its entry point runs: the host's support object,
/// read through Rust methods.
pub struct ProviderContext {
    support: ComPtr<IProviderSupport>,
    host_version: u32,
}

impl ProviderContext {
    /// The version of the provider interface the host speaks.
    pub fn host_version(&self) -> u32 {
        self.host_version
    }

    /// The provider's name (its section in the profile); empty if the host cannot say.
    pub fn name(&self) -> String {
        match self.support.get_provider_name() {
            // SAFETY: an `[out, string]` result: a task block we now own.
            Ok(block) => unsafe { take_task_block(block) }.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The provider's setting `key` (compared without regard to ASCII case), or `None`
    /// when its section has no such key.
    pub fn setting(&self, key: &str) -> Option<String> {
        let key = WString::new(key).ok()?;
        let block = self.support.get_setting(&key).ok()?;
        // SAFETY: an `[out, string]` result: a task block we now own.
        unsafe { take_task_block(block) }
    }

    /// The support object itself; clone it to keep it beyond the entry-point call.
    pub fn support(&self) -> &ComPtr<IProviderSupport> {
        &self.support
    }
}

/// The body of a provider entry point (`LPPROVIDERENTRY`) built for provider interface
/// version `own_version`: stores `own_version` in `*provider_version` first; refuses a
/// host speaking an older version with [`E_REVISION_MISMATCH`]; otherwise runs `create`
/// and hands out its object as `riid`. NULL pointers give `E_POINTER`; a panic gives
/// `E_UNEXPECTED`. [`provider_module!`](crate::provider_module) generates the calls.
///
/// # Safety
/// The arguments are those of an `LPPROVIDERENTRY` call: `support` is a live interface
/// pointer (or `None`), `riid` NULL or valid, `provider_version` and `out` NULL or
/// writable.
pub unsafe fn run_entry<J: Interface>(
    own_version: u32,
    host_version: ULONG,
    support: Option<IProviderSupport>,
    riid: *const GUID,
    provider_version: *mut ULONG,
    out: *mut *mut c_void,
    create: impl FnOnce(&ProviderContext) -> Result<ComPtr<J>>,
) -> HRESULT {
    crate::object::guard(|| {
        if provider_version.is_null() {
            return E_POINTER;
        }
        // SAFETY: non-NULL and writable (the caller's contract).
        unsafe { provider_version.write(own_version) };
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: as above.
        unsafe { out.write(core::ptr::null_mut()) };
        // SAFETY: NULL or valid (the caller's contract).
        let (Some(iid), Some(support)) = (unsafe { riid.as_ref() }, support) else {
            return E_POINTER;
        };
        if host_version < own_version {
            crate::host::set_error_message(
                E_REVISION_MISMATCH,
                format!(
                    "the provider was built for provider interface version {own_version}, \
                     but the host speaks version {host_version}"
                ),
            );
            return E_REVISION_MISMATCH;
        }
        let context = ProviderContext {
            support: ComPtr::from_borrowed(&support),
            host_version,
        };
        let object = match create(&context) {
            Ok(object) => object,
            Err(hr) if hr.is_err() => return hr,
            Err(_) => return crate::E_FAIL,
        };
        let mut found = core::ptr::null_mut();
        // SAFETY: `object` is live; QueryInterface writes an owned pointer or NULL.
        let hr = unsafe {
            (crate::object::unknown_vtbl(object.as_raw()).QueryInterface)(
                object.as_raw(),
                iid,
                &mut found,
            )
        };
        if hr.is_err() {
            return hr;
        }
        // SAFETY: writable (checked above); the reference QueryInterface gave is handed on.
        unsafe { out.write(found) };
        S_OK
    })
}
