//! Sans-IO plan for registering our own services with the system rpcbind.
//!
//! [`Registration::register`] plans what nfs-utils does at start: first an
//! UNSET of every netid of (prog, vers), then one SET per listener. It speaks
//! RPCB v4 first; a PROG_UNAVAIL or PROG_MISMATCH answer moves it to v3, then
//! to PMAP v2, repeating the call that was refused. PMAP v2 knows only IPv4,
//! so at v2 the `udp6`/`tcp6` listeners are skipped. [`Registration::unregister`]
//! plans the UNSET alone, for shutdown.
//!
//! Driving it: while [`Registration::next_call`] returns a call, send it and
//! hand what came back to [`Registration::handle_result`]; then read
//! [`Registration::outcome`]. `next_call` has no side effect, so calling it
//! again returns the same call (for retransmission).
//!
//! Timeouts: if the very first call times out, nobody is listening and the
//! outcome is [`Outcome::NoRpcbind`]; a timeout after some answer stops the
//! plan with what was done so far.

use super::call::{FailureKind, PlannedCall};
use crate::proto::pmap::{Mapping, PMAPPROC_SET, PMAPPROC_UNSET, PMAP_PROG, PMAP_VERS};
use crate::proto::rpcb::{uaddr_from_socket, Netid, Rpcb, RPCBPROC_SET, RPCBPROC_UNSET, RPCBVERS4};
use crate::xdr::{Bounded, Xdr};
use std::net::SocketAddr;

/// How a finished plan went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The first call timed out: no rpcbind is listening.
    NoRpcbind,
    /// rpcbind answered at least once.
    Answered(Report),
}

/// What an rpcbind that answered did with the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The protocol version that carried the plan (4, 3 or 2); `None` if the
    /// peer refused all three.
    pub vers: Option<u32>,
    /// Whether the initial UNSET of (prog, vers) answered TRUE.
    pub cleared: bool,
    /// Listeners whose SET answered TRUE.
    pub registered: Vec<(Netid, SocketAddr)>,
    /// Listeners whose SET answered FALSE, failed, or was never sent because
    /// the plan stopped.
    pub failed: Vec<(Netid, SocketAddr)>,
    /// Listeners that cannot be registered: IPv6 ones at PMAP v2, and ones
    /// whose address family does not match their netid.
    pub skipped: Vec<(Netid, SocketAddr)>,
    /// Why the plan stopped early, if it did: [`FailureKind::TimedOut`], or
    /// the refusal of the last version tried.
    pub stopped: Option<FailureKind>,
}

/// A registration or unregistration plan in progress.
#[derive(Debug, Clone)]
pub struct Registration {
    prog: u32,
    vers: u32,
    owner: String,
    listeners: Vec<(Netid, SocketAddr)>,
    /// The rpcbind protocol version in use: 4, 3 or 2.
    rpcb_vers: u32,
    /// 0: the UNSET; `i + 1`: the SET of `listeners[i]`.
    step: usize,
    answered: bool,
    report: Report,
    outcome: Option<Outcome>,
}

impl Registration {
    /// Plans an UNSET of (prog, vers) on every netid, then a SET of each
    /// listener. `owner` goes into `r_owner` (libtirpc sends the effective
    /// uid in decimal; rpcbind ignores it).
    pub fn register(prog: u32, vers: u32, listeners: &[(Netid, SocketAddr)], owner: &str) -> Self {
        let (fit, misfit) = listeners.iter().partition(|(n, a)| n.fits(a));
        let mut r = Registration::unregister(prog, vers, owner);
        r.listeners = fit;
        r.report.skipped = misfit;
        r
    }

    /// Plans only the UNSET of (prog, vers) on every netid.
    pub fn unregister(prog: u32, vers: u32, owner: &str) -> Self {
        Registration {
            prog,
            vers,
            owner: owner.to_owned(),
            listeners: Vec::new(),
            rpcb_vers: RPCBVERS4,
            step: 0,
            answered: false,
            report: Report::default(),
            outcome: None,
        }
    }

