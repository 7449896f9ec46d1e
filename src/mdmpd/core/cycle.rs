//! Probing and re-adding: the timer, and the glue's answers to
//! [`Action::Probe`](super::Action::Probe) and
//! [`Action::Readd`](super::Action::Readd).
//!
//! Invariants kept here: an answer is acted on only if its id is the one
//! the member's phase holds (else it is stale and counted); a probe is
//! issued only for a member with none outstanding; the next slot always
//! stays on the member's grid.
//!
//! # Panic contract
//! Nothing here panics.

use super::member::{add, grid_after, grid_from, Phase};
use super::{confirm_window, EventKind, MdmpdCore, ProbeId, ReaddId};
use std::time::Instant;

impl MdmpdCore {
    /// Issues the probes due at `now` and gives up on re-adds not
    /// confirmed in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        let interval = self.cfg.interval();
        for (aname, array) in &mut self.arrays {
            for (mname, m) in &mut array.members {
                if let Phase::Confirming { deadline, .. } = m.phase {
                    if deadline <= now {
                        let why = format!(
                            "not back in the array {:?} after the re-add",
                            confirm_window(interval)
                        );
                        m.resume_probing(now, interval, why.clone());
                        self.stats.readd_failures += 1;
                        self.out
                            .event(EventKind::ReaddFailed, aname, Some(mname), Some(why));
                    }
                }
                // Also right after giving up above, if that lands on a slot.
                if let Phase::Probing { next, probe: None } = m.phase {
                    if next <= now {
                        let probe = self.out.probe(aname, mname);
                        self.stats.probes += 1;
                        m.phase = Phase::Probing {
                            next: grid_after(next, interval, now),
                            probe: Some(probe),
                        };
                    }
                }
            }
        }
    }

    /// The answer to [`Action::Probe`](super::Action::Probe) `id`: `Ok` if the path works, else
    /// why not.
    pub fn handle_probe(&mut self, now: Instant, id: ProbeId, result: Result<(), String>) {
        let interval = self.cfg.interval();
        let Some((aname, mname)) = self.out.owner(id.0).cloned() else {
            self.stats.stale_results += 1;
            return;
        };
        let Some(array) = self.arrays.get_mut(&aname) else {
            self.stats.stale_results += 1;
            return;
        };
        let level = &array.level;
        let m = array.members.get_mut(&mname);
        let Some((m, next)) = m.and_then(|m| match m.phase {
            Phase::Probing {
                next,
                probe: Some(p),
            } if p == id => Some((m, next)),
            _ => None,
        }) else {
            self.stats.stale_results += 1;
            return;
        };
        self.out.release(Some(id.0));
        match result {
            Ok(()) => {
                self.out
                    .event(EventKind::PathRecovered, &aname, Some(&mname), None);
                let readd = self.out.readd(&aname, &mname, level);
                self.stats.readds += 1;
                m.phase = Phase::Readding { next, readd };
            }
            Err(why) => {
                self.stats.probe_failures += 1;
                m.probe_failures = m.probe_failures.saturating_add(1);
                m.last_error = Some(why.clone());
                m.phase = Phase::Probing {
                    next: grid_from(next, interval, now),
                    probe: None,
                };
                self.out
                    .event(EventKind::ProbeFailed, &aname, Some(&mname), Some(why));
            }
        }
    }

    /// The answer to [`Action::Readd`](super::Action::Readd) `id`: `Ok` if the kernel took the
    /// member back, else why not.
    pub fn handle_readd(&mut self, now: Instant, id: ReaddId, result: Result<(), String>) {
        let interval = self.cfg.interval();
        let Some((aname, mname)) = self.out.owner(id.0).cloned() else {
            self.stats.stale_results += 1;
            return;
        };
        let m = self
            .arrays
            .get_mut(&aname)
            .and_then(|a| a.members.get_mut(&mname));
        let Some((m, next)) = m.and_then(|m| match m.phase {
            Phase::Readding { next, readd } if readd == id => Some((m, next)),
            _ => None,
        }) else {
            self.stats.stale_results += 1;
            return;
        };
        self.out.release(Some(id.0));
        match result {
            Ok(()) => {
                m.phase = Phase::Confirming {
                    next,
                    deadline: add(now, confirm_window(interval)),
                };
            }
            Err(why) => {
                m.resume_probing(now, interval, why.clone());
                self.stats.readd_failures += 1;
                self.out
                    .event(EventKind::ReaddFailed, &aname, Some(&mname), Some(why));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Action, Event, PathState};
    use super::*;

    fn member_event(kind: EventKind, detail: Option<&str>) -> Action {
        Action::Event(Event {
            kind,
            array: "md0".into(),
            member: Some("sdb".into()),
            detail: detail.map(Into::into),
        })
    }

    /// md0 with sdb failing at `t0 + at`.
    fn failed_at(at: u64) -> Rig {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", InSync), ("sdc", InSync)])]);
        let out = r.scan(at, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]);
        assert_eq!(out, [member_event(EventKind::Fail, None)]);
        r
    }

    #[test]
    fn whole_cycle_of_a_multipath_member() {
        let mut r = failed_at(100);
        // Failing probes exactly every 15 s from the failure, answered late.
        for k in 1..=3u64 {
            let due = 100 + 15 * k;
            assert_eq!(r.next_timeout(), Some(s(due)));
            assert_eq!(r.tick(due - 1), []);
            let p = one_probe(&r.tick(due));
            assert_eq!(r.next_timeout(), None, "one probe at a time");
            r.core
                .handle_probe(r.at(due + 2), p, Err("Input/output error".into()));
            assert_eq!(
                r.drain(),
                [member_event(
                    EventKind::ProbeFailed,
                    Some("Input/output error")
                )]
            );
        }
        // The fourth probe works: PathRecovered, then the re-add.
        assert_eq!(r.next_timeout(), Some(s(160)));
        let p = one_probe(&r.tick(160));
        r.core.handle_probe(r.at(161), p, Ok(()));
        let out = r.drain();
        assert_eq!(out[0], member_event(EventKind::PathRecovered, None));
        assert_eq!(
            out[1..],
            [Action::Readd {
                id: one_readd(&out).0,
                array: "md0".into(),
                member: "sdb".into(),
                level: "multipath".into(),
            }]
        );
        assert_eq!(r.next_timeout(), None);
        r.core.handle_readd(r.at(162), one_readd(&out).0, Ok(()));
        assert_eq!(r.drain(), []);
        // Waiting for a scan, at most two intervals.
        assert_eq!(r.next_timeout(), Some(s(192)));
        let out = r.scan(163, vec![mp("md0", &[("sdb", Spare), ("sdc", InSync)])]);
        assert_eq!(out, [member_event(EventKind::SpareActive, None)]);
        assert_eq!(r.next_timeout(), None);
        assert_eq!(r.tick(200), []);
        let st = r.core.stats();
        assert_eq!((st.probes, st.probe_failures, st.readds), (4, 3, 1));
        let m = &r.core.status(r.at(200))[0].members[0];
        assert_eq!(
            (m.state, m.probe_failures, m.since_failure),
            (PathState::Active, 0, None)
        );
        assert_eq!(r.core.outstanding(), 0);
    }

    #[test]
    fn readd_error_resumes_probing_on_schedule() {
        let mut r = failed_at(0);
        let p = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(16), p, Ok(()));
        let (id, _) = one_readd(&r.drain());
        r.core
            .handle_readd(r.at(17), id, Err("Device or resource busy".into()));
        assert_eq!(
            r.drain(),
            [member_event(
                EventKind::ReaddFailed,
                Some("Device or resource busy")
            )]
        );
        assert_eq!(r.next_timeout(), Some(s(30)));
        assert_eq!(r.tick(29), []);
        let p2 = one_probe(&r.tick(30));
        assert_ne!(p, p2);
        let m = &r.core.status(r.at(30))[0].members[0];
        assert_eq!(m.readd_failures, 1);
        assert_eq!(m.last_error.as_deref(), Some("Device or resource busy"));
    }

    #[test]
    fn readd_not_confirmed_in_time_fails() {
        let mut r = failed_at(0);
        let p = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(15), p, Ok(()));
        let (id, _) = one_readd(&r.drain());
        r.core.handle_readd(r.at(20), id, Ok(()));
        // Scans that still show it faulty prove nothing yet.
        assert_eq!(
            r.scan(21, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]),
            []
        );
        assert_eq!(r.next_timeout(), Some(s(50)));
        assert_eq!(r.tick(49), []);
        assert_eq!(
            r.tick(50),
            [member_event(
                EventKind::ReaddFailed,
                Some("not back in the array 30s after the re-add")
            )]
        );
        // Back on the grid of the failure: 60 s, not 65 s.
        assert_eq!(r.next_timeout(), Some(s(60)));
        assert_eq!(r.core.stats().readd_failures, 1);
    }

    #[test]
    fn giving_up_on_a_slot_probes_at_once() {
        let mut r = failed_at(0);
        let p = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(15), p, Ok(()));
        let (id, _) = one_readd(&r.drain());
        r.core.handle_readd(r.at(15), id, Ok(()));
        let out = r.tick(45);
        assert_eq!(kinds(&out), [EventKind::ReaddFailed]);
        assert_eq!(probes(&out).len(), 1);
        assert_eq!(r.next_timeout(), None);
    }

    #[test]
    fn slots_passing_during_a_probe_are_skipped() {
        let mut r = failed_at(0);
        let p = one_probe(&r.tick(15));
        assert_eq!(r.tick(30), []);
        r.core.handle_probe(r.at(31), p, Err("timed out".into()));
        r.drain();
        assert_eq!(r.next_timeout(), Some(s(45)));
        // Answered exactly on a slot: that slot is still due.
        let p = one_probe(&r.tick(45));
        r.core.handle_probe(r.at(60), p, Err("timed out".into()));
        r.drain();
        assert_eq!(r.next_timeout(), Some(s(60)));
        // A late timer call probes once and stays on the grid.
        let _ = one_probe(&r.tick(97));
        assert_eq!(r.core.stats().probes, 3);
    }

    #[test]
    fn stale_and_repeated_answers_are_ignored() {
        let mut r = failed_at(0);
        let p = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(16), p, Err("EIO".into()));
        r.drain();
        // The same answer again, and a re-add nobody asked for.
        r.core.handle_probe(r.at(17), p, Ok(()));
        assert_eq!(r.drain(), []);
        assert_eq!(r.core.stats().stale_results, 1);
        let p = one_probe(&r.tick(30));
        r.core.handle_probe(r.at(30), p, Ok(()));
        let (id, _) = one_readd(&r.drain());
        // The scan shows it back before the re-add answers.
        let out = r.scan(31, vec![mp("md0", &[("sdb", InSync), ("sdc", InSync)])]);
        assert_eq!(out, [member_event(EventKind::SpareActive, None)]);
        r.core.handle_readd(r.at(32), id, Err("EBUSY".into()));
        assert_eq!(r.drain(), []);
        assert_eq!(r.core.stats().stale_results, 2);
        assert_eq!(r.core.outstanding(), 0);
    }
}
