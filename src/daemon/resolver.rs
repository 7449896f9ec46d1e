//! A small pool of threads that run `getaddrinfo`, so that no lookup ever
//! blocks the event loop. Answers come back through a channel, and the
//! pool wakes its module with a [`Waker`]; the module drains them with
//! [`Resolver::try_recv`] on `Event::Woken`.
//!
//! Two lanes: an [`Lane::Urgent`] lookup (someone waits on it, as a lock
//! manager waits on SM_MON) is taken before any [`Lane::Bulk`] one
//! (lookups the network asks for, background refreshes), and each lane
//! has its own bound ([`MAX_QUEUED_LOOKUPS`]), so a flood of bulk lookups
//! neither delays nor refuses an urgent one. A lookup the bound refuses is
//! for the caller to answer "does not resolve" at once: memory never grows
//! with what the network sends.
//!
//! Start it after privileges are dropped (setuid applies to the whole
//! process only when it has one thread; see [`super::privs`]).

use crate::reactor::{WakeId, Waker};
use std::collections::VecDeque;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Most lookups of one lane queued, running or unanswered at once.
pub const MAX_QUEUED_LOOKUPS: usize = 1024;

/// Resolver threads.
pub const RESOLVER_THREADS: usize = 4;

/// Which queue a lookup waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Someone waits for the answer: taken first.
    Urgent,
    /// Everything else.
    Bulk,
}

impl Lane {
    fn index(self) -> usize {
        match self {
            Lane::Urgent => 0,
            Lane::Bulk => 1,
        }
    }
}

/// The lookups waiting for a thread, by lane.
struct Waiting<Id> {
    lanes: [VecDeque<(Id, Vec<u8>, Lane)>; 2],
    closed: bool,
}

type Shared<Id> = Arc<(Mutex<Waiting<Id>>, Condvar)>;

fn locked<Id>(shared: &Shared<Id>) -> MutexGuard<'_, Waiting<Id>> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The pool; `Id` names a lookup for its owner.
#[derive(Debug)]
pub struct Resolver<Id> {
    shared: Shared<Id>,
    done: Receiver<(Id, Lane, Option<Vec<IpAddr>>)>,
    /// Per lane: sent and not yet received back.
    outstanding: [usize; 2],
    waker: WakeId,
    threads: Vec<JoinHandle<()>>,
}

impl<Id> std::fmt::Debug for Waiting<Id> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("urgent", &self.lanes[0].len())
            .field("bulk", &self.lanes[1].len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl<Id: Send + 'static> Resolver<Id> {
    /// Starts [`RESOLVER_THREADS`] threads named `<name>-resolve-N`.
    pub fn start(name: &str, waker: Waker) -> std::io::Result<Resolver<Id>> {
        let shared: Shared<Id> = Arc::new((
            Mutex::new(Waiting {
                lanes: [VecDeque::new(), VecDeque::new()],
                closed: false,
            }),
            Condvar::new(),
        ));
        let (done_tx, done) = mpsc::channel();
        let id = waker.id();
        let mut threads = Vec::new();
        for n in 0..RESOLVER_THREADS {
            let (shared, tx, waker) = (shared.clone(), done_tx.clone(), waker.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("{name}-resolve-{n}"))
                    .spawn(crate::log::in_current_program(move || {
                        work(&shared, &tx, &waker)
                    }))?,
            );
        }
        Ok(Resolver {
            shared,
            done,
            outstanding: [0, 0],
            waker: id,
            threads,
        })
    }

    /// The waker id whose `Event::Woken` means answers are waiting.
    pub fn wake_id(&self) -> WakeId {
        self.waker
    }

    /// Queues a lookup of `name` in `lane`; `false` when that lane is full
    /// (answer "does not resolve" yourself).
    pub fn send(&mut self, id: Id, name: Vec<u8>, lane: Lane) -> bool {
        let count = &mut self.outstanding[lane.index()];
        if *count >= MAX_QUEUED_LOOKUPS {
            return false;
        }
        let mut waiting = locked(&self.shared);
        if waiting.closed {
            return false;
        }
        waiting.lanes[lane.index()].push_back((id, name, lane));
        drop(waiting);
        self.shared.1.notify_one();
        *count += 1;
        true
    }

    /// A finished lookup, if any: its id and the addresses (`None`: the
    /// name does not resolve).
    pub fn try_recv(&mut self) -> Option<(Id, Option<Vec<IpAddr>>)> {
        match self.done.try_recv() {
            Ok((id, lane, addrs)) => {
                let count = &mut self.outstanding[lane.index()];
                *count = count.saturating_sub(1);
                Some((id, addrs))
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}

/// One thread: urgent lookups first, until the pool closes.
fn work<Id>(shared: &Shared<Id>, tx: &Sender<(Id, Lane, Option<Vec<IpAddr>>)>, waker: &Waker) {
    loop {
        let mut waiting = locked(shared);
        let job = loop {
            if waiting.closed {
                return;
            }
            let [urgent, bulk] = &mut waiting.lanes;
            if let Some(job) = urgent.pop_front().or_else(|| bulk.pop_front()) {
                break job;
            }
            waiting = shared
                .1
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(waiting);
        let (id, name, lane) = job;
        if tx.send((id, lane, lookup(&name))).is_err() {
            return;
        }
        waker.wake();
    }
}

impl<Id> Drop for Resolver<Id> {
    fn drop(&mut self) {
        // Threads stuck in getaddrinfo are not waited for; they end with
        // the process.
        locked(&self.shared).closed = true;
        self.shared.1.notify_all();
        self.threads.clear();
    }
}

/// The addresses of `name` (any family, v4-mapped ones as IPv4, each once),
/// or `None` if it does not resolve.
pub fn lookup(name: &[u8]) -> Option<Vec<IpAddr>> {
    let text = std::str::from_utf8(name).ok()?;
    let found: Vec<IpAddr> = (text, 0)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip().to_canonical())
        .fold(Vec::new(), |mut v, ip| {
            if !v.contains(&ip) {
                v.push(ip);
            }
            v
        });
    (!found.is_empty()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_localhost_and_literals() {
        let found = lookup(b"localhost").unwrap();
        assert!(found.iter().all(|a| a.is_loopback()));
        assert_eq!(
            lookup(b"127.0.0.20"),
            Some(vec!["127.0.0.20".parse().unwrap()])
        );
        assert_eq!(lookup(b"\xff\xfe"), None);
    }

    #[test]
    fn a_full_bulk_lane_still_takes_urgent_lookups_and_they_go_first() {
        let shared: Shared<u32> = Arc::new((
            Mutex::new(Waiting {
                lanes: [VecDeque::new(), VecDeque::new()],
                closed: false,
            }),
            Condvar::new(),
        ));
        let (_tx, done) = mpsc::channel();
        let mut r = Resolver {
            shared: shared.clone(),
            done,
            outstanding: [0, 0],
            waker: WakeId(0),
            threads: Vec::new(),
        };
        for n in 0..MAX_QUEUED_LOOKUPS as u32 {
            assert!(r.send(n, b"bulk".to_vec(), Lane::Bulk));
        }
        assert!(!r.send(9999, b"bulk".to_vec(), Lane::Bulk), "bulk is full");
        assert!(r.send(7, b"urgent".to_vec(), Lane::Urgent));
        let mut waiting = locked(&shared);
        let [urgent, bulk] = &mut waiting.lanes;
        let first = urgent.pop_front().or_else(|| bulk.pop_front()).unwrap();
        assert_eq!((first.0, first.2), (7, Lane::Urgent));
    }
}
