//! The reboot notifier ([`Notifier`]) on the reactor: its UDP sockets, its
//! timer and its resolver threads.
//!
//! Sockets: one per address family, bound while still privileged
//! ([`NotifySockets::open`]) to a reserved port (bindresvport) unless an
//! outgoing port is configured (`-o`, sm-notify `-p`), on the wildcard
//! address unless a source address is configured (sm-notify `-v`). A family
//! the host lacks is skipped with a note; peers of that family are then
//! unreachable.
//!
//! What the notifier reports is logged here; acknowledgements become
//! [`Change::NotifyDone`]s for the owner to make durable
//! ([`NotifyIo::take_cleared`]).
//!
//! Progress: where each host stands (since when, rounds, next try, given
//! up) and the last state each monitored host announced go to the
//! progress file ([`progress::FILE_NAME`] in the state directory) at most
//! once a second, for `rpc.statd -l` and for a restarted notifier to
//! resume its schedule ([`read_progress`]). The [`ProgressLedger`] says
//! what it holds; the store thread replaces it durably
//! ([`ProgressWriter`]), so the event loop never waits for the disk. It is
//! advisory: losing it only restarts schedules.

use super::store_worker::{ProgressWriter, StoreWorker};
use crate::daemon::clock;
use crate::daemon::resolver::{Lane, Resolver};
use crate::reactor::{Context, Deadline, Event, SourceId, TimerId};
use crate::service::registrar::initial_xid;
use crate::statd::notify::ledger::ProgressLedger;
use crate::statd::notify::notifier::{
    HostStatus, LookupId, Notifier, NotifyConfig, NotifyEvent, NotifyStats, Target,
};
use crate::statd::notify::progress::{self, HostProgress};
use crate::statd::record::{Change, HostEntry};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

/// Where notifications go out from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceConfig {
    /// A fixed source port; `None`: a reserved port.
    pub port: Option<u16>,
    /// A fixed source address (its family only); `None`: both families,
    /// wildcard.
    pub addr: Option<IpAddr>,
}

/// Receive buffer asked for on the notification sockets. Unprivileged, the
/// kernel caps it at `net.core.rmem_max` (208 KiB by default).
const RECV_BUFFER: usize = 2 << 20;

/// Buffer bytes one queued answer takes (a small datagram's kernel
/// overhead; 208 KiB held about 190 answers in the benchmark).
const BYTES_PER_ANSWER: usize = 1664;

/// Fewest hosts in flight, whatever the buffer.
const MIN_WINDOW: usize = 16;

/// The bound sockets, before the notifier starts.
#[derive(Debug)]
pub struct NotifySockets {
    v4: Option<SourceId>,
    v6: Option<SourceId>,
    /// The smallest receive buffer granted (bytes).
    buffer: Option<usize>,
}

impl NotifySockets {
    /// The most hosts that can be in flight without losing answers: a
    /// window's answers may arrive at once and must fit the receive buffer.
    pub fn window_for(&self, asked: usize) -> usize {
        match self.buffer {
            Some(b) => asked.min((b / BYTES_PER_ANSWER).max(MIN_WINDOW)),
            None => asked,
        }
    }
}

impl NotifySockets {
    /// Binds the sockets `src` asks for. Fails only if no family could be
    /// bound at all.
    pub fn open(cx: &mut Context<'_>, src: SourceConfig) -> io::Result<NotifySockets> {
        let families: Vec<IpAddr> = match src.addr {
            Some(a) => vec![a],
            None => vec![
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ],
        };
        let mut socks = NotifySockets {
            v4: None,
            v6: None,
            buffer: None,
        };
        let mut last_err = None;
        for ip in families {
            let bound = match src.port {
                Some(port) => cx.udp_bind(SocketAddr::new(ip, port)),
                None => cx.udp_bind_reserved(ip).or_else(|e| {
                    log::warn!(
                        "cannot bind a reserved port on {ip} for reboot notifications ({e}); \
                         peers may ignore them"
                    );
                    cx.udp_bind(SocketAddr::new(ip, 0))
                }),
            };
            match bound {
                Ok((sock, local)) => {
                    log::debug!("reboot notifications go out from {local}");
                    // Answers come back in bursts of up to a window's worth.
                    match cx.set_recv_buffer(sock, RECV_BUFFER) {
                        Ok(got) => {
                            log::debug!("notification socket receive buffer: {got} bytes");
                            socks.buffer = Some(socks.buffer.map_or(got, |b| b.min(got)));
                        }
                        Err(e) => log::debug!("cannot size the receive buffer: {e}"),
                    }
                    if ip.is_ipv4() {
                        socks.v4 = Some(sock);
                    } else {
                        socks.v6 = Some(sock);
                    }
                }
                Err(e) => {
                    log::info!("no {ip} socket for reboot notifications: {e}");
                    last_err = Some(e);
                }
            }
        }
        match (socks.v4, socks.v6, last_err) {
            (None, None, Some(e)) => Err(e),
            _ => Ok(socks),
        }
    }
}

