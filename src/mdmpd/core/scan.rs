//! Rescans: diffing a [`Snapshot`] against the saved state (the rules are
//! in the module doc of [`super`]).
//!
//! Order of the events one scan yields: `DeviceDisappeared` for vanished
//! arrays (by name), then array by array in the snapshot's order:
//! `NewArray`, then per member `PathRemoved` (members gone, by name), then
//! `Fail`/`SpareActive` in the snapshot's member order.
//!
//! Invariant: every member this drops or moves out of a phase that holds
//! an id has that id released first, so its answer will be stale.
//!
//! # Panic contract
//! Nothing here panics, whatever the snapshot holds.

use super::member::{Member, Phase};
use super::{
    Array, ArrayView, EventKind, MdmpdCore, MemberView, Snapshot, MAX_ARRAYS, MAX_MEMBERS,
};
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// Detail of `SpareActive` when the member came back without our re-add.
pub const BACK_BY_OTHERS: &str = "re-added by someone else";

impl MdmpdCore {
    /// A rescan at `now`. The first one is the start (module doc of
    /// [`super`]); later ones are diffed against the saved state.
    pub fn handle_scan(&mut self, now: Instant, snap: &Snapshot) {
        self.stats.scans += 1;
        let start = !self.started;
        self.started = true;
        let mut names: HashSet<&str> = HashSet::new();
        let mut views: Vec<&ArrayView> = Vec::new();
        for view in &snap.arrays {
            if !self.cfg.watches(&view.level) {
                continue;
            }
            if names.insert(view.name.as_str()) {
                views.push(view);
            } else {
                self.stats.ignored_arrays += 1;
            }
        }
        let gone: Vec<String> = self
            .arrays
            .keys()
            .filter(|n| !names.contains(n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(array) = self.arrays.remove(&name) {
                for m in array.members.values() {
                    self.out.release(m.in_flight());
                }
            }
            self.out
                .event(EventKind::DeviceDisappeared, &name, None, None);
        }
        for view in views {
            if !self.arrays.contains_key(&view.name) {
                if self.arrays.len() >= MAX_ARRAYS {
                    self.stats.ignored_arrays += 1;
                    continue;
                }
                if !start {
                    self.out.event(EventKind::NewArray, &view.name, None, None);
                }
                self.arrays.insert(
                    view.name.clone(),
                    Array {
                        level: view.level.clone(),
                        members: BTreeMap::new(),
                    },
                );
            }
            self.update(now, view);
        }
    }

    /// Brings the tracked array `view.name` up to date with `view`.
    fn update(&mut self, now: Instant, view: &ArrayView) {
        let interval = self.cfg.interval();
        let Some(array) = self.arrays.get_mut(&view.name) else {
            return;
        };
        array.level.clone_from(&view.level);
        let mut names: HashSet<&str> = HashSet::new();
        let mut listed: Vec<&MemberView> = Vec::new();
        for m in &view.members {
            if names.insert(m.name.as_str()) {
                listed.push(m);
            } else {
                self.stats.ignored_members += 1;
            }
        }
        let absent: Vec<String> = array
            .members
            .keys()
            .filter(|n| !names.contains(n.as_str()))
            .cloned()
            .collect();
        for name in absent {
            let Some(m) = array.members.get_mut(&name) else {
                continue;
            };
            if m.seen.is_none() {
                continue;
            }
            m.seen = None;
            if m.readding() {
                continue;
            }
            let failed = m.phase != Phase::Active;
            self.out.release(m.in_flight());
            array.members.remove(&name);
            if failed {
                self.out
                    .event(EventKind::PathRemoved, &view.name, Some(&name), None);
            }
        }
        for mv in listed {
            let state = mv.state;
            if !array.members.contains_key(&mv.name) {
                if array.members.len() >= MAX_MEMBERS {
                    self.stats.ignored_members += 1;
                    continue;
                }
                array.members.insert(mv.name.clone(), Member::new(state));
            }
            let Some(m) = array.members.get_mut(&mv.name) else {
                continue;
            };
            m.seen = Some(state);
            let active = m.phase == Phase::Active;
            match (active, state.is_faulty()) {
                (true, true) => {
                    m.fail(now, interval);
                    self.out
                        .event(EventKind::Fail, &view.name, Some(&mv.name), None);
                }
                (false, false) => {
                    let ours = m.readding();
                    self.out.release(m.in_flight());
                    m.activate();
                    let detail = (!ours).then(|| BACK_BY_OTHERS.to_string());
                    self.out
                        .event(EventKind::SpareActive, &view.name, Some(&mv.name), detail);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Action, CoreConfig, Event, MemberState};
    use super::*;

    fn ev(kind: EventKind, array: &str, member: Option<&str>) -> Action {
        Action::Event(Event {
            kind,
            array: array.into(),
            member: member.map(Into::into),
            detail: None,
        })
    }

    #[test]
    fn start_adopts_quietly_and_fails_faulty_members() {
        let mut r = Rig::new();
        let out = r.scan(
            0,
            vec![
                mp("md254", &[("sdb", InSync), ("sdd", InSync)]),
                mp("md0", &[("sdc", InSync), ("sdb", Faulty)]),
            ],
        );
        assert_eq!(out, [ev(EventKind::Fail, "md0", Some("sdb"))]);
        assert!(r.core.is_started());
        assert_eq!(r.next_timeout(), Some(s(15)));
        assert_eq!(r.tick(14), []);
        let p = probes(&r.tick(15));
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].1.as_str(), p[0].2.as_str()), ("md0", "sdb"));
        // The same state again is no news.
        assert_eq!(
            r.scan(
                16,
                vec![
                    mp("md254", &[("sdb", InSync), ("sdd", InSync)]),
                    mp("md0", &[("sdc", InSync), ("sdb", Faulty)])
                ]
            ),
            []
        );
    }

    #[test]
    fn later_failure_is_a_fail_event() {
        let mut r = Rig::new();
        assert_eq!(
            r.scan(0, vec![mp("md0", &[("sdb", InSync), ("sdc", InSync)])]),
            []
        );
        assert_eq!(r.next_timeout(), None);
        let out = r.scan(40, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]);
        assert_eq!(out, [ev(EventKind::Fail, "md0", Some("sdb"))]);
        assert_eq!(r.next_timeout(), Some(s(55)));
    }