    /// The call to make now, or `None` once the plan is finished.
    pub fn next_call(&self) -> Option<PlannedCall> {
        if self.outcome.is_some() {
            return None;
        }
        let listener = match self.step {
            0 => None,
            i => Some(*self.listeners.get(i - 1)?),
        };
        let v2 = self.rpcb_vers == PMAP_VERS;
        let (proc, args) = match (listener, v2) {
            (None, false) => (RPCBPROC_UNSET, self.rpcb("", "").to_xdr()),
            (None, true) => (PMAPPROC_UNSET, self.mapping(0, 0).to_xdr()),
            (Some((n, a)), false) => (
                RPCBPROC_SET,
                self.rpcb(n.as_str(), &uaddr_from_socket(a)).to_xdr(),
            ),
            (Some((n, a)), true) => (PMAPPROC_SET, self.mapping(n.ipproto(), a.port()).to_xdr()),
        };
        Some(PlannedCall {
            prog: PMAP_PROG,
            vers: self.rpcb_vers,
            proc,
            args,
        })
    }

    /// Takes the outcome of the call [`Registration::next_call`] returned:
    /// its encoded results, or why there are none. Ignored once finished.
    pub fn handle_result(&mut self, result: Result<&[u8], FailureKind>) {
        if self.outcome.is_some() {
            return;
        }
        match result {
            Ok(results) => {
                self.answered = true;
                let ok = bool::from_xdr(results).unwrap_or(false);
                self.record(ok);
            }
            Err(FailureKind::ProgUnavail | FailureKind::ProgMismatch)
                if self.rpcb_vers > PMAP_VERS =>
            {
                self.answered = true;
                self.rpcb_vers -= 1;
                self.skip_unusable();
            }
            Err(kind @ (FailureKind::ProgUnavail | FailureKind::ProgMismatch)) => {
                self.answered = true;
                self.stop(kind, None);
            }
            Err(FailureKind::TimedOut) if !self.answered => {
                self.outcome = Some(Outcome::NoRpcbind);
            }
            Err(FailureKind::TimedOut) => self.stop(FailureKind::TimedOut, Some(self.rpcb_vers)),
            Err(FailureKind::Other) => {
                self.answered = true;
                self.record(false);
            }
        }
    }

    /// How the plan went; `None` while calls remain.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// RPCB arguments; an owner over
    /// [`OWNER_MAX`](crate::proto::rpcb::OWNER_MAX) bytes is sent empty.
    fn rpcb(&self, netid: &str, addr: &str) -> Rpcb {
        Rpcb {
            prog: self.prog,
            vers: self.vers,
            netid: Bounded::new(netid).unwrap_or_default(),
            addr: Bounded::new(addr).unwrap_or_default(),
            owner: Bounded::new(self.owner.as_bytes()).unwrap_or_default(),
        }
    }

    fn mapping(&self, prot: u32, port: u16) -> Mapping {
        Mapping {
            prog: self.prog,
            vers: self.vers,
            prot,
            port: u32::from(port),
        }
    }

    /// Records the answer to the current step and moves to the next.
    fn record(&mut self, ok: bool) {
        match self.step {
            0 => self.report.cleared = ok,
            i => {
                if let Some(&l) = self.listeners.get(i - 1) {
                    if ok {
                        self.report.registered.push(l);
                    } else {
                        self.report.failed.push(l);
                    }
                }
            }
        }
        self.step += 1;
        self.skip_unusable();
    }

    /// Skips listeners the current version cannot express; finishes the plan
    /// when no step is left.
    fn skip_unusable(&mut self) {
        while self.step > 0 {
            match self.listeners.get(self.step - 1) {
                None => {
                    let vers = self.rpcb_vers;
                    self.finish(Some(vers));
                    return;
                }
                Some(&(n, a)) if n.is_v6() && self.rpcb_vers == PMAP_VERS => {
                    self.report.skipped.push((n, a));
                    self.step += 1;
                }
                Some(_) => return,
            }
        }
    }

    /// Stops early: the listeners not yet tried count as failed.
    fn stop(&mut self, why: FailureKind, vers: Option<u32>) {
        let untried = self
            .listeners
            .get(self.step.saturating_sub(1)..)
            .unwrap_or(&[]);
        self.report.failed.extend_from_slice(untried);
        self.report.stopped = Some(why);
        self.finish(vers);
    }

