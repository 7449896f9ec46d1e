//! The rpc.statd module on the reactor: NSM listeners, rpcbind registration
//! (with the embedded portmapper as fallback), the NSM core with its store
//! and resolver threads, lock-manager callbacks, HA callouts, and orderly
//! shutdown.
//!
//! Start order (as nfs-utils): bind every socket that needs a reserved port
//! (listeners when `-p` is below 1024, the rpcbind client, the callback
//! socket), drop privileges to the owner of the state directory, load the
//! store, start the helper threads, register with rpcbind. The ready pipe
//! (daemon mode) is told once registration is over.
//!
//! Registration comes before any NSM answer: calls that arrive earlier are
//! held ([`Hold`]) and answered once it is over, so whoever gets an answer
//! also finds the program with `rpcinfo`. When nothing listens on port 111
//! (a refused connection), the embedded portmapper serves at once with
//! NSM already in its table, before privileges are dropped. A statd of
//! another process that is registered and answers is not replaced: the
//! entry point checks that before the module starts
//! ([`super::startup::refuse_second_statd`]).
//!
//! (A little over 600 lines: one module, whose start sequence and event
//! dispatch read best in one place; its engines live elsewhere.)

use super::callback_io::CallbackIo;
use super::forget_spool::take_forget_requests;
use super::ha_callout::HaCallout;
use super::notify_io::{self, NotifyIo, NotifySockets, SourceConfig};
use super::store_worker::StoreWorker;
use super::{kernel, startup};
use crate::daemon::children::ChildQueue;
use crate::daemon::detach::ReadyPipe;
use crate::daemon::resolver::{Lane, Resolver};
use crate::portmap::{Outcome, Registration};
use crate::proto::sm_inter::{SM_PROG, SM_VERS};
use crate::reactor::{Context, Event, Module, TcpOpts, TimerId};
use crate::service::endpoint::{EndpointConfig, RpcEndpoint};
use crate::service::hold::Hold;
use crate::service::portmapper::PortmapModule;
use crate::service::registrar::{self, initial_xid, Progress, Registrar};
use crate::statd::config::Config;
use crate::statd::core::{Callout, NsmCore, Output, ResolveId};
use crate::statd::notify::{self, notifier::NotifyConfig};
use std::io;
use std::time::Duration;

/// How long shutdown waits for rpcbind and the store.
const STOP_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Registering,
    Serving,
    Stopping,
}

/// What the daemon runs once started.
struct Running {
    endpoint: RpcEndpoint,
    registrar: Registrar,
    core: NsmCore,
    /// NSM calls that arrived before registration was over.
    held: Hold,
    store: StoreWorker,
    resolver: Resolver<ResolveId>,
    callbacks: CallbackIo,
    notify: NotifyIo,
    /// Hosts owed a notice that notification was turned off for; sent on
    /// SIGUSR1 (a notifier handing its work over).
    deferred: Vec<notify::notifier::Target>,
    /// This boot's reboot step, left for a separate notifier: taken on
    /// SIGUSR1 (boot id to record).
    step_owed: Option<Vec<u8>>,
    /// Hosts were pending at the last look (for lifting lockd's grace
    /// period once they are all done).
    notifying: bool,
}

/// rpc.statd as a reactor module.
pub struct StatdModule {
    cfg: Config,
    callout: Option<HaCallout>,
    run: Option<Running>,
    ready: Option<ReadyPipe>,
    phase: Phase,
    /// We serve the embedded portmapper (it ends with us: nothing to
    /// unregister).
    embedded: bool,
    /// No portmapper listens and none is embedded: NSM runs unregistered.
    unregistered_service: bool,
    unregistered: bool,
    stop_timer: Option<TimerId>,
    /// A standalone notifier handed its work over at start.
    took_over: bool,
    /// Stay root after opening the store (see [`StatdModule::keeping_root`]).
    keep_root: bool,
    /// HA callouts running and waiting.
    callouts: ChildQueue,
    /// Warnings about a full lookup queue.
    lookup_warn: crate::log::RateLimit,
}

