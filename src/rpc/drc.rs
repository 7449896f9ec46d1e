//! Duplicate-request cache for UDP calls.
//!
//! A UDP client that does not hear a reply in time sends the same call again
//! (same xid). Answering it from the cache keeps non-idempotent procedures
//! (SM_MON, SM_UNMON) from running twice, and a retransmit of a call that is
//! still in progress is simply dropped: its reply is on the way.
//!
//! Bounds: at most `capacity` entries (the oldest is evicted), each living for
//! `lifetime` after it was stored. Lookups and inserts are O(1) (amortised:
//! the age queue is compacted once it holds twice `capacity` records).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Identifies one call: who sent it, its xid and header, and a hash of its
/// argument bytes (an xid reused for a different call is a different key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrcKey {
    /// The caller's address and port.
    pub addr: SocketAddr,
    /// Transaction id.
    pub xid: u32,
    /// Program number.
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// Keyed hash of the argument bytes.
    pub args_hash: u64,
}

/// What the cache knows about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Never seen, or forgotten: run it.
    Miss,
    /// Running (deferred): drop the retransmit.
    InProgress,
    /// Done: resend this reply.
    Done(&'a [u8]),
}

#[derive(Debug)]
struct Entry {
    /// Matches the age-queue record that is this entry's current one.
    seq: u64,
    /// `None` while in progress.
    reply: Option<Vec<u8>>,
}

/// The cache. Time only enters through the `now` arguments.
#[derive(Debug)]
pub struct DuplicateCache {
    capacity: usize,
    lifetime: Duration,
    entries: HashMap<DrcKey, Entry>,
    /// (stored at, seq, key), oldest first; records whose seq no longer
    /// matches their entry are stale and skipped.
    ages: VecDeque<(Instant, u64, DrcKey)>,
    next_seq: u64,
}

impl DuplicateCache {
    /// A cache of at most `capacity` entries (0 disables it) that each live
    /// for `lifetime`.
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        DuplicateCache {
            capacity,
            lifetime,
            entries: HashMap::new(),
            ages: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Number of live entries (expired ones may still count until the next
    /// call that takes `now`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Looks a call up, after dropping entries older than the lifetime.
    pub fn lookup(&mut self, now: Instant, key: &DrcKey) -> Lookup<'_> {
        self.expire(now);
        match self.entries.get(key) {
            None => Lookup::Miss,
            Some(Entry { reply: None, .. }) => Lookup::InProgress,
            Some(Entry {
                reply: Some(reply), ..
            }) => Lookup::Done(reply),
        }
    }

    /// Marks a call as running (its reply comes later through [`Self::finish`]).
    pub fn begin(&mut self, now: Instant, key: DrcKey) {
        self.store(now, key, None);
    }

    /// Stores the reply to a call, replacing any in-progress mark; its
    /// lifetime starts now.
    pub fn finish(&mut self, now: Instant, key: DrcKey, reply: Vec<u8>) {
        self.store(now, key, Some(reply));
    }

    /// Drops what is known about a call, so a retransmit runs it afresh.
    pub fn forget(&mut self, key: &DrcKey) {
        self.entries.remove(key);
    }

    fn store(&mut self, now: Instant, key: DrcKey, reply: Option<Vec<u8>>) {
        if self.capacity == 0 {
            return;
        }
        self.expire(now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(key, Entry { seq, reply });
        self.ages.push_back((now, seq, key));
        while self.entries.len() > self.capacity {
            self.pop_oldest();
        }
        if self.ages.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.ages
                .retain(|(_, seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((stored, _, _)) = self.ages.front() {
            if now.saturating_duration_since(*stored) < self.lifetime {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Removes the front age record and, if it is current, its entry.
    fn pop_oldest(&mut self) {
        if let Some((_, seq, key)) = self.ages.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(xid: u32) -> DrcKey {
        DrcKey {
            addr: "127.0.0.1:800".parse().unwrap(),
            xid,
            prog: 100_024,
            vers: 1,
            proc: 2,
            args_hash: 42,
        }
    }

    #[test]
    fn miss_in_progress_done() {
        let t0 = Instant::now();
        let mut c = DuplicateCache::new(8, Duration::from_secs(120));
        assert_eq!(c.lookup(t0, &key(1)), Lookup::Miss);
        c.begin(t0, key(1));
        assert_eq!(c.lookup(t0, &key(1)), Lookup::InProgress);
        c.finish(t0, key(1), vec![1, 2]);
        assert_eq!(c.lookup(t0, &key(1)), Lookup::Done(&[1, 2]));
        let other_args = DrcKey {
            args_hash: 43,
            ..key(1)
        };
        assert_eq!(c.lookup(t0, &other_args), Lookup::Miss);
        c.forget(&key(1));
        assert_eq!(c.lookup(t0, &key(1)), Lookup::Miss);
    }

    #[test]
    fn entries_expire_after_lifetime() {
        let t0 = Instant::now();
        let life = Duration::from_secs(120);
        let mut c = DuplicateCache::new(8, life);
        c.finish(t0, key(1), vec![1]);
        c.finish(t0 + Duration::from_secs(60), key(2), vec![2]);
        let almost = t0 + life - Duration::from_millis(1);
        assert_eq!(c.lookup(almost, &key(1)), Lookup::Done(&[1]));
        assert_eq!(c.lookup(t0 + life, &key(1)), Lookup::Miss);
        assert_eq!(c.lookup(t0 + life, &key(2)), Lookup::Done(&[2]));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn finish_restarts_the_lifetime() {
        let t0 = Instant::now();
        let life = Duration::from_secs(10);
        let mut c = DuplicateCache::new(8, life);
        c.begin(t0, key(1));
        c.finish(t0 + Duration::from_secs(5), key(1), vec![1]);
        assert_eq!(
            c.lookup(t0 + Duration::from_secs(12), &key(1)),
            Lookup::Done(&[1])
        );
        assert_eq!(
            c.lookup(t0 + Duration::from_secs(15), &key(1)),
            Lookup::Miss
        );
    }

    #[test]
    fn capacity_evicts_oldest() {
        let t0 = Instant::now();
        let mut c = DuplicateCache::new(3, Duration::from_secs(120));
        for xid in 0..5 {
            c.finish(t0, key(xid), vec![xid as u8]);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.lookup(t0, &key(1)), Lookup::Miss);
        assert_eq!(c.lookup(t0, &key(2)), Lookup::Done(&[2]));
        assert_eq!(c.lookup(t0, &key(4)), Lookup::Done(&[4]));
    }

    #[test]
    fn age_queue_stays_bounded_under_begin_forget_churn() {
        let t0 = Instant::now();
        let mut c = DuplicateCache::new(4, Duration::from_secs(120));
        for xid in 0..10_000 {
            c.begin(t0, key(xid));
            c.forget(&key(xid));
        }
        assert!(c.is_empty());
        assert!(c.ages.len() <= 8);
    }

    #[test]
    fn zero_capacity_disables() {
        let t0 = Instant::now();
        let mut c = DuplicateCache::new(0, Duration::from_secs(120));
        c.finish(t0, key(1), vec![1]);
        assert_eq!(c.lookup(t0, &key(1)), Lookup::Miss);
    }
}
