//! A stream in memory (what `CreateStreamOnHGlobal(NULL, TRUE, ...)` gives on Windows):
//! the IStream the marshalling API writes OBJREFs to and reads them from, and that
//! CoMarshalInterThreadInterfaceInStream hands out.

use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard};

use comidl_runtime_core::{
    ComObject, ComPtr, E_INVALIDARG, E_NOTIMPL, E_OUTOFMEMORY, E_POINTER, HRESULT, Result,
};

use crate::bindings::{
    FILETIME, ISequentialStream_Impl, IStream, IStream_Impl, LARGE_INTEGER, STATSTG, ULARGE_INTEGER,
};

/// `STG_E_INVALIDFUNCTION`: a seek before the start.
const STG_E_INVALIDFUNCTION: HRESULT = HRESULT(0x8003_0001_u32 as i32);
/// `STG_E_MEDIUMFULL`: the stream would pass what memory can address.
const STG_E_MEDIUMFULL: HRESULT = HRESULT(0x8003_0070_u32 as i32);

/// STREAM_SEEK_SET, STREAM_SEEK_CUR, STREAM_SEEK_END.
const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;
const SEEK_END: u32 = 2;
/// STGTY_STREAM.
const STGTY_STREAM: u32 = 2;

/// The bytes and the position.
#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    pos: usize,
}

/// An IStream over bytes in memory; any thread may use it.
#[derive(Default)]
pub struct MemoryStream {
    state: Mutex<State>,
}

comidl_runtime_core::implement!(MemoryStream: IStream);

impl MemoryStream {
    /// A new empty stream.
    pub fn create() -> Result<ComPtr<IStream>> {
        ComObject::new(MemoryStream::default())?.cast::<IStream>()
    }

    /// A new stream holding `bytes`, positioned at their start.
    pub fn with_bytes(bytes: Vec<u8>) -> Result<ComPtr<IStream>> {
        ComObject::new(MemoryStream {
            state: Mutex::new(State { bytes, pos: 0 }),
        })?
        .cast::<IStream>()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }
}

impl ISequentialStream_Impl for MemoryStream {
    fn read(&self, pv: *mut c_void, cb: u32) -> Result<u32> {
        if pv.is_null() && cb > 0 {
            return Err(E_POINTER);
        }
        let mut s = self.lock();
        let start = s.pos.min(s.bytes.len());
        let n = (cb as usize).min(s.bytes.len() - start);
        if n > 0 {
            // SAFETY: the caller's buffer holds `cb` >= `n` bytes (IStream's contract).
            unsafe { std::ptr::copy_nonoverlapping(s.bytes[start..].as_ptr(), pv.cast(), n) };
        }
        s.pos = start + n;
        Ok(n as u32)
    }

    fn write(&self, pv: *const c_void, cb: u32) -> Result<u32> {
        if pv.is_null() && cb > 0 {
            return Err(E_POINTER);
        }
        let n = cb as usize;
        let mut s = self.lock();
        let end = s.pos.checked_add(n).ok_or(STG_E_MEDIUMFULL)?;
        if end > s.bytes.len() {
            let more = end - s.bytes.len();
            s.bytes.try_reserve(more).map_err(|_| E_OUTOFMEMORY)?;
            s.bytes.resize(end, 0);
        }
        if n > 0 {
            let pos = s.pos;
            // SAFETY: the caller's buffer holds `cb` bytes (IStream's contract).
            let from = unsafe { std::slice::from_raw_parts(pv.cast::<u8>(), n) };
            s.bytes[pos..end].copy_from_slice(from);
        }
        s.pos = end;
        Ok(cb)
    }
}

impl IStream_Impl for MemoryStream {
    fn seek(&self, by: LARGE_INTEGER, origin: u32) -> Result<ULARGE_INTEGER> {
        let mut s = self.lock();
        let base = match origin {
            SEEK_SET => 0i128,
            SEEK_CUR => s.pos as i128,
            SEEK_END => s.bytes.len() as i128,
            _ => return Err(E_INVALIDARG),
        };
        let to = base + i128::from(by.QuadPart);
        if to < 0 {
            return Err(STG_E_INVALIDFUNCTION);
        }
        s.pos = usize::try_from(to).map_err(|_| STG_E_MEDIUMFULL)?;
        Ok(ULARGE_INTEGER {
            QuadPart: s.pos as u64,
        })
    }

