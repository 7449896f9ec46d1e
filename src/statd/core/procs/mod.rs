//! What each NSM procedure does (the decoding, access rules and replies);
//! the queues and the store flow are in the parent module.
//!
//! Access rules (stricter than, or equal to, every reference statd):
//! - SM_NULL, SM_STAT and SM_NOTIFY: anyone.
//! - SM_MON, SM_UNMON, SM_UNMON_ALL: loopback callers only (127.0.0.0/8,
//!   ::1, v4-mapped loopback, local sockets).
//! - SM_SIMU_CRASH: loopback and a reserved source port (or root on a
//!   local socket).
//! - SM_MON also needs a callback on the allow-list
//!   ([`crate::proto::nlm::callback_allowed`]) and a storable mon_name.

use super::monitors::literal_addr;
use super::{Callout, Lookup, NsmCore, Waiter};
use crate::log::escape;
use crate::proto::nlm::callback_allowed;
use crate::proto::sm_inter::{Mon, MonId, MyId, Res, SmName, SmProc, SmStat, SmStatRes, StatChge};
use crate::rpc::{Call, Dispatch};
use crate::statd::record::{CallerKey, Change, Registration, UnmonitorKey};
use crate::statd::store::nfsutils::format as nfsutils;
use crate::xdr::Xdr;

/// The `sm_stat_res` of SM_STAT.
pub(super) fn stat_res(found: bool, state: i32) -> Dispatch {
    let res_stat = if found {
        Res::STAT_SUCC
    } else {
        Res::STAT_FAIL
    };
    Dispatch::Reply(SmStatRes { res_stat, state }.to_xdr())
}

/// The `sm_stat_res` of SM_MON: the local state on success, -1 on failure
/// (as nfs-utils; the Linux kernel adopts the state it gets).
pub(super) fn mon_reply(ok: bool, state: i32) -> Dispatch {
    if ok {
        stat_res(true, state)
    } else {
        stat_res(false, -1)
    }
}

/// The `sm_stat` of SM_UNMON and SM_UNMON_ALL.
pub(super) fn stat_reply(state: i32) -> Dispatch {
    Dispatch::Reply(SmStat { state }.to_xdr())
}

/// my_name as nfs-utils stores it: space, tab, CR and LF become `_`
/// (FreeBSD's kernel calls itself "NFS NLM").
fn stored_my_name(name: &[u8]) -> Vec<u8> {
    name.iter()
        .map(|&b| match b {
            b' ' | b'\t' | b'\r' | b'\n' => b'_',
            other => other,
        })
        .collect()
}

/// Whether `name` could name a host at all: the store's file-name rule
/// (not empty, no `/`, no leading `.`, no whitespace or control bytes, at
/// most 255 bytes, which no DNS name exceeds).
fn plausible_host(name: &[u8]) -> bool {
    nfsutils::is_valid_file_name(name)
}

impl NsmCore {
    pub(super) fn dispatch(&mut self, call: &Call<'_>) -> Dispatch {
        match SmProc(call.proc) {
            SmProc::NULL => Dispatch::Reply(Vec::new()),
            SmProc::STAT => decoded(call, |a| self.sm_stat(call, a)),
            SmProc::MON => decoded(call, |a| self.sm_mon(call, a)),
            SmProc::UNMON => decoded(call, |a| self.sm_unmon(call, a)),
            SmProc::UNMON_ALL => decoded(call, |a| self.sm_unmon_all(call, a)),
            SmProc::SIMU_CRASH => self.sm_simu_crash(call),
            SmProc::NOTIFY => decoded(call, |a| self.sm_notify(call, a)),
            _ => Dispatch::ProcUnavail,
        }
    }

    fn refuse(&mut self, call: &Call<'_>, what: &str) {
        self.counters.refused += 1;
        log::warn!(
            "{} from {} refused: {what}",
            SmProc(call.proc).name().unwrap_or("call"),
            call.caller.addr
        );
    }

    fn sm_stat(&mut self, call: &Call<'_>, arg: SmName) -> Dispatch {
        let name = arg.mon_name.as_bytes();
        log::debug!("SM_STAT for {} from {}", escape(name), call.caller.addr);
        if literal_addr(name).is_some() {
            return stat_res(true, self.state);
        }
        if !plausible_host(name) {
            return stat_res(false, self.state);
        }
        let key = name.to_ascii_lowercase();
        if !self.monitors.matching(&key, None).is_empty() {
            return stat_res(true, self.state);
        }
        self.resolve(key, Lookup::Stat(call.reply_to));
        Dispatch::Deferred
    }

