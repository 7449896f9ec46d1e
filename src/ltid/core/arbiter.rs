//! Reservations and their arbiter. Each drive has one arbiter
//! ([`crate::ltid::elect::arbiter`]: its home scan host, else the first
//! host to come online with the drive usable); only the arbiter grants,
//! and a host holds a drive (`reserved`, announced in its [`HostInfo`])
//! only once its arbiter granted it:
//!
//! - a claim (`vmoprcmd -reserve`) asks the arbiter ([`Action::Ask`]; in
//!   place when this host arbitrates) and the operator waits for the
//!   verdict ([`Reply::Pending`], then [`Action::Answer`]), at most
//!   [`CLAIM_WAIT`];
//! - the arbiter grants a drive no one holds and refuses it, naming the
//!   holder, while another host holds it;
//! - a release frees it at the arbiter; a holder the arbiter sees go
//!   offline (its connection broke, or it has not answered a query for
//!   three polls) loses it there;
//! - every poll the holder renews its reservation ([`LtidCore::renew`]):
//!   a renewal refused in favour of another host ends it here too;
//! - a host that becomes a drive's arbiter adopts the holder the hosts'
//!   views announce (the election's `reserved_by`) until that host says
//!   it no longer holds it or renews it;
//! - reservations held before a restart ([`LtidCore::reassert`]) are
//!   asked again every poll until the arbiter decides.
//!
//! Invariant: while this host arbitrates a drive, at most one host holds
//! it in `grants`, and the arbiter never grants a drive held by another.

use super::{Action, LtidCore, NotifyOp};
use crate::ltid::elect::Election;
use crate::ltid::wire::{HostInfo, Message};
use std::time::{Duration, Instant};

/// How long an operator waits for the arbiter's verdict.
pub const CLAIM_WAIT: Duration = Duration::from_secs(5);

/// A reservation asked of the arbiter, not granted yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Claim {
    /// When it was asked.
    since: Instant,
    /// An operator waits for the verdict (refused after [`CLAIM_WAIT`]);
    /// otherwise it re-asserts a reservation held before a restart.
    waiter: bool,
}

/// Who holds a drive this host arbitrates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Grant {
    holder: String,
    /// Taken from the holder's view when this host became the arbiter:
    /// it ends when that view says the drive is no longer held.
    adopted: bool,
}

/// What an operator request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done: the text for the operator.
    Done(String),
    /// Asked of the drive's arbiter: the outcome comes as an
    /// [`Action::Answer`].
    Pending,
}

impl LtidCore {
    /// The drives this host holds or re-asserts: what must survive a
    /// restart.
    pub fn held(&self) -> Vec<String> {
        self.drives
            .iter()
            .filter(|d| d.reserved || d.claim.is_some_and(|c| !c.waiter))
            .map(|d| d.name.clone())
            .collect()
    }

    /// At start: `drives` were held before the restart. Each one
    /// configured and UP here is claimed again; the others are logged.
    pub fn reassert(&mut self, now: Instant, drives: &[String]) {
        for name in drives {
            let text = match self.drives.iter_mut().find(|d| &d.name == name) {
                Some(d) if d.up => {
                    d.claim = Some(Claim {
                        since: now,
                        waiter: false,
                    });
                    format!("{name}: held before the restart; asking its arbiter again")
                }
                Some(_) => format!("{name}: held before the restart but DOWN here: let go"),
                None => format!("{name}: held before the restart, no longer a shared drive"),
            };
            self.log(4, "reserve", text);
        }
        self.actions.push_back(Action::HeldChanged);
        self.renew(now);
    }

    /// Every poll: each claim and each reservation held is asked of its
    /// arbiter again (decided at once where this host arbitrates).
    /// Nothing is asked before discovery has ended.
    pub fn renew(&mut self, now: Instant) {
        if self.discovering {
            return;
        }
        let due: Vec<String> = self
            .drives
            .iter()
            .filter(|d| d.reserved || d.claim.is_some())
            .map(|d| d.name.clone())
            .collect();
        for drive in due {
            if let Some((holder, text)) = self.ask(&drive, true) {
                let me = self.me.clone();
                self.settle_and_answer(now, &me, &drive, &holder, &text);
            }
        }
    }