    fn set_size(&self, size: ULARGE_INTEGER) -> Result<()> {
        let n = usize::try_from(size.QuadPart).map_err(|_| STG_E_MEDIUMFULL)?;
        let mut s = self.lock();
        if n > s.bytes.len() {
            let more = n - s.bytes.len();
            s.bytes.try_reserve(more).map_err(|_| E_OUTOFMEMORY)?;
        }
        s.bytes.resize(n, 0);
        Ok(())
    }

    fn copy_to(
        &self,
        to: Option<&IStream>,
        cb: ULARGE_INTEGER,
    ) -> Result<(ULARGE_INTEGER, ULARGE_INTEGER)> {
        let to = to.ok_or(E_POINTER)?;
        let chunk = {
            let mut s = self.lock();
            let start = s.pos.min(s.bytes.len());
            let n = usize::try_from(cb.QuadPart)
                .unwrap_or(usize::MAX)
                .min(s.bytes.len() - start);
            s.pos = start + n;
            s.bytes[start..start + n].to_vec()
        };
        let mut written = 0u64;
        for part in chunk.chunks(u32::MAX as usize) {
            // SAFETY: `part` holds the bytes the length says.
            written += u64::from(unsafe { to.write(part.as_ptr().cast(), part.len() as u32) }?);
        }
        Ok((
            ULARGE_INTEGER {
                QuadPart: chunk.len() as u64,
            },
            ULARGE_INTEGER { QuadPart: written },
        ))
    }

    fn commit(&self, _flags: u32) -> Result<()> {
        // Memory has nothing to commit to.
        Ok(())
    }

    fn revert(&self) -> Result<()> {
        Ok(())
    }

    fn lock_region(&self, _: ULARGE_INTEGER, _: ULARGE_INTEGER, _: u32) -> Result<()> {
        // STG_E_INVALIDFUNCTION: region locking is not supported, as for HGLOBAL streams.
        Err(STG_E_INVALIDFUNCTION)
    }

    fn unlock_region(&self, _: ULARGE_INTEGER, _: ULARGE_INTEGER, _: u32) -> Result<()> {
        Err(STG_E_INVALIDFUNCTION)
    }

    fn stat(&self, _flags: u32) -> Result<STATSTG> {
        let s = self.lock();
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        Ok(STATSTG {
            pwcsName: std::ptr::null_mut(),
            r#type: STGTY_STREAM,
            cbSize: ULARGE_INTEGER {
                QuadPart: s.bytes.len() as u64,
            },
            mtime: zero,
            ctime: zero,
            atime: zero,
            grfMode: 0,
            grfLocksSupported: 0,
            clsid: Default::default(),
            grfStateBits: 0,
            reserved: 0,
        })
    }

    fn clone(&self) -> Result<Option<ComPtr<IStream>>> {
        // A clone shares the bytes on Windows; a copy would be a different stream.
        Err(E_NOTIMPL)
    }
}

/// Reads exactly `n` bytes from `stream`; a short stream is an error.
pub(crate) fn read_exact(stream: &IStream, n: usize, short: HRESULT) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| E_OUTOFMEMORY)?;
    out.resize(n, 0);
    let mut got = 0;
    while got < n {
        let want = u32::try_from(n - got).unwrap_or(u32::MAX);
        // SAFETY: `out[got..]` has room for `want` bytes.
        let read = unsafe { stream.read(out.as_mut_ptr().add(got).cast(), want) }? as usize;
        if read == 0 {
            return Err(short);
        }
        got += read.min(n - got);
    }
    Ok(out)
}

/// Writes all of `bytes` to `stream`.
pub(crate) fn write_all(stream: &IStream, bytes: &[u8]) -> Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        let part = &bytes[done..];
        let n = u32::try_from(part.len()).unwrap_or(u32::MAX);
        // SAFETY: `part` holds at least `n` bytes.
        let wrote = unsafe { stream.write(part.as_ptr().cast(), n) }? as usize;
        if wrote == 0 {
            return Err(STG_E_MEDIUMFULL);
        }
        done += wrote.min(part.len());
    }
    Ok(())
}

/// All of a stream's bytes, read from its start (its position is left at the end).
pub(crate) fn contents(stream: &IStream) -> Result<Vec<u8>> {
    let size = stream.stat(1)?.cbSize.QuadPart;
    let size = usize::try_from(size).map_err(|_| E_OUTOFMEMORY)?;
    stream.seek(LARGE_INTEGER { QuadPart: 0 }, SEEK_SET)?;
    read_exact(stream, size, STG_E_INVALIDFUNCTION)
}
