//! The registration table shared by PMAP v2 and RPCB v3/v4, kept as rpcbind
//! keeps it.
//!
//! One list of (program, version, netid, universal address, owner) in
//! registration order. The PMAP v2 view (`mapping`s) is derived from the
//! entries whose netid is exactly `udp` or `tcp` and whose address ends in a
//! port, so a service registered through any version is visible to all.
//!
//! Rules (rpcbind's `map_set`, `map_unset`, `find_service`,
//! `find_service_pmap`):
//! - SET of a (prog, vers, netid) already present succeeds only if the address
//!   is the same (a repeat), else it fails. rpcbind first probes whether the
//!   old server is still bound; we cannot (no I/O) and always fail.
//! - UNSET removes every matching entry; an empty netid matches all netids.
//!   An owner other than [`OWNER_SUPERUSER`] may only remove its own entries:
//!   at the first foreign one the UNSET stops and fails (entries removed before
//!   it stay removed, as in rpcbind). Otherwise UNSET succeeds, also when
//!   nothing matched.
//! - Lookups prefer the exact version; failing that they return the last
//!   entry with the same program and netid, so the client learns the port and
//!   gets PROG_MISMATCH from the service itself.
//! - Netids compare case-insensitively (`strcasecmp`), except that the PMAP
//!   view takes only the exact `udp` and `tcp`.
//!
//! Size: at most [`TABLE_MAX`] entries; a SET beyond that fails.

use crate::proto::pmap::{Mapping, IPPROTO_TCP, IPPROTO_UDP};
use crate::proto::rpcb::{NetidStr, OwnerStr, UaddrStr};
use crate::xdr::Bounded;

/// The owner of registrations made by root (from a reserved loopback port).
pub const OWNER_SUPERUSER: &str = "superuser";
/// The owner of registrations whose origin rpcbind cannot tell.
pub const OWNER_UNKNOWN: &str = "unknown";
/// Most entries the table holds.
pub const TABLE_MAX: usize = 1024;

/// One registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Network id as registered (bytes kept verbatim).
    pub netid: NetidStr,
    /// Universal address as registered.
    pub uaddr: UaddrStr,
    /// Who registered it.
    pub owner: OwnerStr,
}

/// The registrations, in registration order.
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<Entry>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// All entries, oldest first (the DUMP order).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// RPCB SET: registers `uaddr` for (prog, vers, netid) on behalf of
    /// `owner`. True if registered now or already with the same address.
    pub fn set(&mut self, prog: u32, vers: u32, netid: &[u8], uaddr: &[u8], owner: &str) -> bool {
        if let Some(e) = self.find(prog, vers, netid) {
            if e.vers == vers {
                return e.uaddr.as_bytes() == uaddr;
            }
        }
        if self.entries.len() >= TABLE_MAX {
            return false;
        }
        let (Ok(netid), Ok(uaddr), Ok(owner)) = (
            Bounded::new(netid),
            Bounded::new(uaddr),
            Bounded::new(owner),
        ) else {
            return false;
        };
        self.entries.push(Entry {
            prog,
            vers,
            netid,
            uaddr,
            owner,
        });
        true
    }

    /// RPCB UNSET: removes (prog, vers, netid), every netid if `netid` is
    /// empty. False only if `owner` met an entry it does not own.
    pub fn unset(&mut self, prog: u32, vers: u32, netid: &[u8], owner: &str) -> bool {
        let mut i = 0;
        while i < self.entries.len() {
            let e = &self.entries[i];
            let hit = e.prog == prog
                && e.vers == vers
                && (netid.is_empty() || e.netid.as_bytes().eq_ignore_ascii_case(netid));
            if !hit {
                i += 1;
                continue;
            }
            if owner != OWNER_SUPERUSER && e.owner.as_bytes() != owner.as_bytes() {
                return false;
            }
            self.entries.remove(i);
        }
        true
    }

    /// The entry serving (prog, netid), with version `vers` if there is one,
    /// else the last one registered with another version.
    pub fn find(&self, prog: u32, vers: u32, netid: &[u8]) -> Option<&Entry> {
        let mut hit = None;
        for e in &self.entries {
            if e.prog != prog || !e.netid.as_bytes().eq_ignore_ascii_case(netid) {
                continue;
            }
            hit = Some(e);
            if e.vers == vers {
                break;
            }
        }
        hit
    }

    /// PMAP SET: registers `m.port` on the wildcard IPv4 address under netid
    /// `udp` or `tcp`. False for any other protocol.
    pub fn pmap_set(&mut self, m: &Mapping, owner: &str) -> bool {
        let Some(netid) = pmap_netid(m.prot) else {
            return false;
        };
        let uaddr = format!("0.0.0.0.{}.{}", (m.port >> 8) & 0xff, m.port & 0xff);
        self.set(m.prog, m.vers, netid.as_bytes(), uaddr.as_bytes(), owner)
    }

    /// PMAP UNSET: removes (prog, vers) on `tcp`, then on `udp`; true if
    /// either succeeded.
    pub fn pmap_unset(&mut self, prog: u32, vers: u32, owner: &str) -> bool {
        let tcp = self.unset(prog, vers, b"tcp", owner);
        let udp = self.unset(prog, vers, b"udp", owner);
        tcp || udp
    }

    /// PMAP GETPORT: the port of (prog, vers, prot), falling back to another
    /// version of `prog` like [`Table::find`]; 0 if there is none.
    pub fn pmap_getport(&self, prog: u32, vers: u32, prot: u32) -> u32 {
        let mut hit = None;
        for m in self.pmap_view() {
            if m.prog != prog || m.prot != prot {
                continue;
            }
            hit = Some(m.port);
            if m.vers == vers {
                break;
            }
        }
        hit.unwrap_or(0)
    }

    /// PMAP DUMP: every `udp`/`tcp` entry as a mapping, in table order.
    pub fn pmap_dump(&self) -> Vec<Mapping> {
        self.pmap_view().collect()
    }

    fn pmap_view(&self) -> impl Iterator<Item = Mapping> + '_ {
        self.entries.iter().filter_map(|e| {
            let prot = match e.netid.as_bytes() {
                b"udp" => IPPROTO_UDP,
                b"tcp" => IPPROTO_TCP,
                _ => return None,
            };
            Some(Mapping {
                prog: e.prog,
                vers: e.vers,
                prot,
                port: u32::from(uaddr_port(e.uaddr.as_bytes())?),
            })
        })
    }
}

