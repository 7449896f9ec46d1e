//! ltid on the reactor: the engine ([`LtidCore`]) wired to its sockets.
//!
//! - **Local.** A Unix stream socket (`misc/ltid.sock`, the drive table,
//!   `DriveStatId`): an rdevmi attaches to it (`ATTACH`) and gets the
//!   table and every change; `vmoprcmd` asks for the status text or an
//!   operation. The attached processes, and ltid itself, are the table's
//!   `shm_nattch`. A Unix datagram socket (`misc/ltid.mq`) is the message
//!   queue ([`super::mq`]); each message is logged as `LtidProcCmd` while
//!   `VM_MQ_DEBUG` exists (looked up per message).
//! - **vmd** ([`super::vmd`]): the TCP listener other media servers reach.
//! - **Peers.** Every poll interval each registered peer is queried
//!   (`QUERY_HOST`); for each drive whose home scan host is another host,
//!   one rdevmi connection to that host is held (`START_OPRD`), carrying
//!   heartbeats both ways.
//! - **Reservations.** A claim, its renewal every poll interval and a
//!   release go to the drive's arbiter on a connection of their own
//!   (`RESERVE_DRIVE`, `RELEASE_DRIVE`, answered `VERDICT`); the operator
//!   waits for the verdict. The drives held are written to
//!   `misc/ltid.reservations` on every change and claimed again at
//!   start (`held.rs`).
//! - **Scan host duties.** The drives scanned here are probed every poll
//!   interval; `shared_drive_notify` runs on every transition, killed
//!   after `NOTIFY_TIMEOUT`.
//! - **Stop** (SIGTERM, SIGINT): every attached rdevmi is told
//!   (`LTID_STOP`, with `shm_nattch`); ltid exits once they have detached
//!   (or after [`STOP_WAIT`]), its queue still read meanwhile.

use super::core::{Action, LtidCore};
use super::dlog::{DaemonLog, Level};
use super::probe::DriveProbe;
use super::wire::{Deframer, Message};
use super::Paths;
use crate::daemon::detach::ReadyPipe;
use crate::ltid::conf::VmConf;
use crate::reactor::{
    ChildId, Context, Deadline, Event as Ev, Module, SourceId, TimerId, UnixKind,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a stopping ltid waits for its rdevmi processes to detach.
pub const STOP_WAIT: Duration = Duration::from_secs(3);
/// Most local clients waiting for an answer (or to attach) at once.
pub const MAX_LOCAL_WAITING: usize = 64;
/// How long a local client may take to send its request.
pub const LOCAL_WAIT: Duration = Duration::from_secs(10);
/// How long ltid keeps reading its queue after the last one detached.
const STOP_GRACE: Duration = Duration::from_millis(300);

/// What runs where.
#[derive(Debug, Clone)]
pub struct Settings {
    pub conf: VmConf,
    /// This host's name among the `SERVER`s.
    pub me: String,
    /// Where vmd listens (all addresses by default).
    pub vmd_addr: IpAddr,
    /// When ltid came online, ms since the epoch.
    pub online_since_ms: u64,
}

impl Settings {
    /// The settings of `conf` on host `me`, online now.
    pub fn new(conf: VmConf, me: String) -> Settings {
        let online_since_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Settings {
            conf,
            me,
            vmd_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            online_since_ms,
        }
    }
}

/// What a connection is to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Role {
    /// Accepted by vmd; its first frame decides.
    VmdNew,
    /// vmd answered a query; closed once the peer has read it.
    Answered,
    /// Our query of `host`.
    Query { host: String },
    /// Our rdevmi connection to scan host `host`; `running` after INITIATING.
    Upstream { host: String, running: bool },
    /// Accepted on the local socket; its first frame decides.
    LocalNew,
    /// An attached rdevmi serving `peer`.
    Attached { peer: String },
    /// A local client waiting for the arbiter's verdict on its
    /// reservation of `drive` (the engine answers within `CLAIM_WAIT`).
    Reserving { drive: String },
    /// Our request to `host`, the arbiter of `drive`: a claim or renewal
    /// (`reserve`) or a release.
    Ask {
        host: String,
        drive: String,
        reserve: bool,
    },
}

