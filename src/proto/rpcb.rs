//! rpcbind protocol, program 100000 versions 3 and 4 (RFC 1833 §2,
//! `xdr/rpcb_prot.x`), plus universal addresses and the inet netids.
//!
//! # Bounds
//!
//! The spec leaves every string unbounded. We bound them on decode (encoding
//! is bounded by construction, see [`Bounded`]):
//! - netids, protocol family and protocol names: [`NETID_MAX`] (256) bytes; real
//!   ones are a few bytes (`udp6`, `inet6`);
//! - universal addresses: [`UADDR_MAX`] (1024) bytes; the longest inet6 one is
//!   53 bytes and an `AF_LOCAL` path at most 108;
//! - owners: [`OWNER_MAX`] (256) bytes; rpcbind writes "superuser", "unknown"
//!   or a decimal uid;
//! - remote-call opaques: [`RMTCALL_OPAQUE_MAX`], rpcbind's forwarding buffer;
//! - `netbuf`: at most [`NETBUF_MAX`] bytes, libtirpc's `RPC_MAXDATASIZE`,
//!   checked against `maxlen` first as `xdr_netbuf` does;
//! - linked lists: [`RPCBLIST_MAX`] entries.
//!
//! # Panic contract
//!
//! Decoding never panics and never allocates from a length before the bytes
//! are there; lists are read by [`Reader::list`], iteratively.
//! [`uaddr_to_socket`] returns `None` for every malformed string.

use crate::xdr::{Bounded, Reader, Writer, Xdr, XdrError};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// rpcbind's program number (the portmapper's).
pub const RPCBPROG: u32 = 100_000;
/// rpcbind protocol version 3.
pub const RPCBVERS: u32 = 3;
/// rpcbind protocol version 4.
pub const RPCBVERS4: u32 = 4;

/// `void RPCBPROC_NULL(void)`.
pub const RPCBPROC_NULL: u32 = 0;
/// `bool RPCBPROC_SET(rpcb)`.
pub const RPCBPROC_SET: u32 = 1;
/// `bool RPCBPROC_UNSET(rpcb)`.
pub const RPCBPROC_UNSET: u32 = 2;
/// `string RPCBPROC_GETADDR(rpcb)`.
pub const RPCBPROC_GETADDR: u32 = 3;
/// `rpcblist_ptr RPCBPROC_DUMP(void)`.
pub const RPCBPROC_DUMP: u32 = 4;
/// `rpcb_rmtcallres RPCBPROC_CALLIT(rpcb_rmtcallargs)` (version 3).
pub const RPCBPROC_CALLIT: u32 = 5;
/// Version 4's name for [`RPCBPROC_CALLIT`].
pub const RPCBPROC_BCAST: u32 = 5;
/// `unsigned int RPCBPROC_GETTIME(void)`.
pub const RPCBPROC_GETTIME: u32 = 6;
/// `netbuf RPCBPROC_UADDR2TADDR(string)`.
pub const RPCBPROC_UADDR2TADDR: u32 = 7;
/// `string RPCBPROC_TADDR2UADDR(netbuf)`.
pub const RPCBPROC_TADDR2UADDR: u32 = 8;
/// `string RPCBPROC_GETVERSADDR(rpcb)` (version 4).
pub const RPCBPROC_GETVERSADDR: u32 = 9;
/// `rpcb_rmtcallres RPCBPROC_INDIRECT(rpcb_rmtcallargs)` (version 4).
pub const RPCBPROC_INDIRECT: u32 = 10;
/// `rpcb_entry_list_ptr RPCBPROC_GETADDRLIST(rpcb)` (version 4).
pub const RPCBPROC_GETADDRLIST: u32 = 11;
/// `rpcb_stat_byvers RPCBPROC_GETSTAT(void)` (version 4).
pub const RPCBPROC_GETSTAT: u32 = 12;

/// Number of per-procedure counters in [`RpcbStat::info`].
pub const RPCBSTAT_HIGHPROC: usize = 13;
/// Number of [`RpcbStat`] in a GETSTAT reply: versions 2, 3 and 4.
pub const RPCBVERS_STAT: usize = 3;

/// `r_nc_semantics` of a connectionless transport.
pub const NC_TPI_CLTS: u32 = 1;
/// `r_nc_semantics` of a connection-oriented transport.
pub const NC_TPI_COTS: u32 = 2;
/// `r_nc_semantics` of a connection-oriented transport with orderly release.
pub const NC_TPI_COTS_ORD: u32 = 3;

