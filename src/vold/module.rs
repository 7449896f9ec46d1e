//! vold on the reactor: the two rendezvous points (`SOCK_SEQPACKET` Unix
//! sockets, one packet one message), the engine, the device-node backend
//! and the stop signals.
//!
//! - The **diagnostic** point (voladm) is served in both modes; the
//!   **request** point answers every message with `REFUSED` and closes
//!   while vold is disabled.
//! - A peer must be root, vold's own user, or of the group that owns the
//!   rendezvous points' directory (its primary gid, by `SO_PEERCRED`);
//!   the request socket is mode 0660 and the diagnostic one 0600.
//! - A malformed packet gets an `ERROR` reply naming what is wrong and the
//!   connection stays.
//! - After a commit or an enable the backend brings the device nodes in
//!   line (synchronously: node files and `losetup` are quick).
//! - One transaction is open at a time; one that sees no message for
//!   [`TX_IDLE`] (60 s) is aborted, so a stuck client cannot hold the
//!   writer's place (a timer, re-armed at each message).
//! - SIGTERM and SIGINT stop vold (exit 0); so does voladm's `halt`. A
//!   failure of the event loop after start-up is exit 9 ([`super::entry`]).

use super::backend::Backend;
use super::engine::{After, Engine, Mode, Portal};
use super::store::FileStore;
use super::wire::{Message, Opcode};
use crate::reactor::{Context, Event, Module, SourceId, TimerId, UnixKind};
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// What the module needs besides the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The request rendezvous point (`-R`).
    pub request: PathBuf,
    /// The diagnostic rendezvous point (`-D`).
    pub diag: PathBuf,
    /// The device root holding `vol`, `rvol` and `plex`.
    pub dev: PathBuf,
    /// The backend.
    pub backend: Backend,
    /// Start disabled (`-d`).
    pub start_disabled: bool,
    /// How long a transaction may sit without a message before it is
    /// aborted (its writer's place freed).
    pub tx_idle: Duration,
}

/// The default [`Settings::tx_idle`].
pub const TX_IDLE: Duration = Duration::from_secs(60);

/// Tells whoever waits for vold to reach a mode (the parent of a
/// background vold) which one it reached.
pub type ModeReport = Box<dyn FnOnce(&Mode)>;

/// The module.
pub struct VoldModule {
    engine: Engine<FileStore>,
    settings: Settings,
    request: Option<SourceId>,
    diag: Option<SourceId>,
    /// Connections: their number and rendezvous point (`None`: a peer
    /// refused, answered "permission denied" at its first message).
    conns: HashMap<SourceId, (u64, Option<Portal>)>,
    next_conn: u64,
    group: Option<u32>,
    report: Option<ModeReport>,
    /// The idle timer of the open transaction, and its connection.
    tx_timer: Option<(TimerId, u64)>,
}

impl VoldModule {
    /// vold over `engine`; `report` hears the first mode reached.
    pub fn new(
        engine: Engine<FileStore>,
        settings: Settings,
        report: Option<ModeReport>,
    ) -> VoldModule {
        VoldModule {
            engine,
            settings,
            request: None,
            diag: None,
            conns: HashMap::new(),
            next_conn: 0,
            group: None,
            report,
            tx_timer: None,
        }
    }

    /// The engine, for tests.
    pub fn engine(&self) -> &Engine<FileStore> {
        &self.engine
    }

