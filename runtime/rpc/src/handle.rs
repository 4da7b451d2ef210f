//! Client binding handles: what a program holds to call a server named by a string binding.
//!
//! A [`BindingHandle`] connects on its first call (TCP, or a Unix socket for ncalrpc),
//! asking the host's endpoint mapper for the endpoint first when the binding names none,
//! binds each interface lazily (the [`Connection`] does), and keeps the connection for
//! later calls. A server may close a connection that sat idle; before each call the handle
//! looks whether the peer has hung up and, if so, opens a fresh connection first, so the
//! call is sent once. A call that fails mid-way is not repeated (it may have run); the
//! next call reconnects. Every wait is bounded: connecting by
//! [`ClientOptions::connect_timeout`], each read and write of a call by
//! [`ClientOptions::call_timeout`]. Failures carry the spec's statuses:
//! RPC_S_SERVER_UNAVAILABLE (1722) when no connection can be made or the bind fails,
//! RPC_S_CALL_FAILED_DNE (1727) when the request could not be sent (the call did not run),
//! RPC_S_CALL_FAILED (1726) when the reply did not come (it may have run),
//! RPC_S_UNKNOWN_IF (1717) when the server refuses the interface, EPT_S_NOT_REGISTERED
//! (1753) when the mapper knows no endpoint for it.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::time::Duration;

use comidl_runtime_ndr::{CallError, Channel, Interface};

use crate::client::{ClientLimits, Connection, SERVER_UNAVAILABLE};
use crate::epm::ResolveOptions;
use crate::{Protseq, StringBinding};

/// RPC_S_INVALID_BINDING: the binding cannot be used as given (a bad address or endpoint).
pub const INVALID_BINDING: u32 = 1702;
/// EPT_S_NOT_REGISTERED: the endpoint mapper knows no endpoint for the interface.
pub const ENDPOINT_NOT_FOUND: u32 = 1753;

/// How a binding handle connects and waits.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub call_timeout: Duration,
    pub limits: ClientLimits,
    /// Where the endpoint mapper is, for a binding without an endpoint.
    pub mapper: ResolveOptions,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            limits: ClientLimits::default(),
            mapper: ResolveOptions::default(),
        }
    }
}

enum Open {
    Tcp(Connection<TcpStream>),
    Local(Connection<UnixStream>),
}

impl Open {
    fn channel(&self) -> &dyn Channel {
        match self {
            Open::Tcp(c) => c,
            Open::Local(c) => c,
        }
    }
}

struct Live {
    conn: Open,
    /// A second descriptor of the same socket, to look for the peer's hang-up without
    /// taking the connection's lock.
    watch: OwnedFd,
}

/// A client's handle on a server (see the module's documentation).
pub struct BindingHandle {
    /// As given, then with the endpoint the mapper named.
    binding: Mutex<StringBinding>,
    options: ClientOptions,
    live: Mutex<Option<Live>>,
}

impl BindingHandle {
    /// A handle for `binding`. Nothing is connected until the first call; a binding
    /// without an endpoint is completed then, by the endpoint mapper, for that call's
    /// interface.
    pub fn new(mut binding: StringBinding, options: ClientOptions) -> Result<Self, CallError> {
        if binding.endpoint.as_deref() == Some("") {
            binding.endpoint = None;
        }
        Ok(BindingHandle {
            binding: Mutex::new(binding),
            options,
            live: Mutex::new(None),
        })
    }

    /// Parses a string binding and makes a handle for it.
    pub fn parse(binding: &str, options: ClientOptions) -> Result<Self, CallError> {
        let b = StringBinding::parse(binding).map_err(|_| CallError::Transport(INVALID_BINDING))?;
        BindingHandle::new(b, options)
    }

