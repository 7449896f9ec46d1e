//! Turning readiness into module events: each ready source is drained
//! until `WouldBlock`, due timers fire in deadline order, and sources the
//! reactor closed are reported.
//!
//! Fairness: a datagram socket gives at most [`DATAGRAM_BUDGET`] datagrams
//! per turn. A flood can keep a socket from ever reaching `WouldBlock`,
//! and draining it whole would starve every other source (a lock manager's
//! TCP connection, timers) for as long as the flood lasts; a socket that
//! used its budget is carried to the next turn ([`Reactor::carry`]), which
//! polls without waiting, so it is drained to the end all the same.

use std::io::{self, Read};
use std::time::Instant;

use mio::Token;

use super::core::{Source, TimerOwner, SIGNAL_TOKEN, WAKE_TOKEN, WATCH_TOKEN};
use super::slab::Key;
use super::stream::Conn;
use super::{deliver, ChildId, Event, Reactor, SourceId, TimerId};

/// The readiness flags of one mio event, copied out of `Events`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ready {
    readable: bool,
    writable: bool,
    /// Error or hang-up: reading will tell which.
    broken: bool,
}

impl From<&mio::event::Event> for Ready {
    fn from(e: &mio::event::Event) -> Ready {
        Ready {
            readable: e.is_readable(),
            writable: e.is_writable(),
            broken: e.is_error() || e.is_read_closed() || e.is_write_closed(),
        }
    }
}

/// Most datagrams one socket delivers per turn.
pub(crate) const DATAGRAM_BUDGET: usize = 64;

impl Ready {
    /// Readable only: a carried socket's readiness.
    pub(crate) fn readable() -> Ready {
        Ready {
            readable: true,
            writable: false,
            broken: false,
        }
    }
}

impl Reactor {
    pub(super) fn dispatch(&mut self, token: Token, ready: Ready) {
        match token {
            SIGNAL_TOKEN => self.on_signals(),
            WATCH_TOKEN => self.on_changes(),
            WAKE_TOKEN => self.on_wakes(),
            _ => {
                if let Some(key) = Key::from_token(token) {
                    self.on_source(key, ready);
                }
            }
        }
        self.deliver_closed();
    }

    fn on_wakes(&mut self) {
        let Some(hub) = self.core.wake_hub.clone() else {
            return;
        };
        for (module, id) in hub.take() {
            deliver(&mut self.modules, &mut self.core, module, Event::Woken(id));
        }
    }

    fn on_source(&mut self, key: Key, ready: Ready) {
        let Some(entry) = self.core.sources.get(key) else {
            return; // closed earlier in this round
        };
        let owner = entry.owner;
        match &entry.source {
            Source::Udp(_) => self.drain_udp(key),
            Source::UnixDgram(_) => self.drain_unix_dgram(key),
            Source::Listener(_) => self.drain_accept(key),
            Source::Conn(_) => self.on_conn(key, ready),
            Source::Fifo(_) => self.drain_fifo(key),
            Source::Child(_) => self.on_child(key),
            Source::Priority(_) => {
                let ev = Event::Priority {
                    source: SourceId(key),
                };
                deliver(&mut self.modules, &mut self.core, owner, ev);
            }
        }
    }

    /// Runs the sources carried from the last turn that this turn's events
    /// did not carry again (those were just drained).
    pub(super) fn dispatch_carried(&mut self, carried: Vec<Key>) {
        for key in carried {
            if !self.carry.contains(&key) {
                self.on_source(key, Ready::readable());
                self.deliver_closed();
            }
        }
    }

