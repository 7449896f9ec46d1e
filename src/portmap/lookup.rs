//! Finding a service's address through a (local or remote) portmapper.
//!
//! Plain functions build PMAP v2 GETPORT and RPCB v3/v4 GETADDR arguments and
//! parse their results; [`Lookup`] strings them together: RPCB v4 GETADDR,
//! then v3 on PROG_UNAVAIL/PROG_MISMATCH, then (IPv4 netids only; PMAP v2
//! cannot answer for IPv6) PMAP v2 GETPORT.
//!
//! Transport: rpcbind answers GETADDR for the netid of the transport the
//! query arrives on, so the glue must send GETADDR calls over a socket of the
//! looked-up netid (as libtirpc does); GETPORT names the protocol in its
//! arguments and may go over UDP.
//!
//! Address fix-up: a wildcard host in an answer (`0.0.0.0`, `::`) is replaced
//! by the portmapper's own address, the only host the answer can mean; an
//! IPv6 link-local answer to a link-local query inherits the query's scope id
//! (libtirpc's `__rpc_fixup_addr`).

use super::call::{FailureKind, PlannedCall};
use super::taddr::is_link_scoped;
use crate::proto::pmap::{Mapping, PMAPPROC_GETPORT, PMAP_PROG, PMAP_VERS};
use crate::proto::rpcb::{
    uaddr_from_socket, uaddr_to_socket, Netid, Rpcb, UaddrStr, RPCBPROC_GETADDR, RPCBVERS,
    RPCBVERS4,
};
use crate::xdr::{Bounded, Xdr, XdrError};
use std::net::SocketAddr;

/// The `r_owner` sent in GETADDR. rpcbind ignores it; libtirpc sends this
/// string, so captures of our lookups look like everyone else's.
pub const GETADDR_OWNER: &str = "libtirpc";

/// Why an answer could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAnswer {
    /// The results did not decode.
    Xdr(XdrError),
    /// GETPORT answered a number above 65535.
    Port(u32),
    /// GETADDR answered something that is not a universal address of the
    /// looked-up netid's family.
    Uaddr,
}

/// Arguments of PMAP v2 GETPORT for (prog, vers, prot); `prot` is
/// [`IPPROTO_UDP`](crate::proto::pmap::IPPROTO_UDP) or
/// [`IPPROTO_TCP`](crate::proto::pmap::IPPROTO_TCP).
pub fn getport_args(prog: u32, vers: u32, prot: u32) -> Vec<u8> {
    Mapping {
        prog,
        vers,
        prot,
        port: 0,
    }
    .to_xdr()
}

/// The port in GETPORT results; `None` if the service is not registered.
pub fn parse_getport(results: &[u8]) -> Result<Option<u16>, BadAnswer> {
    let port = u32::from_xdr(results).map_err(BadAnswer::Xdr)?;
    match u16::try_from(port) {
        Ok(0) => Ok(None),
        Ok(p) => Ok(Some(p)),
        Err(_) => Err(BadAnswer::Port(port)),
    }
}

/// Arguments of RPCB v3/v4 GETADDR for (prog, vers, netid), filled as
/// libtirpc fills them: `r_addr` is the universal address of the portmapper
/// being asked (`server`, a hint for its address merging) and `r_owner` is
/// [`GETADDR_OWNER`].
pub fn getaddr_args(prog: u32, vers: u32, netid: Netid, server: SocketAddr) -> Vec<u8> {
    Rpcb {
        prog,
        vers,
        netid: Bounded::new(netid.as_str()).unwrap_or_default(),
        addr: Bounded::new(uaddr_from_socket(server)).unwrap_or_default(),
        owner: Bounded::new(GETADDR_OWNER).unwrap_or_default(),
    }
    .to_xdr()
}

