//! The reboot notifier as an I/O-free state machine (quinn-proto style).
//!
//! Each host to notify is a job. A job works in rounds: find the host's
//! addresses (a literal needs no lookup), then for each address in turn ask
//! its portmapper where statd listens ([`super::peer`]) and send
//! SM_NOTIFY{identity, state} there, once per identity still owed. The
//! first address that answers ends the round; if none does, the next round
//! starts when the [`Schedule`] says, counted from when notification of
//! the host began (so a restarted notifier resumes, not restarts).
//!
//! Identities: with an override (`--name`, sm-notify `-v`) that name is
//! sent; else each distinct `my_name` of the host's records (nfs-utils
//! `sm.bak/` lines) is sent and cleared on its own; a host with none (the
//! Apple layout) gets the default name (the node name). After a dotted
//! name is acknowledged, its short form is sent once more without waiting
//! for an answer, as sm-notify does.
//!
//! At most `window` jobs are in a round at once; the rest wait in due
//! order. Every acknowledgement yields [`NotifyEvent::Notified`] at once,
//! for the daemon to clear durably.
//!
//! Replies are matched by xid and must come from the port the call went
//! to. The address may differ: a multi-homed peer whose daemon does not
//! answer from the address it was asked on (no `IP_PKTINFO`) replies from
//! another of its addresses, and sm-notify accepts that too.
//!
//! Driving it: [`Notifier::add`] hosts; send what [`Notifier::poll_transmit`]
//! yields (UDP, from the notify socket of the destination's family); feed
//! datagrams to [`Notifier::handle_datagram`], lookups to
//! [`Notifier::resolved`]; call [`Notifier::handle_timeout`] at
//! [`Notifier::poll_timeout`]; act on [`Notifier::poll_event`].
//!
//! # Panic contract
//! No method panics, whatever arrives from the network.

use super::peer::{self, Found};
use super::schedule::Schedule;
use crate::rpc::client::{CallId, CallResult, OutCall, RetryPolicy, RpcClient};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Portmapper queries: a peer that is up answers within a second.
const LOOKUP_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_secs(1),
    max_timeout: Duration::from_secs(2),
    max_transmits: 3,
};

/// SM_NOTIFY itself.
const NOTIFY_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_secs(1),
    max_timeout: Duration::from_secs(2),
    max_transmits: 3,
};

/// The short-name courtesy copy: sent once, answer not needed.
const COURTESY_RETRY: RetryPolicy = RetryPolicy {
    initial_timeout: Duration::from_secs(2),
    max_timeout: Duration::from_secs(2),
    max_transmits: 1,
};

/// How the notifier runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// This host's state, sent in every SM_NOTIFY.
    pub state: i32,
    /// The name sent for hosts whose records name no identity.
    pub default_name: Vec<u8>,
    /// A name sent instead of the records' identities.
    pub identity: Option<Vec<u8>>,
    /// When to try again and when to give up.
    pub schedule: Schedule,
    /// Most hosts in a round at once (at least 1).
    pub window: usize,
}

/// A host to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The store's name for the host (a name or an address literal).
    pub host: Vec<u8>,
    /// The identities its records were made for (`my_name`s); may be empty.
    pub my_names: Vec<Vec<u8>>,
    /// When notification of this host began (Unix seconds), if it did
    /// before (a restarted notifier); `None`: now.
    pub since_unix: Option<u64>,
}

/// Names one name lookup of the notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(u64);

/// Something for the daemon to do or know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// Resolve `name` and call [`Notifier::resolved`].
    Resolve(LookupId, Vec<u8>),
    /// `host` acknowledged: clear its notify entry durably, only the lines
    /// of `my_name` if given, else all.
    Notified {
        /// The store's name for the host.
        host: Vec<u8>,
        /// The identity whose entries to clear.
        my_name: Option<Vec<u8>>,
        /// Where the acknowledgement came from.
        from: SocketAddr,
    },
    /// The schedule ran out for `host`; it stays in the store.
    GaveUp {
        /// The store's name for the host.
        host: Vec<u8>,
        /// When notification of it began (Unix seconds).
        since_unix: u64,
        /// Rounds tried.
        rounds: u32,
    },
}

/// Where one host stands, for the progress file and `-l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    /// The store's name for the host.
    pub host: Vec<u8>,
    /// When notification of it began (Unix seconds).
    pub since_unix: u64,
    /// Rounds finished without an answer.
    pub rounds: u32,
    /// When the next round starts (Unix seconds); `None` while one runs.
    pub next_unix: Option<u64>,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyStats {
    /// Hosts that acknowledged every identity.
    pub notified: u64,
    /// Hosts given up.
    pub given_up: u64,
    /// Rounds that ended without an answer.
    pub failed_rounds: u64,
    /// Datagrams handed out.
    pub datagrams: u64,
    /// Datagrams ignored (wrong sender, unknown xid, not a reply).
    pub ignored: u64,
}

