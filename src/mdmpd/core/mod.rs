//! The mdmpd engine: which md members failed, when to probe them, when to
//! put them back. Sans-IO (quinn-proto style): no sockets, files, threads
//! or clock; time comes in as an `Instant` argument.
//!
//! The seed: mdmpd "reads the current state of the md raid arrays, saves
//! that state, and then waits for the kernel to tell it something
//! interesting has happened. It then wakes up, checks to see if any paths
//! on a multipath device have failed, and if they have then it starts to
//! poll the failed path once every 15 seconds until it starts working
//! again. Once it starts working again, the daemon will then add the path
//! back into the multipath md device it was originally part of as a new
//! spare path."
//!
//! Driving it:
//! - on every rescan (start, `POLLPRI` on `/proc/mdstat`, uevents, the
//!   safety timer) build a [`Snapshot`] and call [`MdmpdCore::handle_scan`];
//! - carry out what [`MdmpdCore::poll_action`] yields until `None`: probe
//!   a path ([`Action::Probe`], answer with [`MdmpdCore::handle_probe`]),
//!   re-add a member ([`Action::Readd`], answer with
//!   [`MdmpdCore::handle_readd`]), report an [`Event`];
//! - call [`MdmpdCore::handle_timeout`] at [`MdmpdCore::poll_timeout`].
//!
//! The glue answers every probe and re-add exactly once (a probe needs a
//! timeout of its own there). Answers for ids the engine no longer waits
//! for are ignored and counted ([`CoreStats::stale_results`]): the member
//! was forgotten, its array vanished, or a scan showed it back first.
//!
//! Per member (the phases [`PathState`] names):
//!
//! ```text
//! active ──faulty in a scan──▶ probing ──probe ok──▶ re-adding ──ok──▶ confirming
//!   ▲                           ▲   │ probe failed: stay    │ error        │ no sign within
//!   │                           │   ▼                       ▼              ▼ 2 intervals
//!   │                           └──────────── ReaddFailed, same grid ◀─────┘
//!   └── a scan lists it present and not faulty (from any failed phase)
//! ```
//!
//! Scans ([`MdmpdCore::handle_scan`]): arrays of unwatched levels are
//! ignored entirely. The first scan is the start ("reads the current state
//! … and saves that state"): watched arrays are adopted without
//! `NewArray`, and members already faulty are failed (`Fail`, probing
//! starts). Later scans are diffed against the saved state: a new watched
//! array gives `NewArray`; a vanished one gives `DeviceDisappeared` once
//! and its members are dropped; an array whose level is no longer watched
//! counts as vanished. For members:
//! - not faulty → faulty: `Fail`; the first probe one interval later, then
//!   on the grid of whole intervals from the failure (a slot that passes
//!   while a probe is out is skipped; the grid never shifts);
//! - failed (probing) and no longer listed, not during our re-add: the
//!   admin removed it. `PathRemoved` (this daemon's name; mdadm has none),
//!   no more probes. A member that leaves during our re-add (hot-remove,
//!   then hot-add) is kept, and if the re-add fails it is probed while
//!   absent until a scan lists it again;
//! - failed and listed present, not faulty (in sync, spare, or rebuilding):
//!   back. After our re-add that is `SpareActive` (mdadm's "re-added");
//!   without it (someone else re-added it) also `SpareActive`, with the
//!   detail [`BACK_BY_OTHERS`]; probing stops either way;
//! - a healthy member that is no longer listed is dropped silently; a new
//!   member listed faulty is failed like any other.
//!
//! Probes ([`MdmpdCore::handle_probe`]): success gives `PathRecovered` and
//! an [`Action::Readd`]; failure keeps probing, counts it in the member's
//! status and gives a `ProbeFailed` event of [`Priority::Debug`].
//! Re-adds ([`MdmpdCore::handle_readd`]): success waits for a scan to show
//! the member back (in sync, spare, or rebuilding) within
//! [`CONFIRM_INTERVALS`] probe intervals; an error, or no sign in time,
//! gives `ReaddFailed` and probing resumes on the same grid.
//!
//! At most one probe or re-add is outstanding per member. Memory is
//! bounded: at most [`MAX_ARRAYS`] arrays and [`MAX_MEMBERS`] members per
//! array are tracked; extras are ignored and counted.
//! [`MdmpdCore::poll_timeout`] and [`MdmpdCore::handle_timeout`] walk every
//! tracked member (real hosts have a handful).
//!
//! # Panic contract
//! No method panics, whatever the snapshots, answers and instants.