/// Bound on netid, protocol family and protocol name strings.
pub const NETID_MAX: u32 = 256;
/// Bound on universal address strings.
pub const UADDR_MAX: u32 = 1024;
/// Bound on owner strings.
pub const OWNER_MAX: u32 = 256;
/// Bound on the opaque arguments and results of remote calls.
pub const RMTCALL_OPAQUE_MAX: u32 = super::pmap::CALLIT_OPAQUE_MAX;
/// Bound on a `netbuf`'s `maxlen` (libtirpc's `RPC_MAXDATASIZE`).
pub const NETBUF_MAX: u32 = 9000;
/// Most entries of any decoded rpcbind list.
pub const RPCBLIST_MAX: u32 = 4096;

/// A netid string (`r_netid`, `r_nc_netid`, protocol names).
pub type NetidStr = Bounded<NETID_MAX>;
/// A universal address string.
pub type UaddrStr = Bounded<UADDR_MAX>;
/// An owner string.
pub type OwnerStr = Bounded<OWNER_MAX>;

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

    /// The portmapper `prot` value ([`IPPROTO_UDP`](super::pmap::IPPROTO_UDP)
    /// or [`IPPROTO_TCP`](super::pmap::IPPROTO_TCP)).
    pub fn ipproto(self) -> u32 {
        if self.is_datagram() {
            super::pmap::IPPROTO_UDP
        } else {
            super::pmap::IPPROTO_TCP
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

/// `struct rpcb`: one registration, or the arguments of SET/UNSET/GETADDR.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rpcb {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Network id; empty in UNSET means "every netid".
    pub netid: NetidStr,
    /// Universal address; in GETADDR a hint (the address the client used).
    pub addr: UaddrStr,
    /// Owner; rpcbind ignores what callers send and records its own view.
    pub owner: OwnerStr,
}

impl Rpcb {
    /// Builds one from text, failing if a string is over its bound.
    pub fn new(
        prog: u32,
        vers: u32,
        netid: &str,
        addr: &str,
        owner: &str,
    ) -> Result<Rpcb, XdrError> {
        Ok(Rpcb {
            prog,
            vers,
            netid: Bounded::new(netid)?,
            addr: Bounded::new(addr)?,
            owner: Bounded::new(owner)?,
        })
    }
}

impl<'a> Xdr<'a> for Rpcb {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        self.netid.encode(w);
        self.addr.encode(w);
        self.owner.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(Rpcb {
            prog: r.u32()?,
            vers: r.u32()?,
            netid: Bounded::decode(r)?,
            addr: Bounded::decode(r)?,
            owner: Bounded::decode(r)?,
        })
    }
}

/// `rpcblist_ptr`: the DUMP result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbList(pub Vec<Rpcb>);

impl<'a> Xdr<'a> for RpcbList {
    fn encode(&self, w: &mut Writer) {
        encode_list(w, &self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.list(RPCBLIST_MAX, Rpcb::decode).map(RpcbList)
    }
}

fn encode_list<'a, T: Xdr<'a>>(w: &mut Writer, items: &[T]) {
    for item in items {
        w.put_bool(true);
        item.encode(w);
    }
    w.put_bool(false);
}

/// `struct rpcb_rmtcallargs`: the arguments of CALLIT, BCAST and INDIRECT.
/// Its XDR is PMAP's `struct call_args`, field for field and with the same
/// bound, so it is the same type.
pub use super::pmap::CallArgs as RmtcallArgs;

/// `struct rpcb_rmtcallres`: the target's address and encoded results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RmtcallRes {
    /// Universal address of the target.
    pub addr: UaddrStr,
    /// Its encoded results.
    pub results: Vec<u8>,
}

impl<'a> Xdr<'a> for RmtcallRes {
    fn encode(&self, w: &mut Writer) {
        self.addr.encode(w);
        w.put_opaque_var(&self.results);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RmtcallRes {
            addr: Bounded::decode(r)?,
            results: r.opaque_var(RMTCALL_OPAQUE_MAX)?.to_vec(),
        })
    }
}

/// `struct rpcb_entry`: one address of a service, from GETADDRLIST.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbEntry {
    /// Merged universal address of the service.
    pub maddr: UaddrStr,
    /// Its netid.
    pub nc_netid: NetidStr,
    /// [`NC_TPI_CLTS`], [`NC_TPI_COTS`] or [`NC_TPI_COTS_ORD`].
    pub nc_semantics: u32,
    /// Protocol family, e.g. `inet6`.
    pub nc_protofmly: NetidStr,
    /// Protocol name, e.g. `tcp`.
    pub nc_proto: NetidStr,
}

impl<'a> Xdr<'a> for RpcbEntry {
    fn encode(&self, w: &mut Writer) {
        self.maddr.encode(w);
        self.nc_netid.encode(w);
        w.put_u32(self.nc_semantics);
        self.nc_protofmly.encode(w);
        self.nc_proto.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbEntry {
            maddr: Bounded::decode(r)?,
            nc_netid: Bounded::decode(r)?,
            nc_semantics: r.u32()?,
            nc_protofmly: Bounded::decode(r)?,
            nc_proto: Bounded::decode(r)?,
        })
    }
}

