//! The store thread, which keeps file writes and `fsync`s off the event
//! loop: it merges the commit jobs waiting for it into one commit, sends
//! each result through a channel and wakes the module with a [`Waker`];
//! the module drains the channel on `Event::Woken`.
//!
//! Start it after privileges are dropped (setuid applies to the whole
//! process only when it has one thread; see [`crate::daemon::privs`]).

use crate::reactor::{WakeId, Waker};
use crate::statd::core::{StoreDone, StoreJob, MAX_BATCH};
use crate::statd::record::Change;
use crate::statd::store::Store;
use std::sync::mpsc::{self, Receiver, Sender};
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::record::{Effect, Registration, UnmonitorKey};
    use crate::statd::store::{BootInfo, NfsUtilsStore};

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
}
