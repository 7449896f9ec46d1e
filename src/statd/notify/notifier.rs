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
//! This file holds the notifier and its driving API; the values it takes
//! and yields live in `api.rs` (re-exported here), and how one host's
//! rounds run in `rounds.rs`.
//!
//! # Panic contract
//! No method panics, whatever arrives from the network.

use super::jobs::{unix_at, InFlight, Job, JobId, Phase};
use crate::rpc::client::{CallId, RpcClient};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub use super::api::{HostStatus, LookupId, NotifyConfig, NotifyEvent, NotifyStats, Target};

/// The notifier.
#[derive(Debug)]
pub struct Notifier {
    pub(super) cfg: NotifyConfig,
    /// A monotonic instant and the Unix time it stood for.
    pub(super) epoch: (Instant, u64),
    pub(super) client: RpcClient,
    pub(super) jobs: HashMap<JobId, Job>,
    pub(super) by_host: HashMap<Vec<u8>, JobId>,
    pub(super) waiting: BTreeSet<(Instant, JobId)>,
    pub(super) active: usize,
    pub(super) next_job: JobId,
    pub(super) next_lookup: u64,
    pub(super) calls: HashMap<CallId, InFlight>,
    pub(super) xids: HashMap<u32, CallId>,
    pub(super) lookups: HashMap<LookupId, JobId>,
    pub(super) outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    pub(super) events: VecDeque<NotifyEvent>,
    pub(super) stats: NotifyStats,
    pub(super) dirty: bool,
    /// Failed name lookups are logged at most once a minute.
    pub(super) lookup_failures: crate::log::RateLimit,
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
        if !self.awaits(from, msg) {
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
}

#[cfg(test)]
mod tests {
    use super::super::sim::*;
    use super::*;
    use crate::rpc::message::{decode_call, encode_reply, CallDecode, ReplyKind};
    use crate::xdr::Xdr;

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
