//! The notifier on its own: the seed's `rpc.statd -n` (statd.notify) and
//! nfs-utils' `sm-notify`. It loads the store, takes the reboot step as
//! configured, notifies every host owed a notice, clears each durably as it
//! answers, and exits: 0 when everyone was notified, 1 when some host was
//! given up (its entry stays in the store).

use super::forget_spool::take_forget_requests;
use super::notify_io::{self, NotifyIo, NotifySockets, SourceConfig};
use super::store_worker::StoreWorker;
use super::{startup, statd_module};
use crate::reactor::{Context, Event, Module, TimerId};
use crate::statd::core::{StoreDone, StoreJob};
use crate::statd::notify::notifier::NotifyConfig;
use crate::statd::notify::schedule::Schedule;
use crate::statd::record::Change;
use crate::statd::store::StoreFormat;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How long a stop signal waits for the store.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the standalone notifier does.
#[derive(Debug, Clone)]
pub struct StandaloneConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// Its layout.
    pub store: StoreFormat,
    /// When to move monitored hosts to the notify list and advance the state.
    pub step: startup::RebootStep,
    /// Source port and address.
    pub source: SourceConfig,
    /// A name sent instead of the records' identities.
    pub identity: Option<Vec<u8>>,
    /// Retry schedule.
    pub schedule: Schedule,
    /// Hosts in flight at once.
    pub window: usize,
    /// Write `Y` to lockd's `nlm_end_grace` once nobody is left.
    pub lift_grace: bool,
    /// Write the state to `/proc/sys/fs/nfs/nsm_local_state`.
    pub tell_kernel: bool,
}

struct Running {
    notify: NotifyIo,
    store: StoreWorker,
    queued: Vec<Change>,
    in_flight: bool,
}

/// The notifier as a reactor module.
pub struct NotifyModule {
    cfg: StandaloneConfig,
    run: Option<Running>,
    stopping: bool,
    stop_timer: Option<TimerId>,
}

impl NotifyModule {
    /// A notifier for `cfg`.
    pub fn new(cfg: StandaloneConfig) -> NotifyModule {
        NotifyModule {
            cfg,
            run: None,
            stopping: false,
            stop_timer: None,
        }
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR2] {
            cx.watch_signal(sig)?;
        }
        let socks = NotifySockets::open(cx, self.cfg.source)?;
        let opened = startup::open_then_drop(
            self.cfg.store,
            &self.cfg.state_dir,
            self.cfg.step,
            startup::Moves::Now,
        )?;
        if self.cfg.tell_kernel {
            statd_module::tell_kernel(opened.state);
        }
        let cfg = NotifyConfig {
            state: opened.state,
            default_name: notify_io::node_name(),
            identity: self.cfg.identity.clone(),
            schedule: self.cfg.schedule.clone(),
            window: self.cfg.window,
        };
        let store = StoreWorker::start(opened.store, cx.waker()?)?;
        let (mut notify, targets) = notify_io::start_notifier(
            cx,
            socks,
            cfg,
            &startup::private_dir(self.cfg.store, &self.cfg.state_dir),
            &store,
            &opened.hosts,
            opened.rebooted,
        )?;
        if targets.is_empty() {
            log::info!("no hosts to notify");
        }
        notify.add(cx, targets);
        self.run = Some(Running {
            notify,
            store,
            queued: Vec::new(),
            in_flight: false,
        });
        self.pump(cx);
        Ok(())
    }

    fn pump(&mut self, cx: &mut Context<'_>) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        r.queued.extend(r.notify.take_cleared());
        if !r.in_flight && !r.queued.is_empty() {
            let batch = std::mem::take(&mut r.queued);
            if r.store.send(StoreJob::Commit(batch)).is_err() {
                log::error!("the store thread is gone");
                cx.exit(1);
                return;
            }
            r.in_flight = true;
        }
        let store_idle = !r.in_flight && r.queued.is_empty() && r.notify.progress_settled();
        if !store_idle {
            return;
        }
        if self.stopping {
            cx.exit(if r.notify.is_idle() { 0 } else { 1 });
            return;
        }
        if r.notify.is_idle() {
            r.notify.flush_progress();
            if !r.notify.progress_settled() {
                // The store thread wakes us once the file is written.
                return;
            }
            let stats = r.notify.stats();
            log::info!(
                "done: {} host(s) notified, {} given up",
                stats.notified,
                stats.given_up
            );
            if stats.given_up == 0 && self.cfg.lift_grace {
                statd_module::lift_grace();
            }
            cx.exit(if stats.given_up == 0 { 0 } else { 1 });
        }
    }
}

impl NotifyModule {
    /// `rpc.statd -N HOST` while we run: stop notifying each host in the
    /// spool and clear it durably.
    fn take_forget_requests(&mut self, cx: &mut Context<'_>) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        match take_forget_requests(&startup::private_dir(self.cfg.store, &self.cfg.state_dir)) {
            Ok(hosts) => {
                for host in hosts {
                    r.notify.forget(cx, &host);
                    log::info!("administrator cleared {}", host.escape_ascii());
                    r.queued.push(Change::NotifyDone {
                        host,
                        my_name: None,
                    });
                }
            }
            Err(e) => log::warn!("cannot read the -N requests: {e}"),
        }
    }
}

impl Module for NotifyModule {
    fn name(&self) -> &str {
        "statd.notify"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.open(cx)
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if let Some(r) = self.run.as_mut() {
            if r.notify.handle_event(cx, &ev) {
                return self.pump(cx);
            }
            if let Event::Woken(id) = ev {
                if id == r.store.wake_id() {
                    while let Some(done) = r.store.try_recv() {
                        r.in_flight = false;
                        if let StoreDone::Committed(Err(e)) = done {
                            log::error!("cannot clear notified hosts: {e}");
                        }
                    }
                    return self.pump(cx);
                }
            }
        }
        match ev {
            Event::Signal(libc::SIGUSR2) => {
                self.take_forget_requests(cx);
                self.pump(cx);
            }
            Event::Signal(sig) if !self.stopping => {
                log::info!("caught signal {sig}, exiting once the store is written");
                if let Some(r) = self.run.as_mut() {
                    r.notify.flush_progress();
                }
                self.stopping = true;
                self.stop_timer = Some(cx.set_timer(cx.now() + STOP_GRACE));
                self.pump(cx);
            }
            Event::Timer(t) if Some(t) == self.stop_timer => cx.exit(1),
            _ => {}
        }
    }
}
