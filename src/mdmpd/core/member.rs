//! One watched member: its phase and the probe grid.
//!
//! ```text
//! Active ──faulty──▶ Probing ──probe ok──▶ Readding ──re-add ok──▶ Confirming
//!   ▲                 ▲  │ probe failed: stay    │ re-add failed       │ no sign in time
//!   │                 │  ▼                       ▼                     ▼
//!   │                 └──────────── back to Probing, same grid ◀───────┘
//!   └── a scan shows it present and not faulty (from Probing, Readding or
//!       Confirming): our re-add worked, or someone else's did
//! ```
//!
//! Probes follow a fixed grid: the failure time plus whole multiples of the
//! interval. A slot that passes while a probe (or a re-add) is still out is
//! skipped, never made up and never shifted: [`grid_after`] and
//! [`grid_from`] only ever move along the grid. Invariants:
//! - `Probing { probe: Some(_) }`, `Readding` hold exactly one outstanding
//!   id (the engine's in-flight table maps it back here);
//! - `next` is always a grid slot;
//! - counters and `failed_at` describe the current outage only; they are
//!   cleared when the member is active again.
//!
//! # Panic contract
//! Nothing here panics; instant arithmetic that would overflow saturates
//! to the far future.

use super::event::{ProbeId, ReaddId};
use super::view::MemberState;
use std::time::{Duration, Instant};

/// Where a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Working, or at least not faulty.
    Active,
    /// Failed: probe at `next`, or waiting for `probe`.
    Probing {
        next: Instant,
        probe: Option<ProbeId>,
    },
    /// Probe succeeded: waiting for the re-add `readd`. `next` is the grid
    /// slot to resume probing at if it fails.
    Readding { next: Instant, readd: ReaddId },
    /// Re-add done: waiting for a scan to show the member back, until
    /// `deadline`.
    Confirming { next: Instant, deadline: Instant },
}

/// One member's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) phase: Phase,
    /// Its state in the last scan; `None` when that scan did not list it.
    pub(super) seen: Option<MemberState>,
    /// When the current outage began.
    pub(super) failed_at: Option<Instant>,
    /// Probes failed in this outage.
    pub(super) probe_failures: u32,
    /// Re-adds failed in this outage.
    pub(super) readd_failures: u32,
    /// The last probe or re-add error text.
    pub(super) last_error: Option<String>,
}

impl Member {
    /// A member first seen in `state`, not (yet) failed.
    pub(super) fn new(state: MemberState) -> Member {
        Member {
            phase: Phase::Active,
            seen: Some(state),
            failed_at: None,
            probe_failures: 0,
            readd_failures: 0,
            last_error: None,
        }
    }

    /// The member failed at `now`: first probe one `interval` later.
    pub(super) fn fail(&mut self, now: Instant, interval: Duration) {
        self.phase = Phase::Probing {
            next: add(now, interval),
            probe: None,
        };
        self.failed_at = Some(now);
        self.probe_failures = 0;
        self.readd_failures = 0;
        self.last_error = None;
    }

    /// The member is back: the outage is over.
    pub(super) fn activate(&mut self) {
        self.phase = Phase::Active;
        self.failed_at = None;
        self.probe_failures = 0;
        self.readd_failures = 0;
        self.last_error = None;
    }

    /// The probe or re-add id outstanding for it, as a raw number.
    pub(super) fn in_flight(&self) -> Option<u64> {
        match self.phase {
            Phase::Probing { probe: Some(p), .. } => Some(p.0),
            Phase::Readding { readd, .. } => Some(readd.0),
            _ => None,
        }
    }

    /// Whether it is in the middle of our own re-add (so leaving the array
    /// is expected: hot-remove, then hot-add).
    pub(super) fn readding(&self) -> bool {
        matches!(
            self.phase,
            Phase::Readding { .. } | Phase::Confirming { .. }
        )
    }

    /// Back to probing after a failed re-add, at the first grid slot from
    /// `now` on.
    pub(super) fn resume_probing(&mut self, now: Instant, interval: Duration, why: String) {
        let next = match self.phase {
            Phase::Probing { next, .. }
            | Phase::Readding { next, .. }
            | Phase::Confirming { next, .. } => next,
            Phase::Active => add(now, interval),
        };
        self.phase = Phase::Probing {
            next: grid_from(next, interval, now),
            probe: None,
        };
        self.readd_failures = self.readd_failures.saturating_add(1);
        self.last_error = Some(why);
    }