/// The address in GETADDR results, fixed up as the module doc says; `None`
/// if the service is not registered (empty string).
pub fn parse_getaddr(
    results: &[u8],
    netid: Netid,
    server: SocketAddr,
) -> Result<Option<SocketAddr>, BadAnswer> {
    let uaddr = UaddrStr::from_xdr(results).map_err(BadAnswer::Xdr)?;
    if uaddr.as_bytes().is_empty() {
        return Ok(None);
    }
    let mut addr = std::str::from_utf8(uaddr.as_bytes())
        .ok()
        .and_then(uaddr_to_socket)
        .filter(|a| netid.fits(a))
        .ok_or(BadAnswer::Uaddr)?;
    if addr.ip().is_unspecified() && addr.is_ipv6() == server.is_ipv6() {
        addr.set_ip(server.ip());
    }
    if let (SocketAddr::V6(a), SocketAddr::V6(s)) = (&mut addr, server) {
        if is_link_scoped(a.ip()) && is_link_scoped(s.ip()) {
            a.set_scope_id(s.scope_id());
        }
    }
    Ok(Some(addr))
}

/// How a lookup ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutcome {
    /// The service's address.
    Found(SocketAddr),
    /// The portmapper answered that the service is not registered.
    NotRegistered,
    /// The portmapper did not answer usefully: it timed out, failed, or
    /// refused every protocol version (the last refusal is given).
    Failed(FailureKind),
    /// The portmapper's answer was malformed.
    BadAnswer(BadAnswer),
}

/// A lookup of (prog, vers, netid) at the portmapper `server`.
///
/// Drive it like [`Registration`](super::Registration): send
/// [`Lookup::next_call`] to `server`, feed the result to
/// [`Lookup::handle_result`], until [`Lookup::outcome`] is set.
#[derive(Debug, Clone)]
pub struct Lookup {
    server: SocketAddr,
    prog: u32,
    vers: u32,
    netid: Netid,
    /// Index into [`Lookup::versions`].
    stage: usize,
    outcome: Option<LookupOutcome>,
}

impl Lookup {
    /// Starts a lookup of (prog, vers) on `netid` at the portmapper `server`
    /// (usually port 111 of the peer, in the netid's address family).
    pub fn new(server: SocketAddr, prog: u32, vers: u32, netid: Netid) -> Lookup {
        Lookup {
            server,
            prog,
            vers,
            netid,
            stage: 0,
            outcome: None,
        }
    }

    /// The netid being looked up: GETADDR calls must travel over it.
    pub fn netid(&self) -> Netid {
        self.netid
    }

