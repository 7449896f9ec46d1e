//! Blocking work off the reactor thread: a fixed pool of threads runs
//! jobs (a read that may hang on a dead disk path, a write to sysfs, a
//! helper program waited for) and hands each result back through a
//! [`Waker`], so the event loop never waits.
//!
//! A job that never returns keeps its thread: the pool does not grow, so
//! at most [`Jobs::threads`] jobs hang at once, and the ones after them
//! wait in the queue (bounded by [`MAX_QUEUED`]; [`Jobs::submit`] refuses
//! more). Timeouts are the caller's: it stops waiting for an id, and a
//! late result for it is simply one it no longer wants.

use crate::reactor::{WakeId, Waker};
use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Most jobs waiting for a thread.
pub const MAX_QUEUED: usize = 1024;

/// One unit of blocking work.
pub type Job<R> = Box<dyn FnOnce() -> R + Send>;

struct Queue<R> {
    waiting: VecDeque<(u64, Job<R>)>,
    closed: bool,
}

type Shared<R> = Arc<(Mutex<Queue<R>>, Condvar)>;

/// The pool; dropping it lets idle threads end (busy ones end after their
/// job; the pool does not wait for them).
pub struct Jobs<R: Send + 'static> {
    shared: Shared<R>,
    done: Receiver<(u64, R)>,
    wake: WakeId,
    threads: usize,
    _handles: Vec<JoinHandle<()>>,
}

