//! mdmpd on the reactor: the engine ([`MdmpdCore`]) wired to the kernel's
//! files, a pool of threads for the blocking work, the event program and
//! the status socket.
//!
//! - **Wake-ups.** `/proc/mdstat` is held open and watched for POLLPRI,
//!   and so are the pollable sysfs attributes of each watched array
//!   (`md/degraded`, `md/array_state`, `md/dev-*/state`); each wake
//!   re-reads the source (which re-arms it) and rescans. A safety rescan
//!   runs every `RESCAN-INTERVAL` whatever happens: files that cannot be
//!   polled (regular files standing in for them in tests) are covered by
//!   it alone.
//! - **A scan** reads `/proc/mdstat` and the sysfs member states
//!   ([`super::scan`]) and hands the [`Snapshot`] to the engine.
//! - **Probes and re-adds** run on a [`Jobs`] pool, each with a timeout.
//!   A probe that times out keeps its thread; its device is not probed
//!   again until that read returns (the engine is told the probe failed).
//! - **Events** are logged in mdadm's words at their priority, and given
//!   to the `PROGRAM`, if any, as `PROGRAM event md-device [component]`
//!   (through a bounded [`ChildQueue`]); debug-level events (a probe that
//!   failed again) are only logged.
//! - **Status.** A seqpacket socket answers each connection with one
//!   packet: [`MdmpdCore::render_status`].

use super::actuator::{Actuator, Readd};
use super::core::{Action, CoreConfig, Event, MdmpdCore, Priority, ProbeId, ReaddId, Snapshot};
use super::probe::probe;
use super::scan;
use crate::daemon::children::ChildQueue;
use crate::daemon::detach::ReadyPipe;
use crate::daemon::jobs::Jobs;
use crate::daemon::sd_notify;
use crate::reactor::{Context, Deadline, Event as Ev, Module, SourceId, TimerId, UnixKind};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Most bytes read from `/proc/mdstat` or a sysfs attribute.
const MAX_READ: u64 = 1 << 20;

/// Threads for probes and re-adds.
const THREADS: usize = 4;

/// Where the daemon finds the system (each under `STATMON_ROOT` when set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `/proc/mdstat`.
    pub mdstat: PathBuf,
    /// `/sys`.
    pub sys: PathBuf,
    /// `/dev`.
    pub dev: PathBuf,
    /// The status socket (`/run/mdmpd/mdmpd.sock`); `None` serves none.
    pub socket: Option<PathBuf>,
}

/// What mdmpd.conf chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The engine's levels and probe interval.
    pub core: CoreConfig,
    /// How a path is put back.
    pub actuator: Actuator,
    /// The event program.
    pub program: Option<PathBuf>,
    /// How long a probe may take.
    pub probe_timeout: Duration,
    /// How long a re-add may take.
    pub readd_timeout: Duration,
    /// The safety rescan.
    pub rescan: Duration,
}

/// Work out on the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Probe(ProbeId),
    Readd(ReaddId),
}

/// A job the engine waits for.
#[derive(Debug)]
struct InFlight {
    job: Job,
    member: String,
    timeout: TimerId,
}

/// A pollable file: read again on each POLLPRI to re-arm it.
#[derive(Debug)]
struct Polled {
    file: File,
    path: PathBuf,
}

/// The module.
pub struct MdmpdModule {
    paths: Paths,
    settings: Settings,
    core: MdmpdCore,
    deadline: Deadline,
    jobs: Option<Jobs<Result<String, String>>>,
    next_job: u64,
    in_flight: HashMap<u64, InFlight>,
    /// Jobs given up on (timed out) whose thread has not returned: their
    /// member's device is not probed meanwhile.
    hung: HashMap<u64, String>,
    mdstat: Option<File>,
    /// Whether `mdstat` is watched for POLLPRI (the kernel's file, held
    /// open); if not, each scan opens the path again.
    mdstat_polled: bool,
    polled: HashMap<SourceId, Polled>,
    rescan: Option<TimerId>,
    listener: Option<SourceId>,
    /// Status connections with output still queued.
    answering: HashSet<SourceId>,
    children: ChildQueue,
    ready: Option<ReadyPipe>,
    /// Problems of the last scan, so that each is logged once.
    problems: HashSet<String>,
    /// The last scan's view.
    last: Snapshot,
}