/// The netid PMAP v2 uses for an IP protocol number.
fn pmap_netid(prot: u32) -> Option<&'static str> {
    match prot {
        IPPROTO_UDP => Some("udp"),
        IPPROTO_TCP => Some("tcp"),
        _ => None,
    }
}

/// The port in the last two dot-separated parts of a universal address,
/// whatever precedes them (rpcbind's `uaddr2port`, strict about digits).
fn uaddr_port(uaddr: &[u8]) -> Option<u16> {
    let mut parts = uaddr.rsplitn(3, |&b| b == b'.');
    let lo = octet(parts.next()?)?;
    let hi = octet(parts.next()?)?;
    parts.next()?;
    Some((u16::from(hi) << 8) | u16::from(lo))
}

fn octet(s: &[u8]) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATD: u32 = 100_024;
    const NLM: u32 = 100_021;

    fn udp(port: u32) -> Mapping {
        Mapping {
            prog: STATD,
            vers: 1,
            prot: IPPROTO_UDP,
            port,
        }
    }

    #[test]
    fn pmap_set_is_visible_to_rpcb_and_back() {
        let mut t = Table::new();
        assert!(t.pmap_set(&udp(1007), OWNER_SUPERUSER));
        let e = t.find(STATD, 1, b"udp").unwrap();
        assert_eq!(e.uaddr.as_bytes(), b"0.0.0.0.3.239");
        assert_eq!(e.owner.as_bytes(), b"superuser");
        assert!(t.set(STATD, 1, b"tcp", b"0.0.0.0.3.240", "29"));
        assert!(t.set(STATD, 1, b"udp6", b"::.3.239", "29"));
        assert_eq!(t.pmap_getport(STATD, 1, IPPROTO_TCP), 1008);
        assert_eq!(t.pmap_getport(STATD, 1, IPPROTO_UDP), 1007);
        // udp6 is not in the PMAP view.
        assert_eq!(t.pmap_dump().len(), 2);
        assert_eq!(t.entries().len(), 3);
    }

    #[test]
    fn set_repeat_is_ok_conflict_fails() {
        let mut t = Table::new();
        assert!(t.set(STATD, 1, b"udp", b"0.0.0.0.3.239", "0"));
        assert!(t.set(STATD, 1, b"udp", b"0.0.0.0.3.239", "0"));
        assert!(!t.set(STATD, 1, b"udp", b"0.0.0.0.3.240", "0"));
        assert!(!t.set(STATD, 1, b"UDP", b"0.0.0.0.3.240", "0"));
        assert!(!t.pmap_set(&udp(1008), OWNER_SUPERUSER));
        assert!(t.pmap_set(&udp(1007), OWNER_SUPERUSER));
        // Another version is a separate registration.
        assert!(t.set(STATD, 2, b"udp", b"0.0.0.0.3.240", "0"));
        assert_eq!(t.entries().len(), 2);
    }

    #[test]
    fn pmap_set_rejects_other_protocols() {
        let mut t = Table::new();
        assert!(!t.pmap_set(&Mapping { prot: 1, ..udp(1) }, OWNER_SUPERUSER));
        assert!(t.entries().is_empty());
    }

    #[test]
    fn unset_with_empty_netid_removes_all_netids() {
        let mut t = Table::new();
        for n in ["udp", "tcp", "udp6", "tcp6"] {
            assert!(t.set(STATD, 1, n.as_bytes(), b"x.0.1", OWNER_SUPERUSER));
        }
        assert!(t.set(STATD, 2, b"udp", b"x.0.1", OWNER_SUPERUSER));
        assert!(t.unset(STATD, 1, b"", OWNER_SUPERUSER));
        assert_eq!(t.entries().len(), 1);
        assert_eq!(t.entries()[0].vers, 2);
        // Nothing left to remove still succeeds.
        assert!(t.unset(STATD, 1, b"", OWNER_SUPERUSER));
    }

    #[test]
    fn unset_respects_owner_and_stops_at_a_foreign_entry() {
        let mut t = Table::new();
        assert!(t.set(STATD, 1, b"udp", b"a.0.1", "29"));
        assert!(t.set(STATD, 1, b"tcp", b"a.0.2", "30"));
        assert!(t.set(STATD, 1, b"udp6", b"a.0.3", "29"));
        assert!(!t.unset(STATD, 1, b"", "29"));
        // The first one was removed before the foreign one stopped it.
        let left: Vec<_> = t
            .entries()
            .iter()
            .map(|e| e.netid.as_bytes().to_vec())
            .collect();
        assert_eq!(left, [b"tcp".to_vec(), b"udp6".to_vec()]);
        assert!(!t.unset(STATD, 1, b"tcp", OWNER_UNKNOWN));
        assert!(t.unset(STATD, 1, b"TCP", OWNER_SUPERUSER));
        assert!(t.unset(STATD, 1, b"udp6", "29"));
        assert!(t.entries().is_empty());
    }

    #[test]
    fn pmap_unset_removes_udp_and_tcp_only() {
        let mut t = Table::new();
        assert!(t.set(STATD, 1, b"udp", b"0.0.0.0.3.239", "0"));
        assert!(t.set(STATD, 1, b"tcp", b"0.0.0.0.3.239", "0"));
        assert!(t.set(STATD, 1, b"tcp6", b"::.3.239", "0"));
        assert!(t.pmap_unset(STATD, 1, OWNER_SUPERUSER));
        assert_eq!(t.entries().len(), 1);
        assert_eq!(t.entries()[0].netid.as_bytes(), b"tcp6");
        assert!(t.pmap_unset(STATD, 1, OWNER_SUPERUSER));
    }

    #[test]
    fn lookups_fall_back_to_another_version() {
        let mut t = Table::new();
        assert!(t.set(NLM, 1, b"udp", b"0.0.0.0.0.1", "0"));
        assert!(t.set(NLM, 3, b"udp", b"0.0.0.0.0.3", "0"));
        assert!(t.set(NLM, 4, b"udp", b"0.0.0.0.0.4", "0"));
        assert_eq!(t.pmap_getport(NLM, 3, IPPROTO_UDP), 3);
        // No version 99: the last one registered answers (observed with rpcbind).
        assert_eq!(t.pmap_getport(NLM, 99, IPPROTO_UDP), 4);
        assert_eq!(t.find(NLM, 99, b"udp").map(|e| e.vers), Some(4));
        assert_eq!(t.find(NLM, 1, b"udp").map(|e| e.vers), Some(1));
        assert_eq!(t.pmap_getport(NLM, 4, IPPROTO_TCP), 0);
        assert!(t.find(NLM, 4, b"tcp").is_none());
        assert_eq!(t.pmap_getport(STATD, 1, IPPROTO_UDP), 0);
    }

    #[test]
    fn pmap_view_skips_entries_without_a_port() {
        let mut t = Table::new();
        assert!(t.set(STATD, 1, b"udp", b"garbage", "0"));
        assert!(t.set(STATD, 1, b"Tcp", b"0.0.0.0.3.239", "0"));
        assert!(t.pmap_dump().is_empty());
        assert_eq!(t.pmap_getport(STATD, 1, IPPROTO_UDP), 0);
    }

    #[test]
    fn table_is_capped() {
        let mut t = Table::new();
        for prog in 0..TABLE_MAX as u32 {
            assert!(t.set(prog, 1, b"udp", b"0.0.0.0.0.1", "0"));
        }
        assert!(!t.set(u32::MAX, 1, b"udp", b"0.0.0.0.0.1", "0"));
        // A repeat of an existing registration is still fine.
        assert!(t.set(0, 1, b"udp", b"0.0.0.0.0.1", "0"));
    }

    #[test]
    fn over_long_strings_are_refused() {
        let mut t = Table::new();
        assert!(!t.set(1, 1, &[b'n'; 300], b"a", "0"));
        assert!(t.entries().is_empty());
    }

    #[test]
    fn uaddr_port_parses_the_last_two_parts() {
        assert_eq!(uaddr_port(b"0.0.0.0.3.239"), Some(1007));
        assert_eq!(uaddr_port(b"::.255.255"), Some(65535));
        assert_eq!(uaddr_port(b"3.239"), None);
        assert_eq!(uaddr_port(b"x.3.256"), None);
        assert_eq!(uaddr_port(b"x..1"), None);
    }
}
