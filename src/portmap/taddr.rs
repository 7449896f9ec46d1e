//! Transport addresses (`netbuf`s) of the inet families, for UADDR2TADDR and
//! TADDR2UADDR.
//!
//! rpcbind answers with the raw `struct sockaddr_in` / `sockaddr_in6` of the
//! host it runs on, so the layout here is Linux's: `sa_family_t` as a
//! native-endian `u16` (2 for AF_INET, 10 for AF_INET6), then the port in
//! network order, then the address (with flow info and scope id for IPv6),
//! zero-padded to 16 or 28 bytes.

use crate::proto::rpcb::Netbuf;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Linux `AF_INET`.
const AF_INET: u16 = 2;
/// Linux `AF_INET6`.
const AF_INET6: u16 = 10;
/// `sizeof(struct sockaddr_in)`.
const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
const SOCKADDR_IN6_LEN: usize = 28;

/// Whether `ip` is link-scoped, so that it means something only with an
/// interface (a scope id): link-local unicast (`fe80::/10`) or link-local
/// multicast (`ff02::/16`, any flags); glibc's `IN6_IS_ADDR_LINKLOCAL ||
/// IN6_IS_ADDR_MC_LINKLOCAL`.
pub fn is_link_scoped(ip: &Ipv6Addr) -> bool {
    let o = ip.octets();
    (o[0] == 0xfe && o[1] & 0xc0 == 0x80) || (o[0] == 0xff && o[1] & 0x0f == 0x02)
}

/// The `netbuf` rpcbind returns for `addr`: `maxlen` equal to the length.
pub fn taddr_from_socket(addr: SocketAddr) -> Netbuf {
    let mut buf = Vec::with_capacity(SOCKADDR_IN6_LEN);
    match addr {
        SocketAddr::V4(a) => {
            buf.extend_from_slice(&AF_INET.to_ne_bytes());
            buf.extend_from_slice(&a.port().to_be_bytes());
            buf.extend_from_slice(&a.ip().octets());
            buf.resize(SOCKADDR_IN_LEN, 0);
        }
        SocketAddr::V6(a) => {
            buf.extend_from_slice(&AF_INET6.to_ne_bytes());
            buf.extend_from_slice(&a.port().to_be_bytes());
            buf.extend_from_slice(&a.flowinfo().to_be_bytes());
            buf.extend_from_slice(&a.ip().octets());
            buf.extend_from_slice(&a.scope_id().to_ne_bytes());
        }
    }
    Netbuf {
        maxlen: buf.len() as u32,
        buf,
    }
}

/// Reads the port and address out of a `sockaddr` of the family the
/// transport has (`v6`). The family field is not checked, as rpcbind does
/// not check it; `None` if the buffer is too short to hold the address
/// (rpcbind would read past it).
pub fn socket_from_taddr(buf: &[u8], v6: bool) -> Option<SocketAddr> {
    let port = u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?);
    if v6 {
        let ip: [u8; 16] = buf.get(8..24)?.try_into().ok()?;
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(ip),
            port,
            0,
            0,
        )))
    } else {
        let ip: [u8; 4] = buf.get(4..8)?.try_into().ok()?;
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_in_layout() {
        let nb = taddr_from_socket("127.0.0.1:1007".parse().unwrap());
        let fam = AF_INET.to_ne_bytes();
        assert_eq!(nb.maxlen, 16);
        assert_eq!(
            nb.buf,
            [fam[0], fam[1], 0x03, 0xef, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn sockaddr_in6_layout() {
        let nb = taddr_from_socket("[::1]:111".parse().unwrap());
        let fam = AF_INET6.to_ne_bytes();
        let mut want = vec![fam[0], fam[1], 0, 111, 0, 0, 0, 0];
        want.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        want.extend_from_slice(&[0; 4]);
        assert_eq!(nb.maxlen, 28);
        assert_eq!(nb.buf, want);
    }

    #[test]
    fn round_trips() {
        for s in ["127.0.0.1:0", "10.0.0.1:65535", "[::1]:2049", "[fe80::2]:1"] {
            let a: SocketAddr = s.parse().unwrap();
            let nb = taddr_from_socket(a);
            assert_eq!(socket_from_taddr(&nb.buf, a.is_ipv6()), Some(a));
        }
    }

    #[test]
    fn short_buffers_are_none() {
        assert_eq!(socket_from_taddr(&[], false), None);
        assert_eq!(socket_from_taddr(&[0; 7], false), None);
        assert!(socket_from_taddr(&[0; 8], false).is_some());
        assert_eq!(socket_from_taddr(&[0; 23], true), None);
        assert!(socket_from_taddr(&[0; 24], true).is_some());
    }
}
