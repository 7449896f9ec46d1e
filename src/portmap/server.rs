//! The embedded portmapper: program 100000, versions 2 (PMAP) and 3, 4 (RPCB).
//!
//! Behaviour follows rpcbind 1.2 over its inet transports, on a [`Table`]:
//! - SET/UNSET only from loopback callers ([`Caller::is_loopback`]); anyone
//!   else gets `false`. (rpcbind answers AUTH_ERROR/TOOWEAK, which a
//!   [`Dispatch`] cannot express; both mean "refused" to clients.) The owner
//!   recorded is [`owner_of`] the caller; the `r_owner` a caller sends is
//!   ignored, as rpcbind ignores it.
//! - GETADDR, GETVERSADDR and GETADDRLIST answer for the netid of the
//!   transport the call came on (udp, tcp, udp6, tcp6), not for the `r_netid`
//!   in the arguments, as rpcbind does. GETADDR accepts any version of the
//!   program, GETVERSADDR only the asked one. A GETADDR that reached an IPv6
//!   socket from an IPv4-mapped address is dropped, as rpcbind drops it.
//! - Address merging: rpcbind replaces the host part of a registered address
//!   with the address of its interface facing the caller. We only know the
//!   caller, so: a wildcard address (`0.0.0.0` / `::`) answered to a loopback
//!   caller becomes `127.0.0.1` / `::1` (what rpcbind's lookup yields on the
//!   loopback interface); every other answer is the registered address as is,
//!   which is rpcbind's own fallback when it cannot merge.
//! - CALLIT (v2, v3) and BCAST (v4) are never forwarded (amplification risk)
//!   and never answered: rpcbind is silent when the target is not registered,
//!   over TCP, and on bad arguments. INDIRECT is not forwarded either: over TCP
//!   it is dropped as rpcbind drops it, bad arguments get GARBAGE_ARGS, and
//!   every other call SYSTEM_ERR (rpcbind's answer when it cannot forward; it
//!   would say PROG_UNAVAIL for an unregistered target, which [`Dispatch`]
//!   cannot express).
//! - GETTIME reads wall-clock seconds through the `fn() -> u64` given to
//!   [`Portmapper::new`] and sends the low 32 bits.
//! - UADDR2TADDR / TADDR2UADDR convert for the address family of the
//!   transport the call came on; anything that does not convert gives an
//!   empty `netbuf` / string, as in rpcbind.
//! - GETSTAT counts calls per version and procedure and successful
//!   SET/UNSETs; the per-address and remote-call lists go out empty.
//! - GETADDRLIST skips registrations whose netid is not one of the four inet
//!   ones (rpcbind looks them up in /etc/netconfig and gives up on unknown
//!   ones).
//!
//! # Panic contract
//!
//! [`Program::call`] never panics, whatever the arguments (checked by a
//! property test for every version and procedure).

