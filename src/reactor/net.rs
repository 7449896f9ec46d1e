//! Internet socket setup with socket2: one socket per address family
//! (IPv6 sockets are V6ONLY), SO_REUSEADDR, close-on-exec, non-blocking,
//! and bindresvport(3)-style reserved-port binding.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

/// Reserved ports tried by [`bind_reserved`], highest first (the range
/// libtirpc's bindresvport uses).
const RESERVED_PORTS: std::ops::RangeInclusive<u16> = 512..=1023;

/// Pending-connection backlog of listening sockets.
const BACKLOG: i32 = 128;

/// A new non-blocking, close-on-exec socket for `addr`'s family; IPv6
/// sockets are V6ONLY so v4 and v6 can share a port as separate sockets.
fn socket_for(addr: &SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let sock = Socket::new(
        Domain::for_address(*addr),
        ty.nonblocking().cloexec(),
        Some(proto),
    )?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    Ok(sock)
}

/// A bound UDP socket (SO_REUSEADDR) ready for mio.
pub(crate) fn udp_bind(addr: SocketAddr) -> io::Result<mio::net::UdpSocket> {
    let sock = socket_for(&addr, Type::DGRAM, Protocol::UDP)?;
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    Ok(mio::net::UdpSocket::from_std(sock.into()))
}

/// A UDP socket bound to a reserved port on `ip`.
pub(crate) fn udp_bind_reserved(ip: IpAddr) -> io::Result<mio::net::UdpSocket> {
    let sock = socket_for(&SocketAddr::new(ip, 0), Type::DGRAM, Protocol::UDP)?;
    bind_reserved(&sock, ip)?;
    Ok(mio::net::UdpSocket::from_std(sock.into()))
}

/// A listening TCP socket (SO_REUSEADDR).
pub(crate) fn tcp_listen(addr: SocketAddr) -> io::Result<Socket> {
    let sock = socket_for(&addr, Type::STREAM, Protocol::TCP)?;
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into())?;
    sock.listen(BACKLOG)?;
    Ok(sock)
}

/// A TCP socket with a non-blocking connect to `addr` under way, its local
/// side on a reserved port if `reserved`.
pub(crate) fn tcp_connect(addr: SocketAddr, reserved: bool) -> io::Result<Socket> {
    let sock = socket_for(&addr, Type::STREAM, Protocol::TCP)?;
    if reserved {
        let any: IpAddr = match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        };
        bind_reserved(&sock, any)?;
    }
    match sock.connect(&addr.into()) {
        Ok(()) => Ok(sock),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(sock),
        Err(e) => Err(e),
    }
}

/// Binds `sock` to the highest free reserved port on `ip`, like
/// bindresvport(3): ports in use are skipped; any other error (EACCES
/// without privilege) is returned at once.
pub(crate) fn bind_reserved(sock: &Socket, ip: IpAddr) -> io::Result<()> {
    for port in RESERVED_PORTS.rev() {
        match sock.bind(&SocketAddr::new(ip, port).into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free reserved port",
    ))
}