impl<R: Send + 'static> std::fmt::Debug for Jobs<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl<R: Send + 'static> Jobs<R> {
    /// `threads` threads named `<name>-<n>`, waking the module through
    /// `waker` when results are waiting. The threads log as the program
    /// scope they were started in ([`crate::log::current_program`]).
    pub fn start(name: &str, threads: usize, waker: Waker) -> io::Result<Jobs<R>> {
        let shared: Shared<R> = Arc::new((
            Mutex::new(Queue {
                waiting: VecDeque::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let (tx, done) = mpsc::channel();
        let wake = waker.id();
        let threads = threads.max(1);
        let mut handles = Vec::with_capacity(threads);
        for n in 0..threads {
            let (shared, tx, waker) = (shared.clone(), tx.clone(), waker.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("{name}-{n}"))
                    .spawn(crate::log::in_current_program(move || {
                        work(&shared, &tx, &waker)
                    }))?,
            );
        }
        Ok(Jobs {
            shared,
            done,
            wake,
            threads,
            _handles: handles,
        })
    }

    /// How many threads the pool has.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The waker id whose `Event::Woken` means results are waiting.
    pub fn wake_id(&self) -> WakeId {
        self.wake
    }

    /// Queues `job` under `id`; `false` (the job dropped) when
    /// [`MAX_QUEUED`] wait already.
    pub fn submit(&self, id: u64, job: Job<R>) -> bool {
        let (lock, ready) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
        if q.waiting.len() >= MAX_QUEUED {
            return false;
        }
        q.waiting.push_back((id, job));
        ready.notify_one();
        true
    }

    /// The next finished job's id and result, if one is waiting.
    pub fn try_recv(&self) -> Option<(u64, R)> {
        self.done.try_recv().ok()
    }
}

impl<R: Send + 'static> Drop for Jobs<R> {
    fn drop(&mut self) {
        let (lock, ready) = &*self.shared;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        ready.notify_all();
    }
}

/// A thread's loop: take a job, run it, send the result, wake the module.
fn work<R>(shared: &Shared<R>, tx: &Sender<(u64, R)>, waker: &Waker) {
    let (lock, ready) = &**shared;
    loop {
        let next = {
            let mut q = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if q.closed {
                    return;
                }
                if let Some(job) = q.waiting.pop_front() {
                    break job;
                }
                q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        let (id, job) = next;
        let result = job();
        if tx.send((id, result)).is_err() {
            return;
        }
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reactor::{Context, Event, Module, Reactor, SystemClock};
    use std::time::{Duration, Instant};

    /// Starts a pool of `threads`, runs `jobs` on it and collects results.
    struct Runner {
        threads: usize,
        jobs: Option<Jobs<u64>>,
        got: Vec<(u64, u64)>,
        wakes: usize,
    }

    impl Module for Runner {
        fn name(&self) -> &str {
            "runner"
        }
        fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
            self.jobs = Some(Jobs::start("test-job", self.threads, cx.waker()?)?);
            Ok(())
        }
        fn on_event(&mut self, _cx: &mut Context<'_>, ev: Event<'_>) {
            if let (Event::Woken(id), Some(jobs)) = (ev, self.jobs.as_ref()) {
                assert_eq!(id, jobs.wake_id());
                self.wakes += 1;
                while let Some(r) = jobs.try_recv() {
                    self.got.push(r);
                }
            }
        }
    }

    fn runner(r: &mut Reactor, threads: usize) -> crate::reactor::ModuleId {
        r.add_module(Box::new(Runner {
            threads,
            jobs: None,
            got: Vec::new(),
            wakes: 0,
        }))
        .unwrap()
    }

    fn turn_until(r: &mut Reactor, id: crate::reactor::ModuleId, n: usize) -> Vec<(u64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while r.module::<Runner>(id).unwrap().got.len() < n && Instant::now() < deadline {
            r.turn(Some(Duration::from_millis(50))).unwrap();
        }
        let mut got = r.module::<Runner>(id).unwrap().got.clone();
        got.sort_unstable();
        got
    }

    #[test]
    fn results_come_back_through_the_waker_with_their_ids() {
        let mut r = Reactor::new(Box::new(SystemClock)).unwrap();
        let id = runner(&mut r, 3);
        let m = r.module::<Runner>(id).unwrap();
        let jobs = m.jobs.as_ref().unwrap();
        assert_eq!(jobs.threads(), 3);
        for n in 0..10u64 {
            assert!(jobs.submit(n, Box::new(move || n * n)));
        }
        let got = turn_until(&mut r, id, 10);
        assert_eq!(got, (0..10).map(|n| (n, n * n)).collect::<Vec<_>>());
        assert!(r.module::<Runner>(id).unwrap().wakes >= 1);
    }

    #[test]
    fn a_hanging_job_keeps_one_thread_and_the_others_go_on() {
        let mut r = Reactor::new(Box::new(SystemClock)).unwrap();
        let id = runner(&mut r, 2);
        let (release, hang) = mpsc::channel::<()>();
        let jobs = r.module::<Runner>(id).unwrap().jobs.as_ref().unwrap();
        assert!(jobs.submit(
            99,
            Box::new(move || {
                let _ = hang.recv();
                0
            })
        ));
        for n in 0..5u64 {
            assert!(jobs.submit(n, Box::new(move || n)));
        }
        assert_eq!(
            turn_until(&mut r, id, 5),
            (0..5).map(|n| (n, n)).collect::<Vec<_>>()
        );
        drop(release);
        assert_eq!(
            turn_until(&mut r, id, 6).len(),
            6,
            "the hung job ends when released"
        );
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut r = Reactor::new(Box::new(SystemClock)).unwrap();
        let id = runner(&mut r, 1);
        let (release, hang) = mpsc::channel::<()>();
        let jobs = r.module::<Runner>(id).unwrap().jobs.as_ref().unwrap();
        let hang = Mutex::new(hang);
        assert!(jobs.submit(
            0,
            Box::new(move || {
                let _ = hang.lock().unwrap().recv();
                0
            })
        ));
        // The one thread may not have taken job 0 yet: allow for it.
        let mut accepted = 0;
        while jobs.submit(1, Box::new(|| 1)) {
            accepted += 1;
            assert!(accepted <= MAX_QUEUED + 1);
        }
        assert!(accepted >= MAX_QUEUED - 1);
        drop(release);
    }
}
