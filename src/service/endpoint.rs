//! An RPC endpoint on the reactor: UDP and TCP listeners over IPv4 and IPv6
//! on one port, feeding an [`RpcServer`] and sending its replies back.
//!
//! The programs are not owned here (the daemon owns them); every event is
//! handed in together with the program list.

use crate::proto::rpcb::Netid;
use crate::reactor::{Context, Event, SourceId, TcpOpts, UnixKind};
use crate::rpc::record::{self, RecordReader};
use crate::rpc::server::{Outcome, RpcServer, ServerConfig};
use crate::rpc::{Caller, Dispatch, Program, ReplyTo, Transport};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// Largest TCP record accepted (libtirpc's RPC_MAXDATASIZE is 9000).
pub const MAX_RECORD: usize = 9000;

/// TCP connections from loopback callers on reserved ports (the lock
/// manager) kept beyond the connection limit, so remote or unprivileged
/// peers filling it cannot lock them out.
pub const LOCAL_RESERVE: usize = 256;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Fixed port, or `None` for one chosen by the kernel (the same for all four).
    pub port: Option<u16>,
    /// IPv4 address to bind (normally 0.0.0.0).
    pub v4: Ipv4Addr,
    /// IPv6 address to bind (normally ::); `None` to skip IPv6.
    pub v6: Option<Ipv6Addr>,
    /// A local (AF_UNIX stream) socket to serve as well, as rpcbind serves
    /// `/run/rpcbind.sock`; created mode 0666, callers identified by uid.
    pub local: Option<PathBuf>,
    /// Limits for TCP connections.
    pub tcp: TcpOpts,
    /// Largest TCP record accepted; a longer one closes the connection.
    pub max_record: usize,
    /// RPC server limits.
    pub server: ServerConfig,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            port: None,
            v4: Ipv4Addr::UNSPECIFIED,
            v6: Some(Ipv6Addr::UNSPECIFIED),
            local: None,
            tcp: TcpOpts {
                max_conns: 1024,
                idle_timeout: Some(Duration::from_secs(300)),
                local_reserve: LOCAL_RESERVE,
            },
            server: ServerConfig::default(),
            max_record: MAX_RECORD,
        }
    }
}

struct Conn {
    caller: Caller,
    records: RecordReader,
}

/// Where a deferred reply goes.
#[derive(Debug, Clone, Copy)]
enum ReplyPath {
    Udp(SourceId),
    Tcp(SourceId),
}

/// Listeners plus per-connection record state for one RPC service.
pub struct RpcEndpoint {
    server: RpcServer,
    udp: Vec<SourceId>,
    listeners: Vec<SourceId>,
    local: Option<SourceId>,
    conns: HashMap<SourceId, Conn>,
    deferred: HashMap<ReplyTo, ReplyPath>,
    bound: Vec<(Netid, SocketAddr)>,
    max_record: usize,
    /// Warnings about records over the limit or malformed.
    record_warn: crate::log::RateLimit,
}