type JobId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    send: Vec<u8>,
    clears: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for its round to be due (and a window slot).
    Waiting(Instant),
    /// Its name is being resolved.
    Resolving(LookupId),
    /// Asking the portmapper of `addrs[addr]`, stage `stage`.
    Lookup { addr: usize, stage: usize },
    /// Notifying `to`, the statd of `addrs[addr]`.
    Notifying { addr: usize, to: SocketAddr },
}

#[derive(Debug)]
struct Job {
    host: Vec<u8>,
    identities: Vec<Identity>,
    since_unix: u64,
    /// The round running or next.
    round: u32,
    addrs: Vec<IpAddr>,
    phase: Phase,
    /// The call in flight, if any.
    call: Option<CallId>,
}

/// What a call in flight is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The job's current step.
    Step(JobId),
    /// A short-name copy; its answer does not matter.
    Courtesy,
}

#[derive(Debug)]
struct InFlight {
    purpose: Purpose,
    to: SocketAddr,
    xid: Option<u32>,
}

/// The notifier.
#[derive(Debug)]
pub struct Notifier {
    cfg: NotifyConfig,
    /// A monotonic instant and the Unix time it stood for.
    epoch: (Instant, u64),
    client: RpcClient,
    jobs: HashMap<JobId, Job>,
    by_host: HashMap<Vec<u8>, JobId>,
    waiting: BTreeSet<(Instant, JobId)>,
    active: usize,
    next_job: JobId,
    next_lookup: u64,
    calls: HashMap<CallId, InFlight>,
    xids: HashMap<u32, CallId>,
    lookups: HashMap<LookupId, JobId>,
    outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<NotifyEvent>,
    stats: NotifyStats,
    dirty: bool,
    /// Failed name lookups are logged at most once a minute.
    lookup_failures: crate::log::RateLimit,
}

impl Notifier {
    /// A notifier started at `now`, which is `now_unix` on the wall clock;
    /// `first_xid` should be random.
    pub fn new(cfg: NotifyConfig, now: Instant, now_unix: u64, first_xid: u32) -> Notifier {
        Notifier {
            cfg,
            epoch: (now, now_unix),
            client: RpcClient::new(first_xid),
            jobs: HashMap::new(),
            by_host: HashMap::new(),
            waiting: BTreeSet::new(),
            active: 0,
            next_job: 0,
            next_lookup: 0,
            calls: HashMap::new(),
            xids: HashMap::new(),
            lookups: HashMap::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: NotifyStats::default(),
            dirty: false,
            lookup_failures: crate::log::RateLimit::default(),
        }
    }

    /// The state being announced.
    pub fn state(&self) -> i32 {
        self.cfg.state
    }

    /// Announces `state` from now on (SM_SIMU_CRASH while notifying):
    /// every host still owed a notice gets the new one, from round 0.
    pub fn set_state(&mut self, now: Instant, state: i32) {
        self.cfg.state = state;
        let ids: Vec<JobId> = self.jobs.keys().copied().collect();
        for id in ids {
            self.abort_round(id);
            if let Some(job) = self.jobs.get_mut(&id) {
                job.round = 0;
                job.since_unix = unix_at(self.epoch, now);
                job.phase = Phase::Waiting(now);
                self.waiting.insert((now, id));
            }
        }
        self.dirty = true;
        self.drive(now);
    }

    /// Adds a host (or more identities for a host already pending).
    pub fn add(&mut self, now: Instant, target: Target) {
        let key = target.host.to_ascii_lowercase();
        let identities = self.identities_for(&target.my_names);
        if let Some(job) = self.by_host.get(&key).and_then(|id| self.jobs.get_mut(id)) {
            for ident in identities {
                if !job.identities.contains(&ident) {
                    job.identities.push(ident);
                }
            }
            return;
        }
        let now_unix = unix_at(self.epoch, now);
        let since_unix = target.since_unix.unwrap_or(now_unix).min(now_unix);
        let elapsed = Duration::from_secs(now_unix - since_unix);
        let Some((round, offset)) = self.cfg.schedule.resume(elapsed) else {
            self.stats.given_up += 1;
            self.events.push_back(NotifyEvent::GaveUp {
                host: target.host,
                since_unix,
                rounds: 0,
            });
            return;
        };
        let due = now + offset.saturating_sub(elapsed);
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.insert(
            id,
            Job {
                host: target.host,
                identities,
                since_unix,
                round,
                addrs: Vec::new(),
                phase: Phase::Waiting(due),
                call: None,
            },
        );
        self.by_host.insert(key, id);
        self.waiting.insert((due, id));
        self.dirty = true;
        self.drive(now);
    }