    fn listen(&mut self, cx: &mut Context<'_>, path: &PathBuf, mode: u32) -> io::Result<SourceId> {
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(named)?;
        }
        let id = cx.unix_listen(path, UnixKind::Seqpacket).map_err(named)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(named)?;
        if let Some(gid) = self.group {
            let _ = std::os::unix::fs::chown(path, None, Some(gid));
        }
        Ok(id)
    }

    /// Brings the nodes in line with the configuration (enabled only).
    fn nodes(&mut self) {
        if *self.engine.mode() != Mode::Enabled {
            return;
        }
        self.engine.trace(
            1,
            &format!(
                "backend {:?}: {} volumes",
                self.settings.backend,
                self.engine.config().vol.len()
            ),
        );
        for e in self
            .settings
            .backend
            .apply(&self.settings.dev, self.engine.config())
        {
            log::error!("device nodes: {e}");
        }
    }

    fn allowed(&self, cx: &mut Context<'_>, conn: SourceId) -> bool {
        let me = rustix::process::geteuid().as_raw();
        match cx.peer_uid(conn) {
            Some(0) => true,
            Some(uid) if uid == me => true,
            Some(_) => self.group.is_some() && cx.peer_gid(conn) == self.group,
            None => false,
        }
    }

    fn accepted(&mut self, cx: &mut Context<'_>, listener: SourceId, conn: SourceId) {
        let portal = if Some(listener) == self.diag {
            Portal::Diag
        } else {
            Portal::Request
        };
        let portal = if self.allowed(cx, conn) {
            Some(portal)
        } else {
            log::warn!(
                "refusing uid {:?} gid {:?}: not root, vold's user or of the rendezvous group",
                cx.peer_uid(conn),
                cx.peer_gid(conn)
            );
            None
        };
        self.next_conn += 1;
        self.conns.insert(conn, (self.next_conn, portal));
    }

    fn packet(&mut self, cx: &mut Context<'_>, conn: SourceId, data: &[u8]) {
        let Some(&(id, portal)) = self.conns.get(&conn) else {
            return;
        };
        let (reply, after) = match (Message::decode(data), portal) {
            (Ok(msg), None) => (
                Message::new(Opcode::ERROR, msg.seq, "permission denied"),
                After::Close,
            ),
            (Ok(msg), Some(portal)) => self.engine.handle(id, portal, &msg),
            (Err(e), _) => {
                log::warn!("connection {id}: malformed message: {e}");
                (
                    Message::new(Opcode::ERROR, 0, format!("malformed message: {e}")),
                    After::Nothing,
                )
            }
        };
        if after == After::Nodes {
            // Before the reply: a client told "committed" finds the nodes.
            self.nodes();
        }
        if let Err(e) = cx.send(conn, &reply.encode()) {
            log::warn!("connection {id}: cannot reply: {e}");
        }
        match after {
            After::Nothing | After::Nodes => {}
            After::Close => {
                self.conns.remove(&conn);
                self.engine.closed(id);
                let _ = cx.close(conn);
            }
            After::Halt => {
                log::info!("halted by voladm");
                cx.exit(0);
            }
        }
    }
}

impl VoldModule {
    /// After a message from connection `from` (or a close): arms the idle
    /// timer of a new transaction, re-arms it when its writer spoke, drops
    /// it when no transaction is open. Others' messages leave it be.
    fn follow_writer(&mut self, cx: &mut Context<'_>, from: Option<u64>) {
        let writer = self.engine.writer();
        let timed = self.tx_timer.map(|(_, w)| w);
        if writer.is_some() && writer == timed && writer != from {
            return;
        }
        if let Some((t, _)) = self.tx_timer.take() {
            cx.cancel_timer(t);
        }
        if let Some(w) = writer {
            let t = cx.set_timer(cx.now() + self.settings.tx_idle);
            self.tx_timer = Some((t, w));
        }
    }

    fn tx_idle(&mut self, timer: TimerId) {
        let Some((t, w)) = self.tx_timer else { return };
        if t != timer {
            return;
        }
        self.tx_timer = None;
        if self.engine.writer() == Some(w) {
            log::warn!(
                "the transaction of connection {w} sat idle for {} s: aborted",
                self.settings.tx_idle.as_secs()
            );
            self.engine.closed(w);
        }
    }
}

impl Module for VoldModule {
    fn name(&self) -> &str {
        "vold"
    }

    fn start(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        self.group = self
            .settings
            .request
            .parent()
            .and_then(|d| std::fs::metadata(d).ok())
            .map(|m| m.gid())
            .filter(|g| *g != 0);
        let (request, diag) = (self.settings.request.clone(), self.settings.diag.clone());
        self.diag = Some(self.listen(cx, &diag, 0o600)?);
        self.request = Some(self.listen(cx, &request, 0o660)?);
        for sig in [libc::SIGTERM, libc::SIGINT] {
            cx.watch_signal(sig)?;
        }
        if self.settings.start_disabled {
            self.engine.inspect("started disabled (-d)");
            log::info!("disabled (-d)");
        } else if self.engine.enable().is_ok() {
            self.nodes();
        }
        if let Some(report) = self.report.take() {
            report(self.engine.mode());
        }
        Ok(())
    }

    fn on_event(&mut self, cx: &mut Context<'_>, ev: Event<'_>) {
        match ev {
            Event::Accepted { listener, conn, .. } => self.accepted(cx, listener, conn),
            Event::Packet { conn, data } => {
                let from = self.conns.get(&conn).map(|(id, _)| *id);
                self.packet(cx, conn, data);
                self.follow_writer(cx, from);
            }
            Event::Closed { conn, .. } => {
                if let Some((id, _)) = self.conns.remove(&conn) {
                    self.engine.closed(id);
                }
                self.follow_writer(cx, None);
            }
            Event::Timer(t) => self.tx_idle(t),
            Event::Signal(sig) => {
                log::info!("caught signal {sig}, exiting");
                cx.exit(0);
            }
            _ => {}
        }
    }
}

impl Drop for VoldModule {
    fn drop(&mut self) {
        if self.request.is_some() {
            let _ = std::fs::remove_file(&self.settings.request);
        }
        if self.diag.is_some() {
            let _ = std::fs::remove_file(&self.settings.diag);
        }
    }
}
