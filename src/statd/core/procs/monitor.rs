//! The NSM procedures that change the monitor list: SM_MON, SM_UNMON and
//! SM_UNMON_ALL.
//!
//! Invariants: all three are taken from loopback callers only; SM_MON
//! also needs a callback on the allow-list and a mon_name the store can
//! hold, and a name (not an address literal) must resolve before it is
//! monitored. Changes are answered only once the store has them (or at
//! once when they change nothing), in the order they came.

use super::super::monitors::literal_addr;
use super::super::{Lookup, NsmCore, Pending, Waiter};
use super::{mon_reply, stat_reply, stored_my_name};
use crate::log::escape;
use crate::proto::nlm::callback_allowed;
use crate::proto::sm_inter::{Mon, MonId, MyId};
use crate::rpc::{Call, Dispatch};
use crate::statd::record::{CallerKey, Change, Registration, UnmonitorKey};
use crate::statd::store::nfsutils::format as nfsutils;

impl NsmCore {
    pub(super) fn sm_mon(&mut self, call: &Call<'_>, arg: Mon) -> Dispatch {
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
        self.pending.push_back(Pending {
            change: Change::Monitor(reg),
            waiter,
            lookup: Some(id),
        });
        Dispatch::Deferred
    }

    pub(super) fn sm_unmon(&mut self, call: &Call<'_>, arg: MonId) -> Dispatch {
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

    pub(super) fn sm_unmon_all(&mut self, call: &Call<'_>, arg: MyId) -> Dispatch {
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
}

#[cfg(test)]
mod tests {
    use super::super::super::{Callout, Output, ResolveId, StoreDone, StoreJob};
    use super::super::harness::*;
    use super::*;
    use crate::proto::sm_inter::{Res, SmName, SmProc};
    use crate::rpc::ReplyTo;
    use crate::statd::record::Effect;
    use crate::xdr::Xdr;

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
}