impl StatdModule {
    /// A daemon for `cfg`; `ready` is told once it serves (daemon mode).
    pub fn new(cfg: Config, ready: Option<ReadyPipe>) -> StatdModule {
        let callout = cfg
            .ha_callout
            .as_ref()
            .map(|prog| HaCallout::new(prog.as_os_str(), &cfg.state_dir));
        StatdModule {
            cfg,
            callout,
            run: None,
            ready,
            phase: Phase::Registering,
            embedded: false,
            unregistered_service: false,
            unregistered: false,
            stop_timer: None,
            took_over: false,
            keep_root: false,
            callouts: ChildQueue::new("HA callout"),
            lookup_warn: crate::log::RateLimit::default(),
        }
    }

    /// Whether a standalone notifier handed over its work at start: its
    /// hosts are notified even with notification turned off.
    pub fn taking_over(mut self, took_over: bool) -> StatdModule {
        self.took_over = took_over;
        self
    }

    /// Whether to stay root after opening the store (another daemon in
    /// the process needs it; see `daemon::host`).
    pub fn keeping_root(mut self, keep: bool) -> StatdModule {
        self.keep_root = keep;
        self
    }

    /// The NSM core, for tests.
    pub fn core(&self) -> Option<&NsmCore> {
        self.run.as_ref().map(|r| &r.core)
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let cfg = EndpointConfig {
            port: self.cfg.port,
            tcp: TcpOpts {
                max_conns: self.cfg.max_connections,
                idle_timeout: Some(self.cfg.idle_timeout),
                local_reserve: crate::service::endpoint::LOCAL_RESERVE,
            },
            max_record: self.cfg.max_record,
            ..EndpointConfig::default()
        };
        log::debug!(
            "limits: {} TCP connections per listener, idle ones closed after {} s, records up to {} bytes",
            self.cfg.max_connections,
            self.cfg.idle_timeout.as_secs(),
            self.cfg.max_record
        );
        let endpoint = RpcEndpoint::bind(cx, &cfg)
            .map_err(|e| with_context(e, "cannot create the NSM listeners"))?;
        let netids: Vec<&str> = endpoint.bound().iter().map(|(n, _)| n.as_str()).collect();
        log::info!(
            "listening on port {} ({})",
            endpoint.port(),
            netids.join(", ")
        );
        if registrar::rpcbind_refused() {
            self.no_rpcbind(cx, &endpoint, "the connection was refused");
        }
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
        ] {
            cx.watch_signal(sig)?;
        }
        let registrar = Registrar::open(cx)?;
        let callbacks = CallbackIo::open(cx, initial_xid())?;
        let socks = NotifySockets::open(
            cx,
            SourceConfig {
                port: self.cfg.outgoing_port,
                addr: None,
            },
        )
        .map_err(|e| with_context(e, "cannot create the notification sockets"))?;
        let step = if self.cfg.no_notify {
            startup::RebootStep::Never
        } else {
            startup::RebootStep::OnNewBoot
        };
        let opened = if self.keep_root {
            startup::open(
                self.cfg.store.open(&self.cfg.state_dir),
                step,
                startup::Moves::OnStoreThread,
                &self.cfg.state_dir,
            )?
        } else {
            startup::open_then_drop(
                self.cfg.store,
                &self.cfg.state_dir,
                step,
                startup::Moves::OnStoreThread,
            )?
        };
        tell_kernel(opened.state);
        let core = NsmCore::new(opened.state, &opened.hosts);
        let store = StoreWorker::start(opened.store, cx.waker()?)?;
        let resolver = Resolver::start("statd", cx.waker()?)?;
        let (mut notify, targets) = notify_io::start_notifier(
            cx,
            socks,
            self.notify_config(opened.state),
            &startup::private_dir(self.cfg.store, &self.cfg.state_dir),
            &store,
            &opened.hosts,
            opened.rebooted,
        )?;
        let mut deferred = Vec::new();
        if self.cfg.no_notify && !self.took_over {
            if !targets.is_empty() {
                log::info!(
                    "not notifying {} host(s): notification is left to sm-notify \
                     (it hands over with SIGUSR1)",
                    targets.len()
                );
            }
            deferred = targets;
        } else {
            notify.add(cx, targets);
        }
        self.run = Some(Running {
            held: Hold::new(SM_PROG, SM_VERS..=SM_VERS),
            endpoint,
            registrar,
            core,
            store,
            resolver,
            callbacks,
            notifying: notify.pending() > 0,
            notify,
            deferred,
            step_owed: opened.step_owed.clone(),
        });
        if !self.cfg.no_notify || self.took_over {
            self.after_notify();
        }
        match self.run.as_mut() {
            Some(r) if !self.embedded && !self.unregistered_service => {
                let plan = register_plan(&r.endpoint);
                r.registrar.start(cx, plan);
            }
            _ => self.serving(cx),
        }
        self.pump(cx);
        Ok(())
    }

    /// No portmapper answers (`why`): serve the embedded one with NSM in its
    /// table, if allowed, else run unregistered.
    fn no_rpcbind(&mut self, cx: &mut Context<'_>, endpoint: &RpcEndpoint, why: &str) {
        if !self.cfg.embedded_portmap {
            log::warn!("no rpcbind answered on 127.0.0.1:111; NSM is served unregistered ({why})");
            self.unregistered_service = true;
            return;
        }
        log::warn!(
            "no rpcbind answered on 127.0.0.1:111; serving an embedded portmapper \
             (program 100000 versions 2-4) on port 111 ({why})"
        );
        let portmapper =
            PortmapModule::standard().with_registered(SM_PROG, SM_VERS, endpoint.bound(), &owner());
        match cx.add_module(Box::new(portmapper)) {
            Ok(_) => {
                log::info!("program {SM_PROG} version {SM_VERS} is in the embedded portmapper");
                self.embedded = true;
            }
            Err(e) => {
                log::error!("cannot serve an embedded portmapper: {e}; NSM is unregistered");
                self.unregistered_service = true;
            }
        }
    }

    /// Registration is over: answer the calls held meanwhile and from now
    /// on, and tell the waiting parent (daemon mode).
    fn serving(&mut self, cx: &mut Context<'_>) {
        if self.phase == Phase::Registering {
            self.phase = Phase::Serving;
        }
        if let Some(r) = self.run.as_mut() {
            if !r.held.is_empty() {
                log::debug!("answering {} call(s) held until registration", r.held.len());
            }
            for (to, answer) in r.held.release(&mut r.core) {
                r.endpoint.complete(cx, to, answer);
            }
        }
        if let Some(ready) = self.ready.take() {
            ready.ready();
        }
        self.pump(cx);
    }

    fn notify_config(&self, state: i32) -> NotifyConfig {
        NotifyConfig {
            state,
            default_name: notify_io::node_name(),
            identity: self.cfg.name.as_ref().map(|n| n.as_bytes().to_vec()),
            schedule: self.cfg.notify_schedule.clone(),
            window: self.cfg.notify_window,
        }
    }

    /// Once nobody is left to notify, lets lockd out of its grace period
    /// early (as sm-notify does).
    fn after_notify(&mut self) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        let pending = r.notify.pending() > 0;
        if r.notifying && !pending {
            log::info!("every host is notified");
        }
        if !pending {
            lift_grace();
        }
        r.notifying = pending;
    }

    fn registered(&mut self, cx: &mut Context<'_>, outcome: Outcome) {
        if self.phase == Phase::Stopping {
            log::debug!("unregistered from the portmapper");
            self.unregistered = true;
            self.maybe_exit(cx);
            return;
        }
        match outcome {
            Outcome::NoRpcbind => {
                if let Some(r) = self.run.take() {
                    self.no_rpcbind(cx, &r.endpoint, "no reply over UDP");
                    self.run = Some(r);
                }
            }
            Outcome::Answered(report) => {
                let ok: Vec<&str> = report.registered.iter().map(|(n, _)| n.as_str()).collect();
                log::info!(
                    "registered program {SM_PROG} version {SM_VERS} with rpcbind v{} for {}",
                    report.vers.unwrap_or(0),
                    if ok.is_empty() {
                        "no netid".to_string()
                    } else {
                        ok.join(", ")
                    }
                );
                for (netid, addr) in report.failed.iter().chain(&report.skipped) {
                    log::warn!(
                        "could not register {} ({addr}) with rpcbind",
                        netid.as_str()
                    );
                }
            }
        }
        self.serving(cx);
    }

    /// SIGUSR1 (sm-notify found us running, or an administrator): take the
    /// reboot step if this boot still owes it, and notify every host owed a
    /// notice (as nfs-utils' statd re-runs sm-notify on SIGUSR1).
    fn notify_now(&mut self, cx: &mut Context<'_>) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        if let Some(boot_id) = r.step_owed.take() {
            log::info!("taking this boot's reboot step");
            r.core.reboot((!boot_id.is_empty()).then_some(boot_id));
        }
        let deferred = std::mem::take(&mut r.deferred);
        if !deferred.is_empty() {
            r.notify.add(cx, deferred);
        }
        r.notifying = true;
    }

    /// `rpc.statd -N HOST` while we run: stop notifying each host in the
    /// spool and clear it durably.
    fn take_forget_requests(&mut self, cx: &mut Context<'_>) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        let hosts = match take_forget_requests(&startup::private_dir(
            self.cfg.store,
            &self.cfg.state_dir,
        )) {
            Ok(h) => h,
            Err(e) => {
                log::warn!("cannot read the -N requests: {e}");
                return;
            }
        };
        for host in hosts {
            let pending = r.notify.forget(cx, &host);
            log::info!(
                "administrator cleared {}{}",
                host.escape_ascii(),
                if pending {
                    ""
                } else {
                    " (was not being notified)"
                }
            );
            r.core.notify_done(host, None);
        }
    }

    fn shutdown(&mut self, cx: &mut Context<'_>, sig: i32) {
        if self.phase == Phase::Stopping {
            return;
        }
        if let Some(r) = self.run.as_mut() {
            r.notify.flush_progress();
        }
        log::info!("caught signal {sig}, unregistering and exiting");
        self.phase = Phase::Stopping;
        match self.run.as_mut() {
            // The embedded portmapper ends with us; with none, nobody to tell.
            Some(_) if self.embedded || self.unregistered_service => self.unregistered = true,
            Some(r) => r
                .registrar
                .start(cx, Registration::unregister(SM_PROG, SM_VERS, &owner())),
            None => self.unregistered = true,
        }
        self.stop_timer = Some(cx.set_timer(cx.now() + STOP_GRACE));
        self.maybe_exit(cx);
    }

    /// Exits once rpcbind confirmed and every queued change is on disk.
    fn maybe_exit(&mut self, cx: &mut Context<'_>) {
        let store_idle = self.run.as_ref().is_none_or(|r| !r.core.store_busy());
        if self.phase == Phase::Stopping && self.unregistered && store_idle {
            cx.exit(0);
        }
    }

    /// Moves work between the core and the outside world until neither has
    /// anything more.
    fn pump(&mut self, cx: &mut Context<'_>) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        loop {
            let mut busy = false;
            while let Some(job) = r.core.poll_store_job() {
                busy = true;
                if r.store.send(job).is_err() {
                    log::error!("the store thread is gone");
                    r.core.store_gone("store thread gone");
                }
            }
            while let Some(out) = r.core.poll_output() {
                busy = true;
                match out {
                    Output::Reply(to, d) => r.endpoint.complete(cx, to, d),
                    Output::Resolve(id, name) => {
                        let lane = if r.core.lookup_is_urgent(id) {
                            Lane::Urgent
                        } else {
                            Lane::Bulk
                        };
                        if !r.resolver.send(id, name, lane) {
                            if let Some(more) = self.lookup_warn.allow(cx.now()) {
                                log::warn!(
                                    "too many name lookups queued ({}); answering \"unknown\" \
                                     ({more} more since the last warning)",
                                    crate::daemon::resolver::MAX_QUEUED_LOOKUPS
                                );
                            }
                            r.core.resolved(id, None);
                        }
                    }
                    Output::Callback(cb) => r.callbacks.push(cx, cb),
                    Output::Callout(c) => {
                        if let Callout::Notify {
                            mon_name,
                            addr,
                            state,
                        } = &c
                        {
                            for key in r.core.monitors().matching(mon_name, Some(*addr)) {
                                r.notify.note_state(cx, &key, *state);
                            }
                        }
                        run_callout(cx, self.callout.as_ref(), &mut self.callouts, &c)
                    }
                    Output::StateChanged(state) => tell_kernel(state),
                    Output::Rebooted(hosts) => {
                        r.notify.set_state(cx, r.core.state());
                        r.notify
                            .add(cx, notify_io::targets(&hosts, &Default::default()));
                        r.notifying = true;
                    }
                }
            }
            for change in r.notify.take_cleared() {
                if let crate::statd::record::Change::NotifyDone { host, my_name } = change {
                    busy = true;
                    r.core.notify_done(host, my_name);
                }
            }
            if !busy {
                break;
            }
        }
        if self.run.as_ref().is_some_and(|r| r.notifying) {
            self.after_notify();
        }
        self.maybe_exit(cx);
    }

    fn drain_workers(&mut self, id: crate::reactor::WakeId) {
        let Some(r) = self.run.as_mut() else {
            return;
        };
        if id == r.store.wake_id() {
            while let Some(done) = r.store.try_recv() {
                r.core.store_done(done);
            }
        } else if id == r.resolver.wake_id() {
            while let Some((lookup, addrs)) = r.resolver.try_recv() {
                r.core.resolved(lookup, addrs);
            }
        }
    }
}

