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
//! One job a file:
//! - this file: [`Portmapper`] itself, the procedure table per version
//!   ([`Program::call`]), GETTIME, GETSTAT, CALLIT/BCAST and INDIRECT;
//! - `change.rs`: SET and UNSET (PMAP v2 and RPCB v3/v4) and [`owner_of`];
//! - `query.rs`: GETPORT, GETADDR, GETVERSADDR, GETADDRLIST and DUMP, with
//!   the address merging;
//! - `convert.rs`: UADDR2TADDR and TADDR2UADDR;
//! - `harness.rs` (tests only): calls into a portmapper from chosen callers.
//!
//! # Panic contract
//!
//! [`Program::call`] never panics, whatever the arguments (checked by a
//! property test for every version and procedure).

use super::stats::Stats;
use super::table::{Table, OWNER_SUPERUSER};
use crate::proto::pmap::{
    PmapList, PMAPPROC_CALLIT, PMAPPROC_DUMP, PMAPPROC_GETPORT, PMAPPROC_NULL, PMAPPROC_SET,
    PMAPPROC_UNSET, PMAP_PROG, PMAP_VERS,
};
use crate::proto::rpcb::{
    uaddr_from_socket, Netid, RmtcallArgs, RPCBPROC_CALLIT, RPCBPROC_DUMP, RPCBPROC_GETADDR,
    RPCBPROC_GETADDRLIST, RPCBPROC_GETSTAT, RPCBPROC_GETTIME, RPCBPROC_GETVERSADDR,
    RPCBPROC_INDIRECT, RPCBPROC_SET, RPCBPROC_TADDR2UADDR, RPCBPROC_UADDR2TADDR, RPCBPROC_UNSET,
    RPCBVERS, RPCBVERS4,
};
use crate::rpc::{Call, Caller, Dispatch, Program, Transport};
use crate::xdr::{Bounded, Xdr};
use std::net::SocketAddr;
use std::ops::RangeInclusive;

mod change;
mod convert;
#[cfg(test)]
mod harness;
mod query;

pub use change::owner_of;

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

#[cfg(test)]
mod tests {
    use super::harness::*;
    use super::*;
    use crate::proto::pmap::IPPROTO_UDP;
    use crate::proto::rpcb::{Rpcb, RpcbStatByVers};
    use proptest::prelude::*;

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