impl MdmpdModule {
    /// The daemon for `paths` and `settings`; `ready` is told once the
    /// arrays' state is read and saved.
    pub fn new(paths: Paths, settings: Settings, ready: Option<ReadyPipe>) -> MdmpdModule {
        MdmpdModule {
            core: MdmpdCore::new(settings.core.clone()),
            paths,
            settings,
            deadline: Deadline::default(),
            jobs: None,
            next_job: 0,
            in_flight: HashMap::new(),
            hung: HashMap::new(),
            mdstat: None,
            mdstat_polled: false,
            polled: HashMap::new(),
            rescan: None,
            listener: None,
            answering: HashSet::new(),
            children: ChildQueue::new("event program"),
            ready,
            problems: HashSet::new(),
            last: Snapshot::default(),
        }
    }

    /// The engine, for tests and the status text.
    pub fn core(&self) -> &MdmpdCore {
        &self.core
    }

    /// Reads the arrays, hands them to the engine and follows up.
    fn scan(&mut self, cx: &mut Context<'_>) {
        if !self.mdstat_polled {
            // Not the kernel's file: it may have been replaced; read anew.
            match File::open(&self.paths.mdstat) {
                Ok(f) => self.mdstat = Some(f),
                Err(e) => {
                    log::error!("cannot read {}: {e}", self.paths.mdstat.display());
                    return;
                }
            }
        }
        let text = match self.mdstat.as_mut().map(read_from_start) {
            Some(Ok(text)) => text,
            Some(Err(e)) => {
                log::error!("cannot read {}: {e}", self.paths.mdstat.display());
                return;
            }
            None => return,
        };
        let scanned = scan::snapshot(&text, &self.paths.sys, &self.settings.core, &self.last);
        let fresh: HashSet<String> = scanned.problems.iter().cloned().collect();
        for p in fresh.difference(&self.problems) {
            log::warn!("{}: {p}", self.paths.mdstat.display());
        }
        self.problems = fresh;
        self.core.handle_scan(cx.now(), &scanned.snapshot);
        self.watch_attributes(cx, &scanned.pollable);
        self.last = scanned.snapshot;
        self.pump(cx);
    }

