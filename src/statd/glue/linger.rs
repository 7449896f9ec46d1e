//! Group commit across the store thread's turns: how long a turn waits
//! for more changes before it commits.
//!
//! Callers that keep a steady number of calls in flight (a lock manager
//! monitoring many hosts, a client that sends its next SM_MON when the last
//! is answered) get their answers only when a turn ends, and their next
//! changes come back one by one while the thread is idle. A thread that
//! starts a commit at the first of them commits half the callers' changes,
//! and the next turn the other half: two of the disk's fixed costs where
//! one would do. [`Linger`] remembers how many changes the callers had in
//! flight and, when the work comes back within one turn's time, waits a
//! little for the rest: for the first of them at most half a turn's time
//! (and never more than [`MAX_WAIT`]), after that at most an eighth of a
//! turn's time between two of them. A lone caller (one change in flight)
//! or work after a pause longer than a turn never waits.
//!
//! Pure: time comes in as arguments.

use std::time::{Duration, Instant};

/// Most a turn waits for more changes, however long commits take.
pub const MAX_WAIT: Duration = Duration::from_millis(2);

/// What the last turn says about the callers (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Linger {
    /// The changes the last turn committed plus those that arrived while
    /// it ran: what the callers had in flight.
    expect: usize,
    /// How long the last turn's work took.
    took: Duration,
    /// When the last turn ended; `None` before the first.
    ended: Option<Instant>,
}

impl Linger {
    /// Until when a turn whose first work came at `now`, with `waiting`
    /// changes at hand, waits for more; `None` to start at once. It waits
    /// only when fewer changes are at hand than the callers had in flight
    /// and the work came back within the last turn's time of its end.
    pub fn deadline(&self, now: Instant, waiting: usize) -> Option<Instant> {
        let ended = self.ended?;
        let wait = (self.took / 2).min(MAX_WAIT);
        if wait.is_zero()
            || self.enough(waiting)
            || now.saturating_duration_since(ended) > self.took
        {
            return None;
        }
        Some(now + wait)
    }

    /// Whether `waiting` changes are all the callers had in flight.
    pub fn enough(&self, waiting: usize) -> bool {
        waiting >= self.expect
    }

    /// The longest pause between two changes coming back before the turn
    /// stops waiting: the callers have sent what they will.
    pub fn gap(&self) -> Duration {
        self.took / 8
    }

    /// Records a turn that worked from `started` to `now`, committed
    /// `committed` changes, while `arrived` more came in.
    pub fn turn_ended(&mut self, started: Instant, now: Instant, committed: usize, arrived: usize) {
        self.expect = committed.saturating_add(arrived);
        self.took = now.saturating_duration_since(started);
        self.ended = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    /// A linger after a turn of `committed` changes that took 800 µs and
    /// saw `arrived` more come in; returns it and the turn's end.
    fn after_turn(committed: usize, arrived: usize) -> (Linger, Instant) {
        let t = Instant::now();
        let mut l = Linger::default();
        l.turn_ended(t, t + 800 * US, committed, arrived);
        (l, t + 800 * US)
    }

    #[test]
    fn nothing_waits_before_the_first_turn() {
        assert_eq!(Linger::default().deadline(Instant::now(), 1), None);
    }

    #[test]
    fn a_lone_caller_never_waits() {
        let (l, end) = after_turn(1, 0);
        assert_eq!(l.deadline(end + 50 * US, 1), None);
    }

    #[test]
    fn callers_answering_their_replies_are_waited_for_half_a_turn() {
        let (l, end) = after_turn(16, 0);
        let first = end + 60 * US;
        assert_eq!(l.deadline(first, 1), Some(first + 400 * US));
        assert!(!l.enough(15));
        assert!(l.enough(16));
        assert_eq!(l.gap(), 100 * US);
    }

    #[test]
    fn changes_that_came_during_a_turn_were_in_flight_too() {
        // Half were committed, half waited: all sixteen are awaited next.
        let (l, end) = after_turn(8, 8);
        assert!(l.deadline(end, 8).is_some());
        assert!(l.enough(16));
        assert_eq!(l.deadline(end, 16), None);
    }

    #[test]
    fn work_after_a_pause_longer_than_a_turn_starts_at_once() {
        let (l, end) = after_turn(16, 0);
        assert!(l.deadline(end + 800 * US, 1).is_some());
        assert_eq!(l.deadline(end + 801 * US, 1), None);
    }

    #[test]
    fn a_slow_disk_waits_at_most_max_wait() {
        let t = Instant::now();
        let mut l = Linger::default();
        l.turn_ended(t, t + Duration::from_millis(30), 16, 0);
        let first = t + Duration::from_millis(31);
        assert_eq!(l.deadline(first, 1), Some(first + MAX_WAIT));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_panic() {
        let t = Instant::now() + Duration::from_secs(1);
        let mut l = Linger::default();
        l.turn_ended(t, t - 10 * US, 4, 0);
        assert_eq!(l.gap(), Duration::ZERO);
        assert_eq!(l.deadline(t - Duration::from_secs(1), 1), None);
    }
}
