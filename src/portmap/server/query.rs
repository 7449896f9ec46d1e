//! The lookups: GETPORT (PMAP), GETADDR and GETVERSADDR, GETADDRLIST and
//! DUMP (RPCB), with the address merging the module doc describes.
//!
//! Invariants: lookups never change the table; GETADDR, GETVERSADDR and
//! GETADDRLIST answer for the netid of the transport the call came on, not
//! the one in the arguments; a wildcard address told to a loopback caller
//! becomes the loopback address, every other address goes out as
//! registered.

use super::{bounded, reply, transport_netid, Portmapper};
use crate::proto::pmap::Mapping;
use crate::proto::rpcb::{
    uaddr_from_socket, uaddr_to_socket, Netid, Rpcb, RpcbEntry, RpcbEntryList, RpcbList, UaddrStr,
};
use crate::rpc::{Call, Caller, Dispatch};
use crate::xdr::Xdr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

impl Portmapper {
    pub(super) fn pmap_getport(&self, call: &Call<'_>) -> Dispatch {
        let Ok(m) = Mapping::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        reply(&self.table.pmap_getport(m.prog, m.vers, m.prot))
    }

    pub(super) fn getaddr(&self, call: &Call<'_>, any_version: bool) -> Dispatch {
        let Ok(r) = Rpcb::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        if is_mapped_on_v6(&call.caller) {
            return Dispatch::NoReply;
        }
        let netid = transport_netid(&call.caller);
        let uaddr = match self.table.find(r.prog, r.vers, netid.as_str().as_bytes()) {
            Some(e) if any_version || e.vers == r.vers => merge(&e.uaddr, &call.caller),
            _ => UaddrStr::default(),
        };
        reply(&uaddr)
    }

    pub(super) fn getaddrlist(&self, call: &Call<'_>) -> Dispatch {
        let Ok(r) = Rpcb::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        let v6 = transport_netid(&call.caller).is_v6();
        let list = self
            .table
            .entries()
            .iter()
            .filter(|e| e.prog == r.prog && e.vers == r.vers)
            .filter_map(|e| {
                let netid = Netid::from_name(e.netid.as_bytes()).filter(|n| n.is_v6() == v6)?;
                Some(RpcbEntry {
                    maddr: merge(&e.uaddr, &call.caller),
                    nc_netid: bounded(netid.as_str()),
                    nc_semantics: netid.semantics(),
                    nc_protofmly: bounded(netid.protofmly()),
                    nc_proto: bounded(netid.proto()),
                })
            })
            .collect();
        reply(&RpcbEntryList(list))
    }

    pub(super) fn dump(&self) -> Dispatch {
        let list = self
            .table
            .entries()
            .iter()
            .map(|e| Rpcb {
                prog: e.prog,
                vers: e.vers,
                netid: e.netid.clone(),
                addr: e.uaddr.clone(),
                owner: e.owner.clone(),
            })
            .collect();
        reply(&RpcbList(list))
    }
}

/// An IPv4 client seen through an IPv6 socket.
fn is_mapped_on_v6(caller: &Caller) -> bool {
    match caller.addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
        IpAddr::V4(_) => false,
    }
}

