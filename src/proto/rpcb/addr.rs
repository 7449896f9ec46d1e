//! Addresses in the rpcbind protocol: the four inet netids statmon serves
//! ([`Netid`]), universal addresses (RFC 1833 §2.2, RFC 5665 §5.2.3.3) and
//! `struct netbuf`.
//!
//! Invariants: [`uaddr_to_socket`] never panics and returns `None` for
//! every malformed string; whatever it returns, [`uaddr_from_socket`] turns
//! back into a string it parses to the same address. [`Netbuf`] decoding
//! checks `maxlen` against [`NETBUF_MAX`] before reading the bytes.

use super::{NC_TPI_CLTS, NC_TPI_COTS_ORD, NETBUF_MAX};
use crate::xdr::{Reader, Writer, Xdr, XdrError};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The four inet netids of `/etc/netconfig` that statmon serves and registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Netid {
    /// `udp`: UDP over IPv4.
    Udp,
    /// `tcp`: TCP over IPv4.
    Tcp,
    /// `udp6`: UDP over IPv6.
    Udp6,
    /// `tcp6`: TCP over IPv6.
    Tcp6,
}

impl Netid {
    /// All four, in the order libtirpc's default netconfig lists them
    /// (udp, tcp, udp6, tcp6).
    pub const ALL: [Netid; 4] = [Netid::Udp, Netid::Tcp, Netid::Udp6, Netid::Tcp6];

    /// The netid for a transport kind and address family.
    pub fn new(datagram: bool, v6: bool) -> Netid {
        match (datagram, v6) {
            (true, false) => Netid::Udp,
            (false, false) => Netid::Tcp,
            (true, true) => Netid::Udp6,
            (false, true) => Netid::Tcp6,
        }
    }

    /// The netid named exactly `name`, as `getnetconfigent` looks it up.
    pub fn from_name(name: &[u8]) -> Option<Netid> {
        Netid::ALL
            .into_iter()
            .find(|n| n.as_str().as_bytes() == name)
    }

    /// The netid string, e.g. `"udp6"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Netid::Udp => "udp",
            Netid::Tcp => "tcp",
            Netid::Udp6 => "udp6",
            Netid::Tcp6 => "tcp6",
        }
    }

    /// Whether this is an IPv6 netid.
    pub fn is_v6(self) -> bool {
        matches!(self, Netid::Udp6 | Netid::Tcp6)
    }

    /// Whether this is a datagram (UDP) netid.
    pub fn is_datagram(self) -> bool {
        matches!(self, Netid::Udp | Netid::Udp6)
    }

    /// The portmapper `prot` value ([`IPPROTO_UDP`](crate::proto::pmap::IPPROTO_UDP)
    /// or [`IPPROTO_TCP`](crate::proto::pmap::IPPROTO_TCP)).
    pub fn ipproto(self) -> u32 {
        if self.is_datagram() {
            crate::proto::pmap::IPPROTO_UDP
        } else {
            crate::proto::pmap::IPPROTO_TCP
        }
    }

    /// The netconfig protocol family, `"inet"` or `"inet6"`.
    pub fn protofmly(self) -> &'static str {
        if self.is_v6() {
            "inet6"
        } else {
            "inet"
        }
    }

    /// The netconfig protocol name, `"udp"` or `"tcp"`.
    pub fn proto(self) -> &'static str {
        if self.is_datagram() {
            "udp"
        } else {
            "tcp"
        }
    }

    /// The netconfig semantics: [`NC_TPI_CLTS`] for UDP, [`NC_TPI_COTS_ORD`] for TCP.
    pub fn semantics(self) -> u32 {
        if self.is_datagram() {
            NC_TPI_CLTS
        } else {
            NC_TPI_COTS_ORD
        }
    }

    /// Whether `addr` has this netid's address family.
    pub fn fits(self, addr: &SocketAddr) -> bool {
        self.is_v6() == addr.is_ipv6()
    }
}

impl fmt::Display for Netid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The universal address of `addr` (RFC 1833 §2.2, RFC 5665 §5.2.3.3 for
/// IPv6): the address in its usual text form, then the port's high and low
/// bytes in decimal, e.g. `127.0.0.1.3.239` or `::1.3.239`. An IPv6 scope id
/// is not representable and is dropped.
pub fn uaddr_from_socket(addr: SocketAddr) -> String {
    let port = addr.port();
    format!("{}.{}.{}", addr.ip(), port >> 8, port & 0xff)
}

/// Parses a universal address of the inet or inet6 family. `None` for
/// anything malformed: missing port parts, a port part that is not 1 to 3
/// decimal digits with a value below 256, or a host that is not a valid IPv4
/// (no `:`) or IPv6 (with `:`) address.
pub fn uaddr_to_socket(uaddr: &str) -> Option<SocketAddr> {
    let (rest, lo) = uaddr.rsplit_once('.')?;
    let (host, hi) = rest.rsplit_once('.')?;
    let port = (u16::from(port_octet(hi)?) << 8) | u16::from(port_octet(lo)?);
    let ip: IpAddr = if host.contains(':') {
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(match ip {
        IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, 0)),
    })
}

fn port_octet(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u8>().ok()
}