/// One stream connection.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) role: Role,
    pub(super) de: Deframer,
    /// When a whole frame last arrived (or the connection began).
    pub(super) heard: Instant,
    /// The far end said it ends only this connection (`TERM` not
    /// leaving): its host stays online when the connection closes.
    pub(super) orderly: bool,
}

/// The module.
pub struct LtidModule {
    pub(super) paths: Paths,
    pub(super) settings: Settings,
    pub(super) core: LtidCore,
    pub(super) dlog: DaemonLog,
    pub(super) probe: Box<dyn DriveProbe>,
    deadline: Deadline,
    pub(super) vmd: Option<SourceId>,
    /// Where vmd listens (its port chosen by the kernel when 0 was asked).
    pub(super) vmd_bound: Option<std::net::SocketAddr>,
    local: Option<SourceId>,
    mq: Option<SourceId>,
    pub(super) links: HashMap<SourceId, Link>,
    /// The rdevmi processes vmd started: child → (peer, pid).
    pub(super) rdevmi: HashMap<ChildId, (String, u32)>,
    /// The `shared_drive_notify` running (at most one) and its timeout.
    pub(super) notifying: HashMap<ChildId, (TimerId, String)>,
    pub(super) notify_queue: VecDeque<[String; 3]>,
    /// Peers whose names did not resolve at the last try (logged once).
    pub(super) unresolved: BTreeSet<String>,
    /// Hosts not to connect to again before this time.
    pub(super) retry_after: BTreeMap<String, Instant>,
    /// Peers whose first query is still out (discovery at start).
    pub(super) discovering: Option<Vec<String>>,
    tick: Option<TimerId>,
    last_heartbeat: Option<Instant>,
    pub(super) stopping: Option<TimerId>,
    ready: Option<ReadyPipe>,
    /// The reservations file as last read or written.
    pub(super) held_written: Option<String>,
}

impl LtidModule {
    /// The daemon; `ready` is told once it serves.
    pub fn new(
        paths: Paths,
        settings: Settings,
        probe: Box<dyn DriveProbe>,
        now: Instant,
        ready: Option<ReadyPipe>,
    ) -> LtidModule {
        let core = LtidCore::new(&settings.conf, &settings.me, settings.online_since_ms, now);
        LtidModule {
            dlog: DaemonLog::new(paths.log_dir()),
            paths,
            core,
            settings,
            probe,
            deadline: Deadline::default(),
            vmd: None,
            vmd_bound: None,
            local: None,
            mq: None,
            links: HashMap::new(),
            rdevmi: HashMap::new(),
            notifying: HashMap::new(),
            notify_queue: VecDeque::new(),
            unresolved: BTreeSet::new(),
            retry_after: BTreeMap::new(),
            discovering: None,
            tick: None,
            last_heartbeat: None,
            stopping: None,
            ready,
            held_written: None,
        }
    }

    /// The engine, for tests.
    pub fn core(&self) -> &LtidCore {
        &self.core
    }

    /// Where vmd listens, once started.
    pub fn vmd_addr(&self) -> Option<std::net::SocketAddr> {
        self.vmd_bound
    }

    /// Processes attached to the drive table: ltid and each rdevmi.
    pub fn nattch(&self) -> u32 {
        1 + self
            .links
            .values()
            .filter(|l| matches!(l.role, Role::Attached { .. }))
            .count() as u32
    }

    /// The connection interval: queries, probes, heartbeats, silence checks.
    fn interval(&self) -> Duration {
        self.settings.conf.poll.min(self.settings.conf.heartbeat)
    }

    /// A peer silent this long is dropped.
    pub(super) fn silence(&self) -> Duration {
        self.settings.conf.heartbeat * 3
    }

    /// How long a connection in `role` may stay silent: a query gets two
    /// poll intervals (so that a host that does not answer cannot hold up
    /// discovery), a local client [`LOCAL_WAIT`] for its one request, the
    /// others three heartbeats; an attached rdevmi is watched by its
    /// socket alone (it relays, it does not chatter).
    fn limit(&self, role: &Role) -> Option<Duration> {
        match role {
            Role::Attached { .. } | Role::Reserving { .. } => None,
            Role::LocalNew => Some(LOCAL_WAIT.min(self.silence())),
            Role::Query { .. } | Role::Ask { .. } => {
                Some((self.settings.conf.poll * 2).min(self.silence()))
            }
            _ => Some(self.silence()),
        }
    }