impl RpcEndpoint {
    /// Opens the listeners. With no fixed port, the port the kernel gives the
    /// IPv4 UDP socket is used for the other three, retrying a few times if
    /// another service holds it on one of them. IPv6 is skipped with a
    /// warning when the host has none.
    pub fn bind(cx: &mut Context<'_>, cfg: &EndpointConfig) -> io::Result<RpcEndpoint> {
        let tries = if cfg.port.is_some() { 1 } else { 8 };
        let mut last_err = None;
        for _ in 0..tries {
            match Self::bind_once(cx, cfg) {
                Ok(ep) => return Ok(ep),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
    }

    fn bind_once(cx: &mut Context<'_>, cfg: &EndpointConfig) -> io::Result<RpcEndpoint> {
        let mut ep = RpcEndpoint {
            server: RpcServer::new(cfg.server),
            udp: Vec::new(),
            listeners: Vec::new(),
            local: None,
            conns: HashMap::new(),
            deferred: HashMap::new(),
            bound: Vec::new(),
            max_record: cfg.max_record,
            record_warn: crate::log::RateLimit::default(),
        };
        let result = ep.open_all(cx, cfg);
        if result.is_err() {
            ep.close(cx);
        }
        result.map(|()| ep)
    }

    fn open_all(&mut self, cx: &mut Context<'_>, cfg: &EndpointConfig) -> io::Result<()> {
        let v4 = IpAddr::V4(cfg.v4);
        let at = SocketAddr::new(v4, cfg.port.unwrap_or(0));
        let (id, udp4) = cx.udp_bind(at).map_err(|e| naming(e, "udp", at))?;
        self.udp.push(id);
        self.bound.push((Netid::Udp, udp4));
        let port = udp4.port();
        let at = SocketAddr::new(v4, port);
        let (id, tcp4) = cx
            .tcp_listen(at, cfg.tcp)
            .map_err(|e| naming(e, "tcp", at))?;
        self.listeners.push(id);
        self.bound.push((Netid::Tcp, tcp4));
        if let Some(v6) = cfg.v6 {
            let v6 = IpAddr::V6(v6);
            match cx.udp_bind(SocketAddr::new(v6, port)) {
                Ok((id, a)) => {
                    self.udp.push(id);
                    self.bound.push((Netid::Udp6, a));
                    let at = SocketAddr::new(v6, port);
                    let (id, a) = cx
                        .tcp_listen(at, cfg.tcp)
                        .map_err(|e| naming(e, "tcp6", at))?;
                    self.listeners.push(id);
                    self.bound.push((Netid::Tcp6, a));
                }
                Err(e) if no_ipv6(&e) => {
                    log::warn!("no IPv6 on this host ({e}); serving IPv4 only");
                }
                Err(e) => return Err(naming(e, "udp6", SocketAddr::new(v6, port))),
            }
        }
        if let Some(path) = &cfg.local {
            let id = cx
                .unix_listen(path, UnixKind::Stream)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            self.local = Some(id);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
        }
        Ok(())
    }

    /// The transports and addresses actually bound.
    pub fn bound(&self) -> &[(Netid, SocketAddr)] {
        &self.bound
    }

    /// The port all transports share.
    pub fn port(&self) -> u16 {
        self.bound.first().map_or(0, |(_, a)| a.port())
    }

    /// Closes every socket of the endpoint.
    pub fn close(&mut self, cx: &mut Context<'_>) {
        let conns: Vec<SourceId> = self.conns.keys().copied().collect();
        let local = self.local.take();
        for id in self
            .udp
            .drain(..)
            .chain(self.listeners.drain(..))
            .chain(local)
            .chain(conns)
        {
            let _ = cx.close(id);
        }
        self.conns.clear();
    }

    /// Handles `ev` if it belongs to this endpoint; returns whether it did.
    pub fn handle_event(
        &mut self,
        cx: &mut Context<'_>,
        ev: &Event<'_>,
        programs: &mut [&mut dyn Program],
    ) -> bool {
        match ev {
            Event::Datagram { sock, from, data } if self.udp.contains(sock) => {
                let caller = Caller {
                    addr: *from,
                    transport: Transport::Udp,
                };
                match self.server.handle(cx.now(), caller, data, programs) {
                    Outcome::Reply(reply) => send_udp(cx, *sock, *from, &reply),
                    Outcome::Deferred(token) => {
                        self.deferred.insert(token, ReplyPath::Udp(*sock));
                    }
                    Outcome::Drop => {}
                }
                true
            }
            Event::Accepted {
                listener,
                conn,
                peer,
            } if self.listeners.contains(listener) => {
                if let Some(peer) = peer {
                    let caller = Caller {
                        addr: *peer,
                        transport: Transport::Tcp,
                    };
                    self.accept(*conn, caller);
                }
                true
            }
            Event::Accepted { listener, conn, .. } if Some(*listener) == self.local => {
                match cx.peer_uid(*conn) {
                    Some(uid) => self.accept(*conn, Caller::local(uid)),
                    None => {
                        let _ = cx.close(*conn);
                    }
                }
                true
            }
            Event::Stream { conn, data } if self.conns.contains_key(conn) => {
                self.on_stream(cx, *conn, data, programs);
                true
            }
            Event::Closed { conn, .. } if self.conns.contains_key(conn) => {
                self.conns.remove(conn);
                true
            }
            _ => false,
        }
    }

    fn accept(&mut self, conn: SourceId, caller: Caller) {
        let records = RecordReader::new(self.max_record);
        self.conns.insert(conn, Conn { caller, records });
    }

    fn on_stream(
        &mut self,
        cx: &mut Context<'_>,
        conn: SourceId,
        data: &[u8],
        programs: &mut [&mut dyn Program],
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.records.push(data);
        let caller = c.caller;
        // The replies to every record of this read go out in one write.
        let mut out = Vec::new();
        let close = loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            match c.records.poll_record() {
                None => break false,
                Some(Err(e)) => {
                    if let Some(more) = self.record_warn.allow(cx.now()) {
                        log::warn!(
                            "closing connection from {}: {e} ({more} more since the last warning)",
                            caller.addr
                        );
                    }
                    break true;
                }
                Some(Ok(rec)) => match self.server.handle(cx.now(), caller, &rec, programs) {
                    Outcome::Reply(reply) => record::frame_into(&reply, &mut out),
                    Outcome::Deferred(token) => {
                        self.deferred.insert(token, ReplyPath::Tcp(conn));
                    }
                    Outcome::Drop => {}
                },
            }
        };
        if !out.is_empty() {
            let _ = cx.send(conn, &out);
        }
        if close {
            self.conns.remove(&conn);
            let _ = cx.close(conn);
        }
    }

    /// Sends the reply of a call a program deferred. A TCP connection that
    /// has gone meanwhile loses its reply (the client resends on a new one).
    pub fn complete(&mut self, cx: &mut Context<'_>, token: ReplyTo, result: Dispatch) {
        let Some(path) = self.deferred.remove(&token) else {
            return;
        };
        let Some((caller, reply)) = self.server.complete(cx.now(), token, result) else {
            return;
        };
        match path {
            ReplyPath::Udp(sock) => send_udp(cx, sock, caller.addr, &reply),
            ReplyPath::Tcp(conn) if self.conns.contains_key(&conn) => {
                let _ = cx.send(conn, &record::frame(&reply));
            }
            ReplyPath::Tcp(_) => {}
        }
    }
}

fn send_udp(cx: &mut Context<'_>, sock: SourceId, to: SocketAddr, reply: &[u8]) {
    if let Err(e) = cx.send_to(sock, to, reply) {
        log::debug!("reply to {to} not sent: {e}");
    }
}

fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)
    )
}

/// `e` with the transport and address it concerns (`udp 0.0.0.0:662: ...`).
/// The kind is kept: [`RpcEndpoint::bind`] retries on `AddrInUse`.
fn naming(e: io::Error, netid: &str, at: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("{netid} {at}: {e}"))
}
