//! The monitor list as the request path sees it: every registration in
//! force, indexed so that SM_NOTIFY matching costs the same with ten hosts
//! or a hundred thousand, and never waits for DNS.
//!
//! Invariants:
//! - `hosts` is keyed by the ASCII-lower-cased mon_name; a host with no
//!   registrations is not kept.
//! - `by_addr` and `by_short` hold exactly the keys of `hosts` whose
//!   addresses / unqualified names they list (updated on every insert and
//!   removal).
//! - Registrations change only through [`Monitors::apply`] with a change the
//!   store has already made durable, using the same identity rules
//!   ([`record::monitor_into`]), so this list and the store agree.

use crate::statd::record::{self, Change, HostEntry, Registration};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// One monitored host.
#[derive(Debug, Default)]
struct Host {
    regs: Vec<Registration>,
    /// Known addresses: the literal itself, or what the resolver found.
    addrs: Vec<IpAddr>,
}

/// The identity of a registration for duplicate-state suppression.
type RegKey = (Vec<u8>, Vec<u8>, u32, u32);

fn reg_key(reg: &Registration) -> RegKey {
    (
        reg.mon_name.to_ascii_lowercase(),
        reg.my_name.to_ascii_lowercase(),
        reg.my_prog,
        reg.my_proc,
    )
}

/// The registrations in force, with lookup by name, short name and address.
#[derive(Debug, Default)]
pub struct Monitors {
    hosts: HashMap<Vec<u8>, Host>,
    by_addr: HashMap<IpAddr, BTreeSet<Vec<u8>>>,
    by_short: HashMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    /// The state last forwarded to the lock manager, per registration.
    forwarded: HashMap<RegKey, i32>,
}

/// The address a mon_name spells, if it is an address literal (IPv4,
/// IPv6, or v4-mapped IPv6, which counts as the IPv4 address).
pub fn literal_addr(name: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(name).ok()?;
    let addr: IpAddr = text.parse().ok()?;
    Some(addr.to_canonical())
}

/// The unqualified form of a host name (text before the first dot), for
/// names that have one and are not address literals.
fn short_name(key: &[u8]) -> Option<&[u8]> {
    if literal_addr(key).is_some() {
        return None;
    }
    let dot = key.iter().position(|&b| b == b'.')?;
    (dot > 0).then(|| &key[..dot])
}

impl Monitors {
    /// The list as loaded from the store: every registration still in
    /// force (hosts that only wait for notification are not monitored).
    pub fn from_hosts(hosts: &[HostEntry]) -> Monitors {
        let mut m = Monitors::default();
        for reg in hosts.iter().flat_map(|h| &h.registrations) {
            m.apply(&Change::Monitor(reg.clone()));
        }
        m
    }

    /// Number of monitored hosts.
    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Number of registrations.
    pub fn registration_count(&self) -> usize {
        self.hosts.values().map(|h| h.regs.len()).sum()
    }

    /// Whether `reg` is in force exactly as given (same identity, version and
    /// cookie): an SM_MON for it changes nothing.
    pub fn contains_exactly(&self, reg: &Registration) -> bool {
        self.hosts
            .get(&reg.mon_name.to_ascii_lowercase())
            .is_some_and(|h| {
                h.regs.iter().any(|r| {
                    r.same_identity(reg) && r.my_vers == reg.my_vers && r.cookie == reg.cookie
                })
            })
    }

    /// Applies a change the store made durable; returns the registrations
    /// it removed (for the HA callout's `del-client`).
    pub fn apply(&mut self, change: &Change) -> Vec<Registration> {
        match change {
            Change::Monitor(reg) => {
                let key = reg.mon_name.to_ascii_lowercase();
                let fresh = !self.hosts.contains_key(&key);
                let host = self.hosts.entry(key.clone()).or_default();
                record::monitor_into(&mut host.regs, reg);
                if fresh {
                    if let Some(addr) = literal_addr(&key) {
                        host.addrs.push(addr);
                    }
                    self.index(&key);
                }
                Vec::new()
            }
            Change::Unmonitor(k) => {
                let key = k.mon_name.to_ascii_lowercase();
                self.remove_from(&[key], |r| k.matches(r))
            }
            Change::UnmonitorAll(k) => {
                let keys: Vec<Vec<u8>> = self.hosts.keys().cloned().collect();
                self.remove_from(&keys, |r| k.matches(r))
            }
            Change::NotifyDone { .. } | Change::SetState(_) | Change::SetBootId(_) => Vec::new(),
        }
    }

