//! The NSM procedures about state and reboots: SM_STAT (is a host
//! monitorable, and our state), SM_NOTIFY (a peer rebooted) and
//! SM_SIMU_CRASH (act as if we rebooted).
//!
//! Invariants: SM_STAT and SM_NOTIFY are taken from anyone and never
//! change the monitor list; names are looked up off the request path.
//! SM_SIMU_CRASH needs a loopback caller on a reserved port.

use super::super::monitors::literal_addr;
use super::super::{Callout, Lookup, NsmCore, Output};
use super::{plausible_host, stat_res};
use crate::log::escape;
use crate::proto::sm_inter::{SmName, StatChge};
use crate::rpc::{Call, Dispatch};

impl NsmCore {
    pub(super) fn sm_stat(&mut self, call: &Call<'_>, arg: SmName) -> Dispatch {
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

    pub(super) fn sm_simu_crash(&mut self, call: &Call<'_>) -> Dispatch {
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

    pub(super) fn sm_notify(&mut self, call: &Call<'_>, arg: StatChge) -> Dispatch {
        let name = arg.mon_name.as_bytes();
        let addr = call.caller.ip();
        self.out.push_back(Output::Callout(Callout::Notify {
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

#[cfg(test)]
mod tests {
    use super::super::super::{Callback, ResolveId, StoreDone, StoreJob};
    use super::super::harness::*;
    use super::*;
    use crate::proto::sm_inter::{Res, SmProc, Status};
    use crate::statd::record::{HostEntry, Registration};
    use crate::xdr::{FixedOpaque, Xdr};

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
}
