//! What the engine is told: its own view of the md arrays, and how it runs.
//!
//! The glue builds a [`Snapshot`] from `/proc/mdstat` and sysfs on every
//! rescan; the engine never reads either itself. A snapshot lists every md
//! array the glue found, of any level: the engine keeps only those whose
//! level [`CoreConfig::watches`]. Names are the kernel's (`md0`, `sdb1`),
//! without `/dev/`.
//!
//! Repeated names are not an error: the first array (or member) of a name
//! counts, the rest are ignored and counted ([`super::CoreStats`]).
//!
//! # Panic contract
//! Nothing here panics.

use std::time::Duration;

/// The default watched level: the seed's "multipath md device".
pub const MULTIPATH: &str = "multipath";

/// The seed's probe interval: "poll the failed path once every 15 seconds".
pub const PROBE_INTERVAL: Duration = Duration::from_secs(15);

/// The shortest probe interval accepted; shorter ones are raised to it (a
/// zero interval would probe in a busy loop).
pub const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// All md arrays at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The arrays, in the order the glue found them.
    pub arrays: Vec<ArrayView>,
}

/// One md array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayView {
    /// Kernel name, e.g. `md0`.
    pub name: String,
    /// Personality as sysfs `md/level` spells it: `multipath`, `raid1`, ...
    pub level: String,
    /// Its component devices, faulty ones included while the kernel lists
    /// them.
    pub members: Vec<MemberView>,
}

/// One component device of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// Kernel name, e.g. `sdb1`.
    pub name: String,
    /// What the kernel says about it.
    pub state: MemberState,
}

/// A component's state, reduced to what the engine acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Working (`U` in mdstat, `in_sync` in sysfs).
    InSync,
    /// A spare (`(S)`, or on 2.4 kernels any path beyond the active one).
    Spare,
    /// Failed (`(F)`, `faulty`).
    Faulty,
    /// Anything else: rebuilding, journal, replacement, ... Present and not
    /// faulty.
    Other,
}

impl MemberState {
    /// Lower-case name for status output.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::InSync => "in_sync",
            MemberState::Spare => "spare",
            MemberState::Faulty => "faulty",
            MemberState::Other => "other",
        }
    }

    /// Whether the kernel counts the member as failed.
    pub fn is_faulty(self) -> bool {
        self == MemberState::Faulty
    }
}

/// How the engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// Levels whose arrays are watched (default: `multipath` only). Compared
    /// ignoring ASCII case.
    pub levels: Vec<String>,
    /// Time between two probes of a failed member (default 15 s; at least
    /// [`MIN_PROBE_INTERVAL`]).
    pub probe_interval: Duration,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            levels: vec![MULTIPATH.to_string()],
            probe_interval: PROBE_INTERVAL,
        }
    }
}

impl CoreConfig {
    /// Whether arrays of `level` are watched.
    pub fn watches(&self, level: &str) -> bool {
        self.levels.iter().any(|l| l.eq_ignore_ascii_case(level))
    }

    /// The probe interval actually used.
    pub fn interval(&self) -> Duration {
        self.probe_interval.max(MIN_PROBE_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_watches_multipath_only() {
        let cfg = CoreConfig::default();
        assert!(cfg.watches("multipath"));
        assert!(cfg.watches("MultiPath"));
        assert!(!cfg.watches("raid1"));
        assert_eq!(cfg.interval(), Duration::from_secs(15));
    }

    #[test]
    fn zero_interval_is_raised() {
        let cfg = CoreConfig {
            levels: vec!["raid1".into()],
            probe_interval: Duration::ZERO,
        };
        assert_eq!(cfg.interval(), MIN_PROBE_INTERVAL);
        assert!(cfg.watches("raid1"));
    }

    #[test]
    fn state_names() {
        assert_eq!(MemberState::Faulty.as_str(), "faulty");
        assert!(MemberState::Faulty.is_faulty());
        assert!(!MemberState::Spare.is_faulty());
    }
}
