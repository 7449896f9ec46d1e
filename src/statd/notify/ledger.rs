//! What the progress sidecar ([`super::progress`]) should say, kept beside
//! the notifier: what only the sidecar remembers (the hosts given up, the
//! last state each monitored host announced) and whether anything changed
//! since the last write. I/O-free: [`ProgressLedger::persist`] yields a
//! [`PersistProgress`] request, a value, which the daemon hands to its
//! store thread to write durably (`glue::store_worker`).
//!
//! Each request is the whole file, so a later one replaces every earlier
//! one: a writer may drop the requests still waiting behind a newer one,
//! but must never write an older one after a newer.

use super::notifier::HostStatus;
use super::progress::{self, HostProgress};
use std::collections::{HashMap, HashSet};

/// A request to replace the progress sidecar with `entries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistProgress {
    /// Every host's line, sorted by host.
    pub entries: Vec<HostProgress>,
}

impl PersistProgress {
    /// The file's bytes ([`progress::encode`]).
    pub fn encode(&self) -> Vec<u8> {
        progress::encode(&self.entries)
    }
}

/// Given-up hosts and last states, by lower-case host name.
#[derive(Debug, Default)]
pub struct ProgressLedger {
    /// Hosts given up: (name, since, rounds).
    given_up: HashMap<Vec<u8>, (Vec<u8>, u64, u32)>,
    /// Last state announced by monitored hosts: (name, state).
    last_states: HashMap<Vec<u8>, (Vec<u8>, i32)>,
    dirty: bool,
}

impl ProgressLedger {
    /// A ledger that remembers the last states of `known` (what the
    /// sidecar held at start, by lower-case name); it owes a first write.
    pub fn new(known: &HashMap<Vec<u8>, HostProgress>) -> ProgressLedger {
        ProgressLedger {
            given_up: HashMap::new(),
            last_states: known
                .iter()
                .filter_map(|(k, p)| p.last_state.map(|s| (k.clone(), (p.host.clone(), s))))
                .collect(),
            dirty: true,
        }
    }

    /// Monitored host `host` announced `state`; `true` if that is news.
    pub fn note_state(&mut self, host: &[u8], state: i32) -> bool {
        let key = host.to_ascii_lowercase();
        if self.last_states.get(&key).map(|(_, s)| *s) == Some(state) {
            return false;
        }
        self.last_states.insert(key, (host.to_vec(), state));
        self.dirty = true;
        true
    }

    /// `host` acknowledged: it is no longer given up.
    pub fn notified(&mut self, host: &[u8]) {
        self.given_up.remove(&host.to_ascii_lowercase());
    }

    /// The notifier gave `host` up after `rounds` rounds.
    pub fn gave_up(&mut self, host: &[u8], since_unix: u64, rounds: u32) {
        self.given_up.insert(
            host.to_ascii_lowercase(),
            (host.to_vec(), since_unix, rounds),
        );
        self.dirty = true;
    }

    /// An administrator cleared `host`; `true` if it was given up.
    pub fn forget(&mut self, host: &[u8]) -> bool {
        self.dirty = true;
        self.given_up.remove(&host.to_ascii_lowercase()).is_some()
    }

    /// Something the sidecar shows changed elsewhere (the notifier's status).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Whether a write is owed.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The sidecar as it stands: `pending` (the notifier's status), then
    /// the hosts given up, then hosts only a last state is known of. A host
    /// between rounds shows `now_unix` as its next try. No write is owed
    /// afterwards.
    pub fn persist(&mut self, pending: Vec<HostStatus>, now_unix: u64) -> PersistProgress {
        self.dirty = false;
        let mut entries: Vec<HostProgress> = Vec::new();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let last = |key: &[u8]| self.last_states.get(key).map(|(_, s)| *s);
        for st in pending {
            let key = st.host.to_ascii_lowercase();
            entries.push(HostProgress {
                last_state: last(&key),
                host: st.host,
                since_unix: st.since_unix,
                rounds: st.rounds,
                next_unix: Some(st.next_unix.unwrap_or(now_unix)),
            });
            seen.insert(key);
        }
        for (key, (host, since, rounds)) in &self.given_up {
            if seen.insert(key.clone()) {
                entries.push(HostProgress {
                    host: host.clone(),
                    since_unix: *since,
                    rounds: *rounds,
                    next_unix: None,
                    last_state: last(key),
                });
            }
        }
        for (key, (host, state)) in &self.last_states {
            if seen.insert(key.clone()) {
                entries.push(HostProgress {
                    host: host.clone(),
                    since_unix: 0,
                    rounds: 0,
                    next_unix: None,
                    last_state: Some(*state),
                });
            }
        }
        entries.sort_by(|a, b| a.host.cmp(&b.host));
        PersistProgress { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(host: &str, rounds: u32, next: Option<u64>) -> HostStatus {
        HostStatus {
            host: host.into(),
            since_unix: 100,
            rounds,
            next_unix: next,
        }
    }

    #[test]
    fn a_request_holds_pending_given_up_and_last_states_sorted() {
        let known: HashMap<Vec<u8>, HostProgress> = [(
            b"hostd".to_vec(),
            HostProgress {
                host: b"HostD".to_vec(),
                since_unix: 0,
                rounds: 0,
                next_unix: None,
                last_state: Some(5),
            },
        )]
        .into();
        let mut ledger = ProgressLedger::new(&known);
        assert!(ledger.is_dirty(), "a first write is owed");
        assert!(ledger.note_state(b"HOSTB", 3));
        assert!(!ledger.note_state(b"hostb", 3), "no news");
        ledger.gave_up(b"hostc", 50, 44);
        ledger.gave_up(b"hoste", 60, 2);
        ledger.notified(b"HOSTE");
        let req = ledger.persist(
            vec![status("hosta", 2, Some(130)), status("hostb", 1, None)],
            120,
        );
        assert!(!ledger.is_dirty());
        let line = |host: &str, since, rounds, next, state| HostProgress {
            host: host.into(),
            since_unix: since,
            rounds,
            next_unix: next,
            last_state: state,
        };
        assert_eq!(
            req.entries,
            [
                line("HostD", 0, 0, None, Some(5)),
                line("hosta", 100, 2, Some(130), None),
                line("hostb", 100, 1, Some(120), Some(3)),
                line("hostc", 50, 44, None, None),
            ]
        );
        assert_eq!(req.encode(), progress::encode(&req.entries));
        assert!(ledger.forget(b"HOSTC"));
        assert!(ledger.is_dirty());
        assert!(!ledger.forget(b"hostc"));
        let names: Vec<Vec<u8>> = ledger
            .persist(Vec::new(), 120)
            .entries
            .into_iter()
            .map(|e| e.host)
            .collect();
        assert_eq!(names, [b"HOSTB".to_vec(), b"HostD".to_vec()]);
    }
}