    /// Stops notifying `host` (an administrator cleared it); `true` if it
    /// was pending.
    pub fn forget(&mut self, now: Instant, host: &[u8]) -> bool {
        let Some(id) = self.by_host.get(&host.to_ascii_lowercase()).copied() else {
            return false;
        };
        self.abort_round(id);
        self.remove(id);
        self.drive(now);
        true
    }

    /// Hosts still owed a notice.
    pub fn pending(&self) -> usize {
        self.jobs.len()
    }

    /// Whether nothing is left to do (no host pending, no call in flight).
    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty() && self.calls.is_empty() && self.outbox.is_empty()
    }

    /// Counters since start.
    pub fn stats(&self) -> NotifyStats {
        self.stats
    }

    /// Where every pending host stands, sorted by host.
    pub fn status(&self) -> Vec<HostStatus> {
        let mut all: Vec<HostStatus> = self
            .jobs
            .values()
            .map(|job| HostStatus {
                host: job.host.clone(),
                since_unix: job.since_unix,
                rounds: job.round,
                next_unix: match job.phase {
                    Phase::Waiting(due) => Some(unix_at(self.epoch, due)),
                    _ => None,
                },
            })
            .collect();
        all.sort_by(|a, b| a.host.cmp(&b.host));
        all
    }

    /// Whether [`Notifier::status`] changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The next datagram to send: destination and RPC message.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        let out = self.outbox.pop_front()?;
        self.stats.datagrams += 1;
        Some(out)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<NotifyEvent> {
        self.events.pop_front()
    }

    /// When [`Notifier::handle_timeout`] is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.client.poll_timeout();
        let rounds = if self.active < self.window() {
            self.waiting.first().map(|(due, _)| *due)
        } else {
            None
        };
        match (calls, rounds) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.drive(now);
    }

    /// A datagram arrived from `from` on a notify socket.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, msg: &[u8]) {
        let call = xid_of(msg).and_then(|x| self.xids.get(&x).copied());
        let expected = call.and_then(|c| self.calls.get(&c)).map(|f| f.to);
        if expected.is_none_or(|to| !same_peer(to, from)) {
            self.stats.ignored += 1;
            return;
        }
        if self.client.handle_reply(msg).is_none() {
            self.stats.ignored += 1;
            return;
        }
        self.drive(now);
    }

    /// The answer to [`NotifyEvent::Resolve`] (`None`: does not resolve).
    pub fn resolved(&mut self, now: Instant, lookup: LookupId, addrs: Option<Vec<IpAddr>>) {
        let Some(id) = self.lookups.remove(&lookup) else {
            return;
        };
        let mut addrs = addrs.unwrap_or_default();
        for a in addrs.iter_mut() {
            *a = a.to_canonical();
        }
        let mut seen = Vec::new();
        addrs.retain(|a| {
            let fresh = !seen.contains(a) && !a.is_unspecified() && !a.is_multicast();
            seen.push(*a);
            fresh
        });
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        if job.phase != Phase::Resolving(lookup) {
            return;
        }
        if addrs.is_empty() {
            // sm-notify's words; rate-limited, as a list of dead names
            // would otherwise fill the log every round.
            if let Some(more) = self.lookup_failures.allow(now) {
                let also = if more > 0 {
                    format!(" ({more} more failed lookups not logged)")
                } else {
                    String::new()
                };
                log::warn!(
                    "DNS resolution of {} failed; retrying later{also}",
                    crate::log::escape(&job.host)
                );
            }
        }
        job.addrs = addrs;
        self.try_address(now, id, 0);
        self.drive(now);
    }

    fn window(&self) -> usize {
        self.cfg.window.max(1)
    }

    fn identities_for(&self, my_names: &[Vec<u8>]) -> Vec<Identity> {
        if let Some(name) = &self.cfg.identity {
            return vec![Identity {
                send: name.clone(),
                clears: None,
            }];
        }
        let mut out: Vec<Identity> = Vec::new();
        for name in my_names {
            if !out.iter().any(|i| i.send.eq_ignore_ascii_case(name)) {
                out.push(Identity {
                    send: name.clone(),
                    clears: Some(name.clone()),
                });
            }
        }
        if out.is_empty() {
            out.push(Identity {
                send: self.cfg.default_name.clone(),
                clears: None,
            });
        }
        out
    }

    /// Moves everything along until nothing changes: starts due rounds,
    /// collects transmissions and handles finished calls.
    fn drive(&mut self, now: Instant) {
        loop {
            while self.active < self.window() {
                let Some(&(due, id)) = self.waiting.first() else {
                    break;
                };
                if due > now {
                    break;
                }
                self.waiting.remove(&(due, id));
                self.active += 1;
                self.begin_round(now, id);
            }
            while let Some((call, msg)) = self.client.poll_transmit(now) {
                if let Some(f) = self.calls.get_mut(&call) {
                    if f.xid.is_none() {
                        f.xid = xid_of(&msg);
                        if let Some(x) = f.xid {
                            self.xids.insert(x, call);
                        }
                    }
                    self.outbox.push_back((f.to, msg));
                }
            }
            let mut progressed = false;
            while let Some((call, result)) = self.client.poll_event() {
                progressed = true;
                self.finished(now, call, result);
            }
            if !progressed {
                break;
            }
        }
    }

    fn start_call(&mut self, now: Instant, purpose: Purpose, to: SocketAddr, call: OutCall) {
        let retry = match purpose {
            Purpose::Courtesy => COURTESY_RETRY,
            Purpose::Step(_) if call.prog == crate::proto::sm_inter::SM_PROG => NOTIFY_RETRY,
            Purpose::Step(_) => LOOKUP_RETRY,
        };
        let id = self.client.start(now, call, retry);
        self.calls.insert(
            id,
            InFlight {
                purpose,
                to,
                xid: None,
            },
        );
        if let Purpose::Step(job) = purpose {
            if let Some(job) = self.jobs.get_mut(&job) {
                job.call = Some(id);
            }
        }
    }

    fn begin_round(&mut self, now: Instant, id: JobId) {
        let Some(job) = self.jobs.get_mut(&id) else {
            self.active -= 1;
            return;
        };
        let literal = std::str::from_utf8(&job.host)
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok());
        match literal {
            Some(ip) => {
                job.addrs = vec![ip.to_canonical()];
                self.try_address(now, id, 0);
            }
            None => {
                let lookup = LookupId(self.next_lookup);
                self.next_lookup += 1;
                job.phase = Phase::Resolving(lookup);
                self.lookups.insert(lookup, id);
                self.events
                    .push_back(NotifyEvent::Resolve(lookup, job.host.clone()));
            }
        }
    }

    /// Starts on address `addr` of the job, or ends the round if none is left.
    fn try_address(&mut self, now: Instant, id: JobId, addr: usize) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let Some(&ip) = job.addrs.get(addr) else {
            return self.round_failed(now, id);
        };
        let Some(call) = peer::lookup_call(ip, 0) else {
            return self.round_failed(now, id);
        };
        job.phase = Phase::Lookup { addr, stage: 0 };
        self.start_call(now, Purpose::Step(id), peer::portmapper(ip), call);
    }

    fn finished(&mut self, now: Instant, call: CallId, result: CallResult) {
        let Some(f) = self.calls.remove(&call) else {
            return;
        };
        if let Some(x) = f.xid {
            self.xids.remove(&x);
        }
        let Purpose::Step(id) = f.purpose else {
            return;
        };
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        if job.call != Some(call) {
            return;
        }
        job.call = None;
        match job.phase {
            Phase::Lookup { addr, stage } => {
                let Some(&ip) = job.addrs.get(addr) else {
                    return self.round_failed(now, id);
                };
                match peer::lookup_result(ip, stage, result.as_deref().map_err(|e| *e)) {
                    Found::At(to) => {
                        job.phase = Phase::Notifying { addr, to };
                        self.notify_next(now, id);
                    }
                    Found::NextStage => match peer::lookup_call(ip, stage + 1) {
                        Some(next) => {
                            job.phase = Phase::Lookup {
                                addr,
                                stage: stage + 1,
                            };
                            self.start_call(now, Purpose::Step(id), peer::portmapper(ip), next);
                        }
                        None => self.try_address(now, id, addr + 1),
                    },
                    Found::Nowhere | Found::Unreachable => self.try_address(now, id, addr + 1),
                }
            }
            Phase::Notifying { addr, to } => match result {
                Ok(_) => self.acknowledged(now, id, to),
                Err(_) => self.try_address(now, id, addr + 1),
            },
            Phase::Waiting(_) | Phase::Resolving(_) => {}
        }
    }

    /// Sends SM_NOTIFY for the job's first identity still owed.
    fn notify_next(&mut self, now: Instant, id: JobId) {
        let Some(job) = self.jobs.get(&id) else {
            return;
        };
        let (Phase::Notifying { to, .. }, Some(ident)) = (job.phase, job.identities.first()) else {
            return;
        };
        let call = peer::notify_call(&ident.send, self.cfg.state);
        self.start_call(now, Purpose::Step(id), to, call);
    }

    fn acknowledged(&mut self, now: Instant, id: JobId, from: SocketAddr) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        if job.identities.is_empty() {
            return;
        }
        let ident = job.identities.remove(0);
        let done = job.identities.is_empty();
        self.events.push_back(NotifyEvent::Notified {
            host: job.host.clone(),
            my_name: ident.clears,
            from,
        });
        if let Some(short) = peer::short_name(&ident.send) {
            let call = peer::notify_call(short, self.cfg.state);
            self.start_call(now, Purpose::Courtesy, from, call);
        }
        self.dirty = true;
        if done {
            self.stats.notified += 1;
            self.active -= 1;
            self.remove(id);
        } else {
            self.notify_next(now, id);
        }
    }

    fn round_failed(&mut self, now: Instant, id: JobId) {
        self.stats.failed_rounds += 1;
        self.active -= 1;
        let now_unix = unix_at(self.epoch, now);
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        job.round = job.round.saturating_add(1);
        job.addrs.clear();
        self.dirty = true;
        let elapsed = Duration::from_secs(now_unix.saturating_sub(job.since_unix));
        match self.cfg.schedule.offset_of(job.round) {
            Some(offset) => {
                let due = now + offset.saturating_sub(elapsed);
                job.phase = Phase::Waiting(due);
                self.waiting.insert((due, id));
            }
            None => {
                self.stats.given_up += 1;
                self.events.push_back(NotifyEvent::GaveUp {
                    host: job.host.clone(),
                    since_unix: job.since_unix,
                    rounds: job.round,
                });
                self.remove(id);
            }
        }
    }

    /// Cancels the job's round in progress, if any (window slot freed).
    fn abort_round(&mut self, id: JobId) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        match job.phase {
            Phase::Waiting(due) => {
                self.waiting.remove(&(due, id));
            }
            Phase::Resolving(lookup) => {
                self.lookups.remove(&lookup);
                self.active -= 1;
            }
            Phase::Lookup { .. } | Phase::Notifying { .. } => self.active -= 1,
        }
        if let Some(call) = job.call.take() {
            self.client.cancel(call);
            if let Some(x) = self.calls.remove(&call).and_then(|f| f.xid) {
                self.xids.remove(&x);
            }
        }
        // A placeholder: callers set the real phase (or drop the job).
        job.phase = Phase::Waiting(self.epoch.0);
    }

    fn remove(&mut self, id: JobId) {
        if let Some(job) = self.jobs.remove(&id) {
            self.by_host.remove(&job.host.to_ascii_lowercase());
            if let Phase::Waiting(due) = job.phase {
                self.waiting.remove(&(due, id));
            }
        }
        self.dirty = true;
    }
}