    /// A claim of `drive` by another host, at this host as its arbiter:
    /// `claimant` is that host's view (news of it, as a query's answer).
    /// Returns the [`Message::Verdict`] to send back.
    pub fn arbitrate(&mut self, now: Instant, claimant: HostInfo, drive: &str) -> Message {
        let host = claimant.name.clone();
        let (holder, text) = if self.handle_peer_info(now, claimant) {
            self.decide(&host, drive, true)
        } else {
            (String::new(), self.stranger(&host))
        };
        verdict(drive, holder, text)
    }

    /// `host` releases `drive` at this host, its arbiter. Returns the
    /// [`Message::Verdict`] to send back.
    pub fn arbitrate_release(&mut self, now: Instant, host: &str, drive: &str) -> Message {
        self.recompute(now);
        let (holder, text) = if self.is_peer(host) {
            self.decide(host, drive, false)
        } else {
            (String::new(), self.stranger(host))
        };
        verdict(drive, holder, text)
    }

    /// The arbiter `from` answered this host's request on `drive`
    /// ([`Message::Verdict`]).
    pub fn handle_verdict(
        &mut self,
        now: Instant,
        from: &str,
        drive: &str,
        holder: &str,
        text: &str,
    ) {
        self.settle_and_answer(now, from, drive, holder, text);
    }

    /// A request to `arbiter` about `drive` got no verdict: an operator
    /// waiting on it is told at once.
    pub fn ask_failed(&mut self, drive: &str, arbiter: &str, why: &str) {
        if let Some(d) = self.drives.iter_mut().find(|d| d.name == drive) {
            if d.claim.is_some_and(|c| c.waiter) {
                d.claim = None;
                self.actions.push_back(Action::Answer {
                    drive: drive.to_string(),
                    result: Err(format!(
                        "{drive}: no verdict from its arbiter {arbiter}: {why}"
                    )),
                });
            }
        }
    }

