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
//! - SIGTERM and SIGINT stop vold (exit 0); so does voladm's `halt`. A
//!   failure of the event loop after start-up is exit 9 ([`super::entry`]).

use super::backend::Backend;
use super::engine::{After, Engine, Mode, Portal};
use super::store::FileStore;
use super::wire::{Message, Opcode};
use crate::reactor::{Context, Event, Module, SourceId, UnixKind};
use std::collections::HashMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

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
}

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
            Event::Packet { conn, data } => self.packet(cx, conn, data),
            Event::Closed { conn, .. } => {
                if let Some((id, _)) = self.conns.remove(&conn) {
                    self.engine.closed(id);
                }
            }
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