/// The xid an RPC message starts with.
fn xid_of(msg: &[u8]) -> Option<u32> {
    msg.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
}

/// The Unix time of `at`, given that `epoch.0` was `epoch.1`.
fn unix_at(epoch: (Instant, u64), at: Instant) -> u64 {
    epoch
        .1
        .saturating_add(at.saturating_duration_since(epoch.0).as_secs())
}

/// Whether a reply from `from` can answer a call sent to `to`: the same
/// port (see the module doc for why not the same address).
fn same_peer(to: SocketAddr, from: SocketAddr) -> bool {
    to.port() == from.port()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::sm_inter::StatChge;
    use crate::rpc::message::{decode_call, encode_reply, CallDecode, ReplyKind};
    use crate::xdr::{Bounded, Xdr};

    const T0_UNIX: u64 = 1_800_000_000;

    /// One simulated peer host.
    #[derive(Clone)]
    struct Peer {
        /// The portmapper answers at all.
        up: bool,
        /// Refuse PMAP v2 (PROG_MISMATCH), answering only RPCB.
        no_v2: bool,
        /// Where statd is registered (`None`: not registered).
        statd: Option<u16>,
    }

    impl Peer {
        fn answering() -> Peer {
            Peer {
                up: true,
                no_v2: false,
                statd: Some(1000),
            }
        }
        fn silent() -> Peer {
            Peer {
                up: false,
                no_v2: false,
                statd: None,
            }
        }
    }

    #[derive(Default)]
    struct Net {
        peers: HashMap<IpAddr, Peer>,
        /// SM_NOTIFYs received: (peer, name, state).
        notices: Vec<(IpAddr, String, i32)>,
        /// Portmapper queries received: (peer, version).
        queries: Vec<(IpAddr, u32)>,
    }

    impl Net {
        fn with(peers: &[(&str, Peer)]) -> Net {
            Net {
                peers: peers
                    .iter()
                    .map(|(a, p)| (a.parse().unwrap(), p.clone()))
                    .collect(),
                ..Net::default()
            }
        }

        fn answer(&mut self, to: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
            let peer = self.peers.get(&to.ip())?.clone();
            if !peer.up {
                return None;
            }
            let CallDecode::Call(h) = decode_call(msg) else {
                panic!("not a call");
            };
            if to.port() == 111 {
                self.queries.push((to.ip(), h.vers));
                if h.vers == 2 && peer.no_v2 {
                    return Some(encode_reply(
                        h.xid,
                        ReplyKind::ProgMismatch { low: 3, high: 4 },
                    ));
                }
                let port = peer.statd.unwrap_or(0);
                let results = if h.vers == 2 {
                    u32::from(port).to_xdr()
                } else if port == 0 {
                    Bounded::<1024>::new(Vec::new()).unwrap().to_xdr()
                } else {
                    let uaddr = match to.ip() {
                        IpAddr::V4(ip) => format!("{ip}.{}.{}", port >> 8, port & 255),
                        IpAddr::V6(ip) => format!("{ip}.{}.{}", port >> 8, port & 255),
                    };
                    Bounded::<1024>::new(uaddr.into_bytes()).unwrap().to_xdr()
                };
                return Some(encode_reply(h.xid, ReplyKind::Success(&results)));
            }
            assert_eq!(Some(to.port()), peer.statd, "sent to the wrong port");
            assert_eq!((h.prog, h.vers, h.proc), (100_024, 1, 6));
            let args = StatChge::from_xdr(h.args).unwrap();
            self.notices.push((
                to.ip(),
                String::from_utf8(args.mon_name.as_bytes().to_vec()).unwrap(),
                args.state,
            ));
            Some(encode_reply(h.xid, ReplyKind::Success(&[])))
        }
    }

    fn config(window: usize) -> NotifyConfig {
        NotifyConfig {
            state: 7,
            default_name: b"nodename".to_vec(),
            identity: None,
            schedule: Schedule::seed(),
            window,
        }
    }

    fn target(host: &str, my_names: &[&str]) -> Target {
        Target {
            host: host.into(),
            my_names: my_names.iter().map(|n| n.as_bytes().to_vec()).collect(),
            since_unix: None,
        }
    }

    /// Delivers every datagram and answers lookups from `hosts`, until the
    /// notifier waits for time to pass. Returns the events seen.
    fn exchange(
        n: &mut Notifier,
        net: &mut Net,
        now: Instant,
        hosts: &[(&str, &[&str])],
    ) -> Vec<NotifyEvent> {
        let mut seen = Vec::new();
        loop {
            let mut busy = false;
            while let Some((to, msg)) = n.poll_transmit() {
                busy = true;
                if let Some(reply) = net.answer(to, &msg) {
                    n.handle_datagram(now, to, &reply);
                }
            }
            while let Some(ev) = n.poll_event() {
                busy = true;
                if let NotifyEvent::Resolve(id, name) = &ev {
                    let addrs = hosts
                        .iter()
                        .find(|(h, _)| h.as_bytes() == name.as_slice())
                        .map(|(_, a)| a.iter().map(|s| s.parse().unwrap()).collect());
                    n.resolved(now, *id, addrs);
                }
                seen.push(ev);
            }
            if !busy {
                return seen;
            }
        }
    }

    /// Runs virtual time forward until idle or `limit`; returns the events
    /// and the time reached.
    fn run(
        n: &mut Notifier,
        net: &mut Net,
        t0: Instant,
        limit: Duration,
        hosts: &[(&str, &[&str])],
    ) -> (Vec<NotifyEvent>, Instant) {
        let mut now = t0;
        let mut seen = exchange(n, net, now, hosts);
        while let Some(t) = n.poll_timeout() {
            if t > t0 + limit {
                break;
            }
            now = now.max(t);
            n.handle_timeout(now);
            seen.extend(exchange(n, net, now, hosts));
        }
        (seen, now)
    }

    fn notified(events: &[NotifyEvent]) -> Vec<(String, Option<String>)> {
        events
            .iter()
            .filter_map(|e| match e {
                NotifyEvent::Notified { host, my_name, .. } => Some((
                    String::from_utf8_lossy(host).into_owned(),
                    my_name
                        .as_ref()
                        .map(|m| String::from_utf8_lossy(m).into_owned()),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_answering_literal_gets_each_identity_then_the_short_name() {
        let t0 = Instant::now();
        let mut net = Net::with(&[("10.0.0.2", Peer::answering())]);
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("10.0.0.2", &["hosta.lab", "HOSTA.LAB", "other"]));
        let (events, end) = run(&mut n, &mut net, t0, Duration::from_secs(60), &[]);
        assert_eq!(
            notified(&events),
            [
                ("10.0.0.2".into(), Some("hosta.lab".into())),
                ("10.0.0.2".into(), Some("other".into())),
            ]
        );
        let names: Vec<&str> = net.notices.iter().map(|(_, m, _)| m.as_str()).collect();
        assert_eq!(names, ["hosta.lab", "hosta", "other"]);
        assert!(net.notices.iter().all(|(_, _, s)| *s == 7));
        assert_eq!(net.queries, [("10.0.0.2".parse().unwrap(), 2)]);
        assert!(n.is_idle());
        assert_eq!(end, t0, "no waiting when everyone answers");
        assert_eq!(n.stats().notified, 1);
    }

    #[test]
    fn every_address_is_tried_and_rpcbind_serves_ipv6_and_refused_v2() {
        let t0 = Instant::now();
        let mut net = Net::with(&[
            ("fd77::2", Peer::silent()),
            (
                "10.0.0.2",
                Peer {
                    no_v2: true,
                    ..Peer::answering()
                },
            ),
            ("fd77::3", Peer::answering()),
        ]);
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("hostb", &["hosta"]));
        n.add(t0, target("hostc", &["hosta"]));
        let hosts: &[(&str, &[&str])] =
            &[("hostb", &["fd77::2", "10.0.0.2"]), ("hostc", &["fd77::3"])];
        let (events, end) = run(&mut n, &mut net, t0, Duration::from_secs(60), hosts);
        assert_eq!(notified(&events).len(), 2);
        let q = |ip: &str| -> Vec<u32> {
            net.queries
                .iter()
                .filter(|(a, _)| *a == ip.parse::<IpAddr>().unwrap())
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(q("fd77::2"), Vec::<u32>::new(), "silent: nothing answered");
        assert_eq!(q("10.0.0.2"), [2, 3], "PMAP v2 refused, then RPCB v3");
        assert_eq!(q("fd77::3"), [4], "IPv6: RPCB v4");
        // The silent address costs three GETADDR sends: 1 s + 2 s + 2 s.
        assert_eq!(end - t0, Duration::from_secs(5));
        assert!(n.is_idle());
    }

    #[test]
    fn a_silent_peer_follows_the_seed_schedule_and_is_given_up_after_a_day() {
        let t0 = Instant::now();
        let mut net = Net::with(&[("10.0.0.9", Peer::silent())]);
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("10.0.0.9", &["hosta"]));
        // One round: GETPORT sent at 0, 1, 3 s; the round ends at 5 s, when
        // round 1 is due too.
        let (_, _) = run(&mut n, &mut net, t0, Duration::from_secs(4), &[]);
        assert_eq!(n.stats().datagrams, 3);
        let (events, end) = run(&mut n, &mut net, t0, Duration::from_secs(25 * 3600), &[]);
        assert_eq!(
            events,
            [NotifyEvent::GaveUp {
                host: b"10.0.0.9".to_vec(),
                since_unix: T0_UNIX,
                rounds: 44
            }]
        );
        // Rounds start at the schedule's offsets; the last at 650 s + 23 h.
        assert_eq!(end - t0, Duration::from_secs(650 + 23 * 3600 + 5));
        assert_eq!(n.stats().datagrams, 44 * 3);
        assert_eq!(n.stats().failed_rounds, 44);
        assert!(n.is_idle());
    }

    #[test]
    fn status_shows_rounds_and_next_try_and_resume_skips_ahead() {
        let t0 = Instant::now();
        let mut net = Net::with(&[("10.0.0.9", Peer::silent())]);
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("10.0.0.9", &[]));
        let (_, _) = run(&mut n, &mut net, t0, Duration::from_secs(112), &[]);
        assert!(n.take_dirty());
        let st = n.status();
        assert_eq!(st.len(), 1);
        assert_eq!((st[0].since_unix, st[0].rounds), (T0_UNIX, 11));
        assert_eq!(st[0].next_unix, None, "round 11 (due at 110 s) is running");

        // A notifier restarted three hours in waits for the next hourly slot.
        let mut m = Notifier::new(config(16), t0, T0_UNIX + 3 * 3600, 1);
        m.add(
            t0,
            Target {
                since_unix: Some(T0_UNIX),
                ..target("10.0.0.9", &[])
            },
        );
        let st = m.status();
        assert_eq!(st[0].rounds, 23);
        assert_eq!(st[0].next_unix, Some(T0_UNIX + 650 + 3 * 3600));
        assert!(m.poll_transmit().is_none());
        // And one restarted after a day gives up at once.
        let mut late = Notifier::new(config(16), t0, T0_UNIX + 86_400, 1);
        late.add(
            t0,
            Target {
                since_unix: Some(T0_UNIX),
                ..target("10.0.0.9", &[])
            },
        );
        assert!(matches!(
            late.poll_event(),
            Some(NotifyEvent::GaveUp { rounds: 0, .. })
        ));
        assert_eq!(late.pending(), 0);
    }

    #[test]
    fn the_window_bounds_hosts_in_flight() {
        let t0 = Instant::now();
        let peers: Vec<(String, Peer)> = (1..=10)
            .map(|i| (format!("10.0.1.{i}"), Peer::silent()))
            .collect();
        let refs: Vec<(&str, Peer)> = peers.iter().map(|(a, p)| (a.as_str(), p.clone())).collect();
        let mut net = Net::with(&refs);
        let mut n = Notifier::new(config(3), t0, T0_UNIX, 1);
        for (a, _) in &peers {
            n.add(t0, target(a, &["hosta"]));
        }
        let mut first = Vec::new();
        while let Some((to, _)) = n.poll_transmit() {
            first.push(to);
        }
        assert_eq!(first.len(), 3, "three hosts at once");
        let (_, _) = run(&mut n, &mut net, t0, Duration::from_secs(30), &[]);
        let mut ok = Net::with(&refs);
        for p in ok.peers.values_mut() {
            *p = Peer::answering();
        }
        let (events, _) = run(&mut n, &mut ok, t0, Duration::from_secs(3600), &[]);
        assert_eq!(notified(&events).len(), 10);
        assert!(n.is_idle());
    }

    #[test]
    fn spoofed_and_stray_replies_are_ignored() {
        let t0 = Instant::now();
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("10.0.0.2", &["hosta"]));
        let (to, msg) = n.poll_transmit().unwrap();
        let CallDecode::Call(h) = decode_call(&msg) else {
            panic!()
        };
        let reply = encode_reply(h.xid, ReplyKind::Success(&1000u32.to_xdr()));
        n.handle_datagram(t0, "10.0.0.2:4444".parse().unwrap(), &reply);
        n.handle_datagram(t0, to, &[1, 2]);
        n.handle_datagram(t0, to, &encode_reply(h.xid ^ 1, ReplyKind::Success(&[])));
        assert_eq!(n.stats().ignored, 3);
        assert!(
            n.poll_transmit().is_none(),
            "still waiting for the real answer"
        );
        n.handle_datagram(t0, to, &reply);
        let (to2, _) = n.poll_transmit().unwrap();
        assert_eq!(to2, "10.0.0.2:1000".parse().unwrap());
    }

    #[test]
    fn forget_stops_a_host_and_an_override_name_clears_everything() {
        let t0 = Instant::now();
        let mut net = Net::with(&[
            ("10.0.0.9", Peer::silent()),
            ("10.0.0.2", Peer::answering()),
        ]);
        let cfg = NotifyConfig {
            identity: Some(b"alias".to_vec()),
            ..config(16)
        };
        let mut n = Notifier::new(cfg, t0, T0_UNIX, 1);
        n.add(t0, target("10.0.0.9", &["hosta"]));
        n.add(t0, target("10.0.0.2", &["hosta", "hostz"]));
        let (events, _) = run(&mut n, &mut net, t0, Duration::from_secs(2), &[]);
        assert_eq!(notified(&events), [("10.0.0.2".into(), None)]);
        assert_eq!(net.notices.len(), 1);
        assert_eq!(net.notices[0].1, "alias");
        assert!(n.forget(t0, b"10.0.0.9"));
        assert!(!n.forget(t0, b"10.0.0.9"));
        let (events, _) = run(&mut n, &mut net, t0, Duration::from_secs(3600), &[]);
        assert!(events.is_empty());
        assert!(n.is_idle());
    }

    #[test]
    fn a_new_state_restarts_pending_hosts_and_unknown_names_wait() {
        let t0 = Instant::now();
        let mut net = Net::with(&[("10.0.0.2", Peer::answering())]);
        let mut n = Notifier::new(config(16), t0, T0_UNIX, 1);
        n.add(t0, target("nosuch", &["hosta"]));
        n.add(t0, target("hostb", &[]));
        let hosts: &[(&str, &[&str])] = &[("hostb", &["10.0.0.2"])];
        let (_, _) = run(&mut n, &mut net, t0, Duration::from_secs(60), hosts);
        assert_eq!(n.pending(), 1, "nosuch does not resolve");
        assert_eq!(net.notices[0].1, "nodename", "no identity on record");
        let later = t0 + Duration::from_secs(60);
        n.set_state(later, 9);
        assert_eq!(n.state(), 9);
        let st = n.status();
        assert_eq!((st[0].rounds, st[0].since_unix), (0, T0_UNIX + 60));
    }
}
