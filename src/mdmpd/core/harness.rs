//! Test support for the engine tests: snapshot builders and [`Rig`], an
//! engine with a fixed start time and helpers to read what it asks for.

use super::{
    Action, ArrayView, CoreConfig, EventKind, MdmpdCore, MemberState, MemberView, ProbeId, ReaddId,
    Snapshot,
};
use std::time::{Duration, Instant};

pub(super) use MemberState::{Faulty, InSync, Other, Spare};

/// An array of `level` with `members`.
pub(super) fn array(name: &str, level: &str, members: &[(&str, MemberState)]) -> ArrayView {
    ArrayView {
        name: name.into(),
        level: level.into(),
        members: members
            .iter()
            .map(|&(n, state)| MemberView {
                name: n.into(),
                state,
            })
            .collect(),
    }
}

/// A multipath array.
pub(super) fn mp(name: &str, members: &[(&str, MemberState)]) -> ArrayView {
    array(name, "multipath", members)
}

/// A snapshot of `arrays`.
pub(super) fn snap(arrays: Vec<ArrayView>) -> Snapshot {
    Snapshot { arrays }
}

/// `n` seconds.
pub(super) fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// An engine and its start time.
pub(super) struct Rig {
    pub(super) core: MdmpdCore,
    pub(super) t0: Instant,
}

impl Rig {
    /// Default configuration (multipath, 15 s).
    pub(super) fn new() -> Rig {
        Rig::with(CoreConfig::default())
    }

    pub(super) fn with(cfg: CoreConfig) -> Rig {
        Rig {
            core: MdmpdCore::new(cfg),
            t0: Instant::now(),
        }
    }

    /// `t0 + secs`.
    pub(super) fn at(&self, secs: u64) -> Instant {
        self.t0 + s(secs)
    }

    /// Scans `arrays` at `t0 + secs` and returns what it asked for.
    pub(super) fn scan(&mut self, secs: u64, arrays: Vec<ArrayView>) -> Vec<Action> {
        let now = self.at(secs);
        self.core.handle_scan(now, &snap(arrays));
        self.drain()
    }

    /// Runs the timer at `t0 + secs` and returns what it asked for.
    pub(super) fn tick(&mut self, secs: u64) -> Vec<Action> {
        self.core.handle_timeout(self.at(secs));
        self.drain()
    }

    pub(super) fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.core.poll_action()).collect()
    }

    /// Seconds from `t0` to the next timeout.
    pub(super) fn next_timeout(&self) -> Option<Duration> {
        self.core.poll_timeout().map(|t| t - self.t0)
    }
}

/// The event kinds among `actions`.
pub(super) fn kinds(actions: &[Action]) -> Vec<EventKind> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.kind),
            _ => None,
        })
        .collect()
}

/// The probes among `actions`, as (id, array, member).
pub(super) fn probes(actions: &[Action]) -> Vec<(ProbeId, String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Probe { id, array, member } => Some((*id, array.clone(), member.clone())),
            _ => None,
        })
        .collect()
}

/// The only probe among `actions`.
pub(super) fn one_probe(actions: &[Action]) -> ProbeId {
    let p = probes(actions);
    assert_eq!(p.len(), 1, "{actions:?}");
    p[0].0
}

/// The only re-add among `actions`, with its level.
pub(super) fn one_readd(actions: &[Action]) -> (ReaddId, String) {
    let r: Vec<(ReaddId, String)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Readd { id, level, .. } => Some((*id, level.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(r.len(), 1, "{actions:?}");
    r[0].clone()
}