    /// Watches the pollable attributes of this scan's arrays (and stops
    /// watching those of arrays gone; `/proc/mdstat` is always watched).
    fn watch_attributes(&mut self, cx: &mut Context<'_>, wanted: &[PathBuf]) {
        let mdstat = &self.paths.mdstat;
        let stale: Vec<SourceId> = self
            .polled
            .iter()
            .filter(|(_, p)| &p.path != mdstat && !wanted.contains(&p.path))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.polled.remove(&id);
            let _ = cx.close(id);
        }
        for path in wanted {
            if self.polled.values().any(|p| &p.path == path) {
                continue;
            }
            let Ok(mut file) = File::open(path) else {
                continue;
            };
            // Read once: a sysfs attribute signals changes after a read.
            let _ = read_from_start(&mut file);
            let Ok(dup) = file.try_clone() else {
                continue;
            };
            if let Ok(id) = cx.watch_priority(OwnedFd::from(dup)) {
                self.polled.insert(
                    id,
                    Polled {
                        file,
                        path: path.clone(),
                    },
                );
            }
        }
    }

    /// Carries out what the engine asks until it asks nothing more.
    fn pump(&mut self, cx: &mut Context<'_>) {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Probe { id, array, member } => self.start_probe(cx, id, &array, member),
                Action::Readd {
                    id,
                    array,
                    member,
                    level,
                } => self.start_readd(cx, id, array, member, level),
                Action::Event(ev) => self.report(cx, &ev),
            }
        }
        self.deadline.follow(cx, self.core.poll_timeout());
    }

    fn start_probe(&mut self, cx: &mut Context<'_>, id: ProbeId, array: &str, member: String) {
        let device = self.paths.dev.join(&member);
        if self.hung.values().any(|m| *m == member) {
            let why = format!("the last probe of {} has not returned", device.display());
            return self.core.handle_probe(cx.now(), id, Err(why));
        }
        log::debug!("probing {} of /dev/{array}", device.display());
        let job = Box::new(move || probe(&device).map(|()| String::new()));
        let timeout = self.settings.probe_timeout;
        if !self.submit(cx, Job::Probe(id), member, timeout, job) {
            self.core
                .handle_probe(cx.now(), id, Err("too much work queued".into()));
        }
    }

    fn start_readd(
        &mut self,
        cx: &mut Context<'_>,
        id: ReaddId,
        array: String,
        member: String,
        level: String,
    ) {
        let readd = Readd {
            array,
            member: member.clone(),
            level,
            sys: self.paths.sys.clone(),
            dev: self.paths.dev.clone(),
        };
        let actuator = self.settings.actuator.clone();
        let job = Box::new(move || actuator.readd(&readd));
        let timeout = self.settings.readd_timeout;
        if !self.submit(cx, Job::Readd(id), member, timeout, job) {
            self.core
                .handle_readd(cx.now(), id, Err("too much work queued".into()));
        }
    }

    /// Queues `work` on the pool with a timeout; `false` if it is full.
    fn submit(
        &mut self,
        cx: &mut Context<'_>,
        job: Job,
        member: String,
        timeout: Duration,
        work: crate::daemon::jobs::Job<Result<String, String>>,
    ) -> bool {
        let Some(jobs) = self.jobs.as_ref() else {
            return false;
        };
        self.next_job += 1;
        let n = self.next_job;
        if !jobs.submit(n, work) {
            return false;
        }
        let timeout = cx.set_timer(cx.now() + timeout);
        self.in_flight.insert(
            n,
            InFlight {
                job,
                member,
                timeout,
            },
        );
        true
    }

    /// Finished jobs: to the engine, or (given up on) freeing their device.
    fn take_results(&mut self, cx: &mut Context<'_>) {
        let mut done = Vec::new();
        if let Some(jobs) = self.jobs.as_ref() {
            while let Some(result) = jobs.try_recv() {
                done.push(result);
            }
        }
        for (n, result) in done {
            if let Some(member) = self.hung.remove(&n) {
                log::info!("the probe of /dev/{member} given up on has returned");
                continue;
            }
            let Some(job) = self.in_flight.remove(&n) else {
                continue;
            };
            cx.cancel_timer(job.timeout);
            self.answer(cx, job.job, result);
        }
        self.pump(cx);
    }

    fn answer(&mut self, cx: &mut Context<'_>, job: Job, result: Result<String, String>) {
        match job {
            Job::Probe(id) => self.core.handle_probe(cx.now(), id, result.map(|_| ())),
            Job::Readd(id) => {
                if let Ok(how) = &result {
                    log::info!("{how}");
                }
                self.core.handle_readd(cx.now(), id, result.map(|_| ()));
            }
        }
    }

    /// A job's timer fired: the engine hears it failed.
    fn timed_out(&mut self, cx: &mut Context<'_>, timer: TimerId) -> bool {
        let Some(n) = self
            .in_flight
            .iter()
            .find(|(_, j)| j.timeout == timer)
            .map(|(n, _)| *n)
        else {
            return false;
        };
        let Some(job) = self.in_flight.remove(&n) else {
            return false;
        };
        let (what, limit) = match job.job {
            Job::Probe(_) => ("probe", self.settings.probe_timeout),
            Job::Readd(_) => ("re-add", self.settings.readd_timeout),
        };
        let why = format!(
            "the {what} of /dev/{} took more than {} s",
            job.member,
            limit.as_secs()
        );
        self.hung.insert(n, job.member);
        self.answer(cx, job.job, Err(why));
        self.pump(cx);
        true
    }

    /// Logs `ev` at its priority and runs the event program for it.
    fn report(&mut self, cx: &mut Context<'_>, ev: &Event) {
        let line = ev.log_line();
        match ev.kind.priority() {
            Priority::Crit => log::error!("{line}"),
            Priority::Warning => log::warn!("{line}"),
            Priority::Info => log::info!("{line}"),
            Priority::Debug => {
                log::debug!("{line}");
                return;
            }
        }
        if let Some(program) = &self.settings.program {
            let mut cmd = Command::new(program);
            cmd.args(ev.program_args());
            self.children.submit(cx, cmd);
        }
    }

    /// A status connection: one packet, then close once it is out.
    fn answer_status(&mut self, cx: &mut Context<'_>, conn: SourceId) {
        let text = self.core.render_status(cx.now());
        if cx.send(conn, text.as_bytes()).is_err() {
            return;
        }
        if cx.queued(conn).is_ok_and(|q| q == 0) {
            let _ = cx.close(conn);
        } else {
            self.answering.insert(conn);
        }
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let path = &self.paths.mdstat;
        let mut mdstat = File::open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        read_from_start(&mut mdstat)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        match mdstat
            .try_clone()
            .and_then(|dup| cx.watch_priority(OwnedFd::from(dup)))
        {
            Ok(id) => {
                log::debug!("waiting for POLLPRI on {}", path.display());
                self.mdstat_polled = true;
                self.polled.insert(
                    id,
                    Polled {
                        file: mdstat.try_clone()?,
                        path: path.clone(),
                    },
                );
            }
            Err(e) => log::info!(
                "{} cannot be polled ({e}); rescanning every {} s",
                path.display(),
                self.settings.rescan.as_secs()
            ),
        }
        self.mdstat = Some(mdstat);
        self.jobs = Some(Jobs::start("mdmpd", THREADS, cx.waker()?)?);
        if let Some(socket) = &self.paths.socket {
            let _ = std::fs::remove_file(socket);
            let id = cx
                .unix_listen(socket, UnixKind::Seqpacket)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", socket.display())))?;
            self.listener = Some(id);
        }
        for sig in [libc::SIGTERM, libc::SIGINT] {
            cx.watch_signal(sig)?;
        }
        self.scan(cx);
        self.rescan = Some(cx.set_timer(cx.now() + self.settings.rescan));
        let watched = self.core.status(cx.now()).len();
        log::info!(
            "watching {watched} md array(s) of level {}; probing failed paths every {} s",
            self.settings.core.levels.join(", "),
            self.settings.core.interval().as_secs()
        );
        if let Some(ready) = self.ready.take() {
            ready.ready();
        }
        if let Err(e) = sd_notify::ready(&format!("watching {watched} md array(s)")) {
            log::warn!("cannot tell systemd we are ready: {e}");
        }
        Ok(())
    }
}

