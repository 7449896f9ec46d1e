//! The store thread, which keeps file writes and `fsync`s off the event
//! loop: it merges the commit jobs waiting for it into one commit (waiting
//! briefly for the rest of a steady load's changes, [`super::linger`]),
//! sends each result through a channel and wakes the module with a
//! [`Waker`]; the module drains the channel on `Event::Woken`.
//!
//! It also writes the notifier's progress sidecar
//! ([`progress::FILE_NAME`]) for a [`ProgressWriter`], durably
//! ([`durable::write_synced`], then [`durable::sync_dir`]). Each request is
//! the whole file ([`PersistProgress`]), and all of them go through the
//! one queue the thread serves in order, so an older one is never written
//! after a newer; of several waiting at once only the newest is written.
//!
//! Start it after privileges are dropped (setuid applies to the whole
//! process only when it has one thread; see [`crate::daemon::privs`]).

use super::linger::Linger;
use crate::daemon::durable;
use crate::reactor::{WakeId, Waker};
use crate::statd::core::{StoreDone, StoreJob, MAX_BATCH};
use crate::statd::notify::ledger::PersistProgress;
use crate::statd::notify::progress;
use crate::statd::record::Change;
use crate::statd::store::Store;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// What the store thread is handed, in order.
#[derive(Debug)]
enum Work {
    Store(StoreJob),
    Progress(ProgressJob),
    /// Finish what came before and end.
    Stop,
}

/// A progress request of one [`ProgressWriter`]: its directory, the
/// request, and the writer's count of requests the thread is done with.
#[derive(Debug)]
struct ProgressJob {
    dir: PathBuf,
    request: PersistProgress,
    done: Arc<AtomicU64>,
}

/// The store thread is gone; nothing more can be handed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// The store, owned by its own thread.
#[derive(Debug)]
pub struct StoreWorker {
    jobs: Option<Sender<Work>>,
    done: Receiver<StoreDone>,
    waker: WakeId,
    thread: Option<JoinHandle<()>>,
}

impl StoreWorker {
    /// Moves `store` (already loaded) to a new thread, which first writes
    /// what the store left for later ([`Store::settle`]: a deferred reboot
    /// step's moves).
    pub fn start(mut store: Box<dyn Store + Send>, waker: Waker) -> std::io::Result<StoreWorker> {
        let (jobs, job_rx) = mpsc::channel::<Work>();
        let (done_tx, done) = mpsc::channel();
        let id = waker.id();
        // The thread logs as the daemon that started it.
        let thread = std::thread::Builder::new()
            .name("statd-store".into())
            .spawn(crate::log::in_current_program(move || {
                serve(store.as_mut(), &job_rx, &done_tx, &|| waker.wake())
            }))?;
        Ok(StoreWorker {
            jobs: Some(jobs),
            done,
            waker: id,
            thread: Some(thread),
        })
    }

    /// The waker id whose `Event::Woken` means results are waiting (or a
    /// progress write finished).
    pub fn wake_id(&self) -> WakeId {
        self.waker
    }

    /// Hands a job to the store thread.
    pub fn send(&self, job: StoreJob) -> Result<(), Gone> {
        match &self.jobs {
            Some(tx) => tx.send(Work::Store(job)).map_err(|_| Gone),
            None => Err(Gone),
        }
    }

    /// A finished job, if any.
    pub fn try_recv(&self) -> Option<StoreDone> {
        self.done.try_recv().ok()
    }

