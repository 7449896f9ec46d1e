//! The engine's side effects: the action queue, the id counter and the
//! table of outstanding probes and re-adds.
//!
//! Invariants: ids come from one counter and never repeat; every id in the
//! table names a member whose phase holds that id (the engine releases an
//! id whenever it moves a member out of the phase, or drops the member),
//! so the table never outgrows the members.
//!
//! # Panic contract
//! Nothing here panics (the counter is 64 bits; it saturates rather than
//! wrap, which would take centuries of probes).

use super::event::{Action, Event, EventKind, ProbeId, ReaddId};
use std::collections::{HashMap, VecDeque};

/// An array name and a member name.
pub(super) type Key = (String, String);

#[derive(Debug, Default)]
pub(super) struct Outbox {
    queue: VecDeque<Action>,
    next_id: u64,
    in_flight: HashMap<u64, Key>,
}

impl Outbox {
    /// Queues an event.
    pub(super) fn event(
        &mut self,
        kind: EventKind,
        array: &str,
        member: Option<&str>,
        detail: Option<String>,
    ) {
        self.queue.push_back(Action::Event(Event {
            kind,
            array: array.to_string(),
            member: member.map(str::to_string),
            detail,
        }));
    }

    fn id(&mut self, key: Key) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.in_flight.insert(id, key);
        id
    }

    /// Queues a probe of `member` in `array`.
    pub(super) fn probe(&mut self, array: &str, member: &str) -> ProbeId {
        let id = ProbeId(self.id((array.to_string(), member.to_string())));
        self.queue.push_back(Action::Probe {
            id,
            array: array.to_string(),
            member: member.to_string(),
        });
        id
    }

    /// Queues a re-add of `member` to `array` (of `level`).
    pub(super) fn readd(&mut self, array: &str, member: &str, level: &str) -> ReaddId {
        let id = ReaddId(self.id((array.to_string(), member.to_string())));
        self.queue.push_back(Action::Readd {
            id,
            array: array.to_string(),
            member: member.to_string(),
            level: level.to_string(),
        });
        id
    }

    /// Whose outstanding id `id` is.
    pub(super) fn owner(&self, id: u64) -> Option<&Key> {
        self.in_flight.get(&id)
    }

    /// Forgets an outstanding id (its result will be stale).
    pub(super) fn release(&mut self, id: Option<u64>) {
        if let Some(id) = id {
            self.in_flight.remove(&id);
        }
    }

    /// The next action.
    pub(super) fn pop(&mut self) -> Option<Action> {
        self.queue.pop_front()
    }

    /// Outstanding probes and re-adds.
    pub(super) fn outstanding(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_never_repeat_and_are_released() {
        let mut o = Outbox::default();
        let p = o.probe("md0", "sdb");
        let r = o.readd("md0", "sdc", "multipath");
        assert_ne!(p.0, r.0);
        assert_eq!(o.outstanding(), 2);
        assert_eq!(
            o.pop(),
            Some(Action::Probe {
                id: p,
                array: "md0".into(),
                member: "sdb".into()
            })
        );
        assert!(matches!(o.pop(), Some(Action::Readd { id, .. }) if id == r));
        assert_eq!(o.owner(p.0), Some(&("md0".into(), "sdb".into())));
        o.release(Some(p.0));
        assert_eq!(o.owner(p.0), None);
        o.release(Some(r.0));
        o.release(None);
        assert_eq!(o.owner(r.0), None);
        assert_eq!(o.outstanding(), 0);
        let again = o.probe("md0", "sdb");
        assert!(again.0 > r.0);
    }

    #[test]
    fn events_queue_in_order() {
        let mut o = Outbox::default();
        o.event(EventKind::Fail, "md0", Some("sdb"), None);
        o.event(EventKind::NewArray, "md1", None, None);
        let kinds: Vec<EventKind> = std::iter::from_fn(|| o.pop())
            .map(|a| match a {
                Action::Event(e) => e.kind,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, [EventKind::Fail, EventKind::NewArray]);
    }
}
