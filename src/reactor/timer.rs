//! Deadline heap. Cancelling removes the timer from the live set only; its
//! heap entry is skipped when it reaches the top.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// Timers keyed by a sequence number that is never reused, each carrying an
/// owner `O`. Timers fire in deadline order; equal deadlines in the order
/// they were set.
#[derive(Debug)]
pub(crate) struct TimerHeap<O> {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    live: HashMap<u64, O>,
    next_seq: u64,
}

impl<O> TimerHeap<O> {
    pub(crate) fn new() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
            live: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Adds a timer due at `at` and returns its sequence number.
    pub(crate) fn insert(&mut self, at: Instant, owner: O) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse((at, seq)));
        self.live.insert(seq, owner);
        seq
    }

    /// The owner of a live timer.
    pub(crate) fn owner(&self, seq: u64) -> Option<&O> {
        self.live.get(&seq)
    }

    /// Cancels a timer; false if it already fired or was cancelled.
    pub(crate) fn cancel(&mut self, seq: u64) -> bool {
        self.live.remove(&seq).is_some()
    }

    /// Cancels every timer whose owner matches `pred`.
    pub(crate) fn cancel_where(&mut self, mut pred: impl FnMut(&O) -> bool) {
        self.live.retain(|_, owner| !pred(owner));
    }

    /// The earliest live deadline (cancelled entries on top are dropped).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, seq))) = self.heap.peek() {
            if self.live.contains_key(&seq) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns every live timer due at or before `now`, in
    /// firing order. Timers set while the caller handles these wait for
    /// the next call, so a handler re-arming at `now` cannot loop forever.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<(u64, O)> {
        let mut due = Vec::new();
        while let Some(&Reverse((at, seq))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if let Some(owner) = self.live.remove(&seq) {
                due.push((seq, owner));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut timers = TimerHeap::new();
        timers.insert(t0 + Duration::from_secs(3), "c");
        timers.insert(t0 + Duration::from_secs(1), "a");
        timers.insert(t0 + Duration::from_secs(2), "b1");
        timers.insert(t0 + Duration::from_secs(2), "b2");
        timers.insert(t0 + Duration::from_secs(9), "late");
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(1)));
        let due: Vec<_> = timers
            .take_due(t0 + Duration::from_secs(3))
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        assert_eq!(due, ["a", "b1", "b2", "c"]);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(9)));
    }

    #[test]
    fn cancelled_timers_never_fire_and_do_not_set_the_deadline() {
        let t0 = Instant::now();
        let mut timers = TimerHeap::new();
        let early = timers.insert(t0, 1);
        timers.insert(t0 + Duration::from_secs(5), 2);
        assert_eq!(timers.owner(early), Some(&1));
        assert!(timers.cancel(early));
        assert!(!timers.cancel(early));
        assert_eq!(timers.owner(early), None);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_secs(5)));
        assert!(timers.take_due(t0 + Duration::from_secs(4)).is_empty());
        let due = timers.take_due(t0 + Duration::from_secs(5));
        assert_eq!(due.len(), 1);
        assert!(!timers.cancel(due[0].0), "a fired timer is no longer live");
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn cancel_where_drops_one_owners_timers() {
        let t0 = Instant::now();
        let mut timers = TimerHeap::new();
        timers.insert(t0, 'a');
        timers.insert(t0, 'b');
        timers.insert(t0, 'a');
        timers.cancel_where(|o| *o == 'a');
        let due: Vec<_> = timers.take_due(t0).into_iter().map(|(_, o)| o).collect();
        assert_eq!(due, ['b']);
    }
}