/// `struct netbuf`: a transport address in the server's `sockaddr` layout.
///
/// Decoding checks `maxlen <= NETBUF_MAX` and `buf.len() <= maxlen`, as
/// libtirpc's `xdr_netbuf` does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Netbuf {
    /// The buffer size the sender had.
    pub maxlen: u32,
    /// The address bytes.
    pub buf: Vec<u8>,
}

impl<'a> Xdr<'a> for Netbuf {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.maxlen);
        w.put_opaque_var(&self.buf);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let maxlen = r.u32()?;
        if maxlen > NETBUF_MAX {
            return Err(XdrError::TooLong {
                len: maxlen,
                max: NETBUF_MAX,
            });
        }
        let buf = r.opaque_var(maxlen)?.to_vec();
        Ok(Netbuf { maxlen, buf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn uaddr_examples() {
        assert_eq!(uaddr_from_socket(sa("127.0.0.1:1007")), "127.0.0.1.3.239");
        assert_eq!(uaddr_from_socket(sa("[::1]:1007")), "::1.3.239");
        assert_eq!(uaddr_from_socket(sa("0.0.0.0:111")), "0.0.0.0.0.111");
        assert_eq!(uaddr_from_socket(sa("[::]:2049")), "::.8.1");
        assert_eq!(
            uaddr_to_socket("127.0.0.1.3.239"),
            Some(sa("127.0.0.1:1007"))
        );
        assert_eq!(uaddr_to_socket("::1.3.239"), Some(sa("[::1]:1007")));
        assert_eq!(
            uaddr_to_socket("::ffff:127.0.0.1.0.111"),
            Some(sa("[::ffff:127.0.0.1]:111"))
        );
    }

    #[test]
    fn uaddr_round_trips_at_port_edges() {
        for s in [
            "127.0.0.1:0",
            "10.1.2.3:65535",
            "[::1]:0",
            "[fe80::1]:65535",
            "[::]:256",
        ] {
            let a = sa(s);
            assert_eq!(uaddr_to_socket(&uaddr_from_socket(a)), Some(a), "{s}");
        }
        assert_eq!(uaddr_from_socket(sa("1.2.3.4:65535")), "1.2.3.4.255.255");
        assert_eq!(uaddr_from_socket(sa("1.2.3.4:0")), "1.2.3.4.0.0");
    }

    #[test]
    fn malformed_uaddrs_are_none() {
        for bad in [
            "",
            ".",
            "..",
            "127.0.0.1",
            "127.0.0.1.3",
            "127.0.0.1.3.256",
            "127.0.0.1.256.0",
            "127.0.0.1.3.-1",
            "127.0.0.1.3.+1",
            "127.0.0.1.3.0239",
            "127.0.0.1..239",
            "127.0.0.1.3.",
            "127.0.0.1.3.2x",
            "localhost.3.239",
            "1.2.3.3.239",
            "::1%lo.3.239",
            ":::1.3.239",
            "/run/rpcbind.sock",
            "1.2.3.4.5.6.7",
            "\u{e9}.1.1",
        ] {
            assert_eq!(uaddr_to_socket(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scope_id_is_dropped() {
        let a = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 1, 0, 7));
        assert_eq!(uaddr_from_socket(a), "fe80::1.0.1");
    }

    #[test]
    fn netid_names_and_properties() {
        for n in Netid::ALL {
            assert_eq!(Netid::from_name(n.as_str().as_bytes()), Some(n));
            assert_eq!(Netid::new(n.is_datagram(), n.is_v6()), n);
        }
        assert_eq!(Netid::from_name(b"UDP"), None);
        assert_eq!(Netid::from_name(b"local"), None);
        assert_eq!(Netid::Udp6.protofmly(), "inet6");
        assert_eq!(Netid::Tcp.proto(), "tcp");
        assert_eq!(Netid::Tcp6.semantics(), NC_TPI_COTS_ORD);
        assert_eq!(Netid::Udp.semantics(), NC_TPI_CLTS);
        assert_eq!(Netid::Tcp.ipproto(), crate::proto::pmap::IPPROTO_TCP);
        assert!(Netid::Udp6.fits(&sa("[::1]:1")));
        assert!(!Netid::Udp.fits(&sa("[::1]:1")));
    }

    #[test]
    fn netbuf_checks_maxlen_first() {
        let nb = Netbuf {
            maxlen: 16,
            buf: vec![7; 16],
        };
        assert_eq!(Netbuf::from_xdr(&nb.to_xdr()), Ok(nb));
        // len 8 over maxlen 4.
        let enc = [0, 0, 0, 4, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            Netbuf::from_xdr(&enc),
            Err(XdrError::TooLong { len: 8, max: 4 })
        );
        // maxlen itself too large.
        let enc = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(matches!(
            Netbuf::from_xdr(&enc),
            Err(XdrError::TooLong { .. })
        ));
        assert_eq!(Netbuf::default().to_xdr(), [0; 8]);
    }

    proptest::proptest! {
        #[test]
        fn uaddr_parse_never_panics(s in "\\PC{0,40}") {
            if let Some(a) = uaddr_to_socket(&s) {
                proptest::prop_assert_eq!(uaddr_to_socket(&uaddr_from_socket(a)), Some(a));
            }
        }

        #[test]
        fn uaddr_like_strings_never_panic(s in "[0-9a-f:.]{0,48}") {
            let _ = uaddr_to_socket(&s);
        }
    }
}
