//! Running calls. The server's threads take turns at the reactor (see [`super::reactor`]);
//! a thread with a call runs it, writes the reply itself (see [`super::outbox`]), and goes
//! on with the connection's next waiting call, if any, before taking another.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use mio::{Token, Waker};

use super::Shared;
use super::outbox::{Item, Job, Outbox};

/// What a worker tells the reactor.
#[derive(Clone, Copy, Debug)]
pub enum Note {
    /// A reply did not fit in the socket: watch for writability.
    Write,
    /// Few enough calls wait: read the connection again.
    Resume,
    /// Nothing runs or waits: the connection may close.
    Idle,
}

/// The calls ready to run, across connections.
#[derive(Default)]
pub struct Pool {
    ready: Mutex<VecDeque<(Arc<Outbox>, Job)>>,
}

impl Pool {
    pub fn push(&self, outbox: Arc<Outbox>, job: Job) {
        self.ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((outbox, job));
    }

    pub fn take(&self) -> Option<(Arc<Outbox>, Job)> {
        self.ready
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }
}

/// The messenger to the reactor.
pub struct Notify {
    pub notes: Sender<(Token, Note)>,
    pub waker: Arc<Waker>,
}

impl Notify {
    fn send(&self, token: Token, note: Note) {
        if self.notes.send((token, note)).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

/// Runs a connection's call, then the calls that wait behind it.
pub fn run(outbox: &Outbox, mut job: Job, shared: &Shared, notify: &Notify) {
    let max_queued = shared.limits.max_queued_calls.max(1);
    loop {
        shared.stats.calls.fetch_add(1, Ordering::Relaxed);
        let (reply, faulted) = super::execute(job.call, &job.peer, shared.limits);
        if faulted {
            shared.stats.faults.fetch_add(1, Ordering::Relaxed);
        }
        let mut p = outbox.lock();
        let mut wants_write = !reply.is_empty() && outbox.send(&mut p, &reply);
        // What waited behind the call: protocol answers go out, the next call runs.
        let mut next = None;
        while let Some(item) = p.queue.pop_front() {
            match item {
                Item::Send(b) => wants_write |= outbox.send(&mut p, &b),
                Item::Run(j) => {
                    p.calls -= 1;
                    next = Some(j);
                    break;
                }
            }
        }
        let resume = p.wants_resume && p.calls < max_queued;
        if resume {
            p.wants_resume = false;
        }
        if next.is_none() {
            p.busy = false;
        }
        let idle = next.is_none() && p.wants_idle && p.idle();
        drop(p);
        if wants_write {
            notify.send(outbox.token, Note::Write);
        }
        if resume {
            notify.send(outbox.token, Note::Resume);
        }
        if idle {
            notify.send(outbox.token, Note::Idle);
        }
        match next {
            Some(j) => job = j,
            None => break,
        }
    }
}
