//! Where endpoints live on this machine: ncalrpc's endpoint names become Unix-domain
//! sockets in a directory only the user can enter, and a connected peer's credentials come
//! from the kernel.
//!
//! The directory is `$XDG_RUNTIME_DIR/comidl-rpc` when the user has a runtime directory,
//! else `/tmp/comidl-rpc-<uid>`; `COMIDL_RPC_DIR` overrides both (tests use it). It is
//! created with mode 0700 and refused if another user owns it or others may enter it;
//! sockets in it are mode 0600. So only the user's own processes reach an ncalrpc server,
//! and the server still learns which uid and pid each connection comes from.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

/// The longest endpoint name (a socket path must fit in sun_path's 108 bytes).
pub const MAX_ENDPOINT_NAME: usize = 64;

/// The directory of this user's ncalrpc endpoints, created if missing and checked.
pub fn ncalrpc_dir() -> io::Result<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let dir = match std::env::var_os("COMIDL_RPC_DIR") {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d).join("comidl-rpc"),
            _ => PathBuf::from(format!("/tmp/comidl-rpc-{uid}")),
        },
    };
    match std::fs::create_dir(&dir) {
        Ok(()) => std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} must be a directory of uid {uid} that only it may enter (mode 0700)",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

/// The socket path of an ncalrpc endpoint name.
pub fn ncalrpc_path(endpoint: &str) -> io::Result<PathBuf> {
    let ok = !endpoint.is_empty()
        && endpoint.len() <= MAX_ENDPOINT_NAME
        && endpoint != "."
        && endpoint != ".."
        && endpoint
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "ncalrpc endpoint name {endpoint:?}: 1 to {MAX_ENDPOINT_NAME} letters, digits, \
                 '-', '_' or '.'"
            ),
        ));
    }
    Ok(ncalrpc_dir()?.join(endpoint))
}

/// A fresh endpoint name for a server that did not ask for one (like Windows's
/// `LRPC-<hex>` names).
pub fn dynamic_endpoint() -> String {
    let g = comidl_runtime_core::GUID::try_new_v4().unwrap_or_else(|_| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        comidl_runtime_core::GUID::from_u128(t ^ u128::from(std::process::id()))
    });
    format!("LRPC-{:016x}", g.to_u128() as u64)
}

/// The credentials of the process at the other end of a Unix-domain socket.
pub fn peer_credentials(fd: impl std::os::fd::AsFd) -> Option<(u32, i32)> {
    rustix::net::sockopt::socket_peercred(fd)
        .ok()
        .map(|c| (c.uid.as_raw(), c.pid.as_raw_nonzero().get()))
}
