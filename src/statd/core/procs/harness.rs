//! Test support for the procedure tests: an [`NsmCore`] driven through its
//! procedures, with a resolver that knows a few names and a store that
//! always succeeds, and encoders for the NSM arguments.

use super::super::{NsmCore, Output, StoreDone, StoreJob};
use crate::proto::sm_inter::{Mon, MonId, MyId, Res, SmProc, SmStatRes, SmString, StatChge};
use crate::rpc::{Call, Caller, Credential, Dispatch, Program, ReplyTo, Transport};
use crate::statd::record::{Change, Effect, HostEntry};
use crate::xdr::{FixedOpaque, Xdr};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// The core with a resolver that answers at once for the names it
/// knows (a private /etc/hosts); lookups of other names stay open for
/// the test to answer.
pub(super) struct Harness {
    pub(super) core: NsmCore,
    next: u64,
    pub(super) hosts: HashMap<Vec<u8>, Option<Vec<IpAddr>>>,
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

pub(super) fn s(text: &[u8]) -> SmString {
    SmString::new(text.to_vec()).unwrap()
}

pub(super) fn mon(name: &[u8], my: &[u8], vers: i32, proc: i32, cookie: u8) -> Vec<u8> {
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

pub(super) fn unmon(name: &[u8], my: &[u8]) -> Vec<u8> {
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

pub(super) fn notify(name: &[u8], state: i32) -> Vec<u8> {
    StatChge {
        mon_name: s(name),
        state,
    }
    .to_xdr()
}

pub(super) fn sm_res(d: &Dispatch) -> (Res, i32) {
    let Dispatch::Reply(b) = d else {
        panic!("not a reply: {d:?}")
    };
    let r = SmStatRes::from_xdr(b).unwrap();
    (r.res_stat, r.state)
}

impl Harness {
    pub(super) fn new(state: i32) -> Harness {
        Harness::with_hosts(state, &[])
    }

    pub(super) fn with_hosts(state: i32, hosts: &[HostEntry]) -> Harness {
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

    pub(super) fn call(&mut self, from: &str, proc: SmProc, args: &[u8]) -> (ReplyTo, Dispatch) {
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

    pub(super) fn outputs(&mut self) -> Vec<Output> {
        self.pump();
        std::mem::take(&mut self.seen)
    }

    pub(super) fn replies(&mut self) -> Vec<(ReplyTo, Dispatch)> {
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
    pub(super) fn commit_all(&mut self) -> usize {
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
                StoreJob::Reboot(_) => StoreDone::Rebooted(Ok((self.core.state() + 2, Vec::new()))),
            };
            self.core.store_done(done);
            self.pump();
        }
        jobs
    }
}

pub(super) const LOCAL: &str = "127.0.0.1:800";
