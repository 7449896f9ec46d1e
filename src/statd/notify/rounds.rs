//! One host's notification, round by round: the jobs the
//! [`Notifier`] keeps, and how a round runs (find the addresses, ask each
//! address's portmapper where statd listens, send SM_NOTIFY once per
//! identity owed, then wait for the next round as the schedule says or
//! give up). The module doc of [`super::notifier`] tells the whole story.

use super::api::{LookupId, NotifyEvent};
use super::jobs::{unix_at, Identity, InFlight, JobId, Phase, Purpose};
use super::notifier::Notifier;
use super::peer::{self, Found};
use crate::rpc::client::{CallId, CallResult, OutCall, RetryPolicy};
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

impl Notifier {
    /// Whether `msg` from `from` may answer a call in flight: its xid is
    /// one of ours and it comes from the port the call went to.
    pub(super) fn awaits(&self, from: SocketAddr, msg: &[u8]) -> bool {
        let call = xid_of(msg).and_then(|x| self.xids.get(&x).copied());
        let expected = call.and_then(|c| self.calls.get(&c)).map(|f| f.to);
        expected.is_some_and(|to| same_peer(to, from))
    }

    pub(super) fn window(&self) -> usize {
        self.cfg.window.max(1)
    }

    pub(super) fn identities_for(&self, my_names: &[Vec<u8>]) -> Vec<Identity> {
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
    pub(super) fn drive(&mut self, now: Instant) {
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
    pub(super) fn try_address(&mut self, now: Instant, id: JobId, addr: usize) {
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
    pub(super) fn abort_round(&mut self, id: JobId) {
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

    pub(super) fn remove(&mut self, id: JobId) {
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

/// Whether a reply from `from` can answer a call sent to `to`: the same
/// port (see the module doc for why not the same address).
fn same_peer(to: SocketAddr, from: SocketAddr) -> bool {
    to.port() == from.port()
}

#[cfg(test)]
mod tests {
    use super::super::sim::*;
    use super::*;
    use std::time::{Duration, Instant};

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
}
