//! The callback engine ([`Callbacks`]) on the reactor: one UDP socket on a
//! reserved port of 127.0.0.1 (opened while still privileged) for the
//! portmapper queries and UDP calls, TCP connections from reserved ports
//! for the TCP fallback, and one timer.

use crate::reactor::{Context, Deadline, Event, SourceId};
use crate::rpc::client::CallId;
use crate::rpc::record::{frame, RecordReader};
use crate::service::endpoint::MAX_RECORD;
use crate::statd::callback::{CallbackPolicy, Callbacks, Transmit};
use crate::statd::core::Callback;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

struct Exchange {
    call: CallId,
    records: RecordReader,
}

/// Callbacks to the local lock manager, with their sockets.
pub struct CallbackIo {
    engine: Callbacks,
    sock: SourceId,
    local: SocketAddr,
    conns: HashMap<SourceId, Exchange>,
    by_call: HashMap<CallId, SourceId>,
    timer: Deadline,
}

impl CallbackIo {
    /// Binds the callback socket: a reserved port on 127.0.0.1 (needs
    /// privilege; falls back to an ordinary port with a warning, which the
    /// Linux kernel will refuse).
    pub fn open(cx: &mut Context<'_>, first_xid: u32) -> io::Result<CallbackIo> {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (sock, local) = match cx.udp_bind_reserved(lo) {
            Ok(bound) => bound,
            Err(e) => {
                log::warn!(
                    "cannot bind a reserved port on 127.0.0.1 for lock manager callbacks ({e}); \
                     the Linux kernel refuses callbacks from other ports"
                );
                cx.udp_bind(SocketAddr::new(lo, 0))?
            }
        };
        log::debug!("lock manager callbacks go out from {local}");
        Ok(CallbackIo {
            engine: Callbacks::new(CallbackPolicy::default(), first_xid),
            sock,
            local,
            conns: HashMap::new(),
            by_call: HashMap::new(),
            timer: Deadline::default(),
        })
    }

    /// The callback socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The engine, for statistics.
    pub fn engine(&self) -> &Callbacks {
        &self.engine
    }

    /// Starts a delivery.
    pub fn push(&mut self, cx: &mut Context<'_>, cb: Callback) {
        self.engine.push(cx.now(), cb);
        self.pump(cx);
    }

    /// Takes the events that belong to the callbacks; `false` for others.
    pub fn handle_event(&mut self, cx: &mut Context<'_>, ev: &Event<'_>) -> bool {
        let now = cx.now();
        match ev {
            Event::Datagram { sock, from, data } if *sock == self.sock => {
                self.engine.handle_udp(now, *from, data);
            }
            Event::Timer(t) if self.timer.fired(*t) => {
                self.engine.handle_timeout(now);
            }
            Event::Stream { conn, data } if self.conns.contains_key(conn) => {
                let reply = self.conns.get_mut(conn).and_then(|x| {
                    x.records.push(data);
                    x.records.poll_record().map(|r| (x.call, r))
                });
                if let Some((call, record)) = reply {
                    self.finish(cx, *conn);
                    self.engine.handle_tcp(now, call, record.ok().as_deref());
                }
            }
            Event::Closed { conn, .. } if self.conns.contains_key(conn) => {
                if let Some(x) = self.conns.remove(conn) {
                    self.by_call.remove(&x.call);
                    self.engine.handle_tcp(now, x.call, None);
                }
            }
            Event::Connected { conn } if self.conns.contains_key(conn) => {}
            _ => return false,
        }
        self.pump(cx);
        true
    }

    fn finish(&mut self, cx: &mut Context<'_>, conn: SourceId) {
        if let Some(x) = self.conns.remove(&conn) {
            self.by_call.remove(&x.call);
        }
        let _ = cx.close(conn);
    }

    /// Sends what the engine has to send and sets the timer.
    fn pump(&mut self, cx: &mut Context<'_>) {
        let now = cx.now();
        while let Some(t) = self.engine.poll_transmit(now) {
            match t {
                Transmit::Udp { to, data } => {
                    if let Err(e) = cx.send_to(self.sock, to, &data) {
                        log::debug!("callback datagram to {to}: {e}");
                    }
                }
                Transmit::Tcp { call, to, data } => self.connect(cx, call, to, &data),
                Transmit::TcpCancel(call) => {
                    if let Some(conn) = self.by_call.remove(&call) {
                        self.conns.remove(&conn);
                        let _ = cx.close(conn);
                    }
                }
            }
        }
        self.timer.follow(cx, self.engine.poll_timeout());
    }

    fn connect(&mut self, cx: &mut Context<'_>, call: CallId, to: SocketAddr, data: &[u8]) {
        let sent = cx
            .tcp_connect(to, true)
            .and_then(|conn| cx.send(conn, &frame(data)).map(|()| conn));
        match sent {
            Ok(conn) => {
                self.conns.insert(
                    conn,
                    Exchange {
                        call,
                        records: RecordReader::new(MAX_RECORD),
                    },
                );
                self.by_call.insert(call, conn);
            }
            Err(e) => {
                log::debug!("callback connection to {to}: {e}");
                self.engine.handle_tcp(cx.now(), call, None);
            }
        }
    }
}