impl Drop for MdmpdModule {
    fn drop(&mut self) {
        if let (Some(socket), Some(_)) = (&self.paths.socket, self.listener) {
            let _ = std::fs::remove_file(socket);
        }
    }
}

impl Module for MdmpdModule {
    fn name(&self) -> &str {
        "mdmpd"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let opened = self.open(cx);
        crate::daemon::detach::report_start(&mut self.ready, opened)
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Ev<'_>) {
        match ev {
            Ev::Priority { source } => {
                if let Some(p) = self.polled.get_mut(&source) {
                    let _ = read_from_start(&mut p.file);
                }
                self.scan(cx);
            }
            Ev::Woken(id) if self.jobs.as_ref().is_some_and(|j| j.wake_id() == id) => {
                self.take_results(cx);
            }
            Ev::Timer(t) if self.deadline.fired(t) => {
                self.core.handle_timeout(cx.now());
                self.pump(cx);
            }
            Ev::Timer(t) if Some(t) == self.rescan => {
                self.scan(cx);
                self.rescan = Some(cx.set_timer(cx.now() + self.settings.rescan));
            }
            Ev::Timer(t) => {
                self.timed_out(cx, t);
            }
            Ev::Accepted { listener, conn, .. } if Some(listener) == self.listener => {
                self.answer_status(cx, conn);
            }
            Ev::Closed { conn, .. } => {
                self.answering.remove(&conn);
                self.polled.remove(&conn);
            }
            Ev::ChildExited { pid, status, .. } => {
                if !status.success() {
                    log::warn!("event program (pid {pid}) {status}");
                }
                self.children.exited(cx);
            }
            Ev::Signal(sig) => {
                log::info!("caught signal {sig}, exiting");
                cx.exit(0);
            }
            _ => {}
        }
    }
}

/// The whole of `file` from offset 0 (at most [`MAX_READ`] bytes).
fn read_from_start(file: &mut File) -> io::Result<Vec<u8>> {
    file.rewind()?;
    let mut text = Vec::new();
    file.by_ref().take(MAX_READ).read_to_end(&mut text)?;
    Ok(text)
}