    /// A handle that has this thread write the progress sidecar in `dir`.
    pub fn progress_writer(&self, dir: &Path) -> Option<ProgressWriter> {
        Some(ProgressWriter {
            tx: self.jobs.clone()?,
            dir: dir.to_path_buf(),
            sent: 0,
            done: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Lets the thread finish its queue and waits for it.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.jobs.take() {
            // Progress writers may hold senders too: say stop.
            let _ = tx.send(Work::Stop);
        }
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

/// Hands [`PersistProgress`] requests to the store thread (see the module
/// doc); the thread wakes its module when it is done with them.
#[derive(Debug)]
pub struct ProgressWriter {
    tx: Sender<Work>,
    dir: PathBuf,
    sent: u64,
    /// Requests the thread is done with (written, failed or replaced by a
    /// newer one).
    done: Arc<AtomicU64>,
}

impl ProgressWriter {
    /// Queues `request` for writing; `Err` if the store thread is gone.
    pub fn write(&mut self, request: PersistProgress) -> Result<(), Gone> {
        self.tx
            .send(Work::Progress(ProgressJob {
                dir: self.dir.clone(),
                request,
                done: self.done.clone(),
            }))
            .map_err(|_| Gone)?;
        self.sent += 1;
        Ok(())
    }

    /// Whether the thread is done with every request queued here.
    pub fn settled(&self) -> bool {
        self.done.load(Ordering::Acquire) >= self.sent
    }
}

/// The thread's loop: takes everything waiting (waiting a little for more
/// when callers keep changes in flight, [`Linger`]), runs its store jobs in
/// order, writes each writer's newest progress request, then `wake`s; ends
/// at [`Work::Stop`] or when every sender is gone.
fn serve(
    store: &mut dyn Store,
    work: &Receiver<Work>,
    done_tx: &Sender<StoreDone>,
    wake: &dyn Fn(),
) {
    let mut warned = false;
    if let Err(e) = store.settle() {
        log::error!("cannot finish the reboot step: {e} (tried again before the next change)");
    }
    let mut linger = Linger::default();
    // What arrived while the last turn ran: the next turn's.
    let mut carried: Vec<Work> = Vec::new();
    loop {
        let mut waiting = std::mem::take(&mut carried);
        if waiting.is_empty() {
            match work.recv() {
                Ok(first) => waiting.push(first),
                Err(_) => return,
            }
        }
        waiting.extend(work.try_iter());
        gather(&linger, work, &mut waiting);
        let started = Instant::now();
        let committed = changes(&waiting);
        let turn = plan(waiting.into_iter());
        for done in run_jobs(store, turn.jobs) {
            if done_tx.send(done).is_err() {
                return;
            }
        }
        for (job, requests) in turn.progress {
            write_progress(&job.dir, &job.request, &mut warned);
            job.done.fetch_add(requests, Ordering::Release);
        }
        if !turn.stop {
            carried = work.try_iter().collect();
            linger.turn_ended(started, Instant::now(), committed, changes(&carried));
        }
        wake();
        if turn.stop {
            return;
        }
    }
}

/// The changes of the commit jobs in `work`.
fn changes(work: &[Work]) -> usize {
    work.iter()
        .map(|w| match w {
            Work::Store(StoreJob::Commit(changes)) => changes.len(),
            _ => 0,
        })
        .sum()
}

/// Waits, as `linger` says, for more work to join `waiting` (see
/// [`super::linger`]); a stop or a closed queue ends the wait.
fn gather(linger: &Linger, work: &Receiver<Work>, waiting: &mut Vec<Work>) {
    if waiting.iter().any(|w| matches!(w, Work::Stop)) {
        return;
    }
    let Some(deadline) = linger.deadline(Instant::now(), changes(waiting)) else {
        return;
    };
    let mut until = deadline;
    while !linger.enough(changes(waiting)) {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return;
        };
        match work.recv_timeout(left) {
            Ok(w) => {
                let stop = matches!(w, Work::Stop);
                waiting.push(w);
                if stop {
                    return;
                }
                waiting.extend(work.try_iter());
                until = deadline.min(Instant::now() + linger.gap());
            }
            Err(_) => return,
        }
    }
}

/// What one turn of the thread does.
#[derive(Debug, Default)]
struct Turn {
    /// The store jobs, in the order given.
    jobs: Vec<StoreJob>,
    /// Each writer's newest progress request, which replaces its others,
    /// and how many requests of that writer it stands for.
    progress: Vec<(ProgressJob, u64)>,
    /// A stop came: nothing after it is taken.
    stop: bool,
}

/// Sorts the work waiting into a [`Turn`], up to the first stop.
fn plan(work: impl Iterator<Item = Work>) -> Turn {
    let mut turn = Turn::default();
    for w in work {
        match w {
            Work::Store(job) => turn.jobs.push(job),
            Work::Progress(job) => {
                match turn
                    .progress
                    .iter_mut()
                    .find(|(older, _)| Arc::ptr_eq(&older.done, &job.done))
                {
                    Some((older, requests)) => {
                        *older = job;
                        *requests += 1;
                    }
                    None => turn.progress.push((job, 1)),
                }
            }
            Work::Stop => {
                turn.stop = true;
                break;
            }
        }
    }
    turn
}

/// Replaces the sidecar in `dir` durably; a failure is a warning the first
/// time, until a write succeeds again (the file is advisory).
fn write_progress(dir: &Path, request: &PersistProgress, warned: &mut bool) {
    let name = OsStr::new(progress::FILE_NAME);
    let written = durable::write_synced(dir, name, &request.encode(), durable::MODE_PRIVATE)
        .and_then(|()| durable::sync_dir(dir));
    let path = dir.join(name);
    match written {
        Ok(()) => *warned = false,
        Err(e) if !*warned => {
            *warned = true;
            log::warn!("cannot write {}: {e}", path.display());
        }
        Err(e) => log::debug!("cannot write {}: {e}", path.display()),
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
    use crate::statd::notify::progress::HostProgress;
    use crate::statd::record::{Effect, Registration, UnmonitorKey};
    use crate::statd::store::{BootInfo, NfsUtilsStore};
    use std::cell::Cell;

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

    fn request(host: &str) -> PersistProgress {
        PersistProgress {
            entries: vec![HostProgress {
                host: host.into(),
                since_unix: 1,
                rounds: 2,
                next_unix: Some(3),
                last_state: None,
            }],
        }
    }

    /// A loaded store in a temporary directory, and the queue its thread
    /// serves.
    struct Bench {
        dir: tempfile::TempDir,
        store: NfsUtilsStore,
        tx: Sender<Work>,
        rx: Receiver<Work>,
        done_tx: Sender<StoreDone>,
        done_rx: Receiver<StoreDone>,
    }

    impl Bench {
        fn new() -> Bench {
            let dir = tempfile::tempdir().unwrap();
            let store = loaded_store(dir.path());
            let (tx, rx) = mpsc::channel();
            let (done_tx, done_rx) = mpsc::channel();
            Bench {
                dir,
                store,
                tx,
                rx,
                done_tx,
                done_rx,
            }
        }

        /// A writer for `sub` of the state directory, as `progress_writer`
        /// makes one.
        fn writer(&self, sub: &str) -> ProgressWriter {
            ProgressWriter {
                tx: self.tx.clone(),
                dir: self.dir.path().join(sub),
                sent: 0,
                done: Arc::new(AtomicU64::new(0)),
            }
        }

        /// The sidecar's bytes in `sm/`.
        fn sidecar(&self) -> Vec<u8> {
            std::fs::read(self.dir.path().join("sm").join(progress::FILE_NAME)).unwrap()
        }
    }

    #[test]
    fn waiting_progress_writes_are_coalesced_to_the_newest_and_stop_ends_the_queue() {
        let mut b = Bench::new();
        let mut progress = b.writer("sm");
        assert!(progress.settled(), "nothing queued yet");
        progress.write(request("a")).unwrap();
        b.tx.send(Work::Store(StoreJob::Commit(vec![mon("x")])))
            .unwrap();
        progress.write(request("b")).unwrap();
        progress.write(request("c")).unwrap();
        assert!(!progress.settled());
        b.tx.send(Work::Stop).unwrap();
        b.tx.send(Work::Store(StoreJob::Commit(vec![mon("late")])))
            .unwrap();
        let wakes = Cell::new(0);
        serve(&mut b.store, &b.rx, &b.done_tx, &|| {
            wakes.set(wakes.get() + 1)
        });
        assert_eq!(wakes.get(), 1, "one turn, then the stop");
        assert_eq!(
            b.done_rx.try_iter().collect::<Vec<_>>(),
            [StoreDone::Committed(Ok(vec![Effect::Added]))]
        );
        assert!(progress.settled(), "a and b were replaced by c");
        assert_eq!(b.sidecar(), request("c").encode());
        let names: Vec<_> = durable::list_dir(&b.dir.path().join("sm"))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [progress::FILE_NAME, "x"], "no temporary left");
    }

    #[test]
    fn progress_writes_of_later_turns_replace_earlier_ones_and_failures_settle() {
        let mut b = Bench::new();
        let mut progress = b.writer("sm");
        let mut lost = b.writer("missing");
        let (tx, rx) = (
            b.tx.clone(),
            std::mem::replace(&mut b.rx, mpsc::channel().1),
        );
        let (store, done_tx) = (&mut b.store, &b.done_tx);
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || serve(store, &rx, done_tx, &|| {}));
            for host in ["first", "second", "third"] {
                progress.write(request(host)).unwrap();
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while !progress.settled() {
                    assert!(std::time::Instant::now() < deadline, "never written");
                    std::thread::yield_now();
                }
                let written = std::fs::read(progress.dir.join(progress::FILE_NAME)).unwrap();
                assert_eq!(written, request(host).encode());
            }
            lost.write(request("nowhere")).unwrap();
            tx.send(Work::Stop).unwrap();
            assert!(worker.join().is_ok());
        });
        assert!(lost.settled(), "a failed write is done with too");
        assert!(!b.dir.path().join("missing").exists());
        assert_eq!(b.sidecar(), request("third").encode());
    }
}