    /// When operators' claims run out of time.
    pub(super) fn claim_deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        self.drives
            .iter()
            .filter_map(|d| d.claim)
            .filter(|c| c.waiter)
            .map(|c| c.since + CLAIM_WAIT)
    }

    /// Operators' claims unanswered for [`CLAIM_WAIT`] are refused.
    pub(super) fn expire_claims(&mut self, now: Instant) {
        for d in &mut self.drives {
            let Some(c) = d.claim else { continue };
            if c.waiter && now >= c.since + CLAIM_WAIT {
                d.claim = None;
                let arbiter = self.arbiters.get(&d.name).map_or("none", String::as_str);
                self.actions.push_back(Action::Answer {
                    drive: d.name.clone(),
                    result: Err(format!(
                        "{}: no verdict from its arbiter {arbiter} within {} s",
                        d.name,
                        CLAIM_WAIT.as_secs()
                    )),
                });
            }
        }
    }

    /// An operator claims drive `i` (UP, its path working, held by no
    /// one in this view).
    pub(super) fn claim(&mut self, now: Instant, i: usize) -> Result<Reply, String> {
        let drive = self.drives[i].name.clone();
        if self.drives[i].claim.is_some() {
            return Err(format!(
                "{drive}: a reservation on {} already waits for its arbiter",
                self.me
            ));
        }
        self.drives[i].claim = Some(Claim {
            since: now,
            waiter: true,
        });
        if self.discovering {
            return Ok(Reply::Pending);
        }
        let Some((holder, text)) = self.ask(&drive, true) else {
            return Ok(Reply::Pending);
        };
        let me = self.me.clone();
        match self.settle(now, &me, &drive, &holder, &text) {
            Some(Ok(text)) => Ok(Reply::Done(text)),
            Some(Err(text)) => Err(text),
            None => Ok(Reply::Pending),
        }
    }

    /// This host lets drive `i` go (released or set DOWN): a waiting
    /// operator's claim is withdrawn, the arbiter told; whether it was
    /// held.
    pub(super) fn let_go(&mut self, i: usize, why: &str) -> bool {
        let d = &mut self.drives[i];
        let drive = d.name.clone();
        let was_held = std::mem::take(&mut d.reserved);
        let claim = d.claim.take();
        if claim.is_some_and(|c| c.waiter) {
            self.actions.push_back(Action::Answer {
                drive: drive.clone(),
                result: Err(format!("{drive}: the reservation was withdrawn ({why})")),
            });
        }
        if was_held || claim.is_some() {
            self.ask(&drive, false);
            self.actions.push_back(Action::HeldChanged);
        }
        was_held
    }

    /// Runs `shared_drive_notify` with `ops` for `drive` and its scan
    /// host now.
    pub(super) fn notify_mount(&mut self, drive: &str, ops: &[NotifyOp]) {
        let scan_host = self
            .elections
            .get(drive)
            .and_then(|e| e.scan.clone())
            .unwrap_or_default();
        for op in ops {
            self.actions.push_back(Action::Notify {
                drive: drive.to_string(),
                scan_host: scan_host.clone(),
                op: *op,
            });
        }
    }

    /// Keeps the grants of `drive` in step with its `arbiter` in this
    /// view (`e` its election, `online` the hosts online).
    pub(super) fn follow_arbiter(
        &mut self,
        drive: &str,
        arbiter: Option<String>,
        e: &Election,
        online: &[&HostInfo],
    ) {
        let here = !self.discovering && arbiter.as_deref() == Some(self.me.as_str());
        let was_here = self.arbiters.get(drive) == Some(&self.me);
        match arbiter {
            Some(a) => self.arbiters.insert(drive.to_string(), a),
            None => self.arbiters.remove(drive),
        };
        if !here {
            if let Some(g) = self.grants.remove(drive) {
                let text = format!("{drive}: no longer arbitrated here ({} held it)", g.holder);
                self.log(4, "arbiter", text);
            }
            return;
        }
        if !was_here {
            let text = match &e.reserved_by {
                Some(h) => {
                    let grant = Grant {
                        holder: h.clone(),
                        adopted: true,
                    };
                    self.grants.insert(drive.to_string(), grant);
                    format!("{drive}: arbitrated here; {h} holds it")
                }
                None => format!("{drive}: arbitrated here"),
            };
            self.log(4, "arbiter", text);
        }
        let Some(g) = self.grants.get(drive).cloned() else {
            return;
        };
        let view = online.iter().find(|h| h.name == g.holder);
        let says_held =
            view.is_some_and(|h| h.drives.iter().any(|d| d.name == drive && d.reserved));
        let mine_let_go = g.holder == self.me
            && !self
                .drives
                .iter()
                .any(|d| d.name == drive && (d.reserved || d.claim.is_some()));
        let why = if view.is_none() {
            Some("is offline")
        } else if mine_let_go || (g.adopted && !says_held) {
            Some("no longer holds it")
        } else {
            None
        };
        if let Some(why) = why {
            self.grants.remove(drive);
            let text = format!("{drive}: {} {why}: its reservation ends", g.holder);
            self.log(if view.is_none() { 8 } else { 4 }, "arbiter", text);
        }
    }

    /// Asks `drive`'s arbiter to grant (`reserve`) or free this host's
    /// reservation: the verdict when this host arbitrates it (or no host
    /// does), else an [`Action::Ask`] and `None`.
    fn ask(&mut self, drive: &str, reserve: bool) -> Option<(String, String)> {
        match self.arbiters.get(drive).cloned() {
            Some(a) if a == self.me => {
                let me = self.me.clone();
                Some(self.decide(&me, drive, reserve))
            }
            Some(arbiter) => {
                self.actions.push_back(Action::Ask {
                    arbiter,
                    drive: drive.to_string(),
                    reserve,
                });
                None
            }
            None => Some((
                String::new(),
                format!("{drive} has no arbiter: no host online has it UP with a working path"),
            )),
        }
    }

    /// This host's decision, as `drive`'s arbiter, on `host`'s request:
    /// the holder after it (empty for none, or no decision) and the text.
    fn decide(&mut self, host: &str, drive: &str, reserve: bool) -> (String, String) {
        let me = self.me.clone();
        if !self.drives.iter().any(|d| d.name == drive) {
            return (
                String::new(),
                format!("{drive} is not a shared drive of {me}"),
            );
        }
        if self.discovering || self.arbiters.get(drive) != Some(&me) {
            let who = self.arbiters.get(drive).map_or("none", String::as_str);
            let text = format!("{me} does not arbitrate {drive} now (its arbiter: {who})");
            return (String::new(), text);
        }
        let grant = self.grants.get(drive).cloned();
        if !reserve {
            if grant.is_some_and(|g| g.holder == host) {
                self.grants.remove(drive);
                self.log(4, "arbiter", format!("{drive}: {host} released it"));
            }
            return (String::new(), format!("{drive} released by {host}"));
        }
        match grant {
            Some(g) if g.holder != host => {
                let text = format!("{drive} is reserved by {}", g.holder);
                (g.holder, text)
            }
            _ => {
                let fresh = Grant {
                    holder: host.to_string(),
                    adopted: false,
                };
                if self.grants.insert(drive.to_string(), fresh).is_none() {
                    self.log(4, "arbiter", format!("{drive}: reserved for {host}"));
                }
                (host.to_string(), format!("{drive} reserved by {host}"))
            }
        }
    }

    /// [`LtidCore::settle`], the outcome sent to a waiting operator.
    fn settle_and_answer(
        &mut self,
        now: Instant,
        from: &str,
        drive: &str,
        holder: &str,
        text: &str,
    ) {
        if let Some(result) = self.settle(now, from, drive, holder, text) {
            let drive = drive.to_string();
            self.actions.push_back(Action::Answer { drive, result });
        }
    }

    /// Applies the verdict of `from` (the arbiter) on this host's own
    /// request for `drive`; the outcome for a waiting operator, if its
    /// claim ended.
    fn settle(
        &mut self,
        now: Instant,
        from: &str,
        drive: &str,
        holder: &str,
        text: &str,
    ) -> Option<Result<String, String>> {
        let me = self.me.clone();
        let i = self.drives.iter().position(|d| d.name == drive)?;
        let d = &mut self.drives[i];
        let claim = d.claim.take();
        if holder == me {
            if d.reserved {
                return None;
            }
            let Some(c) = claim else {
                // Granted after this host let go: free it again.
                self.ask(drive, false);
                return None;
            };
            d.reserved = true;
            let text = format!("{drive} reserved by {me}");
            self.log(4, "operate", text.clone());
            self.recompute(now);
            self.notify_mount(drive, &[NotifyOp::Reserved, NotifyOp::Assigned]);
            self.actions.push_back(Action::HeldChanged);
            return c.waiter.then_some(Ok(text));
        }
        match claim {
            Some(c) if c.waiter => Some(Err(text.to_string())),
            Some(c) if holder.is_empty() => {
                d.claim = Some(c);
                None
            }
            Some(_) => {
                let text = format!("{drive}: held before the restart, now lost ({from}: {text})");
                self.log(8, "reserve", text);
                self.actions.push_back(Action::HeldChanged);
                None
            }
            None if d.reserved && !holder.is_empty() => {
                d.reserved = false;
                let text = format!("{drive}: reservation lost ({from}: {text})");
                self.log(8, "reserve", text);
                self.recompute(now);
                self.notify_mount(drive, &[NotifyOp::Released]);
                self.actions.push_back(Action::HeldChanged);
                None
            }
            None => None,
        }
    }

    /// The refusal of a request from an unregistered host.
    fn stranger(&self, host: &str) -> String {
        format!("{host} is not a registered media server of {}", self.me)
    }

    fn log(&mut self, level: u8, func: &'static str, text: String) {
        self.actions.push_back(Action::Log(level, func, text));
    }
}