    #[test]
    fn unwatched_levels_are_ignored_entirely() {
        let mut r = Rig::new();
        assert_eq!(
            r.scan(0, vec![array("md1", "raid1", &[("sda1", Faulty)])]),
            []
        );
        assert_eq!(
            r.scan(5, vec![array("md1", "raid1", &[("sda1", InSync)])]),
            []
        );
        assert_eq!(
            r.scan(6, vec![array("md2", "raid5", &[("sdx", Faulty)])]),
            []
        );
        assert_eq!(r.scan(7, vec![]), []);
        assert_eq!(r.next_timeout(), None);
        assert!(r.core.status(r.at(8)).is_empty());
    }

    #[test]
    fn raid1_is_watched_when_configured() {
        let mut r = Rig::with(CoreConfig {
            levels: vec!["raid1".into(), "raid10".into()],
            ..CoreConfig::default()
        });
        let out = r.scan(
            0,
            vec![
                array("md1", "raid1", &[("sda1", InSync), ("sdb1", Faulty)]),
                mp("md0", &[("sdc", Faulty)]),
            ],
        );
        assert_eq!(out, [ev(EventKind::Fail, "md1", Some("sdb1"))]);
        let probe = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(15), probe, Ok(()));
        let (id, level) = one_readd(&r.drain());
        assert_eq!(level, "raid1");
        r.core.handle_readd(r.at(16), id, Ok(()));
        // Rebuilding onto it counts as back.
        let out = r.scan(
            17,
            vec![array("md1", "raid1", &[("sda1", InSync), ("sdb1", Other)])],
        );
        assert_eq!(out, [ev(EventKind::SpareActive, "md1", Some("sdb1"))]);
    }

    #[test]
    fn new_array_then_disappearing_once() {
        let mut r = Rig::new();
        assert_eq!(r.scan(0, vec![]), []);
        let out = r.scan(10, vec![mp("md0", &[("sdb", InSync), ("sdc", Faulty)])]);
        assert_eq!(
            out,
            [
                ev(EventKind::NewArray, "md0", None),
                ev(EventKind::Fail, "md0", Some("sdc"))
            ]
        );
        let probe = one_probe(&r.tick(25));
        assert_eq!(
            r.scan(26, vec![]),
            [ev(EventKind::DeviceDisappeared, "md0", None)]
        );
        assert_eq!(r.scan(27, vec![]), []);
        assert_eq!(r.next_timeout(), None);
        assert_eq!(r.core.outstanding(), 0);
        // The probe that was out is answered for nothing.
        r.core.handle_probe(r.at(28), probe, Ok(()));
        assert_eq!(r.drain(), []);
        assert_eq!(r.core.stats().stale_results, 1);
    }

    #[test]
    fn level_no_longer_watched_counts_as_gone() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", InSync)])]);
        let out = r.scan(1, vec![array("md0", "raid1", &[("sdb", InSync)])]);
        assert_eq!(out, [ev(EventKind::DeviceDisappeared, "md0", None)]);
    }

    #[test]
    fn admin_removing_a_failed_member_stops_probing() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]);
        let probe = one_probe(&r.tick(15));
        let out = r.scan(20, vec![mp("md0", &[("sdc", InSync)])]);
        assert_eq!(out, [ev(EventKind::PathRemoved, "md0", Some("sdb"))]);
        assert_eq!(r.next_timeout(), None);
        assert_eq!(r.tick(30), []);
        r.core.handle_probe(r.at(31), probe, Err("EIO".into()));
        assert_eq!(r.drain(), []);
        assert_eq!(r.core.stats().stale_results, 1);
        // Added back later as a new, healthy member: nothing to do.
        assert_eq!(
            r.scan(40, vec![mp("md0", &[("sdb", Spare), ("sdc", InSync)])]),
            []
        );
        assert_eq!(r.next_timeout(), None);
    }

    #[test]
    fn healthy_member_leaving_is_silent_and_new_faulty_one_fails() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", InSync), ("sdc", InSync)])]);
        assert_eq!(r.scan(1, vec![mp("md0", &[("sdc", InSync)])]), []);
        let out = r.scan(2, vec![mp("md0", &[("sdc", InSync), ("sdd", Faulty)])]);
        assert_eq!(out, [ev(EventKind::Fail, "md0", Some("sdd"))]);
    }

    #[test]
    fn someone_else_readding_stops_probing() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]);
        let probe = one_probe(&r.tick(15));
        let out = r.scan(16, vec![mp("md0", &[("sdb", InSync), ("sdc", InSync)])]);
        assert_eq!(
            out,
            [Action::Event(Event {
                kind: EventKind::SpareActive,
                array: "md0".into(),
                member: Some("sdb".into()),
                detail: Some(BACK_BY_OTHERS.into()),
            })]
        );
        assert_eq!(r.next_timeout(), None);
        r.core.handle_probe(r.at(17), probe, Ok(()));
        assert_eq!(r.drain(), []);
        assert_eq!(r.core.stats().stale_results, 1);
    }

    #[test]
    fn leaving_during_our_readd_is_expected() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", Faulty), ("sdc", InSync)])]);
        let probe = one_probe(&r.tick(15));
        r.core.handle_probe(r.at(15), probe, Ok(()));
        let (readd, _) = one_readd(&r.drain());
        // The actuator hot-removed it, then the hot-add failed.
        assert_eq!(r.scan(16, vec![mp("md0", &[("sdc", InSync)])]), []);
        r.core.handle_readd(r.at(16), readd, Err("EINVAL".into()));
        assert_eq!(kinds(&r.drain()), [EventKind::ReaddFailed]);
        // Still absent: not the admin's doing; probing goes on.
        assert_eq!(r.scan(17, vec![mp("md0", &[("sdc", InSync)])]), []);
        assert_eq!(r.next_timeout(), Some(s(30)));
        assert_eq!(probes(&r.tick(30)).len(), 1);
    }

    #[test]
    fn repeated_names_and_caps_are_counted() {
        let mut r = Rig::new();
        r.scan(
            0,
            vec![
                mp("md0", &[("sdb", InSync), ("sdb", Faulty)]),
                mp("md0", &[("sdc", Faulty)]),
            ],
        );
        assert_eq!(r.next_timeout(), None);
        let st = r.core.stats();
        assert_eq!((st.ignored_arrays, st.ignored_members), (1, 1));

        let mut r = Rig::new();
        let many: Vec<ArrayView> = (0..=MAX_ARRAYS)
            .map(|i| mp(&format!("md{i}"), &[]))
            .collect();
        r.scan(0, many);
        assert_eq!(r.core.status(r.at(0)).len(), MAX_ARRAYS);
        assert_eq!(r.core.stats().ignored_arrays, 1);

        let mut r = Rig::new();
        let names: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("sd{i}")).collect();
        let members: Vec<(&str, MemberState)> =
            names.iter().map(|n| (n.as_str(), InSync)).collect();
        r.scan(0, vec![mp("md0", &members)]);
        assert_eq!(r.core.status(r.at(0))[0].members.len(), MAX_MEMBERS);
        assert_eq!(r.core.stats().ignored_members, 1);
    }
}
