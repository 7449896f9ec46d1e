//! vmd, the volume daemon's listener (TCP, `VMD_PORT`, default 13701),
//! and ltid's own connections to the other hosts' vmd.
//!
//! vmd serves these requests, each the first frame of a connection:
//! `QUERY_HOST` (answered with this host's `HOST_INFO`), `RESERVE_DRIVE`
//! and `RELEASE_DRIVE` (this host as the drive's arbiter: answered with
//! a `VERDICT`; the sender must resolve to the address it comes from),
//! and `START_OPRD`
//! (command 52, version 1) from a registered media server other than this
//! one: vmd hands the socket to a new `rdevmi` process (this binary
//! re-executed under that name, the socket on its standard input) and
//! forgets it. One rdevmi runs per peer: a second START_OPRD from the
//! same peer replaces the first. Anything else is logged and dropped.
//!
//! Outgoing: a query of every peer each interval, a request to a drive's
//! arbiter when the engine asks ([`super::core::Action::Ask`]), and one rdevmi
//! connection to each scan host the elections name ([`super::core::LtidCore::upstreams`]).

use super::dlog::Level;
use super::module::{Link, LtidModule, Role};
use super::wire::{Command, Deframer, Frame, Message};
use crate::reactor::{Context, SourceId, TcpOpts};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

/// Most connections vmd holds at once (queries and handshakes).
const MAX_CONNS: usize = 256;

impl LtidModule {
    /// Opens vmd's listener.
    pub(super) fn listen_vmd(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        let addr = SocketAddr::new(self.settings.vmd_addr, self.settings.conf.vmd_port);
        let opts = TcpOpts {
            max_conns: MAX_CONNS,
            ..TcpOpts::default()
        };
        let (id, bound) = cx.tcp_listen(addr, opts).map_err(|e| {
            std::io::Error::new(e.kind(), format!("vmd cannot listen on {addr}: {e}"))
        })?;
        self.vmd = Some(id);
        self.vmd_bound = Some(bound);
        Ok(())
    }

    /// The first frame on a vmd connection.
    pub(super) fn vmd_request(&mut self, cx: &mut Context<'_>, conn: SourceId, frame: &Frame) {
        if self.links.get(&conn).map(|l| &l.role) != Some(&Role::VmdNew) {
            return self.drop_conn(cx, conn, "a second request on one connection");
        }
        let func = "process_request";
        // Queries and renewals come every poll interval from every peer:
        // logged only with VERBOSE (the arbiter logs its decisions).
        let routine = [
            Command::QUERY_HOST,
            Command::RESERVE_DRIVE,
            Command::RELEASE_DRIVE,
        ];
        if !routine.contains(&frame.command) || self.settings.conf.verbose {
            self.dlog.line(
                Level::INFO,
                func,
                &format!(
                    "client requested command={}, version={}",
                    frame.command.0, frame.version
                ),
            );
        }
        if frame.command == Command::START_OPRD {
            self.dlog.line(Level::INFO, func, "START_OPRD requested");
        }
        match frame.decode() {
            Ok(Message::QueryHost) => {
                self.send(cx, conn, &Message::HostInfo(self.core.host_info()));
                if let Some(l) = self.links.get_mut(&conn) {
                    l.role = Role::Answered;
                }
            }
            Ok(Message::StartOprd { host }) => self.start_oprd(cx, conn, &host),
            Ok(Message::ReserveDrive { info, drive }) => {
                if let Err(why) = claim_holds(cx.peer_addr(conn), &info.name) {
                    return self.drop_conn(cx, conn, &why);
                }
                let verdict = self.core.arbitrate(cx.now(), info, &drive);
                self.answer(cx, conn, &verdict);
            }
            Ok(Message::ReleaseDrive { host, drive }) => {
                if let Err(why) = claim_holds(cx.peer_addr(conn), &host) {
                    return self.drop_conn(cx, conn, &why);
                }
                let verdict = self.core.arbitrate_release(cx.now(), &host, &drive);
                self.answer(cx, conn, &verdict);
            }
            Ok(m) => self.drop_conn(
                cx,
                conn,
                &format!("command {} is not a request", m.command().0),
            ),
            Err(e) => self.drop_conn(cx, conn, &e.to_string()),
        }
    }

    /// Sends the answer to a one-request connection and carries out what
    /// followed.
    fn answer(&mut self, cx: &mut Context<'_>, conn: SourceId, m: &Message) {
        self.send(cx, conn, m);
        if let Some(l) = self.links.get_mut(&conn) {
            l.role = Role::Answered;
        }
        self.pump(cx);
    }

    /// Asks `host`, the arbiter of `drive`, to grant (`reserve`) or free
    /// this host's reservation, unless the same request is out already.
    pub(super) fn ask_arbiter(
        &mut self,
        cx: &mut Context<'_>,
        host: &str,
        drive: &str,
        reserve: bool,
    ) {
        let role = Role::Ask {
            host: host.to_string(),
            drive: drive.to_string(),
            reserve,
        };
        if self.links.values().any(|l| l.role == role) {
            return;
        }
        let m = if reserve {
            Message::ReserveDrive {
                info: self.core.host_info(),
                drive: drive.to_string(),
            }
        } else {
            Message::ReleaseDrive {
                host: self.core.me().to_string(),
                drive: drive.to_string(),
            }
        };
        if !self.connect(cx, host, &m, role) {
            self.core.ask_failed(drive, host, "cannot connect");
        }
    }

