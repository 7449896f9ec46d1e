//! The daemon's helper threads, which keep blocking work off the event
//! loop: one store thread (file writes and `fsync`s; it merges the commit
//! jobs waiting for it into one commit) and a few resolver
//! threads (`getaddrinfo`). Each sends its results through a channel and
//! wakes the module with a [`Waker`]; the module drains the channel on
//! `Event::Woken`.
//!
//! Threads must be started after privileges are dropped (setuid applies to
//! the whole process only when it has one thread; see `privs`).

use super::core::{ResolveId, StoreDone, StoreJob, MAX_BATCH};
use super::store::{Change, Store};
use crate::reactor::{WakeId, Waker};
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// The store, owned by its own thread.
#[derive(Debug)]
pub struct StoreWorker {
    jobs: Option<Sender<StoreJob>>,
    done: Receiver<StoreDone>,
    waker: WakeId,
    thread: Option<JoinHandle<()>>,
}

impl StoreWorker {
    /// Moves `store` (already loaded) to a new thread.
    pub fn start(mut store: Box<dyn Store + Send>, waker: Waker) -> std::io::Result<StoreWorker> {
        let (jobs, job_rx) = mpsc::channel::<StoreJob>();
        let (done_tx, done) = mpsc::channel();
        let id = waker.id();
        let thread = std::thread::Builder::new()
            .name("statd-store".into())
            .spawn(move || {
                while let Ok(first) = job_rx.recv() {
                    let mut jobs = vec![first];
                    jobs.extend(job_rx.try_iter());
                    for done in run_jobs(store.as_mut(), jobs) {
                        if done_tx.send(done).is_err() {
                            return;
                        }
                    }
                    waker.wake();
                }
            })?;
        Ok(StoreWorker {
            jobs: Some(jobs),
            done,
            waker: id,
            thread: Some(thread),
        })
    }

    /// The waker id whose `Event::Woken` means results are waiting.
    pub fn wake_id(&self) -> WakeId {
        self.waker
    }

    /// Hands a job to the store thread.
    pub fn send(&self, job: StoreJob) -> Result<(), StoreJob> {
        match &self.jobs {
            Some(tx) => tx.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }

    /// A finished job, if any.
    pub fn try_recv(&self) -> Option<StoreDone> {
        self.done.try_recv().ok()
    }

    /// Lets the thread finish its queue and waits for it.
    pub fn shutdown(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("the store thread panicked");
            }
        }
    }
}