/// `rpcb_entry_list_ptr`: the GETADDRLIST result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbEntryList(pub Vec<RpcbEntry>);

impl<'a> Xdr<'a> for RpcbEntryList {
    fn encode(&self, w: &mut Writer) {
        encode_list(w, &self.0);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        r.list(RPCBLIST_MAX, RpcbEntry::decode).map(RpcbEntryList)
    }
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

/// `struct rpcbs_addrlist` without its `next` link: GETADDR statistics for
/// one (program, version, netid).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbsAddr {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Lookups that found an address.
    pub success: i32,
    /// Lookups that did not.
    pub failure: i32,
    /// The netid asked on.
    pub netid: NetidStr,
}

impl<'a> Xdr<'a> for RpcbsAddr {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_i32(self.success);
        w.put_i32(self.failure);
        self.netid.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbsAddr {
            prog: r.u32()?,
            vers: r.u32()?,
            success: r.i32()?,
            failure: r.i32()?,
            netid: Bounded::decode(r)?,
        })
    }
}

/// `struct rpcbs_rmtcalllist` without its `next` link: remote-call
/// statistics for one (program, version, procedure, netid).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbsRmtcall {
    /// Program number.
    pub prog: u32,
    /// Version number.
    pub vers: u32,
    /// Procedure number.
    pub proc: u32,
    /// Forwarded calls.
    pub success: i32,
    /// Calls not forwarded.
    pub failure: i32,
    /// 1 for INDIRECT, 0 for CALLIT.
    pub indirect: i32,
    /// The netid asked on.
    pub netid: NetidStr,
}

impl<'a> Xdr<'a> for RpcbsRmtcall {
    fn encode(&self, w: &mut Writer) {
        w.put_u32(self.prog);
        w.put_u32(self.vers);
        w.put_u32(self.proc);
        w.put_i32(self.success);
        w.put_i32(self.failure);
        w.put_i32(self.indirect);
        self.netid.encode(w);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbsRmtcall {
            prog: r.u32()?,
            vers: r.u32()?,
            proc: r.u32()?,
            success: r.i32()?,
            failure: r.i32()?,
            indirect: r.i32()?,
            netid: Bounded::decode(r)?,
        })
    }
}

/// `struct rpcb_stat`: statistics of one rpcbind version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbStat {
    /// Calls received, per procedure number.
    pub info: [i32; RPCBSTAT_HIGHPROC],
    /// Successful SETs.
    pub setinfo: i32,
    /// Successful UNSETs.
    pub unsetinfo: i32,
    /// GETADDR statistics.
    pub addrinfo: Vec<RpcbsAddr>,
    /// Remote-call statistics.
    pub rmtinfo: Vec<RpcbsRmtcall>,
}

impl<'a> Xdr<'a> for RpcbStat {
    fn encode(&self, w: &mut Writer) {
        for n in self.info {
            w.put_i32(n);
        }
        w.put_i32(self.setinfo);
        w.put_i32(self.unsetinfo);
        encode_list(w, &self.addrinfo);
        encode_list(w, &self.rmtinfo);
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let mut info = [0i32; RPCBSTAT_HIGHPROC];
        for n in &mut info {
            *n = r.i32()?;
        }
        Ok(RpcbStat {
            info,
            setinfo: r.i32()?,
            unsetinfo: r.i32()?,
            addrinfo: r.list(RPCBLIST_MAX, RpcbsAddr::decode)?,
            rmtinfo: r.list(RPCBLIST_MAX, RpcbsRmtcall::decode)?,
        })
    }
}

/// `rpcb_stat_byvers`: the GETSTAT result, for versions 2, 3 and 4 in that order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpcbStatByVers(pub [RpcbStat; RPCBVERS_STAT]);