    fn finish(&mut self, vers: Option<u32>) {
        let mut report = std::mem::take(&mut self.report);
        report.vers = vers;
        self.outcome = Some(Outcome::Answered(report));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pmap::{IPPROTO_TCP, IPPROTO_UDP};
    use crate::proto::rpcb::RPCBVERS;

    const STATD: u32 = 100_024;
    const TRUE: &[u8] = &[0, 0, 0, 1];
    const FALSE: &[u8] = &[0, 0, 0, 0];

    fn listeners() -> Vec<(Netid, SocketAddr)> {
        vec![
            (Netid::Udp, "0.0.0.0:1007".parse().unwrap()),
            (Netid::Tcp, "0.0.0.0:1008".parse().unwrap()),
            (Netid::Udp6, "[::]:1007".parse().unwrap()),
            (Netid::Tcp6, "[::]:1008".parse().unwrap()),
        ]
    }

    fn args_rpcb(c: &PlannedCall) -> Rpcb {
        Rpcb::from_xdr(&c.args).unwrap()
    }

    fn args_map(c: &PlannedCall) -> Mapping {
        Mapping::from_xdr(&c.args).unwrap()
    }

    fn answered(r: &Registration) -> Report {
        match r.outcome() {
            Some(Outcome::Answered(rep)) => rep.clone(),
            other => panic!("not answered: {other:?}"),
        }
    }

    #[test]
    fn v4_happy_path() {
        let mut r = Registration::register(STATD, 1, &listeners(), "29");
        let first = r.next_call().unwrap();
        assert_eq!(r.next_call().unwrap(), first, "next_call is idempotent");
        assert_eq!(
            (first.prog, first.vers, first.proc),
            (100_000, 4, RPCBPROC_UNSET)
        );
        let un = args_rpcb(&first);
        assert_eq!((un.prog, un.vers), (STATD, 1));
        assert_eq!(
            (un.netid.as_bytes(), un.addr.as_bytes(), un.owner.as_bytes()),
            (&b""[..], &b""[..], &b"29"[..])
        );
        r.handle_result(Ok(TRUE));
        let mut sets = Vec::new();
        while let Some(c) = r.next_call() {
            assert_eq!((c.vers, c.proc), (4, RPCBPROC_SET));
            let a = args_rpcb(&c);
            sets.push((a.netid.to_string_lossy(), a.addr.to_string_lossy()));
            assert_eq!(a.owner.as_bytes(), b"29");
            r.handle_result(Ok(TRUE));
        }
        assert_eq!(
            sets,
            [
                ("udp".into(), "0.0.0.0.3.239".into()),
                ("tcp".into(), "0.0.0.0.3.240".into()),
                ("udp6".into(), "::.3.239".into()),
                ("tcp6".into(), "::.3.240".into()),
            ]
        );
        let rep = answered(&r);
        assert_eq!(rep.vers, Some(4));
        assert!(rep.cleared);
        assert_eq!(rep.registered, listeners());
        assert!(rep.failed.is_empty() && rep.skipped.is_empty() && rep.stopped.is_none());
        // Finished: further results are ignored.
        r.handle_result(Err(FailureKind::TimedOut));
        assert_eq!(answered(&r), rep);
    }

    #[test]
    fn falls_back_v4_to_v3_to_v2() {
        let mut r = Registration::register(STATD, 1, &listeners(), "0");
        r.handle_result(Err(FailureKind::ProgMismatch));
        let c = r.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (RPCBVERS, RPCBPROC_UNSET));
        r.handle_result(Err(FailureKind::ProgUnavail));
        let c = r.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (2, PMAPPROC_UNSET));
        assert_eq!(
            args_map(&c),
            Mapping {
                prog: STATD,
                vers: 1,
                prot: 0,
                port: 0
            }
        );
        r.handle_result(Ok(TRUE));
        let c = r.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (2, PMAPPROC_SET));
        assert_eq!(
            args_map(&c),
            Mapping {
                prog: STATD,
                vers: 1,
                prot: IPPROTO_UDP,
                port: 1007
            }
        );
        r.handle_result(Ok(TRUE));
        let c = r.next_call().unwrap();
        assert_eq!(
            args_map(&c),
            Mapping {
                prog: STATD,
                vers: 1,
                prot: IPPROTO_TCP,
                port: 1008
            }
        );
        r.handle_result(Ok(FALSE));
        assert_eq!(r.next_call(), None);
        let rep = answered(&r);
        assert_eq!(rep.vers, Some(2));
        assert_eq!(rep.registered, listeners()[..1]);
        assert_eq!(rep.failed, listeners()[1..2]);
        assert_eq!(rep.skipped, listeners()[2..]);
    }

    #[test]
    fn fallback_in_the_middle_repeats_the_refused_set() {
        let mut r = Registration::register(STATD, 1, &listeners()[2..], "0");
        r.handle_result(Ok(TRUE));
        r.handle_result(Err(FailureKind::ProgMismatch));
        let c = r.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (3, RPCBPROC_SET));
        assert_eq!(args_rpcb(&c).netid.as_bytes(), b"udp6");
        r.handle_result(Err(FailureKind::ProgMismatch));
        // At v2 both IPv6 listeners are skipped and nothing is left.
        assert_eq!(r.next_call(), None);
        let rep = answered(&r);
        assert_eq!((rep.vers, rep.cleared), (Some(2), true));
        assert_eq!(rep.skipped, listeners()[2..]);
    }

    #[test]
    fn first_timeout_means_no_rpcbind() {
        let mut r = Registration::register(STATD, 1, &listeners(), "0");
        r.handle_result(Err(FailureKind::TimedOut));
        assert_eq!(r.outcome(), Some(&Outcome::NoRpcbind));
        assert_eq!(r.next_call(), None);
    }

    #[test]
    fn later_timeout_stops_with_what_was_done() {
        let mut r = Registration::register(STATD, 1, &listeners(), "0");
        r.handle_result(Ok(TRUE));
        r.handle_result(Ok(TRUE));
        r.handle_result(Err(FailureKind::TimedOut));
        assert_eq!(r.next_call(), None);
        let rep = answered(&r);
        assert_eq!(rep.vers, Some(4));
        assert_eq!(rep.registered, listeners()[..1]);
        assert_eq!(rep.failed, listeners()[1..]);
        assert_eq!(rep.stopped, Some(FailureKind::TimedOut));
    }

    #[test]
    fn refused_by_every_version() {
        let mut r = Registration::register(STATD, 1, &listeners(), "0");
        for _ in 0..3 {
            assert!(r.next_call().is_some());
            r.handle_result(Err(FailureKind::ProgUnavail));
        }
        let rep = answered(&r);
        assert_eq!(rep.vers, None);
        assert_eq!(rep.stopped, Some(FailureKind::ProgUnavail));
        assert_eq!(rep.failed, listeners());
    }

    #[test]
    fn other_failures_and_bad_results_count_as_refusals() {
        let mut r = Registration::register(STATD, 1, &listeners()[..2], "0");
        r.handle_result(Err(FailureKind::Other));
        r.handle_result(Ok(&[0, 0]));
        r.handle_result(Ok(TRUE));
        let rep = answered(&r);
        assert!(!rep.cleared);
        assert_eq!(rep.failed, listeners()[..1]);
        assert_eq!(rep.registered, listeners()[1..2]);
        assert_eq!(rep.vers, Some(4));
    }

    #[test]
    fn mismatched_family_is_skipped_up_front() {
        let bad = [(Netid::Udp6, "127.0.0.1:1".parse().unwrap())];
        let mut r = Registration::register(STATD, 1, &bad, "0");
        r.handle_result(Ok(TRUE));
        assert_eq!(r.next_call(), None);
        assert_eq!(answered(&r).skipped, bad);
    }

    #[test]
    fn unregister_is_one_unset() {
        let mut r = Registration::unregister(STATD, 1, "0");
        let c = r.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (4, RPCBPROC_UNSET));
        r.handle_result(Ok(TRUE));
        assert_eq!(r.next_call(), None);
        let rep = answered(&r);
        assert!(rep.cleared);
        assert_eq!(rep.vers, Some(4));
    }
}