    /// Whether applying `change` would remove a registration.
    pub fn would_remove(&self, change: &Change) -> bool {
        match change {
            Change::Unmonitor(k) => self
                .hosts
                .get(&k.mon_name.to_ascii_lowercase())
                .is_some_and(|h| h.regs.iter().any(|r| k.matches(r))),
            Change::UnmonitorAll(k) => self
                .hosts
                .values()
                .any(|h| h.regs.iter().any(|r| k.matches(r))),
            _ => false,
        }
    }

    /// Forgets every registration (the host rebooted: the lock manager
    /// registers again).
    pub fn clear(&mut self) {
        *self = Monitors::default();
    }

    fn remove_from(
        &mut self,
        keys: &[Vec<u8>],
        pred: impl Fn(&Registration) -> bool,
    ) -> Vec<Registration> {
        let mut removed = Vec::new();
        for key in keys {
            let Some(host) = self.hosts.get_mut(key) else {
                continue;
            };
            host.regs.retain(|r| {
                if pred(r) {
                    removed.push(r.clone());
                    false
                } else {
                    true
                }
            });
            if host.regs.is_empty() {
                self.unindex(key);
                self.hosts.remove(key);
            }
        }
        for r in &removed {
            self.forwarded.remove(&reg_key(r));
        }
        removed
    }

    fn index(&mut self, key: &[u8]) {
        if let Some(host) = self.hosts.get(key) {
            for addr in &host.addrs {
                self.by_addr.entry(*addr).or_default().insert(key.to_vec());
            }
        }
        if let Some(short) = short_name(key) {
            self.by_short
                .entry(short.to_vec())
                .or_default()
                .insert(key.to_vec());
        }
    }

    fn unindex(&mut self, key: &[u8]) {
        if let Some(host) = self.hosts.get(key) {
            for addr in &host.addrs {
                if let Some(set) = self.by_addr.get_mut(addr) {
                    set.remove(key);
                    if set.is_empty() {
                        self.by_addr.remove(addr);
                    }
                }
            }
        }
        if let Some(short) = short_name(key) {
            if let Some(set) = self.by_short.get_mut(short) {
                set.remove(key);
                if set.is_empty() {
                    self.by_short.remove(short);
                }
            }
        }
    }