    /// Portmapper versions to try, in order.
    fn versions(&self) -> &'static [u32] {
        if self.netid.is_v6() {
            &[RPCBVERS4, RPCBVERS]
        } else {
            &[RPCBVERS4, RPCBVERS, PMAP_VERS]
        }
    }

    /// The call to make now, or `None` once finished. No side effect.
    pub fn next_call(&self) -> Option<PlannedCall> {
        if self.outcome.is_some() {
            return None;
        }
        let vers = *self.versions().get(self.stage)?;
        let (proc, args) = if vers == PMAP_VERS {
            (
                PMAPPROC_GETPORT,
                getport_args(self.prog, self.vers, self.netid.ipproto()),
            )
        } else {
            (
                RPCBPROC_GETADDR,
                getaddr_args(self.prog, self.vers, self.netid, self.server),
            )
        };
        Some(PlannedCall {
            prog: PMAP_PROG,
            vers,
            proc,
            args,
        })
    }

    /// Takes the outcome of the call [`Lookup::next_call`] returned. Ignored
    /// once finished.
    pub fn handle_result(&mut self, result: Result<&[u8], FailureKind>) {
        if self.outcome.is_some() {
            return;
        }
        let Some(&vers) = self.versions().get(self.stage) else {
            return;
        };
        self.outcome = match result {
            Ok(results) => Some(self.parse(vers, results)),
            Err(kind @ (FailureKind::ProgUnavail | FailureKind::ProgMismatch)) => {
                self.stage += 1;
                match self.versions().get(self.stage) {
                    Some(_) => None,
                    None => Some(LookupOutcome::Failed(kind)),
                }
            }
            Err(kind) => Some(LookupOutcome::Failed(kind)),
        };
    }

    /// How the lookup ended; `None` while calls remain.
    pub fn outcome(&self) -> Option<LookupOutcome> {
        self.outcome
    }

    fn parse(&self, vers: u32, results: &[u8]) -> LookupOutcome {
        let found = if vers == PMAP_VERS {
            parse_getport(results).map(|p| p.map(|p| SocketAddr::new(self.server.ip(), p)))
        } else {
            parse_getaddr(results, self.netid, self.server)
        };
        match found {
            Ok(Some(a)) => LookupOutcome::Found(a),
            Ok(None) => LookupOutcome::NotRegistered,
            Err(e) => LookupOutcome::BadAnswer(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pmap::IPPROTO_UDP;

    const STATD: u32 = 100_024;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn string(s: &str) -> Vec<u8> {
        UaddrStr::new(s).unwrap().to_xdr()
    }

    #[test]
    fn getport_bytes_and_parse() {
        assert_eq!(
            getport_args(STATD, 1, IPPROTO_UDP),
            [0, 1, 0x86, 0xb8, 0, 0, 0, 1, 0, 0, 0, 17, 0, 0, 0, 0]
        );
        assert_eq!(parse_getport(&[0, 0, 0x03, 0xef]), Ok(Some(1007)));
        assert_eq!(parse_getport(&[0, 0, 0xff, 0xff]), Ok(Some(65535)));
        assert_eq!(parse_getport(&[0, 0, 0, 0]), Ok(None));
        assert_eq!(parse_getport(&[0, 1, 0, 0]), Err(BadAnswer::Port(65536)));
        assert!(matches!(parse_getport(&[0, 0]), Err(BadAnswer::Xdr(_))));
    }

    #[test]
    fn getaddr_args_as_libtirpc_fills_them() {
        let args = getaddr_args(STATD, 1, Netid::Udp6, sa("[::1]:111"));
        let r = Rpcb::from_xdr(&args).unwrap();
        assert_eq!((r.prog, r.vers), (STATD, 1));
        assert_eq!(r.netid.as_bytes(), b"udp6");
        assert_eq!(r.addr.as_bytes(), b"::1.0.111");
        assert_eq!(r.owner.as_bytes(), b"libtirpc");
    }

    #[test]
    fn parse_getaddr_cases() {
        let srv = sa("127.0.0.1:111");
        assert_eq!(
            parse_getaddr(&string("127.0.0.1.3.239"), Netid::Udp, srv),
            Ok(Some(sa("127.0.0.1:1007")))
        );
        assert_eq!(parse_getaddr(&string(""), Netid::Udp, srv), Ok(None));
        // A wildcard means the portmapper's host.
        assert_eq!(
            parse_getaddr(&string("0.0.0.0.3.239"), Netid::Tcp, sa("10.0.0.7:111")),
            Ok(Some(sa("10.0.0.7:1007")))
        );
        assert_eq!(
            parse_getaddr(&string("::.3.239"), Netid::Tcp6, sa("[::1]:111")),
            Ok(Some(sa("[::1]:1007")))
        );
        // Wrong family or garbage.
        assert_eq!(
            parse_getaddr(&string("::1.3.239"), Netid::Udp, srv),
            Err(BadAnswer::Uaddr)
        );
        assert_eq!(
            parse_getaddr(&string("nope"), Netid::Udp, srv),
            Err(BadAnswer::Uaddr)
        );
        assert!(matches!(
            parse_getaddr(&[0, 0, 0, 9, 1], Netid::Udp, srv),
            Err(BadAnswer::Xdr(_))
        ));
    }

    #[test]
    fn link_local_answer_takes_the_query_scope() {
        let srv = SocketAddr::V6(std::net::SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            111,
            0,
            3,
        ));
        let got = parse_getaddr(&string("fe80::2.3.239"), Netid::Udp6, srv)
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            SocketAddr::V6(std::net::SocketAddrV6::new(
                "fe80::2".parse().unwrap(),
                1007,
                0,
                3
            ))
        );
    }

    #[test]
    fn lookup_v4_answers_at_once() {
        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Tcp);
        assert_eq!(l.netid(), Netid::Tcp);
        let c = l.next_call().unwrap();
        assert_eq!((c.prog, c.vers, c.proc), (100_000, 4, RPCBPROC_GETADDR));
        assert_eq!(l.next_call(), Some(c));
        l.handle_result(Ok(&string("0.0.0.0.3.240")));
        assert_eq!(
            l.outcome(),
            Some(LookupOutcome::Found(sa("127.0.0.1:1008")))
        );
        assert_eq!(l.next_call(), None);
        l.handle_result(Err(FailureKind::Other));
        assert_eq!(
            l.outcome(),
            Some(LookupOutcome::Found(sa("127.0.0.1:1008")))
        );
    }

    #[test]
    fn lookup_falls_back_to_getport_for_ipv4() {
        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Udp);
        l.handle_result(Err(FailureKind::ProgMismatch));
        assert_eq!(l.next_call().unwrap().vers, 3);
        l.handle_result(Err(FailureKind::ProgUnavail));
        let c = l.next_call().unwrap();
        assert_eq!((c.vers, c.proc), (2, PMAPPROC_GETPORT));
        assert_eq!(c.args, getport_args(STATD, 1, IPPROTO_UDP));
        l.handle_result(Ok(&[0, 0, 0x03, 0xef]));
        assert_eq!(
            l.outcome(),
            Some(LookupOutcome::Found(sa("127.0.0.1:1007")))
        );
    }

    #[test]
    fn lookup_ipv6_never_uses_getport() {
        let mut l = Lookup::new(sa("[::1]:111"), STATD, 1, Netid::Udp6);
        l.handle_result(Err(FailureKind::ProgMismatch));
        assert_eq!(l.next_call().unwrap().vers, 3);
        l.handle_result(Err(FailureKind::ProgMismatch));
        assert_eq!(l.next_call(), None);
        assert_eq!(
            l.outcome(),
            Some(LookupOutcome::Failed(FailureKind::ProgMismatch))
        );
    }

    #[test]
    fn lookup_not_registered_timeout_and_garbage() {
        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Udp);
        l.handle_result(Ok(&string("")));
        assert_eq!(l.outcome(), Some(LookupOutcome::NotRegistered));

        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Udp);
        l.handle_result(Err(FailureKind::TimedOut));
        assert_eq!(
            l.outcome(),
            Some(LookupOutcome::Failed(FailureKind::TimedOut))
        );

        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Udp);
        l.handle_result(Ok(&[1, 2, 3]));
        assert!(matches!(
            l.outcome(),
            Some(LookupOutcome::BadAnswer(BadAnswer::Xdr(_)))
        ));

        let mut l = Lookup::new(sa("127.0.0.1:111"), STATD, 1, Netid::Udp);
        l.handle_result(Err(FailureKind::ProgUnavail));
        l.handle_result(Err(FailureKind::ProgUnavail));
        l.handle_result(Ok(&[0, 0, 0, 0]));
        assert_eq!(l.outcome(), Some(LookupOutcome::NotRegistered));
    }

    proptest::proptest! {
        #[test]
        fn answers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            for netid in Netid::ALL {
                let srv = if netid.is_v6() { sa("[::1]:111") } else { sa("127.0.0.1:111") };
                let _ = parse_getaddr(&bytes, netid, srv);
                let mut l = Lookup::new(srv, STATD, 1, netid);
                l.handle_result(Err(FailureKind::ProgMismatch));
                l.handle_result(Err(FailureKind::ProgUnavail));
                l.handle_result(Ok(&bytes));
            }
            let _ = parse_getport(&bytes);
        }
    }
}