/// The notifier with its sockets, timer and resolver.
pub struct NotifyIo {
    engine: Notifier,
    socks: NotifySockets,
    resolver: Resolver<LookupId>,
    timer: Deadline,
    cleared: Vec<Change>,
    given_up: Vec<Vec<u8>>,
    ledger: ProgressLedger,
    /// Where the progress file goes (`None`: nowhere).
    writer: Option<ProgressWriter>,
    /// The next write of the progress file.
    progress_timer: Option<TimerId>,
}

/// How often the progress file is rewritten at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What the progress file in `dir` holds, by lower-case host name; empty
/// if it is missing or unreadable (it is advisory).
pub fn read_progress(dir: &Path) -> HashMap<Vec<u8>, HostProgress> {
    let path = dir.join(progress::FILE_NAME);
    let Ok(bytes) = std::fs::read(&path) else {
        return HashMap::new();
    };
    let decoded = progress::decode(&bytes);
    if !decoded.bad_lines.is_empty() {
        log::warn!(
            "{}: {} unreadable line(s) ignored",
            path.display(),
            decoded.bad_lines.len()
        );
    }
    decoded
        .entries
        .into_iter()
        .map(|e| (e.host.to_ascii_lowercase(), e))
        .collect()
}

/// The node name (`uname -n`), the identity sent when records name none.
pub fn node_name() -> Vec<u8> {
    rustix::system::uname().nodename().to_bytes().to_vec()
}

/// The targets for the hosts of a store snapshot that need notification;
/// `known` (the progress file) says when notification of a host began.
pub fn targets(hosts: &[HostEntry], known: &HashMap<Vec<u8>, HostProgress>) -> Vec<Target> {
    hosts
        .iter()
        .filter(|h| h.needs_notify)
        .map(|h| Target {
            host: h.name.clone(),
            my_names: h.notify.iter().map(|r| r.my_name.clone()).collect(),
            since_unix: known
                .get(&h.name.to_ascii_lowercase())
                .map(|p| p.since_unix)
                .filter(|&s| s > 0),
        })
        .collect()
}

impl NotifyIo {
    /// Starts the resolver threads (after any privilege drop) and the
    /// notifier on `socks`.
    /// `writer` writes the progress file (`None`: nowhere);
    /// `known` is what it held at start ([`read_progress`]), for the last
    /// states seen.
    pub fn start(
        cx: &mut Context<'_>,
        socks: NotifySockets,
        mut cfg: NotifyConfig,
        writer: Option<ProgressWriter>,
        known: &HashMap<Vec<u8>, HostProgress>,
    ) -> io::Result<NotifyIo> {
        let resolver = Resolver::start("notify", cx.waker()?)?;
        let window = socks.window_for(cfg.window);
        if window < cfg.window {
            log::info!(
                "notifying at most {window} hosts at once (not {}): the receive buffer holds no more answers",
                cfg.window
            );
            cfg.window = window;
        }
        let engine = Notifier::new(cfg, cx.now(), clock::unix_now(), initial_xid());
        Ok(NotifyIo {
            engine,
            socks,
            resolver,
            timer: Deadline::default(),
            cleared: Vec::new(),
            given_up: Vec::new(),
            ledger: ProgressLedger::new(known),
            writer,
            progress_timer: None,
        })
    }

    /// Remembers that monitored host `host` announced `state`.
    pub fn note_state(&mut self, cx: &mut Context<'_>, host: &[u8], state: i32) {
        if self.ledger.note_state(host, state) {
            self.pump(cx);
        }
    }

    /// Hands the progress file to the store thread now if anything changed
    /// (at exit; [`NotifyIo::progress_settled`] says when it is written).
    pub fn flush_progress(&mut self) {
        if self.ledger.is_dirty() {
            self.write_progress();
        }
    }

    /// Whether every progress write handed over is done with.
    pub fn progress_settled(&self) -> bool {
        self.writer.as_ref().is_none_or(ProgressWriter::settled)
    }

    fn write_progress(&mut self) {
        let request = self.ledger.persist(self.engine.status(), clock::unix_now());
        if let Some(w) = self.writer.as_mut() {
            if w.write(request).is_err() {
                log::debug!("the store thread is gone: progress not written");
            }
        }
    }

    /// Queues hosts to notify.
    pub fn add(&mut self, cx: &mut Context<'_>, targets: Vec<Target>) {
        if !targets.is_empty() {
            log::info!(
                "notifying {} host(s) of state {}",
                targets.len(),
                self.engine.state()
            );
        }
        let now = cx.now();
        for t in targets {
            self.engine.add(now, t);
        }
        self.pump(cx);
    }

    /// Announces a new state to every pending host (SM_SIMU_CRASH).
    pub fn set_state(&mut self, cx: &mut Context<'_>, state: i32) {
        self.engine.set_state(cx.now(), state);
        self.pump(cx);
    }