mod cycle;
pub mod event;
mod member;
mod outbox;
mod scan;
pub mod status;
pub mod view;

pub use event::{Action, Event, EventKind, Priority, ProbeId, ReaddId};
pub use scan::BACK_BY_OTHERS;
pub use status::{ArrayStatus, MemberStatus, PathState};
pub use view::{ArrayView, CoreConfig, MemberState, MemberView, Snapshot};

use member::Member;
use outbox::Outbox;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most arrays tracked.
pub const MAX_ARRAYS: usize = 4096;

/// Most members tracked per array.
pub const MAX_MEMBERS: usize = 4096;

/// How many probe intervals a successful re-add has to show in a scan.
pub const CONFIRM_INTERVALS: u32 = 2;

/// Tallies, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoreStats {
    /// Scans handled.
    pub scans: u64,
    /// Probes asked for.
    pub probes: u64,
    /// Probes that failed.
    pub probe_failures: u64,
    /// Re-adds asked for.
    pub readds: u64,
    /// Re-adds that failed or were not confirmed.
    pub readd_failures: u64,
    /// Answers for probes or re-adds no longer waited for.
    pub stale_results: u64,
    /// Arrays left out, counted per scan: over [`MAX_ARRAYS`], or a
    /// repeated name.
    pub ignored_arrays: u64,
    /// Members left out, counted per scan: over [`MAX_MEMBERS`], or a
    /// repeated name.
    pub ignored_members: u64,
}

/// A watched array.
#[derive(Debug)]
struct Array {
    level: String,
    members: BTreeMap<String, Member>,
}

/// The engine.
#[derive(Debug)]
pub struct MdmpdCore {
    cfg: CoreConfig,
    started: bool,
    arrays: BTreeMap<String, Array>,
    out: Outbox,
    stats: CoreStats,
}

impl MdmpdCore {
    /// Nothing known yet; the first [`MdmpdCore::handle_scan`] is the start.
    pub fn new(cfg: CoreConfig) -> MdmpdCore {
        MdmpdCore {
            cfg,
            started: false,
            arrays: BTreeMap::new(),
            out: Outbox::default(),
            stats: CoreStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// Tallies so far.
    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    /// Whether the first scan was handled.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Probes and re-adds outstanding.
    pub fn outstanding(&self) -> usize {
        self.out.outstanding()
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop()
    }

    /// When [`MdmpdCore::handle_timeout`] has work: the earliest probe due
    /// or re-add confirmation expiring.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.arrays
            .values()
            .flat_map(|a| a.members.values())
            .filter_map(Member::deadline)
            .min()
    }
}

/// How long a successful re-add has to show in a scan.
fn confirm_window(interval: Duration) -> Duration {
    interval.saturating_mul(CONFIRM_INTERVALS)
}

#[cfg(test)]
mod harness;

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_new_engine_waits_for_its_first_scan() {
        let mut r = Rig::new();
        assert!(!r.core.is_started());
        assert_eq!(r.core.config(), &CoreConfig::default());
        assert_eq!((r.core.poll_action(), r.core.poll_timeout()), (None, None));
        assert_eq!(r.tick(1000), []);
        assert_eq!(r.core.stats(), CoreStats::default());
    }