/// The address to tell `caller` for a registered one (see the module doc).
fn merge(uaddr: &UaddrStr, caller: &Caller) -> UaddrStr {
    let parsed = std::str::from_utf8(uaddr.as_bytes())
        .ok()
        .and_then(uaddr_to_socket);
    match parsed {
        Some(mut a) if a.ip().is_unspecified() && caller.is_loopback() => {
            a.set_ip(match a.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
            bounded(&uaddr_from_socket(a))
        }
        _ => uaddr.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;
    use crate::proto::pmap::{PmapList, IPPROTO_UDP, PMAPPROC_DUMP, PMAP_PROG};
    use crate::proto::rpcb::{
        NC_TPI_CLTS, NC_TPI_COTS_ORD, RPCBPROC_DUMP, RPCBPROC_GETADDR, RPCBPROC_GETADDRLIST,
        RPCBPROC_GETVERSADDR,
    };
    use crate::rpc::Transport;

    fn getaddr(p: &mut Portmapper, t: Transport, from: &str, vers: u32, prog: u32) -> String {
        let args = rpcb(prog, 1, "whatever", "");
        let s: UaddrStr = decode(call_on(p, t, from, vers, RPCBPROC_GETADDR, &args));
        s.to_string_lossy()
    }

    #[test]
    fn getaddr_answers_for_the_transport_netid() {
        let mut p = pm();
        assert!(set(&mut p, 4, STATD, "udp", "0.0.0.0.3.239"));
        assert!(set(&mut p, 4, STATD, "tcp", "0.0.0.0.3.240"));
        assert!(set(&mut p, 4, STATD, "udp6", "::.3.241"));
        assert!(set(&mut p, 4, STATD, "tcp6", "::1.3.242"));
        let (u, t) = (Transport::Udp, Transport::Tcp);
        for vers in [3, 4] {
            assert_eq!(getaddr(&mut p, u, LOCAL, vers, STATD), "127.0.0.1.3.239");
            assert_eq!(getaddr(&mut p, t, LOCAL, vers, STATD), "127.0.0.1.3.240");
            assert_eq!(getaddr(&mut p, u, LOCAL6, vers, STATD), "::1.3.241");
            assert_eq!(getaddr(&mut p, t, LOCAL6, vers, STATD), "::1.3.242");
            // Remote callers get the registered address as is.
            assert_eq!(getaddr(&mut p, u, REMOTE, vers, STATD), "0.0.0.0.3.239");
            assert_eq!(getaddr(&mut p, u, REMOTE6, vers, STATD), "::.3.241");
            assert_eq!(getaddr(&mut p, t, REMOTE6, vers, STATD), "::1.3.242");
            assert_eq!(getaddr(&mut p, u, LOCAL, vers, 99), "");
        }
    }

    #[test]
    fn getaddr_from_mapped_v4_on_v6_is_dropped() {
        let mut p = pm();
        let args = rpcb(STATD, 1, "udp6", "");
        let d = udp(&mut p, "[::ffff:127.0.0.1]:700", 4, RPCBPROC_GETADDR, &args);
        assert_eq!(d, Dispatch::NoReply);
    }

    #[test]
    fn getaddr_any_version_getversaddr_exact() {
        let mut p = pm();
        assert!(set(&mut p, 4, STATD, "udp", "127.0.0.1.3.239"));
        let args = rpcb(STATD, 7, "udp", "");
        let s: UaddrStr = decode(udp(&mut p, LOCAL, 4, RPCBPROC_GETADDR, &args));
        assert_eq!(s.as_bytes(), b"127.0.0.1.3.239");
        let s: UaddrStr = decode(udp(&mut p, LOCAL, 4, RPCBPROC_GETVERSADDR, &args));
        assert_eq!(s.as_bytes(), b"");
        let args = rpcb(STATD, 1, "udp", "");
        let s: UaddrStr = decode(udp(&mut p, LOCAL, 4, RPCBPROC_GETVERSADDR, &args));
        assert_eq!(s.as_bytes(), b"127.0.0.1.3.239");
        // Not in version 3.
        assert_eq!(
            udp(&mut p, LOCAL, 3, RPCBPROC_GETVERSADDR, &args),
            Dispatch::ProcUnavail
        );
    }

    #[test]
    fn getaddrlist_lists_the_callers_family() {
        let mut p = pm();
        assert!(set(&mut p, 4, STATD, "udp", "0.0.0.0.3.239"));
        assert!(set(&mut p, 4, STATD, "tcp6", "::.3.240"));
        assert!(set(&mut p, 4, STATD, "udp6", "::.3.241"));
        assert!(set(&mut p, 4, STATD, "local", "/run/statd.sock"));
        let args = rpcb(STATD, 1, "", "");
        let list: RpcbEntryList = decode(udp(&mut p, LOCAL6, 4, RPCBPROC_GETADDRLIST, &args));
        let got: Vec<_> = list
            .0
            .iter()
            .map(|e| {
                (
                    e.maddr.to_string_lossy(),
                    e.nc_netid.to_string_lossy(),
                    e.nc_semantics,
                    e.nc_protofmly.to_string_lossy(),
                    e.nc_proto.to_string_lossy(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "::1.3.240".into(),
                    "tcp6".into(),
                    NC_TPI_COTS_ORD,
                    "inet6".into(),
                    "tcp".into()
                ),
                (
                    "::1.3.241".into(),
                    "udp6".into(),
                    NC_TPI_CLTS,
                    "inet6".into(),
                    "udp".into()
                ),
            ]
        );
        let list: RpcbEntryList = decode(udp(&mut p, REMOTE, 4, RPCBPROC_GETADDRLIST, &args));
        assert_eq!(list.0.len(), 1);
        assert_eq!(list.0[0].maddr.as_bytes(), b"0.0.0.0.3.239");
        let none = rpcb(STATD, 2, "", "");
        let list: RpcbEntryList = decode(udp(&mut p, LOCAL, 4, RPCBPROC_GETADDRLIST, &none));
        assert!(list.0.is_empty());
        assert_eq!(
            udp(&mut p, LOCAL, 3, RPCBPROC_GETADDRLIST, &args),
            Dispatch::ProcUnavail
        );
    }

    #[test]
    fn dump_of_many_entries_in_every_version() {
        let mut p = pm();
        p.register_self(Netid::Udp, "0.0.0.0:111".parse().unwrap());
        p.register_self(Netid::Tcp6, "[::]:111".parse().unwrap());
        for prog in 0..300 {
            for netid in ["udp", "tcp", "udp6"] {
                assert!(set(&mut p, 4, 200_000 + prog, netid, "0.0.0.0.4.0"));
            }
        }
        for vers in [3, 4] {
            let list: RpcbList = decode(udp(&mut p, REMOTE, vers, RPCBPROC_DUMP, &[]));
            assert_eq!(list.0.len(), 5 + 900);
            assert_eq!(list.0[0].prog, PMAP_PROG);
            assert_eq!(list.0[0].vers, 4);
            assert_eq!(list.0[0].owner.as_bytes(), b"superuser");
            assert_eq!(list.0[4].netid.as_bytes(), b"tcp6");
            assert_eq!(list.0[5].owner.as_bytes(), b"superuser");
            assert_eq!(list.0[904].prog, 200_299);
            assert_eq!(list.0[904].netid.as_bytes(), b"udp6");
        }
        let list: PmapList = decode(udp(&mut p, REMOTE, 2, PMAPPROC_DUMP, &[]));
        // 3 portmapper versions on udp, then udp and tcp of each program.
        assert_eq!(list.0.len(), 3 + 600);
        assert_eq!(
            list.0[0],
            Mapping {
                prog: PMAP_PROG,
                vers: 4,
                prot: IPPROTO_UDP,
                port: 111
            }
        );
        assert!(list.0[3..].iter().all(|m| m.port == 1024));
    }
}