    /// Starts an rdevmi for `host` on `conn`.
    fn start_oprd(&mut self, cx: &mut Context<'_>, conn: SourceId, host: &str) {
        let func = "start_oprd";
        if !self.core.is_peer(host) {
            let why = format!(
                "{host} is not a registered media server other than {}",
                self.core.me()
            );
            return self.drop_conn(cx, conn, &why);
        }
        if let Err(why) = claim_holds(cx.peer_addr(conn), host) {
            return self.drop_conn(cx, conn, &why);
        }
        let old: Vec<_> = self
            .rdevmi
            .iter()
            .filter(|(_, (peer, _))| peer == host)
            .map(|(c, (_, pid))| (*c, *pid))
            .collect();
        for (child, pid) in old {
            self.dlog.line(
                Level::DEBUG,
                func,
                &format!("replacing rdevmi pid {pid} for {host}"),
            );
            let _ = cx.kill_child(child);
        }
        self.links.remove(&conn);
        let sock = match cx.take_socket(conn) {
            Ok(s) => s,
            Err(e) => {
                return self.dlog.line(
                    Level::WARN,
                    func,
                    &format!("cannot hand over the socket: {e}"),
                )
            }
        };
        self.dlog.line(
            Level::DEBUG,
            func,
            &format!(
                "starting rdevmi, sockfd = {}, nosig = yes",
                sock.as_raw_fd()
            ),
        );
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => {
                return self
                    .dlog
                    .line(Level::WARN, func, &format!("cannot find this program: {e}"))
            }
        };
        let mut cmd = std::process::Command::new(exe);
        cmd.arg0("rdevmi")
            .args(["-r", "-p", host])
            .stdin(Stdio::from(sock))
            .stdout(Stdio::null());
        match cx.spawn(cmd) {
            Ok((child, pid)) => {
                self.dlog
                    .line(Level::INFO, func, &format!("rdevmi, pid={pid}"));
                self.rdevmi.insert(child, (host.to_string(), pid));
            }
            Err(e) => self
                .dlog
                .line(Level::WARN, func, &format!("cannot start rdevmi: {e}")),
        }
    }

    /// Where `host`'s vmd listens, if its name resolves.
    fn vmd_of(&self, host: &str) -> Option<SocketAddr> {
        let port = self.settings.conf.vmd_port;
        let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
    }

    /// Opens a connection to `host`'s vmd with `first` queued on it.
    fn connect(&mut self, cx: &mut Context<'_>, host: &str, first: &Message, role: Role) -> bool {
        let Some(addr) = self.vmd_of(host) else {
            if self.unresolved.insert(host.to_string()) {
                self.dlog
                    .line(Level::WARN, "ltid", &format!("{host} does not resolve"));
            }
            return false;
        };
        if self.unresolved.remove(host) {
            self.dlog.line(
                Level::INFO,
                "ltid",
                &format!("{host} resolves as {}", addr.ip()),
            );
        }
        match cx.tcp_connect(addr, false) {
            Ok(conn) => {
                let _ = cx.send(conn, &first.encode());
                let heard = cx.now();
                self.links.insert(
                    conn,
                    Link {
                        role,
                        de: Deframer::default(),
                        heard,
                        orderly: false,
                    },
                );
                true
            }
            Err(e) => {
                self.dlog.line(
                    Level::WARN,
                    "ltid",
                    &format!("cannot connect to {addr}: {e}"),
                );
                false
            }
        }
    }

    /// Queries every peer that has no query out.
    pub(super) fn query_peers(&mut self, cx: &mut Context<'_>) {
        let peers: Vec<String> = self.core.peers().map(str::to_string).collect();
        for host in peers {
            let out = self
                .links
                .values()
                .any(|l| l.role == Role::Query { host: host.clone() });
            if out {
                continue;
            }
            let role = Role::Query { host: host.clone() };
            if !self.connect(cx, &host, &Message::QueryHost, role) {
                self.core.unreachable(cx.now(), &host);
                self.discovered(cx.now(), &host);
            }
        }
    }

    /// Opens the rdevmi connections the elections want and closes the
    /// others; whether anything changed.
    pub(super) fn sync_upstreams(&mut self, cx: &mut Context<'_>) -> bool {
        let wanted = self.core.upstreams();
        let now = cx.now();
        let mut changed = false;
        let held: Vec<(SourceId, String, bool)> = self
            .links
            .iter()
            .filter_map(|(id, l)| match &l.role {
                Role::Upstream { host, running } => Some((*id, host.clone(), *running)),
                _ => None,
            })
            .collect();
        for (conn, host, running) in &held {
            if !wanted.contains(host) {
                self.send(
                    cx,
                    *conn,
                    &Message::Term {
                        leaving: false,
                        reason: "no longer the scan host".into(),
                    },
                );
                let _ = cx.close(*conn);
                self.links.remove(conn);
                if *running {
                    self.core.link_down(now, host, true);
                }
                changed = true;
            }
        }
        for host in wanted {
            if held.iter().any(|(_, h, _)| *h == host) {
                continue;
            }
            if self.retry_after.get(&host).is_some_and(|t| now < *t) {
                continue;
            }
            self.retry_after.remove(&host);
            let role = Role::Upstream {
                host: host.clone(),
                running: false,
            };
            let start = Message::StartOprd {
                host: self.core.me().to_string(),
            };
            if self.connect(cx, &host, &start, role) {
                self.dlog.line(
                    Level::DEBUG,
                    "connect_rdevmi",
                    &format!("asking the scan host {host} for an rdevmi"),
                );
            } else {
                self.retry_after.insert(host, now + self.settings.conf.poll);
            }
        }
        changed
    }

    /// A message from another host's vmd or rdevmi.
    pub(super) fn peer_message(&mut self, cx: &mut Context<'_>, conn: SourceId, m: Message) {
        let now = cx.now();
        let Some(role) = self.links.get(&conn).map(|l| l.role.clone()) else {
            return;
        };
        match (role, m) {
            (Role::Query { host }, Message::HostInfo(info)) if info.name == host => {
                let _ = cx.close(conn);
                self.links.remove(&conn);
                self.core.handle_query_answer(now, info);
                self.discovered(now, &host);
            }
            (
                Role::Ask { host, drive, .. },
                Message::Verdict {
                    drive: d,
                    holder,
                    text,
                },
            ) if d == drive => {
                let _ = cx.close(conn);
                self.links.remove(&conn);
                self.core.handle_verdict(now, &host, &drive, &holder, &text);
            }
            (Role::Query { host }, Message::HostInfo(info)) => {
                // Keyed by the registered name: a peer cannot grow the set.
                if self.unresolved.insert(format!("{host} answers")) {
                    self.dlog.line(
                        Level::WARN,
                        "ltid",
                        &format!("{host} answers as {}: not that media server", info.name),
                    );
                }
                let _ = cx.close(conn);
                return self.gone(cx, conn);
            }
            (
                Role::Upstream {
                    host,
                    running: false,
                },
                Message::Initiating { pid },
            ) => {
                self.dlog.line(
                    Level::DEBUG,
                    "connect_rdevmi",
                    &format!("rdevmi pid {pid} on {host} is INITIATING; sending CONTINUE"),
                );
                if let Some(l) = self.links.get_mut(&conn) {
                    l.role = Role::Upstream {
                        host: host.clone(),
                        running: true,
                    };
                }
                self.send(cx, conn, &Message::Continue);
                self.send(cx, conn, &Message::HostInfo(self.core.host_info()));
                self.core.link_up(&host);
            }
            (
                Role::Upstream {
                    host,
                    running: true,
                },
                Message::HostInfo(info),
            ) if info.name == host => {
                self.core.handle_peer_info(now, info);
            }
            (Role::Upstream { running: true, .. }, Message::Snapshot(rows)) => {
                for row in rows {
                    self.core.handle_remote_row(now, row);
                }
            }
            (Role::Upstream { running: true, .. }, Message::Status(row)) => {
                self.core.handle_remote_row(now, row);
            }
            (Role::Upstream { running: true, .. }, Message::Heartbeat) => {}
            (Role::Upstream { host, .. }, Message::Term { leaving, reason }) => {
                self.dlog.line(
                    Level::INFO,
                    "connect_rdevmi",
                    &format!("the scan host {host} ends the connection: {reason}"),
                );
                if let Some(l) = self.links.get_mut(&conn) {
                    l.orderly = !leaving;
                }
                let _ = cx.close(conn);
                return self.gone(cx, conn);
            }
            (_, m) => {
                return self.drop_conn(cx, conn, &format!("unexpected command {}", m.command().0));
            }
        }
        self.pump(cx);
    }
}

/// Whether a START_OPRD from `from` may speak for `host`: the name must
/// resolve to the address the connection comes from. `Err` says why not.
fn claim_holds(from: Option<SocketAddr>, host: &str) -> Result<(), String> {
    let Some(from) = from else {
        return Err(format!("START_OPRD for {host} from an unknown address"));
    };
    let ip = from.ip().to_canonical();
    let addrs: Vec<std::net::IpAddr> = (host, 0)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip().to_canonical()).collect())
        .unwrap_or_default();
    if addrs.contains(&ip) {
        return Ok(());
    }
    Err(format!(
        "START_OPRD from {ip} claims {host}, which resolves to {addrs:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_must_come_from_the_names_address() {
        let local: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        assert!(claim_holds(Some(local), "localhost").is_ok());
        let other: SocketAddr = "192.0.2.7:1000".parse().unwrap();
        let err = claim_holds(Some(other), "localhost").unwrap_err();
        assert!(err.contains("192.0.2.7 claims localhost"), "{err}");
        assert!(claim_holds(None, "localhost").is_err());
    }
}