    #[test]
    fn poll_timeout_is_the_earliest_member() {
        let mut r = Rig::new();
        r.scan(0, vec![mp("md0", &[("sdb", Faulty)])]);
        r.scan(
            5,
            vec![mp("md0", &[("sdb", Faulty)]), mp("md1", &[("sdx", Faulty)])],
        );
        assert_eq!(r.next_timeout(), Some(s(15)));
        let p = probes(&r.tick(15));
        assert_eq!(p.len(), 1);
        assert_eq!(r.next_timeout(), Some(s(20)));
        let p = probes(&r.tick(20));
        assert_eq!((p[0].1.as_str(), p[0].2.as_str()), ("md1", "sdx"));
        assert_eq!((r.next_timeout(), r.core.outstanding()), (None, 2));
    }

    const STATES: [Option<MemberState>; 5] =
        [None, Some(InSync), Some(Spare), Some(Faulty), Some(Other)];

    /// Two arrays of three members, states and levels picked by `seed`.
    fn scripted(seed: u32) -> Vec<ArrayView> {
        let mut arrays = Vec::new();
        for (i, name) in ["md0", "md1"].iter().enumerate() {
            let bits = seed >> (i * 12);
            if bits & 3 == 0 {
                continue;
            }
            let level = if bits & 4 == 0 { "multipath" } else { "raid1" };
            let mut members = Vec::new();
            for (j, m) in ["sda", "sdb", "sdc"].iter().enumerate() {
                let pick = (bits >> (3 + 3 * j)) as usize % STATES.len();
                if let Some(state) = STATES[pick] {
                    members.push((*m, state));
                }
            }
            arrays.push(array(name, level, &members));
        }
        arrays
    }

    proptest! {
        #[test]
        fn any_sequence_keeps_the_invariants(
            ops in prop::collection::vec((0u8..4, any::<u32>(), 0u64..40), 1..60),
        ) {
            let mut r = Rig::with(CoreConfig {
                levels: vec!["multipath".into(), "raid1".into()],
                ..CoreConfig::default()
            });
            let mut now = 0;
            let mut probe_ids = Vec::new();
            let mut readd_ids = Vec::new();
            for (op, seed, dt) in ops {
                now += dt;
                let out = match op {
                    0 => r.scan(now, scripted(seed)),
                    1 => r.tick(now),
                    2 if !probe_ids.is_empty() => {
                        let id = probe_ids.swap_remove(seed as usize % probe_ids.len());
                        let res = if seed & 1 == 0 { Ok(()) } else { Err("EIO".into()) };
                        r.core.handle_probe(r.at(now), id, res);
                        r.drain()
                    }
                    3 if !readd_ids.is_empty() => {
                        let id = readd_ids.swap_remove(seed as usize % readd_ids.len());
                        let res = if seed & 1 == 0 { Ok(()) } else { Err("EBUSY".into()) };
                        r.core.handle_readd(r.at(now), id, res);
                        r.drain()
                    }
                    _ => r.tick(now),
                };
                for a in &out {
                    match a {
                        Action::Probe { id, .. } => probe_ids.push(*id),
                        Action::Readd { id, .. } => readd_ids.push(*id),
                        Action::Event(_) => {}
                    }
                }
                let st = r.core.status(r.at(now));
                let busy = st
                    .iter()
                    .flat_map(|a| &a.members)
                    .filter(|m| m.probing_now || m.state == PathState::Readding)
                    .count();
                prop_assert_eq!(busy, r.core.outstanding());
                if let Some(t) = r.core.poll_timeout() {
                    // Due work is done by the timer, never left behind.
                    r.core.handle_timeout(t);
                    let again = r.core.poll_timeout();
                    prop_assert!(again.is_none_or(|u| u > t));
                    for a in r.drain() {
                        match a {
                            Action::Probe { id, .. } => probe_ids.push(id),
                            Action::Readd { id, .. } => readd_ids.push(id),
                            Action::Event(_) => {}
                        }
                    }
                }
            }
        }
    }
}
