//! The test server module: `Probe` and `LicensedProbe` (see probe.idl). Built as
//! `libcomidl_probe.so`. Besides the server exports it exports
//! `probe_set_machine_licensed`, which the tests call to license the machine.

use core::sync::atomic::{AtomicBool, Ordering};

use comidl_runtime::{
    CLSCTX_INPROC_SERVER, ClassInfo, Creatable, E_OUTOFMEMORY, License, Result, create_instance,
};

comidl_runtime::include_idl!(
    /// The bindings of probe.idl.
    pub mod bindings = "probe"
);

use bindings::{CLASS_LicensedProbe, CLASS_Probe, CLSID_Probe, IProbe, IProbe_Impl};

/// The text `Text` returns.
pub const TEXT: &str = "probe text from the server module";

/// Answers IProbe.
pub struct Probe;

comidl_runtime::implement!(Probe: IProbe);

impl IProbe_Impl for Probe {
    fn text(&self) -> Result<*mut u16> {
        let units: Vec<u16> = TEXT.encode_utf16().chain(Some(0)).collect();
        let block = comidl_runtime::CoTaskMemAlloc(units.len() * 2).cast::<u16>();
        if block.is_null() {
            return Err(E_OUTOFMEMORY);
        }
        // SAFETY: the block holds `units.len()` units.
        unsafe { core::ptr::copy_nonoverlapping(units.as_ptr(), block, units.len()) };
        Ok(block)
    }

    fn apartment(&self) -> Result<i32> {
        Ok(match comidl_runtime::current_apartment() {
            None => 0,
            Some(comidl_runtime::Apartment::SingleThreaded) => 1,
            Some(comidl_runtime::Apartment::MultiThreaded) => 2,
            Some(comidl_runtime::Apartment::ImplicitMultiThreaded) => 3,
        })
    }

    fn nested(&self) -> Result<i32> {
        let other = create_instance::<IProbe>(&CLSID_Probe, CLSCTX_INPROC_SERVER)?;
        let text = other.text()?;
        let mut len = 0;
        // SAFETY: a NUL-terminated task block we own.
        while unsafe { *text.add(len) } != 0 {
            len += 1;
        }
        // SAFETY: ours to free.
        unsafe { comidl_runtime::CoTaskMemFree(text.cast()) };
        Ok(len as i32)
    }
}

impl Creatable for Probe {
    const CLASS: &'static ClassInfo = &CLASS_Probe;
    fn create() -> Result<Probe> {
        Ok(Probe)
    }
}

static MACHINE_LICENSED: AtomicBool = AtomicBool::new(false);

/// The runtime key of LicensedProbe.
pub const KEY: &str = "comidl-probe-runtime-key";

/// LicensedProbe: IProbe behind a licence.
pub struct LicensedProbe;

comidl_runtime::implement!(LicensedProbe: IProbe);

impl IProbe_Impl for LicensedProbe {
    fn text(&self) -> Result<*mut u16> {
        Probe.text()
    }
    fn apartment(&self) -> Result<i32> {
        Probe.apartment()
    }
    fn nested(&self) -> Result<i32> {
        Probe.nested()
    }
}

impl Creatable for LicensedProbe {
    const CLASS: &'static ClassInfo = &CLASS_LicensedProbe;
    const LICENSE: Option<&'static License> = Some(&License {
        key: KEY,
        machine_licensed: || MACHINE_LICENSED.load(Ordering::Acquire),
    });
    fn create() -> Result<LicensedProbe> {
        Ok(LicensedProbe)
    }
}

/// Licenses (non-zero) or unlicenses the machine for LicensedProbe.
#[unsafe(no_mangle)]
pub extern "C" fn probe_set_machine_licensed(licensed: i32) {
    MACHINE_LICENSED.store(licensed != 0, Ordering::Release);
}

comidl_runtime::inproc_server!(Probe, LicensedProbe);