    /// Sends `m` on `conn`; a failure closes it (the reactor reports it).
    pub(super) fn send(&mut self, cx: &mut Context<'_>, conn: SourceId, m: &Message) {
        let _ = cx.send(conn, &m.encode());
    }

    /// Carries out what the engine asks, and keeps the rdevmi connections
    /// the elections call for, until nothing changes.
    pub(super) fn pump(&mut self, cx: &mut Context<'_>) {
        for _ in 0..16 {
            let mut any = false;
            while let Some(action) = self.core.poll_action() {
                any = true;
                self.act(cx, action);
            }
            if !self.sync_upstreams(cx) && !any {
                break;
            }
        }
        self.deadline.follow(cx, self.core.poll_timeout());
    }

    fn act(&mut self, cx: &mut Context<'_>, action: Action) {
        match action {
            Action::Log(level, func, text) => self.dlog.line(Level(level), func, &text),
            Action::Notify {
                drive,
                scan_host,
                op,
            } => self.notify(cx, &drive, &scan_host, op.word()),
            Action::RowChanged(row) => {
                let m = Message::Status(row);
                for conn in self.conns_where(|r| matches!(r, Role::Attached { .. })) {
                    self.send(cx, conn, &m);
                }
            }
            Action::InfoChanged => {
                let m = Message::HostInfo(self.core.host_info());
                let to = self.conns_where(|r| {
                    matches!(
                        r,
                        Role::Attached { .. } | Role::Upstream { running: true, .. }
                    )
                });
                for conn in to {
                    self.send(cx, conn, &m);
                }
            }
            Action::Ask {
                arbiter,
                drive,
                reserve,
            } => self.ask_arbiter(cx, &arbiter, &drive, reserve),
            Action::Answer { drive, result } => {
                let (ok, text) = match result {
                    Ok(t) => (true, t),
                    Err(t) => (false, t),
                };
                let m = Message::Operated { ok, text };
                let want = Role::Reserving { drive };
                for conn in self.conns_where(|r| *r == want) {
                    self.send(cx, conn, &m);
                    if let Some(l) = self.links.get_mut(&conn) {
                        l.role = Role::LocalNew;
                    }
                }
            }
            Action::HeldChanged => self.write_held(),
        }
    }

