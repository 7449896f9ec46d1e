//! rdevmi, the remote device management interface: the process vmd
//! starts for one registered media server (the seed's `oprd -r`), on the
//! socket vmd accepted (its standard input).
//!
//! It says `INITIATING` (and sends its pid), waits for the peer's
//! `CONTINUE`, connects to the local ltid and attaches to the drive table
//! (`ATTACH`), tells ltid's queue it started (Type 100), then relays: the
//! table's snapshot and every change go to the peer, the peer's own view
//! goes to ltid. Heartbeats go to the peer every `SSO_HEARTBEAT`; a peer
//! silent for three is dropped. When ltid stops (`LTID_STOP`) rdevmi logs
//! the seed's termination lines, tells the peer (`TERM`) and the queue
//! (Type 101, `LongParam` the time), and exits.

use super::dlog::{DaemonLog, Level};
use super::mq::{self, LtidMsg, MsgType};
use super::wire::{Deframer, Message};
use super::Paths;
use crate::reactor::{Context, Event as Ev, Module, SourceId, TimerId};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const FUNC: &str = "rdevmi";

/// The module.
pub struct RdevmiModule {
    paths: Paths,
    /// The media server served.
    peer_host: String,
    heartbeat: Duration,
    dlog: DaemonLog,
    /// The socket vmd handed over, until `start` adopts it.
    handed: Option<OwnedFd>,
    sockfd: i32,
    peer: Option<SourceId>,
    peer_de: Deframer,
    peer_heard: Option<Instant>,
    ltid: Option<SourceId>,
    ltid_de: Deframer,
    tick: Option<TimerId>,
    /// An exit was asked for: nothing more is handled.
    done: bool,
}

impl RdevmiModule {
    /// rdevmi for `peer_host` on the socket `sock`.
    pub fn new(
        paths: Paths,
        peer_host: String,
        heartbeat: Duration,
        sock: OwnedFd,
    ) -> RdevmiModule {
        RdevmiModule {
            dlog: DaemonLog::new(paths.log_dir()),
            paths,
            peer_host,
            heartbeat,
            sockfd: sock.as_raw_fd(),
            handed: Some(sock),
            peer: None,
            peer_de: Deframer::default(),
            peer_heard: None,
            ltid: None,
            ltid_de: Deframer::default(),
            tick: None,
            done: false,
        }
    }

    fn send(&mut self, cx: &mut Context<'_>, to: Option<SourceId>, m: &Message) {
        if let Some(conn) = to {
            let _ = cx.send(conn, &m.encode());
        }
    }