impl Module for StatdModule {
    fn name(&self) -> &str {
        "rpc.statd"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let opened = self.open(cx);
        crate::daemon::detach::report_start(&mut self.ready, opened)
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        if let Some(r) = self.run.as_mut() {
            let nsm: &mut dyn crate::rpc::Program = if self.phase == Phase::Registering {
                &mut r.held
            } else {
                &mut r.core
            };
            if r.endpoint.handle_event(cx, &ev, &mut [nsm]) {
                return self.pump(cx);
            }
            if r.callbacks.handle_event(cx, &ev) {
                return;
            }
            if r.notify.handle_event(cx, &ev) {
                return self.pump(cx);
            }
            match r.registrar.handle_event(cx, &ev) {
                Progress::NotMine => {}
                Progress::Working => return,
                Progress::Finished(outcome) => return self.registered(cx, outcome),
            }
        }
        match ev {
            Event::Woken(id) => {
                self.drain_workers(id);
                self.pump(cx);
            }
            Event::Signal(libc::SIGUSR1) => {
                self.notify_now(cx);
                self.pump(cx);
            }
            Event::Signal(libc::SIGUSR2) => {
                self.take_forget_requests(cx);
                self.pump(cx);
            }
            Event::Signal(sig) => self.shutdown(cx, sig),
            Event::Timer(t) if Some(t) == self.stop_timer => {
                log::warn!("shutdown grace period over; exiting");
                cx.exit(0);
            }
            Event::ChildExited { pid, status, .. } => {
                if !status.success() {
                    log::warn!("HA callout (pid {pid}) failed: {status}");
                }
                self.callouts.exited(cx);
            }
            _ => {}
        }
    }
}