    /// Host names (lower-cased keys) that are not address literals and
    /// have no known address yet: what the resolver should look up.
    pub fn unresolved(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self
            .hosts
            .iter()
            .filter(|(_, h)| h.addrs.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        out.sort();
        out
    }

    /// Whether `key` is monitored and still has no known address.
    pub fn needs_addresses(&self, key: &[u8]) -> bool {
        self.hosts.get(key).is_some_and(|h| h.addrs.is_empty())
    }

    /// Records the addresses the resolver found for host `key` (ignored if
    /// the host is gone meanwhile).
    pub fn set_addrs(&mut self, key: &[u8], addrs: &[IpAddr]) {
        if !self.hosts.contains_key(key) {
            return;
        }
        self.unindex(key);
        if let Some(host) = self.hosts.get_mut(key) {
            host.addrs = addrs.iter().map(|a| a.to_canonical()).collect();
            host.addrs.sort();
            host.addrs.dedup();
        }
        self.index(key);
    }

    /// The hosts an SM_NOTIFY from `caller` naming `mon_name` is about:
    /// the same name (ASCII case-insensitive), a name that is the other's
    /// unqualified form, a host with the address `mon_name` spells, and a
    /// host with the caller's address. Sorted, each once. No DNS.
    pub fn matching(&self, mon_name: &[u8], caller: Option<IpAddr>) -> Vec<Vec<u8>> {
        let name = mon_name.to_ascii_lowercase();
        let mut found = BTreeSet::new();
        if self.hosts.contains_key(&name) {
            found.insert(name.clone());
        }
        match short_name(&name) {
            // "hostb.lab" also matches a host monitored as "hostb".
            Some(short) if self.hosts.contains_key(short) => {
                found.insert(short.to_vec());
            }
            Some(_) => {}
            // "hostb" also matches hosts monitored as "hostb.<domain>".
            None => {
                if let Some(keys) = self.by_short.get(&name) {
                    found.extend(keys.iter().cloned());
                }
            }
        }
        for addr in literal_addr(&name).into_iter().chain(caller) {
            if let Some(keys) = self.by_addr.get(&addr.to_canonical()) {
                found.extend(keys.iter().cloned());
            }
        }
        found.into_iter().collect()
    }

    /// For each registration of the hosts `keys` whose last forwarded state
    /// is not `state`: records `state` as forwarded and returns it.
    pub fn take_callbacks(&mut self, keys: &[Vec<u8>], state: i32) -> Vec<Registration> {
        let mut out = Vec::new();
        for key in keys {
            let Some(host) = self.hosts.get(key) else {
                continue;
            };
            for reg in &host.regs {
                let k = reg_key(reg);
                if self.forwarded.get(&k) != Some(&state) {
                    self.forwarded.insert(k, state);
                    out.push(reg.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statd::record::{CallerKey, UnmonitorKey};

    fn reg(mon: &str, my: &str, cookie: u8) -> Registration {
        Registration {
            mon_name: mon.into(),
            my_name: my.into(),
            my_prog: 100_021,
            my_vers: 4,
            my_proc: 16,
            cookie: [cookie; 16],
        }
    }

    fn names(v: Vec<Vec<u8>>) -> Vec<String> {
        v.into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect()
    }

    fn with(regs: &[Registration]) -> Monitors {
        let mut m = Monitors::default();
        for r in regs {
            m.apply(&Change::Monitor(r.clone()));
        }
        m
    }

    #[test]
    fn names_match_case_insensitively_and_by_short_form() {
        let m = with(&[
            reg("HostB.lab", "me", 1),
            reg("hostc", "me", 2),
            reg("hostb.other", "me", 3),
        ]);
        assert_eq!(names(m.matching(b"hostb.LAB", None)), ["hostb.lab"]);
        assert_eq!(
            names(m.matching(b"HOSTB", None)),
            ["hostb.lab", "hostb.other"]
        );
        assert_eq!(names(m.matching(b"hostc.lab", None)), ["hostc"]);
        assert!(m.matching(b"hostd", None).is_empty());
    }

    #[test]
    fn literals_and_callers_match_by_address() {
        let mut m = with(&[reg("127.0.0.20", "me", 1), reg("peer", "me", 2)]);
        let caller: IpAddr = "127.0.0.30".parse().unwrap();
        assert!(m.matching(b"whoever", Some(caller)).is_empty());
        assert_eq!(m.unresolved(), vec![b"peer".to_vec()]);
        m.set_addrs(b"peer", &[caller, "::ffff:127.0.0.31".parse().unwrap()]);
        assert!(m.unresolved().is_empty());
        assert_eq!(names(m.matching(b"whoever", Some(caller))), ["peer"]);
        assert_eq!(names(m.matching(b"127.0.0.31", None)), ["peer"]);
        assert_eq!(
            names(m.matching(b"::ffff:127.0.0.20", None)),
            ["127.0.0.20"]
        );
        // An address literal is never shortened at its dots.
        assert!(m.matching(b"127", None).is_empty());
    }

    #[test]
    fn each_state_is_forwarded_once_per_registration() {
        let mut m = with(&[reg("peer", "a", 1), reg("peer", "b", 2)]);
        let keys = m.matching(b"peer", None);
        assert_eq!(m.take_callbacks(&keys, 7).len(), 2);
        assert!(m.take_callbacks(&keys, 7).is_empty());
        assert_eq!(m.take_callbacks(&keys, 5).len(), 2);
        // State 0 is a state like any other (the reference drops it).
        assert_eq!(m.take_callbacks(&keys, 0).len(), 2);
    }

    #[test]
    fn unmonitor_removes_and_unindexes() {
        let mut m = with(&[reg("127.0.0.20", "a", 1), reg("127.0.0.20", "b", 2)]);
        let gone = m.apply(&Change::Unmonitor(UnmonitorKey {
            mon_name: b"127.0.0.20".to_vec(),
            my_name: b"a".to_vec(),
            my_prog: 100_021,
            my_vers: Some(4),
            my_proc: 16,
        }));
        assert_eq!(gone.len(), 1);
        assert_eq!(m.registration_count(), 1);
        let gone = m.apply(&Change::UnmonitorAll(CallerKey {
            my_name: b"B".to_vec(),
            my_prog: 100_021,
            my_vers: Some(4),
            my_proc: 16,
        }));
        assert_eq!(gone.len(), 1);
        assert_eq!(m.host_count(), 0);
        assert!(m.matching(b"127.0.0.20", None).is_empty());
    }

    #[test]
    fn repeats_and_new_cookies_follow_the_store_rules() {
        let mut m = with(&[reg("peer", "a", 1)]);
        assert!(m.contains_exactly(&reg("PEER", "a", 1)));
        assert!(!m.contains_exactly(&reg("peer", "a", 2)));
        m.apply(&Change::Monitor(reg("peer", "a", 2)));
        assert_eq!(m.registration_count(), 1);
        assert!(m.contains_exactly(&reg("peer", "a", 2)));
    }
}
