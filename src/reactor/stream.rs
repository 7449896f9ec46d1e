//! Connected sockets (TCP, Unix stream, Unix seqpacket) with buffered
//! output, and the listeners that accept them.
//!
//! Output: `send` writes what the kernel takes now and queues the rest;
//! the socket is registered for WRITABLE all the time (edge-triggered, so
//! that costs one event per buffer-full → room transition) and the queue
//! is flushed on each writable event. A queue above its limit means the
//! peer does not read: the send fails and the caller closes the connection.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::slab::Key;

/// Default cap on a connection's queued output bytes.
pub const DEFAULT_SEND_LIMIT: usize = 4 << 20;

/// Limits for connections accepted by a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpOpts {
    /// Live connections allowed at once; later ones are accepted and closed.
    pub max_conns: usize,
    /// Close a connection after this long with no bytes in either direction.
    pub idle_timeout: Option<Duration>,
    /// Connections from loopback peers on reserved ports (below 1024: the
    /// kernel's lockd, root daemons) may go this far past `max_conns`, so
    /// remote or unprivileged peers holding every slot cannot lock them out.
    pub local_reserve: usize,
}

impl Default for TcpOpts {
    /// No practical connection limit and no idle timeout.
    fn default() -> Self {
        TcpOpts {
            max_conns: usize::MAX,
            idle_timeout: None,
            local_reserve: 0,
        }
    }
}

/// A connected stream or packet socket.
#[derive(Debug)]
pub(crate) struct Conn {
    sock: Socket,
    /// Seqpacket: every read is one packet, every send one packet.
    pub(crate) packets: bool,
    /// A non-blocking connect is still under way.
    pub(crate) connecting: bool,
    /// The listener that accepted it, for its connection count.
    pub(crate) listener: Option<Key>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) last_active: Instant,
    out: VecDeque<Vec<u8>>,
    /// Bytes of `out[0]` already written.
    out_off: usize,
    queued: usize,
    pub(crate) send_limit: usize,
}

