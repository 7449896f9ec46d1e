//! UADDR2TADDR and TADDR2UADDR: universal address to `netbuf` and back,
//! for the address family of the transport the call came on.
//!
//! Invariant: anything that does not convert (malformed, or of the other
//! family) is answered with an empty `netbuf` or string, as rpcbind
//! answers; only undecodable arguments are GARBAGE_ARGS.

use super::super::taddr::{socket_from_taddr, taddr_from_socket};
use super::{bounded, reply, transport_netid, Portmapper};
use crate::proto::rpcb::{uaddr_from_socket, uaddr_to_socket, Netbuf, UaddrStr};
use crate::rpc::{Call, Dispatch};
use crate::xdr::Xdr;

impl Portmapper {
    pub(super) fn uaddr2taddr(call: &Call<'_>) -> Dispatch {
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

    pub(super) fn taddr2uaddr(call: &Call<'_>) -> Dispatch {
        let Ok(taddr) = Netbuf::from_xdr(call.args) else {
            return Dispatch::GarbageArgs;
        };
        let v6 = transport_netid(&call.caller).is_v6();
        let uaddr: UaddrStr = socket_from_taddr(&taddr.buf, v6)
            .map(|a| bounded(&uaddr_from_socket(a)))
            .unwrap_or_default();
        reply(&uaddr)
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::*;
    use crate::proto::rpcb::{RPCBPROC_TADDR2UADDR, RPCBPROC_UADDR2TADDR};

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
}
