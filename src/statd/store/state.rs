//! The NSM state number rules, as pure functions.
//!
//! The state is odd while the daemon runs, strictly increasing, never reused
//! or lowered. It advances only on a reboot of the host (or SM_SIMU_CRASH):
//! a plain restart of the daemon keeps it.
//!
//! Where the stored value is lost (no file, a short file such as the 0-byte
//! `state` Debian ships, a non-positive value), the reference restarts at 3,
//! which may repeat a value peers have already seen, and receivers ignore a
//! notification whose state equals the last one (Linux lockd, nfs-utils
//! statd). We instead derive the value from the wall clock: the number of
//! seconds since 2024-01-01 00:00:00 UTC, forced odd and at least 3. A host
//! that kept its counter moves it by 2 per reboot, so a lost counter that
//! was once derived this way is always overtaken by a later derivation
//! unless the host rebooted more than once every two seconds. Values written
//! by other implementations are small (one step per boot). The derivation
//! stays below `i32::MAX` until about 2092.

/// Unix time of 2024-01-01 00:00:00 UTC, the zero of derived states.
const DERIVATION_EPOCH: u64 = 1_704_067_200;
/// Derived states never exceed this, leaving room for later increments.
const DERIVATION_CAP: u64 = 0x7fff_0000;

/// Why the running state is not simply the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateNote {
    /// No state was stored: derived from the clock.
    Missing,
    /// The stored state had the wrong size: derived from the clock.
    Damaged {
        /// Size found, in bytes.
        len: usize,
    },
    /// The stored state was zero or negative: derived from the clock.
    NotPositive(i32),
    /// The stored state was even ("down"): the next odd number is used.
    Even(i32),
}

impl std::fmt::Display for StateNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateNote::Missing => f.write_str("no stored state; derived one from the clock"),
            StateNote::Damaged { len } => {
                write!(
                    f,
                    "stored state unreadable ({len}-byte file); derived one from the clock"
                )
            }
            StateNote::NotPositive(v) => write!(
                f,
                "stored state {v} is not positive; derived one from the clock"
            ),
            StateNote::Even(v) => {
                write!(f, "stored state {v} is even; using {}", v.saturating_add(1))
            }
        }
    }
}

/// What was stored, independent of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Nothing stored.
    Missing,
    /// Stored, but unreadable as a number (wrong size).
    Damaged {
        /// Size found, in bytes.
        len: usize,
    },
    /// A number.
    Value(i32),
}

/// The state derived from the clock (`now_unix_secs`): seconds since
/// 2024-01-01, forced odd, at least 3, at most about `0x7fff0001`.
pub fn derived(now_unix_secs: u64) -> i32 {
    let secs = now_unix_secs
        .saturating_sub(DERIVATION_EPOCH)
        .clamp(3, DERIVATION_CAP)
        | 1;
    i32::try_from(secs).unwrap_or(3)
}

/// The state to run with after a start that is not a reboot, and why it
/// differs from the stored one (if it does).
pub fn on_start(stored: Stored, now_unix_secs: u64) -> (i32, Option<StateNote>) {
    match stored {
        Stored::Missing => (derived(now_unix_secs), Some(StateNote::Missing)),
        Stored::Damaged { len } => (derived(now_unix_secs), Some(StateNote::Damaged { len })),
        Stored::Value(v) if v <= 0 => (derived(now_unix_secs), Some(StateNote::NotPositive(v))),
        Stored::Value(v) if v % 2 == 0 => (v.checked_add(1).unwrap_or(3), Some(StateNote::Even(v))),
        Stored::Value(v) => (v, None),
    }
}

/// The state after a reboot or SM_SIMU_CRASH: odd → +2, even → +1. At the
/// top of the `i32` range (not reachable in practice) it wraps to 3, as
/// illumos wraps to 1; the caller logs that.
pub fn next_on_boot(current: i32) -> i32 {
    let step = if current % 2 == 0 { 1 } else { 2 };
    match current.checked_add(step) {
        Some(next) if next > 0 => next,
        _ => 3,
    }
}

/// The reboot step's bookkeeping, the same in every store: `state` moves
/// to [`next_on_boot`] (a wrap is logged as an error) and `new_id`, when
/// known, becomes the boot id on record. The caller writes both.
pub fn take_boot_step(state: &mut i32, boot_id: &mut Option<Vec<u8>>, new_id: Option<&[u8]>) {
    let next = next_on_boot(*state);
    if next < *state {
        log::error!("state {state} cannot grow any further; wrapped to {next}");
    }
    *state = next;
    if let Some(id) = new_id {
        *boot_id = Some(id.to_vec());
    }
}

/// Whether the host booted since the boot id `last` was stored. When either
/// id is unknown (first run, or a platform without boot ids) every start
/// counts as a boot, as on BSD and macOS.
pub fn is_new_boot(last: Option<&[u8]>, current: Option<&[u8]>) -> bool {
    match (last, current) {
        (Some(last), Some(current)) => last != current,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_763_712_000; // 2025-11-21

    #[test]
    fn odd_kept_even_bumped() {
        assert_eq!(on_start(Stored::Value(3), NOW), (3, None));
        assert_eq!(
            on_start(Stored::Value(10), NOW),
            (11, Some(StateNote::Even(10)))
        );
    }

    #[test]
    fn lost_state_is_derived_from_the_clock() {
        let (s, note) = on_start(Stored::Missing, NOW);
        assert_eq!(note, Some(StateNote::Missing));
        assert_eq!(s, ((NOW - DERIVATION_EPOCH) | 1) as i32);
        assert!(s > 1_000_000 && s % 2 == 1);
        assert_eq!(on_start(Stored::Damaged { len: 2 }, NOW).0, s);
        assert_eq!(on_start(Stored::Value(-5), NOW).0, s);
        assert_eq!(
            on_start(Stored::Value(0), NOW).1,
            Some(StateNote::NotPositive(0))
        );
    }

    #[test]
    fn derivation_is_bounded_and_odd() {
        assert_eq!(derived(0), 3);
        assert_eq!(derived(DERIVATION_EPOCH + 10), 11);
        assert_eq!(derived(u64::MAX), 0x7fff_0001);
        assert!(derived(NOW + 2) > derived(NOW));
    }

    #[test]
    fn boot_steps() {
        assert_eq!(next_on_boot(3), 5);
        assert_eq!(next_on_boot(4), 5);
        assert_eq!(next_on_boot(i32::MAX), 3);
        assert_eq!(next_on_boot(i32::MAX - 1), i32::MAX);
    }

    #[test]
    fn boot_detection() {
        assert!(!is_new_boot(Some(b"a"), Some(b"a")));
        assert!(is_new_boot(Some(b"a"), Some(b"b")));
        assert!(is_new_boot(None, Some(b"b")));
        assert!(is_new_boot(Some(b"a"), None));
    }
}