    fn drain_udp(&mut self, key: Key) {
        for _ in 0..DATAGRAM_BUDGET {
            let Some(entry) = self.core.sources.get_mut(key) else {
                return;
            };
            let owner = entry.owner;
            let Source::Udp(sock) = &mut entry.source else {
                return;
            };
            match sock.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let data = &self.buf[..n];
                    let sock = SourceId(key);
                    let ev = Event::Datagram { sock, from, data };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if transient(&e) => log::debug!("udp recv: {e}"),
                Err(e) => return self.core.close_reporting(key, Some(e)),
            }
        }
        self.carry.push(key);
    }

    fn drain_unix_dgram(&mut self, key: Key) {
        for _ in 0..DATAGRAM_BUDGET {
            let Some(entry) = self.core.sources.get_mut(key) else {
                return;
            };
            let owner = entry.owner;
            let Source::UnixDgram(sock) = &mut entry.source else {
                return;
            };
            match sock.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let from = from.as_pathname().map(|p| p.to_path_buf());
                    let data = &self.buf[..n];
                    let sock = SourceId(key);
                    let ev = Event::UnixDatagram { sock, from, data };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if transient(&e) => log::debug!("unix recv: {e}"),
                Err(e) => return self.core.close_reporting(key, Some(e)),
            }
        }
        self.carry.push(key);
    }

    fn drain_accept(&mut self, key: Key) {
        let now = self.core.now();
        loop {
            let Some(entry) = self.core.sources.get_mut(key) else {
                return;
            };
            let owner = entry.owner;
            let Source::Listener(listener) = &mut entry.source else {
                return;
            };
            let (sock, peer) = match listener.accept() {
                Ok(Some(accepted)) => accepted,
                Ok(None) => return,
                Err(e) if transient(&e) => continue,
                Err(e) => {
                    // EMFILE and the like: keep the listener, try again on
                    // the next connection.
                    log::warn!("accept: {e}");
                    return;
                }
            };
            if !listener.has_room(peer) {
                if listener.note_refused(now) {
                    log::warn!(
                        "connection from {peer:?} refused: {} connections open (limit {}); {} refused",
                        listener.live,
                        listener.opts.max_conns,
                        listener.refused,
                    );
                }
                continue; // `sock` is dropped, which closes it
            }
            let mut conn = Conn::new(sock, listener.packets, now);
            conn.listener = Some(key);
            conn.idle_timeout = listener.opts.idle_timeout;
            match self.core.insert_conn(owner, conn) {
                Ok(conn) => {
                    let listener = SourceId(key);
                    let conn = SourceId(conn);
                    let ev = Event::Accepted {
                        listener,
                        conn,
                        peer,
                    };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                }
                Err(e) => log::warn!("register accepted connection: {e}"),
            }
        }
    }

    fn on_conn(&mut self, key: Key, ready: Ready) {
        let now = self.core.now();
        let Some(entry) = self.core.sources.get_mut(key) else {
            return;
        };
        let owner = entry.owner;
        let Source::Conn(conn) = &mut entry.source else {
            return;
        };
        if conn.connecting {
            match conn.finish_connect() {
                Ok(true) => {
                    let ev = Event::Connected {
                        conn: SourceId(key),
                    };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                    self.flush_conn(key, now);
                }
                Ok(false) => return,
                Err(e) => return self.core.close_reporting(key, Some(e)),
            }
        } else if ready.writable {
            self.flush_conn(key, now);
        }
        if ready.readable || ready.broken {
            self.drain_conn(key, now);
        }
    }

    fn flush_conn(&mut self, key: Key, now: Instant) {
        if let Some(Source::Conn(conn)) = self.core.source_mut(key) {
            if let Err(e) = conn.flush(now) {
                self.core.close_reporting(key, Some(e));
            }
        }
    }

    fn drain_conn(&mut self, key: Key, now: Instant) {
        loop {
            let Some(entry) = self.core.sources.get_mut(key) else {
                return;
            };
            let owner = entry.owner;
            let Source::Conn(conn) = &mut entry.source else {
                return;
            };
            let packets = conn.packets;
            match conn.read(&mut self.buf, now) {
                Ok(None) => return,
                Ok(Some(0)) => return self.core.close_reporting(key, None),
                Ok(Some(n)) => {
                    let conn = SourceId(key);
                    let data = &self.buf[..n];
                    let ev = if packets {
                        Event::Packet { conn, data }
                    } else {
                        Event::Stream { conn, data }
                    };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                }
                Err(e) => return self.core.close_reporting(key, Some(e)),
            }
        }
    }

    fn drain_fifo(&mut self, key: Key) {
        loop {
            let Some(entry) = self.core.sources.get_mut(key) else {
                return;
            };
            let owner = entry.owner;
            let Source::Fifo(file) = &mut entry.source else {
                return;
            };
            match file.read(&mut self.buf) {
                // Only possible if the FIFO was not opened read-write.
                Ok(0) => return,
                Ok(n) => {
                    let data = &self.buf[..n];
                    let ev = Event::FifoData {
                        source: SourceId(key),
                        data,
                    };
                    deliver(&mut self.modules, &mut self.core, owner, ev);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.core.close_reporting(key, Some(e)),
            }
        }
    }

    fn on_child(&mut self, key: Key) {
        let Some(entry) = self.core.sources.get_mut(key) else {
            return;
        };
        let owner = entry.owner;
        let Source::Child(child) = &mut entry.source else {
            return;
        };
        let pid = child.pid();
        match child.try_wait() {
            Ok(Some(status)) => {
                self.core.close(key);
                let ev = Event::ChildExited {
                    child: ChildId(key),
                    pid,
                    status,
                };
                deliver(&mut self.modules, &mut self.core, owner, ev);
            }
            Ok(None) => {}
            Err(e) => {
                log::error!("wait for child {pid}: {e}");
                self.core.close(key);
            }
        }
    }

    fn on_signals(&mut self) {
        let Some(hub) = self.core.signals.as_mut() else {
            return;
        };
        for (sig, subscribers) in hub.drain() {
            for module in subscribers {
                deliver(
                    &mut self.modules,
                    &mut self.core,
                    module,
                    Event::Signal(sig),
                );
            }
        }
    }

    fn on_changes(&mut self) {
        let Some(watcher) = self.core.watcher.as_mut() else {
            return;
        };
        let changes = match watcher.drain() {
            Ok(changes) => changes,
            Err(e) => {
                log::error!("inotify read: {e}");
                return;
            }
        };
        for c in changes {
            let ev = Event::FileChanged {
                watch: c.watch,
                name: c.name,
                mask: c.mask,
            };
            deliver(&mut self.modules, &mut self.core, c.module, ev);
        }
    }

    /// Fires every timer due at `clock.now()`, in deadline order.
    pub(super) fn fire_timers(&mut self) {
        let now = self.core.now();
        for (seq, owner) in self.core.timers.take_due(now) {
            match owner {
                TimerOwner::Module(module) => {
                    let ev = Event::Timer(TimerId(seq));
                    deliver(&mut self.modules, &mut self.core, module, ev);
                }
                TimerOwner::Idle(key) => self.check_idle(key, now),
            }
            self.deliver_closed();
        }
    }

    /// Closes a connection idle past its timeout, or re-arms its check.
    fn check_idle(&mut self, key: Key, now: Instant) {
        let Some(Source::Conn(conn)) = self.core.source_mut(key) else {
            return;
        };
        let Some(idle) = conn.idle_timeout else {
            return;
        };
        let due = conn.last_active + idle;
        if due <= now {
            let e = io::Error::new(io::ErrorKind::TimedOut, "idle timeout");
            self.core.close_reporting(key, Some(e));
        } else {
            self.core.timers.insert(due, TimerOwner::Idle(key));
        }
    }

    /// Reports the sources the reactor closed since the last call.
    pub(super) fn deliver_closed(&mut self) {
        while let Some((module, conn, error)) = self.core.closed.pop_front() {
            let ev = Event::Closed { conn, error };
            deliver(&mut self.modules, &mut self.core, module, ev);
        }
    }
}

/// Receive errors that leave the socket usable: EINTR, and ICMP errors
/// (port unreachable) from an earlier send, or an aborted connection.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
    )
}