    /// Stops notifying `host` (an administrator cleared it); `true` if it
    /// was pending or given up.
    pub fn forget(&mut self, cx: &mut Context<'_>, host: &[u8]) -> bool {
        let mut found = self.engine.forget(cx.now(), host);
        found |= self.ledger.forget(host);
        self.pump(cx);
        found
    }

    /// Takes the events that belong to the notifier; `false` for others.
    pub fn handle_event(&mut self, cx: &mut Context<'_>, ev: &Event<'_>) -> bool {
        let now = cx.now();
        match ev {
            Event::Datagram { sock, from, data }
                if Some(*sock) == self.socks.v4 || Some(*sock) == self.socks.v6 =>
            {
                self.engine.handle_datagram(now, *from, data);
            }
            Event::Timer(t) if self.timer.fired(*t) => {
                self.engine.handle_timeout(now);
            }
            Event::Timer(t) if self.progress_timer == Some(*t) => {
                self.progress_timer = None;
                self.write_progress();
                return true;
            }
            Event::Woken(id) if *id == self.resolver.wake_id() => {
                while let Some((lookup, addrs)) = self.resolver.try_recv() {
                    self.engine.resolved(now, lookup, addrs);
                }
            }
            _ => return false,
        }
        self.pump(cx);
        true
    }

    /// The durable clears owed for hosts that answered since the last call.
    pub fn take_cleared(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.cleared)
    }

    /// Hosts given up since the last call.
    pub fn take_given_up(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.given_up)
    }

    /// Hosts still owed a notice.
    pub fn pending(&self) -> usize {
        self.engine.pending()
    }

    /// Whether nothing is left to do.
    pub fn is_idle(&self) -> bool {
        self.engine.is_idle()
    }

    /// Counters since start.
    pub fn stats(&self) -> NotifyStats {
        self.engine.stats()
    }

    /// Where every pending host stands, if that changed since the last call.
    pub fn status_if_changed(&mut self) -> Option<Vec<HostStatus>> {
        self.engine.take_dirty().then(|| self.engine.status())
    }

    fn pump(&mut self, cx: &mut Context<'_>) {
        let now = cx.now();
        loop {
            let mut busy = false;
            while let Some((to, msg)) = self.engine.poll_transmit() {
                busy = true;
                let sock = if to.is_ipv4() {
                    self.socks.v4
                } else {
                    self.socks.v6
                };
                match sock {
                    Some(s) => {
                        if let Err(e) = cx.send_to(s, to, &msg) {
                            log::debug!("notification datagram to {to}: {e}");
                        }
                    }
                    None => log::debug!("no socket for {to}"),
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                busy = true;
                self.on_notify_event(now, ev);
            }
            if !busy {
                break;
            }
        }
        if self.engine.take_dirty() {
            self.ledger.touch();
        }
        if self.ledger.is_dirty() && self.progress_timer.is_none() && self.writer.is_some() {
            self.progress_timer = Some(cx.set_timer(now + PROGRESS_EVERY));
        }
        self.timer.follow(cx, self.engine.poll_timeout());
    }

    fn on_notify_event(&mut self, now: Instant, ev: NotifyEvent) {
        match ev {
            NotifyEvent::Resolve(id, name) => {
                if !self.resolver.send(id, name, Lane::Bulk) {
                    self.engine.resolved(now, id, None);
                }
            }
            NotifyEvent::Notified {
                host,
                my_name,
                from,
            } => {
                log::info!(
                    "notified {} ({from}){}",
                    host.escape_ascii(),
                    my_name
                        .as_ref()
                        .map(|m| format!(" for {}", m.escape_ascii()))
                        .unwrap_or_default()
                );
                self.ledger.notified(&host);
                self.cleared.push(Change::NotifyDone { host, my_name });
            }
            NotifyEvent::GaveUp {
                host,
                since_unix,
                rounds,
            } => {
                self.ledger.gave_up(&host, since_unix, rounds);
                log::warn!(
                    "giving up notifying {} after {rounds} round(s); \
                     `rpc.statd -N {}` clears it",
                    host.escape_ascii(),
                    host.escape_ascii()
                );
                self.given_up.push(host);
            }
        }
    }
}

/// Starts the notifier with the progress file of `dir`, written by the
/// thread of `store`, and lists the hosts owed a notice. After a reboot
/// step a new round of notification starts; otherwise each host resumes
/// its schedule.
pub fn start_notifier(
    cx: &mut Context<'_>,
    socks: NotifySockets,
    cfg: NotifyConfig,
    dir: &Path,
    store: &StoreWorker,
    hosts: &[HostEntry],
    rebooted: bool,
) -> io::Result<(NotifyIo, Vec<Target>)> {
    let mut known = read_progress(dir);
    let notify = NotifyIo::start(cx, socks, cfg, store.progress_writer(dir), &known)?;
    if rebooted {
        known.clear();
    }
    Ok((notify, targets(hosts, &known)))
}