impl Conn {
    pub(crate) fn new(sock: Socket, packets: bool, now: Instant) -> Conn {
        Conn {
            sock,
            packets,
            connecting: false,
            listener: None,
            idle_timeout: None,
            last_active: now,
            out: VecDeque::new(),
            out_off: 0,
            queued: 0,
            send_limit: DEFAULT_SEND_LIMIT,
        }
    }

    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// One read: `Ok(Some(0))` is end of file, `Ok(None)` means drained.
    pub(crate) fn read(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        loop {
            match (&self.sock).read(buf) {
                Ok(n) => {
                    self.last_active = now;
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `data` (one packet on seqpacket sockets): written now as far as
    /// the kernel takes it, the rest queued. Fails when the queue would pass
    /// the send limit or the socket has an error.
    pub(crate) fn send(&mut self, data: &[u8], now: Instant) -> io::Result<()> {
        let mut done = 0;
        if self.out.is_empty() && !self.connecting {
            done = write_some(&self.sock, data)?;
            if done > 0 {
                self.last_active = now;
            }
            if done == data.len() {
                return Ok(());
            }
        }
        let rest = &data[done..];
        if self.queued + rest.len() > self.send_limit {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "peer is not reading: send queue limit reached",
            ));
        }
        self.queued += rest.len();
        self.out.push_back(rest.to_vec());
        Ok(())
    }

    /// Writes queued output until the kernel stops taking it.
    pub(crate) fn flush(&mut self, now: Instant) -> io::Result<()> {
        while let Some(front) = self.out.front() {
            let n = write_some(&self.sock, &front[self.out_off..])?;
            if n == 0 {
                return Ok(());
            }
            self.last_active = now;
            self.out_off += n;
            self.queued -= n;
            if self.out_off == front.len() {
                self.out.pop_front();
                self.out_off = 0;
            }
        }
        Ok(())
    }

    /// Bytes waiting to be written.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// After a writable event during a connect: `Ok(true)` once connected,
    /// `Ok(false)` while still in progress, the error if it failed.
    pub(crate) fn finish_connect(&mut self) -> io::Result<bool> {
        if let Some(e) = self.sock.take_error()? {
            return Err(e);
        }
        match self.sock.peer_addr() {
            Ok(_) => {
                self.connecting = false;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The peer's uid on a Unix-domain connection (SO_PEERCRED).
    pub(crate) fn peer_uid(&self) -> Option<u32> {
        rustix::net::sockopt::socket_peercred(&self.sock)
            .ok()
            .map(|c| c.uid.as_raw())
    }

    /// The peer's primary gid on a Unix-domain connection (SO_PEERCRED).
    pub(crate) fn peer_gid(&self) -> Option<u32> {
        rustix::net::sockopt::socket_peercred(&self.sock)
            .ok()
            .map(|c| c.gid.as_raw())
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        self.sock.peer_addr().ok()?.as_socket()
    }
}

/// Writes once, retrying EINTR; 0 when the kernel buffer is full. A
/// packet socket takes a whole packet or none of it. Never raises SIGPIPE.
fn write_some(sock: &Socket, data: &[u8]) -> io::Result<usize> {
    loop {
        match sock.send_with_flags(data, libc::MSG_NOSIGNAL) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A listening TCP, Unix stream or Unix seqpacket socket.
#[derive(Debug)]
pub(crate) struct Listener {
    sock: Socket,
    pub(crate) packets: bool,
    pub(crate) opts: TcpOpts,
    /// Connections accepted here and still open.
    pub(crate) live: usize,
    /// When the last over-limit warning was logged.
    pub(crate) last_warn: Option<Instant>,
    /// Connections refused since that warning.
    pub(crate) refused: u64,
}

/// Over-limit warnings are logged at most this often per listener.
const WARN_EVERY: Duration = Duration::from_secs(10);

impl Listener {
    pub(crate) fn new(sock: Socket, packets: bool, opts: TcpOpts) -> Listener {
        Listener {
            sock,
            packets,
            opts,
            live: 0,
            last_warn: None,
            refused: 0,
        }
    }

    pub(crate) fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Accepts one connection (non-blocking, close-on-exec, and for TCP
    /// with Nagle's algorithm off: an answer is one small write that must
    /// not wait for the acknowledgement of the one before); `Ok(None)` when
    /// the backlog is drained.
    pub(crate) fn accept(&mut self) -> io::Result<Option<(Socket, Option<SocketAddr>)>> {
        loop {
            match self.sock.accept() {
                Ok((sock, peer)) => {
                    sock.set_nonblocking(true)?;
                    let peer = peer.as_socket();
                    if peer.is_some() {
                        if let Err(e) = sock.set_tcp_nodelay(true) {
                            log::debug!("TCP_NODELAY on a connection from {peer:?}: {e}");
                        }
                    }
                    return Ok(Some((sock, peer)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether another connection from `peer` may be kept: below
    /// `max_conns`, or for a loopback peer on a reserved port below
    /// `max_conns + local_reserve`.
    pub(crate) fn has_room(&self, peer: Option<SocketAddr>) -> bool {
        let local = peer.is_some_and(|p| p.ip().to_canonical().is_loopback() && p.port() < 1024);
        let limit = if local {
            self.opts.max_conns.saturating_add(self.opts.local_reserve)
        } else {
            self.opts.max_conns
        };
        self.live < limit
    }

    /// Counts a refused connection; true if a warning is due now.
    pub(crate) fn note_refused(&mut self, now: Instant) -> bool {
        self.refused += 1;
        let due = self
            .last_warn
            .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
        if due {
            self.last_warn = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Type};

    fn pair(ty: Type) -> (Conn, Socket) {
        let (a, b) = Socket::pair(Domain::UNIX, ty, None).expect("socketpair");
        a.set_nonblocking(true).expect("nonblocking");
        b.set_nonblocking(true).expect("nonblocking");
        (Conn::new(a, ty == Type::SEQPACKET, Instant::now()), b)
    }

    #[test]
    fn queues_what_the_kernel_refuses_and_flushes_in_order() {
        let (mut conn, peer) = pair(Type::STREAM);
        let now = Instant::now();
        let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        conn.send(&data, now).expect("send");
        assert!(
            conn.queued() > 0,
            "a 4 MB write should not fit a socket buffer"
        );
        let mut got = Vec::new();
        let mut buf = vec![0; 65536];
        while got.len() < data.len() {
            match (&peer).read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.flush(now).expect("flush"),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(conn.queued(), 0);
        assert!(got == data);
    }

    #[test]
    fn accepted_tcp_connections_do_not_wait_for_acknowledgements() {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("address");
        sock.bind(&addr.into()).expect("bind");
        sock.listen(4).expect("listen");
        let addr = sock
            .local_addr()
            .expect("address")
            .as_socket()
            .expect("inet");
        sock.set_nonblocking(true).expect("nonblocking");
        let mut listener = Listener::new(sock, false, TcpOpts::default());
        let _client = std::net::TcpStream::connect(addr).expect("connect");
        let accepted = (0..5000)
            .find_map(|_| {
                let got = listener.accept().expect("accept");
                if got.is_none() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                got
            })
            .expect("the connection is in the backlog");
        let (accepted, peer) = accepted;
        assert!(peer.is_some_and(|p| p.ip().is_loopback()));
        assert!(accepted.tcp_nodelay().expect("getsockopt"));
    }

    #[test]
    fn send_limit_fails_instead_of_growing() {
        let (mut conn, _peer) = pair(Type::STREAM);
        conn.send_limit = 1000;
        let big = vec![7u8; 8 << 20];
        let err = conn.send(&big, Instant::now()).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    }

    #[test]
    fn queued_packets_keep_their_boundaries() {
        let (mut conn, peer) = pair(Type::SEQPACKET);
        let now = Instant::now();
        let mut sent = 0usize;
        while conn.queued() == 0 {
            conn.send(&[sent as u8; 1000], now).expect("send");
            sent += 1;
        }
        conn.send(b"last", now).expect("queue");
        let mut buf = [0u8; 4096];
        let mut packets = 0;
        loop {
            match (&peer).read(&mut buf) {
                Ok(4) => break,
                Ok(n) => {
                    assert_eq!(n, 1000);
                    assert_eq!(buf[0], packets as u8);
                    packets += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.flush(now).expect("flush"),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(packets, sent);
        assert_eq!(&buf[..4], b"last");
    }
}