    fn sm_mon(&mut self, call: &Call<'_>, arg: Mon) -> Dispatch {
        let id = &arg.mon_id.my_id;
        if !call.caller.is_loopback() {
            self.refuse(call, "SM_MON is only taken from the local host");
            return mon_reply(false, self.state);
        }
        if !callback_allowed(id.my_prog, id.my_vers, id.my_proc) {
            self.refuse(
                call,
                &format!(
                    "callback {}/{}/{} is not an NSM callback procedure (statd bounce?)",
                    id.my_prog, id.my_vers, id.my_proc
                ),
            );
            return mon_reply(false, self.state);
        }
        let mut reg = Registration::from_mon(&arg);
        reg.my_name = stored_my_name(&reg.my_name);
        if let Err(why) = nfsutils::check(&reg) {
            self.refuse(
                call,
                &format!("cannot monitor {}: {why}", escape(&reg.mon_name)),
            );
            return mon_reply(false, self.state);
        }
        log::info!(
            "SM_MON {} for {} ({}/{}/{})",
            escape(&reg.mon_name),
            escape(&reg.my_name),
            reg.my_prog,
            reg.my_vers,
            reg.my_proc
        );
        let waiter = Waiter::Mon(call.reply_to);
        if literal_addr(&reg.mon_name).is_some() {
            return self.submit(Change::Monitor(reg), waiter);
        }
        // As nfs-utils: a name that does not resolve is not monitored (its
        // host could never be told of our reboot).
        let id = self.resolve(reg.mon_name.to_ascii_lowercase(), Lookup::Mon);
        self.pending.push_back(super::Pending {
            change: Change::Monitor(reg),
            waiter,
            lookup: Some(id),
        });
        Dispatch::Deferred
    }

    fn sm_unmon(&mut self, call: &Call<'_>, arg: MonId) -> Dispatch {
        if !call.caller.is_loopback() {
            self.refuse(call, "SM_UNMON is only taken from the local host");
            return stat_reply(self.state);
        }
        let mut key = UnmonitorKey::from_mon_id(&arg);
        key.my_name = stored_my_name(&key.my_name);
        log::info!(
            "SM_UNMON {} for {}",
            escape(&key.mon_name),
            escape(&key.my_name)
        );
        self.queue_removal(call, Change::Unmonitor(key))
    }

    fn sm_unmon_all(&mut self, call: &Call<'_>, arg: MyId) -> Dispatch {
        if !call.caller.is_loopback() {
            self.refuse(call, "SM_UNMON_ALL is only taken from the local host");
            return stat_reply(self.state);
        }
        let mut key = CallerKey::from_my_id(&arg);
        key.my_name = stored_my_name(&key.my_name);
        log::info!("SM_UNMON_ALL for {}", escape(&key.my_name));
        self.queue_removal(call, Change::UnmonitorAll(key))
    }

    /// Queues an SM_UNMON/SM_UNMON_ALL; answers at once when it removes
    /// nothing and nothing queued could change that.
    fn queue_removal(&mut self, call: &Call<'_>, change: Change) -> Dispatch {
        self.submit(change, Waiter::Unmon(call.reply_to))
    }

    fn sm_simu_crash(&mut self, call: &Call<'_>) -> Dispatch {
        if !call.caller.is_loopback() || !call.caller.has_reserved_port() {
            self.refuse(
                call,
                "SM_SIMU_CRASH is only taken from a privileged port on the local host",
            );
            return Dispatch::Reply(Vec::new());
        }
        self.crash_waiters.push(call.reply_to);
        Dispatch::Deferred
    }

    fn sm_notify(&mut self, call: &Call<'_>, arg: StatChge) -> Dispatch {
        let name = arg.mon_name.as_bytes();
        let addr = call.caller.ip();
        self.out.push_back(super::Output::Callout(Callout::Notify {
            mon_name: name.to_vec(),
            addr,
            state: arg.state,
        }));
        let keys = self.monitors.matching(name, Some(addr));
        log::info!(
            "SM_NOTIFY from {} ({}): state {}, {} monitored host(s) match",
            call.caller.addr,
            escape(name),
            arg.state,
            keys.len()
        );
        if keys.is_empty() && literal_addr(name).is_none() && plausible_host(name) {
            // Perhaps a name for an address we monitor: look it up off the
            // request path and match by address then.
            self.resolve(
                name.to_ascii_lowercase(),
                Lookup::Notify { state: arg.state },
            );
        }
        self.forward(&keys, arg.state);
        Dispatch::Reply(Vec::new())
    }
}