    /// When the engine must act on it next, if it waits for a time.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Probing { next, probe: None } => Some(next),
            Phase::Confirming { deadline, .. } => Some(deadline),
            _ => None,
        }
    }
}

/// `at + d`, or the far future if that overflows.
pub(super) fn add(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(u32::MAX.into())))
        .unwrap_or(at)
}

/// The first slot `slot + k·interval` (k ≥ 0) at or after `now`.
pub(super) fn grid_from(slot: Instant, interval: Duration, now: Instant) -> Instant {
    if slot >= now {
        return slot;
    }
    let behind = (now - slot).as_nanos();
    let step = interval.as_nanos().max(1);
    let k = behind.div_ceil(step);
    let ahead = u64::try_from(step.saturating_mul(k)).unwrap_or(u64::MAX);
    add(slot, Duration::from_nanos(ahead))
}

/// The first slot `slot + k·interval` (k ≥ 1) strictly after `now`.
pub(super) fn grid_after(slot: Instant, interval: Duration, now: Instant) -> Instant {
    let next = grid_from(add(slot, interval), interval, now);
    if next == now {
        add(next, interval)
    } else {
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_secs(15);

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn grid_from_keeps_the_phase() {
        let t0 = Instant::now();
        assert_eq!(grid_from(t0 + s(15), I, t0 + s(3)), t0 + s(15));
        assert_eq!(grid_from(t0 + s(15), I, t0 + s(15)), t0 + s(15));
        assert_eq!(grid_from(t0 + s(15), I, t0 + s(16)), t0 + s(30));
        assert_eq!(grid_from(t0 + s(15), I, t0 + s(45)), t0 + s(45));
        assert_eq!(grid_from(t0 + s(15), I, t0 + s(3601)), t0 + s(3615));
    }

    #[test]
    fn grid_after_is_strictly_later() {
        let t0 = Instant::now();
        assert_eq!(grid_after(t0 + s(15), I, t0 + s(15)), t0 + s(30));
        assert_eq!(grid_after(t0 + s(15), I, t0 + s(17)), t0 + s(30));
        // Late by a whole interval: the missed slot is skipped.
        assert_eq!(grid_after(t0 + s(15), I, t0 + s(30)), t0 + s(45));
        assert_eq!(grid_after(t0 + s(15), I, t0 + s(31)), t0 + s(45));
    }

    #[test]
    fn fail_then_activate_clears_the_outage() {
        let t0 = Instant::now();
        let mut m = Member::new(MemberState::InSync);
        assert_eq!(m.deadline(), None);
        m.fail(t0, I);
        assert_eq!(m.deadline(), Some(t0 + I));
        assert_eq!(m.failed_at, Some(t0));
        m.resume_probing(t0 + s(20), I, "EIO".into());
        assert_eq!(m.deadline(), Some(t0 + s(30)));
        assert_eq!(
            (m.readd_failures, m.last_error.as_deref()),
            (1, Some("EIO"))
        );
        m.activate();
        assert_eq!(m.phase, Phase::Active);
        assert_eq!(
            (m.failed_at, m.readd_failures, m.last_error),
            (None, 0, None)
        );
    }

    #[test]
    fn in_flight_and_readding() {
        let t0 = Instant::now();
        let mut m = Member::new(MemberState::Faulty);
        m.phase = Phase::Probing {
            next: t0,
            probe: Some(ProbeId(4)),
        };
        assert_eq!(
            (m.in_flight(), m.readding(), m.deadline()),
            (Some(4), false, None)
        );
        m.phase = Phase::Readding {
            next: t0,
            readd: ReaddId(5),
        };
        assert_eq!((m.in_flight(), m.readding()), (Some(5), true));
        m.phase = Phase::Confirming {
            next: t0,
            deadline: t0 + I,
        };
        assert_eq!(
            (m.in_flight(), m.readding(), m.deadline()),
            (None, true, Some(t0 + I))
        );
    }
}