    /// Tells ltid's queue about this process.
    fn queue(&self, kind: MsgType, param1: i32, long_param: i64) {
        let pid = std::process::id() as i32;
        let msg = LtidMsg {
            pid,
            data_pid: pid,
            kind,
            param1,
            param2: self.sockfd,
            long_param,
        };
        let sent = std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.send_to(&msg.encode(), self.paths.queue()));
        if let Err(e) = sent {
            self.dlog.line(
                Level::WARN,
                FUNC,
                &format!("cannot write to {}: {e}", self.paths.queue().display()),
            );
        }
    }

    fn quit(&mut self, cx: &mut Context<'_>, code: i32) {
        self.done = true;
        cx.exit(code);
    }

    /// Ends with a Type 101 carrying `reason` and exit status `code`.
    fn end(&mut self, cx: &mut Context<'_>, reason: i32, code: i32) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.queue(MsgType::OPRD_TERMINATE, reason, now);
        self.quit(cx, code);
    }

    fn on_peer(&mut self, cx: &mut Context<'_>, m: Message) {
        match m {
            Message::Continue if self.ltid.is_none() => {
                self.dlog
                    .line(Level::DEBUG, FUNC, "got CONTINUE, connecting to ltid");
                let stream = match std::os::unix::net::UnixStream::connect(self.paths.socket()) {
                    Ok(s) => s,
                    Err(e) => {
                        self.dlog.line(
                            Level::WARN,
                            FUNC,
                            &format!(
                                "cannot connect to ltid at {}: {e}",
                                self.paths.socket().display()
                            ),
                        );
                        return self.quit(cx, 1);
                    }
                };
                match cx.adopt_stream(OwnedFd::from(stream)) {
                    Ok(id) => self.ltid = Some(id),
                    Err(e) => {
                        self.dlog.line(
                            Level::WARN,
                            FUNC,
                            &format!("cannot use the ltid socket: {e}"),
                        );
                        return self.quit(cx, 1);
                    }
                }
                let attach = Message::Attach {
                    pid: std::process::id(),
                    peer: self.peer_host.clone(),
                };
                self.send(cx, self.ltid, &attach);
                let limit = (self.heartbeat * 3).as_secs() as i64;
                self.queue(MsgType::OPRD_START, 0, limit);
            }
            Message::HostInfo(info) if self.ltid.is_some() && info.name == self.peer_host => {
                self.send(cx, self.ltid, &Message::HostInfo(info));
            }
            Message::Heartbeat => {}
            Message::Term { leaving, reason } => {
                self.dlog.line(
                    Level::INFO,
                    FUNC,
                    &format!("{} ends the connection: {reason}", self.peer_host),
                );
                // ltid learns whether the peer stays online.
                let term = Message::Term { leaving, reason };
                self.send(cx, self.ltid, &term);
                self.end(cx, mq::reason::PEER_GONE, 0);
            }
            other => {
                self.dlog.line(
                    Level::WARN,
                    FUNC,
                    &format!(
                        "{} sent command {} out of turn; exiting",
                        self.peer_host,
                        other.command().0
                    ),
                );
                self.end(cx, mq::reason::PEER_GONE, 1);
            }
        }
    }

    fn on_ltid(&mut self, cx: &mut Context<'_>, m: Message) {
        match m {
            Message::HostInfo(_) | Message::Snapshot(_) | Message::Status(_) => {
                self.send(cx, self.peer, &m);
            }
            Message::LtidStop { nattch } => {
                self.dlog.line(Level::DEBUG, FUNC, "in ltidtermsig");
                self.dlog.line(Level::DEBUG, FUNC, "detach shared memory");
                self.dlog.line(
                    Level::DEBUG,
                    FUNC,
                    &format!("DriveStatId shm_nattch = {nattch}"),
                );
                if let Some(l) = self.ltid.take() {
                    let _ = cx.close(l);
                }
                let term = Message::Term {
                    leaving: true,
                    reason: "ltid stopped".into(),
                };
                self.send(cx, self.peer, &term);
                self.dlog.line(
                    Level::DEBUG,
                    FUNC,
                    "rdevmi exiting since ltid has been stopped",
                );
                self.end(cx, mq::reason::LTID_STOPPED, 0);
            }
            other => {
                self.dlog.line(
                    Level::WARN,
                    FUNC,
                    &format!("ltid sent command {}; exiting", other.command().0),
                );
                self.end(cx, mq::reason::LTID_LOST, 1);
            }
        }
    }

    fn on_stream(&mut self, cx: &mut Context<'_>, conn: SourceId, data: &[u8]) {
        let from_peer = Some(conn) == self.peer;
        if from_peer {
            self.peer_de.push(data);
        } else if Some(conn) == self.ltid {
            self.ltid_de.push(data);
        } else {
            return;
        }
        loop {
            if self.done {
                return;
            }
            let de = if from_peer {
                &mut self.peer_de
            } else {
                &mut self.ltid_de
            };
            let frame = match de.next_frame() {
                None => return,
                Some(Ok(f)) => f.decode(),
                Some(Err(e)) => Err(e),
            };
            let m = match frame {
                Ok(m) => m,
                Err(e) => {
                    let who = if from_peer {
                        self.peer_host.as_str()
                    } else {
                        "ltid"
                    };
                    self.dlog.line(
                        Level::WARN,
                        FUNC,
                        &format!("{who} sent a bad frame ({e}); exiting"),
                    );
                    return self.end(cx, mq::reason::PEER_GONE, 1);
                }
            };
            if from_peer {
                self.peer_heard = Some(cx.now());
                self.on_peer(cx, m);
            } else {
                self.on_ltid(cx, m);
            }
        }
    }

    fn open(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let sock = self
            .handed
            .take()
            .ok_or_else(|| io::Error::other("no socket handed over"))?;
        self.peer = Some(cx.adopt_stream(sock)?);
        self.peer_heard = Some(cx.now());
        for sig in [libc::SIGTERM, libc::SIGINT] {
            cx.watch_signal(sig)?;
        }
        self.dlog.line(Level::INFO, FUNC, "INITIATING");
        let hello = Message::Initiating {
            pid: std::process::id(),
        };
        self.send(cx, self.peer, &hello);
        self.tick = Some(cx.set_timer(cx.now() + self.heartbeat));
        Ok(())
    }
}

impl Module for RdevmiModule {
    fn name(&self) -> &str {
        FUNC
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.open(cx)
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Ev<'_>) {
        if self.done {
            return;
        }
        match ev {
            Ev::Stream { conn, data } => self.on_stream(cx, conn, data),
            Ev::Closed { conn, .. } if Some(conn) == self.peer => {
                self.dlog.line(
                    Level::WARN,
                    FUNC,
                    &format!("connection to {} lost; exiting", self.peer_host),
                );
                self.end(cx, mq::reason::PEER_GONE, 0);
            }
            Ev::Closed { conn, .. } if Some(conn) == self.ltid => {
                self.dlog
                    .line(Level::WARN, FUNC, "ltid went away without a stop; exiting");
                self.send(
                    cx,
                    self.peer,
                    &Message::Term {
                        leaving: true,
                        reason: "ltid lost".into(),
                    },
                );
                self.quit(cx, 1);
            }
            Ev::Timer(t) if Some(t) == self.tick => {
                let now = cx.now();
                if self
                    .peer_heard
                    .is_some_and(|h| now >= h + self.heartbeat * 3)
                {
                    self.dlog.line(
                        Level::WARN,
                        FUNC,
                        &format!(
                            "{} silent for {} s; exiting",
                            self.peer_host,
                            (self.heartbeat * 3).as_secs()
                        ),
                    );
                    return self.end(cx, mq::reason::PEER_GONE, 0);
                }
                self.send(cx, self.peer, &Message::Heartbeat);
                self.tick = Some(cx.set_timer(now + self.heartbeat));
            }
            Ev::Signal(sig) => {
                self.dlog
                    .line(Level::INFO, FUNC, &format!("caught signal {sig}; exiting"));
                self.send(
                    cx,
                    self.peer,
                    &Message::Term {
                        leaving: false,
                        reason: "rdevmi stopped".into(),
                    },
                );
                self.end(cx, mq::reason::PEER_GONE, 0);
            }
            _ => {}
        }
    }
}
