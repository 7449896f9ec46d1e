//! A module's handle on the reactor. Everything opened here belongs to the
//! calling module; ids of other modules' sources are `NotFound`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::child::ChildProc;
use super::core::{Core, Source, TimerOwner, SIGNAL_TOKEN, WAKE_TOKEN, WATCH_TOKEN};
use super::signal::SignalHub;
use super::stream::{Conn, Listener, TcpOpts};
use super::unix::UnixKind;
use super::wake::{WakeHub, WakeId, Waker};
use super::watch::Watcher;
use super::{fifo, net, unix, ChildId, ModuleId, SourceId, TimerId, WatchId};
use inotify::WatchMask;

/// The reactor as seen by one module during `start` or `on_event`.
#[derive(Debug)]
pub struct Context<'a> {
    core: &'a mut Core,
    module: ModuleId,
}

impl<'a> Context<'a> {
    pub(crate) fn new(core: &'a mut Core, module: ModuleId) -> Context<'a> {
        Context { core, module }
    }

    /// The reactor clock's current time.
    pub fn now(&self) -> Instant {
        self.core.now()
    }

    /// Asks the reactor to stop after this round; `Reactor::run` returns
    /// `code`. (A host of several daemons learns who asked from
    /// `Reactor::take_exit` and stops that daemon alone.)
    pub fn exit(&mut self, code: i32) {
        self.core.exit = Some(code);
        self.core.exits.push_back((self.module, code));
    }

    /// Starts another module on the same reactor (its `start` runs now)
    /// and returns its id. It gets events from the next one on.
    pub fn add_module(&mut self, module: Box<dyn super::Module>) -> io::Result<ModuleId> {
        self.core.start_module(module, Some(self.module))
    }

    fn add(&mut self, source: Source) -> io::Result<SourceId> {
        self.core.insert(self.module, source).map(SourceId)
    }

    // ---- UDP ----

    /// A UDP socket bound to `addr` (port 0: any free port). Returns the
    /// address actually bound. IPv6 sockets are V6ONLY.
    pub fn udp_bind(&mut self, addr: SocketAddr) -> io::Result<(SourceId, SocketAddr)> {
        let sock = net::udp_bind(addr)?;
        let local = sock.local_addr()?;
        Ok((self.add(Source::Udp(sock))?, local))
    }

    /// A UDP socket on `ip` and the highest free reserved port
    /// (bindresvport); EACCES without privilege.
    pub fn udp_bind_reserved(&mut self, ip: IpAddr) -> io::Result<(SourceId, SocketAddr)> {
        let sock = net::udp_bind_reserved(ip)?;
        let local = sock.local_addr()?;
        Ok((self.add(Source::Udp(sock))?, local))
    }

    /// Sends one datagram. A full socket buffer drops it (logged at debug),
    /// as UDP would; other errors are returned.
    pub fn send_to(&mut self, sock: SourceId, to: SocketAddr, data: &[u8]) -> io::Result<()> {
        let Source::Udp(s) = self.core.owned(self.module, sock)? else {
            return Err(wrong_kind("a UDP socket"));
        };
        loop {
            return match s.send_to(data, to) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    log::debug!("dropped {} bytes to {to}: send buffer full", data.len());
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    // ---- TCP and connections ----

    /// A TCP listener on `addr`; accepted connections arrive as
    /// `Event::Accepted` and are limited by `opts`.
    pub fn tcp_listen(
        &mut self,
        addr: SocketAddr,
        opts: TcpOpts,
    ) -> io::Result<(SourceId, SocketAddr)> {
        let sock = net::tcp_listen(addr)?;
        let local = sock
            .local_addr()?
            .as_socket()
            .ok_or_else(|| wrong_kind("an internet socket"))?;
        let id = self.add(Source::Listener(Listener::new(sock, false, opts)))?;
        Ok((id, local))
    }

    /// Starts a non-blocking connect to `addr`, from a reserved local port
    /// if asked. `Event::Connected` or `Event::Closed` tells the outcome;
    /// data sent before that is queued.
    pub fn tcp_connect(
        &mut self,
        addr: SocketAddr,
        from_reserved_port: bool,
    ) -> io::Result<SourceId> {
        let sock = net::tcp_connect(addr, from_reserved_port)?;
        let mut conn = Conn::new(sock, false, self.core.now());
        conn.connecting = true;
        self.core.insert_conn(self.module, conn).map(SourceId)
    }

    /// Sends on a connection (TCP, Unix stream or seqpacket, where `data`
    /// is one packet): written now as far as the kernel takes it, the rest
    /// queued and flushed when writable. On error (including a queue over
    /// the send limit) the connection is closed, the error returned, and
    /// `Event::Closed` with the error follows.
    pub fn send(&mut self, conn: SourceId, data: &[u8]) -> io::Result<()> {
        let now = self.core.now();
        let Source::Conn(c) = self.core.owned(self.module, conn)? else {
            return Err(wrong_kind("a connection"));
        };
        if let Err(e) = c.send(data, now) {
            let report = io::Error::new(e.kind(), e.to_string());
            self.core.close_reporting(conn.0, Some(report));
            return Err(e);
        }
        Ok(())
    }

    /// Sets the most output a connection may queue (default
    /// [`DEFAULT_SEND_LIMIT`](super::DEFAULT_SEND_LIMIT)).
    pub fn set_send_limit(&mut self, conn: SourceId, bytes: usize) -> io::Result<()> {
        let Source::Conn(c) = self.core.owned(self.module, conn)? else {
            return Err(wrong_kind("a connection"));
        };
        c.send_limit = bytes;
        Ok(())
    }

    /// Asks for a receive buffer of `bytes` on a UDP socket: beyond
    /// `net.core.rmem_max` when privileged (`SO_RCVBUFFORCE`), else capped
    /// there; returns the size in force (the kernel doubles what it grants).
    pub fn set_recv_buffer(&mut self, sock: SourceId, bytes: usize) -> io::Result<usize> {
        let Source::Udp(s) = self.core.owned(self.module, sock)? else {
            return Err(wrong_kind("a UDP socket"));
        };
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&*s, bytes).is_err() {
            rustix::net::sockopt::set_socket_recv_buffer_size(&*s, bytes)?;
        }
        Ok(rustix::net::sockopt::socket_recv_buffer_size(&*s)?)
    }

    /// Output bytes queued on a connection.
    pub fn queued(&mut self, conn: SourceId) -> io::Result<usize> {
        match self.core.owned(self.module, conn)? {
            Source::Conn(c) => Ok(c.queued()),
            _ => Err(wrong_kind("a connection")),
        }
    }

    /// Closes any source at once (queued output is dropped). No
    /// `Event::Closed` follows.
    pub fn close(&mut self, id: SourceId) -> io::Result<()> {
        self.core.owned(self.module, id)?;
        self.core.close(id.0);
        Ok(())
    }

    /// Hands a connection's socket over (to a child process, say): the
    /// source is closed here (its queued output dropped, no
    /// `Event::Closed` follows) and a duplicate of its descriptor, still
    /// non-blocking and close-on-exec, is returned.
    pub fn take_socket(&mut self, conn: SourceId) -> io::Result<OwnedFd> {
        let Source::Conn(c) = self.core.owned(self.module, conn)? else {
            return Err(wrong_kind("a connection"));
        };
        let dup = c.socket().try_clone()?;
        self.core.close(conn.0);
        Ok(OwnedFd::from(dup))
    }

    /// Takes a connected stream socket this process was handed (by its
    /// parent, say) onto the reactor as a connection: its bytes arrive as
    /// `Event::Stream`, and [`Context::send`] writes to it.
    pub fn adopt_stream(&mut self, fd: OwnedFd) -> io::Result<SourceId> {
        let sock = socket2::Socket::from(fd);
        sock.set_nonblocking(true)?;
        let conn = Conn::new(sock, false, self.core.now());
        self.core.insert_conn(self.module, conn).map(SourceId)
    }

    /// The remote address of a TCP connection.
    pub fn peer_addr(&mut self, conn: SourceId) -> Option<SocketAddr> {
        match self.core.owned(self.module, conn).ok()? {
            Source::Conn(c) => c.peer_addr(),
            _ => None,
        }
    }

    /// The uid of the process at the other end of a Unix-domain connection.
    pub fn peer_uid(&mut self, conn: SourceId) -> Option<u32> {
        match self.core.owned(self.module, conn).ok()? {
            Source::Conn(c) => c.peer_uid(),
            _ => None,
        }
    }

    /// The primary gid of the process at the other end of a Unix-domain
    /// connection.
    pub fn peer_gid(&mut self, conn: SourceId) -> Option<u32> {
        match self.core.owned(self.module, conn).ok()? {
            Source::Conn(c) => c.peer_gid(),
            _ => None,
        }
    }

    /// The local address of a UDP socket, TCP listener or connection.
    pub fn local_addr(&mut self, id: SourceId) -> Option<SocketAddr> {
        match self.core.owned(self.module, id).ok()? {
            Source::Udp(s) => s.local_addr().ok(),
            Source::Listener(l) => l.socket().local_addr().ok()?.as_socket(),
            Source::Conn(c) => c.socket().local_addr().ok()?.as_socket(),
            _ => None,
        }
    }

    // ---- Unix sockets and FIFOs ----

    /// A Unix stream or seqpacket listener at `path` (a stale socket file
    /// there is removed first).
    pub fn unix_listen(&mut self, path: &Path, kind: UnixKind) -> io::Result<SourceId> {
        let sock = unix::listen(path, kind)?;
        let packets = kind == UnixKind::Seqpacket;
        self.add(Source::Listener(Listener::new(
            sock,
            packets,
            TcpOpts::default(),
        )))
    }

    /// A Unix datagram socket bound at `path`.
    pub fn unix_dgram_bind(&mut self, path: &Path) -> io::Result<SourceId> {
        let sock = unix::dgram_bind(path)?;
        self.add(Source::UnixDgram(sock))
    }

    /// Sends one datagram from `sock` to the socket at `to`. A full receiver
    /// drops it (logged at debug); other errors are returned.
    pub fn unix_send_to(&mut self, sock: SourceId, to: &Path, data: &[u8]) -> io::Result<()> {
        let Source::UnixDgram(s) = self.core.owned(self.module, sock)? else {
            return Err(wrong_kind("a Unix datagram socket"));
        };
        loop {
            return match s.send_to(data, to) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    log::debug!(
                        "dropped {} bytes to {}: receiver full",
                        data.len(),
                        to.display()
                    );
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Opens (creating with mode 0600 if missing) the FIFO at `path` for
    /// reading; writes into it arrive as `Event::FifoData`.
    pub fn fifo_open(&mut self, path: &Path) -> io::Result<SourceId> {
        let file = fifo::open(path)?;
        self.add(Source::Fifo(file))
    }

    // ---- timers, signals, children, watches ----

    /// A timer firing `Event::Timer` once `now() >= at`.
    pub fn set_timer(&mut self, at: Instant) -> TimerId {
        TimerId(self.core.timers.insert(at, TimerOwner::Module(self.module)))
    }

    /// Cancels a timer of this module; false if it already fired.
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        if self.core.timers.owner(id.0) != Some(&TimerOwner::Module(self.module)) {
            return false;
        }
        self.core.timers.cancel(id.0)
    }

    /// Delivers `sig` to this module as `Event::Signal`. The signal's
    /// default action (e.g. terminating on SIGTERM) is replaced for the
    /// whole process.
    pub fn watch_signal(&mut self, sig: i32) -> io::Result<()> {
        if self.core.signals.is_none() {
            self.core.signals = Some(SignalHub::new(&self.core.registry, SIGNAL_TOKEN)?);
        }
        match self.core.signals.as_mut() {
            Some(hub) => hub.subscribe(sig, self.module),
            None => Ok(()),
        }
    }

    /// Starts a child; its exit arrives as `Event::ChildExited`.
    pub fn spawn(&mut self, cmd: Command) -> io::Result<(ChildId, u32)> {
        let child = ChildProc::spawn(cmd)?;
        let pid = child.pid();
        let key = self.core.insert(self.module, Source::Child(child))?;
        Ok((ChildId(key), pid))
    }

    /// Sends SIGKILL to a child that has not been reported as exited.
    pub fn kill_child(&mut self, child: ChildId) -> io::Result<()> {
        match self.core.owned(self.module, SourceId(child.0))? {
            Source::Child(c) => c.kill(),
            _ => Err(wrong_kind("a child")),
        }
    }

    /// Watches `path` with inotify; events arrive as `Event::FileChanged`.
    /// A path already watched (by anyone) is `AlreadyExists`.
    pub fn watch_path(&mut self, path: &Path, mask: WatchMask) -> io::Result<WatchId> {
        if self.core.watcher.is_none() {
            self.core.watcher = Some(Watcher::new(&self.core.registry, WATCH_TOKEN)?);
        }
        match self.core.watcher.as_mut() {
            Some(w) => w.add(path, mask, self.module),
            None => Err(io::Error::other("no inotify instance")),
        }
    }

    /// Removes a watch of this module.
    pub fn unwatch_path(&mut self, watch: WatchId) -> io::Result<()> {
        match self.core.watcher.as_mut() {
            Some(w) if w.owner(watch) == Some(self.module) => w.remove(watch),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such watch")),
        }
    }

    /// Watches `fd` for POLLPRI (sysfs attributes, /proc/mdstat, TCP
    /// urgent data); each edge arrives as `Event::Priority` and the module
    /// re-reads the file. Regular files cannot be polled (EPERM).
    pub fn watch_priority(&mut self, fd: impl Into<OwnedFd>) -> io::Result<SourceId> {
        self.add(Source::Priority(fd.into()))
    }

    // ---- other threads ----

    /// A handle a worker thread uses to wake this module: each
    /// [`Waker::wake`] leads to one [`super::Event::Woken`] on the reactor
    /// thread (wakes that arrive before it is delivered are merged).
    pub fn waker(&mut self) -> io::Result<Waker> {
        let hub = match &self.core.wake_hub {
            Some(hub) => hub.clone(),
            None => {
                let hub = std::sync::Arc::new(WakeHub::new(&self.core.registry, WAKE_TOKEN)?);
                self.core.wake_hub = Some(hub.clone());
                hub
            }
        };
        let id = WakeId(self.core.next_wake);
        self.core.next_wake += 1;
        Ok(Waker::new(hub, self.module, id))
    }
}

fn wrong_kind(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("source is not {what}"))
}