    /// The binding: as given, with the endpoint filled in once the mapper was asked.
    pub fn binding(&self) -> StringBinding {
        self.binding
            .lock()
            .map(|b| b.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The binding with an endpoint: asks the mapper for `interface`'s the first time.
    fn resolved(&self, interface: &Interface) -> Result<StringBinding, CallError> {
        let mut b = self
            .binding
            .lock()
            .map_err(|_| CallError::Transport(SERVER_UNAVAILABLE))?;
        if b.endpoint.is_none() {
            let syntax =
                crate::SyntaxId::new(interface.uuid, interface.version.0, interface.version.1);
            *b = crate::epm::resolve(&b, syntax, &self.options.mapper).map_err(|e| match e {
                crate::epm::EpmError::Call(c) => c,
                // Not registered, or a binding the mapper cannot complete.
                _ => CallError::Transport(ENDPOINT_NOT_FOUND),
            })?;
        }
        Ok(b.clone())
    }

    fn connect(&self, interface: &Interface) -> Result<Live, CallError> {
        let unavailable = |_| CallError::Transport(SERVER_UNAVAILABLE);
        let o = &self.options;
        let binding = self.resolved(interface)?;
        let endpoint = binding.endpoint.as_deref().unwrap_or_default();
        match binding.protseq {
            Protseq::Tcp => {
                let port: u16 = endpoint
                    .parse()
                    .map_err(|_| CallError::Transport(INVALID_BINDING))?;
                let host = match binding.network_address.as_str() {
                    "" => "127.0.0.1",
                    h => h,
                };
                let s = (host, port)
                    .to_socket_addrs()
                    .map_err(|_| CallError::Transport(INVALID_BINDING))?
                    .find_map(|a: SocketAddr| {
                        TcpStream::connect_timeout(&a, o.connect_timeout).ok()
                    })
                    .ok_or(CallError::Transport(SERVER_UNAVAILABLE))?;
                let _ = s.set_nodelay(true);
                s.set_read_timeout(Some(o.call_timeout))
                    .and_then(|()| s.set_write_timeout(Some(o.call_timeout)))
                    .map_err(unavailable)?;
                let watch = s.as_fd().try_clone_to_owned().map_err(unavailable)?;
                Ok(Live {
                    conn: Open::Tcp(Connection::new(s, o.limits).with_object(binding.object)),
                    watch,
                })
            }
            Protseq::Local => {
                let path = crate::transport::ncalrpc_path(endpoint)
                    .map_err(|_| CallError::Transport(INVALID_BINDING))?;
                let s = UnixStream::connect(path).map_err(unavailable)?;
                s.set_read_timeout(Some(o.call_timeout))
                    .and_then(|()| s.set_write_timeout(Some(o.call_timeout)))
                    .map_err(unavailable)?;
                let watch = s.as_fd().try_clone_to_owned().map_err(unavailable)?;
                Ok(Live {
                    conn: Open::Local(Connection::new(s, o.limits).with_object(binding.object)),
                    watch,
                })
            }
        }
    }
}

/// Whether the peer has hung up (or the socket failed): a read would see the end.
fn hung_up(fd: &OwnedFd) -> bool {
    use rustix::net::{RecvFlags, recv};
    let mut b = [0u8; 1];
    match recv(fd, &mut b, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((0, _)) => true,
        // Bytes waiting while no call is in flight are not an answer to anything we
        // sent (a shutdown PDU, say): that connection is finished too.
        Ok(_) => true,
        Err(e) => e != rustix::io::Errno::AGAIN && e != rustix::io::Errno::INTR,
    }
}

impl Channel for BindingHandle {
    fn call(
        &self,
        interface: &Interface,
        opnum: u16,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        let mut live = self
            .live
            .lock()
            .map_err(|_| CallError::Transport(SERVER_UNAVAILABLE))?;
        if live.as_ref().is_some_and(|l| hung_up(&l.watch)) {
            *live = None;
        }
        if live.is_none() {
            *live = Some(self.connect(interface)?);
        }
        let Some(l) = live.as_ref() else {
            return Err(CallError::Transport(SERVER_UNAVAILABLE));
        };
        let result = l.conn.channel().call(interface, opnum, request);
        if let Err(CallError::Transport(_)) = result {
            // The connection is finished; the next call opens another.
            *live = None;
        }
        result
    }
}
