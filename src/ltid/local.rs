//! ltid's local side: requests on the drive-table socket (an rdevmi
//! attaching, `vmoprcmd` asking for the status or an operation) and the
//! message queue.
//!
//! Anyone who can reach the socket may ask for the status; attaching and
//! operations are for root and ltid's own user only (the socket's peer
//! credentials say who asks).

use super::core::Reply;
use super::dlog::Level;
use super::module::{LtidModule, Role};
use super::mq::LtidMsg;
use super::wire::{Message, Op};
use crate::reactor::{Context, SourceId};

impl LtidModule {
    /// A frame on the local socket.
    pub(super) fn local_request(&mut self, cx: &mut Context<'_>, conn: SourceId, m: Message) {
        let now = cx.now();
        let role = self.links.get(&conn).map(|l| l.role.clone());
        let privileged = matches!(m, Message::Attach { .. } | Message::Operate { .. });
        if privileged && !trusted(cx.peer_uid(conn)) {
            let who = cx
                .peer_uid(conn)
                .map_or("an unknown user".into(), |u| format!("uid {u}"));
            let why = format!("command {} from {who} refused", m.command().0);
            if let Message::Operate { .. } = m {
                let answer = Message::Operated {
                    ok: false,
                    text: format!("{why}: root or ltid's own user only"),
                };
                self.send(cx, conn, &answer);
            }
            return self.drop_conn(cx, conn, &why);
        }
        match (role, m) {
            (Some(Role::LocalNew), Message::Attach { pid, peer }) => {
                if !self.core.is_peer(&peer) || self.stopping.is_some() {
                    return self.drop_conn(cx, conn, &format!("rdevmi {pid} for {peer} refused"));
                }
                if let Some(l) = self.links.get_mut(&conn) {
                    l.role = Role::Attached { peer: peer.clone() };
                }
                self.core.link_up(&peer);
                self.dlog.line(
                    Level::DEBUG,
                    "ltid",
                    &format!(
                        "rdevmi pid {pid} for {peer} attached, shm_nattch = {}",
                        self.nattch()
                    ),
                );
                self.send(cx, conn, &Message::HostInfo(self.core.host_info()));
                self.send(cx, conn, &Message::Snapshot(self.core.rows()));
            }
            (Some(Role::Attached { .. }), Message::Term { leaving, .. }) => {
                if let Some(l) = self.links.get_mut(&conn) {
                    l.orderly = !leaving;
                }
            }
            (Some(Role::Attached { peer }), Message::HostInfo(info)) if info.name == peer => {
                self.core.handle_peer_info(now, info);
                self.pump(cx);
            }
            (Some(Role::LocalNew), Message::Show) => {
                let text = format!(
                    "{}DriveStatId shm_nattch = {}\n",
                    self.core.render_status(now),
                    self.nattch()
                );
                self.send(cx, conn, &Message::ShowText(text));
            }
            (Some(Role::LocalNew), Message::Operate { op, drive }) => {
                if op == Op::UP || op == Op::DOWN || op == Op::RESERVE || op == Op::RELEASE {
                    let (ok, text) = match self.core.operate(now, op, &drive) {
                        Ok(Reply::Done(t)) => (true, t),
                        Ok(Reply::Pending) => {
                            if let Some(l) = self.links.get_mut(&conn) {
                                l.role = Role::Reserving { drive };
                            }
                            return self.pump(cx);
                        }
                        Err(t) => (false, t),
                    };
                    self.send(cx, conn, &Message::Operated { ok, text });
                    self.pump(cx);
                } else {
                    self.drop_conn(cx, conn, &format!("unknown operation {}", op.0));
                }
            }
            (_, m) => self.drop_conn(cx, conn, &format!("unexpected command {}", m.command().0)),
        }
    }

    /// One datagram on the queue.
    pub(super) fn queue_message(&mut self, data: &[u8]) {
        let Some(msg) = LtidMsg::decode(data) else {
            self.dlog.line(
                Level::WARN,
                "LtidProcCmd",
                &format!(
                    "dropped a message of {} bytes (not {})",
                    data.len(),
                    super::mq::LEN
                ),
            );
            return;
        };
        if self.paths.mq_debug().exists() {
            self.dlog.line(Level::INFO, "LtidProcCmd", &msg.log_text());
        }
    }
}

/// Whether a local peer of uid `uid` may attach and operate: root or the
/// user ltid runs as.
fn trusted(uid: Option<u32>) -> bool {
    let me = rustix::process::geteuid().as_raw();
    uid.is_some_and(|u| u == 0 || u == me)
}
