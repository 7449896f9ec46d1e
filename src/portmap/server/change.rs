//! SET and UNSET, in PMAP (version 2) and RPCB (versions 3 and 4) form,
//! and the owner recorded for a caller.
//!
//! Invariants: only loopback callers change the table (anyone else gets
//! `false` and nothing changes); the owner is [`owner_of`] the caller,
//! never the `r_owner` it sends; each successful change is counted for
//! GETSTAT under the version it came in.

use super::super::table::{OWNER_SUPERUSER, OWNER_UNKNOWN};
use super::{reply, Portmapper};
use crate::proto::pmap::{Mapping, PMAP_VERS};
use crate::proto::rpcb::Rpcb;
use crate::rpc::{Call, Caller, Dispatch, Transport};
use crate::xdr::Xdr;

/// The owner rpcbind records for a caller: on a local socket the peer's uid
/// in decimal ([`OWNER_SUPERUSER`] for root); on an inet transport
/// [`OWNER_SUPERUSER`] from a reserved port on loopback (only root can bind
/// one), else [`OWNER_UNKNOWN`].
pub fn owner_of(caller: &Caller) -> std::borrow::Cow<'static, str> {
    match caller.transport {
        Transport::Local { uid: 0 } => OWNER_SUPERUSER.into(),
        Transport::Local { uid } => uid.to_string().into(),
        _ if caller.is_loopback() && caller.has_reserved_port() => OWNER_SUPERUSER.into(),
        _ => OWNER_UNKNOWN.into(),
    }
}

impl Portmapper {
    pub(super) fn pmap_change(&mut self, call: &Call<'_>, set: bool) -> Dispatch {
        let Ok(m) = Mapping::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        if !call.caller.is_loopback() {
            return reply(&false);
        }
        let owner = owner_of(&call.caller);
        let ok = if set {
            let ok = self.table.pmap_set(&m, &owner);
            self.stats.set(PMAP_VERS, ok);
            ok
        } else {
            let ok = self.table.pmap_unset(m.prog, m.vers, &owner);
            self.stats.unset(PMAP_VERS, ok);
            ok
        };
        reply(&ok)
    }

    pub(super) fn rpcb_change(&mut self, call: &Call<'_>, set: bool) -> Dispatch {
        let Ok(r) = Rpcb::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        if !call.caller.is_loopback() {
            return reply(&false);
        }
        let owner = owner_of(&call.caller);
        let (netid, addr) = (r.netid.as_bytes(), r.addr.as_bytes());
        let ok = if set {
            let ok = self.table.set(r.prog, r.vers, netid, addr, &owner);
            self.stats.set(call.vers, ok);
            ok
        } else {
            let ok = self.table.unset(r.prog, r.vers, netid, &owner);
            self.stats.unset(call.vers, ok);
            ok
        };
        reply(&ok)
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;
    use crate::proto::pmap::{
        PmapList, IPPROTO_TCP, IPPROTO_UDP, PMAPPROC_DUMP, PMAPPROC_GETPORT, PMAPPROC_SET,
        PMAPPROC_UNSET,
    };
    use crate::proto::rpcb::{RPCBPROC_SET, RPCBPROC_UNSET};

    #[test]
    fn pmap_set_getport_unset_dump() {
        let mut p = pm();
        let args = mapping(STATD, 1, IPPROTO_UDP, 1007);
        assert!(decode::<bool>(udp(&mut p, LOCAL, 2, PMAPPROC_SET, &args)));
        let q = mapping(STATD, 1, IPPROTO_UDP, 0);
        assert_eq!(
            decode::<u32>(udp(&mut p, REMOTE, 2, PMAPPROC_GETPORT, &q)),
            1007
        );
        let q = mapping(STATD, 1, IPPROTO_TCP, 0);
        assert_eq!(
            decode::<u32>(udp(&mut p, REMOTE, 2, PMAPPROC_GETPORT, &q)),
            0
        );
        let dump: PmapList = decode(udp(&mut p, REMOTE, 2, PMAPPROC_DUMP, &[]));
        assert_eq!(dump.0, [Mapping::from_xdr(&args).unwrap()]);
        // Registered from a reserved loopback port: owner superuser.
        assert_eq!(p.table().entries()[0].owner.as_bytes(), b"superuser");
        let un = mapping(STATD, 1, 0, 0);
        assert!(decode::<bool>(udp(&mut p, LOCAL, 2, PMAPPROC_UNSET, &un)));
        assert!(p.table().entries().is_empty());
    }

    #[test]
    fn set_and_unset_only_from_loopback() {
        let mut p = pm();
        let args = mapping(STATD, 1, IPPROTO_UDP, 1007);
        for from in [REMOTE, REMOTE6, "[::ffff:198.18.0.2]:700"] {
            assert!(!decode::<bool>(udp(&mut p, from, 2, PMAPPROC_SET, &args)));
            assert!(!decode::<bool>(udp(&mut p, from, 2, PMAPPROC_UNSET, &args)));
            for vers in [3, 4] {
                let r = rpcb(STATD, 1, "udp", "0.0.0.0.3.239");
                assert!(!decode::<bool>(udp(&mut p, from, vers, RPCBPROC_SET, &r)));
                assert!(!decode::<bool>(udp(&mut p, from, vers, RPCBPROC_UNSET, &r)));
            }
        }
        assert!(p.table().entries().is_empty());
        for from in [LOCAL6, "127.0.0.9:5000", "[::ffff:127.0.0.1]:700"] {
            let r = rpcb(STATD, 1, "udp", "0.0.0.0.3.239");
            assert!(decode::<bool>(udp(&mut p, from, 4, RPCBPROC_SET, &r)));
        }
    }

    #[test]
    fn owner_comes_from_the_caller_not_the_arguments() {
        let mut p = pm();
        let r = Rpcb::new(STATD, 1, "udp", "0.0.0.0.3.239", "superuser").unwrap();
        assert!(decode::<bool>(udp(
            &mut p,
            LOCAL_USER,
            4,
            RPCBPROC_SET,
            &r.to_xdr()
        )));
        assert_eq!(p.table().entries()[0].owner.as_bytes(), b"unknown");
        // "unknown" may remove its own registration...
        let un = rpcb(STATD, 1, "", "");
        assert!(decode::<bool>(udp(
            &mut p,
            LOCAL_USER,
            3,
            RPCBPROC_UNSET,
            &un
        )));
        // ...but not root's.
        assert!(set(&mut p, 4, STATD, "tcp", "0.0.0.0.3.239"));
        assert!(!decode::<bool>(udp(
            &mut p,
            LOCAL_USER,
            3,
            RPCBPROC_UNSET,
            &un
        )));
        assert_eq!(p.table().entries().len(), 1);
    }

    #[test]
    fn rpcb_set_conflict_and_cross_version_visibility() {
        let mut p = pm();
        assert!(set(&mut p, 4, STATD, "udp", "0.0.0.0.3.239"));
        assert!(set(&mut p, 3, STATD, "udp", "0.0.0.0.3.239"));
        assert!(!set(&mut p, 3, STATD, "udp", "0.0.0.0.3.240"));
        let args = mapping(STATD, 1, IPPROTO_UDP, 1);
        assert!(!decode::<bool>(udp(&mut p, LOCAL, 2, PMAPPROC_SET, &args)));
        let q = mapping(STATD, 1, IPPROTO_UDP, 0);
        assert_eq!(
            decode::<u32>(udp(&mut p, LOCAL, 2, PMAPPROC_GETPORT, &q)),
            1007
        );
    }
}