impl<'a> Xdr<'a> for RpcbStatByVers {
    fn encode(&self, w: &mut Writer) {
        for s in &self.0 {
            s.encode(w);
        }
    }
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(RpcbStatByVers([
            RpcbStat::decode(r)?,
            RpcbStat::decode(r)?,
            RpcbStat::decode(r)?,
        ]))
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
    fn rpcb_bytes() {
        let r = Rpcb::new(100_024, 1, "udp", "0.0.0.0.3.239", "0").unwrap();
        let mut want = vec![0, 1, 0x86, 0xb8, 0, 0, 0, 1];
        want.extend_from_slice(&[0, 0, 0, 3, b'u', b'd', b'p', 0]);
        want.extend_from_slice(&[0, 0, 0, 13]);
        want.extend_from_slice(b"0.0.0.0.3.239\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 1, b'0', 0, 0, 0]);
        assert_eq!(r.to_xdr(), want);
        assert_eq!(Rpcb::from_xdr(&want), Ok(r));
    }

    #[test]
    fn rpcb_string_bounds() {
        assert!(Rpcb::new(1, 1, &"n".repeat(257), "", "").is_err());
        let mut enc = vec![0, 0, 0, 1, 0, 0, 0, 1];
        enc.extend_from_slice(&[0, 0, 1, 1]); // netid of 257 bytes
        enc.extend_from_slice(&[b'n'; 260]);
        assert_eq!(
            Rpcb::from_xdr(&enc),
            Err(XdrError::TooLong { len: 257, max: 256 })
        );
    }

    #[test]
    fn rpcblist_round_trip() {
        let list = RpcbList(vec![
            Rpcb::new(100_000, 4, "tcp6", "::.0.111", "superuser").unwrap(),
            Rpcb::new(100_024, 1, "udp", "0.0.0.0.3.239", "29").unwrap(),
        ]);
        let enc = list.to_xdr();
        assert_eq!(&enc[..4], &[0, 0, 0, 1]);
        assert_eq!(&enc[enc.len() - 4..], &[0, 0, 0, 0]);
        assert_eq!(RpcbList::from_xdr(&enc), Ok(list));
        assert_eq!(
            RpcbList::from_xdr(&[0, 0, 0, 2]),
            Err(XdrError::BadDiscriminant(2))
        );
    }

    #[test]
    fn rmtcall_round_trip() {
        let a = RmtcallArgs {
            prog: 100_024,
            vers: 1,
            proc: 0,
            args: vec![],
        };
        assert_eq!(
            a.to_xdr(),
            [0, 1, 0x86, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(RmtcallArgs::from_xdr(&a.to_xdr()), Ok(a));
        let res = RmtcallRes {
            addr: Bounded::new("127.0.0.1.3.239").unwrap(),
            results: vec![0, 0, 0, 1],
        };
        assert_eq!(RmtcallRes::from_xdr(&res.to_xdr()), Ok(res));
    }

    #[test]
    fn entry_list_bytes() {
        let e = RpcbEntry {
            maddr: Bounded::new("::1.3.239").unwrap(),
            nc_netid: Bounded::new("tcp6").unwrap(),
            nc_semantics: NC_TPI_COTS_ORD,
            nc_protofmly: Bounded::new("inet6").unwrap(),
            nc_proto: Bounded::new("tcp").unwrap(),
        };
        let enc = RpcbEntryList(vec![e.clone()]).to_xdr();
        let mut want = vec![0, 0, 0, 1, 0, 0, 0, 9];
        want.extend_from_slice(b"::1.3.239\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 4]);
        want.extend_from_slice(b"tcp6");
        want.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 5]);
        want.extend_from_slice(b"inet6\0\0\0");
        want.extend_from_slice(&[0, 0, 0, 3]);
        want.extend_from_slice(b"tcp\0");
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(enc, want);
        assert_eq!(RpcbEntryList::from_xdr(&enc), Ok(RpcbEntryList(vec![e])));
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

    #[test]
    fn stat_byvers_layout() {
        let mut s = RpcbStatByVers::default();
        s.0[2].info[12] = 5;
        s.0[2].setinfo = 1;
        s.0[1].addrinfo.push(RpcbsAddr {
            prog: 100_024,
            vers: 1,
            success: 2,
            failure: 0,
            netid: Bounded::new("udp").unwrap(),
        });
        s.0[0].rmtinfo.push(RpcbsRmtcall {
            prog: 1,
            vers: 2,
            proc: 3,
            success: 0,
            failure: 1,
            indirect: 0,
            netid: Bounded::new("udp").unwrap(),
        });
        let enc = s.to_xdr();
        // Each empty stat is 13 + 2 ints and two empty lists: 68 bytes.
        assert_eq!(enc.len(), 3 * 68 + (4 + 16 + 8) + (4 + 24 + 8));
        assert_eq!(RpcbStatByVers::from_xdr(&enc), Ok(s));
        assert_eq!(RpcbStatByVers::default().to_xdr().len(), 3 * 68);
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

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = Rpcb::from_xdr(&bytes);
            let _ = RpcbList::from_xdr(&bytes);
            let _ = RpcbEntryList::from_xdr(&bytes);
            let _ = Netbuf::from_xdr(&bytes);
            let _ = RmtcallArgs::from_xdr(&bytes);
            let _ = RmtcallRes::from_xdr(&bytes);
            let _ = RpcbStatByVers::from_xdr(&bytes);
        }
    }
}