impl Drop for StoreWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs `jobs` in order; a run of commit jobs is one commit (up to
/// [`MAX_BATCH`] changes, or one job if that is bigger). Returns one result
/// per job, in order.
fn run_jobs(store: &mut dyn Store, jobs: Vec<StoreJob>) -> Vec<StoreDone> {
    let mut done = Vec::with_capacity(jobs.len());
    let mut merged: Vec<Vec<Change>> = Vec::new();
    let mut total = 0;
    for job in jobs {
        match job {
            StoreJob::Commit(changes) => {
                if !merged.is_empty() && total + changes.len() > MAX_BATCH {
                    commit_merged(store, std::mem::take(&mut merged), &mut done);
                    total = 0;
                }
                total += changes.len();
                merged.push(changes);
            }
            StoreJob::Reboot(boot_id) => {
                commit_merged(store, std::mem::take(&mut merged), &mut done);
                total = 0;
                done.push(reboot(store, boot_id));
            }
        }
    }
    commit_merged(store, merged, &mut done);
    done
}

/// Commits the changes of several jobs at once; pushes one result per job.
fn commit_merged(store: &mut dyn Store, jobs: Vec<Vec<Change>>, done: &mut Vec<StoreDone>) {
    if jobs.is_empty() {
        return;
    }
    let lens: Vec<usize> = jobs.iter().map(Vec::len).collect();
    let all: Vec<Change> = jobs.into_iter().flatten().collect();
    match store.commit(&all) {
        Ok(effects) => {
            let mut effects = effects.into_iter();
            for len in lens {
                done.push(StoreDone::Committed(Ok(effects
                    .by_ref()
                    .take(len)
                    .collect())));
            }
        }
        Err(e) => {
            log::error!("cannot save the monitor list: {e}");
            let why = e.to_string();
            done.extend(lens.iter().map(|_| StoreDone::Committed(Err(why.clone()))));
        }
    }
}

/// Takes the reboot step, recording `boot_id`.
fn reboot(store: &mut dyn Store, boot_id: Option<Vec<u8>>) -> StoreDone {
    match store.begin_reboot(boot_id.as_deref()) {
        Ok(state) => {
            let to_notify = store
                .hosts()
                .into_iter()
                .filter(|h| h.needs_notify)
                .collect();
            StoreDone::Rebooted(Ok((state, to_notify)))
        }
        Err(e) => {
            log::error!("cannot record the simulated crash: {e}");
            StoreDone::Rebooted(Err(e.to_string()))
        }
    }
}

/// Most lookups queued at once; more are answered "does not resolve" at
/// once (a flood of SM_STAT for random names must not grow memory).
pub const MAX_QUEUED_LOOKUPS: usize = 1024;

/// Resolver threads.
pub const RESOLVER_THREADS: usize = 4;

/// A small pool of threads that run `getaddrinfo`; `Id` names a lookup
/// (the NSM core's [`ResolveId`], the notifier's own ids).
#[derive(Debug)]
pub struct Resolver<Id = ResolveId> {
    jobs: Option<Sender<(Id, Vec<u8>)>>,
    done: Receiver<(Id, Option<Vec<IpAddr>>)>,
    queued: usize,
    waker: WakeId,
    threads: Vec<JoinHandle<()>>,
}

impl<Id: Send + 'static> Resolver<Id> {
    /// Starts [`RESOLVER_THREADS`] threads.
    pub fn start(waker: Waker) -> std::io::Result<Resolver<Id>> {
        let (jobs, job_rx) = mpsc::channel::<(Id, Vec<u8>)>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done) = mpsc::channel();
        let id = waker.id();
        let mut threads = Vec::new();
        for n in 0..RESOLVER_THREADS {
            let (rx, tx, waker) = (job_rx.clone(), done_tx.clone(), waker.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("statd-resolve-{n}"))
                    .spawn(move || loop {
                        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok((id, name)) = job else {
                            return;
                        };
                        if tx.send((id, lookup(&name))).is_err() {
                            return;
                        }
                        waker.wake();
                    })?,
            );
        }
        Ok(Resolver {
            jobs: Some(jobs),
            done,
            queued: 0,
            waker: id,
            threads,
        })
    }

    /// The waker id whose `Event::Woken` means answers are waiting.
    pub fn wake_id(&self) -> WakeId {
        self.waker
    }

    /// Queues a lookup; `false` when the queue is full (answer "does not
    /// resolve" yourself).
    pub fn send(&mut self, id: Id, name: Vec<u8>) -> bool {
        if self.queued >= MAX_QUEUED_LOOKUPS {
            return false;
        }
        match &self.jobs {
            Some(tx) if tx.send((id, name)).is_ok() => {
                self.queued += 1;
                true
            }
            _ => false,
        }
    }

    /// A finished lookup, if any.
    pub fn try_recv(&mut self) -> Option<(Id, Option<Vec<IpAddr>>)> {
        match self.done.try_recv() {
            Ok(a) => {
                self.queued = self.queued.saturating_sub(1);
                Some(a)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}

impl<Id> Drop for Resolver<Id> {
    fn drop(&mut self) {
        // Threads stuck in getaddrinfo are not waited for; they end with
        // the process.
        self.jobs = None;
        self.threads.clear();
    }
}

/// The addresses of `name` (any family), or `None` if it does not resolve.
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
    use crate::statd::store::{BootInfo, Effect, NfsUtilsStore, Registration, UnmonitorKey};

    fn mon(name: &str) -> Change {
        Change::Monitor(Registration {
            mon_name: name.into(),
            my_name: b"me".to_vec(),
            my_prog: 100_021,
            my_vers: 4,
            my_proc: 16,
            cookie: [7; 16],
        })
    }

    fn unmon(name: &str) -> Change {
        Change::Unmonitor(UnmonitorKey {
            mon_name: name.into(),
            my_name: b"me".to_vec(),
            my_prog: 100_021,
            my_vers: Some(4),
            my_proc: 16,
        })
    }

    fn loaded_store(dir: &std::path::Path) -> NfsUtilsStore {
        let mut store = NfsUtilsStore::open(dir);
        store
            .load(&BootInfo {
                boot_id: Some(b"b1".to_vec()),
                now_unix_secs: 0,
            })
            .unwrap();
        store
    }

    #[test]
    fn waiting_commit_jobs_are_merged_and_answered_one_by_one_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = loaded_store(dir.path());
        let jobs = vec![
            StoreJob::Commit(vec![mon("a")]),
            StoreJob::Commit(vec![mon("b"), unmon("a")]),
            StoreJob::Reboot(None),
            StoreJob::Commit(vec![mon("c")]),
        ];
        let state = store.state();
        let done = run_jobs(&mut store, jobs);
        assert_eq!(done.len(), 4);
        assert_eq!(done[0], StoreDone::Committed(Ok(vec![Effect::Added])));
        assert_eq!(
            done[1],
            StoreDone::Committed(Ok(vec![Effect::Added, Effect::Removed(1)]))
        );
        let StoreDone::Rebooted(Ok((new_state, to_notify))) = &done[2] else {
            panic!("{:?}", done[2]);
        };
        assert_eq!(*new_state, state + 2);
        let names: Vec<&[u8]> = to_notify.iter().map(|h| h.name.as_slice()).collect();
        assert_eq!(names, [b"b"]);
        assert_eq!(done[3], StoreDone::Committed(Ok(vec![Effect::Added])));
        assert!(dir.path().join("sm/c").exists());
        assert!(dir.path().join("sm.bak/b").exists());
        assert!(!dir.path().join("sm/a").exists());
    }

    #[test]
    fn a_failed_merged_commit_fails_each_of_its_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = loaded_store(dir.path());
        let jobs = vec![
            StoreJob::Commit(vec![mon("a")]),
            StoreJob::Commit(vec![Change::SetState(0)]),
        ];
        let done = run_jobs(&mut store, jobs);
        assert_eq!(done.len(), 2);
        assert!(done
            .iter()
            .all(|d| matches!(d, StoreDone::Committed(Err(_)))));
        assert!(!dir.path().join("sm/a").exists());
    }

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
}