fn verdict(drive: &str, holder: String, text: String) -> Message {
    Message::Verdict {
        drive: drive.to_string(),
        holder,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{conf, drain, info, notifies};
    use super::*;
    use crate::ltid::wire::Op;

    fn verdict_of(m: &Message) -> (String, String) {
        match m {
            Message::Verdict { holder, text, .. } => (holder.clone(), text.clone()),
            other => panic!("not a verdict: {other:?}"),
        }
    }

    /// The holder `arbiter` names in its verdict on `by`'s claim of drv0.
    fn holder_after_claim(arbiter: &mut LtidCore, t: Instant, by: &LtidCore) -> String {
        verdict_of(&arbiter.arbitrate(t, by.host_info(), "drv0")).0
    }

    fn asks(actions: &[Action]) -> Vec<(String, bool)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Ask {
                    arbiter, reserve, ..
                } => Some((arbiter.clone(), *reserve)),
                _ => None,
            })
            .collect()
    }

    fn answers(actions: &[Action]) -> Vec<Result<String, String>> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Answer { result, .. } => Some(result.clone()),
                _ => None,
            })
            .collect()
    }

    /// hosta, the first online with a scan ability: the home and arbiter.
    fn arbiter_a(t: Instant) -> LtidCore {
        let mut a = LtidCore::new(&conf(5), "hosta", 10, t);
        a.discovered(t);
        drain(&mut a);
        a
    }

    /// `name` (no scan ability), which knows hosta.
    fn claimant(name: &str, since: u64, t: Instant) -> LtidCore {
        let mut c = LtidCore::new(&conf(0), name, since, t);
        c.handle_peer_info(t, info("hosta", 10, 5, true, false));
        c.discovered(t);
        drain(&mut c);
        c
    }

    #[test]
    fn two_claims_at_once_get_one_grant_and_one_refusal_naming_the_holder() {
        let t = Instant::now();
        let mut a = arbiter_a(t);
        let mut b = claimant("hostb", 20, t);
        let mut c = claimant("hostc", 30, t);
        for h in [&mut b, &mut c] {
            assert_eq!(h.operate(t, Op::RESERVE, "drv0"), Ok(Reply::Pending));
            assert_eq!(asks(&drain(h)), [("hosta".to_string(), true)]);
        }
        // Both claims reach the arbiter before either verdict is back.
        let to_c = a.arbitrate(t, c.host_info(), "drv0");
        let to_b = a.arbitrate(t, b.host_info(), "drv0");
        assert_eq!(verdict_of(&to_c).0, "hostc");
        assert_eq!(
            verdict_of(&to_b),
            ("hostc".into(), "drv0 is reserved by hostc".into())
        );
        let (holder, text) = verdict_of(&to_c);
        c.handle_verdict(t, "hosta", "drv0", &holder, &text);
        let (holder, text) = verdict_of(&to_b);
        b.handle_verdict(t, "hosta", "drv0", &holder, &text);
        let c_acts = drain(&mut c);
        assert_eq!(answers(&c_acts), [Ok("drv0 reserved by hostc".into())]);
        assert!(c_acts.contains(&Action::HeldChanged), "{c_acts:?}");
        assert_eq!(
            answers(&drain(&mut b)),
            [Err("drv0 is reserved by hostc".into())]
        );
        assert_eq!(c.held(), ["drv0"]);
        assert!(b.held().is_empty());
        assert_eq!(c.rows()[0].reserved_by, "hostc");
        // The release frees it: hostb's next claim is granted.
        assert!(matches!(
            c.operate(t, Op::RELEASE, "drv0"),
            Ok(Reply::Done(_))
        ));
        assert_eq!(asks(&drain(&mut c)), [("hosta".to_string(), false)]);
        assert!(c.held().is_empty());
        let freed = a.arbitrate_release(t, "hostc", "drv0");
        assert_eq!(verdict_of(&freed).0, "");
        assert_eq!(holder_after_claim(&mut a, t, &b), "hostb");
    }

    #[test]
    fn the_arbiter_reserving_for_itself_decides_at_once_and_refuses_others() {
        let t = Instant::now();
        let mut a = arbiter_a(t);
        assert_eq!(
            a.operate(t, Op::RESERVE, "drv0"),
            Ok(Reply::Done("drv0 reserved by hosta".into()))
        );
        let acts = drain(&mut a);
        assert_eq!(
            notifies(&acts),
            [
                ("hosta".to_string(), "RESERVED"),
                ("hosta".to_string(), "ASSIGNED")
            ]
        );
        assert!(asks(&acts).is_empty());
        let b = claimant("hostb", 20, t);
        assert_eq!(
            verdict_of(&a.arbitrate(t, b.host_info(), "drv0")),
            ("hosta".into(), "drv0 is reserved by hosta".into())
        );
        a.operate(t, Op::RELEASE, "drv0").unwrap();
        assert_eq!(holder_after_claim(&mut a, t, &b), "hostb");
    }

    #[test]
    fn a_holder_gone_offline_loses_its_reservation_at_the_arbiter() {
        let t = Instant::now();
        let mut a = arbiter_a(t);
        let b = claimant("hostb", 20, t);
        let c = claimant("hostc", 30, t);
        assert_eq!(holder_after_claim(&mut a, t, &b), "hostb");
        // hostb carried by a link that breaks: offline at once.
        a.link_up("hostb");
        a.link_down(t, "hostb", false);
        let acts = drain(&mut a);
        assert!(
            acts.contains(&Action::Log(
                8,
                "arbiter",
                "drv0: hostb is offline: its reservation ends".into()
            )),
            "{acts:?}"
        );
        assert_eq!(holder_after_claim(&mut a, t, &c), "hostc");
        // hostc heard only by its claim goes stale after three polls.
        let later = t + Duration::from_secs(3);
        a.handle_timeout(later);
        assert_eq!(holder_after_claim(&mut a, later, &b), "hostb");
    }

    #[test]
    fn an_unanswered_claim_is_refused_after_the_wait_and_a_late_grant_freed() {
        let t = Instant::now();
        let mut c = claimant("hostc", 30, t);
        c.operate(t, Op::RESERVE, "drv0").unwrap();
        drain(&mut c);
        assert_eq!(c.poll_timeout(), Some(t + Duration::from_secs(3)));
        c.link_up("hosta");
        assert_eq!(c.poll_timeout(), Some(t + CLAIM_WAIT));
        c.handle_timeout(t + CLAIM_WAIT);
        let acts = drain(&mut c);
        assert_eq!(
            answers(&acts),
            [Err(
                "drv0: no verdict from its arbiter hosta within 5 s".into()
            )]
        );
        c.handle_verdict(t, "hosta", "drv0", "hostc", "drv0 reserved by hostc");
        assert_eq!(asks(&drain(&mut c)), [("hosta".to_string(), false)]);
        assert!(c.held().is_empty());
        c.operate(t, Op::RESERVE, "drv0").unwrap();
        c.ask_failed("drv0", "hosta", "cannot connect");
        assert_eq!(
            answers(&drain(&mut c)),
            [Err(
                "drv0: no verdict from its arbiter hosta: cannot connect".into()
            )]
        );
    }

    #[test]
    fn a_new_arbiter_adopts_the_announced_holder_and_a_refused_renewal_ends_it() {
        let t = Instant::now();
        let mut b = LtidCore::new(&conf(5), "hostb", 20, t);
        b.handle_peer_info(t, info("hosta", 10, 5, true, false));
        b.handle_peer_info(t, info("hostc", 30, 0, true, true));
        b.link_up("hosta");
        b.discovered(t);
        drain(&mut b);
        // hostb is not the arbiter while hosta is online.
        let claim = info("hostc", 30, 0, true, false);
        let (holder, text) = verdict_of(&b.arbitrate(t, claim.clone(), "drv0"));
        assert_eq!(holder, "");
        assert!(text.contains("its arbiter: hosta"), "{text}");
        b.handle_peer_info(t, info("hostc", 30, 0, true, true));
        b.link_down(t, "hosta", false);
        let acts = drain(&mut b);
        assert!(
            acts.contains(&Action::Log(
                4,
                "arbiter",
                "drv0: arbitrated here; hostc holds it".into()
            )),
            "{acts:?}"
        );
        let back = info("hosta", 40, 5, true, false);
        assert_eq!(
            verdict_of(&b.arbitrate(t, back, "drv0")).0,
            "hostc",
            "hosta, back, is refused"
        );
        // hostc's view says it let go: the adopted grant ends.
        b.handle_peer_info(t, claim);
        assert_eq!(
            verdict_of(&b.arbitrate(t, info("hosta", 40, 5, true, false), "drv0")).0,
            "hosta"
        );

        // A holder whose renewal goes to another host loses it here.
        let mut c = claimant("hostc", 30, t);
        c.operate(t, Op::RESERVE, "drv0").unwrap();
        c.handle_verdict(t, "hosta", "drv0", "hostc", "drv0 reserved by hostc");
        drain(&mut c);
        c.renew(t);
        assert_eq!(asks(&drain(&mut c)), [("hosta".to_string(), true)]);
        c.handle_verdict(t, "hosta", "drv0", "hostb", "drv0 is reserved by hostb");
        let acts = drain(&mut c);
        assert_eq!(notifies(&acts), [("hosta".to_string(), "RELEASED")]);
        assert!(acts.contains(&Action::HeldChanged));
        assert!(c.held().is_empty());
        assert_eq!(c.rows()[0].reserved_by, "");
    }

    #[test]
    fn reservations_held_before_a_restart_are_asked_again_until_decided() {
        let t = Instant::now();
        let mut c = LtidCore::new(&conf(0), "hostc", 30, t);
        c.handle_peer_info(t, info("hosta", 10, 5, true, false));
        c.reassert(t, &["drv0".into(), "gone".into()]);
        let acts = drain(&mut c);
        assert!(asks(&acts).is_empty(), "nothing asked before discovery");
        assert!(acts.contains(&Action::HeldChanged));
        assert_eq!(c.held(), ["drv0"], "kept while it is asked");
        c.discovered(t);
        assert_eq!(asks(&drain(&mut c)), [("hosta".to_string(), true)]);
        // An arbiter that cannot decide yet: asked again at the next poll.
        c.handle_verdict(t, "hosta", "drv0", "", "hosta does not arbitrate drv0 now");
        assert_eq!(c.held(), ["drv0"]);
        assert!(answers(&drain(&mut c)).is_empty());
        assert_eq!(c.poll_timeout(), Some(t + Duration::from_secs(3)));
        c.renew(t);
        assert_eq!(asks(&drain(&mut c)), [("hosta".to_string(), true)]);
        c.handle_verdict(t, "hosta", "drv0", "hostc", "drv0 reserved by hostc");
        let acts = drain(&mut c);
        assert!(answers(&acts).is_empty(), "no operator waits: {acts:?}");
        assert_eq!(
            notifies(&acts),
            [
                ("hostc".to_string(), "RESERVED"),
                ("hostc".to_string(), "ASSIGNED")
            ]
        );
        assert_eq!(c.rows()[0].reserved_by, "hostc");
        assert_eq!(c.held(), ["drv0"]);

        // Granted to another host meanwhile: lost, and written down so.
        let mut c = LtidCore::new(&conf(0), "hostc", 30, t);
        c.handle_peer_info(t, info("hosta", 10, 5, true, false));
        c.reassert(t, &["drv0".into()]);
        c.discovered(t);
        c.handle_verdict(t, "hosta", "drv0", "hostb", "drv0 is reserved by hostb");
        let acts = drain(&mut c);
        assert!(acts.contains(&Action::HeldChanged));
        assert!(c.held().is_empty());
    }

    #[test]
    fn set_down_withdraws_a_waiting_claim_and_strangers_are_refused() {
        let t = Instant::now();
        let mut c = claimant("hostc", 30, t);
        c.operate(t, Op::RESERVE, "drv0").unwrap();
        assert!(
            c.operate(t, Op::RESERVE, "drv0").is_err(),
            "one claim at a time"
        );
        drain(&mut c);
        c.operate(t, Op::DOWN, "drv0").unwrap();
        let acts = drain(&mut c);
        assert_eq!(
            answers(&acts),
            [Err("drv0: the reservation was withdrawn (set DOWN)".into())]
        );
        assert_eq!(asks(&acts), [("hosta".to_string(), false)]);
        let mut a = arbiter_a(t);
        let (holder, text) =
            verdict_of(&a.arbitrate(t, info("mallory", 1, 9, true, false), "drv0"));
        assert_eq!(holder, "");
        assert!(text.contains("mallory is not a registered"), "{text}");
        let (holder, _) = verdict_of(&a.arbitrate(t, info("hostb", 20, 0, true, false), "nosuch"));
        assert_eq!(holder, "");
    }
}