/// Decodes the arguments, or answers GARBAGE_ARGS.
fn decoded<'a, T: Xdr<'a>>(call: &Call<'a>, f: impl FnOnce(T) -> Dispatch) -> Dispatch {
    match T::from_xdr(call.args) {
        Ok(arg) => f(arg),
        Err(e) => {
            log::debug!(
                "{} from {}: undecodable arguments: {e}",
                SmProc(call.proc).name().unwrap_or("call"),
                call.caller.addr
            );
            Dispatch::GarbageArgs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Callback, Output, ResolveId, StoreDone, StoreJob};
    use super::*;
    use crate::proto::sm_inter::{SmString, Status};
    use crate::rpc::{Caller, Credential, Program, ReplyTo, Transport};
    use crate::statd::record::{Effect, HostEntry};
    use crate::xdr::FixedOpaque;
    use std::collections::HashMap;
    use std::net::{IpAddr, SocketAddr};
    use std::time::Instant;

    /// The core with a resolver that answers at once for the names it
    /// knows (a private /etc/hosts); lookups of other names stay open for
    /// the test to answer.
    struct Harness {
        core: NsmCore,
        next: u64,
        hosts: HashMap<Vec<u8>, Option<Vec<IpAddr>>>,
        seen: Vec<Output>,
    }

    /// The names the harness resolves: `a`..`d` and `peerhost` resolve,
    /// `nowhere` does not.
    fn known_hosts() -> HashMap<Vec<u8>, Option<Vec<IpAddr>>> {
        let mut hosts = HashMap::new();
        for (n, name) in [&b"a"[..], b"b", b"c", b"d", b"peerhost"]
            .iter()
            .enumerate()
        {
            let addr = IpAddr::from([192, 0, 2, n as u8 + 1]);
            hosts.insert(name.to_vec(), Some(vec![addr]));
        }
        hosts.insert(b"nowhere".to_vec(), None);
        hosts
    }

    fn s(text: &[u8]) -> SmString {
        SmString::new(text.to_vec()).unwrap()
    }

    fn mon(name: &[u8], my: &[u8], vers: i32, proc: i32, cookie: u8) -> Vec<u8> {
        Mon {
            mon_id: MonId {
                mon_name: s(name),
                my_id: MyId {
                    my_name: s(my),
                    my_prog: 100_021,
                    my_vers: vers,
                    my_proc: proc,
                },
            },
            cookie: FixedOpaque([cookie; 16]),
        }
        .to_xdr()
    }

    fn unmon(name: &[u8], my: &[u8]) -> Vec<u8> {
        MonId {
            mon_name: s(name),
            my_id: MyId {
                my_name: s(my),
                my_prog: 100_021,
                my_vers: 4,
                my_proc: 16,
            },
        }
        .to_xdr()
    }

    fn notify(name: &[u8], state: i32) -> Vec<u8> {
        StatChge {
            mon_name: s(name),
            state,
        }
        .to_xdr()
    }

    fn sm_res(d: &Dispatch) -> (Res, i32) {
        let Dispatch::Reply(b) = d else {
            panic!("not a reply: {d:?}")
        };
        let r = SmStatRes::from_xdr(b).unwrap();
        (r.res_stat, r.state)
    }

    impl Harness {
        fn new(state: i32) -> Harness {
            Harness::with_hosts(state, &[])
        }

        fn with_hosts(state: i32, hosts: &[HostEntry]) -> Harness {
            let mut h = Harness {
                core: NsmCore::new(state, hosts),
                next: 0,
                hosts: known_hosts(),
                seen: Vec::new(),
            };
            h.pump();
            h
        }

        /// Answers the lookups of known names, keeping other outputs.
        fn pump(&mut self) {
            while let Some(out) = self.core.poll_output() {
                match out {
                    Output::Resolve(id, name) if self.hosts.contains_key(&name) => {
                        let addrs = self.hosts[&name].clone();
                        self.core.resolved(id, addrs);
                    }
                    other => self.seen.push(other),
                }
            }
        }

        fn call(&mut self, from: &str, proc: SmProc, args: &[u8]) -> (ReplyTo, Dispatch) {
            let addr: SocketAddr = from.parse().unwrap();
            let to = ReplyTo(self.next);
            self.next += 1;
            let d = self.core.call(&Call {
                xid: 1,
                prog: 100_024,
                vers: 1,
                proc: proc.0,
                caller: Caller {
                    addr,
                    transport: Transport::Udp,
                },
                cred: Credential::None,
                args,
                now: Instant::now(),
                reply_to: to,
            });
            self.pump();
            (to, d)
        }

        fn outputs(&mut self) -> Vec<Output> {
            self.pump();
            std::mem::take(&mut self.seen)
        }

        fn replies(&mut self) -> Vec<(ReplyTo, Dispatch)> {
            self.outputs()
                .into_iter()
                .filter_map(|o| match o {
                    Output::Reply(to, d) => Some((to, d)),
                    _ => None,
                })
                .collect()
        }

        /// Runs store jobs as a store that succeeds, with `Added` (or
        /// `Removed(1)`) for every change.
        fn commit_all(&mut self) -> usize {
            let mut jobs = 0;
            while let Some(job) = self.core.poll_store_job() {
                jobs += 1;
                let done = match job {
                    StoreJob::Commit(changes) => StoreDone::Committed(Ok(changes
                        .iter()
                        .map(|c| match c {
                            Change::Monitor(_) => Effect::Added,
                            _ => Effect::Removed(1),
                        })
                        .collect())),
                    StoreJob::Reboot(_) => {
                        StoreDone::Rebooted(Ok((self.core.state() + 2, Vec::new())))
                    }
                };
                self.core.store_done(done);
                self.pump();
            }
            jobs
        }
    }

    const LOCAL: &str = "127.0.0.1:800";

    #[test]
    fn sm_mon_is_answered_once_durable() {
        let mut h = Harness::new(3);
        let (to, d) = h.call(LOCAL, SmProc::MON, &mon(b"127.0.0.20", b"me", 4, 16, 1));
        assert_eq!(d, Dispatch::Deferred);
        assert!(h.replies().is_empty());
        assert_eq!(h.commit_all(), 1);
        let out = h.outputs();
        assert!(out.contains(&Output::Reply(to, mon_reply(true, 3))));
        assert!(out.contains(&Output::Callout(Callout::AddClient {
            mon_name: b"127.0.0.20".to_vec(),
            my_name: b"me".to_vec()
        })));
        assert_eq!(h.core.monitors().registration_count(), 1);
        // An identical repeat needs no store round.
        let (_, d) = h.call(LOCAL, SmProc::MON, &mon(b"127.0.0.20", b"me", 4, 16, 1));
        assert_eq!(sm_res(&d), (Res::STAT_SUCC, 3));
        assert_eq!(h.commit_all(), 0);
    }

    #[test]
    fn requests_queued_together_share_one_store_job_and_jobs_finish_in_order() {
        let mut h = Harness::new(3);
        let (a, _) = h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
        let Some(StoreJob::Commit(first)) = h.core.poll_store_job() else {
            panic!()
        };
        assert_eq!(first.len(), 1);
        let mut later = Vec::new();
        for name in [b"b", b"c", b"d"] {
            later.push(h.call(LOCAL, SmProc::MON, &mon(name, b"me", 4, 16, 1)).0);
        }
        // A second job goes out while the first runs.
        let Some(StoreJob::Commit(second)) = h.core.poll_store_job() else {
            panic!()
        };
        assert_eq!(second.len(), 3);
        assert_eq!(h.core.poll_store_job(), None);
        h.core
            .store_done(StoreDone::Committed(Ok(vec![Effect::Added])));
        assert_eq!(h.replies(), vec![(a, mon_reply(true, 3))]);
        assert_eq!(h.core.monitors().registration_count(), 1);
        h.core
            .store_done(StoreDone::Committed(Ok(vec![Effect::Added; 3])));
        let replies: Vec<ReplyTo> = h.replies().into_iter().map(|(to, _)| to).collect();
        assert_eq!(replies, later);
        assert_eq!(h.core.monitors().registration_count(), 4);
        assert!(!h.core.store_busy());
    }

    #[test]
    fn a_lost_store_fails_every_job_in_flight() {
        let mut h = Harness::new(3);
        let (a, _) = h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
        assert!(h.core.poll_store_job().is_some());
        let (b, _) = h.call(LOCAL, SmProc::UNMON, &unmon(b"a", b"me"));
        assert!(h.core.poll_store_job().is_some());
        h.core.store_gone("store thread gone");
        assert_eq!(
            h.replies(),
            vec![(a, mon_reply(false, 3)), (b, Dispatch::SystemErr)]
        );
        assert!(!h.core.store_busy());
    }

    #[test]
    fn a_failed_commit_acknowledges_nothing() {
        let mut h = Harness::new(3);
        let (m, _) = h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
        h.commit_all();
        h.outputs();
        let (m2, _) = h.call(LOCAL, SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        let (u, _) = h.call(LOCAL, SmProc::UNMON, &unmon(b"a", b"me"));
        assert!(h.core.poll_store_job().is_some());
        h.core
            .store_done(StoreDone::Committed(Err("disk full".into())));
        let replies = h.replies();
        assert!(replies.contains(&(m2, mon_reply(false, 3))));
        assert!(replies.contains(&(u, Dispatch::SystemErr)));
        assert_eq!(sm_res(&mon_reply(false, 3)), (Res::STAT_FAIL, -1));
        assert_eq!(h.core.monitors().registration_count(), 1);
        let _ = m;
    }

    #[test]
    fn only_local_callers_may_change_the_list() {
        let mut h = Harness::new(3);
        for from in ["127.0.0.2:700", "[::1]:700", "[::ffff:127.0.0.1]:700"] {
            let (_, d) = h.call(from, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
            assert_eq!(d, Dispatch::Deferred, "{from}");
        }
        let (_, d) = h.call("198.18.0.2:700", SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        assert_eq!(sm_res(&d), (Res::STAT_FAIL, -1));
        let (_, d) = h.call("198.18.0.2:700", SmProc::UNMON, &unmon(b"a", b"me"));
        assert_eq!(d, stat_reply(3), "remote SM_UNMON gets the real state");
        let all = MonId::from_xdr(&unmon(b"a", b"me")).unwrap().my_id;
        let (_, d) = h.call("198.18.0.2:700", SmProc::UNMON_ALL, &all.to_xdr());
        assert_eq!(d, stat_reply(3));
        assert_eq!(h.core.counters().refused, 3);
    }

    #[test]
    fn callbacks_outside_the_allow_list_are_refused() {
        let mut h = Harness::new(3);
        for (vers, proc, ok) in [
            (4, 16, true),
            (3, 24, true),
            (1, 16, true),
            (0, 1, true),
            (99, 16, false),
            (4, 17, false),
            (0, 16, false),
        ] {
            let (_, d) = h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", vers, proc, 1));
            assert_eq!(d == Dispatch::Deferred, ok, "{vers}/{proc}");
        }
        let mut other = Mon::from_xdr(&mon(b"a", b"me", 4, 16, 1)).unwrap();
        other.mon_id.my_id.my_prog = 100_005;
        let (_, d) = h.call(LOCAL, SmProc::MON, &other.to_xdr());
        assert_eq!(sm_res(&d), (Res::STAT_FAIL, -1));
    }

    #[test]
    fn bad_mon_names_are_refused() {
        let mut h = Harness::new(3);
        let long = vec![b'a'; 256];
        for name in [
            &b"a/b"[..],
            b".hidden",
            b"..",
            b"x\0y",
            b"new\nline",
            b"%n%s%n",
            b"",
            &long,
        ] {
            let (_, d) = h.call(LOCAL, SmProc::MON, &mon(name, b"me", 4, 16, 1));
            let ok = name == b"%n%s%n";
            assert_eq!(d == Dispatch::Deferred, ok, "{}", escape(name));
        }
    }

    #[test]
    fn my_name_whitespace_is_stored_as_underscores() {
        let mut h = Harness::new(3);
        h.call(LOCAL, SmProc::MON, &mon(b"a", b"NFS NLM", 4, 16, 1));
        let Some(StoreJob::Commit(changes)) = h.core.poll_store_job() else {
            panic!()
        };
        let Change::Monitor(reg) = &changes[0] else {
            panic!()
        };
        assert_eq!(reg.my_name, b"NFS_NLM");
        h.core
            .store_done(StoreDone::Committed(Ok(vec![Effect::Added])));
        let (_, d) = h.call(LOCAL, SmProc::UNMON, &unmon(b"A", b"NFS NLM"));
        assert_eq!(d, Dispatch::Deferred, "matches the stored name");
        h.commit_all();
        assert_eq!(h.core.monitors().registration_count(), 0);
    }

    #[test]
    fn unmon_of_nothing_is_answered_at_once() {
        let mut h = Harness::new(5);
        let (_, d) = h.call(LOCAL, SmProc::UNMON, &unmon(b"a", b"me"));
        assert_eq!(d, stat_reply(5));
        let all = MyId {
            my_name: s(b"NFS NLM"),
            ..MyId::default()
        };
        let (_, d) = h.call("[::1]:900", SmProc::UNMON_ALL, &all.to_xdr());
        assert_eq!(d, stat_reply(5), "FreeBSD reads the state this way");
    }

    #[test]
    fn simu_crash_needs_a_privileged_local_caller() {
        let mut h = Harness::new(3);
        h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
        h.call(LOCAL, SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        h.commit_all();
        h.outputs();
        for from in ["127.0.0.1:2000", "198.18.0.2:700"] {
            let (_, d) = h.call(from, SmProc::SIMU_CRASH, &[]);
            assert_eq!(d, Dispatch::Reply(Vec::new()));
            assert_eq!(h.core.poll_store_job(), None);
        }
        let (to, d) = h.call(LOCAL, SmProc::SIMU_CRASH, &[]);
        assert_eq!(d, Dispatch::Deferred);
        assert_eq!(h.core.poll_store_job(), Some(StoreJob::Reboot(None)));
        h.core.store_done(StoreDone::Rebooted(Ok((5, Vec::new()))));
        let out = h.outputs();
        assert_eq!(
            out,
            vec![
                Output::StateChanged(5),
                Output::Rebooted(Vec::new()),
                Output::Reply(to, Dispatch::Reply(Vec::new()))
            ]
        );
        assert_eq!(h.core.state(), 5);
        assert_eq!(h.core.monitors().host_count(), 0);
        let (_, d) = h.call(
            LOCAL,
            SmProc::STAT,
            &SmName {
                mon_name: s(b"::1"),
            }
            .to_xdr(),
        );
        assert_eq!(sm_res(&d), (Res::STAT_SUCC, 5));
    }

    fn callbacks(out: &[Output]) -> Vec<Callback> {
        out.iter()
            .filter_map(|o| match o {
                Output::Callback(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sm_notify_calls_back_each_registration_once_per_state() {
        let mut h = Harness::new(3);
        h.call(LOCAL, SmProc::MON, &mon(b"PeerHost", b"lab", 4, 16, 1));
        h.call(LOCAL, SmProc::MON, &mon(b"peerhost", b"other", 0, 1, 2));
        h.commit_all();
        h.outputs();
        let (_, d) = h.call("198.18.0.7:999", SmProc::NOTIFY, &notify(b"PEERHOST", 7));
        assert_eq!(d, Dispatch::Reply(Vec::new()));
        let cbs = callbacks(&h.outputs());
        assert_eq!(cbs.len(), 2);
        assert_eq!(
            cbs[0].status,
            Status {
                mon_name: s(b"PeerHost"),
                state: 7,
                cookie: FixedOpaque([1; 16])
            }
        );
        assert_eq!((cbs[1].target.vers, cbs[1].target.proc), (0, 1));
        h.call("198.18.0.7:999", SmProc::NOTIFY, &notify(b"peerhost", 7));
        assert!(callbacks(&h.outputs()).is_empty(), "same state again");
        h.call(
            "198.18.0.7:999",
            SmProc::NOTIFY,
            &notify(b"peerhost.lab", 9),
        );
        assert_eq!(callbacks(&h.outputs()).len(), 2, "FQDN of a short name");
        assert_eq!(
            h.core.monitors().registration_count(),
            2,
            "never unmonitors"
        );
    }

    #[test]
    fn sm_notify_matches_the_caller_address_and_resolves_unknown_names() {
        let mut h = Harness::new(3);
        h.call(LOCAL, SmProc::MON, &mon(b"127.0.0.20", b"me", 4, 16, 1));
        h.commit_all();
        h.outputs();
        h.call(
            "127.0.0.20:999",
            SmProc::NOTIFY,
            &notify(b"whatever-it-calls-itself", 7),
        );
        let out = h.outputs();
        assert_eq!(callbacks(&out).len(), 1, "matched by caller address");
        // From elsewhere, an unknown name is looked up off the request path.
        h.call(
            "198.18.0.9:999",
            SmProc::NOTIFY,
            &notify(b"peer.example", 9),
        );
        let out = h.outputs();
        assert!(callbacks(&out).is_empty());
        let id = out
            .iter()
            .find_map(|o| match o {
                Output::Resolve(id, name) if name == b"peer.example" => Some(*id),
                _ => None,
            })
            .unwrap();
        h.core
            .resolved(id, Some(vec!["127.0.0.20".parse().unwrap()]));
        let cbs = callbacks(&h.outputs());
        assert_eq!(cbs.len(), 1);
        assert_eq!(cbs[0].status.mon_name, s(b"127.0.0.20"));
        assert_eq!(cbs[0].status.state, 9);
    }

    #[test]
    fn records_loaded_with_a_forbidden_callback_are_not_called() {
        let bad = Registration {
            mon_name: b"peer".to_vec(),
            my_name: b"me".to_vec(),
            my_prog: 100_005,
            my_vers: 1,
            my_proc: 1,
            cookie: [0; 16],
        };
        let host = HostEntry {
            name: b"peer".to_vec(),
            monitored: true,
            needs_notify: false,
            registrations: vec![bad],
            notify: Vec::new(),
        };
        let mut h = Harness::with_hosts(3, &[host]);
        h.outputs();
        h.call("198.18.0.7:999", SmProc::NOTIFY, &notify(b"peer", 7));
        assert!(callbacks(&h.outputs()).is_empty());
    }

    #[test]
    fn sm_stat_answers_literals_at_once_and_names_after_lookup() {
        let mut h = Harness::new(3);
        let stat = |n: &[u8]| SmName { mon_name: s(n) }.to_xdr();
        let (_, d) = h.call("198.18.0.2:1", SmProc::STAT, &stat(b"127.0.0.1"));
        assert_eq!(sm_res(&d), (Res::STAT_SUCC, 3));
        for bad in [&b""[..], b"a/b", b".x"] {
            let (_, d) = h.call("198.18.0.2:1", SmProc::STAT, &stat(bad));
            assert_eq!(sm_res(&d), (Res::STAT_FAIL, 3));
        }
        let (to, d) = h.call("198.18.0.2:1", SmProc::STAT, &stat(b"unknown-peer"));
        assert_eq!(d, Dispatch::Deferred);
        let ids: Vec<ResolveId> = h
            .outputs()
            .into_iter()
            .filter_map(|o| match o {
                Output::Resolve(id, _) => Some(id),
                _ => None,
            })
            .collect();
        h.core.resolved(ids[0], None);
        assert_eq!(h.replies(), vec![(to, stat_res(false, 3))]);
    }

    fn lookups(out: &[Output]) -> Vec<(ResolveId, Vec<u8>)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Resolve(id, name) => Some((*id, name.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sm_mon_of_a_name_that_does_not_resolve_fails_and_records_nothing() {
        let mut h = Harness::new(3);
        let (to, d) = h.call(LOCAL, SmProc::MON, &mon(b"NoWhere", b"me", 4, 16, 1));
        assert_eq!(d, Dispatch::Deferred);
        assert_eq!(h.replies(), vec![(to, mon_reply(false, 3))]);
        assert_eq!(sm_res(&mon_reply(false, 3)), (Res::STAT_FAIL, -1));
        assert_eq!(h.commit_all(), 0, "no store job");
        assert_eq!(h.core.monitors().registration_count(), 0);
        assert!(!h.core.store_busy());
    }

    #[test]
    fn address_literals_are_monitored_without_a_lookup() {
        let mut h = Harness::new(3);
        for name in [&b"192.0.2.77"[..], b"::1", b"::ffff:10.0.0.1"] {
            h.call(LOCAL, SmProc::MON, &mon(name, b"me", 4, 16, 1));
        }
        assert_eq!(h.commit_all(), 1);
        assert!(
            lookups(&h.outputs()).is_empty(),
            "no lookup before or after"
        );
        assert_eq!(h.core.monitors().registration_count(), 3);
    }

    #[test]
    fn other_requests_go_on_while_a_name_is_looked_up() {
        let mut h = Harness::new(3);
        let (slow, d) = h.call(LOCAL, SmProc::MON, &mon(b"slowhost", b"me", 4, 16, 1));
        assert_eq!(d, Dispatch::Deferred);
        let pending = lookups(&h.outputs());
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1, b"slowhost");
        // SM_NULL, SM_STAT, SM_NOTIFY and SM_MON of other hosts are served.
        let (_, d) = h.call(LOCAL, SmProc::NULL, &[]);
        assert_eq!(d, Dispatch::Reply(Vec::new()));
        let stat = SmName {
            mon_name: s(b"127.0.0.1"),
        };
        let (_, d) = h.call(LOCAL, SmProc::STAT, &stat.to_xdr());
        assert_eq!(sm_res(&d), (Res::STAT_SUCC, 3));
        let (_, d) = h.call("198.18.0.7:999", SmProc::NOTIFY, &notify(b"a", 4));
        assert_eq!(d, Dispatch::Reply(Vec::new()));
        let (other, _) = h.call(LOCAL, SmProc::MON, &mon(b"a", b"me", 4, 16, 1));
        assert_eq!(h.commit_all(), 1);
        assert_eq!(h.replies(), vec![(other, mon_reply(true, 3))]);
        // The slow name resolves later and is monitored then.
        h.core
            .resolved(pending[0].0, Some(vec!["192.0.2.50".parse().unwrap()]));
        assert_eq!(h.commit_all(), 1);
        assert_eq!(h.replies(), vec![(slow, mon_reply(true, 3))]);
        assert_eq!(h.core.monitors().registration_count(), 2);
    }

    #[test]
    fn changes_of_a_host_wait_for_its_lookup_and_keep_their_order() {
        let mut h = Harness::new(3);
        let (m, _) = h.call(LOCAL, SmProc::MON, &mon(b"slowhost", b"me", 4, 16, 1));
        let id = lookups(&h.outputs())[0].0;
        let (u, d) = h.call(LOCAL, SmProc::UNMON, &unmon(b"SLOWHOST", b"me"));
        assert_eq!(d, Dispatch::Deferred, "waits for the SM_MON before it");
        let all = MonId::from_xdr(&unmon(b"x", b"me")).unwrap().my_id;
        let (ua, d) = h.call(LOCAL, SmProc::UNMON_ALL, &all.to_xdr());
        assert_eq!(d, Dispatch::Deferred);
        assert_eq!(
            h.core.poll_store_job(),
            None,
            "nothing goes ahead of the lookup"
        );
        h.core
            .resolved(id, Some(vec!["192.0.2.50".parse().unwrap()]));
        let Some(StoreJob::Commit(changes)) = h.core.poll_store_job() else {
            panic!()
        };
        assert!(matches!(
            changes[..],
            [
                Change::Monitor(_),
                Change::Unmonitor(_),
                Change::UnmonitorAll(_)
            ]
        ));
        h.core.store_done(StoreDone::Committed(Ok(vec![
            Effect::Added,
            Effect::Removed(1),
            Effect::Removed(0),
        ])));
        let replies: Vec<ReplyTo> = h.replies().into_iter().map(|(to, _)| to).collect();
        assert_eq!(replies, vec![m, u, ua]);
        assert_eq!(h.core.monitors().registration_count(), 0);
        assert!(!h.core.store_busy());
    }

    #[test]
    fn a_repeated_sm_mon_of_a_name_is_looked_up_again() {
        let mut h = Harness::new(3);
        h.call(LOCAL, SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        h.commit_all();
        h.outputs();
        // As nfs-utils: the name is checked before the duplicate test.
        h.hosts.insert(b"b".to_vec(), None);
        let (to, _) = h.call(LOCAL, SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        assert_eq!(h.replies(), vec![(to, mon_reply(false, 3))]);
        h.hosts
            .insert(b"b".to_vec(), Some(vec!["192.0.2.2".parse().unwrap()]));
        let (to, _) = h.call(LOCAL, SmProc::MON, &mon(b"b", b"me", 4, 16, 1));
        assert_eq!(h.replies(), vec![(to, mon_reply(true, 3))]);
        assert_eq!(h.commit_all(), 0, "a repeat needs no store round");
    }

    #[test]
    fn undecodable_arguments_are_garbage() {
        let mut h = Harness::new(3);
        let full = mon(b"a", b"me", 4, 16, 1);
        let (_, d) = h.call(LOCAL, SmProc::MON, &full[..full.len() - 1]);
        assert_eq!(d, Dispatch::GarbageArgs);
        let (_, d) = h.call(LOCAL, SmProc::NOTIFY, &[0, 0, 0]);
        assert_eq!(d, Dispatch::GarbageArgs);
        let (_, d) = h.call(LOCAL, SmProc(7), &[]);
        assert_eq!(d, Dispatch::ProcUnavail);
    }
}