    /// The connections whose role passes `f`.
    pub(super) fn conns_where(&self, f: impl Fn(&Role) -> bool) -> Vec<SourceId> {
        self.links
            .iter()
            .filter(|(_, l)| f(&l.role))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every connection interval: queries, probes, heartbeats, silence.
    fn on_tick(&mut self, cx: &mut Context<'_>) {
        let now = cx.now();
        let silent: Vec<(SourceId, Duration)> = self
            .links
            .iter()
            .filter_map(|(id, l)| {
                let limit = self.limit(&l.role)?;
                (now >= l.heard + limit).then_some((*id, limit))
            })
            .collect();
        for (conn, limit) in silent {
            self.dlog.line(
                Level::WARN,
                "ltid",
                &format!("dropping a connection silent for {} s", limit.as_secs()),
            );
            let _ = cx.close(conn);
            self.gone(cx, conn);
        }
        let due = self
            .last_heartbeat
            .is_none_or(|t| now >= t + self.settings.conf.heartbeat);
        if due {
            self.last_heartbeat = Some(now);
            for conn in self.conns_where(|r| matches!(r, Role::Upstream { running: true, .. })) {
                self.send(cx, conn, &Message::Heartbeat);
            }
        }
        if self.stopping.is_none() {
            self.query_peers(cx);
            for drive in self.core.probe_due() {
                let Some(path) = self
                    .settings
                    .conf
                    .drives
                    .iter()
                    .find(|d| d.name == drive)
                    .map(|d| d.path.clone())
                else {
                    continue;
                };
                let result = self.probe.probe(&path);
                self.core.handle_probe(now, &drive, result);
            }
            self.core.renew(now);
        }
        self.pump(cx);
        self.tick = Some(cx.set_timer(now + self.interval()));
    }

    /// A connection is gone (closed by us or the reactor): what it was
    /// doing ends.
    pub(super) fn gone(&mut self, cx: &mut Context<'_>, conn: SourceId) {
        let Some(link) = self.links.remove(&conn) else {
            return;
        };
        let now = cx.now();
        match link.role {
            Role::Query { host } => {
                self.core.unreachable(now, &host);
                self.discovered(now, &host);
            }
            Role::Upstream { host, running } => {
                self.dlog.line(
                    Level::WARN,
                    "connect_rdevmi",
                    &format!("connection to the scan host {host} closed"),
                );
                self.retry_after.insert(host.clone(), now + self.interval());
                if running {
                    self.core.link_down(now, &host, link.orderly);
                }
            }
            Role::Attached { peer } => {
                self.core.link_down(now, &peer, link.orderly);
                if self.stopping.is_some() && self.nattch() == 1 {
                    if let Some(t) = self.stopping.take() {
                        cx.cancel_timer(t);
                    }
                    self.stopping = Some(cx.set_timer(now + STOP_GRACE));
                }
            }
            Role::Ask { host, drive, .. } => {
                self.core.ask_failed(&drive, &host, "the connection closed");
            }
            Role::VmdNew | Role::Answered | Role::LocalNew | Role::Reserving { .. } => {}
        }
        self.pump(cx);
    }

    /// `host`'s first query ended: once every peer's has, discovery is
    /// over and the elections are announced.
    pub(super) fn discovered(&mut self, now: Instant, host: &str) {
        if let Some(waiting) = &mut self.discovering {
            waiting.retain(|h| h != host);
            if waiting.is_empty() {
                self.discovering = None;
                self.core.discovered(now);
            }
        }
    }

    /// Frames from a connection, by role.
    fn on_stream(&mut self, cx: &mut Context<'_>, conn: SourceId, data: &[u8]) {
        let Some(link) = self.links.get_mut(&conn) else {
            return;
        };
        link.de.push(data);
        loop {
            let Some(link) = self.links.get_mut(&conn) else {
                return;
            };
            let frame = match link.de.next_frame() {
                None => return,
                Some(Ok(f)) => f,
                Some(Err(e)) => return self.drop_conn(cx, conn, &e.to_string()),
            };
            link.heard = cx.now();
            let role = link.role.clone();
            match role {
                Role::VmdNew | Role::Answered => self.vmd_request(cx, conn, &frame),
                Role::LocalNew | Role::Attached { .. } | Role::Reserving { .. } => {
                    match frame.decode() {
                        Ok(m) => self.local_request(cx, conn, m),
                        Err(e) => return self.drop_conn(cx, conn, &e.to_string()),
                    }
                }
                Role::Query { .. } | Role::Upstream { .. } | Role::Ask { .. } => {
                    match frame.decode() {
                        Ok(m) => self.peer_message(cx, conn, m),
                        Err(e) => return self.drop_conn(cx, conn, &e.to_string()),
                    }
                }
            }
        }
    }

    /// Drops a connection that broke the protocol.
    pub(super) fn drop_conn(&mut self, cx: &mut Context<'_>, conn: SourceId, why: &str) {
        let peer = cx
            .peer_addr(conn)
            .map_or_else(|| "a local client".to_string(), |a| a.to_string());
        self.dlog
            .line(Level::WARN, "ltid", &format!("dropping {peer}: {why}"));
        let _ = cx.close(conn);
        self.gone(cx, conn);
    }

    /// Begins the stop: the attached rdevmi processes are told.
    fn stop(&mut self, cx: &mut Context<'_>) {
        if self.stopping.is_some() {
            return;
        }
        let nattch = self.nattch();
        self.dlog.line(
            Level::INFO,
            "ltid",
            &format!("stopping; DriveStatId shm_nattch = {nattch}"),
        );
        if let Some(vmd) = self.vmd.take() {
            let _ = cx.close(vmd);
        }
        for conn in self.conns_where(|r| matches!(r, Role::Attached { .. })) {
            self.send(cx, conn, &Message::LtidStop { nattch });
        }
        for conn in self.conns_where(|r| matches!(r, Role::Upstream { .. })) {
            self.send(
                cx,
                conn,
                &Message::Term {
                    leaving: true,
                    reason: "ltid stopped".into(),
                },
            );
        }
        let wait = if nattch == 1 { STOP_GRACE } else { STOP_WAIT };
        self.stopping = Some(cx.set_timer(cx.now() + wait));
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let named =
            |p: &PathBuf, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
        let misc = self.paths.misc();
        std::fs::create_dir_all(&misc).map_err(|e| named(&misc, e))?;
        let local = self.paths.socket();
        self.local = Some(
            cx.unix_listen(&local, UnixKind::Stream)
                .map_err(|e| named(&local, e))?,
        );
        // Everyone may ask for the status; attaching and operating are
        // checked by the caller's uid (see `local.rs`).
        std::fs::set_permissions(&local, std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .map_err(|e| named(&local, e))?;
        let mq = self.paths.queue();
        let _ = std::fs::remove_file(&mq);
        self.mq = Some(cx.unix_dgram_bind(&mq).map_err(|e| named(&mq, e))?);
        self.listen_vmd(cx)?;
        for sig in [libc::SIGTERM, libc::SIGINT] {
            cx.watch_signal(sig)?;
        }
        self.load_held(cx.now());
        let peers: Vec<String> = self.core.peers().map(str::to_string).collect();
        if peers.is_empty() {
            self.core.discovered(cx.now());
        } else {
            self.discovering = Some(peers);
        }
        self.dlog.line(
            Level::INFO,
            "ltid",
            &format!(
                "statmon {} ltid on {} starting: {} shared drive(s), scan ability {}",
                env!("CARGO_PKG_VERSION"),
                self.settings.me,
                self.settings.conf.drives.len(),
                self.settings.conf.scan_ability
            ),
        );
        self.on_tick(cx);
        if let Some(ready) = self.ready.take() {
            ready.ready();
        }
        Ok(())
    }
}

impl Drop for LtidModule {
    fn drop(&mut self) {
        if self.local.is_some() {
            let _ = std::fs::remove_file(self.paths.socket());
        }
        if self.mq.is_some() {
            let _ = std::fs::remove_file(self.paths.queue());
        }
    }
}

impl Module for LtidModule {
    fn name(&self) -> &str {
        "ltid"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let opened = self.open(cx);
        crate::daemon::detach::report_start(&mut self.ready, opened)
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Ev<'_>) {
        match ev {
            Ev::Accepted { listener, conn, .. } => {
                let role = if Some(listener) == self.vmd {
                    Role::VmdNew
                } else {
                    Role::LocalNew
                };
                let waiting = self.links.values().filter(|l| l.role == role).count();
                if role == Role::LocalNew && waiting >= MAX_LOCAL_WAITING {
                    self.dlog.line(
                        Level::WARN,
                        "ltid",
                        &format!("{MAX_LOCAL_WAITING} local clients wait already; one refused"),
                    );
                    let _ = cx.close(conn);
                    return;
                }
                let heard = cx.now();
                self.links.insert(
                    conn,
                    Link {
                        role,
                        de: Deframer::default(),
                        heard,
                        orderly: false,
                    },
                );
            }
            Ev::Stream { conn, data } => self.on_stream(cx, conn, data),
            Ev::Closed { conn, .. } => self.gone(cx, conn),
            Ev::UnixDatagram { sock, data, .. } if Some(sock) == self.mq => {
                self.queue_message(data);
            }
            Ev::Timer(t) if self.deadline.fired(t) => {
                self.core.handle_timeout(cx.now());
                self.pump(cx);
            }
            Ev::Timer(t) if Some(t) == self.tick => self.on_tick(cx),
            Ev::Timer(t) if Some(t) == self.stopping => {
                self.dlog.line(Level::INFO, "ltid", "exiting");
                cx.exit(0);
            }
            Ev::Timer(t) => self.notify_timed_out(cx, t),
            Ev::ChildExited { child, status, .. } if self.notify_exited(cx, child, &status) => {}
            Ev::ChildExited { child, pid, status } => {
                if let Some((peer, _)) = self.rdevmi.remove(&child) {
                    self.dlog.line(
                        Level::DEBUG,
                        "vmd",
                        &format!("rdevmi pid {pid} for {peer} ended: {status}"),
                    );
                }
            }
            Ev::Signal(_) => self.stop(cx),
            _ => {}
        }
    }
}
