//! What a connection's reactor side and its workers share: the bytes waiting to be sent,
//! the calls waiting to run, and whether one is running.
//!
//! A worker that finishes a call writes the reply to the socket itself (without blocking)
//! and takes the connection's next waiting call, so a request-reply exchange costs one hop
//! from the reactor to a worker and none back. The reactor hears from a worker only when
//! it must act: a reply that did not fit in the socket (watch for writability), a
//! connection that may be read again, or one that may close.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use mio::Token;

use super::Group;
use super::protocol::Call;
use crate::Protseq;

/// Who is at the other end of a bound connection: what every call's `CallInfo` starts
/// from.
pub struct Peer {
    pub protseq: Protseq,
    pub address: String,
    pub credentials: Option<(u32, i32)>,
    pub group: Arc<Group>,
    /// The largest fragment the client takes.
    pub max_xmit: u16,
}

impl Peer {
    /// What a handler learns about `call` from [`super::context::current`].
    pub fn call_info(&self, call: &Call) -> super::CallInfo {
        super::CallInfo {
            protseq: self.protseq,
            peer: self.address.clone(),
            peer_uid: self.credentials.map(|(u, _)| u),
            peer_pid: self.credentials.map(|(_, p)| p),
            object: call.object,
            opnum: call.opnum,
            assoc_group: self.group.id,
            authn_level: call
                .auth
                .as_ref()
                .map_or(crate::auth::AuthnLevel::None, |a| a.level),
            user: call.auth.as_ref().map(|a| a.user.clone()),
            group: self.group.clone(),
        }
    }
}

/// A call and its peer, ready for a worker.
pub struct Job {
    pub call: Call,
    pub peer: Arc<Peer>,
}

/// What waits its turn behind a running call: more calls, and protocol answers (a fault
/// for a refused call, an alter_context_resp) that must not overtake earlier replies.
pub enum Item {
    Run(Job),
    Send(Vec<u8>),
}

/// The state behind the lock.
#[derive(Default)]
pub struct Pending {
    /// Bytes not yet written, from `at`.
    pub out: Vec<u8>,
    pub at: usize,
    /// What waits behind the running call, in order.
    pub queue: VecDeque<Item>,
    /// How many of `queue` are calls.
    pub calls: usize,
    /// A worker is running this connection's call (and will take the next).
    pub busy: bool,
    /// The socket failed or the peer hung up: nothing more is written.
    pub broken: bool,
    /// The reactor stopped reading because too many calls waited: tell it when they
    /// drain.
    pub wants_resume: bool,
    /// The reactor will close the connection once idle: tell it when it is.
    pub wants_idle: bool,
}

impl Pending {
    pub fn drained(&self) -> bool {
        self.at >= self.out.len()
    }

    pub fn idle(&self) -> bool {
        !self.busy && self.queue.is_empty() && (self.drained() || self.broken)
    }
}

/// One connection's shared part.
pub struct Outbox {
    /// The reactor's name for the connection.
    pub token: Token,
    /// A second descriptor of the connection's socket (non-blocking, as the socket is),
    /// for writing from any thread.
    writer: std::fs::File,
    state: Mutex<Pending>,
}

impl Outbox {
    pub fn new(token: Token, fd: OwnedFd) -> Outbox {
        Outbox {
            token,
            writer: std::fs::File::from(fd),
            state: Mutex::new(Pending::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic never happens while the lock is held (no user code runs under it);
        // should one have, the state is still consistent enough to close the connection.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `bytes` and writes what the socket takes; whether bytes remain (the caller
    /// must see that the socket's writability is watched).
    pub fn send(&self, p: &mut Pending, bytes: &[u8]) -> bool {
        if p.broken {
            return false;
        }
        if p.drained() {
            p.out.clear();
            p.at = 0;
        }
        p.out.extend_from_slice(bytes);
        self.flush(p)
    }

    /// Writes what the socket takes; whether bytes remain.
    pub fn flush(&self, p: &mut Pending) -> bool {
        while !p.broken && p.at < p.out.len() {
            match (&self.writer).write(&p.out[p.at..]) {
                Ok(0) => p.broken = true,
                Ok(n) => p.at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => p.broken = true,
            }
        }
        if p.broken || p.drained() {
            p.out.clear();
            p.at = 0;
            // An idle connection keeps a small buffer, not its largest reply's.
            if p.out.capacity() > 64 * 1024 {
                p.out = Vec::new();
            }
        }
        false
    }
}