fn register_plan(endpoint: &RpcEndpoint) -> Registration {
    Registration::register(SM_PROG, SM_VERS, endpoint.bound(), &owner())
}

/// Runs the HA callout, if one is configured, without a shell; the reactor
/// reaps it and logs a failure.
fn run_callout(
    cx: &mut Context<'_>,
    callout: Option<&HaCallout>,
    queue: &mut ChildQueue,
    c: &Callout,
) {
    let Some(callout) = callout else {
        return;
    };
    let cmd = match c {
        Callout::AddClient { mon_name, my_name } => callout.add_client(mon_name, my_name),
        Callout::DelClient { mon_name, my_name } => callout.del_client(mon_name, my_name),
        Callout::Notify {
            mon_name,
            addr,
            state,
        } => callout.sm_notify(mon_name, std::net::SocketAddr::new(*addr, 0), *state),
    };
    queue.submit(cx, cmd);
}

/// Writes the local state where the Linux kernel's lockd reads it.
pub(super) fn tell_kernel(state: i32) {
    match kernel::write_nsm_local_state(state) {
        Ok(true) => log::debug!("told the kernel: state {state}"),
        Ok(false) => log::debug!("no {} (lockd not loaded)", kernel::NSM_LOCAL_STATE),
        Err(e) => log::warn!("cannot write {}: {e}", kernel::NSM_LOCAL_STATE),
    }
}

/// Writes `Y` to lockd's `nlm_end_grace`, if it exists.
pub(super) fn lift_grace() {
    match kernel::lift_grace() {
        Ok(true) => log::info!("lifted lockd's grace period"),
        Ok(false) => {}
        Err(e) => log::warn!("cannot write {}: {e}", kernel::NLM_END_GRACE),
    }
}

/// The owner string libtirpc sends: our effective uid in decimal.
fn owner() -> String {
    rustix::process::geteuid().as_raw().to_string()
}

fn with_context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}