use super::stats::Stats;
use super::table::{Table, OWNER_SUPERUSER, OWNER_UNKNOWN};
use super::taddr::{socket_from_taddr, taddr_from_socket};
use crate::proto::pmap::{
    Mapping, PmapList, PMAPPROC_CALLIT, PMAPPROC_DUMP, PMAPPROC_GETPORT, PMAPPROC_NULL,
    PMAPPROC_SET, PMAPPROC_UNSET, PMAP_PROG, PMAP_VERS,
};
use crate::proto::rpcb::{
    uaddr_from_socket, uaddr_to_socket, Netbuf, Netid, RmtcallArgs, Rpcb, RpcbEntry, RpcbEntryList,
    RpcbList, UaddrStr, RPCBPROC_CALLIT, RPCBPROC_DUMP, RPCBPROC_GETADDR, RPCBPROC_GETADDRLIST,
    RPCBPROC_GETSTAT, RPCBPROC_GETTIME, RPCBPROC_GETVERSADDR, RPCBPROC_INDIRECT, RPCBPROC_SET,
    RPCBPROC_TADDR2UADDR, RPCBPROC_UADDR2TADDR, RPCBPROC_UNSET, RPCBVERS, RPCBVERS4,
};
use crate::rpc::{Call, Caller, Dispatch, Program, Transport};
use crate::xdr::{Bounded, Xdr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;

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

/// The embedded portmapper.
#[derive(Debug, Clone)]
pub struct Portmapper {
    table: Table,
    stats: Stats,
    wall_clock: fn() -> u64,
}

impl Portmapper {
    /// An empty portmapper; `wall_clock` returns seconds since the Unix
    /// epoch and is called only for GETTIME.
    pub fn new(wall_clock: fn() -> u64) -> Portmapper {
        Portmapper {
            table: Table::new(),
            stats: Stats::default(),
            wall_clock,
        }
    }

    /// The registrations.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The registrations, for the glue to add our own services directly.
    pub fn table_mut(&mut self) -> &mut Table {
        &mut self.table
    }

    /// Registers the portmapper itself on a listener, as rpcbind does at
    /// start: versions 4 and 3, and 2 for the IPv4 netids, owner "superuser".
    pub fn register_self(&mut self, netid: Netid, addr: SocketAddr) {
        let uaddr = uaddr_from_socket(addr);
        let versions: &[u32] = if netid.is_v6() { &[4, 3] } else { &[4, 3, 2] };
        for &vers in versions {
            self.table.set(
                PMAP_PROG,
                vers,
                netid.as_str().as_bytes(),
                uaddr.as_bytes(),
                OWNER_SUPERUSER,
            );
        }
    }

    fn pmap_change(&mut self, call: &Call<'_>, set: bool) -> Dispatch {
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

    fn pmap_getport(&self, call: &Call<'_>) -> Dispatch {
        let Ok(m) = Mapping::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        reply(&self.table.pmap_getport(m.prog, m.vers, m.prot))
    }

    fn rpcb_change(&mut self, call: &Call<'_>, set: bool) -> Dispatch {
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

    fn getaddr(&self, call: &Call<'_>, any_version: bool) -> Dispatch {
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

    fn getaddrlist(&self, call: &Call<'_>) -> Dispatch {
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

    fn dump(&self) -> Dispatch {
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

    fn uaddr2taddr(call: &Call<'_>) -> Dispatch {
        let Ok(uaddr) = UaddrStr::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        let v6 = transport_netid(&call.caller).is_v6();
        let taddr = std::str::from_utf8(uaddr.as_bytes())
            .ok()
            .and_then(uaddr_to_socket)
            .filter(|a| a.is_ipv6() == v6)
            .map(taddr_from_socket)
            .unwrap_or_default();
        reply(&taddr)
    }

    fn taddr2uaddr(call: &Call<'_>) -> Dispatch {
        let Ok(taddr) = Netbuf::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        let v6 = transport_netid(&call.caller).is_v6();
        let uaddr: UaddrStr = socket_from_taddr(&taddr.buf, v6)
            .map(|a| bounded(&uaddr_from_socket(a)))
            .unwrap_or_default();
        reply(&uaddr)
    }

    fn indirect(call: &Call<'_>) -> Dispatch {
        if call.caller.transport != Transport::Udp {
            return Dispatch::NoReply;
        }
        match RmtcallArgs::from_xdr(call.args) {
            Ok(_) => Dispatch::SystemErr,
            Err(_) => Dispatch::GarbageArgs,
        }
    }
}

impl Program for Portmapper {
    fn program(&self) -> u32 {
        PMAP_PROG
    }

    fn versions(&self) -> RangeInclusive<u32> {
        PMAP_VERS..=RPCBVERS4
    }

    fn call(&mut self, call: &Call<'_>) -> Dispatch {
        self.stats.call(call.vers, call.proc);
        match (call.vers, call.proc) {
            (PMAP_VERS..=RPCBVERS4, PMAPPROC_NULL) => Dispatch::Reply(Vec::new()),
            (PMAP_VERS, PMAPPROC_SET) => self.pmap_change(call, true),
            (PMAP_VERS, PMAPPROC_UNSET) => self.pmap_change(call, false),
            (PMAP_VERS, PMAPPROC_GETPORT) => self.pmap_getport(call),
            (PMAP_VERS, PMAPPROC_DUMP) => reply(&PmapList(self.table.pmap_dump())),
            (PMAP_VERS, PMAPPROC_CALLIT) => Dispatch::NoReply,
            (RPCBVERS | RPCBVERS4, RPCBPROC_SET) => self.rpcb_change(call, true),
            (RPCBVERS | RPCBVERS4, RPCBPROC_UNSET) => self.rpcb_change(call, false),
            (RPCBVERS | RPCBVERS4, RPCBPROC_GETADDR) => self.getaddr(call, true),
            (RPCBVERS | RPCBVERS4, RPCBPROC_DUMP) => self.dump(),
            (RPCBVERS | RPCBVERS4, RPCBPROC_CALLIT) => Dispatch::NoReply,
            (RPCBVERS | RPCBVERS4, RPCBPROC_GETTIME) => reply(&((self.wall_clock)() as u32)),
            (RPCBVERS | RPCBVERS4, RPCBPROC_UADDR2TADDR) => Portmapper::uaddr2taddr(call),
            (RPCBVERS | RPCBVERS4, RPCBPROC_TADDR2UADDR) => Portmapper::taddr2uaddr(call),
            (RPCBVERS4, RPCBPROC_GETVERSADDR) => self.getaddr(call, false),
            (RPCBVERS4, RPCBPROC_INDIRECT) => Portmapper::indirect(call),
            (RPCBVERS4, RPCBPROC_GETADDRLIST) => self.getaddrlist(call),
            (RPCBVERS4, RPCBPROC_GETSTAT) => reply(&self.stats.to_wire()),
            _ => Dispatch::ProcUnavail,
        }
    }
}

fn reply<'a, T: Xdr<'a>>(v: &T) -> Dispatch {
    Dispatch::Reply(v.to_xdr())
}

/// A bounded string from text known to fit (our own short constants and
/// formatted addresses); empty if it somehow does not.
fn bounded<const MAX: u32>(s: &str) -> Bounded<MAX> {
    Bounded::new(s).unwrap_or_default()
}

/// The netid of the socket a call came on.
fn transport_netid(caller: &Caller) -> Netid {
    Netid::new(caller.transport == Transport::Udp, caller.addr.is_ipv6())
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
    use super::*;
    use crate::proto::pmap::{IPPROTO_TCP, IPPROTO_UDP};
    use crate::proto::rpcb::{RpcbStatByVers, NC_TPI_CLTS, NC_TPI_COTS_ORD};
    use crate::rpc::{Credential, ReplyTo};
    use proptest::prelude::*;
    use std::time::Instant;

    const STATD: u32 = 100_024;
    const LOCAL: &str = "127.0.0.1:700";
    const LOCAL_USER: &str = "127.0.0.1:40000";
    const LOCAL6: &str = "[::1]:700";
    const REMOTE: &str = "198.18.0.2:700";
    const REMOTE6: &str = "[2001:db8::2]:700";

    fn clock() -> u64 {
        0x1_2345_6789
    }

    fn pm() -> Portmapper {
        Portmapper::new(clock)
    }

    fn call_on(
        p: &mut Portmapper,
        transport: Transport,
        from: &str,
        vers: u32,
        proc: u32,
        args: &[u8],
    ) -> Dispatch {
        let call = Call {
            xid: 1,
            prog: PMAP_PROG,
            vers,
            proc,
            caller: Caller {
                addr: from.parse().unwrap(),
                transport,
            },
            cred: Credential::None,
            args,
            now: Instant::now(),
            reply_to: ReplyTo(0),
        };
        p.call(&call)
    }

    fn udp(p: &mut Portmapper, from: &str, vers: u32, proc: u32, args: &[u8]) -> Dispatch {
        call_on(p, Transport::Udp, from, vers, proc, args)
    }

    fn results(d: Dispatch) -> Vec<u8> {
        match d {
            Dispatch::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn decode<T: for<'a> Xdr<'a>>(d: Dispatch) -> T {
        T::from_xdr(&results(d)).unwrap()
    }

    fn rpcb(prog: u32, vers: u32, netid: &str, addr: &str) -> Vec<u8> {
        Rpcb::new(prog, vers, netid, addr, "ignored")
            .unwrap()
            .to_xdr()
    }

    fn mapping(prog: u32, vers: u32, prot: u32, port: u32) -> Vec<u8> {
        Mapping {
            prog,
            vers,
            prot,
            port,
        }
        .to_xdr()
    }

    fn set(p: &mut Portmapper, vers: u32, prog: u32, netid: &str, addr: &str) -> bool {
        decode(udp(
            p,
            LOCAL,
            vers,
            RPCBPROC_SET,
            &rpcb(prog, 1, netid, addr),
        ))
    }

    fn getaddr(p: &mut Portmapper, t: Transport, from: &str, vers: u32, prog: u32) -> String {
        let args = rpcb(prog, 1, "whatever", "");
        let s: UaddrStr = decode(call_on(p, t, from, vers, RPCBPROC_GETADDR, &args));
        s.to_string_lossy()
    }

    #[test]
    fn identity() {
        let p = pm();
        assert_eq!(p.program(), 100_000);
        assert_eq!(p.versions(), 2..=4);
    }

    #[test]
    fn null_in_every_version() {
        let mut p = pm();
        for vers in 2..=4 {
            assert_eq!(udp(&mut p, REMOTE, vers, 0, &[]), Dispatch::Reply(vec![]));
        }
    }

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

    #[test]
    fn callit_and_bcast_never_answer() {
        let mut p = pm();
        p.register_self(Netid::Udp, "0.0.0.0:111".parse().unwrap());
        let args = RmtcallArgs {
            prog: PMAP_PROG,
            vers: 2,
            proc: 0,
            args: vec![],
        }
        .to_xdr();
        for t in [Transport::Udp, Transport::Tcp] {
            for (vers, proc) in [(2, PMAPPROC_CALLIT), (3, RPCBPROC_CALLIT), (4, 5)] {
                for a in [&args[..], &[1, 2][..]] {
                    assert_eq!(call_on(&mut p, t, REMOTE, vers, proc, a), Dispatch::NoReply);
                }
            }
        }
    }

    #[test]
    fn indirect_is_not_forwarded() {
        let mut p = pm();
        let args = RmtcallArgs {
            prog: STATD,
            vers: 1,
            proc: 0,
            args: vec![],
        }
        .to_xdr();
        assert_eq!(
            udp(&mut p, LOCAL, 4, RPCBPROC_INDIRECT, &args),
            Dispatch::SystemErr
        );
        assert_eq!(
            udp(&mut p, LOCAL, 4, RPCBPROC_INDIRECT, &[0; 5]),
            Dispatch::GarbageArgs
        );
        let tcp = call_on(&mut p, Transport::Tcp, LOCAL, 4, RPCBPROC_INDIRECT, &args);
        assert_eq!(tcp, Dispatch::NoReply);
        assert_eq!(
            udp(&mut p, LOCAL, 3, RPCBPROC_INDIRECT, &args),
            Dispatch::ProcUnavail
        );
    }

    #[test]
    fn gettime_uses_the_injected_clock() {
        let mut p = pm();
        for vers in [3, 4] {
            let d = udp(&mut p, REMOTE, vers, RPCBPROC_GETTIME, &[]);
            assert_eq!(d, Dispatch::Reply(vec![0x23, 0x45, 0x67, 0x89]));
        }
        assert_eq!(
            udp(&mut p, REMOTE, 2, RPCBPROC_GETTIME, &[]),
            Dispatch::ProcUnavail
        );
    }

    #[test]
    fn uaddr2taddr_per_transport_family() {
        let mut p = pm();
        let uaddr = |s: &str| UaddrStr::new(s).unwrap().to_xdr();
        let nb: Netbuf = decode(udp(
            &mut p,
            LOCAL,
            3,
            RPCBPROC_UADDR2TADDR,
            &uaddr("127.0.0.1.3.239"),
        ));
        assert_eq!(nb, taddr_from_socket("127.0.0.1:1007".parse().unwrap()));
        let nb: Netbuf = decode(udp(
            &mut p,
            LOCAL6,
            4,
            RPCBPROC_UADDR2TADDR,
            &uaddr("::1.0.111"),
        ));
        assert_eq!(nb, taddr_from_socket("[::1]:111".parse().unwrap()));
        // Wrong family for the transport, or malformed: empty netbuf.
        for (from, s) in [
            (LOCAL, "::1.0.111"),
            (LOCAL6, "127.0.0.1.0.111"),
            (LOCAL, "nonsense"),
        ] {
            let d = udp(&mut p, from, 4, RPCBPROC_UADDR2TADDR, &uaddr(s));
            assert_eq!(d, Dispatch::Reply(vec![0; 8]), "{s}");
        }
    }

    #[test]
    fn taddr2uaddr_per_transport_family() {
        let mut p = pm();
        let nb = taddr_from_socket("10.1.2.3:2049".parse().unwrap()).to_xdr();
        let s: UaddrStr = decode(udp(&mut p, REMOTE, 3, RPCBPROC_TADDR2UADDR, &nb));
        assert_eq!(s.as_bytes(), b"10.1.2.3.8.1");
        let nb6 = taddr_from_socket("[::1]:2049".parse().unwrap()).to_xdr();
        let s: UaddrStr = decode(udp(&mut p, REMOTE6, 4, RPCBPROC_TADDR2UADDR, &nb6));
        assert_eq!(s.as_bytes(), b"::1.8.1");
        let short = Netbuf {
            maxlen: 4,
            buf: vec![2, 0, 0, 1],
        }
        .to_xdr();
        let s: UaddrStr = decode(udp(&mut p, REMOTE, 4, RPCBPROC_TADDR2UADDR, &short));
        assert_eq!(s.as_bytes(), b"");
    }

    #[test]
    fn getstat_counts_calls_and_changes() {
        let mut p = pm();
        udp(&mut p, LOCAL, 2, PMAPPROC_NULL, &[]);
        udp(
            &mut p,
            LOCAL,
            2,
            PMAPPROC_SET,
            &mapping(STATD, 1, IPPROTO_UDP, 1),
        );
        udp(&mut p, LOCAL, 2, PMAPPROC_SET, &mapping(STATD, 1, 99, 1));
        assert!(set(&mut p, 3, STATD, "tcp", "0.0.0.0.0.1"));
        udp(&mut p, LOCAL, 4, RPCBPROC_UNSET, &rpcb(STATD, 1, "", ""));
        udp(&mut p, LOCAL, 3, 42, &[]);
        let s: RpcbStatByVers = decode(udp(&mut p, LOCAL, 4, RPCBPROC_GETSTAT, &[]));
        assert_eq!(s.0[0].info[..6], [1, 2, 0, 0, 0, 0]);
        assert_eq!((s.0[0].setinfo, s.0[0].unsetinfo), (1, 0));
        assert_eq!(s.0[1].info[1], 1);
        assert_eq!(s.0[1].info.iter().sum::<i32>(), 1);
        assert_eq!((s.0[1].setinfo, s.0[2].unsetinfo), (1, 1));
        assert_eq!(s.0[2].info[2], 1);
        assert_eq!(s.0[2].info[12], 1);
        assert!(s
            .0
            .iter()
            .all(|v| v.addrinfo.is_empty() && v.rmtinfo.is_empty()));
        assert_eq!(
            udp(&mut p, LOCAL, 3, RPCBPROC_GETSTAT, &[]),
            Dispatch::ProcUnavail
        );
    }

    #[test]
    fn unknown_procedures() {
        let mut p = pm();
        for (vers, proc) in [(2, 6), (3, 9), (4, 13), (4, u32::MAX)] {
            assert_eq!(udp(&mut p, LOCAL, vers, proc, &[]), Dispatch::ProcUnavail);
        }
    }

    #[test]
    fn garbage_args() {
        let mut p = pm();
        let cases = [
            (2, PMAPPROC_SET),
            (2, PMAPPROC_UNSET),
            (2, PMAPPROC_GETPORT),
            (3, RPCBPROC_SET),
            (4, RPCBPROC_UNSET),
            (3, RPCBPROC_GETADDR),
            (4, RPCBPROC_GETVERSADDR),
            (4, RPCBPROC_GETADDRLIST),
            (4, RPCBPROC_UADDR2TADDR),
            (3, RPCBPROC_TADDR2UADDR),
        ];
        for (vers, proc) in cases {
            assert_eq!(
                udp(&mut p, LOCAL, vers, proc, &[0, 0, 1]),
                Dispatch::GarbageArgs
            );
        }
        // A netid over its bound.
        let mut long = vec![0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1];
        long.extend_from_slice(&[b'u'; 260]);
        assert_eq!(
            udp(&mut p, LOCAL, 4, RPCBPROC_SET, &long),
            Dispatch::GarbageArgs
        );
        // Trailing bytes are fine.
        let mut args = mapping(STATD, 1, IPPROTO_UDP, 0);
        args.extend_from_slice(&[9; 8]);
        assert_eq!(
            udp(&mut p, LOCAL, 2, PMAPPROC_GETPORT, &args),
            Dispatch::Reply(vec![0; 4])
        );
    }

    #[test]
    fn register_self_matches_rpcbind() {
        let mut p = pm();
        p.register_self(Netid::Tcp6, "[::]:111".parse().unwrap());
        p.register_self(Netid::Udp, "0.0.0.0:111".parse().unwrap());
        let got: Vec<_> = p
            .table()
            .entries()
            .iter()
            .map(|e| (e.vers, e.netid.to_string_lossy(), e.uaddr.to_string_lossy()))
            .collect();
        assert_eq!(
            got,
            [
                (4, "tcp6".into(), "::.0.111".into()),
                (3, "tcp6".into(), "::.0.111".into()),
                (4, "udp".into(), "0.0.0.0.0.111".into()),
                (3, "udp".into(), "0.0.0.0.0.111".into()),
                (2, "udp".into(), "0.0.0.0.0.111".into()),
            ]
        );
        assert_eq!(p.table_mut().entries().len(), 5);
    }

    proptest! {
        #[test]
        fn call_never_panics(
            vers in 2u32..=4,
            proc in 0u32..=13,
            args in proptest::collection::vec(any::<u8>(), 0..200),
            tcp in any::<bool>(),
            from in prop_oneof![Just(LOCAL), Just(LOCAL6), Just(REMOTE), Just(REMOTE6),
                                Just("[::ffff:127.0.0.1]:1")],
        ) {
            let mut p = pm();
            p.register_self(Netid::Udp, "0.0.0.0:111".parse().unwrap());
            let t = if tcp { Transport::Tcp } else { Transport::Udp };
            call_on(&mut p, t, from, vers, proc, &args);
        }

        #[test]
        fn structured_args_never_panic(
            vers in 2u32..=4,
            proc in 0u32..=13,
            prog in prop_oneof![Just(STATD), Just(PMAP_PROG), any::<u32>()],
            netid in "[a-z0-9]{0,5}",
            addr in "[0-9a-f:.]{0,40}",
            tail in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let mut p = pm();
            p.register_self(Netid::Tcp, "0.0.0.0:111".parse().unwrap());
            let mut args = Rpcb::new(prog, 1, &netid, &addr, "o").unwrap().to_xdr();
            args.extend_from_slice(&tail);
            for from in [LOCAL, LOCAL6, REMOTE] {
                udp(&mut p, from, vers, proc, &args);
                call_on(&mut p, Transport::Tcp, from, vers, proc, &args);
            }
        }
    }
}
